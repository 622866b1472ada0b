/**
 * The tables of `npm run bench`, in Markdown (they read well in a terminal and paste into
 * docs/BENCHMARKS.md): fan-out with ratios against partyserver (the bare objects among them),
 * the reconnect storm, the sharded room and its cost at 100,000 sockets, push against the bare
 * Worker→object call, memory per idle socket, the hibernation proof, and the targets of issue 18
 * marked met or missed. Rendered from the same `Results` that `--json` saves, so `--report` can
 * print them again.
 */
import type { DeskQueue } from "./desk.ts";
import type { Hibernation } from "./hibernation.ts";
import { publishHookTable, type PublishHookResult } from "./publish-hook.ts";
import type { StepRate } from "./bare-http.ts";
import type { Usage } from "./procs.ts";
import type { HttpRate, PushRate } from "./push.ts";
import { fmtBytes, fmtMs, fmtNum, fmtRatio, quantileOf, table } from "./stats.ts";
import type { SystemName } from "./systems.ts";
import type { Latency, Room, Rss, Storm, Throughput } from "./workloads.ts";

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

export type Label =
  | "edge-rooms"
  | "edge-rooms batch=1"
  | "partyserver"
  | "node-ws"
  | "bare-do store-first"
  | "bare-do forward"
  | "bare-do store-first unbatched"
  | "edge-rooms sharded"
  | "edge-rooms sharded batch=1";

export interface FanoutRow {
  label: Label;
  n: number;
  /** The room was the first on a fresh server (its memory is its own). */
  fresh?: boolean;
  room: Omit<Room, "name">;
  latency: Latency;
  throughput: Throughput;
  /** The reconnect storm that ended this room (at N = `storm`). */
  storm?: Storm;
  /** With `--storm-split`: the same, the rejoin waiting until the server was quiet. */
  stormSplit?: Storm;
}

export interface ShardedRow extends FanoutRow {
  shardSockets: number;
  /** Shard objects the server API's `info` counted once every socket had joined. */
  shards: number;
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
  sharded?: ShardedRow[];
  push?: {
    ceilingBefore: HttpRate;
    ceilingAfter: HttpRate;
    rooms: PushRow[];
    /** Single pushes into a room of one socket: the request path with one delivery. */
    one?: PushRate;
    /** The bare Worker→object call with one INSERT, before and after; the bare RPC alone. */
    bare?: {
      rpcSqlBefore: StepRate;
      rpcSqlAfter: StepRate;
      rpc: StepRate;
      rpcPush?: StepRate;
      /** The bare call + INSERT with a push's JSON log line (older runs lack it). */
      rpcSqlLogBefore?: StepRate;
      rpcSqlLogAfter?: StepRate;
      /** A bare push into a room of as many sockets: INSERT, send, the log line. */
      publishLog?: PushRate;
      /** The same into a room of one socket. */
      publishLogOne?: PushRate;
    };
  };
  desk?: DeskQueue;
  publishHook?: PublishHookResult;
  hibernation: Partial<Record<SystemName, Hibernation>>;
  seconds: number;
}

const via = (f: FanoutRow) =>
  f.label === "node-ws" ? "–" : f.room.direct ? "runtime" : "dev proxy";
const runtimeCpu = (t: Throughput) => (t.server.cpuSec.runtime ?? 0) + (t.server.cpuSec.node ?? 0);
/** Runtime CPU per delivery, µs: what Workers would bill (the runtime workerd, or the Node peer). */
const runtimeUs = (t: Throughput) => (runtimeCpu(t) / t.deliveries) * 1e6;
/** Runtime CPU (the runtime workerd, or the Node peer) per socket, ms. */
const perSocketMs = (u: Usage, n: number) =>
  fmtNum((((u.cpuSec.runtime ?? 0) + (u.cpuSec.node ?? 0)) / n) * 1000, 2);
const perSocket = (f: FanoutRow, key: keyof Rss) =>
  (f.room.rssIdle[key] - f.room.rssBefore[key]) / f.n;

const FANOUT_HEAD = [
  "joins/s",
  "settled s",
  "p50 ms",
  "p99 ms",
  "max ms",
  "burst",
  "deliveries/s",
  "server CPU µs/delivery",
  "of which runtime",
  "busiest server thread",
  "busiest client thread",
];

