/**
 * The fan-out workloads of `npm run bench`, driven through the same client pool against any of
 * the systems: join a room of N, latency rounds of single messages, then a sustained burst with a
 * window of messages in flight. Push is in push.ts, the hibernation proof in hibernation.ts.
 * Every phase checks that every delivery arrived; the numbers come back as plain objects.
 */
import type { ClientPool, CollectResult, SocketState } from "./clients.ts";
import { rssByRole, snapshot, usageBetween, type Usage } from "./procs.ts";
import { Histogram, nowMs } from "./stats.ts";
import type { RunningSystem } from "./systems.ts";

/** No delivery for this long means frames were lost: the phase fails. */
export const STALL_MS = 30_000;
/** Join storms of big rooms can keep a runtime busy; give them this long between phases. */
const QUIET_TIMEOUT_MS = 240_000;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let runIds = 0;
export const nextRun = () => ++runIds;
export const tag = Math.random().toString(36).slice(2, 8);

/** Resident memory in bytes: the runtime (workerd, or the Node peer), wrangler's dev proxy, all. */
export interface Rss {
  runtime: number;
  proxy: number;
  total: number;
}

export function rssOf(sys: RunningSystem): Rss {
  const r = rssByRole(snapshot(sys.pids()));
  return { runtime: (r.runtime ?? 0) + (r.node ?? 0), proxy: r.proxy ?? 0, total: r.total };
}

/** Consecutive calm samples (300 ms each) that make a server quiet; see setCalmSamples. */
let calmSamples = 2;

/**
 * `--quick` asks for one calm sample instead of two: it waits for quiet some 40 times, and
 * measures nothing that is kept, so 0.3 s less each is a third of its time.
 */
export function setCalmSamples(n: number): void {
  calmSamples = n;
}

/**
 * Waits until the server's processes are idle (under 5 % of a core for two samples): a closed
 * room of thousands is still broadcasting `leave` presence for a while, which must not land in
 * the next measurement.
 */
export async function waitQuiet(sys: RunningSystem): Promise<number> {
  const t0 = nowMs();
  let calm = 0;
  let prev = snapshot(sys.pids());
  while (nowMs() - t0 < QUIET_TIMEOUT_MS) {
    await sleep(300);
    const cur = snapshot(sys.pids());
    const u = usageBetween(prev, cur);
    prev = cur;
    calm = u.totalCpuSec / u.wallSec < 0.05 ? calm + 1 : 0;
    if (calm >= calmSamples) return nowMs() - t0;
  }
  console.warn(`  (server still busy after ${QUIET_TIMEOUT_MS / 1000} s; measuring anyway)`);
  return nowMs() - t0;
}

export interface Room {
  name: string;
  n: number;
  users: number;
  /** Joined with `batch=1` (this project). */
  batch: boolean;
  /** Sockets went to the runtime's own socket, not through wrangler's dev proxy. */
  direct: boolean;
  /** A socket counts as joined on its first frame ("welcome") or as soon as it is open. */
  readyOn: "welcome" | "open";
  connectPerSec: number;
  connectMs: number;
  settleMs: number;
  rssBefore: Rss;
  rssIdle: Rss;
}

/**
 * Joins N sockets and waits for quiet. Socket i is user `u<i mod users>`; socket 0 of thread 0
 * is the sender. This project's join is complete when every socket has seen all the room's
 * distinct members (welcome, then presence).
 *
 * This project vouches for every id, so a socket cannot just claim `u3`: the first socket of
 * each user joins as a guest named `u<k>`, and the user's later sockets (i >= users) join with
 * the guest token that first one was welcomed with, which makes them the same member.
 */
