/**
 * Per-connection flood control: a token bucket (RATE_PER_SEC, burst RATE_BURST) decides whether
 * a frame is handled; frames over the rate are dropped with a `rate_limited` error. A client that
 * keeps flooding — more than RATE_BURST drops within ABUSE_WINDOW_MS — is closed with 1008, so
 * it cannot keep the room busy answering it.
 */

export const ABUSE_WINDOW_MS = 10_000;

export type Verdict = "ok" | "limited" | "abusive";

export class TokenBucket {
  #tokens: number;
  #last: number;
  #dropped = 0;
  #windowStart = 0;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#last = now;
  }

  take(now: number): Verdict {
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.burst, this.#tokens + elapsed * this.ratePerSec);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return "ok";
    }
    if (now - this.#windowStart > ABUSE_WINDOW_MS) {
      this.#windowStart = now;
      this.#dropped = 0;
    }
    this.#dropped += 1;
    return this.#dropped > this.burst ? "abusive" : "limited";
  }
}
