/**
 * One client thread of the bench (node:worker_threads): it holds its share of a room's sockets,
 * counts every delivery and measures its latency on the machine-wide monotonic clock. A lost,
 * duplicated or reordered frame, an unexpected `error` frame or an unexpected close is reported
 * to the main thread at once, which fails the whole run: no number is printed from a run that
 * dropped anything.
 *
 * Frames are this project's (`welcome`, `presence`, `message` with a `seq`, `event`; batched
 * messages split on "\n") or the peers' (the sender's own `{"type":"message","data":…}` text,
 * broadcast as is). Either way the sender puts `{r, i, t}` in `data`: run, index, send time.
 * Above PRESENCE_MAX members this project's `welcome` has `members: null` and presence comes as
 * `count` frames: a socket's member count is the newest `count` either way.
 *
 * One order: with this project every socket checks that each `seq` is the one after the last,
 * and every thread records the `seq` message i came with, so the main thread can check that all
 * sockets (in a sharded room: on every shard) got message i under the same `seq`.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";
import { Histogram, nowMs } from "./stats.ts";

export type Command =
  | { cmd: "connect"; urls: string[]; readyOn: "welcome" | "open"; concurrency: number }
  | { cmd: "settle"; members: number; stallMs: number }
  | { cmd: "expect"; run: number; kind: "message" | "event"; total: number }
  | { cmd: "collect"; run: number; stallMs: number }
  | { cmd: "truncate"; run: number; total: number }
  | { cmd: "send"; run: number; from: number; to: number }
  | { cmd: "sendText"; socket: number; text: string }
  | { cmd: "waitFrame"; socket: number; type: string; timeoutMs: number }
  | { cmd: "ping"; timeoutMs: number }
  | { cmd: "acks"; run: number; atLeast: number; timeoutMs: number }
  | { cmd: "closeAll"; drop?: boolean }
  | { cmd: "sockets" }
  | { cmd: "replayed" }
  | { cmd: "reconnect"; urls: string[]; readyOn: "welcome" | "open"; concurrency: number }
  | { cmd: "gc" };

/** What a socket would rejoin with: its guest token and the newest `seq` it saw (-1: none). */
export interface SocketState {
  token: string | null;
  lastSeq: number;
}

export interface CollectResult {
  hist: ReturnType<Histogram["toData"]>;
  deliveries: number;
  /** WebSocket messages that carried this run's deliveries (fewer than deliveries when batched). */
  messages: number;
  /** Per message index: the fastest and the slowest delivery's latency on this thread, ms. */
  firstLatency: number[];
  lastLatency: number[];
  firstSendAt: number;
  lastAt: number;
  /**
   * Per message index, the `seq` it came with on this thread's sockets (0: no seq, a peer); two
   * sockets here that saw it under different seqs fail the run at once.
   */
  seqs: number[];
}

const {
  index: WORKER,
  progress: progressBuffer,
  ids: SEND_IDS,
} = workerData as {
  index: number;
  progress: SharedArrayBuffer;
  /** The sender puts an `id` on every message, as real clients do: the server stores and acks it. */
  ids: boolean;
};
/** [0]: a tick bumped on every change; [1 + w]: messages complete on every socket of worker w. */
const progress = new Int32Array(progressBuffer);
const port = parentPort!;
// Worker threads take no V8 flags at start; this is how one gets V8's gc() (the "gc" command).
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

interface Waiter {
  type: string;
  resolve: (f: Frame) => void;
}

interface Client {
  n: number;
  ws: WebSocket;
  /** Next message index expected in the current run. */
  next: number;
  /** Deliveries in the current run. */
  count: number;
  /** Newest seq seen (this project only; -1 for the peers, which have none). */
  lastSeq: number;
  /** Messages up to this seq were replayed on join, not sent live. */
  welcomeSeq: number;
  /** Distinct members, from the newest welcome or presence frame. */
  members: number;
  /** The guest token of this project's welcome (`self.token`), for later sockets of this guest. */
  token: string | null;
  pongs: number;
  closing: boolean;
  waiters: Waiter[];
  onReady: (() => void) | null;
}

