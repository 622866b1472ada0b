/**
 * Child processes for the tools that start servers (test/e2e/server.ts, bench/systems.ts): a
 * free loopback port, and stopping a process group — wrangler dev and the workerd processes it
 * starts — politely first, then for good.
 */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `first` (SIGTERM unless told otherwise; SIGKILL for a simulated crash) to the child's process
 * group (it must be spawned with `detached: true`), SIGKILL after `graceMs` if it has not
 * exited; resolves once the child has exited.
 */
export async function stopProcessGroup(
  child: ChildProcess,
  graceMs = 5000,
  first: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // the group is already gone
    }
  };
  signal(first);
  const timer = setTimeout(() => signal("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
