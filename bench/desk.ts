/**
 * The help desk's queue, timed: does one more customer cost what the first did? A desk opens a
 * conversation on a customer's first message, and with no agent online it is queued
 * (src/objects/desk/). test/desk-limits.test.ts shows that a join and a first message read the
 * same rows whatever the queue's length; this measures the time, end to end under `wrangler dev`.
 *
 * Each sample is a fresh desk: customer #1 joins and writes, `queue - 1` more do the same (their
 * sockets stay open, as waiting customers' pages do), then customer #(queue + 1) joins and
 * writes with `queue` conversations ahead of it. Every customer is a guest (`?name=`, no token),
 * so each join gets a fresh guest id. Timed for #1 and #(queue + 1): the join (upgrade request
 * to `welcome`) and the first message (send to `queued`); the position in `queued` must be the
 * customer's number, and the message must be acked.
 */
import WebSocket from "ws";
import { nowMs } from "./stats.ts";
import type { RunningSystem } from "./systems.ts";
import { STALL_MS, tag, waitQuiet } from "./workloads.ts";

/** Customers joining and writing at once while the queue is filled. */
const FILL_LANES = 16;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

/** One customer's socket: frames kept in arrival order, read by waiting for a type. */
class Customer {
  readonly ws: WebSocket;
  #frames: Frame[] = [];
  #waiter: { type: string; resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  #closing = false;
  #failure: Error | null = null;

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
    this.ws.on("message", (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      if (f.type === "error") return this.#fail(new Error(`error frame: ${data.toString()}`));
      const w = this.#waiter;
      if (w !== null && w.type === f.type) {
        this.#waiter = null;
        w.resolve(f);
      } else this.#frames.push(f);
    });
    this.ws.once("unexpected-response", (_req, res) =>
      this.#fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
    );
    this.ws.on("error", (err) => this.#fail(err));
    this.ws.on("close", (code) => {
      if (!this.#closing) this.#fail(new Error(`closed unexpectedly with ${code}`));
    });
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    const w = this.#waiter;
    this.#waiter = null;
    w?.reject(err);
  }

  /** The next frame of `type` (earlier frames of other types are kept, later ones too). */
  next(type: string): Promise<Frame> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const at = this.#frames.findIndex((f) => f.type === type);
    if (at >= 0) return Promise.resolve(this.#frames.splice(at, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error(`no ${type} frame in ${STALL_MS} ms`));
      }, STALL_MS);
      this.#waiter = {
        type,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Closes with 1000 and waits for the server's answer. */
  close(): Promise<void> {
    this.#closing = true;
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
    });
  }

  /** Resets the connection: the server is told by the close of the TCP connection. */
  drop(): void {
    this.#closing = true;
    this.ws.terminate();
  }
}

/** One customer's join and first message, in ms; `position` is what `queued` said. */
interface Timed {
  joinMs: number;
  messageMs: number;
  position: number;
}

/**
 * Joins as a guest and writes a first message: the join is timed from the upgrade request to
 * `welcome`, the message from its send to `queued` (which comes before its own copy and the ack).
 */
async function customer(
  url: string,
  number: number,
  checkPosition = true,
): Promise<{ c: Customer; t: Timed }> {
  const t0 = nowMs();
  const c = new Customer(url);
  const welcome = await c.next("welcome");
  const joinMs = nowMs() - t0;
  if (welcome.agents_online !== 0)
    throw new Error(`customer #${number}: ${welcome.agents_online} agents online, expected none`);
  const t1 = nowMs();
  c.send({ type: "message", data: { text: `hello from #${number}` }, id: `first-${number}` });
  const queued = await c.next("queued");
  const messageMs = nowMs() - t1;
  const ack = await c.next("ack");
  if (checkPosition && queued.position !== number)
    throw new Error(`customer #${number} was told position ${queued.position}`);
  if (ack.id !== `first-${number}`) throw new Error(`customer #${number}: ack for ${ack.id}`);
  return { c, t: { joinMs, messageMs, position: queued.position as number } };
}