function fanoutCells(f: FanoutRow, base: number | undefined): string[] {
  const t = f.throughput;
  return [
    fmtNum(f.room.connectPerSec),
    (f.room.settleMs / 1000).toFixed(1),
    fmtMs(f.latency.p50),
    fmtMs(f.latency.p99),
    fmtMs(f.latency.max),
    `${fmtNum(t.messages)} msgs${t.capped ? "*" : ""} in ${t.seconds.toFixed(1)} s`,
    fmtNum(t.perSec) + fmtRatio(t.perSec, base),
    fmtNum((t.server.totalCpuSec / t.deliveries) * 1e6, 1),
    fmtNum(runtimeUs(t), 1),
    `${(t.server.busiestThread * 100).toFixed(0)} % ${t.server.busiestRole ?? ""}`,
    `${(t.client.busiestThread * 100).toFixed(0)} %`,
  ];
}

/** The mean of the bare Worker→object call with one INSERT, before and after the pushes. */
const bareRpcSql = (r: Results) =>
  r.push?.bare === undefined
    ? undefined
    : (r.push.bare.rpcSqlBefore.perSec + r.push.bare.rpcSqlAfter.perSec) / 2;

/** The same with a push's JSON log line, which `wrangler dev` also hands to its inspector. */
const bareRpcSqlLog = (r: Results) => {
  const b = r.push?.bare;
  return b?.rpcSqlLogBefore === undefined || b.rpcSqlLogAfter === undefined
    ? undefined
    : (b.rpcSqlLogBefore.perSec + b.rpcSqlLogAfter.perSec) / 2;
};

