/**
 * The pages' history paging (public/history-paging.js), shared by the chat page, the dashboard
 * and the jobs page: where the next page starts, and that only the room's `complete` ends it —
 * never a replay or a page shorter than asked, which the byte budget can make. Then the pager
 * the pages use (public/kit/history.js), driving a RoomClient against a scripted room.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HistoryPaging } from "../../public/history-paging.js";
import { historyPager } from "../../public/kit/history.js";
import { RoomClient, type StoredFrame } from "../../src/client/index.ts";
import { ScriptedRoom, message, nextEvent, send, welcome, type Frame } from "./scripted-room";

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const seqs = (...list: number[]) => list.map((seq) => ({ seq }));

describe("HistoryPaging", () => {
  it("has nothing to fetch after a whole short replay, or one from the room's first frame", () => {
    for (const replay of [
      { from: 0, count: 50, complete: true },
      { from: 0, count: 9, complete: false },
      { from: 3, count: 12, complete: true },
      { from: 0, count: 0, complete: true },
    ]) {
      const paging = new HistoryPaging(50);
      paging.welcomed(replay);
      expect(paging.complete, JSON.stringify(replay)).toBe(true);
      expect(paging.next()).toBeNull();
    }
  });

  it("pages on after a short replay that the byte budget cut", () => {
    const paging = new HistoryPaging(50);
    paging.welcomed({ from: 91, count: 9, complete: false });
    expect(paging.complete).toBe(false);
    expect(paging.next()).toEqual({ before: 92, limit: 50 });
  });

  it("pages on after a page shorter than asked until the room says complete", () => {
    const paging = new HistoryPaging(50);
    paging.welcomed({ from: 91, count: 9, complete: false });
    paging.next();
    // 3 of 50: the budget cut it, and the room says older frames remain.
    expect(paging.answered({ messages: seqs(89, 90, 91), complete: false })).toEqual(
      seqs(89, 90, 91),
    );
    expect(paging.complete).toBe(false);
    expect(paging.next()).toEqual({ before: 89, limit: 50 });
    paging.answered({ messages: seqs(88), complete: true });
    expect(paging.complete).toBe(true);
    expect(paging.next()).toBeNull();
  });

  it("asks for the page before the oldest frame seen, one at a time, until the room says complete", () => {
    const paging = new HistoryPaging(50);
    paging.welcomed({ from: 70, count: 50, complete: true });
    for (let seq = 71; seq <= 120; seq++) paging.saw(seq);
    paging.saw(undefined); // a live-only event: not in the room's order
    expect(paging.next()).toEqual({ before: 71, limit: 50 });
    expect(paging.next()).toBeNull(); // one page on its way at a time
    paging.answered({ messages: seqs(30, 70), complete: false });
    expect(paging.next()).toEqual({ before: 30, limit: 50 });
    paging.interrupted(); // the connection dropped: the request may be lost
    expect(paging.next()).toEqual({ before: 30, limit: 50 });
    paging.answered({ messages: seqs(10, 29), complete: true });
    // A late answer to the repeated request neither reopens it nor brings its frames twice.
    expect(paging.answered({ messages: seqs(10, 29), complete: false })).toEqual([]);
    expect(paging.complete).toBe(true);
    expect(paging.next()).toBeNull();
  });

  it("starts from the replay's first seq when no frame has been seen yet", () => {
    const paging = new HistoryPaging(20);
    paging.welcomed({ from: 200, count: 50, complete: true });
    expect(paging.next()).toEqual({ before: 201, limit: 20 });
  });

  it("stops at an empty page, which could not move it on", () => {
    const paging = new HistoryPaging(50);
    paging.welcomed({ from: 70, count: 50, complete: true });
    paging.next();
    expect(paging.answered({ messages: [], complete: false })).toEqual([]);
    expect(paging.next()).toBeNull();
  });
});

describe("the pages' pager driving a RoomClient", () => {
  let room: ScriptedRoom;
  beforeAll(async () => {
    room = await ScriptedRoom.start();
  });
  afterAll(async () => {
    await room.stop();
  });

  it("loads older frames past short pages until the room says complete", async () => {
    const c = new RoomClient({ url: room.url, room: "r", name: "Ann", probe: false });
    /** What the page shows, by seq, oldest first. */
    const shown: number[] = [];
    const take = (f: StoredFrame) => {
      shown.push(f.seq ?? 0);
      shown.sort((a, b) => a - b);
    };
    const changes: string[] = [];
    c.on("message", take);
    const pager = historyPager(c, {
      pageSize: 50,
      older: (frames) => frames.forEach(take),
      changed: (why) => changes.push(why),
    });
    try {
      c.connect();
      const conn = await room.connection(1);
      // The newest 9 fit the budget: fewer than 50, and the room says it left older ones out.
      send(
        conn,
        welcome(100, 0, { replay: { from: 91, count: 9, complete: false } }),
        ...range(92, 100).map((s) => message(s)),
      );
      await nextEvent(c, "message", (m) => m.seq === 100);
      expect(pager.complete).toBe(false);

      // The page's "load older", pressed until the control goes away; a second press while a
      // page is on its way asks for nothing.
      const pages: Frame[][] = [range(80, 91).map((s) => message(s)), [message(79)]];
      const answers = [false, true];
      for (let n = 1; !pager.complete; n++) {
        expect(n, "pages before the start").toBeLessThanOrEqual(2);
        expect(pager.more()).toBe(true);
        expect(pager.more()).toBe(false);
        expect(pager.loading).toBe(true);
        expect(JSON.parse(await conn.frame(n))).toMatchObject({ type: "history", limit: 50 });
        const answered = nextEvent(c, "history");
        send(conn, { type: "history", messages: pages[n - 1], complete: answers[n - 1] });
        await answered;
      }
      expect(pager.more()).toBe(false);
      expect(shown).toEqual(range(79, 100));
      expect(conn.received.map((t) => JSON.parse(t).before)).toEqual([92, 80]);
      expect(changes).toEqual(["welcome", "asked", "answered", "asked", "answered"]);
    } finally {
      c.close();
    }
  });
});
