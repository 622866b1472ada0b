/**
 * The publish hook: in rooms matching PUBLISH_HOOK_ROOMS (vitest.config.ts: `published-*`), a
 * client's message or direct message is stored only once the backend at PUBLISH_HOOK_URL has
 * said so, as it is or rewritten; a refusal or a silent backend stores nothing. Frames of one
 * room keep their arrival order, hook or not. The backend is `fetch`, replaced per test.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../src/protocol";
import { type Client, type Frame, join } from "./helpers";

const testEnv = env as Env;
const PUBLISH_URL = testEnv.PUBLISH_HOOK_URL as string;
const opened: Client[] = [];

let asked: Frame[] = [];
/** The backend: how it answers one message (its delay in ms, status and body). */
let decide: (m: Frame) => { delay?: number; status: number; body?: unknown } = () => ({
  status: 200,
  body: {},
});

beforeEach(() => {
  asked = [];
  decide = () => ({ status: 200, body: {} });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input as RequestInfo, init);
    if (req.url !== PUBLISH_URL) return new Response("not a test backend", { status: 404 });
    const raw = new Uint8Array(await req.arrayBuffer());
    const check = await verifyWebhook(
      testEnv.HOOK_SECRET!,
      req.headers,
      raw,
      Math.floor(Date.now() / 1000),
    );
    if (!check.ok) return new Response("bad signature", { status: 401 });
    const m = JSON.parse(new TextDecoder().decode(raw)) as Frame;
    asked.push(m);
    const { delay = 0, status, body } = decide(m);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay)); // the backend is slow by design
    return body === undefined ? new Response(null, { status }) : Response.json(body, { status });
  });
});
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
  vi.restoreAllMocks();
});

const room = () => `published-${crypto.randomUUID()}`;
async function member(r: string, user: string) {
  const j = await join(r, { user, name: user.toUpperCase() });
  opened.push(j.client);
  return j.client;
}
const answerTo = (c: Client, id: string) =>
  c.waitFor((f) => (f.type === "ack" || f.type === "error") && f.id === id, `the answer to ${id}`);

