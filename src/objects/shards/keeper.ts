/**
 * The bookkeeping of a sharded room's order keeper (the room's own Room object; the design is
 * docs/sharded-rooms.md): who is on which shard (the roster), which shard a join goes to, and
 * handing frames to the shards (the fan-out). What a frame or a join means stays in room.ts,
 * the same for a sharded room as for a plain one; this is only where its sockets are.
 */
import type { KickOrder, Member, PlaceInfo } from "../../protocol";
import { Fanout, type ShardEndpoint } from "./fanout";
import { Roster } from "./roster";
import type { Delivery } from "./wire";

export interface ShardStub extends ShardEndpoint {
  kick(user: string, reason: string): Promise<number>;
}

export class ShardKeeper {
  readonly roster: Roster;
  readonly #fanout: Fanout;
  readonly #stub: (shard: number) => ShardStub;
  readonly #shardSockets: number;
  /** Sockets per shard: as the shards last reported, plus joins sent there since. */
  readonly #load = new Map<number, number>();

  constructor(
    sql: SqlStorage,
    stub: (shard: number) => ShardStub,
    shardSockets: number,
    beforeSend: () => void,
  ) {
    this.roster = new Roster(sql);
    this.#stub = stub;
    this.#shardSockets = shardSockets;
    this.#fanout = new Fanout(stub, beforeSend);
    // After a wake the shards have not reported yet: the roster's counts stand in.
    for (const [n, c] of this.roster.socketsPerShard()) this.#load.set(n, c);
  }

  /**
   * The shard a join of `user` goes to: the one its other sockets are on (so its rate and
   * socket cap stay exact), else the lowest-numbered one under SHARD_SOCKETS. Counted at once,
   * so a storm of joins spreads before the shards report; their reports correct it.
   */
  pick(user: string): number {
    let shard = this.roster.shardOf(user);
    if (shard === null) {
      shard = 0;
      while ((this.#load.get(shard) ?? 0) >= this.#shardSockets) shard++;
    }
    this.#load.set(shard, (this.#load.get(shard) ?? 0) + 1);
    return shard;
  }

  /** A shard's own count of its sockets, sent with each join and leave it reports. */
  reported(shard: number, sockets: number): void {
    this.#load.set(shard, sockets);
  }

  /** A shard started with no sockets: whoever the roster lists there is gone. */
  reset(shard: number): Member[] {
    this.#load.set(shard, 0);
    return this.roster.resetShard(shard);
  }

  /**
   * Hands a frame to every shard with members; returns the sockets it reaches, as the roster
   * counts them. Stored frames go to every shard, so each sees the seqs without holes.
   */
  toAll(d: Delivery): number {
    this.#fanout.send(this.roster.shards(), d);
    if (d.to === undefined) return this.roster.sockets;
    return [...new Set(d.to)].reduce((n, user) => n + this.roster.socketsOf(user), 0);
  }

  /** An answer (ack, error, history page) to one socket of one shard, in that shard's stream. */
  toSocket(shard: number, socket: number, text: string): void {
    this.#fanout.send([shard], { text, socket });
  }

  info(seq: number): PlaceInfo {
    const r = this.roster;
    return {
      occupied: r.count > 0,
      members: r.count,
      sockets: r.sockets,
      seq,
      shards: r.shardCount,
    };
  }

  /** Closes a kicked user's sockets on its shard; returns how many. */
  async kick(order: KickOrder, reason: string): Promise<number> {
    const shard = this.roster.shardOf(order.user);
    return shard === null ? 0 : this.#stub(shard).kick(order.user, reason);
  }
}
