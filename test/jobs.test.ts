/**
 * Background jobs (src/worker/jobs/): submission over HTTP, and the queue consumer driven with the
 * test plugin's Queues support (a MessageBatch made by the test, its acks and retries read back).
 * Processors are outside services, so `fetch` is replaced per test; results are observed the way
 * a user sees them: as `job.*` events in the user's room.
 */
import {
  createExecutionContext,
  createMessageBatch,
  evictDurableObject,
  getQueueResult,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import {
  DEFAULT_JOB_MAX_BYTES,
  QUEUE_MESSAGE_MAX_BYTES,
  readJobBodyLimit,
  type Job,
} from "../src/worker/jobs";
import { retryDelay } from "../src/worker/jobs/run";
import { generateSecret, signWebhook, verifyWebhook } from "../src/protocol/webhook";
import { join, userToken, type Client, type Frame } from "./helpers";

const opened: Client[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of opened.splice(0)) c.close();
});

const uniqueUser = () => `u${crypto.randomUUID().slice(0, 12)}`;
/** Processors for the tests: env.JOB_PROCESSORS is "{}" in wrangler.toml, so add one here. */
const testEnv = { ...env, JOB_PROCESSORS: JSON.stringify({ ocr: "https://ocr.test/v1" }) } as Env;

async function watch(user: string): Promise<Client> {
  const { client } = await join(`user-${user}`, { user });
  opened.push(client);
  return client;
}

function jobMessage(job: Job, attempts = 1, id = crypto.randomUUID()) {
  return { id, timestamp: new Date(), attempts, body: job };
}

/**
 * Runs the Worker's queue() on a batch and returns what it acked and retried, with each retry's
 * delay (the plugin's result does not record delays, so the messages' retry() is watched too).
 */
async function consume(messages: ReturnType<typeof jobMessage>[]) {
  const batch = createMessageBatch("rooms-jobs", messages);
  const delays: Record<string, number | undefined> = {};
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    vi.spyOn(m, "retry").mockImplementation((options) => {
      delays[m.id] = options?.delaySeconds;
      retry(options);
    });
  }
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<unknown>, testEnv);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map((r) => ({
      msgId: r.msgId,
      delaySeconds: delays[r.msgId],
    })),
  };
}

const job = (
  user: string,
  kind: string,
  input: unknown,
  id = `job_${crypto.randomUUID()}`,
): Job => ({
  id,
  user,
  kind,
  input,
  at: Date.now(),
});

const nextJobEvent = (c: Client) => c.waitFor((f: Frame) => f.type === "event", "a job event");

