/**
 * RoomShard: one of the objects a sharded room spreads its sockets over (named `<room>#<n>`;
 * the design is docs/sharded-rooms.md). It holds sockets with the same runtime as any room
 * (hub.ts: hibernation, attachments, size and rate checks, the outbox), but decides nothing: every
 * checked client frame goes to the room's order keeper (the room's own Room object), and every
 * frame the keeper hands back goes to the sockets that may see it.
 *
 * Order: the keeper hands each shard every stored frame, seq by seq, on one ordered stream, so a
 * shard sees 1, 2, 3, … with no holes. It remembers the last seq it delivered: one it already
 * had is dropped (a batch sent again), and one past a hole makes it fetch the missing frames
 * from the keeper's history first (the keeper restarted with frames stored but not yet handed
 * out). A new socket waits for its welcome from the keeper; what the stream brings meanwhile is
 * held for it and sent after the welcome and its replay, minus what the replay already had.
 */
import { Hub } from "../hub";
import { NO_DATA, rawText } from "../outbox";
import type { Attachment, Connection } from "../members";
import {
  CLOSE_FORBIDDEN,
  errorFrame,
  readShardName,
  type ClientFrame,
  type ClientFrameType,
  type Join,
  type Member,
} from "../../protocol";
import type { Room } from "../room";
import type { Delivery, ShardFrame, StoredRow } from "./wire";

const ROOM_FRAMES: ReadonlySet<ClientFrameType> = new Set(["message", "direct", "history"]);

