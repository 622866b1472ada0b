/**
 * The browser client (src/client, the source of /rooms-client.js) in Node 22, whose global
 * WebSocket is the same API a browser has. Most tests script a tiny `ws` server so each rule of
 * the state machine can be provoked exactly (a dropped link, a lost ack, a silent peer); the
 * last ones run against a real `wrangler dev`, through a proxy that can cut the link at the
 * worst moment.
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { sign } from "hono/jwt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { closeQuietly, closeReason } from "../../src/client/connect.ts";
import {
  RoomClient,
  backoffDelay,
  parseServerFrame,
  type RoomClientOptions,
} from "../../src/client/index.ts";
import { startServer, type DevServer } from "../e2e/server";
import {
  ScriptedRoom,
  message,
  nextEvent,
  record,
  send,
  welcome,
  withTimeout,
  type Conn,
  type Frame,
} from "./scripted-room";

let room: ScriptedRoom;
const clients: RoomClient[] = [];
/** A client on the scripted room with fast timings; closed after the test. */
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

const ROOT = resolve(import.meta.dirname, "../..");

describe("the pages' scripts", () => {
  it("type-check under strict against the client's source", async () => {
    // tsconfig.public.json resolves the pages' ./rooms-client.js to src/client: a page that
    // uses the client wrongly fails here, with no declarations kept anywhere to go stale.
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    await promisify(execFile)(process.execPath, [tsc, "-p", "tsconfig.public.json"], {
      cwd: ROOT,
    }).catch((e: { stdout?: string }) => {
      throw new Error(`tsc rejected the pages' scripts:\n${e.stdout ?? String(e)}`);
    });
  });
});

