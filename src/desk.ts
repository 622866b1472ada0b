/**
 * Desk: the help desk (客服系统), one Durable Object per desk. Customers are each assigned to one
 * agent — the online agent with the fewest open conversations, ties to the one least recently
 * assigned — and the assignment is sticky: it is stored (desk-ledger.ts), so it survives
 * reconnects and eviction. With no agent online, customers queue in arrival order. An agent gone
 * longer than AGENT_GRACE_SEC loses its customers by the same rule, timed by a Durable Object
 * alarm, which does not keep the object awake. Sockets, frames, storage and replay are the Hub's.
 *
 * Replaces the origin documents' `hash(user) % len(agents)`, which reshuffles every customer
 * whenever an agent comes or goes and ignores how busy each agent is.
 */
import { DeskLedger, deskVisibility, type Conversation } from "./desk-ledger";
import type { ClientFrame, ClientFrameType } from "./frames";
import { Hub, type Join, type Refusal } from "./hub";
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

type Frame<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

export class Desk extends Hub {
  protected readonly accepts = DESK_FRAMES;
  #ledger: DeskLedger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, { visible: deskVisibility, byRecipient: true });
    this.#ledger = new DeskLedger(ctx.storage.sql);
  }

  // ---- joining and leaving ----

  /** An id is an agent or a customer here, never both: an agent's id cannot come in as a customer. */
  protected override refuse(join: Join): Refusal | null {
    if (join.role === "agent" || !this.#ledger.isAgent(join.user)) return null;
    return {
      code: "forbidden",
      message: `"${join.user}" is an agent of this desk and cannot join it as a customer`,
    };
  }

  protected onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    if (conn.role === "agent") this.#agentJoined(ws, conn, join, first);
    else this.#customerJoined(ws, conn, join, first);
  }

  #agentJoined(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    this.#ledger.agentArrived(conn.id, conn.name);
    const customers = this.#customersOf(conn.id);
    const agents = [...this.#onlineAgents()].map((id) => this.members.member(id, "agent")!);
    const online = customers.filter((c) => c.online).map(({ id, name }) => ({ id, name }));
    this.welcome(ws, conn, join, [...agents, ...online], { customers });
    if (!first) return;
    const others = [...this.#onlineAgents()].filter((id) => id !== conn.id);
    const presence = this.presence("join", { id: conn.id, name: conn.name });
    this.#tell(
      presence,
      customers.map((c) => c.id),
      others,
    );
    this.#serveQueue();
  }

  #customerJoined(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    let conv = this.#ledger.open(conn.id, conn.name);
    const sticky = conv.agent !== null;
    if (!sticky) {
      // Decided before the welcome, so the welcome already lists the agent.
      const agent = this.#ledger.pickAgent(this.#onlineAgents());
      if (agent !== null) {
        this.#ledger.assign(conv.customer, agent);
        conv = { ...conv, agent };
      }
    }
    const agent = conv.agent === null ? null : this.members.member(conv.agent, "agent");
    const self = this.members.member(conn.id) ?? { id: conn.id, name: conn.name };
    this.welcome(ws, conn, join, agent === null ? [self] : [self, agent]);
    if (conv.agent === null) {
      const position = this.#ledger.positions().get(conv.customer)!;
      this.send(ws, { type: "queued", position });
    } else if (!sticky) {
      this.#announceAssignment(conv, conv.agent, []);
    } else {
      // Sticky: the same agent as before, told to this socket (the others know already).
      this.send(ws, this.#assignedFrame(conv.customer, conv.name, conv.agent));
      if (first) this.#tell(this.presence("join", self), [], [conv.agent]);
    }
  }

  protected onLeave(member: Member, role: Connection["role"]): void {
    if (role === "agent") {
      this.#ledger.agentGone(member.id, Date.now());
      const customers = this.#ledger.conversationsOf(member.id).map((c) => c.customer);
      this.#tell(this.presence("leave", member), customers, this.#onlineAgents());
      this.#scheduleGraceAlarm();
      return;
    }
    const agent = this.#ledger.conversation(member.id)?.agent;
    if (agent) this.#tell(this.presence("leave", member), [], [agent]);
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
        return this.#close(ws, conn, frame);
      default:
        this.reply(
          ws,
          conn,
          errorFrame("unknown_type", `a desk has no "${frame.type}" frames`, frame.id),
        );
    }
  }

  #customerMessage(ws: WebSocket, conn: Connection, frame: Frame<"message">): void {
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
    let conv = this.#ledger.conversation(conn.id);
    if (conv === null || conv.open !== 1) {
      // A customer whose conversation was closed starts a new one by writing.
      this.#place(this.#ledger.open(conn.id, conn.name));
      conv = this.#ledger.conversation(conn.id)!;
    }
    const seq = this.#store(conn, conv.customer, conv.agent, frame, now);
    this.acknowledge(ws, conn, frame.id, seq, now);
  }

  #agentMessage(ws: WebSocket, conn: Connection, frame: Frame<"message">): void {
    if (frame.to === undefined) {
      this.reply(
        ws,
        conn,
        errorFrame("invalid_frame", 'an agent writes to one customer: add "to"', frame.id),
      );
      return;
    }
    if (this.#ownConversation(ws, conn, frame.to, frame.id) === null) return;
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
    frame: Frame<"message">,
    now: number,
  ): number {
    const from: Member = this.members.member(conn.id, conn.role) ?? {
      id: conn.id,
      name: conn.name,
    };
    const { id, data } = frame;
    const { seq, body } = this.history.append({ sender: conn.id, recipient: customer }, (seq) =>
      JSON.stringify({
        type: "message",
        seq,
        id,
        from,
        to,
        customer,
        data,
        ts: now,
      } satisfies DeskMessageFrame),
    );
    const agent = this.#ledger.conversation(customer)?.agent;
    this.#tell(body, [customer], agent ? [agent] : []);
    return seq;
  }

  #transfer(ws: WebSocket, conn: Connection, frame: Frame<"transfer">): void {
    const conv = this.#ownConversation(ws, conn, frame.customer, frame.id);
    if (conv === null) return;
    if (frame.to === conn.id || !this.#onlineAgents().has(frame.to)) {
      const message = `"${frame.to}" is not another agent who is online`;
      this.reply(ws, conn, errorFrame("invalid_frame", message, frame.id));
      return;
    }
    this.#handTo(conv, frame.to, [conn.id]);
  }

  #close(ws: WebSocket, conn: Connection, frame: Frame<"close">): void {
    const conv = this.#ownConversation(ws, conn, frame.customer, frame.id);
    if (conv === null) return;
    this.#ledger.close(conv.customer);
    const closed = {
      type: "closed",
      customer: { id: conv.customer, name: conv.name },
      agent: this.members.member(conn.id, "agent") ?? { id: conn.id, name: conn.name },
    } satisfies ClosedFrame;
    this.#tell(JSON.stringify(closed), [conv.customer], [conn.id]);
  }

  /** The open conversation of `customer` if this agent has it; otherwise answers `forbidden`. */
  #ownConversation(
    ws: WebSocket,
    conn: Connection,
    customer: string,
    id?: string,
  ): Conversation | null {
    const conv = this.#ledger.conversation(customer);
    if (conn.role === "agent" && conv?.open === 1 && conv.agent === conn.id) return conv;
    this.reply(
      ws,
      conn,
      errorFrame("forbidden", `customer "${customer}" is not in your conversations`, id),
    );
    return null;
  }

  // ---- the grace alarm ----

  /** Agents gone longer than the grace period lose their customers to the others (or the queue). */
  override async alarm(): Promise<void> {
    const online = this.#onlineAgents();
    const due = this.#ledger.takeAgentsGoneBefore(Date.now() - this.limits.agentGraceSec * 1000);
    for (const agent of due.filter((id) => !online.has(id))) {
      const before = this.#ledger.positions();
      for (const conv of this.#ledger.conversationsOf(agent)) {
        this.#ledger.unassign(conv.customer);
        const next = this.#ledger.pickAgent(online);
        if (next !== null) this.#handTo({ ...conv, agent: null }, next, []);
      }
      this.#announceQueue(before);
    }
    this.#scheduleGraceAlarm();
  }

  #scheduleGraceAlarm(): void {
    const earliest = this.#ledger.earliestGone();
    // setAlarm replaces any earlier schedule; the handler re-arms for agents not yet due.
    if (earliest !== null)
      void this.ctx.storage.setAlarm(earliest + this.limits.agentGraceSec * 1000);
  }

  // ---- assignment ----

  /** Assigns a new conversation, or tells its customer where it stands in the queue. */
  #place(conv: Conversation): void {
    const agent = this.#ledger.pickAgent(this.#onlineAgents());
    if (agent !== null) {
      this.#handTo(conv, agent, []);
      return;
    }
    const position = this.#ledger.positions().get(conv.customer)!;
    this.sendToUsers(JSON.stringify({ type: "queued", position } satisfies QueuedFrame), [
      conv.customer,
    ]);
  }

  /** Serves the queue in arrival order while an agent is online. */
  #serveQueue(): void {
    const before = this.#ledger.positions();
    const online = this.#onlineAgents();
    for (const conv of this.#ledger.queue()) {
      const agent = this.#ledger.pickAgent(online);
      if (agent === null) break;
      this.#handTo(conv, agent, []);
    }
    this.#announceQueue(before);
  }

  /** Gives a conversation to `agent`: stored, then announced. */
  #handTo(conv: Conversation, agent: string, alsoTell: string[]): void {
    this.#ledger.assign(conv.customer, agent);
    this.#announceAssignment(conv, agent, alsoTell);
  }

  /**
   * `assigned` to the customer, the agent and anyone in `alsoTell` (the agent handing it over),
   * then the conversation so far to the agent.
   */
  #announceAssignment(conv: Conversation, agent: string, alsoTell: string[]): void {
    const assigned = JSON.stringify(this.#assignedFrame(conv.customer, conv.name, agent));
    this.#tell(assigned, [conv.customer], [agent, ...alsoTell]);
    const { frames, complete } = this.history.addressedTo(conv.customer, BACKFILL);
    for (const ws of this.members.socketsOf(agent, "agent")) {
      const extra = { customer: conv.customer };
      this.sendHistory(ws, this.members.sockets.get(ws)!, frames, complete, extra);
    }
  }

  #announceQueue(before: Map<string, number>): void {
    for (const [customer, position] of this.#ledger.positions()) {
      if (before.get(customer) === position) continue;
      this.sendToUsers(JSON.stringify({ type: "queued", position } satisfies QueuedFrame), [
        customer,
      ]);
    }
  }

  // ---- reading state ----

  /** Both parties with whether they are online now, so each side's member list stays right. */
  #assignedFrame(customer: string, customerName: string, agent: string): AssignedFrame {
    const party = (id: string, name: string, role: Connection["role"]) => {
      const member = this.members.member(id, role);
      return { id, name: member?.name ?? name, online: member !== null };
    };
    return {
      type: "assigned",
      customer: party(customer, customerName, "member"),
      agent: party(agent, this.#ledger.agentName(agent) ?? agent, "agent"),
    };
  }

  #customersOf(agent: string): DeskCustomer[] {
    return this.#ledger.conversationsOf(agent).map((c) => ({
      id: c.customer,
      name: c.name,
      online: this.members.member(c.customer, "member") !== null,
    }));
  }

  /** Sends one text to every socket of these customers and these agents. */
  #tell(text: string, customers: Iterable<string>, agents: Iterable<string>): void {
    this.sendToUsers(text, customers, "member");
    this.sendToUsers(text, agents, "agent");
  }

  #onlineAgents(): Set<string> {
    const agents = new Set<string>();
    for (const conn of this.members.sockets.values())
      if (conn.role === "agent") agents.add(conn.id);
    return agents;
  }
}
