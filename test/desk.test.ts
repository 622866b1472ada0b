/**
 * The help desk (docs/protocol.md, "The help desk"): fair, sticky assignment of customers to
 * agents, the queue, routing both ways, transfer, closing a conversation, the grace alarm, and
 * the desk's own visibility in replay. AGENT_GRACE_SEC is 1 in tests (vitest.config.ts), so the
 * alarm fires within a test and a reconnect in the same test is "within grace". A conversation
 * opens with the customer's first message, so `customer()` writes one ("hello", the
 * conversation's first seq); what a desk keeps from those who never write is in
 * desk-limits.test.ts.
 */
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it } from "vitest";
import { Client, type Frame, vouched } from "./helpers";

const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

const uniqueDesk = () => `desk-${crypto.randomUUID()}`;
const stub = (desk: string) => env.DESKS.getByName(desk);

async function agentToken(id: string, desk: string, role = "agent"): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return sign({ sub: id, name: `Agent ${id}`, desk, role, exp }, env.JOIN_SECRET!, "HS256");
}

/** `user` in params joins with a desk token for that user (helpers.ts, `vouched`). */
async function connect(desk: string, params: Record<string, string>): Promise<Client> {
  const qs = new URLSearchParams(await vouched(params, "desk")).toString();
  const res = await exports.default.fetch(`https://rooms.test/desk/${desk}?${qs}`, {
    headers: { Upgrade: "websocket" },
  });
  if (res.status !== 101 || res.webSocket === null) {
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  }
  const client = new Client(res.webSocket);
  opened.push(client);
  return client;
}

/** An agent joined and welcomed. */
async function agent(desk: string, id: string, extra: Record<string, string> = {}) {
  const client = await connect(desk, {
    role: "agent",
    token: await agentToken(id, desk),
    ...extra,
  });
  const welcome = await client.expect("welcome");
  return { client, welcome };
}

const placement = (f: Frame) => f.type === "assigned" || f.type === "queued";

/**
 * A new customer that opens its conversation by writing "hello"; returns the welcome, the frame
 * that places it (assigned or queued) and the seq of its "hello" (its echo and ack are taken).
 */
async function customer(desk: string, id: string, extra: Record<string, string> = {}) {
  const client = await connect(desk, { user: id, name: `Customer ${id}`, ...extra });
  const welcome = await client.expect("welcome");
  client.send({ type: "message", data: "hello", id: "hello" });
  const placed = await client.waitFor(placement, "assigned or queued");
  const { seq } = await client.waitFor((f) => f.type === "ack" && f.id === "hello", "hello ack");
  await client.waitFor((f) => f.type === "message" && f.seq === seq, "hello echo");
  return { client, welcome, placed, seq: seq as number };
}

/** A customer with an open conversation, back: its welcome and where it stands. */
async function rejoin(desk: string, id: string, extra: Record<string, string> = {}) {
  const client = await connect(desk, { user: id, name: `Customer ${id}`, ...extra });
  const welcome = await client.expect("welcome");
  const placed = await client.waitFor(placement, "assigned or queued");
  return { client, welcome, placed };
}

/** A message frame with this data (the agents also get every customer's "hello"). */
const saying = (data: unknown) => (f: Frame) => f.type === "message" && f.data === data;

const isAssigned = (customer: string) => (f: Frame) =>
  f.type === "assigned" && f.customer.id === customer;

