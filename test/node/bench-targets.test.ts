/**
 * The benchmark's verdicts with `--repeats`: a target is decided on the median of the ratios of
 * rooms measured in the same repeat, never on rows of different repeats, and a run of one
 * repeat reads as it always did. Rows are built here with only what the tables read.
 */
import { describe, expect, it } from "vitest";
import {
  report,
  type FanoutRow,
  type JoinSide,
  type Label,
  type Results,
} from "../../bench/report.ts";
import { median, pairs, targets, verdict } from "../../bench/targets.ts";
import type { Usage } from "../../bench/procs.ts";
import type { PushRate } from "../../bench/push.ts";

const usage = (cpu: number): Usage => ({
  wallSec: 1,
  cpuSec: { runtime: cpu },
  totalCpuSec: cpu,
  busiestThread: 0.5,
  busiestRole: "runtime",
});
const rss = (runtime: number) => ({ total: runtime, runtime, proxy: 0 });

interface Spec {
  rate?: number;
  p99?: number;
  joins?: number;
  /** Runtime bytes per idle socket. */
  perSocket?: number;
  stormMs?: number;
  rep?: number;
}

function row(label: Label, n: number, s: Spec): FanoutRow {
  const rate = s.rate ?? 1000;
  return {
    label,
    n,
    fresh: true,
    ...(s.rep === undefined ? {} : { rep: s.rep }),
    room: {
      n,
      users: n,
      batch: false,
      direct: false,
      readyOn: "open",
      connectPerSec: s.joins ?? 500,
      connectMs: 1000,
      settleMs: 2000,
      rssBefore: rss(0),
      rssIdle: rss((s.perSocket ?? 1000) * n),
    },
    latency: {
      rounds: 30,
      samples: 30 * n,
      p50: 1,
      p99: s.p99 ?? 10,
      max: 20,
      firstPerRound: { median: 1, worst: 2 },
      lastPerRound: { median: 1, worst: 2 },
      stalledRounds: [],
    },
    throughput: {
      messages: 100,
      capped: false,
      window: 100,
      deliveries: 100 * n,
      framesPerMessage: 1,
      seconds: (100 * n) / rate,
      perSec: rate,
      p50: 1,
      p99: 2,
      server: usage(1),
      client: usage(1),
    },
    ...(s.stormMs === undefined
      ? {}
      : {
          storm: {
            n,
            since: true,
            rejoinMs: s.stormMs / 2,
            messageMs: 5,
            settleMs: s.stormMs,
            replayed: 0,
            server: usage(1),
          },
        }),
  };
}

const results = (fanout: FanoutRow[], repeats = 1): Results => ({
  machine: {},
  config: {
    sizes: [...new Set(fanout.map((f) => f.n))],
    window: 100,
    rounds: 30,
    deliveries: 500_000,
    burstSec: 45,
    pushRoom: 100,
    concurrency: 16,
    idleSec: 15,
    repeats,
  },
  fanout,
  rss0: {},
  hibernation: {},
  seconds: 1,
});

const targetRow = (r: Results, start: string) => {
  const found = targets(r).find((t) => t[0]!.startsWith(start));
  if (found === undefined) throw new Error(`no target row starting ${start}`);
  return found;
};

