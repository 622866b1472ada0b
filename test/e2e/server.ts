/**
 * Starts the real thing for end-to-end tests: `wrangler dev` as a child process on a free port,
 * with its own persistence directory (so a test can stop and restart it and keep the rooms'
 * storage) and its own generated secrets. Resolves once the Worker answers HTTP.
 *
 * Every server gets a JOIN_SECRET (the caller's, or a fresh one): without it the server refuses
 * every join, guests included. Tests mint backend tokens for it with `mintToken`.
 */
import { sign } from "hono/jwt";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, stopProcessGroup } from "../../scripts/processes.ts";
import { generateSecret } from "../../src/protocol/webhook.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const START_TIMEOUT_MS = 60_000;

export interface DevServer {
  url: string;
  wsUrl: string;
  port: number;
  persistDir: string;
  /** The JOIN_SECRET the server was started with ("" when started without one). */
  joinSecret: string;
  /** Everything wrangler printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** Ends wrangler dev and workerd at once with SIGKILL: a crash, nothing shuts down cleanly. */
  kill(): Promise<void>;
}

export interface ServerOptions {
  /** Reuse a previous server's storage (a restart; pass its `joinSecret` in `vars` too, or
   * the tokens it handed out no longer verify). */
  persistDir?: string;
  /** Reuse a previous server's port, so clients reconnect to the same address. */
  port?: number;
  /** Extra `[vars]`; a JOIN_SECRET here is used instead of a generated one. */
  vars?: Record<string, string>;
  /** Start without any JOIN_SECRET, to see the server refuse every join. */
  noJoinSecret?: boolean;
}

/** A fresh JOIN_SECRET: any string works for HS256; this is the shape `npm start` writes. */
export const generateJoinSecret = () => generateSecret().slice("whsec_".length);

export async function startServer(opts: ServerOptions = {}): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "rooms-e2e-"));
  const joinSecret = opts.noJoinSecret ? "" : (opts.vars?.JOIN_SECRET ?? generateJoinSecret());
  // Always passed, even empty: a --var wins over a developer's .dev.vars, which wrangler dev
  // would otherwise read, so the test knows exactly which secret the server holds.
  const given = { ...opts.vars, JOIN_SECRET: joinSecret };
  const vars = Object.entries(given).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    WRANGLER,
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
      "warn",
      ...vars,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so stop() also ends workerd
    },
  );
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const server: DevServer = {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    persistDir,
    joinSecret,
    output: () => out,
    stop: () => stopProcessGroup(child),
    kill: () => stopProcessGroup(child, 0, "SIGKILL"),
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/room/ready-check`);
      if (res.status === 426) return server; // the Worker itself answered, not just the proxy
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`wrangler dev did not start within ${START_TIMEOUT_MS} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250)); // polling a port: there is no event to await
  }
}

export interface TokenClaims {
  /** The user id (a guest- id is refused by the server; tests may still mint one to see that). */
  sub: string;
  name?: string;
  /** A room name or "*"; a token names a room or a desk, never both. */
  room?: string;
  desk?: string;
  role?: "member" | "agent";
  /** Lifetime in seconds from now (default 600); negative for an already expired token. */
  ttlSec?: number;
}

/** A backend join token for this server, as a backend signs one with its JOIN_SECRET. */
export function mintToken(
  server: Pick<DevServer, "joinSecret">,
  { ttlSec = 600, ...claims }: TokenClaims,
): Promise<string> {
  if (!server.joinSecret) throw new Error("this server was started without a JOIN_SECRET");
  const exp = Math.floor(Date.now() / 1000) + ttlSec;
  return sign({ ...claims, exp }, server.joinSecret, "HS256");
}