describe("desk: assignment", () => {
  it("spreads 9 customers over 3 agents 3/3/3, as in the origin documents", async () => {
    const desk = uniqueDesk();
    for (const id of ["kefu1", "kefu2", "kefu3"]) await agent(desk, id);
    const load = new Map<string, string[]>();
    for (let i = 1; i <= 9; i++) {
      const { placed } = await customer(desk, `user${i}`);
      expect(placed.type).toBe("assigned");
      load.set(placed.agent.id, [...(load.get(placed.agent.id) ?? []), `user${i}`]);
    }
    // Fewest conversations first, ties to the least recently assigned: a round robin here.
    expect(Object.fromEntries(load)).toEqual({
      kefu1: ["user1", "user4", "user7"],
      kefu2: ["user2", "user5", "user8"],
      kefu3: ["user3", "user6", "user9"],
    });
  });

  it("assigns to the agent with the fewest open conversations, not in turn", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    await customer(desk, "c1");
    await customer(desk, "c2");
    await agent(desk, "a2");
    // a1 has 2, a2 has 0: the next two both go to a2, then a tie goes to the least recent (a1).
    expect((await customer(desk, "c3")).placed.agent.id).toBe("a2");
    expect((await customer(desk, "c4")).placed.agent.id).toBe("a2");
    expect((await customer(desk, "c5")).placed.agent.id).toBe("a1");
    expect(await a1.waitFor(isAssigned("c5"), "a1 told of c5")).toMatchObject({
      agent: { id: "a1" },
    });
  });

  it("queues customers while no agent is online and serves them in arrival order", async () => {
    const desk = uniqueDesk();
    const c1 = await customer(desk, "c1");
    const c2 = await customer(desk, "c2");
    const c3 = await customer(desk, "c3");
    expect([c1.placed, c2.placed, c3.placed]).toEqual([
      { type: "queued", position: 1 },
      { type: "queued", position: 2 },
      { type: "queued", position: 3 },
    ]);
    expect([c1.seq, c2.seq, c3.seq]).toEqual([1, 2, 3]);
    // A queued customer's messages are stored in its conversation and shown to the agent later.
    c2.client.send({ type: "message", data: "anyone there?", id: "q-1" });
    expect(await c2.client.expect("message")).toMatchObject({ to: null, customer: "c2", seq: 4 });
    expect(await c2.client.expect("ack")).toEqual({ type: "ack", id: "q-1", seq: 4 });

    const { client: a1, welcome } = await agent(desk, "a1");
    expect(welcome.customers).toEqual([]);
    const order: string[] = [];
    for (let i = 0; i < 3; i++)
      order.push((await a1.waitFor((f) => f.type === "assigned")).customer.id);
    expect(order).toEqual(["c1", "c2", "c3"]);
    for (const c of [c1, c2, c3])
      expect(await c.client.expect("assigned")).toMatchObject({ agent: { id: "a1" } });
    const backfill = await a1.waitFor(
      (f) => f.type === "history" && f.customer === "c2",
      "c2's conversation",
    );
    expect(backfill.messages).toMatchObject([
      { seq: 2, data: "hello", from: { id: "c2" } },
      { seq: 4, data: "anyone there?", from: { id: "c2" } },
    ]);
  });

  it("keeps the assignment when the customer reconnects, even if another agent is less busy", async () => {
    const desk = uniqueDesk();
    await agent(desk, "a1");
    const first = await customer(desk, "c1");
    expect(first.placed.agent.id).toBe("a1");
    first.client.close();
    await first.client.closed;
    await agent(desk, "a2"); // now a2 has 0 conversations, a1 has 1
    const again = await rejoin(desk, "c1");
    expect(again.placed).toMatchObject({
      type: "assigned",
      agent: { id: "a1" },
      customer: { id: "c1" },
    });
  });

  it("keeps assignments, routing and seq across eviction", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1");
    await a1.waitFor(isAssigned("c1"));
    c1.send({ type: "message", data: "before", id: "m-1" });
    expect(await a1.waitFor(saying("before"))).toMatchObject({ seq: 2 });

    await evictDurableObject(stub(desk));
    a1.send({ type: "message", to: "c1", data: "after", id: "m-2" });
    expect(await c1.waitFor((f) => f.type === "message" && f.seq === 3)).toMatchObject({
      from: { id: "a1" },
      to: "c1",
      customer: "c1",
      data: "after",
    });
    await evictDurableObject(stub(desk));
    const c1b = await rejoin(desk, "c1", { since: "0" });
    expect(c1b.welcome).toMatchObject({ seq: 3, replay: { from: 0, count: 3, complete: true } });
    expect(c1b.placed).toMatchObject({ type: "assigned", agent: { id: "a1" } });
  });
});