export async function openRoom(
  sys: RunningSystem,
  pool: ClientPool,
  n: number,
  batch: boolean,
  label: string,
  users = n,
  direct = false,
  /** Runs once every socket is in, before the wait for quiet (a profile of the joins ends here). */
  joined: () => Promise<void> = async () => {},
  /** The system's, unless the room greets where the system does not (bare-do's `greet-turn`). */
  readyOn: "welcome" | "open" = sys.readyOn,
): Promise<Room> {
  const name = `bench-${tag}-${label}-${n}${batch ? "b" : ""}`;
  if (direct && (await sys.directBase()) === null) {
    throw new Error(`${sys.name}: no runtime entry socket found to connect to directly`);
  }
  const rssBefore = rssOf(sys);
  const distinct = Math.min(n, users);
  // Socket i lives on thread i mod pool.size, at place floor(i / pool.size) of that thread.
  const connectSockets = async (from: number, to: number, url: (i: number) => string) => {
    const shares: string[][] = Array.from({ length: pool.size }, () => []);
    for (let i = from; i < to; i++) shares[i % pool.size]!.push(url(i));
    // 32 handshakes in flight per thread: enough to keep any of the servers busy.
    return pool.all<{ tokens: (string | null)[] }>((w) => ({
      cmd: "connect",
      urls: shares[w]!,
      readyOn,
      concurrency: 32,
    }));
  };
  const t0 = nowMs();
  const firsts = await connectSockets(0, distinct, (i) =>
    sys.roomUrl(name, { name: `u${i}` }, batch, direct),
  );
  const tokenOf = (k: number) =>
    firsts[k % pool.size]!.tokens[Math.floor(k / pool.size)] ?? undefined;
  await connectSockets(distinct, n, (i) =>
    sys.roomUrl(name, { name: `u${i % users}`, token: tokenOf(i % users) }, batch, direct),
  );
  const connectMs = nowMs() - t0;
  if (sys.readyOn === "welcome") {
    await pool.all(() => ({ cmd: "settle", members: Math.min(n, users), stallMs: STALL_MS }));
  }
  const settleMs = nowMs() - t0;
  await joined();
  await waitQuiet(sys);
  await pool.all(() => ({ cmd: "gc" }));
  return {
    name,
    n,
    users: Math.min(n, users),
    batch,
    direct,
    readyOn,
    connectMs,
    connectPerSec: n / (connectMs / 1000),
    settleMs,
    rssBefore,
    rssIdle: rssOf(sys),
  };
}

export async function closeRoom(sys: RunningSystem, pool: ClientPool): Promise<void> {
  await pool.all(() => ({ cmd: "closeAll" }));
  pool.resetProgress();
  await waitQuiet(sys);
}

/**
 * Ends a room by resetting its sockets and stopping the server: a graceful close of thousands
 * of members is minutes of `leave` presence under wrangler dev, which measures nothing here.
 */
export async function dropRoomAndStop(sys: RunningSystem, pool: ClientPool): Promise<void> {
  await pool.all(() => ({ cmd: "closeAll", drop: true }));
  pool.resetProgress();
  await sys.stop();
}

/** With `ids`, every message sent in `run` must come back acked to the sender (socket 0). */
async function checkAcks(pool: ClientPool, run: number, messages: number): Promise<void> {
  if (!pool.ids) return;
  const acks = await pool.call<number>(0, {
    cmd: "acks",
    run,
    atLeast: messages,
    timeoutMs: 10_000,
  });
  if (acks !== messages) throw new Error(`run ${run}: ${acks} acks for ${messages} messages`);
}

/**
 * One order across sockets: every thread saw message i under one `seq` (each thread checks its
 * own sockets); here the threads must agree too. Peers have no seq, and a thread without
 * sockets saw nothing (both 0).
 */
function checkOneOrder(run: number, parts: CollectResult[]): void {
  const seqs = parts[0]!.seqs.map((_, i) => parts.map((p) => p.seqs[i]!).filter((q) => q !== 0));
  seqs.forEach((seen, i) => {
    if (seen.some((q) => q !== seen[0]))
      throw new Error(
        `run ${run}: message ${i} came under different seqs on different client threads (${seen.join(", ")})`,
      );
  });
}

export async function collectAll(
  pool: ClientPool,
  run: number,
): Promise<{
  hist: Histogram;
  deliveries: number;
  messages: number;
  firstLatency: number[];
  lastLatency: number[];
  firstSendAt: number;
  lastAt: number;
}> {
  const parts = await pool.all<CollectResult>(() => ({ cmd: "collect", run, stallMs: STALL_MS }));
  checkOneOrder(run, parts);
  return {
    hist: Histogram.merge(parts.map((p) => p.hist)),
    deliveries: parts.reduce((s, p) => s + p.deliveries, 0),
    messages: parts.reduce((s, p) => s + p.messages, 0),
    firstLatency: parts[0]!.firstLatency.map((_, i) =>
      Math.min(...parts.map((p) => p.firstLatency[i]!)),
    ),
    lastLatency: parts[0]!.lastLatency.map((_, i) =>
      Math.max(...parts.map((p) => p.lastLatency[i]!)),
    ),
    firstSendAt: Math.max(...parts.map((p) => p.firstSendAt)),
    lastAt: Math.max(...parts.map((p) => p.lastAt)),
  };
}

export interface Latency {
  rounds: number;
  samples: number;
  p50: number;
  p99: number;
  max: number;
  /**
   * Per round, the first and the last socket's latency: the median round and the worst one. A
   * p99 near the median round's last delivery is the time to walk the room, every round; one far
   * above it comes from a few slow rounds.
   */
  firstPerRound: { median: number; worst: number };
  lastPerRound: { median: number; worst: number };
  /** Rounds (0-based) whose first delivery took over twice the median round's: stalls. */
  stalledRounds: number[];
}

