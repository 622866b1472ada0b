/**
 * The desk's ledger in SQLite: agents (when each was last assigned a customer, since when it has
 * been gone) and conversations (customer, agent or queued, open or closed, arrival order), with
 * the assignment rule as a query over them. No sockets here: desk.ts decides who is online and
 * tells people; this file is what survives eviction.
 */

export type Conversation = {
  customer: string;
  name: string;
  /** Null while queued. */
  agent: string | null;
  open: number;
  /** Arrival order: the queue is served by it. */
  ticket: number;
};

/**
 * Desk frames are stored with the conversation's customer as `recipient`: a customer sees its
 * own conversation, an agent those currently assigned to it, and nothing else, whatever its id
 * (a VisibilityRule for history.ts).
 */
export const deskVisibility = (p: number, role: "member" | "agent") =>
  role === "agent"
    ? `recipient IN (SELECT customer FROM desk_conversations WHERE agent = ?${p} AND open = 1)`
    : `recipient = ?${p}`;

export class DeskLedger {
  #sql: SqlStorage;
  /** Order of arrivals and assignments; the rows keep it, so it is rebuilt on wake. */
  #tick: number;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS desk_agents (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      last_assigned INTEGER NOT NULL DEFAULT 0,
      gone_since INTEGER
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS desk_conversations (
      customer TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      agent TEXT,
      open INTEGER NOT NULL,
      ticket INTEGER NOT NULL
    )`);
    sql.exec(
      "CREATE INDEX IF NOT EXISTS desk_conversations_agent ON desk_conversations (agent, open)",
    );
    this.#tick =
      sql
        .exec<{ t: number | null }>(
          `SELECT MAX(t) AS t FROM (SELECT MAX(last_assigned) AS t FROM desk_agents
           UNION ALL SELECT MAX(ticket) FROM desk_conversations)`,
        )
        .one().t ?? 0;
  }

  // ---- agents ----

  agentArrived(id: string, name: string): void {
    this.#rows(
      `INSERT INTO desk_agents (id, name) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, gone_since = NULL`,
      id,
      name,
    );
  }

  agentGone(id: string, now: number): void {
    this.#rows("UPDATE desk_agents SET gone_since = ? WHERE id = ?", now, id);
  }

  /** Whether `id` ever joined this desk as an agent: such an id may never be a customer here. */
  isAgent(id: string): boolean {
    return this.#rows("SELECT 1 FROM desk_agents WHERE id = ?", id).length > 0;
  }

  agentName(id: string): string | undefined {
    return this.#rows<{ name: string }>("SELECT name FROM desk_agents WHERE id = ?", id)[0]?.name;
  }

  /** Agents gone since `cutoff` or earlier; each is returned once (its gone mark is cleared). */
  takeAgentsGoneBefore(cutoff: number): string[] {
    const due = this.#rows<{ id: string }>(
      "SELECT id FROM desk_agents WHERE gone_since IS NOT NULL AND gone_since <= ?",
      cutoff,
    ).map((r) => r.id);
    for (const id of due) this.#rows("UPDATE desk_agents SET gone_since = NULL WHERE id = ?", id);
    return due;
  }

  /** When the earliest agent still marked gone left, for the next alarm. */
  earliestGone(): number | null {
    return this.#rows<{ t: number | null }>(
      "SELECT MIN(gone_since) AS t FROM desk_agents WHERE gone_since IS NOT NULL",
    )[0]!.t;
  }

  /**
   * The rule: of the `online` agents, the one with the fewest open conversations; ties go to
   * the one least recently assigned, then by id, so the choice is deterministic.
   */
  pickAgent(online: Set<string>): string | null {
    if (online.size === 0) return null;
    const load = new Map(
      this.#rows<{ agent: string; n: number }>(
        "SELECT agent, COUNT(*) AS n FROM desk_conversations WHERE open = 1 AND agent IS NOT NULL GROUP BY agent",
      ).map((r) => [r.agent, r.n]),
    );
    const last = new Map(
      this.#rows<{ id: string; last_assigned: number }>(
        "SELECT id, last_assigned FROM desk_agents",
      ).map((r) => [r.id, r.last_assigned]),
    );
    const key = (id: string) => [load.get(id) ?? 0, last.get(id) ?? 0] as const;
    return [...online].sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      return ka[0] - kb[0] || ka[1] - kb[1] || (a < b ? -1 : a > b ? 1 : 0);
    })[0]!;
  }

  // ---- conversations ----

  conversation(customer: string): Conversation | null {
    return (
      this.#rows<Conversation>(
        "SELECT * FROM desk_conversations WHERE customer = ?",
        customer,
      )[0] ?? null
    );
  }

  /** The customer's open conversation, or a new one at the back of the queue. */
  open(customer: string, name: string): Conversation {
    const conv = this.conversation(customer);
    if (conv !== null && conv.open === 1) return conv;
    const ticket = ++this.#tick;
    this.#rows(
      `INSERT INTO desk_conversations (customer, name, agent, open, ticket) VALUES (?, ?, NULL, 1, ?)
       ON CONFLICT (customer) DO UPDATE SET name = excluded.name, agent = NULL, open = 1, ticket = excluded.ticket`,
      customer,
      name,
      ticket,
    );
    return { customer, name, agent: null, open: 1, ticket };
  }

  assign(customer: string, agent: string): void {
    this.#rows("UPDATE desk_conversations SET agent = ? WHERE customer = ?", agent, customer);
    this.#rows("UPDATE desk_agents SET last_assigned = ? WHERE id = ?", ++this.#tick, agent);
  }

  /** Back to the queue, keeping its place in arrival order. */
  unassign(customer: string): void {
    this.#rows("UPDATE desk_conversations SET agent = NULL WHERE customer = ?", customer);
  }

  close(customer: string): void {
    this.#rows("UPDATE desk_conversations SET open = 0 WHERE customer = ?", customer);
  }

  /** Open conversations of one agent, in arrival order. */
  conversationsOf(agent: string): Conversation[] {
    return this.#rows<Conversation>(
      "SELECT * FROM desk_conversations WHERE agent = ? AND open = 1 ORDER BY ticket",
      agent,
    );
  }

  /** Queued conversations in arrival order. */
  queue(): Conversation[] {
    return this.#rows<Conversation>(
      "SELECT * FROM desk_conversations WHERE agent IS NULL AND open = 1 ORDER BY ticket",
    );
  }

  /** Queue positions (1 = next), to tell customers when theirs changes. */
  positions(): Map<string, number> {
    return new Map(this.queue().map((c, i) => [c.customer, i + 1]));
  }

  #rows<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...params: SqlStorageValue[]
  ): T[] {
    return this.#sql.exec<T>(query, ...params).toArray();
  }
}
