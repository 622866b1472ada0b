/**
 * Desk: the help desk (客服系统), one Durable Object per desk. Customers are each assigned to one
 * agent — the online agent with the fewest open conversations, ties to the one least recently
 * assigned — and the assignment is sticky: it is stored, so it survives reconnects and eviction.
 * With no agent online, customers queue in arrival order. An agent gone longer than
 * AGENT_GRACE_SEC loses its customers by the same rule, timed by a Durable Object alarm, which
 * does not keep the object awake. Sockets, frames, storage and replay are the Hub's.
 *
 * Replaces the origin documents' `hash(user) % len(agents)`, which reshuffles every customer
 * whenever an agent comes or goes and ignores how busy each agent is.
 */
import type { ClientFrame, ClientFrameType } from "./frames";
import type { VisibilityRule } from "./history";
import { Hub, type Join } from "./hub";
import type { Connection } from "./members";
import {
  errorFrame,
  type AssignedFrame,
  type ClosedFrame,
  type DeskCustomer,
  type DeskMessageFrame,
  type Member,
  type QueuedFrame,
} from "./protocol";

const DESK_FRAMES: ReadonlySet<ClientFrameType> = new Set([
  "message",
  "history",
  "transfer",
  "close",
]);
/** Frames of a conversation handed to an agent on assignment or transfer. */
const BACKFILL = 50;

/**
 * A desk frame belongs to one conversation, stored with the customer as `recipient`. The
 * customer sees its own; an agent sees the conversations currently assigned to it.
 */
const deskVisibility: VisibilityRule = (p) =>
  `(recipient = ?${p} OR recipient IN (SELECT customer FROM desk_conversations WHERE agent = ?${p} AND open = 1))`;

type Conversation = {
  customer: string;
  name: string;
  /** Null while queued. */
  agent: string | null;
  open: number;
  /** Arrival order: the queue is served by it. */
  ticket: number;
};

export class Desk extends Hub {
  protected readonly accepts = DESK_FRAMES;
  /** Order of arrivals and assignments; rows keep it, so it is rebuilt on wake. */
  #tick: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, { visible: deskVisibility, byRecipient: true });
    const sql = ctx.storage.sql;
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

  // ---- joining and leaving ----

