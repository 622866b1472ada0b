/**
 * The server API (docs/protocol.md, "The server API"), through the Worker's own fetch handler
 * with real sockets in the rooms and desks: each call's answer, each refusal with its exact
 * status and JSON body, kicks as the kicked socket sees them, bans across hibernation and after
 * they expire, the registry behind `list` (its lag within PRESENCE_COUNT_MS, right after it, kept
 * across hibernation, corrected by its own alarm), and the log lines operators read.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import app from "../src/index";
import { REGISTRY_NAME } from "../src/objects/registry";
import { signWebhook } from "../src/protocol/webhook";
import { Client, captureLogs, join, vouched } from "./helpers";

const API = "https://rooms.test/api";
const MAX_PUSH_BYTES = 16384; // vitest.config.ts lowers the default for these tests
const PRESENCE_COUNT_MS = Number(env.PRESENCE_COUNT_MS); // 300 in vitest.config.ts (2000 in wrangler.toml)

const opened: Client[] = [];
const logs = captureLogs();
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

const pushSecret = () => (env as Env).PUSH_SECRET!;
const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** POSTs a body signed with PUSH_SECRET (or `secret`) to /api/<path>. */
async function call(path: string, body: unknown, secret = pushSecret()) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers = await signWebhook(secret, `msg_${crypto.randomUUID()}`, text);
  const res = await exports.default.fetch(`${API}/${path}`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: text,
  });
  return {
    status: res.status,
    type: res.headers.get("Content-Type"),
    json: (await res.json()) as Json,
  };
}

/** A call that must answer 200; its JSON. */
async function ok(path: string, body: unknown): Promise<Json> {
  const res = await call(path, body);
  expect(res, JSON.stringify(res.json)).toMatchObject({ status: 200 });
  return res.json;
}

async function member(room: string, user: string, name = user) {
  const joined = await join(room, { user, name });
  opened.push(joined.client);
  return joined.client;
}

/** Opens a socket to a room or desk and returns it unwelcomed (a refused one gets an error). */
async function connect(kind: "room" | "desk", place: string, params: Record<string, string>) {
  const qs = new URLSearchParams(await vouched(params, kind)).toString();
  const res = await exports.default.fetch(`https://rooms.test/${kind}/${place}?${qs}`, {
    headers: { Upgrade: "websocket" },
  });
  expect(res.status).toBe(101);
  const client = new Client(res.webSocket!);
  opened.push(client);
  return client;
}

async function deskAgent(desk: string, id: string) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const token = await sign(
    { sub: id, name: `Agent ${id}`, desk, role: "agent", exp },
    env.JOIN_SECRET!,
    "HS256",
  );
  const client = await connect("desk", desk, { role: "agent", token });
  await client.expect("welcome");
  return client;
}

