/**
 * The HTTP side of joining through the Worker's own fetch handler:
 * what is refused before any upgrade and with which JSON error, the origin policy, the identity
 * an anonymous joiner is given, and join tokens (refused inside the socket, 4401/4403).
 */
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import app from "../src/index";
import { GUEST_ID } from "../src/protocol";
import { Client, type Frame, join, request, roomUrl, uniqueRoom, userToken } from "./helpers";

const UPGRADE = { Upgrade: "websocket" };

/** Asserts the protocol's HTTP error shape: JSON `{"error": code, "message": <sentence>}`, nothing else. */
async function expectError(res: Response, status: number, code: string): Promise<Frame> {
  const body = (await res.json()) as Frame;
  expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
  expect(res.headers.get("content-type")).toBe("application/json");
  expect(Object.keys(body).sort()).toEqual(["error", "message"]);
  expect(typeof body.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(0);
  expect(res.webSocket).toBeNull();
  return body;
}

/** Asserts an accepted upgrade, takes the welcome and closes the socket. */
async function expectUpgraded(res: Response): Promise<Frame> {
  expect(res.status, res.status === 101 ? "" : await res.text()).toBe(101);
  expect(res.webSocket).not.toBeNull();
  const client = new Client(res.webSocket!);
  try {
    return await client.expect("welcome");
  } finally {
    client.close();
  }
}

const fetchPath = (path: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(`https://rooms.test${path}`, { headers });

describe("GET /room/:room: names", () => {
  it("refuses an invalid room name with 400 invalid_room", async () => {
    for (const room of ["a%20b", "a@b", "a:b", "%C3%A4", "a%23b"]) {
      await expectError(await fetchPath(`/room/${room}`, UPGRADE), 400, "invalid_room");
    }
  });

  it("refuses a room path with a slash in it as invalid_room", async () => {
    await expectError(await fetchPath("/room/a/b", UPGRADE), 400, "invalid_room");
    await expectError(await fetchPath("/room/a%2Fb", UPGRADE), 400, "invalid_room");
  });

  it("refuses the empty room name", async () => {
    await expectError(await fetchPath("/room/", UPGRADE), 400, "invalid_room");
  });

  it("accepts a room name of 99 characters and refuses 100", async () => {
    const base = crypto.randomUUID().replaceAll("-", ""); // 32 characters, unique per run
    const room99 = base + "r".repeat(99 - base.length);
    expect(room99.length).toBe(99);
    const welcome = await expectUpgraded(await request(room99, { name: "Ann" }, UPGRADE));
    expect(welcome.room).toBe(room99);
    await expectError(await request(`${room99}r`, {}, UPGRADE), 400, "invalid_room");
  });

  it("checks the room name before the upgrade: a plain GET to a bad room is 400, not 426", async () => {
    await expectError(await fetchPath("/room/bad%20room"), 400, "invalid_room");
  });

  it("refuses any user parameter, valid or not, with 400 invalid_user: ids come from tokens", async () => {
    const room = uniqueRoom();
    for (const user of ["u1", "", "a b", "u".repeat(65), "ä", "a/b", "u1\n"]) {
      await expectError(await request(room, { user }, UPGRADE), 400, "invalid_user");
    }
  });

  it("accepts a token's user id of 64 characters", async () => {
    const user = "u".repeat(64);
    const token = await userToken(user, { name: "Ann" });
    const welcome = await expectUpgraded(await request(uniqueRoom(), { token }, UPGRADE));
    expect(welcome.self).toEqual({ id: user, name: "Ann" });
  });

  it("refuses an invalid display name with 400 invalid_name", async () => {
    const room = uniqueRoom();
    for (const name of [
      "",
      "   ",
      "n".repeat(65),
      "A\u0000B",
      "A\nB",
      "A\u007fB",
      "😀".repeat(65),
    ]) {
      await expectError(await request(room, { name }, UPGRADE), 400, "invalid_name");
    }
  });

  it("accepts a display name of 64 emoji and trims surrounding spaces", async () => {
    const room = uniqueRoom();
    const emoji = "😀".repeat(64);
    expect(
      (await expectUpgraded(await request(room, { name: emoji }, UPGRADE))).self,
    ).toMatchObject({ name: emoji });
    expect(
      (await expectUpgraded(await request(room, { name: "  Bo  " }, UPGRADE))).self,
    ).toMatchObject({ name: "Bo" });
  });

  it("refuses a since that is not a non-negative integer with 400 invalid_since", async () => {
    const room = uniqueRoom();
    for (const since of ["-1", "abc", "1.5", "", " 1", "1e3"]) {
      await expectError(await request(room, { since }, UPGRADE), 400, "invalid_since");
    }
  });

  it("accepts since=0", async () => {
    const welcome = await expectUpgraded(await request(uniqueRoom(), { since: "0" }, UPGRADE));
    expect(welcome.replay).toEqual({ from: 0, count: 0, complete: true });
  });

  it("refuses a batch other than 0 or 1 with 400 invalid_batch", async () => {
    const room = uniqueRoom();
    for (const batch of ["2", "true", "yes", ""]) {
      await expectError(await request(room, { batch }, UPGRADE), 400, "invalid_batch");
    }
  });

  it("accepts batch=0 and batch=1", async () => {
    const room = uniqueRoom();
    await expectUpgraded(await request(room, { batch: "0" }, UPGRADE));
    await expectUpgraded(await request(room, { batch: "1" }, UPGRADE));
  });
});

describe("GET /room/:room: upgrade", () => {
  it("answers a plain GET with 426 upgrade_required and an Upgrade: websocket header", async () => {
    const res = await request(uniqueRoom(), {});
    expect(res.headers.get("upgrade")).toBe("websocket");
    await expectError(res, 426, "upgrade_required");
  });

  it("answers an upgrade to another protocol with 426", async () => {
    const res = await request(uniqueRoom(), {}, { Upgrade: "h2c" });
    expect(res.headers.get("upgrade")).toBe("websocket");
    await expectError(res, 426, "upgrade_required");
  });

  it("accepts the Upgrade header in any case", async () => {
    await expectUpgraded(await request(uniqueRoom(), {}, { Upgrade: "WebSocket" }));
  });
});

describe("GET /room/:room: origin", () => {
  it("refuses a foreign Origin with 403 origin_not_allowed", async () => {
    const res = await request(uniqueRoom(), {}, { ...UPGRADE, Origin: "https://evil.test" });
    await expectError(res, 403, "origin_not_allowed");
  });

  it("accepts the page's own origin", async () => {
    const res = await request(uniqueRoom(), {}, { ...UPGRADE, Origin: "https://rooms.test" });
    await expectUpgraded(res);
  });

  it("accepts a request without Origin (a backend or CLI)", async () => {
    await expectUpgraded(await request(uniqueRoom(), {}, UPGRADE));
  });

  it("accepts an origin listed in ALLOWED_ORIGINS and still refuses others", async () => {
    // The test bindings have ALLOWED_ORIGINS = "" (wrangler.toml); run the same app with a list.
    const listed = {
      ...env,
      ALLOWED_ORIGINS: "https://app.example.com/, https://admin.example.com",
    };
    const room = uniqueRoom();
    const get = (origin: string) =>
      app.fetch(new Request(roomUrl(room), { headers: { ...UPGRADE, Origin: origin } }), listed);
    await expectUpgraded(await get("https://app.example.com"));
    await expectUpgraded(await get("https://admin.example.com"));
    await expectError(await get("https://evil.test"), 403, "origin_not_allowed");
  });
});

describe("HTTP errors", () => {
  it("answers an unknown route with 404 JSON", async () => {
    await expectError(await fetchPath("/no-such-route"), 404, "not_found");
    await expectError(await fetchPath("/rooms/lobby", UPGRADE), 404, "not_found");
  });

  it("renders every refusal before the upgrade as JSON with error and message", async () => {
    const room = uniqueRoom();
    const cases: [Promise<Response>, number, string][] = [
      [fetchPath("/room/a%20b", UPGRADE), 400, "invalid_room"],
      [request(room, { user: "a b" }, UPGRADE), 400, "invalid_user"],
      [request(room, { name: "" }, UPGRADE), 400, "invalid_name"],
      [request(room, { since: "x" }, UPGRADE), 400, "invalid_since"],
      [request(room, { batch: "x" }, UPGRADE), 400, "invalid_batch"],
      [request(room, {}), 426, "upgrade_required"],
      [request(room, {}, { ...UPGRADE, Origin: "https://evil.test" }), 403, "origin_not_allowed"],
      [fetchPath("/nope"), 404, "not_found"],
    ];
    for (const [res, status, code] of cases) await expectError(await res, status, code);
  });
});

describe("guest identity", () => {
  it("gives a joiner without a token a server-made guest id", async () => {
    const { client, welcome } = await join(uniqueRoom(), { name: "Ann" });
    client.close();
    expect(welcome.self.name).toBe("Ann");
    expect(welcome.self.id).toMatch(GUEST_ID);
    expect(welcome.members).toEqual([{ id: welcome.self.id, name: "Ann" }]);
  });

  it("gives a joiner without name guest-<4 chars>", async () => {
    const { client, welcome } = await join(uniqueRoom());
    client.close();
    expect(welcome.self.id).toMatch(GUEST_ID);
    expect(welcome.self.name).toMatch(/^guest-[A-Za-z0-9]{4}$/);
  });

  it("gives two anonymous joiners different ids, so they are two members", async () => {
    const room = uniqueRoom();
    const { client: a, welcome: wa } = await join(room);
    const { client: b, welcome: wb } = await join(room);
    try {
      expect(wa.self.id).toMatch(GUEST_ID);
      expect(wb.self.id).toMatch(GUEST_ID);
      expect(wb.self.id).not.toBe(wa.self.id);
      expect(wa.self.name).toMatch(/^guest-[A-Za-z0-9]{4}$/);
      expect(wb.self.name).toMatch(/^guest-[A-Za-z0-9]{4}$/);
      expect(wb.members).toHaveLength(2);
      expect(await a.expect("presence")).toEqual({
        type: "presence",
        action: "join",
        member: { id: wb.self.id, name: wb.self.name },
        count: 2,
      });
    } finally {
      a.close();
      b.close();
    }
  });
});

describe("join tokens and private rooms", () => {
  // Secrets are declared on the global Env (src/env.d.ts), not on the generated Cloudflare.Env.
  const JOIN_SECRET = (env as Env).JOIN_SECRET;
  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
  const joinToken = (claims: Record<string, unknown>, secret = JOIN_SECRET!) =>
    sign({ sub: "u1", name: "Ann", exp: inAnHour(), ...claims }, secret, "HS256");

  /** Asserts an identity refusal: the upgrade succeeds, one error frame, then this close code. */
  async function expectRefusedJoin(
    res: Response,
    code: "unauthorized" | "forbidden",
    closeCode: number,
  ) {
    expect(res.status).toBe(101); // identity errors go through the socket, so a browser can read them
    const client = new Client(res.webSocket!);
    try {
      const frame = await client.next();
      expect(frame).toMatchObject({ type: "error", code });
      expect(typeof frame.message).toBe("string");
      expect((await client.closed).code).toBe(closeCode);
      expect(client.pending).toEqual([]);
    } finally {
      client.close();
    }
  }

  it("has a JOIN_SECRET in the test bindings", () => {
    expect(typeof JOIN_SECRET).toBe("string");
    expect(JOIN_SECRET!.length).toBeGreaterThan(0);
  });

  it("refuses an anonymous join to a private- room with unauthorized and close 4401", async () => {
    const res = await request(`private-${crypto.randomUUID()}`, { name: "Ann" }, UPGRADE);
    await expectRefusedJoin(res, "unauthorized", 4401);
  });

  it("admits a valid token to its private room, with the token's identity", async () => {
    const room = `private-${crypto.randomUUID()}`;
    const token = await joinToken({ sub: "u7", name: "Cy", room });
    const welcome = await expectUpgraded(await request(room, { token }, UPGRADE));
    expect(welcome.self).toEqual({ id: "u7", name: "Cy" });
    expect(welcome.room).toBe(room);
  });

  it("ignores name when a token is given, even an invalid one, but never accepts user", async () => {
    const room = uniqueRoom();
    const token = await joinToken({ sub: "u8", name: "Di", room });
    const welcome = await expectUpgraded(await request(room, { token, name: "" }, UPGRADE));
    expect(welcome.self).toEqual({ id: "u8", name: "Di" });
    await expectError(await request(room, { token, user: "u8" }, UPGRADE), 400, "invalid_user");
  });

  it("admits a token for * to any private room", async () => {
    const token = await joinToken({ room: "*" });
    const welcome = await expectUpgraded(
      await request(`private-${crypto.randomUUID()}`, { token }, UPGRADE),
    );
    expect(welcome.self).toEqual({ id: "u1", name: "Ann" });
  });

  it("refuses a valid token for another room with forbidden and close 4403", async () => {
    const token = await joinToken({ room: "private-other" });
    await expectRefusedJoin(
      await request(`private-${crypto.randomUUID()}`, { token }, UPGRADE),
      "forbidden",
      4403,
    );
  });

  it("refuses an expired token with unauthorized and close 4401", async () => {
    const room = `private-${crypto.randomUUID()}`;
    const token = await joinToken({ room, exp: Math.floor(Date.now() / 1000) - 10 });
    await expectRefusedJoin(await request(room, { token }, UPGRADE), "unauthorized", 4401);
  });

  it("refuses a token signed with another secret with unauthorized and close 4401", async () => {
    const room = `private-${crypto.randomUUID()}`;
    const token = await joinToken({ room }, "not-the-join-secret");
    await expectRefusedJoin(await request(room, { token }, UPGRADE), "unauthorized", 4401);
  });

  it("refuses a malformed token, even in a public room, with unauthorized and close 4401", async () => {
    await expectRefusedJoin(
      await request(uniqueRoom(), { token: "not-a-jwt" }, UPGRADE),
      "unauthorized",
      4401,
    );
    await expectRefusedJoin(
      await request(uniqueRoom(), { token: "" }, UPGRADE),
      "unauthorized",
      4401,
    );
  });

  it("still refuses bad names, a plain GET and a foreign origin as HTTP before looking at the token", async () => {
    const token = await joinToken({ room: "*" });
    await expectError(await fetchPath(`/room/a%20b?token=${token}`, UPGRADE), 400, "invalid_room");
    await expectError(
      await request(`private-${crypto.randomUUID()}`, { token }),
      426,
      "upgrade_required",
    );
    await expectError(
      await request(
        `private-${crypto.randomUUID()}`,
        { token },
        { ...UPGRADE, Origin: "https://evil.test" },
      ),
      403,
      "origin_not_allowed",
    );
  });
});
