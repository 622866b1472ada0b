/**
 * Pusher's HTTP API, for backends written for Pusher Channels: the official server libraries,
 * pointed at this Worker's host, push into rooms and ask about them unchanged. Mounted by the
 * entry at `/apps`; every route is signed Pusher's way (verify.ts), its body or query parsed by
 * parse.ts, and answered from the rooms (rooms.ts). A channel is the room of the same name.
 *
 * Refusals Pusher itself makes (400, 401, 404 for another app, 413) are answered as Pusher
 * answers them, a plain-text sentence: that is what its libraries put into the errors they
 * raise. Anything else (the API off, a failure here) is the project's JSON error.
 */
import { Hono } from "hono";
import { ApiError } from "../errors";
import {
  channelName,
  infoAttrs,
  onlyParams,
  parseBatch,
  parseEmpty,
  parseTrigger,
  prefixParam,
  userId,
} from "./parse";
import { attrsOf, deliver, infoOf, terminate, usersOf, type PusherRooms } from "./rooms";
import { pusherSigned, type PusherVariables } from "./verify";

export type { PusherRooms } from "./rooms";

type PusherEnv = { Bindings: Env; Variables: PusherVariables };

/** The statuses Pusher's own API answers with a sentence in plain text. */
const PUSHER_TEXT_STATUSES = new Set([400, 401, 404, 413]);

/** The routes, mounted by the entry at `/apps`. */
export function pusherApi(objects: (env: Env) => PusherRooms): Hono<PusherEnv> {
  const api = new Hono<PusherEnv>();

  api.onError((err) => {
    if (err instanceof ApiError && PUSHER_TEXT_STATUSES.has(err.status)) {
      return new Response(err.message, {
        status: err.status,
        headers: { ...err.headers, "Content-Type": "text/plain; charset=utf-8" },
      });
    }
    // Not one of Pusher's: the entry's handler renders it as every other route's error.
    throw err;
  });

  api.post("/:app/events", pusherSigned, async (c) => {
    onlyParams(c.var.pusher.params, []);
    const event = parseTrigger(c.var.pusher.body);
    const rooms = objects(c.env);
    await deliver(rooms, [event], false);
    if (event.info.length === 0) return c.json({});
    const infos = await infoOf(rooms, event.channels);
    return c.json({
      channels: Object.fromEntries(
        event.channels.map((ch) => [ch, attrsOf(infos.get(ch)!, event.info)]),
      ),
    });
  });

  api.post("/:app/batch_events", pusherSigned, async (c) => {
    onlyParams(c.var.pusher.params, []);
    const events = parseBatch(c.var.pusher.body);
    const rooms = objects(c.env);
    await deliver(rooms, events, true);
    if (events.every((e) => e.info.length === 0)) return c.json({});
    const infos = await infoOf(
      rooms,
      events.filter((e) => e.info.length > 0).map((e) => e.channels[0]!),
    );
    return c.json({
      batch: events.map((e) =>
        e.info.length === 0 ? {} : attrsOf(infos.get(e.channels[0]!)!, e.info),
      ),
    });
  });

  api.get("/:app/channels", pusherSigned, async (c) => {
    const { params } = c.var.pusher;
    onlyParams(params, ["filter_by_prefix", "info"]);
    const prefix = prefixParam(params);
    const withCount = infoAttrs(params.get("info"), ["user_count"], "the query").length > 0;
    const occupied = await objects(c.env).occupied(prefix);
    return c.json({
      channels: Object.fromEntries(
        occupied.map((o) => [o.name, withCount ? { user_count: o.members } : {}]),
      ),
    });
  });

  api.get("/:app/channels/:channel", pusherSigned, async (c) => {
    const { params } = c.var.pusher;
    onlyParams(params, ["info"]);
    const name = channelName(c.req.param("channel"), "the channel in the path");
    const attrs = infoAttrs(params.get("info"), ["user_count", "subscription_count"], "the query");
    const info = await objects(c.env).room(name).apiInfo();
    return c.json({ occupied: info.occupied, ...attrsOf(info, attrs) });
  });

  api.get("/:app/channels/:channel/users", pusherSigned, async (c) => {
    onlyParams(c.var.pusher.params, []);
    const name = channelName(c.req.param("channel"), "the channel in the path");
    return c.json({ users: await usersOf(objects(c.env), name) });
  });

  api.post("/:app/users/:user/terminate_connections", pusherSigned, async (c) => {
    onlyParams(c.var.pusher.params, []);
    parseEmpty(c.var.pusher.body);
    await terminate(objects(c.env), userId(c.req.param("user")));
    return c.json({});
  });

  return api;
}
