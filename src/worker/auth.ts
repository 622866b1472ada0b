/**
 * Who may join: the origin policy for browser upgrades, join tokens (JWT HS256, jwt.ts) made by
 * a backend, and the guest tokens this server makes itself. No Hono context here: plain
 * functions, tested on their own.
 */
import { GUEST_PREFIX, cleanDisplayName, isGuestId, isUserId } from "../protocol";
import { JwtError, signJwt, verifyJwt } from "./jwt";

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

/** The kind of place a token opens: a token for rooms never opens a desk, and the reverse. */
export type PlaceKind = "room" | "desk";
export interface Place {
  kind: PlaceKind;
  name: string;
}

/** How long a new guest token lasts; every guest's welcome has one with 29 days or more left. */
export const GUEST_TOKEN_TTL_SEC = 30 * 24 * 60 * 60;
/**
 * A guest token younger than this is handed back as it came, not signed again: it still lasts
 * 29 days or more. A reconnect storm is thousands of guests rejoining at once with tokens made
 * minutes ago: not signing them again, with two smaller changes to the join, made the storm of
 * 5,000 sockets settle in 0.88× the time (`node bench/ab.ts`, docs/BENCHMARKS.md).
 */
export const GUEST_TOKEN_RENEW_SEC = 24 * 60 * 60;

export interface JoinClaims {
  sub: string;
  name: string;
  /**
   * `guest`: a token this server made for a guest (never a backend's). `agent` matters only at
   * desks; anywhere else it is a member like any other.
   */
  role: "member" | "agent" | "guest";
  /** The exact place (of the token's kind) the token admits to, or `*` for any. */
  place: string;
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
const forbidden = (message: string): TokenCheck => ({ ok: false, code: "forbidden", message });

/**
 * Verifies a join token (JWT, HS256, signed with JOIN_SECRET) for one place. A token that is
 * malformed, badly signed, expired or lacking claims is `unauthorized` (4401); a valid token for
 * another place, or for the other kind of place, is `forbidden` (4403). Whether the place admits
 * the identity (guests, personal rooms) is the join check's business, not the token's.
 */
export async function verifyJoinToken(
  token: string,
  secret: string | undefined,
  place: Place,
): Promise<TokenCheck> {
  if (!secret) return unauthorized("join tokens are not enabled on this server (no JOIN_SECRET)");
  let payload: Record<string, unknown>;
  try {
    payload = await verifyJwt(token, secret);
  } catch (err) {
    if (!(err instanceof JwtError)) throw err;
    if (err.reason === "expired") return unauthorized("the join token has expired");
    return unauthorized("the join token is not valid");
  }
  const { sub, name, role, exp } = payload;
  if (typeof exp !== "number") return unauthorized("the join token has no exp: tokens must expire");
  if (role === "guest") {
    // Made by this server (mintGuestToken): valid for every place of both kinds.
    if (typeof sub !== "string" || !isGuestId(sub))
      return unauthorized("the guest token's sub is not a guest id");
    const display = typeof name === "string" ? cleanDisplayName(name) : null;
    if (display === null) return unauthorized("the guest token's name is not a valid name");
    return { ok: true, claims: { sub, name: display, role, place: "*", exp } };
  }
  if (typeof sub !== "string" || !isUserId(sub)) {
    return unauthorized(
      sub === undefined || typeof sub !== "string" || !sub.startsWith(GUEST_PREFIX)
        ? "the join token's sub is not a valid user id"
        : `the join token's sub starts with "${GUEST_PREFIX}", which only guests made by this server may`,
    );
  }
  if (role !== undefined && role !== "member" && role !== "agent")
    return unauthorized("the join token's role is not member or agent");
  const display =
    name === undefined ? sub : typeof name === "string" ? cleanDisplayName(name) : null;
  if (display === null) return unauthorized("the join token's name is not a valid display name");
  const { room, desk } = payload;
  if ((room === undefined) === (desk === undefined)) {
    return unauthorized('a join token names exactly one kind of place: "room" or "desk"');
  }
  const ownKind: PlaceKind = room !== undefined ? "room" : "desk";
  const tokenPlace = room ?? desk;
  if (typeof tokenPlace !== "string")
    return unauthorized(`the join token's ${ownKind} is not a name`);
  if (ownKind !== place.kind) {
    return forbidden(`this join token opens ${ownKind}s, not ${place.kind}s`);
  }
  if (tokenPlace !== "*" && tokenPlace !== place.name) {
    return forbidden(`this join token is for ${ownKind} "${tokenPlace}", not "${place.name}"`);
  }
  return {
    ok: true,
    claims: { sub, name: display, role: role ?? "member", place: tokenPlace, exp },
  };
}

/**
 * The guest token a guest who joined with `token` (already verified: `claims`) is handed in its
 * welcome: that same token while it is younger than GUEST_TOKEN_RENEW_SEC, else a new one that
 * lasts GUEST_TOKEN_TTL_SEC from now. Either way it names the same guest.
 */
export function renewedGuestToken(
  token: string,
  claims: JoinClaims,
  secret: string,
  nowSec: number,
): Promise<string> {
  if (claims.exp - nowSec > GUEST_TOKEN_TTL_SEC - GUEST_TOKEN_RENEW_SEC)
    return Promise.resolve(token);
  return mintGuestToken(claims.sub, claims.name, secret, nowSec);
}

/** A guest token: the only proof of a guest id, made here and nowhere else. */
export function mintGuestToken(
  id: string,
  name: string,
  secret: string,
  nowSec: number,
): Promise<string> {
  return signJwt(
    { sub: id, name, role: "guest", room: "*", desk: "*", exp: nowSec + GUEST_TOKEN_TTL_SEC },
    secret,
  );
}
