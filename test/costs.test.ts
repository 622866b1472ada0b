/**
 * What storage costs, measured: SQLite rows written and read per action, as SQLite's own
 * counters report them (`cursor.rowsWritten`, `cursor.rowsRead`, what Cloudflare bills) inside
 * workerd. docs/limits-and-costs.md quotes these numbers ("What one message costs" and the
 * worked examples), so a change that fails here is a change to that page too.
 *
 * The first part counts src/objects/history.ts alone, on a Durable Object's real storage; the second
 * counts whole actions (a message, a push, a desk conversation) through the Worker, with the
 * object's history already full: `HISTORY_LIMIT` frames, so every new one trims the oldest.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it } from "vitest";
import { DEDUPE_TTL_MS } from "../src/objects/dedupe";
import { History } from "../src/objects/history";
import { signWebhook } from "../src/protocol/webhook";
import { Client, open, uniqueRoom, vouched } from "./helpers";

const HOUR_MS = 60 * 60 * 1000;
/** Remembers a key and writes it, as the end of the turn does (keys go with the turn's frames). */
const remembered = (h: History, key: string, result: string, now: number) => {
  h.keys.remember(key, result, now);
  h.flush();
};
/** A reader of a room's history, as a member socket is. */
const ANN = { id: "ann", role: "member" } as const;

interface Rows {
  written: number;
  read: number;
}

/** Every cursor since the last `take()`, summed; cursors are read once their statement is done. */
class Meter {
  #cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

  /** Wraps `sql` so every statement run through the wrapper is counted. */
  wrap(sql: SqlStorage): SqlStorage {
    return { exec: this.#counting(sql.exec.bind(sql)) } as unknown as SqlStorage;
  }

  /** Counts every statement run on `sql` itself, by whoever holds it (the object, here). */
  tap(sql: SqlStorage): void {
    (sql as { exec: SqlStorage["exec"] }).exec = this.#counting(sql.exec.bind(sql));
  }

  take(): Rows {
    const rows = { written: 0, read: 0 };
    for (const c of this.#cursors.splice(0)) {
      rows.written += c.rowsWritten;
      rows.read += c.rowsRead;
    }
    return rows;
  }

  /** The rows `action` cost. */
  count(action: () => void): Rows {
    this.take();
    action();
    return this.take();
  }

  #counting(exec: SqlStorage["exec"]): SqlStorage["exec"] {
    return ((query: string, ...bindings: SqlStorageValue[]) => {
      const cursor = exec(query, ...bindings);
      this.#cursors.push(cursor);
      return cursor;
    }) as SqlStorage["exec"];
  }
}

/** Runs `body` inside a fresh room's Durable Object with a counted History on its storage. */
async function withHistory(
  options: { limit: number; byRecipient?: boolean },
  body: (h: History, meter: Meter, sql: SqlStorage) => void,
): Promise<void> {
  const stub = env.ROOMS.getByName(uniqueRoom("costs"));
  await runInDurableObject(stub, (_room, state) => {
    const meter = new Meter();
    const sql = meter.wrap(state.storage.sql);
    const h = new History(sql, options.limit, { byRecipient: options.byRecipient === true });
    body(h, meter, sql);
  });
}

const frame = (seq: number) => JSON.stringify({ type: "message", seq, data: "hi" });
/** Stores n frames one turn each: append, then the end-of-turn flush that writes it. */
function fill(h: History, n: number, recipient: string | null = null): void {
  for (let i = 0; i < n; i++) {
    h.append({ sender: "ann", recipient }, frame);
    h.flush();
  }
}

