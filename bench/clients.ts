/**
 * The client side of the bench, seen from the main thread: a pool of client threads
 * (client-worker.ts), each holding a share of the sockets, so that parsing and counting
 * deliveries is spread over cores instead of capping the measurement at one. Progress (how many
 * messages every socket of a thread has) is shared memory, so the sender's window and the
 * latency rounds react to the last delivery without a message round trip per frame.
 */
import { Worker } from "node:worker_threads";
import type { CollectResult, Command, SocketState } from "./client-worker.ts";

const WORKER_FILE = new URL("./client-worker.ts", import.meta.url);

/** Atomics.waitAsync (ES2024, in Node since 16), typed here: the Node-side tsconfig stops at ES2023. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
      t: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

export class ClientPool {
  readonly size: number;
  /** The sender puts an `id` on every message. */
  readonly ids: boolean;
  readonly #workers: Worker[];
  readonly #progress: Int32Array;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  failure: Error | null = null;

  /** `ids`: the sender puts an `id` on every message (stored, acked), as real clients do. */
  constructor(size: number, ids = false) {
    this.size = size;
    this.ids = ids;
    const buffer = new SharedArrayBuffer(4 * (1 + size));
    this.#progress = new Int32Array(buffer);
    this.#workers = Array.from({ length: size }, (_, index) => {
      const w = new Worker(WORKER_FILE, { workerData: { index, progress: buffer, ids } });
      w.on(
        "message",
        (m: { type: string; id?: number; result?: unknown; error?: string; message?: string }) => {
          if (m.type === "fail") return this.#fail(new Error(m.message));
          const p = this.#pending.get(m.id!);
          if (p === undefined) return;
          this.#pending.delete(m.id!);
          if (m.error !== undefined) p.reject(new Error(m.error));
          else p.resolve(m.result);
        },
      );
      w.on("error", (err: Error) => this.#fail(err));
      return w;
    });
  }

  #fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  call<T>(worker: number, command: Command): Promise<T> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#workers[worker]!.postMessage({ id, command });
    });
  }

  all<T>(command: (worker: number) => Command): Promise<T[]> {
    return Promise.all(this.#workers.map((_, w) => this.call<T>(w, command(w))));
  }

  /** Messages that every socket of every thread has received in the current run. */
  done(): number {
    let min = Infinity;
    for (let w = 0; w < this.size; w++) min = Math.min(min, Atomics.load(this.#progress, 1 + w));
    return min;
  }

  /**
   * Waits until the next progress report (or `timeoutMs`); the caller re-reads `done()`.
   * Failures of a client thread surface here, so a lost frame stops the sender at once.
   */
  async nextProgress(timeoutMs = 1000): Promise<void> {
    if (this.failure !== null) throw this.failure;
    const tick = Atomics.load(this.#progress, 0);
    const waited = waitAsync(this.#progress, 0, tick, timeoutMs);
    if (waited.async) await waited.value;
    if (this.failure !== null) throw this.failure;
  }

  /** Resets every thread's progress slot for a new run (threads publish 0 on `expect` too). */
  resetProgress(): void {
    for (let w = 0; w < this.size; w++) Atomics.store(this.#progress, 1 + w, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

export type { CollectResult, SocketState };
