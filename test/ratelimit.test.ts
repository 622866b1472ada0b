/**
 * Unit tests of the per-connection token bucket (20/s, burst 40, sustained
 * abuse closes). Time is passed in explicitly, so nothing here waits.
 */
import { describe, expect, it } from "vitest";
import { ABUSE_WINDOW_MS, TokenBucket, type Verdict } from "../src/objects/ratelimit";

/** An ordinary epoch timestamp, so nothing depends on the clock starting at 0. */
const T0 = 1_764_000_000_000;

const takeMany = (bucket: TokenBucket, n: number, now: number): Verdict[] =>
  Array.from({ length: n }, () => bucket.take(now));

const count = (verdicts: Verdict[], v: Verdict) => verdicts.filter((x) => x === v).length;

describe("TokenBucket", () => {
  it("allows a burst of exactly `burst` frames at once", () => {
    const bucket = new TokenBucket(20, 40, T0);
    expect(takeMany(bucket, 40, T0)).toEqual(Array(40).fill("ok"));
    expect(bucket.take(T0)).toBe("limited");
  });

  it("starts full: the burst is available at construction time", () => {
    const bucket = new TokenBucket(1, 3, T0);
    expect(takeMany(bucket, 4, T0)).toEqual(["ok", "ok", "ok", "limited"]);
  });

  it("refills one token per 1/rate seconds", () => {
    // Rate 4/s: one token every 250 ms (exact in binary floating point).
    const early = new TokenBucket(4, 2, T0);
    takeMany(early, 2, T0);
    expect(early.take(T0 + 249)).toBe("limited");

    const onTime = new TokenBucket(4, 2, T0);
    takeMany(onTime, 2, T0);
    expect(onTime.take(T0 + 250)).toBe("ok");
    expect(onTime.take(T0 + 250)).toBe("limited");
  });

  it("refills `rate` tokens per second", () => {
    const bucket = new TokenBucket(20, 40, T0);
    takeMany(bucket, 40, T0);
    const after = takeMany(bucket, 25, T0 + 1000);
    expect(count(after, "ok")).toBe(20);
    expect(after.slice(0, 20)).toEqual(Array(20).fill("ok"));
    expect(after.slice(20)).toEqual(Array(5).fill("limited"));
  });

  it("never holds more than `burst` tokens, however long it was idle", () => {
    const bucket = new TokenBucket(20, 40, T0);
    const later = takeMany(bucket, 41, T0 + 3_600_000);
    expect(count(later, "ok")).toBe(40);
    expect(later[40]).toBe("limited");
  });

  it("lets a client at exactly the rate through indefinitely", () => {
    const bucket = new TokenBucket(20, 40, T0);
    takeMany(bucket, 40, T0); // burst spent
    const verdicts: Verdict[] = [];
    for (let i = 1; i <= 200; i++) verdicts.push(bucket.take(T0 + i * 50)); // 20/s for 10 s
    expect(verdicts).toEqual(Array(200).fill("ok"));
  });

  it("does not refill when the clock goes backwards", () => {
    const bucket = new TokenBucket(20, 1, T0);
    expect(bucket.take(T0)).toBe("ok");
    expect(bucket.take(T0 - 5000)).toBe("limited");
  });

  it("calls a client abusive after more than `burst` drops within the window", () => {
    const bucket = new TokenBucket(20, 40, T0);
    takeMany(bucket, 40, T0);
    expect(takeMany(bucket, 40, T0)).toEqual(Array(40).fill("limited"));
    expect(bucket.take(T0)).toBe("abusive");
    expect(bucket.take(T0 + 1)).toBe("abusive");
  });

  it("counts drops spread over the window, not only those in one instant", () => {
    // Rate so low that nothing refills within the test: every take after the burst is a drop.
    const bucket = new TokenBucket(0.001, 3, T0);
    takeMany(bucket, 3, T0);
    expect(bucket.take(T0 + 1_000)).toBe("limited");
    expect(bucket.take(T0 + 4_000)).toBe("limited");
    expect(bucket.take(T0 + 7_000)).toBe("limited");
    expect(bucket.take(T0 + 1_000 + ABUSE_WINDOW_MS)).toBe("abusive"); // 4th drop, window still open
  });

  it("starts a new window more than 10 s after the first drop of the last one", () => {
    expect(ABUSE_WINDOW_MS).toBe(10_000);
    const bucket = new TokenBucket(0.001, 3, T0);
    takeMany(bucket, 3, T0);
    expect(takeMany(bucket, 3, T0)).toEqual(["limited", "limited", "limited"]);
    // 10 s + 1 ms later the three drops are forgotten; 0.01 tokens have refilled, still a drop.
    const next = T0 + ABUSE_WINDOW_MS + 1;
    expect(takeMany(bucket, 3, next)).toEqual(["limited", "limited", "limited"]);
    expect(bucket.take(next)).toBe("abusive");
  });

  it("is not abusive when the window expires between bursts of drops", () => {
    const bucket = new TokenBucket(20, 40, T0);
    takeMany(bucket, 40, T0);
    expect(count(takeMany(bucket, 40, T0), "limited")).toBe(40);
    // 20 s later: the bucket is full again; spend it and drop 40 more in a fresh window.
    const later = T0 + 2 * ABUSE_WINDOW_MS;
    expect(count(takeMany(bucket, 40, later), "ok")).toBe(40);
    expect(takeMany(bucket, 40, later)).toEqual(Array(40).fill("limited"));
    expect(bucket.take(later)).toBe("abusive");
  });
});
