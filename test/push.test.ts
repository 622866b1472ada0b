/**
 * POST /push through the Worker's own fetch handler, with real sockets joined
 * to the rooms: what reaches whom, in which order, what the answer says, and every refusal with
 * its exact status and JSON body. Absence of a frame is proven by ordering: a later push must be
 * the next event a socket sees.
 */
import { env, exports } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import app from "../src/index";
import { handlePush } from "../src/worker/push";
import { readLimited } from "../src/worker/signed";
import {
  WEBHOOK_ID,
  WEBHOOK_SIGNATURE,
  WEBHOOK_TIMESTAMP,
  generateSecret,
  signWebhook,
} from "../src/protocol/webhook";
import { type Client, type Frame, join, uniqueRoom } from "./helpers";

const PUSH_URL = "https://rooms.test/push";
const MAX_PUSH_BYTES = 16384; // vitest.config.ts lowers the default for these tests

const pushSecret = (): string => {
  // src/env.d.ts declares the secrets on the global Env, not on Cloudflare.Env that `env` is typed with.
  const secret = (env as Env).PUSH_SECRET;
  if (!secret) throw new Error("vitest.config.ts must bind PUSH_SECRET");
  return secret;
};
const newPushId = () => `msg_${crypto.randomUUID()}`;
const nowSec = () => Math.floor(Date.now() / 1000);