/** Waits until `list` answers `want` for the rooms with this prefix; every wait has a deadline. */
async function listUntil(
  kind: "rooms" | "desks",
  prefix: string,
  want: Json[],
  ms = 4 * PRESENCE_COUNT_MS,
) {
  const deadline = Date.now() + ms;
  let last: Json;
  for (;;) {
    last = (await ok(`${kind}/list`, { prefix }))[kind];
    if (JSON.stringify(last) === JSON.stringify(want)) return;
    if (Date.now() > deadline)
      throw new Error(`list still ${JSON.stringify(last)}, not ${JSON.stringify(want)}`);
    // The registry is told in the background: there is no event to await from here.
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("server API: signed like /push", () => {
  const CALLS = ["info", "list", "members", "history", "kick"];

  it("refuses every call with a wrong signature: 401 bad_signature, JSON", async () => {
    for (const kind of ["rooms", "desks"]) {
      for (const c of CALLS) {
        const res = await call(
          `${kind}/${c}`,
          { room: "lobby" },
          `whsec_${btoa("not the secret")}`,
        );
        expect(res.status).toBe(401);
        expect(res.type).toContain("application/json");
        expect(res.json).toMatchObject({ error: "bad_signature" });
        expect(typeof res.json.message).toBe("string");
      }
    }
    const unsigned = await exports.default.fetch(`${API}/rooms/info`, {
      method: "POST",
      body: JSON.stringify({ rooms: ["lobby"] }),
    });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: "bad_signature" });
  });

  it("refuses a body over MAX_PUSH_BYTES: 413 too_large", async () => {
    const big = JSON.stringify({ rooms: ["lobby"], pad: "x".repeat(MAX_PUSH_BYTES) });
    const res = await call("rooms/info", big);
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      error: "too_large",
      message: `signed bodies are limited to ${MAX_PUSH_BYTES} bytes`,
    });
  });

  it("answers 503 push_disabled without a PUSH_SECRET", async () => {
    const body = JSON.stringify({ rooms: ["lobby"] });
    const headers = await signWebhook(pushSecret(), "msg_1", body);
    const res = await app.fetch(
      new Request(`${API}/rooms/info`, { method: "POST", headers, body }),
      {
        ...env,
        PUSH_SECRET: undefined,
      },
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: "push_disabled",
      message: "signed requests are disabled: no PUSH_SECRET is configured",
    });
  });

  it("refuses malformed bodies and limits with 400 invalid_body naming the field", async () => {
    const room = "lobby";
    const bad: [string, unknown, RegExp][] = [
      ["rooms/info", "not json", /UTF-8 JSON/],
      ["rooms/info", [], /JSON object/],
      ["rooms/info", {}, /"rooms" must be an array of 1-100/],
      ["rooms/info", { rooms: [] }, /"rooms" must be an array of 1-100/],
      ["rooms/info", { rooms: Array.from({ length: 101 }, (_, i) => `r${i}`) }, /1-100/],
      ["rooms/info", { rooms: ["bad room"] }, /"rooms"\[0\]/],
      ["rooms/info", { rooms: [room], extra: 1 }, /unknown field "extra"/],
      ["rooms/list", { prefix: "no spaces" }, /"prefix"/],
      ["rooms/list", { prefix: 7 }, /"prefix"/],
      ["rooms/members", {}, /"room" must be/],
      ["rooms/members", { room, limit: 0 }, /"limit" must be an integer from 1 to 1000/],
      ["rooms/members", { room, limit: 1001 }, /from 1 to 1000/],
      ["rooms/members", { room, after: 5 }, /"after"/],
      ["rooms/history", { room, limit: 101 }, /"limit" must be an integer from 1 to 100/],
      ["rooms/history", { room, before: 0 }, /"before"/],
      ["rooms/history", { room, before: "9" }, /"before"/],
      ["rooms/kick", { room }, /"user"/],
      ["rooms/kick", { room, user: "bad user" }, /"user"/],
      ["rooms/kick", { room, user: "42", ban_sec: 0 }, /"ban_sec"/],
      ["rooms/kick", { room, user: "42", ban_sec: 1.5 }, /"ban_sec"/],
      ["rooms/kick", { room, user: "42", ban_sec: 10 * 365 * 86400 + 1 }, /"ban_sec"/],
      ["rooms/kick", { room, user: "42", reason: "x".repeat(501) }, /"reason"/],
      ["rooms/kick", { room, user: "42", ban: 600 }, /unknown field "ban"/],
      ["desks/members", { room }, /unknown field "room"/],
      ["desks/info", { rooms: [room] }, /unknown field "rooms"/],
    ];
    for (const [path, body, message] of bad) {
      const res = await call(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json.error).toBe("invalid_body");
      expect(res.json.message).toMatch(message);
    }
  });

  it("answers 404 for other methods and other calls", async () => {
    const get = await exports.default.fetch(`${API}/rooms/info`);
    expect(get.status).toBe(404);
    expect((await call("rooms/nothing", {})).status).toBe(404);
    expect((await call("chats/info", { rooms: ["a"] })).status).toBe(404);
  });
});