describe("backoffDelay (full jitter)", () => {
  it("stays within [0, min(max, base * 2^attempt)) for any random value", () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(15_000, 500 * 2 ** attempt);
      for (const r of [0, 0.25, 0.5, 0.999999, Math.random()]) {
        const d = backoffDelay(attempt, 500, 15_000, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(ceiling);
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it("spreads delays over the whole window instead of a fixed step", () => {
    expect(backoffDelay(3, 500, 15_000, () => 0)).toBe(0);
    expect(backoffDelay(3, 500, 15_000, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, 500, 15_000, () => 0.999)).toBe(3996);
    expect(backoffDelay(1000, 500, 15_000, () => 0.999)).toBe(14_985); // capped, no overflow
  });
});

describe("closing a socket with a reason", () => {
  /** A socket that, like a browser's, throws on a close reason over 123 bytes of UTF-8. */
  const fakeSocket = () => {
    const closed: { code: number; reason: string }[] = [];
    const ws = {
      readyState: 1,
      close(code: number, reason: string) {
        if (new TextEncoder().encode(reason).byteLength > 123) throw new SyntaxError("too long");
        closed.push({ code, reason });
        this.readyState = 3;
      },
    };
    return { ws: ws as unknown as globalThis.WebSocket, closed };
  };

  it("keeps a reason that fits and cuts a long one to 123 bytes of whole characters", () => {
    expect(closeReason("refused")).toBe("refused");
    const ascii = "a".repeat(200);
    expect(closeReason(ascii)).toBe("a".repeat(123));
    const accents = "é".repeat(100); // 2 bytes each: 61 fit
    expect(closeReason(accents)).toBe("é".repeat(61));
    const emoji = "🙂".repeat(40); // 4 bytes each, two UTF-16 units: 30 fit
    expect(closeReason(emoji)).toBe("🙂".repeat(30));
  });

  it("closes a socket even when the reason would be too long for a close frame", () => {
    const { ws, closed } = fakeSocket();
    closeQuietly(ws, 4000, "ü".repeat(120));
    expect(closed).toEqual([{ code: 4000, reason: "ü".repeat(61) }]);
    closeQuietly(ws, 4000, "again"); // already closed: left alone
    expect(closed).toHaveLength(1);
  });
});

describe("RoomClient state machine", () => {
  it("goes connecting → open on welcome → reconnecting when dropped → open → closed", async () => {
    const c = client();
    const states = record(c, "state");
    expect(c.state).toBe("closed"); // not started
    c.connect();
    const first = await room.connection(1);
    expect(c.state).toBe("connecting");
    send(first, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    first.ws.close(1001, "going away");
    await nextEvent(c, "state", (s) => s.state === "reconnecting");
    send(await room.connection(2), welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    c.close();
    expect(states.map((s) => s.state)).toEqual([
      "connecting",
      "open",
      "reconnecting",
      "open",
      "closed",
    ]);
    expect(states[2]).toMatchObject({ code: 1001, reason: "going away", attempt: 1 });
    expect(() => c.send("late")).toThrow(/closed/);
  });

  it("opts into batch=1 and splits batched messages on newlines, ignoring pong", async () => {
    const c = client().connect();
    const messages = record(c, "message");
    const conn = await room.connection(1);
    expect(conn.url.pathname).toBe("/room/r");
    expect(Object.fromEntries(conn.url.searchParams)).toEqual({ name: "Ann", batch: "1" });
    send(conn, welcome(2, 2), message(1), message(2));
    send(conn, "pong");
    send(conn, message(3), "pong", message(4));
    await nextEvent(c, "message", (m) => m.seq === 4);
    expect(messages.map((m) => m.data)).toEqual(["m1", "m2", "m3", "m4"]);
  });

  it("keeps the member list, or only the count while the room is too big to list", async () => {
    const c = client().connect();
    const conn = await room.connection(1);
    const bo = { id: "u2", name: "Bo" };
    send(conn, welcome(0), { type: "presence", action: "join", member: bo, count: 2 });
    await nextEvent(c, "members", (list) => list.length === 2);
    expect([c.count, c.membersListed]).toEqual([2, true]);
    // Above the room's PRESENCE_MAX: counts only, and no list kept that would go stale.
    send(conn, { type: "presence", action: "count", count: 250 });
    await nextEvent(c, "presence", (p) => p.count === 250);
    expect([c.members, c.count, c.membersListed]).toEqual([[], 250, false]);
    // Back at PRESENCE_MAX: the whole list comes with the count, then joins by name again.
    const list = [{ id: "u1", name: "Ann" }, bo];
    send(conn, { type: "presence", action: "count", count: 2, members: list });
    send(conn, { type: "presence", action: "leave", member: bo, count: 1 });
    await nextEvent(c, "presence", (p) => p.action === "leave");
    expect([c.members, c.count, c.membersListed]).toEqual([[list[0]], 1, true]);
  });

  it("joins a big room with members: null", async () => {
    const c = client().connect();
    const conn = await room.connection(1);
    send(conn, welcome(0, 0, { members: null, count: 5000 }));
    await nextEvent(c, "welcome");
    expect([c.members, c.count, c.membersListed]).toEqual([[], 5000, false]);
  });

  it("resumes with since = the last seq seen after every reconnect", async () => {
    const c = client().connect();
    const first = await room.connection(1);
    expect(first.url.searchParams.has("since")).toBe(false);
    send(first, welcome(5, 2), message(4), message(5));
    await nextEvent(c, "message", (m) => m.seq === 5);
    first.ws.close();

    const second = await room.connection(2);
    expect(second.url.searchParams.get("since")).toBe("5");
    // The head (9) is newer than the last replayed frame (8): 6, 7 and 9 are others' directs.
    send(second, welcome(9, 1), message(8));
    await nextEvent(c, "message", (m) => m.seq === 8);
    expect(c.lastSeq).toBe(9);
    second.ws.close();

    const third = await room.connection(3);
    expect(third.url.searchParams.get("since")).toBe("9");
  });

  it("hands each seq to listeners once when a replay overlaps what was already seen", async () => {
    const c = client().connect();
    const messages = record(c, "message");
    const first = await room.connection(1);
    send(first, welcome(2, 2), message(1), message(2));
    send(first, message(3));
    await nextEvent(c, "message", (m) => m.seq === 3);
    first.ws.close();
    // A room that replays too much (or a live frame racing a replay) must not double anything.
    const second = await room.connection(2);
    send(second, welcome(4, 3), message(2), message(3), message(4));
    send(second, message(4), message(5));
    await nextEvent(c, "message", (m) => m.seq === 5);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("queues sends until the room welcomes it and flushes them in order", async () => {
    const c = client();
    const a = c.send({ text: "one" });
    const b = c.sendDirect("u2", { text: "two" });
    c.requestHistory({ before: 10, limit: 5 });
    c.connect();
    const conn = await room.connection(1);
    expect(conn.received).toEqual([]); // nothing goes out before the welcome
    send(conn, welcome(0));
    expect(JSON.parse(await conn.frame(1))).toEqual({
      type: "message",
      data: { text: "one" },
      id: a,
    });
    expect(JSON.parse(await conn.frame(2))).toEqual({
      type: "direct",
      to: "u2",
      data: { text: "two" },
      id: b,
    });
    expect(JSON.parse(await conn.frame(3))).toEqual({ type: "history", before: 10, limit: 5 });
    expect(a).not.toBe(b);
    // Once open, a send goes out at once.
    const d = c.send("three");
    expect(JSON.parse(await conn.frame(4))).toMatchObject({ data: "three", id: d });
  });

  it("re-sends un-acked frames with the same id after a reconnect, until acked", async () => {
    const c = client().connect();
    const first = await room.connection(1);
    send(first, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    const lost = c.send({ text: "ack lost" });
    const acked = c.send({ text: "acked" });
    const sentLost = await first.frame(1);
    await first.frame(2);
    send(first, { type: "ack", id: acked, seq: 2 }); // only the second is acknowledged
    await nextEvent(c, "ack", (a) => a.id === acked);
    expect(c.pending.map((f) => f.id)).toEqual([lost]);
    first.ws.terminate(); // the link dies before the first ack arrives

    const second = await room.connection(2);
    send(second, welcome(2));
    expect(await second.frame(1)).toBe(sentLost); // byte-identical, same id
    send(second, { type: "ack", id: lost, seq: 1 }); // the room remembers the id: same seq
    await nextEvent(c, "ack", (a) => a.id === lost);
    expect(c.pending).toEqual([]);
    second.ws.close();

    const third = await room.connection(3);
    send(third, welcome(2));
    const marker = c.send("marker");
    expect(JSON.parse(await third.frame(1))).toMatchObject({ id: marker }); // nothing re-sent before it
  });

  it("retires its own frame when the echo arrives in a replay, even without the ack", async () => {
    const c = client().connect();
    const first = await room.connection(1);
    send(first, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    const id = c.send("hello");
    await first.frame(1);
    first.ws.terminate();
    const second = await room.connection(2);
    send(second, welcome(1, 1), message(1, "hello", "u1", id));
    await nextEvent(c, "message", (m) => m.id === id);
    expect(c.pending).toEqual([]);
  });

  it("resets the retry count only after a connection stayed up for minUptimeMs", async () => {
    const c = client({ baseDelayMs: 10, maxDelayMs: 1000, minUptimeMs: 150, random: () => 0.999 });
    const delays: number[] = [];
    c.on("state", (s) => s.state === "reconnecting" && delays.push(s.delayMs!));
    c.connect();
    // Three connections welcomed and dropped at once: the backoff keeps growing.
    for (let n = 1; n <= 3; n++) {
      const conn = await room.connection(n);
      send(conn, welcome(0));
      await nextEvent(c, "state", (s) => s.state === "open");
      conn.ws.close();
      await nextEvent(c, "state", (s) => s.state === "reconnecting");
    }
    expect(delays).toEqual([9, 19, 39]);
    // The fourth lasts past minUptimeMs (the wait is the behaviour under test): back to the start.
    const fourth = await room.connection(4);
    send(fourth, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    await new Promise((r) => setTimeout(r, 300));
    fourth.ws.close();
    await nextEvent(c, "state", (s) => s.state === "reconnecting");
    expect(delays).toEqual([9, 19, 39, 9]);
  });

  it("stops for good on an unauthorized error frame and 4401, with the room's reason", async () => {
    const c = client({ token: "expired.jwt.token", baseDelayMs: 1, maxDelayMs: 2 });
    const states = record(c, "state");
    const closed = nextEvent(c, "closed");
    c.connect();
    const conn = await room.connection(1);
    expect(Object.fromEntries(conn.url.searchParams)).toEqual({
      token: "expired.jwt.token",
      batch: "1",
    });
    send(conn, { type: "error", code: "unauthorized", message: "the join token has expired" });
    conn.ws.close(4401, "unauthorized");
    expect(await closed).toMatchObject({
      error: "unauthorized",
      reason: "the join token has expired",
    });
    expect(c.state).toBe("closed");
    expect(c.fatal).toEqual({ code: "unauthorized", message: "the join token has expired" });
    // Proving an absence needs a bounded wait: 50 times the largest backoff.
    await new Promise((r) => setTimeout(r, 100));
    expect(room.conns).toHaveLength(1);
    expect(states.map((s) => s.state)).toEqual(["connecting", "closed"]);
  });

  it("treats a bare 4403 close as final too", async () => {
    const c = client({ baseDelayMs: 1, maxDelayMs: 2 });
    const closed = nextEvent(c, "closed");
    c.connect();
    (await room.connection(1)).ws.close(4403, "forbidden");
    expect(await closed).toMatchObject({ code: 4403, error: "forbidden" });
    await new Promise((r) => setTimeout(r, 100)); // bounded wait to prove no retry
    expect(room.conns).toHaveLength(1);
  });

  it("does not come back when the room closed it (4429) for a newer socket of the same user", async () => {
    // Coming back would close the user's next oldest socket, which would come back too: tabs
    // of one guest would take turns forever.
    const c = client({ baseDelayMs: 1, maxDelayMs: 2 });
    const closed = nextEvent(c, "closed");
    c.connect();
    const conn = await room.connection(1);
    send(conn, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    const text = "at most 10 connections per user here: this one, your oldest, is closed";
    send(conn, { type: "error", code: "too_many_connections", message: text });
    conn.ws.close(4429, "too many connections");
    expect(await closed).toEqual({ code: 4429, error: "too_many_connections", reason: text });

    const bare = client({ baseDelayMs: 1, maxDelayMs: 2 });
    const bareClosed = nextEvent(bare, "closed");
    bare.connect();
    const second = await room.connection(2);
    send(second, welcome(0));
    await nextEvent(bare, "state", (s) => s.state === "open");
    second.ws.close(4429, "too many connections");
    expect(await bareClosed).toMatchObject({ code: 4429, error: "too_many_connections" });
    await new Promise((r) => setTimeout(r, 100)); // bounded wait to prove no retry
    expect(room.conns).toHaveLength(2);
  });

  it("pings on an interval and reconnects when nothing answers", async () => {
    const c = client({ pingIntervalMs: 30, pongTimeoutMs: 60 });
    c.connect();
    const silent = await room.connection(1);
    send(silent, welcome(0));
    const gaveUp = await nextEvent(c, "state", (s) => s.state === "reconnecting");
    expect(gaveUp.reason).toMatch(/ping/);
    expect(silent.received[0]).toBe("ping");

    const lively = await room.connection(2);
    lively.ws.on("message", (d) => d.toString() === "ping" && lively.ws.send("pong"));
    send(lively, welcome(0));
    await lively.frame(5); // five pings, each answered: the connection stays
    expect(lively.received.slice(0, 5)).toEqual(["ping", "ping", "ping", "ping", "ping"]);
    expect(c.state).toBe("open");
    expect(room.conns).toHaveLength(2);
  });

  it("refuses a frame over maxFrameBytes before sending it", () => {
    const c = client({ maxFrameBytes: 100 });
    expect(() => c.send("x".repeat(100))).toThrow(/at most 100/);
    expect(c.pending).toEqual([]);
    expect(() => c.send("x".repeat(50))).not.toThrow();
  });

  it("drops the frame a room closed 1009 for, instead of re-sending it forever", async () => {
    const c = client(); // the room's limit is lower than the client's
    c.connect();
    const first = await room.connection(1);
    send(first, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    const small = c.send("small");
    const big = c.send("y".repeat(5000));
    await first.frame(2);
    const error = nextEvent(c, "error");
    send(first, { type: "error", code: "too_large", message: "frames are limited to 4096 bytes" });
    first.ws.close(1009, "frame too large");
    expect(await error).toMatchObject({ code: "too_large" });
    expect(await nextEvent(c, "error", (e) => e.id !== undefined)).toMatchObject({
      code: "too_large",
      id: big,
    });
    const second = await room.connection(2);
    send(second, welcome(0));
    expect(JSON.parse(await second.frame(1))).toMatchObject({ id: small });
    expect(c.pending.map((f) => f.id)).toEqual([small]);
  });

  it("reports a rate_limited refusal with its frame and does not re-send it", async () => {
    const c = client().connect();
    const conn = await room.connection(1);
    send(conn, welcome(0));
    await nextEvent(c, "state", (s) => s.state === "open");
    const id = c.send({ text: "too fast" });
    await conn.frame(1);
    const error = nextEvent(c, "error");
    send(conn, { type: "error", code: "rate_limited", message: "slow down", id });
    expect(await error).toEqual({
      code: "rate_limited",
      message: "slow down",
      id,
      frame: { type: "message", data: { text: "too fast" }, id },
    });
    expect(c.pending).toEqual([]);
  });

  it("reports a gap when the room's history no longer reaches back to since", async () => {
    const c = client({ since: 3 }).connect();
    const gap = nextEvent(c, "gap");
    const conn = await room.connection(1);
    expect(conn.url.searchParams.get("since")).toBe("3");
    send(conn, welcome(2000, 0, { replay: { from: 3, count: 0, complete: false } }));
    expect(await gap).toEqual({ reason: "trimmed", since: 3, seq: 2000 });
  });

  it("follows a room whose storage was reset instead of ignoring its new frames", async () => {
    const c = client({ since: 50 }).connect();
    const gap = nextEvent(c, "gap");
    const conn = await room.connection(1);
    send(conn, welcome(1, 0, { replay: { from: 50, count: 0, complete: false } }));
    expect(await gap).toEqual({ reason: "reset", since: 50, seq: 1 });
    send(conn, message(2));
    expect((await nextEvent(c, "message")).seq).toBe(2);
  });
});

describe("RoomClient identity: guests and tokens", () => {
  const guest = { id: "guest-k3x9q2m7p4", name: "Ann" };
  const guestWelcome = (token: string, seq = 0) =>
    welcome(seq, 0, { self: { ...guest, token }, members: [guest] });
  const params = (conn: Conn) => Object.fromEntries(conn.url.searchParams);
  /** A client whose onGuestToken calls are recorded, in order. */
  function telling(opts: Partial<RoomClientOptions> = {}) {
    const told: (string | null)[] = [];
    const c = client({ ...opts, onGuestToken: (t) => told.push(t) });
    return { c, told };
  }

  it("never sends a user id, not even when a caller still passes one", async () => {
    // What an older page passes: the room answers a `user` parameter with 400 invalid_user.
    const legacy = { user: "u1", name: "Ann" };
    const c = client(legacy).connect();
    const first = await room.connection(1);
    expect(params(first)).toEqual({ name: "Ann", batch: "1" });
    send(first, guestWelcome("g1"));
    await nextEvent(c, "state", (s) => s.state === "open");
    first.ws.close();
    const second = await room.connection(2);
    expect(second.url.searchParams.has("user")).toBe(false);
    expect(second.url.searchParams.get("token")).toBe("g1");
  });

  it("rejoins with the newest guest token, so a re-sent frame is still its own", async () => {
    const { c, told } = telling();
    const seenInWelcome: (string | null)[] = [];
    c.on("welcome", () => seenInWelcome.push(c.guestToken));
    c.connect();
    const first = await room.connection(1);
    expect(params(first)).toEqual({ name: "Ann", batch: "1" });
    expect(c.guestToken).toBeNull();
    const welcomed = nextEvent(c, "welcome");
    send(first, guestWelcome("g1"));
    expect((await welcomed).self).toEqual({ ...guest, token: "g1" });
    expect(told).toEqual(["g1"]);
    const id = c.send({ text: "not acknowledged yet" });
    const sent = await first.frame(1);
    first.ws.terminate(); // the ack is lost with the link

    // Without the token this would be a new guest, and the re-send a new frame of someone else.
    const second = await room.connection(2);
    expect(params(second)).toEqual({ token: "g1", since: "0", batch: "1" });
    send(second, guestWelcome("g2"));
    expect(await second.frame(1)).toBe(sent);
    expect(c.pending.map((f) => f.id)).toEqual([id]);
    second.ws.close();

    const third = await room.connection(3); // every welcome's token replaces the one before
    expect(third.url.searchParams.get("token")).toBe("g2");
    expect(told).toEqual(["g1", "g2"]);
    expect(seenInWelcome).toEqual(["g1", "g2"]); // the getter is current when listeners run
    expect(c.guestToken).toBe("g2");
  });

  it("joins as the stored guest, and as a new guest once that token is refused as unauthorized", async () => {
    const { c, told } = telling({ guestToken: "stored" });
    const closed = record(c, "closed");
    c.connect();
    expect(c.guestToken).toBe("stored");
    const first = await room.connection(1);
    expect(params(first)).toEqual({ token: "stored", batch: "1" });
    send(first, { type: "error", code: "unauthorized", message: "the guest token has expired" });
    first.ws.close(4401, "unauthorized");

    const second = await room.connection(2);
    expect(params(second)).toEqual({ name: "Ann", batch: "1" });
    expect(told).toEqual([null]); // the page drops its copy
    send(second, guestWelcome("fresh"));
    await nextEvent(c, "state", (s) => s.state === "open");
    expect(told).toEqual([null, "fresh"]);
    expect(c.guestToken).toBe("fresh");
    expect(c.fatal).toBeNull();
    expect(closed).toEqual([]);
  });

  it("forgets a guest token refused by a bare 4401 close too", async () => {
    const { c, told } = telling({ guestToken: "stored" });
    c.connect();
    (await room.connection(1)).ws.close(4401, "unauthorized");
    expect(params(await room.connection(2))).toEqual({ name: "Ann", batch: "1" });
    expect(told).toEqual([null]);
  });

  it("stops for good when a new guest is refused, or a guest token is forbidden here", async () => {
    // A server that vouches for no one: retrying as yet another new guest cannot help.
    const fresh = telling({ baseDelayMs: 1, maxDelayMs: 2 });
    const freshClosed = nextEvent(fresh.c, "closed");
    fresh.c.connect();
    const conn = await room.connection(1);
    send(conn, { type: "error", code: "unauthorized", message: "no JOIN_SECRET" });
    conn.ws.close(4401, "unauthorized");
    expect(await freshClosed).toMatchObject({ error: "unauthorized", reason: "no JOIN_SECRET" });

    // A place that admits no guests: the token is still good elsewhere, so the page keeps it.
    const kept = telling({ room: "private-team", guestToken: "stored", baseDelayMs: 1 });
    const keptClosed = nextEvent(kept.c, "closed");
    kept.c.connect();
    const refused = await room.connection(2);
    expect(params(refused)).toEqual({ token: "stored", batch: "1" });
    send(refused, { type: "error", code: "forbidden", message: "no guests here" });
    refused.ws.close(4403, "forbidden");
    expect(await keptClosed).toMatchObject({ error: "forbidden" });
    expect(kept.told).toEqual([]);
    expect(kept.c.guestToken).toBe("stored");
    await new Promise((r) => setTimeout(r, 100)); // bounded wait to prove no retry
    expect(room.conns).toHaveLength(2);
  });

  it("keeps a backend token over any guest token, and its refusal is final", async () => {
    const { c, told } = telling({ token: "backend.jwt", guestToken: "ignored" });
    const closed = nextEvent(c, "closed");
    c.connect();
    expect(c.guestToken).toBeNull();
    const first = await room.connection(1);
    expect(params(first)).toEqual({ token: "backend.jwt", batch: "1" });
    send(first, guestWelcome("a-guest-token")); // a backend identity is not a guest's
    await nextEvent(c, "state", (s) => s.state === "open");
    first.ws.close();
    const second = await room.connection(2);
    expect(second.url.searchParams.get("token")).toBe("backend.jwt");
    expect(told).toEqual([]);
    send(second, { type: "error", code: "unauthorized", message: "the join token has expired" });
    second.ws.close(4401, "unauthorized");
    expect(await closed).toMatchObject({ error: "unauthorized" });
    expect(told).toEqual([]);
  });
});

describe("RoomClient on a help desk (kind: desk)", () => {
  const kefu = { id: "kefu1", name: "Li" };
  const ann = { id: "c1", name: "Ann" };
  const deskMessage = (seq: number, from: Frame, to: string | null, data: unknown = `d${seq}`) => ({
    ...message(seq, data, from.id),
    from,
    to,
    customer: "c1",
  });

  it("joins /desk/<desk> with role=agent and its token, and reads the desk's frames", async () => {
    const c = client({ kind: "desk", room: "help", role: "agent", token: "agent.jwt" }).connect();
    const conn = await room.connection(1);
    expect(conn.url.pathname).toBe("/desk/help");
    expect(Object.fromEntries(conn.url.searchParams)).toEqual({
      role: "agent",
      token: "agent.jwt",
      batch: "1",
    });
    const welcomed = nextEvent(c, "welcome");
    const assigned = nextEvent(c, "assigned");
    const history = nextEvent(c, "history");
    const messages = record(c, "message");
    const customers = [{ ...ann, online: true }];
    send(
      conn,
      welcome(3, 1, { self: kefu, members: [kefu, ann], customers }),
      deskMessage(3, ann, "kefu1"),
      { type: "assigned", customer: { id: "c2", name: "Bo" }, agent: kefu },
      { type: "history", customer: "c2", messages: [deskMessage(2, ann, null)], complete: true },
    );
    expect((await welcomed).customers).toEqual(customers);
    expect(await assigned).toEqual({
      type: "assigned",
      customer: { id: "c2", name: "Bo" },
      agent: kefu,
    });
    expect(await history).toMatchObject({ customer: "c2", messages: [{ seq: 2, to: null }] });
    expect(messages).toMatchObject([{ seq: 3, to: "kefu1", customer: "c1", data: "d3" }]);
    const closed = nextEvent(c, "conversationClosed");
    send(conn, { type: "closed", customer: ann, agent: kefu });
    expect(await closed).toEqual({ type: "closed", customer: ann, agent: kefu });
    expect(c.state).toBe("open"); // a conversation's end is not the connection's
  });

  it("joins as a customer without a role and hears queued, then assigned", async () => {
    const c = client({ kind: "desk", room: "help", name: "Ann" }).connect();
    const conn = await room.connection(1);
    expect(conn.url.pathname).toBe("/desk/help");
    expect(Object.fromEntries(conn.url.searchParams)).toEqual({ name: "Ann", batch: "1" });
    const queued = record(c, "queued");
    send(conn, welcome(0, 0, { self: ann, members: [ann] }), { type: "queued", position: 2 });
    send(conn, { type: "queued", position: 1 }, { type: "assigned", customer: ann, agent: kefu });
    await nextEvent(c, "assigned");
    expect(queued.map((q) => q.position)).toEqual([2, 1]);
    // A customer writes with plain send: the desk routes it to its agent.
    const id = c.send({ text: "hello" });
    expect(JSON.parse(await conn.frame(1))).toEqual({
      type: "message",
      data: { text: "hello" },
      id,
    });
  });

  it("re-sends an agent's sendTo until acked, but sends transfer and close once", async () => {
    const c = client({ kind: "desk", room: "help", role: "agent", token: "t" });
    const reply = c.sendTo("c1", { text: "how can I help?" });
    const moved = c.transfer("c2", "kefu2");
    const ended = c.closeConversation("c3");
    c.connect();
    const first = await room.connection(1);
    send(first, welcome(0, 0, { self: kefu, members: [kefu], customers: [] }));
    const sentReply = await first.frame(1);
    expect(JSON.parse(sentReply)).toEqual({
      type: "message",
      to: "c1",
      data: { text: "how can I help?" },
      id: reply,
    });
    expect(JSON.parse(await first.frame(2))).toEqual({
      type: "transfer",
      customer: "c2",
      to: "kefu2",
      id: moved,
    });
    expect(JSON.parse(await first.frame(3))).toEqual({ type: "close", customer: "c3", id: ended });
    expect(c.pending.map((f) => f.id)).toEqual([reply]);
    first.ws.close();

    const second = await room.connection(2);
    send(second, welcome(0, 0, { self: kefu, members: [kefu], customers: [] }));
    expect(await second.frame(1)).toBe(sentReply); // only the message goes again
    send(second, { type: "ack", id: reply, seq: 1 });
    await nextEvent(c, "ack");
    const marker = c.send("marker");
    expect(JSON.parse(await second.frame(2))).toMatchObject({ id: marker });
    // A refused transfer is reported with its id, like any refusal.
    const refused = c.transfer("c9", "kefu2");
    expect(JSON.parse(await second.frame(3))).toMatchObject({ type: "transfer", id: refused });
    const error = nextEvent(c, "error");
    send(second, { type: "error", code: "forbidden", message: "not yours", id: refused });
    expect(await error).toEqual({ code: "forbidden", message: "not yours", id: refused });
    expect(c.state).toBe("open"); // forbidden with an id refuses a frame, not the join
  });

  it("ignores malformed desk frames instead of handing them on", () => {
    const bad = [
      { type: "queued", position: 0 },
      { type: "queued", position: "1" },
      { type: "assigned", customer: ann },
      { type: "closed", customer: ann, agent: { id: "kefu1" } },
      { ...deskMessage(1, ann, null), customer: 7 },
      { ...deskMessage(1, ann, null), to: 5 },
      { type: "history", customer: 1, messages: [], complete: true },
      welcome(0, 0, { customers: [{ id: "c1", name: "Ann" }] }),
    ];
    for (const f of bad) expect(parseServerFrame(JSON.stringify(f)), JSON.stringify(f)).toBeNull();
    expect(parseServerFrame(JSON.stringify({ type: "queued", position: 3 }))).toEqual({
      type: "queued",
      position: 3,
    });
  });
});

describe("RoomClient against wrangler dev", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("stops with the server's reason when the room name is refused over HTTP", async () => {
    const c = new RoomClient({ url: server.url, room: "no spaces allowed", baseDelayMs: 5_000 });
    clients.push(c);
    const closed = nextEvent(c, "closed");
    c.connect();
    expect(await closed).toMatchObject({
      error: "invalid_room",
      reason: expect.stringMatching(/\S/), // the server's own sentence, whatever its words
    });
  });

  it("delivers a message exactly once when the link dies between the send and its ack", async () => {
    const r = `node-${crypto.randomUUID()}`;
    const proxy = await CuttingProxy.start(server.wsUrl);
    try {
      const observer = await connectRaw(`${server.wsUrl}/room/${r}?name=Obs`);
      await observer.next((f) => f.type === "welcome");
      // A guest: the re-send is recognised only if the reconnect is the same guest again.
      const c = new RoomClient({
        url: proxy.url,
        room: r,
        name: "Ann",
        baseDelayMs: 10,
        maxDelayMs: 50,
      });
      clients.push(c);
      const messages = record(c, "message");
      c.connect();
      const { self } = await nextEvent(c, "welcome");
      expect(self.id).toMatch(/^guest-/);
      expect(c.guestToken).toBe(self.token);
      proxy.cutAfterNextClientFrame = true;
      // Listened for before anything is sent: the client may hear it before the observer does.
      const acked = nextEvent(c, "ack");
      const id = c.send({ text: "exactly once" });
      // The room stores it (the observer sees it) but the sender's echo and ack are lost.
      const stored = await observer.next((f) => f.type === "message");
      expect(stored).toMatchObject({
        id,
        data: { text: "exactly once" },
        from: { id: self.id, name: "Ann" },
      });
      expect((await acked).id).toBe(id);
      expect(c.self?.id).toBe(self.id);
      expect(proxy.joinUrls.map((u) => u.searchParams.get("token"))).toEqual([null, self.token]);
      expect(c.pending).toEqual([]);
      // The re-send went upstream byte-identical; the room answered it with the first seq.
      const sent = proxy.upstreamFrames.filter((t) => t.includes(id));
      expect(sent).toHaveLength(2);
      expect(sent[1]).toBe(sent[0]);
      expect(messages.filter((m) => m.id === id)).toHaveLength(1);
      expect(messages.find((m) => m.id === id)!.seq).toBe(stored.seq);
      // Room order: the observer's next frame comes after anything the re-send could have made.
      const echoed = nextEvent(c, "message", (m) => m.data === "after");
      observer.ws.send(JSON.stringify({ type: "message", data: "after" }));
      const after = await observer.next((f) => f.type === "message");
      expect(after.data).toBe("after");
      await echoed;
      expect(messages.map((m) => m.data)).toEqual([{ text: "exactly once" }, "after"]);
      observer.ws.close();
    } finally {
      await proxy.stop();
    }
  });

  describe("as a guest", () => {
    /** A client of the real server whose onGuestToken calls are recorded. */
    function guestClient(room: string, opts: Partial<RoomClientOptions> = {}) {
      const told: (string | null)[] = [];
      const c = new RoomClient({
        url: server.url,
        room,
        name: "Ann",
        onGuestToken: (t) => told.push(t),
        ...opts,
      });
      clients.push(c);
      return { c, told };
    }

    it("is the same guest again, in another client, with the token a welcome handed out", async () => {
      const r = `node-${crypto.randomUUID()}`;
      const first = guestClient(r);
      first.c.connect();
      const a = await nextEvent(first.c, "welcome");
      expect(a.self).toMatchObject({ id: expect.stringMatching(/^guest-/), name: "Ann" });
      expect(first.told).toEqual([a.self.token]);
      first.c.close();

      const again = guestClient(r, { name: "ignored with a token", guestToken: a.self.token! });
      again.c.connect();
      const b = await nextEvent(again.c, "welcome");
      expect(b.self).toMatchObject({ id: a.self.id, name: "Ann" });
      expect(b.self.token).toEqual(expect.any(String)); // a fresh one, to store in its place
      expect(again.told).toEqual([b.self.token]);
    });

    it("drops a guest token the server cannot verify and comes in as a new guest", async () => {
      const r = `node-${crypto.randomUUID()}`;
      // A guest token signed with another secret: what a page holds after the secret is rotated.
      const stale = await sign(
        {
          sub: "guest-abcdefghijklmnop",
          name: "Ann",
          role: "guest",
          room: "*",
          desk: "*",
          exp: Math.floor(Date.now() / 1000) + 600,
        },
        "a-secret-this-server-never-had",
        "HS256",
      );
      const { c, told } = guestClient(r, { guestToken: stale });
      const states = record(c, "state");
      c.connect();
      const w = await nextEvent(c, "welcome");
      expect(w.self.id).toMatch(/^guest-/);
      expect(w.self.id).not.toBe("guest-abcdefghijklmnop");
      expect(w.self.name).toBe("Ann");
      expect(told).toEqual([null, w.self.token]);
      expect(states.map((s) => s.state)).toEqual(["connecting", "reconnecting", "open"]);
    });
  });
});

/** A raw `ws` connection that lets a test await frames (batching off: one frame a message). */
async function connectRaw(url: string) {
  const ws = new WebSocket(url);
  const queue: Frame[] = [];
  const waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  ws.on("message", (d) => {
    const f = JSON.parse(d.toString()) as Frame;
    const i = waiters.findIndex((w) => w.match(f));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(f);
    else queue.push(f);
  });
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  return {
    ws,
    next(match: (f: Frame) => boolean): Promise<Frame> {
      const i = queue.findIndex(match);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
      return withTimeout(new Promise((resolve) => waiters.push({ match, resolve })), "a frame");
    },
  };
}

/**
 * A WebSocket proxy in front of the real server that can kill the client's link right after
 * forwarding one client frame, so the room stores it but the answer never comes back: the
 * one case a client cannot tell from "never arrived".
 */
class CuttingProxy {
  cutAfterNextClientFrame = false;
  readonly upstreamFrames: string[] = [];
  /** The URL of every join that went through, in order. */
  readonly joinUrls: URL[] = [];
  #wss: WebSocketServer;

  private constructor(wss: WebSocketServer, target: string) {
    this.#wss = wss;
    wss.on("connection", (down, req) => {
      this.joinUrls.push(new URL(req.url!, target));
      const up = new WebSocket(`${target}${req.url}`);
      const early: string[] = [];
      up.on("open", () => early.splice(0).forEach((t) => up.send(t)));
      up.on("message", (d) => down.readyState === WebSocket.OPEN && down.send(d.toString()));
      up.on("close", () => down.terminate());
      up.on("error", () => down.terminate());
      down.on("message", (d) => {
        const text = d.toString();
        if (text !== "ping") this.upstreamFrames.push(text);
        if (up.readyState === WebSocket.OPEN) up.send(text);
        else early.push(text);
        if (this.cutAfterNextClientFrame && text !== "ping") {
          this.cutAfterNextClientFrame = false;
          down.terminate(); // the client hears nothing more on this link
        }
      });
      down.on("close", () => up.close());
    });
  }

  static async start(target: string): Promise<CuttingProxy> {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    return new CuttingProxy(wss, target);
  }

  get url(): string {
    const addr = this.#wss.address();
    return `ws://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
  }

  async stop(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    await new Promise((r) => this.#wss.close(r));
  }
}
