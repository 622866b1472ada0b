/**
 * The Room object end to end through the Worker's fetch handler: ordering, echo, acks and
 * idempotent re-sends, visibility of direct and targeted frames, replay and history, batching,
 * hibernation, bad input and flood control. Every test has its own
 * room; absence of a frame is proven by ordering (the next frame is a later one), never by a sleep.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Room } from "../src/objects/room";
import { connectUrl, type RoomEvent } from "../src/protocol";
import { Client, open as openRoom, uniqueRoom, type Frame } from "./helpers";

const WAIT_MS = 5000;
/** vitest.config.ts lowers these for tests. */
const HISTORY_LIMIT = 60;
const MAX_FRAME_BYTES = 4096;
const RATE_BURST = 40;

// Every socket a test opens is closed after it, also when an assertion failed half-way.
const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

async function open(room: string, params: Record<string, string> = {}): Promise<Client> {
  const client = await openRoom(room, params);
  opened.push(client);
  return client;
}

async function join(room: string, params: Record<string, string> = {}) {
  const client = await open(room, params);
  const welcome = await client.expect("welcome", WAIT_MS);
  return { client, welcome };
}

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Closes a client and waits until the close handshake is over. */
async function leave(client: Client): Promise<void> {
  client.close();
  await within(client.closed, "the close handshake");
}

const stub = (room: string) => env.ROOMS.getByName(room);

const event = (i: number, to: string | null = null): RoomEvent => ({
  id: `ev-${i}`,
  event: "seeded",
  data: { i },
  to,
  store: true,
});

/** Stores `n` untargeted events in one RPC call (no rate limit); returns their seqs. */
async function seed(room: string, n: number, pushId = "seed"): Promise<number[]> {
  const events = Array.from({ length: n }, (_, i) => event(i + 1));
  const result = await stub(room).publish(pushId, events);
  return result.results.map((r) => r.seq as number);
}

async function take(client: Client, n: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) frames.push(await client.next(WAIT_MS));
  return frames;
}

const seqsOf = (frames: Frame[]) => frames.map((f) => f.seq as number);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
const utf8Bytes = (s: string) => new TextEncoder().encode(s).byteLength;

describe("room: ordering and echo", () => {
  it("echoes a group message to every socket including the sender's own, with seq from 1 and ts", async () => {
    const room = uniqueRoom();
    const { client: a1, welcome: w1 } = await join(room, { user: "ann", name: "Ann" });
    expect(w1).toEqual({
      type: "welcome",
      room,
      self: { id: "ann", name: "Ann" },
      members: [{ id: "ann", name: "Ann" }],
      count: 1,
      seq: 0,
      replay: { from: 0, count: 0, complete: true },
    });
    const { client: a2 } = await join(room, { user: "ann", name: "Ann" });
    const { client: b } = await join(room, { user: "bo", name: "Bo" });
    expect(await a1.expect("presence", WAIT_MS)).toMatchObject({
      action: "join",
      member: { id: "bo" },
    });
    expect(await a2.expect("presence", WAIT_MS)).toMatchObject({
      action: "join",
      member: { id: "bo" },
    });

    const before = Date.now();
    a1.send({ type: "message", data: { text: "one" } });
    b.send({ type: "message", data: { text: "two" } });
    a2.send({ type: "message", data: { text: "three" } });

    for (const client of [a1, a2, b]) {
      const frames = await take(client, 3);
      expect(frames.map((f) => f.type)).toEqual(["message", "message", "message"]);
      expect(seqsOf(frames)).toEqual([1, 2, 3]);
      const byText = Object.fromEntries(frames.map((f) => [f.data.text, f.from]));
      expect(byText).toEqual({
        one: { id: "ann", name: "Ann" },
        two: { id: "bo", name: "Bo" },
        three: { id: "ann", name: "Ann" },
      });
      for (const f of frames) {
        expect(typeof f.ts).toBe("number");
        expect(f.ts).toBeGreaterThanOrEqual(before);
        expect(f.ts).toBeLessThanOrEqual(Date.now());
      }
    }

    const { client: c, welcome: wc } = await join(room, { user: "cy", name: "Cy" });
    expect(wc.seq).toBe(3);
    expect(wc.replay).toEqual({ from: 0, count: 3, complete: true });
    expect(seqsOf(await take(c, 3))).toEqual([1, 2, 3]);
  });

  it("accepts null as message data", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    a.send({ type: "message", data: null, id: "n-1" });
    expect(await a.expect("message", WAIT_MS)).toMatchObject({ seq: 1, id: "n-1", data: null });
    expect(await a.expect("ack", WAIT_MS)).toEqual({ type: "ack", id: "n-1", seq: 1 });
  });

  it("answers ping with pong", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    const { client: b } = await join(room, { user: "bo", batch: "1" });
    a.send("ping");
    b.send("ping");
    expect(await a.expect("presence", WAIT_MS)).toMatchObject({
      action: "join",
      member: { id: "bo" },
    });
    expect(await a.next(WAIT_MS)).toEqual({ type: "pong" });
    expect(await b.next(WAIT_MS)).toEqual({ type: "pong" });
  });
});