export class RoomShard extends Hub {
  protected readonly accepts = ROOM_FRAMES;
  readonly #room: string;
  readonly #shard: number;
  /** One stub for every call, so the keeper receives this shard's calls in the order made. */
  readonly #keeper: DurableObjectStub<Room>;
  /** Started with no sockets (new, or restarted): the keeper drops whoever it listed here. */
  #fresh: boolean;
  /** The last seq handed to the sockets here; null until the first (after a start or wake). */
  #lastSeq: number | null = null;
  /** Sockets waiting for their welcome, and what the stream brought them meanwhile. */
  readonly #waiting = new Map<WebSocket, Delivery[]>();
  /** Sockets whose replay reached further than the stream has: frames up to it are skipped. */
  readonly #floors = new Map<WebSocket, number>();
  /** The keeper addresses a socket by its `sid` (kept in its attachment, so across hibernation). */
  readonly #bySid = new Map<number, WebSocket>();
  /** Calls to the keeper leave one at a time, in order. */
  #toKeeper: Promise<unknown> = Promise.resolve();
  /** Client frames of this turn, handed to the keeper in one call. */
  #frames: ShardFrame[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const { room, shard } = readShardName(ctx.id.name ?? "");
    this.#room = room;
    this.#shard = shard;
    this.#keeper = env.ROOMS.getByName(room);
    this.#fresh = this.members.sockets.size === 0;
    for (const [ws, conn] of this.members.sockets) this.#bySid.set(conn.sid, ws);
  }

  /** Calls the keeper after every earlier call of this shard. */
  #call<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#toKeeper.then(step);
    this.#toKeeper = run.catch(() => undefined);
    return run;
  }

  protected onJoin(ws: WebSocket, conn: Connection, join: Join): void {
    this.#bySid.set(conn.sid, ws);
    this.#waiting.set(ws, []);
    const fresh = this.#fresh;
    this.#fresh = false;
    const asked = {
      shard: this.#shard,
      socket: conn.sid,
      user: conn.id,
      name: conn.name,
      ...(join.since === undefined ? {} : { since: join.since }),
      ...(join.guestToken === undefined ? {} : { guestToken: join.guestToken }),
      fresh,
      sockets: this.members.sockets.size,
    };
    this.#call(() => this.#keeper.shardJoin(asked)).then(
      (answer) => {
        const held = this.#waiting.get(ws);
        if (held === undefined) return; // it closed while waiting
        this.#waiting.delete(ws);
        // With no other socket welcomed here the keeper was not handing this shard anything:
        // the stream starts at this welcome (the replay covers everything up to it).
        const welcomed = this.members.sockets.size - this.#waiting.size - 1;
        if (welcomed === 0) this.#lastSeq = Math.max(this.#lastSeq ?? 0, answer.seq);
        if (conn.raw !== true) {
          // A raw socket gets no welcome and no replay, only live data, as in a plain room.
          this.outbox.send(ws, answer.welcome, conn.batch);
          for (const frame of answer.frames) this.outbox.send(ws, frame, conn.batch);
        }
        if (answer.seq > (this.#lastSeq ?? 0)) this.#floors.set(ws, answer.seq);
        for (const d of held) {
          if (d.seq !== undefined && d.seq <= answer.seq) continue; // the replay had it
          const { to: _to, except: _except, ...rest } = d;
          this.#hand({ ...rest, socket: conn.sid });
        }
      },
      (err: unknown) => {
        console.error(`RoomShard ${this.#room}#${this.#shard}: a join failed at the keeper`, err);
        this.reply(ws, conn, errorFrame("internal", "the room could not welcome you; try again"));
        this.close(ws, 1011, "join failed");
      },
    );
  }

  protected onFrame(_ws: WebSocket, conn: Connection, frame: ClientFrame): void {
    if (this.#frames.length === 0) {
      setTimeout(() => {
        const frames = this.#frames;
        this.#frames = [];
        this.#call(() => this.#keeper.shardFrames(this.#shard, frames)).catch((err: unknown) =>
          console.error(`RoomShard ${this.#room}#${this.#shard}: handing frames on failed`, err),
        );
      }, 0);
    }
    this.#frames.push({ socket: conn.sid, user: conn.id, frame });
  }

  protected onLeave(_member: Member): void {
    // Reported per socket (onSocketLeft), the last one included.
  }

  protected override onSocketLeft(ws: WebSocket, conn: Attachment, remaining: number): void {
    this.#waiting.delete(ws);
    this.#floors.delete(ws);
    this.#bySid.delete(conn.sid);
    const sockets = this.members.sockets.size;
    this.#call(() => this.#keeper.shardLeft(this.#shard, conn.id, remaining, sockets)).catch(
      (err: unknown) =>
        console.error(`RoomShard ${this.#room}#${this.#shard}: reporting a leave failed`, err),
    );
  }

  /** The keeper's stream (fanout.ts): frames in the room's order, each to whom may see it. */
  async deliver(batch: Delivery[]): Promise<void> {
    if (this.#fresh) {
      // Woken by the stream with no socket: this shard restarted (a deploy, a crash) and its
      // sockets are gone, so whoever the keeper lists here left. Said once; joins say it too.
      this.#fresh = false;
      this.#call(() => this.#keeper.shardReset(this.#shard)).catch((err: unknown) =>
        console.error(`RoomShard ${this.#room}#${this.#shard}: reporting a restart failed`, err),
      );
      return;
    }
    for (const d of batch) {
      if (d.seq !== undefined) {
        if (this.#lastSeq !== null) {
          if (d.seq <= this.#lastSeq) continue;
          if (d.seq > this.#lastSeq + 1) await this.#catchUp(this.#lastSeq, d.seq - 1);
        }
        this.#lastSeq = d.seq;
        for (const [ws, floor] of this.#floors) if (floor <= d.seq) this.#floors.delete(ws);
      }
      this.#hand(d);
    }
  }

  /** Closes a kicked user's sockets here (the keeper banned it first, if asked). */
  async kick(user: string, reason: string): Promise<number> {
    const sockets = [...this.members.socketsOf(user)];
    for (const ws of sockets) {
      const conn = this.members.sockets.get(ws);
      if (conn !== undefined) this.reply(ws, conn, errorFrame("kicked", reason));
      this.close(ws, CLOSE_FORBIDDEN, "kicked");
    }
    return sockets.length;
  }

  /** Frames after `after` up to `upTo`, from the keeper's history, handed out in order. */
  async #catchUp(after: number, upTo: number): Promise<void> {
    const rows: StoredRow[] = await this.#keeper.catchUp(after, upTo);
    for (const row of rows) {
      const to = row.recipient === null ? undefined : [row.sender, row.recipient];
      this.#hand({
        text: row.body,
        seq: row.seq,
        ...(to === undefined ? {} : { to: to.filter((u): u is string => u !== null) }),
      });
      this.#lastSeq = row.seq;
    }
    // Whatever the history no longer holds is gone; the stream goes on from here.
    this.#lastSeq = upTo;
  }

  #hand(d: Delivery): void {
    // Raw sockets get a data frame's `data` as text and nothing else; it is read out of the
    // frame only while one is here, so other shards never parse what they pass on.
    const data: unknown =
      d.data === true && this.members.rawSockets > 0
        ? (JSON.parse(d.text) as { data: unknown }).data
        : NO_DATA;
    let raw: string | undefined;
    const skip = (ws: WebSocket) => d.seq !== undefined && (this.#floors.get(ws) ?? 0) >= d.seq;
    const give = (ws: WebSocket) => {
      const held = this.#waiting.get(ws);
      if (held !== undefined) return void held.push(d);
      const conn = this.members.sockets.get(ws);
      if (conn === undefined || skip(ws)) return;
      if (conn.raw !== true) return this.outbox.send(ws, d.text, conn.batch);
      if (data !== NO_DATA) this.outbox.sendRaw(ws, (raw ??= rawText(data)));
    };
    if (d.socket !== undefined) {
      const ws = this.#bySid.get(d.socket);
      if (ws !== undefined) give(ws);
      return;
    }
    if (d.to !== undefined) {
      for (const user of new Set(d.to)) for (const ws of this.members.socketsOf(user)) give(ws);
      return;
    }
    if (this.#waiting.size === 0 && this.#floors.size === 0) {
      // The common case: one shared broadcast, as in a plain room.
      this.broadcast(d.text, d.except === undefined ? undefined : this.#bySid.get(d.except), data);
      return;
    }
    for (const [ws, conn] of this.members.sockets) if (conn.sid !== d.except) give(ws);
  }
}
