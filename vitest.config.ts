import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { generateSecret } from "./src/protocol/webhook.ts";

// Unit and integration tests run inside workerd with the project's wrangler.toml. A few limits
// are lowered so tests reach them quickly, and every run makes its own secrets (none is
// committed); tests read them from `env`.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          HISTORY_LIMIT: "60",
          MAX_FRAME_BYTES: "4096",
          MAX_PUSH_BYTES: "16384",
          MAX_REPLAY_BYTES: "16384",
          // Short, so the grace alarm fires within a test; reconnects "within grace" are immediate.
          AGENT_GRACE_SEC: "1",
          // Events out for places named hooked-*, message.created for hooked-msgs-*: the
          // backend is a fetch the tests replace (test/events.test.ts).
          HOOK_URL: "https://hooks.test/events",
          HOOK_ROOMS: "hooked-*",
          HOOK_MESSAGES: "hooked-msgs-*",
          // The publish hook for rooms named published-* (test/publish-hook.test.ts).
          PUBLISH_HOOK_URL: "https://hooks.test/publish",
          PUBLISH_HOOK_ROOMS: "published-*",
          HOOK_TIMEOUT_MS: "1000",
          // Rooms above 6 members announce counts (test/presence.test.ts), at most every 300 ms,
          // so the switch and the trailing count come within a test.
          PRESENCE_MAX: "6",
          PRESENCE_COUNT_MS: "300",
          // Rooms named sharded-* spread over shards of two sockets each (test/sharded.test.ts).
          SHARDED_ROOMS: "sharded-*",
          SHARD_SOCKETS: "2",
          PUSH_SECRET: generateSecret(),
          HOOK_SECRET: generateSecret(),
          JOIN_SECRET: generateSecret().slice("whsec_".length),
          // Pusher's HTTP API on (test/pusher.test.ts); its secret is made per run like the others.
          PUSHER_APP_ID: "4242",
          PUSHER_KEY: "test-pusher-key",
          PUSHER_SECRET: generateSecret().slice("whsec_".length),
        },
      },
    }),
  ],
  test: {
    // The build first, as wrangler runs it before dev and deploy: test/pages.test.ts and
    // test/jobs.test.ts read the pages (public/*.html, built from pages/) through env.ASSETS.
    globalSetup: ["./scripts/build.mjs"],
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/node/**"],
    testTimeout: 20_000,
  },
});
