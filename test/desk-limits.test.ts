/**
 * What keeps one desk customer from costing the others (docs/protocol.md, "The help desk"): a
 * conversation opens with the customer's first message, so sockets that join and leave leave
 * nothing; idle conversations close by themselves on a Durable Object alarm; DESK_MAX_OPEN caps
 * open conversations; each conversation keeps its own newest HISTORY_LIMIT frames; a join costs
 * the same rows however long the queue. Every test evicts the desk midway, so all of this is
 * shown to live in storage. HISTORY_LIMIT is 60 and AGENT_GRACE_SEC 1 here (vitest.config.ts);
 * DESK_IDLE_SEC and DESK_MAX_OPEN keep their defaults, so the tests move a conversation's last
 * activity back, or fill the ledger, rather than wait or open thousands.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it } from "vitest";
import { DeskLedger } from "../src/objects/desk/ledger";
import { readLimits } from "../src/protocol";
import { Client, type Frame, vouched } from "./helpers";

const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

const limits = readLimits(env);
const HISTORY_LIMIT = limits.historyLimit;
const IDLE_MS = limits.deskIdleSec * 1000;
const MAX_OPEN = limits.deskMaxOpen;

const PRESENCE_COUNT_MS = Number(env.PRESENCE_COUNT_MS);

const uniqueDesk = () => `desk-${crypto.randomUUID()}`;
const stub = (desk: string) => env.DESKS.getByName(desk);

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

async function agent(desk: string, id: string, extra: Record<string, string> = {}) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = await sign(
    { sub: id, name: `Agent ${id}`, desk, role: "agent", exp },
    env.JOIN_SECRET!,
    "HS256",
  );
  const client = await connect(desk, { role: "agent", token, ...extra });
  const welcome = await client.expect("welcome");
  return { client, welcome };
}

/** A customer with a desk token for `id`, joined and welcomed; nothing written yet. */
async function customer(desk: string, id: string, extra: Record<string, string> = {}) {
  const client = await connect(desk, { user: id, name: `Customer ${id}`, ...extra });
  const welcome = await client.expect("welcome");
  return { client, welcome };
}

/** Writes one message and returns the frame that places the conversation (assigned or queued). */
async function write(client: Client, data: unknown, id: string): Promise<Frame> {
  client.send({ type: "message", data, id });
  const placed = await client.waitFor(
    (f) => f.type === "assigned" || f.type === "queued" || f.type === "error",
    "assigned, queued or error",
  );
  await client.waitFor((f) => f.type === "ack" && f.id === id, `ack ${id}`);
  return placed;
}

/** Runs `body` on the desk's storage with a ledger of its own (a ledger keeps nothing in memory). */
async function inLedger<T>(
  desk: string,
  body: (ledger: DeskLedger, state: DurableObjectState) => T | Promise<T>,
): Promise<T> {
  return runInDurableObject(stub(desk) as DurableObjectStub<never>, (_desk, state) =>
    body(new DeskLedger(state.storage.sql), state),
  );
}

