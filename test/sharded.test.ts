/**
 * Sharded rooms (src/objects/shards/, docs/sharded-rooms.md): vitest.config.ts shards rooms named
 * sharded-* over objects of two sockets each, so a handful of clients spans several shards. The
 * clients here cannot tell: one order, replay, acks, directs, presence, pushes, kicks, and the
 * same after a shard or the keeper hibernates, or after the keeper lost frames on the way.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Room } from "../src/objects/room";
import { shardName } from "../src/protocol";
import { join, open, roomUrl, uniqueRoom, type Client, type Frame } from "./helpers";

let opened: Client[] = [];
afterEach(() => {
  for (const c of opened) c.close();
  opened = [];
});

async function member(room: string, user: string, params: Record<string, string> = {}) {
  const joined = await join(room, { user, name: user.toUpperCase(), ...params });
  opened.push(joined.client);
  return joined;
}

const keeper = (room: string) => env.ROOMS.getByName(room);
const shard = (room: string, n: number) => env.SHARDS.getByName(shardName(room, n));

/** The next `n` stored frames (message, direct, event) a client receives, in arrival order. */
async function stored(c: Client, n: number): Promise<Frame[]> {
  const out: Frame[] = [];
  while (out.length < n)
    out.push(await c.waitFor((f) => ["message", "direct", "event"].includes(f.type), "stored"));
  return out;
}

/** Five users on three shards: a, b on #0; c, d on #1; e on #2. */
async function fiveMembers(room: string) {
  const clients: Record<string, Client> = {};
  for (const u of ["a", "b", "c", "d", "e"]) clients[u] = (await member(room, u)).client;
  return clients;
}