describe("room: members and presence", () => {
  it("counts several sockets of one user as one member, joining on the first and leaving on the last", async () => {
    const room = uniqueRoom();
    const { client: a1 } = await join(room, { user: "ann", name: "Ann" });
    const { client: b1 } = await join(room, { user: "bo", name: "Bo" });
    expect(await a1.next(WAIT_MS)).toEqual({
      type: "presence",
      action: "join",
      member: { id: "bo", name: "Bo" },
      count: 2,
    });
    const { client: a2, welcome: wa2 } = await join(room, { user: "ann", name: "Ann" });
    const { client: b2, welcome: wb2 } = await join(room, { user: "bo", name: "Bo" });
    const both = [
      { id: "ann", name: "Ann" },
      { id: "bo", name: "Bo" },
    ];
    expect([...wa2.members].sort(byId)).toEqual(both);
    expect([...wb2.members].sort(byId)).toEqual(both);
    expect(wa2.self).toEqual({ id: "ann", name: "Ann" });

    // A third user: every earlier socket's next frame is this join with count 3, which proves no
    // `join` was sent for the second sockets of ann and bo.
    const { client: c, welcome: wc } = await join(room, { user: "cy", name: "Cy" });
    expect(wc.members).toHaveLength(3);
    const joinCy = { type: "presence", action: "join", member: { id: "cy", name: "Cy" }, count: 3 };
    for (const client of [a1, a2, b1, b2]) expect(await client.next(WAIT_MS)).toEqual(joinCy);

    // A direct message reaches both sockets of the addressee and both of the sender.
    a1.send({ type: "direct", to: "bo", data: { text: "psst" }, id: "d-1" });
    const direct = {
      type: "direct",
      seq: 1,
      id: "d-1",
      from: { id: "ann", name: "Ann" },
      to: "bo",
      data: { text: "psst" },
    };
    for (const client of [a1, a2, b1, b2]) expect(await client.next(WAIT_MS)).toMatchObject(direct);
    expect(await a1.next(WAIT_MS)).toEqual({ type: "ack", id: "d-1", seq: 1 });

    // Closing one of ann's two sockets is not a leave: bo's next frame is cy's message.
    await leave(a1);
    c.send({ type: "message", data: "after first close" });
    for (const client of [a2, b1, b2]) {
      expect(await client.next(WAIT_MS)).toMatchObject({ type: "message", seq: 2 });
    }

    // Closing the last one is, exactly once.
    await leave(a2);
    const leaveAnn = {
      type: "presence",
      action: "leave",
      member: { id: "ann", name: "Ann" },
      count: 2,
    };
    expect(await b1.next(WAIT_MS)).toEqual(leaveAnn);
    expect(await b2.next(WAIT_MS)).toEqual(leaveAnn);
    c.send({ type: "message", data: "after last close" });
    expect(await b1.next(WAIT_MS)).toMatchObject({ type: "message", seq: 3 });
  });
});

describe("room: direct messages", () => {
  it("shows a direct message only to its two parties; a third member sees a seq gap", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann", name: "Ann" });
    const { client: b } = await join(room, { user: "bo", name: "Bo" });
    const { client: c } = await join(room, { user: "cy", name: "Cy" });
    await a.expect("presence", WAIT_MS);
    await a.expect("presence", WAIT_MS);
    await b.expect("presence", WAIT_MS);

    b.send({ type: "message", data: "hello all", id: "m-1" });
    for (const client of [a, b, c])
      expect(await client.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });
    expect(await b.next(WAIT_MS)).toEqual({ type: "ack", id: "m-1", seq: 1 });

    a.send({ type: "direct", to: "bo", data: { secret: 7 }, id: "d-1" });
    const direct = await b.next(WAIT_MS);
    expect(direct).toMatchObject({
      type: "direct",
      seq: 2,
      from: { id: "ann" },
      to: "bo",
      data: { secret: 7 },
    });
    expect(await a.next(WAIT_MS)).toMatchObject({ type: "direct", seq: 2 });
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "d-1", seq: 2 });

    a.send({ type: "message", data: "group again" });
    // cy's next frame is the group message with seq direct.seq + 1: the direct was never sent to it.
    expect(await c.next(WAIT_MS)).toMatchObject({
      type: "message",
      seq: direct.seq + 1,
      data: "group again",
    });
    expect(await b.next(WAIT_MS)).toMatchObject({ type: "message", seq: 3 });
  });
});

