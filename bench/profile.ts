/**
 * A CPU profile of this project's runtime during a fan-out burst: V8's sampling profiler over
 * wrangler's inspector (the Chrome DevTools protocol), self time summed per function. It shows
 * what JavaScript costs — and, by the share of "(idle)" and "(program)" while the runtime thread
 * is busy, how much of the cost is native (the runtime's send path) rather than JavaScript.
 *
 *   node bench/profile.ts [--n 100] [--batch] [--messages 2000] [--out burst.cpuprofile]
 *   node bench/profile.ts --push 1000 [--per-request 1] [--n 100] [--batch]   (signed /push instead)
 *   node bench/profile.ts --storm [--split] [--n 5000] [--users 1000]   (a reconnect storm instead;
 *     --split: the drop, then the rejoin once the server is quiet, in one profile)
 *   node bench/profile.ts --drop [--n 5000] [--users 1000]   (only its first half: every socket
 *     dropped at once, profiled for --seconds, as the profiler keeps the runtime from ever
 *     looking quiet)
 *   node bench/profile.ts --joins [--n 5000] [--users 1000]   (the room's joins themselves)
 *   node bench/profile.ts --rounds 30 [--n 5000]   (single messages, one at a time, instead)
 *   node bench/profile.ts --sharded 5000 [--n 9800]   (any of the above in a sharded room of
 *     SHARD_SOCKETS 5000, one user per socket, as run.ts's sharded room)
 *   --var NAME=VALUE (repeatable): one more var for this project's Worker, e.g. PRESENCE_MAX=50
 *   node bench/profile.ts --joins|--storm --system partyserver [--n 5000]   (partyserver's room's)
 *   node bench/profile.ts --joins|--storm --system bare-do [--n 5000]   (the bare greeting room's
 *     instead: each socket sent one welcome-sized frame as it joins, nothing else; --bare-mode
 *     presence-turn: the bare presence room's, which also does the token and the presence)
 *   node bench/profile.ts --heap [--n 5000] [--users 1000] [--system partyserver|bare-do]
 *     (no profile: the runtime's memory per idle socket, and how much of it is V8's heap before
 *     and after a full garbage collection, asked over the same inspector)
 *
 * Rooms above 4,000 sockets connect to the runtime's own socket (wrangler's dev proxy cannot
 * hold them; see run.ts).
 * The .cpuprofile opens in Chrome DevTools (Performance) or VS Code.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { ClientPool } from "./clients.ts";
import { generateSecret } from "../src/protocol/webhook.ts";
import { push } from "./push.ts";
import {
  startBareDo,
  startEdgeRooms,
  startSystem,
  type RunningSystem,
  type SystemName,
} from "./systems.ts";
import {
  dropRoomAndStop,
  latencyRounds,
  openRoom,
  reconnectStorm,
  rssOf,
  sleep,
  throughput,
  waitQuiet,
} from "./workloads.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "100" },
    batch: { type: "boolean", default: false },
    messages: { type: "string", default: "2000" },
    push: { type: "string" },
    "per-request": { type: "string", default: "1" },
    storm: { type: "boolean", default: false },
    split: { type: "boolean", default: false },
    drop: { type: "boolean", default: false },
    joins: { type: "boolean", default: false },
    seconds: { type: "string", default: "15" },
    rounds: { type: "string" },
    heap: { type: "boolean", default: false },
    sharded: { type: "string" },
    system: { type: "string", default: "edge-rooms" },
    "bare-mode": { type: "string", default: "greet-turn" },
    users: { type: "string" },
    out: { type: "string" },
    var: { type: "string", multiple: true },
  },
});

/** The most one sample of the CPU profile is charged (25 sampling intervals); see main(). */
const MAX_SAMPLE_US = 5000;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** wrangler's inspector proxy: the `--inspector-port` the harness gave `wrangler dev`. */
async function inspectorUrl(sys: RunningSystem): Promise<string> {
  for (const pid of sys.pids()) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const at = argv.indexOf("--inspector-port");
    if (at < 0) continue;
    const targets = (await (await fetch(`http://127.0.0.1:${argv[at + 1]}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    if (targets[0] !== undefined) return targets[0].webSocketDebuggerUrl;
  }
  throw new Error("no inspector found for wrangler dev");
}

function devtools(url: string): Promise<(method: string, params?: object) => Promise<unknown>> {
  const ws = new WebSocket(url);
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    if (m.id !== undefined) pending.get(m.id)?.(m.result);
  });
  return new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () =>
      resolve(
        (method, params = {}) =>
          new Promise((done) => {
            pending.set(++id, done);
            ws.send(JSON.stringify({ id, method, params }));
          }),
      ),
    );
  });
}

interface HeapUsage {
  usedSize: number;
  totalSize: number;
}

/**
 * Memory per idle socket, split: the runtime's RSS per socket once N sockets joined and the
 * server went quiet, V8's heap then (used and allocated), and both again after a full garbage
 * collection. What a GC cannot give back, and what is not heap, is the sockets' native memory.
 */
async function heap(): Promise<void> {
  const n = Number(args.n);
  const name = args.system as SystemName;
  const sys = await startSystem(
    name,
    name === "edge-rooms"
      ? { RATE_PER_SEC: "1000000", RATE_BURST: "1000000" }
      : name === "bare-do"
        ? { MODE: "batch-turn" }
        : {},
  );
  const pool = new ClientPool(2);
  try {
    await waitQuiet(sys);
    const call = await devtools(await inspectorUrl(sys));
    const usage = async () => (await call("Runtime.getHeapUsage")) as HeapUsage;
    const h0 = await usage();
    const users = args.users === undefined ? n : Number(args.users);
    const room = await openRoom(sys, pool, n, false, "heap", users, n > 4000);
    const h1 = await usage();
    // At 5,000 sockets the inspector never answered this here; the run then reports no GC.
    const collected = await Promise.race([
      call("HeapProfiler.collectGarbage").then(() => true),
      sleep(20_000).then(() => false),
    ]);
    await sleep(2000);
    const h2 = collected ? await usage() : h1;
    const r2 = rssOf(sys);
    const kib = (bytes: number) => `${(bytes / n / 1024).toFixed(1)} KiB`;
    const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
    console.log(
      `${name}, ${n} idle sockets (${room.users} users, ${room.connectPerSec.toFixed(0)} joins/s): runtime RSS per socket ${kib(room.rssIdle.runtime - room.rssBefore.runtime)}, ` +
        (collected
          ? `after a full GC ${kib(r2.runtime - room.rssBefore.runtime)}; `
          : "(the inspector did not answer a full GC within 20 s); ") +
        `V8 heap used ${mib(h0.usedSize)} fresh → ${mib(h1.usedSize)} idle → ${mib(h2.usedSize)} after GC ` +
        `(allocated ${mib(h0.totalSize)} → ${mib(h1.totalSize)} → ${mib(h2.totalSize)}), live heap per socket ${kib(h2.usedSize - h0.usedSize)}`,
    );
  } finally {
    await dropRoomAndStop(sys, pool);
    await pool.stop();
  }
}

async function main(): Promise<void> {
  if (args.heap) return heap();
  const n = Number(args.n);
  const secret = generateSecret();
  const sharded = args.sharded !== undefined;
  // --system bare-do: its greeting room (bare-do's `greet-turn`, or --bare-mode), for the joins
  // and the storm.
  const bare = args.system === "bare-do";
  const sys = bare
    ? await startBareDo()
    : args.system === "partyserver"
      ? await startSystem("partyserver", {})
      : await startEdgeRooms({
          RATE_PER_SEC: "1000000",
          RATE_BURST: "1000000",
          PUSH_SECRET: secret,
          ...(sharded ? { SHARDED_ROOMS: "bench-*-sharded-*", SHARD_SOCKETS: args.sharded! } : {}),
          ...Object.fromEntries((args.var ?? []).map((kv) => kv.split(/=(.*)/s).slice(0, 2))),
        });
  const pool = new ClientPool(2);
  try {
    const call = await devtools(await inspectorUrl(sys));
    const users = args.users === undefined || sharded ? n : Number(args.users);
    await call("Profiler.enable");
    await call("Profiler.setSamplingInterval", { interval: 200 });
    if (args.joins) await call("Profiler.start");
    // The profiler keeps the runtime from ever looking quiet: a profile of the joins ends as
    // soon as every socket is in.
    let joinsProfile: unknown;
    const joined = async () => {
      if (args.joins) joinsProfile = await call("Profiler.stop");
    };
    const label = bare ? `bare~${args["bare-mode"]}~` : sharded ? "sharded" : "profile";
    const room = await openRoom(
      sys,
      pool,
      n,
      args.batch,
      label,
      users,
      n > 4000,
      joined,
      bare ? "welcome" : sys.readyOn,
    );
    if (!args.storm && !args.drop && !args.joins) await call("Profiler.start");
    let headline: string;
    if (args.joins) {
      headline = `${n} joins: ${Math.round(room.connectPerSec)} joins/s`;
    } else if (args.rounds !== undefined) {
      const l = await latencyRounds(pool, n, Number(args.rounds));
      headline = `${args.rounds} single messages: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, median round's first / last delivery ${l.firstPerRound.median.toFixed(1)} / ${l.lastPerRound.median.toFixed(1)} ms`;
    } else if (args.storm) {
      await waitQuiet(sys);
      await call("Profiler.start");
      const st = await reconnectStorm(sys, pool, room, args.split);
      headline = `reconnect storm of ${n}: back in ${(st.rejoinMs / 1000).toFixed(2)} s, settled in ${(st.settleMs / 1000).toFixed(2)} s, ${((st.received?.frames ?? 0) / n).toFixed(1)} frames in ${((st.received?.messages ?? 0) / n).toFixed(1)} messages per socket`;
    } else if (args.drop) {
      await waitQuiet(sys);
      await call("Profiler.start");
      await pool.all(() => ({ cmd: "closeAll", drop: true }));
      await sleep(Number(args.seconds) * 1000);
      headline = `${n} sockets dropped at once, the first ${args.seconds} s`;
    } else if (args.push !== undefined) {
      const perRequest = Number(args["per-request"]);
      const p = await push(sys, pool, room, secret, Number(args.push), perRequest, 16);
      headline = `push of ${perRequest}: ${Math.round(p.requestsPerSec)} requests/s, ${Math.round(p.eventsPerSec)} events/s`;
    } else {
      const tp = await throughput(sys, pool, n, Number(args.messages), 100, 30);
      headline = `${Math.round(tp.perSec)} deliveries/s, runtime thread ${(tp.server.busiestThread * 100).toFixed(0)} % busy`;
    }
    const { profile } = (joinsProfile ?? (await call("Profiler.stop"))) as { profile: CpuProfile };
    if (args.out !== undefined) writeFileSync(args.out, JSON.stringify(profile));
    // The sampler runs every 200 µs but, with the clients on the same two cores, sometimes not
    // for a second or more; the sample after such a gap would be charged the whole gap (one
    // `ctx.storage.kv.delete` once showed as 1.3 s that way). Each sample counts at most
    // MAX_SAMPLE_US; what is left out is printed.
    const self = new Map<number, number>();
    let gapsUs = 0;
    profile.samples.forEach((node, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      gapsUs += Math.max(0, us - MAX_SAMPLE_US);
      self.set(node, (self.get(node) ?? 0) + Math.min(us, MAX_SAMPLE_US));
    });
    const byFunction = new Map<string, number>();
    let total = 0;
    for (const node of profile.nodes) {
      const us = self.get(node.id) ?? 0;
      total += us;
      const f = node.callFrame;
      const key = `${f.functionName || "(anonymous)"}${f.url ? ` ${f.url.split("/").pop()}:${f.lineNumber + 1}` : ""}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    }
    console.log(
      `N=${n}${args.batch ? " batch=1" : ""}: ${headline}; ${(total / 1000).toFixed(0)} ms sampled (${(gapsUs / 1000).toFixed(0)} ms more in sampling gaps left out), self time:`,
    );
    for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
      console.log(`${((us / total) * 100).toFixed(1).padStart(6)} %  ${name}`);
    }
  } finally {
    await dropRoomAndStop(sys, pool);
    await pool.stop();
  }
}

main().catch((err: Error) => {
  console.error(`\nprofile FAILED: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
