/**
 * Limits that protect the others in a room. Each block starts with what one user could do while
 * limits counted per socket and replays had no byte bound: flood from many sockets at once, open
 * sockets without end, make one small request send megabytes, and make another user's frame be
 * acknowledged with its own seq by choosing an id with a colon. vitest.config.ts lowers
 * MAX_FRAME_BYTES to 4096 and MAX_REPLAY_BYTES to 16384 so the budgets are reached quickly.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, type Frame, join, open, uniqueRoom } from "./helpers";

const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});
const track = <T extends { client: Client }>(j: T): T => {
  opened.push(j.client);
  return j;
};

const MAX_REPLAY_BYTES = Number((env as Env & { MAX_REPLAY_BYTES: string }).MAX_REPLAY_BYTES);
const MAX_SOCKETS = 10;
const RATE_BURST = 40;
const utf8 = (s: string) => new TextEncoder().encode(s).byteLength;

describe("attack: a flood from many sockets of one user", () => {
  it("shares one rate bucket between all sockets of a user; others keep receiving", async () => {
    const room = uniqueRoom();
    const { client: bob } = track(await join(room, { user: "bob" }));
    const tabs: Client[] = [];
    for (let i = 0; i < MAX_SOCKETS; i++)
      tabs.push(track(await join(room, { user: "eve" })).client);
    // 6 frames from each of 10 sockets, all at once: 60 frames against a burst of 40 (and
    // fewer than 40 drops, which would count as sustained abuse and close sockets).
    for (const [t, tab] of tabs.entries())
      for (let i = 0; i < 6; i++) tab.send({ type: "message", data: i, id: `t${t}-${i}` });
    const answers = await Promise.all(
      tabs.map(async (tab, t) => {
        const got: Frame[] = [];
        for (let i = 0; i < 6; i++) {
          got.push(
            await tab.waitFor(
              (f) => (f.type === "ack" || f.type === "error") && f.id === `t${t}-${i}`,
              `the answer to t${t}-${i}`,
            ),
          );
        }
        return got;
      }),
    );
    const all = answers.flat();
    const acked = all.filter((f) => f.type === "ack").length;
    const limited = all.filter((f) => f.type === "error" && f.code === "rate_limited").length;
    expect(acked + limited).toBe(60);
    // The bucket refills at 20/s while the frames arrive, so a few more than the burst may pass.
    expect(acked).toBeGreaterThanOrEqual(RATE_BURST);
    expect(acked).toBeLessThan(RATE_BURST + 10);
    // Bob, another user, still receives every accepted message.
    bob.send({ type: "message", data: "still here", id: "bob-1" });
    const mine = await bob.waitFor((f) => f.type === "ack" && f.id === "bob-1", "bob's ack");
    const seen = bob.pending.filter((f) => f.type === "message" && f.from.id === "eve");
    expect(seen).toHaveLength(acked);
    expect(mine.seq).toBe(acked + 1);
  });
});

describe("attack: sockets without end", () => {
  it("closes a user's oldest socket with 4429 too_many_connections when an 11th opens", async () => {
    const room = uniqueRoom();
    const first = track(await join(room, { user: "eve" })).client;
    for (let i = 1; i < MAX_SOCKETS; i++) track(await join(room, { user: "eve" }));
    const { client: eleventh, welcome } = track(await join(room, { user: "eve" }));
    expect(await first.waitFor((f) => f.type === "error", "the error")).toMatchObject({
      code: "too_many_connections",
    });
    expect((await first.closed).code).toBe(4429);
    expect(welcome.count).toBe(1);
    // The newest socket works, and another user is not affected by eve's cap.
    eleventh.send({ type: "message", data: "hi", id: "m" });
    await eleventh.waitFor((f) => f.type === "ack", "the ack");
    const { welcome: bob } = track(await join(room, { user: "bob" }));
    expect(bob.count).toBe(2);
  });
});

describe("attack: one small request that sends megabytes", () => {
  /** Stores `n` frames of about `bytes` bytes each from one user; returns their seqs. */
  async function fill(room: string, n: number, bytes: number): Promise<void> {
    const { client } = track(await join(room, { user: "writer" }));
    for (let i = 0; i < n; i++) {
      client.send({ type: "message", data: "x".repeat(bytes), id: `f${i}` });
      await client.waitFor((f) => f.type === "ack" && f.id === `f${i}`, `ack f${i}`);
    }
  }

  it("replays the newest frames that fit MAX_REPLAY_BYTES, and paging back gets the rest", async () => {
    const room = uniqueRoom();
    await fill(room, 12, 3500); // 12 x ~3.6 KB = ~43 KB against a 16 KB budget
    const { client, welcome } = track(await join(room, { user: "reader", since: "0" }));
    expect(welcome.seq).toBe(12);
    const replayed: Frame[] = [];
    for (let i = 0; i < welcome.replay.count; i++) replayed.push(await client.expect("message"));
    const bytes = replayed.reduce((n, f) => n + utf8(JSON.stringify(f)), 0);
    expect(bytes).toBeLessThanOrEqual(MAX_REPLAY_BYTES);
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.at(-1)!.seq).toBe(12); // the newest ones
    expect(welcome.replay).toEqual({
      from: replayed[0]!.seq - 1,
      count: replayed.length,
      complete: false,
    });
    // Paging back with history completes the room, every page within the budget.
    const seqs = replayed.map((f) => f.seq as number);
    let before = seqs[0]!;
    for (let pages = 0; pages < 10 && before > 1; pages++) {
      client.send({ type: "history", before, limit: 100 });
      const page = await client.expect("history");
      expect(utf8(JSON.stringify(page.messages))).toBeLessThanOrEqual(MAX_REPLAY_BYTES);
      const got = page.messages.map((f: Frame) => f.seq as number);
      seqs.unshift(...got);
      before = got[0] ?? before;
      if (page.complete) break;
    }
    expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("bounds a history page by MAX_REPLAY_BYTES as well as by limit", async () => {
    const room = uniqueRoom();
    await fill(room, 12, 3500);
    const { client } = track(await join(room, { user: "reader", since: "12" }));
    client.send({ type: "history", limit: 100 });
    const page = await client.expect("history");
    expect(utf8(JSON.stringify(page.messages))).toBeLessThanOrEqual(MAX_REPLAY_BYTES);
    expect(page.messages.length).toBeGreaterThan(0);
    expect(page.messages.length).toBeLessThan(12);
    expect(page.complete).toBe(false);
  });

  it("keeps complete true when everything fits", async () => {
    const room = uniqueRoom();
    await fill(room, 3, 100);
    const { welcome } = track(await join(room, { user: "reader", since: "0" }));
    expect(welcome.replay).toEqual({ from: 0, count: 3, complete: true });
  });
});

describe("attack: an id chosen to collide with another user's", () => {
  it("never acknowledges one user's frame with another user's seq, whatever the ids contain", async () => {
    const room = uniqueRoom();
    const { client: a } = track(await join(room, { user: "a" }));
    const { client: ab } = track(await join(room, { user: "a:b" }));
    a.send({ type: "message", data: "from a", id: "b:c-1" });
    const ackA = await a.waitFor((f) => f.type === "ack" && f.id === "b:c-1", "a's ack");
    ab.send({ type: "message", data: "from a:b", id: "c-1" });
    const ackAB = await ab.waitFor((f) => f.type === "ack" && f.id === "c-1", "a:b's ack");
    expect(ackAB.seq).not.toBe(ackA.seq);
    const stored = await ab.waitFor(
      (f) => f.type === "message" && f.seq === ackAB.seq,
      "a:b's own message",
    );
    expect(stored).toMatchObject({ from: { id: "a:b" }, data: "from a:b" });
  });
});
