/**
 * `npm run bench`: starts each system on this machine in turn, size by size — this project under
 * `wrangler dev` (one frame per message, and `batch=1`), the partyserver peer under
 * `wrangler dev`, a bare Node `ws` server, and a bare Durable Object that only stores and
 * forwards (and one that only forwards) — drives the same workloads through the same client
 * threads, and prints Markdown tables with ratios against partyserver and the targets of
 * issue 18: fan-out, a reconnect storm, a sharded room, signed pushes against a bare
 * Worker→object call, memory per idle socket. `--repeats K` measures the rooms K times, the
 * systems taking turns, and decides each target on the median of its K paired ratios. A run
 * that loses a single delivery exits non-zero without a table. docs/BENCHMARKS.md has the
 * method and the recorded numbers.
 *
 *   node bench/run.ts [--quick] [--sizes 100,1000,5000] [--systems edge-rooms,partyserver,node-ws,bare-do]
 *                     [--repeats 1] [--workers 2] [--window 100] [--rounds 30] [--latency-samples 100000]
 *                     [--deliveries 500000] [--burst-sec 45]
 *                     [--storm 5000] [--storm-split] [--sharded 9800] [--shard-sockets 5000]
 *                     [--sharded-modes one-frame,batch=1]
 *                     [--push 2000] [--push-batches 100] [--push-room 100] [--concurrency 16] [--idle 15]
 *                     [--push-pairs 6] [--push-pair-requests 400] [--join-rounds 6]
 *                     [--users 1000] [--direct] [--no-hibernation] [--ids] [--desk-queue 1000]
 *                     [--desks 10] [--desk-leave] [--hook-room 100] [--hook-senders 4]
 *                     [--hook-rounds 6] [--hook-messages 1000] [--source DIR] [--json out.json]
 *   node bench/run.ts --report out.json   (prints the tables of a saved run again)
 *
 * This project runs without its static assets (the peers serve no page either) and without the
 * local emulation of Workers Logs; BENCH_ASSETS=1 and BENCH_OBSERVABILITY=1 keep them (systems.ts).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateSecret } from "../src/protocol/webhook.ts";
import { ClientPool } from "./clients.ts";
import { cpuProbeMs, type Probes } from "./probe.ts";
import type { Usage } from "./procs.ts";
import { fmtBytes, fmtMs, fmtNum } from "./stats.ts";
import {
  ROOT,
  SYSTEM_NAMES,
  startBareDo,
  startSystem,
  type RunningSystem,
  type SystemName,
} from "./systems.ts";
import { HTTP_STEPS, httpStep } from "./bare-http.ts";
import { deskQueue } from "./desk.ts";
import { publishHook } from "./publish-hook.ts";
import { hibernationEdgeRooms, hibernationPartyserver } from "./hibernation.ts";
import { push, roomInfo, trivialRoute } from "./push.ts";
import {
  report,
  type JoinRounds,
  type JoinSide,
  type Label,
  type PushPairs,
  type PushRow,
  type Results,
} from "./report.ts";
import {
  dropRoomAndStop,
  latencyRounds,
  openRoom,
  closeRoom,
  reconnectStorm,
  rssOf,
  setCalmSamples,
  throughput,
  waitQuiet,
  type Latency,
  type Room,
  type Storm,
  type Throughput,
} from "./workloads.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    sizes: { type: "string" },
    systems: { type: "string" },
    workers: { type: "string" },
    window: { type: "string" },
    rounds: { type: "string" },
    "latency-samples": { type: "string" },
    repeats: { type: "string" },
    deliveries: { type: "string" },
    push: { type: "string" },
    "push-batches": { type: "string" },
    "push-room": { type: "string" },
    "push-pairs": { type: "string" },
    "push-pair-requests": { type: "string" },
    "join-rounds": { type: "string" },
    concurrency: { type: "string" },
    idle: { type: "string" },
    "burst-sec": { type: "string" },
    users: { type: "string" },
    storm: { type: "string" },
    sharded: { type: "string" },
    "shard-sockets": { type: "string" },
    "sharded-modes": { type: "string" },
    "storm-split": { type: "boolean", default: false },
    "no-hibernation": { type: "boolean", default: false },
    direct: { type: "boolean", default: false },
    ids: { type: "boolean", default: false },
    "desk-queue": { type: "string" },
    desks: { type: "string" },
    "desk-leave": { type: "boolean", default: false },
    "hook-room": { type: "string" },
    "hook-senders": { type: "string" },
    "hook-rounds": { type: "string" },
    "hook-messages": { type: "string" },
    source: { type: "string" },
    json: { type: "string" },
    report: { type: "string" },
  },
});

const quick = args.quick;

function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  return Number(line?.split(/\s+/)[3] ?? "1024");
}

/**
 * The most sockets one runtime can hold here: workerd keeps two descriptors per WebSocket (the
 * connection and a duplicate of it), and needs ~150 of its own plus three per object's database.
 */
const runtimeMax = Math.floor((openFileLimit() - 300) / 2 / 100) * 100;
const num = (v: string | undefined, full: number, small: number) =>
  v === undefined ? (quick ? small : full) : Number(v);
