/**
 * What a server costs, read from /proc: resident memory and CPU seconds of every process of a
 * process group (a `wrangler dev` is a Node parent, two workerd children — the dev proxy that
 * owns the port and the runtime that runs the Worker — and esbuild), split by role, plus the
 * busiest thread, which tells whether a single-threaded loop is the bottleneck. Linux only.
 */
import { readFileSync, readdirSync } from "node:fs";

/** USER_HZ: /proc reports CPU times in these ticks (100 on every Linux this runs on). */
const TICKS_PER_SEC = 100;
const PAGE_BYTES = 4096;

export type Role = "runtime" | "proxy" | "wrangler" | "esbuild" | "node" | "other";

export interface ProcInfo {
  pid: number;
  role: Role;
  rssBytes: number;
  cpuSec: number;
}

export interface Snapshot {
  at: number;
  procs: ProcInfo[];
  /** CPU seconds per thread, keyed `pid/tid`. */
  threads: Map<string, number>;
}

/** Fields after the command name of /proc/<pid>/stat (the name may contain spaces). */
function statFields(path: string): string[] | null {
  try {
    const text = readFileSync(path, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null; // the process or thread ended between the listing and the read
  }
}

function cpuOf(fields: string[]): number {
  // utime and stime are fields 14 and 15 of stat; index 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
}

function roleOf(pid: number): Role {
  let cmd = "";
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "other";
  }
  if (cmd.includes("workerd")) return cmd.includes("--inspector-addr") ? "runtime" : "proxy";
  if (cmd.includes("esbuild")) return "esbuild";
  if (cmd.includes("wrangler")) return "wrangler";
  if (cmd.includes("node")) return "node";
  return "other";
}

/** Every process whose process group is `pgid` (the harness starts each server as a group leader). */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    // pgrp is field 5 of stat: index 2 after the name.
    if (f !== null && Number(f[2]) === pgid) pids.push(Number(name));
  }
  return pids;
}

export function snapshot(pids: number[]): Snapshot {
  const procs: ProcInfo[] = [];
  const threads = new Map<string, number>();
  for (const pid of pids) {
    const f = statFields(`/proc/${pid}/stat`);
    if (f === null) continue;
    let rssPages = 0;
    try {
      rssPages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    } catch {
      continue; // gone
    }
    procs.push({ pid, role: roleOf(pid), rssBytes: rssPages * PAGE_BYTES, cpuSec: cpuOf(f) });
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const tf = statFields(`/proc/${pid}/task/${tid}/stat`);
      if (tf !== null) threads.set(`${pid}/${tid}`, cpuOf(tf));
    }
  }
  return { at: performance.now(), procs, threads };
}

export interface Usage {
  wallSec: number;
  /** CPU seconds by role over the interval. */
  cpuSec: Partial<Record<Role, number>>;
  totalCpuSec: number;
  /** The busiest single thread's share of one core, 0..1. */
  busiestThread: number;
  busiestRole: Role | undefined;
}

export function usageBetween(a: Snapshot, b: Snapshot): Usage {
  const wallSec = (b.at - a.at) / 1000;
  const before = new Map(a.procs.map((p) => [p.pid, p.cpuSec]));
  const cpuSec: Partial<Record<Role, number>> = {};
  let totalCpuSec = 0;
  for (const p of b.procs) {
    const d = p.cpuSec - (before.get(p.pid) ?? 0);
    cpuSec[p.role] = (cpuSec[p.role] ?? 0) + d;
    totalCpuSec += d;
  }
  let busiest = 0;
  let busiestKey = "";
  for (const [key, sec] of b.threads) {
    const d = sec - (a.threads.get(key) ?? 0);
    if (d > busiest) {
      busiest = d;
      busiestKey = key;
    }
  }
  const pid = Number(busiestKey.split("/")[0]);
  return {
    wallSec,
    cpuSec,
    totalCpuSec,
    busiestThread: wallSec > 0 ? busiest / wallSec : 0,
    busiestRole: b.procs.find((p) => p.pid === pid)?.role,
  };
}

export function rssByRole(s: Snapshot): Partial<Record<Role, number>> & { total: number } {
  const out: Partial<Record<Role, number>> & { total: number } = { total: 0 };
  for (const p of s.procs) {
    out[p.role] = (out[p.role] ?? 0) + p.rssBytes;
    out.total += p.rssBytes;
  }
  return out;
}
