/**
 * A desk's agents in SQLite: who has ever joined as an agent (such an id can never be a
 * customer there), when each was last assigned a conversation, and since when each has been
 * gone; with the assignment rule, which the ledger (desk-ledger.ts) feeds the agents' loads.
 */

export class DeskAgents {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS desk_agents (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      last_assigned INTEGER NOT NULL DEFAULT 0,
      gone_since INTEGER
    )`);
  }

  arrived(id: string, name: string): void {
    this.#rows(
      `INSERT INTO desk_agents (id, name) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, gone_since = NULL`,
      id,
      name,
    );
  }

  gone(id: string, now: number): void {
    this.#rows("UPDATE desk_agents SET gone_since = ? WHERE id = ?", now, id);
  }

  /** Whether `id` ever joined this desk as an agent: such an id may never be a customer here. */
  has(id: string): boolean {
    return this.#rows("SELECT 1 FROM desk_agents WHERE id = ?", id).length > 0;
  }

  name(id: string): string | undefined {
    return this.#rows<{ name: string }>("SELECT name FROM desk_agents WHERE id = ?", id)[0]?.name;
  }

  /** Agents gone since `cutoff` or earlier; each is returned once (its gone mark is cleared). */
  takeGoneBefore(cutoff: number): string[] {
    return this.#rows<{ id: string }>(
      `UPDATE desk_agents SET gone_since = NULL
       WHERE gone_since IS NOT NULL AND gone_since <= ? RETURNING id`,
      cutoff,
    ).map((r) => r.id);
  }

  /** When the earliest agent still marked gone left, for the next alarm. */
  earliestGone(): number | null {
    return this.#rows<{ t: number | null }>(
      "SELECT MIN(gone_since) AS t FROM desk_agents WHERE gone_since IS NOT NULL",
    )[0]!.t;
  }

  /** `agent` was just given a conversation. */
  assigned(agent: string): void {
    // A sequence, not a time: assignments within one turn still get distinct, ordered values.
    this.#rows(
      `UPDATE desk_agents SET last_assigned = (SELECT MAX(last_assigned) + 1 FROM desk_agents)
       WHERE id = ?`,
      agent,
    );
  }

  /**
   * The rule, `count` times in a row: of the `online` agents, the one with the fewest open
   * conversations (`load`), ties to the one least recently assigned, then by id, so the choice
   * is deterministic. Each pick is counted before the next as assigned() will count it, so a
   * whole queue is served with one read of the loads. Empty when nobody is online.
   */
  pick(online: Set<string>, count: number, load: Map<string, number>): string[] {
    if (online.size === 0) return [];
    const last = new Map(
      this.#rows<{ id: string; last_assigned: number }>(
        "SELECT id, last_assigned FROM desk_agents",
      ).map((r) => [r.id, r.last_assigned]),
    );
    let tick = Math.max(0, ...last.values());
    const key = (id: string) => [load.get(id) ?? 0, last.get(id) ?? 0] as const;
    const picks: string[] = [];
    while (picks.length < count) {
      const agent = [...online].sort((a, b) => {
        const [ka, kb] = [key(a), key(b)];
        return ka[0] - kb[0] || ka[1] - kb[1] || (a < b ? -1 : a > b ? 1 : 0);
      })[0]!;
      picks.push(agent);
      load.set(agent, (load.get(agent) ?? 0) + 1);
      last.set(agent, ++tick);
    }
    return picks;
  }

  #rows<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...params: SqlStorageValue[]
  ): T[] {
    return this.#sql.exec<T>(query, ...params).toArray();
  }
}
