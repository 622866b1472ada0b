/**
 * Room: one Durable Object per room. It holds the room's sockets with the hibernatable WebSocket
 * API (an idle room costs nothing and survives eviction), gives every stored frame the room's
 * next `seq`, and delivers each frame to the sockets allowed to see it. Identity lives in socket
 * attachments, the log in SQLite (history.ts); what is in memory is rebuilt on wake-up.
 */
import { DurableObject } from "cloudflare:workers";
import { History } from "./history";
import { Members, attachment, type Connection } from "./members";
import { Outbox } from "./outbox";
import {
  CLOSE_POLICY,
  CLOSE_TOO_LARGE,
  DEFAULT_REPLAY,
  answerableCloseCode,
  errorFrame,
  exceedsBytes,
  parseClientFrame,
  peekId,
  readLimits,
  type ClientFrame,
  type DirectFrame,
  type EventFrame,
  type HistoryFrame,
  type Limits,
  type Member,
  type MessageFrame,
  type PresenceFrame,
  type ServerFrame,
  type WelcomeFrame,
} from "./protocol";
import { TokenBucket } from "./ratelimit";

/** The Worker's request to the object: identity already checked, passed as query parameters. */
export const CONNECT_PATH = "/connect";

/** One event of a push, as the Worker hands it to the room over RPC. */
export interface RoomEvent {
  id: string;
  event: string;
  data: unknown;
  to: string | null;
  store: boolean;
}

export interface RoomEventResult {
  seq: number | null;
  delivered: number;
}

export interface PublishResult {
  duplicate: boolean;
  results: RoomEventResult[];
}

const pushKey = (pushId: string) => `push:${pushId}`;
const clientKey = (user: string, id: string) => `client:${user}:${id}`;

export class Room extends DurableObject<Env> {
  #limits: Limits;
  #history: History;
  #members: Members;
  #outbox = new Outbox();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#limits = readLimits(env);
    this.#history = new History(ctx.storage.sql, this.#limits.historyLimit);
    this.#members = new Members(ctx.getWebSockets(), () => this.#newBucket());
    // Answered by the runtime itself, so a keep-alive never wakes a hibernating room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  #newBucket(): TokenBucket {
    return new TokenBucket(this.#limits.ratePerSec, this.#limits.rateBurst, Date.now());
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (
      url.pathname !== CONNECT_PATH ||
      request.headers.get("Upgrade")?.toLowerCase() !== "websocket"
    ) {
      return Response.json(
        { error: "not_found", message: "rooms are joined through /room/:room" },
        { status: 404 },
      );
    }
    const p = url.searchParams;
    const room = p.get("room") ?? "";
    const id = p.get("user") ?? "";
    const name = p.get("name") ?? "";
    const sinceRaw = p.get("since");
    const since = sinceRaw === null ? undefined : Number(sinceRaw);
    const batch = p.get("batch") === "1";
    const role = p.get("role") === "agent" ? "agent" : "member";

    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const a = attachment(id, name, batch, role);
    server.serializeAttachment(a);
    const joined = this.#members.add(server, a);

    // Welcome, then replay, then live frames: all sent in this one synchronous turn, so no live
    // frame can slip in between.
    const replay = this.#history.replay(id, since, DEFAULT_REPLAY);
    const members = this.#members.list();
    this.#outbox.send(
      server,
      JSON.stringify({
        type: "welcome",
        room,
        self: this.#members.member(id) ?? { id, name },
        members,
        seq: this.#history.lastSeq,
        replay: { from: replay.from, count: replay.frames.length, complete: replay.complete },
      } satisfies WelcomeFrame),
      batch,
    );
    for (const frame of replay.frames) this.#outbox.send(server, frame, batch);
    if (joined) {
      const presence = JSON.stringify({
        type: "presence",
        action: "join",
        member: { id, name },
        count: members.length,
      } satisfies PresenceFrame);
      for (const [ws, conn] of this.#members.sockets)
        if (ws !== server) this.#outbox.send(ws, presence, conn.batch);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.#members.sockets.get(ws);
    if (conn === undefined) return; // a socket we already closed; late frames have nobody to answer
    try {
      this.#receive(ws, conn, message);
    } catch (err) {
      console.error(`room ${this.ctx.id}: webSocketMessage failed`, err);
      this.#reply(
        ws,
        conn,
        errorFrame("internal", "the room could not handle this frame; nothing was stored"),
      );
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(answerableCloseCode(code), "closed");
    } catch {
      // Already closed from our side (too_large, abuse): nothing left to answer.
    }
    this.#leave(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#leave(ws);
  }