export function report(r: Results): string {
  const out: string[] = [];
  const row = (label: Label, n: number) => r.fanout.find((f) => f.label === label && f.n === n);
  const ps = (n: number) => row("partyserver", n);
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
          ...FANOUT_HEAD.map((h) => (h === "deliveries/s" ? "deliveries/s (vs partyserver)" : h)),
        ],
        r.fanout.map((f) => [
          fmtNum(f.n),
          f.label,
          via(f),
          ...fanoutCells(f, ps(f.n)?.throughput.perSec),
        ]),
      ),
    );
    out.push(
      `\nLatency: ${r.config.rounds} rounds of one message each, every socket's delivery a sample. ` +
        (r.config.ids === true
          ? "The sender puts an `id` on every message (stored with it, acked to the sender), as real clients do. "
          : "The sender sends no `id` (nothing to remember or ack). ") +
        `Burst: the sender keeps ${r.config.window} messages in flight; * = stopped at the ${r.config.burstSec} s cap, before ${fmtNum(r.config.deliveries)} deliveries. ` +
        `Server CPU: all processes of the server (for wrangler dev: the runtime workerd, the dev-proxy workerd, the wrangler Node process, esbuild) over the burst, per delivery; "of which runtime": the workerd that runs the Worker (or the Node peer), what Workers would bill. ` +
        `bare-do: a Durable Object that sends each turn's texts to every socket as one message, storing each text first (store-first) or not (forward), or stores each and sends it as its own message (store-first unbatched, one frame per message); nothing else.`,
    );
  }
  const storms = r.fanout.filter((f) => f.storm !== undefined);
  if (storms.length > 0) {
    out.push(`\n### Reconnect storm (every socket dropped at once, and back at once)\n`);
    out.push(
      table(
        [
          "N",
          "system",
          "via",
          "rejoined with",
          "all back s",
          "then one message ms",
          "settled s (vs partyserver)",
          "frames replayed",
          "runtime CPU ms per socket",
        ],
        storms.map((f) => {
          const st = f.storm!;
          const base = ps(f.n)?.storm;
          return [
            fmtNum(f.n),
            f.label,
            via(f),
            st.since ? "token + since" : "the same URL",
            (st.rejoinMs / 1000).toFixed(2),
            fmtMs(st.messageMs),
            (st.settleMs / 1000).toFixed(2) + fmtRatio(st.settleMs, base?.settleMs),
            st.since ? fmtNum(st.replayed) : "–",
            perSocketMs(st.server, st.n),
          ];
        }),
      ),
    );
    const split = storms.filter((f) => f.stormSplit !== undefined);
    if (split.length > 0) {
      out.push(
        `\nThe same storm in two steps (\`--storm-split\`): the drop, then the rejoin once the server is quiet:\n`,
      );
      out.push(
        table(
          [
            "N",
            "system",
            "closes: quiet after s",
            "closes: runtime CPU ms per socket",
            "rejoin from quiet s",
            "rejoin: runtime CPU ms per socket",
          ],
          split.map((f) => {
            const st = f.stormSplit!;
            return [
              fmtNum(f.n),
              f.label,
              (st.closes!.ms / 1000).toFixed(2),
              perSocketMs(st.closes!.server, st.n),
              (st.rejoin!.ms / 1000).toFixed(2),
              perSocketMs(st.rejoin!.server, st.n),
            ];
          }),
        ),
      );
      out.push(
        `\n"Quiet after" includes the calm samples (300 ms each: two in a full run, one with \`--quick\`) that tell the server is quiet.`,
      );
    }
    out.push(
      `\nEach room's sockets, after its burst and once the server is quiet, reset their TCP connections at once and reconnect at once (32 handshakes in flight per client thread, as in a join); this project's come back as the same guest (their token) with \`since\` = the last seq each saw. Settled: from the drop until every socket is open again (this project: welcomed) and a message sent then has reached every socket.`,
    );
  }
  if (r.sharded !== undefined && r.sharded.length > 0) out.push(shardedSection(r));
  if (r.push !== undefined) {
    const p = r.push;
    const ceiling = (p.ceilingBefore.perSec + p.ceilingAfter.perSec) / 2;
    const bare = bareRpcSql(r);
    out.push(
      `\n### Push into a room of ${r.config.pushRoom} (concurrency ${r.config.concurrency})\n`,
    );
    const ratio = (v: number, base: number | undefined) =>
      fmtRatio(v, base).replace(/[ ()]/g, "") || "–";
    const runtimeMs = (u: Usage, requests: number) =>
      fmtNum((((u.cpuSec.runtime ?? 0) + (u.cpuSec.node ?? 0)) / requests) * 1000, 2);
    const stepRow = (what: string, perSec: number, server: Usage, requests: number) => [
      what,
      fmtNum(perSec),
      ratio(perSec, bare),
      ratio(perSec, ceiling),
      runtimeMs(server, requests),
      "",
      "",
      "",
      "",
      "",
    ];
    const pushRow = (what: string, x: PushRate) => [
      what,
      fmtNum(x.requestsPerSec),
      ratio(x.requestsPerSec, bare),
      ratio(x.requestsPerSec, ceiling),
      runtimeMs(x.server, x.requests),
      fmtNum(x.eventsPerSec),
      fmtNum(x.deliveriesPerSec),
      fmtMs(x.p50),
      fmtMs(x.p99),
      fmtNum((x.server.totalCpuSec / x.events) * 1e6, 1),
    ];
    const b = p.bare;
    out.push(
      table(
        [
          "request",
          "requests/s",
          "vs bare call + INSERT",
          "vs trivial route",
          "runtime ms/request",
          "events/s end to end",
          "deliveries/s",
          "p50 ms",
          "p99 ms",
          "server CPU µs/event",
        ],
        [
          stepRow(
            `GET /room/x → 426, the trivial route (${fmtNum(p.ceilingBefore.perSec)} before, ${fmtNum(p.ceilingAfter.perSec)} after)`,
            ceiling,
            p.ceilingBefore.server,
            p.ceilingBefore.requests,
          ),
          ...(b === undefined
            ? []
            : [
                stepRow(
                  `bare Worker → object RPC + one INSERT (${fmtNum(b.rpcSqlBefore.perSec)} before, ${fmtNum(b.rpcSqlAfter.perSec)} after)`,
                  bare!,
                  b.rpcSqlBefore.server,
                  b.rpcSqlBefore.requests,
                ),
                stepRow(
                  "bare Worker → object RPC, nothing stored",
                  b.rpc.perSec,
                  b.rpc.server,
                  b.rpc.requests,
                ),
                ...(b.rpcSqlLogBefore === undefined || b.rpcSqlLogAfter === undefined
                  ? []
                  : [
                      stepRow(
                        `bare Worker → object RPC + one INSERT + a push's log line (${fmtNum(b.rpcSqlLogBefore.perSec)} before, ${fmtNum(b.rpcSqlLogAfter.perSec)} after)`,
                        bareRpcSqlLog(r)!,
                        b.rpcSqlLogBefore.server,
                        b.rpcSqlLogBefore.requests,
                      ),
                    ]),
                ...(b.rpcPush === undefined
                  ? []
                  : [
                      stepRow(
                        "bare Worker → object RPC + a push's four statements",
                        b.rpcPush.perSec,
                        b.rpcPush.server,
                        b.rpcPush.requests,
                      ),
                    ]),
              ]),
          ...(b?.publishLog === undefined
            ? []
            : [
                pushRow(
                  `bare push into ${fmtNum(r.config.pushRoom)} sockets: RPC, INSERT, one send to each, the log line`,
                  b.publishLog,
                ),
              ]),
          ...(b?.publishLogOne === undefined
            ? []
            : [pushRow("bare push into 1 socket: the same", b.publishLogOne)]),
          ...p.rooms.flatMap((row) => [
            pushRow(`signed /push, 1 event (${row.mode})`, row.single),
            pushRow(`signed /push, 100 events (${row.mode})`, row.batch),
          ]),
          ...(p.one === undefined
            ? []
            : [pushRow("signed /push, 1 event, into a room of 1 socket (batch=1)", p.one)]),
        ],
      ),
    );
    out.push(
      `\nThe bare call: \`POST /rpc-sql\` of bench/peers/bare-do, a Worker that reads the body and hands it to a Durable Object over RPC, which INSERTs it before it answers (the answer waits for the write to be confirmed); nothing signed, checked or delivered. The bare push: the same Worker hands the pushed body to the object of a room of as many sockets, which makes it an \`event\` frame with the next seq, INSERTs it, sends it to every socket as it is, and answers; then the log line (nothing checked, deduplicated or batched; the harness signs it as it signs a push). With a push's log line: the bare call, then one \`console.log\` of a JSON line shaped like a push's, which \`wrangler dev\` also carries to its own process through the inspector it attaches (a deployed Worker has no inspector attached). Both measured before and after the pushes, as the trivial route is, on their own \`wrangler dev\` beside this project's; the other bare steps once, before the pushes (the push's four statements: look the push id up, INSERT, trim, remember the id). Runtime ms/request: the runtime workerd's CPU per request (the bare call's: before the pushes).`,
    );
  }
  if (r.desk !== undefined) out.push(deskTable(r.desk));
  if (r.publishHook !== undefined) out.push(publishHookTable(r.publishHook));
  const memoryRows = [...r.fanout, ...(r.sharded ?? [])].filter(
    (f) => f.fresh !== false && !f.label.endsWith("batch=1"),
  );
  if (memoryRows.length > 0) {
    out.push(`\n### Connections and memory (idle sockets, a fresh server per room)\n`);
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
        memoryRows.map((f) => [
          f.label,
          fmtNum(f.n),
          via(f),
          fmtNum(f.room.connectPerSec),
          `${fmtBytes(f.room.rssBefore.total)} → ${fmtBytes(f.room.rssIdle.total)}`,
          fmtBytes(perSocket(f, "total")),
          fmtBytes(perSocket(f, "runtime")),
          f.label === "node-ws" ? "–" : fmtBytes(perSocket(f, "proxy")),
        ]),
      ),
    );
    out.push(
      `\nPer idle socket: (RSS once the N sockets joined and the server went quiet − RSS of the fresh server) / N. bare-do store-first: the bare object's room, the first on its fresh server (its other modes' rooms follow on the same server, so their memory is not shown).`,
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
    out.push(`\n### Targets (issue 18)\n`);
    out.push(table(["target", "measured", "met"], met));
  }
  out.push(`\nTotal ${r.seconds.toFixed(0)} s.`);
  return out.join("\n");
}

