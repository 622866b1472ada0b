// Generated from the JSDoc of rooms-client-types.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
/**
 * The types of the rooms client's API (rooms-client.js): its connection states, the detail of
 * each event a page can listen to, and the options of `new RoomClient(...)`. Types only: nothing
 * here runs, and the client re-exports every name, so pages import them from rooms-client.js.
 */
export type Member = import("./rooms-protocol.js").Member;
export type WelcomeFrame = import("./rooms-protocol.js").WelcomeFrame;
export type MessageFrame = import("./rooms-protocol.js").MessageFrame;
export type DirectFrame = import("./rooms-protocol.js").DirectFrame;
export type EventFrame = import("./rooms-protocol.js").EventFrame;
export type PresenceFrame = import("./rooms-protocol.js").PresenceFrame;
export type AckFrame = import("./rooms-protocol.js").AckFrame;
export type HistoryFrame = import("./rooms-protocol.js").HistoryFrame;
export type SentFrame = import("./rooms-protocol.js").SentFrame;
export type QueuedFrame = import("./rooms-protocol.js").QueuedFrame;
export type AssignedFrame = import("./rooms-protocol.js").AssignedFrame;
export type ClosedFrame = import("./rooms-protocol.js").ClosedFrame;
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";
export type StateChange = {
  state: ConnectionState;
  previous: ConnectionState;
  /**
   * consecutive failed connections (0 once a connection lasted)
   */
  attempt: number;
  /**
   * with `reconnecting`: how long until the next try
   */
  delayMs?: number;
  /**
   * the close code that caused the change, if any
   */
  code?: number;
  /**
   * a human reason, when there is one
   */
  reason?: string;
};
export type ClientError = {
  /**
   * the server's error code (`rate_limited`, `too_large`, ...)
   */
  code: string;
  message: string;
  /**
   * the `id` of the frame that was refused, when known
   */
  id?: string;
  /**
   * that frame: it will not be re-sent
   */
  frame?: SentFrame;
};
export type Closed = {
  /**
   * the close code, when the server closed
   */
  code?: number;
  /**
   * `unauthorized`, `forbidden`, `invalid_room`, ... when the room
   * refused us (fatal: no reconnect); absent after `close()`
   */
  error?: string;
  /**
   * a sentence for humans
   */
  reason: string;
};
export type Gap = {
  /**
   * trimmed: frames after our last `seq` were dropped from
   * the room's history; reset: the room is behind us (its storage was reset)
   */
  reason: "trimmed" | "reset";
  /**
   * the `seq` we asked to resume after
   */
  since: number;
  /**
   * the room's newest `seq`
   */
  seq: number;
};
export type RoomClientEvents = {
  state: StateChange;
  /**
   * `self.token` is set for guests: the newest guest token
   */
  welcome: WelcomeFrame;
  /**
   * a stored group message, or our own echoed. Stored frames
   * (`message`, `direct`, `event`) come once each, in `seq` order: after a reconnect first those
   * the replay left out for the room's byte budget (fetched with `history` before anything newer
   * is handed on), then the replay, then live ones, so a page that appends them has no hole
   */
  message: MessageFrame;
  /**
   * a stored direct message, to or from us; in order as `message`
   */
  direct: DirectFrame;
  /**
   * a pushed event; stored ones in order as `message`, live-only ones
   * (no `seq`) as they come
   */
  event: EventFrame;
  presence: PresenceFrame;
  /**
   * the member list after a welcome or a presence change
   */
  members: Member[];
  ack: AckFrame;
  error: ClientError;
  /**
   * the answer to `requestHistory`; `complete: false` means older
   * frames exist, even when the page is shorter than asked (the byte budget cut it). The
   * client's own requests for what a replay left out are not reported here
   */
  history: HistoryFrame;
  gap: Gap;
  /**
   * the connection ended for good
   */
  closed: Closed;
  /**
   * desk customers: the conversation is open and waits for an
   * agent (from its first message, and on every join while it waits); sent again as the
   * position changes
   */
  queued: QueuedFrame;
  /**
   * desk: a conversation got an agent (on its first message,
   * from the queue, by a transfer or after the agent's grace period); a customer gets it again
   * on every join while the conversation is open
   */
  assigned: AssignedFrame;
  /**
   * desk: a conversation ended, closed by its agent or
   * idle too long (`agent` null: it was still queued); the customer's next message opens a new
   * one. The `closed` frame, not the connection's `closed`
   */
  conversationClosed: ClosedFrame;
};
export type RoomClientOptions = {
  /**
   * the server's base URL: `https://host`, `ws://host:8787`, `location.origin`
   */
  url: string;
  /**
   * the room's name, or the desk's with `kind: "desk"`
   */
  room: string;
  /**
   * join `/room/<room>` (default) or the help desk `/desk/<room>`
   */
  kind?: "room" | "desk";
  /**
   * desks only: `agent` needs a desk token of that role;
   * customers may leave it out
   */
  role?: "agent" | "customer";
  /**
   * the display name a new guest asks for (1-64 characters; default:
   * one the room makes up); with a token, the token's name is used instead
   */
  name?: string;
  /**
   * a join token from your backend; `guestToken` is then ignored
   */
  token?: string;
  /**
   * a guest token from an earlier `welcome`, to join as that guest
   */
  guestToken?: string;
  /**
   * called with every guest token a
   * `welcome` hands out (before the `welcome` event), and with null when the stored one was
   * refused and should be forgotten
   */
  onGuestToken?: (token: string | null) => void;
  /**
   * resume after this `seq` on the first connection too
   */
  since?: number;
  /**
   * backoff base (default 500)
   */
  baseDelayMs?: number;
  /**
   * backoff cap (default 15000)
   */
  maxDelayMs?: number;
  /**
   * a connection must last this long before the retry count
   * resets (default 5000), so a server that accepts and drops at once is not hammered
   */
  minUptimeMs?: number;
  /**
   * give up on a connection not welcomed by then (default 10000)
   */
  connectTimeoutMs?: number;
  /**
   * keep-alive period (default 25000)
   */
  pingIntervalMs?: number;
  /**
   * no traffic this long after a ping: the link is dead (default 10000)
   */
  pongTimeoutMs?: number;
  /**
   * refuse to send larger frames (default 65536, the server's)
   */
  maxFrameBytes?: number;
  /**
   * after a failed connection, ask the server over HTTP why (a bad
   * room or name is a 400 a WebSocket cannot read); default: when `fetch` exists
   */
  probe?: boolean;
  /**
   * the WebSocket class (default: the global one)
   */
  WebSocket?: typeof WebSocket;
  /**
   * for the jitter (default Math.random), 0 <= r < 1
   */
  random?: () => number;
};
export {};
