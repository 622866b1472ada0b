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

import {
  CLOSE_FORBIDDEN,
  CLOSE_NORMAL,
  CLOSE_TOO_LARGE,
  CLOSE_TOO_MANY_CONNECTIONS,
  CLOSE_UNAUTHORIZED,
  MAX_FRAME_BYTES,
  parseServerFrame,
} from "./rooms-protocol.js";
import { Outbox, RoomClientError } from "./rooms-outbox.js";
import { SeqTracker } from "./rooms-seq.js";
import { Backfill } from "./rooms-backfill.js";
import { Identity } from "./rooms-identity.js";
import {
  backoffDelay,
  closeQuietly,
  closeRefusal,
  joinUrl,
  probeRefusal,
} from "./rooms-connect.js";

// One import for users: the protocol's names and types come with the client.
export * from "./rooms-protocol.js";
export { RoomClientError, backoffDelay };

/** @typedef {import("./rooms-protocol.js").Member} Member */
/** @typedef {import("./rooms-protocol.js").Self} Self */
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
/** @typedef {import("./rooms-client-types.js").ConnectionState} ConnectionState */
/** @typedef {import("./rooms-client-types.js").StateChange} StateChange */
/** @typedef {import("./rooms-client-types.js").ClientError} ClientError */
/** @typedef {import("./rooms-client-types.js").Closed} Closed */
/** @typedef {import("./rooms-client-types.js").Gap} Gap */
/** @typedef {import("./rooms-client-types.js").RoomClientEvents} RoomClientEvents */
/** @typedef {import("./rooms-client-types.js").RoomClientOptions} RoomClientOptions */

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
/** Error codes that mean "you may not be here": retrying cannot help (but see Identity.refused). */
const FATAL_CODES = new Set(["unauthorized", "forbidden"]);
/**
 * How long a backfill request refused as `rate_limited` waits to be asked again: the room's
 * bucket refills many frames a second (RATE_PER_SEC, default 20), so one is back by then.
 */
const BACKFILL_RETRY_MS = 1_000;

