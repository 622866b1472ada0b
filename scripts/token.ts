/**
 * Mints a backend join token (JWT HS256 with JOIN_SECRET), as your backend would for a user it
 * has logged in:
 *   npm run token -- --user u1 --room private-x [--name Ann] [--ttl 3600]
 *   npm run token -- --user kefu1 --name Li --desk help --role agent
 * A token names one kind of place, a room or a desk (a name or `*`), never both: a room token
 * does not open a desk of the same name. Prints the token; join with `?token=<token>`.
 */
import { sign } from "hono/jwt";
import { parseArgs } from "node:util";
import { GUEST_PREFIX, cleanDisplayName, isRoomName, isUserId } from "../src/protocol/index.ts";
import { secret } from "./secrets.ts";

const USAGE =
  "usage: npm run token -- --user <id> (--room <room|*> | --desk <desk|*>) [--name <name>] [--role member|agent] [--ttl <seconds>]";

/** The claims to sign, or the sentence that says what is wrong with the arguments. */
function claimsFrom(values: Record<string, string | boolean | undefined>): object | string {
  const { user, room, desk, name, role } = values as Record<string, string | undefined>;
  const ttl = Number(values.ttl);
  if (!user || (room === undefined) === (desk === undefined)) return USAGE;
  if (user.startsWith(GUEST_PREFIX))
    return `--user may not start with "${GUEST_PREFIX}": those ids belong to guests the server made`;
  if (!isUserId(user)) return `--user must be 1-64 of A-Z a-z 0-9 _ . : @ -, got: ${user}`;
  const place = (room ?? desk)!;
  if (place !== "*" && !isRoomName(place))
    return `--${room !== undefined ? "room" : "desk"} must be * or 1-99 of A-Z a-z 0-9 _ . -, got: ${place}`;
  const shown = cleanDisplayName(name ?? user);
  if (shown === null)
    return `--name must be 1-64 characters, without control or bidirectional-override characters`;
  if (role !== "member" && role !== "agent") return `--role must be member or agent, got: ${role}`;
  if (!Number.isSafeInteger(ttl) || ttl <= 0)
    return `--ttl must be a positive number of seconds, got: ${values.ttl}`;
  return {
    sub: user,
    name: shown,
    ...(room !== undefined ? { room } : { desk }),
    role,
    exp: Math.floor(Date.now() / 1000) + ttl,
  };
}

const { values } = parseArgs({
  options: {
    user: { type: "string" },
    room: { type: "string" },
    desk: { type: "string" },
    name: { type: "string" },
    role: { type: "string", default: "member" },
    ttl: { type: "string", default: "3600" },
    help: { type: "boolean" },
  },
});

if (values.help) {
  console.log(USAGE);
} else {
  const claims = claimsFrom(values);
  if (typeof claims === "string") {
    console.error(claims);
    process.exitCode = 2;
  } else {
    try {
      console.log(await sign(claims as Record<string, unknown>, secret("JOIN_SECRET"), "HS256"));
    } catch (err) {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    }
  }
}