export interface DeskQueue extends Partial<DeskOptions> {
  /** Conversations queued ahead of the last customer measured. */
  queue: number;
  /** Per desk (one sample each): customer #1, and customer #(queue + 1). */
  first: Timed[];
  next: Timed[];
  /** Per desk: seconds to fill the queue from 1 to `queue` (join, write, ack; FILL_LANES at once). */
  fillSec: number[];
}

/** Customers in the uncounted warm-up desk, which runs the same code paths before any sample. */
const WARMUP_QUEUE = 100;

/** How the desk is reached and filled. */
export interface DeskOptions {
  /** To the runtime's own socket, bypassing wrangler's dev proxy (run.ts `--direct`). */
  direct: boolean;
  /**
   * The customers who fill the queue close their sockets once their first message is acked:
   * the queue stays in storage with no sockets open (run.ts `--desk-leave`).
   */
  leave: boolean;
}

/** One desk: customer #1 timed, the queue filled to `queue`, customer #(queue + 1) timed. */
async function oneDesk(
  sys: RunningSystem,
  desk: string,
  queue: number,
  options: DeskOptions,
): Promise<{ first: Timed; next: Timed; fillSec: number }> {
  const base = options.direct ? await sys.directBase() : sys.wsBase;
  if (base === null) throw new Error(`${sys.name}: no runtime entry socket found`);
  const url = (name: string) => `${base}/desk/${desk}?name=${name}`;
  const open: Customer[] = [];
  try {
    // A guest who joins and leaves without a word leaves nothing in the desk, but builds its
    // object (its tables): customer #1 then meets a live desk, as #(queue + 1) does.
    const warm = new Customer(url("warm-up"));
    await warm.next("welcome");
    await warm.close();
    await waitQuiet(sys);

    const one = await customer(url("c1"), 1);
    open.push(one.c);

    // Customers fill the queue several at once, so their places are 2..queue in any order.
    const t0 = nowMs();
    const places = new Set<number>();
    let next = 2;
    const lane = async () => {
      while (next <= queue) {
        const n = next++;
        const { c, t } = await customer(url(`c${n}`), n, false);
        if (options.leave) await c.close();
        else open.push(c);
        places.add(t.position);
      }
    };
    await Promise.all(Array.from({ length: FILL_LANES }, lane));
    if (
      queue > 1 &&
      (places.size !== queue - 1 || Math.min(...places) !== 2 || Math.max(...places) !== queue)
    )
      throw new Error(`${desk}: the queue's places were not 2..${queue}, each once`);
    const fillSec = (nowMs() - t0) / 1000;
    await waitQuiet(sys);

    const last = await customer(url(`c${queue + 1}`), queue + 1);
    open.push(last.c);
    return { first: one.t, next: last.t, fillSec };
  } finally {
    // Reset, not closed: the server treats each as a customer who left.
    for (const c of open) c.drop();
    await waitQuiet(sys);
  }
}

/**
 * `desks` samples, after one uncounted desk of WARMUP_QUEUE customers: every sample's customer
 * #1 then runs code the runtime has already compiled, as customer #(queue + 1) does.
 */
export async function deskQueue(
  sys: RunningSystem,
  queue: number,
  desks: number,
  options: DeskOptions,
  log: (s: string) => void,
): Promise<DeskQueue> {
  await oneDesk(sys, `bench-desk-${tag}-warm-up`, Math.min(queue, WARMUP_QUEUE), options);
  const result: DeskQueue = { queue, ...options, first: [], next: [], fillSec: [] };
  for (let k = 0; k < desks; k++) {
    const { first, next, fillSec } = await oneDesk(sys, `bench-desk-${tag}-${k}`, queue, options);
    result.first.push(first);
    result.next.push(next);
    result.fillSec.push(fillSec);
    log(
      `  desk ${k + 1}/${desks}: #1 join ${first.joinMs.toFixed(2)} ms, first message ${first.messageMs.toFixed(2)} ms; ` +
        `queue filled to ${queue} in ${fillSec.toFixed(1)} s; ` +
        `#${queue + 1} join ${next.joinMs.toFixed(2)} ms, first message ${next.messageMs.toFixed(2)} ms`,
    );
  }
  return result;
}