/** The desk's alarm once it is set later than `after` (earlier alarms fire first), or the timeout. */
async function alarmAfter(desk: string, after: number, timeoutMs = 3 * PRESENCE_COUNT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await inLedger(desk, (_l, state) => state.storage.getAlarm());
    if ((at !== null && at > after) || Date.now() > deadline) return at;
    // Waiting for an alarm to fire: nothing to await from outside the object.
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("desk: a conversation opens with the first message", () => {
  it("leaves nothing behind for 30 sockets that join and leave without a word", async () => {
    const desk = uniqueDesk();
    const silent: string[] = [];
    for (let i = 0; i < 30; i++) {
      const client = await connect(desk, { name: `Silent ${i}` });
      const welcome = await client.expect("welcome");
      expect(welcome.agents_online).toBe(0);
      silent.push(welcome.self.id);
      client.close();
      await client.closed;
    }
    await inLedger(desk, (ledger) => {
      for (const id of silent) expect(ledger.conversation(id)).toBeNull();
    });
    await evictDurableObject(stub(desk));

    const real = await customer(desk, "real");
    expect(real.welcome).toMatchObject({ agents_online: 0, members: [{ id: "real" }] });
    expect(await write(real.client, "hello?", "r-1")).toEqual({ type: "queued", position: 1 });

    const { client: a1, welcome } = await agent(desk, "a1");
    expect(welcome.customers).toEqual([]);
    expect(await a1.waitFor((f) => f.type === "assigned")).toMatchObject({
      customer: { id: "real", online: true },
    });
    expect((await agent(desk, "a1")).welcome.customers).toEqual([
      { id: "real", name: "Customer real", online: true },
    ]);
    // Nothing about the silent ones reached the agent: no assignment, no presence.
    const aboutSilent = (f: Frame) =>
      silent.includes(f.customer?.id) || silent.includes(f.member?.id);
    expect(a1.pending.filter(aboutSilent)).toEqual([]);
  });

  it("tells an online agent nothing until the customer writes, then assigns it", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    for (let i = 0; i < 30; i++) {
      const { client, welcome } = await customer(desk, `quiet${i}`);
      expect(welcome).toMatchObject({ agents_online: 1, count: 1 });
      client.close();
      await client.closed;
    }
    await evictDurableObject(stub(desk));
    const { welcome } = await agent(desk, "a1");
    expect(welcome.customers).toEqual([]);

    const c1 = await customer(desk, "c1");
    expect(c1.welcome.members).toEqual([{ id: "c1", name: "Customer c1" }]);
    expect(await write(c1.client, "hi", "c-1")).toMatchObject({
      type: "assigned",
      agent: { id: "a1" },
    });
    // The agent's first frame about anyone is c1's assignment.
    expect(await a1.next()).toMatchObject({ type: "assigned", customer: { id: "c1" } });
  });

  it("keeps an open conversation's agent, or queue place, for a customer who comes back", async () => {
    const desk = uniqueDesk();
    const q = await customer(desk, "q");
    expect(await write(q.client, "first", "q-1")).toEqual({ type: "queued", position: 1 });
    const r = await customer(desk, "r");
    expect(await write(r.client, "second", "r-1")).toEqual({ type: "queued", position: 2 });
    r.client.close();
    await r.client.closed;
    await evictDurableObject(stub(desk));
    const back = await customer(desk, "r");
    expect(back.welcome.replay.count).toBe(1);
    expect(await back.client.waitFor((f) => f.type === "queued")).toEqual({
      type: "queued",
      position: 2,
    });
  });
});

