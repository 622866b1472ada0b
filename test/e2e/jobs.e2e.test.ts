/**
 * Background jobs under a real `wrangler dev` with its local Queues: signed and token
 * submissions, the credential checked before the body, JOB_MAX_BYTES against what the local
 * queue really carries, a replayed submission that stays one job (also across a restart), and
 * processors that are real HTTP servers verifying the HOOK_SECRET signature: one in Node (busy
 * twice, then answering) and examples/processor.py, the standard-library Python one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, stopProcessGroup } from "../../scripts/processes.ts";
import { generateSecret, signWebhook, verifyWebhook } from "../../src/protocol/webhook.ts";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const ROOT = resolve(import.meta.dirname, "../..");
const PUSH_SECRET = generateSecret();
const HOOK_SECRET = generateSecret();
/**
 * A limit that names exactly what one queue message carries, as an operator may set it (the
 * default, 128 KiB, is a little more: test/jobs.test.ts shows the queue check refusing those).
 */
const JOB_MAX_BYTES = 127_000;

let server: DevServer;
let serverVars: Record<string, string>;
let processor: Server;
/** What the Node processor was sent: path, webhook-id, and whether HOOK_SECRET verified it. */
const processorCalls: { path: string; id: string | null; verified: boolean }[] = [];
const callsTo = (path: string) => processorCalls.filter((c) => c.path === path);
let pythonPort: number;

beforeAll(async () => {
  // Two processors in one Node server, both refusing what HOOK_SECRET does not sign: /ocr is busy
  // (503) on its first two signed calls, then reads the image; /count answers at once.
  processor = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const headers = new Headers(req.headers as Record<string, string>);
      const check = await verifyWebhook(HOOK_SECRET, headers, body, Math.floor(Date.now() / 1000));
      const path = req.url ?? "";
      processorCalls.push({ path, id: headers.get("webhook-id"), verified: check.ok });
      if (!check.ok) {
        res.writeHead(401).end(check.reason);
        return;
      }
      if (path === "/ocr" && callsTo("/ocr").length <= 2) {
        res.writeHead(503).end("busy");
        return;
      }
      const { input } = JSON.parse(body) as { input: { url?: string } };
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(path === "/ocr" ? { text: `read ${input.url}` } : { counted: true }));
    });
  });
  await new Promise<void>((r) => processor.listen(0, "127.0.0.1", r));
  const { port } = processor.address() as AddressInfo;
  pythonPort = await freePort();
  serverVars = {
    PUSH_SECRET,
    HOOK_SECRET,
    JOB_PROCESSORS: JSON.stringify({
      ocr: `http://127.0.0.1:${port}/ocr`,
      count: `http://127.0.0.1:${port}/count`,
      "text.stats": `http://127.0.0.1:${pythonPort}/`,
    }),
    JOB_RETRY_BASE_SEC: "0",
    JOB_MAX_BYTES: String(JOB_MAX_BYTES),
  };
  server = await startServer({ vars: serverVars });
});
afterAll(async () => {
  await server?.stop();
  processor?.close();
});

async function signedRequest(
  body: string,
  id = `msg_${crypto.randomUUID()}`,
  timestamp?: number,
): Promise<RequestInit> {
  return { method: "POST", headers: await signWebhook(PUSH_SECRET, id, body, timestamp), body };
}

async function submit(body: unknown): Promise<Response> {
  return fetch(`${server.url}/jobs`, await signedRequest(JSON.stringify(body)));
}

/** User `user` in its personal room, with the room token its backend signs for it. */
async function personalRoom(user: string): Promise<WsClient> {
  const token = await mintToken(server, { sub: user, room: `user-${user}` });
  const ws = await WsClient.connect(`${server.wsUrl}/room/user-${user}?token=${token}`);
  expect(await ws.expect("welcome")).toMatchObject({ self: { id: user } });
  return ws;
}

/** Pushes a marker event to the user's room, to show what the room stored before it. */
async function pushMarker(user: string): Promise<void> {
  const body = JSON.stringify({ room: `user-${user}`, event: "marker" });
  const res = await fetch(`${server.url}/push`, await signedRequest(body));
  expect(res.status).toBe(200);
}

/** A file.inspect job for `user` of exactly `bytes` bytes, padded inside its input. */
function paddedBody(user: string, bytes: number): string {
  const body = (pad: string) =>
    JSON.stringify({ user, kind: "file.inspect", input: { path: "/index.html", pad } });
  return body("x".repeat(bytes - body("").length));
}

const newUser = () => `u${crypto.randomUUID().slice(0, 8)}`;

