import { defineConfig } from "vitest/config";

// End-to-end tests: plain Node, each file starts its own `wrangler dev` (test/e2e/server.ts).
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false, // two cores: one wrangler dev at a time keeps timings honest
  },
});
