/**
 * Raw sockets: what a Django Channels page opens (`/room/<room>/`, or `?format=raw`). Its text
 * frames become group messages with that text as their `data`; it receives only the data of the
 * frames it may see (a string as it is, other JSON as its text), one per WebSocket message, and
 * no protocol frame at all. Shown beside JSON and batch=1 members of the same room, across
 * hibernation, under the limits and the publish hook, and with the room's cost counted: nothing
 * is serialized a second time unless a raw socket is there. Absence of a message is proven by
 * ordering (the next message is a later one), never by a sleep.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { attachment, readAttachment } from "../src/objects/members";
import { NO_DATA, Outbox, type Recipient } from "../src/objects/outbox";
import type { Room } from "../src/objects/room";
import { verifyWebhook, type RoomEvent } from "../src/protocol";
import { type Frame, open as openJson, uniqueRoom, vouched } from "./helpers";

const WAIT_MS = 5000;
/** vitest.config.ts lowers MAX_FRAME_BYTES for tests. */
const MAX_FRAME_BYTES = 4096;
const RATE_BURST = 40;

/** A raw socket as a page holds one: every WebSocket message as the text it is. */
class RawClient {
  readonly got: string[] = [];
  #read = 0;
  #wake: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
    });
    ws.addEventListener("message", (e) => {
      this.got.push(
        typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer),
      );
      for (const w of this.#wake.splice(0)) w();
    });
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** The next message not yet read, in arrival order. */
  async next(timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.got.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got so far: ${JSON.stringify(this.got)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.got[this.#read++]!;
  }

  async take(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed by the server, which some tests expect
    }
  }
}

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
  vi.restoreAllMocks();
});

/** The URL a tutorial page opens: `/room/<room>/`, or `form: "query"` for `/room/<room>?format=raw`. */
function rawUrl(room: string, params: Record<string, string>, form: "slash" | "query"): string {
  const qs = new URLSearchParams(form === "query" ? { ...params, format: "raw" } : params);
  const q = qs.toString();
  return `https://rooms.test/room/${room}${form === "slash" ? "/" : ""}${q ? `?${q}` : ""}`;
}

/** Upgrades to a raw socket (`user` in params: a join token for that user, as in helpers.ts). */
async function raw(
  room: string,
  params: Record<string, string> = {},
  form: "slash" | "query" = "slash",
): Promise<RawClient> {
  const url = rawUrl(room, await vouched(params, "room"), form);
  const res = await exports.default.fetch(url, { headers: { Upgrade: "websocket" } });
  if (res.status !== 101 || res.webSocket === null) {
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  }
  const client = new RawClient(res.webSocket);
  opened.push(client);
  return client;
}

async function join(room: string, params: Record<string, string> = {}) {
  const client = await openJson(room, params);
  opened.push(client);
  const welcome = await client.expect("welcome", WAIT_MS);
  return { client, welcome };
}

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms),
    ),
  ]);
}

const stub = (room: string) => env.ROOMS.getByName(room);

const pushed = (id: string, data: unknown, extra: Partial<RoomEvent> = {}): RoomEvent => ({
  id,
  event: "update",
  data,
  to: null,
  store: true,
  ...extra,
});

/** What a raw socket is owed for a data frame: a string as it is, other JSON as its text. */
const asRaw = (data: unknown) => (typeof data === "string" ? data : JSON.stringify(data));

const isData = (f: Frame) => f.type === "message" || f.type === "direct" || f.type === "event";