  /**
   * Delivers pushed events (POST /push) in the room's order. The push id is remembered for 24 h:
   * the same id again delivers nothing and answers the first results with `duplicate: true`.
   */
  async publish(pushId: string, events: RoomEvent[]): Promise<PublishResult> {
    const now = Date.now();
    const seen = this.#history.recall(pushKey(pushId), now);
    if (seen !== undefined)
      return { duplicate: true, results: JSON.parse(seen) as RoomEventResult[] };
    const results = events.map((e) => this.#publishOne(e, now));
    this.#history.remember(pushKey(pushId), JSON.stringify(results), now);
    return { duplicate: false, results };
  }

  #publishOne(e: RoomEvent, now: number): RoomEventResult {
    const frame = (seq: number | undefined) =>
      JSON.stringify({
        type: "event",
        ...(seq === undefined ? {} : { seq }),
        id: e.id,
        event: e.event,
        data: e.data,
        to: e.to,
        ts: now,
      } satisfies EventFrame);
    if (!e.store) return { seq: null, delivered: this.#deliver(frame(undefined), null, e.to) };
    const { seq, body } = this.#history.append({ sender: null, recipient: e.to }, frame);
    return { seq, delivered: this.#deliver(body, null, e.to) };
  }

  #receive(ws: WebSocket, conn: Connection, message: string | ArrayBuffer): void {
    const max = this.#limits.maxFrameBytes;
    if (typeof message === "string" ? exceedsBytes(message, max) : message.byteLength > max) {
      this.#reply(ws, conn, errorFrame("too_large", `frames are limited to ${max} bytes`));
      this.#close(ws, CLOSE_TOO_LARGE, "frame too large");
      return;
    }
    if (message === "ping") {
      // The runtime's auto-response normally answers first; this covers a runtime that did not.
      this.#outbox.send(ws, "pong", false);
      return;
    }
    const verdict = conn.bucket.take(Date.now());
    if (verdict !== "ok") {
      const message_ = `slow down: at most ${this.#limits.ratePerSec} frames per second`;
      this.#reply(ws, conn, errorFrame("rate_limited", message_, peekId(message)));
      if (verdict === "abusive") this.#close(ws, CLOSE_POLICY, "rate limit exceeded");
      return;
    }
    if (typeof message !== "string") {
      this.#reply(
        ws,
        conn,
        errorFrame("unsupported_binary", "frames must be JSON text, not binary"),
      );
      return;
    }
    const parsed = parseClientFrame(message);
    if (!parsed.ok) {
      this.#reply(ws, conn, parsed.error);
      return;
    }
    this.#handle(ws, conn, parsed.frame);
  }

  #handle(ws: WebSocket, conn: Connection, frame: ClientFrame): void {
    if (frame.type === "history") {
      const page = this.#history.page(conn.id, frame.before, frame.limit);
      // The stored texts are spliced in as they are: they are already the frames' JSON.
      const head = JSON.stringify({
        type: "history",
        ...(frame.id === undefined ? {} : { id: frame.id }),
        messages: [],
        complete: page.complete,
      } satisfies HistoryFrame);
      const text = head.replace('"messages":[]', `"messages":[${page.frames.join(",")}]`);
      this.#outbox.send(ws, text, conn.batch);
      return;
    }
    const now = Date.now();
    if (frame.id !== undefined) {
      const seen = this.#history.recall(clientKey(conn.id, frame.id), now);
      if (seen !== undefined) {
        // A re-send (say, after a reconnect): acknowledge again, store and deliver nothing.
        this.#reply(ws, conn, { type: "ack", id: frame.id, seq: Number(seen) });
        return;
      }
    }
    const from: Member = this.#members.member(conn.id) ?? { id: conn.id, name: conn.name };
    const recipient = frame.type === "direct" ? frame.to : null;
    const { seq, body } = this.#history.append({ sender: conn.id, recipient }, (seq) =>
      JSON.stringify(
        frame.type === "direct"
          ? ({
              type: "direct",
              seq,
              id: frame.id,
              from,
              to: frame.to,
              data: frame.data,
              ts: now,
            } satisfies DirectFrame)
          : ({
              type: "message",
              seq,
              id: frame.id,
              from,
              data: frame.data,
              ts: now,
            } satisfies MessageFrame),
      ),
    );
    if (frame.id !== undefined)
      this.#history.remember(clientKey(conn.id, frame.id), String(seq), now);
    this.#deliver(body, conn.id, recipient);
    if (frame.id !== undefined) this.#reply(ws, conn, { type: "ack", id: frame.id, seq });
  }

  /**
   * Sends one stored or live frame to every socket that may see it: everyone, or (when
   * `recipient` is set) only the sockets of the sender and the recipient. Returns the count.
   */
  #deliver(text: string, sender: string | null, recipient: string | null): number {
    let delivered = 0;
    if (recipient === null) {
      for (const [ws, conn] of this.#members.sockets) {
        this.#outbox.send(ws, text, conn.batch);
        delivered++;
      }
      return delivered;
    }
    const parties = sender === null || sender === recipient ? [recipient] : [sender, recipient];
    for (const user of parties) {
      for (const ws of this.#members.socketsOf(user)) {
        this.#outbox.send(ws, text, this.#members.sockets.get(ws)?.batch ?? false);
        delivered++;
      }
    }
    return delivered;
  }

  #reply(ws: WebSocket, conn: Connection, frame: ServerFrame): void {
    this.#outbox.send(ws, JSON.stringify(frame), conn.batch);
  }

  /** Closes a socket from our side: what is queued for it goes first, then the member leaves. */
  #close(ws: WebSocket, code: number, reason: string): void {
    this.#outbox.flushSocket(ws);
    // Leave while the socket is still open, so its attachment can record that it left and the
    // peer's close event (perhaps after an eviction) is not counted as a second leave.
    this.#leave(ws);
    try {
      ws.close(code, reason);
    } catch {
      // The peer is already gone; it has left above.
    }
  }

  #leave(ws: WebSocket): void {
    this.#outbox.drop(ws);
    const left = this.#members.remove(ws);
    if (left === null) return;
    const presence = JSON.stringify({
      type: "presence",
      action: "leave",
      member: left,
      count: this.#members.count,
    } satisfies PresenceFrame);
    for (const [other, conn] of this.#members.sockets)
      this.#outbox.send(other, presence, conn.batch);
  }
}
