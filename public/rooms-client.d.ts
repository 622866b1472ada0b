// Generated from the JSDoc of rooms-client.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
/**
 * The rooms client: one object per room connection, for the chat page, users' own pages and
 * Node 22 (which has a global WebSocket). It is a small state machine — connecting, open,
 * reconnecting, closed — that reconnects with full-jitter backoff, resumes with `since` so no
 * frame is missed, drops frames it has already seen (by `seq`), and keeps every frame it sent
 * with an `id` until the room acknowledges it, re-sending it with the same `id` after a
 * reconnect (the room answers a repeated `id` with its first `ack`), so nothing is lost or
 * doubled. The wire format is docs/protocol.md; the shape follows centrifuge-js and partysocket
 * (STYLE.md, convention 11). Plain ES module: served from public/ with no build step.
 *
 * ```js
 * import { RoomClient } from "/rooms-client.js";
 * const client = new RoomClient({
 *   url: location.origin,
 *   room: "lobby",
 *   name: "Ann", // a guest: the room makes the id
 *   guestToken: localStorage.getItem("guest") ?? undefined, // the same guest as last time
 *   onGuestToken: (t) => (t ? localStorage.setItem("guest", t) : localStorage.removeItem("guest")),
 * });
 * client.on("message", (m) => console.log(m.from.name, m.data));
 * client.connect();
 * client.send({ text: "hi" });
 * ```
 *
 * Ids come from tokens, never from the client: a backend's join token (`token`), or the guest
 * token the room hands a guest in every `welcome`. The client rejoins with the newest guest
 * token after every drop, so a reconnect is the same guest and its re-sent frames stay its own
 * (the constructor says how a page keeps one across reloads).
 *
 * The same client joins a help desk (docs/protocol.md, "The help desk") with `kind: "desk"`: a
 * customer as above (a guest, or with a backend's desk token), an agent with `role: "agent"` and
 * a desk token of that role. The desk's own frames arrive as the `queued`, `assigned` and
 * `conversationClosed` events; an agent answers with `sendTo(customer, data)`, and hands over or
 * ends a conversation with `transfer` and `closeConversation`.
 *
 * Every stored frame reaches the `message`, `direct` and `event` listeners once, in the room's
 * order, with no hole after a reconnect: the room replays only the newest frames that fit its
 * byte budget (`MAX_REPLAY_BYTES`), so when frames after `since` were left out, the client first
 * fetches them with `history` requests of its own, holding back the replay and live frames
 * meanwhile, then hands them all on, oldest first, as if they had been replayed (centrifuge-js
 * delivers recovered publications the same way). Those requests' answers are not `history`
 * events. Only frames the room no longer has at all are a `gap` event.
 *
 * This module is the connection: its states, sockets, timers and reconnects. Beside it,
 * rooms-protocol.js reads frames, rooms-outbox.js keeps what we sent until it is acknowledged,
 * rooms-seq.js decides which received frames are new and where to resume, rooms-backfill.js
 * pages back for what a replay left out, rooms-identity.js
 * keeps the token we join with (a guest's newest guest token), rooms-connect.js builds the join
 * URL and the backoff delays and tells a refused join (by its close code, or by asking over
 * HTTP) from a failed one, and rooms-client-types.js holds the types of the events and options,
 * which this module re-exports.
 */
