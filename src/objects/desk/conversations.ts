/**
 * What happens to a desk's conversations, between the sockets (desk.ts) and the ledger
 * (desk-ledger.ts): opening one on a customer's first message, storing its frames (each
 * conversation trimmed to its own HISTORY_LIMIT), assigning and handing it over, the queue and
 * its positions, closing, and the one Durable Object alarm that times both the agents' grace
 * period and DESK_IDLE_SEC, so a quiet desk can stay hibernated.
 */
import { DeskLedger, deskVisibility, type Conversation } from "./ledger";
import type { ClientFrame } from "../../protocol/client-frames";
import type { History } from "../history";
import { Place } from "../place";
import type { Connection } from "../members";
import {
  errorFrame,
  type AssignedFrame,
  type ClosedFrame,
  type DeskMessageFrame,
  type Member,
  type QueuedFrame,
} from "../../protocol";

/** Frames of a conversation handed to an agent on assignment or transfer. */
const BACKFILL = 50;
/**
 * A conversation is trimmed back to HISTORY_LIMIT once it holds this fraction more, so the
 * delete runs once every HISTORY_LIMIT/10 frames instead of with every frame.
 */
const TRIM_SLACK = 0.1;
/**
 * Idle closes are put off to at least this fraction of DESK_IDLE_SEC after the alarm that found
 * the previous ones, so conversations falling quiet one by one share alarms (each reads every
 * open conversation) and close at most that much late.
 */
const IDLE_BATCH = 0.01;

export type Frame<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

export abstract class DeskConversations extends Place {
  protected readonly ledger: DeskLedger;

  constructor(ctx: DurableObjectState, env: Env) {
    // The Hub hands these to History. Trimming per recipient, with trimRecipient in #counted,
    // keeps each conversation's own newest HISTORY_LIMIT frames: no customer's flood can push
    // another's conversation out.
    super(ctx, env, {
      kind: "desk",
      visible: deskVisibility,
      byRecipient: true,
      trim: "recipient",
    });
    this.ledger = new DeskLedger(ctx.storage.sql);
  }

  /**
   * Opens the conversation of a customer who writes, assigned or queued, unless the desk holds
   * DESK_MAX_OPEN already: then `desk_full`, and nothing is stored.
   */
  protected openConversation(
    ws: WebSocket,
    conn: Connection,
    id: string | undefined,
    now: number,
  ): Conversation | null {
    const max = this.limits.deskMaxOpen;
    if (this.ledger.openCount() >= max) {
      const text = `this desk holds as many open conversations as it can (${max}): try again later`;
      this.reply(ws, conn, errorFrame("desk_full", text, id));
      return null;
    }
    const agent = this.ledger.pickAgent(this.onlineAgents());
    const conv = this.ledger.open(conn.id, conn.name, agent, now);
    this.armAlarm(now + this.limits.deskIdleSec * 1000);
    this.events.emit(
      {
        type: "conversation.opened",
        customer: { id: conv.customer, name: conv.name },
        agent: agent === null ? null : this.#agentMember(agent),
      },
      now,
    );
    if (agent !== null) this.announceAssignment(conv, agent, []);
    else this.tellPositions([{ customer: conv.customer, position: this.ledger.position(conv) }]);
    return conv;
  }

  /** Stores one conversation message, delivers it to the customer and its agent; returns its seq. */
  protected store(
    conn: Connection,
    conv: Conversation,
    frame: Frame<"message">,
    now: number,
  ): number {
    const from: Member = this.members.member(conn.id, conn.role) ?? {
      id: conn.id,
      name: conn.name,
    };
    const { customer, agent } = conv;
    const to = conn.role === "agent" ? customer : agent;
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
    this.#counted(customer, now);
    this.tell(body, [customer], agent === null ? [] : [agent]);
    return seq;
  }