  protected onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    if (conn.role === "agent") this.#agentJoined(ws, conn, join, first);
    else this.#customerJoined(ws, conn, join, first);
  }

  #agentJoined(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    this.#sql(
      `INSERT INTO desk_agents (id, name) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, gone_since = NULL`,
      conn.id,
      conn.name,
    );
    const customers = this.#customersOf(conn.id);
    const online = [...this.#onlineAgents()].map((id) => this.members.member(id)!);
    const members = [
      ...online,
      ...customers.filter((c) => c.online).map(({ id, name }) => ({ id, name })),
    ];
    this.welcome(ws, conn, join, members, {
      customers,
    });
    if (first) {
      const others = [...this.#onlineAgents()].filter((id) => id !== conn.id);
      this.sendToUsers(this.presence("join", { id: conn.id, name: conn.name }), [
        ...others,
        ...customers.map((c) => c.id),
      ]);
      this.#serveQueue();
    }
  }

  #customerJoined(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    const conv = this.#openConversation(conn.id, conn.name);
    const agent = conv.agent === null ? null : this.members.member(conv.agent);
    const self = this.members.member(conn.id) ?? { id: conn.id, name: conn.name };
    this.welcome(ws, conn, join, agent === null ? [self] : [self, agent]);
    if (conv.agent === null) {
      this.#place(conv);
      return;
    }
    // Sticky: the same agent as before, told to this socket (the others know already).
    this.send(ws, this.#assignedFrame(conv.customer, conv.name, conv.agent));
    if (first) this.sendToUsers(this.presence("join", self), [conv.agent]);
  }

  protected onLeave(member: Member, role: Connection["role"]): void {
    if (role === "agent") {
      const now = Date.now();
      this.#sql("UPDATE desk_agents SET gone_since = ? WHERE id = ?", now, member.id);
      const customers = this.#customersOf(member.id).map((c) => c.id);
      this.sendToUsers(this.presence("leave", member), [...this.#onlineAgents(), ...customers]);
      this.#scheduleGraceAlarm();
      return;
    }
    const conv = this.#conversation(member.id);
    if (conv?.agent) this.sendToUsers(this.presence("leave", member), [conv.agent]);
  }

  // ---- frames ----

  protected onFrame(ws: WebSocket, conn: Connection, frame: ClientFrame): void {
    switch (frame.type) {
      case "history":
        return this.answerHistory(ws, conn, frame);
      case "message":
        return conn.role === "agent"
          ? this.#agentMessage(ws, conn, frame)
          : this.#customerMessage(ws, conn, frame);
      case "transfer":
        return this.#transfer(ws, conn, frame);
      case "close":
        return this.#closeConversation(ws, conn, frame);
      default:
        this.reply(
          ws,
          conn,
          errorFrame("unknown_type", `a desk has no "${frame.type}" frames`, frame.id),
        );
    }
  }

  #customerMessage(
    ws: WebSocket,
    conn: Connection,
    frame: Extract<ClientFrame, { type: "message" }>,
  ): void {
    if (frame.to !== undefined) {
      this.reply(
        ws,
        conn,
        errorFrame("invalid_frame", 'a customer writes to its agent: no "to"', frame.id),
      );
      return;
    }
    const now = Date.now();
    if (this.acknowledgedBefore(ws, conn, frame.id, now)) return;
    let conv = this.#conversation(conn.id);
    if (conv === null || conv.open !== 1) {
      // A customer whose conversation was closed starts a new one by writing.
      this.#place(this.#openConversation(conn.id, conn.name));
      conv = this.#conversation(conn.id)!;
    }
    const seq = this.#store(conn, conv.customer, conv.agent, frame, now);
    this.acknowledge(ws, conn, frame.id, seq, now);
  }

  #agentMessage(
    ws: WebSocket,
    conn: Connection,
    frame: Extract<ClientFrame, { type: "message" }>,
  ): void {
    if (frame.to === undefined) {
      this.reply(
        ws,
        conn,
        errorFrame("invalid_frame", 'an agent writes to one customer: add "to"', frame.id),
      );
      return;
    }
    if (!this.#owns(conn.id, frame.to)) {
      this.reply(
        ws,
        conn,
        errorFrame("forbidden", `customer "${frame.to}" is not in your conversations`, frame.id),
      );
      return;
    }
    const now = Date.now();
    if (this.acknowledgedBefore(ws, conn, frame.id, now)) return;
    const seq = this.#store(conn, frame.to, frame.to, frame, now);
    this.acknowledge(ws, conn, frame.id, seq, now);
  }

  /** Stores one conversation message, delivers it to the customer and its agent; returns its seq. */
  #store(
    conn: Connection,
    customer: string,
    to: string | null,
    frame: { id?: string; data: unknown },
    now: number,
  ): number {
    const from: Member = this.members.member(conn.id) ?? { id: conn.id, name: conn.name };
    const { seq, body } = this.history.append({ sender: conn.id, recipient: customer }, (seq) =>
      JSON.stringify({
        type: "message",
        seq,
        id: frame.id,
        from,
        to,
        customer,
        data: frame.data,
        ts: now,
      } satisfies DeskMessageFrame),
    );
    const agent = this.#conversation(customer)?.agent;
    this.sendToUsers(body, agent ? [customer, agent] : [customer]);
    return seq;
  }

  #transfer(
    ws: WebSocket,
    conn: Connection,
    frame: Extract<ClientFrame, { type: "transfer" }>,
  ): void {
    if (conn.role !== "agent" || !this.#owns(conn.id, frame.customer)) {
      this.reply(
        ws,
        conn,
        errorFrame(
          "forbidden",
          `customer "${frame.customer}" is not in your conversations`,
          frame.id,
        ),
      );
      return;
    }
    if (frame.to === conn.id || !this.#onlineAgents().has(frame.to)) {
      this.reply(
        ws,
        conn,
        errorFrame("invalid_frame", `"${frame.to}" is not another agent who is online`, frame.id),
      );
      return;
    }
    this.#handTo(this.#conversation(frame.customer)!, frame.to, [conn.id]);
  }

  #closeConversation(
    ws: WebSocket,
    conn: Connection,
    frame: Extract<ClientFrame, { type: "close" }>,
  ): void {
    if (conn.role !== "agent" || !this.#owns(conn.id, frame.customer)) {
      this.reply(
        ws,
        conn,
        errorFrame(
          "forbidden",
          `customer "${frame.customer}" is not in your conversations`,
          frame.id,
        ),
      );
      return;
    }
    const conv = this.#conversation(frame.customer)!;
    this.#sql("UPDATE desk_conversations SET open = 0 WHERE customer = ?", conv.customer);
    const closed = {
      type: "closed",
      customer: { id: conv.customer, name: conv.name },
      agent: this.members.member(conn.id) ?? { id: conn.id, name: conn.name },
    } satisfies ClosedFrame;
    this.sendToUsers(JSON.stringify(closed), [conv.customer, conn.id]);
  }

  // ---- the grace alarm ----

  /** Agents gone longer than the grace period lose their customers to the others (or the queue). */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const graceMs = this.limits.agentGraceSec * 1000;
    const due = this.#sql<{ id: string }>(
      "SELECT id FROM desk_agents WHERE gone_since IS NOT NULL AND gone_since <= ?",
      now - graceMs,
    ).map((r) => r.id);
    const online = this.#onlineAgents();
    for (const agent of due) {
      this.#sql("UPDATE desk_agents SET gone_since = NULL WHERE id = ?", agent);
      if (online.has(agent)) continue; // back in time after all
      const before = this.#queuePositions();
      const convs = this.#sql<Conversation>(
        "SELECT * FROM desk_conversations WHERE agent = ? AND open = 1 ORDER BY ticket",
        agent,
      );
      for (const conv of convs) {
        this.#sql("UPDATE desk_conversations SET agent = NULL WHERE customer = ?", conv.customer);
        const next = this.#pickAgent();
        if (next !== null) this.#handTo({ ...conv, agent: null }, next, []);
      }
      this.#announceQueue(before);
    }
    this.#scheduleGraceAlarm();
  }

  #scheduleGraceAlarm(): void {
    const next = this.#sql<{ t: number | null }>(
      "SELECT MIN(gone_since) AS t FROM desk_agents WHERE gone_since IS NOT NULL",
    )[0]?.t;
    if (next === null || next === undefined) return;
    // setAlarm replaces any earlier schedule; the handler re-arms for agents not yet due.
    void this.ctx.storage.setAlarm(next + this.limits.agentGraceSec * 1000);
  }

  // ---- assignment ----

  /** The conversation of a customer, opened (and queued) if it has none or it was closed. */
  #openConversation(customer: string, name: string): Conversation {
    const conv = this.#conversation(customer);
    if (conv !== null && conv.open === 1) return conv;
    const ticket = ++this.#tick;
    this.#sql(
      `INSERT INTO desk_conversations (customer, name, agent, open, ticket) VALUES (?, ?, NULL, 1, ?)
       ON CONFLICT (customer) DO UPDATE SET name = excluded.name, agent = NULL, open = 1, ticket = excluded.ticket`,
      customer,
      name,
      ticket,
    );
    return { customer, name, agent: null, open: 1, ticket };
  }

  /** Assigns a new conversation, or tells its customer where it stands in the queue. */
  #place(conv: Conversation): void {
    if (this.#assign(conv) !== null) return;
    const position = this.#queuePositions().get(conv.customer)!;
    this.sendToUsers(JSON.stringify({ type: "queued", position } satisfies QueuedFrame), [
      conv.customer,
    ]);
  }

  /** Assigns a queued conversation by the rule; returns the agent, or null when none is online. */
  #assign(conv: Conversation): string | null {
    const agent = this.#pickAgent();
    if (agent === null) return null;
    const before = this.#queuePositions();
    this.#handTo(conv, agent, []);
    this.#announceQueue(before);
    return agent;
  }

  /** Serves the queue in arrival order while an agent is online. */
  #serveQueue(): void {
    const before = this.#queuePositions();
    const queued = this.#sql<Conversation>(
      "SELECT * FROM desk_conversations WHERE agent IS NULL AND open = 1 ORDER BY ticket",
    );
    for (const conv of queued) {
      const agent = this.#pickAgent();
      if (agent === null) break;
      this.#handTo(conv, agent, []);
    }
    this.#announceQueue(before);
  }

  /**
   * The online agent with the fewest open conversations; ties go to the one least recently
   * assigned, then by id, so the choice is deterministic.
   */
  #pickAgent(): string | null {
    const online = this.#onlineAgents();
    if (online.size === 0) return null;
    const load = new Map(
      this.#sql<{ agent: string; n: number }>(
        "SELECT agent, COUNT(*) AS n FROM desk_conversations WHERE open = 1 AND agent IS NOT NULL GROUP BY agent",
      ).map((r) => [r.agent, r.n]),
    );
    const last = new Map(
      this.#sql<{ id: string; last_assigned: number }>(
        "SELECT id, last_assigned FROM desk_agents",
      ).map((r) => [r.id, r.last_assigned]),
    );
    let best: string | null = null;
    let bestKey: [number, number, string] | null = null;
    for (const id of online) {
      const key: [number, number, string] = [load.get(id) ?? 0, last.get(id) ?? 0, id];
      if (
        bestKey === null ||
        key[0] < bestKey[0] ||
        (key[0] === bestKey[0] &&
          (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))
      ) {
        best = id;
        bestKey = key;
      }
    }
    return best;
  }

  /**
   * Gives a conversation to `agent`: stored, then `assigned` to the customer, the new agent and
   * anyone in `alsoTell` (the agent handing it over), and the conversation so far to the new agent.
   */
  #handTo(conv: Conversation, agent: string, alsoTell: string[]): void {
    this.#sql("UPDATE desk_conversations SET agent = ? WHERE customer = ?", agent, conv.customer);
    this.#sql("UPDATE desk_agents SET last_assigned = ? WHERE id = ?", ++this.#tick, agent);
    const assigned = JSON.stringify(this.#assignedFrame(conv.customer, conv.name, agent));
    this.sendToUsers(assigned, [conv.customer, agent, ...alsoTell]);
    const { frames, complete } = this.history.addressedTo(conv.customer, BACKFILL);
    for (const ws of this.members.socketsOf(agent)) {
      this.sendHistory(ws, this.members.sockets.get(ws)!, frames, complete, {
        customer: conv.customer,
      });
    }
  }

  /** Positions of queued conversations (1 = next), to tell customers when theirs changes. */
  #queuePositions(): Map<string, number> {
    const rows = this.#sql<{ customer: string }>(
      "SELECT customer FROM desk_conversations WHERE agent IS NULL AND open = 1 ORDER BY ticket",
    );
    return new Map(rows.map((r, i) => [r.customer, i + 1]));
  }

  #announceQueue(before: Map<string, number>): void {
    for (const [customer, position] of this.#queuePositions()) {
      if (before.get(customer) === position) continue;
      this.sendToUsers(JSON.stringify({ type: "queued", position } satisfies QueuedFrame), [
        customer,
      ]);
    }
  }

  // ---- reading state ----

  #assignedFrame(customer: string, customerName: string, agent: string): AssignedFrame {
    const agentRow = this.#sql<{ name: string }>(
      "SELECT name FROM desk_agents WHERE id = ?",
      agent,
    )[0];
    return {
      type: "assigned",
      customer: this.members.member(customer) ?? { id: customer, name: customerName },
      agent: this.members.member(agent) ?? { id: agent, name: agentRow?.name ?? agent },
    };
  }

  #conversation(customer: string): Conversation | null {
    return (
      this.#sql<Conversation>("SELECT * FROM desk_conversations WHERE customer = ?", customer)[0] ??
      null
    );
  }

  #owns(agent: string, customer: string): boolean {
    const conv = this.#conversation(customer);
    return conv !== null && conv.open === 1 && conv.agent === agent;
  }

  #customersOf(agent: string): DeskCustomer[] {
    return this.#sql<Conversation>(
      "SELECT * FROM desk_conversations WHERE agent = ? AND open = 1 ORDER BY ticket",
      agent,
    ).map((c) => ({
      id: c.customer,
      name: c.name,
      online: this.members.member(c.customer) !== null,
    }));
  }

  #onlineAgents(): Set<string> {
    const agents = new Set<string>();
    for (const conn of this.members.sockets.values())
      if (conn.role === "agent") agents.add(conn.id);
    return agents;
  }

  #sql<T extends Record<string, SqlStorageValue>>(
    query: string,
    ...params: SqlStorageValue[]
  ): T[] {
    return this.ctx.storage.sql.exec<T>(query, ...params).toArray();
  }
}