describe("sharded rooms: clients cannot tell", () => {
  it("spreads sockets over shards of SHARD_SOCKETS, keeping a user's sockets together", async () => {
    const room = uniqueRoom("sharded");
    await fiveMembers(room);
    await member(room, "a"); // a's second tab: on a's shard, though it is full
    const info = await keeper(room).apiInfo();
    expect(info).toMatchObject({ occupied: true, members: 5, sockets: 6, shards: 3 });
    const onShard = async (n: number) =>
      runInDurableObject(shard(room, n), async (_i, state) => state.getWebSockets().length);
    expect([await onShard(0), await onShard(1), await onShard(2)]).toEqual([3, 2, 1]);
  });

  it("gives every socket every message in one order, wherever its sender is", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    for (let i = 0; i < 4; i++)
      for (const u of ["a", "c", "e"]) c[u]!.send({ type: "message", data: `${u}${i}` });
    const seen: Record<string, Frame[]> = {};
    for (const u of Object.keys(c)) seen[u] = await stored(c[u]!, 12);
    const order = seen.a!.map((f) => `${f.seq}:${f.data}`);
    expect(seen.a!.map((f) => f.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const u of Object.keys(c))
      expect(seen[u]!.map((f) => `${f.seq}:${f.data}`)).toEqual(order);
    // Each sender's own frames stay in the order it sent them.
    for (const u of ["a", "c", "e"])
      expect(order.filter((o) => o.includes(`:${u}`)).map((o) => o.split(":")[1])).toEqual(
        [0, 1, 2, 3].map((i) => `${u}${i}`),
      );
  });

  it("acks only the socket that sent, after its echo, and answers a re-sent id with the first seq", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    const { client: c2 } = await member(room, "c"); // c's second tab, same shard
    c.c!.send({ type: "message", data: "hi", id: "m-1" });
    const notPresence = (f: Frame) => f.type !== "presence";
    const echo = await c.c!.waitFor(notPresence);
    expect(echo).toMatchObject({ type: "message", data: "hi", id: "m-1" });
    expect(await c.c!.waitFor(notPresence)).toEqual({ type: "ack", id: "m-1", seq: echo.seq });
    c.c!.send({ type: "message", data: "hi again", id: "m-1" });
    expect(await c.c!.waitFor(notPresence)).toEqual({ type: "ack", id: "m-1", seq: echo.seq });
    await c2.waitFor((f) => f.type === "message");
    expect(c2.pending.filter((f) => f.type === "ack")).toEqual([]);
    expect((await keeper(room).apiInfo()).seq).toBe(echo.seq);
  });

  it("shows a direct message only to its two parties, on whichever shards they are", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    c.a!.send({ type: "direct", to: "e", data: "psst" });
    c.b!.send({ type: "message", data: "public" });
    for (const u of ["a", "e"]) {
      const [first, second] = await stored(c[u]!, 2);
      expect(first).toMatchObject({ type: "direct", seq: 1, data: "psst", to: "e" });
      expect(second).toMatchObject({ type: "message", seq: 2 });
    }
    for (const u of ["b", "c", "d"]) {
      const [only] = await stored(c[u]!, 1);
      expect(only).toMatchObject({ type: "message", seq: 2, data: "public" });
    }
  });

  it("announces joins and leaves on every shard and lists members from all of them", async () => {
    const room = uniqueRoom("sharded");
    const { client: a } = await member(room, "a");
    for (const u of ["b", "c"]) await member(room, u);
    const { welcome, client: d } = await member(room, "d");
    expect(welcome.members.map((m: Frame) => m.id)).toEqual(["a", "b", "c", "d"]);
    expect(welcome.count).toBe(4);
    for (const u of ["b", "c", "d"])
      await a.waitFor((f) => f.type === "presence" && f.member?.id === u, `the join of ${u}`);
    d.close();
    const leave = await a.waitFor((f) => f.type === "presence" && f.action === "leave");
    expect(leave).toMatchObject({ member: { id: "d" }, count: 3 });
    expect(d.pending.filter((f) => f.type === "presence" && f.member?.id === "d")).toEqual([]);
  });

  it("replays with since from the keeper's history, whoever sent it", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    for (const u of ["a", "c", "e"]) c[u]!.send({ type: "message", data: u });
    await stored(c.b!, 3);
    const { welcome, client } = await member(room, "f", { since: "1" });
    expect(welcome).toMatchObject({ seq: 3, replay: { from: 1, count: 2, complete: true } });
    const replayed = [await client.next(), await client.next()];
    expect(replayed.map((f) => f.seq)).toEqual([2, 3]);
    c.d!.send({ type: "message", data: "live" });
    expect(await client.waitFor((f) => f.type === "message")).toMatchObject({ seq: 4 });
  });

  it("delivers pushed events to every shard, and a targeted one only to its user", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    const res = await keeper(room).publish("msg_sharded", [
      { id: "msg_sharded", event: "paid", data: { order: 7 }, to: null, store: true },
      { id: "msg_sharded#1", event: "private", data: "for e", to: "e", store: true },
    ]);
    expect(res.results.map((r) => r.seq)).toEqual([1, 2]);
    for (const u of Object.keys(c)) {
      const [first] = await stored(c[u]!, 1);
      expect(first).toMatchObject({ type: "event", event: "paid", seq: 1 });
    }
    expect(await c.e!.waitFor((f) => f.type === "event")).toMatchObject({ seq: 2, to: "e" });
    await c.d!.waitFor(() => false, "nothing", 200).catch(() => undefined);
    expect(c.d!.pending.filter((f) => f.type === "event")).toEqual([]);
  });

  it("keeps one user's rate limit over all of its tabs", async () => {
    const room = uniqueRoom("sharded");
    const tabs = [];
    for (let i = 0; i < 3; i++) tabs.push((await member(room, "flood")).client);
    for (let i = 0; i < 60; i++) tabs[i % 3]!.send({ type: "message", data: i });
    let limited = 0;
    for (const t of tabs) {
      await t.waitFor(() => false, "nothing", 300).catch(() => undefined);
      limited += t.pending.filter((f) => f.type === "error" && f.code === "rate_limited").length;
    }
    // A burst of 40 for the user, not 40 per tab.
    expect(limited).toBeGreaterThanOrEqual(15);
  });

  it("kicks a user on its shard and bans it at the keeper", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    const out = await keeper(room).apiKick({ user: "d", reason: "spam", banSec: 60 });
    expect(out).toEqual({ closed: 1 });
    expect(await c.d!.waitFor((f) => f.type === "error")).toMatchObject({ code: "kicked" });
    expect((await c.d!.closed).code).toBe(4403);
    const again = await open(room, { user: "d" });
    expect(await again.next()).toMatchObject({ type: "error", code: "forbidden" });
    expect((await again.closed).code).toBe(4403);
  });

  it("carries on after a shard and the keeper hibernate", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    c.a!.send({ type: "message", data: "before" });
    await stored(c.e!, 1);
    await evictDurableObject(shard(room, 2));
    await evictDurableObject(keeper(room));
    c.c!.send({ type: "message", data: "after" });
    for (const u of Object.keys(c)) {
      const last = await c[u]!.waitFor((f) => f.type === "message" && f.data === "after");
      expect(last.seq).toBe(2);
    }
    expect(await keeper(room).apiInfo()).toMatchObject({ members: 5, shards: 3 });
  });

  it("drops the members of a shard that restarted, at the next frame the keeper hands it", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    // Shard 0 (a and b) crashes: its sockets are gone, and nobody told the keeper.
    await expect(
      runInDurableObject(shard(room, 0), async (_i, state) => state.abort("a test's crash")),
    ).rejects.toThrow("a test's crash");
    expect((await c.a!.closed).code).not.toBe(1000);
    c.e!.send({ type: "message", data: "anyone there?" });
    const left = new Set<string>();
    while (left.size < 2) {
      const f = await c.c!.waitFor((g) => g.type === "presence" && g.action === "leave");
      left.add(f.member.id);
    }
    expect([...left].sort()).toEqual(["a", "b"]);
    expect(await keeper(room).apiInfo()).toMatchObject({ members: 3, shards: 2 });
    // a comes back and lands on a shard again, announced like any join.
    await member(room, "a");
    await c.c!.waitFor((g) => g.type === "presence" && g.action === "join" && g.member.id === "a");
  });

  it("fetches frames the keeper stored but never handed out, before the next one", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    c.a!.send({ type: "message", data: "one" });
    await stored(c.e!, 1);
    // As after a keeper crash between storing and handing out: two frames stored, not sent.
    await runInDurableObject(keeper(room), async (instance: Room) => {
      const history = (instance as unknown as { history: import("../src/objects/history").History })
        .history;
      for (const data of ["lost-2", "lost-3"])
        history.append({ sender: "b", recipient: null }, (seq) =>
          JSON.stringify({ type: "message", seq, from: { id: "b", name: "B" }, data, ts: 0 }),
        );
      history.flush();
    });
    c.b!.send({ type: "message", data: "four" });
    for (const u of Object.keys(c)) {
      const got = await stored(c[u]!, u === "e" ? 3 : 4);
      expect(got.map((f) => f.data).slice(-3)).toEqual(["lost-2", "lost-3", "four"]);
      expect(got.map((f) => f.seq).slice(-3)).toEqual([2, 3, 4]);
    }
  });

  it("gives a raw socket on a shard the data of what it may see", async () => {
    const room = uniqueRoom("sharded");
    const c = await fiveMembers(room);
    const res = await exports.default.fetch(`${roomUrl(room)}/`, {
      headers: { Upgrade: "websocket" },
    });
    const raw = res.webSocket!;
    raw.accept();
    const texts: string[] = [];
    const got = new Promise<void>((resolve) =>
      raw.addEventListener("message", (e) => {
        texts.push(String(e.data));
        if (texts.length === 2) resolve();
      }),
    );
    c.a!.send({ type: "message", data: "plain text" });
    await stored(c.a!, 1);
    c.a!.send({ type: "message", data: { n: 1 } });
    await got;
    expect(texts).toEqual(["plain text", '{"n":1}']);
    raw.send("23423423");
    expect(await c.e!.waitFor((f) => f.type === "message" && f.data === "23423423")).toMatchObject({
      seq: 3,
    });
    raw.close(1000);
  });
});