  /**
   * Counts a stored frame in its conversation's row, with the time (DESK_IDLE_SEC counts from
   * it), and trims the conversation back to HISTORY_LIMIT once it is TRIM_SLACK over.
   */
  #counted(customer: string, now: number): void {
    const limit = this.limits.historyLimit;
    if (this.ledger.touch(customer, now) <= limit + Math.ceil(limit * TRIM_SLACK)) return;
    this.history.trimRecipient(customer, limit);
    this.ledger.trimmed(customer, limit);
  }

  /** Ends a conversation: `closed` to its customer and its agent, if it had one. */
  protected closeConversation(conv: Conversation, reason: ClosedFrame["reason"]): void {
    const now = Date.now();
    this.ledger.close(conv.customer, now);
    // Kept DESK_IDLE_SEC after closing (a customer who comes back soon still sees it), then
    // forgotten: otherwise every guest who ever wrote once would stay in storage for good.
    this.armAlarm(now + this.limits.deskIdleSec * 1000);
    const agent = conv.agent === null ? null : this.#agentMember(conv.agent);
    const closed = {
      type: "closed",
      customer: { id: conv.customer, name: conv.name },
      agent,
      reason,
    } satisfies ClosedFrame;
    this.tell(JSON.stringify(closed), [conv.customer], agent === null ? [] : [agent.id]);
    this.events.emit({ type: "conversation.closed", customer: closed.customer, agent }, now);
  }

  #agentMember(agent: string): Member {
    return (
      this.members.member(agent, "agent") ?? {
        id: agent,
        name: this.ledger.agents.name(agent) ?? agent,
      }
    );
  }

  // ---- assignment ----

  /**
   * Serves the queue in arrival order. Any online agent can take any number of conversations,
   * so the whole queue is served at once and no position is left to tell.
   */
  protected serveQueue(): void {
    const queue = this.ledger.queue();
    const agents = this.ledger.pickAgents(this.onlineAgents(), queue.length);
    agents.forEach((agent, i) => this.handTo(queue[i]!, agent, []));
  }

  /** Gives a conversation to `agent`: stored, then announced. */
  protected handTo(conv: Conversation, agent: string, alsoTell: string[]): void {
    this.ledger.assign(conv.customer, agent);
    this.announceAssignment(conv, agent, alsoTell);
  }

  /**
   * `assigned` to the customer, the agent and anyone in `alsoTell` (the agent handing it over),
   * then the conversation so far to the agent.
   */
  protected announceAssignment(conv: Conversation, agent: string, alsoTell: string[]): void {
    const assigned = JSON.stringify(this.assignedFrame(conv.customer, conv.name, agent));
    this.events.emit(
      {
        type: "conversation.assigned",
        customer: { id: conv.customer, name: conv.name },
        agent: this.#agentMember(agent),
      },
      Date.now(),
    );
    this.tell(assigned, [conv.customer], [agent, ...alsoTell]);
    const { frames, complete } = this.history.addressedTo(conv.customer, BACKFILL);
    for (const ws of this.members.socketsOf(agent, "agent")) {
      const extra = { customer: conv.customer };
      this.sendHistory(ws, this.members.sockets.get(ws)!, frames, complete, extra);
    }
  }

  protected tellPositions(positions: { customer: string; position: number }[]): void {
    for (const { customer, position } of positions) {
      this.sendToUsers(JSON.stringify({ type: "queued", position } satisfies QueuedFrame), [
        customer,
      ]);
    }
  }

  /** Both parties with whether they are online now, so each side's member list stays right. */
  protected assignedFrame(customer: string, customerName: string, agent: string): AssignedFrame {
    const party = (id: string, name: string, role: Connection["role"]) => {
      const member = this.members.member(id, role);
      return { id, name: member?.name ?? name, online: member !== null };
    };
    return {
      type: "assigned",
      customer: party(customer, customerName, "member"),
      agent: party(agent, this.ledger.agents.name(agent) ?? agent, "agent"),
    };
  }

  /** Sends one text to every socket of these customers and these agents. */
  protected tell(text: string, customers: Iterable<string>, agents: Iterable<string>): void {
    this.sendToUsers(text, customers, "member");
    this.sendToUsers(text, agents, "agent");
  }

  protected onlineAgents(): Set<string> {
    const agents = new Set<string>();
    for (const conn of this.members.sockets.values())
      if (conn.role === "agent") agents.add(conn.id);
    return agents;
  }

  // ---- the alarm: the grace period and DESK_IDLE_SEC ----

  /** An agent's last socket left: its customers wait for it AGENT_GRACE_SEC. */
  protected agentLeft(agent: string, now: number): void {
    this.ledger.agents.gone(agent, now);
    this.armAlarm(now + this.limits.agentGraceSec * 1000);
  }

  protected override onAlarm(now: number): number | null {
    this.#reassignAgentsGone(now);
    const idle = this.#closeIdle(now);
    const forget = this.#forgetClosed(now);
    const gone = this.ledger.agents.earliestGone();
    const next = Math.min(
      gone === null ? Infinity : gone + this.limits.agentGraceSec * 1000,
      idle ?? Infinity,
      forget ?? Infinity,
      super.onAlarm(now) ?? Infinity,
    );
    return next === Infinity ? null : next;
  }

  /** Agents gone longer than the grace period lose their customers to the others (or the queue). */
  #reassignAgentsGone(now: number): void {
    const online = this.onlineAgents();
    const due = this.ledger.agents.takeGoneBefore(now - this.limits.agentGraceSec * 1000);
    let requeued = false;
    for (const agent of due.filter((id) => !online.has(id))) {
      const convs = this.ledger.conversationsOf(agent);
      const next = this.ledger.pickAgents(online, convs.length);
      convs.forEach((conv, i) => {
        if (next[i] !== undefined) this.handTo(conv, next[i], []);
        else this.ledger.unassign(conv.customer);
      });
      requeued ||= next.length < convs.length;
    }
    // Back in arrival order, ahead of later arrivals: everyone behind them moves.
    if (requeued) this.tellPositions(this.ledger.renumberQueue());
  }

  /**
   * Closes the conversations with no frame for DESK_IDLE_SEC; returns when the next one falls
   * due (put off by IDLE_BATCH), or null when none is open.
   */
  #closeIdle(now: number): number | null {
    const idleMs = this.limits.deskIdleSec * 1000;
    let next = Infinity;
    let queueGap = false;
    for (const { customer, last_active } of this.ledger.activity()) {
      if (last_active > now - idleMs) {
        next = Math.min(next, last_active + idleMs);
        continue;
      }
      const conv = this.ledger.conversation(customer)!;
      this.closeConversation(conv, "idle");
      queueGap ||= conv.agent === null;
    }
    if (queueGap) this.tellPositions(this.ledger.renumberQueue());
    return next === Infinity ? null : Math.max(next, now + idleMs * IDLE_BATCH);
  }

  /**
   * Forgets conversations closed DESK_IDLE_SEC ago or more, their frames with them; returns when
   * the next one falls due (put off by IDLE_BATCH, as idle closes are), or null when none is kept.
   */
  #forgetClosed(now: number): number | null {
    const keepMs = this.limits.deskIdleSec * 1000;
    for (const customer of this.ledger.forgetClosedBefore(now - keepMs)) {
      this.history.forgetRecipient(customer);
    }
    const earliest = this.ledger.earliestClosed();
    return earliest === null ? null : Math.max(earliest + keepMs, now + keepMs * IDLE_BATCH);
  }
}
