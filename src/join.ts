/**
 * The Worker's checks on a join, shared by rooms and desks: names and query (400), the upgrade
 * itself (426), the origin (403), then identity: a join token, or an anonymous id where the
 * place admits one. The result is either the checked identity for the object, or a refusal
 * the browser can read (an accepted socket with one `error` frame, closed 4401/4403).
 */
import type { Context } from "hono";
import { PRIVATE_ROOM_PREFIX, originAllowed, verifyJoinToken } from "./auth";
import { ApiError } from "./errors";
import type { Join } from "./hub";
import {
  CLOSE_FORBIDDEN,
  CLOSE_UNAUTHORIZED,
  cleanDisplayName,
  errorFrame,
  isRoomName,
  isUserId,
} from "./protocol";

export const ROOM_RULE = "names are 1-99 characters of A-Z a-z 0-9 _ . -";

const GUEST_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
const randomChars = (n: number) => {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => GUEST_ALPHABET[b % GUEST_ALPHABET.length]).join("");
};

/** `agentsOnly`: the desk's `?role=agent`, which admits only a token with `role: "agent"`. */
export async function checkJoin(
  c: Context<{ Bindings: Env }>,
  place: string,
  options: { agent?: boolean } = {},
): Promise<Join | Response> {
  if (!isRoomName(place)) throw new ApiError(400, "invalid_room", ROOM_RULE);
  const q = c.req.query();
  const token = q.token;
  // With a token, the token is the identity and user/name are ignored (not validated either).
  const user = token !== undefined ? "" : (q.user ?? `anon-${randomChars(12)}`);
  if (token === undefined && !isUserId(user)) {
    throw new ApiError(
      400,
      "invalid_user",
      "user ids are 1-64 characters of A-Z a-z 0-9 _ . : @ -",
    );
  }
  const name =
    token !== undefined
      ? ""
      : q.name === undefined
        ? `guest-${randomChars(4)}`
        : cleanDisplayName(q.name);
  if (name === null) {
    throw new ApiError(
      400,
      "invalid_name",
      "names are 1-64 characters after trimming, without control characters",
    );
  }
  if (q.since !== undefined && !/^\d{1,15}$/.test(q.since)) {
    throw new ApiError(
      400,
      "invalid_since",
      "since is the last seq the client saw: a non-negative integer",
    );
  }
  if (q.batch !== undefined && q.batch !== "0" && q.batch !== "1") {
    throw new ApiError(400, "invalid_batch", "batch is 1 (several frames per message) or 0");
  }
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "join with a WebSocket upgrade request", {
      Upgrade: "websocket",
    });
  }
  if (
    !originAllowed(c.req.header("Origin") ?? null, new URL(c.req.url), c.env.ALLOWED_ORIGINS ?? "")
  ) {
    throw new ApiError(403, "origin_not_allowed", "this origin is not in ALLOWED_ORIGINS");
  }

  const join: Join = {
    name: place,
    user,
    displayName: name,
    role: "member",
    since: q.since === undefined ? undefined : Number(q.since),
    batch: q.batch === "1",
  };
  if (token !== undefined) {
    const check = await verifyJoinToken(token, c.env.JOIN_SECRET, place);
    if (!check.ok) return refuseUpgrade(check.code, check.message);
    if (options.agent === true && check.claims.role !== "agent") {
      return refuseUpgrade("forbidden", 'agents join with a token of role "agent"');
    }
    return {
      ...join,
      user: check.claims.sub,
      displayName: check.claims.name,
      role: options.agent ? "agent" : "member",
    };
  }
  if (options.agent === true) return refuseUpgrade("unauthorized", "agents join with a join token");
  if (place.startsWith(PRIVATE_ROOM_PREFIX)) {
    return refuseUpgrade("unauthorized", "private rooms admit only members with a join token");
  }
  return join;
}

/**
 * Refuses a join so a browser can read why: browsers hide an HTTP error on an upgrade, so the
 * upgrade is accepted here in the Worker, one `error` frame is sent and the socket is closed
 * with 4401/4403. (Done in the Worker with a plain pair: a hibernatable socket closed inside the
 * object's fetch was seen to deliver the frame but never the close.)
 */
function refuseUpgrade(code: "unauthorized" | "forbidden", message: string): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.send(JSON.stringify(errorFrame(code, message)));
  server.close(code === "unauthorized" ? CLOSE_UNAUTHORIZED : CLOSE_FORBIDDEN, code);
  return new Response(null, { status: 101, webSocket: client });
}
