/**
 * How much of the local runtime's CPU, second by second, went to waking its isolate lock queue:
 * a diagnosis of slow reconnect storms (docs/BENCHMARKS.md, target 5). Record the whole machine
 * with Linux perf while a bench runs, then read the recording with this:
 *
 *   perf record -F 250 -a -g -o storm.data &   node bench/run.ts …   kill -INT %1
 *   node bench/herd.ts storm.data [--min 30]   (only seconds where that share is ≥ 30 %)
 *
 * Every sample of a `workerd` thread counts once per wall-clock second; it is a lock-queue
 * sample when its stack holds workerd's AsyncLockQueue or the fork hub that wakes its waiters
 * (workerd ships with its symbols). A second where most of the runtime's samples are such is
 * one where thousands of queued events were woken and went back to waiting, over and over,
 * instead of running. It is a lower bound: perf's stacks of workerd often stop after a frame or
 * two, and a waiter woken by a coroutine (`PromiseAwaiterBase::awaitResumeImpl`) is counted only
 * when the lock queue's frame made it into the stack. Counting the coroutine wake-ups too is no
 * better: a fan-out burst, with no herd, then reads 25–40 %. Linux only, and needs `perf` (Debian:
 * linux-perf).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

/** Frames of a stack that mean the sample was spent waking the isolate lock queue's waiters. */
const LOCK_QUEUE = /AsyncLockQueue|ForkHubBase::fire|OnReadyEvent::arm/;

export interface Second {
  /** Wall-clock second (Unix time). */
  at: number;
  samples: number;
  lockQueue: number;
}

/**
 * Tallies `perf script -F comm,tid,time,ip,sym` output: a header line per sample
 * (`workerd 1234 57198.912345:`), then its stack, one frame per indented line, then a blank
 * line. `bootSec` turns perf's seconds since boot into Unix time.
 */
export class LockQueueTally {
  readonly #bootSec: number;
  readonly #seconds = new Map<number, Second>();
  #current: { at: number; lockQueue: boolean } | null = null;

  constructor(bootSec: number) {
    this.#bootSec = bootSec;
  }

  line(line: string): void {
    if (line.trim() === "") return this.#end();
    // Stack frames are indented with a tab; a sample's header line is not.
    if (!line.startsWith("\t")) {
      this.#end();
      const m = /^\s*(\S+)\s+\d+\s+([\d.]+):/.exec(line);
      if (m !== null && m[1] === "workerd") {
        this.#current = { at: Math.floor(Number(m[2]) + this.#bootSec), lockQueue: false };
      }
      return;
    }
    if (this.#current !== null && LOCK_QUEUE.test(line)) this.#current.lockQueue = true;
  }

  /** Every second with a workerd sample, in order. */
  seconds(): Second[] {
    this.#end();
    return [...this.#seconds.values()].sort((a, b) => a.at - b.at);
  }

  #end(): void {
    const c = this.#current;
    if (c === null) return;
    this.#current = null;
    const s = this.#seconds.get(c.at) ?? { at: c.at, samples: 0, lockQueue: 0 };
    s.samples++;
    if (c.lockQueue) s.lockQueue++;
    this.#seconds.set(c.at, s);
  }
}

/** Unix time of this machine's boot, which perf's timestamps count from. */
function bootSec(): number {
  const btime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
  if (btime === null) throw new Error("/proc/stat has no btime: Linux only");
  return Number(btime[1]);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { min: { type: "string", default: "0" } },
  });
  const file = positionals[0];
  if (file === undefined) throw new Error("usage: node bench/herd.ts PERF_DATA [--min PERCENT]");
  const min = Number(values.min);
  if (!Number.isFinite(min)) throw new Error(`--min ${values.min}: not a number`);
  const perf = spawn(
    "perf",
    ["script", "-i", file, "--comm", "workerd", "-F", "comm,tid,time,ip,sym"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const failed = new Promise<never>((_, reject) =>
    perf.on("error", (err) => reject(new Error(`perf could not run (${err.message})`))),
  );
  const tally = new LockQueueTally(bootSec());
  const reading = (async () => {
    for await (const line of createInterface({ input: perf.stdout })) tally.line(line);
  })();
  await Promise.race([reading, failed]);
  console.log("second    workerd samples  isolate lock queue");
  for (const s of tally.seconds()) {
    const share = (100 * s.lockQueue) / s.samples;
    // A second with a handful of samples is the runtime idling: its share says nothing.
    if (s.samples < 20 || share < min) continue;
    const at = new Date(s.at * 1000).toISOString().slice(11, 19);
    console.log(`${at}  ${String(s.samples).padStart(15)}  ${share.toFixed(0).padStart(16)} %`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
