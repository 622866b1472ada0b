/**
 * Unit tests of src/auth.ts (PROTOCOL section 5). The origin policy for browser upgrades: no
 * Origin is a backend and allowed, the page's own origin is always allowed, others only when
 * listed in ALLOWED_ORIGINS (a comma list, or `*`). Join tokens: JWT HS256 with sub, name, room,
 * role and a required exp; anything wrong is `unauthorized`, a good token for another room is
 * `forbidden`.
 */
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { originAllowed, verifyJoinToken } from "../src/auth";

const requestUrl = new URL("https://rooms.example.com/room/lobby?user=u1");

describe("originAllowed", () => {
  it("allows a request without an Origin header (backends, CLIs)", () => {
    expect(originAllowed(null, requestUrl, "")).toBe(true);
    expect(originAllowed(null, requestUrl, "https://app.example.com")).toBe(true);
  });

  it("allows the page's own origin even when the list is empty", () => {
    expect(originAllowed("https://rooms.example.com", requestUrl, "")).toBe(true);
    expect(
      originAllowed("https://rooms.example.com", requestUrl, "https://other.example.com"),
    ).toBe(true);
  });

  it("compares the whole origin: scheme, host and port", () => {
    expect(originAllowed("http://rooms.example.com", requestUrl, "")).toBe(false);
    expect(originAllowed("https://rooms.example.com:8443", requestUrl, "")).toBe(false);
    expect(originAllowed("https://evil.rooms.example.com", requestUrl, "")).toBe(false);
    expect(originAllowed("https://rooms.example.com.evil.test", requestUrl, "")).toBe(false);
  });

  it("allows origins in the list, ignoring spaces and trailing slashes", () => {
    const list = " https://app.example.com/ ,https://admin.example.com//,  http://localhost:8787 ";
    expect(originAllowed("https://app.example.com", requestUrl, list)).toBe(true);
    expect(originAllowed("https://admin.example.com", requestUrl, list)).toBe(true);
    expect(originAllowed("http://localhost:8787", requestUrl, list)).toBe(true);
  });

  it("refuses origins not in the list", () => {
    const list = "https://app.example.com, http://localhost:8787";
    expect(originAllowed("https://evil.test", requestUrl, list)).toBe(false);
    expect(originAllowed("http://app.example.com", requestUrl, list)).toBe(false);
    expect(originAllowed("http://localhost:8788", requestUrl, list)).toBe(false);
    expect(originAllowed("https://app.example.com.evil.test", requestUrl, list)).toBe(false);
    expect(originAllowed("null", requestUrl, list)).toBe(false);
  });

  it("does not treat a listed origin as a prefix or a pattern", () => {
    expect(originAllowed("https://app.example.co", requestUrl, "https://app.example.com")).toBe(
      false,
    );
    expect(
      originAllowed("https://sub.app.example.com", requestUrl, "https://app.example.com"),
    ).toBe(false);
  });

  it("allows any origin with *", () => {
    expect(originAllowed("https://evil.test", requestUrl, "*")).toBe(true);
    expect(originAllowed("null", requestUrl, " * ")).toBe(true);
    expect(originAllowed("https://evil.test", requestUrl, "https://app.example.com, *")).toBe(true);
  });

  it("refuses foreign origins when the list is empty or only separators", () => {
    for (const list of ["", " ", ",", " , ,"]) {
      expect(originAllowed("https://evil.test", requestUrl, list), JSON.stringify(list)).toBe(
        false,
      );
    }
  });

  it("does not let an empty list entry match an empty Origin header", () => {
    expect(originAllowed("", requestUrl, "https://app.example.com,,")).toBe(false);
    expect(originAllowed("", requestUrl, "")).toBe(false);
  });
});

