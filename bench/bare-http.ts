/**
 * What an HTTP request into a Durable Object costs under `wrangler dev`, one step at a time, on
 * the bare Worker of bench/peers/bare-do (see its index.ts): the trivial route (426 from the
 * Worker), reading the body, an HMAC over it, an RPC to the room's object, that RPC with one
 * INSERT confirmed before the answer, that with the JSON log line a push writes, and a push's
 * four statements. `npm run bench` measures the trivial route, `/rpc`, `/rpc-sql` and
 * `/rpc-sql-log` around its signed pushes (the comparison of issue 18);
 * `node bench/variants.ts --http` measures them all.
 */
import { snapshot, usageBetween, type Usage } from "./procs.ts";
import { nowMs } from "./stats.ts";
import type { RunningSystem } from "./systems.ts";

export interface HttpStep {
  label: string;
  method: "GET" | "POST";
  path: string;
  status: number;
}

export const HTTP_STEPS: Record<
  "trivial" | "body" | "hmac" | "rpc" | "rpcSql" | "rpcSqlLog" | "rpcPush",
  HttpStep
> = {
  trivial: {
    label: "GET /room/x → 426 (the trivial route)",
    method: "GET",
    path: "/room/x",
    status: 426,
  },
  body: {
    label: "POST /body: read the body, answer JSON",
    method: "POST",
    path: "/body",
    status: 200,
  },
  hmac: {
    label: "POST /hmac: + HMAC-SHA256 of the body",
    method: "POST",
    path: "/hmac",
    status: 200,
  },
  rpc: {
    label: "POST /rpc: + an RPC to the room's object",
    method: "POST",
    path: "/rpc",
    status: 200,
  },
  rpcSql: {
    label: "POST /rpc-sql: + one INSERT before the answer",
    method: "POST",
    path: "/rpc-sql",
    status: 200,
  },
  rpcSqlLog: {
    label: "POST /rpc-sql-log: + the JSON log line a push writes",
    method: "POST",
    path: "/rpc-sql-log",
    status: 200,
  },
  rpcPush: {
    label: "POST /rpc-push: + a push's four statements instead",
    method: "POST",
    path: "/rpc-push",
    status: 200,
  },
};

/** A push-sized body: one event with ~100 bytes of data. */
const BODY = JSON.stringify({ room: "http", event: "bench", data: { text: "x".repeat(100) } });

export interface StepRate {
  label: string;
  requests: number;
  perSec: number;
  server: Usage;
}

/** `count` requests of one step, `concurrency` in flight; each must answer the step's status. */
export async function httpStep(
  sys: RunningSystem,
  step: HttpStep,
  count: number,
  concurrency: number,
): Promise<StepRate> {
  const pids = sys.pids();
  const server0 = snapshot(pids);
  const t0 = nowMs();
  let next = 0;
  const lane = async () => {
    while (next++ < count) {
      const res = await fetch(`${sys.baseUrl}${step.path}`, {
        method: step.method,
        ...(step.method === "POST" ? { body: BODY } : {}),
      });
      await res.arrayBuffer();
      if (res.status !== step.status)
        throw new Error(`${step.method} ${step.path} answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  const seconds = (nowMs() - t0) / 1000;
  return {
    label: step.label,
    requests: count,
    perSec: count / seconds,
    server: usageBetween(server0, snapshot(pids)),
  };
}

export const HTTP_BODY_BYTES = BODY.length;
