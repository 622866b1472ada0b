/**
 * The publish hook, timed: deliveries per second of a room whose every client message first
 * asks the backend (PUBLISH_HOOK_URL, docs/protocol.md "The publish hook"), against the same
 * room without it, with the backend on this machine.
 *
 * One `wrangler dev` runs both rooms: `bench-hook-on-…` matches PUBLISH_HOOK_ROOMS, the other
 * does not, so the two differ by the hook alone (same runtime process, same warm code, same dev
 * proxy). The backend is bench/hook-backend.ts, a Node process on 127.0.0.1 that checks each
 * call's signature and answers 200 `{}` (accept). Each room has N members, the first `senders`
 * of them sending; every member receives every message (the sender's own copy included), and a
 * run counts as done only when every member has every message.
 *
 * Measured, in interleaved rounds (on, off, off, on, on, off, …, so a machine that slows down
 * or speeds up meanwhile weighs on both sides alike):
 * - a burst: the senders keep `window` messages in flight between them until `messages` are
 *   delivered everywhere; deliveries/s = messages × N over the time from the first send to the
 *   last delivery, and the server's and the backend's CPU over it;
 * - single messages: one message at a time (the senders in turn), each waiting until every
 *   member has it; every member's delivery is a latency sample.
 *
 * The clients are sockets on the bench's main thread, each checking that the room's `seq`
 * never skips, that each sender's messages arrive in the order sent, and that every message is
 * acked to its sender: a lost, duplicated or reordered frame, an `error` frame (a refusal by
 * the hook, `hook_unavailable`) or a closed socket fails the run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { generateSecret, signWebhook } from "../src/protocol/webhook.ts";
import type { BackendStats } from "./hook-backend.ts";
import { snapshot, usageBetween, type Usage } from "./procs.ts";
import { fmtMs, fmtNum, Histogram, nowMs, quantileOf, table, type HistogramData } from "./stats.ts";
import { ROOT, startEdgeRooms, type RunningSystem } from "./systems.ts";
import { sleep, STALL_MS, tag, waitQuiet, WARMUP_ROUNDS } from "./workloads.ts";

export interface PublishHookOptions {
  /** Members per room. */
  n: number;
  /** Members who send (the first ones of each room). */
  senders: number;
  /** Messages in flight during a burst, shared evenly by the senders. */
  window: number;
  /** Messages per burst. */
  messages: number;
  /** Bursts per room, interleaved with the other room's. */
  rounds: number;
  /** Single-message latency rounds per room (after WARMUP_ROUNDS uncounted ones). */
  latencyRounds: number;
  /** A burst stops sending after this long; what was sent must still all arrive. */
  burstSec: number;
  /** To the runtime's own socket, bypassing wrangler's dev proxy. */
  direct: boolean;
  /** The project tree the Worker is copied from. */
  source: string;
}

export interface HookBurst {
  messages: number;
  capped: boolean;
  deliveries: number;
  seconds: number;
  perSec: number;
  p50: number;
  p99: number;
  server: Usage;
  /** The bench process (these clients) over the burst. */
  client: Usage;
  /** The backend process over the burst, and the calls it answered. */
  backend: Usage;
  calls: number;
  /** Wall time in the backend's handlers over the burst, ms. */
  handlerMs: number;
  /** From each answer to the next call, summed over `gaps` of them, ms (see BackendStats). */
  betweenMs: number;
  gaps: number;
  /** CPU seconds the whole machine spent outside the server, the backend and the bench. */
  othersCpuSec: number;
}

export interface HookSide {
  hooked: boolean;
  bursts: HookBurst[];
  latency: {
    rounds: number;
    samples: number;
    p50: number;
    p99: number;
    max: number;
    /** The runtime's CPU over the rounds (their 20 ms pauses included, when it idles). */
    runtimeCpuSec: number;
  };
}