describe("POST /jobs", () => {
  async function postSigned(body: unknown, id = `msg_${crypto.randomUUID()}`) {
    const text = JSON.stringify(body);
    const headers = await signWebhook(env.PUSH_SECRET!, id, text);
    return exports.default.fetch("https://rooms.test/jobs", {
      method: "POST",
      headers,
      body: text,
    });
  }

  it("accepts a signed job with 202, names it after the webhook id and tells the user it is queued", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    const send = vi.spyOn(env.JOBS, "send");
    const res = await postSigned(
      { user, kind: "file.inspect", input: { path: "/index.html" } },
      "msg_1",
    );
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ job: "job_msg_1" });
    expect(send).toHaveBeenCalledWith(
      expect.objectContaining({ id: "job_msg_1", user, kind: "file.inspect" }),
      { contentType: "json" }, // measured as the JSON it is, against what a message carries
    );
    expect(await nextJobEvent(room)).toMatchObject({
      event: "job.queued",
      to: user,
      seq: 1,
      data: { job: "job_msg_1", kind: "file.inspect" },
    });
  });

  it("accepts a job from a browser with a join token for its own user only", async () => {
    const user = uniqueUser();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const post = async (claims: Record<string, unknown>, forUser = user) =>
      exports.default.fetch("https://rooms.test/jobs", {
        method: "POST",
        headers: {
          Authorization: `Bearer ${await sign({ exp, ...claims }, env.JOIN_SECRET!, "HS256")}`,
        },
        body: JSON.stringify({
          user: forUser,
          kind: "file.inspect",
          input: { path: "/index.html" },
        }),
      });
    const ok = await post({ sub: user, room: `user-${user}` });
    expect(ok.status).toBe(202);
    expect((await ok.json()) as { job: string }).toMatchObject({
      job: expect.stringMatching(/^job_/),
    });
    expect((await post({ sub: user, room: "*" })).status).toBe(202);
    const other = await post({ sub: "someone-else", room: "*" });
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ error: "forbidden" });
    const wrongRoom = await post({ sub: user, room: "lobby" });
    expect(wrongRoom.status).toBe(403);
    const bad = await exports.default.fetch("https://rooms.test/jobs", {
      method: "POST",
      headers: { Authorization: "Bearer not.a.token" },
      body: JSON.stringify({ user, kind: "file.inspect" }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: "unauthorized" });
  });

  it("refuses unsigned, unknown kinds and users that cannot name a room, with JSON errors", async () => {
    const unsigned = await exports.default.fetch("https://rooms.test/jobs", {
      method: "POST",
      body: JSON.stringify({ user: "u1", kind: "file.inspect" }),
    });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: "bad_signature" });
    const unknown = await postSigned({ user: "u1", kind: "ocr" }); // not configured in wrangler.toml
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: "unknown_kind" });
    const badUser = await postSigned({ user: "ann@example.com", kind: "file.inspect" });
    expect(badUser.status).toBe(400);
    expect(await badUser.json()).toMatchObject({ error: "invalid_body" });
    const notJson = await postSigned("just a string");
    expect(notJson.status).toBe(400);
  });
});

/** Calls the Worker's fetch with an env of the test's choosing (limits, processors, secrets). */
async function callWorker(request: Request, e: Env = testEnv): Promise<Response> {
  return await worker.fetch(request, e, createExecutionContext());
}

const jobsRequest = (body: BodyInit, headers: Record<string, string> = {}) =>
  new Request("https://rooms.test/jobs", { method: "POST", headers, body });

/** A body of exactly `bytes` bytes: a file.inspect job for `user` padded inside its input. */
function paddedBody(user: string, bytes: number): string {
  const empty = JSON.stringify({
    user,
    kind: "file.inspect",
    input: { path: "/index.html", pad: "" },
  });
  return JSON.stringify({
    user,
    kind: "file.inspect",
    input: { path: "/index.html", pad: "x".repeat(bytes - empty.length) },
  });
}

async function signed(body: string, id = `msg_${crypto.randomUUID()}`, secret = env.PUSH_SECRET!) {
  return jobsRequest(body, await signWebhook(secret, id, body));
}

/** Pushes a marker event to the user's room: the next stored event there must be it. */
async function pushMarker(user: string): Promise<void> {
  const marker = JSON.stringify({ room: `user-${user}`, event: "marker" });
  await exports.default.fetch("https://rooms.test/push", {
    method: "POST",
    headers: await signWebhook(env.PUSH_SECRET!, `marker-${crypto.randomUUID()}`, marker),
    body: marker,
  });
}

