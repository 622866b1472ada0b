/**
 * The hook helpers of src/worker/hooks/ on their own: the place-pattern matcher, the signed call
 * (signature, answer, deadline, size bound; `fetch` replaced per test), and the connect hook's
 * settings and reading of answers. What the join check does with an answer is in
 * test/connect-hook.test.ts.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { callHook, MAX_HOOK_ANSWER_BYTES } from "../src/protocol/hook-call";
import { connectHookFor, connectRequest, readConnectAnswer } from "../src/worker/hooks/connect";
import { matchesPattern } from "../src/protocol";
import { generateSecret, verifyWebhook } from "../src/protocol/webhook";

afterEach(() => {
  vi.restoreAllMocks();
});

const URL_ = "https://backend.test/hook";
const nowSec = () => Math.floor(Date.now() / 1000);

describe("matchesPattern", () => {
  it("matches whole names, and * any run of characters, the empty run included", () => {
    expect(matchesPattern("lobby", "lobby")).toBe(true);
    expect(matchesPattern("lobby", "lobby-2")).toBe(false);
    expect(matchesPattern("lobby", "the-lobby")).toBe(false);
    expect(matchesPattern("support-*", "support-7")).toBe(true);
    expect(matchesPattern("support-*", "support-")).toBe(true);
    expect(matchesPattern("support-*", "support")).toBe(false);
    expect(matchesPattern("*-vip", "room-vip")).toBe(true);
    expect(matchesPattern("a*c*e", "abcde")).toBe(true);
    expect(matchesPattern("a*c*e", "abcd")).toBe(false);
    expect(matchesPattern("*", "anything.at_all-1")).toBe(true);
  });

  it("takes a comma-separated list, blanks around names ignored", () => {
    const list = "support-*, orders ,private-*";
    expect(matchesPattern(list, "orders")).toBe(true);
    expect(matchesPattern(list, "support-1")).toBe(true);
    expect(matchesPattern(list, "private-x")).toBe(true);
    expect(matchesPattern(list, "lobby")).toBe(false);
  });

  it("reads every other character literally: a dot is a dot", () => {
    expect(matchesPattern("a.b", "a.b")).toBe(true);
    expect(matchesPattern("a.b", "axb")).toBe(false);
    expect(matchesPattern("(x)+", "(x)+")).toBe(true);
    expect(matchesPattern("(x)+", "xx")).toBe(false);
  });

  it("matches nothing with an empty list", () => {
    expect(matchesPattern("", "lobby")).toBe(false);
    expect(matchesPattern(" , ", "lobby")).toBe(false);
  });
});

describe("callHook", () => {
  it("POSTs the body as JSON, signed with the secret, and returns status and parsed answer", async () => {
    const secret = generateSecret();
    let seen: { url: string; text: string; headers: Headers; redirect?: string } | undefined;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const req = new Request(input, init);
      seen = {
        url: req.url,
        text: await req.text(),
        headers: req.headers,
        redirect: init?.redirect,
      };
      return Response.json({ ok: 1 }, { status: 201 });
    });
    const result = await callHook(URL_, secret, { place: "lobby", n: [1, 2] }, 1000);
    expect(result).toEqual({ ok: true, status: 201, json: { ok: 1 } });
    expect(seen!.url).toBe(URL_);
    expect(JSON.parse(seen!.text)).toEqual({ place: "lobby", n: [1, 2] });
    expect(seen!.headers.get("content-type")).toBe("application/json");
    expect(seen!.redirect).toBe("manual"); // a signed body is never sent on elsewhere
    expect(await verifyWebhook(secret, seen!.headers, seen!.text, nowSec())).toMatchObject({
      ok: true,
    });
    expect(await verifyWebhook(generateSecret(), seen!.headers, seen!.text, nowSec())).toEqual({
      ok: false,
      reason: "no signature matches",
    });
  });

  it("signs under the given webhook-id, or a fresh msg_ id", async () => {
    const ids: (string | null)[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      ids.push(new Request(input, init).headers.get("webhook-id"));
      return new Response("{}");
    });
    const secret = generateSecret();
    await callHook(URL_, secret, {}, 1000, "delivery-7");
    await callHook(URL_, secret, {}, 1000);
    await callHook(URL_, secret, {}, 1000);
    expect(ids[0]).toBe("delivery-7");
    expect(ids[1]).toMatch(/^msg_/);
    expect(ids[2]).not.toBe(ids[1]);
  });

  it("returns json undefined for a body that is empty or not JSON", async () => {
    const secret = generateSecret();
    vi.spyOn(globalThis, "fetch").mockResolvedValueOnce(new Response("<html>", { status: 502 }));
    expect(await callHook(URL_, secret, {}, 1000)).toEqual({
      ok: true,
      status: 502,
      json: undefined,
    });
    vi.spyOn(globalThis, "fetch").mockResolvedValueOnce(new Response(null, { status: 204 }));
    expect(await callHook(URL_, secret, {}, 1000)).toEqual({
      ok: true,
      status: 204,
      json: undefined,
    });
  });

  it("gives up after timeoutMs, aborting the request", async () => {
    let aborted = false;
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("aborted"));
          });
        }),
    );
    const started = Date.now();
    const result = await callHook(URL_, generateSecret(), {}, 150);
    expect(result).toEqual({ ok: false, reason: "timeout", message: "no answer within 150 ms" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(aborted).toBe(true);
  });

  it("gives up after timeoutMs even if the request ignores the abort", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(() => new Promise(() => {}));
    expect(await callHook(URL_, generateSecret(), {}, 100)).toMatchObject({
      ok: false,
      reason: "timeout",
    });
  });

  it("fails on a network error, a malformed secret, and an answer over the size bound", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValueOnce(new TypeError("connection refused"));
    expect(await callHook(URL_, generateSecret(), {}, 1000)).toEqual({
      ok: false,
      reason: "failed",
      message: "the hook could not be reached: connection refused",
    });
    expect(await callHook(URL_, "whsec_!!!", {}, 1000)).toMatchObject({
      ok: false,
      reason: "failed",
      message: expect.stringMatching(/HOOK_SECRET is malformed/),
    });
    const big = "x".repeat(MAX_HOOK_ANSWER_BYTES + 1);
    vi.spyOn(globalThis, "fetch").mockResolvedValueOnce(new Response(JSON.stringify(big)));
    expect(await callHook(URL_, generateSecret(), {}, 1000)).toMatchObject({
      ok: false,
      reason: "failed",
    });
    // Streamed without a length, cut off once it passes the bound.
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(16_384).fill(0x20));
      },
    });
    vi.spyOn(globalThis, "fetch").mockResolvedValueOnce(new Response(stream));
    expect(await callHook(URL_, generateSecret(), {}, 1000)).toMatchObject({
      ok: false,
      reason: "failed",
    });
    // Exactly at the bound is fine.
    const atBound = JSON.stringify("y".repeat(MAX_HOOK_ANSWER_BYTES - 2));
    vi.spyOn(globalThis, "fetch").mockResolvedValueOnce(new Response(atBound));
    expect(await callHook(URL_, generateSecret(), {}, 1000)).toMatchObject({
      ok: true,
      status: 200,
    });
  });
});

describe("connect hook settings", () => {
  const base = { HOOK_SECRET: "whsec_c2VjcmV0" };

  it("is off without AUTH_HOOK_URL, or with it empty", () => {
    expect(connectHookFor(base, "lobby")).toBeNull();
    expect(connectHookFor({ ...base, AUTH_HOOK_URL: "" }, "lobby")).toBeNull();
    expect(connectHookFor({ ...base, AUTH_HOOK_URL: "  " }, "lobby")).toBeNull();
  });

  it("applies to every place by default, and to the places of AUTH_HOOK_ROOMS when set", () => {
    const on = { ...base, AUTH_HOOK_URL: URL_ };
    expect(connectHookFor(on, "lobby")).toEqual({
      url: URL_,
      secret: base.HOOK_SECRET,
      timeoutMs: 3000,
    });
    expect(connectHookFor({ ...on, AUTH_HOOK_ROOMS: "support-*" }, "lobby")).toBeNull();
    expect(connectHookFor({ ...on, AUTH_HOOK_ROOMS: "support-*" }, "support-1")).not.toBeNull();
    expect(connectHookFor({ ...on, AUTH_HOOK_ROOMS: "" }, "lobby")).toBeNull();
  });

  it("reads HOOK_TIMEOUT_MS, loudly on a bad value", () => {
    const on = { ...base, AUTH_HOOK_URL: URL_ };
    expect(connectHookFor({ ...on, HOOK_TIMEOUT_MS: "250" }, "lobby")?.timeoutMs).toBe(250);
    for (const bad of ["0", "-5", "1.5", "3s"]) {
      expect(() => connectHookFor({ ...on, HOOK_TIMEOUT_MS: bad }, "lobby")).toThrow(
        /HOOK_TIMEOUT_MS/,
      );
    }
  });

  it("has no secret without HOOK_SECRET, so nothing unsigned is ever sent", () => {
    expect(connectHookFor({ AUTH_HOOK_URL: URL_ }, "lobby")?.secret).toBeUndefined();
    expect(
      connectHookFor({ AUTH_HOOK_URL: URL_, HOOK_SECRET: "" }, "lobby")?.secret,
    ).toBeUndefined();
  });

  it("reads the test bindings' HOOK_SECRET", () => {
    expect((env as Env).HOOK_SECRET).toMatch(/^whsec_/);
  });
});

describe("the connect hook's question", () => {
  it("keeps the query but the token, and only the four headers present", () => {
    const headers: Record<string, string> = {
      cookie: "s=1",
      "user-agent": "ua",
      "x-real-ip": "203.0.113.1",
    };
    const req = connectRequest(
      { kind: "desk", name: "help" },
      true,
      { role: "agent", token: "t", name: "Li" },
      (n) => headers[n],
    );
    expect(req).toEqual({
      place: "help",
      kind: "desk",
      role: "agent",
      query: { role: "agent", name: "Li" },
      headers: { cookie: "s=1", "user-agent": "ua" },
    });
    expect(connectRequest({ kind: "room", name: "lobby" }, false, {}, () => undefined)).toEqual({
      place: "lobby",
      kind: "room",
      role: null,
      query: {},
      headers: {},
    });
  });
});

describe("reading the connect hook's answer", () => {
  it("reads a user, with its name and role defaulted like a token's", () => {
    expect(readConnectAnswer(200, { user: "42", name: " Ann ", role: "agent" })).toEqual({
      by: "user",
      user: "42",
      name: "Ann",
      role: "agent",
    });
    expect(readConnectAnswer(200, { user: "ann@example.com" })).toEqual({
      by: "user",
      user: "ann@example.com",
      name: "ann@example.com",
      role: "member",
    });
  });

  it("reads a guest", () => {
    expect(readConnectAnswer(200, { guest: true })).toEqual({ by: "guest" });
  });

  it("passes a 401's or 403's message on, trimmed", () => {
    expect(readConnectAnswer(401, { message: " sign in " })).toEqual({
      by: "refused",
      code: "unauthorized",
      message: "sign in",
    });
    expect(readConnectAnswer(403, { message: 7 })).toMatchObject({
      by: "refused",
      code: "forbidden",
    });
  });

  it("reads every other answer as a failing backend", () => {
    for (const [status, json] of [
      [500, { user: "42" }],
      [201, { user: "42" }],
      [200, undefined],
      [200, null],
      [200, "42"],
      [200, [{ user: "42" }]],
      [200, {}],
      [200, { guest: "yes" }],
      [200, { user: "guest-0123456789" }],
      [200, { user: "" }],
      [200, { user: "42", name: 7 }],
      [200, { user: "42", role: "guest" }],
    ] as const) {
      expect(readConnectAnswer(status, json), JSON.stringify([status, json])).toMatchObject({
        by: "refused",
        code: "auth_unavailable",
      });
    }
  });
});
