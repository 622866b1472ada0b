/**
 * The server API from a terminal, signed like `npm run push` (PUSH_SECRET from the environment or
 * .dev.vars; --url, or ROOMS_URL, picks the server):
 *   npm run rooms -- info lobby [orders …]
 *   npm run rooms -- list [prefix]
 *   npm run rooms -- members lobby [--after <id>] [--limit <n>]
 *   npm run rooms -- history lobby [--before <seq>] [--limit <n>]
 *   npm run rooms -- kick lobby 42 [--reason <text>] [--ban <seconds>]
 * With --desk, the same calls go to desks. Prints the server's JSON answer; exits 1 when refused.
 */
import { parseArgs } from "node:util";
import { baseUrl } from "./secrets.ts";
import { signedPost } from "./signed-post.ts";

const USAGE = `usage: npm run rooms -- <call> [args] [--desk] [--url <base>]
  info <name> [<name> …]                              each one's members, sockets and seq
  list [<prefix>]                                     every occupied one (lags by PRESENCE_COUNT_MS)
  members <name> [--after <id>] [--limit <n>]         who is connected, in id order
  history <name> [--before <seq>] [--limit <n>]       stored frames, directs included
  kick <name> <user> [--reason <text>] [--ban <sec>]  closes the user's sockets (4403)`;

class UsageError extends Error {}

/** A whole number from a flag, or a usage error naming it. */
function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a whole number, got: ${value}`);
  return Number(value);
}

/** The call's path and body from the command line. */
function request(argv: string[]): { path: string; body: Record<string, unknown>; url?: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      desk: { type: "boolean" },
      after: { type: "string" },
      before: { type: "string" },
      limit: { type: "string" },
      reason: { type: "string" },
      ban: { type: "string" },
      url: { type: "string" },
      help: { type: "boolean" },
    },
  });
  const [call, ...args] = positionals;
  const kind = values.desk ? "desk" : "room";
  const path = (c: string) => `/api/${kind}s/${c}`;
  const need = (n: number, what: string) => {
    if (args.length !== n) throw new UsageError(`${call} takes ${what}`);
  };
  const limit = count("limit", values.limit);
  const url = values.url === undefined ? {} : { url: values.url };
  switch (call) {
    case "info":
      if (args.length === 0) throw new UsageError(`info takes one or more ${kind} names`);
      return { path: path("info"), body: { [`${kind}s`]: args }, ...url };
    case "list":
      if (args.length > 1) throw new UsageError("list takes at most one prefix");
      return { path: path("list"), body: args[0] === undefined ? {} : { prefix: args[0] }, ...url };
    case "members":
      need(1, `one ${kind} name`);
      return {
        path: path("members"),
        body: { [kind]: args[0], after: values.after, limit },
        ...url,
      };
    case "history":
      need(1, `one ${kind} name`);
      return {
        path: path("history"),
        body: { [kind]: args[0], before: count("before", values.before), limit },
        ...url,
      };
    case "kick":
      need(2, `a ${kind} name and a user id`);
      return {
        path: path("kick"),
        body: {
          [kind]: args[0],
          user: args[1],
          reason: values.reason,
          ban_sec: count("ban", values.ban),
        },
        ...url,
      };
    default:
      throw new UsageError(call === undefined ? "which call?" : `unknown call: ${call}`);
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let req: ReturnType<typeof request>;
  try {
    req = request(argv);
  } catch (err) {
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  // JSON.stringify leaves out the flags not given (undefined).
  const body = JSON.stringify(req.body);
  const res = await signedPost(baseUrl(req.url), req.path, body, `api_${crypto.randomUUID()}`);
  const text = await res.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON (a proxy's error page): shown as it came.
  }
  (res.ok ? console.log : console.error)(shown);
  return res.ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