describe("room: acks and idempotent sends", () => {
  it("acks a frame with id once and answers a re-send, also after a reconnect, with the original ack", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    const { client: o } = await join(room, { user: "obs" });
    await a.expect("presence", WAIT_MS);

    a.send({ type: "message", data: "one", id: "c-1" });
    expect(await a.next(WAIT_MS)).toMatchObject({
      type: "message",
      seq: 1,
      id: "c-1",
      data: "one",
    });
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "c-1", seq: 1 });
    expect(await o.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1, id: "c-1" });

    // Same socket, same id, even different data: only the original ack, no echo before it.
    a.send({ type: "message", data: "one (resent)", id: "c-1" });
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "c-1", seq: 1 });

    await leave(a);
    expect(await o.next(WAIT_MS)).toMatchObject({
      type: "presence",
      action: "leave",
      member: { id: "ann" },
    });
    const { client: a2, welcome } = await join(room, { user: "ann" });
    expect(welcome.seq).toBe(1);
    expect(await o.next(WAIT_MS)).toMatchObject({
      type: "presence",
      action: "join",
      member: { id: "ann" },
    });
    // welcome replays seq 1; then the re-send from the new socket gets the original ack.
    expect(await a2.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });
    a2.send({ type: "message", data: "one (after reconnect)", id: "c-1" });
    expect(await a2.next(WAIT_MS)).toEqual({ type: "ack", id: "c-1", seq: 1 });

    // Nothing was stored or delivered for the re-sends: the next message is seq 2 everywhere.
    a2.send({ type: "message", data: "two", id: "c-2" });
    expect(await a2.next(WAIT_MS)).toMatchObject({ type: "message", seq: 2, id: "c-2" });
    expect(await a2.next(WAIT_MS)).toEqual({ type: "ack", id: "c-2", seq: 2 });
    expect(await o.next(WAIT_MS)).toMatchObject({
      type: "message",
      seq: 2,
      id: "c-2",
      data: "two",
    });

    // The key is per user: another user's "c-1" is a new message.
    o.send({ type: "message", data: "mine", id: "c-1" });
    expect(await o.next(WAIT_MS)).toMatchObject({
      type: "message",
      seq: 3,
      id: "c-1",
      from: { id: "obs" },
    });
    expect(await o.next(WAIT_MS)).toEqual({ type: "ack", id: "c-1", seq: 3 });
  });

  it("sends no ack for frames without id", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    a.send({ type: "message", data: "no id" });
    a.send({ type: "direct", to: "bo", data: "no id either" });
    a.send({ type: "message", data: "with id", id: "x-1" });
    const frames = await take(a, 4);
    expect(frames.map((f) => [f.type, f.seq ?? null, f.id ?? null])).toEqual([
      ["message", 1, null],
      ["direct", 2, null],
      ["message", 3, "x-1"],
      ["ack", 3, "x-1"],
    ]);
    expect(frames[0]).not.toHaveProperty("id");
  });
});

describe("room: replay on join", () => {
  it("replays the newest 50 frames by default, after welcome and before live frames", async () => {
    const room = uniqueRoom();
    expect(await seed(room, 55)).toEqual(range(1, 55));
    const { client: a, welcome } = await join(room, { user: "ann" });
    expect(welcome.seq).toBe(55);
    expect(welcome.replay).toEqual({ from: 5, count: 50, complete: true });
    const replayed = await take(a, 50);
    expect(seqsOf(replayed)).toEqual(range(6, 55));
    expect(replayed[0]).toMatchObject({
      type: "event",
      id: "ev-6",
      event: "seeded",
      data: { i: 6 },
      to: null,
    });

    const { client: b } = await join(room, { user: "bo" });
    await take(b, 50);
    b.send({ type: "message", data: "live" });
    expect(await a.next(WAIT_MS)).toMatchObject({ type: "presence", action: "join" });
    expect(await a.next(WAIT_MS)).toMatchObject({ type: "message", seq: 56, data: "live" });
  });

  it("keeps replay and live frames in one gap-free order when frames arrive during the join", async () => {
    const room = uniqueRoom();
    await seed(room, 10);
    const live = Array.from({ length: 5 }, (_, i) => event(100 + i));
    // The join and a burst of new frames race; whichever wins, the joiner sees each seq once.
    const [client] = await Promise.all([
      open(room, { user: "late" }),
      stub(room).publish("live", live),
    ]);
    const welcome = await client.expect("welcome", WAIT_MS);
    const frames = await take(client, 15 - welcome.replay.from);
    expect(seqsOf(frames)).toEqual(range(welcome.replay.from + 1, 15));
    expect(welcome.replay.count).toBe(welcome.seq - welcome.replay.from);
  });

  it("sends a socket that joins before a broadcast leaves each frame once: in its replay, not again live", async () => {
    const room = uniqueRoom();
    const { client: alice } = await join(room, { user: "alice" });
    await runInDurableObject(stub(room), async (instance: Room) => {
      // Stored now, sent on the next turn; the join below comes in between, in the same turn.
      void instance.publish("before-join", [event(1), event(2)]);
      const res = await instance.fetch(
        new Request(
          connectUrl({
            name: room,
            user: "bob",
            displayName: "bob",
            role: "member",
            since: undefined,
            batch: false,
          }),
          { headers: { Upgrade: "websocket" } },
        ),
      );
      const bob = new Client(res.webSocket!);
      const welcome = await bob.expect("welcome", WAIT_MS);
      expect(welcome.replay).toMatchObject({ from: 0, count: 2 });
      expect(seqsOf(await take(bob, 2))).toEqual([1, 2]);
      void instance.publish("after-join", [event(3)]);
      expect((await bob.next(WAIT_MS)).seq).toBe(3);
      bob.close();
    });
    expect((await alice.expect("event", WAIT_MS)).seq).toBe(1);
    expect((await alice.expect("event", WAIT_MS)).seq).toBe(2);
    expect(await alice.next(WAIT_MS)).toMatchObject({ type: "presence", action: "join" });
    expect((await alice.expect("event", WAIT_MS)).seq).toBe(3);
  });

  it("replays exactly the frames after since, in order", async () => {
    const room = uniqueRoom();
    await seed(room, 20);
    const { client: a, welcome } = await join(room, { user: "ann", since: "12" });
    expect(welcome.seq).toBe(20);
    expect(welcome.replay).toEqual({ from: 12, count: 8, complete: true });
    expect(seqsOf(await take(a, 8))).toEqual(range(13, 20));
    // since = newest: nothing to replay, nothing missed.
    const { welcome: w2 } = await join(room, { user: "bo", since: "20" });
    expect(w2.replay).toEqual({ from: 20, count: 0, complete: true });
    a.send({ type: "message", data: "live" });
    expect(await a.next(WAIT_MS)).toMatchObject({ type: "presence", action: "join" });
    expect(await a.next(WAIT_MS)).toMatchObject({ type: "message", seq: 21 });
  });

  it("marks replay incomplete when frames after since were trimmed, and replays what is retained", async () => {
    const room = uniqueRoom();
    await seed(room, HISTORY_LIMIT + 10); // 70 stored, 11..70 retained
    const retained = range(11, 70);

    const { client: a, welcome: wa } = await join(room, { user: "ann", since: "5" });
    expect(wa.seq).toBe(70);
    expect(wa.replay).toEqual({ from: 5, count: 60, complete: false });
    expect(seqsOf(await take(a, 60))).toEqual(retained);

    // since = 9: seq 10 is gone, so still a gap.
    const { client: b, welcome: wb } = await join(room, { user: "bo", since: "9" });
    expect(wb.replay).toEqual({ from: 9, count: 60, complete: false });
    expect(seqsOf(await take(b, 60))).toEqual(retained);
  });

  it("marks replay complete when since is within the retained history", async () => {
    const room = uniqueRoom();
    await seed(room, HISTORY_LIMIT + 10); // 11..70 retained

    const { client: a, welcome: wa } = await join(room, { user: "ann", since: "10" });
    expect(wa.replay).toEqual({ from: 10, count: 60, complete: true });
    expect(seqsOf(await take(a, 60))).toEqual(range(11, 70));

    const { client: b, welcome: wb } = await join(room, { user: "bo", since: "40" });
    expect(wb.replay).toEqual({ from: 40, count: 30, complete: true });
    expect(seqsOf(await take(b, 30))).toEqual(range(41, 70));

    const { client: c, welcome: wc } = await join(room, { user: "cy" });
    expect(wc.replay).toEqual({ from: 20, count: 50, complete: true });
    expect(seqsOf(await take(c, 50))).toEqual(range(21, 70));
  });
});

