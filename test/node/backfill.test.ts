/**
 * The client module's resume when the room's byte budget (MAX_REPLAY_BYTES) cut the replay: it
 * pages back with `history` for the frames left out, and hands every stored frame on once, in
 * `seq` order, as if all had been replayed; only frames the room no longer has are a `gap`.
 * First against a scripted room, where each answer is the test's, then against `wrangler dev`
 * with a small budget, where they are the real server's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RoomClient, type RoomClientOptions, type StoredFrame } from "../../src/client/index.ts";
import { startServer, type DevServer } from "../e2e/server";
import { WsClient } from "../e2e/wsclient";
import {
  ScriptedRoom,
  message,
  nextEvent,
  record,
  send,
  welcome,
  type Conn,
  type Frame,
} from "./scripted-room";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const direct = (seq: number, to = "u1"): Frame => ({
  type: "direct",
  seq,
  from: { id: "u2", name: "u2" },
  to,
  data: `d${seq}`,
  ts: 1764000000000 + seq,
});

/** A welcome whose replay the budget cut: only the frames after `from` come. */
const cutWelcome = (seq: number, from: number) =>
  welcome(seq, 0, { replay: { from, count: seq - from, complete: false } });

const history = (id: string | undefined, messages: Frame[], complete: boolean): Frame => ({
  type: "history",
  ...(id === undefined ? {} : { id }),
  messages,
  complete,
});

let room: ScriptedRoom;
const clients: RoomClient[] = [];
function client(opts: Partial<RoomClientOptions> = {}): RoomClient {
  const c = new RoomClient({
    url: room.url,
    room: "r",
    name: "Ann",
    baseDelayMs: 10,
    maxDelayMs: 40,
    probe: false,
    ...opts,
  });
  clients.push(c);
  return c;
}

/** Every stored frame handed to listeners and every gap, in the order the client emitted them. */
function log(c: RoomClient) {
  const entries: (number | string)[] = [];
  const stored = (f: StoredFrame) => entries.push(f.seq ?? "live");
  c.on("message", stored);
  c.on("direct", stored);
  c.on("event", stored);
  c.on("gap", (g) => entries.push(`gap ${g.reason} ${g.since}..${g.seq}`));
  return entries;
}

/** A client that saw seqs 9 and 10 on its first connection, which then dropped. */
async function resumedAfter10(c: RoomClient): Promise<Conn> {
  c.connect();
  const first = await room.connection(1);
  send(first, welcome(10, 2), message(9), message(10));
  await nextEvent(c, "message", (m) => m.seq === 10);
  first.ws.close(1001, "going away");
  const second = await room.connection(2);
  expect(second.url.searchParams.get("since")).toBe("10");
  return second;
}

const request = async (conn: Conn, n: number) => JSON.parse(await conn.frame(n)) as Frame;

beforeAll(async () => {
  room = await ScriptedRoom.start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await room.stop();
  room = await ScriptedRoom.start();
});
afterAll(async () => {
  await room.stop();
});

