/**
 * RoomClient: one object per room connection. This file is what a page calls and what each
 * frame means for it: sending (kept until acknowledged, see outbox.ts), who is in the room, who
 * we are (identity.ts), and the refusals that end the client. The connection's states and
 * reconnects are connection.ts; the order of stored frames, and paging back for what a replay
 * left out, is inbox.ts.
 */
import {
  CLOSE_TOO_LARGE,
  CLOSE_TOO_MANY_CONNECTIONS,
  refusalCloseCode,
} from "../protocol/codes.ts";
import type { ErrorFrame, Member, Self, ServerFrame, StoredFrame } from "../protocol/frames.ts";
import { joinUrl, type Refusal } from "./connect.ts";
import { Connection } from "./connection.ts";
import { Emitter, type Listener } from "./emitter.ts";
import type { SentFrame } from "./frames.ts";
import { Identity } from "./identity.ts";
import { Inbox } from "./inbox.ts";
import type { Link } from "./link.ts";
import { Outbox, RoomClientError, type Outgoing } from "./outbox.ts";
import { MAX_FRAME_BYTES } from "./protocol.ts";
import type { ConnectionState, RoomClientEvents, RoomClientOptions } from "./types.ts";

export const DEFAULTS = Object.freeze({
  baseDelayMs: 500,
  maxDelayMs: 15_000,
  minUptimeMs: 5_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 25_000,
  pongTimeoutMs: 10_000,
  maxFrameBytes: MAX_FRAME_BYTES,
});

type ResolvedOptions = Required<
  Omit<RoomClientOptions, "name" | "token" | "guestToken" | "onGuestToken" | "since" | "role">
> &
  RoomClientOptions;