describe("room: visibility of direct and targeted frames", () => {
  it("replays and lists direct and targeted frames only to their two parties", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    const { client: b } = await join(room, { user: "bo" });
    const { client: c } = await join(room, { user: "cy" });
    await a.expect("presence", WAIT_MS);
    await a.expect("presence", WAIT_MS);
    await b.expect("presence", WAIT_MS);
    const publishOne = async (e: RoomEvent) =>
      (await stub(room).publish(e.id, [e])).results[0]!.seq;

    a.send({ type: "direct", to: "bo", data: "a->b", id: "d-1" }); // 1: ann, bo
    expect(await a.waitFor((f) => f.type === "ack", "ack d-1", WAIT_MS)).toEqual({
      type: "ack",
      id: "d-1",
      seq: 1,
    });
    expect(await publishOne(event(2, "cy"))).toBe(2); // 2: cy only
    c.send({ type: "message", data: "c->all", id: "m-3" }); // 3: everyone
    expect(await c.waitFor((f) => f.type === "ack", "ack m-3", WAIT_MS)).toEqual({
      type: "ack",
      id: "m-3",
      seq: 3,
    });
    expect(await publishOne(event(4))).toBe(4); // 4: everyone
    b.send({ type: "direct", to: "ann", data: "b->a", id: "d-5" }); // 5: ann, bo
    expect(await b.waitFor((f) => f.type === "ack", "ack d-5", WAIT_MS)).toEqual({
      type: "ack",
      id: "d-5",
      seq: 5,
    });
    expect(await publishOne(event(6, "bo"))).toBe(6); // 6: bo only
    a.send({ type: "message", data: "last", id: "m-7" }); // 7: everyone
    expect(await a.waitFor((f) => f.type === "ack", "ack m-7", WAIT_MS)).toEqual({
      type: "ack",
      id: "m-7",
      seq: 7,
    });

    const visible: Record<string, number[]> = {
      ann: [1, 3, 4, 5, 7],
      bo: [1, 3, 4, 5, 6, 7],
      cy: [2, 3, 4, 7],
    };

    // Live: each member got exactly its visible frames, in order (acks aside).
    for (const [client, user] of [
      [a, "ann"],
      [b, "bo"],
      [c, "cy"],
    ] as const) {
      // Acks were taken by the waits above, so what is queued is exactly the stored frames.
      expect(seqsOf(await take(client, visible[user]!.length))).toEqual(visible[user]);
    }

    for (const user of ["ann", "bo", "cy"]) {
      const want = visible[user]!;
      // Replay with since = 0 and by default (newest 50).
      for (const params of [{ since: "0" }, {}] as Record<string, string>[]) {
        const { client, welcome } = await join(room, { user, ...params });
        expect(welcome.replay).toEqual({
          from: "since" in params ? 0 : want[0]! - 1,
          count: want.length,
          complete: true,
        });
        const frames = await take(client, want.length);
        expect(seqsOf(frames)).toEqual(want);
        // History lists the same frames.
        client.send({ type: "history", limit: 100, id: "h" });
        const page = await client.expect("history", WAIT_MS);
        expect(seqsOf(page.messages)).toEqual(want);
        expect(page.complete).toBe(true);
        client.close();
      }
    }

    const { client: check } = await join(room, { user: "cy", since: "3" });
    expect(await check.next(WAIT_MS)).toEqual({
      type: "event",
      seq: 4,
      id: "ev-4",
      event: "seeded",
      data: { i: 4 },
      to: null,
      ts: expect.any(Number),
    });
  });

  it("replays the newest 50 frames the member may see, skipping others' targeted frames", async () => {
    const room = uniqueRoom();
    // 60 events; every 6th targets "other", so "me" may see exactly 50 of them.
    const events = Array.from({ length: HISTORY_LIMIT }, (_, i) =>
      event(i + 1, (i + 1) % 6 === 0 ? "other" : null),
    );
    await stub(room).publish("mixed", events);
    const mine = range(1, 60).filter((s) => s % 6 !== 0); // 50 visible
    const { client: me, welcome } = await join(room, { user: "me" });
    expect(welcome.seq).toBe(60);
    expect(welcome.replay).toEqual({ from: 0, count: 50, complete: true });
    expect(seqsOf(await take(me, 50))).toEqual(mine);

    // With one more visible frame the oldest visible one drops out, and from = its seq - 1.
    await stub(room).publish("one-more", [event(61)]);
    expect((await me.next(WAIT_MS)).seq).toBe(61);
    const { client: me2, welcome: w2 } = await join(room, { user: "me" });
    expect(w2.replay).toEqual({ from: 1, count: 50, complete: true });
    expect(seqsOf(await take(me2, 50))).toEqual([...mine.slice(1), 61]);

    // The addressee sees its targeted frames; the newest 50 of 61 are 12..61.
    const { client: other, welcome: w3 } = await join(room, { user: "other" });
    expect(w3.replay).toEqual({ from: 11, count: 50, complete: true });
    expect(seqsOf(await take(other, 50))).toEqual(range(12, 61));
  });
});

