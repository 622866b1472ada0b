/**
 * Hub: the runtime every conversation object (Room, Desk) stands on, written once. It accepts
 * the sockets the Worker forwards with the hibernatable WebSocket API, keeps identity in their
 * attachments, runs every inbound frame through the same checks (size, rate, binary, parse),
 * keeps the log in SQLite (history.ts), sends through one outbox (outbox.ts) and runs the one
 * alarm every timer shares. What a place says (welcome, history pages, acks, presence, the
 * server API's answers) is place.ts; what a join and each accepted frame mean is the subclass's.
 */
import { DurableObject } from "cloudflare:workers";
import { EventsOut, type EventPlace } from "./events";
import { History } from "./history";
import { readInbound } from "./inbound";
import {
  Members,
  attachment,
  readAttachment,
  type Attachment,
  type Connection,
  type Role,
} from "./members";
import { NO_DATA, Outbox, rawText } from "./outbox";
import {
  CONNECT_PATH,
  CLOSE_TOO_MANY_CONNECTIONS,
  answerableCloseCode,
  connectionLost,
  errorFrame,
  readHookSettings,
  readJoin,
  readLimits,
  type ClientFrame,
  type ClientFrameType,
  type Join,
  type Limits,
  type Member,
  type Refusal,
  type ServerFrame,
} from "../protocol";
import { TokenBucket } from "./ratelimit";

/** How soon hook events the queue refused are handed to it again. */
const EVENTS_RETRY_MS = 10_000;

type HistoryOptions = NonNullable<ConstructorParameters<typeof History>[2]>;

export abstract class Hub extends DurableObject<Env> {
  /** A room or a desk: what this object is, for the registry, bans and messages. */
  protected readonly kind: EventPlace["kind"];
  protected readonly limits: Limits;
  protected readonly history: History;
  /** What this place tells your backend (HOOK_URL): written with the turn, sent after it. */
  protected readonly events: EventsOut;
  protected readonly members: Members;
  /** Frames stored in a turn are written just before that turn's sends leave. */
  protected readonly outbox: Outbox;
  /** The client frame types this object accepts; others are `unknown_type`. */
  protected abstract readonly accepts: ReadonlySet<ClientFrameType>;

