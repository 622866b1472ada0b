/**
 * The Worker: Hono routes only. `GET /room/:room` and `GET /desk/:desk` check the join (join.ts)
 * and forward the upgrade to that room's or desk's Durable Object, which accepts it with the
 * hibernatable API. `POST /push` verifies a signed push and hands each room its events over RPC;
 * `POST /jobs` enqueues a background job, and `queue()` consumes them (jobs.ts).
 * Static files in public/ are served by Workers assets before this code runs.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError } from "./worker/errors";
import { consumeJobs, submitJob } from "./worker/jobs";
import { ROOM_RULE, checkJoin, forwardJoin } from "./worker/join";
import { readLimits } from "./protocol";
import { handlePush } from "./worker/push";

export { Desk } from "./objects/desk/desk";
export { Room } from "./objects/room";

const app = new Hono<{ Bindings: Env }>();

app.get("/room/:room", async (c) => {
  const join = await checkJoin(c, { kind: "room", name: c.req.param("room") });
  if (join instanceof Response) return join;
  return forwardJoin(c.env.ROOMS.getByName(join.name), join, c.req.raw);
});

app.get("/desk/:desk", async (c) => {
  const role = c.req.query("role");
  if (role !== undefined && role !== "agent" && role !== "customer") {
    throw new ApiError(400, "invalid_role", "role is agent or customer (the default)");
  }
  const join = await checkJoin(
    c,
    { kind: "desk", name: c.req.param("desk") },
    {
      agent: role === "agent",
    },
  );
  if (join instanceof Response) return join;
  return forwardJoin(c.env.DESKS.getByName(join.name), join, c.req.raw);
});

app.post("/jobs", submitJob);

app.post("/push", async (c) => {
  const limits = readLimits(c.env);
  const answer = await handlePush(c.req.raw, {
    secret: c.env.PUSH_SECRET,
    maxBytes: limits.maxPushBytes,
    publish: (room, pushId, events) => c.env.ROOMS.getByName(room).publish(pushId, events),
  });
  return c.json(answer);
});

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
  queue: (batch: MessageBatch<unknown>, env: Env) => consumeJobs(batch, env),
} satisfies ExportedHandler<Env>;