describe("room: history pages", () => {
  it("pages backwards with before and limit, oldest first, complete only at the oldest retained", async () => {
    const room = uniqueRoom();
    await seed(room, 30);
    const { client: a } = await join(room, { user: "ann", since: "30" });
    const history = async (frame: Record<string, unknown>) => {
      a.send({ type: "history", ...frame });
      const page = await a.expect("history", WAIT_MS);
      return { seqs: seqsOf(page.messages), complete: page.complete as boolean };
    };
    expect(await history({ limit: 10 })).toEqual({ seqs: range(21, 30), complete: false });
    expect(await history({ before: 21, limit: 10 })).toEqual({
      seqs: range(11, 20),
      complete: false,
    });
    expect(await history({ before: 11, limit: 10 })).toEqual({
      seqs: range(1, 10),
      complete: true,
    });
    expect(await history({ before: 5, limit: 100 })).toEqual({ seqs: range(1, 4), complete: true });
    expect(await history({ before: 1, limit: 10 })).toEqual({ seqs: [], complete: true });
    expect(await history({})).toEqual({ seqs: range(1, 30), complete: true });
    expect(await history({ limit: 29 })).toEqual({ seqs: range(2, 30), complete: false });
  });

  it("reports complete once a page reaches the oldest retained frame of a trimmed history", async () => {
    const room = uniqueRoom();
    await seed(room, HISTORY_LIMIT + 10); // 11..70 retained
    const { client: a } = await join(room, { user: "ann", since: "70" });
    const history = async (frame: Record<string, unknown>) => {
      a.send({ type: "history", ...frame });
      const page = await a.expect("history", WAIT_MS);
      return { seqs: seqsOf(page.messages), complete: page.complete as boolean };
    };
    expect(await history({ limit: 50 })).toEqual({ seqs: range(21, 70), complete: false });
    expect(await history({ before: 21, limit: 10 })).toEqual({
      seqs: range(11, 20),
      complete: true,
    });
    expect(await history({ before: 22, limit: 10 })).toEqual({
      seqs: range(12, 21),
      complete: false,
    });
    expect(await history({ limit: 100 })).toEqual({ seqs: range(11, 70), complete: true });
    // Above the largest page, the largest page: 100.
    expect(await history({ before: 71, limit: 1000 })).toEqual({
      seqs: range(11, 70),
      complete: true,
    });
  });

  it.each([
    ["limit 0", { limit: 0 }],
    ["before 0", { before: 0 }],
    ['before "x"', { before: "x" }],
  ])("rejects a history request with %s as invalid_frame, echoing the id", async (_, bad) => {
    const room = uniqueRoom();
    await seed(room, 3);
    const { client: a } = await join(room, { user: "ann", since: "3" });
    a.send({ type: "history", id: "h-bad", ...bad });
    expect(await a.next(WAIT_MS)).toMatchObject({
      type: "error",
      code: "invalid_frame",
      id: "h-bad",
    });
    a.send({ type: "history", id: "h-ok", limit: 2 });
    const page = await a.expect("history", WAIT_MS);
    expect(seqsOf(page.messages)).toEqual([2, 3]);
  });
});