/** Shards at 100,000 sockets with the default SHARD_SOCKETS. */
const MODEL_SOCKETS = 100_000;
const MODEL_SHARD_SOCKETS = 20_000;

/**
 * The sharded room beside the unsharded room of the largest N of the same mode, and the cost
 * model of docs/sharded-rooms.md for 100,000 sockets with the CPU per delivery measured here.
 */
function shardedSection(r: Results): string {
  const rows = r.sharded!;
  const unsharded = (f: ShardedRow) => {
    const label: Label = f.label.endsWith("batch=1") ? "edge-rooms batch=1" : "edge-rooms";
    const same = r.fanout.filter((x) => x.label === label);
    return same.sort((a, b) => b.n - a.n)[0];
  };
  const out: string[] = [];
  out.push(`\n### Sharded room (SHARDED_ROOMS; one user per socket)\n`);
  const lines: string[][] = [];
  for (const f of rows) {
    const base = unsharded(f);
    if (base !== undefined)
      lines.push([
        fmtNum(base.n),
        base.label,
        "1 (unsharded)",
        via(base),
        ...fanoutCells(base, undefined),
      ]);
    lines.push([
      fmtNum(f.n),
      f.label,
      `${f.shards} × ≤ ${fmtNum(f.shardSockets)}`,
      via(f),
      ...fanoutCells(f, base?.throughput.perSec),
    ]);
  }
  out.push(
    table(
      [
        "N",
        "room",
        "objects holding sockets",
        "via",
        ...FANOUT_HEAD.map((h) => (h === "deliveries/s" ? "deliveries/s (vs unsharded)" : h)),
      ],
      lines,
    ),
  );
  const checked = rows
    .map(
      (f) =>
        `${fmtNum(f.n)} sockets × ${fmtNum(f.latency.rounds + f.throughput.messages)} messages (${f.label})`,
    )
    .join(", ");
  out.push(
    `\nOne order: every socket checked that each message's \`seq\` was the one after the last it saw, and that message i was the i-th it got; all sockets, on every shard and client thread, got message i under the same \`seq\` (${checked}; a single miss fails the run). The shard count is the server API's \`info\` once all had joined.`,
  );
  const model: string[][] = [];
  for (const f of rows) {
    const us = runtimeUs(f.throughput);
    const perMessage = (MODEL_SOCKETS * us) / 1e6;
    const perShard = (MODEL_SHARD_SOCKETS * us) / 1e6;
    model.push([
      f.label.endsWith("batch=1") ? "batch=1" : "one frame per message",
      fmtNum(us, 2),
      `${perMessage.toFixed(2)} s`,
      `${perShard.toFixed(3)} s`,
      fmtNum(1 / perShard, 1),
    ]);
  }
  out.push(
    `\nCost of one message at ${fmtNum(MODEL_SOCKETS)} sockets (SHARD_SOCKETS ${fmtNum(MODEL_SHARD_SOCKETS)}: ${MODEL_SOCKETS / MODEL_SHARD_SOCKETS} shards and the room's own object), from the runtime CPU per delivery measured in the sharded bursts above (the keeper's, the shards' and the Worker's CPU together, over all deliveries):\n`,
  );
  out.push(
    table(
      [
        "clients",
        "runtime µs/delivery (measured)",
        "CPU per message, all shards",
        "CPU per message, per shard",
        "messages/s a shard carries on one core",
      ],
      model,
    ),
  );
  out.push(
    `\nRequests per message: 1/20 for the client's WebSocket message (billed 20:1), 1 \`shardFrames\` call from the sender's shard to the keeper and ${MODEL_SOCKETS / MODEL_SHARD_SOCKETS} \`deliver\` calls from the keeper, one per shard, each shared by every frame of the same turn or batch: at most ~${(1 / 20 + 1 + MODEL_SOCKETS / MODEL_SHARD_SOCKETS).toFixed(2)} for a message alone, fewer under load. Every shard sends to its own sockets on its own thread, so the room carries what one shard carries; on this machine all shards share one runtime thread.`,
  );
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
  const row = (label: Label, n: number) => r.fanout.find((f) => f.label === label && f.n === n);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  // 1. One frame per message ≥ 1.5× partyserver's deliveries/s.
  for (const n of [100, 1000, 5000]) {
    const f = row("edge-rooms", n);
    const p = row("partyserver", n);
    const bareFrames = row("bare-do store-first unbatched", n);
    if (f === undefined || p === undefined) continue;
    rows.push([
      `1. N=${fmtNum(n)}: one frame per message ≥ 1.5× partyserver deliveries/s`,
      `${fmtNum(f.throughput.perSec)} vs ${fmtNum(p.throughput.perSec)} = ${x(f.throughput.perSec, p.throughput.perSec)}` +
        (bareFrames === undefined
          ? ""
          : ` (bare store-first unbatched ${x(bareFrames.throughput.perSec, p.throughput.perSec)})`),
      yes(f.throughput.perSec >= 1.5 * p.throughput.perSec),
    ]);
  }
  // 2. batch=1 ≥ 10× partyserver at 1,000 and 5,000; at 100 ≥ 0.9× the bare store-first object.
  for (const n of [100, 1000, 5000]) {
    const b = row("edge-rooms batch=1", n);
    const p = row("partyserver", n);
    if (b === undefined) continue;
    if (n === 100) {
      const bare = row("bare-do store-first", n);
      const fwd = row("bare-do forward", n);
      if (bare !== undefined)
        rows.push([
          `2. N=100: batch=1 ≥ 0.9× a bare object that stores and forwards batches`,
          `${fmtNum(b.throughput.perSec)} vs ${fmtNum(bare.throughput.perSec)} = ${x(b.throughput.perSec, bare.throughput.perSec)}` +
            (p === undefined
              ? ""
              : ` (partyserver ×: this project ${x(b.throughput.perSec, p.throughput.perSec)}, bare store-first ${x(bare.throughput.perSec, p.throughput.perSec)}` +
                (fwd === undefined
                  ? ""
                  : `, bare forward ${x(fwd.throughput.perSec, p.throughput.perSec)}`) +
                ")"),
          yes(b.throughput.perSec >= 0.9 * bare.throughput.perSec),
        ]);
      continue;
    }
    if (p === undefined) continue;
    rows.push([
      `2. N=${fmtNum(n)}: batch=1 ≥ 10× partyserver deliveries/s`,
      `${fmtNum(b.throughput.perSec)} vs ${fmtNum(p.throughput.perSec)} = ${x(b.throughput.perSec, p.throughput.perSec)}`,
      yes(b.throughput.perSec >= 10 * p.throughput.perSec),
    ]);
  }
  // 3. p99 ≤ partyserver's p99 + the store-before-send cost (bare store-first p99 − bare forward p99).
  for (const n of [100, 1000, 5000]) {
    const f = row("edge-rooms", n);
    const p = row("partyserver", n);
    const s = row("bare-do store-first", n);
    const w = row("bare-do forward", n);
    if (f === undefined || p === undefined || s === undefined || w === undefined) continue;
    // Storing first cannot make a send faster: a negative difference is noise, counted as 0.
    const diff = s.latency.p99 - w.latency.p99;
    const bound = p.latency.p99 + Math.max(0, diff);
    rows.push([
      `3. N=${fmtNum(n)}: one message's p99 ≤ partyserver's + the store-before-send cost`,
      `${fmtMs(f.latency.p99)} vs ${fmtMs(p.latency.p99)} + (${fmtMs(s.latency.p99)} − ${fmtMs(w.latency.p99)}${diff < 0 ? ", < 0: counted as 0" : ""}) = ${fmtMs(bound)} ms`,
      yes(f.latency.p99 <= bound),
    ]);
  }
  // 4. Signed push ≥ 0.85× the bare Worker→object call with one INSERT.
  const bare = bareRpcSql(r);
  if (r.push !== undefined && bare !== undefined) {
    const pushes: [string, PushRate][] = [
      ...r.push.rooms.map((row): [string, PushRate] => [
        `into ${fmtNum(r.config.pushRoom)}, ${row.mode}`,
        row.single,
      ]),
      ...(r.push.one === undefined ? [] : [["into 1 socket", r.push.one] as [string, PushRate]]),
    ];
    const logged = bareRpcSqlLog(r);
    const bareInto = r.push.bare?.publishLog?.requestsPerSec;
    const bareIntoOne = r.push.bare?.publishLogOne?.requestsPerSec;
    for (const [what, p] of pushes) {
      rows.push([
        `4. signed push (${what}) ≥ 0.85× a bare Worker→object call + INSERT`,
        `${fmtNum(p.requestsPerSec)} vs ${fmtNum(bare)} req/s = ${x(p.requestsPerSec, bare)}`,
        yes(p.requestsPerSec >= 0.85 * bare),
      ]);
      // Every push writes an operator's log line, which costs far more under `wrangler dev`
      // (its inspector) than deployed: the same ratio against the bare call that logs one too.
      // A push also sends to each socket: against the bare push into as many, which does too
      // (older runs: the bare call with the log line, into one socket).
      const one = what === "into 1 socket";
      const allows = one ? (bareIntoOne ?? logged) : bareInto;
      if (allows !== undefined)
        rows.push([
          one && bareIntoOne === undefined
            ? `4. (the same, against the bare call + INSERT + a push's log line: what \`wrangler dev\` allows)`
            : `4. (the same, against the bare push into as many sockets, with its log line: what \`wrangler dev\` allows)`,
          `${fmtNum(p.requestsPerSec)} vs ${fmtNum(allows)} req/s = ${x(p.requestsPerSec, allows)}`,
          yes(p.requestsPerSec >= 0.85 * allows),
        ]);
    }
  }
  // 5. Joins: ≥ partyserver at 5,000, ≥ 0.5× at 1,000; the reconnect storm no slower.
  for (const [n, k] of [
    [1000, 0.5],
    [5000, 1],
  ] as const) {
    const f = row("edge-rooms", n);
    const p = row("partyserver", n);
    if (f === undefined || p === undefined) continue;
    rows.push([
      `5. N=${fmtNum(n)}: joins/s ≥ ${k === 1 ? "" : `${k}× `}partyserver's`,
      `${fmtNum(f.room.connectPerSec)} vs ${fmtNum(p.room.connectPerSec)} = ${x(f.room.connectPerSec, p.room.connectPerSec)} (settled in ${(f.room.settleMs / 1000).toFixed(1)} s)`,
      yes(f.room.connectPerSec >= k * p.room.connectPerSec),
    ]);
  }
  const fs = r.fanout.find((f) => f.label === "edge-rooms" && f.storm !== undefined);
  const pStorm = fs === undefined ? undefined : row("partyserver", fs.n)?.storm;
  if (fs?.storm !== undefined && pStorm !== undefined)
    rows.push([
      `5. reconnect storm of ${fmtNum(fs.n)} (with since) settles no slower than partyserver's`,
      `${(fs.storm.settleMs / 1000).toFixed(2)} vs ${(pStorm.settleMs / 1000).toFixed(2)} s`,
      yes(fs.storm.settleMs <= pStorm.settleMs),
    ]);
  // 6. Memory per idle socket (the runtime's: what a deployed object holds) ≤ partyserver's.
  {
    const f = row("edge-rooms", 5000);
    const p = row("partyserver", 5000);
    if (f !== undefined && p !== undefined)
      rows.push([
        "6. N=5,000: runtime memory per idle socket ≤ partyserver's",
        `${fmtBytes(perSocket(f, "runtime"))} vs ${fmtBytes(perSocket(p, "runtime"))}`,
        yes(perSocket(f, "runtime") <= perSocket(p, "runtime")),
      ]);
  }
  // 7. The sharded room: one order (checked by every client, or the run fails), ≥ 0.7× unsharded.
  for (const s of r.sharded ?? []) {
    const label: Label = s.label.endsWith("batch=1") ? "edge-rooms batch=1" : "edge-rooms";
    const base = row(label, 5000);
    rows.push([
      `7. sharded room of ${fmtNum(s.n)} (${s.shards} shards${s.label.endsWith("batch=1") ? ", batch=1" : ""}): every socket every message, one order`,
      `${fmtNum(s.n)} sockets × ${fmtNum(s.latency.rounds + s.throughput.messages)} messages checked`,
      yes(
        s.latency.samples === s.latency.rounds * s.n &&
          s.throughput.deliveries === s.throughput.messages * s.n,
      ),
    ]);
    if (base !== undefined)
      rows.push([
        `7. sharded room of ${fmtNum(s.n)}${s.label.endsWith("batch=1") ? " (batch=1)" : ""} ≥ 0.7× the deliveries/s of an unsharded room of 5,000`,
        `${fmtNum(s.throughput.perSec)} vs ${fmtNum(base.throughput.perSec)} = ${x(s.throughput.perSec, base.throughput.perSec)}`,
        yes(s.throughput.perSec >= 0.7 * base.throughput.perSec),
      ]);
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
