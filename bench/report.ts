/**
 * The tables of `npm run bench`, in Markdown (they read well in a terminal and paste into
 * docs/BENCHMARKS.md): fan-out with ratios against partyserver, push against the trivial route,
 * memory per idle socket, the hibernation proof, and the targets marked met or missed.
 * Rendered from the same `Results` that `--json` saves, so `--report` can print them again.
 */
import type { DeskQueue } from "./desk.ts";
import type { Hibernation } from "./hibernation.ts";
import { publishHookTable, type PublishHookResult } from "./publish-hook.ts";
import type { HttpRate, PushRate } from "./push.ts";
import { fmtBytes, fmtMs, fmtNum, fmtRatio, quantileOf, table } from "./stats.ts";
import type { SystemName } from "./systems.ts";
import type { Latency, Room, Rss, Throughput } from "./workloads.ts";

/** The run's settings as run.ts parsed them (only what the tables print is typed here). */
export interface Config {
  sizes: number[];
  window: number;
  rounds: number;
  deliveries: number;
  burstSec: number;
  pushRoom: number;
  concurrency: number;
  idleSec: number;
  [more: string]: unknown;
}

export type Label = "edge-rooms" | "edge-rooms batch=1" | "partyserver" | "node-ws";

export interface FanoutRow {
  label: Label;
  n: number;
  room: Omit<Room, "name">;
  latency: Latency;
  throughput: Throughput;
}

export interface PushRow {
  mode: "one frame per message" | "batch=1";
  single: PushRate;
  batch: PushRate;
}

export interface Results {
  machine: Record<string, string>;
  config: Config;
  fanout: FanoutRow[];
  rss0: Partial<Record<SystemName, Rss>>;
  push?: { ceilingBefore: HttpRate; ceilingAfter: HttpRate; rooms: PushRow[] };
  desk?: DeskQueue;
  publishHook?: PublishHookResult;
  hibernation: Partial<Record<SystemName, Hibernation>>;
  seconds: number;
}

