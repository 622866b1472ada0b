/**
 * The connect hook (src/worker/hooks/connect.ts, applied by the join check): where AUTH_HOOK_URL
 * is set and the place matches AUTH_HOOK_ROOMS, a join without a token is decided by the
 * backend. The backend is faked by replacing `fetch` per test; the fake verifies the
 * HOOK_SECRET signature of every call and records what it was sent. The hook settings are
 * passed per test in the env the Worker's fetch is called with.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import worker from "../src/index";
import type { ConnectRequest } from "../src/worker/hooks/connect";
import { verifyWebhook } from "../src/protocol/webhook";
import { Client, type Frame, uniqueRoom, userToken } from "./helpers";

const HOOK_URL = "https://backend.test/rooms/connect";

const opened: Client[] = [];
/** What the Worker logs for the operator (a failing backend's details), kept out of the output. */
let warned: MockInstance<typeof console.warn>;
beforeEach(() => {
  warned = vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of opened.splice(0)) c.close();
});

/** The test bindings with the connect hook on, and any other settings the test names. */
function hookEnv(vars: Record<string, string | undefined> = {}): Env {
  const e: Record<string, unknown> = { ...env, AUTH_HOOK_URL: HOOK_URL, ...vars };
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete e[k];
  return e as unknown as Env;
}

interface HookCall {
  body: ConnectRequest;
  headers: Headers;
  verified: boolean;
}

/**
 * Replaces `fetch` with the backend: every call is checked against HOOK_SECRET and recorded, and
 * `answer` decides the response. Any other outbound request fails the test.
 */
function backend(answer: (body: ConnectRequest) => Response | Promise<Response>): HookCall[] {
  const calls: HookCall[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const req = new Request(input, init);
    if (req.url !== HOOK_URL) throw new Error(`unexpected outbound request to ${req.url}`);
    expect(req.method).toBe("POST");
    const text = await req.text();
    const now = Math.floor(Date.now() / 1000);
    const check = await verifyWebhook((env as Env).HOOK_SECRET!, req.headers, text, now);
    const body = JSON.parse(text) as ConnectRequest;
    calls.push({ body, headers: req.headers, verified: check.ok });
    return answer(body);
  });
  return calls;
}

const answer = (status: number, body?: unknown) =>
  body === undefined
    ? new Response(null, { status })
    : new Response(typeof body === "string" ? body : JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" },
      });

async function upgrade(
  kind: "room" | "desk",
  place: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
  e: Env = hookEnv(),
): Promise<Client> {
  const qs = new URLSearchParams(params).toString();
  const url = `https://rooms.test/${kind}/${place}${qs ? `?${qs}` : ""}`;
  const req = new Request(url, { headers: { Upgrade: "websocket", ...headers } });
  const res = await worker.fetch(req, e, createExecutionContext());
  if (res.status !== 101 || res.webSocket === null) {
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  }
  const client = new Client(res.webSocket);
  opened.push(client);
  return client;
}

async function welcomed(
  kind: "room" | "desk",
  place: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
  e?: Env,
): Promise<Frame> {
  const client = await upgrade(kind, place, params, headers, e);
  return client.expect("welcome");
}

/** A refused join: its one error frame, then the close. */
async function refusal(
  kind: "room" | "desk",
  place: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
  e?: Env,
): Promise<{ code: string; message: string; close: number }> {
  const client = await upgrade(kind, place, params, headers, e);
  const error = await client.expect("error");
  const { code } = await client.closed;
  expect(client.pending).toEqual([]); // nothing but the error: never a welcome
  return { code: error.code, message: error.message, close: code };
}

const GUEST_ID = /^guest-[A-Za-z0-9_-]{10,}$/;
const ANN = { user: "42", name: "Ann", role: "member" };