export interface PublishHookResult extends Omit<PublishHookOptions, "source"> {
  on: HookSide;
  off: HookSide;
  /** The same signed call made from Node to the backend, one at a time: the floor of a call. */
  nodeCall: { calls: number; p50: number; p99: number };
  /** Calls the backend accepted, and the TCP connections they came on, over the whole line. */
  calls: number;
  connections: number;
  /** /proc/loadavg (1, 5, 15 min) when the line started and when it ended. */
  loadBefore: string;
  loadAfter: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

/** One run: messages of each sender, counted at every member. */
interface Run {
  id: number;
  /** Per sender: messages to send, sent, delivered to every member, acked to the sender. */
  totals: number[];
  sent: number[];
  done: number[];
  acks: number[];
  /** Per sender, per message: members that have it. */
  got: Uint32Array[];
  deliveries: number;
  hist: Histogram;
  firstSendAt: number;
  lastAt: number;
  lastProgressAt: number;
  /** Called when a sender's `done` moves: tops up the window, ends the run. */
  onProgress: () => void;
  fail: (err: Error) => void;
}

let runIds = 0;

/** A room's sockets on this thread: members 0..senders-1 send, all of them receive. */
class HookRoom {
  readonly name: string;
  readonly n: number;
  readonly senders: number;
  readonly sockets: WebSocket[] = [];
  /** Per member: the newest seq seen, and per sender the next message index expected. */
  readonly #lastSeq: number[] = [];
  readonly #next: number[][] = [];
  readonly #members: number[] = [];
  #run: Run | null = null;
  #failure: Error | null = null;
  #closing = false;

  constructor(name: string, n: number, senders: number) {
    this.name = name;
    this.n = n;
    this.senders = senders;
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    this.#run?.fail(err);
  }