interface Run {
  id: number;
  kind: "message" | "event";
  total: number;
  got: Uint32Array;
  done: number;
  complete: number;
  hist: Histogram;
  /** WebSocket messages that carried a delivery of this run (acks and pongs aside). */
  messages: number;
  /** Acks of this run's messages (with `ids`: the sender's, one per message). */
  acks: number;
  firstLatency: Float64Array;
  lastLatency: Float64Array;
  /** Per message index: its seq as the first socket here got it (see CollectResult.seqs). */
  seqs: Float64Array;
  firstSendAt: number;
  lastAt: number;
  lastProgressAt: number;
  onComplete: (() => void) | null;
}

let clients: Client[] = [];
let run: Run | null = null;
let failed = false;
let presenceSeenAt = 0;
/** Frames the welcomes since the last `replayed` command said they replay (`replay.count`). */
let replayed = 0;
/** Frames and WebSocket messages every socket here received since the last `replayed` command. */
let received = { frames: 0, messages: 0 };

function fail(message: string): void {
  if (failed) return;
  failed = true;
  port.postMessage({ type: "fail", message: `client thread ${WORKER}: ${message}` });
}

function publishProgress(): void {
  if (run === null) return;
  Atomics.store(progress, 1 + WORKER, run.done);
  Atomics.add(progress, 0, 1);
  Atomics.notify(progress, 0);
}

function deliver(c: Client, f: Frame, at: number, line: string): void {
  if (c.lastSeq >= 0 && typeof f.seq === "number") {
    if (f.seq <= c.welcomeSeq) return; // replayed on join: not part of this run
    if (f.seq !== c.lastSeq + 1) {
      fail(`socket ${c.n}: seq ${f.seq} after ${c.lastSeq}: a frame was lost or reordered`);
      return;
    }
    c.lastSeq = f.seq;
  }
  const d = f.data as { r?: number; i?: number; t?: number } | null;
  if (
    run === null ||
    d === null ||
    typeof d !== "object" ||
    d.r !== run.id ||
    run.kind !== f.type
  ) {
    fail(`socket ${c.n}: ${f.type} outside run ${run?.id} (${run?.kind}): ${line.slice(0, 200)}`);
    return;
  }
  const i = d.i!;
  if (run.kind === "message") {
    if (i !== c.next) {
      fail(
        `socket ${c.n}: expected message ${c.next} of run ${run.id}, got ${i}: lost, duplicated or reordered`,
      );
      return;
    }
    c.next++;
  } else if (!(i >= 0 && i < run.total) || run.got[i]! >= clients.length) {
    fail(`socket ${c.n}: event ${i} of run ${run.id} out of range or duplicated`);
    return;
  }
  if (typeof f.seq === "number") {
    const seen = run.seqs[i]!;
    if (seen === 0) run.seqs[i] = f.seq;
    else if (seen !== f.seq) {
      fail(
        `socket ${c.n}: message ${i} of run ${run.id} came as seq ${f.seq}, elsewhere as ${seen}`,
      );
      return;
    }
  }
  run.got[i]!++;
  c.count++;
  const latency = at - d.t!;
  run.hist.add(latency);
  if (latency < run.firstLatency[i]!) run.firstLatency[i] = latency;
  if (latency > run.lastLatency[i]!) run.lastLatency[i] = latency;
  if (at > run.lastAt) run.lastAt = at;
  run.lastProgressAt = at;
  if (c.count === run.total) run.complete++;
}