describe("room: batching", () => {
  it("sends welcome and replay in one message with batch=1, one frame per message without", async () => {
    const room = uniqueRoom();
    await seed(room, 3);
    const { client: batched, welcome } = await join(room, { user: "ann", batch: "1" });
    expect(welcome.replay).toEqual({ from: 0, count: 3, complete: true });
    expect(seqsOf(await take(batched, 3))).toEqual([1, 2, 3]);
    expect(batched.raw).toHaveLength(1);
    const lines = batched.raw[0]!.split("\n");
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["welcome", "event", "event", "event"]);

    const { client: plain } = await join(room, { user: "bo" });
    expect(seqsOf(await take(plain, 3))).toEqual([1, 2, 3]);
    expect(plain.raw).toHaveLength(4);
    for (const msg of plain.raw) {
      expect(msg).not.toContain("\n");
      expect(typeof JSON.parse(msg).type).toBe("string");
    }
    expect(plain.raw.map((m) => JSON.parse(m).type)).toEqual([
      "welcome",
      "event",
      "event",
      "event",
    ]);
  });

  it("coalesces a burst into fewer messages for batch=1 and one message per frame otherwise", async () => {
    const room = uniqueRoom();
    const { client: batched } = await join(room, { user: "ann", batch: "1" });
    const { client: plain } = await join(room, { user: "bo" });
    await batched.expect("presence", WAIT_MS);
    const batchedBefore = batched.raw.length;
    const plainBefore = plain.raw.length;

    const result = await stub(room).publish(
      "burst",
      Array.from({ length: 5 }, (_, i) => event(i + 1)),
    );
    expect(result.results.map((r) => [r.seq, r.delivered])).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
      [4, 2],
      [5, 2],
    ]);
    expect(seqsOf(await take(batched, 5))).toEqual([1, 2, 3, 4, 5]);
    expect(seqsOf(await take(plain, 5))).toEqual([1, 2, 3, 4, 5]);

    const batchedMessages = batched.raw.slice(batchedBefore);
    expect(batchedMessages.length).toBeGreaterThanOrEqual(1);
    expect(batchedMessages.length).toBeLessThan(5);
    expect(
      batchedMessages
        .join("\n")
        .split("\n")
        .map((l) => JSON.parse(l).seq),
    ).toEqual([1, 2, 3, 4, 5]);

    const plainMessages = plain.raw.slice(plainBefore);
    expect(plainMessages).toHaveLength(5);
    expect(plainMessages.map((m) => JSON.parse(m).seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("room: hibernation", () => {
  it("keeps members, presence, order, acks and batch mode across eviction", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann", name: "Ann", batch: "1" });
    const { client: b } = await join(room, { user: "bo", name: "Bo" });
    const { client: c } = await join(room, { user: "cy", name: "Cy" });
    expect(await a.next(WAIT_MS)).toMatchObject({
      type: "presence",
      action: "join",
      member: { id: "bo" },
      count: 2,
    });
    expect(await a.next(WAIT_MS)).toMatchObject({
      type: "presence",
      action: "join",
      member: { id: "cy" },
      count: 3,
    });
    expect(await b.next(WAIT_MS)).toMatchObject({
      type: "presence",
      action: "join",
      member: { id: "cy" },
      count: 3,
    });

    a.send({ type: "message", data: "before", id: "m-1" });
    expect(await a.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "m-1", seq: 1 });
    expect(await b.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });
    expect(await c.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });

    // Evicted: ping is answered by the runtime, without waking the room.
    await evictDurableObject(stub(room));
    a.send("ping");
    b.send("ping");
    expect(await a.next(WAIT_MS)).toEqual({ type: "pong" });
    expect(await b.next(WAIT_MS)).toEqual({ type: "pong" });

    // Order continues, and names come back from the sockets.
    b.send({ type: "message", data: "after", id: "m-2" });
    const after = {
      type: "message",
      seq: 2,
      id: "m-2",
      from: { id: "bo", name: "Bo" },
      data: "after",
    };
    for (const client of [a, b, c]) expect(await client.next(WAIT_MS)).toMatchObject(after);
    expect(await b.next(WAIT_MS)).toEqual({ type: "ack", id: "m-2", seq: 2 });

    // A re-send after eviction answers the original ack and stores nothing.
    await evictDurableObject(stub(room));
    a.send({ type: "message", data: "before (resent)", id: "m-1" });
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "m-1", seq: 1 });
    a.send({ type: "message", data: "third", id: "m-3" });
    expect(await a.next(WAIT_MS)).toMatchObject({
      type: "message",
      seq: 3,
      from: { id: "ann", name: "Ann" },
    });
    expect(await b.next(WAIT_MS)).toMatchObject({ type: "message", seq: 3, data: "third" });
    expect(await c.next(WAIT_MS)).toMatchObject({ type: "message", seq: 3, data: "third" });
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "m-3", seq: 3 });

    // Members and presence count after eviction.
    await evictDurableObject(stub(room));
    const { client: d, welcome: wd } = await join(room, { user: "dee", name: "Dee", since: "3" });
    expect(wd.seq).toBe(3);
    expect([...wd.members].sort(byId)).toEqual([
      { id: "ann", name: "Ann" },
      { id: "bo", name: "Bo" },
      { id: "cy", name: "Cy" },
      { id: "dee", name: "Dee" },
    ]);
    const joinDee = {
      type: "presence",
      action: "join",
      member: { id: "dee", name: "Dee" },
      count: 4,
    };
    for (const client of [a, b, c]) expect(await client.next(WAIT_MS)).toEqual(joinDee);

    // Batch mode of each socket survives: a burst is coalesced for ann only.
    await evictDurableObject(stub(room));
    const aBefore = a.raw.length;
    const bBefore = b.raw.length;
    await stub(room).publish(
      "burst",
      Array.from({ length: 5 }, (_, i) => event(i + 1)),
    );
    expect(seqsOf(await take(a, 5))).toEqual([4, 5, 6, 7, 8]);
    expect(seqsOf(await take(b, 5))).toEqual([4, 5, 6, 7, 8]);
    expect(seqsOf(await take(c, 5))).toEqual([4, 5, 6, 7, 8]);
    expect(seqsOf(await take(d, 5))).toEqual([4, 5, 6, 7, 8]);
    expect(a.raw.length - aBefore).toBeLessThan(5);
    expect(b.raw.length - bBefore).toBe(5);
  });

  // The close itself wakes the evicted room, whose rebuilt member cache no longer lists the
  // closing socket: the leave must still be broadcast.
  it("broadcasts leave when the last socket of a member closes while the room is evicted", async () => {
    const room = uniqueRoom();
    const { client: a1 } = await join(room, { user: "ann", name: "Ann" });
    const { client: a2 } = await join(room, { user: "ann", name: "Ann" });
    const { client: b } = await join(room, { user: "bo", name: "Bo", batch: "1" });
    const { client: c } = await join(room, { user: "cy", name: "Cy" });
    expect(await b.next(WAIT_MS)).toMatchObject({
      type: "presence",
      action: "join",
      member: { id: "cy" },
      count: 3,
    });

    // One of two sockets closing while evicted is not a leave: bo's next frame is cy's message.
    await evictDurableObject(stub(room));
    await leave(a1);
    c.send({ type: "message", data: "one", id: "m-1" });
    expect(await b.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });
    expect(await c.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1 });
    expect(await c.next(WAIT_MS)).toEqual({ type: "ack", id: "m-1", seq: 1 });

    // The last one closing while evicted is, with the count of the members still there.
    await evictDurableObject(stub(room));
    await leave(a2);
    const leaveAnn = {
      type: "presence",
      action: "leave",
      member: { id: "ann", name: "Ann" },
      count: 2,
    };
    expect(await b.waitFor(() => true, "ann's leave", WAIT_MS)).toEqual(leaveAnn);
    expect(await c.waitFor(() => true, "ann's leave", WAIT_MS)).toEqual(leaveAnn);
    c.send({ type: "message", data: "two" });
    expect(await b.next(WAIT_MS)).toMatchObject({ type: "message", seq: 2 });
  });

  it("answers ping without waking an evicted room", async () => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    await evictDurableObject(stub(room));
    a.send("ping");
    expect(await a.next(WAIT_MS)).toEqual({ type: "pong" });
    // Eviction rejects for an object that is not running: the ping did not start it.
    await expect(evictDurableObject(stub(room))).rejects.toThrow();
  });
});