describe("server API: info, members, history", () => {
  it("answers info for several rooms at once; a room never used is empty with seq 0", async () => {
    const busy = unique("info");
    const never = unique("never");
    const ann = await member(busy, "ann");
    await member(busy, "ann"); // a second tab: one member, two sockets
    await member(busy, "bob");
    ann.send({ type: "message", data: "hi", id: "m1" });
    await ann.waitFor((f) => f.type === "ack");
    const json = await ok("rooms/info", { rooms: [busy, never, busy] });
    expect(json).toEqual({
      rooms: {
        [busy]: { occupied: true, members: 2, sockets: 3, seq: 1, shards: 1 },
        [never]: { occupied: false, members: 0, sockets: 0, seq: 0, shards: 1 },
      },
    });
  });

  it("pages members in id order with their socket counts; next is the last id, then null", async () => {
    const room = unique("members");
    for (const id of ["carol", "ann", "dave", "bob"]) await member(room, id, id.toUpperCase());
    await member(room, "bob", "Bobby"); // bob's second socket keeps the name bob joined with
    const first = await ok("rooms/members", { room, limit: 2 });
    expect(first).toEqual({
      members: [
        { id: "ann", name: "ANN", sockets: 1 },
        { id: "bob", name: "BOB", sockets: 2 },
      ],
      next: "bob",
    });
    const second = await ok("rooms/members", { room, after: first.next, limit: 2 });
    expect(second).toEqual({
      members: [
        { id: "carol", name: "CAROL", sockets: 1 },
        { id: "dave", name: "DAVE", sockets: 1 },
      ],
      next: null,
    });
    expect((await ok("rooms/members", { room })).members).toHaveLength(4);
    expect(await ok("rooms/members", { room: unique("empty") })).toEqual({
      members: [],
      next: null,
    });
  });

  it("answers history with every stored frame, directs between others included, paged by seq", async () => {
    const room = unique("history");
    const ann = await member(room, "ann");
    const bob = await member(room, "bob");
    ann.send({ type: "message", data: "one", id: "1" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "1");
    ann.send({ type: "direct", to: "bob", data: "psst", id: "2" });
    await ann.waitFor((f) => f.type === "ack" && f.id === "2");
    bob.send({ type: "message", data: "three", id: "3" });
    await bob.waitFor((f) => f.type === "ack" && f.id === "3");

    const all = await call("rooms/history", { room });
    expect(all.type).toContain("application/json");
    expect(all.json.complete).toBe(true);
    expect(all.json.messages.map((m: Json) => [m.seq, m.type, m.data])).toEqual([
      [1, "message", "one"],
      [2, "direct", "psst"],
      [3, "message", "three"],
    ]);
    expect(all.json.messages[1]).toMatchObject({ from: { id: "ann" }, to: "bob" });

    const newest = await ok("rooms/history", { room, limit: 2 });
    expect(newest.messages.map((m: Json) => m.seq)).toEqual([2, 3]);
    expect(newest.complete).toBe(false);
    const older = await ok("rooms/history", { room, before: 2, limit: 2 });
    expect(older).toMatchObject({ messages: [{ seq: 1 }], complete: true });
    expect(await ok("rooms/history", { room: unique("quiet") })).toEqual({
      messages: [],
      complete: true,
    });
  });
});

describe("server API: kick and ban", () => {
  const stub = (room: string) => env.ROOMS.getByName(room);

  it("closes every socket of the user with error kicked and 4403; the others stay", async () => {
    const room = unique("kick");
    const a1 = await member(room, "42", "Troll");
    const a2 = await member(room, "42", "Troll");
    const bob = await member(room, "bob");
    const res = await ok("rooms/kick", { room, user: "42", reason: "spamming" });
    expect(res).toEqual({ closed: 2 });
    for (const c of [a1, a2]) {
      const error = await c.waitFor((f) => f.type === "error");
      expect(error).toEqual({ type: "error", code: "kicked", message: "spamming" });
      expect((await c.closed).code).toBe(4403);
      expect(c.pending.filter((f) => f.type !== "presence")).toEqual([]);
    }
    expect(await bob.waitFor((f) => f.type === "presence" && f.action === "leave")).toMatchObject({
      member: { id: "42" },
      count: 1,
    });
    bob.send("ping");
    expect(await bob.waitFor((f) => f.type === "pong")).toEqual({ type: "pong" });
    // Without a ban the user may come back.
    await member(room, "42");
    expect((await ok("rooms/info", { rooms: [room] })).rooms[room].members).toBe(2);
    expect(logs.lines.filter((l) => l.event === "kick")).toEqual([
      { event: "kick", room, user: "42", reason: "spamming", ban_sec: null, closed: 2 },
    ]);
  });

  it("kicking a user who is not there closes nothing", async () => {
    expect(await ok("rooms/kick", { room: unique("nobody"), user: "42" })).toEqual({ closed: 0 });
  });

  it("a ban refuses the user's joins with 4403 across hibernation, until it expires", async () => {
    const room = unique("ban");
    const troll = await member(room, "42");
    await member(room, "bob");
    expect(await ok("rooms/kick", { room, user: "42", reason: "abuse", ban_sec: 600 })).toEqual({
      closed: 1,
    });
    expect((await troll.closed).code).toBe(4403);

    const refused = async () => {
      const again = await connect("room", room, { user: "42" });
      const error = await again.expect("error");
      expect(error).toMatchObject({ type: "error", code: "forbidden" });
      expect(error.message).toMatch(new RegExp(`^banned from room "${room}" until .*: abuse$`));
      expect((await again.closed).code).toBe(4403);
    };
    await refused();
    // Stored, not remembered: an evicted room still refuses.
    await evictDurableObject(stub(room));
    await refused();
    // Others still join.
    await member(room, "carol");

    const line = logs.lines.find((l) => l.event === "join_refused");
    expect(line).toMatchObject({ event: "join_refused", room, user: "42", code: "forbidden" });
    expect(line!.reason).toMatch(/^banned from/);
    expect(JSON.stringify(logs.lines)).not.toMatch(/token|eyJ/);

    // The ban ends: moved into the past in storage, it admits the user and is deleted.
    await runInDurableObject(stub(room), (_room, state) => {
      state.storage.sql.exec("UPDATE bans SET until = ? WHERE user = ?", Date.now() - 1, "42");
    });
    const back = await join(room, { user: "42" });
    opened.push(back.client);
    expect(back.welcome.self.id).toBe("42");
    const rows = await runInDurableObject(stub(room), (_room, state) =>
      state.storage.sql.exec("SELECT user FROM bans").toArray(),
    );
    expect(rows).toEqual([]);
  });

  it("a later ban replaces an earlier one, and bans a user who is not there", async () => {
    const room = unique("preban");
    expect(await ok("rooms/kick", { room, user: "42", ban_sec: 60 })).toEqual({ closed: 0 });
    const first = await runInDurableObject(
      stub(room),
      (_r, state) =>
        state.storage.sql.exec<{ until: number }>("SELECT until FROM bans").one().until,
    );
    await ok("rooms/kick", { room, user: "42", ban_sec: 3600 });
    const second = await runInDurableObject(stub(room), (_r, state) =>
      state.storage.sql.exec<{ until: number }>("SELECT until FROM bans").toArray(),
    );
    expect(second).toHaveLength(1);
    expect(second[0]!.until - first).toBeGreaterThanOrEqual(3540_000);
    const refused = await connect("room", room, { user: "42" });
    expect(await refused.expect("error")).toMatchObject({ code: "forbidden" });
  });
});

describe("server API: list and the registry", () => {
  it("lists occupied rooms by prefix; within PRESENCE_COUNT_MS it may lag, after it it is right", async () => {
    const prefix = `${unique("list")}-`;
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    const ann = await member(a, "ann");
    await listUntil("rooms", prefix, [{ room: a, members: 1 }]);
    // A second member inside the window: the registry has not heard yet (throttled)...
    const started = Date.now();
    const bob = await member(a, "bob");
    expect((await ok("rooms/list", { prefix })).rooms).toEqual([{ room: a, members: 1 }]);
    // ...but info, asked of the room itself, does not lag.
    expect((await ok("rooms/info", { rooms: [a] })).rooms[a].members).toBe(2);
    // The trailing report arrives once the window is over.
    await listUntil("rooms", prefix, [{ room: a, members: 2 }]);
    expect(Date.now() - started).toBeLessThan(3 * PRESENCE_COUNT_MS);
    await member(b, "carol");
    await listUntil("rooms", prefix, [
      { room: a, members: 2 },
      { room: b, members: 1 },
    ]);
    // Other prefixes are left out; the empty prefix lists these among all.
    expect((await ok("rooms/list", { prefix: `${prefix}b` })).rooms).toEqual([
      { room: b, members: 1 },
    ]);
    const everything = (await ok("rooms/list", {})).rooms as Json[];
    expect(everything).toEqual(expect.arrayContaining([{ room: b, members: 1 }]));

    // Leaves: the room vacated drops out.
    ann.close();
    bob.close();
    await listUntil("rooms", prefix, [{ room: b, members: 1 }]);
  });

  it("keeps the record across hibernation of the registry and of the rooms", async () => {
    const prefix = `${unique("hib")}-`;
    const room = `${prefix}r`;
    await member(room, "ann");
    await listUntil("rooms", prefix, [{ room, members: 1 }]);
    await member(room, "bob"); // inside the window: a trailing report, due on the room's alarm
    await evictDurableObject(env.ROOMS.getByName(room));
    await evictDurableObject(env.REGISTRY.getByName(REGISTRY_NAME));
    expect((await ok("rooms/list", { prefix })).rooms).toEqual([{ room, members: 1 }]);
    // The alarm wakes the evicted room, which reports what it has.
    await listUntil("rooms", prefix, [{ room, members: 2 }]);
  });

  it("corrects rows of places not heard from for long: gone ones dropped, others recounted", async () => {
    const prefix = `${unique("stale")}-`;
    const gone = `${prefix}gone`;
    const live = `${prefix}live`;
    await member(live, "ann");
    await listUntil("rooms", prefix, [{ room: live, members: 1 }]);
    const registry = env.REGISTRY.getByName(REGISTRY_NAME);
    await runInDurableObject(registry, async (_r, state) => {
      // As after a deploy that dropped `gone`'s sockets without a leave, 20 minutes ago.
      state.storage.sql.exec(
        "INSERT INTO occupied (kind, name, members, at) VALUES ('room', ?, 3, 0)",
        gone,
      );
      state.storage.sql.exec("UPDATE occupied SET members = 5, at = 0 WHERE name = ?", live);
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(registry)).toBe(true);
    expect((await ok("rooms/list", { prefix })).rooms).toEqual([{ room: live, members: 1 }]);
  });
});

describe("server API: desks", () => {
  it("answers info, members with roles, history of every conversation, kick and ban", async () => {
    const desk = unique("desk");
    const agent = await deskAgent(desk, "kefu1");
    const cust = await connect("desk", desk, { user: "c1", name: "Customer" });
    await cust.expect("welcome");
    cust.send({ type: "message", data: "help", id: "h" });
    await cust.waitFor((f) => f.type === "ack");
    await agent.waitFor((f) => f.type === "message" && f.data === "help");
    agent.send({ type: "message", to: "c1", data: "hi", id: "a" });
    await agent.waitFor((f) => f.type === "ack");

    expect(await ok("desks/info", { desks: [desk] })).toEqual({
      desks: { [desk]: { occupied: true, members: 2, sockets: 2, seq: 2, shards: 1 } },
    });
    expect(await ok("desks/members", { desk })).toEqual({
      members: [
        { id: "c1", name: "Customer", sockets: 1, role: "customer" },
        { id: "kefu1", name: "Agent kefu1", sockets: 1, role: "agent" },
      ],
      next: null,
    });
    const history = await ok("desks/history", { desk });
    expect(history.messages.map((m: Json) => [m.seq, m.customer, m.data])).toEqual([
      [1, "c1", "help"],
      [2, "c1", "hi"],
    ]);
    await listUntil("desks", desk, [{ desk, members: 2 }]);

    expect(await ok("desks/kick", { desk, user: "c1", reason: "rude", ban_sec: 60 })).toEqual({
      closed: 1,
    });
    expect(await cust.waitFor((f) => f.type === "error")).toMatchObject({
      code: "kicked",
      message: "rude",
    });
    expect((await cust.closed).code).toBe(4403);
    const again = await connect("desk", desk, { user: "c1" });
    expect((await again.expect("error")).message).toMatch(`banned from desk "${desk}"`);
    expect((await again.closed).code).toBe(4403);
    expect(logs.lines.filter((l) => l.event === "kick")).toEqual([
      { event: "kick", desk, user: "c1", reason: "rude", ban_sec: 60, closed: 1 },
    ]);
    expect(logs.lines.find((l) => l.event === "join_refused")).toMatchObject({ desk, user: "c1" });
  });
});

describe("log lines for operators", () => {
  it("logs one line per push per room, and one per join refused by the Worker", async () => {
    const room = unique("logs");
    const text = JSON.stringify({ room, event: "order.paid", data: 1, to: "u1" });
    const headers = await signWebhook(pushSecret(), "msg_log", text);
    const res = await exports.default.fetch("https://rooms.test/push", {
      method: "POST",
      headers,
      body: text,
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(logs.lines).toEqual([
      {
        event: "push",
        room,
        id: "msg_log",
        events: ["order.paid"],
        user: "u1",
        delivered: 0,
        duplicate: false,
      },
    ]);
    const privateRoom = unique("private");
    const refused = await connect("room", privateRoom, {});
    expect(await refused.expect("error")).toMatchObject({ code: "unauthorized" });
    expect(logs.lines.at(-1)).toEqual({
      event: "join_refused",
      room: privateRoom,
      user: null,
      code: "unauthorized",
      reason: "private rooms admit only members with a join token",
    });
  });
});