describe("desk: DESK_IDLE_SEC", () => {
  it("closes a conversation with no frame for DESK_IDLE_SEC on an alarm, and only that one", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const c1 = await customer(desk, "c1");
    const opened = Date.now();
    await write(c1.client, "hello", "c-1");
    const c2 = await customer(desk, "c2");
    await write(c2.client, "me too", "c-2");
    // An alarm is set for the first conversation's idle deadline, so a quiet desk can sleep
    // (once the registry's trailing report of these joins, PRESENCE_COUNT_MS on, has gone).
    const alarm = await alarmAfter(desk, Date.now() + PRESENCE_COUNT_MS);
    expect(alarm).toBeGreaterThanOrEqual(opened + IDLE_MS - 1000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + IDLE_MS);

    // As if c1's last frame were a day and a second old; the desk is evicted meanwhile.
    await inLedger(desk, (ledger) => ledger.touch("c1", Date.now() - IDLE_MS - 1000));
    await evictDurableObject(stub(desk));
    expect(await runDurableObjectAlarm(stub(desk))).toBe(true);
    const closed = {
      type: "closed",
      customer: { id: "c1", name: "Customer c1" },
      agent: { id: "a1", name: "Agent a1" },
      reason: "idle",
    };
    expect(await c1.client.waitFor((f) => f.type === "closed")).toEqual(closed);
    expect(await a1.waitFor((f) => f.type === "closed")).toEqual(closed);
    expect((await agent(desk, "a1")).welcome.customers).toEqual([
      { id: "c2", name: "Customer c2", online: true },
    ]);
    // The next alarm is c2's deadline: c2 wrote just now.
    const next = await inLedger(desk, (_l, state) => state.storage.getAlarm());
    expect(next).toBeGreaterThanOrEqual(opened + IDLE_MS);
    // c1 writing again opens a new conversation.
    expect(await write(c1.client, "back", "c-3")).toMatchObject({ type: "assigned" });
  });

  it("forgets a closed conversation DESK_IDLE_SEC after it closed: its row and its frames", async () => {
    // Every new guest who writes once opens a conversation; if closed ones stayed forever, a
    // stream of guests would grow the desk's storage without bound.
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const c1 = await customer(desk, "c1");
    await write(c1.client, "hello", "c-1");
    a1.send({ type: "close", customer: "c1" });
    await c1.client.waitFor((f) => f.type === "closed", "closed");
    const count = (state: DurableObjectState, table: string, where: string) =>
      state.storage.sql
        .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, "c1")
        .one().n;
    // Kept a while after closing: a customer who comes back soon still sees its conversation.
    const alarm = await inLedger(desk, (_l, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    await inLedger(desk, (_l, state) => {
      expect(count(state, "desk_conversations", "customer = ?")).toBe(1);
      expect(count(state, "frames", "recipient = ?")).toBe(1);
      // As if it had closed a day and a second ago.
      state.storage.sql.exec(
        "UPDATE desk_conversations SET last_active = ? WHERE customer = ?",
        Date.now() - IDLE_MS - 1000,
        "c1",
      );
    });
    await evictDurableObject(stub(desk));
    expect(await runDurableObjectAlarm(stub(desk))).toBe(true);
    await inLedger(desk, (_l, state) => {
      expect(count(state, "desk_conversations", "customer = ?")).toBe(0);
      expect(count(state, "frames", "recipient = ?")).toBe(0);
    });
    // c1 can still write: a new conversation.
    const again = await customer(desk, "c1");
    expect(await write(again.client, "back", "c-2")).toMatchObject({ type: "assigned" });
  });

  it("closes a queued conversation that idles, and moves the ones behind it up", async () => {
    const desk = uniqueDesk();
    const clients = [];
    for (const id of ["q1", "q2", "q3"]) {
      const c = await customer(desk, id);
      await write(c.client, `from ${id}`, `${id}-1`);
      clients.push(c.client);
    }
    await inLedger(desk, (ledger) => ledger.touch("q2", Date.now() - IDLE_MS - 1000));
    expect(await runDurableObjectAlarm(stub(desk))).toBe(true);
    expect(await clients[1]!.waitFor((f) => f.type === "closed")).toEqual({
      type: "closed",
      customer: { id: "q2", name: "Customer q2" },
      agent: null,
      reason: "idle",
    });
    expect(await clients[2]!.waitFor((f) => f.type === "queued")).toEqual({
      type: "queued",
      position: 2,
    });
    // q1 kept its place and heard nothing.
    expect(clients[0]!.pending.filter((f) => f.type === "queued")).toEqual([]);
    await evictDurableObject(stub(desk));
    const back = await customer(desk, "q3");
    expect(await back.client.waitFor((f) => f.type === "queued")).toEqual({
      type: "queued",
      position: 2,
    });
  });

  it("keeps one alarm for both timers: the earliest, and the idle deadline after a grace period", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    await agent(desk, "a2");
    const c1 = await customer(desk, "c1"); // a1
    await write(c1.client, "hello", "c-1");
    const idleDeadline = await inLedger(desk, (_l, state) => state.storage.getAlarm());
    a1.close();
    await a1.closed;
    await evictDurableObject(stub(desk));
    // The grace alarm (1 s) comes first, and a conversation opening meanwhile does not delay it.
    const c2 = await customer(desk, "c2");
    await write(c2.client, "hello", "c-2");
    const grace = await inLedger(desk, (_l, state) => state.storage.getAlarm());
    expect(grace).toBeLessThan(Date.now() + 2000);
    expect(await c1.client.waitFor((f) => f.type === "assigned", "reassigned", 5000)).toMatchObject(
      { agent: { id: "a2" } },
    );
    // After the grace alarm, the idle deadline is armed again.
    const after = await inLedger(desk, (_l, state) => state.storage.getAlarm());
    expect(after).not.toBeNull();
    expect(after).toBeGreaterThanOrEqual(idleDeadline!);
  });
});

