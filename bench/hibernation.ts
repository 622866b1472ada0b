/**
 * Proof from outside that an idle room is evicted while its sockets stay open: something that
 * lives only in the object's memory must be new after an idle spell, and every socket must still
 * be there to receive the next broadcast.
 */
import type { ClientPool } from "./clients.ts";
import type { RunningSystem } from "./systems.ts";
import { collectAll, nextRun, rssOf, sleep, type Room, type Rss } from "./workloads.ts";

export interface Hibernation {
  sockets: number;
  idleSec: number;
  evicted: boolean;
  /** How eviction was seen from outside. */
  evidence: string;
  pongs?: number;
  rssBeforeIdle: Rss;
  rssAfterIdle: Rss;
}

/**
 * This project: the room's rate-limit buckets live in memory only (members.ts), so with
 * RATE_PER_SEC tiny and RATE_BURST 1, a second frame is refused, and after an idle spell a frame
 * is accepted again only if the object was evicted and rebuilt: a fresh bucket. All sockets must
 * stay open throughout (a close fails the run) and receive the frame sent after the wake-up.
 * The runtime's auto-response answers `ping` during the idle spell without waking the room.
 */
export async function hibernationEdgeRooms(
  sys: RunningSystem,
  pool: ClientPool,
  room: Room,
  idleSec: number,
): Promise<Hibernation> {
  const one = async (expectRefusal: boolean): Promise<"delivered" | "refused"> => {
    const run = nextRun();
    pool.resetProgress();
    await pool.all(() => ({ cmd: "expect", run, kind: "message", total: 1 }));
    const refused = pool
      .call<{ code: string }>(0, { cmd: "waitFrame", socket: 0, type: "error", timeoutMs: 10_000 })
      .then((f) =>
        f.code === "rate_limited"
          ? ("refused" as const)
          : Promise.reject(new Error(`error frame ${f.code}`)),
      );
    await pool.call(0, { cmd: "send", run, from: 0, to: 1 });
    if (expectRefusal) return refused;
    refused.catch(() => {}); // no refusal is the expected outcome here: its timeout is not an error
    return Promise.race([refused, collectAll(pool, run).then(() => "delivered" as const)]);
  };
  if ((await one(false)) !== "delivered")
    throw new Error("hibernation: the first frame was refused");
  if ((await one(true)) !== "refused")
    throw new Error("hibernation: the bucket did not refuse a second frame");
  const rssBeforeIdle = rssOf(sys);
  await sleep((idleSec - 5) * 1000);
  // Keep-alives during the idle spell: answered by the runtime, they must not wake the room.
  const pongs = await pool.all<{ pongs: number }>(() => ({ cmd: "ping", timeoutMs: 5000 }));
  await sleep(5000);
  const rssAfterIdle = rssOf(sys);
  const outcome = await one(false);
  return {
    sockets: room.n,
    idleSec,
    evicted: outcome === "delivered",
    evidence:
      outcome === "delivered"
        ? "a frame the in-memory rate-limit bucket had refused before the idle spell was accepted after it (the object was rebuilt) and reached every socket; no socket closed"
        : "the in-memory bucket still refused after the idle spell: the object was not evicted",
    pongs: pongs.reduce((s, p) => s + p.pongs, 0),
    rssBeforeIdle,
    rssAfterIdle,
  };
}

/** The partyserver peer answers `whoami` with an id drawn per object instance. */
export async function hibernationPartyserver(
  sys: RunningSystem,
  pool: ClientPool,
  room: Room,
  idleSec: number,
): Promise<Hibernation> {
  const whoami = async () => {
    const frame = pool.call<{ instance: string }>(0, {
      cmd: "waitFrame",
      socket: 0,
      type: "whoami",
      timeoutMs: 10_000,
    });
    await pool.call(0, { cmd: "sendText", socket: 0, text: "whoami" });
    return (await frame).instance;
  };
  const before = await whoami();
  const rssBeforeIdle = rssOf(sys);
  await sleep(idleSec * 1000);
  const rssAfterIdle = rssOf(sys);
  const after = await whoami();
  // And the room still reaches every socket after the wake-up.
  const run = nextRun();
  pool.resetProgress();
  await pool.all(() => ({ cmd: "expect", run, kind: "message", total: 1 }));
  await pool.call(0, { cmd: "send", run, from: 0, to: 1 });
  await collectAll(pool, run);
  return {
    sockets: room.n,
    idleSec,
    evicted: before !== after,
    evidence:
      before !== after
        ? "the object's instance id changed across the idle spell while no socket closed, and a broadcast after it reached every socket"
        : "the same object instance answered after the idle spell: not evicted",
    rssBeforeIdle,
    rssAfterIdle,
  };
}