describe("room: bad input", () => {
  const bad: [string, string | Uint8Array, Frame][] = [
    ["bad JSON", "{not json", { type: "error", code: "bad_json" }],
    [
      "an unknown type",
      JSON.stringify({ type: "shout", id: "u-1", data: 1 }),
      { type: "error", code: "unknown_type", id: "u-1" },
    ],
    [
      "a message without data",
      JSON.stringify({ type: "message", id: "m-1" }),
      { type: "error", code: "invalid_frame", id: "m-1" },
    ],
    [
      "a direct with an invalid to",
      JSON.stringify({ type: "direct", to: "not a user!", data: 1, id: "d-1" }),
      { type: "error", code: "invalid_frame", id: "d-1" },
    ],
    [
      "a message with a to (a direct meant as one, never broadcast)",
      JSON.stringify({ type: "message", to: "obs", data: "secret", id: "m-2" }),
      { type: "error", code: "invalid_frame", id: "m-2" },
    ],
    [
      "a desk-only transfer",
      JSON.stringify({ type: "transfer", customer: "c1", to: "a2", id: "t-1" }),
      { type: "error", code: "unknown_type", id: "t-1" },
    ],
    [
      "a direct without to",
      JSON.stringify({ type: "direct", data: 1, id: "d-2" }),
      { type: "error", code: "invalid_frame", id: "d-2" },
    ],
    [
      "an id of 65 characters",
      JSON.stringify({ type: "message", data: 1, id: "x".repeat(65) }),
      { type: "error", code: "invalid_frame", id: "x".repeat(65) },
    ],
    [
      "an empty id",
      JSON.stringify({ type: "message", data: 1, id: "" }),
      { type: "error", code: "invalid_frame", id: "" },
    ],
    ["a binary frame", new Uint8Array([123, 125]), { type: "error", code: "unsupported_binary" }],
  ];

  it.each(bad)(
    "answers %s with an error frame, keeps the socket open and stores nothing",
    async (_, input, want) => {
      const room = uniqueRoom();
      const { client: a } = await join(room, { user: "ann" });
      const { client: o } = await join(room, { user: "obs" });
      await a.expect("presence", WAIT_MS);

      a.ws.send(input);
      const error = await a.next(WAIT_MS);
      expect(error).toMatchObject(want);
      expect(typeof error.message).toBe("string");
      if (!("id" in want)) expect(error).not.toHaveProperty("id");

      a.send({ type: "message", data: "fine", id: "ok-1" });
      expect(await a.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1, data: "fine" });
      expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "ok-1", seq: 1 });
      // The observer's next frame is that message: nothing was broadcast for the bad frame.
      expect(await o.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1, data: "fine" });
    },
  );

  /** A message frame of exactly `bytes` UTF-8 bytes; `multiByte` pads with 2-, 3- and 4-byte chars. */
  function frameOfBytes(bytes: number, multiByte: boolean): string {
    const make = (pad: string) => JSON.stringify({ type: "message", id: "big", data: pad });
    let rest = bytes - utf8Bytes(make(""));
    let pad = "";
    if (multiByte) {
      pad += "😀é"; // 4 + 2 bytes
      rest -= 6;
      pad += "€".repeat(Math.floor(rest / 3)); // 3 bytes each
      rest -= 3 * Math.floor(rest / 3);
    }
    pad += "a".repeat(rest);
    const text = make(pad);
    if (utf8Bytes(text) !== bytes)
      throw new Error(`built ${utf8Bytes(text)} bytes, wanted ${bytes}`);
    return text;
  }

  it.each([
    ["ASCII", false],
    ["multi-byte", true],
  ])("accepts a %s frame of exactly MAX_FRAME_BYTES bytes", async (_, multiByte) => {
    const room = uniqueRoom();
    const { client: a } = await join(room, { user: "ann" });
    const text = frameOfBytes(MAX_FRAME_BYTES, multiByte);
    expect(utf8Bytes(text)).toBe(4096);
    a.send(text);
    const echo = await a.next(WAIT_MS);
    expect(echo).toMatchObject({ type: "message", seq: 1, id: "big" });
    expect(echo.data).toBe(JSON.parse(text).data);
    expect(await a.next(WAIT_MS)).toEqual({ type: "ack", id: "big", seq: 1 });
  });

  it.each([
    ["ASCII", false],
    ["multi-byte", true],
  ])(
    "rejects a %s frame one byte over MAX_FRAME_BYTES with too_large and closes 1009",
    async (_, multiByte) => {
      const room = uniqueRoom();
      const { client: a } = await join(room, { user: "ann" });
      const { client: o } = await join(room, { user: "obs" });
      await a.expect("presence", WAIT_MS);
      const text = frameOfBytes(MAX_FRAME_BYTES + 1, multiByte);
      a.send(text);
      expect(await a.next(WAIT_MS)).toMatchObject({ type: "error", code: "too_large" });
      expect((await within(a.closed, "close 1009")).code).toBe(1009);
      expect(await o.next(WAIT_MS)).toMatchObject({
        type: "presence",
        action: "leave",
        member: { id: "ann" },
        count: 1,
      });
      o.send({ type: "message", data: "after" });
      expect(await o.next(WAIT_MS)).toMatchObject({ type: "message", seq: 1, data: "after" });
    },
  );
});