function handleLine(c: Client, line: string, at: number): void {
  if (line.startsWith('{"type":"presence"')) {
    // A join storm is a presence frame per join (or, above PRESENCE_MAX, a `count` frame every
    // PRESENCE_COUNT_MS) to every socket: read the count without a full parse.
    const k = line.lastIndexOf('"count":');
    c.members = Number.parseInt(line.slice(k + 8), 10);
    presenceSeenAt = at;
    return;
  }
  let f: Frame;
  try {
    f = JSON.parse(line) as Frame;
  } catch {
    fail(`socket ${c.n}: not JSON: ${line.slice(0, 200)}`);
    return;
  }
  if (c.waiters.some((x) => x.type === f.type)) {
    // Every waiter for this type gets it: an abandoned one must not swallow the next frame.
    const matching = c.waiters.filter((x) => x.type === f.type);
    c.waiters = c.waiters.filter((x) => x.type !== f.type);
    for (const x of matching) x.resolve(f);
    if (f.type !== "message" && f.type !== "event") return;
  }
  switch (f.type) {
    case "message":
    case "event":
      deliver(c, f, at, line);
      return;
    case "welcome":
      // `members` is null above PRESENCE_MAX; `count` is there either way.
      c.members =
        typeof f.count === "number" ? f.count : ((f.members as unknown[] | null)?.length ?? 0);
      c.token = typeof f.self?.token === "string" ? f.self.token : null;
      c.lastSeq = f.seq as number;
      c.welcomeSeq = f.seq as number;
      replayed += typeof f.replay?.count === "number" ? (f.replay.count as number) : 0;
      presenceSeenAt = at;
      c.onReady?.();
      return;
    case "ack":
      if (run !== null && f.id === `b${run.id}-${run.acks}`) run.acks++;
      else if (SEND_IDS && typeof f.id === "string" && f.id.startsWith("b"))
        fail(`socket ${c.n}: ack ${f.id} out of order (run ${run?.id}, ${run?.acks} acks so far)`);
      return;
    case "whoami":
      return;
    default:
      fail(`socket ${c.n}: unexpected ${String(f.type)} frame: ${line.slice(0, 300)}`);
  }
}

function onData(c: Client, data: WebSocket.RawData): void {
  const at = nowMs();
  const text = data.toString();
  if (text === "pong") {
    c.pongs++;
    return;
  }
  received.messages++;
  const countBefore = c.count;
  let start = 0;
  for (;;) {
    received.frames++;
    const nl = text.indexOf("\n", start);
    handleLine(c, nl < 0 ? (start === 0 ? text : text.slice(start)) : text.slice(start, nl), at);
    if (nl < 0) break;
    start = nl + 1;
  }
  if (run === null) return;
  if (c.count !== countBefore) run.messages++;
  const before = run.done;
  if (run.kind === "message") {
    while (run.done < run.total && run.got[run.done] === clients.length) run.done++;
  } else if (run.complete === clients.length) {
    run.done = run.total;
  }
  if (run.done !== before) publishProgress();
  if (run.complete === clients.length) run.onComplete?.();
}

function openOne(url: string, readyOn: "welcome" | "open"): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60_000 });
    const c: Client = {
      n: clients.length,
      ws,
      next: 0,
      count: 0,
      lastSeq: -1,
      welcomeSeq: -1,
      members: 0,
      token: null,
      pongs: 0,
      closing: false,
      waiters: [],
      onReady: null,
    };
    clients.push(c);
    let opened = false;
    ws.on("message", (data) => onData(c, data));
    ws.once("unexpected-response", (_req, res) =>
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
    );
    ws.on("error", (err) => {
      if (!opened) reject(err);
      else if (!c.closing) fail(`socket ${c.n}: ${err.message}`);
    });
    ws.on("close", (code) => {
      if (!c.closing) fail(`socket ${c.n} closed unexpectedly with ${code}`);
    });
    ws.once("open", () => {
      opened = true;
      if (readyOn === "open") resolve();
    });
    c.onReady = () => {
      c.onReady = null;
      resolve();
    };
  });
}

/** Opens `urls` in order; answers with the guest token each new socket was welcomed with. */
async function connect(urls: string[], readyOn: "welcome" | "open", concurrency: number) {
  const t0 = nowMs();
  const first = clients.length;
  let next = 0;
  const lane = async () => {
    while (next < urls.length) await openOne(urls[next++]!, readyOn);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, lane));
  // openOne adds its client before any await, so clients[first + k] was opened from urls[k].
  const tokens = clients.slice(first).map((c) => c.token);
  return { opened: urls.length, ms: nowMs() - t0, tokens };
}