export function report(r: Results): string {
  const out: string[] = [];
  const ps = (n: number) => r.fanout.find((f) => f.label === "partyserver" && f.n === n);
  if (r.fanout.length > 0) {
    out.push(
      `### Fan-out (one sender, every socket receives every message; window ${r.config.window})\n`,
    );
    out.push(
      table(
        [
          "N",
          "system",
          "via",
          "joins/s",
          "settled s",
          "p50 ms",
          "p99 ms",
          "max ms",
          "burst",
          "deliveries/s (vs partyserver)",
          "server CPU µs/delivery",
          "of which runtime",
          "busiest server thread",
          "busiest client thread",
        ],
        r.fanout.map((f) => {
          const base = ps(f.n);
          const t = f.throughput;
          return [
            fmtNum(f.n),
            f.label,
            f.label === "node-ws" ? "–" : f.room.direct ? "runtime" : "dev proxy",
            fmtNum(f.room.connectPerSec),
            (f.room.settleMs / 1000).toFixed(1),
            fmtMs(f.latency.p50),
            fmtMs(f.latency.p99),
            fmtMs(f.latency.max),
            `${fmtNum(t.messages)} msgs${t.capped ? "*" : ""} in ${t.seconds.toFixed(1)} s`,
            fmtNum(t.perSec) + fmtRatio(t.perSec, base?.throughput.perSec),
            fmtNum((t.server.totalCpuSec / t.deliveries) * 1e6, 1),
            fmtNum(
              (((t.server.cpuSec.runtime ?? 0) + (t.server.cpuSec.node ?? 0)) / t.deliveries) * 1e6,
              1,
            ),
            `${(t.server.busiestThread * 100).toFixed(0)} % ${t.server.busiestRole ?? ""}`,
            `${(t.client.busiestThread * 100).toFixed(0)} %`,
          ];
        }),
      ),
    );
    out.push(
      `\nLatency: ${r.config.rounds} rounds of one message each, every socket's delivery a sample. ` +
        (r.config.ids === true
          ? "The sender puts an `id` on every message (stored with it, acked to the sender), as real clients do. "
          : "The sender sends no `id` (nothing to remember or ack). ") +
        `Burst: the sender keeps ${r.config.window} messages in flight; * = stopped at the ${r.config.burstSec} s cap, before ${fmtNum(r.config.deliveries)} deliveries. ` +
        `Server CPU: all processes of the server (for wrangler dev: the runtime workerd, the dev-proxy workerd, the wrangler Node process, esbuild) over the burst, per delivery; "of which runtime": the workerd that runs the Worker (or the Node peer), what Workers would bill.`,
    );
  }
  if (r.push !== undefined) {
    const p = r.push;
    const ceiling = (p.ceilingBefore.perSec + p.ceilingAfter.perSec) / 2;
    out.push(
      `\n### Push into a room of ${r.config.pushRoom} (concurrency ${r.config.concurrency})\n`,
    );
    out.push(
      table(
        [
          "request",
          "requests/s (vs trivial route)",
          "events/s end to end",
          "deliveries/s",
          "p50 ms",
          "p99 ms",
          "server CPU µs/event",
        ],
        [
          [
            "GET /room/x → 426 (ceiling)",
            `${fmtNum(ceiling)} (${fmtNum(p.ceilingBefore.perSec)} before, ${fmtNum(p.ceilingAfter.perSec)} after)`,
            "",
            "",
            "",
            "",
            "",
          ],
          ...p.rooms.flatMap((row) =>
            (
              [
                [`signed /push, 1 event (${row.mode})`, row.single],
                [`signed /push, 100 events (${row.mode})`, row.batch],
              ] as const
            ).map(([what, x]) => [
              what,
              fmtNum(x.requestsPerSec) + fmtRatio(x.requestsPerSec, ceiling),
              fmtNum(x.eventsPerSec),
              fmtNum(x.deliveriesPerSec),
              fmtMs(x.p50),
              fmtMs(x.p99),
              fmtNum((x.server.totalCpuSec / x.events) * 1e6, 1),
            ]),
          ),
        ],
      ),
    );
  }
  if (r.desk !== undefined) out.push(deskTable(r.desk));
  if (r.publishHook !== undefined) out.push(publishHookTable(r.publishHook));
  if (r.fanout.length > 0) {
    out.push(`\n### Connections and memory (idle sockets, a fresh server per room)\n`);
    const perSocket = (f: FanoutRow, key: keyof Rss) =>
      fmtBytes((f.room.rssIdle[key] - f.room.rssBefore[key]) / f.n);
    out.push(
      table(
        [
          "system",
          "N",
          "via",
          "joins/s",
          "RSS fresh → N idle sockets",
          "per idle socket",
          "of which runtime",
          "of which dev proxy",
        ],
        r.fanout
          .filter((f) => f.label !== "edge-rooms batch=1")
          .map((f) => [
            f.label,
            fmtNum(f.n),
            f.label === "node-ws" ? "–" : f.room.direct ? "runtime" : "dev proxy",
            fmtNum(f.room.connectPerSec),
            `${fmtBytes(f.room.rssBefore.total)} → ${fmtBytes(f.room.rssIdle.total)}`,
            perSocket(f, "total"),
            perSocket(f, "runtime"),
            f.label === "node-ws" ? "–" : perSocket(f, "proxy"),
          ]),
      ),
    );
  }
  const hib = Object.entries(r.hibernation) as [SystemName, Hibernation][];
  if (hib.length > 0) {
    out.push(`\n### Hibernation (idle ${r.config.idleSec} s, sockets kept open)\n`);
    out.push(
      table(
        ["system", "sockets", "evicted", "RSS before idle", "RSS after idle", "evidence"],
        hib.map(([name, h]) => [
          name,
          String(h.sockets),
          h.evicted ? "yes" : "NO",
          fmtBytes(h.rssBeforeIdle.total),
          fmtBytes(h.rssAfterIdle.total),
          h.evidence +
            (h.pongs === undefined
              ? ""
              : `; ${h.pongs}/${h.sockets} pings answered during the idle spell`),
        ]),
      ),
    );
  }
  const met = targets(r);
  if (met.length > 0) {
    out.push(`\n### Targets (issue 4)\n`);
    out.push(table(["target", "measured", "met"], met));
  }
  out.push(`\nTotal ${r.seconds.toFixed(0)} s.`);
  return out.join("\n");
}