describe("readJobBodyLimit", () => {
  it("defaults to 128 KiB; one queue message carries a little less (the queue check answers 413)", () => {
    expect(readJobBodyLimit({})).toEqual({ bytes: DEFAULT_JOB_MAX_BYTES, name: "JOB_MAX_BYTES" });
    expect(readJobBodyLimit({ JOB_MAX_BYTES: "" }).bytes).toBe(DEFAULT_JOB_MAX_BYTES);
    // 128 KB as Cloudflare counts it (1,000-byte KB), less the platform's ~100 bytes of metadata.
    expect(QUEUE_MESSAGE_MAX_BYTES).toBe(127_900);
    expect(DEFAULT_JOB_MAX_BYTES).toBe(131_072);
    expect(readJobBodyLimit({ JOB_MAX_BYTES: "2000" })).toEqual({
      bytes: 2000,
      name: "JOB_MAX_BYTES",
    });
  });

  it("is loud about anything but a positive integer, like every other limit", () => {
    for (const bad of ["abc", "0", "-5", "1.5", "1e400"]) {
      expect(() => readJobBodyLimit({ JOB_MAX_BYTES: bad })).toThrow(
        `JOB_MAX_BYTES must be a positive integer, got ${bad}`,
      );
    }
  });

  it("gives way to a lower MAX_PUSH_BYTES, which bounds every signed body, and says so", () => {
    expect(readJobBodyLimit({ JOB_MAX_BYTES: "2000", MAX_PUSH_BYTES: "1000" })).toEqual({
      bytes: 1000,
      name: "MAX_PUSH_BYTES",
    });
  });
});

describe("jobs' variables", () => {
  it("are read as loudly as the limits: a typo is an error, not NaN", () => {
    const at = (vars: Record<string, string>) => ({ ...env, ...vars }) as unknown as Env;
    expect(retryDelay(1, at({ JOB_RETRY_BASE_SEC: "2" }))).toBe(2);
    expect(retryDelay(3, at({ JOB_RETRY_BASE_SEC: "2" }))).toBe(8);
    expect(retryDelay(3, at({ JOB_RETRY_BASE_SEC: "0" }))).toBe(0);
    expect(() => retryDelay(1, at({ JOB_RETRY_BASE_SEC: "two" }))).toThrow(
      "JOB_RETRY_BASE_SEC must be zero or a positive number, got two",
    );
  });
});

describe("POST /jobs: the credential before the body", () => {
  // A kind that is configured, and one that is not: a refused caller must not tell them apart.
  const secretKindEnv = {
    ...env,
    MAX_PUSH_BYTES: "1048576",
    JOB_PROCESSORS: JSON.stringify({ "secret.kind": "https://secret.test/run" }),
  } as Env;
  const bodies: Record<string, string> = {
    "invalid JSON": "{not json",
    "a configured kind": JSON.stringify({ user: "u1", kind: "secret.kind", input: null }),
    "an unknown kind": JSON.stringify({ user: "u1", kind: "other.kind", input: null }),
    "a 200 KB input": JSON.stringify({
      user: "u1",
      kind: "secret.kind",
      input: "x".repeat(200_000),
    }),
  };

  it("answers a garbage Bearer token 401 unauthorized whatever the body, without reading it", async () => {
    const answers = new Set<string>();
    for (const [what, body] of Object.entries(bodies)) {
      const req = jobsRequest(body, { Authorization: "Bearer garbage" });
      const res = await callWorker(req, secretKindEnv);
      expect(res.status, what).toBe(401);
      const answer = (await res.json()) as { error: string };
      expect(answer.error, what).toBe("unauthorized");
      answers.add(JSON.stringify(answer));
      expect(req.bodyUsed, `${what}: the body was read`).toBe(false);
    }
    expect(answers.size).toBe(1); // the same words, whatever the body
  });

  it("answers a bad signature 401 bad_signature whatever the body says", async () => {
    const answers = new Set<string>();
    for (const [what, body] of Object.entries({
      ...bodies,
      "a user that cannot name a room": JSON.stringify({ user: "a@b", kind: "file.inspect" }),
    })) {
      const res = await callWorker(await signed(body, "msg_x", generateSecret()), secretKindEnv);
      expect(res.status, what).toBe(401);
      const answer = (await res.json()) as { error: string };
      expect(answer.error, what).toBe("bad_signature");
      answers.add(JSON.stringify(answer));
    }
    expect(answers.size).toBe(1);
  });

  it("tells a valid token of someone else 403 before it could learn which kinds exist", async () => {
    const user = uniqueUser();
    const guestLike = await userToken("someone-else"); // valid, for every room, another user
    const deskToken = await userToken(user, { desk: "*" });
    const otherRoom = await userToken(user, { room: "lobby" });
    for (const token of [guestLike, deskToken, otherRoom]) {
      const answers = new Set<string>();
      for (const kind of ["secret.kind", "other.kind"]) {
        const req = jobsRequest(JSON.stringify({ user, kind, input: null }), {
          Authorization: `Bearer ${token}`,
        });
        const res = await callWorker(req, secretKindEnv);
        expect(res.status, kind).toBe(403);
        const answer = (await res.json()) as { error: string };
        expect(answer.error).toBe("forbidden");
        answers.add(JSON.stringify(answer));
      }
      expect(answers.size).toBe(1);
    }
  });
});

