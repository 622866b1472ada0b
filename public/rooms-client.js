// @ts-check
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
 * const client = new RoomClient({ url: location.origin, room: "lobby", user: "u1", name: "Ann" });
 * client.on("message", (m) => console.log(m.from.name, m.data));
 * client.connect();
 * client.send({ text: "hi" });
 * ```
 *
 * The same client joins a help desk (docs/protocol.md, "The help desk") with `kind: "desk"`: a
 * customer as above, an agent with `role: "agent"` and a join token of that role. The desk's own
 * frames arrive as the `queued`, `assigned` and `conversationClosed` events; an agent answers
 * with `sendTo(customer, data)`, and hands over or ends a conversation with `transfer` and
 * `closeConversation`.
 */

import {
  CLOSE_FORBIDDEN,
  CLOSE_NORMAL,
  CLOSE_TOO_LARGE,
  CLOSE_UNAUTHORIZED,
  MAX_FRAME_BYTES,
  isObject,
  parseServerFrame,
} from "./rooms-protocol.js";
import { Outbox, RoomClientError } from "./rooms-outbox.js";

// One import for users: the protocol's names and types come with the client.
export * from "./rooms-protocol.js";
export { RoomClientError };

/** @typedef {import("./rooms-protocol.js").Member} Member */
/** @typedef {import("./rooms-protocol.js").WelcomeFrame} WelcomeFrame */
/** @typedef {import("./rooms-protocol.js").MessageFrame} MessageFrame */
/** @typedef {import("./rooms-protocol.js").DirectFrame} DirectFrame */
/** @typedef {import("./rooms-protocol.js").EventFrame} EventFrame */
/** @typedef {import("./rooms-protocol.js").PresenceFrame} PresenceFrame */
/** @typedef {import("./rooms-protocol.js").AckFrame} AckFrame */
/** @typedef {import("./rooms-protocol.js").HistoryFrame} HistoryFrame */
/** @typedef {import("./rooms-protocol.js").StoredFrame} StoredFrame */
/** @typedef {import("./rooms-protocol.js").ServerFrame} ServerFrame */
/** @typedef {import("./rooms-protocol.js").SentFrame} SentFrame */
/** @typedef {import("./rooms-protocol.js").DeskCustomer} DeskCustomer */
/** @typedef {import("./rooms-protocol.js").QueuedFrame} QueuedFrame */
/** @typedef {import("./rooms-protocol.js").AssignedFrame} AssignedFrame */
/** @typedef {import("./rooms-protocol.js").ClosedFrame} ClosedFrame */
/** @typedef {"connecting" | "open" | "reconnecting" | "closed"} ConnectionState */
/**
 * @typedef {object} StateChange
 * @property {ConnectionState} state
 * @property {ConnectionState} previous
 * @property {number} attempt consecutive failed connections (0 once a connection lasted)
 * @property {number} [delayMs] with `reconnecting`: how long until the next try
 * @property {number} [code] the close code that caused the change, if any
 * @property {string} [reason] a human reason, when there is one
 */
/**
 * @typedef {object} ClientError
 * @property {string} code the server's error code (`rate_limited`, `too_large`, ...)
 * @property {string} message
 * @property {string} [id] the `id` of the frame that was refused, when known
 * @property {SentFrame} [frame] that frame: it will not be re-sent
 */
/**
 * @typedef {object} Closed
 * @property {number} [code] the close code, when the server closed
 * @property {string} [error] `unauthorized`, `forbidden`, `invalid_room`, ... when the room
 *   refused us (fatal: no reconnect); absent after `close()`
 * @property {string} reason a sentence for humans
 */
/**
 * @typedef {object} Gap
 * @property {"trimmed" | "reset"} reason trimmed: frames after our last `seq` were dropped from
 *   the room's history; reset: the room is behind us (its storage was reset)
 * @property {number} since the `seq` we asked to resume after
 * @property {number} seq the room's newest `seq`
 */
/**
 * @typedef {object} RoomClientEvents
 * @property {StateChange} state
 * @property {WelcomeFrame} welcome
 * @property {MessageFrame} message
 * @property {DirectFrame} direct
 * @property {EventFrame} event
 * @property {PresenceFrame} presence
 * @property {Member[]} members the member list after a welcome or a presence change
 * @property {AckFrame} ack
 * @property {ClientError} error
 * @property {HistoryFrame} history
 * @property {Gap} gap
 * @property {Closed} closed the connection ended for good
 * @property {QueuedFrame} queued desk customers: no agent yet; sent again as the position changes
 * @property {AssignedFrame} assigned desk: a customer got an agent (on joining, from the queue,
 *   by a transfer or after the agent's grace period); customers get it again on every join
 * @property {ClosedFrame} conversationClosed desk: an agent ended a conversation (the `closed`
 *   frame; not the connection's `closed`)
 */
/**
 * @typedef {object} RoomClientOptions
 * @property {string} url the server's base URL: `https://host`, `ws://host:8787`, `location.origin`
 * @property {string} room the room's name, or the desk's with `kind: "desk"`
 * @property {"room" | "desk"} [kind] join `/room/<room>` (default) or the help desk `/desk/<room>`
 * @property {"agent" | "customer"} [role] desks only: `agent` needs a join token of that role;
 *   customers may leave it out
 * @property {string} [user] user id (public rooms); keep it stable so re-sends are recognised
 * @property {string} [name] display name (public rooms)
 * @property {string} [token] join token; replaces `user` and `name` (private rooms)
 * @property {number} [since] resume after this `seq` on the first connection too
 * @property {number} [baseDelayMs] backoff base (default 500)
 * @property {number} [maxDelayMs] backoff cap (default 15000)
 * @property {number} [minUptimeMs] a connection must last this long before the retry count
 *   resets (default 5000), so a server that accepts and drops at once is not hammered
 * @property {number} [connectTimeoutMs] give up on a connection not welcomed by then (default 10000)
 * @property {number} [pingIntervalMs] keep-alive period (default 25000)
 * @property {number} [pongTimeoutMs] no traffic this long after a ping: the link is dead (default 10000)
 * @property {number} [maxFrameBytes] refuse to send larger frames (default 65536, the server's)
 * @property {boolean} [probe] after a failed connection, ask the server over HTTP why (a bad
 *   room or name is a 400 a WebSocket cannot read); default: when `fetch` exists
 * @property {typeof WebSocket} [WebSocket] the WebSocket class (default: the global one)
 * @property {() => number} [random] for the jitter (default Math.random), 0 <= r < 1
 */

export const DEFAULTS = Object.freeze({
  baseDelayMs: 500,
  maxDelayMs: 15_000,
  minUptimeMs: 5_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  pongTimeoutMs: 10_000,
  maxFrameBytes: MAX_FRAME_BYTES,
});

/** What we close a socket with when we give up on it ourselves (4000-4999: application use). */
const CLOSE_GIVE_UP = 4000;
/** Error codes that mean "you may not be here": retrying cannot help. */
const FATAL_CODES = new Set(["unauthorized", "forbidden"]);
/** HTTP answers to the probe that name a permanent refusal (bad room, user or name; no route). */
const FATAL_HTTP_STATUS = new Set([400, 403, 404]);

/**
 * Full-jitter backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly
 * random delay in [0, min(max, base * 2^attempt)), so clients that lost the same server do not
 * come back in step.
 * @param {number} attempt failed connections so far, from 0
 * @param {number} baseMs
 * @param {number} maxMs
 * @param {() => number} [random] 0 <= r < 1
 */
export function backoffDelay(attempt, baseMs, maxMs, random = Math.random) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 31));
  return Math.floor(random() * ceiling);
}

