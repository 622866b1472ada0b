/**
 * Join tokens: `verifyJoinToken` on its own, with tokens made by Hono's JWT
 * signer, and the Worker's answer to each kind of token on a real upgrade: one `error` frame and
 * close 4401/4403 for a refused identity, the token's identity in `welcome` for an accepted one.
 */
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it } from "vitest";
import {
  GUEST_TOKEN_RENEW_SEC,
  GUEST_TOKEN_TTL_SEC,
  mintGuestToken,
  renewedGuestToken,
  verifyJoinToken,
} from "../src/worker/auth";
import { type Client, join, open, request, uniqueRoom } from "./helpers";

const joinSecret = (): string => {
  // src/env.d.ts declares the secrets on the global Env, not on Cloudflare.Env that `env` is typed with.
  const secret = (env as Env).JOIN_SECRET;
  if (!secret) throw new Error("vitest.config.ts must bind JOIN_SECRET");
  return secret;
};
const OTHER_SECRET = "another-secret-entirely-0123456789";
const nowSec = () => Math.floor(Date.now() / 1000);
const inAnHour = () => nowSec() + 3600;

type Claims = Record<string, unknown>;
const token = (claims: Claims, secret = joinSecret(), alg: "HS256" | "HS512" = "HS256") =>
  sign(claims as Parameters<typeof sign>[0], secret, alg);

const NOT_VALID = { ok: false, code: "unauthorized", message: "the join token is not valid" };
const EXPIRED = { ok: false, code: "unauthorized", message: "the join token has expired" };