describe("jobs under wrangler dev", () => {
  it("pushes the built-in job's result to its user: queued, then done", async () => {
    const user = newUser();
    const ws = await personalRoom(user);
    const res = await submit({ user, kind: "file.inspect", input: { path: "/index.html" } });
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as { job: string };
    expect(await ws.expect("event")).toMatchObject({ event: "job.queued", data: { job } });
    const done = await ws.expect("event", 20_000);
    expect(done).toMatchObject({
      event: "job.done",
      to: user,
      data: { job, result: { path: "/index.html" } },
    });
    expect(done.data.result.bytes).toBeGreaterThan(0);
    ws.close();
  });

  it("retries a busy processor through the local queue, signing every call as the same job", async () => {
    const user = newUser();
    const ws = await personalRoom(user);
    const res = await submit({ user, kind: "ocr", input: { url: "https://img.test/a.png" } });
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as { job: string };
    expect(await ws.expect("event")).toMatchObject({ event: "job.queued" });
    expect(await ws.expect("event", 30_000)).toMatchObject({
      event: "job.done",
      seq: 2,
      data: { result: { text: "read https://img.test/a.png" } },
    });
    // Three calls, each signed with HOOK_SECRET under the job's id: one message, retried.
    expect(callsTo("/ocr")).toEqual([
      { path: "/ocr", id: job, verified: true },
      { path: "/ocr", id: job, verified: true },
      { path: "/ocr", id: job, verified: true },
    ]);
    ws.close();
  });

  it("takes a browser's job with the user's own room token, and no one else's", async () => {
    const user = newUser();
    const ws = await personalRoom(user);
    const body = JSON.stringify({ user, kind: "file.inspect", input: { path: "/index.html" } });
    const submit = (token: string) =>
      fetch(`${server.url}/jobs`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body,
      });
    // Another user's token, even for every room; the user's desk token; a guest's token.
    const guest = await WsClient.connect(`${server.wsUrl}/room/lobby?name=Eve`);
    const guestToken: string = (await guest.expect("welcome")).self.token;
    guest.close();
    for (const token of [
      await mintToken(server, { sub: "someone-else", room: "*" }),
      await mintToken(server, { sub: user, desk: "*" }),
      guestToken,
    ]) {
      const res = await submit(token);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: "forbidden" });
    }
    const res = await submit(await mintToken(server, { sub: user, room: `user-${user}` }));
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as { job: string };
    // Only the accepted job reached the room: its queued event is the room's first frame.
    expect(await ws.expect("event")).toMatchObject({ seq: 1, event: "job.queued", data: { job } });
    ws.close();
  });

  it("reports to a personal room nobody else can join", async () => {
    const user = newUser();
    const refused = async (query: string) => {
      const ws = await WsClient.connect(`${server.wsUrl}/room/user-${user}${query}`);
      const error = await ws.expect("error");
      return { code: error.code, close: (await ws.closed).code };
    };
    expect(await refused("?name=Eve")).toEqual({ code: "unauthorized", close: 4401 });
    const other = await mintToken(server, { sub: "someone-else", room: "*" });
    expect(await refused(`?token=${other}`)).toEqual({ code: "forbidden", close: 4403 });
  });
});

describe("what a refused or oversized submission gets", () => {
  it("answers a garbage token 401 before looking at the body: a 200 KB input, an unknown kind", async () => {
    for (const body of [
      JSON.stringify({ user: "u1", kind: "secret.kind", input: "x".repeat(200_000) }),
      JSON.stringify({ user: "u1", kind: "secret.kind" }),
      "{not json",
    ]) {
      const res = await fetch(`${server.url}/jobs`, {
        method: "POST",
        headers: { Authorization: "Bearer garbage" },
        body,
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: "unauthorized" });
    }
  });

  it(`takes a body of exactly JOB_MAX_BYTES (${JOB_MAX_BYTES}) through the local queue, and refuses one byte more with 413`, async () => {
    const user = newUser();
    const ws = await personalRoom(user);
    const fits = paddedBody(user, JOB_MAX_BYTES);
    expect(new TextEncoder().encode(fits).byteLength).toBe(JOB_MAX_BYTES);
    const res = await fetch(`${server.url}/jobs`, await signedRequest(fits));
    expect(res.status, await res.clone().text()).toBe(202);
    const { job } = (await res.json()) as { job: string };
    expect(await ws.expect("event")).toMatchObject({ event: "job.queued", data: { job } });
    // The consumer received it from the local queue and ran it.
    expect(await ws.expect("event", 20_000)).toMatchObject({ event: "job.done", data: { job } });

    const over = await fetch(
      `${server.url}/jobs`,
      await signedRequest(paddedBody(user, JOB_MAX_BYTES + 1)),
    );
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ error: "too_large" });
    ws.close();
  });
});