describe("what the backend is asked", () => {
  it("posts the place, kind, role, query and four headers, signed with HOOK_SECRET", async () => {
    const calls = backend(() => answer(200, ANN));
    const room = uniqueRoom();
    await welcomed(
      "room",
      room,
      { name: "Annie", since: "0", batch: "1" },
      {
        Cookie: "sessionid=abc; csrftoken=x",
        Authorization: "Bearer t0k",
        Origin: "https://rooms.test",
        "User-Agent": "test-browser/1.0",
        "X-Forwarded-For": "203.0.113.9",
        "Accept-Language": "zh-CN",
      },
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]!.verified).toBe(true);
    expect(calls[0]!.headers.get("content-type")).toBe("application/json");
    expect(calls[0]!.headers.get("webhook-id")).toMatch(/^msg_/);
    expect(calls[0]!.body).toEqual({
      place: room,
      kind: "room",
      role: null,
      query: { name: "Annie", since: "0", batch: "1" },
      headers: {
        cookie: "sessionid=abc; csrftoken=x",
        authorization: "Bearer t0k",
        origin: "https://rooms.test",
        "user-agent": "test-browser/1.0",
      },
    });
  });

  it("sends only the headers present, and a desk's role: customer unless ?role=agent", async () => {
    const calls = backend(() => answer(200, { user: "kefu1", name: "Li", role: "agent" }));
    const desk = uniqueRoom("desk");
    await welcomed("desk", desk);
    await welcomed("desk", desk, { role: "agent" }, { Cookie: "s=1" });
    expect(calls.map((c) => c.body)).toEqual([
      { place: desk, kind: "desk", role: "customer", query: {}, headers: {} },
      {
        place: desk,
        kind: "desk",
        role: "agent",
        query: { role: "agent" },
        headers: { cookie: "s=1" },
      },
    ]);
    const ids = new Set(calls.map((c) => c.headers.get("webhook-id")));
    expect(ids.size).toBe(2); // every call its own webhook-id
  });

  it("never calls the hook for a join with a token, a backend's or a guest's", async () => {
    const room = uniqueRoom();
    const off = hookEnv({ AUTH_HOOK_URL: "" });
    const guestToken = (await welcomed("room", room, {}, {}, off)).self.token as string;
    const calls = backend(() => answer(500));
    const member = await welcomed("room", room, { token: await userToken("bo") });
    expect(member.self.id).toBe("bo");
    const guest = await welcomed("room", room, { token: guestToken });
    expect(guest.self.id).toMatch(GUEST_ID);
    expect(calls).toEqual([]);
  });

  it("asks only for places matching AUTH_HOOK_ROOMS; absent, the setting is *", async () => {
    const calls = backend(() => answer(200, ANN));
    const only = hookEnv({ AUTH_HOOK_ROOMS: "support-*, orders" });
    const lobby = await welcomed("room", uniqueRoom("lobby"), {}, {}, only);
    expect(lobby.self.id).toMatch(GUEST_ID); // not hooked: a guest as without the hook
    expect(calls).toHaveLength(0);
    expect((await welcomed("room", uniqueRoom("support"), {}, {}, only)).self.id).toBe("42");
    expect((await welcomed("desk", "orders", {}, {}, only)).self.id).toBe("42");
    expect(calls).toHaveLength(2);
    const byDefault = hookEnv({ AUTH_HOOK_ROOMS: undefined });
    expect((await welcomed("room", uniqueRoom("any"), {}, {}, byDefault)).self.id).toBe("42");
    expect(calls).toHaveLength(3);
  });

  it("is off without AUTH_HOOK_URL: private rooms refuse a tokenless join as before", async () => {
    const calls = backend(() => answer(200, ANN));
    const off = hookEnv({ AUTH_HOOK_URL: "" });
    const refused = await refusal("room", uniqueRoom("private"), {}, {}, off);
    expect(refused).toMatchObject({ code: "unauthorized", close: 4401 });
    expect(calls).toEqual([]);
  });
});