describe("resuming after a replay the byte budget cut", () => {
  it("pages back to since and hands every frame on once, in seq order, with no gap", async () => {
    const c = client();
    const seen = log(c);
    const histories = record(c, "history");
    const conn = await resumedAfter10(c);
    // The budget let the room replay 36-40 only; 41 is live, 38 comes twice.
    send(conn, cutWelcome(40, 35), ...range(36, 40).map((s) => message(s)), message(41));
    send(conn, message(38));
    const first = await request(conn, 1);
    expect(first).toEqual({ type: "history", id: expect.any(String), before: 36, limit: 26 });
    // Nothing newer is handed on while the hole is open, and a reconnect would resume at 10.
    expect(seen).toEqual([9, 10]);
    expect(c.lastSeq).toBe(10);

    // A page the budget cut short (11 of 26): not the end. 28 is others' direct, never ours.
    const page = [...range(25, 27), ...range(29, 35)].map((s) =>
      s === 30 ? direct(s) : message(s),
    );
    send(conn, history(first.id, page, false));
    const second = await request(conn, 2);
    expect(second).toEqual({ type: "history", id: expect.any(String), before: 25, limit: 15 });
    expect(second.id).not.toBe(first.id);
    // This page reaches since itself (10): nothing is missing below it.
    send(
      conn,
      history(
        second.id,
        range(10, 24).map((s) => message(s)),
        false,
      ),
    );

    await nextEvent(c, "message", (m) => m.seq === 41);
    expect(seen).toEqual([9, 10, ...range(11, 27), ...range(29, 41)]);
    expect(histories).toEqual([]); // its own pages are not the page's history answers
    expect(c.lastSeq).toBe(41);
    expect(conn.received).toHaveLength(2);

    conn.ws.close(1001, "going away");
    expect((await room.connection(3)).url.searchParams.get("since")).toBe("41");
  });

  it("starts over from since when the link drops while it pages back", async () => {
    const c = client();
    const seen = log(c);
    const conn = await resumedAfter10(c);
    send(conn, cutWelcome(40, 35), ...range(36, 40).map((s) => message(s)));
    await request(conn, 1);
    conn.ws.close(1001, "going away");
    // What it held was never handed on, so it resumes where it was.
    const third = await room.connection(3);
    expect(third.url.searchParams.get("since")).toBe("10");
    send(third, welcome(40, 30), ...range(11, 40).map((s) => message(s)));
    await nextEvent(c, "message", (m) => m.seq === 40);
    expect(seen).toEqual(range(9, 40));
    expect(third.received).toEqual([]);
  });

  it("reports one gap when the room trimmed what the replay left out, then the rest in order", async () => {
    const c = client();
    const seen = log(c);
    const conn = await resumedAfter10(c);
    send(conn, cutWelcome(60, 55), ...range(56, 60).map((s) => message(s)));
    const first = await request(conn, 1);
    expect(first).toMatchObject({ before: 56, limit: 46 });
    // The room keeps nothing older than 40: 11-39 are gone.
    send(
      conn,
      history(
        first.id,
        range(40, 55).map((s) => message(s)),
        true,
      ),
    );
    await nextEvent(c, "message", (m) => m.seq === 60);
    expect(seen).toEqual([9, 10, "gap trimmed 10..60", ...range(40, 60)]);
    expect(conn.received).toHaveLength(1);
  });

  it("asks again a little later when the room rate-limits its request, and keeps that to itself", async () => {
    const c = client();
    const seen = log(c);
    const errors = record(c, "error");
    const conn = await resumedAfter10(c);
    send(conn, cutWelcome(40, 30), ...range(31, 40).map((s) => message(s)));
    const first = await request(conn, 1);
    const refused = Date.now();
    send(conn, { type: "error", code: "rate_limited", message: "slow down", id: first.id });
    const again = await request(conn, 2);
    expect(Date.now() - refused).toBeGreaterThanOrEqual(900);
    expect(again).toMatchObject({ type: "history", before: 31, limit: 21 });
    send(
      conn,
      history(
        again.id,
        range(10, 30).map((s) => message(s)),
        false,
      ),
    );
    await nextEvent(c, "message", (m) => m.seq === 40);
    expect(seen).toEqual(range(9, 40));
    expect(errors).toEqual([]);
  });

  it("hands on what it has, with a gap, when the room refuses its request for good", async () => {
    const c = client();
    const seen = log(c);
    const conn = await resumedAfter10(c);
    send(conn, cutWelcome(40, 30), ...range(31, 40).map((s) => message(s)));
    const first = await request(conn, 1);
    send(conn, { type: "error", code: "invalid_frame", message: "no", id: first.id });
    await nextEvent(c, "message", (m) => m.seq === 40);
    expect(seen).toEqual([9, 10, "gap trimmed 10..40", ...range(31, 40)]);
  });

  it("still answers the page's own history requests while it pages back", async () => {
    const c = client();
    const conn = await resumedAfter10(c);
    send(conn, cutWelcome(40, 30), ...range(31, 40).map((s) => message(s)));
    const backfill = await request(conn, 1);
    c.requestHistory({ before: 9, limit: 5 });
    expect(await request(conn, 2)).toEqual({ type: "history", before: 9, limit: 5 });
    const answer = nextEvent(c, "history");
    send(
      conn,
      history(
        undefined,
        range(4, 8).map((s) => message(s)),
        false,
      ),
    );
    expect((await answer).messages.map((m) => m.seq)).toEqual(range(4, 8));
    send(
      conn,
      history(
        backfill.id,
        range(10, 30).map((s) => message(s)),
        false,
      ),
    );
    await nextEvent(c, "message", (m) => m.seq === 40);
  });

  it("asks nothing and reports no gap when a join without since got fewer than it asks for", async () => {
    // Without since a join asks for the room's newest frames: the budget may make them fewer.
    const c = client();
    const seen = log(c);
    c.connect();
    const conn = await room.connection(1);
    send(conn, cutWelcome(100, 90), ...range(91, 100).map((s) => message(s)), message(101));
    await nextEvent(c, "message", (m) => m.seq === 101);
    expect(seen).toEqual(range(91, 101));
    expect(conn.received).toEqual([]);
  });
});

