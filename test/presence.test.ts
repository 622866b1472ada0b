/**
 * Presence that grows with N (src/objects/presence.ts). vitest.config.ts sets PRESENCE_MAX to 6
 * and PRESENCE_COUNT_MS to 300, so a room of seven announces counts and the throttle's trailing
 * frame arrives within a test. The waits here are for frames (the throttle's window ends on the
 * room's alarm), never sleeps.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { LEAVES_WAIT_INTERVALS, Presence } from "../src/objects/presence";
import { join, uniqueRoom, type Client, type Frame } from "./helpers";

const MAX = 6;
let opened: Client[] = [];
afterEach(() => {
  for (const c of opened) c.close();
  opened = [];
});

async function member(room: string, user: string) {
  const joined = await join(room, { user, name: user.toUpperCase() });
  opened.push(joined.client);
  return joined;
}

/** Fills a room with `n` members u0…u(n-1); returns the first one's client, frames drained. */
async function fill(room: string, n: number) {
  const first = await member(room, "u0");
  const rest: Client[] = [];
  for (let i = 1; i < n; i++) {
    rest.push((await member(room, `u${i}`)).client);
    // Announced by name while the room is small enough; over it, the count comes instead.
    const announced = (f: Frame) =>
      f.type === "presence" && (f.member?.id === `u${i}` || (isCount(f) && f.count === i + 1));
    await first.client.waitFor(announced, `the join of u${i}`);
  }
  return { first: first.client, rest };
}

const isCount = (f: Frame) => f.type === "presence" && f.action === "count";