  constructor(
    ctx: DurableObjectState,
    env: Env,
    { kind = "room", ...options }: HistoryOptions & { kind?: EventPlace["kind"] } = {},
  ) {
    super(ctx, env);
    this.kind = kind;
    this.limits = readLimits(env);
    // The object's name is the room's or desk's (objects are always reached by name).
    this.events = new EventsOut(
      ctx.storage.sql,
      { kind, name: ctx.id.name ?? "" },
      readHookSettings(env),
      env.HOOKS,
    );
    this.history = new History(ctx.storage.sql, this.limits.historyLimit, {
      ...options,
      maxReplayBytes: this.limits.maxReplayBytes,
      // The turn's hook events are written in the same transaction as its frames.
      extra: this.events,
      atomically: (write) => ctx.storage.transactionSync(write),
      // The failed turn's seqs were handed out and its frames queued to be sent, yet nothing of
      // it was stored: restart from storage, as after any crash. Clients reconnect with `since`
      // and re-send what was not acknowledged; nothing unstored is ever sent.
      onWriteError: (err) => {
        console.error(`${this.constructor.name} ${ctx.id}: writing a turn failed`, err);
        ctx.abort("writing a turn failed; restarting from storage");
      },
    });
    this.members = new Members(
      ctx.getWebSockets(),
      () => new TokenBucket(this.limits.ratePerSec, this.limits.rateBurst, Date.now()),
    );
    this.outbox = new Outbox(
      this.members.sockets,
      () => this.writeTurn(),
      () => this.members.rawSockets > 0,
    );
    // Answered by the runtime itself, so a keep-alive never wakes a hibernating object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Writes what the turn stored (frames, keys, hook events) and hands written hook events to
   * the queue; if the queue fails, the alarm tries again shortly.
   */
  protected writeTurn(): void {
    this.history.flush();
    if (this.events.enabled) {
      this.events.send().catch((err: unknown) => {
        console.error(
          `${this.constructor.name} ${this.ctx.id}: handing hook events to the queue failed`,
          err,
        );
        this.armAlarm(Date.now() + EVENTS_RETRY_MS);
      });
    }
  }

  // ---- the alarm: one per object, for every timer ----

  /** A subclass's timers: runs at the alarm, returns when it next needs one (or null). */
  protected onAlarm(_now: number): number | null {
    return null;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const next = Math.min(
      this.onAlarm(now) ?? Infinity,
      this.events.settleLeaves(this.members.count, now) ?? Infinity,
    );
    this.history.flush();
    let retry = Infinity;
    try {
      await this.events.send();
    } catch (err) {
      console.error(
        `${this.constructor.name} ${this.ctx.id}: handing hook events to the queue failed`,
        err,
      );
      retry = now + EVENTS_RETRY_MS;
    }
    const at = Math.min(next, retry);
    // The alarm that is running is spent: setting none leaves the object without one.
    if (at !== Infinity) await this.ctx.storage.setAlarm(at);
  }

  /**
   * Makes sure the alarm fires by `by`. One alarm serves every timer and setAlarm replaces it,
   * so a later time must never replace an earlier one. Storage calls hold back the object's next
   * event until they finish, so nothing can set the alarm in between.
   */
  protected armAlarm(by: number): void {
    const storage = this.ctx.storage;
    storage
      .getAlarm()
      .then((at) => (at === null || at > by ? storage.setAlarm(by) : undefined))
      .catch((err: unknown) =>
        console.error(`${this.constructor.name} ${this.ctx.id}: arming the alarm failed`, err),
      );
  }

  /** A socket joined (`first`: the user's first socket). Must send `welcome` first. */
  protected abstract onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void;
  /** An accepted, parsed frame from a member. */
  protected abstract onFrame(ws: WebSocket, conn: Connection, frame: ClientFrame): void;
  /** A user's last socket left. */
  protected abstract onLeave(member: Member, role: Attachment["role"]): void;
  /** A join this object refuses, decided before its socket is accepted; null admits it. */
  protected refuse(_join: Join): Refusal | null {
    return null;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (
      url.pathname !== CONNECT_PATH ||
      request.headers.get("Upgrade")?.toLowerCase() !== "websocket"
    ) {
      return Response.json(
        { error: "not_found", message: "join through /room/:room or /desk/:desk" },
        { status: 404 },
      );
    }
    const join = readJoin(url);
    const refusal = this.refuse(join);
    if (refusal !== null) {
      // The Worker turns this into a refusal the browser can read (join.ts, forwardJoin).
      return Response.json(
        { error: refusal.code, message: refusal.message },
        { status: refusal.code === "unauthorized" ? 401 : 403 },
      );
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const raw = join.raw === true;
    const a = attachment(join.user, join.displayName, join.batch, join.role, raw);
    server.serializeAttachment(a);
    const first = this.members.add(server, a);
    this.outbox.admit(server, join.batch, raw);
    this.#capSockets(a);
    // Everything for the join is sent in this one synchronous turn, so no live frame can come
    // between the welcome, the replay and what follows.
    this.onJoin(server, this.members.sockets.get(server)!, join, first);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.members.sockets.get(ws);
    if (conn === undefined) return; // a socket we already closed; late frames have nobody to answer
    try {
      this.#receive(ws, conn, message);
    } catch (err) {
      console.error(`${this.constructor.name} ${this.ctx.id}: webSocketMessage failed`, err);
      this.reply(
        ws,
        conn,
        errorFrame("internal", "this frame could not be handled; nothing was stored"),
      );
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // A peer's close frame is answered, which a hibernatable socket needs on every compatibility
    // date; a connection that dropped sent none and hears nothing (protocol/codes.ts).
    if (!connectionLost(code)) {
      try {
        ws.close(answerableCloseCode(code), "closed");
      } catch {
        // Already closed from our side (too_large, abuse): nothing left to answer.
      }
    }
    this.#leave(ws, true);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#leave(ws);
  }

  /**
   * One user may hold at most MAX_SOCKETS_PER_USER sockets here: one more closes the oldest, so
   * a page that keeps reopening sockets cannot fill the object, and the newest tab still works.
   */
  #capSockets(a: Attachment): void {
    const max = this.limits.maxSocketsPerUser;
    const sockets = [...this.members.socketsOf(a.id, a.role)];
    for (const oldest of sockets.slice(0, Math.max(0, sockets.length - max))) {
      const conn = this.members.sockets.get(oldest)!;
      const text = `at most ${max} connections per user here: this one, your oldest, is closed`;
      this.reply(oldest, conn, errorFrame("too_many_connections", text));
      this.close(oldest, CLOSE_TOO_MANY_CONNECTIONS, "too many connections");
    }
  }

  #receive(ws: WebSocket, conn: Connection, message: string | ArrayBuffer): void {
    const rules = { ...this.limits, accepts: this.accepts, raw: conn.raw === true };
    const inbound = readInbound(message, conn.bucket, rules, Date.now());
    switch (inbound.kind) {
      case "pong":
        this.outbox.send(ws, "pong", false);
        return;
      case "refuse":
        this.reply(ws, conn, inbound.error);
        if (inbound.close) this.close(ws, inbound.close.code, inbound.close.reason);
        return;
      case "frame":
        this.onFrame(ws, conn, inbound.frame);
    }
  }

  // ---- sending, for the places built on this runtime ----

  /**
   * Serializes once and sends to every socket of the given users in one role (a desk's agents
   * and customers are separate even if an id were both); returns the socket count. `data`: a
   * data frame's, for raw sockets (see `broadcast`); their raw text is made once, if one is there.
   */
  protected sendToUsers(
    text: string,
    users: Iterable<string>,
    role: Role = "member",
    data: unknown = NO_DATA,
  ): number {
    let delivered = 0;
    let raw: string | undefined;
    for (const user of new Set(users)) {
      for (const ws of this.members.socketsOf(user, role)) {
        const conn = this.members.sockets.get(ws);
        if (conn?.raw === true) {
          if (data === NO_DATA) continue; // a protocol frame: never for a raw socket
          raw ??= rawText(data);
          this.outbox.sendRaw(ws, raw);
        } else this.outbox.send(ws, text, conn?.batch ?? false);
        delivered++;
      }
    }
    return delivered;
  }

  /**
   * Sends one text to every socket, or every socket but one; returns the socket count. `data`:
   * the frame's data when it is a data frame (a message, direct or event), which raw sockets get
   * instead of the JSON text; without it raw sockets get nothing (outbox.ts).
   */
  protected broadcast(text: string, except?: WebSocket, data: unknown = NO_DATA): number {
    return this.outbox.broadcast(text, except, data);
  }

  protected send(ws: WebSocket, frame: ServerFrame): void {
    const conn = this.members.sockets.get(ws);
    if (conn?.raw === true) return; // protocol frames never reach a raw socket: not even built
    this.outbox.send(ws, JSON.stringify(frame), conn?.batch ?? false);
  }

  protected reply(ws: WebSocket, conn: Connection, frame: ServerFrame): void {
    // A raw socket hears no acks or errors: what it sent over the rate, or that the publish
    // hook refused, is dropped without a word (its page would show an error as a message).
    if (conn.raw === true) return;
    this.outbox.send(ws, JSON.stringify(frame), conn.batch);
  }

  /** Closes a socket from our side: what is queued for it goes first, then the member leaves. */
  protected close(ws: WebSocket, code: number, reason: string): void {
    this.outbox.flushSocket(ws);
    // Leave while the socket is still open, so its attachment can record that it left and the
    // peer's close event (perhaps after an eviction) is not counted as a second leave.
    this.#leave(ws);
    try {
      ws.close(code, reason);
    } catch {
      // The peer is already gone; it has left above.
    }
  }

  /**
   * One socket left; `remaining` is how many its user still has here. A sharded room's shard
   * tells its order keeper (shards/shard.ts); other objects need only `onLeave`.
   */
  protected onSocketLeft(_ws: WebSocket, _who: Attachment, _remaining: number): void {}

  /** `closed`: called from the socket's own close event, the last it will ever have. */
  #leave(ws: WebSocket, closed = false): void {
    this.outbox.drop(ws);
    const known = this.members.sockets.get(ws);
    const left = this.members.remove(ws, closed);
    // A socket the caches did not hold counts only when it was its user's last (members.ts).
    const who = known ?? (left !== null ? readAttachment(ws) : null);
    if (who !== null) {
      const remaining = left !== null ? 0 : [...this.members.socketsOf(who.id, who.role)].length;
      try {
        this.onSocketLeft(ws, who, remaining);
      } catch (err) {
        console.error(`${this.constructor.name} ${this.ctx.id}: onSocketLeft failed`, err);
      }
    }
    if (left === null) return;
    try {
      this.onLeave({ id: left.id, name: left.name }, left.role);
    } catch (err) {
      console.error(`${this.constructor.name} ${this.ctx.id}: onLeave failed`, err);
    }
  }
}
