/**
 * Room: one Durable Object per room. Group messages reach every member, direct messages only
 * their two parties, pushed events everyone or one user; each stored frame takes the room's next
 * `seq`. Sockets, checks, storage and sending are the Hub's (hub.ts), welcome, acks and
 * history pages the Place's (place.ts); this file is what a room means.
 */
import type { ClientFrame, ClientFrameType } from "../protocol/client-frames";
import { Place, kickReason, type Sender } from "./place";
import { PublishGate } from "./publish-gate";
import { Presence } from "./presence";
import { readPresenceCountMs } from "./registry";
import type { Connection } from "./members";
import { ShardKeeper } from "./shards/keeper";
import type { Delivery, ShardFrame, ShardJoin, ShardWelcome, StoredRow } from "./shards/wire";
import {
  errorFrame,
  isShardedRoom,
  readPublishHook,
  readShardSettings,
  shardName,
  type KickOrder,
  type KickResult,
  type MembersPage,
  type PlaceInfo,
  type ShardPick,
  type DirectFrame,
  type EventFrame,
  type Member,
  type MessageFrame,
  type Join,
  type PublishResult,
  type RoomEvent,
  type RoomEventResult,
} from "../protocol";

const ROOM_FRAMES: ReadonlySet<ClientFrameType> = new Set(["message", "direct", "history"]);
const pushKey = (pushId: string) => `push:${pushId}`;

export class Room extends Place {
  protected readonly accepts = ROOM_FRAMES;
  /** PUBLISH_HOOK_URL for this room (publish-gate.ts), or null: then nothing here waits for a backend. */
  readonly #gate: PublishGate | null;
  /**
   * With a publish hook, every store waits for the ones before it (each may wait for the
   * backend), so frames are stored in the order they arrived, hook or not. Memory only, by
   * design: a chain lost to eviction had nothing stored or acknowledged yet, and the clients
   * re-send what was not acknowledged.
   */
  #inOrder: Promise<unknown> = Promise.resolve();

