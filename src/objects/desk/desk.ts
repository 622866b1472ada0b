/**
 * Desk: the help desk (客服系统), one Durable Object per desk. A conversation opens with the
 * customer's first message, not with its join, so a socket that comes and goes without a word
 * leaves nothing. It is assigned to one agent — the online agent with the fewest open
 * conversations, ties to the one least recently assigned — and the assignment is sticky: it is
 * stored (desk-ledger.ts), so it survives reconnects and eviction. With no agent online,
 * conversations queue in arrival order. This file is what customers and agents do (join, leave,
 * send frames); what that does to conversations, and the alarm that times the agents' grace
 * period and DESK_IDLE_SEC, is desk-conversations.ts. Sockets, frames, storage and replay are
 * the Hub's.
 *
 * Replaces the origin documents' `hash(user) % len(agents)`, which reshuffles every customer
 * whenever an agent comes or goes and ignores how busy each agent is.
 */
import type { Conversation } from "./ledger";
import { DeskConversations, type Frame } from "./conversations";
import type { ClientFrame, ClientFrameType } from "../../protocol/client-frames";
import type { Join, Refusal } from "../../protocol";
import type { Connection } from "../members";
import { errorFrame, type DeskCustomer, type Member } from "../../protocol";

const DESK_FRAMES: ReadonlySet<ClientFrameType> = new Set([
  "message",
  "history",
  "transfer",
  "close",
]);

export class Desk extends DeskConversations {
  protected readonly accepts = DESK_FRAMES;

  // ---- joining and leaving ----

  /** An id is an agent or a customer here, never both: an agent's id cannot come in as a customer. */
  protected override refuse(join: Join): Refusal | null {
    const banned = super.refuse(join);
    if (banned !== null) return banned;
    if (join.role === "agent" || !this.ledger.agents.has(join.user)) return null;
    return {
      code: "forbidden",
      message: `"${join.user}" is an agent of this desk and cannot join it as a customer`,
    };
  }

  protected onJoin(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    if (first) this.occupancyChanged();
    if (conn.role === "agent") this.#agentJoined(ws, conn, join, first);
    else this.#customerJoined(ws, conn, join, first);
  }

  #agentJoined(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    this.ledger.agents.arrived(conn.id, conn.name);
    const customers = this.#customersOf(conn.id);
    const agents = [...this.onlineAgents()].map((id) => this.members.member(id, "agent")!);
    const online = customers.filter((c) => c.online).map(({ id, name }) => ({ id, name }));
    this.welcome(ws, conn, join, [...agents, ...online], { customers });
    if (!first) return;
    const others = [...this.onlineAgents()].filter((id) => id !== conn.id);
    const presence = this.presence("join", { id: conn.id, name: conn.name });
    this.tell(
      presence,
      customers.map((c) => c.id),
      others,
    );
    this.serveQueue();
  }

  #customerJoined(ws: WebSocket, conn: Connection, join: Join, first: boolean): void {
    const conv = this.ledger.conversation(conn.id);
    const self = this.members.member(conn.id) ?? { id: conn.id, name: conn.name };
    const agentsOnline = { agents_online: this.onlineAgents().size };
    if (conv?.open !== 1) {
      // Nothing is stored and no agent is told until the customer writes (openConversation).
      this.welcome(ws, conn, join, [self], agentsOnline);
      return;
    }
    const agent = conv.agent === null ? null : this.members.member(conv.agent, "agent");
    this.welcome(ws, conn, join, agent === null ? [self] : [self, agent], agentsOnline);
    if (conv.agent === null) {
      this.send(ws, { type: "queued", position: this.ledger.position(conv) });
      return;
    }
    // Sticky: the same agent as before, told to this socket (the others know already).
    this.send(ws, this.assignedFrame(conv.customer, conv.name, conv.agent));
    if (first) this.tell(this.presence("join", self), [], [conv.agent]);
  }

  protected onLeave(member: Member, role: Connection["role"]): void {
    this.occupancyChanged();
    if (role === "agent") {
      const customers = this.ledger.conversationsOf(member.id).map((c) => c.customer);
      this.tell(this.presence("leave", member), customers, this.onlineAgents());
      this.agentLeft(member.id, Date.now());
      return;
    }
    const conv = this.ledger.conversation(member.id);
    if (conv?.open === 1 && conv.agent !== null)
      this.tell(this.presence("leave", member), [], [conv.agent]);
  }

  // ---- frames ----

  protected onFrame(ws: WebSocket, conn: Connection, frame: ClientFrame): void {
    switch (frame.type) {
      case "history":
        return this.answerHistory(this.local(ws, conn), frame);
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
    if (this.acknowledgedBefore(this.local(ws, conn), frame.id, now)) return;
    let conv = this.ledger.conversation(conn.id);
    if (conv?.open !== 1) {
      // The first message (or the first after a close) opens the conversation.
      conv = this.openConversation(ws, conn, frame.id, now);
      if (conv === null) return;
    }
    const seq = this.store(conn, conv, frame, now);
    this.acknowledge(this.local(ws, conn), frame.id, seq, now);
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
    const conv = this.#ownConversation(ws, conn, frame.to, frame.id);
    if (conv === null) return;
    const now = Date.now();
    if (this.acknowledgedBefore(this.local(ws, conn), frame.id, now)) return;
    const seq = this.store(conn, conv, frame, now);
    this.acknowledge(this.local(ws, conn), frame.id, seq, now);
  }

  #transfer(ws: WebSocket, conn: Connection, frame: Frame<"transfer">): void {
    const conv = this.#ownConversation(ws, conn, frame.customer, frame.id);
    if (conv === null) return;
    if (frame.to === conn.id || !this.onlineAgents().has(frame.to)) {
      const message = `"${frame.to}" is not another agent who is online`;
      this.reply(ws, conn, errorFrame("invalid_frame", message, frame.id));
      return;
    }
    this.handTo(conv, frame.to, [conn.id]);
  }

  #close(ws: WebSocket, conn: Connection, frame: Frame<"close">): void {
    const conv = this.#ownConversation(ws, conn, frame.customer, frame.id);
    if (conv !== null) this.closeConversation(conv, "agent");
  }

  /** The open conversation of `customer` if this agent has it; otherwise answers `forbidden`. */
  #ownConversation(
    ws: WebSocket,
    conn: Connection,
    customer: string,
    id?: string,
  ): Conversation | null {
    const conv = this.ledger.conversation(customer);
    if (conn.role === "agent" && conv?.open === 1 && conv.agent === conn.id) return conv;
    this.reply(
      ws,
      conn,
      errorFrame("forbidden", `customer "${customer}" is not in your conversations`, id),
    );
    return null;
  }

  #customersOf(agent: string): DeskCustomer[] {
    return this.ledger.conversationsOf(agent).map((c) => ({
      id: c.customer,
      name: c.name,
      online: this.members.member(c.customer, "member") !== null,
    }));
  }
}