describe("median", () => {
  it("is the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe("pairs", () => {
  it("matches rows by the repeat they were measured in, not by position, and skips a repeat missing a side", () => {
    const mine = [
      { rep: 2, v: "m2" },
      { rep: 0, v: "m0" },
      { rep: 1, v: "m1" },
    ];
    const theirs = [
      { rep: 0, v: "t0" },
      { rep: 2, v: "t2" },
    ];
    expect(pairs(mine, theirs).map(([a, b]) => [a.v, b.v])).toEqual([
      ["m2", "t2"],
      ["m0", "t0"],
    ]);
  });

  it("treats rows without a repeat (runs from before --repeats) as the first", () => {
    const old: { rep?: number; v: number }[] = [{ v: 1 }];
    expect(pairs(old, [{ rep: 0, v: 2 }])).toHaveLength(1);
  });
});

describe("verdict", () => {
  it("decides on the median of the paired ratios, not on the ratio of the medians", () => {
    // Medians 100 vs 100 (1.00×) would miss ≥ 1.1; the paired ratios 1.2, 1.25, 0.5 have median 1.2.
    const v = verdict(
      [
        [120, 100],
        [100, 80],
        [60, 120],
      ],
      (k) => k >= 1.1,
      String,
    );
    expect(v.met).toBe(true);
    expect(v.measured).toBe(
      "100 vs 100 (medians); 1.20×, the median of 3 repeats: 1.20×, 1.25×, 0.50×",
    );
  });

  it("reads as a plain ratio with one repeat", () => {
    const v = verdict([[150, 100]], (k) => k >= 1.5, String);
    expect(v).toEqual({ measured: "150 vs 100 = 1.50×", met: true });
  });
});

describe("targets over repeats", () => {
  it("a slow spell that hits both sides of one repeat does not decide target 1", () => {
    // Repeat 1 ran on a busy machine: both systems slowed, their ratio held.
    const r = results(
      [
        row("edge-rooms", 100, { rep: 0, rate: 60_000 }),
        row("partyserver", 100, { rep: 0, rate: 30_000 }),
        row("edge-rooms", 100, { rep: 1, rate: 30_000 }),
        row("partyserver", 100, { rep: 1, rate: 15_000 }),
        row("edge-rooms", 100, { rep: 2, rate: 62_000 }),
        row("partyserver", 100, { rep: 2, rate: 31_000 }),
      ],
      3,
    );
    const [, measured, met] = targetRow(r, "1. N=100");
    expect(met).toBe("met");
    expect(measured).toContain("2.00×, the median of 3 repeats: 2.00×, 2.00×, 2.00×");
  });

  it("misses a target when most repeats miss it, whatever one repeat says", () => {
    const r = results(
      [
        row("edge-rooms", 5000, { rep: 0, joins: 900 }),
        row("partyserver", 5000, { rep: 0, joins: 600 }),
        row("edge-rooms", 5000, { rep: 1, joins: 500 }),
        row("partyserver", 5000, { rep: 1, joins: 600 }),
        row("edge-rooms", 5000, { rep: 2, joins: 550 }),
        row("partyserver", 5000, { rep: 2, joins: 600 }),
      ],
      3,
    );
    const [, measured, met] = targetRow(r, "5. N=5,000: joins/s");
    expect(met).toBe("MISSED");
    expect(measured).toContain("0.92×, the median of 3 repeats: 1.50×, 0.83×, 0.92×");
  });

  it("bounds each repeat's p99 by that repeat's partyserver p99 and store-before-send cost", () => {
    const quad = (rep: number, mine: number, party: number, store: number, fwd: number) => [
      row("edge-rooms", 1000, { rep, p99: mine }),
      row("partyserver", 1000, { rep, p99: party }),
      row("bare-do store-first", 1000, { rep, p99: store }),
      row("bare-do forward", 1000, { rep, p99: fwd }),
    ];
    // Bounds 12, 22 (10 + 12 − 0), 12 (a negative cost counts as 0): ratios 1.0, 0.95, 1.25.
    const r = results(
      [...quad(0, 12, 10, 4, 2), ...quad(1, 20.9, 10, 12, 0), ...quad(2, 15, 12, 1, 3)],
      3,
    );
    const [, measured, met] = targetRow(r, "3. N=1,000");
    expect(met).toBe("met");
    expect(measured).toContain("the median of 3 repeats: 1.00×, 0.95×, 1.25×");
  });

  it("decides the storm and memory on paired ratios too", () => {
    const r = results(
      [
        row("edge-rooms", 5000, { rep: 0, stormMs: 9000, perSocket: 170 }),
        row("partyserver", 5000, { rep: 0, stormMs: 10_000, perSocket: 175 }),
        row("edge-rooms", 5000, { rep: 1, stormMs: 11_000, perSocket: 180 }),
        row("partyserver", 5000, { rep: 1, stormMs: 10_000, perSocket: 176 }),
        row("edge-rooms", 5000, { rep: 2, stormMs: 9500, perSocket: 171 }),
        row("partyserver", 5000, { rep: 2, stormMs: 10_000, perSocket: 176 }),
      ],
      3,
    );
    expect(targetRow(r, "5. reconnect storm")[2]).toBe("met");
    expect(targetRow(r, "5. reconnect storm")[1]).toContain("0.90×, 1.10×, 0.95×");
    expect(targetRow(r, "6. N=5,000")[2]).toBe("met");
  });

  it("sets joins and the storm beside a bare object that greets each socket, when one ran", () => {
    const r = results(
      [
        row("edge-rooms", 5000, { rep: 0, joins: 660, stormMs: 10_500 }),
        row("partyserver", 5000, { rep: 0, joins: 780, stormMs: 9000 }),
        row("bare-do greet", 5000, { rep: 0, joins: 640, stormMs: 11_000 }),
        row("bare-do greet", 5000, { rep: 1, joins: 700, stormMs: 10_000 }),
        row("partyserver", 5000, { rep: 1, joins: 760, stormMs: 8800 }),
        row("edge-rooms", 5000, { rep: 1, joins: 735, stormMs: 10_400 }),
      ],
      2,
    );
    const joins = targets(r).filter((t) => t[0]!.startsWith("5. N=5,000"));
    expect(joins.map((t) => t[2])).toEqual(["MISSED", "met"]);
    expect(joins[1]![0]).toContain("a bare object that sends each socket one welcome-sized frame");
    // 660 / 640 and 735 / 700, paired by repeat, not by the order the rows were written in.
    expect(joins[1]![1]).toContain("the median of 2 repeats: 1.03×, 1.05×");
    const storms = targets(r).filter((t) => t[0]!.startsWith("5. reconnect storm"));
    expect(storms.map((t) => t[2])).toEqual(["MISSED", "met"]);
    expect(storms[1]![1]).toContain("0.95×, 1.04×");
  });

  it("leaves the bare greeting rows out when no such room ran", () => {
    const r = results([
      row("edge-rooms", 5000, { joins: 800, stormMs: 9000 }),
      row("partyserver", 5000, { joins: 780, stormMs: 9500 }),
    ]);
    expect(targets(r).filter((t) => t[0]!.includes("welcome-sized"))).toEqual([]);
  });

  it("keeps a single run's wording and verdicts", () => {
    const r = results([
      row("edge-rooms", 100, { rate: 1400 }),
      row("partyserver", 100, { rate: 1000 }),
    ]);
    expect(targetRow(r, "1. N=100")).toEqual([
      "1. N=100: one frame per message ≥ 1.5× partyserver deliveries/s",
      "1,400 vs 1,000 = 1.40×",
      "MISSED",
    ]);
  });
});

describe("report over repeats", () => {
  it("shows each room's repeat and its ratio against partyserver's room of the same repeat", () => {
    const r = results(
      [
        row("edge-rooms", 100, { rep: 0, rate: 3000 }),
        row("partyserver", 100, { rep: 0, rate: 1000 }),
        row("partyserver", 100, { rep: 1, rate: 2000 }),
        row("edge-rooms", 100, { rep: 1, rate: 3000 }),
      ],
      2,
    );
    const lines = report(r).split("\n");
    const fanout = lines.filter((l) => /^\| 100 +\| +edge-rooms \|/.test(l));
    expect(fanout).toHaveLength(2);
    expect(fanout[0]).toMatch(/\| +1 \| dev proxy \|.*3,000 \(3\.00×\)/);
    expect(fanout[1]).toMatch(/\| +2 \| dev proxy \|.*3,000 \(1\.50×\)/);
  });

  it("has no repeat column for a run of one repeat", () => {
    const r = results([row("edge-rooms", 100, {}), row("partyserver", 100, {})]);
    expect(report(r)).not.toContain("repeat");
  });
});

const pushRate = (requestsPerSec: number): PushRate => ({
  requests: 400,
  events: 400,
  requestsPerSec,
  eventsPerSec: requestsPerSec,
  deliveriesPerSec: requestsPerSec * 100,
  p50: 1,
  p99: 2,
  server: usage(2),
  client: usage(1),
});
const httpRate = (perSec: number) => ({
  label: "step",
  requests: 400,
  perSec,
  server: usage(1),
  client: usage(1),
});

/** A push step as run.ts records it: measured once, and (`pairs`) in rounds that take turns. */
function withPush(
  r: Results,
  once: { mine: number; bare: number },
  rounds?: [mine: number, bare: number][],
): Results {
  return {
    ...r,
    push: {
      ceilingBefore: httpRate(500),
      ceilingAfter: httpRate(500),
      rooms: [
        {
          mode: "one frame per message",
          single: pushRate(once.mine),
          batch: pushRate(once.mine / 2),
        },
      ],
      bare: {
        rpcSqlBefore: httpRate(300),
        rpcSqlAfter: httpRate(300),
        rpc: httpRate(350),
        publishLog: pushRate(once.bare),
      },
      ...(rounds === undefined
        ? {}
        : {
            pairs: [
              {
                mode: "one frame per message",
                n: 100,
                rounds: rounds.map(([mine, bare]) => ({
                  mine: pushRate(mine),
                  bare: pushRate(bare),
                })),
              },
            ],
          }),
    },
  };
}

describe("the push against the bare push (target 4)", () => {
  const base = () => results([row("edge-rooms", 100, {}), row("partyserver", 100, {})]);
  const allows = "4. (the same, against the bare push into as many sockets";

  it("is decided on the median of the rounds that took turns, not on the one measurement", () => {
    // Measured once, minutes apart, the bare push caught a fast spell: 80 against 100 is 0.80×.
    // Round by round the two ran level: 0.98×, 1.02×, 0.60× (one slow round), 1.01×, 0.99×.
    const r = withPush(base(), { mine: 80, bare: 100 }, [
      [98, 100],
      [102, 100],
      [60, 100],
      [101, 100],
      [99, 100],
    ]);
    const row = targetRow(r, allows);
    expect(row[2]).toBe("met");
    expect(row[1]).toContain("0.99×, the median of 5 rounds taking turns");
    expect(row[1]).toContain("0.98×, 1.02×, 0.60×, 1.01×, 0.99×");
  });

  it("misses when most rounds miss, whatever one round says", () => {
    const r = withPush(base(), { mine: 100, bare: 100 }, [
      [80, 100],
      [120, 100],
      [82, 100],
    ]);
    expect(targetRow(r, allows)[2]).toBe("MISSED");
  });

  it("falls back to the one measurement for a run without rounds", () => {
    const r = withPush(base(), { mine: 80, bare: 100 });
    expect(targetRow(r, allows)).toEqual([
      expect.stringContaining(allows),
      "80 vs 100 req/s = 0.80×",
      "MISSED",
    ]);
  });

  it("tables the rounds with each round's ratio", () => {
    const r = withPush(base(), { mine: 80, bare: 100 }, [
      [98, 100],
      [102, 100],
      [60, 100],
    ]);
    const line = report(r)
      .split("\n")
      .find((l) => l.startsWith("| 100 sockets (one frame per message)"));
    expect(line).toMatch(/\| +98 \| +100 \| +0\.98× \| 0\.98×, 1\.02×, 0\.60× \|/);
  });
});

describe("latency rounds over a number of samples", () => {
  it("says how many rounds each size had when the run asked for a number of samples", () => {
    const r = results([
      {
        ...row("edge-rooms", 100, {}),
        latency: { ...row("edge-rooms", 100, {}).latency, rounds: 1000 },
      },
      row("partyserver", 5000, {}),
    ]);
    r.config.latencySamples = 100_000;
    expect(report(r)).toContain(
      "Latency: at least 30 rounds, and as many as give 100,000 samples (1,000 at N = 100, 30 at N = 5,000)",
    );
  });

  it("keeps the plain count of rounds for runs from before", () => {
    const r = results([row("edge-rooms", 100, {}), row("partyserver", 100, {})]);
    expect(report(r)).toContain("Latency: 30 rounds of one message each");
  });
});

describe("joins and storms in rounds that take turns (target 5 at the storm's N)", () => {
  const side = (
    label: JoinSide["label"],
    joins: number,
    stormMs: number,
    probes: [number, number] = [55, 54],
  ): JoinSide => {
    const r = row("edge-rooms", 5000, { joins, stormMs });
    return { label, room: r.room, storm: r.storm!, probes };
  };
  const withRounds = (rounds: JoinSide[][]): Results => ({
    // The repeats say the opposite of the rounds, so which of them decided shows.
    ...results([
      row("edge-rooms", 5000, { joins: 400, stormMs: 20_000 }),
      row("partyserver", 5000, { joins: 500, stormMs: 10_000 }),
    ]),
    joinRounds: { n: 5000, rounds },
  });
  const JOINS = "5. N=5,000: joins/s ≥ partyserver's";
  const STORM = "5. reconnect storm of 5,000 (with since)";
  const PRESENCE =
    "(the same, against a bare object that does what every join of this protocol must";

  it("decides joins and the storm on the rounds, not on the repeats", () => {
    const r = withRounds([
      [side("edge-rooms", 520, 9_000), side("partyserver", 500, 10_000)],
      [side("partyserver", 700, 12_000), side("edge-rooms", 720, 11_000)],
      [side("edge-rooms", 505, 10_000), side("partyserver", 500, 10_000)],
    ]);
    const joins = targetRow(r, JOINS);
    expect(joins[2]).toBe("met");
    expect(joins[1]).toContain("the median of 3 rounds taking turns: 1.04×, 1.03×, 1.01×");
    const storm = targetRow(r, STORM);
    expect(storm[2]).toBe("met");
    expect(storm[1]).toContain("0.92×, the median of 3 rounds taking turns");
  });

  it("misses when most rounds miss, whatever one round says", () => {
    const r = withRounds([
      [side("edge-rooms", 480, 11_000), side("partyserver", 500, 10_000)],
      [side("edge-rooms", 800, 8_000), side("partyserver", 500, 10_000)],
      [side("edge-rooms", 470, 10_500), side("partyserver", 500, 10_000)],
    ]);
    expect(targetRow(r, JOINS)[2]).toBe("MISSED");
    expect(targetRow(r, STORM)[2]).toBe("MISSED");
  });

  it("sets joins and the storm beside the bare presence room when it ran", () => {
    const r = withRounds([
      [
        side("edge-rooms", 600, 10_000),
        side("partyserver", 700, 9_000),
        side("bare-do presence", 610, 10_500),
      ],
    ]);
    const joins = targetRow(r, `5. N=5,000: ${PRESENCE}`);
    expect(joins[1]).toBe("600 vs 610 = 0.98×");
    expect(joins[2]).toBe("MISSED");
    const storm = targetRow(r, `5. reconnect storm of 5,000: ${PRESENCE}`);
    expect(storm[1]).toBe("10.00 s vs 10.50 s = 0.95×");
    expect(storm[2]).toBe("met");
  });

  it("falls back to the repeats when no rounds ran, and has no bare presence rows", () => {
    const r = results([
      row("edge-rooms", 5000, { joins: 400 }),
      row("partyserver", 5000, { joins: 500 }),
    ]);
    expect(targetRow(r, JOINS)[1]).toBe("400 vs 500 = 0.80× (settled in 2.0 s)");
    expect(targets(r).some((t) => t[0]!.includes(PRESENCE))).toBe(false);
  });

  it("tables each system's rounds with the machine probes", () => {
    const r = withRounds([
      [side("edge-rooms", 520, 9_000), side("partyserver", 500, 10_000, [80, 82])],
      [side("partyserver", 700, 12_000), side("edge-rooms", 720, 11_000)],
    ]);
    const line = report(r)
      .split("\n")
      .find((l) => l.startsWith("| partyserver ") && l.includes("80→82"));
    expect(line).toMatch(
      /\| +600 \| +500, 700 \| +11\.00 \| +10\.00, 12\.00 \|.*\| +80→82, 55→54 \|/,
    );
  });
});

describe("the machine probe", () => {
  it("times the fixed work it is given, and more work takes longer", async () => {
    const { cpuProbeMs } = await import("../../bench/probe.ts");
    const small = cpuProbeMs(1_000);
    const large = cpuProbeMs(100_000);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small);
  });
});
