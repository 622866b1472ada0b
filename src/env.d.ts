// Secrets are not in wrangler.toml (they never are), so `wrangler types` cannot see them.
// Locally they come from .dev.vars (created by `npm start`), deployed from `wrangler secret put`.
// Declared on both names of the environment: the global `Env` and `Cloudflare.Env` (the type of
// `env` from "cloudflare:workers").
interface Secrets {
  /** Standard Webhooks secret for POST /push, `whsec_<base64>`. Push is off (503) without it. */
  PUSH_SECRET?: string;
  /** HS256 key for join tokens. Tokens (and private rooms) are refused without it. */
  JOIN_SECRET?: string;
  /**
   * Standard Webhooks secret, `whsec_<base64>`, signing what the Worker sends to your backend:
   * calls to job processors. Apart from PUSH_SECRET so that nothing sent out verifies at /push.
   * Without it, jobs of processor kinds fail (`job.failed` names it); `file.inspect` still runs.
   */
  HOOK_SECRET?: string;
  /** The secret of Pusher's HTTP API (with PUSHER_APP_ID and PUSHER_KEY); the API is off without it. */
  PUSHER_SECRET?: string;
}
interface Env extends Secrets {}
declare namespace Cloudflare {
  interface Env extends Secrets {}
}