describe("a signed job is named by its webhook-id", () => {
  it("is queued once: replayed within 300 s, re-signed later, and after a restart", async () => {
    const user = newUser();
    let ws = await personalRoom(user);
    const body = JSON.stringify({ user, kind: "count", input: null });
    const id = `msg_${crypto.randomUUID()}`;
    const now = Math.floor(Date.now() / 1000);
    const first = await signedRequest(body, id, now - 200);
    const answers = [
      await fetch(`${server.url}/jobs`, first),
      await fetch(`${server.url}/jobs`, first), // the very same request again
      await fetch(`${server.url}/jobs`, await signedRequest(body, id, now)), // a fresh signature
    ];
    for (const res of answers) {
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ job: `job_${id}` });
    }
    expect(await ws.expect("event")).toMatchObject({ seq: 1, event: "job.queued" });
    expect(await ws.expect("event", 20_000)).toMatchObject({ seq: 2, event: "job.done" });
    ws.close();

    // wrangler dev restarted on the same storage: the room still knows the job.
    await server.stop();
    server = await startServer({
      persistDir: server.persistDir,
      port: server.port,
      vars: { ...serverVars, JOIN_SECRET: server.joinSecret },
    });
    const again = await fetch(`${server.url}/jobs`, await signedRequest(body, id));
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ job: `job_${id}` });
    await pushMarker(user);
    ws = await personalRoom(user);
    // Replayed from the start: one queued, one done, then the marker. No second job.
    const events = [await ws.expect("event"), await ws.expect("event"), await ws.expect("event")];
    expect(events.map((e) => [e.seq, e.event])).toEqual([
      [1, "job.queued"],
      [2, "job.done"],
      [3, "marker"],
    ]);
    // Queued twice, the copies would have reached the processor together, in one batch.
    expect(callsTo("/count").map((c) => c.id)).toEqual([`job_${id}`]);
    ws.close();
  });
});

describe("examples/processor.py, the Python processor", () => {
  let python: ChildProcess;
  let pythonUrl: string;

  beforeAll(async () => {
    python = spawn(
      "/usr/bin/python3",
      [resolve(ROOT, "examples/processor.py"), "--port", String(pythonPort)],
      {
        cwd: ROOT,
        env: { ...process.env, HOOK_SECRET },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    let stderr = "";
    python.stderr!.on("data", (d) => (stderr += d));
    // It prints one line once it listens; that line is the event to wait for.
    const lines = createInterface({ input: python.stdout! });
    pythonUrl = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`processor.py did not start:\n${stderr}`)),
        10_000,
      );
      python.once("exit", (code) => fail(new Error(`processor.py exited ${code}:\n${stderr}`)));
      lines.on("line", (line) => {
        const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
        if (url) {
          clearTimeout(timer);
          ok(url);
        }
      });
    });
  });
  afterAll(async () => {
    if (python) await stopProcessGroup(python);
  });

  it("does a job sent through wrangler dev", async () => {
    const user = newUser();
    const ws = await personalRoom(user);
    const res = await submit({
      user,
      kind: "text.stats",
      input: { text: "Hello rooms\nsecond line, 你好" },
    });
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as { job: string };
    expect(await ws.expect("event")).toMatchObject({ event: "job.queued" });
    expect(await ws.expect("event", 20_000)).toMatchObject({
      event: "job.done",
      data: { job, kind: "text.stats", result: { lines: 2, words: 5, chars: 27 } },
    });
    ws.close();
  });

  it("refuses a forged request: unsigned, signed with another secret, or too old", async () => {
    const body = JSON.stringify({
      job: "job_forged",
      user: "u1",
      kind: "text.stats",
      input: { text: "x" },
    });
    const post = (headers: Record<string, string>) =>
      fetch(pythonUrl, { method: "POST", headers, body });
    const now = Math.floor(Date.now() / 1000);
    const forged = [
      {},
      await signWebhook(PUSH_SECRET, "job_forged", body), // what a room could have sent
      await signWebhook(HOOK_SECRET, "job_forged", body, now - 301),
      {
        ...(await signWebhook(HOOK_SECRET, "job_forged", body)),
        "webhook-id": "job_other",
      },
    ];
    for (const headers of forged) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.json()).toMatchObject({ error: "bad_signature" });
    }
    // The same request signed with HOOK_SECRET is done: the signature is what decided.
    const real = await post(await signWebhook(HOOK_SECRET, "job_forged", body));
    expect(real.status).toBe(200);
    expect(await real.json()).toEqual({ lines: 1, words: 1, chars: 1 });
  });
});