describe("resuming against wrangler dev with a 20 KB replay budget", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startServer({
      vars: {
        MAX_REPLAY_BYTES: "20000",
        HISTORY_LIMIT: "30",
        MAX_SOCKETS_PER_USER: "2",
        // The writer sends as fast as acks come back: the rate limit is not what is tested here.
        RATE_PER_SEC: "1000",
        RATE_BURST: "1000",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A guest who writes `texts` to the room, each acknowledged; returns the seqs. */
  async function write(roomName: string, texts: string[]): Promise<number[]> {
    const w = await WsClient.connect(`${server.wsUrl}/room/${roomName}?name=Writer`);
    await w.expect("welcome");
    const seqs: number[] = [];
    for (const [i, text] of texts.entries()) {
      w.send({ type: "message", data: { text }, id: `w${i}` });
      seqs.push((await w.waitFor((f) => f.type === "ack" && f.id === `w${i}`, `ack w${i}`)).seq);
    }
    w.close();
    return seqs;
  }

  /** What a plain socket resuming after `since` is told, so a test knows the budget cut it. */
  async function replayAfter(roomName: string, since: number) {
    const raw = await WsClient.connect(
      `${server.wsUrl}/room/${roomName}?name=Probe&since=${since}`,
    );
    const w = await raw.expect("welcome");
    raw.close();
    return w.replay as { from: number; count: number; complete: boolean };
  }

  const big = (i: number) => `big ${i} ${"x".repeat(2000)}`;

  it("delivers 25 frames of 2 KB, in order, with no gap and no history event", async () => {
    const r = `node-${crypto.randomUUID()}`;
    const [since] = await write(r, ["before"]);
    const texts = range(1, 25).map(big);
    await write(r, texts);
    const replay = await replayAfter(r, since!);
    expect(replay.complete).toBe(false);
    expect(replay.count).toBeLessThan(10); // 20 KB hold at most 9 of them

    const c = new RoomClient({ url: server.url, room: r, name: "Ann", since });
    clients.push(c);
    const messages = record(c, "message");
    const gaps = record(c, "gap");
    const histories = record(c, "history");
    c.connect();
    await nextEvent(c, "message", (m) => m.data !== null && (m.data as Frame).text === texts[24]);
    expect(messages.map((m) => (m.data as Frame).text)).toEqual(texts);
    expect(messages.map((m) => m.seq)).toEqual(range(since! + 1, since! + 25));
    expect(gaps).toEqual([]);
    expect(histories).toEqual([]);
  });

  it("reports one gap for frames trimmed meanwhile and delivers what the room keeps, in order", async () => {
    const r = `node-${crypto.randomUUID()}`;
    const [since] = await write(r, ["before"]);
    const seqs = await write(r, range(1, 45).map(big)); // HISTORY_LIMIT keeps the newest 30
    const kept = seqs.slice(-30);
    const c = new RoomClient({ url: server.url, room: r, name: "Ann", since });
    clients.push(c);
    const seen = log(c);
    c.connect();
    await nextEvent(c, "message", (m) => m.seq === kept[29]);
    expect(seen).toEqual([`gap trimmed ${since}..${kept[29]}`, ...kept]);
  });

  it("stays closed when the room closes it (4429) for a newer socket of the same guest", async () => {
    const r = `node-${crypto.randomUUID()}`;
    const c = new RoomClient({ url: server.url, room: r, name: "Ann", baseDelayMs: 10 });
    clients.push(c);
    const closed = nextEvent(c, "closed");
    c.connect();
    const { self } = await nextEvent(c, "welcome");
    // Two more sockets of the same guest: the cap is 2, so the oldest (the client's) goes.
    const tabs = [];
    for (let i = 0; i < 2; i++) {
      const tab = await WsClient.connect(`${server.wsUrl}/room/${r}?token=${self.token}`);
      await tab.expect("welcome");
      tabs.push(tab);
    }
    expect(await closed).toMatchObject({ code: 4429, error: "too_many_connections" });
    // Closed for good: no retry timer runs, and the refusal stays on record.
    expect(c.state).toBe("closed");
    expect(c.fatal).toMatchObject({ code: "too_many_connections" });
    for (const tab of tabs) tab.close();
  });
});