describe("raw sockets: joining", () => {
  it("joins /room/<room>/ as a guest of the same room as /room/<room>: counted in presence, sent no welcome", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann", name: "Ann" });
    const r = await raw(room, { name: "Zed" });
    const joined = await ann.expect("presence", WAIT_MS);
    expect(joined).toMatchObject({ action: "join", member: { name: "Zed" }, count: 2 });
    expect(joined.member.id).toMatch(/^guest-/);
    expect(await stub(room).apiInfo()).toMatchObject({ members: 2, sockets: 2 });

    // A later JSON joiner's welcome lists it; the raw socket hears of that joiner nothing.
    const { welcome } = await join(room, { user: "bo" });
    expect(welcome.members.map((m: Frame) => m.id).sort()).toEqual(
      ["ann", "bo", joined.member.id].sort(),
    );
    ann.send({ type: "message", data: "first", id: "m1" });
    // Its first WebSocket message is that data: no welcome, presence or replay came before.
    expect(await r.next()).toBe("first");

    r.close();
    expect(
      await ann.waitFor((f) => f.type === "presence" && f.action === "leave", "leave"),
    ).toMatchObject({
      member: { id: joined.member.id, name: "Zed" },
      count: 2,
    });
  });

  it("joins /room/<room>?format=raw as a raw socket too; both forms share the room", async () => {
    const room = uniqueRoom();
    const slash = await raw(room, {}, "slash");
    const query = await raw(room, {}, "query");
    slash.send("from the slash form");
    query.send("from the query form");
    const order = await slash.take(2);
    expect([...order].sort()).toEqual(["from the query form", "from the slash form"]);
    expect(await query.take(2)).toEqual(order);
  });

  it("stores every text it sends as a group message with that text as a string, unparsed", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    const guest = (await ann.expect("presence", WAIT_MS)).member;
    const texts = ["23423423", '{"type":"message","data":1,"id":"x"}', "two\nlines", "", "ping!"];
    for (const t of texts) r.send(t);
    for (const [i, t] of texts.entries()) {
      const f = await ann.expect("message", WAIT_MS);
      expect(f).toEqual({ type: "message", seq: i + 1, from: guest, data: t, ts: f.ts });
    }
    // Its own texts come back to it, each in one WebSocket message, and nothing else (no ack).
    expect(await r.take(texts.length)).toEqual(texts);
    // Stored: a later member's replay has them, as strings.
    const { client: late, welcome } = await join(room, { user: "late" });
    expect(welcome.replay.count).toBe(texts.length);
    for (const t of texts) expect((await late.expect("message", WAIT_MS)).data).toBe(t);
  });

  it("gets pong for the keep-alive text ping, which is not stored", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    await ann.expect("presence", WAIT_MS);
    r.send("ping");
    expect(await r.next()).toBe("pong");
    r.send("pingpong");
    expect(await ann.expect("message", WAIT_MS)).toMatchObject({ seq: 1, data: "pingpong" });
    expect(await r.next()).toBe("pingpong");
  });

  it("answers an unknown format, or batch or since on a raw join, with a 400 JSON error", async () => {
    const room = uniqueRoom();
    const get = (url: string) => exports.default.fetch(url, { headers: { Upgrade: "websocket" } });
    for (const url of [
      `https://rooms.test/room/${room}?format=bogus`,
      `https://rooms.test/room/${room}/?format=bogus`,
      `https://rooms.test/room/${room}?format=json`,
    ]) {
      const res = await get(url);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_format" });
    }
    let res = await get(`https://rooms.test/room/${room}/?batch=1`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_batch" });
    res = await get(`https://rooms.test/room/${room}?format=raw&since=3`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_since" });
    res = await get(`https://rooms.test/desk/${room}?format=raw`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "invalid_format" });
  });
});

describe("raw sockets: refusals", () => {
  it("closes a refused raw join 4403 or 4401 without the error frame a JSON join gets", async () => {
    // A personal room admits only its user: another user is refused 4403, a guest 4401.
    const other = await raw("user-42", { user: "43" });
    expect((await within(other.closed, "close 4403")).code).toBe(4403);
    expect(other.got).toEqual([]);
    const guest = await raw("user-42");
    expect((await within(guest.closed, "close 4401")).code).toBe(4401);
    expect(guest.got).toEqual([]);
    const json = await openJson("user-42", { user: "43" });
    expect(await json.expect("error", WAIT_MS)).toMatchObject({ code: "forbidden" });
    expect((await within(json.closed, "close 4403")).code).toBe(4403);

    const badToken = await raw(uniqueRoom(), { token: "not-a-token" }, "query");
    expect((await within(badToken.closed, "close 4401")).code).toBe(4401);
    expect(badToken.got).toEqual([]);
  });

  it("closes a raw join the room itself refuses (a ban) 4403, without a frame", async () => {
    const room = uniqueRoom();
    await stub(room).apiKick({ user: "eve", reason: "spam", banSec: 600 });
    const eve = await raw(room, { user: "eve" });
    expect((await within(eve.closed, "close 4403")).code).toBe(4403);
    expect(eve.got).toEqual([]);
  });
});