describe("Roster: who is on which shard, kept by the keeper", () => {
  it("counts members and sockets per shard, moves a user whose old shard lost it, and resets a restarted shard", async () => {
    await runInDurableObject(keeper(uniqueRoom("sharded")), async (_i, state) => {
      const { Roster } = await import("../src/objects/shards/roster");
      const r = new Roster(state.storage.sql);
      expect(r.joined("a", "A", 0)).toBe(true);
      expect(r.joined("a", "A2", 0)).toBe(false); // a second tab keeps the first name
      expect(r.joined("b", "B", 1)).toBe(true);
      expect([r.count, r.sockets, [...r.shards()], r.member("a")]).toEqual([
        2,
        3,
        [0, 1],
        { id: "a", name: "A" },
      ]);
      // a's shard restarted and a came back on shard 2: not a new member, and shard 0 is empty.
      expect(r.joined("a", "A", 2)).toBe(false);
      expect([r.sockets, [...r.shards()].sort()]).toEqual([2, [1, 2]]);
      // A late leave from the old shard changes nothing.
      expect(r.left("a", 0, 0)).toBeNull();
      expect(r.left("a", 2, 0)).toEqual({ id: "a", name: "A" });
      r.joined("c", "C", 1);
      expect(
        r
          .resetShard(1)
          .map((m) => m.id)
          .sort(),
      ).toEqual(["b", "c"]);
      expect([r.count, r.sockets, r.shardCount]).toEqual([0, 0, 0]);
      // What is stored is what a new instance (after the keeper's hibernation) reads.
      r.joined("d", "D", 3);
      const again = new Roster(state.storage.sql);
      expect([again.count, again.shardOf("d"), again.socketsOf("d")]).toEqual([1, 3, 1]);
    });
  });
});
