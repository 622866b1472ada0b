/**
 * Two versions of this project against each other, on the joins and the reconnect storm of one
 * big room: is a change to the join path faster, or only a different draw of the noise?
 *
 *   node bench/ab.ts --base DIR [--head DIR] [--rounds 4] [--n 5000] [--users 1000] [--batch] [--burst]
 *                    [--head-var NAME=VALUE] [--base-var NAME=VALUE]   (repeatable: vars of one side)
 *
 * DIR is another checkout of the project (e.g. `git worktree add /tmp/base HEAD~1`); "head" is
 * this one unless --head names another (two copies of one version measure the noise). With
 * --head-var, one checkout can be measured against itself with a setting changed. Each round starts a fresh server for each version in turn (the first version of a
 * round flips every round, so neither always runs on a warmer machine), opens a room of N
 * sockets, waits for quiet, and drops and reconnects every socket at once, as `run.ts` does
 * (with --burst, after the latency rounds and the burst `run.ts` runs in the room first).
 * A server's later rooms join faster than its first, so every measurement has a server of its
 * own. Printed: each round's joins/s, storm settle time and runtime CPU per socket, then the
 * median of the per-round ratios (head over base), the figure to trust on this noisy machine.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ClientPool } from "./clients.ts";
import { ROOT, startEdgeRooms } from "./systems.ts";
import { median } from "./targets.ts";
import {
  dropRoomAndStop,
  latencyRounds,
  openRoom,
  reconnectStorm,
  throughput,
  waitQuiet,
} from "./workloads.ts";

const { values: args } = parseArgs({
  options: {
    base: { type: "string" },
    head: { type: "string" },
    rounds: { type: "string", default: "4" },
    n: { type: "string", default: "5000" },
    users: { type: "string", default: "1000" },
    batch: { type: "boolean", default: false },
    burst: { type: "boolean", default: false },
    "head-var": { type: "string", multiple: true },
    "base-var": { type: "string", multiple: true },
  },
});

interface Measured {
  joinsPerSec: number;
  settleS: number;
  cpuMsPerSocket: number;
  /** Frames each socket received in the storm: the welcome, presence, the settling message. */
  framesPerSocket: number;
}

const varsOf = (list: string[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));

async function measure(
  source: string,
  vars: Record<string, string>,
  round: number,
  n: number,
  users: number,
) {
  const sys = await startEdgeRooms(
    { RATE_PER_SEC: "1000000", RATE_BURST: "1000000", ...vars },
    source,
  );
  const pool = new ClientPool(2);
  try {
    // Rooms above 4,000 sockets connect to the runtime's own socket, as in run.ts.
    const room = await openRoom(sys, pool, n, args.batch, `ab${round}`, users, n > 4000);
    if (args.burst) {
      await latencyRounds(pool, n, 30);
      await throughput(sys, pool, n, Math.max(200, Math.ceil(500_000 / n)), 100, 45);
    }
    await waitQuiet(sys);
    const storm = await reconnectStorm(sys, pool, room);
    return {
      joinsPerSec: room.connectPerSec,
      settleS: storm.settleMs / 1000,
      cpuMsPerSocket: ((storm.server.cpuSec.runtime ?? 0) * 1000) / n,
      framesPerSocket: (storm.received?.frames ?? 0) / n,
    } satisfies Measured;
  } finally {
    await dropRoomAndStop(sys, pool);
    await pool.stop();
  }
}

async function main(): Promise<void> {
  if (args.base === undefined)
    throw new Error("--base DIR is required: the checkout to measure this one against");
  const sources = { head: resolve(args.head ?? ROOT), base: resolve(args.base) };
  const vars = { head: varsOf(args["head-var"]), base: varsOf(args["base-var"]) };
  for (const [which, dir] of Object.entries(sources)) {
    if (!existsSync(resolve(dir, "src")))
      throw new Error(`--${which} ${dir}: not a checkout of this project (no src/ there)`);
  }
  const n = Number(args.n);
  const users = Number(args.users);
  const rounds = Number(args.rounds);
  const got: Record<"head" | "base", Measured[]> = { head: [], base: [] };
  for (let r = 0; r < rounds; r++) {
    const order: ("head" | "base")[] = r % 2 === 0 ? ["base", "head"] : ["head", "base"];
    for (const which of order) {
      const m = await measure(sources[which], vars[which], r, n, users);
      got[which].push(m);
      console.log(
        `round ${r + 1} ${which}: ${m.joinsPerSec.toFixed(0)} joins/s, storm settled in ${m.settleS.toFixed(2)} s, ${m.cpuMsPerSocket.toFixed(2)} ms runtime CPU per socket, ${m.framesPerSocket.toFixed(1)} frames per socket`,
      );
    }
  }
  const ratio = (k: Exclude<keyof Measured, "framesPerSocket">) =>
    median(got.head.map((h, i) => h[k] / got.base[i]![k])).toFixed(3);
  console.log(
    `head over base, median of ${rounds} paired ratios: joins/s ${ratio("joinsPerSec")}×, storm settle ${ratio("settleS")}×, storm CPU per socket ${ratio("cpuMsPerSocket")}×`,
  );
}

await main();