describe("raw sockets: what they receive", () => {
  it("gets its own form of the frames a JSON and a batch=1 member get, in the same order", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const { client: bo } = await join(room, { user: "bo", batch: "1" });
    const r = await raw(room);
    await ann.expect("presence", WAIT_MS);
    const guest = (await ann.expect("presence", WAIT_MS)).member;
    await bo.expect("presence", WAIT_MS);

    ann.send({ type: "message", data: { text: "hi" }, id: "m1" });
    ann.send({ type: "message", data: "two\nlines", id: "m2" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "m2", "ack m2");
    // One RPC, one turn: bo gets these in one batched message, the raw socket one by one.
    await stub(room).publish("p1", [
      pushed("e1", "tick"),
      pushed("e2", { name: "234" }),
      pushed("e3", [1, 2], { store: false }),
      pushed("e4", 42),
      pushed("e5", { only: "bo" }, { to: "bo" }),
      pushed("e6", null),
    ]);
    r.send("23423423");
    // Its echo has come back (read without taking it), so it is stored before what follows.
    await vi.waitFor(() => expect(r.got).toContain("23423423"), { timeout: WAIT_MS });
    // A protocol frame in between: a new member's presence (the raw socket never sees it).
    await join(room, { user: "cy" });
    ann.send({ type: "message", data: 7.5, id: "m3" });

    // Ann's data frames, in her order; bo's are the same plus the one event only for him.
    const annData: Frame[] = [];
    while (annData.length < 9) {
      const f = await ann.next(WAIT_MS);
      if (isData(f)) annData.push(f);
    }
    const boData: Frame[] = [];
    while (boData.length < 10) {
      const f = await bo.next(WAIT_MS);
      if (isData(f)) boData.push(f);
    }
    expect(boData.filter((f) => f.id !== "e5")).toEqual(annData);
    expect(bo.raw.some((m) => m.split("\n").filter((l) => l.includes('"event"')).length > 1)).toBe(
      true,
    );
    // The raw socket: exactly the data of those frames, in that order, one WebSocket message each.
    const expected = annData.map((f) => asRaw(f.data));
    expect(expected).toEqual([
      '{"text":"hi"}',
      "two\nlines",
      "tick",
      '{"name":"234"}',
      "[1,2]",
      "42",
      "null",
      "23423423",
      "7.5",
    ]);
    expect(await r.take(expected.length)).toEqual(expected);
    expect(annData.find((f) => f.data === "23423423")).toMatchObject({ from: guest });
    // And nothing more: the next thing it gets is the next data frame.
    ann.send({ type: "message", data: "end" });
    expect(await r.next()).toBe("end");
  });

  it("gets directs addressed to its user (data only), never others' directs", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const bo = await raw(room, { user: "bo" });
    const cy = await raw(room);
    await ann.expect("presence", WAIT_MS);
    const cyId = (await ann.expect("presence", WAIT_MS)).member.id as string;

    ann.send({ type: "direct", to: "bo", data: "psst", id: "d1" });
    ann.send({ type: "direct", to: cyId, data: { for: "cy" }, id: "d2" });
    ann.send({ type: "direct", to: "nobody", data: "lost", id: "d3" });
    ann.send({ type: "message", data: "all", id: "m1" });
    expect(await bo.take(2)).toEqual(["psst", "all"]);
    expect(await cy.take(2)).toEqual(['{"for":"cy"}', "all"]);
  });

  it("gets pushed events as their data: to everyone, or to its user only", async () => {
    const room = uniqueRoom();
    const bo = await raw(room, { user: "bo" });
    const cy = await raw(room);
    const results = await stub(room).publish("p1", [
      pushed("e1", "hello"),
      pushed("e2", { name: "234" }),
      pushed("e3", { secret: 1 }, { to: "bo" }),
      pushed("e4", "live", { store: false }),
    ]);
    expect(results.results.map((x) => x.delivered)).toEqual([2, 2, 1, 2]);
    expect(await bo.take(4)).toEqual(["hello", '{"name":"234"}', '{"secret":1}', "live"]);
    expect(await cy.take(3)).toEqual(["hello", '{"name":"234"}', "live"]);
  });
});

