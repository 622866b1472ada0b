/**
 * The connect hook under a real `wrangler dev`, with a real backend: a Node HTTP server on
 * 127.0.0.1 that checks every call's signature with the official `standardwebhooks` package and
 * decides from the session cookie, as a Django app reads its session. A signed-in join gets the
 * backend's identity, one without a cookie is a guest, and a backend slower than
 * HOOK_TIMEOUT_MS gets the join refused with auth_unavailable and close 1013.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/protocol/webhook.ts";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const HOOK_SECRET = generateSecret();
const HOOK_TIMEOUT_MS = 1000;
/** How long the backend takes for `session=slow`: well past the Worker's deadline. */
const SLOW_MS = 3000;

let server: DevServer;
let backend: Server;
/** Every call the backend got: the body it was sent, and whether the signature verified. */
const calls: { body: Record<string, unknown>; verified: boolean }[] = [];
const sockets: WsClient[] = [];

const SESSIONS: Record<string, { user: string; name: string }> = {
  ann: { user: "ann", name: "Ann" },
};

beforeAll(async () => {
  const webhook = new Webhook(HOOK_SECRET);
  backend = createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      let body: Record<string, unknown>;
      try {
        body = webhook.verify(raw, req.headers as Record<string, string>) as Record<
          string,
          unknown
        >;
      } catch {
        calls.push({ body: JSON.parse(raw), verified: false });
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "bad signature" }));
        return;
      }
      calls.push({ body, verified: true });
      const headers = body.headers as { cookie?: string };
      const session = /(?:^|;\s*)session=([^;]*)/.exec(headers.cookie ?? "")?.[1];
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (session === undefined) return reply(200, { guest: true });
      if (session === "slow") {
        setTimeout(() => reply(200, SESSIONS.ann), SLOW_MS);
        return;
      }
      const user = SESSIONS[session];
      if (user === undefined) return reply(401, { message: "your session has expired" });
      reply(200, user);
    });
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  const { port } = backend.address() as AddressInfo;
  server = await startServer({
    vars: {
      HOOK_SECRET,
      AUTH_HOOK_URL: `http://127.0.0.1:${port}/rooms/connect`,
      HOOK_TIMEOUT_MS: String(HOOK_TIMEOUT_MS),
    },
  });
});

afterAll(async () => {
  for (const ws of sockets) ws.ws.close();
  await server?.stop();
  backend?.closeAllConnections();
  await new Promise((r) => backend?.close(r));
});

async function connect(path: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const ws = await WsClient.connect(`${server.wsUrl}${path}`, headers);
  sockets.push(ws);
  return ws;
}

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

describe("the connect hook against a real backend", () => {
  it("admits a signed-in browser as the backend's user, even to a private room", async () => {
    const room = unique("private");
    const before = calls.length;
    const ws = await connect(`/room/${room}?name=Claimed`, {
      Cookie: "session=ann; theme=dark",
      "User-Agent": "e2e-browser",
    });
    const welcome = await ws.expect("welcome");
    expect(welcome.self).toEqual({ id: "ann", name: "Ann" });
    const call = calls[before]!;
    expect(call.verified).toBe(true);
    expect(call.body).toEqual({
      place: room,
      kind: "room",
      role: null,
      query: { name: "Claimed" },
      headers: { cookie: "session=ann; theme=dark", "user-agent": "e2e-browser" },
    });
  });

  it("admits a browser without a session as a guest where guests may go, and not elsewhere", async () => {
    const guest = await connect(`/room/${unique("lobby")}?name=Visitor`);
    const welcome = await guest.expect("welcome");
    expect(welcome.self.id).toMatch(/^guest-/);
    expect(welcome.self.name).toBe("Visitor");
    expect(typeof welcome.self.token).toBe("string");

    const refused = await connect(`/room/${unique("private")}`);
    expect(await refused.expect("error")).toMatchObject({ code: "unauthorized" });
    expect((await refused.closed).code).toBe(4401);
  });

  it("passes the backend's 401 on with its message", async () => {
    const ws = await connect(`/room/${unique("lobby")}`, { Cookie: "session=expired" });
    expect(await ws.expect("error")).toEqual({
      type: "error",
      code: "unauthorized",
      message: "your session has expired",
    });
    expect((await ws.closed).code).toBe(4401);
  });

  it("refuses with auth_unavailable and 1013 when the backend is slower than HOOK_TIMEOUT_MS", async () => {
    const started = Date.now();
    const ws = await connect(`/room/${unique("lobby")}`, { Cookie: "session=slow" });
    const error = await ws.expect("error", SLOW_MS + 5000);
    expect(error.code).toBe("auth_unavailable");
    expect((await ws.closed).code).toBe(1013);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(HOOK_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(SLOW_MS); // refused at the deadline, not when the backend answered
  });

  it("never asks the backend about a join that carries a token", async () => {
    const before = calls.length;
    const token = await mintToken(server, { sub: "bo", room: "*" });
    const ws = await connect(`/room/${unique("private")}?token=${token}`, {
      Cookie: "session=ann",
    });
    expect((await ws.expect("welcome")).self.id).toBe("bo");
    expect(calls.length).toBe(before);
  });

  it("got only calls its signature check accepted", () => {
    expect(calls.length).toBeGreaterThanOrEqual(5);
    expect(calls.every((c) => c.verified)).toBe(true);
  });
});
