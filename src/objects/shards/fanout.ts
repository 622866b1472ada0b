/**
 * The order keeper's side of a sharded room's delivery: one ordered stream per shard. A stream
 * has at most one `deliver` call in flight; whatever the keeper produces meanwhile waits and
 * leaves in the next call, so under load one call carries many frames (the RPC's cost is paid
 * per batch, not per frame), and each shard receives everything in the order the keeper made
 * it. Like the socket outbox, nothing leaves before the turn that stored it is written
 * (`beforeSend`).
 *
 * A call that fails is sent again, a few times, after a short wait: the shard drops what it
 * already had by `seq`. Given up, the frames are gone for that shard only until its next frame,
 * whose `seq` shows it the gap, and it fetches what it missed (shard.ts).
 */
import type { Delivery } from "./wire";

export interface ShardEndpoint {
  deliver(batch: Delivery[]): Promise<void>;
}

/** Items per call, so one call never grows without bound behind a slow shard. */
const MAX_BATCH = 1000;
/** Characters per call (about 4 MB of JSON at most), well under the RPC's message limit. */
const MAX_BATCH_CHARS = 4_000_000;
const RETRIES = 3;
const RETRY_MS = 200;

interface Stream {
  queue: Delivery[];
  busy: boolean;
  failures: number;
}

export class Fanout {
  readonly #endpoint: (shard: number) => ShardEndpoint;
  readonly #beforeSend: () => void;
  readonly #streams = new Map<number, Stream>();
  #scheduled = false;

  constructor(endpoint: (shard: number) => ShardEndpoint, beforeSend: () => void) {
    this.#endpoint = endpoint;
    this.#beforeSend = beforeSend;
  }

  /** Queues one delivery for each of these shards; it leaves after this turn. */
  send(shards: Iterable<number>, d: Delivery): void {
    for (const shard of shards) this.#stream(shard).queue.push(d);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      for (const shard of this.#streams.keys()) void this.#pump(shard);
    }, 0);
  }

  /** Deliveries queued or in flight, for tests and the server API. */
  get backlog(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.queue.length;
    return n;
  }

  #stream(shard: number): Stream {
    let s = this.#streams.get(shard);
    if (s === undefined) this.#streams.set(shard, (s = { queue: [], busy: false, failures: 0 }));
    return s;
  }

  async #pump(shard: number): Promise<void> {
    const s = this.#stream(shard);
    if (s.busy || s.queue.length === 0) return;
    s.busy = true;
    // Whatever turn queued these, it is written before they leave.
    this.#beforeSend();
    let chars = 0;
    let n = 0;
    while (n < s.queue.length && n < MAX_BATCH && chars < MAX_BATCH_CHARS)
      chars += s.queue[n++]!.text.length;
    const batch = s.queue.splice(0, n);
    try {
      await this.#endpoint(shard).deliver(batch);
      s.failures = 0;
    } catch (err) {
      s.failures++;
      if (s.failures <= RETRIES) {
        s.queue.unshift(...batch);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS * s.failures));
      } else {
        console.error(
          `handing ${batch.length} frames to shard ${shard} failed; it catches up`,
          err,
        );
        s.failures = 0;
      }
    } finally {
      s.busy = false;
    }
    if (s.queue.length > 0) void this.#pump(shard);
    else this.#streams.delete(shard);
  }
}
