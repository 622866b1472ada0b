/**
 * The HS256 tokens of src/worker/jwt.ts against Hono's independent implementation, both ways,
 * and the reason every join can afford one: the secret is imported as a key once, not per token.
 */
import { sign, verify } from "hono/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { JwtError, signJwt, verifyJwt } from "../src/worker/jwt";

const secret = () => `secret-${crypto.randomUUID()}`;
const nowSec = () => Math.floor(Date.now() / 1000);
const reason = (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (err: unknown) => (err instanceof JwtError ? err.reason : `threw ${String(err)}`),
  );

afterEach(() => vi.restoreAllMocks());

describe("HS256 JWT", () => {
  it("verifies what Hono signs, and Hono verifies what it signs", async () => {
    const s = secret();
    const claims = { sub: "u1", name: "Änn ✓", room: "ops", exp: nowSec() + 60 };
    expect(await verifyJwt(await sign(claims, s, "HS256"), s)).toEqual(claims);
    expect(await verify(await signJwt(claims, s), s, "HS256")).toEqual(claims);
  });

  it("refuses a wrong secret, a changed payload, another algorithm and garbage", async () => {
    const s = secret();
    const t = await signJwt({ sub: "u1", exp: nowSec() + 60 }, s);
    expect(await reason(verifyJwt(t, secret()))).toBe("signature");
    const [h, , sig] = t.split(".");
    const other = btoa(JSON.stringify({ sub: "admin", exp: nowSec() + 60 })).replace(/=+$/, "");
    expect(await reason(verifyJwt(`${h}.${other}.${sig}`, s))).toBe("signature");
    expect(await reason(verifyJwt(await sign({ sub: "u1" }, s, "HS512"), s))).toBe("algorithm");
    const none = btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "");
    expect(await reason(verifyJwt(`${none}.${other}.`, s))).toBe("algorithm");
    for (const bad of ["", "a.b", "a.b.c.d", "!!.e30.x", `${h}.${other}.%%%`])
      expect(await reason(verifyJwt(bad, s))).toBe("malformed");
  });

  it("refuses a token at its exp and before its nbf, checked after the signature", async () => {
    const s = secret();
    const now = nowSec();
    expect(await reason(verifyJwt(await signJwt({ exp: now }, s), s, now))).toBe("expired");
    expect(await reason(verifyJwt(await signJwt({ exp: now + 1 }, s), s, now))).toBe("accepted");
    expect(await reason(verifyJwt(await signJwt({ nbf: now + 5 }, s), s, now))).toBe(
      "not_yet_valid",
    );
    // Expired and forged: the forgery is what is reported.
    expect(await reason(verifyJwt(await signJwt({ exp: now - 9 }, secret()), s, now))).toBe(
      "signature",
    );
  });

  it("imports a secret as a key once, however many tokens it signs or checks", async () => {
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    const s = secret();
    for (let i = 0; i < 20; i++) await verifyJwt(await signJwt({ sub: `u${i}` }, s), s);
    expect(importKey).toHaveBeenCalledTimes(1);
    await verifyJwt(await signJwt({ sub: "u" }, secret()), s).catch(() => undefined);
    expect(importKey).toHaveBeenCalledTimes(2);
  });
});