describe("verifyJoinToken", () => {
  const room = "private-ops";

  it("accepts a valid token for its room and returns its claims", async () => {
    const exp = inAnHour();
    const t = await token({ sub: "u1", name: "Ann", room, role: "member", exp });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: true,
      claims: { sub: "u1", name: "Ann", place: room, role: "member", exp },
    });
  });

  it("refuses an expired token as unauthorized", async () => {
    const t = await token({ sub: "u1", name: "Ann", room, exp: nowSec() - 10 });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual(EXPIRED);
  });

  it("refuses a token without exp: tokens must expire", async () => {
    const t = await token({ sub: "u1", name: "Ann", room });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: false,
      code: "unauthorized",
      message: "the join token has no exp: tokens must expire",
    });
  });

  it("refuses a non-numeric exp", async () => {
    const t = await token({ sub: "u1", name: "Ann", room, exp: String(inAnHour()) });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toMatchObject({
      ok: false,
      code: "unauthorized",
    });
  });

  it("refuses a token signed with another secret", async () => {
    const t = await token({ sub: "u1", name: "Ann", room, exp: inAnHour() }, OTHER_SECRET);
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual(NOT_VALID);
  });

  it("refuses a token signed with another algorithm (HS512) or none", async () => {
    const claims = { sub: "u1", name: "Ann", room, exp: inAnHour() };
    expect(
      await verifyJoinToken(await token(claims, joinSecret(), "HS512"), joinSecret(), {
        kind: "room",
        name: room,
      }),
    ).toEqual(NOT_VALID);
    const b64url = (o: unknown) =>
      btoa(JSON.stringify(o)).replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
    expect(await verifyJoinToken(unsigned, joinSecret(), { kind: "room", name: room })).toEqual(
      NOT_VALID,
    );
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const t = await token({ sub: "u1", name: "Ann", room: "private-other", exp: inAnHour() });
    const [h, , s] = t.split(".");
    const forged = btoa(JSON.stringify({ sub: "u1", name: "Ann", room, exp: inAnHour() }))
      .replaceAll("=", "")
      .replaceAll("+", "-")
      .replaceAll("/", "_");
    expect(
      await verifyJoinToken(`${h}.${forged}.${s}`, joinSecret(), { kind: "room", name: room }),
    ).toEqual(NOT_VALID);
  });

  it.each(["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30"])(
    "refuses the malformed token %j",
    async (t) => {
      expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual(
        NOT_VALID,
      );
    },
  );

  it("refuses every token when no JOIN_SECRET is configured", async () => {
    const t = await token({ sub: "u1", name: "Ann", room, exp: inAnHour() });
    const off = {
      ok: false,
      code: "unauthorized",
      message: "join tokens are not enabled on this server (no JOIN_SECRET)",
    };
    expect(await verifyJoinToken(t, undefined, { kind: "room", name: room })).toEqual(off);
    expect(await verifyJoinToken(t, "", { kind: "room", name: room })).toEqual(off);
  });

  it("refuses a valid token for another room as forbidden", async () => {
    const t = await token({ sub: "u1", name: "Ann", room: "private-other", exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: false,
      code: "forbidden",
      message: 'this join token is for room "private-other", not "private-ops"',
    });
  });

  it("is exact about the room: no prefix or case match", async () => {
    for (const tokenRoom of ["private-op", "private-ops2", "PRIVATE-OPS", "private-*"]) {
      const t = await token({ sub: "u1", room: tokenRoom, exp: inAnHour() });
      expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toMatchObject({
        ok: false,
        code: "forbidden",
      });
    }
  });

  it("accepts a token for * in any room", async () => {
    const exp = inAnHour();
    const t = await token({ sub: "u1", name: "Ann", room: "*", exp });
    for (const r of [room, "lobby", "private-x"]) {
      expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: r })).toEqual({
        ok: true,
        claims: { sub: "u1", name: "Ann", place: "*", role: "member", exp },
      });
    }
  });

  it("refuses a token that names no room", async () => {
    const t = await token({ sub: "u1", name: "Ann", exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: false,
      code: "unauthorized",
      message: 'a join token names exactly one kind of place: "room" or "desk"',
    });
  });

  it.each([
    ["missing", undefined],
    ["a number", 42],
    ["empty", ""],
    ["with a space", "bad user"],
    ["65 characters", "u".repeat(65)],
  ])("refuses a sub that is %s", async (_what, sub) => {
    const t = await token({
      ...(sub === undefined ? {} : { sub }),
      name: "Ann",
      room,
      exp: inAnHour(),
    });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: false,
      code: "unauthorized",
      message: "the join token's sub is not a valid user id",
    });
  });

  it("accepts the agent and member roles and defaults to member", async () => {
    for (const role of ["agent", "member"] as const) {
      const t = await token({ sub: "u1", name: "Ann", room, role, exp: inAnHour() });
      expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toMatchObject({
        ok: true,
        claims: { role },
      });
    }
    const t = await token({ sub: "u1", name: "Ann", room, exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toMatchObject({
      ok: true,
      claims: { role: "member" },
    });
  });

  it.each(["admin", "Agent", "", 1])("refuses the role %j", async (role) => {
    const t = await token({ sub: "u1", name: "Ann", room, role, exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: false,
      code: "unauthorized",
      message: "the join token's role is not member or agent",
    });
  });

  it("uses sub as the display name when name is absent, and trims a given name", async () => {
    const t1 = await token({ sub: "u1", room, exp: inAnHour() });
    expect(await verifyJoinToken(t1, joinSecret(), { kind: "room", name: room })).toMatchObject({
      ok: true,
      claims: { sub: "u1", name: "u1" },
    });
    const t2 = await token({ sub: "u1", name: "  Ann  ", room, exp: inAnHour() });
    expect(await verifyJoinToken(t2, joinSecret(), { kind: "room", name: room })).toMatchObject({
      ok: true,
      claims: { name: "Ann" },
    });
  });

  it.each([
    ["empty", ""],
    ["blank", "   "],
    ["a control character", "Ann\u0007"],
    ["65 characters", "n".repeat(65)],
    ["a number", 7],
  ])("refuses a name that is %s", async (_what, name) => {
    const t = await token({ sub: "u1", name, room, exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual({
      ok: false,
      code: "unauthorized",
      message: "the join token's name is not a valid display name",
    });
  });

  it("refuses a token that is not yet valid (nbf in the future)", async () => {
    const t = await token({ sub: "u1", room, exp: inAnHour(), nbf: nowSec() + 600 });
    expect(await verifyJoinToken(t, joinSecret(), { kind: "room", name: room })).toEqual(NOT_VALID);
  });
});

describe("verifyJoinToken: kinds of place and guests", () => {
  const desk = { kind: "desk", name: "help" } as const;
  const room = { kind: "room", name: "help" } as const;

  it("opens desks with a desk claim and rooms with a room claim, never the other", async () => {
    const deskToken = await token({ sub: "u1", desk: "help", exp: inAnHour() });
    const roomToken = await token({ sub: "u1", room: "help", exp: inAnHour() });
    expect(await verifyJoinToken(deskToken, joinSecret(), desk)).toMatchObject({
      ok: true,
      claims: { place: "help" },
    });
    expect(await verifyJoinToken(deskToken, joinSecret(), room)).toEqual({
      ok: false,
      code: "forbidden",
      message: "this join token opens desks, not rooms",
    });
    expect(await verifyJoinToken(roomToken, joinSecret(), desk)).toEqual({
      ok: false,
      code: "forbidden",
      message: "this join token opens rooms, not desks",
    });
  });

  it("refuses a backend token that names both kinds of place", async () => {
    const t = await token({ sub: "u1", room: "*", desk: "*", exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), room)).toMatchObject({
      ok: false,
      code: "unauthorized",
    });
  });

  it("refuses a backend token for a guest- id, saying the prefix is reserved", async () => {
    const t = await token({ sub: "guest-0123456789ab", room: "*", exp: inAnHour() });
    const check = await verifyJoinToken(t, joinSecret(), room);
    expect(check).toMatchObject({ ok: false, code: "unauthorized" });
    expect(!check.ok && check.message).toMatch(/guest-/);
  });

  it("reads a guest token made by mintGuestToken for any place of either kind", async () => {
    const t = await mintGuestToken("guest-0123456789ab", "Ann", joinSecret(), nowSec());
    for (const place of [room, desk, { kind: "room", name: "private-x" } as const]) {
      expect(await verifyJoinToken(t, joinSecret(), place)).toMatchObject({
        ok: true,
        claims: { sub: "guest-0123456789ab", name: "Ann", role: "guest", place: "*" },
      });
    }
  });

  it("refuses a guest-role token whose sub is not a guest id", async () => {
    const t = await token({ sub: "admin", role: "guest", room: "*", desk: "*", exp: inAnHour() });
    expect(await verifyJoinToken(t, joinSecret(), room)).toMatchObject({
      ok: false,
      code: "unauthorized",
    });
  });

  it("gives guest tokens 30 days", async () => {
    const now = nowSec();
    const t = await mintGuestToken("guest-0123456789ab", "Ann", joinSecret(), now);
    const check = await verifyJoinToken(t, joinSecret(), room);
    expect(check.ok && check.claims.exp).toBe(now + GUEST_TOKEN_TTL_SEC);
    expect(GUEST_TOKEN_TTL_SEC).toBe(30 * 24 * 3600);
  });

  it("hands a guest token back while it is under GUEST_TOKEN_RENEW_SEC old, then a new one", async () => {
    const now = nowSec();
    const renewed = async (ageSec: number) => {
      const t = await mintGuestToken("guest-0123456789ab", "Ann", joinSecret(), now - ageSec);
      const check = await verifyJoinToken(t, joinSecret(), room);
      if (!check.ok) throw new Error(check.message);
      const out = await renewedGuestToken(t, check.claims, joinSecret(), now);
      return out === t ? "same" : await verifyJoinToken(out, joinSecret(), room);
    };
    expect(await renewed(0)).toBe("same");
    expect(await renewed(GUEST_TOKEN_RENEW_SEC - 1)).toBe("same");
    for (const age of [GUEST_TOKEN_RENEW_SEC, GUEST_TOKEN_TTL_SEC - 60]) {
      expect(await renewed(age)).toMatchObject({
        ok: true,
        claims: {
          sub: "guest-0123456789ab",
          name: "Ann",
          role: "guest",
          exp: now + GUEST_TOKEN_TTL_SEC,
        },
      });
    }
    expect(GUEST_TOKEN_RENEW_SEC).toBe(24 * 3600);
  });
});

describe("joining with a token through the Worker", () => {
  // Every socket a test opens is closed after it, whether it passed or not.
  const opened: Client[] = [];
  afterEach(() => {
    for (const c of opened.splice(0)) c.close();
  });
  const track = (c: Client) => {
    opened.push(c);
    return c;
  };

  /** Waits for a socket to be closed by the server, failing after `ms`. */
  const closedWithin = (c: Client, ms = 5000) =>
    Promise.race([
      c.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the server did not close the socket")), ms),
      ),
    ]);

  /** A refused join: exactly one error frame, then the close code. */
  async function expectRefused(
    room: string,
    params: Record<string, string>,
    code: string,
    closeCode: number,
    message: string,
  ) {
    const c = track(await open(room, params));
    expect(await c.next()).toEqual({ type: "error", code, message });
    expect((await closedWithin(c)).code).toBe(closeCode);
    expect(c.pending).toEqual([]);
    expect(c.raw).toHaveLength(1);
  }

  it("refuses a private room without a token: unauthorized, close 4401", async () => {
    const room = uniqueRoom("private");
    await expectRefused(
      room,
      { name: "Ann" },
      "unauthorized",
      4401,
      "private rooms admit only members with a join token",
    );
    await expectRefused(
      room,
      {},
      "unauthorized",
      4401,
      "private rooms admit only members with a join token",
    );
  });

  it("refuses an expired token: unauthorized, close 4401", async () => {
    const room = uniqueRoom("private");
    const t = await token({ sub: "u1", name: "Ann", room, exp: nowSec() - 5 });
    await expectRefused(room, { token: t }, "unauthorized", 4401, "the join token has expired");
  });

  it("refuses a token for another room: forbidden, close 4403", async () => {
    const room = uniqueRoom("private");
    const other = uniqueRoom("private");
    const t = await token({ sub: "u1", name: "Ann", room: other, exp: inAnHour() });
    await expectRefused(
      room,
      { token: t },
      "forbidden",
      4403,
      `this join token is for room "${other}", not "${room}"`,
    );
  });

  it("refuses a token signed with a wrong secret: unauthorized, close 4401", async () => {
    const room = uniqueRoom("private");
    const t = await token({ sub: "u1", name: "Ann", room, exp: inAnHour() }, OTHER_SECRET);
    await expectRefused(room, { token: t }, "unauthorized", 4401, "the join token is not valid");
  });

  it("refuses a malformed or empty token: unauthorized, close 4401", async () => {
    const room = uniqueRoom("private");
    await expectRefused(
      room,
      { token: "not-a-jwt" },
      "unauthorized",
      4401,
      "the join token is not valid",
    );
    await expectRefused(room, { token: "" }, "unauthorized", 4401, "the join token is not valid");
  });

  it("refuses a bad token in a public room too, instead of joining anonymously", async () => {
    const room = uniqueRoom("public");
    const t = await token({ sub: "u1", name: "Ann", room, exp: nowSec() - 5 });
    await expectRefused(
      room,
      { token: t, name: "Ann" },
      "unauthorized",
      4401,
      "the join token has expired",
    );
  });

  it("admits a valid token as its own identity, ignoring the name parameter", async () => {
    const room = uniqueRoom("private");
    const t = await token({ sub: "ann", name: "Ann", room, exp: inAnHour() });
    const { client, welcome } = await join(room, { token: t, name: "Mal" });
    track(client);
    expect(welcome).toEqual({
      type: "welcome",
      room,
      self: { id: "ann", name: "Ann" },
      members: [{ id: "ann", name: "Ann" }],
      count: 1,
      seq: 0,
      replay: { from: 0, count: 0, complete: true },
    });
    // Parameters that would be refused without a token are not even read with one.
    const t2 = await token({ sub: "bo", room, exp: inAnHour() });
    const { client: bo, welcome: boWelcome } = await join(room, {
      token: t2,
      name: "\u0007",
    });
    track(bo);
    expect(boWelcome.self).toEqual({ id: "bo", name: "bo" });
    expect(await client.expect("presence")).toEqual({
      type: "presence",
      action: "join",
      member: { id: "bo", name: "bo" },
      count: 2,
    });
    // And messages carry the token's identity.
    bo.send({ type: "message", data: "hi", id: "m1" });
    expect(await client.expect("message")).toMatchObject({
      seq: 1,
      from: { id: "bo", name: "bo" },
      data: "hi",
    });
  });

  it("a refused join leaves no member behind", async () => {
    const room = uniqueRoom("private");
    const { client: ann } = await join(room, {
      token: await token({ sub: "ann", room, exp: inAnHour() }),
    });
    track(ann);
    await expectRefused(
      room,
      {},
      "unauthorized",
      4401,
      "private rooms admit only members with a join token",
    );
    await expectRefused(
      room,
      { token: await token({ sub: "eve", room, exp: inAnHour() }, OTHER_SECRET) },
      "unauthorized",
      4401,
      "the join token is not valid",
    );
    const { client: bo, welcome } = await join(room, {
      token: await token({ sub: "bo", room, exp: inAnHour() }),
    });
    track(bo);
    // ann's next frame is bo's arrival: no presence for eve came before it.
    expect(await ann.next()).toEqual({
      type: "presence",
      action: "join",
      member: { id: "bo", name: "bo" },
      count: 2,
    });
    expect(welcome.members).toEqual([
      { id: "ann", name: "ann" },
      { id: "bo", name: "bo" },
    ]);
  });

  it("admits a token for * in any room, private or public", async () => {
    const t = await token({ sub: "ops", name: "Ops", room: "*", role: "agent", exp: inAnHour() });
    for (const room of [uniqueRoom("private"), uniqueRoom("private"), uniqueRoom("lobby")]) {
      const { client, welcome } = await join(room, { token: t });
      track(client);
      expect(welcome).toMatchObject({
        room,
        self: { id: "ops", name: "Ops" },
        members: [{ id: "ops", name: "Ops" }],
      });
    }
  });

  it("admits a valid token in a public room, with the token's identity", async () => {
    const room = uniqueRoom("lobby");
    const t = await token({ sub: "ann", name: "Ann", room, exp: inAnHour() });
    const { client, welcome } = await join(room, { token: t });
    track(client);
    expect(welcome.self).toEqual({ id: "ann", name: "Ann" });
    const { client: guest, welcome: guestWelcome } = await join(room, { name: "Guest" });
    track(guest);
    expect(guestWelcome.members).toEqual([
      { id: "ann", name: "Ann" },
      { id: guestWelcome.self.id, name: "Guest" },
    ]);
  });

  it("still checks the room name and upgrade before the token", async () => {
    const t = await token({ sub: "ann", room: "*", exp: inAnHour() });
    const bad = await request("bad room!", { token: t }, { Upgrade: "websocket" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_room" });
    const plain = await request(uniqueRoom("private"), { token: t });
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: "upgrade_required" });
  });
});