  /**
   * Set when this room is sharded (SHARDED_ROOMS): this object is then its order keeper and
   * holds no sockets; the shards hold them (shards/, docs/sharded-rooms.md).
   */
  readonly #shards: ShardKeeper | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const hook = readPublishHook(env, ctx.id.name ?? "");
    this.#gate = hook === null ? null : new PublishGate(hook, ctx.id.name ?? "");
    const settings = readShardSettings(env);
    this.#shards = isShardedRoom(settings, ctx.id.name ?? "")
      ? new ShardKeeper(
          ctx.storage.sql,
          (n) => env.SHARDS.getByName(shardName(ctx.id.name ?? "", n)),
          settings.shardSockets,
          () => this.writeTurn(),
        )
      : null;
  }

  /** Runs `step` after every earlier store of this room (only when a publish hook is on). */
  #afterEarlier<T>(step: () => T | Promise<T>): Promise<T> {
    const run = this.#inOrder.then(step);
    this.#inOrder = run.catch(() => undefined);
    return run;
  }

  /** Members one by one, or counts above PRESENCE_MAX (presence.ts says why). */
  readonly #presence = new Presence(
    this.limits.presenceMax,
    readPresenceCountMs(this.env),
    this.ctx.storage.kv,
    {
      count: () => this.memberCount,
      list: () => this.#shards?.roster.list() ?? this.members.list(),
      broadcast: (text) => this.#announce(text),
      armAlarm: (at) => this.armAlarm(at),
    },
  );

  protected override get memberCount(): number {
    return this.#shards?.roster.count ?? this.members.count;
  }

  /** A protocol frame (presence) to every member, or every socket but one. */
  #announce(text: string, except?: { ws: WebSocket } | { shard: number; socket: number }): void {
    if (this.#shards === null) {
      this.broadcast(text, except !== undefined && "ws" in except ? except.ws : undefined);
      return;
    }
    const d: Delivery = { text };
    if (except !== undefined && "socket" in except) d.except = except.socket;
    this.#shards.toAll(d);
  }

  /**
   * A data frame (message, direct, event) to everyone, or only to `to`; `seq` for stored ones.
   * Returns the sockets it was handed to (a sharded room's: as its roster counts them).
   */
  #deliver(text: string, data: unknown, to: string[] | null, seq?: number): number {
    const k = this.#shards;
    if (k === null) {
      // With `data`, raw sockets get that data's text (made only if one is here).
      return to === null
        ? this.broadcast(text, undefined, data)
        : this.sendToUsers(text, to, "member", data);
    }
    const d: Delivery = { text, data: true };
    if (seq !== undefined) d.seq = seq;
    if (to !== null) d.to = to;
    return k.toAll(d);
  }

  #memberOf(user: string): Member | null {
    return this.#shards?.roster.member(user) ?? this.members.member(user);
  }

  protected onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    // The join that takes the room over PRESENCE_MAX is already a count: decided before welcome.
    const perMember = first ? this.#presence.changed(Date.now()) : !this.#presence.counting;
    // A raw socket gets no welcome and no replay (not even read): only live data from now on.
    if (conn.raw !== true) this.welcome(ws, conn, join, perMember ? this.members.list() : null);
    if (first) this.#joined({ id: conn.id, name: conn.name }, perMember, { ws });
  }

  /** A new member: the registry, the others (by name or as a count), your backend. */
  #joined(
    member: Member,
    perMember: boolean,
    except: { ws: WebSocket } | { shard: number; socket: number },
  ): void {
    this.occupancyChanged();
    if (perMember) this.#announce(this.presence("join", member), except);
    this.events.joined(member, this.memberCount, Date.now());
  }

  protected onLeave(member: Member): void {
    this.occupancyChanged();
    if (this.#presence.changed(Date.now(), true)) this.#announce(this.presence("leave", member));
    // Presence inside the room is immediate; your backend hears of it after the grace.
    const due = this.events.left(member, Date.now());
    if (due !== null) this.armAlarm(due);
  }

  protected onFrame(ws: WebSocket, conn: Connection, frame: ClientFrame): void {
    this.#onFrame(this.local(ws, conn), frame);
  }

  /** A client frame, from a socket here or (a sharded room) on a shard. */
  #onFrame(sender: Sender, frame: ClientFrame): void {
    if (frame.type === "history") return this.answerHistory(sender, frame);
    if (frame.type !== "message" && frame.type !== "direct") return;
    if (frame.type === "message" && frame.to !== undefined) {
      // A room message always goes to everyone; a "to" here is a client bug that would leak.
      sender.answer(
        errorFrame("invalid_frame", 'a room "message" has no "to": use "direct"', frame.id),
      );
      return;
    }
    if (this.#gate !== null) {
      const now = Date.now();
      const from = this.#memberOf(sender.id) ?? { id: sender.id, name: sender.id };
      // Asked now, so a busy room's calls overlap; stored below in arrival order all the same.
      // A re-send of an id already stored is answered from that store, without asking again.
      const decision =
        frame.id !== undefined && this.storedBefore(sender.id, frame.id, now)
          ? null
          : this.#gate.decide(from, frame);
      void this.#afterEarlier(async () => {
        const decided = await decision;
        if (this.acknowledgedBefore(sender, frame.id, Date.now()) || decided === null) return;
        if (!decided.store) sender.answer(errorFrame(decided.code, decided.message, frame.id));
        else this.#store(sender, frame, decided.data);
      }).catch((err) => {
        console.error(`Room ${this.ctx.id}: storing through the publish hook failed`, err);
        sender.answer(
          errorFrame("internal", "this frame could not be handled; nothing was stored", frame.id),
        );
      });
      return;
    }
    this.#store(sender, frame, frame.data);
  }

  /** Stores a client message or direct message with `data` and delivers it; acks its id. */
  #store(
    sender: Sender,
    frame: Extract<ClientFrame, { type: "message" | "direct" }>,
    data: unknown,
  ): void {
    const now = Date.now();
    if (this.acknowledgedBefore(sender, frame.id, now)) return;
    const from = this.#memberOf(sender.id) ?? { id: sender.id, name: sender.id };
    const recipient = frame.type === "direct" ? frame.to : null;
    const { seq, body } = this.history.append({ sender: sender.id, recipient }, (seq) =>
      JSON.stringify(
        frame.type === "direct"
          ? ({
              type: "direct",
              seq,
              id: frame.id,
              from,
              to: frame.to,
              data,
              ts: now,
            } satisfies DirectFrame)
          : ({
              type: "message",
              seq,
              id: frame.id,
              from,
              data,
              ts: now,
            } satisfies MessageFrame),
      ),
    );
    this.#deliver(body, data, recipient === null ? null : [sender.id, recipient], seq);
    this.acknowledge(sender, frame.id, seq, now);
    if (this.events.messages)
      this.events.emit({ type: "message.created", frame: JSON.parse(body) }, now);
  }

  /**
   * Delivers pushed events (POST /push) in the room's order. The push id is remembered for 24 h:
   * the same id again delivers nothing and answers the first results with `duplicate: true`.
   */
  async publish(pushId: string, events: RoomEvent[]): Promise<PublishResult> {
    // Behind client frames still waiting for the publish hook, so the order stays arrival order.
    if (this.#gate !== null) return this.#afterEarlier(() => this.#publishNow(pushId, events));
    return this.#publishNow(pushId, events);
  }

  #publishNow(pushId: string, events: RoomEvent[]): PublishResult {
    const now = Date.now();
    const seen = this.history.keys.recall(pushKey(pushId), now);
    if (seen !== undefined)
      return { duplicate: true, results: JSON.parse(seen) as RoomEventResult[] };
    // A push queues all it sends within this call, so it leaves at once (stored first).
    return this.outbox.sendNow(() => {
      const results = events.map((e) => this.#publishOne(e, now));
      this.history.keys.remember(pushKey(pushId), JSON.stringify(results), now);
      // Written before the answer: a backend told "stored" must find it stored.
      this.history.flush();
      return { duplicate: false, results };
    });
  }

  /** Whether a push id was delivered here within the last 24 h (jobs use it to skip redeliveries). */
  async published(pushId: string): Promise<boolean> {
    return this.history.keys.recall(pushKey(pushId), Date.now()) !== undefined;
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
    const to = e.to === null ? null : [e.to];
    if (!e.store) return { seq: null, delivered: this.#deliver(frame(undefined), e.data, to) };
    const { seq, body } = this.history.append({ sender: null, recipient: e.to }, frame);
    return { seq, delivered: this.#deliver(body, e.data, to, seq) };
  }

  // ---- a sharded room's order keeper (shards/, docs/sharded-rooms.md) ----

  #keeper(): ShardKeeper {
    if (this.#shards === null) throw new Error(`room "${this.name}" is not sharded`);
    return this.#shards;
  }

  /** Where a join of `user` goes (keeper.ts picks the shard); a banned user is refused. */
  async shardFor(user: string): Promise<ShardPick> {
    const k = this.#keeper();
    const refusal = this.banned(user);
    return refusal !== null ? { refusal } : { shard: k.pick(user) };
  }

  /** A shard started with no sockets (new, or restarted): whoever the roster lists there left. */
  async shardReset(shard: number, except?: string): Promise<void> {
    const k = this.#keeper();
    for (const gone of k.reset(shard)) if (gone.id !== except) this.onLeave(gone);
  }

  /** A socket joined a shard: records the member, answers its welcome and replay. */
  async shardJoin(j: ShardJoin): Promise<ShardWelcome> {
    const k = this.#keeper();
    const now = Date.now();
    // The joining user is not announced as leaving: it is here again at once.
    if (j.fresh) await this.shardReset(j.shard, j.user);
    k.reported(j.shard, j.sockets);
    const first = k.roster.joined(j.user, j.name, j.shard);
    const perMember = first ? this.#presence.changed(now) : !this.#presence.counting;
    const self = k.roster.member(j.user) ?? { id: j.user, name: j.name };
    const welcome = this.welcomeFor(
      { id: j.user, role: "member" },
      self,
      {
        name: this.name,
        since: j.since,
        ...(j.guestToken === undefined ? {} : { guestToken: j.guestToken }),
      },
      perMember ? k.roster.list() : null,
    );
    if (first) this.#joined(self, perMember, { shard: j.shard, socket: j.socket });
    return { welcome: welcome.text, frames: welcome.frames, seq: welcome.seq };
  }

  /** Client frames a shard checked, in the order its sockets sent them. */
  async shardFrames(shard: number, frames: ShardFrame[]): Promise<void> {
    const k = this.#keeper();
    for (const f of frames) {
      const sender: Sender = {
        id: f.user,
        role: "member",
        answer: (frame) =>
          k.toSocket(shard, f.socket, typeof frame === "string" ? frame : JSON.stringify(frame)),
      };
      try {
        this.#onFrame(sender, f.frame);
      } catch (err) {
        // As webSocketMessage does for a socket here: this frame fails, the shard's others go on.
        console.error(`Room ${this.ctx.id}: a frame from shard ${shard} failed`, err);
        const id = "id" in f.frame ? f.frame.id : undefined;
        sender.answer(
          errorFrame("internal", "this frame could not be handled; nothing was stored", id),
        );
      }
    }
  }

  /** A socket left a shard; `remaining`: its user's sockets still there. */
  async shardLeft(shard: number, user: string, remaining: number, sockets: number): Promise<void> {
    const k = this.#keeper();
    k.reported(shard, sockets);
    const left = k.roster.left(user, shard, remaining);
    if (left !== null) this.onLeave(left);
  }

  /** Stored frames a shard missed (its stream skipped them), with who may see each. */
  async catchUp(after: number, upTo: number): Promise<StoredRow[]> {
    return this.history.between(after, upTo);
  }

  override async apiInfo(): Promise<PlaceInfo> {
    return this.#shards?.info(this.history.lastSeq) ?? super.apiInfo();
  }

  override async apiMembers(after: string | null, limit: number): Promise<MembersPage> {
    return this.#shards?.roster.page(after, limit) ?? super.apiMembers(after, limit);
  }

  override async apiKick(order: KickOrder): Promise<KickResult> {
    const k = this.#shards;
    if (k === null) return super.apiKick(order);
    this.ban(order, Date.now());
    return { closed: await k.kick(order, kickReason(order, "room")) };
  }

  protected override onAlarm(now: number): number | null {
    const presence = this.#presence.onAlarm(now);
    const report = super.onAlarm(now);
    return presence === null ? report : Math.min(presence, report ?? Infinity);
  }
}
