/**
 * Mints a join token (JWT HS256 with JOIN_SECRET), as a backend would for a logged-in user:
 *   npm run token -- --user u1 --room private-x [--name Ann] [--role member|agent] [--ttl 3600]
 * Prints the token; join with /room/<room>?token=<token>.
 */
import { sign } from "hono/jwt";
import { parseArgs } from "node:util";
import { secret } from "./secrets.ts";

const USAGE =
  "usage: npm run token -- --user <id> --room <room|*> [--name <name>] [--role member|agent] [--ttl <seconds>]";

const { values } = parseArgs({
  options: {
    user: { type: "string" },
    room: { type: "string" },
    name: { type: "string" },
    role: { type: "string", default: "member" },
    ttl: { type: "string", default: "3600" },
    help: { type: "boolean" },
  },
});

const ttl = Number(values.ttl);
if (values.help || !values.user || !values.room) {
  console.error(USAGE);
  process.exitCode = values.help ? 0 : 2;
} else if (values.role !== "member" && values.role !== "agent") {
  console.error(`--role must be member or agent, got: ${values.role}`);
  process.exitCode = 2;
} else if (!Number.isSafeInteger(ttl) || ttl <= 0) {
  console.error(`--ttl must be a positive number of seconds, got: ${values.ttl}`);
  process.exitCode = 2;
} else {
  try {
    const claims = {
      sub: values.user,
      name: values.name ?? values.user,
      room: values.room,
      role: values.role,
      exp: Math.floor(Date.now() / 1000) + ttl,
    };
    console.log(await sign(claims, secret("JOIN_SECRET"), "HS256"));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