  /** Joins N guests (16 at once) and waits until every member has seen all N. */
  async open(sys: RunningSystem, direct: boolean): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < this.n) await this.#join(sys, next++, direct);
    };
    await Promise.all(Array.from({ length: Math.min(16, this.n) }, lane));
    const deadline = nowMs() + STALL_MS;
    while (this.#members.some((m) => m < this.n)) {
      if (this.#failure !== null) throw this.#failure;
      if (nowMs() > deadline) throw new Error(`${this.name}: members never saw all ${this.n}`);
      await sleep(20);
    }
  }

  #join(sys: RunningSystem, k: number, direct: boolean): Promise<void> {
    this.#lastSeq[k] = -1;
    this.#next[k] = new Array<number>(this.senders).fill(0);
    this.#members[k] = 0;
    const ws = new WebSocket(sys.roomUrl(this.name, { name: `u${k}` }, false, direct), {
      perMessageDeflate: false,
      handshakeTimeout: 60_000,
    });
    this.sockets[k] = ws;
    return new Promise((resolve, reject) => {
      let welcomed = false;
      ws.on("message", (data) => {
        const at = nowMs();
        const text = data.toString();
        if (text.startsWith('{"type":"presence"')) {
          const at = text.lastIndexOf('"count":');
          this.#members[k] = Number.parseInt(text.slice(at + 8), 10);
          return;
        }
        let f: Frame;
        try {
          f = JSON.parse(text) as Frame;
        } catch {
          return this.#fail(new Error(`${this.name} member ${k}: not JSON: ${text.slice(0, 200)}`));
        }
        if (f.type === "welcome") {
          welcomed = true;
          this.#lastSeq[k] = f.seq as number;
          this.#members[k] = f.count as number;
          return resolve();
        }
        if (f.type === "message") return this.#deliver(k, f, at, text);
        if (f.type === "ack") return this.#ack(k, f);
        this.#fail(new Error(`${this.name} member ${k}: unexpected frame ${text.slice(0, 300)}`));
      });
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`${this.name}: upgrade refused: HTTP ${res.statusCode}`)),
      );
      ws.on("error", (err) => (welcomed ? this.#fail(err) : reject(err)));
      ws.on("close", (code) => {
        if (!this.#closing) this.#fail(new Error(`${this.name} member ${k} closed with ${code}`));
      });
    });
  }

  #deliver(k: number, f: Frame, at: number, text: string): void {
    const bad = (why: string) =>
      this.#fail(new Error(`${this.name} member ${k}: ${why}: ${text.slice(0, 200)}`));
    if (f.seq !== this.#lastSeq[k]! + 1) return bad(`seq ${f.seq} after ${this.#lastSeq[k]}`);
    this.#lastSeq[k] = f.seq as number;
    const run = this.#run;
    const d = f.data as { r?: number; s?: number; i?: number; t?: number } | null;
    if (run === null || d === null || typeof d !== "object" || d.r !== run.id)
      return bad(`a message outside run ${run?.id}`);
    const s = d.s!;
    const i = d.i!;
    const expected = this.#next[k]![s];
    if (i !== expected) return bad(`sender ${s}'s message ${expected} expected, got ${i}`);
    this.#next[k]![s] = i + 1;
    run.deliveries++;
    run.hist.add(at - d.t!);
    run.lastAt = at;
    run.lastProgressAt = at;
    const got = run.got[s]!;
    if (++got[i]! === this.n && i === run.done[s]) {
      while (run.done[s]! < run.totals[s]! && got[run.done[s]!] === this.n) run.done[s]!++;
      run.onProgress();
    }
  }

  #ack(k: number, f: Frame): void {
    const run = this.#run;
    if (run === null || k >= this.senders || f.id !== `h${run.id}-${k}-${run.acks[k]}`)
      return this.#fail(new Error(`${this.name} member ${k}: ack ${f.id} out of order`));
    run.acks[k]!++;
  }

  #send(run: Run, s: number): void {
    const i = run.sent[s]!++;
    const data = `{"r":${run.id},"s":${s},"i":${i},"t":${nowMs()}}`;
    this.sockets[s]!.send(`{"type":"message","data":${data},"id":"h${run.id}-${s}-${i}"}`);
  }

  /**
   * One run: sender s sends `totals[s]` messages, keeping at most `perSender` of its own in
   * flight (not yet at every member). Stops sending after `capSec`; what was sent must arrive.
   * Resolves when every member has every message and every sender every ack.
   */
  async run(
    totals: number[],
    perSender: number,
    capSec: number,
  ): Promise<{ run: Run; capped: boolean }> {
    if (this.#failure !== null) throw this.#failure;
    for (const next of this.#next) next.fill(0);
    let capped = false;
    const deadline = nowMs() + capSec * 1000;
    let finish = () => {};
    let fail = (_err: Error) => {};
    const run: Run = {
      id: ++runIds,
      totals: [...totals],
      sent: totals.map(() => 0),
      done: totals.map(() => 0),
      acks: totals.map(() => 0),
      got: totals.map((t) => new Uint32Array(t)),
      deliveries: 0,
      hist: new Histogram(),
      firstSendAt: 0,
      lastAt: 0,
      lastProgressAt: nowMs(),
      onProgress: () => {
        if (!capped && nowMs() > deadline) {
          capped = true;
          run.totals = [...run.sent];
        }
        for (let s = 0; s < run.totals.length; s++) {
          while (run.sent[s]! < run.totals[s]! && run.sent[s]! - run.done[s]! < perSender)
            this.#send(run, s);
        }
        if (run.done.every((d, s) => d >= run.totals[s]!)) finish();
      },
      fail: (err) => fail(err),
    };
    this.#run = run;
    const complete = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const stall = setInterval(() => {
      if (nowMs() - run.lastProgressAt > STALL_MS)
        fail(new Error(`${this.name}: no delivery for ${STALL_MS} ms: deliveries were lost`));
    }, 250);
    try {
      run.firstSendAt = nowMs();
      run.onProgress();
      await complete;
      // The ack follows the sender's own copy; the last ones may still be on their way.
      const ackDeadline = nowMs() + 10_000;
      while (run.acks.some((a, s) => a < run.totals[s]!)) {
        if (this.#failure !== null) throw this.#failure;
        if (nowMs() > ackDeadline)
          throw new Error(`${this.name}: acks ${run.acks} for ${run.totals} messages`);
        await sleep(5);
      }
    } finally {
      clearInterval(stall);
    }
    if (run.deliveries !== run.totals.reduce((a, b) => a + b, 0) * this.n)
      throw new Error(`${this.name}: ${run.deliveries} deliveries for ${run.totals} messages`);
    return { run, capped };
  }

  /** Resets every socket: the server is stopped next, nobody needs a close handshake. */
  drop(): void {
    this.#closing = true;
    for (const ws of this.sockets) ws.terminate();
  }
}

/** The backend process, started with HOOK_SECRET, and what it reports. */
interface Backend {
  child: ChildProcess;
  url: string;
  stats(): Promise<BackendStats>;
  stop(): Promise<void>;
}

async function startBackend(secret: string): Promise<Backend> {
  const child = spawn(process.execPath, [join(ROOT, "bench/hook-backend.ts")], {
    env: { ...process.env, HOOK_SECRET: secret },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the hook backend did not start: ${out}`)),
      30_000,
    );
    const keep = (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the hook backend exited with ${code}: ${out}`));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    child,
    url: `${base}/publish`,
    stats: async () => (await (await fetch(`${base}/stats`)).json()) as BackendStats,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The same signed question the room asks, from Node, one call at a time: the floor of a call. */
async function nodeCalls(backend: Backend, secret: string, calls: number) {
  const hist = new Histogram();
  for (let i = 0; i < calls; i++) {
    const body = JSON.stringify({
      room: `bench-hook-on-${tag}`,
      from: { id: "u0", name: "u0" },
      type: "message",
      to: null,
      data: { r: 0, s: 0, i, t: nowMs() },
      id: `n-${i}`,
    });
    const t0 = nowMs();
    const res = await fetch(backend.url, {
      method: "POST",
      headers: {
        ...(await signWebhook(secret, `msg_${i}`, body)),
        "content-type": "application/json",
      },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`the hook backend answered Node ${res.status}`);
    if (i >= 20) hist.add(nowMs() - t0); // the first calls warm up both sides
  }
  return { calls: hist.count, p50: hist.quantile(0.5), p99: hist.quantile(0.99) };
}

/** Busy CPU seconds of the whole machine so far (every core; idle and iowait excluded). */
function machineBusySec(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1);
  const ticks = f.map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - ticks[3]! - ticks[4]!) / 100;
}

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

/** `total` messages split as evenly as can be over `senders`. */
const split = (total: number, senders: number) =>
  Array.from({ length: senders }, (_, s) => Math.floor((total + senders - 1 - s) / senders));

async function burst(
  sys: RunningSystem,
  backend: Backend,
  room: HookRoom,
  o: PublishHookOptions,
  quiet = true,
): Promise<HookBurst> {
  if (quiet) await waitQuiet(sys);
  const pids = sys.pids();
  const b0 = await backend.stats();
  const server0 = snapshot(pids);
  const client0 = snapshot([process.pid]);
  const backend0 = snapshot([backend.child.pid!]);
  const machine0 = machineBusySec();
  const { run, capped } = await room.run(
    split(o.messages, o.senders),
    Math.max(1, Math.floor(o.window / o.senders)),
    o.burstSec,
  );
  const server1 = snapshot(pids);
  const client1 = snapshot([process.pid]);
  const backend1 = snapshot([backend.child.pid!]);
  const machine1 = machineBusySec();
  const b1 = await backend.stats();
  const server = usageBetween(server0, server1);
  const client = usageBetween(client0, client1);
  const back = usageBetween(backend0, backend1);
  const seconds = (run.lastAt - run.firstSendAt) / 1000;
  const messages = run.totals.reduce((a, b) => a + b, 0);
  return {
    messages,
    capped,
    deliveries: run.deliveries,
    seconds,
    perSec: run.deliveries / seconds,
    p50: run.hist.quantile(0.5),
    p99: run.hist.quantile(0.99),
    server,
    client,
    backend: back,
    calls: b1.calls - b0.calls,
    handlerMs: b1.handlerMs - b0.handlerMs,
    betweenMs: b1.betweenMs - b0.betweenMs,
    gaps: b1.gaps - b0.gaps,
    othersCpuSec: Math.max(
      0,
      machine1 - machine0 - server.totalCpuSec - client.totalCpuSec - back.totalCpuSec,
    ),
  };
}

/** Single messages, the senders in turn, each delivered everywhere before the next. */
async function latencyRounds(
  sys: RunningSystem,
  room: HookRoom,
  rounds: number,
): Promise<{ parts: HistogramData[]; runtimeCpuSec: number }> {
  const parts: HistogramData[] = [];
  const pids = sys.pids();
  const before = snapshot(pids);
  for (let r = 0; r < rounds; r++) {
    const totals = new Array<number>(room.senders).fill(0);
    totals[r % room.senders] = 1;
    const { run } = await room.run(totals, 1, Infinity);
    parts.push(run.hist.toData());
    await sleep(20); // an idle room's latency, not a queue's
  }
  const runtimeCpuSec = usageBetween(before, snapshot(pids)).cpuSec.runtime ?? 0;
  return { parts, runtimeCpuSec };
}

/**
 * Starts the backend and one `wrangler dev` with the publish hook on for `bench-hook-on-*`,
 * opens both rooms, warms both up, then measures them in interleaved rounds.
 */
export async function publishHook(
  vars: Record<string, string>,
  o: PublishHookOptions,
  log: (s: string) => void,
): Promise<PublishHookResult> {
  const loadBefore = loadavg();
  const secret = generateSecret();
  const backend = await startBackend(secret);
  let sys: RunningSystem | null = null;
  const rooms: HookRoom[] = [];
  try {
    // Before the server starts: nothing of this line's own competes with these calls.
    const nodeCall = await nodeCalls(backend, secret, 20 + Math.min(200, o.messages));
    sys = await startEdgeRooms(
      {
        ...vars,
        PUBLISH_HOOK_URL: backend.url,
        PUBLISH_HOOK_ROOMS: "bench-hook-on-*",
        HOOK_SECRET: secret,
      },
      o.source,
    );
    if (o.direct && (await sys.directBase()) === null)
      throw new Error("no runtime entry socket found to connect to directly");
    const on = new HookRoom(`bench-hook-on-${tag}`, o.n, o.senders);
    const off = new HookRoom(`bench-hook-off-${tag}`, o.n, o.senders);
    rooms.push(on, off);
    for (const room of rooms) await room.open(sys, o.direct);
    // Uncounted: the same code paths in both rooms before anything is measured.
    const warm = { ...o, messages: Math.min(Math.ceil(o.messages / 2), 10 * o.window) };
    for (const room of rooms) {
      await latencyRounds(sys, room, WARMUP_ROUNDS);
      await burst(sys, backend, room, warm, false);
    }
    const sides = new Map<
      HookRoom,
      { bursts: HookBurst[]; latency: HistogramData[]; runtimeCpuSec: number }
    >(rooms.map((r) => [r, { bursts: [], latency: [], runtimeCpuSec: 0 }]));
    for (let k = 0; k < o.rounds; k++) {
      for (const room of k % 2 === 0 ? [on, off] : [off, on]) {
        const b = await burst(sys, backend, room, o);
        sides.get(room)!.bursts.push(b);
        log(
          `  ${room === on ? "hook on " : "hook off"} round ${k + 1}/${o.rounds}: ${fmtNum(b.perSec)} deliveries/s ` +
            `(${fmtNum(b.messages)}${b.capped ? " (capped)" : ""} messages in ${b.seconds.toFixed(1)} s, p50 ${fmtMs(b.p50)} p99 ${fmtMs(b.p99)} ms); ` +
            `hook calls ${fmtNum(b.calls / b.seconds)}/s; CPU: server ${b.server.totalCpuSec.toFixed(2)} s (${cpuByRole(b.server)}), backend ${b.backend.totalCpuSec.toFixed(2)} s, ` +
            `bench ${b.client.totalCpuSec.toFixed(2)} s, others ${b.othersCpuSec.toFixed(2)} s`,
        );
      }
    }
    // Latency: the rooms take turns in blocks of five rounds, for the same reason.
    const block = 5;
    for (let r = 0; r < o.latencyRounds; r += block) {
      const k = Math.min(block, o.latencyRounds - r);
      for (const room of (r / block) % 2 === 0 ? [on, off] : [off, on]) {
        const { parts, runtimeCpuSec } = await latencyRounds(sys, room, k);
        const side = sides.get(room)!;
        side.latency.push(...parts);
        side.runtimeCpuSec += runtimeCpuSec;
      }
    }
    const side = (room: HookRoom): HookSide => {
      const { bursts, latency, runtimeCpuSec } = sides.get(room)!;
      const hist = Histogram.merge(latency);
      return {
        hooked: room === on,
        bursts,
        latency: {
          rounds: o.latencyRounds,
          samples: hist.count,
          p50: hist.quantile(0.5),
          p99: hist.quantile(0.99),
          max: hist.max,
          runtimeCpuSec,
        },
      };
    };
    const stats = await backend.stats();
    if (stats.refused > 0) throw new Error(`the hook backend refused ${stats.refused} calls`);
    const { source: _source, ...settings } = o;
    const result: PublishHookResult = {
      ...settings,
      on: side(on),
      off: side(off),
      nodeCall,
      calls: stats.calls,
      connections: stats.connections,
      loadBefore,
      loadAfter: loadavg(),
    };
    log(publishHookSummary(result));
    return result;
  } catch (err) {
    if (sys !== null)
      console.error(`\nedge-rooms (publish hook) printed:\n${sys.output().slice(-4000)}`);
    throw err;
  } finally {
    for (const room of rooms) room.drop();
    await sys?.stop();
    await backend.stop();
  }
}

/** CPU seconds by process role, e.g. "runtime 3.10, proxy 1.20". */
const cpuByRole = (u: Usage) =>
  Object.entries(u.cpuSec)
    .filter(([, sec]) => sec! >= 0.01)
    .map(([role, sec]) => `${role} ${sec!.toFixed(2)}`)
    .join(", ");

const median = (xs: number[]) => quantileOf(xs, 0.5);

/** One line for the log: the medians and their ratio. */
function publishHookSummary(r: PublishHookResult): string {
  const on = median(r.on.bursts.map((b) => b.perSec));
  const off = median(r.off.bursts.map((b) => b.perSec));
  return `  publish hook: ${fmtNum(on)} deliveries/s on, ${fmtNum(off)} off (${(on / off).toFixed(2)}×); one message p50 ${fmtMs(r.on.latency.p50)} vs ${fmtMs(r.off.latency.p50)} ms`;
}

/** The tables of the line: hook on, hook off, on / off, and where a hooked message's time goes. */
export function publishHookTable(r: PublishHookResult): string {
  const med = (side: HookSide, f: (b: HookBurst) => number) => median(side.bursts.map(f));
  const perSec = (s: HookSide) => med(s, (b) => b.perSec);
  const msgs = (s: HookSide) => med(s, (b) => b.messages / b.seconds);
  const serverUs = (s: HookSide) => med(s, (b) => (b.server.totalCpuSec / b.deliveries) * 1e6);
  const runtimeUs = (s: HookSide) =>
    med(s, (b) => ((b.server.cpuSec.runtime ?? 0) / b.deliveries) * 1e6);
  const range = (s: HookSide) =>
    `${fmtNum(Math.min(...s.bursts.map((b) => b.perSec)))}–${fmtNum(Math.max(...s.bursts.map((b) => b.perSec)))}`;
  const row = (what: string, s: HookSide) => [
    what,
    fmtNum(perSec(s)),
    range(s),
    fmtNum(msgs(s)),
    s.hooked ? fmtNum(med(s, (b) => b.calls / b.seconds)) : "0",
    fmtMs(med(s, (b) => b.p50)),
    fmtMs(med(s, (b) => b.p99)),
    fmtMs(s.latency.p50),
    fmtMs(s.latency.p99),
    fmtNum(serverUs(s), 1),
    fmtNum(runtimeUs(s), 1),
  ];
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  // Paired: each round's on against the same round's off, then the median of those ratios.
  const paired = r.on.bursts.map((b, k) => b.perSec / r.off.bursts[k]!.perSec);
  const all = [...r.on.bursts, ...r.off.bursts];
  const others = all.map((b) => b.othersCpuSec / b.seconds);
  /** The burst with the median deliveries/s (the lower one of an even count). */
  const mid = (s: HookSide) => {
    const sorted = [...s.bursts].sort((a, b) => a.perSec - b.perSec);
    return sorted[Math.max(0, Math.ceil(sorted.length / 2) - 1)]!;
  };
  const cpuMs = (b: HookBurst) => ((b.server.cpuSec.runtime ?? 0) / b.messages) * 1000;
  const busy = (b: HookBurst) =>
    `${(b.server.busiestThread * 100).toFixed(0)} %${b.server.busiestRole === "runtime" ? "" : ` ${b.server.busiestRole}`}`;
  const oneMs = (s: HookSide) => (s.latency.runtimeCpuSec / s.latency.rounds) * 1000;
  return [
    `\n### Publish hook: a room of ${fmtNum(r.n)} with the hook on against the same room without it (${r.senders} senders, window ${r.window}, ${r.rounds} interleaved rounds)\n`,
    table(
      [
        "room",
        "deliveries/s (median)",
        "range",
        "messages/s",
        "hook calls/s",
        "burst p50 ms",
        "burst p99 ms",
        "one message p50 ms",
        "one message p99 ms",
        "server CPU µs/delivery",
        "of which runtime",
      ],
      [
        row("hook on (accept)", r.on),
        row("hook off", r.off),
        [
          "on / off",
          `${x(perSec(r.on), perSec(r.off))} (paired ${x(quantileOf(paired, 0.5), 1)})`,
          paired.map((p) => p.toFixed(2)).join(", "),
          x(msgs(r.on), msgs(r.off)),
          "",
          x(
            med(r.on, (b) => b.p50),
            med(r.off, (b) => b.p50),
          ),
          x(
            med(r.on, (b) => b.p99),
            med(r.off, (b) => b.p99),
          ),
          x(r.on.latency.p50, r.off.latency.p50),
          x(r.on.latency.p99, r.off.latency.p99),
          x(serverUs(r.on), serverUs(r.off)),
          x(runtimeUs(r.on), runtimeUs(r.off)),
        ],
      ],
    ),
    `\nBursts of ${fmtNum(r.messages)} messages (${fmtNum(r.messages * r.n)} deliveries)${all.some((b) => b.capped) ? ", some stopped at the cap" : ""}, every member receiving every message; ` +
      `"paired": each round's on over the same round's off (listed under "range"). One message: ${r.latencyRounds} rounds per room, one message at a time, every member's delivery a sample. ` +
      `${r.direct ? "Direct to the runtime's socket" : "Through the dev proxy"}. Load: ${r.loadBefore} before, ${r.loadAfter} after; other processes used ${fmtNum(median(others) * 100)} % of a core during the median burst (at most ${fmtNum(Math.max(...others) * 100)} %).`,
    `\nWhere a hooked message's time goes, in the median burst of each room (by deliveries/s); the room asks about each message as it arrives (since 136f179; one call at a time before), so calls may overlap and the rows on calls are per call:\n`,
    table(
      ["per message", "hook on", "hook off"],
      [
        [
          "the room's time (burst seconds / messages)",
          fmtMs((mid(r.on).seconds / mid(r.on).messages) * 1000),
          fmtMs((mid(r.off).seconds / mid(r.off).messages) * 1000),
        ],
        [
          "in the backend: from a call's first byte to its answer",
          fmtMs(mid(r.on).handlerMs / Math.max(1, mid(r.on).calls)),
          "",
        ],
        [
          "outside the backend: from an answer to the next call",
          fmtMs(mid(r.on).betweenMs / Math.max(1, mid(r.on).gaps)),
          "",
        ],
        [
          "runtime CPU (its busiest thread's share of a core)",
          `${fmtMs(cpuMs(mid(r.on)))} (${busy(mid(r.on))})`,
          `${fmtMs(cpuMs(mid(r.off)))} (${busy(mid(r.off))})`,
        ],
        ["backend CPU", fmtMs(mid(r.on).backend.totalCpuSec * (1000 / mid(r.on).calls)), ""],
        [
          "runtime CPU one message at a time (the single-message rounds, pauses included)",
          fmtMs(oneMs(r.on)),
          fmtMs(oneMs(r.off)),
        ],
        [
          "a signed call from Node to the same backend, one at a time (p50 / p99)",
          `${fmtMs(r.nodeCall.p50)} / ${fmtMs(r.nodeCall.p99)}`,
          "",
        ],
      ],
    ),
    `\nThe backend answered ${fmtNum(r.calls)} calls in all (warm-ups and the calls from Node included) on ${fmtNum(r.connections)} TCP connections.`,
  ].join("\n");
}
