/**
 * The jobs page's model (public/jobs-model.js) in Node: job events merged whatever order they
 * arrive in — live, replayed, from an older history page, or the 202 answer of POST /jobs.
 */
import { describe, expect, it } from "vitest";
import { JobBook, parseJobEvent, type JobUpdate } from "../../public/jobs-model.js";
import type { EventFrame } from "../../public/rooms-protocol.js";

const event = (seq: number, name: string, data: unknown): EventFrame => ({
  type: "event",
  seq,
  id: `p-${seq}`,
  event: name,
  data,
  to: "u1",
  ts: 1_700_000_000_000 + seq,
});

const queued = (job: string, seq: number) =>
  parseJobEvent(event(seq, "job.queued", { job, kind: "file.inspect" }))!;
const done = (job: string, seq: number) =>
  parseJobEvent(event(seq, "job.done", { job, kind: "file.inspect", result: { seq } }))!;
const failed = (job: string, seq: number) =>
  parseJobEvent(
    event(seq, "job.failed", { job, kind: "file.inspect", reason: "no", attempts: 3 }),
  )!;

/** What the page shows: each job once, newest first, with its stage and the seq shown. */
const view = (book: JobBook) =>
  book.newestFirst().map((j) => [j.id, j.shown.stage, j.shown.seq] as const);

/** A deterministic shuffle (mulberry32), so a failure names the order that broke. */
function shuffled<T>(items: T[], seed: number): T[] {
  let a = seed;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("parseJobEvent", () => {
  it("reads the stage, the job's fields and the event's seq and ts", () => {
    expect(
      parseJobEvent(event(7, "job.failed", { job: "j1", kind: "ocr", reason: "x", attempts: 2 })),
    ).toEqual({
      job: "j1",
      stage: "failed",
      kind: "ocr",
      reason: "x",
      attempts: 2,
      ts: 1_700_000_000_007,
      seq: 7,
    });
  });

  it("ignores other events and job events without a job id", () => {
    expect(parseJobEvent(event(1, "order.paid", { job: "j1" }))).toBeNull();
    expect(parseJobEvent(event(2, "job.started", { job: "j1" }))).toBeNull();
    expect(parseJobEvent(event(3, "job.done", { id: "j1" }))).toBeNull();
    expect(parseJobEvent(event(4, "job.done", "j1"))).toBeNull();
  });

  it("takes the time from the caller when a frame has none, and no seq from a live-only one", () => {
    const live = { ...event(1, "job.queued", { job: "j1" }), seq: undefined } as EventFrame;
    delete (live as { ts?: number }).ts;
    expect(parseJobEvent(live, () => 42)).toEqual({ job: "j1", stage: "queued", ts: 42 });
  });
});

describe("JobBook", () => {
  it("keeps a job's done when its queued arrives later from an older page, and lists it once", () => {
    const book = new JobBook();
    expect(book.apply(done("a", 60))).toMatchObject({ created: true, restaged: true });
    expect(book.apply(queued("b", 61))).toMatchObject({ created: true });
    expect(view(book)).toEqual([
      ["b", "queued", 61],
      ["a", "done", 60],
    ]);
    // An older page: a's queued, older than b's, moves a down but leaves it done.
    expect(book.apply(queued("a", 10))).toMatchObject({
      created: false,
      restaged: false,
      moved: true,
    });
    expect(book.size).toBe(2);
    expect(view(book)).toEqual([
      ["b", "queued", 61],
      ["a", "done", 60],
    ]);
    expect(book.get("a")!.first).toBe(10);
    expect(book.get("a")!.shown.result).toEqual({ seq: 60 });
  });

  it("moves a job below a newer one once its older events show it was queued first", () => {
    const book = new JobBook();
    // The replay starts after both were queued: a finished last, so it is listed first...
    book.apply(done("b", 3));
    book.apply(done("a", 4));
    expect(book.newestFirst().map((j) => j.id)).toEqual(["a", "b"]);
    expect(book.nextOlder("a")).toBe("b");
    // ...until the older page says b was queued after a.
    book.apply(queued("b", 2));
    book.apply(queued("a", 1));
    expect(book.newestFirst().map((j) => j.id)).toEqual(["b", "a"]);
    expect(book.nextOlder("b")).toBe("a");
    expect(book.nextOlder("a")).toBeNull();
  });

  it("shows the later of two final events, whichever arrives first; repeats change nothing", () => {
    for (const order of [
      [failed("j", 5), done("j", 8)],
      [done("j", 8), failed("j", 5)],
    ]) {
      const book = new JobBook();
      for (const u of order) book.apply(u);
      expect(view(book)).toEqual([["j", "done", 8]]);
      expect(book.apply(done("j", 8))).toMatchObject({
        created: false,
        restaged: false,
        moved: false,
      });
    }
  });

  it("lists a job from the 202 answer on top, and lets its events take over but never undo them", () => {
    const book = new JobBook();
    book.apply(done("old", 5));
    const answer: JobUpdate = { job: "new", stage: "queued", kind: "file.inspect", ts: 1 };
    expect(book.apply(answer)).toMatchObject({ created: true });
    expect(book.nextOlder("new")).toBe("old");
    // Its stored queued event: same stage, but it has a place in the room's order.
    expect(book.apply(queued("new", 6))).toMatchObject({ restaged: true, moved: true });
    expect(book.apply(done("new", 7)).restaged).toBe(true);
    // A 202 answer that comes last (a slow network) leaves the job done.
    expect(book.apply(answer).restaged).toBe(false);
    expect(view(book)).toEqual([
      ["new", "done", 7],
      ["old", "done", 5],
    ]);
  });

  it("ends with the same list however the room's events are split into pages and reordered", () => {
    // 30 jobs, queued in a burst, finished in another order; some fail.
    const events: JobUpdate[] = [];
    let seq = 0;
    for (let i = 0; i < 30; i++) events.push(queued(`j${i}`, ++seq));
    for (const i of shuffled([...Array(30).keys()], 1))
      events.push(i % 7 === 0 ? failed(`j${i}`, ++seq) : done(`j${i}`, ++seq));
    const inOrder = new JobBook();
    for (const u of events) inOrder.apply(u);
    const expected = view(inOrder);
    expect(expected.map(([id]) => id)).toEqual([...Array(30).keys()].reverse().map((i) => `j${i}`));
    expect(expected.every(([, stage]) => stage !== "queued")).toBe(true);

    for (const pageSize of [1, 7, 20, 50]) {
      // The newest page first (the replay), then older and older pages, each oldest first.
      const book = new JobBook();
      for (let end = events.length; end > 0; end -= pageSize)
        for (const u of events.slice(Math.max(0, end - pageSize), end)) book.apply(u);
      expect(view(book), `pages of ${pageSize}`).toEqual(expected);
    }
    for (let seed = 1; seed <= 20; seed++) {
      const book = new JobBook();
      for (const u of shuffled(events, seed)) book.apply(u);
      expect(view(book), `shuffle ${seed}`).toEqual(expected);
    }
  });
});
