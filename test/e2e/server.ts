/**
 * Starts the real thing for end-to-end tests: `wrangler dev` as a child process on a free port,
 * with its own persistence directory (so a test can stop and restart it and keep the rooms'
 * storage) and its own generated secrets. Resolves once the Worker answers HTTP.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, stopProcessGroup } from "../../scripts/processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const START_TIMEOUT_MS = 60_000;

export interface DevServer {
  url: string;
  wsUrl: string;
  port: number;
  persistDir: string;
  /** Everything wrangler printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Reuse a previous server's storage (a restart). */
  persistDir?: string;
  /** Reuse a previous server's port, so clients reconnect to the same address. */
  port?: number;
  vars?: Record<string, string>;
}

export async function startServer(opts: ServerOptions = {}): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const persistDir = opts.persistDir ?? mkdtempSync(join(tmpdir(), "rooms-e2e-"));
  const vars = Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
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
    output: () => out,
    stop: () => stopProcessGroup(child),
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
