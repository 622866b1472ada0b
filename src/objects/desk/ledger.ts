/**
 * The desk's ledger in SQLite: conversations (customer, agent or queue place, open or closed,
 * arrival order, last activity, frames kept) and the agents (desk-agents.ts), with the
 * assignment rule as a query over both. No sockets here: the desk decides who is online and
 * tells people. Nothing is kept in memory either, so this is all that survives eviction, and a
 * second ledger on the same storage sees the same desk.
 *
 * A customer's join, its reconnect and its first message into the queue read the same rows
 * however long the queue is (lookups by key, and one end of an index); only serving or
 * reordering the queue reads all of it, and then everyone in it is told a new position anyway.
 * Picking an agent reads one row per assigned conversation, to weigh the agents' loads.
 */
import { DeskAgents } from "./agents";

export type Conversation = {
  /** Arrival order (the rowid), which the queue keeps; reopening a conversation renews it. */
  ticket: number;
  customer: string;
  name: string;
  /** Null while queued. */
  agent: string | null;
  open: number;
  /**
   * The place in the queue while queued, else null. Queued places stay consecutive (a new one
   * joins at the back, the queue is served from the front, anything else renumbers it), so a
   * position is `place - head + 1`: the conversation's own row and the queue index's first entry.
   */
  place: number | null;
  /** When the conversation's last frame was stored (ms): DESK_IDLE_SEC counts from it. */
  last_active: number;
  /** Frames stored for this customer and not yet trimmed, so trimming needs no count query. */
  frames: number;
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
  readonly agents: DeskAgents;
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.agents = new DeskAgents(sql);
    // last_active and frames change with every message and are in no index, so keeping them
    // costs one row written per message.
    sql.exec(`CREATE TABLE IF NOT EXISTS desk_conversations (
      ticket INTEGER PRIMARY KEY,
      customer TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      agent TEXT,
      open INTEGER NOT NULL,
      place INTEGER,
      last_active INTEGER NOT NULL,
      frames INTEGER NOT NULL DEFAULT 0
    )`);
    // Partial indexes: closed conversations stay (their frame counts outlive them) but cost no
    // index entry, and nothing that scans open conversations reads them.
    sql.exec(
      "CREATE INDEX IF NOT EXISTS desk_open_by_agent ON desk_conversations (agent) WHERE open = 1",
    );
    sql.exec(
      "CREATE INDEX IF NOT EXISTS desk_queue ON desk_conversations (place) WHERE place IS NOT NULL",
    );
    // Closed conversations by when they closed, so the alarm finds the ones to forget without
    // reading the open ones.
    sql.exec(
      "CREATE INDEX IF NOT EXISTS desk_closed ON desk_conversations (last_active) WHERE open = 0",
    );
    // How many conversations are open, kept as a row: counting them would read them all.
    sql.exec(`CREATE TABLE IF NOT EXISTS desk_counts (
      name TEXT PRIMARY KEY,
      n INTEGER NOT NULL
    ) WITHOUT ROWID`);
  }

  /**
   * The rule (DeskAgents.pick): of the `online` agents, the one with the fewest open
   * conversations; ties go to the one least recently assigned.
   */
  pickAgent(online: Set<string>): string | null {
    return this.pickAgents(online, 1)[0] ?? null;
  }

  /** The agents `count` conversations in a row would get by the rule. */
  pickAgents(online: Set<string>, count: number): string[] {
    if (online.size === 0 || count === 0) return [];
    const load = new Map(
      this.#rows<{ agent: string; n: number }>(
        "SELECT agent, COUNT(*) AS n FROM desk_conversations WHERE open = 1 AND agent IS NOT NULL GROUP BY agent",
      ).map((r) => [r.agent, r.n]),
    );
    return this.agents.pick(online, count, load);
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

  /** Open conversations, from one counter row. */
  openCount(): number {
    return this.#rows<{ n: number }>("SELECT n FROM desk_counts WHERE name = 'open'")[0]?.n ?? 0;
  }

  /**
   * Opens a conversation (a new one, or the customer's closed one again, keeping its frame
   * count), assigned to `agent` or, with null, at the back of the queue. The caller checks
   * that it is not open already, and DESK_MAX_OPEN.
   */
  open(customer: string, name: string, agent: string | null, now: number): Conversation {
    // MAX over the rowid and over an index: each reads one row.
    const { ticket, place } = this.#rows<{ ticket: number; place: number }>(
      `SELECT (SELECT IFNULL(MAX(ticket), 0) + 1 FROM desk_conversations) AS ticket,
              (SELECT IFNULL(MAX(place), 0) + 1 FROM desk_conversations
               WHERE place IS NOT NULL) AS place`,
    )[0]!;
    const queued = agent === null ? place : null;
    const [conv] = this.#rows<Conversation>(
      `INSERT INTO desk_conversations (ticket, customer, name, agent, open, place, last_active)
       VALUES (?, ?, ?, ?, 1, ?, ?)
       ON CONFLICT (customer) DO UPDATE SET ticket = excluded.ticket, name = excluded.name,
         agent = excluded.agent, open = 1, place = excluded.place,
         last_active = excluded.last_active
       RETURNING *`,
      ticket,
      customer,
      name,
      agent,
      queued,
      now,
    );
    this.#count("open", +1);
    if (agent !== null) this.agents.assigned(agent);
    return conv!;
  }

  /** Gives an open conversation to `agent`; a queued one leaves the queue. */
  assign(customer: string, agent: string): void {
    this.#rows(
      "UPDATE desk_conversations SET agent = ?, place = NULL WHERE customer = ?",
      agent,
      customer,
    );
    this.agents.assigned(agent);
  }

  /** Back to the queue; renumberQueue() then gives it its place in arrival order. */
  unassign(customer: string): void {
    this.#rows("UPDATE desk_conversations SET agent = NULL WHERE customer = ?", customer);
  }

  /**
   * Closes an open conversation. One that was queued leaves a gap: the caller renumbers the
   * queue.
   */
  close(customer: string, now: number): void {
    // last_active becomes the closing time: the conversation is kept DESK_IDLE_SEC from here.
    const closed = this.#rows(
      "UPDATE desk_conversations SET open = 0, place = NULL, last_active = ? WHERE customer = ? AND open = 1 RETURNING 1",
      now,
      customer,
    );
    if (closed.length > 0) this.#count("open", -1);
  }

  /** Deletes the conversations closed at `cutoff` or before; returns their customers. */
  forgetClosedBefore(cutoff: number): string[] {
    return this.#rows<{ customer: string }>(
      "DELETE FROM desk_conversations WHERE open = 0 AND last_active <= ? RETURNING customer",
      cutoff,
    ).map((r) => r.customer);
  }

  /** When the earliest conversation still kept closed was closed, for the next alarm. */
  earliestClosed(): number | null {
    return this.#rows<{ t: number | null }>(
      "SELECT MIN(last_active) AS t FROM desk_conversations INDEXED BY desk_closed WHERE open = 0",
    )[0]!.t;
  }

  /** A frame was stored in the conversation at `now`; returns its frames kept. */
  touch(customer: string, now: number): number {
    return (
      this.#rows<{ frames: number }>(
        "UPDATE desk_conversations SET last_active = ?, frames = frames + 1 WHERE customer = ? RETURNING frames",
        now,
        customer,
      )[0]?.frames ?? 0
    );
  }

  /** The conversation's frames were trimmed to `kept`. */
  trimmed(customer: string, kept: number): void {
    this.#rows("UPDATE desk_conversations SET frames = ? WHERE customer = ?", kept, customer);
  }

  /** Open conversations of one agent, in arrival order. */
  conversationsOf(agent: string): Conversation[] {
    return this.#rows<Conversation>(
      "SELECT * FROM desk_conversations WHERE agent = ? AND open = 1 ORDER BY ticket",
      agent,
    );
  }

  /** The last activity of every open conversation, for the idle alarm. */
  activity(): { customer: string; last_active: number }[] {
    // INDEXED BY: the partial index holds the open conversations only; a table scan would read
    // every conversation ever closed as well.
    return this.#rows(
      "SELECT customer, last_active FROM desk_conversations INDEXED BY desk_open_by_agent WHERE open = 1",
    );
  }

  // ---- the queue ----

  /** Where a queued conversation stands (1 = next): its place and the queue's first. */
  position(conv: Conversation): number {
    const head = this.#rows<{ head: number }>(
      "SELECT MIN(place) AS head FROM desk_conversations WHERE place IS NOT NULL",
    )[0]!.head;
    return conv.place! - head + 1;
  }

  /** Queued conversations, first to be served first. */
  queue(): Conversation[] {
    return this.#rows<Conversation>(
      "SELECT * FROM desk_conversations WHERE place IS NOT NULL ORDER BY place",
    );
  }

  /**
   * Numbers the queue 1, 2, … in arrival order again, after conversations left it from the
   * middle or came back to it; returns those whose position changed, with the new one.
   */
  renumberQueue(): { customer: string; position: number }[] {
    return this.#rows(
      `UPDATE desk_conversations SET place = ranked.position
       FROM (SELECT ticket AS t, ROW_NUMBER() OVER (ORDER BY ticket) AS position
             FROM desk_conversations INDEXED BY desk_open_by_agent
             WHERE open = 1 AND agent IS NULL) AS ranked
       WHERE desk_conversations.ticket = ranked.t AND place IS NOT ranked.position
       RETURNING customer, place AS position`,
    );
  }

  #count(name: string, delta: number): void {
    this.#rows(
      `INSERT INTO desk_counts (name, n) VALUES (?1, ?2)
       ON CONFLICT (name) DO UPDATE SET n = n + ?2`,
      name,
      delta,
    );
  }

  #rows<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...params: SqlStorageValue[]
  ): T[] {
    return this.#sql.exec<T>(query, ...params).toArray();
  }
}
