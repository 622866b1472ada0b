// Copies browser libraries (ECharts for the dashboard, Vue for the Vue example) from node_modules into public/vendor/ (git-ignored), so the pages
// load them as static assets with no CDN and nothing vendored in git. Runs as wrangler's
// [build] step, before every `wrangler dev` and `wrangler deploy`. Plain .mjs so any Node runs it.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = [
  ["echarts/dist/echarts.esm.min.mjs", "echarts.esm.min.mjs"],
  // For examples/vue-chat.html: Vue 3's browser build, importable with no build step.
  ["vue/dist/vue.esm-browser.prod.js", "vue.esm-browser.prod.js"],
];

mkdirSync(join(root, "public/vendor"), { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, "node_modules", from), join(root, "public/vendor", to));
}