describe("desk: DESK_MAX_OPEN", () => {
  it("answers desk_full to a first message beyond DESK_MAX_OPEN, storing nothing", async () => {
    const desk = uniqueDesk();
    const now = Date.now();
    await inLedger(desk, (ledger) => {
      for (let i = 1; i < MAX_OPEN; i++) ledger.open(`filler${i}`, "Filler", null, now);
    });
    await evictDurableObject(stub(desk));
    const last = await customer(desk, "last");
    expect(await write(last.client, "just in", "j-1")).toEqual({
      type: "queued",
      position: MAX_OPEN,
    });
    const late = await customer(desk, "late");
    late.client.send({ type: "message", data: "let me in", id: "l-1" });
    expect(await late.client.expect("error")).toMatchObject({ code: "desk_full", id: "l-1" });
    await inLedger(desk, (ledger) => expect(ledger.conversation("late")).toBeNull());

    // One conversation idles out: there is room again, and the same id is a new frame.
    await inLedger(desk, (ledger) => ledger.touch("last", now - IDLE_MS - 1000));
    await evictDurableObject(stub(desk));
    expect(await runDurableObjectAlarm(stub(desk))).toBe(true);
    expect(await last.client.waitFor((f) => f.type === "closed")).toMatchObject({ agent: null });
    late.client.send({ type: "message", data: "let me in", id: "l-1" });
    expect(await late.client.expect("queued")).toEqual({ type: "queued", position: MAX_OPEN });
    expect(await late.client.expect("message")).toMatchObject({ seq: 2, data: "let me in" });
    expect(await late.client.expect("ack")).toEqual({ type: "ack", id: "l-1", seq: 2 });
  });
});

describe("desk: history per conversation", () => {
  it("keeps a quiet customer's conversation through another's flood", async () => {
    const desk = uniqueDesk();
    const { client: a1 } = await agent(desk, "a1");
    const victim = await customer(desk, "victim");
    await write(victim.client, "my order is missing", "v-1");
    const flooder = await customer(desk, "flooder");
    await write(flooder.client, "spam 0", "f-0");
    // Two users' buckets (the flooder's and its agent's), 80 frames: more than HISTORY_LIMIT.
    for (let i = 1; i < 40; i++)
      flooder.client.send({ type: "message", data: `spam ${i}`, id: `f-${i}` });
    for (let i = 0; i < 40; i++) a1.send({ type: "message", to: "flooder", data: i, id: `a-${i}` });
    await flooder.client.waitFor((f) => f.type === "ack" && f.id === "f-39", "last flood ack");
    await a1.waitFor((f) => f.type === "ack" && f.id === "a-39", "last agent ack");
    await evictDurableObject(stub(desk));

    const back = await customer(desk, "victim", { since: "0" });
    expect(back.welcome.replay).toMatchObject({ from: 0, count: 1 });
    expect(await back.client.next()).toMatchObject({ seq: 1, data: "my order is missing" });
    // The flooder's own conversation is trimmed to its newest HISTORY_LIMIT (give or take the
    // slack that lets the delete run rarely).
    const flood = await customer(desk, "flooder", { since: "0" });
    expect(flood.welcome.replay.count).toBeGreaterThanOrEqual(HISTORY_LIMIT);
    expect(flood.welcome.replay.count).toBeLessThanOrEqual(HISTORY_LIMIT * 1.1 + 1);
  });
});

describe("desk: queue positions", () => {
  /** Rows read by every statement the desk runs during `action`. */
  async function rowsRead(desk: string, action: () => Promise<void>): Promise<number> {
    const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
    await inLedger(desk, (_l, state) => {
      const sql = state.storage.sql as { exec: SqlStorage["exec"] };
      const exec = sql.exec.bind(state.storage.sql);
      sql.exec = ((query: string, ...bindings: SqlStorageValue[]) => {
        const cursor = exec(query, ...bindings);
        cursors.push(cursor);
        return cursor;
      }) as SqlStorage["exec"];
    });
    cursors.splice(0);
    await action();
    return cursors.reduce((n, c) => n + c.rowsRead, 0);
  }

  /** What a newcomer costs in rows read: its join, its first message, its reconnect. */
  async function newcomer(queued: number) {
    const desk = uniqueDesk();
    const now = Date.now();
    await inLedger(desk, (ledger) => {
      for (let i = 0; i < queued; i++) ledger.open(`waiting${i}`, "Waiting", null, now);
    });
    await evictDurableObject(stub(desk));
    let client: Client | undefined;
    const join = await rowsRead(desk, async () => {
      client = (await customer(desk, "newcomer")).client;
    });
    const first = await rowsRead(desk, async () => {
      expect(await write(client!, "hello", "n-1")).toEqual({
        type: "queued",
        position: queued + 1,
      });
    });
    const again = await rowsRead(desk, async () => {
      const back = await customer(desk, "newcomer");
      expect(await back.client.waitFor((f) => f.type === "queued")).toEqual({
        type: "queued",
        position: queued + 1,
      });
    });
    return { join, first, again };
  }

  it("reads as many rows for a join into a queue of 300 as into a queue of 3", async () => {
    const short = await newcomer(3);
    const long = await newcomer(300);
    expect(long).toEqual(short);
  });
});