const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * Rounds run before the measured ones and thrown away. In every system the second round of a
 * fresh room stalled (its first delivery 3-4× the median round's, partyserver's as much as this
 * project's): the runtime's and the clients' code paths warming up. At N = 5,000 one round is
 * 2.5 % of the samples, so a stall like that decided the p99 on its own.
 */
export const WARMUP_ROUNDS = 3;

/** Single messages, one at a time: each waits until every socket has it, then a short pause. */
export async function latencyRounds(pool: ClientPool, n: number, rounds: number): Promise<Latency> {
  await measureRounds(pool, n, WARMUP_ROUNDS);
  return measureRounds(pool, n, rounds);
}

async function measureRounds(pool: ClientPool, n: number, rounds: number): Promise<Latency> {
  const run = nextRun();
  pool.resetProgress();
  await pool.all(() => ({ cmd: "expect", run, kind: "message", total: rounds }));
  for (let r = 0; r < rounds; r++) {
    await pool.call(0, { cmd: "send", run, from: r, to: r + 1 });
    while (pool.done() < r + 1) await pool.nextProgress();
    await sleep(20); // the rounds measure an idle room's latency, not a queue
  }
  const c = await collectAll(pool, run);
  await checkAcks(pool, run, rounds);
  if (c.deliveries !== rounds * n)
    throw new Error(`latency: ${c.deliveries} deliveries, expected ${rounds * n}`);
  return {
    rounds,
    samples: c.deliveries,
    p50: c.hist.quantile(0.5),
    p99: c.hist.quantile(0.99),
    max: c.hist.max,
    firstPerRound: { median: medianOf(c.firstLatency), worst: Math.max(...c.firstLatency) },
    lastPerRound: { median: medianOf(c.lastLatency), worst: Math.max(...c.lastLatency) },
    stalledRounds: c.firstLatency.flatMap((ms, round) =>
      ms > 2 * medianOf(c.firstLatency) ? [round] : [],
    ),
  };
}

export interface Throughput {
  messages: number;
  /** True when the time cap ended the burst before `messages` planned ones were sent. */
  capped: boolean;
  window: number;
  deliveries: number;
  /** Deliveries per WebSocket message the clients received: 1 without batching. */
  framesPerMessage: number;
  seconds: number;
  perSec: number;
  p50: number;
  p99: number;
  server: Usage;
  client: Usage;
}

/**
 * A sustained burst: the sender keeps `window` messages in flight until `messages` are done, or
 * until `capSec` has passed (then it stops sending and the run ends with what was sent, all of
 * which must still arrive): a slow system gets a shorter burst, not an endless one.
 */
export async function throughput(
  sys: RunningSystem,
  pool: ClientPool,
  n: number,
  planned: number,
  window: number,
  capSec = Infinity,
): Promise<Throughput> {
  let messages = planned;
  const run = nextRun();
  pool.resetProgress();
  await pool.all(() => ({ cmd: "expect", run, kind: "message", total: messages }));
  const pids = sys.pids();
  const server0 = snapshot(pids);
  const client0 = snapshot([process.pid]);
  let sent = 0;
  const deadline = nowMs() + capSec * 1000;
  for (;;) {
    const done = pool.done();
    if (done >= messages) break;
    if (messages === planned && nowMs() > deadline && sent < planned) {
      messages = sent;
      await pool.all(() => ({ cmd: "truncate", run, total: messages }));
      continue;
    }
    const target = Math.min(messages, done + window);
    if (target > sent) {
      void pool.call(0, { cmd: "send", run, from: sent, to: target }).catch(() => {});
      sent = target;
    }
    await pool.nextProgress();
  }
  const server1 = snapshot(pids);
  const client1 = snapshot([process.pid]);
  const c = await collectAll(pool, run);
  await checkAcks(pool, run, messages);
  if (c.deliveries !== messages * n)
    throw new Error(`throughput: ${c.deliveries} deliveries, expected ${messages * n}`);
  const seconds = (c.lastAt - c.firstSendAt) / 1000;
  return {
    messages,
    capped: messages < planned,
    window,
    deliveries: c.deliveries,
    framesPerMessage: c.deliveries / c.messages,
    seconds,
    perSec: c.deliveries / seconds,
    p50: c.hist.quantile(0.5),
    p99: c.hist.quantile(0.99),
    server: usageBetween(server0, server1),
    client: usageBetween(client0, client1),
  };
}

export interface Storm {
  n: number;
  /** Rejoined with `since` = the last seq each socket saw (this project; the peers have none). */
  since: boolean;
  /** From dropping every socket to the last one open again (this project: welcomed again). */
  rejoinMs: number;
  /** From dropping every socket to a message, sent once all were back, reaching every socket. */
  settleMs: number;
  /** Of that: the message alone, from its send to its last delivery. */
  messageMs: number;
  /** Frames replayed to the rejoining sockets (with `since`: none should be, nothing was missed). */
  replayed: number;
  /**
   * Frames and WebSocket messages all sockets received from the drop to the settled message,
   * the welcomes and that message included (older runs lack it).
   */
  received?: { frames: number; messages: number };
  /** The server's CPU from the drop to the settled message. */
  server: Usage;
  /**
   * Only for a split storm (`split`): the drop alone, until the server is quiet again (its time
   * includes the calm samples that tell it), and its CPU; then the rejoin from a quiet server.
   */
  closes?: { ms: number; server: Usage };
  rejoin?: { ms: number; server: Usage };
}

/**
 * The reconnect storm: every socket of the room is dropped at once (its TCP connection reset,
 * as a deploy or a network cut drops a room) and reconnects at once, 32 handshakes in flight per
 * client thread as in a join; this project's sockets come back as the same guest (their token)
 * with `since` = the last `seq` each saw, the peers' as they first joined. Once every socket is
 * open again (this project: welcomed), the sender sends one message; the storm is settled when
 * every socket has it. The room must be quiet and every socket up to date before it starts.
 *
 * `split` (a diagnosis, not the storm): the sockets reconnect only once the server has gone
 * quiet after the drop, so the cost of the closes and of the rejoins are seen apart.
 */
export async function reconnectStorm(
  sys: RunningSystem,
  pool: ClientPool,
  room: Room,
  split = false,
): Promise<Storm> {
  const states = await pool.all<SocketState[]>(() => ({ cmd: "sockets" }));
  const since = sys.readyOn === "welcome";
  await pool.all(() => ({ cmd: "replayed" })); // counts from here
  const urls = states.map((sockets, w) =>
    sockets.map((st, k) =>
      sys.roomUrl(
        room.name,
        {
          name: `u${k * pool.size + w}`,
          ...(st.token === null ? {} : { token: st.token }),
          ...(since && st.lastSeq >= 0 ? { since: st.lastSeq } : {}),
        },
        room.batch,
        room.direct,
      ),
    ),
  );
  const pids = sys.pids();
  const server0 = snapshot(pids);
  let droppedAt: number;
  let openedAt: number;
  let closes: Storm["closes"];
  let rejoin: Storm["rejoin"];
  if (!split) {
    const back = await pool.all<{ droppedAt: number; openedAt: number }>((w) => ({
      cmd: "reconnect",
      urls: urls[w]!,
      readyOn: room.readyOn,
      concurrency: 32,
    }));
    droppedAt = Math.min(...back.map((b) => b.droppedAt));
    openedAt = Math.max(...back.map((b) => b.openedAt));
  } else {
    droppedAt = nowMs();
    await pool.all(() => ({ cmd: "closeAll", drop: true }));
    const ms = await waitQuiet(sys);
    const quiet = snapshot(pids);
    closes = { ms, server: usageBetween(server0, quiet) };
    const t0 = nowMs();
    await pool.all((w) => ({
      cmd: "connect",
      urls: urls[w]!,
      readyOn: room.readyOn,
      concurrency: 32,
    }));
    openedAt = nowMs();
    rejoin = { ms: openedAt - t0, server: usageBetween(quiet, snapshot(pids)) };
  }
  const run = nextRun();
  pool.resetProgress();
  await pool.all(() => ({ cmd: "expect", run, kind: "message", total: 1 }));
  await pool.call(0, { cmd: "send", run, from: 0, to: 1 });
  const c = await collectAll(pool, run);
  await checkAcks(pool, run, 1);
  if (c.deliveries !== room.n)
    throw new Error(`reconnect storm: ${c.deliveries} deliveries, expected ${room.n}`);
  const server = usageBetween(server0, snapshot(pids));
  const counts = await pool.all<{ replayed: number; frames: number; messages: number }>(() => ({
    cmd: "replayed",
  }));
  const sum = (k: "replayed" | "frames" | "messages") => counts.reduce((a, c) => a + c[k], 0);
  const replayed = sum("replayed");
  return {
    n: room.n,
    since,
    rejoinMs: openedAt - droppedAt,
    settleMs: c.lastAt - droppedAt,
    messageMs: c.lastAt - c.firstSendAt,
    replayed,
    received: { frames: sum("frames"), messages: sum("messages") },
    server,
    ...(closes === undefined ? {} : { closes }),
    ...(rejoin === undefined ? {} : { rejoin }),
  };
}