export class RoomClient {
  /** @type {Required<Omit<RoomClientOptions, "user" | "name" | "token" | "since" | "role">> & RoomClientOptions} */
  #opts;
  /**
   * `closed` before `connect()` too; `#closing` tells the final kind apart.
   * @type {ConnectionState}
   */
  #state = "closed";
  /** @type {WebSocket | null} */
  #ws = null;
  #started = false;
  #closing = false;
  /** Consecutive connections that failed or did not last `minUptimeMs`. */
  #attempt = 0;
  /**
   * The newest `seq` handed to listeners: the resume point and the dedupe line.
   * @type {number | undefined}
   */
  #lastSeq;
  /**
   * Set when the room refused us for good (error frame before a 4401/4403 close).
   * @type {{ code: string, message: string } | null}
   */
  #fatal = null;
  /** Replayed frames still expected after the current welcome. */
  #replayLeft = 0;
  #replayHead = 0;
  /** @type {Outbox} */
  #outbox;
  /** @type {Map<string, Member>} */
  #members = new Map();
  /** @type {Member | null} */
  #self = null;
  /** @type {{ [K in keyof RoomClientEvents]?: Set<(detail: any) => void> }} */
  #listeners = {};
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #uptimeTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #connectTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */ #pingTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #pongTimer;