describe("room: rate limit", () => {
  it("drops a flood with rate_limited, closes it with 1008, and keeps serving the others", async () => {
    const room = uniqueRoom();
    const { client: flooder } = await join(room, { user: "flood" });
    const { client: watcher } = await join(room, { user: "watch" });
    const { client: good } = await join(room, { user: "good" });
    await flooder.expect("presence", WAIT_MS);
    await flooder.expect("presence", WAIT_MS);
    await watcher.expect("presence", WAIT_MS);

    const FLOOD = 200;
    for (let i = 0; i < FLOOD; i++) flooder.send({ type: "message", data: i, id: `f-${i}` });
    good.send({ type: "message", data: "during", id: "g-1" });
    expect((await within(flooder.closed, "close 1008")).code).toBe(1008);

    const got = flooder.pending;
    const acked = got.filter((f) => f.type === "ack").map((f) => f.id as string);
    const limited = got.filter((f) => f.type === "error");
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((f) => f.code === "rate_limited")).toBe(true);
    // Each error names the dropped frame's id, and no dropped frame was also acknowledged.
    const droppedIds = limited.map((f) => f.id as string);
    expect(droppedIds.every((id) => /^f-\d+$/.test(id) && !acked.includes(id))).toBe(true);
    expect(new Set(droppedIds).size).toBe(droppedIds.length);
    expect(got[got.length - 1]).toMatchObject({ type: "error", code: "rate_limited" });
    // The first RATE_BURST frames are all accepted; a few more may be, as tokens refill.
    expect(acked.slice(0, RATE_BURST)).toEqual(range(0, RATE_BURST - 1).map((i) => `f-${i}`));
    expect(acked.length).toBeGreaterThanOrEqual(RATE_BURST);
    expect(acked.length).toBeLessThan(RATE_BURST + 10);

    good.send({ type: "message", data: "after", id: "g-2" });
    expect(
      await good.waitFor((f) => f.id === "g-2" && f.type === "ack", "ack g-2", WAIT_MS),
    ).toMatchObject({ type: "ack" });

    // The watcher got exactly the accepted frames, in one gap-free order, and both good messages.
    const total = acked.length + 2;
    const stored: Frame[] = [];
    let leftAt = -1;
    while (stored.length < total) {
      const f = await watcher.next(WAIT_MS);
      if (f.type === "presence") {
        expect(f).toMatchObject({ action: "leave", member: { id: "flood" }, count: 2 });
        leftAt = stored.length;
        continue;
      }
      stored.push(f);
    }
    expect(leftAt).toBeGreaterThanOrEqual(0);
    expect(seqsOf(stored)).toEqual(range(1, total));
    expect(stored.filter((f) => f.from.id === "flood").map((f) => f.id)).toEqual(acked);
    expect(stored.filter((f) => f.from.id === "good").map((f) => f.id)).toEqual(["g-1", "g-2"]);
    expect(stored[stored.length - 1]).toMatchObject({ id: "g-2", seq: total });
  });
});
