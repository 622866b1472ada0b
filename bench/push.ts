/**
 * Signed `POST /push` into a room, end to end (first request to the last delivery on the last
 * socket), and the trivial route beside it: the local HTTP ceiling of `wrangler dev`.
 */
import { signWebhook } from "../src/protocol/webhook.ts";
import type { ClientPool } from "./clients.ts";
import { snapshot, usageBetween, type Usage } from "./procs.ts";
import { nowMs } from "./stats.ts";
import type { RunningSystem } from "./systems.ts";
import { collectAll, nextRun, tag, type Room } from "./workloads.ts";

/** Runs `count` async jobs with `concurrency` in flight; returns the wall time in ms. */
async function inParallel(
  count: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<number> {
  const t0 = nowMs();
  let next = 0;
  const lane = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return nowMs() - t0;
}

export interface HttpRate {
  requests: number;
  perSec: number;
  server: Usage;
  /** The harness's own process (request signing, fetch, the client threads). */
  client: Usage;
}

/** The local HTTP ceiling: a GET the Worker answers at once (426 for a room without upgrade). */
export async function trivialRoute(
  sys: RunningSystem,
  count: number,
  concurrency: number,
): Promise<HttpRate> {
  const url = `${sys.baseUrl}/room/bench-ceiling`;
  const pids = sys.pids();
  const server0 = snapshot(pids);
  const client0 = snapshot([process.pid]);
  const ms = await inParallel(count, concurrency, async () => {
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 426)
      throw new Error(`GET /room/bench-ceiling answered ${res.status}, expected 426`);
  });
  return {
    requests: count,
    perSec: count / (ms / 1000),
    server: usageBetween(server0, snapshot(pids)),
    client: usageBetween(client0, snapshot([process.pid])),
  };
}

export interface PushRate {
  requests: number;
  events: number;
  /** Requests per second until the last response. */
  requestsPerSec: number;
  /** Events per second from the first request to the last delivery on the last socket. */
  eventsPerSec: number;
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  server: Usage;
  client: Usage;
}

/**
 * Signed `POST /push` into the room, `perRequest` events a request (1: the single form; more:
 * the `{"events": [...]}` batch), `concurrency` requests in flight. End to end: the clock stops
 * at the last delivery to the last socket, and every socket must get every event. `path`: the
 * bare Worker's push into a room of its own (`/rpc-publish-log/<room>`), signed the same way
 * so the harness does the same work, though nothing there checks it.
 */
export async function push(
  sys: RunningSystem,
  pool: ClientPool,
  room: Room,
  secret: string,
  requests: number,
  perRequest: number,
  concurrency: number,
  path = "/push",
): Promise<PushRate> {
  const run = nextRun();
  const events = requests * perRequest;
  pool.resetProgress();
  await pool.all(() => ({ cmd: "expect", run, kind: "event", total: events }));
  const pids = sys.pids();
  const server0 = snapshot(pids);
  const client0 = snapshot([process.pid]);
  const t0 = nowMs();
  const ms = await inParallel(requests, concurrency, async (k) => {
    const t = nowMs();
    const event = (i: number) => ({ room: room.name, event: "bench", data: { r: run, i, t } });
    const body = JSON.stringify(
      perRequest === 1
        ? event(k)
        : { events: Array.from({ length: perRequest }, (_, j) => event(k * perRequest + j)) },
    );
    const headers = await signWebhook(secret, `bench-${tag}-${run}-${k}`, body);
    const res = await fetch(`${sys.baseUrl}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body,
    });
    const text = await res.text();
    if (res.status !== 200)
      throw new Error(`POST ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    const answer = JSON.parse(text) as { results: { delivered: number }[] };
    const short = answer.results.find((r) => r.delivered !== room.n);
    if (answer.results.length !== perRequest || short !== undefined) {
      throw new Error(
        `POST ${path} delivered to ${short?.delivered} sockets, expected ${room.n}: ${text.slice(0, 300)}`,
      );
    }
  });
  const c = await collectAll(pool, run);
  const server1 = snapshot(pids);
  const client1 = snapshot([process.pid]);
  if (c.deliveries !== events * room.n)
    throw new Error(`push: ${c.deliveries} deliveries, expected ${events * room.n}`);
  const e2eSec = (c.lastAt - t0) / 1000;
  return {
    requests,
    events,
    requestsPerSec: requests / (ms / 1000),
    eventsPerSec: events / e2eSec,
    deliveriesPerSec: c.deliveries / e2eSec,
    p50: c.hist.quantile(0.5),
    p99: c.hist.quantile(0.99),
    server: usageBetween(server0, server1),
    client: usageBetween(client0, client1),
  };
}

/** What the server API's `info` says of a room (signed with PUSH_SECRET, as a push is). */
export interface RoomInfo {
  occupied: boolean;
  members: number;
  sockets: number;
  seq: number;
  shards?: number;
}

export async function roomInfo(
  sys: RunningSystem,
  secret: string,
  room: string,
): Promise<RoomInfo> {
  const body = JSON.stringify({ rooms: [room] });
  const headers = await signWebhook(secret, `bench-info-${tag}-${nextRun()}`, body);
  const res = await fetch(`${sys.baseUrl}/api/rooms/info`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /api/rooms/info answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { rooms: Record<string, RoomInfo> }).rooms[room]!;
}
