/**
 * Events out: rooms and desks matching HOOK_ROOMS tell the backend at HOOK_URL what happens,
 * through the hooks queue, signed with HOOK_SECRET (vitest.config.ts sets them for places named
 * `hooked-*`, and message.created for `hooked-msgs-*`). The backend is `fetch`, replaced per
 * test; the local queue hands deliveries to the Worker's own consumer, as deployed.
 */
import {
  createExecutionContext,
  createMessageBatch,
  evictDurableObject,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { retryDelaySec } from "../src/worker/hooks/deliver";
import { verifyWebhook } from "../src/protocol/webhook";
import { Client, type Frame, join, userToken, vouched } from "./helpers";

const testEnv = env as Env;
const HOOK_URL = testEnv.HOOK_URL as string;
const opened: Client[] = [];

interface Received {
  webhookId: string;
  events: Frame[];
}
let received: Received[] = [];
let answer: () => number = () => 204;

beforeEach(() => {
  received = [];
  answer = () => 204;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (req.url !== HOOK_URL) return new Response("not a test backend", { status: 404 });
    const body = new Uint8Array(await req.arrayBuffer());
    const check = await verifyWebhook(
      testEnv.HOOK_SECRET!,
      req.headers,
      body,
      Math.floor(Date.now() / 1000),
    );
    if (!check.ok) return new Response("bad signature", { status: 401 });
    const parsed = JSON.parse(new TextDecoder().decode(body)) as { events: Frame[] };
    received.push({ webhookId: check.id, events: parsed.events });
    return new Response(null, { status: answer() });
  });
});
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
  vi.restoreAllMocks();
});

const events = () => received.flatMap((r) => r.events);
const ofType = (type: string) => events().filter((e) => e.type === type);
const hookedRoom = (kind = "hooked") => `${kind}-${crypto.randomUUID()}`;

async function member(room: string, user: string) {
  const j = await join(room, { user, name: user.toUpperCase() });
  opened.push(j.client);
  return j.client;
}

/** Leaves older than LEAVE_GRACE_SEC, as if the grace had passed; then the alarm runs. */
async function afterGrace(room: string): Promise<void> {
  const stub = testEnv.ROOMS.getByName(room);
  await runInDurableObject(stub as DurableObjectStub<never>, (_o, state) => {
    state.storage.sql.exec("UPDATE hook_leaves SET at = at - 3600000");
  });
  // The room sleeps through the grace, as a quiet room does: the alarm wakes it.
  await evictDurableObject(stub);
  await runDurableObjectAlarm(stub);
}

describe("events out: presence with a grace", () => {
  it("tells room.occupied then member.joined for the first member, and nothing for a second tab", async () => {
    const room = hookedRoom();
    await member(room, "ann");
    await member(room, "ann");
    await member(room, "bo");
    await vi.waitFor(() => expect(ofType("member.joined")).toHaveLength(2), { timeout: 5000 });
    expect(events().map((e) => e.type)).toEqual([
      "room.occupied",
      "member.joined",
      "member.joined",
    ]);
    expect(ofType("member.joined")[0]).toMatchObject({
      room,
      member: { id: "ann", name: "ANN" },
      count: 1,
    });
    expect(ofType("member.joined")[1]).toMatchObject({ member: { id: "bo" }, count: 2 });
    for (const e of events()) {
      expect(e.id).toMatch(/^evt_/);
      expect(typeof e.ts).toBe("number");
    }
  });

  it("tells member.left and room.vacated only after the grace, and nothing for a reconnect within it", async () => {
    const room = hookedRoom();
    const ann = await member(room, "ann");
    const bo = await member(room, "bo");
    await vi.waitFor(() => expect(ofType("member.joined")).toHaveLength(2), { timeout: 5000 });
    // Bo drops and comes back within the grace: no leave, no new join.
    bo.close();
    await bo.closed;
    await member(room, "bo");
    ann.close();
    await ann.closed;
    await afterGrace(room);
    await vi.waitFor(() => expect(ofType("member.left")).toHaveLength(1), { timeout: 5000 });
    expect(ofType("member.left")[0]).toMatchObject({
      member: { id: "ann", name: "ANN" },
      count: 1,
    });
    expect(ofType("member.joined")).toHaveLength(2);
    expect(ofType("room.vacated")).toEqual([]);
  });

  it("tells room.vacated once the last member's grace is over", async () => {
    const room = hookedRoom();
    const ann = await member(room, "ann");
    await vi.waitFor(() => expect(ofType("member.joined")).toHaveLength(1), { timeout: 5000 });
    ann.close();
    await ann.closed;
    // Within the grace the alarm finds nothing due: nothing is sent.
    await runDurableObjectAlarm(testEnv.ROOMS.getByName(room));
    expect(ofType("member.left")).toEqual([]);
    await afterGrace(room);
    await vi.waitFor(() => expect(ofType("room.vacated")).toHaveLength(1), { timeout: 5000 });
    expect(events().map((e) => e.type)).toEqual([
      "room.occupied",
      "member.joined",
      "member.left",
      "room.vacated",
    ]);
    expect(ofType("member.left")[0]).toMatchObject({ room, count: 0 });
    expect(ofType("room.vacated")[0]).toMatchObject({ room });
  });

  it("sends nothing for rooms outside HOOK_ROOMS", async () => {
    const room = `quiet-${crypto.randomUUID()}`;
    const ann = await member(room, "ann");
    ann.send({ type: "message", data: "hi", id: "m1" });
    await ann.waitFor((f) => f.type === "ack", "the ack");
    // A hooked room joined after it is delivered; by then the quiet room's events would be too.
    await member(hookedRoom(), "bo");
    await vi.waitFor(() => expect(ofType("member.joined")).toHaveLength(1), { timeout: 5000 });
    expect(events().filter((e) => e.room === room)).toEqual([]);
  });
});

