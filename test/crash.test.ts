/**
 * A crash between two turns. A client frame is received in one turn and written in a later one
 * (with the rest of that turn's frames, just before they are sent). If the object dies between
 * the two, what the first turn wrote must not outlive the frame: an idempotency key that
 * survived its frame made a re-send be acked with a seq that then went to another member's
 * message, and the re-sent frame was never stored. Here the write of the frames fails (as a
 * crash at that point would), the object is evicted and woken, and the member re-sends.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { type Client, type Frame, join, uniqueRoom } from "./helpers";

const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});
const track = <T extends { client: Client }>(j: T): T => {
  opened.push(j.client);
  return j;
};

/** Makes the object's next write of frames throw, as if it died right there. */
async function failNextFrameWrite(room: string): Promise<void> {
  await runInDurableObject(env.ROOMS.getByName(room), (_instance, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    let armed = true;
    Object.defineProperty(sql, "exec", {
      configurable: true,
      value: (query: string, ...bindings: unknown[]) => {
        if (armed && /^\s*INSERT INTO frames/.test(query)) {
          armed = false;
          throw new Error("simulated crash while writing frames");
        }
        return exec(query, ...(bindings as SqlStorageValue[]));
      },
    });
  });
}

/**
 * Restarts the room from storage. A failed write has usually restarted it already (then there
 * is nothing to evict); otherwise this evicts it, which is what a crash does.
 */
async function restart(room: string): Promise<void> {
  try {
    await evictDurableObject(env.ROOMS.getByName(room));
  } catch (err) {
    if (!/not currently running/.test(String(err))) throw err;
  }
}

/** Every stored frame of the room, read by a member that may see them all. */
async function storedFrames(room: string): Promise<Frame[]> {
  const { client } = track(await join(room, { user: "auditor", since: "0" }));
  client.send({ type: "history", limit: 100 });
  return (await client.waitFor((f) => f.type === "history", "the history page")).messages;
}

describe("a crash between receiving a frame and writing it", () => {
  it("never acks a re-sent id with a seq that holds another frame, and never reuses a seq", async () => {
    const room = uniqueRoom();
    const { client: ann } = track(await join(room, { user: "ann" }));
    ann.send({ type: "message", data: "before", id: "a-0" });
    const first = await ann.waitFor((f) => f.type === "ack" && f.id === "a-0", "the first ack");

    await failNextFrameWrite(room);
    ann.send({ type: "message", data: "lost in the crash", id: "a-1" });
    // The failed write restarts the object, which closes its sockets. (Had it lived on, any
    // answer to a later frame would come after the failed write: a history page writes pending
    // frames first, so the failure may land there and the answer be an error frame.)
    ann.send({ type: "history", limit: 1 });
    await Promise.race([
      ann.closed,
      ann.waitFor((f) => f.type === "history" || f.type === "error", "the crash to pass"),
    ]);
    expect(ann.pending.some((f) => f.type === "ack" && f.id === "a-1")).toBe(false);
    expect(ann.raw.some((m) => m.includes('"a-1"'))).toBe(false); // nothing of it was sent
    ann.close();
    // The object dies; its memory goes, its storage stays.
    await restart(room);

    // Another member writes first after the restart, then ann re-sends what was not acked.
    const { client: bo } = track(await join(room, { user: "bo" }));
    bo.send({ type: "message", data: "bo after the restart", id: "b-1" });
    const boAck = await bo.waitFor((f) => f.type === "ack" && f.id === "b-1", "bo's ack");
    const { client: ann2 } = track(await join(room, { user: "ann", since: String(first.seq) }));
    ann2.send({ type: "message", data: "lost in the crash", id: "a-1" });
    const resent = await ann2.waitFor((f) => f.type === "ack" && f.id === "a-1", "the re-ack");

    expect(resent.seq).not.toBe(boAck.seq);
    const frames = await storedFrames(room);
    const seqs = frames.map((f) => f.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(frames.find((f) => f.seq === resent.seq)).toMatchObject({
      id: "a-1",
      from: { id: "ann" },
      data: "lost in the crash",
    });
    expect(frames.find((f) => f.seq === boAck.seq)).toMatchObject({ id: "b-1" });
    expect(frames.filter((f) => f.id === "a-1")).toHaveLength(1);
  });

  it("never answers a re-sent push id with results the crash lost", async () => {
    const room = uniqueRoom();
    const stub = env.ROOMS.getByName(room);
    await failNextFrameWrite(room);
    const event = { id: "p1", event: "order.paid", data: 7, to: null, store: true };
    const failed = await stub.publish("push-1", [event]).then(
      () => null,
      (err: unknown) => err,
    );
    expect(String(failed)).toMatch(/restarting from storage/);
    await restart(room);
    const again = await env.ROOMS.getByName(room).publish("push-1", [event]);
    expect(again.duplicate).toBe(false);
    const frames = await storedFrames(room);
    expect(frames.filter((f) => f.id === "p1")).toHaveLength(1);
    expect(frames.find((f) => f.id === "p1")!.seq).toBe(again.results[0]!.seq);
  });
});