// Every socket a test opens is closed after it, whether it passed or not.
const open: Client[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
async function joinAs(
  room: string,
  user: string,
  name = user,
  params: Record<string, string> = {},
) {
  const joined = await join(room, { user, name, ...params });
  open.push(joined.client);
  return joined;
}

/** Posts raw bytes with exactly these headers. */
async function post(body: string | Uint8Array | ReadableStream, headers: Record<string, string>) {
  const res = await exports.default.fetch(PUSH_URL, { method: "POST", headers, body });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return {
    status: res.status,
    type: res.headers.get("Content-Type"),
    json: (await res.json()) as any,
  };
}

interface PushOptions {
  id?: string;
  ts?: number;
  secret?: string;
}

/** Signs a body with PUSH_SECRET (or `secret`) and posts it. */
async function push(body: unknown, opts: PushOptions = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const id = opts.id ?? newPushId();
  const signed = await signWebhook(opts.secret ?? pushSecret(), id, text, opts.ts);
  return { id, ...(await post(text, { ...signed, "Content-Type": "application/json" })) };
}

/** The first event frame a socket has (or will have): earlier events would come first. */
const nextEvent = (c: Client): Promise<Frame> =>
  c.waitFor((f) => f.type === "event", "an event frame");
const pendingEvents = (c: Client) => c.pending.filter((f) => f.type === "event");

function expectEvent(
  frame: Frame,
  want: { seq?: number; id: string; event: string; data: unknown; to: string | null },
  since: number,
) {
  const { seq, ...rest } = want;
  expect(frame).toEqual({
    type: "event",
    ...(seq === undefined ? {} : { seq }),
    ...rest,
    ts: expect.any(Number),
  });
  expect(frame.ts).toBeGreaterThanOrEqual(since);
  expect(frame.ts).toBeLessThanOrEqual(Date.now());
}

async function history(c: Client): Promise<Frame[]> {
  c.send({ type: "history", limit: 100 });
  const page = await c.waitFor((f) => f.type === "history", "a history frame");
  return page.messages as Frame[];
}

describe("POST /push delivery", () => {
  it("delivers one event as an event frame to every socket and counts the sockets", async () => {
    const room = uniqueRoom("push");
    const { client: ann1 } = await joinAs(room, "ann", "Ann");
    const { client: ann2 } = await joinAs(room, "ann", "Ann");
    const { client: bo } = await joinAs(room, "bo", "Bo");
    const t0 = Date.now();
    const res = await push({ room, event: "order.paid", data: { order: 7 } });
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.json).toEqual({ results: [{ room, seq: 1, delivered: 3, duplicate: false }] });
    for (const c of [ann1, ann2, bo]) {
      expectEvent(
        await nextEvent(c),
        { seq: 1, id: res.id, event: "order.paid", data: { order: 7 }, to: null },
        t0,
      );
    }
  });

  it("gives pushed events the room's next seq after client messages", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    ann.send({ type: "message", data: "hi", id: "c-1" });
    expect(await ann.waitFor((f) => f.type === "ack")).toEqual({ type: "ack", id: "c-1", seq: 1 });
    const res = await push({ room, event: "x", data: null });
    expect(res.json.results).toEqual([{ room, seq: 2, delivered: 1, duplicate: false }]);
    expect(await nextEvent(ann)).toMatchObject({ seq: 2, id: res.id });
  });

  it("delivers a targeted event only to that user's sockets; only they replay and list it", async () => {
    const room = uniqueRoom("push");
    const { client: ann1 } = await joinAs(room, "ann");
    const { client: ann2 } = await joinAs(room, "ann");
    const { client: bo } = await joinAs(room, "bo");
    const { client: cy } = await joinAs(room, "cy");
    const t0 = Date.now();

    const targeted = await push({ room, event: "note", data: { for: "ann" }, to: "ann" });
    expect(targeted.status).toBe(200);
    expect(targeted.json).toEqual({ results: [{ room, seq: 1, delivered: 2, duplicate: false }] });
    const open2 = await push({ room, event: "note", data: { for: "all" } });
    expect(open2.json).toEqual({ results: [{ room, seq: 2, delivered: 4, duplicate: false }] });

    for (const c of [ann1, ann2]) {
      expectEvent(
        await nextEvent(c),
        { seq: 1, id: targeted.id, event: "note", data: { for: "ann" }, to: "ann" },
        t0,
      );
      expectEvent(
        await nextEvent(c),
        { seq: 2, id: open2.id, event: "note", data: { for: "all" }, to: null },
        t0,
      );
    }
    // The others see a gap: their first event is seq 2.
    for (const c of [bo, cy]) {
      expect(await nextEvent(c)).toMatchObject({ seq: 2, id: open2.id, to: null });
      expect(pendingEvents(c)).toEqual([]);
    }

    // Replay on join follows the same visibility.
    const { client: ann3, welcome: annWelcome } = await joinAs(room, "ann");
    expect(annWelcome.seq).toBe(2);
    expect(annWelcome.replay).toEqual({ from: 0, count: 2, complete: true });
    expect(await ann3.next()).toMatchObject({ type: "event", seq: 1, id: targeted.id, to: "ann" });
    expect(await ann3.next()).toMatchObject({ type: "event", seq: 2, id: open2.id });
    const { client: bo2, welcome: boWelcome } = await joinAs(room, "bo");
    expect(boWelcome.seq).toBe(2);
    expect(boWelcome.replay).toEqual({ from: 1, count: 1, complete: true });
    expect(await bo2.next()).toMatchObject({ type: "event", seq: 2, id: open2.id });

    // And so does history.
    expect((await history(ann1)).map((f) => f.seq)).toEqual([1, 2]);
    expect((await history(cy)).map((f) => f.seq)).toEqual([2]);
  });

  it("stores a targeted event for a user who is not connected and counts 0 deliveries", async () => {
    const room = uniqueRoom("push");
    const { client: bo } = await joinAs(room, "bo");
    const res = await push({ room, event: "later", data: 1, to: "ann" });
    expect(res.json).toEqual({ results: [{ room, seq: 1, delivered: 0, duplicate: false }] });
    const after = await push({ room, event: "now", data: 2 });
    expect(after.json.results[0]).toEqual({ room, seq: 2, delivered: 1, duplicate: false });
    expect(await nextEvent(bo)).toMatchObject({ seq: 2, id: after.id });

    const { client: ann, welcome } = await joinAs(room, "ann");
    expect(welcome.replay).toEqual({ from: 0, count: 2, complete: true });
    expect(await ann.next()).toMatchObject({
      type: "event",
      seq: 1,
      id: res.id,
      event: "later",
      to: "ann",
    });
  });

  it("sends a store:false event live only: no seq, not replayed, no seq consumed", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    const t0 = Date.now();
    const live = await push({ room, event: "typing", data: { who: "x" }, store: false });
    expect(live.status).toBe(200);
    expect(live.json).toEqual({ results: [{ room, seq: null, delivered: 1, duplicate: false }] });
    const liveFrame = await nextEvent(ann);
    expect("seq" in liveFrame).toBe(false);
    expectEvent(liveFrame, { id: live.id, event: "typing", data: { who: "x" }, to: null }, t0);

    const stored = await push({ room, event: "saved", data: 1, store: true });
    expect(stored.json).toEqual({ results: [{ room, seq: 1, delivered: 1, duplicate: false }] });
    expect(await nextEvent(ann)).toMatchObject({ seq: 1, id: stored.id, event: "saved" });

    const { client: bo, welcome } = await joinAs(room, "bo");
    expect(welcome.seq).toBe(1);
    expect(welcome.replay).toEqual({ from: 0, count: 1, complete: true });
    expect(await bo.next()).toMatchObject({ type: "event", seq: 1, id: stored.id });
    expect(pendingEvents(bo)).toEqual([]);
    expect((await history(bo)).map((f) => f.id)).toEqual([stored.id]);
  });

  it("delivers a batch across rooms in request order, with #index ids and consecutive seqs per room", async () => {
    const [r1, r2, r3] = [uniqueRoom("b1"), uniqueRoom("b2"), uniqueRoom("b3")];
    const { client: a1 } = await joinAs(r1, "ann");
    const { client: b1 } = await joinAs(r1, "bo");
    const { client: a2 } = await joinAs(r2, "ann");
    const events = [
      { room: r1, event: "e0", data: 0 },
      { room: r2, event: "e1", data: 1 },
      { room: r1, event: "e2", data: 2 },
      { room: r3, event: "e3", data: 3 },
      { room: r2, event: "e4", data: 4, store: false },
      { room: r2, event: "e5", data: 5 },
      { room: r1, event: "e6", data: 6, to: "bo" },
    ];
    const t0 = Date.now();
    const res = await push({ events });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      results: [
        { room: r1, seq: 1, delivered: 2, duplicate: false },
        { room: r2, seq: 1, delivered: 1, duplicate: false },
        { room: r1, seq: 2, delivered: 2, duplicate: false },
        { room: r3, seq: 1, delivered: 0, duplicate: false },
        { room: r2, seq: null, delivered: 1, duplicate: false },
        { room: r2, seq: 2, delivered: 1, duplicate: false },
        { room: r1, seq: 3, delivered: 1, duplicate: false },
      ],
    });
    const id = (i: number) => `${res.id}#${i}`;
    for (const c of [a1, b1]) {
      expectEvent(await nextEvent(c), { seq: 1, id: id(0), event: "e0", data: 0, to: null }, t0);
      expectEvent(await nextEvent(c), { seq: 2, id: id(2), event: "e2", data: 2, to: null }, t0);
    }
    expectEvent(await nextEvent(b1), { seq: 3, id: id(6), event: "e6", data: 6, to: "bo" }, t0);
    expectEvent(await nextEvent(a2), { seq: 1, id: id(1), event: "e1", data: 1, to: null }, t0);
    expectEvent(await nextEvent(a2), { id: id(4), event: "e4", data: 4, to: null }, t0);
    expectEvent(await nextEvent(a2), { seq: 2, id: id(5), event: "e5", data: 5, to: null }, t0);

    const { client: a3, welcome } = await joinAs(r3, "ann");
    expect(welcome.replay).toEqual({ from: 0, count: 1, complete: true });
    expect(await a3.next()).toMatchObject({ type: "event", seq: 1, id: id(3), event: "e3" });
    // ann never saw bo's targeted e6: a later push is her next event.
    const later = await push({ room: r1, event: "later", data: null });
    expect(later.json.results[0]).toEqual({ room: r1, seq: 4, delivered: 2, duplicate: false });
    expect(await nextEvent(a1)).toMatchObject({ seq: 4, id: later.id });
  });

  it("accepts a batch of 100 events", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    const events = Array.from({ length: 100 }, (_, i) => ({ room, event: "n", data: i }));
    const res = await push({ events });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      results: events.map((_, i) => ({ room, seq: i + 1, delivered: 1, duplicate: false })),
    });
    for (let i = 0; i < 100; i++) {
      expect(await nextEvent(ann)).toMatchObject({ seq: i + 1, id: `${res.id}#${i}`, data: i });
    }
  });

  it("refuses a batch of 101 events and an empty batch, delivering nothing", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    const message = '"events" must be an array of 1-100 events';
    const tooMany = await push({
      events: Array.from({ length: 101 }, (_, i) => ({ room, event: "n", data: i })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toEqual({ error: "invalid_body", message });
    const empty = await push({ events: [] });
    expect(empty.status).toBe(400);
    expect(empty.json).toEqual({ error: "invalid_body", message });
    const notArray = await push({ events: { room, event: "n", data: 1 } });
    expect(notArray.status).toBe(400);
    expect(notArray.json).toEqual({ error: "invalid_body", message });

    const ok = await push({ room, event: "after", data: null });
    expect(ok.json.results[0]).toEqual({ room, seq: 1, delivered: 1, duplicate: false });
    expect(await nextEvent(ann)).toMatchObject({ seq: 1, id: ok.id, event: "after" });
  });

  it("answers a repeated webhook-id with the first results marked duplicate and delivers nothing", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    const { client: bo } = await joinAs(room, "bo");
    const body = { room, event: "order.paid", data: { order: 7 } };
    const first = await push(body);
    expect(first.json).toEqual({ results: [{ room, seq: 1, delivered: 2, duplicate: false }] });
    // A retry: same id and body, signed again (a later timestamp), as a sender's retry would be.
    const again = await push(body, { id: first.id, ts: nowSec() + 5 });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ results: [{ room, seq: 1, delivered: 2, duplicate: true }] });
    const third = await push(body, { id: first.id });
    expect(third.json).toEqual({ results: [{ room, seq: 1, delivered: 2, duplicate: true }] });

    const next = await push({ room, event: "next", data: null });
    expect(next.json).toEqual({ results: [{ room, seq: 2, delivered: 2, duplicate: false }] });
    for (const c of [ann, bo]) {
      expect(await nextEvent(c)).toMatchObject({ seq: 1, id: first.id });
      expect(await nextEvent(c)).toMatchObject({ seq: 2, id: next.id });
    }
    const { welcome } = await joinAs(room, "cy");
    expect(welcome).toMatchObject({ seq: 2, replay: { from: 0, count: 2, complete: true } });
  });

  it("delivers once when the same webhook-id arrives twice at the same moment", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    const body = { room, event: "race", data: 1 };
    const id = newPushId();
    const [a, b] = await Promise.all([push(body, { id }), push(body, { id })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const duplicates = [a.json.results[0].duplicate, b.json.results[0].duplicate].sort();
    expect(duplicates).toEqual([false, true]);
    expect(a.json.results[0]).toMatchObject({ room, seq: 1, delivered: 1 });
    expect(b.json.results[0]).toMatchObject({ room, seq: 1, delivered: 1 });
    const next = await push({ room, event: "next", data: null });
    expect(next.json.results[0].seq).toBe(2);
    expect(await nextEvent(ann)).toMatchObject({ seq: 1, id });
    expect(await nextEvent(ann)).toMatchObject({ seq: 2, id: next.id });
  });

  it("answers a repeated batch with every room's first results marked duplicate", async () => {
    const [r1, r2] = [uniqueRoom("d1"), uniqueRoom("d2")];
    const { client: a1 } = await joinAs(r1, "ann");
    const { client: a2 } = await joinAs(r2, "ann");
    const body = {
      events: [
        { room: r1, event: "x", data: 0 },
        { room: r2, event: "x", data: 1, store: false },
        { room: r1, event: "x", data: 2 },
      ],
    };
    const first = await push(body);
    expect(first.json.results).toEqual([
      { room: r1, seq: 1, delivered: 1, duplicate: false },
      { room: r2, seq: null, delivered: 1, duplicate: false },
      { room: r1, seq: 2, delivered: 1, duplicate: false },
    ]);
    const again = await push(body, { id: first.id });
    expect(again.json.results).toEqual([
      { room: r1, seq: 1, delivered: 1, duplicate: true },
      { room: r2, seq: null, delivered: 1, duplicate: true },
      { room: r1, seq: 2, delivered: 1, duplicate: true },
    ]);
    const n1 = await push({ room: r1, event: "n", data: null });
    const n2 = await push({ room: r2, event: "n", data: null });
    expect(await nextEvent(a1)).toMatchObject({ seq: 1, id: `${first.id}#0` });
    expect(await nextEvent(a1)).toMatchObject({ seq: 2, id: `${first.id}#2` });
    expect(await nextEvent(a1)).toMatchObject({ seq: 3, id: n1.id });
    expect(await nextEvent(a2)).toMatchObject({ id: `${first.id}#1`, data: 1 });
    expect(await nextEvent(a2)).toMatchObject({ seq: 1, id: n2.id });
  });

  it("accepts a push signed by the official standardwebhooks package", async () => {
    const room = uniqueRoom("push");
    const { client: ann } = await joinAs(room, "ann");
    const id = newPushId();
    const body = JSON.stringify({ room, event: "from.lib", data: { text: "héllo ✓" } });
    const at = new Date();
    const res = await post(body, {
      [WEBHOOK_ID]: id,
      [WEBHOOK_TIMESTAMP]: String(Math.floor(at.getTime() / 1000)),
      [WEBHOOK_SIGNATURE]: new Webhook(pushSecret()).sign(id, at, body),
      "Content-Type": "application/json",
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ results: [{ room, seq: 1, delivered: 1, duplicate: false }] });
    expect(await nextEvent(ann)).toMatchObject({
      seq: 1,
      id,
      event: "from.lib",
      data: { text: "héllo ✓" },
    });
  });

  it("accepts a push from a sender rotating keys (an old and the current signature)", async () => {
    const room = uniqueRoom("push");
    const body = JSON.stringify({ room, event: "x", data: 1 });
    const id = newPushId();
    const old = await signWebhook(generateSecret(), id, body);
    const current = await signWebhook(pushSecret(), id, body, Number(old[WEBHOOK_TIMESTAMP]));
    const res = await post(body, {
      ...current,
      [WEBHOOK_SIGNATURE]: `${old[WEBHOOK_SIGNATURE]} ${current[WEBHOOK_SIGNATURE]}`,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ results: [{ room, seq: 1, delivered: 0, duplicate: false }] });
  });

  it("accepts timestamps within the window: 290 s old and 290 s ahead", async () => {
    const room = uniqueRoom("push");
    const old = await push({ room, event: "x", data: 1 }, { ts: nowSec() - 290 });
    expect(old.status).toBe(200);
    expect(old.json.results).toEqual([{ room, seq: 1, delivered: 0, duplicate: false }]);
    const ahead = await push({ room, event: "x", data: 2 }, { ts: nowSec() + 290 });
    expect(ahead.status).toBe(200);
    expect(ahead.json.results).toEqual([{ room, seq: 2, delivered: 0, duplicate: false }]);
  });

  it("accepts a body of exactly MAX_PUSH_BYTES", async () => {
    const room = uniqueRoom("push");
    const skeleton = JSON.stringify({ room, event: "big", data: "" });
    const body = JSON.stringify({
      room,
      event: "big",
      data: "x".repeat(MAX_PUSH_BYTES - skeleton.length),
    });
    expect(new TextEncoder().encode(body).byteLength).toBe(MAX_PUSH_BYTES);
    const res = await push(body);
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([{ room, seq: 1, delivered: 0, duplicate: false }]);
  });
});