/** Resolves once every socket has seen `members` distinct members (the join storm is over). */
function settle(members: number, stallMs: number): Promise<{ ms: number }> {
  const t0 = nowMs();
  presenceSeenAt = t0;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (clients.every((c) => c.members >= members)) {
        clearInterval(timer);
        resolve({ ms: nowMs() - t0 });
      }
    };
    const timer = setInterval(() => {
      check();
      if (nowMs() - presenceSeenAt > stallMs) {
        clearInterval(timer);
        const behind = clients.filter((c) => c.members < members);
        reject(
          new Error(
            `${behind.length} sockets never saw ${members} members (e.g. socket ${behind[0]?.n}: ${behind[0]?.members})`,
          ),
        );
      }
    }, 100);
    check();
  });
}

function expect(id: number, kind: "message" | "event", total: number): void {
  for (const c of clients) {
    c.next = 0;
    c.count = 0;
  }
  run = {
    id,
    kind,
    total,
    got: new Uint32Array(total),
    done: 0,
    complete: 0,
    hist: new Histogram(),
    messages: 0,
    acks: 0,
    firstLatency: new Float64Array(total).fill(Infinity),
    lastLatency: new Float64Array(total),
    seqs: new Float64Array(total),
    firstSendAt: 0,
    lastAt: 0,
    lastProgressAt: nowMs(),
    onComplete: null,
  };
  publishProgress();
}

/** The sender stopped early (the burst's time cap): the run ends at `total` messages. */
function truncate(id: number, total: number): void {
  if (run === null || run.id !== id || total > run.total) return;
  run.total = total;
  run.complete = clients.filter((c) => c.count >= total).length;
  while (run.done < total && run.got[run.done] === clients.length) run.done++;
  if (run.done > total) run.done = total;
  publishProgress();
  if (run.complete === clients.length) run.onComplete?.();
}

function collect(id: number, stallMs: number): Promise<CollectResult> {
  const r = run;
  if (r === null || r.id !== id)
    return Promise.reject(new Error(`collect: run ${id} is not the current run`));
  const result = (): CollectResult => ({
    hist: r.hist.toData(),
    deliveries: r.hist.count,
    messages: r.messages,
    firstLatency: Array.from(r.firstLatency.subarray(0, r.total)),
    lastLatency: Array.from(r.lastLatency.subarray(0, r.total)),
    seqs: Array.from(r.seqs.subarray(0, r.total)),
    firstSendAt: r.firstSendAt,
    lastAt: r.lastAt,
  });
  if (r.complete === clients.length) return Promise.resolve(result());
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (nowMs() - r.lastProgressAt < stallMs) return;
      clearInterval(timer);
      const behind = clients.filter((c) => c.count < r.total);
      reject(
        new Error(
          `run ${id}: ${behind.length} of ${clients.length} sockets stalled short of ${r.total} ` +
            `(e.g. socket ${behind[0]?.n} has ${behind[0]?.count}): deliveries were lost`,
        ),
      );
    }, 250);
    r.onComplete = () => {
      clearInterval(timer);
      r.onComplete = null;
      resolve(result());
    };
  });
}

function send(id: number, from: number, to: number): void {
  const sender = clients[0]!;
  if (run !== null && from === 0) run.firstSendAt = nowMs();
  for (let i = from; i < to; i++) {
    const data = `{"r":${id},"i":${i},"t":${nowMs()}}`;
    sender.ws.send(
      SEND_IDS
        ? `{"type":"message","data":${data},"id":"b${id}-${i}"}`
        : `{"type":"message","data":${data}}`,
    );
  }
}

function waitFrame(socket: number, type: string, timeoutMs: number): Promise<Frame> {
  const c = clients[socket]!;
  return new Promise((resolve, reject) => {
    const waiter: Waiter = {
      type,
      resolve: (f) => {
        clearTimeout(timer);
        resolve(f);
      },
    };
    const timer = setTimeout(() => {
      const at = c.waiters.indexOf(waiter);
      if (at >= 0) c.waiters.splice(at, 1);
      reject(new Error(`socket ${socket}: no ${type} frame in ${timeoutMs} ms`));
    }, timeoutMs);
    c.waiters.push(waiter);
  });
}

