/**
 * Unit tests of src/worker/auth.ts. The origin policy for browser upgrades: no
 * Origin is a backend and allowed, the page's own origin is always allowed, others only when
 * listed in ALLOWED_ORIGINS (a comma list, or `*`). Join tokens: JWT HS256 with sub, name, room,
 * role and a required exp; anything wrong is `unauthorized`, a good token for another room is
 * `forbidden`.
 */
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { originAllowed, verifyJoinToken } from "../src/worker/auth";

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
