/**
 * The types of the rooms client's API: its connection states, the detail of each event a page
 * can listen to, and the options of `new RoomClient(...)`. Types only: nothing here runs. The
 * frames themselves are the protocol's (src/protocol/frames.ts), the same types the server
 * builds them with.
 */
import type { ErrorCode } from "../protocol/codes.ts";
// One namespace import: every frame named below is the protocol's own type, spelled Frames.X.
import type * as Frames from "../protocol/frames.ts";
import type { SentFrame } from "./frames.ts";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface StateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Consecutive failed connections (0 once a connection lasted). */
  attempt: number;
  /** With `reconnecting`: how long until the next try. */
  delayMs?: number;
  /** The close code that caused the change, if any. */
  code?: number;
  /** A human reason, when there is one. */
  reason?: string;
}

export interface ClientError {
  /** The server's error code (`rate_limited`, `too_large`, ...). */
  code: ErrorCode;
  message: string;
  /** The `id` of the frame that was refused, when known. */
  id?: string;
  /** That frame: it will not be re-sent. */
  frame?: SentFrame;
}

export interface Closed {
  /** The close code, when the server closed. */
  code?: number;
  /**
   * `unauthorized`, `forbidden`, `invalid_room`, ... when the room refused us (fatal: no
   * reconnect); absent after `close()`.
   */
  error?: string;
  /** A sentence for humans. */
  reason: string;
}

/**
 * Frames we will never get. Not reported for frames a replay only left out for the room's byte
 * budget: the client fetches those itself and hands them on as usual.
 */
export interface Gap {
  /**
   * trimmed: frames after our last `seq` were dropped from the room's history; reset: the room
   * is behind us (its storage was reset).
   */
  reason: "trimmed" | "reset";
  /** The `seq` we asked to resume after. */
  since: number;
  /** The room's newest `seq`. */
  seq: number;
}

export interface RoomClientEvents {
  state: StateChange;
  /** `self.token` is set for guests: the newest guest token. */
  welcome: Frames.WelcomeFrame;
  /**
   * A stored group message, or our own echoed; at a desk, a conversation's message (with `to`
   * and `customer`). Stored frames (`message`, `direct`, `event`) come once each, in `seq`
   * order: after a reconnect first those the replay left out for the room's byte budget
   * (fetched with `history` before anything newer is handed on), then the replay, then live
   * ones, so a page that appends them has no hole.
   */
  message: Frames.MessageFrame | Frames.DeskMessageFrame;
  /** A stored direct message, to or from us; in order as `message`. */
  direct: Frames.DirectFrame;
  /** A pushed event; stored ones in order as `message`, live-only ones (no `seq`) as they come. */
  event: Frames.EventFrame;
  presence: Frames.PresenceFrame;
  /** The member list after a welcome or a presence change. */
  members: Frames.Member[];
  ack: Frames.AckFrame;
  error: ClientError;
  /**
   * The answer to `requestHistory`; `complete: false` means older frames exist, even when the
   * page is shorter than asked (the byte budget cut it). The client's own requests for what a
   * replay left out are not reported here.
   */
  history: Frames.HistoryFrame;
  gap: Gap;
  /** The connection ended for good. */
  closed: Closed;
  /**
   * Desk customers: the conversation is open and waits for an agent (from its first message,
   * and on every join while it waits); sent again as the position changes.
   */
  queued: Frames.QueuedFrame;
  /**
   * Desk: a conversation got an agent (on its first message, from the queue, by a transfer or
   * after the agent's grace period); a customer gets it again on every join while the
   * conversation is open.
   */
  assigned: Frames.AssignedFrame;
  /**
   * Desk: a conversation ended, closed by its agent or idle too long (`agent` null: it was
   * still queued); the customer's next message opens a new one. The `closed` frame, not the
   * connection's `closed`.
   */
  conversationClosed: Frames.ClosedFrame;
}

/**
 * The options of `new RoomClient(...)`; who joins (`token`, `name`, `guestToken`) is explained
 * on the constructor.
 */
export interface RoomClientOptions {
  /** The server's base URL: `https://host`, `ws://host:8787`, `location.origin`. */
  url: string;
  /** The room's name, or the desk's with `kind: "desk"`. */
  room: string;
  /** Join `/room/<room>` (default) or the help desk `/desk/<room>`. */
  kind?: "room" | "desk";
  /** Desks only: `agent` needs a desk token of that role; customers may leave it out. */
  role?: "agent" | "customer";
  /**
   * The display name a new guest asks for (1-64 characters; default: one the room makes up);
   * with a token, the token's name is used instead.
   */
  name?: string;
  /** A join token from your backend; `guestToken` is then ignored. */
  token?: string;
  /** A guest token from an earlier `welcome`, to join as that guest. */
  guestToken?: string;
  /**
   * Called with every guest token a `welcome` hands out (before the `welcome` event), and with
   * null when the stored one was refused and should be forgotten.
   */
  onGuestToken?: (token: string | null) => void;
  /** Resume after this `seq` on the first connection too. */
  since?: number;
  /** Backoff base (default 500). */
  baseDelayMs?: number;
  /** Backoff cap (default 15000). */
  maxDelayMs?: number;
  /**
   * A connection must last this long before the retry count resets (default 5000), so a
   * server that accepts and drops at once is not hammered.
   */
  minUptimeMs?: number;
  /** Give up on a connection not welcomed by then (default 10000). */
  connectTimeoutMs?: number;
  /** Keep-alive period (default 25000). */
  pingIntervalMs?: number;
  /** No traffic this long after a ping: the link is dead (default 10000). */
  pongTimeoutMs?: number;
  /** Refuse to send larger frames (default 65536, the server's). */
  maxFrameBytes?: number;
  /**
   * After a failed connection, ask the server over HTTP why (a bad room or name is a 400 a
   * WebSocket cannot read); default: when `fetch` exists.
   */
  probe?: boolean;
  /** The WebSocket class (default: the global one). */
  WebSocket?: typeof WebSocket;
  /** For the jitter (default Math.random), 0 <= r < 1. */
  random?: () => number;
}
