/**
 * The tables of `npm run bench`, in Markdown (they read well in a terminal and paste into
 * docs/BENCHMARKS.md): fan-out with ratios against partyserver (the bare objects among them),
 * the reconnect storm, the sharded room and its cost at 100,000 sockets, push against the bare
 * Worker→object call, memory per idle socket, the hibernation proof, and the targets of issue 18
 * marked met or missed (bench/targets.ts). Rendered from the same `Results` that `--json` saves, so `--report` can
 * print them again.
 */
import type { DeskQueue } from "./desk.ts";
import type { Hibernation } from "./hibernation.ts";
import { publishHookTable, type PublishHookResult } from "./publish-hook.ts";
import type { StepRate } from "./bare-http.ts";
import type { Probes } from "./probe.ts";
import type { Usage } from "./procs.ts";
import type { HttpRate, PushRate } from "./push.ts";
import { fmtBytes, fmtMs, fmtNum, fmtRatio, quantileOf, table } from "./stats.ts";
import type { SystemName } from "./systems.ts";
import { bareRpcSql, bareRpcSqlLog, median, perSocket, repOf, targets } from "./targets.ts";
import type { Latency, Room, Rss, Storm, Throughput } from "./workloads.ts";

/** The run's settings as run.ts parsed them (only what the tables print is typed here). */
export interface Config {
  sizes: number[];
  window: number;
  rounds: number;
  /** Latency rounds continue until a room gave this many samples (older runs: absent). */
  latencySamples?: number;
  deliveries: number;
  burstSec: number;
  pushRoom: number;
  concurrency: number;
  idleSec: number;
  /** Times each fan-out room and sharded room was measured (older runs: once). */
  repeats?: number;
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
  | "bare-do greet"
  | "edge-rooms sharded"
  | "edge-rooms sharded batch=1";

export interface FanoutRow {
  label: Label;
  n: number;
  /** The room was the first on a fresh server (its memory is its own). */
  fresh?: boolean;
  /** The repeat it was measured in, from 0 (`--repeats`; older runs: absent, one repeat). */
  rep?: number;
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

/**
 * This project's push and the bare push into as many sockets, measured in rounds that take
 * turns (run.ts `pairedPushes`): target 4 against what `wrangler dev` allows.
 */
export interface PushPairs {
  mode: "one frame per message" | "batch=1" | "one socket";
  /** Sockets in each room. */
  n: number;
  rounds: { mine: PushRate; bare: PushRate }[];
}

/**
 * Joins and a storm at the storm's N, in rounds that take turns (run.ts `joinRounds`): each round
 * this project's room, partyserver's and the bare presence room, each alone on a fresh server.
 */
/** One system's room in a round of joins: its joins and its storm. */
export interface JoinSide {
  label: "edge-rooms" | "partyserver" | "bare-do presence";
  room: Omit<Room, "name">;
  storm: Storm;
  /** The machine's speed just before the joins and just after the storm (bench/probe.ts). */
  probes?: Probes;
}

export interface JoinRounds {
  n: number;
  /** Each round's rooms, in the order they ran. */
  rounds: JoinSide[][];
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
    /** The paired rounds against the bare push (older runs lack them). */
    pairs?: PushPairs[];
  };
  /** Joins and storms in rounds that take turns (older runs lack them). */
  joinRounds?: JoinRounds;
  desk?: DeskQueue;
  publishHook?: PublishHookResult;
  hibernation: Partial<Record<SystemName, Hibernation>>;
  seconds: number;
}

const via = (f: FanoutRow) =>
  f.label === "node-ws" ? "–" : f.room.direct ? "runtime" : "dev proxy";
/** Runtime CPU, s: what Workers would bill (the runtime workerd, or the Node peer). */
const runtimeSec = (u: Usage) => (u.cpuSec.runtime ?? 0) + (u.cpuSec.node ?? 0);
const runtimeCpu = (t: Throughput) => runtimeSec(t.server);
/** Runtime CPU per delivery, µs. */
const runtimeUs = (t: Throughput) => (runtimeCpu(t) / t.deliveries) * 1e6;
/** Runtime CPU per one of `n` (sockets, requests), ms. */
const runtimeMsPer = (u: Usage, n: number) => (runtimeSec(u) / n) * 1000;
/** The same, formatted: per socket of a storm, per request of a push. */
const runtimeMsText = (u: Usage, n: number) => fmtNum(runtimeMsPer(u, n), 2);

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

export function report(r: Results): string {
  const out: string[] = [];
  // With --repeats, each row's ratio is against partyserver's room of the same N and repeat.
  const ps = (f: FanoutRow) =>
    r.fanout.find((p) => p.label === "partyserver" && p.n === f.n && repOf(p) === repOf(f));
  const multi = [...r.fanout, ...(r.sharded ?? [])].some((f) => repOf(f) > 0);
  const repHead = multi ? ["repeat"] : [];
  const repCell = (f: FanoutRow) => (multi ? [String(repOf(f) + 1)] : []);
  // Grouped by N, then system (in the order they first ran), then repeat.
  const labels = [...new Set(r.fanout.map((f) => f.label))];
  const fanout = [...r.fanout].sort(
    (a, b) => a.n - b.n || labels.indexOf(a.label) - labels.indexOf(b.label) || repOf(a) - repOf(b),
  );
  if (r.fanout.length > 0) {
    out.push(
      `### Fan-out (one sender, every socket receives every message; window ${r.config.window})\n`,
    );
    out.push(
      table(
        [
          "N",
          "system",
          ...repHead,
          "via",
          ...FANOUT_HEAD.map((h) => (h === "deliveries/s" ? "deliveries/s (vs partyserver)" : h)),
        ],
        fanout.map((f) => [
          fmtNum(f.n),
          f.label,
          ...repCell(f),
          via(f),
          ...fanoutCells(f, ps(f)?.throughput.perSec),
        ]),
      ),
    );
    out.push(
      `\nLatency: ${r.config.latencySamples === undefined || r.config.latencySamples === 0 ? `${r.config.rounds} rounds` : `at least ${r.config.rounds} rounds, and as many as give ${fmtNum(r.config.latencySamples)} samples (${[...new Set(fanout.map((f) => `${fmtNum(f.latency.rounds)} at N = ${fmtNum(f.n)}`))].join(", ")})`} of one message each, every socket's delivery a sample. ` +
        (r.config.ids === true
          ? "The sender puts an `id` on every message (stored with it, acked to the sender), as real clients do. "
          : "The sender sends no `id` (nothing to remember or ack). ") +
        `Burst: the sender keeps ${r.config.window} messages in flight; * = stopped at the ${r.config.burstSec} s cap, before ${fmtNum(r.config.deliveries)} deliveries. ` +
        `Server CPU: all processes of the server (for wrangler dev: the runtime workerd, the dev-proxy workerd, the wrangler Node process, esbuild) over the burst, per delivery; "of which runtime": the workerd that runs the Worker (or the Node peer), what Workers would bill. ` +
        `bare-do: a Durable Object that sends each turn's texts to every socket as one message, storing each text first (store-first) or not (forward), or stores each and sends it as its own message (store-first unbatched, one frame per message); nothing else. bare-do greet (only at the storm's N): store-first unbatched, and each socket is sent one frame shaped like this project's welcome as it joins, its join counted once that frame arrives (partyserver's rooms send nothing at join).`,
    );
  }
  const storms = fanout.filter((f) => f.storm !== undefined);
  if (storms.length > 0) {
    out.push(`\n### Reconnect storm (every socket dropped at once, and back at once)\n`);
    out.push(
      table(
        [
          "N",
          "system",
          ...repHead,
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
          const base = ps(f)?.storm;
          return [
            fmtNum(f.n),
            f.label,
            ...repCell(f),
            via(f),
            st.since ? "token + since" : "the same URL",
            (st.rejoinMs / 1000).toFixed(2),
            fmtMs(st.messageMs),
            (st.settleMs / 1000).toFixed(2) + fmtRatio(st.settleMs, base?.settleMs),
            st.since ? fmtNum(st.replayed) : "–",
            runtimeMsText(st.server, st.n),
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
            ...repHead,
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
              ...repCell(f),
              (st.closes!.ms / 1000).toFixed(2),
              runtimeMsText(st.closes!.server, st.n),
              (st.rejoin!.ms / 1000).toFixed(2),
              runtimeMsText(st.rejoin!.server, st.n),
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
    const stepRow = (what: string, perSec: number, server: Usage, requests: number) => [
      what,
      fmtNum(perSec),
      ratio(perSec, bare),
      ratio(perSec, ceiling),
      runtimeMsText(server, requests),
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
      runtimeMsText(x.server, x.requests),
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
  if (r.push?.pairs !== undefined && r.push.pairs.length > 0)
    out.push(pushPairsTable(r.push.pairs));
  if (r.joinRounds !== undefined && r.joinRounds.rounds.length > 0)
    out.push(joinRoundsTable(r.joinRounds));
  if (r.desk !== undefined) out.push(deskTable(r.desk));
  if (r.publishHook !== undefined) out.push(publishHookTable(r.publishHook));
  const memoryRows = [...fanout, ...(r.sharded ?? [])].filter(
    (f) => f.fresh !== false && !f.label.endsWith("batch=1"),
  );
  if (memoryRows.length > 0) {
    out.push(`\n### Connections and memory (idle sockets, a fresh server per room)\n`);
    out.push(
      table(
        [
          "system",
          "N",
          ...repHead,
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
          ...repCell(f),
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
      `\nPer idle socket: (RSS once the N sockets joined and the server went quiet − RSS of the fresh server) / N. bare-do store-first: the bare object's room, the first on its fresh server (its other modes' rooms follow on the same server, so their memory is not shown); bare-do greet: on a fresh server of its own.`,
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
    const same = r.fanout.filter((x) => x.label === label && repOf(x) === repOf(f));
    return same.sort((a, b) => b.n - a.n)[0];
  };
  const multi = rows.some((f) => repOf(f) > 0);
  const out: string[] = [];
  out.push(`\n### Sharded room (SHARDED_ROOMS; one user per socket)\n`);
  const lines: string[][] = [];
  for (const f of rows) {
    const base = unsharded(f);
    if (base !== undefined)
      lines.push([
        fmtNum(base.n),
        base.label,
        ...(multi ? [String(repOf(base) + 1)] : []),
        "1 (unsharded)",
        via(base),
        ...fanoutCells(base, undefined),
      ]);
    lines.push([
      fmtNum(f.n),
      f.label,
      ...(multi ? [String(repOf(f) + 1)] : []),
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
        ...(multi ? ["repeat"] : []),
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
      (f.label.endsWith("batch=1") ? "batch=1" : "one frame per message") +
        (multi ? `, repeat ${repOf(f) + 1}` : ""),
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

/** This project's push against the bare push into as many sockets, round by round. */
function pushPairsTable(pairs: PushPairs[]): string {
  const ratios = (p: PushPairs) =>
    p.rounds.map((x) => x.mine.requestsPerSec / x.bare.requestsPerSec);
  const of = (p: PushPairs, f: (x: PushPairs["rounds"][number]) => number) =>
    median(p.rounds.map(f));
  return [
    `\n### Push against the bare push, in rounds that take turns (${pairs[0]!.rounds.length} rounds of ${fmtNum(pairs[0]!.rounds[0]?.mine.requests ?? 0)} requests each)\n`,
    table(
      [
        "into",
        "this project req/s (median)",
        "bare push req/s (median)",
        "median of the paired ratios",
        "each round",
        "runtime ms/push: this project, bare (medians)",
      ],
      pairs.map((p) => [
        p.mode === "one socket" ? "1 socket (batch=1)" : `${fmtNum(p.n)} sockets (${p.mode})`,
        fmtNum(of(p, (x) => x.mine.requestsPerSec)),
        fmtNum(of(p, (x) => x.bare.requestsPerSec)),
        `${median(ratios(p)).toFixed(2)}×`,
        ratios(p)
          .map((v) => `${v.toFixed(2)}×`)
          .join(", "),
        `${fmtNum(
          of(p, (x) => runtimeMsPer(x.mine.server, x.mine.requests)),
          2,
        )}, ${fmtNum(
          of(p, (x) => runtimeMsPer(x.bare.server, x.bare.requests)),
          2,
        )}`,
      ]),
    ),
    `\nEach round opens a fresh room of each (the bare push's sockets take one frame per message), sends its requests one system after the other, the order flipped each round, and closes both rooms; the ratio of each round is this project's requests/s over the bare push's. Target 4 against what \`wrangler dev\` allows is decided on the median of these ratios.`,
  ].join("\n");
}

/** Joins and storms, round by round: each system's own figures (the paired ratios are in the targets). */
function joinRoundsTable(jr: JoinRounds): string {
  const labels = [...new Set(jr.rounds.flatMap((round) => round.map((x) => x.label)))];
  const sidesOf = (label: JoinSide["label"]) =>
    jr.rounds.flatMap((round) => round.filter((x) => x.label === label));
  const joins = (x: JoinSide) => x.room.connectPerSec;
  const storm = (x: JoinSide) => x.storm.settleMs / 1000;
  return [
    `\n### Joins and the reconnect storm of ${fmtNum(jr.n)}, in rounds that take turns (${jr.rounds.length} rounds)\n`,
    table(
      [
        "system",
        "joins/s (median)",
        "each round",
        "storm settled s (median)",
        "each round",
        "storm runtime ms/socket (median)",
        "machine probe ms, each round (before → after)",
      ],
      labels.map((label) => {
        const xs = sidesOf(label);
        return [
          label,
          fmtNum(median(xs.map(joins))),
          xs.map((x) => fmtNum(joins(x))).join(", "),
          median(xs.map(storm)).toFixed(2),
          xs.map((x) => storm(x).toFixed(2)).join(", "),
          fmtNum(median(xs.map((x) => runtimeMsPer(x.storm.server, jr.n))), 2),
          xs.map((x) => x.probes?.map((p) => p.toFixed(0)).join("→") ?? "–").join(", "),
        ];
      }),
    ),
    `\nEach round, each system's room is the only room on a fresh server: ${fmtNum(jr.n)} sockets join (this project's and the bare presence room's on their welcome, partyserver's on open), the server goes quiet, then every socket is dropped and rejoins (the storm). The order turns one place each round, so each system goes first, second and third as often. bare-do presence: a bare object that does what every join of this protocol must and nothing else (bench/peers/bare-do, \`presence-turn\`). Machine probe: a fixed piece of CPU work timed on the harness just before the joins and just after the storm (bench/probe.ts), about 50–55 ms when this machine runs at its usual speed; its speed moves under it, and a room measured while it is slower looks slower by about as much, whichever system it is. Target 5 at this N is decided on the median of the rounds' paired ratios.`,
  ].join("\n");
}