describe("POST /jobs: JOB_MAX_BYTES", () => {
  const small = { ...testEnv, JOB_MAX_BYTES: "2000" } as unknown as Env;

  it("takes a body of exactly JOB_MAX_BYTES and refuses one byte more with 413, signed or with a token", async () => {
    const user = uniqueUser();
    const token = await userToken(user, { room: `user-${user}` });
    const bearer = (body: string) => jobsRequest(body, { Authorization: `Bearer ${token}` });
    for (const make of [signed, bearer]) {
      expect((await callWorker(await make(paddedBody(user, 2000)), small)).status).toBe(202);
      const over = await callWorker(await make(paddedBody(user, 2001)), small);
      expect(over.status).toBe(413);
      expect(await over.json()).toMatchObject({
        error: "too_large",
        message: expect.stringContaining("JOB_MAX_BYTES"),
      });
    }
  });

  it("refuses what one queue message cannot carry with 413, never 500", async () => {
    const roomy = { ...testEnv, MAX_PUSH_BYTES: "1048576" } as Env;
    const user = uniqueUser();
    // The probe: a 200 KB input.
    const big = JSON.stringify({ user, kind: "file.inspect", input: "x".repeat(200_000) });
    const bigAnswer = await callWorker(await signed(big), roomy);
    expect(bigAnswer.status).toBe(413);
    expect(await bigAnswer.json()).toMatchObject({ error: "too_large" });
    // Under the limit as sent, but 1e20 is queued as 100000000000000000000: five times larger.
    const numbers = JSON.stringify({
      user,
      kind: "file.inspect",
      input: new Array(20_000).fill(0).map(() => 1e20),
    }).replaceAll("100000000000000000000", "1e20");
    expect(numbers.length).toBeLessThan(120_000);
    const grown = await callWorker(await signed(numbers), roomy);
    expect(grown.status).toBe(413);
    expect(await grown.json()).toMatchObject({ error: "too_large" });
  });
});

describe("POST /jobs: a signed job is named by its webhook-id", () => {
  it("queues it once: the same request again, or re-signed later under the same id, is the same job", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    const send = vi.spyOn(env.JOBS, "send");
    const body = JSON.stringify({ user, kind: "file.inspect", input: { path: "/index.html" } });
    const id = `msg_${crypto.randomUUID()}`;
    const now = Math.floor(Date.now() / 1000);
    const first = await signWebhook(env.PUSH_SECRET!, id, body, now - 250);
    const post = (headers: Record<string, string>) =>
      exports.default.fetch("https://rooms.test/jobs", { method: "POST", headers, body });

    const answers = [await post(first), await post(first)]; // replayed within 300 s
    // The room is evicted (a restart), and the backend retries with a fresh signature.
    await evictDurableObject(env.ROOMS.getByName(`user-${user}`));
    answers.push(await post(await signWebhook(env.PUSH_SECRET!, id, body, now)));
    for (const res of answers) {
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ job: `job_${id}` });
    }
    expect(send).toHaveBeenCalledTimes(1);
    expect(await nextJobEvent(room)).toMatchObject({ event: "job.queued", seq: 1 });
    await pushMarker(user);
    expect(await nextJobEvent(room)).toMatchObject({ event: "marker", seq: 2 });
  });
});

