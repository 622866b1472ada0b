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
      this.#byId.set(row.id, { name: row.name, shard: row.shard, sockets: row.sockets });
    }
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
  shards(): Set<number> {
    return new Set([...this.#byId.values()].map((e) => e.shard));
  }

  /**
   * A socket of `user` joined on `shard`; true when it is the user's first (a new member). The
   * name stays the one the user's first socket joined with, as in a plain room.
   */
  joined(user: string, name: string, shard: number): boolean {
    const e = this.#byId.get(user);
    if (e !== undefined && e.shard === shard) {
      e.sockets++;
      this.#sql.exec("UPDATE roster SET sockets = ? WHERE id = ?", e.sockets, user);
      return false;
    }
    // A user listed on another shard is one whose old shard lost it without a word (restarted):
    // its sockets are here now.
    const entry = { name: e?.name ?? name, shard, sockets: 1 };
    this.#byId.set(user, entry);
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
      e.sockets = remaining;
      this.#sql.exec("UPDATE roster SET sockets = ? WHERE id = ?", remaining, user);
      return null;
    }
    this.#byId.delete(user);
    this.#sql.exec("DELETE FROM roster WHERE id = ?", user);
    return { id: user, name: e.name };
  }

  /** A shard that started afresh has no sockets: everyone listed on it is gone. */
  resetShard(shard: number): Member[] {
    const gone: Member[] = [];
    for (const [id, e] of this.#byId) {
      if (e.shard !== shard) continue;
      gone.push({ id, name: e.name });
      this.#byId.delete(id);
    }
    if (gone.length > 0) this.#sql.exec("DELETE FROM roster WHERE shard = ?", shard);
    return gone;
  }

  /** Each member's sockets. */
  *sockets(): Iterable<[string, number]> {
    for (const [id, e] of this.#byId) yield [id, e.sockets];
  }

  /** Sockets on each shard, as far as the roster knows. */
  socketsPerShard(): Map<number, number> {
    const per = new Map<number, number>();
    for (const e of this.#byId.values()) per.set(e.shard, (per.get(e.shard) ?? 0) + e.sockets);
    return per;
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