/** Customer #1 and customer #(queue + 1) of the same desks, side by side, and their ratio. */
function deskTable(d: DeskQueue): string {
  const q = (xs: number[], p: number) => quantileOf(xs, p);
  const join = (ts: DeskQueue["first"]) => ts.map((t) => t.joinMs);
  const message = (ts: DeskQueue["first"]) => ts.map((t) => t.messageMs);
  const row = (who: string, ahead: number, ts: DeskQueue["first"]) => [
    who,
    fmtNum(ahead),
    fmtMs(q(join(ts), 0.5)),
    fmtMs(q(join(ts), 0.9)),
    fmtMs(q(message(ts), 0.5)),
    fmtMs(q(message(ts), 0.9)),
  ];
  const ratio = (f: (ts: DeskQueue["first"]) => number[], p: number) =>
    `${(q(f(d.next), p) / q(f(d.first), p)).toFixed(2)}×`;
  const fill = d.fillSec.map((s) => s.toFixed(1)).join(", ");
  return [
    `\n### Help desk: one more customer into a queue of ${fmtNum(d.queue)} (${d.first.length} desks, no agent online)\n`,
    table(
      [
        "customer",
        "queued ahead",
        "join p50 ms",
        "join p90 ms",
        "first message p50 ms",
        "first message p90 ms",
      ],
      [
        row("#1", 0, d.first),
        row(`#${fmtNum(d.queue + 1)}`, d.queue, d.next),
        [
          `#${fmtNum(d.queue + 1)} / #1`,
          "",
          ratio(join, 0.5),
          ratio(join, 0.9),
          ratio(message, 0.5),
          ratio(message, 0.9),
        ],
      ],
    ),
    `\nEach desk is a sample: a guest joins (upgrade request to \`welcome\`) and writes its first message (send to \`queued\`, its position checked) as customer #1, ` +
      `${fmtNum(d.queue - 1)} more do the same, ${d.leave === true ? "closing their sockets once acked, so the queue is in storage only" : "their sockets left open"} (${fill} s per desk), then customer #${fmtNum(d.queue + 1)} is timed the same way. ` +
      `${d.direct === true ? "Direct to the runtime's socket" : "Through the dev proxy"}; each desk warmed by a guest who joined and left first, and an uncounted desk before them all.`,
  ].join("\n");
}

function targets(r: Results): string[][] {
  const rows: string[][] = [];
  const yes = (ok: boolean | undefined) => (ok === undefined ? "–" : ok ? "met" : "MISSED");
  for (const n of r.config.sizes) {
    const f = r.fanout.find((x) => x.label === "edge-rooms" && x.n === n);
    const b = r.fanout.find((x) => x.label === "edge-rooms batch=1" && x.n === n);
    const p = r.fanout.find((x) => x.label === "partyserver" && x.n === n);
    if (f === undefined || p === undefined) continue;
    rows.push([
      `N=${fmtNum(n)}: one frame per message ≥ partyserver deliveries/s`,
      `${fmtNum(f.throughput.perSec)} vs ${fmtNum(p.throughput.perSec)}`,
      yes(f.throughput.perSec >= p.throughput.perSec),
    ]);
    rows.push([
      `N=${fmtNum(n)}: one frame per message p99 ≤ partyserver`,
      `${fmtMs(f.latency.p99)} vs ${fmtMs(p.latency.p99)} ms`,
      yes(f.latency.p99 <= p.latency.p99),
    ]);
    if (b !== undefined) {
      rows.push([
        `N=${fmtNum(n)}: batch=1 ≥ 10× partyserver deliveries/s`,
        `${fmtNum(b.throughput.perSec)} = ${(b.throughput.perSec / p.throughput.perSec).toFixed(1)}×`,
        yes(b.throughput.perSec >= 10 * p.throughput.perSec),
      ]);
      rows.push([
        `N=${fmtNum(n)}: batch=1 p50 ≤ one frame per message p50`,
        `${fmtMs(b.latency.p50)} vs ${fmtMs(f.latency.p50)} ms`,
        yes(b.latency.p50 <= f.latency.p50),
      ]);
    }
  }
  if (r.push !== undefined) {
    const ceiling = (r.push.ceilingBefore.perSec + r.push.ceilingAfter.perSec) / 2;
    for (const row of r.push.rooms) {
      rows.push([
        `signed push ≥ 80 % of the trivial route's requests/s (${row.mode})`,
        `${fmtNum(row.single.requestsPerSec)} vs ${fmtNum(ceiling)} = ${((row.single.requestsPerSec / ceiling) * 100).toFixed(0)} %`,
        yes(row.single.requestsPerSec >= 0.8 * ceiling),
      ]);
      rows.push([
        `100-event push batches ≥ 20,000 events/s (${row.mode})`,
        `${fmtNum(row.batch.eventsPerSec)} events/s`,
        yes(row.batch.eventsPerSec >= 20_000),
      ]);
    }
  }
  const h = r.hibernation["edge-rooms"];
  if (h !== undefined)
    rows.push([
      "idle rooms hibernate with sockets open",
      h.evicted ? "evicted" : "not evicted",
      yes(h.evicted),
    ]);
  return rows;
}
