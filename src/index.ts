/**
 * The Worker's entry: the Hono routes, each a few lines over the checks in src/worker/ (the join
 * check and the signed-body verifier are middleware), and the Durable Object classes of
 * src/objects/ re-exported for the runtime. `GET /room/:room` and `GET /desk/:desk` forward a
 * checked upgrade to that room's or desk's object, which accepts it with the hibernatable API;
 * `POST /push` hands each room its events over RPC; `POST /jobs` enqueues a background job, and
 * `queue()` consumes them (src/worker/jobs/); `POST /api/…` is the server API (src/worker/api/),
 * which asks rooms, desks and the registry of occupied places over RPC; `/apps/…` is Pusher's
 * HTTP API over the same calls (src/worker/pusher/), for backends written for Pusher Channels.
 * Static files in public/ are served by Workers assets before this code runs.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { serverApi } from "./worker/api";
import { ApiError } from "./worker/errors";
import { consumeHookDeliveries } from "./worker/hooks/deliver";
import { consumeJobs, submitJob } from "./worker/jobs";
import {
  ROOM_RULE,
  forwardJoin,
  forwardRoomJoin,
  joinCheck,
  type RoomObjects,
} from "./worker/join";
import { isShardedRoom, readShardSettings, shardName } from "./protocol";
import { logPush } from "./worker/log";
import { pushEvents } from "./worker/push";
import { pusherApi } from "./worker/pusher";
import { signedBody } from "./worker/signed";
import { REGISTRY_NAME } from "./objects/registry";

export { Desk } from "./objects/desk/desk";
export { Registry } from "./objects/registry";
export { Room } from "./objects/room";
export { RoomShard } from "./objects/shards/shard";

const app = new Hono<{ Bindings: Env }>();

// Joins: the check (middleware) yields the identity, and the upgrade goes to the place's object.
const room = (env: Env, name: string): RoomObjects => ({
  keeper: env.ROOMS.getByName(name),
  shard: (n) => env.SHARDS.getByName(shardName(name, n)),
  sharded: isShardedRoom(readShardSettings(env), name),
});
app.get("/room/:room", joinCheck("room"), (c) =>
  forwardRoomJoin(room(c.env, c.var.join.name), c.var.join, c.req.raw),
);
// The trailing-slash form a Django Channels page opens (`/room/<group>/`): the same room, joined
// as a raw socket (plain text in, only data out). Hono's router is strict about the slash.
app.get("/room/:room/", joinCheck("room", { raw: true }), (c) =>
  forwardRoomJoin(room(c.env, c.var.join.name), c.var.join, c.req.raw),
);
app.get("/desk/:desk", joinCheck("desk"), (c) =>
  forwardJoin(c.env.DESKS.getByName(c.var.join.name), c.var.join, c.req.raw, "desk"),
);

// Backends: signed with PUSH_SECRET (the jobs route also takes a user's own token).
app.post("/push", signedBody, async (c) =>
  c.json(
    await pushEvents(c.var.signed, async (room, pushId, events) => {
      const out = await c.env.ROOMS.getByName(room).publish(pushId, events);
      logPush(room, pushId, events, out);
      return out;
    }),
  ),
);
app.post("/jobs", submitJob);
app.route(
  "/api",
  serverApi((env) => ({
    place: (kind, name) => (kind === "room" ? env.ROOMS : env.DESKS).getByName(name),
    occupied: (kind, prefix) => env.REGISTRY.getByName(REGISTRY_NAME).list(kind, prefix),
  })),
);
// Pusher's HTTP API (src/worker/pusher/): a channel is the room of the same name.
app.route(
  "/apps",
  pusherApi((env) => ({
    room: (name) => env.ROOMS.getByName(name),
    occupied: (prefix) => env.REGISTRY.getByName(REGISTRY_NAME).list("room", prefix),
  })),
);

app.all("/room/*", () => {
  throw new ApiError(400, "invalid_room", `room ${ROOM_RULE}`);
});
app.all("/desk/*", () => {
  throw new ApiError(400, "invalid_room", `desk ${ROOM_RULE}`);
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

export default {
  fetch: app.fetch,
  // One consumer for both queues of wrangler.toml, told apart by name.
  queue: (batch: MessageBatch<unknown>, env: Env) =>
    batch.queue === "rooms-hooks" ? consumeHookDeliveries(batch, env) : consumeJobs(batch, env),
} satisfies ExportedHandler<Env>;
