/**
 * Where the time of a one-frame-per-message broadcast goes under `wrangler dev`: the bare
 * Durable Object of bench/peers/bare-do in each of its modes (forward only; a SQLite write per
 * message before or after the sends; one write-then-send flush per event-loop turn), driven by
 * the same clients and workloads as `npm run bench`. Run it beside a full bench to see which
 * change of this project's send path moves the numbers.
 *
 *   node bench/variants.ts [--sizes 100,1000] [--modes forward,sql,send-first,sql-send-turn,turn,forward-turn]
 *                          [--window 100] [--deliveries 300000] [--burst-sec 45] [--workers 2]
 *   node bench/variants.ts --http [--requests 1500] [--concurrency 16]
 *
 * `--http` measures instead what an HTTP request into a Durable Object costs under `wrangler dev`
 * before any fan-out, one step at a time (see bench/peers/bare-do/index.ts), against the trivial
 * route, the same ceiling `npm run bench` compares signed pushes with.
 */
import { parseArgs } from "node:util";
import { ClientPool } from "./clients.ts";
import { HTTP_BODY_BYTES, HTTP_STEPS, httpStep } from "./bare-http.ts";
import { fmtMs, fmtNum, table } from "./stats.ts";
import { startBareDo } from "./systems.ts";
import { closeRoom, latencyRounds, openRoom, throughput } from "./workloads.ts";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "100,1000" },
    modes: { type: "string", default: "forward,sql,send-first,sql-send-turn,turn,forward-turn" },
    window: { type: "string", default: "100" },
    deliveries: { type: "string", default: "300000" },
    "burst-sec": { type: "string", default: "45" },
    workers: { type: "string", default: "2" },
    rounds: { type: "string", default: "20" },
    http: { type: "boolean", default: false },
    requests: { type: "string", default: "1500" },
    concurrency: { type: "string", default: "16" },
  },
});
const sizes = args.sizes.split(",").map(Number);
const window = Number(args.window);

/** The HTTP steps of bench/peers/bare-do (bare-http.ts), each step twice. */
async function http(): Promise<void> {
  const sys = await startBareDo({ MODE: "forward" });
  const count = Number(args.requests);
  const rows: string[][] = [];
  try {
    for (const round of [1, 2]) {
      for (const step of Object.values(HTTP_STEPS)) {
        const r = await httpStep(sys, step, count, Number(args.concurrency));
        const ms = (role: "runtime" | "proxy") =>
          fmtNum(((r.server.cpuSec[role] ?? 0) / count) * 1000, 2);
        const row = [
          `${step.label}${round === 2 ? " (again)" : ""}`,
          fmtNum(r.perSec),
          ms("runtime"),
          ms("proxy"),
        ];
        console.log(row.join("  "));
        rows.push(row);
      }
    }
  } finally {
    await sys.stop();
  }
  console.log(
    `\n${table(["step", "requests/s", "runtime ms/request", "dev proxy ms/request"], rows)}\n\n${count} requests per step, ${args.concurrency} in flight, body ${HTTP_BODY_BYTES} bytes.`,
  );
}

async function main(): Promise<void> {
  if (args.http) return http();
  const pool = new ClientPool(Number(args.workers));
  const rows: string[][] = [];
  try {
    for (const mode of args.modes.split(",")) {
      const sys = await startBareDo({ MODE: mode });
      try {
        for (const n of sizes) {
          await openRoom(sys, pool, n, false, `bare-${mode}`);
          const latency = await latencyRounds(pool, n, Number(args.rounds));
          const messages = Math.max(2 * window, Math.ceil(Number(args.deliveries) / n));
          const tp = await throughput(sys, pool, n, messages, window, Number(args["burst-sec"]));
          const cpu = (role: "runtime" | "proxy") =>
            ((tp.server.cpuSec[role] ?? 0) / tp.deliveries) * 1e6;
          const row = [
            mode,
            fmtNum(n),
            fmtMs(latency.p50),
            fmtMs(latency.p99),
            `${fmtNum(tp.messages)}${tp.capped ? "*" : ""} in ${tp.seconds.toFixed(1)} s`,
            fmtNum(tp.perSec),
            fmtNum(cpu("runtime"), 1),
            fmtNum(cpu("proxy"), 1),
          ];
          console.log(
            `${row.join("  ")}  (per round: first ${fmtMs(latency.firstPerRound.median)} / ${fmtMs(latency.firstPerRound.worst)}, last ${fmtMs(latency.lastPerRound.median)} / ${fmtMs(latency.lastPerRound.worst)}; stalled [${latency.stalledRounds.join(",")}])`,
          );
          rows.push(row);
          await closeRoom(sys, pool);
        }
      } finally {
        await sys.stop();
      }
    }
  } finally {
    await pool.stop();
  }
  console.log(
    `\n${table(
      [
        "mode",
        "N",
        "p50 ms",
        "p99 ms",
        "burst",
        "deliveries/s",
        "runtime µs/delivery",
        "dev proxy µs/delivery",
      ],
      rows,
    )}\n\nBurst: ${window} messages in flight; * = stopped at the ${args["burst-sec"]} s cap.`,
  );
}

main().catch((err: Error) => {
  console.error(`\nvariants FAILED: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
