/**
 * The Worker: Hono routes only. `GET /room/:room` checks the request (names, upgrade, origin)
 * and forwards the upgrade to that room's Durable Object, which accepts it with the hibernatable
 * API. Static files in public/ are served by Workers assets before this code runs.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { originAllowed } from "./auth";
import { cleanDisplayName, isRoomName, isUserId } from "./protocol";
import { CONNECT_PATH } from "./room";

export { Room } from "./room";

/** The one error type of the HTTP side, rendered as `{"error","message"}` by `app.onError`. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
  }
}

const GUEST_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
const randomChars = (n: number) => {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => GUEST_ALPHABET[b % GUEST_ALPHABET.length]).join("");
};

const app = new Hono<{ Bindings: Env }>();

app.get("/room/:room", async (c) => {
  const room = c.req.param("room");
  if (!isRoomName(room)) {
    throw new ApiError(400, "invalid_room", "room names are 1-99 characters of A-Z a-z 0-9 _ . -");
  }
  const q = c.req.query();
  const user = q.user ?? `anon-${randomChars(12)}`;
  if (!isUserId(user)) throw new ApiError(400, "invalid_user", "user ids are 1-64 characters of A-Z a-z 0-9 _ . : @ -");
  const name = q.name === undefined ? `guest-${randomChars(4)}` : cleanDisplayName(q.name);
  if (name === null) throw new ApiError(400, "invalid_name", "names are 1-64 characters after trimming, without control characters");
  if (q.since !== undefined && !/^\d{1,15}$/.test(q.since)) {
    throw new ApiError(400, "invalid_since", "since is the last seq the client saw: a non-negative integer");
  }
  if (q.batch !== undefined && q.batch !== "0" && q.batch !== "1") {
    throw new ApiError(400, "invalid_batch", "batch is 1 (several frames per message) or 0");
  }
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "join a room with a WebSocket upgrade request", { Upgrade: "websocket" });
  }
  if (!originAllowed(c.req.header("Origin") ?? null, new URL(c.req.url), c.env.ALLOWED_ORIGINS ?? "")) {
    throw new ApiError(403, "origin_not_allowed", "this origin is not in ALLOWED_ORIGINS");
  }

  const target = new URL(CONNECT_PATH, "https://room.internal");
  target.search = new URLSearchParams({
    room,
    user,
    name,
    ...(q.since === undefined ? {} : { since: String(Number(q.since)) }),
    batch: q.batch === "1" ? "1" : "0",
  }).toString();
  const stub = c.env.ROOMS.getByName(room);
  return stub.fetch(new Request(target, c.req.raw));
});

app.all("/room/*", () => {
  throw new ApiError(400, "invalid_room", "room names are 1-99 characters of A-Z a-z 0-9 _ . -");
});

app.notFound(() => Response.json({ error: "not_found", message: "no such route" }, { status: 404 }));

app.onError((err) => {
  if (err instanceof ApiError) {
    return Response.json({ error: err.code, message: err.message }, { status: err.status, headers: err.headers });
  }
  if (err instanceof HTTPException) {
    return Response.json({ error: "http_error", message: err.message }, { status: err.status });
  }
  console.error("unhandled error", err);
  return Response.json({ error: "internal", message: "internal error" }, { status: 500 });
});

export default app;