describe("rows per action in src/objects/history.ts", () => {
  it("a stored room frame writes 2 rows once history is full: the frame and the trim", async () => {
    await withHistory({ limit: 10 }, (h, meter) => {
      expect(meter.count(() => fill(h, 1))).toEqual({ written: 1, read: 1 });
      fill(h, 9);
      expect(meter.count(() => fill(h, 1))).toEqual({ written: 2, read: 3 });
      expect(meter.count(() => fill(h, 1))).toEqual({ written: 2, read: 3 });
    });
  });

  it("frames appended in one turn are written together at the flush; a read flushes first", async () => {
    await withHistory({ limit: 100 }, (h, meter, sql) => {
      const count = () => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM frames").one().n;
      for (let i = 0; i < 30; i++) h.append({ sender: "ann", recipient: null }, frame);
      expect(count()).toBe(0); // numbered, not yet written
      expect(h.lastSeq).toBe(30);
      expect(meter.count(() => h.flush()).written).toBe(30); // 30 rows, in 2 statements of <= 25
      expect(count()).toBe(30);
      h.append({ sender: "ann", recipient: null }, frame);
      expect(h.replay(ANN, 30, 50).frames).toEqual([frame(31)]);
      expect(count()).toBe(31);
    });
  });

  it("a stored desk frame writes 3 rows once history is full: its recipient index adds one", async () => {
    await withHistory({ limit: 10, byRecipient: true }, (h, meter) => {
      expect(meter.count(() => fill(h, 1, "cust")).written).toBe(2);
      fill(h, 9, "cust");
      expect(meter.count(() => fill(h, 1, "cust"))).toEqual({ written: 3, read: 3 });
    });
  });

  it("remembering an idempotency key writes 1 row; an object's first key ever also writes the sweep mark", async () => {
    await withHistory({ limit: 10 }, (h, meter) => {
      const now = Date.now();
      // Once per object: the key and the time of the last sweep, kept as a row of `dedupe`.
      expect(meter.count(() => remembered(h, "client:ann:first", "1", now))).toEqual({
        written: 1 + 1,
        read: 0,
      });
      expect(meter.count(() => remembered(h, "client:ann:m-1", "2", now))).toEqual({
        written: 1,
        read: 0,
      });
      expect(meter.count(() => remembered(h, "push:msg_1", "[]", now))).toEqual({
        written: 1,
        read: 0,
      });
    });
  });

  it("recalling a remembered key reads 1 row; a key never seen reads none", async () => {
    await withHistory({ limit: 10 }, (h, meter) => {
      const now = Date.now();
      remembered(h, "client:ann:m-1", "1", now);
      expect(meter.count(() => h.keys.recall("client:ann:m-1", now))).toEqual({
        written: 0,
        read: 1,
      });
      expect(meter.count(() => h.keys.recall("client:ann:m-2", now))).toEqual({
        written: 0,
        read: 0,
      });
    });
  });

  it("the sweep writes 1 row per expired key and 1 for the mark, and reads every row of the table", async () => {
    await withHistory({ limit: 10 }, (h, meter) => {
      const day0 = Date.now();
      for (let i = 0; i < 7; i++) remembered(h, `client:ann:old-${i}`, String(i), day0);
      // 12 hours on, the first of these sweeps (nothing has expired) and moves the mark.
      for (let i = 0; i < 5; i++)
        remembered(h, `client:ann:new-${i}`, String(i), day0 + 12 * HOUR_MS);
      // A day after the old keys: this key (1 row), the 7 expired keys deleted (7 rows) and the
      // mark rewritten (1 row); a scan of all 14 rows, the 7 old keys, the 5 newer, this one and
      // the mark.
      const later = day0 + DEDUPE_TTL_MS + HOUR_MS;
      expect(meter.count(() => remembered(h, "client:ann:late", "x", later))).toEqual({
        written: 1 + 7 + 1,
        read: 7 + 5 + 1 + 1,
      });
      expect(h.keys.recall("client:ann:old-0", later)).toBeUndefined();
      expect(h.keys.recall("client:ann:new-0", later)).toBe("0");
    });
  });

  it("the sweep runs at most once an hour while the object stays awake", async () => {
    await withHistory({ limit: 10 }, (h, meter) => {
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) remembered(h, `push:msg_${i}`, "[]", t0);
      expect(meter.count(() => remembered(h, "push:a", "[]", t0 + 59 * 60 * 1000))).toEqual({
        written: 1,
        read: 0,
      });
      // Over an hour since the mark was set at t0: a scan of the 22 keys and the mark, none
      // expired yet, and the mark rewritten.
      expect(meter.count(() => remembered(h, "push:b", "[]", t0 + 61 * 60 * 1000))).toEqual({
        written: 1 + 1,
        read: 22 + 1,
      });
      expect(meter.count(() => remembered(h, "push:c", "[]", t0 + 62 * 60 * 1000))).toEqual({
        written: 1,
        read: 0,
      });
    });
  });

  it("an object that wakes up reads the mark and does not sweep until an hour after the last sweep", async () => {
    await withHistory({ limit: 10 }, (h, meter, sql) => {
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) remembered(h, `client:ann:${i}`, String(i), t0);
      // What the constructor does after hibernation: the time of the last sweep is not in memory.
      const woken = new History(sql, 10);
      expect(
        meter.count(() => remembered(woken, "client:ann:x", "x", t0 + 30 * 60 * 1000)),
      ).toEqual({
        written: 1,
        read: 1, // the mark: swept at t0, half an hour ago
      });
      expect(
        meter.count(() => remembered(woken, "client:ann:y", "y", t0 + 31 * 60 * 1000)),
      ).toEqual({
        written: 1,
        read: 0,
      });
      // Woken again over an hour after t0: the mark, then the sweep's scan of the 23 keys and the
      // mark; nothing has expired, so the key and the rewritten mark are all it writes.
      const wokenLater = new History(sql, 10);
      expect(
        meter.count(() => remembered(wokenLater, "client:ann:z", "z", t0 + 61 * 60 * 1000)),
      ).toEqual({ written: 1 + 1, read: 1 + 23 + 1 });
    });
  });

  it("an object that wakes up a day after the last sweep sweeps its stale mark too: 2 rows for the mark", async () => {
    await withHistory({ limit: 10 }, (h, meter, sql) => {
      const t0 = Date.now();
      for (let i = 0; i < 5; i++) remembered(h, `push:msg_${i}`, "[]", t0);
      const woken = new History(sql, 10);
      // The mark, then a scan of the 5 keys, the mark and this key; the 5 expired keys and the
      // mark (as old as they are) deleted, then the mark stored again.
      expect(
        meter.count(() => remembered(woken, "push:late", "[]", t0 + DEDUPE_TTL_MS + HOUR_MS)),
      ).toEqual({
        written: 1 + 5 + 2,
        read: 1 + 5 + 1 + 1,
      });
    });
  });

  it("a join reads the frames it replays: the newest 50, or one row per missed frame and one more", async () => {
    await withHistory({ limit: 100 }, (h, meter) => {
      fill(h, 100);
      const newest = meter.count(() =>
        expect(h.replay(ANN, undefined, 50).frames).toHaveLength(50),
      );
      expect(newest).toEqual({ written: 0, read: 50 });
      const missed = meter.count(() =>
        expect(h.replay(ANN, h.lastSeq - 7, 50).frames).toHaveLength(7),
      );
      // +1: the newest-first scan (which lets the byte budget stop early) reads the row at
      // `since` to know it is done.
      expect(missed).toEqual({ written: 0, read: 8 });
    });
  });

  it("a join with nothing to replay reads no row: an empty room, or a rejoin that missed nothing", async () => {
    await withHistory({ limit: 100 }, (h, meter) => {
      const empty = meter.count(() => expect(h.replay(ANN, undefined, 50)).toEqual(nothing(0)));
      expect(empty).toEqual({ written: 0, read: 0 });
      // A client ahead of an empty room (the room's storage was reset) is told it is not whole.
      expect(h.replay(ANN, 5, 50)).toMatchObject({ frames: [], complete: false });
      fill(h, 100);
      const rejoin = meter.count(() =>
        expect(h.replay(ANN, h.lastSeq, 50)).toEqual(nothing(h.lastSeq)),
      );
      expect(rejoin).toEqual({ written: 0, read: 0 });
    });
  });

  it("a history page of n frames reads n + 1 rows", async () => {
    await withHistory({ limit: 100 }, (h, meter) => {
      fill(h, 100);
      const page = meter.count(() => expect(h.page(ANN, undefined, 20).frames).toHaveLength(20));
      expect(page).toEqual({ written: 0, read: 21 });
    });
  });
});