describe("verifyJoinToken", () => {
  const SECRET = "test-join-secret-0123456789";
  const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
  const token = (
    claims: Record<string, unknown>,
    secret = SECRET,
    alg: "HS256" | "HS512" = "HS256",
  ) =>
    sign({ sub: "u1", name: "Ann", room: "private-team", exp: inAnHour(), ...claims }, secret, alg);

  it("accepts a valid token for its room and returns its identity", async () => {
    const exp = inAnHour();
    expect(
      await verifyJoinToken(await token({ exp, role: "agent" }), SECRET, "private-team"),
    ).toEqual({
      ok: true,
      claims: { sub: "u1", name: "Ann", room: "private-team", role: "agent", exp },
    });
  });

  it("defaults role to member and name to sub", async () => {
    const result = await verifyJoinToken(
      await token({ name: undefined, role: undefined }),
      SECRET,
      "private-team",
    );
    expect(result).toMatchObject({ ok: true, claims: { sub: "u1", name: "u1", role: "member" } });
  });

  it("trims the name like a query-string name", async () => {
    const result = await verifyJoinToken(await token({ name: "  Ann  " }), SECRET, "private-team");
    expect(result).toMatchObject({ ok: true, claims: { name: "Ann" } });
  });

  it("admits a token for * to any room", async () => {
    const t = await token({ room: "*" });
    expect(await verifyJoinToken(t, SECRET, "private-a")).toMatchObject({
      ok: true,
      claims: { room: "*" },
    });
    expect(await verifyJoinToken(t, SECRET, "lobby")).toMatchObject({ ok: true });
  });

  it("answers forbidden for a valid token for another room", async () => {
    const result = await verifyJoinToken(
      await token({ room: "private-other" }),
      SECRET,
      "private-team",
    );
    expect(result).toMatchObject({ ok: false, code: "forbidden" });
  });

  it("does not treat the token's room as a prefix or pattern", async () => {
    expect(
      await verifyJoinToken(await token({ room: "private-" }), SECRET, "private-team"),
    ).toMatchObject({
      ok: false,
      code: "forbidden",
    });
    expect(
      await verifyJoinToken(await token({ room: "private-team" }), SECRET, "private-team2"),
    ).toMatchObject({
      ok: false,
      code: "forbidden",
    });
  });

  it("answers unauthorized for an expired token, saying so", async () => {
    const result = await verifyJoinToken(
      await token({ exp: Math.floor(Date.now() / 1000) - 1 }),
      SECRET,
      "private-team",
    );
    expect(result).toEqual({
      ok: false,
      code: "unauthorized",
      message: "the join token has expired",
    });
  });

  it("answers unauthorized for a token without exp", async () => {
    const result = await verifyJoinToken(await token({ exp: undefined }), SECRET, "private-team");
    expect(result).toMatchObject({ ok: false, code: "unauthorized" });
  });

  it("answers unauthorized for a token signed with another secret", async () => {
    const result = await verifyJoinToken(await token({}, "another-secret"), SECRET, "private-team");
    expect(result).toMatchObject({ ok: false, code: "unauthorized" });
  });

  it("answers unauthorized for a token signed with another algorithm than HS256", async () => {
    const result = await verifyJoinToken(await token({}, SECRET, "HS512"), SECRET, "private-team");
    expect(result).toMatchObject({ ok: false, code: "unauthorized" });
  });

  it("answers unauthorized for an unsigned (alg none) token", async () => {
    const b64url = (o: unknown) =>
      btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ sub: "u1", room: "*", exp: inAnHour() })}.`;
    expect(await verifyJoinToken(unsigned, SECRET, "private-team")).toMatchObject({
      ok: false,
      code: "unauthorized",
    });
  });

  it("answers unauthorized for a malformed token", async () => {
    for (const bad of ["", "not-a-jwt", "a.b.c", "a.b"]) {
      expect(await verifyJoinToken(bad, SECRET, "private-team"), JSON.stringify(bad)).toMatchObject(
        {
          ok: false,
          code: "unauthorized",
        },
      );
    }
  });

  it("answers unauthorized for claims that break the name rules", async () => {
    const bad: Record<string, unknown>[] = [
      { sub: undefined },
      { sub: "a b" },
      { sub: "u".repeat(65) },
      { sub: 42 },
      { name: "" },
      { name: "A\nB" },
      { name: "n".repeat(65) },
      { name: 7 },
      { room: undefined },
      { room: 5 },
      { role: "admin" },
      { exp: "never" },
    ];
    for (const claims of bad) {
      expect(
        await verifyJoinToken(await token(claims), SECRET, "private-team"),
        JSON.stringify(claims),
      ).toMatchObject({
        ok: false,
        code: "unauthorized",
      });
    }
  });

  it("answers unauthorized for every token when no JOIN_SECRET is configured", async () => {
    for (const secret of [undefined, ""]) {
      expect(await verifyJoinToken(await token({ room: "*" }), secret, "lobby")).toMatchObject({
        ok: false,
        code: "unauthorized",
      });
    }
  });
});
