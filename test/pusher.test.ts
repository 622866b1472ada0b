/**
 * Pusher's HTTP API (docs/protocol.md, "Pusher's HTTP API"), through the Worker's own fetch
 * handler with real sockets in the rooms: each call as a room's member sees it, each answer, and
 * each refusal with its status and body (Pusher's plain-text sentence where Pusher's libraries
 * read one, the project's JSON otherwise). Requests are signed here with Web Crypto, as Pusher's
 * libraries sign them; one request signed by the official `pusher` package is checked as it is.
 */
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import app from "../src/index";
import { readPusherConfig } from "../src/worker/pusher/config";
import { md5Hex, verifyPusher } from "../src/worker/pusher/verify";
import { Client, captureLogs, join } from "./helpers";

const HOST = "https://rooms.test";
const MAX_PUSH_BYTES = 16384; // vitest.config.ts lowers the default for these tests
const PRESENCE_COUNT_MS = Number(env.PRESENCE_COUNT_MS); // wrangler.toml: 2000

// vitest.config.ts binds these; the secret is not in the generated Env type (it is a secret).
const vars = env as unknown as { PUSHER_APP_ID: string; PUSHER_KEY: string; PUSHER_SECRET: string };
const APP = vars.PUSHER_APP_ID;

const opened: Client[] = [];
const logs = captureLogs();
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface SignOptions {
  key?: string;
  secret?: string;
  timestamp?: number;
  /** A body_md5 to send instead of the body's own; null to send none. */
  md5?: string | null;
  version?: string;
}

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A signed URL for one call, built as Pusher's libraries build it. */
async function signedUrl(
  method: string,
  path: string,
  params: Record<string, string>,
  body: string | undefined,
  opts: SignOptions = {},
): Promise<string> {
  const query: Record<string, string> = {
    auth_key: opts.key ?? vars.PUSHER_KEY,
    auth_timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: opts.version ?? "1.0",
    ...params,
  };
  if (body !== undefined && opts.md5 !== null) {
    const md5 = await crypto.subtle.digest("MD5", new TextEncoder().encode(body));
    query.body_md5 = opts.md5 ?? hex(md5);
  }
  const sorted = Object.keys(query)
    .sort()
    .map((k) => `${k}=${query[k]}`)
    .join("&");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(opts.secret ?? vars.PUSHER_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${method}\n${path}\n${sorted}`),
  );
  return `${HOST}${path}?${sorted}&auth_signature=${hex(mac)}`;
}

interface Answer {
  status: number;
  type: string | null;
  text: string;
  json: Json;
}

async function send(
  method: "GET" | "POST",
  path: string,
  params: Record<string, string> = {},
  body?: unknown,
  opts: SignOptions & { app?: string; env?: Record<string, unknown> } = {},
): Promise<Answer> {
  const text =
    body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const full = `/apps/${opts.app ?? APP}${path}`;
  const url = await signedUrl(method, full, params, text, opts);
  const init: RequestInit = {
    method,
    ...(text === undefined ? {} : { body: text, headers: { "Content-Type": "application/json" } }),
  };
  const res =
    opts.env === undefined
      ? await exports.default.fetch(url, init)
      : await app.fetch(new Request(url, init), { ...env, ...opts.env } as Env);
  const answer = await res.text();
  let json: Json = undefined;
  try {
    json = JSON.parse(answer);
  } catch {
    // a plain-text refusal
  }
  return { status: res.status, type: res.headers.get("Content-Type"), text: answer, json };
}

/** A call that must answer 200; its JSON. */
async function ok(
  method: "GET" | "POST",
  path: string,
  params: Record<string, string> = {},
  body?: unknown,
): Promise<Json> {
  const res = await send(method, path, params, body);
  expect(res.status, res.text).toBe(200);
  expect(res.type).toContain("application/json");
  return res.json;
}

/** A refusal in Pusher's format: the status and a plain-text sentence matching `message`. */
async function refused(res: Promise<Answer>, status: number, message: RegExp) {
  const r = await res;
  expect(r.status, r.text).toBe(status);
  expect(r.type).toContain("text/plain");
  expect(r.text).toMatch(message);
}

async function member(room: string, user: string) {
  const joined = await join(room, { user, name: user });
  opened.push(joined.client);
  return joined.client;
}

const trigger = (body: unknown) => send("POST", "/events", {}, body);

/** Waits until the channel list (registry-backed) holds what `want` says, with a deadline. */
async function channelsUntil(prefix: string, want: Json, ms = 4 * PRESENCE_COUNT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await ok("GET", "/channels", { filter_by_prefix: prefix, info: "user_count" });
    if (JSON.stringify(got) === JSON.stringify(want)) return;
    if (Date.now() > deadline) throw new Error(`channels still ${JSON.stringify(got)}`);
    // The registry is told in the background: there is no event to await from here.
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("Pusher's request signing", () => {
  it("verifies a request exactly as the official pusher library signed it", async () => {
    // Signed by `pusher` 5.3.4's createSignedQueryString at 2026-01-01T00:00:00Z, key
    // "test-key-1234", secret "test-secret-0123456789abcdef", for this body.
    const body = '{"name":"order.paid","data":"{\\"order\\":7}","channels":["orders"]}';
    const query =
      "auth_key=test-key-1234&auth_timestamp=1767225600&auth_version=1.0&body_md5=4a517ebc3f9d1112290f687e47327b0d&auth_signature=b01b4cdde94454f95fab2b830eac49c3bc7c6616bc06dd8f312b1203f2e5e46e";
    const config = { key: "test-key-1234", secret: "test-secret-0123456789abcdef" };
    const bytes = new TextEncoder().encode(body);
    expect(await md5Hex(bytes)).toBe("4a517ebc3f9d1112290f687e47327b0d");
    const request = { method: "POST", url: `${HOST}/apps/4242/events?${query}` };
    expect(await verifyPusher(request, bytes, config, 1767225600)).toEqual(new Map());
    // The same request with a GET's query parameters (commas left as the library sends them).
    const get = {
      method: "GET",
      url: `${HOST}/apps/4242/channels/orders?auth_key=test-key-1234&auth_timestamp=1767225600&auth_version=1.0&info=user_count,subscription_count&auth_signature=a96ceab3f38a1c0a426f1e611e89fff4fbfdc0a26066052e11fff5bace8e2a6e`,
    };
    expect(await verifyPusher(get, new Uint8Array(0), config, 1767225600 + 599)).toEqual(
      new Map([["info", "user_count,subscription_count"]]),
    );
    // Any change is refused: another path, another body, a clock 601 s away.
    await expect(
      verifyPusher(
        { ...request, url: request.url.replace("/4242/", "/4243/") },
        bytes,
        config,
        1767225600,
      ),
    ).rejects.toThrow(/invalid signature/);
    await expect(
      verifyPusher(request, new TextEncoder().encode(body.replace("7", "8")), config, 1767225600),
    ).rejects.toThrow(/body_md5/);
    await expect(verifyPusher(request, bytes, config, 1767225600 - 601)).rejects.toThrow(
      /timestamp expired/,
    );
  });

  it("refuses a wrong signature, an old timestamp, a wrong body_md5: 401 in plain text", async () => {
    const room = unique("sig");
    const ann = await member(room, "ann");
    const body = { name: "x", data: "1", channel: room };
    await refused(
      send("POST", "/events", {}, body, { secret: "not-the-secret-at-all" }),
      401,
      /^invalid signature: expected the hex HMAC-SHA256, keyed with the app's secret, of "POST\\n\/apps\/4242\/events\\nauth_key=/,
    );
    const now = Math.floor(Date.now() / 1000);
    await refused(
      send("POST", "/events", {}, body, { timestamp: now - 601 }),
      401,
      /^timestamp expired: auth_timestamp \d+ is not within 600 s of the server's time \d+$/,
    );
    await refused(
      send("POST", "/events", {}, body, { timestamp: now + 700 }),
      401,
      /timestamp expired/,
    );
    await refused(
      send("POST", "/events", {}, body, { md5: "0".repeat(32) }),
      401,
      /^body_md5 is not the MD5 of the body that arrived$/,
    );
    await refused(send("POST", "/events", {}, body, { md5: null }), 401, /^missing body_md5/);
    await refused(
      send("POST", "/events", {}, body, { key: "another-key" }),
      401,
      /^unknown auth_key$/,
    );
    await refused(
      send("POST", "/events", {}, body, { version: "2.0" }),
      401,
      /auth_version must be 1.0/,
    );
    const unsigned = await exports.default.fetch(`${HOST}/apps/${APP}/channels`);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).toMatch(/^missing auth_key/);
    // A query parameter added after signing breaks the signature.
    const url = await signedUrl("GET", `/apps/${APP}/channels`, {}, undefined);
    const tampered = await exports.default.fetch(`${url}&filter_by_prefix=x`);
    expect(tampered.status).toBe(401);
    // Nothing refused reached the room: the next frame is the next valid event.
    expect((await trigger(body)).status).toBe(200);
    expect(await ann.waitFor((f) => f.type !== "presence")).toMatchObject({
      type: "event",
      event: "x",
    });
  });

  it("answers 404 in plain text for another app id, before anything else", async () => {
    await refused(
      send("POST", "/events", {}, { name: "x", data: "1", channel: "lobby" }, { app: "999" }),
      404,
      /^unknown app id "999"$/,
    );
    await refused(
      send("GET", "/channels", {}, undefined, { app: "999", secret: "x".repeat(20) }),
      404,
      /unknown app id/,
    );
  });

  it("refuses a body over MAX_PUSH_BYTES with 413", async () => {
    const data = "x".repeat(MAX_PUSH_BYTES);
    await refused(
      trigger({ name: "big", data, channel: "lobby" }),
      413,
      new RegExp(`limited to ${MAX_PUSH_BYTES} bytes`),
    );
  });

  it("is off without its variables: 503 pusher_disabled in the project's JSON", async () => {
    const body = { name: "x", data: "1", channel: "lobby" };
    const off = await send("POST", "/events", {}, body, {
      env: { PUSHER_APP_ID: "", PUSHER_KEY: "", PUSHER_SECRET: undefined },
    });
    expect(off.status).toBe(503);
    expect(off.type).toContain("application/json");
    expect(off.json).toEqual({
      error: "pusher_disabled",
      message:
        "Pusher's HTTP API is off: set PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET to turn it on",
    });
    const half = await send("GET", "/channels", {}, undefined, {
      env: { PUSHER_SECRET: "" },
    });
    expect(half.status).toBe(503);
    expect(half.json).toEqual({
      error: "pusher_disabled",
      message: "Pusher's HTTP API is off: PUSHER_SECRET is not set",
    });
  });

  it("reads its variables loudly: a malformed one is an error naming it, never the secret", async () => {
    const good = { PUSHER_APP_ID: "1", PUSHER_KEY: "k", PUSHER_SECRET: "s".repeat(16) };
    expect(readPusherConfig(good)).toEqual({ appId: "1", key: "k", secret: "s".repeat(16) });
    expect(() => readPusherConfig({ ...good, PUSHER_APP_ID: "my app" })).toThrow(
      'PUSHER_APP_ID must be 1-64 characters of A-Z a-z 0-9 _ . -, got "my app"',
    );
    expect(() => readPusherConfig({ ...good, PUSHER_KEY: "k/1" })).toThrow(/^PUSHER_KEY must be/);
    expect(() => readPusherConfig({ ...good, PUSHER_SECRET: "short-secret" })).toThrow(
      "PUSHER_SECRET must be at least 16 characters, without surrounding spaces",
    );
    expect(() => readPusherConfig({ ...good, PUSHER_SECRET: ` ${"s".repeat(16)}` })).toThrow(
      /^PUSHER_SECRET must be/,
    );
    // Through the Worker: a 500 (the configuration, not the caller, is wrong), logs.lines.
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await send("GET", "/channels", {}, undefined, {
      env: { PUSHER_SECRET: "short-secret" },
      secret: "short-secret",
    });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: "internal", message: "internal error" });
    expect(String(errors.mock.calls[0]?.[1])).toMatch(/PUSHER_SECRET must be at least 16/);
    expect(JSON.stringify(errors.mock.calls)).not.toContain("short-secret");
  });
});

describe("POST /apps/<id>/events", () => {
  it("delivers to one channel's room as a stored event whose data is the JSON the string encodes", async () => {
    const room = unique("orders");
    const ann = await member(room, "ann");
    expect(await trigger({ name: "order.paid", data: '{"order":7}', channel: room })).toMatchObject(
      {
        status: 200,
        json: {},
      },
    );
    const frame = await ann.waitFor((f) => f.type === "event");
    expect(frame).toMatchObject({
      type: "event",
      seq: 1,
      event: "order.paid",
      data: { order: 7 },
      to: null,
    });
    expect(frame.id).toMatch(/^pusher_[0-9a-f-]{36}$/);
    expect(logs.lines).toContainEqual({
      event: "push",
      room,
      id: frame.id,
      events: ["order.paid"],
      user: null,
      delivered: 1,
      duplicate: false,
    });
    // Stored like a push: a later joiner gets it in its replay.
    const late = await join(room, { user: "bob", name: "bob" });
    opened.push(late.client);
    expect(await late.client.waitFor((f) => f.type === "event")).toMatchObject({
      seq: 1,
      data: { order: 7 },
    });
  });

  it("delivers a string that is not JSON as that string, and every call anew", async () => {
    const room = unique("strings");
    const ann = await member(room, "ann");
    for (const data of ["hello", '"quoted"', "42", "[1,2]", "hello"]) {
      expect((await trigger({ name: "say", data, channel: room })).status).toBe(200);
    }
    const got: unknown[] = [];
    for (let i = 0; i < 5; i++) got.push((await ann.waitFor((f) => f.type === "event")).data);
    // The same call twice is delivered twice: the library sends no idempotency key.
    expect(got).toEqual(["hello", "quoted", 42, [1, 2], "hello"]);
  });

  it("delivers to several channels, and answers their info when asked", async () => {
    const a = unique("multi-a");
    const b = unique("multi-b");
    const annA = await member(a, "ann");
    const annA2 = await member(a, "ann");
    const bobB = await member(b, "bob");
    const res = await trigger({
      name: "tick",
      data: '{"n":1}',
      channels: [a, b, a],
      info: "user_count,subscription_count",
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      channels: {
        [a]: { user_count: 1, subscription_count: 2 },
        [b]: { user_count: 1, subscription_count: 1 },
      },
    });
    for (const c of [annA, annA2, bobB]) {
      expect(await c.waitFor((f) => f.type === "event")).toMatchObject({
        event: "tick",
        data: { n: 1 },
      });
    }
    // A channel named twice got the event once.
    await trigger({ name: "after", data: "0", channel: a });
    expect(await annA.waitFor((f) => f.type === "event")).toMatchObject({ event: "after" });
  });

  it("refuses bad channels and bodies with 400 in plain text, delivering nothing", async () => {
    const room = unique("bad");
    const ann = await member(room, "ann");
    const channels101 = Array.from({ length: 101 }, (_, i) => `${room}-${i}`);
    const bad: [unknown, RegExp][] = [
      [{ name: "x", data: "1", channel: "bad name!" }, /"channel": "bad name!" is not a room name/],
      [
        { name: "x", data: "1", channels: [room, "#server-to-user-1"] },
        /"channels"\[1\]: "#server-to-user-1" is not a room name \(1-99 characters/,
      ],
      [{ name: "x", data: "1", channel: "a".repeat(100) }, /is not a room name/],
      [
        { name: "x", data: "1", channels: channels101 },
        /"channels" must be an array of 1-100 channel names/,
      ],
      [{ name: "x", data: "1", channels: [] }, /"channels" must be an array of 1-100/],
      [{ name: "x", data: "1" }, /give "channel" or "channels", one of the two/],
      [{ name: "x", data: "1", channel: room, channels: [room] }, /one of the two/],
      [{ name: "x", data: { a: 1 }, channel: room }, /"data" must be a string/],
      [{ data: "1", channel: room }, /"name" must be 1-100 characters/],
      [
        { name: "App\\Events\\Shipped", data: "1", channel: room },
        /"name" must be 1-100 characters/,
      ],
      [
        { name: "x", data: "1", channel: room, socket_id: "123.456" },
        /"socket_id" is not supported/,
      ],
      [
        { name: "x", data: "1", channel: room, info: "members" },
        /"info" is a comma-separated list of user_count, subscription_count; "members" is not one/,
      ],
      [{ name: "x", data: "1", channel: room, extra: 1 }, /unknown field "extra"/],
      [{ name: "x", data: "1", channel: "private-encrypted-x" }, /end-to-end encrypted channels/],
      ["not json", /UTF-8 JSON/],
      [[], /JSON object/],
    ];
    for (const [body, message] of bad) await refused(trigger(body), 400, message);
    await refused(
      send("POST", "/events", { dry_run: "1" }, { name: "x", data: "1", channel: room }),
      400,
      /unknown query parameter "dry_run": this call takes none/,
    );
    // A null socket_id (what a backend passes when it has none) is no socket id at all.
    expect((await trigger({ name: "ok", data: "1", channel: room, socket_id: null })).status).toBe(
      200,
    );
    expect(await ann.waitFor((f) => f.type === "event")).toMatchObject({ event: "ok", seq: 1 });
  });
});

describe("POST /apps/<id>/batch_events", () => {
  it("delivers up to 10 events in order, one push per room, with their info when asked", async () => {
    const a = unique("batch-a");
    const b = unique("batch-b");
    const ann = await member(a, "ann");
    const bob = await member(b, "bob");
    const res = await send(
      "POST",
      "/batch_events",
      {},
      {
        batch: [
          { channel: a, name: "first", data: '{"i":0}' },
          { channel: b, name: "other", data: "plain", info: "subscription_count" },
          { channel: a, name: "second", data: '{"i":2}', info: "user_count" },
        ],
      },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      batch: [{}, { subscription_count: 1 }, { user_count: 1 }],
    });
    const first = await ann.waitFor((f) => f.type === "event");
    const second = await ann.waitFor((f) => f.type === "event");
    expect([first, second]).toMatchObject([
      { event: "first", data: { i: 0 }, seq: 1 },
      { event: "second", data: { i: 2 }, seq: 2 },
    ]);
    const id = (first.id as string).replace(/#0$/, "");
    expect(first.id).toBe(`${id}#0`);
    expect(second.id).toBe(`${id}#2`);
    expect(await bob.waitFor((f) => f.type === "event")).toMatchObject({
      event: "other",
      data: "plain",
      id: `${id}#1`,
    });
    expect(logs.lines.filter((l) => l.event === "push").map((l) => [l.room, l.events])).toEqual(
      expect.arrayContaining([
        [a, ["first", "second"]],
        [b, ["other"]],
      ]),
    );
    // Without info, the answer is Pusher's empty object.
    expect(
      await ok("POST", "/batch_events", {}, { batch: [{ channel: a, name: "x", data: "1" }] }),
    ).toEqual({});
  });

  it("refuses more than 10 events, and any invalid one, delivering none", async () => {
    const room = unique("batch-bad");
    const ann = await member(room, "ann");
    const event = { channel: room, name: "x", data: "1" };
    const batch = (n: number) => ({ batch: Array.from({ length: n }, () => event) });
    await refused(
      send("POST", "/batch_events", {}, batch(11)),
      400,
      /"batch" must be an array of 1-10 events/,
    );
    await refused(send("POST", "/batch_events", {}, batch(0)), 400, /1-10 events/);
    await refused(
      send("POST", "/batch_events", {}, { batch: [event, { ...event, channel: "no way" }] }),
      400,
      /batch\[1\]\.channel: "no way" is not a room name/,
    );
    await refused(
      send("POST", "/batch_events", {}, { batch: [{ ...event, channels: [room] }] }),
      400,
      /batch\[0\]: unknown field "channels"/,
    );
    await refused(
      send("POST", "/batch_events", {}, { events: [event] }),
      400,
      /unknown field "events"/,
    );
    expect((await send("POST", "/batch_events", {}, batch(10))).status).toBe(200);
    const frames = [];
    for (let i = 0; i < 10; i++) frames.push(await ann.waitFor((f) => f.type === "event"));
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe("GET /apps/<id>/channels …", () => {
  it("lists occupied channels by prefix, with user_count when asked", async () => {
    const prefix = unique("list");
    await member(`${prefix}-a`, "ann");
    await member(`${prefix}-a`, "ann");
    await member(`${prefix}-a`, "bob");
    await member(`${prefix}-b`, "carol");
    await channelsUntil(prefix, {
      channels: { [`${prefix}-a`]: { user_count: 2 }, [`${prefix}-b`]: { user_count: 1 } },
    });
    expect(await ok("GET", "/channels", { filter_by_prefix: `${prefix}-b` })).toEqual({
      channels: { [`${prefix}-b`]: {} },
    });
    await refused(
      send("GET", "/channels", { info: "subscription_count" }),
      400,
      /"info" is a comma-separated list of user_count; "subscription_count" is not one/,
    );
    await refused(
      send("GET", "/channels", { filter_by_prefix: "no way" }),
      400,
      /"filter_by_prefix" must be/,
    );
    await refused(
      send("GET", "/channels", { limit: "5" }),
      400,
      /unknown query parameter "limit": this call takes "filter_by_prefix", "info"/,
    );
  });

  it("answers one channel's info now: occupied, user_count (members), subscription_count (sockets)", async () => {
    const room = unique("info");
    await member(room, "ann");
    await member(room, "ann");
    await member(room, "bob");
    expect(await ok("GET", `/channels/${room}`, { info: "user_count,subscription_count" })).toEqual(
      {
        occupied: true,
        user_count: 2,
        subscription_count: 3,
      },
    );
    expect(await ok("GET", `/channels/${room}`)).toEqual({ occupied: true });
    expect(await ok("GET", `/channels/${unique("empty")}`, { info: "user_count" })).toEqual({
      occupied: false,
      user_count: 0,
    });
    await refused(
      send("GET", "/channels/bad%20name"),
      400,
      /the channel in the path: "bad name" is not a room name/,
    );
    await refused(
      send("GET", `/channels/${room}`, { info: "members" }),
      400,
      /"members" is not one/,
    );
  });

  it("lists a channel's users, each once", async () => {
    const room = unique("users");
    await member(room, "bob");
    await member(room, "ann");
    await member(room, "ann");
    expect(await ok("GET", `/channels/${room}/users`)).toEqual({
      users: [{ id: "ann" }, { id: "bob" }],
    });
    expect(await ok("GET", `/channels/${unique("nobody")}/users`)).toEqual({ users: [] });
    await refused(
      send("GET", `/channels/${room}/users`, { info: "user_count" }),
      400,
      /unknown query parameter "info"/,
    );
  });
});

describe("POST /apps/<id>/users/<user>/terminate_connections", () => {
  it("closes the user's sockets in every occupied room with error kicked and 4403", async () => {
    const prefix = unique("term");
    const user = unique("troll");
    const a1 = await member(`${prefix}-a`, user);
    const a2 = await member(`${prefix}-a`, user);
    const b = await member(`${prefix}-b`, user);
    const bob = await member(`${prefix}-a`, "bob");
    // Rooms appear in the registry once they have told it (at once for a room just occupied).
    await channelsUntil(prefix, {
      channels: { [`${prefix}-a`]: { user_count: 2 }, [`${prefix}-b`]: { user_count: 1 } },
    });
    expect(await ok("POST", `/users/${user}/terminate_connections`, {}, {})).toEqual({});
    for (const c of [a1, a2, b]) {
      expect(await c.waitFor((f) => f.type === "error")).toEqual({
        type: "error",
        code: "kicked",
        message: "your connections were terminated",
      });
      expect((await c.closed).code).toBe(4403);
    }
    expect(await bob.waitFor((f) => f.type === "presence" && f.action === "leave")).toMatchObject({
      member: { id: user },
    });
    expect(logs.lines.filter((l) => l.event === "kick" && l.user === user)).toEqual(
      expect.arrayContaining([
        {
          event: "kick",
          room: `${prefix}-a`,
          user,
          reason: "your connections were terminated",
          ban_sec: null,
          closed: 2,
        },
        {
          event: "kick",
          room: `${prefix}-b`,
          user,
          reason: "your connections were terminated",
          ban_sec: null,
          closed: 1,
        },
      ]),
    );
    // No ban: the user may join again at once.
    const back = await join(`${prefix}-a`, { user, name: user });
    opened.push(back.client);
    expect(back.welcome.self.id).toBe(user);
  });

  it("refuses a user id that cannot be one, and a body with fields", async () => {
    await refused(
      send("POST", "/users/a%20b/terminate_connections", {}, {}),
      400,
      /user "a b" is not a user id/,
    );
    await refused(
      send("POST", "/users/u1/terminate_connections", {}, { ban: 1 }),
      400,
      /unknown field "ban": this call takes no fields/,
    );
  });
});