describe("desk: routing", () => {
  it("routes a customer's message to its agent only, and the agent's reply to that customer only", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: a2 } = await agent(desk, "a2");
    const { client: c1 } = await customer(desk, "c1"); // a1
    const { client: c2 } = await customer(desk, "c2"); // a2
    await a1.waitFor(isAssigned("c1"));
    await a2.waitFor(isAssigned("c2"));

    c1.send({ type: "message", data: "你在吗，多少钱" });
    expect(await a1.waitFor(saying("你在吗，多少钱"))).toMatchObject({
      seq: 3,
      from: { id: "c1" },
      to: "a1",
      customer: "c1",
    });
    a1.send({ type: "message", to: "c1", data: "在的" });
    expect(await c1.waitFor((f) => f.type === "message" && f.seq === 4)).toMatchObject({
      data: "在的",
    });
    // The other conversation saw neither: after its own hello (2), its next message is seq 5.
    c2.send({ type: "message", data: "still there?" });
    expect(await a2.waitFor(saying("still there?"))).toMatchObject({ seq: 5, customer: "c2" });
    expect(await c2.waitFor((f) => f.type === "message")).toMatchObject({ seq: 5 });
    expect(a1.pending.filter((f) => f.customer === "c2" || f.customer?.id === "c2")).toEqual([]);
  });

  it("refuses an agent writing to a customer that is not theirs, storing nothing", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: a2 } = await agent(desk, "a2");
    const { client: c1 } = await customer(desk, "c1"); // a1
    await a1.waitFor(isAssigned("c1"));
    a2.send({ type: "message", to: "c1", data: "mine now", id: "x-1" });
    expect(await a2.expect("error")).toMatchObject({ code: "forbidden", id: "x-1" });
    a2.send({ type: "message", data: "no to", id: "x-2" });
    expect(await a2.expect("error")).toMatchObject({ code: "invalid_frame", id: "x-2" });
    c1.send({ type: "message", data: "next", id: "x-3" });
    expect(await c1.waitFor((f) => f.type === "ack")).toEqual({ type: "ack", id: "x-3", seq: 2 });
  });

  it("refuses customers a to, transfers and closes", async () => {
    const desk = uniqueDesk();
    await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1");
    c1.send({ type: "message", to: "a1", data: 1, id: "t-1" });
    expect(await c1.expect("error")).toMatchObject({ code: "invalid_frame", id: "t-1" });
    c1.send({ type: "transfer", customer: "c1", to: "a1", id: "t-2" });
    expect(await c1.expect("error")).toMatchObject({ code: "forbidden", id: "t-2" });
    c1.send({ type: "close", customer: "c1", id: "t-3" });
    expect(await c1.expect("error")).toMatchObject({ code: "forbidden", id: "t-3" });
    c1.send({ type: "direct", to: "a1", data: 1, id: "t-4" });
    expect(await c1.expect("error")).toMatchObject({ code: "unknown_type", id: "t-4" });
  });
});