/** A room of `n` members as Presence sees it, recording what it broadcasts. */
const fakeRoom = (n: () => number) => {
  const sent: Frame[] = [];
  const armed: number[] = [];
  return {
    sent,
    armed,
    room: {
      count: n,
      list: () => Array.from({ length: n() }, (_, i) => ({ id: `u${i}`, name: `U${i}` })),
      broadcast: (text: string) => sent.push(JSON.parse(text)),
      armAlarm: (at: number) => armed.push(at),
    },
  };
};
/** Resolves after every queued microtask, the throttle's chain of sends among them, has run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
describe("presence at scale: counts above PRESENCE_MAX", () => {
  it("lists members one by one up to PRESENCE_MAX", async () => {
    const room = uniqueRoom("p");
    const { first } = await fill(room, MAX - 1);
    const { welcome } = await member(room, "last");
    expect(welcome.members).toHaveLength(MAX);
    expect(welcome.count).toBe(MAX);
    const joined = await first.waitFor((f) => f.type === "presence", "the join of last");
    expect(joined).toEqual({
      type: "presence",
      action: "join",
      member: { id: "last", name: "LAST" },
      count: MAX,
    });
  });

  it("announces the join that takes the room over PRESENCE_MAX as a count, with no member list", async () => {
    const room = uniqueRoom("p");
    const { first } = await fill(room, MAX);
    const { welcome } = await member(room, "seventh");
    expect(welcome.members).toBeNull();
    expect(welcome.count).toBe(MAX + 1);
    const count = await first.waitFor(isCount, "a count frame");
    expect(count).toEqual({ type: "presence", action: "count", count: MAX + 1 });
    // Nobody was told who the seventh member is.
    expect(first.pending.some((f) => f.type === "presence" && f.member?.id === "seventh")).toBe(
      false,
    );
  });

  it("sends at most one count per PRESENCE_COUNT_MS while the count changes, and the last count always", async () => {
    const room = uniqueRoom("p");
    const { first } = await fill(room, MAX);
    const started = Date.now();
    for (let i = 0; i < 5; i++) await member(room, `burst${i}`);
    const burstMs = Date.now() - started;
    // The trailing frame carries the final count.
    const seen: Frame[] = [];
    while (seen.at(-1)?.count !== MAX + 5) seen.push(await first.waitFor(isCount, "counts", 3000));
    // One leading frame and one trailing per window the burst spanned, never one per join.
    const windows = Math.floor(burstMs / 300) + 1;
    expect(seen.length).toBeLessThanOrEqual(windows + 1);
    expect(seen.length).toBeLessThan(5);
    expect(first.pending.filter((f) => f.type === "presence" && f.action !== "count")).toEqual([]);
  });

  it("goes back to a member list and per-member leave once the room is at PRESENCE_MAX again", async () => {
    const room = uniqueRoom("p");
    const { first, rest } = await fill(room, MAX + 1);
    // fill() saw the count of seven arrive.
    rest.pop()!.close(); // u6 leaves: six members, the room lists them again
    const back = await first.waitFor((f) => isCount(f) && f.members !== undefined, "the list");
    expect(back.count).toBe(MAX);
    expect(back.members.map((m: Frame) => m.id).sort()).toEqual(
      ["u0", "u1", "u2", "u3", "u4", "u5"].sort(),
    );
    rest.pop()!.close(); // u5 leaves: announced by name again
    const leave = await first.waitFor((f) => f.type === "presence" && f.action === "leave");
    expect(leave).toMatchObject({ member: { id: "u5" }, count: MAX - 1 });
    const { welcome } = await member(room, "newcomer");
    expect(welcome.members.map((m: Frame) => m.id)).toContain("u0");
  });

  it("announces members leaving at once as one count, after the leaves pause", async () => {
    const room = uniqueRoom("p");
    const { first } = await fill(room, MAX);
    const extra: Client[] = [];
    for (let i = 0; i < 5; i++) extra.push((await member(room, `extra${i}`)).client);
    while ((await first.waitFor(isCount, "the count of eleven")).count !== MAX + 5);
    // The throttle's window must be over, so that a count could go out at once; nothing marks
    // its end, hence the sleep.
    await new Promise((resolve) => setTimeout(resolve, 350));
    for (const c of extra.slice(1)) c.close(); // four leave together: seven remain, counting
    // One frame, with the count once they are gone: none of 10, 9 or 8 on the way.
    expect(await first.waitFor(isCount, "the count after the leaves")).toEqual({
      type: "presence",
      action: "count",
      count: MAX + 1,
    });
  });

  it("sends no count for a reload: the same user gone and back before the leaves pause", async () => {
    const room = uniqueRoom("p");
    const { first } = await fill(room, MAX + 1);
    // fill() saw the count of seven arrive; see above for the sleep.
    const reloading = await member(room, "reloader");
    await first.waitFor((f) => isCount(f) && f.count === MAX + 2, "the count of eight");
    await new Promise((resolve) => setTimeout(resolve, 350));
    reloading.client.close();
    await member(room, "reloader");
    await member(room, "newcomer");
    // The first count after the reload is the newcomer's: the reload itself sent none.
    expect((await first.waitFor(isCount, "the next count")).count).toBe(MAX + 3);
  });

  it("keeps counting across hibernation", async () => {
    const room = uniqueRoom("p");
    const { first } = await fill(room, MAX + 1);
    // fill() saw the count of seven arrive.
    await evictDurableObject(env.ROOMS.getByName(room));
    const { welcome } = await member(room, "eighth");
    expect(welcome.members).toBeNull();
    expect(welcome.count).toBe(MAX + 2);
    await first.waitFor((f) => isCount(f) && f.count === MAX + 2, "the count of eight");
  });
});

describe("Presence after a restart", () => {
  it("sends the list it still owed when the object was evicted before the trailing frame", async () => {
    const stub = env.ROOMS.getByName(uniqueRoom("p"));
    await runInDurableObject(stub, async (_instance, state) => {
      let n = MAX + 1;
      const before = fakeRoom(() => n);
      const p = new Presence(MAX, 300, state.storage.kv, before.room);
      expect(p.changed(0)).toBe(false); // seven: counting, the count goes out at once
      await settle();
      n = MAX;
      // Six: below the count the clients were sent, so it waits until nobody left for 300 ms.
      expect(p.changed(10, true)).toBe(false);
      expect(before.armed).toEqual([310]);
      // The object is evicted here: a new instance reads what the clients were told, and its
      // alarm sends the list.
      const after = fakeRoom(() => n);
      const woken = new Presence(MAX, 300, state.storage.kv, after.room);
      expect(woken.counting).toBe(true);
      woken.onAlarm(400);
      await settle();
      await settle();
      expect(after.sent).toEqual([
        { type: "presence", action: "count", count: MAX, members: after.room.list() },
      ]);
      expect(woken.counting).toBe(false);
      expect(new Presence(MAX, 300, state.storage.kv, after.room).counting).toBe(false);
    });
  });

  it("switches back even when the count returns to the very number last sent", async () => {
    const stub = env.ROOMS.getByName(uniqueRoom("p"));
    await runInDurableObject(stub, async (_instance, state) => {
      let n = MAX;
      const r = fakeRoom(() => n);
      const p = new Presence(MAX, 300, state.storage.kv, r.room);
      n = MAX + 1;
      p.changed(0);
      await settle();
      n = MAX;
      p.changed(10, true);
      await settle();
      p.onAlarm(400);
      await settle();
      await settle();
      expect(r.sent.at(-1)).toMatchObject({ count: MAX, members: r.room.list() });
      // Over again, and back to six inside one window: six was the last count sent, yet the
      // clients were told "counting" in between, so the list must come again.
      n = MAX + 1;
      p.changed(500);
      n = MAX;
      p.changed(510);
      p.onAlarm(800);
      await settle();
      await settle();
      expect(p.counting).toBe(false);
      expect(r.sent.at(-1)).toMatchObject({ count: MAX, members: r.room.list() });
    });
  });
});

/**
 * A Presence over a fake room of `start` members, in a fresh room's storage, that has sent that
 * count; `room.n` is the member count the test changes.
 */
