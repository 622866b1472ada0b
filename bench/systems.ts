/**
 * The systems the bench compares, each started on this machine as its own process group on a
 * free port (the approach of test/e2e/server.ts): this project and the partyserver peer under
 * `wrangler dev`, the bare Node `ws` peer, and the bare Durable Object of bench/peers/bare-do
 * (the runtime with nothing but a store and a send, under the same `wrangler dev`). Each knows
 * how to address a room, which frame tells that a join is complete, and the pids whose memory
 * and CPU count as its cost.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, stopProcessGroup } from "../scripts/processes.ts";
import { generateSecret } from "../src/protocol/webhook.ts";
import { groupPids } from "./procs.ts";

export const ROOT = resolve(import.meta.dirname, "..");
/** The partyserver peer; BENCH_PARTYSERVER_DIR runs a changed copy of it instead, for a diagnosis. */
const PARTYSERVER_DIR = process.env.BENCH_PARTYSERVER_DIR ?? join(ROOT, "bench/peers/partyserver");
const START_TIMEOUT_MS = 90_000;
/**
 * This project is measured without the `[assets]` table of its wrangler.toml unless
 * BENCH_ASSETS=1. Locally, static assets put two more Workers of the same runtime process
 * (miniflare's assets proxy and Cloudflare's router Worker) in front of every request, the room
 * upgrades and pushes included, and every WebSocket is carried through both: measured at
 * N = 5,000, 63 KiB more runtime memory per idle socket, and about 0.6 ms more runtime CPU per
 * push (docs/BENCHMARKS.md, "The static assets layer"). The peers serve no page and have no such
 * layer, so without it the systems are compared on the same terms.
 */
const WITH_ASSETS = process.env.BENCH_ASSETS === "1";
/**
 * Likewise without its `[observability]` table unless BENCH_OBSERVABILITY=1. Locally, Workers
 * Logs are emulated by a tail Worker in the same runtime process that is handed a trace of every
 * invocation (each join, push, WebSocket message and close) and persists them; under a storm it
 * fails by the ten thousand and wrangler's process prints every failure. Deployed, the platform
 * collects logs outside the Worker. The peers have no such table.
 */
const WITH_OBSERVABILITY = process.env.BENCH_OBSERVABILITY === "1";

const BARE_DIR = join(ROOT, "bench/peers/bare-do");

export type SystemName = "edge-rooms" | "partyserver" | "node-ws" | "bare-do";
export const SYSTEM_NAMES: SystemName[] = ["edge-rooms", "partyserver", "node-ws", "bare-do"];

/**
 * Who a bench socket joins as. This project has no claimed ids: a socket joins as a guest with a
 * display name, or with the guest token an earlier socket got in its welcome (then it is that
 * same guest, another tab). The peers ignore both.
 */
export interface Joiner {
  name: string;
  token?: string;
  /** This project: the last `seq` the socket saw before (a rejoin); the peers ignore it. */
  since?: number;
}

export interface RunningSystem {
  name: string;
  baseUrl: string;
  wsBase: string;
  /**
   * The WebSocket URL of one client of `room`: through `wrangler dev`'s port (its dev proxy) or,
   * with `direct`, to the runtime's own entry socket (see directBase).
   */
  roomUrl(room: string, who: Joiner, batch: boolean, direct?: boolean): string;
  /**
   * Finds the runtime workerd's own entry socket, behind wrangler's dev proxy. The proxy holds
   * four file descriptors per WebSocket, so with a hard limit of 20,000 it cannot carry 5,000
   * sockets; the runtime alone needs two. Null for a system without a proxy.
   */
  directBase(): Promise<string | null>;
  /** "welcome": this project's join ends with its welcome frame; the peers send nothing. */
  readyOn: "welcome" | "open";
  /** Pids of the process group, refreshed on each call (wrangler starts its children late). */
  pids(): number[];
  output(): string;
  stop(): Promise<void>;
}