export class RoomClient {
  /** @type {Required<Omit<RoomClientOptions, "name" | "token" | "guestToken" | "onGuestToken" | "since" | "role">> & RoomClientOptions} */
  #opts;
  /**
   * Who we join as: a backend's token, or the guest token, kept up to date from each welcome.
   * @type {Identity}
   */
  #identity;
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
   * Where the next connection resumes, which `seq`s were seen, the replay under way.
   * @type {SeqTracker}
   */
  #seq;
  /**
   * Paging back for what the current replay left out for the byte budget; null when nothing is
   * missing. While it runs, stored frames wait in it.
   * @type {Backfill | null}
   */
  #backfill = null;
  /**
   * Set when the room refused us for good (error frame before a 4401/4403 close).
   * @type {{ code: string, message: string } | null}
   */
  #fatal = null;
  /** @type {Outbox} */
  #outbox;
  /** @type {Map<string, Member>} */
  #members = new Map();
  /** @type {Self | null} */
  #self = null;
  /** @type {{ [K in keyof RoomClientEvents]?: Set<(detail: any) => void> }} */
  #listeners = {};
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #uptimeTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #connectTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */ #pingTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #pongTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #backfillTimer;

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
    this.#seq = new SeqTracker(options.since);
    this.#identity = new Identity(options);
  }

  /** @returns {ConnectionState} */
  get state() {
    return this.#state;
  }
  /** The newest `seq` seen; the next connection resumes after it. */
  get lastSeq() {
    return this.#seq.last;
  }
  /** Who the room says we are (from `welcome`); null before the first one. */
  get self() {
    return this.#self;
  }
  /**
   * The newest guest token: what a page stores to be the same guest after a reload. Null with a
   * backend's `token`, and for a new guest until its first `welcome`.
   */
  get guestToken() {
    return this.#identity.guestToken;
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

  #dial() {
    this.#retryTimer = undefined;
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new this.#opts.WebSocket(this.#joinUrl());
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

  /** Where the next connection goes, as whom: a backend's token, else our guest token, else a new guest. */
  #joinUrl() {
    return joinUrl({ ...this.#opts, token: this.#identity.joinToken }, this.#seq.last);
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
        this.#self = frame.self;
        this.#identity.welcomed(frame.self);
        this.#members = new Map(frame.members.map((m) => [m.id, m]));
        const { gap, leftOut } = this.#seq.welcome(frame);
        if (gap !== null) this.#emit("gap", gap);
        // Frames left out for the budget come before the replay, which waits until they are in.
        if (leftOut === null) this.#seq.expectReplay(frame);
        else this.#backfill = new Backfill(frame, leftOut.since);
        this.#opened(ws);
        this.#emit("welcome", frame);
        this.#emit("members", this.members);
        // Asked before the outbox goes out, so a long outbox cannot use up the rate for it.
        this.#askBackfill(ws);
        this.#outbox.flush(ws, () => ws === this.#ws);
        return;
      }
      case "message":
      case "direct":
      case "event":
        if (this.#backfill !== null) this.#backfill.hold(frame);
        else this.#take(frame);
        return;
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
        if (this.#backfill?.owns(frame.id)) this.#backfilled(ws, frame);
        else this.#emit("history", frame);
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
          this.#lost(
            ws,
            false,
            frame.code === "forbidden" ? CLOSE_FORBIDDEN : CLOSE_UNAUTHORIZED,
            frame.message,
            { code: frame.code, message: frame.message },
          );
          return;
        }
        if (frame.code === "too_many_connections") {
          // Our oldest socket, closed (4429) for a newer one of the same user: coming back
          // would close the next oldest, and so on between the tabs. This one ends here.
          this.#lost(ws, true, CLOSE_TOO_MANY_CONNECTIONS, frame.message, {
            code: frame.code,
            message: frame.message,
          });
          return;
        }
        if (this.#backfill?.owns(frame.id)) {
          this.#backfillRefused(ws, frame.code);
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
   * Listeners get each seq once (a replay may overlap, a frame come twice); a live-only event,
   * which has no seq, always. A replayed frame is counted off the replay.
   * @param {StoredFrame} frame
   */
  #take(frame) {
    if (this.#seq.accept(frame)) this.#deliver(frame);
    this.#seq.handled(frame);
  }

  /** Asks for the next page of what the replay left out, if that is under way. @param {WebSocket} ws */
  #askBackfill(ws) {
    this.#backfillTimer = undefined;
    if (this.#backfill === null || ws !== this.#ws) return;
    try {
      ws.send(JSON.stringify(this.#backfill.request(this.#outbox.newId())));
    } catch {
      // The socket is dying: its close event reconnects, and that welcome starts over.
    }
  }

  /** @param {WebSocket} ws @param {HistoryFrame} page an answer to our backfill request */
  #backfilled(ws, page) {
    if (this.#backfill?.answer(page) === false) this.#askBackfill(ws);
    else this.#finishBackfill(ws);
  }

  /**
   * The room refused a backfill request: too fast is asked again a little later; anything else
   * will not get better, so what was fetched goes on, with a gap.
   * @param {WebSocket} ws
   * @param {string} code
   */
  #backfillRefused(ws, code) {
    if (code === "rate_limited") {
      this.#backfillTimer = setTimeout(() => this.#askBackfill(ws), BACKFILL_RETRY_MS);
      return;
    }
    this.#backfill?.giveUp();
    this.#finishBackfill(ws);
  }

  /**
   * Everything the replay left out is in: hands it on oldest first, then the replay and the
   * live frames that waited, through the usual dedupe. The replay is counted from here, so the
   * resume point only moves past the left-out frames once listeners have them.
   * @param {WebSocket} ws
   */
  #finishBackfill(ws) {
    const backfill = this.#backfill;
    if (backfill === null) return;
    this.#backfill = null;
    const { gap, missing, held } = backfill.release();
    if (gap !== null) this.#emit("gap", gap);
    for (const frame of missing) {
      if (ws !== this.#ws) return; // a listener closed the client
      if (this.#seq.accept(frame)) this.#deliver(frame);
    }
    this.#seq.expectReplay(backfill.welcome);
    for (const frame of held) {
      if (ws !== this.#ws) return;
      this.#take(frame);
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

  /** Stops listening to the current socket and its timers. */
  #detach() {
    const ws = this.#ws;
    this.#ws = null;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#uptimeTimer);
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#backfillTimer);
    this.#pongTimer = this.#retryTimer = this.#backfillTimer = undefined;
    this.#seq.stopReplay();
    // Nothing of it was handed on, and `since` has not moved: the next welcome starts over.
    this.#backfill = null;
    if (ws !== null) ws.onmessage = ws.onclose = ws.onerror = null;
  }

  /**
   * The current socket is gone (closed by the server, by the network, or given up on by us).
   * Decides between closing for good and reconnecting.
   * @param {WebSocket} ws
   * @param {boolean} welcomed
   * @param {number | undefined} code
   * @param {string} reason
   * @param {import("./rooms-connect.js").Refusal | null} [refusal] the room's refusal of who we
   *   are, in its own words (its error frame); by default what the close code says
   */
  #lost(ws, welcomed, code, reason, refusal = closeRefusal(code, reason)) {
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
    const asNewGuest = refusal !== null && this.#identity.refused(refusal);
    if (refusal !== null && !asNewGuest) this.#fatal = refusal;
    if (this.#fatal !== null) {
      this.#toClosed({
        ...(code === undefined ? {} : { code }),
        error: this.#fatal.code,
        reason: this.#fatal.message,
      });
      return;
    }
    // Asked once per streak of failures, not on every retry: the answer does not change. A
    // dropped guest token is no failure of the server: the new guest goes at once.
    if (!welcomed && !asNewGuest && this.#attempt === 0 && this.#opts.probe) void this.#probe();
    const delayMs = asNewGuest
      ? 0
      : backoffDelay(
          this.#attempt,
          this.#opts.baseDelayMs,
          this.#opts.maxDelayMs,
          this.#opts.random,
        );
    if (!asNewGuest) this.#attempt++;
    this.#retryTimer = setTimeout(() => this.#dial(), delayMs);
    this.#setState("reconnecting", {
      delayMs,
      ...(code === undefined ? {} : { code }),
      ...(reason ? { reason } : {}),
    });
  }

  /**
   * Asks over plain HTTP why the join failed (a WebSocket cannot read a refused upgrade). A
   * refusal is final; no verdict means the backoff goes on. The answer counts only while the
   * client is still reconnecting: by then it may have been welcomed, or closed.
   */
  async #probe() {
    const refusal = await probeRefusal(this.#joinUrl());
    if (refusal === null || this.#state !== "reconnecting") return;
    this.#fatal = refusal;
    const ws = this.#ws;
    this.#detach();
    if (ws !== null) closeQuietly(ws, CLOSE_NORMAL, "refused");
    this.#toClosed({ error: refusal.code, reason: refusal.message });
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