/** With `ids`: waits until the sender has `atLeast` acks of run `id`; answers how many it has. */
async function acks(id: number, atLeast: number, timeoutMs: number): Promise<number> {
  const deadline = nowMs() + timeoutMs;
  while (run !== null && run.id === id && run.acks < atLeast && nowMs() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  return run !== null && run.id === id ? run.acks : 0;
}

/** Every socket sends `ping`; resolves with how many got `pong` back (all, or it times out). */
async function ping(timeoutMs: number): Promise<{ pongs: number; sockets: number }> {
  const start = clients.map((c) => c.pongs);
  for (const c of clients) c.ws.send("ping");
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    if (clients.every((c, i) => c.pongs > start[i]!)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { pongs: clients.filter((c, i) => c.pongs > start[i]!).length, sockets: clients.length };
}

/**
 * Closes every socket with 1000 and waits for the server's answer; with `drop`, resets the TCP
 * connections instead (the server is stopped next, so nobody needs a close handshake).
 */
async function closeAll(drop = false): Promise<{ open: number }> {
  const open = clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length;
  if (drop) {
    for (const c of clients) {
      c.closing = true;
      c.ws.terminate();
    }
    clients = [];
    run = null;
    return { open };
  }
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.closing = true;
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            c.ws.terminate(); // the server did not answer the close in time: drop the TCP connection
            resolve();
          }, 10_000);
          c.ws.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          c.ws.close(1000);
        }),
    ),
  );
  clients = [];
  run = null;
  return { open };
}

/** Each socket's guest token and newest seq, in the order the sockets were opened. */
function sockets(): SocketState[] {
  return clients.map((c) => ({ token: c.token, lastSeq: c.lastSeq }));
}

/**
 * The reconnect storm: every socket of this thread is dropped at once (its TCP connection reset,
 * as when a deploy or a network cut drops a room) and opened again from `urls` (one per socket,
 * in order: the main thread put each socket's token and `since` in it). Answers when the drop
 * began and how long the reopening took, on the machine-wide clock.
 */
async function reconnect(urls: string[], readyOn: "welcome" | "open", concurrency: number) {
  if (urls.length !== clients.length)
    throw new Error(`reconnect: ${urls.length} urls for ${clients.length} sockets`);
  const droppedAt = nowMs();
  for (const c of clients) {
    c.closing = true;
    c.ws.terminate();
  }
  clients = [];
  run = null;
  const opened = await connect(urls, readyOn, concurrency);
  return { droppedAt, openedAt: nowMs(), ms: opened.ms };
}

async function handle(m: Command): Promise<unknown> {
  switch (m.cmd) {
    case "connect":
      return connect(m.urls, m.readyOn, m.concurrency);
    case "settle":
      return settle(m.members, m.stallMs);
    case "expect":
      return expect(m.run, m.kind, m.total);
    case "collect":
      return collect(m.run, m.stallMs);
    case "truncate":
      return truncate(m.run, m.total);
    case "send":
      return send(m.run, m.from, m.to);
    case "sendText":
      return clients[m.socket]!.ws.send(m.text);
    case "waitFrame":
      return waitFrame(m.socket, m.type, m.timeoutMs);
    case "ping":
      return ping(m.timeoutMs);
    case "acks":
      return acks(m.run, m.atLeast, m.timeoutMs);
    case "closeAll":
      return closeAll(m.drop);
    case "sockets":
      return sockets();
    case "replayed": {
      const counts = { replayed, ...received };
      replayed = 0;
      received = { frames: 0, messages: 0 };
      return counts;
    }
    case "reconnect":
      return reconnect(m.urls, m.readyOn, m.concurrency);
    case "gc":
      // The join traffic (for this project, every member list and presence frame) is garbage
      // now; collected here, it cannot pause a client thread inside a timed run instead.
      collectGarbage();
      return undefined;
  }
}

port.on("message", (msg: { id: number; command: Command }) => {
  handle(msg.command).then(
    (result) => port.postMessage({ type: "result", id: msg.id, result }),
    (err: Error) => port.postMessage({ type: "result", id: msg.id, error: err.message }),
  );
});
