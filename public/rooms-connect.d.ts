// Generated from the JSDoc of rooms-connect.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
/**
 * The client's connection helpers that hold no connection: the URL that joins a room
 * (docs/protocol.md, "Joining"), how long to wait before the next try, whether a close code or
 * the same URL asked over plain HTTP says the room refused us for good, and closing a socket that
 * may already be gone. No state, no timers and no listeners here: rooms-client.js passes in what
 * it knows and acts on the answers.
 */
export type RoomClientOptions = import("./rooms-client-types.js").RoomClientOptions;
export type Refusal = {
  code: string;
  message: string;
};
/**
 * Full-jitter backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly
 * random delay in [0, min(max, base * 2^attempt)), so clients that lost the same server do not
 * come back in step.
 * @param {number} attempt failed connections so far, from 0
 * @param {number} baseMs
 * @param {number} maxMs
 * @param {() => number} [random] 0 <= r < 1
 */
export declare function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random?: () => number,
): number;
/**
 * The WebSocket URL that joins the room the options name: `ws:` or `wss:` after the base URL's
 * scheme, `/<kind>/<room>`, who we are (a token — a backend's or our guest token — or else the
 * name a new guest asks for), where to resume, and `batch=1` (the client reads several frames
 * per message). Never a user id: the room takes ids from tokens only, and refuses a `user`.
 * @param {Pick<RoomClientOptions, "url" | "room" | "role" | "token" | "name">
 *   & { kind: NonNullable<RoomClientOptions["kind"]> }} opts
 * @param {number | undefined} since the newest `seq` seen, if any
 * @returns {string}
 */
export declare function joinUrl(
  opts: Pick<RoomClientOptions, "url" | "room" | "role" | "token" | "name"> & {
    kind: NonNullable<RoomClientOptions["kind"]>;
  },
  since: number | undefined,
): string;
/**
 * A browser cannot read why an upgrade was refused, but the same URL over plain HTTP answers
 * with the JSON error (400 invalid_room, invalid_name...). Asks it, and returns the refusal when
 * the answer is one: a 400, 403 or 404 whose body has a string `error`. Anything else (the
 * server is down, 426 "use a WebSocket", not JSON, blocked by CORS) is no verdict: null.
 * @param {string} wsUrl the join URL, as from `joinUrl`
 * @returns {Promise<Refusal | null>}
 */
export declare function probeRefusal(wsUrl: string): Promise<Refusal | null>;
/**
 * What a WebSocket close says about the join (docs/protocol.md, "Close codes"): 4401
 * (unauthorized) and 4403 (forbidden) refuse who we are; 4429 closed this socket because the
 * same user opened more (other tabs, say), and coming back would only close the next oldest of
 * them, round and round. Any other code is no verdict.
 * @param {number | undefined} code
 * @param {string} reason the close reason, if the room gave one
 * @returns {Refusal | null}
 */
export declare function closeRefusal(code: number | undefined, reason: string): Refusal | null;
/**
 * `reason` cut to what a close frame can carry, whole characters only.
 * @param {string} reason
 * @returns {string}
 */
export declare function closeReason(reason: string): string;
/**
 * Closes a socket that is connecting or open; one already closing or closed is left alone.
 * @param {WebSocket} ws
 * @param {number} code
 * @param {string} reason sent cut to 123 bytes of UTF-8 (the most a close frame carries)
 */
export declare function closeQuietly(ws: WebSocket, code: number, reason: string): void;