const config = {
  /** `--sizes ""` skips the fan-out rooms (push and hibernation only). */
  sizes: (args.sizes ?? (quick ? "50" : "100,1000,5000"))
    .split(",")
    .filter((s) => s !== "")
    .map(Number),
  systems: (args.systems ?? SYSTEM_NAMES.join(",")).split(",") as SystemName[],
  workers: num(args.workers, 2, 2),
  window: num(args.window, 100, 20),
  rounds: num(args.rounds, 30, 5),
  /**
   * Latency rounds go on past `rounds` until the room has given this many samples (one per
   * socket per round): 1,000 rounds at N = 100, 100 at 1,000, 30 at 5,000. With 30 rounds at
   * N = 100 the p99 (the slowest 30 of 3,000 samples) is set by the slowest round alone; even
   * with 100 rounds its ratio to its bound moved between 0.8× and 2.0× from repeat to repeat.
   * Over 100,000 samples it is the slowest 1 % of rounds.
   */
  latencySamples: num(args["latency-samples"], 100_000, 0),
  /**
   * Times every fan-out room (with its storm) and the sharded room are measured, the systems
   * taking turns size by size; the targets are decided on the median of the paired ratios
   * (bench/targets.ts). The push, desk, hook and hibernation steps run once.
   */
  repeats: num(args.repeats, 1, 1),
  /** Deliveries per sustained burst: messages = max(2 × window, deliveries / N). */
  deliveries: num(args.deliveries, 500_000, 5_000),
  /** A sustained burst stops sending after this long (a degrading system would run for ever). */
  burstSec: num(args["burst-sec"], 45, 20),
  pushRequests: num(args.push, 2000, 40),
  pushBatches: num(args["push-batches"], 100, 4),
  concurrency: num(args.concurrency, 16, 8),
  pushRoom: num(args["push-room"], 100, 20),
  /**
   * Rounds in which this project's push and the bare push into as many sockets take turns, the
   * order flipped each round: target 4 against what `wrangler dev` allows is decided on the
   * median of the rounds' paired ratios, as the rooms' targets are on their repeats' (one
   * measurement of each, minutes apart, moved by 0.81–1.02× between two runs of the same code).
   */
  pushPairs: num(args["push-pairs"], 6, 2),
  /** Signed requests per system in each of those rounds. */
  pushPairRequests: num(args["push-pair-requests"], 400, 20),
  /**
   * Rounds of joins and a storm at the storm's N in which this project's room, partyserver's and
   * the bare presence room take turns, each the only room on a fresh server (run.ts
   * `joinRounds`): target 5 at that N is decided on the median of the rounds' paired ratios. Three
   * repeats of a whole run put this project's joins at 0.82–1.36× partyserver's, and its storm at
   * 0.73–1.41× the bare greeting room's: too few draws to tell a few per cent apart. 0 skips them.
   */
  joinRounds: num(args["join-rounds"], 6, 1),
  idleSec: num(args.idle, 15, 15),
  /**
   * Distinct users per room: socket i joins as user u<i mod users>. Above it, sockets are extra
   * tabs of the same users, so this project's join broadcasts (presence to everyone, the member
   * list in every welcome) stay at 1,000 users' worth: 5,000 distinct users would mean 12.5 M
   * presence frames, minutes of join storm under wrangler dev, before the fan-out even starts.
   */
  users: num(args.users, 1000, 1000),
  /**
   * The fan-out room of this N (if in `sizes`) ends with a reconnect storm: every socket dropped
   * at once and back at once (this project's with `since`); 0 skips it.
   */
  storm: num(args.storm, 5000, 50),
  /**
   * After the storm, a second one in two steps (the drop, then the rejoin once the server is
   * quiet), so the cost of the closes and of the rejoins show apart: a diagnosis, off by default.
   */
  stormSplit: args["storm-split"],
  /**
   * Sockets of the sharded room (SHARDED_ROOMS), one user per socket: 20,000, or as many as one
   * runtime's descriptors allow here (see runtimeMax); 0 skips it.
   */
  sharded: num(args.sharded, Math.min(20_000, runtimeMax), 300),
  /** SHARD_SOCKETS of the sharded room: its sockets per shard object. */
  shardSockets: num(args["shard-sockets"], 5000, 100),
  /** The sharded room's client modes: one frame per message, `batch=1`, or both. */
  shardedModes: (args["sharded-modes"] ?? (quick ? "one-frame" : "one-frame,batch=1"))
    .split(",")
    .filter((m) => m !== ""),
  hibernation: !quick && !args["no-hibernation"],
  /**
   * Connect to the runtime's own socket instead of through wrangler's dev proxy (which holds four
   * descriptors per WebSocket); done anyway for an N the open-file limit cannot carry through it.
   */
  direct: args.direct,
  /** The fan-out sender puts an `id` on every message (stored and acked), as real clients do. */
  ids: args.ids,
  /** Customers queued ahead of the last one measured at the help desk; 0 skips the desk. */
  deskQueue: num(args["desk-queue"], 1000, 100),
  /** Desks (samples) for the desk queue: each times its customer #1 and #(queue + 1). */
  desks: num(args.desks, 10, 3),
  /** The customers who fill the desk's queue close their sockets after writing. */
  deskLeave: args["desk-leave"],
  /** Members of each room of the publish-hook line (bench/publish-hook.ts). */
  hookRoom: num(args["hook-room"], 100, 20),
  /** Members of those rooms who send. */
  hookSenders: num(args["hook-senders"], 4, 2),
  /** Bursts per room, hook on and off interleaved; 0 skips the publish-hook line. */
  hookRounds: num(args["hook-rounds"], 6, 1),
  /** Messages per burst of the publish-hook line. */
  hookMessages: num(args["hook-messages"], 1000, 100),
  /**
   * The project tree this project's Worker is copied from (default: this one): another
   * checkout, e.g. `git worktree add /tmp/before <commit>`, is measured by this same harness.
   */
  source: resolve(args.source ?? ROOT),
};
for (const s of config.systems)
  if (!SYSTEM_NAMES.includes(s)) throw new Error(`unknown system ${s}`);