describe("raw sockets: limits", () => {
  it("drops frames over the rate silently and keeps the socket", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    await ann.expect("presence", WAIT_MS);
    const SENT = RATE_BURST + 5;
    for (let i = 0; i < SENT; i++) r.send(`r${i}`);
    // The bucket refills at RATE_PER_SEC (20/s): after a pause, one more text passes, and on
    // one socket it comes after the whole burst, so it marks the end of what was stored.
    await new Promise((resolve) => setTimeout(resolve, 200));
    r.send("after");
    const stored: string[] = [];
    for (;;) {
      const f = await ann.expect("message", WAIT_MS);
      if (f.data === "after") break;
      stored.push(f.data as string);
    }
    expect(stored.length).toBeGreaterThanOrEqual(RATE_BURST);
    expect(stored.length).toBeLessThan(SENT);
    expect(stored.slice(0, RATE_BURST)).toEqual(
      Array.from({ length: RATE_BURST }, (_, i) => `r${i}`),
    );
    // Exactly its stored texts, then ann's: no error frame among them.
    expect(await r.take(stored.length + 1)).toEqual([...stored, "after"]);
  });

  it("closes a sustained flood 1008, with no error frame", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    await ann.expect("presence", WAIT_MS);
    for (let i = 0; i < 200; i++) r.send(`f${i}`);
    expect((await within(r.closed, "close 1008")).code).toBe(1008);
    expect(r.got.every((t) => /^f\d+$/.test(t))).toBe(true);
  });

  it("closes a frame over MAX_FRAME_BYTES 1009, with no error frame", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    await ann.expect("presence", WAIT_MS);
    r.send("x".repeat(MAX_FRAME_BYTES + 1));
    expect((await within(r.closed, "close 1009")).code).toBe(1009);
    expect(r.got).toEqual([]);
    expect(await ann.expect("presence", WAIT_MS)).toMatchObject({ action: "leave", count: 1 });
  });
});

describe("raw sockets: the publish hook", () => {
  it("asks the backend about a raw text like any message; a refusal is a silent drop", async () => {
    const testEnv = env as Env;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input as RequestInfo, init);
      if (req.url !== testEnv.PUBLISH_HOOK_URL) return new Response("no", { status: 404 });
      const body = new Uint8Array(await req.arrayBuffer());
      const now = Math.floor(Date.now() / 1000);
      const check = await verifyWebhook(testEnv.HOOK_SECRET!, req.headers, body, now);
      if (!check.ok) return new Response("bad signature", { status: 401 });
      const asked = JSON.parse(new TextDecoder().decode(body)) as Frame;
      if (asked.data === "bad word") return Response.json({ message: "no" }, { status: 403 });
      if (asked.data === "rewrite me") return Response.json({ data: { clean: true } });
      return Response.json({});
    });
    const room = `published-${crypto.randomUUID()}`;
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    await ann.expect("presence", WAIT_MS);
    r.send("bad word");
    r.send("rewrite me");
    r.send("fine");
    expect(await r.take(2)).toEqual(['{"clean":true}', "fine"]);
    expect((await ann.expect("message", WAIT_MS)).data).toEqual({ clean: true });
    expect(await ann.expect("message", WAIT_MS)).toMatchObject({ seq: 2, data: "fine" });
  });
});

describe("raw sockets: hibernation", () => {
  it("still sends and receives, and still gets no protocol frame, after the room is evicted", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    const r = await raw(room);
    const guest = (await ann.expect("presence", WAIT_MS)).member;
    r.send("before");
    expect(await r.next()).toBe("before");
    await ann.expect("message", WAIT_MS);

    await evictDurableObject(stub(room));
    r.send("after eviction");
    expect(await ann.expect("message", WAIT_MS)).toMatchObject({
      seq: 2,
      from: guest,
      data: "after eviction",
    });
    expect(await r.next()).toBe("after eviction");

    await evictDurableObject(stub(room));
    await join(room, { user: "cy" }); // a presence frame the raw socket must not get
    ann.send({ type: "message", data: { back: true }, id: "m" });
    expect(await r.next()).toBe('{"back":true}');
    await evictDurableObject(stub(room));
    await stub(room).publish("p", [pushed("e", "pushed after eviction")]);
    expect(await r.next()).toBe("pushed after eviction");
  });
});

