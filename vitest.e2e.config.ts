import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

// Node-side tests: test/node/ (plain Node units, e.g. the browser client module) and test/e2e/
// (each file starts its own `wrangler dev`, see test/e2e/server.ts).
export default defineConfig({
  resolve: {
    // Page modules (public/*.js) import the client as ./rooms-client.js or ./rooms-protocol.js,
    // files the build writes into public/. In Node tests they get the client's source instead,
    // so a stale or missing build can never stand in for it.
    alias: [
      {
        find: /^\.\/(rooms-client|rooms-protocol)\.js$/,
        replacement: resolve(import.meta.dirname, "src/client/browser/$1.ts"),
      },
    ],
  },
  test: {
    include: ["test/node/**/*.test.ts", "test/e2e/**/*.e2e.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false, // two cores: one wrangler dev at a time keeps timings honest
  },
});
