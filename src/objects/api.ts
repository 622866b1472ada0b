/**
 * What the server API (src/worker/api/) asks of a room or desk, written once for both: a page of
 * its members in id order, and the bans that `kick` with `ban_sec` leaves behind. Bans are rows in
 * the object's SQLite storage, so they survive hibernation and restarts; each carries its own end
 * and is checked at the join, so no alarm is needed: a ban found expired is deleted there, and
 * every new ban sweeps the expired ones.
 */
import type { Connection } from "./members";
import type { MemberSockets, MembersPage, Refusal } from "../protocol";

/**
 * A page of the connected users in id order (ids are ASCII, so code-unit order is stable), after
 * the cursor `after` (the last id of the previous page). A desk lists its agents and customers;
 * an id connected both ways is listed once, as an agent, with all its sockets.
 */
export function memberPage(
  connections: Iterable<Connection>,
  after: string | null,
  limit: number,
  withRoles: boolean,
): MembersPage {
  const byId = new Map<string, MemberSockets>();
  for (const conn of connections) {
    if (after !== null && conn.id <= after) continue;
    const seen = byId.get(conn.id);
    if (seen !== undefined) {
      seen.sockets++;
      if (withRoles && conn.role === "agent") seen.role = "agent";
      continue;
    }
    byId.set(conn.id, {
      id: conn.id,
      name: conn.name,
      sockets: 1,
      ...(withRoles ? { role: conn.role === "agent" ? "agent" : "customer" } : {}),
    });
  }
  const ids = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const members = ids.slice(0, limit).map((id) => byId.get(id)!);
  return { members, next: ids.length > limit ? members.at(-1)!.id : null };
}

/** The bans of one room or desk. */
export class Bans {
  #sql: SqlStorage;
  /** Whether the table exists: a place that never banned anyone reads nothing at a join. */
  #table: boolean;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#table =
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bans'").toArray()
        .length > 0;
  }

  /** Refuses `user`'s joins until `until` (ms); a later ban replaces an earlier one. */
  ban(user: string, until: number, reason: string, now: number): void {
    if (!this.#table) {
      this.#sql.exec(`CREATE TABLE IF NOT EXISTS bans (
        user TEXT PRIMARY KEY,
        until INTEGER NOT NULL,
        reason TEXT NOT NULL
      ) WITHOUT ROWID`);
      this.#table = true;
    }
    this.#sql.exec("DELETE FROM bans WHERE until <= ?", now);
    this.#sql.exec(
      "INSERT INTO bans (user, until, reason) VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET until = excluded.until, reason = excluded.reason",
      user,
      until,
      reason,
    );
  }

  /** The refusal of a banned user's join, or null; an expired ban is deleted here. */
  refusal(user: string, place: string, now: number): Refusal | null {
    if (!this.#table) return null;
    const row = this.#sql
      .exec<{ until: number; reason: string }>(
        "SELECT until, reason FROM bans WHERE user = ?",
        user,
      )
      .toArray()[0];
    if (row === undefined) return null;
    if (row.until <= now) {
      this.#sql.exec("DELETE FROM bans WHERE user = ? AND until <= ?", user, now);
      return null;
    }
    const why = row.reason === "" ? "" : `: ${row.reason}`;
    return {
      code: "forbidden",
      message: `banned from ${place} until ${new Date(row.until).toISOString()}${why}`,
    };
  }
}