interface Spawned {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function spawnGroup(cmd: string, args: string[], cwd: string): Spawned {
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: /proc accounting and stop() cover workerd too
  });
  let out = "";
  // BENCH_SERVER_LOG=<file>: everything the servers print, appended (with BENCH_LOG_LEVEL=debug).
  const file = process.env.BENCH_SERVER_LOG;
  const keep = (d: Buffer) => {
    out = (out + d).slice(-200_000);
    if (file !== undefined) appendFileSync(file, d);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return { child, output: () => out, stop: () => stopGroup(child) };
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await stopProcessGroup(child);
  // workerd children can outlive the wrangler parent by a moment; make sure none is left.
  for (const pid of groupPids(child.pid!)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * The runtime workerd (the one with an inspector) listens on a few loopback ports; its entry
 * socket is the one that answers the ready probe as the Worker does.
 */
async function findRuntimeEntry(s: Spawned, ready: [string, number]): Promise<string | null> {
  const listening = new Map<string, number>();
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[3] "0A" is LISTEN; f[1] is local address:port in hex; f[9] the socket inode.
    if (f[3] === "0A") listening.set(f[9]!, parseInt(f[1]!.split(":")[1]!, 16));
  }
  for (const pid of groupPids(s.child.pid!)) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (!cmd.includes("workerd") || !cmd.includes("--inspector-addr")) continue;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let link = "";
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const port = listening.get(/^socket:\[(\d+)\]$/.exec(link)?.[1] ?? "");
      if (port === undefined) continue;
      try {
        const res = await fetch(`http://127.0.0.1:${port}${ready[0]}`);
        await res.arrayBuffer();
        if (res.status === ready[1]) return `ws://127.0.0.1:${port}`;
      } catch {
        // not an HTTP socket (the inspector, a loopback service)
      }
    }
  }
  return null;
}

/** Polls until `probe` says the server answers; there is no event to await on a foreign port. */
async function waitReady(s: Spawned, probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (s.child.exitCode !== null)
      throw new Error(`${what} exited with ${s.child.exitCode}:\n${s.output()}`);
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await s.stop();
      throw new Error(`${what} did not start within ${START_TIMEOUT_MS} ms:\n${s.output()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function wranglerDev(
  wrangler: string,
  cwd: string,
  vars: Record<string, string>,
  readyPath: string,
  readyStatus: number,
  what: string,
): Promise<{ s: Spawned; port: number; persistDir: string }> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const persistDir = mkdtempSync(join(tmpdir(), "rooms-bench-"));
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const s = spawnGroup(
    wrangler,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      persistDir,
      "--show-interactive-dev-session=false",
      "--log-level",
      process.env.BENCH_LOG_LEVEL ?? "warn",
      ...varArgs,
    ],
    cwd,
  );
  try {
    await waitReady(
      s,
      async () => (await fetch(`http://127.0.0.1:${port}${readyPath}`)).status === readyStatus,
      what,
    );
  } catch (err) {
    rmSync(persistDir, { recursive: true, force: true });
    throw err;
  }
  return { s, port, persistDir };
}

function running(
  name: string,
  port: number,
  s: Spawned,
  roomPath: (room: string, who: Joiner, batch: boolean) => string,
  readyOn: "welcome" | "open",
  cleanup: () => void = () => {},
  ready?: [path: string, status: number],
): RunningSystem {
  let direct: string | null | undefined;
  const directBase = async (): Promise<string | null> => {
    if (direct === undefined)
      direct = ready === undefined ? null : await findRuntimeEntry(s, ready);
    return direct;
  };
  return {
    name,
    baseUrl: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    roomUrl: (room, who, batch, viaRuntime = false) => {
      if (viaRuntime && (direct === undefined || direct === null)) {
        throw new Error(`${name}: call directBase() first; no direct runtime socket known`);
      }
      return `${viaRuntime ? direct : `ws://127.0.0.1:${port}`}${roomPath(room, who, batch)}`;
    },
    directBase,
    readyOn,
    pids: () => groupPids(s.child.pid!),
    output: s.output,
    stop: async () => {
      await s.stop();
      cleanup();
    },
  };
}

/**
 * Any Worker directory under `wrangler dev` (the peers, or a variant built to test a hypothesis):
 * `roomPath` addresses a room, `ready` is a path and the status its Worker answers.
 */
export async function startWranglerWorker(opts: {
  name: string;
  dir: string;
  wrangler?: string;
  vars?: Record<string, string>;
  ready: [path: string, status: number];
  roomPath: (room: string, who: Joiner, batch: boolean) => string;
  readyOn: "welcome" | "open";
}): Promise<RunningSystem> {
  const { s, port, persistDir } = await wranglerDev(
    opts.wrangler ?? join(ROOT, "node_modules/.bin/wrangler"),
    opts.dir,
    opts.vars ?? {},
    opts.ready[0],
    opts.ready[1],
    `wrangler dev (${opts.name})`,
  );
  return running(
    opts.name,
    port,
    s,
    opts.roomPath,
    opts.readyOn,
    () => rmSync(persistDir, { recursive: true, force: true }),
    opts.ready,
  );
}

/**
 * This project, exactly as `npm start` runs it, with `vars` on top. The bench passes a high
 * RATE_PER_SEC/RATE_BURST (one sender must exceed 20 frames/s) and a PUSH_SECRET. A JOIN_SECRET
 * is always set (a fresh one unless `vars` has one): the snapshot has no .dev.vars, and a server
 * without it refuses every join, guests included.
 */