describe("queue consumer", () => {
  it("runs a mixed batch concurrently: built-in, outside processor, and a permanent failure", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      expect(String(input instanceof Request ? input.url : input)).toBe("https://ocr.test/v1");
      return Response.json({ text: "你好" });
    });
    const dlq = vi.spyOn(testEnv.JOBS_DLQ, "send");
    const jobs = [
      job(user, "file.inspect", { path: "/index.html" }, "job_a"),
      job(user, "ocr", { url: "https://img.test/1.png" }, "job_b"),
      job(user, "file.inspect", { path: "/missing.png" }, "job_c"),
    ];
    const result = await consume(jobs.map((j) => jobMessage(j)));
    expect(result.explicitAcks.length).toBe(3);
    expect(result.retryMessages).toEqual([]);

    const events = [await nextJobEvent(room), await nextJobEvent(room), await nextJobEvent(room)];
    const byJob = Object.fromEntries(events.map((e) => [e.data.job, e]));
    const page = await env.ASSETS.fetch("https://assets.local/index.html");
    expect(byJob.job_a).toMatchObject({
      event: "job.done",
      to: user,
      data: { result: { path: "/index.html", bytes: (await page.arrayBuffer()).byteLength } },
    });
    expect(byJob.job_a.data.result.type).toMatch(/^text\/html/);
    expect(byJob.job_b).toMatchObject({ event: "job.done", data: { result: { text: "你好" } } });
    expect(byJob.job_c).toMatchObject({
      event: "job.failed",
      data: { reason: "no such file: /missing.png", attempts: 1 },
    });
    expect(dlq).toHaveBeenCalledTimes(1);
    expect(dlq).toHaveBeenCalledWith(
      expect.objectContaining({ id: "job_c", reason: "no such file: /missing.png" }),
    );
  });

  it("retries a failing processor with backoff and reports one job.done when it recovers", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    let calls = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      calls++;
      return calls <= 2 ? new Response("busy", { status: 503 }) : Response.json({ text: "ok" });
    });
    const j = job(user, "ocr", { url: "x" });
    const first = await consume([jobMessage(j, 1, "m1")]);
    expect(first.retryMessages).toEqual([{ msgId: "m1", delaySeconds: 2 }]);
    const second = await consume([jobMessage(j, 2, "m1")]);
    expect(second.retryMessages).toEqual([{ msgId: "m1", delaySeconds: 4 }]);
    const third = await consume([jobMessage(j, 3, "m1")]);
    expect(third.explicitAcks).toEqual(["m1"]);
    // The queue delivers it once more (say, after a lost ack): no second run, no second push.
    const again = await consume([jobMessage(j, 4, "m1")]);
    expect(again.explicitAcks).toEqual(["m1"]);
    expect(calls).toBe(3);

    expect(await nextJobEvent(room)).toMatchObject({
      event: "job.done",
      seq: 1,
      data: { job: j.id },
    });
    // Nothing more was pushed: the next stored event in the room is this marker, seq 2.
    const marker = JSON.stringify({ room: `user-${user}`, event: "marker" });
    await exports.default.fetch("https://rooms.test/push", {
      method: "POST",
      headers: await signWebhook(env.PUSH_SECRET!, `marker-${user}`, marker),
      body: marker,
    });
    expect(await nextJobEvent(room)).toMatchObject({ event: "marker", seq: 2 });
  });

  it("reports job.failed and dead-letters a job that fails on every attempt", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new Error("connection refused"));
    const dlq = vi.spyOn(testEnv.JOBS_DLQ, "send");
    const j = job(user, "ocr", { url: "x" });
    expect((await consume([jobMessage(j, 1, "m")])).retryMessages).toHaveLength(1);
    expect((await consume([jobMessage(j, 2, "m")])).retryMessages).toHaveLength(1);
    expect(dlq).not.toHaveBeenCalled();
    const last = await consume([jobMessage(j, 3, "m")]); // JOB_ATTEMPTS = 3
    expect(last.explicitAcks).toEqual(["m"]);
    expect(dlq).toHaveBeenCalledWith(
      expect.objectContaining({
        id: j.id,
        attempts: 3,
        reason: "processor unreachable: connection refused",
      }),
    );
    expect(await nextJobEvent(room)).toMatchObject({
      event: "job.failed",
      data: { job: j.id, reason: "processor unreachable: connection refused", attempts: 3 },
    });
  });

  it("fails at once on a processor's 4xx answer, without retrying", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("bad image", { status: 422 }));
    const result = await consume([jobMessage(job(user, "ocr", {}), 1, "m")]);
    expect(result.retryMessages).toEqual([]);
    expect(await nextJobEvent(room)).toMatchObject({
      event: "job.failed",
      data: { reason: "processor refused the job: HTTP 422 bad image", attempts: 1 },
    });
  });

  it("signs every processor call with HOOK_SECRET, under the job's id on every retry", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    const calls: Request[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      calls.push(new Request(input, init));
      return calls.length === 1 ? new Response("busy", { status: 503 }) : Response.json({ ok: 1 });
    });
    const j = job(user, "ocr", { url: "x" });
    await consume([jobMessage(j, 1, "m")]);
    await consume([jobMessage(j, 2, "m")]);
    expect(await nextJobEvent(room)).toMatchObject({ event: "job.done", data: { job: j.id } });
    expect(calls).toHaveLength(2);
    const now = Math.floor(Date.now() / 1000);
    const bodies = new Set<string>();
    for (const call of calls) {
      const body = await call.text();
      bodies.add(body);
      expect(await verifyWebhook(env.HOOK_SECRET!, call.headers, body, now)).toMatchObject({
        ok: true,
        id: j.id,
      });
      // Not something a room could have sent: PUSH_SECRET does not verify it.
      expect((await verifyWebhook(env.PUSH_SECRET!, call.headers, body, now)).ok).toBe(false);
    }
    expect(bodies.size).toBe(1); // a retry is the same message: same id, same body
    expect(JSON.parse([...bodies][0]!)).toEqual({
      job: j.id,
      user,
      kind: "ocr",
      input: { url: "x" },
    });
  });

  it("fails a processor's job at once without HOOK_SECRET, naming it; file.inspect still runs", async () => {
    const user = uniqueUser();
    const room = await watch(user);
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockResolvedValue(Response.json({}));
    const noHookEnv = { ...testEnv, HOOK_SECRET: undefined } as Env;
    const jobs = [
      job(user, "ocr", {}, "job_needs"),
      job(user, "file.inspect", { path: "/index.html" }, "job_builtin"),
    ];
    const batch = createMessageBatch(
      "rooms-jobs",
      jobs.map((j) => jobMessage(j)),
    );
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<unknown>, noHookEnv);
    expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
    const events = [await nextJobEvent(room), await nextJobEvent(room)];
    const byJob = Object.fromEntries(events.map((e) => [e.data.job, e]));
    expect(byJob.job_needs).toMatchObject({
      event: "job.failed",
      data: { reason: expect.stringContaining("HOOK_SECRET"), attempts: 1 },
    });
    expect(byJob.job_builtin).toMatchObject({ event: "job.done" });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("dead-letters a malformed message instead of retrying it forever", async () => {
    const dlq = vi.spyOn(testEnv.JOBS_DLQ, "send");
    const batch = createMessageBatch("rooms-jobs", [
      { id: "junk", timestamp: new Date(), attempts: 1, body: "junk" },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<unknown>, testEnv);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["junk"]);
    expect(dlq).toHaveBeenCalledWith(
      expect.objectContaining({ reason: "malformed job", body: "junk" }),
    );
  });
});