import { RoomClientError } from "./rooms-outbox.js";
import { backoffDelay } from "./rooms-connect.js";
export * from "./rooms-protocol.js";
export { RoomClientError, backoffDelay };
export type Member = import("./rooms-protocol.js").Member;
export type Self = import("./rooms-protocol.js").Self;
export type WelcomeFrame = import("./rooms-protocol.js").WelcomeFrame;
export type MessageFrame = import("./rooms-protocol.js").MessageFrame;
export type DirectFrame = import("./rooms-protocol.js").DirectFrame;
export type EventFrame = import("./rooms-protocol.js").EventFrame;
export type PresenceFrame = import("./rooms-protocol.js").PresenceFrame;
export type AckFrame = import("./rooms-protocol.js").AckFrame;
export type HistoryFrame = import("./rooms-protocol.js").HistoryFrame;
export type StoredFrame = import("./rooms-protocol.js").StoredFrame;
export type ServerFrame = import("./rooms-protocol.js").ServerFrame;
export type SentFrame = import("./rooms-protocol.js").SentFrame;
export type DeskCustomer = import("./rooms-protocol.js").DeskCustomer;
export type QueuedFrame = import("./rooms-protocol.js").QueuedFrame;
export type AssignedFrame = import("./rooms-protocol.js").AssignedFrame;
export type ClosedFrame = import("./rooms-protocol.js").ClosedFrame;
export type ConnectionState = import("./rooms-client-types.js").ConnectionState;
export type StateChange = import("./rooms-client-types.js").StateChange;
export type ClientError = import("./rooms-client-types.js").ClientError;
export type Closed = import("./rooms-client-types.js").Closed;
export type Gap = import("./rooms-client-types.js").Gap;
export type RoomClientEvents = import("./rooms-client-types.js").RoomClientEvents;
export type RoomClientOptions = import("./rooms-client-types.js").RoomClientOptions;
export declare const DEFAULTS: Readonly<{
  baseDelayMs: 500;
  maxDelayMs: 15000;
  minUptimeMs: 5000;
  connectTimeoutMs: 10000;
  pingIntervalMs: 25000;
  pongTimeoutMs: 10000;
  maxFrameBytes: 65536;
}>;
export declare class RoomClient {
  #private;
  /**
   * Who joins is one of three, and never an id the client names (the room takes ids from tokens):
   * - `token`: a join token from your backend, for users it knows (private and personal rooms,
   *   desk agents, or anywhere). Its refusal is final: renewing it is the backend's job.
   * - no token: a guest, with `name`. The room makes the id and hands out a guest token in every
   *   `welcome` (`self.token`, valid 30 days from then); the client rejoins with the newest one
   *   after every drop, so it stays the same guest and its re-sent frames stay its own.
   * - `guestToken`: such a token that the page kept (in localStorage, say), to be the same guest
   *   as before a reload, or in another tab. Refused as `unauthorized` (expired, or the server's
   *   secret changed), it is dropped and the client joins at once as a new guest with `name`.
   *
   * Keep the newest guest token the way centrifuge-js pages keep theirs: store it in
   * `onGuestToken` (called before the `welcome` event, and with null when the page's copy must
   * go), or read `client.guestToken`; pass it back as `guestToken` next time.
   * @param {RoomClientOptions} options
   */
  constructor(options: RoomClientOptions);
  /** @returns {ConnectionState} */
  get state(): ConnectionState;
  /** The newest `seq` seen; the next connection resumes after it. */
  get lastSeq(): number | undefined;
  /** Who the room says we are (from `welcome`); null before the first one. */
  get self(): import("./rooms-protocol.js").Self | null;
  /**
   * The newest guest token: what a page stores to be the same guest after a reload. Null with a
   * backend's `token`, and for a new guest until its first `welcome`.
   */
  get guestToken(): string | null;
  /** @returns {Member[]} */
  get members(): Member[];
  /** Frames sent with an `id` and not acknowledged yet: they are re-sent on every reconnect. */
  get pending(): import("./rooms-protocol.js").SentFrame[];
  /** The room-refusal that closed the client, if any. */
  get fatal(): {
    code: string;
    message: string;
  } | null;
  /**
   * @template {keyof RoomClientEvents} K
   * @param {K} type
   * @param {(detail: RoomClientEvents[K]) => void} listener
   * @returns {() => void} unsubscribes
   */
  on<K extends keyof RoomClientEvents>(
    type: K,
    listener: (detail: RoomClientEvents[K]) => void,
  ): () => void;
  /** Starts connecting. Calling it again is harmless. */
  connect(): this;
  /**
   * Sends a group message (群聊). Queued until the room is open; kept until acknowledged.
   * @param {unknown} data any JSON value
   * @returns {string} the frame's `id` (its `ack` and its echo carry it)
   */
  send(data: unknown): string;
  /**
   * Sends a direct message (单聊) to one user; only the two of you see it.
   * @param {string} to the user id
   * @param {unknown} data
   * @returns {string} the frame's `id`
   */
  sendDirect(to: string, data: unknown): string;
  /**
   * Desk agents: writes to one of their customers. Acknowledged and re-sent like `send`; a
   * customer who is no longer theirs (transferred, closed) answers with a `forbidden` error.
   * @param {string} customer the customer's user id
   * @param {unknown} data
   * @returns {string} the frame's `id`
   */
  sendTo(customer: string, data: unknown): string;
  /**
   * Desk agents: hands a conversation to another online agent; `assigned` reaches all three.
   * Like a history request it waits for a connection and goes out once: the desk does not
   * acknowledge it, and its outcome (an `assigned` event or an `error` with this `id`) is the
   * answer. Re-sending it blindly after a reconnect could undo a later decision.
   * @param {string} customer
   * @param {string} to the other agent's user id
   * @returns {string} the frame's `id`
   */
  transfer(customer: string, to: string): string;
  /**
   * Desk agents: ends a conversation; both sides get `conversationClosed`. Sent once, as
   * `transfer`.
   * @param {string} customer
   * @returns {string} the frame's `id`
   */
  closeConversation(customer: string): string;
  /**
   * Asks for older frames: the answer is a `history` event.
   * @param {{ before?: number, limit?: number }} [page]
   */
  requestHistory(page?: { before?: number; limit?: number }): void;
  /** While waiting to reconnect, tries now (say, when the browser says it is back online). */
  reconnectNow(): void;
  /** Closes for good: no reconnect. Unacknowledged frames stay in `pending`. */
  close(): void;
}
