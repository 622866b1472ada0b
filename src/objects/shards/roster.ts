/**
 * Who is in a sharded room, kept by its order keeper: each member's name, the shard its sockets
 * are on (a user's sockets are always on one shard, so per-user limits stay exact there) and how
 * many it has. The shards tell the keeper of every join and leave; the keeper answers presence,
 * welcome lists and the server API from here. A table in the keeper's storage with a map in
 * front of it, so the roster survives the keeper's hibernation and restarts without asking any
 * shard.
 */
import type { Member, MemberSockets, MembersPage } from "../../protocol";

interface Entry {
  name: string;
  shard: number;
  sockets: number;
}

export class Roster {
  #sql: SqlStorage;
  #byId = new Map<string, Entry>();
  /**
   * Members and sockets per shard, kept as entries change: asked on every frame (which shards
   * get it, how many sockets it reached), so never counted by walking the roster.
   */
  #perShard = new Map<number, { members: number; sockets: number }>();
  #sockets = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS roster (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      shard INTEGER NOT NULL,
      sockets INTEGER NOT NULL
    ) WITHOUT ROWID`);
    for (const row of sql.exec<{ id: string; name: string; shard: number; sockets: number }>(
      "SELECT id, name, shard, sockets FROM roster",
    )) {
      this.#set(row.id, { name: row.name, shard: row.shard, sockets: row.sockets });
    }
  }

  /** Puts an entry in the map and the per-shard counts (replacing any entry of that id). */
  #set(id: string, e: Entry): void {
    this.#unset(id);
    this.#byId.set(id, e);
    this.#adjust(e.shard, 1, e.sockets);
  }

  #unset(id: string): Entry | undefined {
    const e = this.#byId.get(id);
    if (e === undefined) return undefined;
    this.#byId.delete(id);
    this.#adjust(e.shard, -1, -e.sockets);
    return e;
  }

  #adjust(shard: number, members: number, sockets: number): void {
    const c = this.#perShard.get(shard) ?? { members: 0, sockets: 0 };
    c.members += members;
    c.sockets += sockets;
    this.#sockets += sockets;
    if (c.members <= 0) this.#perShard.delete(shard);
    else this.#perShard.set(shard, c);
  }

  /** Every member's sockets together. */
  get sockets(): number {
    return this.#sockets;
  }

  /** The sockets of one member (0 if it is not here). */
  socketsOf(user: string): number {
    return this.#byId.get(user)?.sockets ?? 0;
  }

  /** Distinct members. */
  get count(): number {
    return this.#byId.size;
  }

  shardOf(user: string): number | null {
    return this.#byId.get(user)?.shard ?? null;
  }

  member(user: string): Member | null {
    const e = this.#byId.get(user);
    return e === undefined ? null : { id: user, name: e.name };
  }

  /** Members in join order (the map keeps insertion order), as a welcome lists them. */
  list(): Member[] {
    return [...this.#byId].map(([id, e]) => ({ id, name: e.name }));
  }

  /** Shards that hold at least one member: the ones the keeper hands frames to. */
  shards(): Iterable<number> {
    return this.#perShard.keys();
  }

  /** How many shards hold members. */
  get shardCount(): number {
    return this.#perShard.size;
  }

  /**
   * A socket of `user` joined on `shard`; true when it is the user's first (a new member). The
   * name stays the one the user's first socket joined with, as in a plain room.
   */
  joined(user: string, name: string, shard: number): boolean {
    const e = this.#byId.get(user);
    if (e !== undefined && e.shard === shard) {
      e.sockets++;
      this.#adjust(shard, 0, 1);
      this.#sql.exec("UPDATE roster SET sockets = ? WHERE id = ?", e.sockets, user);
      return false;
    }
    // A user listed on another shard is one whose old shard lost it without a word (restarted):
    // its sockets are here now.
    const entry = { name: e?.name ?? name, shard, sockets: 1 };
    this.#set(user, entry);
    this.#sql.exec(
      "INSERT INTO roster (id, name, shard, sockets) VALUES (?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET shard = excluded.shard, sockets = 1",
      user,
      entry.name,
      shard,
    );
    return e === undefined;
  }

  /**
   * `user` has `remaining` sockets left on `shard`; returns the member when that was its last
   * (it left the room). A report from a shard the user is no longer on changes nothing.
   */
  left(user: string, shard: number, remaining: number): Member | null {
    const e = this.#byId.get(user);
    if (e === undefined || e.shard !== shard) return null;
    if (remaining > 0) {
      this.#adjust(shard, 0, remaining - e.sockets);
      e.sockets = remaining;
      this.#sql.exec("UPDATE roster SET sockets = ? WHERE id = ?", remaining, user);
      return null;
    }
    this.#unset(user);
    this.#sql.exec("DELETE FROM roster WHERE id = ?", user);
    return { id: user, name: e.name };
  }

  /** A shard that started afresh has no sockets: everyone listed on it is gone. */
  resetShard(shard: number): Member[] {
    const gone: Member[] = [];
    for (const [id, e] of this.#byId) {
      if (e.shard !== shard) continue;
      gone.push({ id, name: e.name });
      this.#unset(id);
    }
    if (gone.length > 0) this.#sql.exec("DELETE FROM roster WHERE shard = ?", shard);
    return gone;
  }

  /** Sockets on each shard, as far as the roster knows. */
  socketsPerShard(): Map<number, number> {
    return new Map([...this.#perShard].map(([shard, c]) => [shard, c.sockets]));
  }

  /** The server API's `members`: in id order after the cursor. */
  page(after: string | null, limit: number): MembersPage {
    const ids = [...this.#byId.keys()]
      .filter((id) => after === null || id > after)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const members: MemberSockets[] = ids.slice(0, limit).map((id) => {
      const e = this.#byId.get(id)!;
      return { id, name: e.name, sockets: e.sockets };
    });
    return { members, next: ids.length > limit ? members.at(-1)!.id : null };
  }
}