describe("desk: transfer and close", () => {
  it("hands a conversation to another agent, with its history, and locks out the first", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1");
    await a1.waitFor(isAssigned("c1"));
    c1.send({ type: "message", data: "help" });
    await a1.waitFor(saying("help"));
    const { client: a2 } = await agent(desk, "a2");

    a1.send({ type: "transfer", customer: "c1", to: "a2" });
    for (const c of [a1, a2, c1]) {
      expect(await c.waitFor((f) => f.type === "assigned" && f.agent.id === "a2")).toMatchObject({
        customer: { id: "c1" },
      });
    }
    expect(await a2.waitFor((f) => f.type === "history" && f.customer === "c1")).toMatchObject({
      messages: [
        { seq: 1, data: "hello" },
        { seq: 2, data: "help" },
      ],
    });
    a1.send({ type: "message", to: "c1", data: "still me?", id: "late" });
    expect(await a1.waitFor((f) => f.type === "error")).toMatchObject({
      code: "forbidden",
      id: "late",
    });
    a2.send({ type: "message", to: "c1", data: "a2 here" });
    expect(await c1.waitFor((f) => f.type === "message" && f.seq === 3)).toMatchObject({
      from: { id: "a2" },
    });
    // a2's welcome on a new tab lists the conversation; a1's no longer does.
    expect((await agent(desk, "a2")).welcome.customers).toEqual([
      { id: "c1", name: "Customer c1", online: true },
    ]);
    expect((await agent(desk, "a1")).welcome.customers).toEqual([]);
  });

  it("says in assigned whether each side is online: a transferred customer who is away", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const first = await customer(desk, "c1");
    // Before writing, a customer has no agent: its welcome says how many are online.
    expect(first.welcome).toMatchObject({
      members: [{ id: "c1", name: "Customer c1" }],
      agents_online: 1,
    });
    expect(first.placed).toMatchObject({ agent: { id: "a1" }, customer: { online: true } });
    await a1.waitFor(isAssigned("c1"));
    const { client: a2 } = await agent(desk, "a2");
    first.client.close();
    expect(await a1.waitFor((f) => f.type === "presence" && f.action === "leave")).toMatchObject({
      member: { id: "c1" },
    });
    a1.send({ type: "transfer", customer: "c1", to: "a2" });
    expect(await a2.waitFor(isAssigned("c1"))).toEqual({
      type: "assigned",
      customer: { id: "c1", name: "Customer c1", online: false },
      agent: { id: "a2", name: "Agent a2", online: true },
    });
  });

  it("refuses a transfer to an agent who is not online", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    await customer(desk, "c1");
    await a1.waitFor(isAssigned("c1"));
    a1.send({ type: "transfer", customer: "c1", to: "nobody", id: "tr" });
    expect(await a1.waitFor((f) => f.type === "error")).toMatchObject({
      code: "invalid_frame",
      id: "tr",
    });
  });

  it("closes a conversation: the customer is told and it no longer counts toward the agent", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1"); // a1: 1
    await agent(desk, "a2");
    await customer(desk, "c2"); // a2: 1
    await a1.waitFor(isAssigned("c1"));
    a1.send({ type: "close", customer: "c1" });
    expect(await c1.waitFor((f) => f.type === "closed")).toEqual({
      type: "closed",
      customer: { id: "c1", name: "Customer c1" },
      agent: { id: "a1", name: "Agent a1" },
      reason: "agent",
    });
    // a1 has 0 open now, a2 has 1: the next customer goes to a1.
    expect((await customer(desk, "c3")).placed.agent.id).toBe("a1");
    // A closed customer who writes again opens a new conversation, assigned by the same rule.
    c1.send({ type: "message", data: "one more thing" });
    const again = await c1.waitFor((f) => f.type === "assigned");
    expect(again.agent.id).toBe("a2"); // a1 has c3, a2 has c2: tie, a2 least recently assigned
    expect(await c1.waitFor((f) => f.type === "message")).toMatchObject({ to: "a2" });
  });
});