/** Raised for the bench only: one sender far above 20 frames/s is the workload itself. */
const BENCH_VARS = { RATE_PER_SEC: "1000000", RATE_BURST: "1000000" };
/** The hibernation proof runs its own server with a bucket that refuses a second frame. */
const HIBERNATION_VARS = { RATE_PER_SEC: "0.01", RATE_BURST: "1" };

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "?";
  }
}

/** The version of a package as `from` resolves it (wrangler may nest its own workerd). */
function versionFrom(from: string, pkg: string): string {
  try {
    const path = createRequire(join(ROOT, from, "package.json")).resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** workerd as a wrangler install runs it: wrangler → miniflare → workerd. */
function workerdOf(wranglerDir: string): string {
  try {
    const miniflare = createRequire(join(ROOT, wranglerDir, "package.json")).resolve(
      "miniflare/package.json",
    );
    const workerd = createRequire(miniflare).resolve("workerd/package.json");
    return (JSON.parse(readFileSync(workerd, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function machine(): Record<string, string> {
  const git = (...a: string[]) => {
    try {
      return execFileSync("git", a, { cwd: config.source, encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  const dirty = git("status", "--porcelain", "src", "wrangler.toml") !== "";
  return {
    source: `${git("rev-parse", "--short", "HEAD") || "?"}${dirty ? " + uncommitted changes in src/" : ""}${config.source === ROOT ? "" : ` (from ${config.source})`}`,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    memory: fmtBytes(totalmem()),
    kernel: release(),
    node: process.version,
    wrangler: versionFrom(".", "wrangler"),
    workerd: workerdOf("node_modules/wrangler"),
    "partyserver peer": `partyserver ${versionFrom("bench/peers/partyserver", "partyserver")}, wrangler ${versionFrom(
      "bench/peers/partyserver",
      "wrangler",
    )}, workerd ${workerdOf("bench/peers/partyserver/node_modules/wrangler")}`,
    ws: versionFrom(".", "ws"),
    load: readText("/proc/loadavg").split(" ").slice(0, 3).join(" "),
  };
}

const log = (s: string) => console.log(s);

/** The busiest single thread over the interval, e.g. "runtime 93 %". */
const busiest = (u: Usage) => `${u.busiestRole ?? "?"} ${(u.busiestThread * 100).toFixed(0)} %`;

/** CPU milliseconds per request by process role. */
const perReq = (u: Usage, requests: number) =>
  Object.entries(u.cpuSec)
    .filter(([, sec]) => sec! > 0)
    .map(([role, sec]) => `${role} ${((sec! / requests) * 1000).toFixed(2)} ms`)
    .join(", ");

/** CPU seconds by process role, e.g. "runtime 3.1 s, proxy 1.2 s, wrangler 0.1 s". */
const fmtUsage = (u: Usage) =>
  Object.entries(u.cpuSec)
    .filter(([, sec]) => sec! >= 0.01)
    .map(([role, sec]) => `${role} ${sec!.toFixed(2)} s`)
    .join(", ");

/** The rooms a system runs at each N: its label, `batch=1` or not, and the room's name part. */
interface Variant {
  label: Label;
  batch: boolean;
  room: string;
  /**
   * Only at the storm's N, where it ends with a storm too: a room whose sockets count as joined
   * on their first frame (a welcome), as this project's do.
   */
  greets?: true;
}

function variantsOf(name: SystemName): Variant[] {
  switch (name) {
    case "edge-rooms":
      return [
        { label: "edge-rooms", batch: false, room: name },
        { label: "edge-rooms batch=1", batch: true, room: name },
      ];
    case "bare-do":
      // The first two batch a turn's texts into one message per socket, as batch=1 does; the
      // first stores each text before the sends, the second does nothing but forward (the modes
      // are in bench/peers/bare-do/index.ts, picked by the room's name).
      return [
        { label: "bare-do store-first", batch: false, room: "bare~batch-turn~" },
        { label: "bare-do forward", batch: false, room: "bare~batch-forward~" },
        // One frame per WebSocket message, each stored first: the one-frame mode's bare twin.
        { label: "bare-do store-first unbatched", batch: false, room: "bare~turn~" },
        // The same, and each socket sent a frame shaped like this project's welcome as it
        // joins: partyserver's rooms send nothing at join, and this shows what greeting costs
        // the runtime in the joins and the storm (targets.ts compares them).
        { label: "bare-do greet", batch: false, room: "bare~greet-turn~", greets: true },
      ];
    default:
      return [{ label: name, batch: false, room: name }];
  }
}

/** Rooms the sharded room's name matches (SHARDED_ROOMS): openRoom names it bench-<tag>-sharded-<n>. */
const SHARDED_PATTERN = "bench-*-sharded-*";
/** This project's vars with the sharded room's (no other room's name matches the pattern). */
const shardedVars = (vars: Record<string, string>) => ({
  ...vars,
  SHARDED_ROOMS: SHARDED_PATTERN,
  SHARD_SOCKETS: String(config.shardSockets),
});
/** Latency rounds for a room of `n`: at least `rounds`, and enough for `latencySamples`. */
const roundsFor = (n: number) =>
  Math.max(config.rounds, Math.ceil(config.latencySamples / Math.max(1, n)));

/**
 * `--quick` runs its small sharded room on the push server, before the pushes: one server start
 * less. The full run gives it a fresh server, whose memory is then the sharded room's alone.
 */
const shardedOnPushServer = quick && config.pushRequests > 0 && config.sharded > 0;

async function main(): Promise<void> {
  const started = performance.now();
  if (quick) setCalmSamples(1);
  const maxN = Math.max(100, ...config.sizes, config.sharded);
  if (maxN > runtimeMax) {
    throw new Error(
      `open-file limit ${openFileLimit()} is too low for ${maxN} sockets in one runtime (two descriptors each): ` +
        `run \`ulimit -n ${maxN * 2 + 300}\` first, or ask for at most ${runtimeMax} sockets`,
    );
  }
  // Per socket: the client holds one descriptor, the runtime two, wrangler's dev proxy four.
  const proxyMax = Math.floor((openFileLimit() - 1000) / 4);
  const results: Results = {
    machine: machine(),
    config,
    fanout: [],
    sharded: [],
    rss0: {},
    hibernation: {},
    seconds: 0,
  };
  log(`# bench ${quick ? "(quick)" : ""}: ${JSON.stringify(results.machine)}`);
  const runtimes = [
    workerdOf("node_modules/wrangler"),
    workerdOf("bench/peers/partyserver/node_modules/wrangler"),
  ];
  if (config.systems.includes("partyserver") && runtimes[0] !== runtimes[1]) {
    console.warn(
      `WARNING: this project runs workerd ${runtimes[0]} but the partyserver peer ${runtimes[1]}: ` +
        "set the same version in bench/peers/partyserver/package.json (overrides) for a same-runtime comparison",
    );
  }
  const pool = new ClientPool(config.workers, config.ids);
  const secret = generateSecret();
  let sys: RunningSystem | null = null;
  /** The bare Worker beside this project's push server: its HTTP steps bracket the pushes. */
  let bare: RunningSystem | null = null;
  const stopSys = async () => {
    const s = [sys, bare];
    sys = null;
    bare = null;
    await Promise.all(s.map((x) => x?.stop()));
  };
  process.once("SIGINT", () => void stopSys().then(() => process.exit(130)));
  /** Seconds since the run began, for the progress lines. */
  const at = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
  const fanoutLine = (label: string, n: number, room: Room, latency: Latency, tp: Throughput) => {
    log(
      `  ${at()} ${label} N=${n}${room.direct ? " (direct to the runtime)" : ""}: joined in ${(room.connectMs / 1000).toFixed(1)} s (${fmtNum(room.connectPerSec)}/s), settled in ${(room.settleMs / 1000).toFixed(1)} s; RSS ${fmtBytes(room.rssBefore.total)} → ${fmtBytes(room.rssIdle.total)}`,
    );
    log(
      `    latency p50 ${fmtMs(latency.p50)} p99 ${fmtMs(latency.p99)} max ${fmtMs(latency.max)} ms ` +
        `(per round: first delivery ${fmtMs(latency.firstPerRound.median)} median / ${fmtMs(latency.firstPerRound.worst)} worst, last ${fmtMs(latency.lastPerRound.median)} / ${fmtMs(latency.lastPerRound.worst)}; stalled rounds [${latency.stalledRounds.join(",")}]); ` +
        `${fmtNum(tp.perSec)} deliveries/s, ${tp.framesPerMessage.toFixed(1)} per WebSocket message (${tp.messages}${tp.capped ? `, capped at ${config.burstSec} s` : ""} messages, window ${config.window}, ${tp.seconds.toFixed(1)} s), ` +
        `server ${fmtNum((tp.server.totalCpuSec / tp.deliveries) * 1e6, 2)} µs/delivery, busiest server thread ${(tp.server.busiestThread * 100).toFixed(0)} % (${tp.server.busiestRole}), busiest client thread ${(tp.client.busiestThread * 100).toFixed(0)} %; server CPU: ${fmtUsage(tp.server)}`,
    );
  };
  /**
   * The sharded room on `server` (started with shardedVars): one user per socket, since a user's
   * sockets stay on one shard and a room of few users with many tabs each would not spread
   * (docs/sharded-rooms.md). Its sockets are dropped at the end; the caller stops the server.
   */
  const shardedRoom = async (
    server: RunningSystem,
    batch: boolean,
    fresh: boolean,
    rep: number,
  ) => {
    const n = config.sharded;
    const direct = config.direct || n > proxyMax;
    const room = await openRoom(server, pool, n, batch, "sharded", n, direct);
    const info = await roomInfo(server, secret, room.name);
    if (info.sockets !== n || info.members !== n)
      throw new Error(`sharded room: the server API counts ${JSON.stringify(info)}, not ${n}`);
    const label: Label = batch ? "edge-rooms sharded batch=1" : "edge-rooms sharded";
    log(
      `  ${at()} ${label}: ${info.shards ?? "?"} shards of at most ${config.shardSockets} sockets`,
    );
    const latency = await latencyRounds(pool, n, roundsFor(n));
    const messages = Math.max(2 * config.window, Math.ceil(config.deliveries / n));
    const tp = await throughput(server, pool, n, messages, config.window, config.burstSec);
    fanoutLine(label, n, room, latency, tp);
    const { name: _roomName, ...roomStats } = room;
    results.sharded!.push({
      label,
      n,
      fresh,
      rep,
      shardSockets: config.shardSockets,
      shards: info.shards ?? 0,
      room: roomStats,
      latency,
      throughput: tp,
    });
    await pool.all(() => ({ cmd: "closeAll", drop: true }));
    pool.resetProgress();
  };
  /**
   * This project's push and the bare push into as many sockets, in rounds that take turns (the
   * order flipped each round): a fresh room of each per round, `pushPairRequests` single
   * pushes into it, then closed. Into `pushRoom` one-frame sockets, as many `batch=1` sockets,
   * and one socket; the bare room's sockets take one frame per message in every case.
   */
  const pairedPushes = async (mine: RunningSystem, bareWorker: RunningSystem) => {
    const modes: { mode: PushPairs["mode"]; n: number; batch: boolean }[] = [
      { mode: "one frame per message", n: config.pushRoom, batch: false },
      { mode: "batch=1", n: config.pushRoom, batch: true },
      { mode: "one socket", n: 1, batch: true },
    ];
    const out: PushPairs[] = [];
    for (const { mode, n, batch } of modes) {
      const rounds: PushPairs["rounds"] = [];
      for (let r = 0; r < config.pushPairs; r++) {
        const once = async (bareSide: boolean) => {
          const server = bareSide ? bareWorker : mine;
          const room = bareSide
            ? await openRoom(server, pool, n, false, "bare~forward~pair", n)
            : await openRoom(server, pool, n, batch, "push-pair", config.users);
          const rate = await push(
            server,
            pool,
            room,
            secret,
            config.pushPairRequests,
            1,
            config.concurrency,
            bareSide ? `/rpc-publish-log/${room.name}` : "/push",
          );
          await closeRoom(server, pool);
          return rate;
        };
        const bareFirst = r % 2 === 0;
        const first = await once(bareFirst);
        const second = await once(!bareFirst);
        const [bareRate, mineRate] = bareFirst ? [first, second] : [second, first];
        rounds.push({ mine: mineRate, bare: bareRate });
        log(
          `  ${at()} paired push into ${n} (${mode}), round ${r + 1}: ${fmtNum(mineRate.requestsPerSec)} against the bare push's ${fmtNum(bareRate.requestsPerSec)} req/s (${(mineRate.requestsPerSec / bareRate.requestsPerSec).toFixed(2)}×)`,
        );
      }
      out.push({ mode, n, rounds });
    }
    return out;
  };
  const varsOf = (name: SystemName) =>
    name === "edge-rooms" ? { ...BENCH_VARS, PUSH_SECRET: secret } : {};
  /** Every room of `name` at `n` (one per variant), measured as repeat `rep`. */
  const fanoutRooms = async (name: SystemName, n: number, rep: number) => {
    const vars = varsOf(name);
    for (const v of variantsOf(name)) {
      if (v.greets === true && n !== config.storm) continue;
      // Its joins are compared with rooms that are each the first on a fresh server, and a
      // server's later rooms join faster (measured: 583, 974, 1,264 and 1,471 joins/s for the
      // four bare rooms of one server at N = 5,000), so it gets a fresh server of its own.
      if (v.greets === true) await stopSys();
      // Every room gets a fresh server: its memory is this room's alone, and nothing left
      // over from the previous room (a leave storm, garbage) lands in this measurement. The
      // bare objects' later rooms share the first one's server (only its memory is kept).
      const fresh = sys === null;
      if (sys === null) {
        sys = await startSystem(name, vars, config.source);
        await waitQuiet(sys);
        results.rss0[name] ??= rssOf(sys);
      }
      // Past what the dev proxy's descriptors allow, clients go to the runtime itself.
      const direct = name !== "node-ws" && (config.direct || n > proxyMax);
      const room = await openRoom(
        sys,
        pool,
        n,
        v.batch,
        v.room,
        config.users,
        direct,
        undefined,
        v.greets === true ? "welcome" : sys.readyOn,
      );
      const latency = await latencyRounds(pool, n, roundsFor(n));
      const messages = Math.max(2 * config.window, Math.ceil(config.deliveries / n));
      const tp = await throughput(sys, pool, n, messages, config.window, config.burstSec);
      fanoutLine(v.label, n, room, latency, tp);
      let storm: Storm | undefined;
      let stormSplit: Storm | undefined;
      if (n === config.storm && (name !== "bare-do" || v.greets === true)) {
        await waitQuiet(sys);
        storm = await reconnectStorm(sys, pool, room);
        log(
          `    reconnect storm: ${fmtNum(n)} sockets dropped and back${storm.since ? " with since" : ""} in ${(storm.rejoinMs / 1000).toFixed(2)} s, ` +
            `a message to all of them ${fmtMs(storm.messageMs)} ms later: settled in ${(storm.settleMs / 1000).toFixed(2)} s; ${storm.replayed} frames replayed; ${storm.received === undefined ? "" : `received per socket: ${fmtNum(storm.received.frames / n, 1)} frames in ${fmtNum(storm.received.messages / n, 1)} messages; `}server CPU: ${fmtUsage(storm.server)}`,
        );
        // The split storm is a diagnosis: the first repeat's is enough.
        if (config.stormSplit && rep === 0) {
          await waitQuiet(sys);
          stormSplit = await reconnectStorm(sys, pool, room, true);
          log(
            `    split storm: the drop took the server ${(stormSplit.closes!.ms / 1000).toFixed(2)} s to go quiet (CPU: ${fmtUsage(stormSplit.closes!.server)}), ` +
              `the rejoin from quiet ${(stormSplit.rejoin!.ms / 1000).toFixed(2)} s (CPU: ${fmtUsage(stormSplit.rejoin!.server)})`,
          );
        }
      }
      const { name: _roomName, ...roomStats } = room;
      results.fanout.push({
        label: v.label,
        n,
        fresh,
        rep,
        room: roomStats,
        latency,
        throughput: tp,
        ...(storm === undefined ? {} : { storm }),
        ...(stormSplit === undefined ? {} : { stormSplit }),
      });
      if (name === "bare-do") {
        await pool.all(() => ({ cmd: "closeAll", drop: true }));
        pool.resetProgress();
        await waitQuiet(sys);
      } else {
        await dropRoomAndStop(sys, pool);
        sys = null;
      }
    }
    await stopSys();
  };
  /**
   * Joins and a storm of `config.storm` sockets, in rounds: each round, this project's room
   * (one frame per message), partyserver's and the bare presence room, each the only room on a
   * fresh server, the order turned one place each round so each system goes first, second and
   * third as often. A room joins as the fan-out rooms do, waits for quiet, then its storm.
   */
  const joinRounds = async (): Promise<JoinRounds> => {
    const n = config.storm;
    const all: { label: JoinSide["label"]; system: SystemName; room: string }[] = [
      { label: "edge-rooms", system: "edge-rooms", room: "edge-rooms" },
      { label: "partyserver", system: "partyserver", room: "partyserver" },
      { label: "bare-do presence", system: "bare-do", room: "bare~presence-turn~" },
    ];
    const sides = all.filter((s) => config.systems.includes(s.system));
    const rounds: JoinRounds["rounds"] = [];
    for (let r = 0; r < config.joinRounds; r++) {
      const order = sides.map((_, k) => sides[(k + r) % sides.length]!);
      const round: JoinSide[] = [];
      for (const side of order) {
        const server = await startSystem(side.system, varsOf(side.system), config.source);
        try {
          await waitQuiet(server);
          const before = cpuProbeMs();
          const direct = config.direct || n > proxyMax;
          // This project's and the bare presence room's joins end with their welcome.
          const readyOn = side.system === "partyserver" ? server.readyOn : "welcome";
          const room = await openRoom(
            server,
            pool,
            n,
            false,
            side.room,
            config.users,
            direct,
            undefined,
            readyOn,
          );
          await waitQuiet(server);
          const storm = await reconnectStorm(server, pool, room);
          const probes: Probes = [before, cpuProbeMs()];
          const { name: _roomName, ...roomStats } = room;
          round.push({ label: side.label, room: roomStats, storm, probes });
          log(
            `  ${at()} join round ${r + 1}, ${side.label}: ${fmtNum(room.connectPerSec)} joins/s; storm settled in ${(storm.settleMs / 1000).toFixed(2)} s; machine probe ${probes.map((p) => p.toFixed(0)).join(" → ")} ms`,
          );
        } finally {
          await dropRoomAndStop(server, pool);
        }
      }
      rounds.push(round);
    }
    return { n, rounds };
  };
  try {
    for (let rep = 0; rep < config.repeats; rep++) {
      if (config.repeats > 1) log(`\n# repeat ${rep + 1} of ${config.repeats} ${at()}`);
      // Size by size, every system in turn, so a room and its comparators run minutes apart, not
      // a whole system's run apart; the order flips each repeat, so no system always goes first.
      const order = rep % 2 === 0 ? config.systems : [...config.systems].reverse();
      for (const n of config.sizes) {
        for (const name of order) {
          log(`\n## ${name} N=${fmtNum(n)} ${at()}`);
          await fanoutRooms(name, n, rep);
        }
      }
      if (config.systems.includes("edge-rooms") && config.sharded > 0 && !shardedOnPushServer) {
        for (const mode of config.shardedModes) {
          sys = await startSystem("edge-rooms", shardedVars(varsOf("edge-rooms")), config.source);
          await waitQuiet(sys);
          await shardedRoom(sys, mode === "batch=1", true, rep);
          await sys.stop();
          sys = null;
        }
      }
    }
    if (
      config.joinRounds > 0 &&
      config.storm > 0 &&
      config.systems.includes("edge-rooms") &&
      config.systems.includes("partyserver")
    ) {
      log(`\n## joins and storms of ${fmtNum(config.storm)}, in rounds that take turns ${at()}`);
      results.joinRounds = await joinRounds();
    }
    for (const name of config.systems) {
      const vars = varsOf(name);
      if (name === "edge-rooms" && config.pushRequests > 0) {
        sys = await startSystem(name, shardedVars(vars), config.source);
        await waitQuiet(sys);
        if (shardedOnPushServer) {
          for (const mode of config.shardedModes) {
            await shardedRoom(sys, mode === "batch=1", false, 0);
            await waitQuiet(sys);
          }
        }
        bare = await startBareDo();
        await waitQuiet(bare);
        const bareWorker = bare;
        // Push into a room of one-frame clients, one of batch=1 clients (the browser client's
        // mode) and one of a single socket, with the trivial route and the bare Worker→object
        // call with one INSERT measured before and after, as the ceilings.
        const ceilingBefore = await trivialRoute(sys, config.pushRequests, config.concurrency);
        const bareBefore = await httpStep(
          bareWorker,
          HTTP_STEPS.rpcSql,
          config.pushRequests,
          config.concurrency,
        );
        const bareLogBefore = await httpStep(
          bareWorker,
          HTTP_STEPS.rpcSqlLog,
          config.pushRequests,
          config.concurrency,
        );
        const bareRpc = await httpStep(
          bareWorker,
          HTTP_STEPS.rpc,
          config.pushRequests,
          config.concurrency,
        );
        const barePush = await httpStep(
          bareWorker,
          HTTP_STEPS.rpcPush,
          config.pushRequests,
          config.concurrency,
        );
        // The bare push into a room of as many sockets (INSERT, send, the log line): what the
        // runtime allows a push that reaches them, beside the bare call that reaches nobody.
        const pushBare = async (n: number) => {
          const bareRoom = await openRoom(bareWorker, pool, n, false, "bare~forward~", n);
          const rate = await push(
            bareWorker,
            pool,
            bareRoom,
            secret,
            config.pushRequests,
            1,
            config.concurrency,
            `/rpc-publish-log/${bareRoom.name}`,
          );
          await closeRoom(bareWorker, pool);
          log(
            `  ${at()} bare push into ${n} (INSERT, send, log line): ${fmtNum(rate.requestsPerSec)} req/s`,
          );
          return rate;
        };
        const barePublish = await pushBare(config.pushRoom);
        const barePublishOne = await pushBare(1);
        const rooms: PushRow[] = [];
        for (const batch of [false, true]) {
          const room = await openRoom(sys, pool, config.pushRoom, batch, "push", config.users);
          const mode = batch ? "batch=1" : "one frame per message";
          const single = await push(
            sys,
            pool,
            room,
            secret,
            config.pushRequests,
            1,
            config.concurrency,
          );
          const many = await push(
            sys,
            pool,
            room,
            secret,
            config.pushBatches,
            100,
            config.concurrency,
          );
          rooms.push({ mode, single, batch: many });
          log(
            `  ${at()} push into ${room.n} (${mode}): single ${fmtNum(single.requestsPerSec)} req/s (${fmtNum(single.eventsPerSec)} events/s end to end); ` +
              `batches of 100: ${fmtNum(many.requestsPerSec)} req/s, ${fmtNum(many.eventsPerSec)} events/s end to end\n` +
              `    CPU per request: push ${perReq(single.server, single.requests)}, harness ${perReq(single.client, single.requests)} (busiest thread ${busiest(single.server)}, harness ${busiest(single.client)}); ` +
              `batch ${perReq(many.server, many.requests)}, harness ${perReq(many.client, many.requests)}`,
          );
          await closeRoom(sys, pool);
        }
        const oneRoom = await openRoom(sys, pool, 1, true, "push-one", config.users);
        const one = await push(
          sys,
          pool,
          oneRoom,
          secret,
          config.pushRequests,
          1,
          config.concurrency,
        );
        log(
          `  ${at()} push into 1 (batch=1): ${fmtNum(one.requestsPerSec)} req/s; CPU per request: ${perReq(one.server, one.requests)}, harness ${perReq(one.client, one.requests)}`,
        );
        await closeRoom(sys, pool);
        const pairs = await pairedPushes(sys, bareWorker);
        const bareAfter = await httpStep(
          bareWorker,
          HTTP_STEPS.rpcSql,
          config.pushRequests,
          config.concurrency,
        );
        const bareLogAfter = await httpStep(
          bareWorker,
          HTTP_STEPS.rpcSqlLog,
          config.pushRequests,
          config.concurrency,
        );
        const ceilingAfter = await trivialRoute(sys, config.pushRequests, config.concurrency);
        results.push = {
          ceilingBefore,
          ceilingAfter,
          rooms,
          one,
          bare: {
            rpcSqlBefore: bareBefore,
            rpcSqlAfter: bareAfter,
            rpcSqlLogBefore: bareLogBefore,
            rpcSqlLogAfter: bareLogAfter,
            publishLog: barePublish,
            publishLogOne: barePublishOne,
            rpc: bareRpc,
            rpcPush: barePush,
          },
          pairs,
        };
        log(
          `  ${at()} trivial route ${fmtNum(ceilingBefore.perSec)} / ${fmtNum(ceilingAfter.perSec)} req/s before / after; CPU per request: ${perReq(ceilingBefore.server, ceilingBefore.requests)}, harness ${perReq(ceilingBefore.client, ceilingBefore.requests)}`,
        );
        log(
          `  bare Worker→object call with one INSERT ${fmtNum(bareBefore.perSec)} / ${fmtNum(bareAfter.perSec)} req/s before / after (runtime ${perReq(bareBefore.server, bareBefore.requests)}); with a push's log line ${fmtNum(bareLogBefore.perSec)} / ${fmtNum(bareLogAfter.perSec)} req/s; without the INSERT ${fmtNum(bareRpc.perSec)} req/s, with a push's four statements ${fmtNum(barePush.perSec)} req/s`,
        );
        await stopSys();
      }
      if (name === "edge-rooms" && config.deskQueue > 0 && config.desks > 0) {
        log(
          `\n## edge-rooms help desk: ${config.deskQueue} queued customers, ${config.desks} desks ${at()}`,
        );
        sys = await startSystem(name, vars, config.source);
        await waitQuiet(sys);
        results.desk = await deskQueue(
          sys,
          config.deskQueue,
          config.desks,
          { direct: config.direct, leave: config.deskLeave },
          log,
        );
        await stopSys();
      }
      if (name === "edge-rooms" && config.hookRounds > 0) {
        log(
          `\n## edge-rooms publish hook: a room of ${config.hookRoom} with the hook on, and without it ${at()}`,
        );
        // Its own wrangler dev and backend, started and stopped by publishHook().
        results.publishHook = await publishHook(
          vars,
          {
            n: config.hookRoom,
            senders: config.hookSenders,
            window: config.window,
            messages: config.hookMessages,
            rounds: config.hookRounds,
            latencyRounds: config.rounds,
            burstSec: config.burstSec,
            direct: config.direct,
            source: config.source,
          },
          log,
        );
      }
      if (name === "partyserver" && config.hibernation) {
        sys = await startSystem(name, vars, config.source);
        await waitQuiet(sys);
        const room = await openRoom(sys, pool, 100, false, "idle", config.users);
        results.hibernation.partyserver = await hibernationPartyserver(
          sys,
          pool,
          room,
          config.idleSec,
        );
        log(`  ${at()} hibernation: ${results.hibernation.partyserver.evidence}`);
        await closeRoom(sys, pool);
      }
      await stopSys();
      if (name === "edge-rooms" && config.hibernation) {
        log(
          `\n## edge-rooms hibernation (its own server: RATE_PER_SEC=0.01, RATE_BURST=1) ${at()}`,
        );
        sys = await startSystem("edge-rooms", HIBERNATION_VARS, config.source);
        const room = await openRoom(sys, pool, 100, false, "idle", config.users);
        results.hibernation["edge-rooms"] = await hibernationEdgeRooms(
          sys,
          pool,
          room,
          config.idleSec,
        );
        log(`  hibernation: ${results.hibernation["edge-rooms"].evidence}`);
        await closeRoom(sys, pool);
        await stopSys();
      }
    }
  } catch (err) {
    const s = sys as RunningSystem | null;
    if (s !== null) console.error(`\n${s.name} printed:\n${s.output().slice(-4000)}`);
    throw err;
  } finally {
    await stopSys();
    await pool.stop();
  }
  results.seconds = (performance.now() - started) / 1000;
  log(`\n${report(results)}`);
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
}

const rendered = args.report;
(rendered === undefined
  ? main()
  : Promise.resolve().then(() =>
      // Re-renders the tables of a saved --json run, measuring nothing.
      log(report(JSON.parse(readFileSync(rendered, "utf8")) as Results)),
    )
).catch((err: Error) => {
  console.error(`\nbench FAILED: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