describe("POST /push refusals", () => {
  const badSignature = (message: string) => ({ error: "bad_signature", message });
  const MISSING =
    "missing header: webhook-id, webhook-timestamp and webhook-signature are required";
  const NO_MATCH = "no signature matches";
  const OUT_OF_WINDOW = "webhook-timestamp is more than 300 s from now";
  const invalidBody = (message: string) => ({ error: "invalid_body", message });

  /** A room with one socket, and a check that nothing reached it: the next push is seq 1. */
  async function watchedRoom() {
    const room = uniqueRoom("refuse");
    const { client } = await joinAs(room, "watcher");
    return {
      room,
      async expectNothingDelivered() {
        const ok = await push({ room, event: "probe", data: null });
        expect(ok.json.results).toEqual([{ room, seq: 1, delivered: 1, duplicate: false }]);
        expect(await nextEvent(client)).toMatchObject({ seq: 1, id: ok.id, event: "probe" });
      },
    };
  }

  it.each([WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE])(
    "refuses 401 without the %s header",
    async (header) => {
      const w = await watchedRoom();
      const body = JSON.stringify({ room: w.room, event: "x", data: 1 });
      const signed = await signWebhook(pushSecret(), newPushId(), body);
      delete signed[header];
      const res = await post(body, signed);
      expect(res.status).toBe(401);
      expect(res.type).toMatch(/^application\/json/);
      expect(res.json).toEqual(badSignature(MISSING));
      await w.expectNothingDelivered();
    },
  );

  it("refuses 401 a push signed with another secret", async () => {
    const w = await watchedRoom();
    const res = await push({ room: w.room, event: "x", data: 1 }, { secret: generateSecret() });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(badSignature(NO_MATCH));
    await w.expectNothingDelivered();
  });

  it("refuses 401 a body with one byte changed after signing", async () => {
    const w = await watchedRoom();
    const body = JSON.stringify({ room: w.room, event: "x", data: 1 });
    const signed = await signWebhook(pushSecret(), newPushId(), body);
    const res = await post(body.replace('"data":1', '"data":2'), signed);
    expect(res.status).toBe(401);
    expect(res.json).toEqual(badSignature(NO_MATCH));
    await w.expectNothingDelivered();
  });

  it("refuses 401 a timestamp 301 s old", async () => {
    const w = await watchedRoom();
    const res = await push({ room: w.room, event: "x", data: 1 }, { ts: nowSec() - 301 });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(badSignature(OUT_OF_WINDOW));
    await w.expectNothingDelivered();
  });

  it("refuses 401 a timestamp in the future beyond 300 s", async () => {
    // 310, not 301: the Worker's clock may be a second ahead of this one by the time it reads it.
    const w = await watchedRoom();
    const res = await push({ room: w.room, event: "x", data: 1 }, { ts: nowSec() + 310 });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(badSignature(OUT_OF_WINDOW));
    await w.expectNothingDelivered();
  });

  it("refuses 401 a non-numeric timestamp", async () => {
    const body = JSON.stringify({ room: uniqueRoom(), event: "x", data: 1 });
    const signed = await signWebhook(pushSecret(), newPushId(), body);
    const res = await post(body, { ...signed, [WEBHOOK_TIMESTAMP]: "soon" });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(badSignature("webhook-timestamp must be unix seconds"));
  });

  it("verifies before parsing: an unsigned malformed body is 401, not 400", async () => {
    const res = await post("{not json", { "Content-Type": "application/json" });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(badSignature(MISSING));
    const forged = await post("{not json", {
      [WEBHOOK_ID]: newPushId(),
      [WEBHOOK_TIMESTAMP]: String(nowSec()),
      [WEBHOOK_SIGNATURE]: "v1,AAAA",
    });
    expect(forged.status).toBe(401);
    expect(forged.json).toEqual(badSignature(NO_MATCH));
  });

  it("refuses 413 a signed body one byte over MAX_PUSH_BYTES", async () => {
    const w = await watchedRoom();
    const skeleton = JSON.stringify({ room: w.room, event: "big", data: "" });
    const body = JSON.stringify({
      room: w.room,
      event: "big",
      data: "x".repeat(MAX_PUSH_BYTES + 1 - skeleton.length),
    });
    expect(body.length).toBe(MAX_PUSH_BYTES + 1);
    const res = await push(body);
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      error: "too_large",
      message: `signed bodies are limited to ${MAX_PUSH_BYTES} bytes`,
    });
    await w.expectNothingDelivered();
  });

  it("refuses 413 an oversize body streamed without a Content-Length", async () => {
    const w = await watchedRoom();
    const body = JSON.stringify({
      room: w.room,
      event: "big",
      data: "x".repeat(3 * MAX_PUSH_BYTES),
    });
    const bytes = new TextEncoder().encode(body);
    const signed = await signWebhook(pushSecret(), newPushId(), bytes);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 1000)
          controller.enqueue(bytes.slice(at, at + 1000));
        controller.close();
      },
    });
    const res = await post(stream, signed);
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      error: "too_large",
      message: `signed bodies are limited to ${MAX_PUSH_BYTES} bytes`,
    });
    await w.expectNothingDelivered();
  });

  it("refuses 413 a huge body whose Content-Length claims it is small", async () => {
    const body = JSON.stringify({
      room: uniqueRoom(),
      event: "big",
      data: "x".repeat(2 * MAX_PUSH_BYTES),
    });
    const signed = await signWebhook(pushSecret(), newPushId(), body);
    // Through the Worker (the runtime may correct the header, but the answer must be 413 either way).
    const res = await post(body, { ...signed, "Content-Length": "10" });
    expect(res.status).toBe(413);
    expect(res.json).toEqual({
      error: "too_large",
      message: `signed bodies are limited to ${MAX_PUSH_BYTES} bytes`,
    });
    // And straight to the reader, where the lying header certainly arrives as sent.
    const lying = new Request(PUSH_URL, {
      method: "POST",
      headers: { "Content-Length": "10" },
      body,
    });
    expect(lying.headers.get("Content-Length")).toBe("10");
    await expect(readLimited(lying, MAX_PUSH_BYTES)).rejects.toMatchObject({
      status: 413,
      code: "too_large",
    });
    const honest = new Request(PUSH_URL, { method: "POST", body: "x".repeat(MAX_PUSH_BYTES) });
    expect((await readLimited(honest, MAX_PUSH_BYTES)).byteLength).toBe(MAX_PUSH_BYTES);
  });

  it.each([
    ["malformed JSON", '{"room":', "the body must be UTF-8 JSON"],
    ["an empty body", "", "the body must be UTF-8 JSON"],
    ["an array", "[1,2]", "the event must be an object"],
    ["a string", '"hello"', "the event must be an object"],
    ["null", "null", "the event must be an object"],
  ])("refuses 400 a signed body that is %s", async (_what, body, message) => {
    const res = await push(body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual(invalidBody(message));
  });

  it("refuses 400 a signed body that is not UTF-8", async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"room":"r","event":"x","data":"'),
      0xff,
      0xfe,
      0x22,
      0x7d,
    ]);
    const res = await post(bytes, await signWebhook(pushSecret(), newPushId(), bytes));
    expect(res.status).toBe(400);
    expect(res.json).toEqual(invalidBody("the body must be UTF-8 JSON"));
  });

  it("refuses 400 a batch with one invalid room and delivers nothing to its valid rooms", async () => {
    const w1 = await watchedRoom();
    const w2 = await watchedRoom();
    const res = await push({
      events: [
        { room: w1.room, event: "x", data: 0 },
        { room: "bad room!", event: "x", data: 1 },
        { room: w2.room, event: "x", data: 2 },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(
      invalidBody('events[1]: "room" must be 1-99 characters of A-Z a-z 0-9 _ . -'),
    );
    await w1.expectNothingDelivered();
    await w2.expectNothingDelivered();
  });

  it("refuses 400 a batch whose last event is invalid, delivering none of the earlier ones", async () => {
    const w = await watchedRoom();
    const events: unknown[] = Array.from({ length: 5 }, (_, i) => ({
      room: w.room,
      event: "x",
      data: i,
    }));
    events.push({ room: w.room, event: "x", data: 5, store: "yes" });
    const res = await push({ events });
    expect(res.status).toBe(400);
    expect(res.json).toEqual(invalidBody('events[5]: "store" must be true or false'));
    await w.expectNothingDelivered();
  });

  const ROOM_RULE = 'the event: "room" must be 1-99 characters of A-Z a-z 0-9 _ . -';
  const EVENT_RULE = 'the event: "event" must be 1-100 characters of A-Z a-z 0-9 _ . : -';
  const TO_RULE = 'the event: "to" must be a user id or null';
  const STORE_RULE = 'the event: "store" must be true or false';
  it.each([
    ["no room", { event: "x", data: 1 }, ROOM_RULE],
    ["a room with a space", { room: "bad room", event: "x", data: 1 }, ROOM_RULE],
    ["an empty room", { room: "", event: "x", data: 1 }, ROOM_RULE],
    ["a 100-character room", { room: "r".repeat(100), event: "x", data: 1 }, ROOM_RULE],
    ["a numeric room", { room: 7, event: "x", data: 1 }, ROOM_RULE],
    ["no event", { room: "r", data: 1 }, EVENT_RULE],
    ["an empty event", { room: "r", event: "", data: 1 }, EVENT_RULE],
    ["an event with a space", { room: "r", event: "order paid", data: 1 }, EVENT_RULE],
    ["a 101-character event", { room: "r", event: "e".repeat(101), data: 1 }, EVENT_RULE],
    ["a numeric event", { room: "r", event: 7, data: 1 }, EVENT_RULE],
    ["a to with a space", { room: "r", event: "x", data: 1, to: "bad user" }, TO_RULE],
    ["an empty to", { room: "r", event: "x", data: 1, to: "" }, TO_RULE],
    ["a 65-character to", { room: "r", event: "x", data: 1, to: "u".repeat(65) }, TO_RULE],
    ["a numeric to", { room: "r", event: "x", data: 1, to: 7 }, TO_RULE],
    ["a string store", { room: "r", event: "x", data: 1, store: "false" }, STORE_RULE],
    ["a numeric store", { room: "r", event: "x", data: 1, store: 0 }, STORE_RULE],
  ])("refuses 400 an event with %s", async (_what, event, message) => {
    const res = await push(event);
    expect(res.status).toBe(400);
    expect(res.json).toEqual(invalidBody(message));
  });

  it("accepts the edge of every rule: 99-character room, 100-character event, 64-character to", async () => {
    const room = `r${crypto.randomUUID().replaceAll("-", "")}`.padEnd(99, "z");
    const res = await push({ room, event: "e".repeat(100), data: 1, to: "u".repeat(64) });
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([{ room, seq: 1, delivered: 0, duplicate: false }]);
  });

  it("answers 503 push_disabled when no PUSH_SECRET is configured", async () => {
    const body = JSON.stringify({ room: uniqueRoom(), event: "x", data: 1 });
    const signed = await signWebhook(pushSecret(), newPushId(), body);
    const published: string[] = [];
    const deps = {
      secret: undefined,
      maxBytes: MAX_PUSH_BYTES,
      publish: async (room: string) => {
        published.push(room);
        return { duplicate: false, results: [] };
      },
    };
    const request = () => new Request(PUSH_URL, { method: "POST", headers: signed, body });
    await expect(handlePush(request(), deps)).rejects.toMatchObject({
      status: 503,
      code: "push_disabled",
      message: "signed requests are disabled: no PUSH_SECRET is configured",
    });
    await expect(handlePush(request(), { ...deps, secret: "" })).rejects.toMatchObject({
      status: 503,
      code: "push_disabled",
    });
    expect(published).toEqual([]);

    // The same through the Hono app, with an environment that lacks the secret.
    const res = await app.fetch(request(), { ...env, PUSH_SECRET: undefined });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: "push_disabled",
      message: "signed requests are disabled: no PUSH_SECRET is configured",
    });
  });

  it("checks the window against the injected clock: 300 s accepted, 301 s refused (handlePush)", async () => {
    const NOW = 1_764_000_000;
    const body = JSON.stringify({ room: "r", event: "x", data: 1 });
    const calls: unknown[] = [];
    const deps = {
      secret: pushSecret(),
      maxBytes: MAX_PUSH_BYTES,
      nowSec: NOW,
      publish: async (room: string, pushId: string, events: unknown[]) => {
        calls.push({ room, pushId, events });
        return { duplicate: false, results: [{ seq: 9, delivered: 4 }] };
      },
    };
    const at = async (ts: number) =>
      new Request(PUSH_URL, {
        method: "POST",
        headers: await signWebhook(pushSecret(), `m${ts}`, body, ts),
        body,
      });
    for (const ts of [NOW - 300, NOW + 300]) {
      expect(await handlePush(await at(ts), deps)).toEqual({
        results: [{ room: "r", seq: 9, delivered: 4, duplicate: false }],
      });
    }
    expect(calls).toEqual([
      {
        room: "r",
        pushId: `m${NOW - 300}`,
        events: [{ id: `m${NOW - 300}`, event: "x", data: 1, to: null, store: true }],
      },
      {
        room: "r",
        pushId: `m${NOW + 300}`,
        events: [{ id: `m${NOW + 300}`, event: "x", data: 1, to: null, store: true }],
      },
    ]);
    for (const ts of [NOW - 301, NOW + 301]) {
      await expect(handlePush(await at(ts), deps)).rejects.toMatchObject({
        status: 401,
        code: "bad_signature",
        message: OUT_OF_WINDOW,
      });
    }
    expect(calls).toHaveLength(2);
  });
});