describe("desk: agents coming and going", () => {
  it("keeps an agent's customers when it reconnects within the grace period", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    await customer(desk, "c1");
    await a1.waitFor(isAssigned("c1"));
    a1.close();
    await a1.closed;
    const back = await agent(desk, "a1");
    expect(back.welcome.customers).toEqual([{ id: "c1", name: "Customer c1", online: true }]);
  });

  it("reassigns the customers of an agent gone longer than the grace period (alarm)", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1");
    const { client: c2 } = await customer(desk, "c2");
    await a1.waitFor(isAssigned("c2"));
    const { client: a2 } = await agent(desk, "a2");
    // Agents see each other come and go; a1's customers are told when their agent leaves.
    expect(await a1.waitFor((f) => f.type === "presence")).toMatchObject({
      action: "join",
      member: { id: "a2" },
    });
    a1.close();
    expect(await c1.waitFor((f) => f.type === "presence")).toMatchObject({
      action: "leave",
      member: { id: "a1" },
    });
    // The alarm fires AGENT_GRACE_SEC (1 s) after a1 left: both customers move to a2.
    for (const c of [c1, c2]) {
      expect(await c.waitFor((f) => f.type === "assigned", "reassignment", 5000)).toMatchObject({
        agent: { id: "a2" },
      });
    }
    expect(await a2.waitFor(isAssigned("c1"))).toMatchObject({ agent: { id: "a2" } });
    expect(await a2.waitFor(isAssigned("c2"))).toMatchObject({ agent: { id: "a2" } });
  });

  it("queues an absent agent's customers ahead of later arrivals when no agent is left", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1");
    await a1.waitFor(isAssigned("c1"));
    a1.close();
    await a1.closed;
    const late = await customer(desk, "late"); // a1 is gone but in grace: nobody online
    expect(late.placed).toEqual({ type: "queued", position: 1 });
    // After the grace period c1 joins the queue ahead of "late" (it arrived first).
    expect(await c1.waitFor((f) => f.type === "queued", "c1 queued", 5000)).toEqual({
      type: "queued",
      position: 1,
    });
    expect(await late.client.waitFor((f) => f.type === "queued")).toEqual({
      type: "queued",
      position: 2,
    });
  });
});

describe("desk: joining", () => {
  it("refuses an agent without a token (4401) and a member's token as an agent (4403)", async () => {
    const desk = uniqueDesk();
    const anon = await connect(desk, { role: "agent" });
    expect(await anon.expect("error")).toMatchObject({ code: "unauthorized" });
    expect((await anon.closed).code).toBe(4401);
    const member = await connect(desk, {
      role: "agent",
      token: await agentToken("a1", desk, "member"),
    });
    expect(await member.expect("error")).toMatchObject({ code: "forbidden" });
    expect((await member.closed).code).toBe(4403);
    const res = await exports.default.fetch(`https://rooms.test/desk/${desk}?role=boss`, {
      headers: { Upgrade: "websocket" },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_role" });
  });

  it("replays only the customer's own conversation with since", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const { client: c1 } = await customer(desk, "c1");
    const { client: c2 } = await customer(desk, "c2");
    await a1.waitFor(isAssigned("c2"));
    c1.send({ type: "message", data: "c1-a", id: "1" });
    await c1.waitFor((f) => f.type === "ack");
    c2.send({ type: "message", data: "c2-a", id: "2" });
    await c2.waitFor((f) => f.type === "ack");
    a1.send({ type: "message", to: "c1", data: "to c1", id: "3" });
    await a1.waitFor((f) => f.type === "ack");

    // c1's conversation: its hello (1), "c1-a" (3), "to c1" (5); 2 and 4 are c2's.
    const again = await rejoin(desk, "c1", { since: "3" });
    expect(again.welcome).toMatchObject({ seq: 5, replay: { from: 3, count: 1, complete: true } });
    const { client } = again;
    expect(await client.next()).toMatchObject({ seq: 5, data: "to c1" });
    client.send({ type: "history", limit: 10 });
    const page = await client.waitFor((f) => f.type === "history");
    expect(page.messages.map((m: Frame) => m.seq)).toEqual([1, 3, 5]);
    // The agent sees both conversations.
    const { welcome } = await agent(desk, "a1", { since: "0" });
    expect(welcome.replay).toMatchObject({ count: 5 });
  });
});