export async function startEdgeRooms(
  vars: Record<string, string>,
  source = ROOT,
): Promise<RunningSystem> {
  const dir = snapshotProject(source);
  const { s, port, persistDir } = await wranglerDev(
    join(ROOT, "node_modules/.bin/wrangler"),
    dir,
    { JOIN_SECRET: generateSecret().slice("whsec_".length), ...vars },
    "/room/ready-check",
    426,
    "wrangler dev (edge-rooms)",
  ).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return running(
    "edge-rooms",
    port,
    s,
    (room, who, batch) =>
      `/room/${room}?${who.token ? `token=${who.token}` : `name=${encodeURIComponent(who.name)}`}${batch ? "&batch=1" : ""}${who.since === undefined ? "" : `&since=${who.since}`}`,
    "welcome",
    () => {
      rmSync(persistDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
    ["/room/ready-check", 426],
  );
}

/**
 * A copy of what `wrangler dev` builds from, taken when the system starts: wrangler reloads the
 * Worker (dropping every socket) whenever a source file changes, and a bench must measure one
 * version of the code however long it runs, even while someone edits src/. `source` is the
 * project tree to copy: this one, or (`--source`) another checkout, e.g. a git worktree of an
 * older commit, measured by this harness and with this project's node_modules.
 */
function snapshotProject(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "rooms-bench-src-"));
  for (const entry of [
    "src",
    "pages",
    "public",
    "scripts",
    "wrangler.toml",
    "package.json",
    "tsconfig.json",
  ]) {
    if (existsSync(join(source, entry)))
      cpSync(join(source, entry), join(dir, entry), { recursive: true });
  }
  const config = join(dir, "wrangler.toml");
  let toml = readFileSync(config, "utf8");
  if (!WITH_ASSETS) toml = withoutTable(toml, "assets");
  if (!WITH_OBSERVABILITY) toml = withoutTable(toml, "observability");
  writeFileSync(config, toml);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** wrangler.toml without its `[name]` table (up to the next table); fails if it has none. */
export function withoutTable(toml: string, name: string): string {
  const out = toml.replace(new RegExp(`^\\[${name}\\]\\n(?:(?!\\[).*\\n)*`, "m"), "");
  if (out === toml) throw new Error(`wrangler.toml has no [${name}] table to leave out`);
  return out;
}

export async function startPartyserver(): Promise<RunningSystem> {
  const wrangler = join(PARTYSERVER_DIR, "node_modules/.bin/wrangler");
  if (!existsSync(wrangler)) {
    throw new Error(
      "the partyserver peer is not installed: run `npm ci --prefix bench/peers/partyserver` first",
    );
  }
  const { s, port, persistDir } = await wranglerDev(
    wrangler,
    PARTYSERVER_DIR,
    {},
    "/ready-check",
    404,
    "wrangler dev (partyserver)",
  );
  return running(
    "partyserver",
    port,
    s,
    (room) => `/parties/bench-room/${room}`,
    "open",
    () => rmSync(persistDir, { recursive: true, force: true }),
    ["/ready-check", 404],
  );
}

export async function startNodeWs(): Promise<RunningSystem> {
  const port = await freePort();
  const s = spawnGroup(
    process.execPath,
    [join(ROOT, "bench/peers/node-ws/server.ts"), String(port)],
    ROOT,
  );
  await waitReady(s, async () => s.output().includes(`listening ${port}`), "node-ws peer");
  return running("node-ws", port, s, (room) => `/room/${room}`, "open");
}

/**
 * The bare Durable Object (bench/peers/bare-do/index.ts), `MODE` from `vars` (default
 * `forward`); a room whose name has `~<mode>~` in it runs that mode instead, so one server can
 * hold rooms of several modes. Its HTTP steps (`POST /rpc-sql`, …) are on the same port.
 */
export function startBareDo(vars: Record<string, string> = {}): Promise<RunningSystem> {
  return startWranglerWorker({
    name: "bare-do",
    dir: BARE_DIR,
    vars,
    ready: ["/ready-check", 426],
    roomPath: (room) => `/room/${room}`,
    readyOn: "open",
  });
}

export function startSystem(
  name: SystemName,
  vars: Record<string, string>,
  source = ROOT,
): Promise<RunningSystem> {
  if (name === "edge-rooms") return startEdgeRooms(vars, source);
  if (name === "partyserver") return startPartyserver();
  if (name === "bare-do") return startBareDo(vars);
  return startNodeWs();
}
