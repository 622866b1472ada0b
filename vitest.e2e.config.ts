import { defineConfig } from "vitest/config";

// Node-side tests: test/node/ (plain Node units, e.g. the browser client module) and test/e2e/
// (each file starts its own `wrangler dev`, see test/e2e/server.ts).
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts", "test/e2e/**/*.e2e.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false, // two cores: one wrangler dev at a time keeps timings honest
  },
});