async function sentCount(start: number, test: (t: Counted) => Promise<void>): Promise<void> {
  await runInDurableObject(env.ROOMS.getByName(uniqueRoom("p")), async (_instance, state) => {
    const room = { n: start };
    const r = fakeRoom(() => room.n);
    const p = new Presence(MAX, 300, state.storage.kv, r.room);
    p.changed(0);
    await settle();
    expect(r.sent.map((f) => f.count)).toEqual([start]);
    await test({ room, r, p });
  });
}
interface Counted {
  room: { n: number };
  r: ReturnType<typeof fakeRoom>;
  p: Presence;
}

describe("Presence when members leave", () => {
  it("waits for the leaves to pause, then sends the count once", async () => {
    await sentCount(1000, async ({ room, r, p }) => {
      // A hundred leave, one every 10 ms.
      for (let t = 10; t <= 1000; t += 10) {
        room.n--;
        expect(p.changed(t, true)).toBe(false);
      }
      expect(r.armed).toEqual([310]); // armed once, at the first moment it could be due
      expect(p.onAlarm(310)).toBe(1300); // leaves kept coming: 300 ms after the last one
      expect(p.onAlarm(1300)).toBeNull();
      await settle();
      expect(r.sent.map((f) => f.count)).toEqual([1000, 900]);
    });
  });

  it("sends a count that keeps falling at the latest LEAVES_WAIT_INTERVALS windows after the first leave", async () => {
    await sentCount(1000, async ({ room, r, p }) => {
      // One leave every 200 ms: never 300 ms of quiet.
      const latest = 10 + LEAVES_WAIT_INTERVALS * 300;
      for (let t = 10; t < latest; t += 200) {
        room.n--;
        p.changed(t, true);
      }
      expect(p.onAlarm(latest - 1)).toBe(latest);
      p.onAlarm(latest);
      await settle();
      expect(r.sent.map((f) => f.count)).toEqual([1000, room.n]);
    });
  });

  it("takes the count a room woke with as what its clients saw, so a leave after waking waits too", async () => {
    const stub = env.ROOMS.getByName(uniqueRoom("p"));
    await runInDurableObject(stub, async (_instance, state) => {
      let n = MAX + 5;
      const before = fakeRoom(() => n);
      new Presence(MAX, 300, state.storage.kv, before.room).changed(0);
      await settle();
      expect(before.sent.map((f) => f.count)).toEqual([MAX + 5]);
      // Evicted, then woken by the first of several leaves.
      const after = fakeRoom(() => n);
      const woken = new Presence(MAX, 300, state.storage.kv, after.room);
      for (let t = 1000; t < 1030; t += 10) {
        n--;
        woken.changed(t, true);
      }
      await settle();
      expect(after.sent).toEqual([]);
      expect(after.armed).toEqual([1300]);
      expect(woken.onAlarm(1300)).toBe(1320);
      expect(woken.onAlarm(1320)).toBeNull();
      await settle();
      expect(after.sent.map((f) => f.count)).toEqual([MAX + 2]);
    });
  });

  it("sends nothing when the count is back where the clients were told, and rising counts at once", async () => {
    await sentCount(1000, async ({ room, r, p }) => {
      room.n = 999;
      p.changed(400, true); // a reload: gone…
      room.n = 1000;
      p.changed(450); // …and back
      expect(p.onAlarm(700)).toBeNull();
      await settle();
      expect(r.sent.map((f) => f.count)).toEqual([1000]);
      room.n = 1001;
      p.changed(800); // a newcomer, with the window open: at once
      await settle();
      expect(r.sent.map((f) => f.count)).toEqual([1000, 1001]);
    });
  });
});
