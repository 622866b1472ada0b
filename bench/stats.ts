/**
 * Numbers for the bench: a mergeable latency histogram (log buckets, 0.5 % wide, so millions of
 * deliveries cost a fixed few kilobytes per client thread), the one clock every thread and
 * process on the machine shares, and the formatting of the results tables.
 */

/** Milliseconds on CLOCK_MONOTONIC: the same clock in every thread and process of this machine. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

const GROWTH = 1.005;
const LOG_GROWTH = Math.log(GROWTH);
/** Enough buckets for 1 µs … 10 min. */
const BUCKETS = Math.ceil(Math.log(600_000_000) / LOG_GROWTH) + 2;

export interface HistogramData {
  buckets: number[];
  count: number;
  sum: number;
  max: number;
}

export class Histogram {
  buckets = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  /** Records one latency in milliseconds (negative values, clock noise, count as 0). */
  add(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const us = v * 1000;
    const i = us < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH) + 1);
    this.buckets[i]! += 1;
    this.count += 1;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  toData(): HistogramData {
    return { buckets: Array.from(this.buckets), count: this.count, sum: this.sum, max: this.max };
  }

  static merge(parts: HistogramData[]): Histogram {
    const h = new Histogram();
    for (const p of parts) {
      for (let i = 0; i < BUCKETS; i++) h.buckets[i]! += p.buckets[i] ?? 0;
      h.count += p.count;
      h.sum += p.sum;
      if (p.max > h.max) h.max = p.max;
    }
    return h;
  }

  /** The q-quantile (0..1) in ms, to within the bucket width (0.5 %). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return i === 0 ? 0 : Math.min(this.max, GROWTH ** i / 1000);
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }
}

/** The q-quantile (0..1) of a few samples, nearest rank: p90 of 10 samples is the 9th. */
export function quantileOf(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

// ---- formatting ----

export function fmtNum(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** Latency: two significant decimals below 10 ms, one below 100, none above. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function fmtRatio(value: number | undefined, base: number | undefined): string {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !(base > 0))
    return "";
  const r = value / base;
  return ` (${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×)`;
}

export function fmtBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "–";
  if (Math.abs(bytes) >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (Math.abs(bytes) >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes.toFixed(0)} B`;
}

/** A Markdown table: the same text reads well in a terminal and pastes into docs/BENCHMARKS.md. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}