describe("raw sockets: what they cost the room", () => {
  /** Data whose serializations are counted: JSON.stringify calls toJSON once each time. */
  const counted = () => {
    const data = {
      calls: 0,
      toJSON() {
        data.calls++;
        return { n: 1 };
      },
    };
    return data;
  };

  class FakeSocket {
    readonly sent: string[] = [];
    send(text: string): void {
      this.sent.push(text);
    }
  }
  const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

  it("outbox: never serializes data without a raw socket; once per frame with several", async () => {
    const [plain, batched, raw1, raw2] = [0, 1, 2, 3].map(() => new FakeSocket());
    const s = (f: FakeSocket) => f as unknown as WebSocket;
    const members = new Map<WebSocket, Recipient>([
      [s(plain!), { batch: false }],
      [s(batched!), { batch: true }],
    ]);
    let raws = 0;
    const outbox = new Outbox(
      members,
      () => {},
      () => raws > 0,
    );
    const without = counted();
    outbox.broadcast('{"f":1}', undefined, without);
    await nextTurn();
    expect(without.calls).toBe(0);

    members.set(s(raw1!), { batch: false, raw: true });
    members.set(s(raw2!), { batch: false, raw: true });
    raws = 2;
    const first = counted();
    const second = counted();
    outbox.broadcast('{"f":2}', undefined, first);
    outbox.broadcast('{"presence":1}'); // a protocol frame: NO_DATA
    outbox.send(s(raw1!), '{"ack":1}', false); // a protocol frame for one socket
    outbox.broadcast('{"f":3}', s(plain!), second);
    await nextTurn();
    expect([first.calls, second.calls]).toEqual([1, 1]);
    expect(raw1!.sent).toEqual(['{"n":1}', '{"n":1}']);
    expect(raw2!.sent).toEqual(raw1!.sent);
    expect(plain!.sent).toEqual(['{"f":1}', '{"f":2}', '{"presence":1}']);
    expect(batched!.sent).toEqual(['{"f":1}', '{"f":2}\n{"presence":1}\n{"f":3}']);
    expect(NO_DATA).toBeTypeOf("symbol");
  });

  it("room: a push is serialized once without raw sockets, twice with two of them", async () => {
    const room = uniqueRoom();
    const { client: ann } = await join(room, { user: "ann" });
    await join(room, { user: "bo", batch: "1" });
    const publish = (data: unknown, to: string | null = null) =>
      runInDurableObject(stub(room) as DurableObjectStub<Room>, (object: Room) =>
        object.publish(crypto.randomUUID(), [pushed(crypto.randomUUID(), data, { to })]),
      );
    const alone = counted();
    await publish(alone);
    expect(alone.calls).toBe(1); // the frame itself, stored and sent as it is

    const r1 = await raw(room, { user: "rae" });
    const r2 = await raw(room, { user: "rae" });
    await raw(room);
    const shared = counted();
    await publish(shared);
    expect(shared.calls).toBe(2); // the frame, and its data once for three raw sockets
    const direct = counted();
    await publish(direct, "rae");
    expect(direct.calls).toBe(2); // one user's two raw sockets: still once
    expect(await r1.take(2)).toEqual(['{"n":1}', '{"n":1}']);
    expect(await r2.take(2)).toEqual(['{"n":1}', '{"n":1}']);
    await ann.waitFor((f) => f.type === "event" && f.seq === 2, "the second push");
  });
});

describe("raw sockets: attachments", () => {
  const socket = (a: unknown) => ({ deserializeAttachment: () => a }) as unknown as WebSocket;

  it("keeps raw in the socket's attachment, and reads one written before raw sockets as JSON", () => {
    expect(readAttachment(socket(attachment("bo", "Bo", false, "member", true)))?.raw).toBe(true);
    expect(readAttachment(socket(attachment("bo", "Bo", false, "member")))?.raw).toBeUndefined();
    const old = readAttachment(
      socket({ v: 1, id: "ann", name: "Ann", batch: true, role: "member" }),
    );
    expect(old).toMatchObject({ id: "ann", name: "Ann", batch: true, role: "member" });
    expect(old?.raw).toBeUndefined();
  });
});