describe("200 with a user: that identity, proven like a backend token", () => {
  it("joins a public room as that user, with the backend's name and no guest token", async () => {
    backend(() => answer(200, ANN));
    const welcome = await welcomed("room", uniqueRoom(), { name: "Claimed" });
    expect(welcome.self).toEqual({ id: "42", name: "Ann" });
    expect(welcome.members).toEqual([{ id: "42", name: "Ann" }]);
  });

  it("uses the id as the name and member as the role when the answer leaves them out", async () => {
    backend(() => answer(200, { user: "u-7" }));
    expect((await welcomed("room", uniqueRoom())).self).toEqual({ id: "u-7", name: "u-7" });
  });

  it("opens private rooms and the user's own personal room, never another's", async () => {
    backend(() => answer(200, ANN));
    expect((await welcomed("room", uniqueRoom("private"))).self.id).toBe("42");
    expect((await welcomed("room", "user-42")).self.id).toBe("42");
    const other = await refusal("room", "user-43");
    expect(other).toEqual({
      code: "forbidden",
      message: '"user-43" is the personal room of another user',
      close: 4403,
    });
  });

  it("makes an agent only of role agent with ?role=agent; without it, a customer", async () => {
    const desk = uniqueRoom("desk");
    backend(() => answer(200, { user: "kefu1", name: "Li", role: "agent" }));
    const asAgent = await welcomed("desk", desk, { role: "agent" });
    expect(asAgent.self.id).toBe("kefu1");
    expect(asAgent.customers).toEqual([]); // an agent's welcome lists its conversations
    expect(asAgent.agents_online).toBeUndefined();
    const otherDesk = uniqueRoom("desk");
    const asCustomer = await welcomed("desk", otherDesk);
    expect(asCustomer.self.id).toBe("kefu1");
    expect(asCustomer.customers).toBeUndefined();
    expect(asCustomer.agents_online).toBe(0);
  });

  it("refuses ?role=agent with a member role: 4403 forbidden", async () => {
    backend(() => answer(200, { user: "42", name: "Ann", role: "member" }));
    const refused = await refusal("desk", uniqueRoom("desk"), { role: "agent" });
    expect(refused).toMatchObject({ code: "forbidden", close: 4403 });
    expect(refused.message).toMatch(/agent/);
  });

  const failing: [string, unknown][] = [
    ["a guest- id", { user: "guest-abcdefghijkl", name: "Sneaky" }],
    ["an id with a space", { user: "ann smith", name: "Ann" }],
    ["an id over 64 characters", { user: "a".repeat(65), name: "Ann" }],
    ["a numeric id", { user: 42, name: "Ann" }],
    ["an empty name", { user: "42", name: "  " }],
    ["a name with a bidirectional override", { user: "42", name: "Ann\u202Enimda" }],
    ["a name with a control character", { user: "42", name: "Ann\u0007" }],
    ["a role that is neither member nor agent", { user: "42", name: "Ann", role: "admin" }],
    ["a user and guest: true both", { user: "42", guest: true }],
  ];
  for (const [what, body] of failing) {
    it(`treats ${what} as a failing backend: auth_unavailable, 1013, not admitted`, async () => {
      backend(() => answer(200, body));
      const refused = await refusal("room", uniqueRoom());
      expect(refused).toMatchObject({ code: "auth_unavailable", close: 1013 });
    });
  }
});

describe('200 {"guest":true}: a guest where the place admits guests', () => {
  it("makes a fresh guest with a guest token, in a room and at a desk as a customer", async () => {
    backend(() => answer(200, { guest: true }));
    const room = await welcomed("room", uniqueRoom(), { name: "Visitor" });
    expect(room.self.id).toMatch(GUEST_ID);
    expect(room.self.name).toBe("Visitor");
    expect(typeof room.self.token).toBe("string");
    const again = await welcomed("room", uniqueRoom(), { name: "Visitor" });
    expect(again.self.id).not.toBe(room.self.id); // a fresh id every time, as without the hook
    const desk = await welcomed("desk", uniqueRoom("desk"));
    expect(desk.self.id).toMatch(GUEST_ID);
    expect(desk.agents_online).toBe(0);
  });

  it("refuses the guest where guests may not go: 4401 at private, personal and agent joins", async () => {
    backend(() => answer(200, { guest: true }));
    for (const [kind, place, params] of [
      ["room", uniqueRoom("private"), {}],
      ["room", "user-42", {}],
      ["desk", uniqueRoom("desk"), { role: "agent" }],
    ] as const) {
      const refused = await refusal(kind, place, params);
      expect(refused, `${kind} ${place}`).toMatchObject({ code: "unauthorized", close: 4401 });
      expect(refused.message).toMatch(/guest/);
    }
  });
});