/** A replay with no frame, complete, from `seq`. */
function nothing(seq: number) {
  return { from: seq, frames: [], complete: true };
}

// ---- whole actions, through the Worker ----

const HISTORY_LIMIT = Number(env.HISTORY_LIMIT); // vitest.config.ts: 60
const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

/** Counts every statement of the object behind `stub` from now on, and fills its history. */
async function meterObject(
  stub: DurableObjectStub,
  recipient: string | null = null,
): Promise<Meter> {
  const meter = new Meter();
  await runInDurableObject(stub as DurableObjectStub<never>, (object, state) => {
    // The object's own History (Hub#history), so its seq stays its own.
    const history = (object as unknown as { history: History }).history;
    fill(history, HISTORY_LIMIT, recipient);
    meter.tap(state.storage.sql);
  });
  meter.take();
  return meter;
}

async function push(body: unknown, id = `msg_${crypto.randomUUID()}`): Promise<void> {
  const text = JSON.stringify(body);
  const headers = await signWebhook((env as Env).PUSH_SECRET!, id, text);
  const res = await exports.default.fetch("https://rooms.test/push", {
    method: "POST",
    headers,
    body: text,
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
}

describe("rows per room action, history full", () => {
  it("a message with an id writes 3 rows (+1 when its key expires); without an id, 2", async () => {
    const room = uniqueRoom("costs");
    const ann = await open(room, { user: "ann" });
    opened.push(ann);
    await ann.expect("welcome");
    const meter = await meterObject(env.ROOMS.getByName(room));
    // The room's first key ever also writes the sweep mark: once in the room's lifetime.
    ann.send({ type: "message", data: "first", id: "m-0" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "m-0");
    expect(meter.take().written).toBe(3 + 1);
    ann.send({ type: "message", data: "hi", id: "m-1" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "m-1");
    expect(meter.take().written).toBe(3);
    ann.send({ type: "message", data: "no id" });
    await ann.waitFor((f) => f.type === "message" && f.data === "no id");
    expect(meter.take().written).toBe(2);
    // A re-sent id is only looked up: the original ack, nothing stored.
    ann.send({ type: "message", data: "hi", id: "m-1" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "m-1");
    expect(meter.take()).toEqual({ written: 0, read: 1 });
  });

  it("a push writes 2 rows per stored event and 1 for its id; live-only, just the id", async () => {
    const room = uniqueRoom("costs");
    const meter = await meterObject(env.ROOMS.getByName(room));
    // The room's first push is its first key ever, so it also writes the sweep mark, once.
    await push({ room, event: "reading", data: 0 });
    expect(meter.take().written).toBe(3 + 1);
    await push({ room, event: "reading", data: 1 });
    expect(meter.take().written).toBe(3);
    const n = 10;
    await push({
      events: Array.from({ length: n }, (_, i) => ({ room, event: "reading", data: i })),
    });
    expect(meter.take().written).toBe(2 * n + 1);
    await push({ room, event: "reading", data: 1, store: false });
    expect(meter.take()).toEqual({ written: 1, read: 0 });
    // A retried push (same webhook-id) is only looked up.
    const id = `msg_${crypto.randomUUID()}`;
    await push({ room, event: "reading", data: 2 }, id);
    meter.take();
    await push({ room, event: "reading", data: 2 }, id);
    expect(meter.take()).toEqual({ written: 0, read: 1 });
  });
});

describe("rows per desk action, history full", () => {
  async function connectDesk(desk: string, params: Record<string, string>): Promise<Client> {
    const qs = new URLSearchParams(await vouched(params, "desk")).toString();
    const res = await exports.default.fetch(`https://rooms.test/desk/${desk}?${qs}`, {
      headers: { Upgrade: "websocket" },
    });
    expect(res.status).toBe(101);
    const client = new Client(res.webSocket!);
    opened.push(client);
    return client;
  }

  it("a join writes nothing; the first message opens the conversation (9 rows), each next with an id 4, and its trim every HISTORY_LIMIT/10 + 1 messages", async () => {
    const desk = `desk-${crypto.randomUUID()}`;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = await sign(
      { sub: "kefu1", name: "Agent", desk, role: "agent", exp },
      env.JOIN_SECRET!,
      "HS256",
    );
    const agent = await connectDesk(desk, { role: "agent", token });
    await agent.expect("welcome");
    const meter = await meterObject(env.DESKS.getByName(desk), "someone-else");

    const cust = await connectDesk(desk, { user: "cust", name: "Customer" });
    await cust.expect("welcome");
    expect(meter.take().written).toBe(0); // no conversation until the customer writes

    // The conversation (row, its 2 index entries, the open count, the agent's last assignment),
    // the frame and its recipient entry, the conversation's activity, the id; and the desk's
    // first key ever also writes the sweep mark, once in the desk's lifetime.
    cust.send({ type: "message", data: "hello", id: "c-1" });
    await cust.waitFor((f) => f.type === "ack" && f.id === "c-1");
    await agent.waitFor((f) => f.type === "assigned");
    expect(meter.take().written).toBe(9 + 1);
    // The frame, its recipient entry, the conversation's row (activity, frame count), the id.
    cust.send({ type: "message", data: "are you there?", id: "c-2" });
    await cust.waitFor((f) => f.type === "ack" && f.id === "c-2");
    expect(meter.take().written).toBe(4);
    agent.send({ type: "message", to: "cust", data: "hi", id: "a-1" });
    await agent.waitFor((f) => f.type === "ack" && f.id === "a-1");
    expect(meter.take().written).toBe(4);
    // Up to HISTORY_LIMIT + HISTORY_LIMIT/10 frames, then the one over it trims the conversation
    // back to HISTORY_LIMIT: 4, the frames deleted, and the count rewritten.
    const slack = Math.ceil(HISTORY_LIMIT / 10);
    for (let n = 4; n <= HISTORY_LIMIT + slack; n++) {
      // Taking turns, so neither side's rate bucket runs dry.
      const [side, frame] =
        n % 2 === 0 ? [cust, { type: "message" }] : [agent, { type: "message", to: "cust" }];
      side.send({ ...frame, data: n, id: `m-${n}` });
      await side.waitFor((f) => f.type === "ack" && f.id === `m-${n}`);
    }
    expect(meter.take().written).toBe(4 * (HISTORY_LIMIT + slack - 3));
    cust.send({ type: "message", data: "over", id: "c-over" });
    await cust.waitFor((f) => f.type === "ack" && f.id === "c-over");
    expect(meter.take().written).toBe(4 + (slack + 1) + 1);

    agent.send({ type: "close", customer: "cust" });
    await cust.waitFor((f) => f.type === "closed");
    // The conversation row, the open count, and its entry in the index of closed conversations
    // (which the alarm uses to forget it DESK_IDLE_SEC later).
    expect(meter.take().written).toBe(3);
  });
});