  /** @param {RoomClientOptions} options */
  constructor(options) {
    const WebSocketClass = options.WebSocket ?? globalThis.WebSocket;
    if (WebSocketClass === undefined)
      throw new Error("no WebSocket: pass one in options.WebSocket");
    this.#opts = {
      ...DEFAULTS,
      probe: typeof fetch === "function",
      random: Math.random,
      ...options,
      kind: options.kind ?? "room",
      WebSocket: WebSocketClass,
    };
    this.#outbox = new Outbox(this.#opts.maxFrameBytes);
    this.#lastSeq = options.since;
  }

  /** @returns {ConnectionState} */
  get state() {
    return this.#state;
  }
  /** The newest `seq` seen; the next connection resumes after it. */
  get lastSeq() {
    return this.#lastSeq;
  }
  /** Who the room says we are (from `welcome`); null before the first one. */
  get self() {
    return this.#self;
  }
  /** @returns {Member[]} */
  get members() {
    return [...this.#members.values()];
  }
  /** Frames sent with an `id` and not acknowledged yet: they are re-sent on every reconnect. */
  get pending() {
    return this.#outbox.pending;
  }
  /** The room-refusal that closed the client, if any. */
  get fatal() {
    return this.#fatal;
  }

  /**
   * @template {keyof RoomClientEvents} K
   * @param {K} type
   * @param {(detail: RoomClientEvents[K]) => void} listener
   * @returns {() => void} unsubscribes
   */
  on(type, listener) {
    const set = (this.#listeners[type] ??= new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @template {keyof RoomClientEvents} K
   * @param {K} type
   * @param {RoomClientEvents[K]} detail
   */
  #emit(type, detail) {
    for (const listener of this.#listeners[type] ?? []) {
      try {
        listener(detail);
      } catch (err) {
        // A page's rendering bug must not stop the protocol (acks, dedupe) underneath it.
        console.error(`rooms-client: a "${type}" listener threw`, err);
      }
    }
  }

  /** Starts connecting. Calling it again is harmless. */
  connect() {
    if (this.#started || this.#closing) return this;
    this.#started = true;
    this.#setState("connecting");
    this.#dial();
    return this;
  }

  /**
   * Sends a group message (群聊). Queued until the room is open; kept until acknowledged.
   * @param {unknown} data any JSON value
   * @returns {string} the frame's `id` (its `ack` and its echo carry it)
   */
  send(data) {
    return this.#enqueue({ type: "message", data, id: this.#outbox.newId() });
  }

  /**
   * Sends a direct message (单聊) to one user; only the two of you see it.
   * @param {string} to the user id
   * @param {unknown} data
   * @returns {string} the frame's `id`
   */
  sendDirect(to, data) {
    return this.#enqueue({ type: "direct", to, data, id: this.#outbox.newId() });
  }

  /**
   * Desk agents: writes to one of their customers. Acknowledged and re-sent like `send`; a
   * customer who is no longer theirs (transferred, closed) answers with a `forbidden` error.
   * @param {string} customer the customer's user id
   * @param {unknown} data
   * @returns {string} the frame's `id`
   */
  sendTo(customer, data) {
    return this.#enqueue({ type: "message", to: customer, data, id: this.#outbox.newId() });
  }

  /**
   * Desk agents: hands a conversation to another online agent; `assigned` reaches all three.
   * Like a history request it waits for a connection and goes out once: the desk does not
   * acknowledge it, and its outcome (an `assigned` event or an `error` with this `id`) is the
   * answer. Re-sending it blindly after a reconnect could undo a later decision.
   * @param {string} customer
   * @param {string} to the other agent's user id
   * @returns {string} the frame's `id`
   */
  transfer(customer, to) {
    return this.#sendOnce({ type: "transfer", customer, to });
  }

  /**
   * Desk agents: ends a conversation; both sides get `conversationClosed`. Sent once, as
   * `transfer`.
   * @param {string} customer
   * @returns {string} the frame's `id`
   */
  closeConversation(customer) {
    return this.#sendOnce({ type: "close", customer });
  }

  /** @param {{ type: "transfer" | "close" } & Record<string, string>} frame */
  #sendOnce(frame) {
    if (this.#closing || this.#fatal !== null) {
      throw new RoomClientError("closed", "the client is closed: nothing more can be sent");
    }
    const id = this.#outbox.newId();
    this.#sendNowIfOpen(this.#outbox.addOnce({ ...frame, id }));
    return id;
  }

  /**
   * Asks for older frames: the answer is a `history` event.
   * @param {{ before?: number, limit?: number }} [page]
   */
  requestHistory(page = {}) {
    this.#sendNowIfOpen(this.#outbox.addOnce({ type: "history", ...page }));
  }

  /** While waiting to reconnect, tries now (say, when the browser says it is back online). */
  reconnectNow() {
    if (this.#state !== "reconnecting" || this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#dial();
  }

  /** Closes for good: no reconnect. Unacknowledged frames stay in `pending`. */
  close() {
    if (this.#state === "closed" && this.#closing) return;
    this.#closing = true;
    const ws = this.#ws;
    this.#detach();
    if (ws !== null) closeQuietly(ws, CLOSE_NORMAL, "client closed");
    this.#toClosed({ reason: "closed by the client" });
  }

  /** @param {SentFrame} frame */
  #enqueue(frame) {
    if (this.#closing || this.#fatal !== null) {
      throw new RoomClientError("closed", "the client is closed: nothing more can be sent");
    }
    this.#sendNowIfOpen(this.#outbox.add(frame));
    return frame.id;
  }

  /** @param {import("./rooms-outbox.js").Outgoing} out */
  #sendNowIfOpen(out) {
    if (this.#state === "open" && this.#ws !== null) this.#outbox.transmit(this.#ws, out);
  }

  /** @param {ConnectionState} state @param {Partial<StateChange>} [extra] */
  #setState(state, extra = {}) {
    const previous = this.#state;
    this.#state = state;
    this.#emit("state", { state, previous, attempt: this.#attempt, ...extra });
  }

  #url() {
    const base = new URL(this.#opts.url);
    base.protocol = base.protocol === "https:" || base.protocol === "wss:" ? "wss:" : "ws:";
    const url = new URL(`/${this.#opts.kind}/${encodeURIComponent(this.#opts.room)}`, base);
    const q = url.searchParams;
    if (this.#opts.role !== undefined) q.set("role", this.#opts.role);
    if (this.#opts.token !== undefined) q.set("token", this.#opts.token);
    else {
      if (this.#opts.user !== undefined) q.set("user", this.#opts.user);
      if (this.#opts.name !== undefined) q.set("name", this.#opts.name);
    }
    if (this.#lastSeq !== undefined) q.set("since", String(this.#lastSeq));
    q.set("batch", "1");
    return url.toString();
  }

  #dial() {
    this.#retryTimer = undefined;
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new this.#opts.WebSocket(this.#url());
    } catch (err) {
      // A malformed URL cannot get better by retrying.
      this.#fatal = {
        code: "invalid_url",
        message: String(err instanceof Error ? err.message : err),
      };
      this.#toClosed({ error: this.#fatal.code, reason: this.#fatal.message });
      return;
    }
    this.#ws = ws;
    let welcomed = false;
    this.#connectTimer = setTimeout(() => {
      this.#lost(ws, false, undefined, "the room did not answer in time");
    }, this.#opts.connectTimeoutMs);
    ws.onmessage = (e) => {
      if (ws !== this.#ws) return;
      this.#heard();
      if (typeof e.data !== "string") return; // the room sends text only
      for (const line of e.data.split("\n")) {
        if (line === "pong" || line === "") continue;
        const frame = parseServerFrame(line);
        if (frame === null) continue;
        if (frame.type === "welcome") welcomed = true;
        this.#handle(ws, frame);
        if (ws !== this.#ws) return; // a handler closed us (fatal): drop the rest
      }
    };
    ws.onclose = (e) => {
      if (ws === this.#ws) this.#lost(ws, welcomed, e.code, e.reason);
    };
    ws.onerror = () => {
      // Browsers follow an error with a close event (1006), but Node 22's WebSocket fires no
      // close at all when the upgrade is refused; so an error ends the socket here.
      if (ws === this.#ws) this.#lost(ws, welcomed, undefined, "the connection failed");
    };
  }

  /** Any traffic proves the link is alive; the keep-alive only needs silence to be short. */
  #heard() {
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  /** The room welcomed us: the connection counts as open from here. @param {WebSocket} ws */
  #opened(ws) {
    clearTimeout(this.#connectTimer);
    this.#setState("open");
    this.#uptimeTimer = setTimeout(() => {
      // Only a connection that lasted resets the count: a server that welcomes and drops at
      // once must not be reconnected to at full speed forever.
      this.#attempt = 0;
    }, this.#opts.minUptimeMs);
    this.#pingTimer = setInterval(() => {
      if (ws !== this.#ws) return;
      try {
        ws.send("ping");
      } catch {
        return; // closing already; the close event takes over
      }
      this.#pongTimer ??= setTimeout(() => {
        this.#lost(ws, true, undefined, "no answer to ping: the connection is dead");
      }, this.#opts.pongTimeoutMs);
    }, this.#opts.pingIntervalMs);
  }

  /** @param {WebSocket} ws @param {ServerFrame} frame */
  #handle(ws, frame) {
    switch (frame.type) {
      case "welcome": {
        const since = this.#lastSeq;
        this.#self = frame.self;
        this.#members = new Map(frame.members.map((m) => [m.id, m]));
        if (since !== undefined && frame.seq < since) {
          // The room is behind us: its storage was reset. Follow it, or every new frame
          // would look like one we had already seen.
          this.#lastSeq = frame.seq;
          this.#emit("gap", { reason: "reset", since, seq: frame.seq });
        } else if (!frame.replay.complete) {
          this.#emit("gap", { reason: "trimmed", since: since ?? 0, seq: frame.seq });
        }
        this.#replayLeft = frame.replay.count;
        this.#replayHead = frame.seq;
        if (this.#replayLeft === 0) this.#advance(frame.seq);
        this.#opened(ws);
        this.#emit("welcome", frame);
        this.#emit("members", this.members);
        this.#outbox.flush(ws, () => ws === this.#ws);
        return;
      }
      case "message":
      case "direct":
      case "event": {
        if (frame.seq === undefined) {
          this.#deliver(frame); // a live-only event: not part of the order, nothing to dedupe
          return;
        }
        // Seen already (an overlapping replay, a re-delivery): listeners get each seq once.
        if (this.#lastSeq === undefined || frame.seq > this.#lastSeq) {
          this.#lastSeq = frame.seq;
          this.#deliver(frame);
        }
        // After the whole replay we hold everything we may see up to the welcome's head (frames
        // between are others' direct ones): resume from there next time.
        if (this.#replayLeft > 0 && --this.#replayLeft === 0) this.#advance(this.#replayHead);
        return;
      }
      case "presence":
        if (frame.action === "join") this.#members.set(frame.member.id, frame.member);
        else this.#members.delete(frame.member.id);
        this.#emit("presence", frame);
        this.#emit("members", this.members);
        return;
      case "ack":
        this.#outbox.settle(frame.id);
        this.#emit("ack", frame);
        return;
      case "history":
        this.#emit("history", frame);
        return;
      case "queued":
        this.#emit("queued", frame);
        return;
      case "assigned":
        this.#emit("assigned", frame);
        return;
      case "closed":
        this.#emit("conversationClosed", frame);
        return;
      case "error": {
        // Before the welcome, `unauthorized`/`forbidden` refuse the join itself. After it they
        // refuse one frame: a desk agent writing to a customer that is not theirs is `forbidden`.
        if (FATAL_CODES.has(frame.code) && this.#state !== "open") {
          // The room refused who we are; its 4401/4403 close follows. Retrying cannot help, so
          // the client ends now, with the room's own sentence as the reason.
          this.#fatal = { code: frame.code, message: frame.message };
          this.#lost(
            ws,
            false,
            frame.code === "forbidden" ? CLOSE_FORBIDDEN : CLOSE_UNAUTHORIZED,
            frame.message,
          );
          return;
        }
        const out = frame.id === undefined ? undefined : this.#outbox.settle(frame.id);
        this.#emit("error", {
          code: frame.code,
          message: frame.message,
          ...(frame.id === undefined ? {} : { id: frame.id }),
          ...(out?.frame ? { frame: out.frame } : {}),
        });
        return;
      }
    }
  }

  /**
   * Hands a stored or live frame to listeners, and retires our own frame when its echo shows it
   * was stored (the ack may have been lost with the connection that carried it).
   * @param {StoredFrame} frame
   */
  #deliver(frame) {
    if (frame.type !== "event" && frame.id !== undefined && frame.from.id === this.#self?.id) {
      this.#outbox.settle(frame.id);
    }
    if (frame.type === "message") this.#emit("message", frame);
    else if (frame.type === "direct") this.#emit("direct", frame);
    else this.#emit("event", frame);
  }

  /** @param {number} seq */
  #advance(seq) {
    if (this.#lastSeq === undefined || seq > this.#lastSeq) this.#lastSeq = seq;
  }

  /** Stops listening to the current socket and its timers. */
  #detach() {
    const ws = this.#ws;
    this.#ws = null;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#uptimeTimer);
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    clearTimeout(this.#retryTimer);
    this.#pongTimer = this.#retryTimer = undefined;
    this.#replayLeft = 0;
    if (ws !== null) ws.onmessage = ws.onclose = ws.onerror = null;
  }

  /**
   * The current socket is gone (closed by the server, by the network, or given up on by us).
   * Decides between closing for good and reconnecting.
   * @param {WebSocket} ws
   * @param {boolean} welcomed
   * @param {number | undefined} code
   * @param {string} reason
   */
  #lost(ws, welcomed, code, reason) {
    if (ws !== this.#ws) return;
    this.#detach();
    // A socket we gave up on may still be half-open; a browser would wait for its close
    // handshake, so it is closed without waiting and never heard from again.
    closeQuietly(ws, CLOSE_GIVE_UP, reason || "reconnecting");
    if (code === CLOSE_TOO_LARGE) {
      const dropped = this.#outbox.dropLargestSentOn(ws);
      if (dropped?.frame) {
        this.#emit("error", {
          code: "too_large",
          message: "the room refused a frame as too large",
          id: dropped.frame.id,
          frame: dropped.frame,
        });
      }
    }
    if (this.#fatal === null && (code === CLOSE_UNAUTHORIZED || code === CLOSE_FORBIDDEN)) {
      this.#fatal = {
        code: code === CLOSE_UNAUTHORIZED ? "unauthorized" : "forbidden",
        message: reason || "the room refused this join",
      };
    }
    if (this.#fatal !== null) {
      this.#toClosed({
        ...(code === undefined ? {} : { code }),
        error: this.#fatal.code,
        reason: this.#fatal.message,
      });
      return;
    }
    // Asked once per streak of failures, not on every retry: the answer does not change.
    if (!welcomed && this.#attempt === 0 && this.#opts.probe) void this.#probe();
    const delayMs = backoffDelay(
      this.#attempt,
      this.#opts.baseDelayMs,
      this.#opts.maxDelayMs,
      this.#opts.random,
    );
    this.#attempt++;
    this.#retryTimer = setTimeout(() => this.#dial(), delayMs);
    this.#setState("reconnecting", {
      delayMs,
      ...(code === undefined ? {} : { code }),
      ...(reason ? { reason } : {}),
    });
  }

  /**
   * A browser cannot read why an upgrade was refused, but the same URL over plain HTTP answers
   * with the JSON error (400 invalid_room, invalid_name...). A refusal is final; anything else
   * (the server is down, 426 "use a WebSocket") means keep trying.
   */
  async #probe() {
    const url = new URL(this.#url());
    url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    try {
      const res = await fetch(url, { headers: { accept: "application/json" } });
      if (!FATAL_HTTP_STATUS.has(res.status)) return;
      const body = /** @type {unknown} */ (await res.json());
      if (!isObject(body) || typeof body.error !== "string" || this.#state !== "reconnecting")
        return;
      this.#fatal = {
        code: body.error,
        message: typeof body.message === "string" ? body.message : body.error,
      };
      const ws = this.#ws;
      this.#detach();
      if (ws !== null) closeQuietly(ws, CLOSE_NORMAL, "refused");
      this.#toClosed({ error: this.#fatal.code, reason: this.#fatal.message });
    } catch {
      // Unreachable, not JSON, or blocked by CORS: no verdict, so the backoff goes on.
    }
  }

  /** @param {Closed} detail */
  #toClosed(detail) {
    if (this.#state === "closed") return;
    this.#setState("closed", {
      ...(detail.code === undefined ? {} : { code: detail.code }),
      reason: detail.reason,
    });
    this.#emit("closed", detail);
  }
}

/** @param {WebSocket} ws @param {number} code @param {string} reason */
function closeQuietly(ws, code, reason) {
  try {
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, reason.slice(0, 120));
  } catch {
    // Already closing or closed: there is nothing left to release.
  }
}
