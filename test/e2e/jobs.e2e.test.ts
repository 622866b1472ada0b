/**
 * Background jobs under a real `wrangler dev` with its local Queues: a signed POST /jobs, the
 * queue consumer, a processor that is a real HTTP server (failing twice, then answering), and
 * the results arriving over the user's WebSocket.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret, signWebhook } from "../../src/webhook.ts";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const PUSH_SECRET = generateSecret();
let server: DevServer;
let processor: Server;
let processorCalls = 0;

beforeAll(async () => {
  // An OCR-like processor: busy (503) on its first two calls, then it reads the image.
  processor = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      processorCalls++;
      if (processorCalls <= 2) {
        res.writeHead(503).end("busy");
        return;
      }
      const { input } = JSON.parse(body) as { input: { url: string } };
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ text: `read ${input.url}` }));
    });
  });
  await new Promise<void>((r) => processor.listen(0, "127.0.0.1", r));
  const { port } = processor.address() as AddressInfo;
  server = await startServer({
    vars: {
      PUSH_SECRET,
      JOB_PROCESSORS: JSON.stringify({ ocr: `http://127.0.0.1:${port}/ocr` }),
      JOB_RETRY_BASE_SEC: "0",
    },
  });
});
afterAll(async () => {
  await server?.stop();
  processor?.close();
});

async function submit(body: unknown): Promise<Response> {
  const text = JSON.stringify(body);
  const headers = await signWebhook(PUSH_SECRET, `msg_${crypto.randomUUID()}`, text);
  return fetch(`${server.url}/jobs`, { method: "POST", headers, body: text });
}

/** User `user` in its personal room, with the room token its backend signs for it. */
async function personalRoom(user: string): Promise<WsClient> {
  const token = await mintToken(server, { sub: user, room: `user-${user}` });
  const ws = await WsClient.connect(`${server.wsUrl}/room/user-${user}?token=${token}`);
  expect(await ws.expect("welcome")).toMatchObject({ self: { id: user } });
  return ws;
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

  it("retries a busy processor through the local queue and reports once", async () => {
    const user = newUser();
    const ws = await personalRoom(user);
    const res = await submit({ user, kind: "ocr", input: { url: "https://img.test/a.png" } });
    expect(res.status).toBe(202);
    expect(await ws.expect("event")).toMatchObject({ event: "job.queued" });
    expect(await ws.expect("event", 30_000)).toMatchObject({
      event: "job.done",
      seq: 2,
      data: { result: { text: "read https://img.test/a.png" } },
    });
    expect(processorCalls).toBe(3);
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
