// The build wrangler runs before every `wrangler dev` and `wrangler deploy` ([build] in
// wrangler.toml), and vitest before the unit tests (vitest.config.ts), writing into public/ only
// what is git-ignored there:
// - the HTML pages, rendered from their sources in pages/ (a layout, the pages, partials: see
//   scripts/pages.mjs): public/index.html, public/jobs/index.html, …; a page a source cannot
//   make fails the build, naming the file;
// - the browser client, bundled by esbuild from its one source, src/client: /rooms-client.js,
//   and /rooms-protocol.js, which re-exports it (pages import both URLs). Beside each, a
//   one-line .d.ts that points back at that source, so a type-check that finds the built file
//   still reads the client's own types;
// - browser libraries from node_modules into public/vendor/ (ECharts for the dashboard, Vue for
//   examples/vue-chat.html), so pages load them with no CDN and nothing vendored in git.
// `node scripts/build.mjs package` builds the @edge-rooms/client package instead (what
// `npm pack src/client` runs first): the same bundle, and declarations tsc emits from the same
// sources, in src/client/dist/. Plain .mjs so any Node runs it.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { renderPages } from "./pages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const client = join(root, "src/client");
const publicDir = join(root, "public");
const BANNER = "// Built by scripts/build.mjs from src/client (the rooms client's one source).";

/** One ES module, everything it imports inlined, readable (pages are debugged in it). */
const bundle = (entry, outfile, plugins = []) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    target: "es2022",
    banner: { js: BANNER },
    logLevel: "warning",
    plugins,
  });

/** /rooms-protocol.js re-exports /rooms-client.js instead of carrying a second copy of it. */
const clientStaysExternal = {
  name: "client-stays-external",
  setup(b) {
    b.onResolve({ filter: /^\.\/rooms-client\.ts$/ }, () => ({
      path: "./rooms-client.js",
      external: true,
    }));
  },
};

/** What `wrangler dev` and deploys serve from public/ that is not in git. */
export async function buildPublic() {
  for (const [path, html] of renderPages()) {
    mkdirSync(dirname(join(publicDir, path)), { recursive: true });
    writeFileSync(join(publicDir, path), html);
  }
  for (const name of ["rooms-client", "rooms-protocol"]) {
    const plugins = name === "rooms-client" ? [] : [clientStaysExternal];
    await bundle(join(client, `browser/${name}.ts`), join(publicDir, `${name}.js`), plugins);
    writeFileSync(
      join(publicDir, `${name}.d.ts`),
      `${BANNER}\nexport * from "../src/client/browser/${name}.ts";\n`,
    );
  }
  const vendored = [
    ["echarts/dist/echarts.esm.min.mjs", "echarts.esm.min.mjs"],
    ["vue/dist/vue.esm-browser.prod.js", "vue.esm-browser.prod.js"],
  ];
  mkdirSync(join(publicDir, "vendor"), { recursive: true });
  for (const [from, to] of vendored) {
    copyFileSync(join(root, "node_modules", from), join(publicDir, "vendor", to));
  }
}

async function buildPackage() {
  const dist = join(client, "dist");
  rmSync(dist, { recursive: true, force: true });
  await bundle(join(client, "index.ts"), join(dist, "index.js"));
  // Declarations for the package's program (tsconfig.client.json): the client and the parts of
  // src/protocol it uses, laid out as in src/ (dist/types/client, dist/types/protocol).
  const tsc = join(root, "node_modules/typescript/bin/tsc");
  const emit = ["--noEmit", "false", "--declaration", "--emitDeclarationOnly"];
  const where = ["--rootDir", join(root, "src"), "--outDir", join(dist, "types")];
  execFileSync(
    process.execPath,
    [tsc, "-p", join(root, "tsconfig.client.json"), ...emit, ...where],
    {
      stdio: "inherit",
    },
  );
}

/** For vitest's globalSetup (vitest.config.ts): the unit tests read the pages from env.ASSETS. */
export const setup = buildPublic;

// Run as a script (wrangler's [build], npm run build); imported, it only defines.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await (process.argv[2] === "package" ? buildPackage() : buildPublic());
}
