/**
 * The client's connection helpers that hold no connection: the URL that joins a room, how long
 * to wait before the next try, whether a close code or the same URL asked over plain HTTP says
 * the room refused us for good, and closing a socket that may already be gone. No state, no
 * timers and no listeners here: the client passes in what it knows and acts on the answers.
 */
import {
  CLOSE_FORBIDDEN,
  CLOSE_TOO_MANY_CONNECTIONS,
  CLOSE_UNAUTHORIZED,
  NO_RECONNECT_CLOSE_CODES,
} from "../protocol/codes.ts";
import { isObject } from "./frames.ts";
import type { RoomClientOptions } from "./types.ts";

/** Why the room will not have us: retrying cannot help, so the client closes for good. */
export interface Refusal {
  code: string;
  message: string;
}

/** HTTP answers to the probe that name a permanent refusal (bad room or name; no route). */
const FATAL_HTTP_STATUS = new Set([400, 403, 404]);

/**
 * Full-jitter backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly
 * random delay in [0, min(max, base * 2^attempt)), so clients that lost the same server do not
 * come back in step. `attempt`: failed connections so far, from 0; `random`: 0 <= r < 1.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 31));
  return Math.floor(random() * ceiling);
}

/**
 * The WebSocket URL that joins the room the options name: `ws:` or `wss:` after the base URL's
 * scheme, `/<kind>/<room>`, who we are (a token — a backend's or our guest token — or else the
 * name a new guest asks for), where to resume (`since`, the newest `seq` seen, if any), and
 * `batch=1` (the client reads several frames per message). Never a user id: the room takes ids
 * from tokens only, and refuses a `user`.
 */
export function joinUrl(
  opts: Pick<RoomClientOptions, "url" | "room" | "role" | "token" | "name"> & {
    kind: NonNullable<RoomClientOptions["kind"]>;
  },
  since: number | undefined,
): string {
  const base = new URL(opts.url);
  base.protocol = base.protocol === "https:" || base.protocol === "wss:" ? "wss:" : "ws:";
  const url = new URL(`/${opts.kind}/${encodeURIComponent(opts.room)}`, base);
  const q = url.searchParams;
  if (opts.role !== undefined) q.set("role", opts.role);
  // The room ignores `name` next to a token (the token names its holder): not sent at all.
  if (opts.token !== undefined) q.set("token", opts.token);
  else if (opts.name !== undefined) q.set("name", opts.name);
  if (since !== undefined) q.set("since", String(since));
  q.set("batch", "1");
  return url.toString();
}

/**
 * A browser cannot read why an upgrade was refused, but the same URL over plain HTTP answers
 * with the JSON error (400 invalid_room, invalid_name...). Asks it (`wsUrl` as from `joinUrl`),
 * and returns the refusal when the answer is one: a 400, 403 or 404 whose body has a string
 * `error`. Anything else (the server is down, 426 "use a WebSocket", not JSON, blocked by CORS)
 * is no verdict: null.
 */
export async function probeRefusal(wsUrl: string): Promise<Refusal | null> {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  try {
    const res = await fetch(url, { headers: { accept: "application/json" } });
    if (!FATAL_HTTP_STATUS.has(res.status)) return null;
    const body: unknown = await res.json();
    if (!isObject(body) || typeof body.error !== "string") return null;
    return {
      code: body.error,
      message: typeof body.message === "string" ? body.message : body.error,
    };
  } catch {
    return null; // unreachable, not JSON, or blocked by CORS
  }
}

/** The error code each no-reconnect close stands for, and what to say when it gives no reason. */
const CLOSE_REFUSALS: ReadonlyMap<number, Refusal> = new Map([
  [CLOSE_UNAUTHORIZED, { code: "unauthorized", message: "the room refused this join" }],
  [CLOSE_FORBIDDEN, { code: "forbidden", message: "the room refused this join" }],
  [CLOSE_TOO_MANY_CONNECTIONS, { code: "too_many_connections", message: "too many connections" }],
]);

/**
 * What a WebSocket close (`reason`: the close reason, if the room gave one) says about the
 * join: the protocol's no-reconnect codes are a refusal. 4401 (unauthorized) and 4403
 * (forbidden) refuse who we are; 4429 closed this socket because the same user opened more
 * (other tabs, say), and coming back would only close the next oldest of them, round and round.
 * Any other code is no verdict.
 */
export function closeRefusal(code: number | undefined, reason: string): Refusal | null {
  if (code === undefined || !NO_RECONNECT_CLOSE_CODES.has(code)) return null;
  // A no-reconnect code newer than this table is still final; it only lacks a name here.
  const known = CLOSE_REFUSALS.get(code) ?? {
    code: "refused",
    message: "the room refused this join",
  };
  return { code: known.code, message: reason || known.message };
}

/** A close reason may be at most 123 bytes of UTF-8; a longer one makes close() throw. */
const MAX_CLOSE_REASON_BYTES = 123;
const utf8 = new TextEncoder();

/** `reason` cut to what a close frame can carry, whole characters only. */
export function closeReason(reason: string): string {
  if (utf8.encode(reason).byteLength <= MAX_CLOSE_REASON_BYTES) return reason;
  const chars = Array.from(reason).slice(0, MAX_CLOSE_REASON_BYTES);
  while (utf8.encode(chars.join("")).byteLength > MAX_CLOSE_REASON_BYTES) chars.pop();
  return chars.join("");
}

/**
 * Closes a socket that is connecting or open; one already closing or closed is left alone.
 * `reason` is sent cut to 123 bytes of UTF-8 (the most a close frame carries).
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, closeReason(reason));
  } catch {
    // Already closing or closed: there is nothing left to release.
  }
}