describe("events out: at least once", () => {
  it("keeps what the queue refused and hands it over again on the alarm", async () => {
    const room = hookedRoom();
    const stub = testEnv.ROOMS.getByName(room);
    // Wake the object first, so the queue can be made to fail for it.
    await runInDurableObject(stub as DurableObjectStub<never>, (instance) => {
      const queue = (instance as unknown as { env: Env }).env.HOOKS;
      vi.spyOn(queue, "sendBatch").mockRejectedValueOnce(new Error("queue unavailable"));
    });
    await member(room, "ann");
    const waiting = await runInDurableObject(
      stub as DurableObjectStub<never>,
      async (_o, state) => ({
        rows: state.storage.sql
          .exec<{ n: number }>("SELECT COUNT(*) AS n FROM hook_deliveries")
          .one().n,
        alarm: await state.storage.getAlarm(),
      }),
    );
    expect(waiting.rows).toBe(1);
    expect(waiting.alarm).not.toBeNull();
    expect(received).toEqual([]);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await vi.waitFor(() => expect(ofType("member.joined")).toHaveLength(1), { timeout: 5000 });
    const left = await runInDurableObject(
      stub as DurableObjectStub<never>,
      (_o, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM hook_deliveries").one().n,
    );
    expect(left).toBe(0);
  });
});

describe("events out: message.created", () => {
  it("sends each stored message of HOOK_MESSAGES rooms, the frame as stored", async () => {
    const room = hookedRoom("hooked-msgs");
    const ann = await member(room, "ann");
    ann.send({ type: "message", data: { text: "hi" }, id: "m1" });
    const ack = await ann.waitFor((f) => f.type === "ack", "the ack");
    await vi.waitFor(() => expect(ofType("message.created")).toHaveLength(1), { timeout: 5000 });
    const created = ofType("message.created")[0]!;
    expect(created).toMatchObject({
      room,
      frame: { type: "message", seq: ack.seq, id: "m1", from: { id: "ann" }, data: { text: "hi" } },
    });
    // A re-sent id is not a new message.
    ann.send({ type: "message", data: { text: "hi" }, id: "m1" });
    await ann.waitFor((f) => f.type === "ack", "the repeated ack");
    ann.send({ type: "message", data: "two", id: "m2" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "m2", "ack m2");
    await vi.waitFor(() => expect(ofType("message.created")).toHaveLength(2), { timeout: 5000 });
    expect(ofType("message.created").map((e) => e.frame.id)).toEqual(["m1", "m2"]);
  });

  it("does not send messages of hooked rooms outside HOOK_MESSAGES", async () => {
    const room = hookedRoom();
    const ann = await member(room, "ann");
    ann.send({ type: "message", data: "hi", id: "m1" });
    await ann.waitFor((f) => f.type === "ack", "the ack");
    await vi.waitFor(() => expect(ofType("member.joined")).toHaveLength(1), { timeout: 5000 });
    expect(ofType("message.created")).toEqual([]);
  });
});

describe("events out: the desk's conversations", () => {
  it("tells conversation.opened, .assigned and .closed", async () => {
    const desk = hookedRoom();
    const connect = async (params: Record<string, string>) => {
      const res = await worker.fetch(
        new Request(
          `https://rooms.test/desk/${desk}?${new URLSearchParams(await vouched(params, "desk"))}`,
          {
            headers: { Upgrade: "websocket" },
          },
        ),
        testEnv,
        createExecutionContext(),
      );
      const c = new Client(res.webSocket!);
      opened.push(c);
      await c.expect("welcome");
      return c;
    };
    const agent = await connect({
      role: "agent",
      token: await userToken("kefu1", { desk, role: "agent", name: "Li" }),
    });
    const customer = await connect({ user: "c1", name: "Ann" });
    customer.send({ type: "message", data: "hello", id: "c-1" });
    await customer.waitFor((f) => f.type === "ack", "the ack");
    agent.send({ type: "close", customer: "c1" });
    await customer.waitFor((f) => f.type === "closed", "closed");
    await vi.waitFor(() => expect(ofType("conversation.closed")).toHaveLength(1), {
      timeout: 5000,
    });
    const convo = events().filter((e) => e.type.startsWith("conversation."));
    expect(convo.map((e) => e.type)).toEqual([
      "conversation.opened",
      "conversation.assigned",
      "conversation.closed",
    ]);
    for (const e of convo) {
      expect(e).toMatchObject({
        desk,
        customer: { id: "c1", name: "Ann" },
        agent: { id: "kefu1", name: "Li" },
      });
    }
  });
});

describe("events out: the consumer", () => {
  const delivery = {
    id: "dlv_test",
    events: [{ id: "evt_1", type: "room.occupied", room: "r", ts: 1 }],
  };

  it("acks a delivery the backend took, signed under the delivery's id", async () => {
    const batch = createMessageBatch("rooms-hooks", [
      { id: "q1", timestamp: new Date(), attempts: 1, body: delivery },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["q1"]);
    expect(received).toEqual([{ webhookId: "dlv_test", events: delivery.events }]);
  });

  it("retries a failed delivery with backoff (first within 10 s), the same body under the same id", async () => {
    answer = () => 500;
    const attempt = async (attempts: number) => {
      const batch = createMessageBatch("rooms-hooks", [
        { id: "q1", timestamp: new Date(), attempts, body: delivery },
      ]);
      const retry = vi.spyOn(batch.messages[0]!, "retry");
      const ctx = createExecutionContext();
      await worker.queue(batch, testEnv);
      const result = await getQueueResult(batch, ctx);
      expect(result.retryMessages.map((m) => m.msgId)).toEqual(["q1"]);
      return retry.mock.calls[0]?.[0];
    };
    expect(await attempt(1)).toEqual({ delaySeconds: 10 });
    expect(await attempt(2)).toEqual({ delaySeconds: 20 });
    expect(await attempt(3)).toEqual({ delaySeconds: 40 });
    expect(received.map((r) => r.webhookId)).toEqual(["dlv_test", "dlv_test", "dlv_test"]);
    expect(received[0]!.events).toEqual(received[1]!.events);
    expect(retryDelaySec(1)).toBeLessThanOrEqual(10);
  });

  it("dead-letters a delivery after HOOK_ATTEMPTS tries", async () => {
    answer = () => 503;
    const dlq = vi.spyOn(testEnv.HOOKS_DLQ, "send");
    const batch = createMessageBatch("rooms-hooks", [
      { id: "q1", timestamp: new Date(), attempts: Number(testEnv.HOOK_ATTEMPTS), body: delivery },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["q1"]);
    expect(result.retryMessages).toEqual([]);
    expect(dlq).toHaveBeenCalledWith(
      expect.objectContaining({ id: "dlv_test", reason: "the backend answered 503" }),
    );
  });
});
