/**
 * Close codes and error codes in one place, for the server that sends them and the client that
 * reads them: which close means "refused, do not come back" and which is worth a reconnect.
 */

export const CLOSE_NORMAL = 1000;
export const CLOSE_POLICY = 1008; // sustained rate-limit abuse
export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_TRY_AGAIN_LATER = 1013; // the connect hook could not decide: auth_unavailable
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
/** A user's oldest socket, closed for an eleventh: the client must not reconnect it. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;

/**
 * Codes a peer may report but nobody may send (RFC 6455 7.4.1; 1004 is reserved too, and
 * workerd's close() throws for all four): the close is answered with 1000 instead.
 */
const RESERVED_CLOSE_CODES = new Set([1004, 1005, 1006, 1015]);
export const answerableCloseCode = (code: number): number =>
  RESERVED_CLOSE_CODES.has(code) || code < 1000 || code > 4999 ? CLOSE_NORMAL : code;

/**
 * Close codes that mean the connection is already gone, with no close frame to answer: 1006
 * (it dropped: a reset, a lost network, a killed tab) and 1015 (its TLS failed). Answering
 * such a close with close() sends to nobody, yet it was most of what a dropped socket cost:
 * when 5,000 sockets dropped at once the runtime took 40 s and 30 s of CPU to go quiet,
 * against 4-9 s and 3-5 s without those calls (`npm run bench -- --storm-split`).
 */
const CONNECTION_LOST_CODES = new Set([1006, 1015]);
export const connectionLost = (code: number): boolean => CONNECTION_LOST_CODES.has(code);

/**
 * Closes after which a client must not reconnect: it was refused (4401, 4403) or replaced by a
 * newer socket of the same user (4429), so trying again would be refused again or knock the
 * newer socket off in turn.
 */
export const NO_RECONNECT_CLOSE_CODES: ReadonlySet<number> = new Set([
  CLOSE_UNAUTHORIZED,
  CLOSE_FORBIDDEN,
  CLOSE_TOO_MANY_CONNECTIONS,
]);

/** The close code that goes with an identity refusal's error code. */
export const refusalCloseCode = (code: "unauthorized" | "forbidden"): number =>
  code === "unauthorized" ? CLOSE_UNAUTHORIZED : CLOSE_FORBIDDEN;

export type ErrorCode =
  | "bad_json"
  | "unknown_type"
  | "invalid_frame"
  | "unsupported_binary"
  | "too_large"
  | "rate_limited"
  | "unauthorized"
  | "forbidden"
  | "too_many_connections"
  | "desk_full"
  | "auth_unavailable"
  | "rejected"
  | "hook_unavailable"
  /** The server API removed this user (`/api/…/kick`): the socket is then closed 4403. */
  | "kicked"
  | "internal";