describe("the publish hook", () => {
  it("asks the backend, signed, and stores the message as it is on 200 {}", async () => {
    const r = room();
    const ann = await member(r, "ann");
    const bo = await member(r, "bo");
    ann.send({ type: "message", data: { text: "hi" }, id: "m1" });
    expect(await answerTo(ann, "m1")).toMatchObject({ type: "ack", seq: 1 });
    expect(await bo.waitFor((f) => f.type === "message", "the message")).toMatchObject({
      seq: 1,
      from: { id: "ann" },
      data: { text: "hi" },
    });
    expect(asked).toEqual([
      {
        room: r,
        from: { id: "ann", name: "ANN" },
        type: "message",
        to: null,
        data: { text: "hi" },
        id: "m1",
      },
    ]);
  });

  it("stores the backend's data on 200 {data}, for messages and direct messages", async () => {
    decide = (m) => ({ status: 200, body: { data: `${m.data} (checked)` } });
    const r = room();
    const ann = await member(r, "ann");
    const bo = await member(r, "bo");
    ann.send({ type: "direct", to: "bo", data: "psst", id: "d1" });
    await answerTo(ann, "d1");
    expect(await bo.waitFor((f) => f.type === "direct", "the direct")).toMatchObject({
      to: "bo",
      data: "psst (checked)",
    });
    expect(asked[0]).toMatchObject({ type: "direct", to: "bo", data: "psst" });
  });

  it("refuses with rejected and the backend's message on 403, storing nothing", async () => {
    decide = (m) =>
      String(m.data).includes("darn")
        ? { status: 403, body: { message: "no swearing here" } }
        : { status: 200, body: {} };
    const r = room();
    const ann = await member(r, "ann");
    const bo = await member(r, "bo");
    ann.send({ type: "message", data: "darn it", id: "bad" });
    expect(await answerTo(ann, "bad")).toEqual({
      type: "error",
      code: "rejected",
      message: "no swearing here",
      id: "bad",
    });
    ann.send({ type: "message", data: "fine", id: "ok" });
    expect(await answerTo(ann, "ok")).toMatchObject({ type: "ack", seq: 1 });
    expect(await bo.waitFor((f) => f.type === "message", "the message")).toMatchObject({
      data: "fine",
    });
    expect(bo.pending.filter((f) => f.type === "message")).toEqual([]);
  });

  it.each([
    ["a 500", { status: 500 }],
    ["a 200 that is not a decision", { status: 200, body: ["yes"] }],
    ["no answer in time", { status: 200, body: {}, delay: 1500 }],
  ])("refuses with hook_unavailable on %s, storing nothing", async (_what, answer) => {
    decide = () => answer;
    const r = room();
    const ann = await member(r, "ann");
    ann.send({ type: "message", data: "hello", id: "m1" });
    expect(await answerTo(ann, "m1")).toMatchObject({
      type: "error",
      code: "hook_unavailable",
      id: "m1",
    });
    decide = () => ({ status: 200, body: {} });
    ann.send({ type: "message", data: "again", id: "m2" });
    expect(await answerTo(ann, "m2")).toMatchObject({ type: "ack", seq: 1 });
  });

  it("keeps the arrival order when the backend answers out of order", async () => {
    // The first message takes the backend longest: it must still be stored first.
    decide = (m) => ({ status: 200, body: {}, delay: m.data === "first" ? 300 : 0 });
    const r = room();
    const ann = await member(r, "ann");
    const bo = await member(r, "bo");
    for (const data of ["first", "second", "third"]) ann.send({ type: "message", data, id: data });
    const acks = [
      await answerTo(ann, "first"),
      await answerTo(ann, "second"),
      await answerTo(ann, "third"),
    ];
    expect(acks.map((a) => a.seq)).toEqual([1, 2, 3]);
    const got: Frame[] = [];
    for (let i = 0; i < 3; i++)
      got.push(await bo.waitFor((f) => f.type === "message", "a message"));
    expect(got.map((f) => f.data)).toEqual(["first", "second", "third"]);
  });

  it("asks about messages as they arrive, so a slow backend's calls overlap", async () => {
    // Each answer takes 300 ms: one call at a time would take 1.2 s for four messages.
    let open = 0;
    let most = 0;
    decide = () => {
      most = Math.max(most, ++open);
      setTimeout(() => open--, 300);
      return { status: 200, body: {}, delay: 300 };
    };
    const ann = await member(room(), "ann");
    for (const data of ["a", "b", "c", "d"]) ann.send({ type: "message", data, id: data });
    const acks = [];
    for (const id of ["a", "b", "c", "d"]) acks.push(await answerTo(ann, id));
    expect(acks.map((a) => a.seq)).toEqual([1, 2, 3, 4]);
    expect(most).toBe(4);
  });

  it("asks once for a re-sent id while the first is still being decided", async () => {
    decide = () => ({ status: 200, body: {}, delay: 200 });
    const ann = await member(room(), "ann");
    ann.send({ type: "message", data: "hi", id: "m1" });
    ann.send({ type: "message", data: "hi", id: "m1" });
    const first = await answerTo(ann, "m1");
    expect(await answerTo(ann, "m1")).toEqual(first);
    expect(asked).toHaveLength(1);
  });

  it("asks once for a re-sent id: the repeat is answered from the first store", async () => {
    const r = room();
    const ann = await member(r, "ann");
    ann.send({ type: "message", data: "hi", id: "m1" });
    ann.send({ type: "message", data: "hi", id: "m1" });
    const first = await answerTo(ann, "m1");
    const second = await answerTo(ann, "m1");
    expect(second).toEqual(first);
    expect(asked).toHaveLength(1);
  });

  it("leaves rooms outside PUBLISH_HOOK_ROOMS alone", async () => {
    const ann = await member(`plain-${crypto.randomUUID()}`, "ann");
    ann.send({ type: "message", data: "hi", id: "m1" });
    expect(await answerTo(ann, "m1")).toMatchObject({ type: "ack" });
    expect(asked).toEqual([]);
  });
});
