/**
 * The Worker: Hono routes only. `GET /room/:room` checks the request (names, upgrade, origin,
 * join token) and forwards the upgrade to that room's Durable Object, which accepts it with the
 * hibernatable API. `POST /push` verifies a signed push and hands each room its events over RPC.
 * Static files in public/ are served by Workers assets before this code runs.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { PRIVATE_ROOM_PREFIX, originAllowed, verifyJoinToken } from "./auth";
import { ApiError } from "./errors";
import {
  CLOSE_FORBIDDEN,
  CLOSE_UNAUTHORIZED,
  cleanDisplayName,
  errorFrame,
  isRoomName,
  isUserId,
  readLimits,
} from "./protocol";
import { handlePush } from "./push";
import { CONNECT_PATH } from "./room";

const ROOM_RULE = "room names are 1-99 characters of A-Z a-z 0-9 _ . -";

export { Room } from "./room";

const GUEST_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
const randomChars = (n: number) => {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => GUEST_ALPHABET[b % GUEST_ALPHABET.length]).join("");
};

const app = new Hono<{ Bindings: Env }>();

app.get("/room/:room", async (c) => {
  const room = c.req.param("room");
  if (!isRoomName(room)) throw new ApiError(400, "invalid_room", ROOM_RULE);
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
    throw new ApiError(426, "upgrade_required", "join a room with a WebSocket upgrade request", {
      Upgrade: "websocket",
    });
  }
  if (
    !originAllowed(c.req.header("Origin") ?? null, new URL(c.req.url), c.env.ALLOWED_ORIGINS ?? "")
  ) {
    throw new ApiError(403, "origin_not_allowed", "this origin is not in ALLOWED_ORIGINS");
  }

  let identity = { user, name, role: "member" as "member" | "agent" };
  if (token !== undefined) {
    const check = await verifyJoinToken(token, c.env.JOIN_SECRET, room);
    if (!check.ok) return refuseUpgrade(check.code, check.message);
    identity = { user: check.claims.sub, name: check.claims.name, role: check.claims.role };
  } else if (room.startsWith(PRIVATE_ROOM_PREFIX)) {
    return refuseUpgrade("unauthorized", "private rooms admit only members with a join token");
  }

  const target = new URL(CONNECT_PATH, "https://room.internal");
  target.search = new URLSearchParams({
    room,
    user: identity.user,
    name: identity.name,
    role: identity.role,
    ...(q.since === undefined ? {} : { since: String(Number(q.since)) }),
    batch: q.batch === "1" ? "1" : "0",
  }).toString();
  return c.env.ROOMS.getByName(room).fetch(new Request(target, c.req.raw));
});

app.post("/push", async (c) => {
  const limits = readLimits(c.env);
  const answer = await handlePush(c.req.raw, {
    secret: c.env.PUSH_SECRET,
    maxBytes: limits.maxPushBytes,
    publish: (room, pushId, events) => c.env.ROOMS.getByName(room).publish(pushId, events),
  });
  return c.json(answer);
});

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

app.all("/room/*", () => {
  throw new ApiError(400, "invalid_room", ROOM_RULE);
});

app.notFound(() =>
  Response.json({ error: "not_found", message: "no such route" }, { status: 404 }),
);

app.onError((err) => {
  if (err instanceof ApiError) {
    return Response.json(
      { error: err.code, message: err.message },
      { status: err.status, headers: err.headers },
    );
  }
  if (err instanceof HTTPException) {
    return Response.json({ error: "http_error", message: err.message }, { status: err.status });
  }
  console.error("unhandled error", err);
  return Response.json({ error: "internal", message: "internal error" }, { status: 500 });
});

export default app;