describe("401 and 403: refused, with the backend's message", () => {
  it("passes the message of a 401 on: 4401 unauthorized", async () => {
    backend(() => answer(401, { message: "please sign in first" }));
    expect(await refusal("room", uniqueRoom())).toEqual({
      code: "unauthorized",
      message: "please sign in first",
      close: 4401,
    });
  });

  it("passes the message of a 403 on: 4403 forbidden", async () => {
    backend(() => answer(403, { message: "your account is suspended" }));
    expect(await refusal("desk", uniqueRoom("desk"))).toEqual({
      code: "forbidden",
      message: "your account is suspended",
      close: 4403,
    });
  });

  it("refuses with a message of its own when the backend's body has none", async () => {
    backend(() => answer(401));
    const bare = await refusal("room", uniqueRoom());
    expect(bare).toMatchObject({ code: "unauthorized", close: 4401 });
    expect(bare.message).not.toBe("");
    backend(() => answer(403, "<h1>Forbidden</h1>"));
    expect(await refusal("room", uniqueRoom())).toMatchObject({ code: "forbidden", close: 4403 });
  });
});

describe("anything else: auth_unavailable and 1013, never admitted", () => {
  const answers: [string, () => Response][] = [
    ["a 500", () => answer(500, { message: "oops" })],
    ["a 404", () => answer(404)],
    ["a 204", () => answer(204)],
    ["a redirect", () => new Response(null, { status: 302, headers: { location: HOOK_URL } })],
    ["a 200 that is not JSON", () => answer(200, "<html>sign in</html>")],
    ["a 200 with an empty body", () => answer(200)],
    ["a 200 with a JSON array", () => answer(200, [ANN])],
    ["a 200 with neither user nor guest", () => answer(200, { ok: true })],
    ["a 200 with guest: false", () => answer(200, { guest: false })],
    [
      "a 200 larger than a hook's answer may be",
      () => answer(200, { ...ANN, pad: "x".repeat(70_000) }),
    ],
  ];
  for (const [what, respond] of answers) {
    it(`refuses on ${what}`, async () => {
      backend(respond);
      const refused = await refusal("room", uniqueRoom("private"));
      expect(refused).toMatchObject({ code: "auth_unavailable", close: 1013 });
    });
  }

  it("refuses when the backend cannot be reached", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("connection refused"));
    const refused = await refusal("room", uniqueRoom());
    expect(refused).toMatchObject({ code: "auth_unavailable", close: 1013 });
    expect(refused.message).not.toMatch(/connection refused/); // the details are the operator's
    expect(String(warned.mock.calls[0]?.[0])).toMatch(/connection refused/);
  });

  it("refuses when the backend does not answer within HOOK_TIMEOUT_MS", async () => {
    let asked = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation((_input, init) => {
      asked++;
      // Answers only when aborted (as a real request would fail), never in time.
      return new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new Error("aborted")));
      });
    });
    const started = Date.now();
    const refused = await refusal(
      "room",
      uniqueRoom(),
      {},
      {},
      hookEnv({ HOOK_TIMEOUT_MS: "200" }),
    );
    const waited = Date.now() - started;
    expect(asked).toBe(1);
    expect(refused).toMatchObject({ code: "auth_unavailable", close: 1013 });
    expect(refused.message).toMatch(/200 ms/);
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(3000); // the default 3000 was not used
  });

  it("refuses a backend whose answer starts in time but whose body does not end in time", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"user":"42",'));
          // and never the rest
        },
      });
      return new Response(body, { status: 200 });
    });
    const refused = await refusal(
      "room",
      uniqueRoom(),
      {},
      {},
      hookEnv({ HOOK_TIMEOUT_MS: "200" }),
    );
    expect(refused).toMatchObject({ code: "auth_unavailable", close: 1013 });
  });

  it("refuses every hooked join, naming HOOK_SECRET, when the secret is missing", async () => {
    const calls = backend(() => answer(200, ANN));
    const noSecret = hookEnv({ HOOK_SECRET: undefined });
    for (const [kind, place] of [
      ["room", uniqueRoom()],
      ["room", uniqueRoom("private")],
      ["desk", uniqueRoom("desk")],
    ] as const) {
      const refused = await refusal(kind, place, {}, {}, noSecret);
      expect(refused).toMatchObject({ code: "auth_unavailable", close: 1013 });
      expect(refused.message).toMatch(/HOOK_SECRET/);
    }
    expect(calls).toEqual([]); // an unsigned call is never made
    // A join with a token needs no hook and still gets in.
    const member = await welcomed(
      "room",
      uniqueRoom(),
      { token: await userToken("bo") },
      {},
      noSecret,
    );
    expect(member.self.id).toBe("bo");
  });
});