export class RoomClient {
  #opts: ResolvedOptions;
  #events = new Emitter<RoomClientEvents>();
  /** Who we join as: a backend's token, or the guest token, kept up to date from each welcome. */
  #identity: Identity;
  #outbox: Outbox;
  #inbox: Inbox;
  #conn: Connection;
  #members = new Map<string, Member>();
  /** Distinct members, known also when the room is too big to list them. */
  #count = 0;
  /** False while the room announces only counts (above its PRESENCE_MAX): `members` is empty. */
  #listed = true;
  #self: Self | null = null;

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
   */
  constructor(options: RoomClientOptions) {
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
    this.#identity = new Identity(options);
    this.#inbox = new Inbox(options.since, {
      deliver: (frame) => this.#deliver(frame),
      gap: (gap) => this.#events.emit("gap", gap),
      newId: () => this.#outbox.newId(),
    });
    this.#conn = new Connection(this.#opts, this.#events, {
      // As whom: a backend's token, else our guest token, else a new guest.
      url: () => joinUrl({ ...this.#opts, token: this.#identity.joinToken }, this.#inbox.last),
      frame: (link, frame) => this.#handle(link, frame),
      detached: () => this.#inbox.stop(),
      lost: (link, code, refusal) => this.#lost(link, code, refusal),
    });
  }

  get state(): ConnectionState {
    return this.#conn.state;
  }
  /** The newest `seq` seen; the next connection resumes after it. */
  get lastSeq(): number | undefined {
    return this.#inbox.last;
  }
  /** Who the room says we are (from `welcome`); null before the first one. */
  get self(): Self | null {
    return this.#self;
  }
  /**
   * The newest guest token: what a page stores to be the same guest after a reload. Null with a
   * backend's `token`, and for a new guest until its first `welcome`.
   */
  get guestToken(): string | null {
    return this.#identity.guestToken;
  }
  /**
   * The members, kept up to date from `welcome` and `presence`. Empty while the room is too big
   * to list them (`membersListed` false): then only `count` is known.
   */
  get members(): Member[] {
    return [...this.#members.values()];
  }
  /** Distinct members in the room (a user with several tabs counts once). */
  get count(): number {
    return this.#count;
  }
  /** Whether `members` is the room's whole list; false above the room's PRESENCE_MAX. */
  get membersListed(): boolean {
    return this.#listed;
  }
  /** Frames sent with an `id` and not acknowledged yet: they are re-sent on every reconnect. */
  get pending(): SentFrame[] {
    return this.#outbox.pending;
  }
  /** The room-refusal that closed the client, if any. */
  get fatal(): Refusal | null {
    return this.#conn.fatal;
  }

  /** Listens to one event; returns the function that stops listening. */
  on<K extends keyof RoomClientEvents>(
    type: K,
    listener: Listener<RoomClientEvents[K]>,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /** Starts connecting. Calling it again is harmless. */
  connect(): this {
    this.#conn.start();
    return this;
  }

  /**
   * Sends a group message (群聊), any JSON value. Queued until the room is open; kept until
   * acknowledged. Returns the frame's `id` (its `ack` and its echo carry it).
   */
  send(data: unknown): string {
    return this.#enqueue({ type: "message", data, id: this.#outbox.newId() });
  }

  /** Sends a direct message (单聊) to one user id; only the two of you see it. */
  sendDirect(to: string, data: unknown): string {
    return this.#enqueue({ type: "direct", to, data, id: this.#outbox.newId() });
  }

  /**
   * Desk agents: writes to one of their customers (by user id). Acknowledged and re-sent like
   * `send`; a customer who is no longer theirs (transferred, closed) answers with a `forbidden`
   * error.
   */
  sendTo(customer: string, data: unknown): string {
    return this.#enqueue({ type: "message", to: customer, data, id: this.#outbox.newId() });
  }

  /**
   * Desk agents: hands a conversation to another online agent (`to`, a user id); `assigned`
   * reaches all three. Like a history request it waits for a connection and goes out once: the
   * desk does not acknowledge it, and its outcome (an `assigned` event or an `error` with this
   * `id`) is the answer. Re-sending it blindly after a reconnect could undo a later decision.
   */
  transfer(customer: string, to: string): string {
    return this.#sendOnce({ type: "transfer", customer, to });
  }

  /** Desk agents: ends a conversation; both sides get `conversationClosed`. Sent once, as `transfer`. */
  closeConversation(customer: string): string {
    return this.#sendOnce({ type: "close", customer });
  }

  /** Asks for older frames: the answer is a `history` event. */
  requestHistory(page: { before?: number; limit?: number } = {}): void {
    this.#sendNowIfOpen(this.#outbox.addOnce({ type: "history", ...page }));
  }

  /** While waiting to reconnect, tries now (say, when the browser says it is back online). */
  reconnectNow(): void {
    this.#conn.reconnectNow();
  }

  /** Closes for good: no reconnect. Unacknowledged frames stay in `pending`. */
  close(): void {
    this.#conn.close();
  }

  #sendOnce(
    frame: { type: "transfer"; customer: string; to: string } | { type: "close"; customer: string },
  ): string {
    this.#refuseIfEnded();
    const id = this.#outbox.newId();
    this.#sendNowIfOpen(this.#outbox.addOnce({ ...frame, id }));
    return id;
  }

  #enqueue(frame: SentFrame): string {
    this.#refuseIfEnded();
    this.#sendNowIfOpen(this.#outbox.add(frame));
    return frame.id;
  }

  #refuseIfEnded(): void {
    if (this.#conn.ended) {
      throw new RoomClientError("closed", "the client is closed: nothing more can be sent");
    }
  }

  #sendNowIfOpen(out: Outgoing): void {
    const link = this.#conn.openLink;
    if (link !== null) this.#outbox.transmit(link, out);
  }

  /**
   * A whole list, or null from a room that announces only counts: then no list is kept, since a
   * list from before would only go stale.
   */
  #setMembers(list: Member[] | null, count: number): void {
    this.#members = new Map((list ?? []).map((m) => [m.id, m]));
    this.#listed = list !== null;
    this.#count = count;
  }

  #handle(link: Link, frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome": {
        this.#self = frame.self;
        this.#identity.welcomed(frame.self);
        this.#setMembers(frame.members, frame.count);
        this.#inbox.welcome(frame);
        this.#conn.opened(link);
        this.#events.emit("welcome", frame);
        this.#events.emit("members", this.members);
        // Asked before the outbox goes out, so a long outbox cannot use up the rate for it.
        this.#inbox.askBackfill(link);
        this.#outbox.flush(link, () => !link.detached);
        return;
      }
      case "message":
      case "direct":
      case "event":
        this.#inbox.stored(frame);
        return;
      case "presence":
        if (frame.action === "count") this.#setMembers(frame.members ?? null, frame.count);
        else {
          if (frame.action === "join") this.#members.set(frame.member.id, frame.member);
          else this.#members.delete(frame.member.id);
          this.#count = frame.count;
        }
        this.#events.emit("presence", frame);
        this.#events.emit("members", this.members);
        return;
      case "ack":
        this.#outbox.settle(frame.id);
        this.#events.emit("ack", frame);
        return;
      case "history":
        if (!this.#inbox.history(link, frame)) this.#events.emit("history", frame);
        return;
      case "queued":
        this.#events.emit("queued", frame);
        return;
      case "assigned":
        this.#events.emit("assigned", frame);
        return;
      case "closed":
        this.#events.emit("conversationClosed", frame);
        return;
      case "error":
        this.#error(link, frame);
        return;
    }
  }

  #error(link: Link, frame: ErrorFrame): void {
    const { code, message } = frame;
    // Before the welcome, `unauthorized`/`forbidden` refuse the join itself. After it they
    // refuse one frame: a desk agent writing to a customer that is not theirs is `forbidden`.
    if ((code === "unauthorized" || code === "forbidden") && this.#conn.state !== "open") {
      // The room refused who we are; its 4401/4403 close follows. Retrying cannot help, so
      // the client ends now, with the room's own sentence as the reason.
      this.#conn.lose(link, false, refusalCloseCode(code), message, { code, message });
      return;
    }
    if (code === "too_many_connections") {
      // Our oldest socket, closed (4429) for a newer one of the same user: coming back
      // would close the next oldest, and so on between the tabs. This one ends here.
      this.#conn.lose(link, true, CLOSE_TOO_MANY_CONNECTIONS, message, { code, message });
      return;
    }
    if (this.#inbox.refused(link, frame)) return;
    const out = frame.id === undefined ? undefined : this.#outbox.settle(frame.id);
    this.#events.emit("error", {
      code,
      message,
      ...(frame.id === undefined ? {} : { id: frame.id }),
      ...(out?.frame ? { frame: out.frame } : {}),
    });
  }

  /**
   * A link was lost: a frame it was closed for (1009) is dropped and reported, and a refused
   * guest token may mean joining again at once as a new guest.
   */
  #lost(link: Link, code: number | undefined, refusal: Refusal | null): boolean {
    if (code === CLOSE_TOO_LARGE) {
      const dropped = this.#outbox.dropLargestSentOn(link);
      if (dropped?.frame) {
        this.#events.emit("error", {
          code: "too_large",
          message: "the room refused a frame as too large",
          id: dropped.frame.id,
          frame: dropped.frame,
        });
      }
    }
    return refusal !== null && this.#identity.refused(refusal);
  }

  /**
   * Hands a stored or live frame to listeners, and retires our own frame when its echo shows it
   * was stored (the ack may have been lost with the connection that carried it).
   */
  #deliver(frame: StoredFrame): void {
    if (frame.type !== "event" && frame.id !== undefined && frame.from.id === this.#self?.id) {
      this.#outbox.settle(frame.id);
    }
    if (frame.type === "message") this.#events.emit("message", frame);
    else if (frame.type === "direct") this.#events.emit("direct", frame);
    else this.#events.emit("event", frame);
  }
}
