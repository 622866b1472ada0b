/**
 * Who may join (PROTOCOL section 5): the origin policy for browser upgrades and join tokens
 * (JWT HS256, verified with Hono's JWT helper). No Hono context here: plain functions, tested
 * on their own.
 */
import { verify } from "hono/jwt";
import { cleanDisplayName, isUserId } from "./protocol";

/**
 * Browsers always send `Origin` on a WebSocket upgrade; backends and CLIs usually do not, and
 * they are not the cross-site threat the check exists for, so no `Origin` is allowed.
 * `allowedList` is ALLOWED_ORIGINS: a comma list of origins, or `*` for any. The page's own
 * origin is always allowed, so the chat page works wherever the Worker is deployed.
 */
export function originAllowed(
  origin: string | null,
  requestUrl: URL,
  allowedList: string,
): boolean {
  if (origin === null) return true;
  if (origin === requestUrl.origin) return true;
  const allowed = allowedList
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(normalizeOrigin);
  return allowed.includes("*") || allowed.includes(normalizeOrigin(origin));
}

/** Scheme and host compare case-insensitively, and a listed origin may carry a trailing slash. */
function normalizeOrigin(origin: string): string {
  if (origin === "*") return origin;
  try {
    return new URL(origin).origin;
  } catch {
    return origin.replace(/\/+$/, "").toLowerCase(); // not a URL: compared as written
  }
}

// ---- join tokens ----

export const PRIVATE_ROOM_PREFIX = "private-";

export interface JoinClaims {
  sub: string;
  name: string;
  /** The exact room (or desk) the token admits to, or `*` for any. */
  room: string;
  role: "member" | "agent";
  exp: number;
}

export type TokenCheck =
  | { ok: true; claims: JoinClaims }
  | { ok: false; code: "unauthorized" | "forbidden"; message: string };

const unauthorized = (message: string): TokenCheck => ({
  ok: false,
  code: "unauthorized",
  message,
});

/**
 * Verifies a join token (JWT, HS256, signed with JOIN_SECRET) for one room. A token that is
 * malformed, badly signed, expired or lacking claims is `unauthorized` (4401); a valid token for
 * another room is `forbidden` (4403).
 */
export async function verifyJoinToken(
  token: string,
  secret: string | undefined,
  room: string,
): Promise<TokenCheck> {
  if (!secret) return unauthorized("join tokens are not enabled on this server (no JOIN_SECRET)");
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, "HS256");
  } catch (err) {
    const expired = err instanceof Error && err.name === "JwtTokenExpired";
    return unauthorized(expired ? "the join token has expired" : "the join token is not valid");
  }
  const { sub, name, room: tokenRoom, role, exp } = payload;
  if (typeof sub !== "string" || !isUserId(sub))
    return unauthorized("the join token's sub is not a valid user id");
  if (typeof exp !== "number") return unauthorized("the join token has no exp: tokens must expire");
  if (typeof tokenRoom !== "string") return unauthorized("the join token names no room");
  if (role !== undefined && role !== "member" && role !== "agent")
    return unauthorized("the join token's role is not member or agent");
  const display =
    name === undefined ? sub : typeof name === "string" ? cleanDisplayName(name) : null;
  if (display === null) return unauthorized("the join token's name is not a valid display name");
  if (tokenRoom !== "*" && tokenRoom !== room) {
    return {
      ok: false,
      code: "forbidden",
      message: `this join token is for room "${tokenRoom}", not "${room}"`,
    };
  }
  return { ok: true, claims: { sub, name: display, room: tokenRoom, role: role ?? "member", exp } };
}
