/**
 * How fast this machine runs right now. The machine the bench runs on is shared, and its speed
 * moves under it: a fixed piece of CPU work (a chain of SHA-256 hashes) took 246–282 ms, then
 * 333–436 ms for over a minute, in one two-minute series with nothing else running, and 74–83 ms
 * against 54 for this probe for 20 s with every CPU of the machine idle. Every system measured
 * while it is slower looks slower by about as much; the probe, timed just before and just
 * after a measurement, shows when that was the case. It runs between measurements, never during
 * one, on the harness's main thread.
 */
import { createHash } from "node:crypto";

/** SHA-256 rounds of one probe: about 65 ms at the machine's faster speed. */
const PROBE_ROUNDS = 50_000;

/** Milliseconds the fixed work takes now: the fastest of three tries. */
export function cpuProbeMs(rounds = PROBE_ROUNDS): number {
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    let h = Buffer.alloc(32);
    for (let i = 0; i < rounds; i++) h = createHash("sha256").update(h).digest();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** Probes taken just before and just after one measurement. */
export type Probes = [before: number, after: number];
