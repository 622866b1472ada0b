/**
 * The server API, for your backend: `POST /api/rooms/{info,list,members,history,kick}` and the
 * same under `/api/desks/`, each signed like /push (the `signedBody` middleware: 503, 413, 401
 * before anything is parsed), its body parsed by parse.ts, answered with JSON. Each call is one
 * RPC per place (`info` asks its places concurrently), or one to the registry for `list`; the
 * objects' side is the `api…` methods of Room and Desk.
 */
import { Hono } from "hono";
import { logEvent, placeField } from "../log";
import { signedBody, type SignedVariables } from "../signed";
import {
  parseHistoryBody,
  parseInfoBody,
  parseKickBody,
  parseListBody,
  parseMembersBody,
  readJsonObject,
} from "./parse";
import type { Occupied, PlaceApi, PlaceKind, PlaceInfo } from "../../protocol";

/** How the routes reach the objects (src/index.ts binds them to ROOMS, DESKS and REGISTRY). */
export interface ApiObjects {
  place(kind: PlaceKind, name: string): PlaceApi;
  occupied(kind: PlaceKind, prefix: string): Promise<Occupied[]>;
}

type ApiEnv = { Bindings: Env; Variables: SignedVariables };

const KINDS: Record<string, PlaceKind> = { rooms: "room", desks: "desk" };

/** The routes, mounted by the entry at `/api`. */
export function serverApi(objects: (env: Env) => ApiObjects): Hono<ApiEnv> {
  const api = new Hono<ApiEnv>();
  // Only /api/rooms/… and /api/desks/…: anything else is the entry's 404.
  for (const [path, kind] of Object.entries(KINDS)) {
    const base = `/${path}`;
    const body = (c: { var: SignedVariables }) => readJsonObject(c.var.signed.body);

    api.post(`${base}/info`, signedBody, async (c) => {
      const { names } = parseInfoBody(body(c), kind);
      const place = objects(c.env);
      const infos = await Promise.all(names.map((name) => place.place(kind, name).apiInfo()));
      const answer: Record<string, PlaceInfo> = {};
      names.forEach((name, i) => (answer[name] = infos[i]!));
      return c.json({ [`${kind}s`]: answer });
    });

    api.post(`${base}/list`, signedBody, async (c) => {
      const { prefix } = parseListBody(body(c));
      const occupied = await objects(c.env).occupied(kind, prefix);
      return c.json({
        [`${kind}s`]: occupied.map((o) => ({ [kind]: o.name, members: o.members })),
      });
    });

    api.post(`${base}/members`, signedBody, async (c) => {
      const { name, after, limit } = parseMembersBody(body(c), kind);
      return c.json(await objects(c.env).place(kind, name).apiMembers(after, limit));
    });

    api.post(`${base}/history`, signedBody, async (c) => {
      const { name, before, limit } = parseHistoryBody(body(c), kind);
      const page = await objects(c.env).place(kind, name).apiHistory(before, limit);
      // The stored frames are JSON already: spliced in as they are, never parsed again.
      const head = JSON.stringify({ messages: [], complete: page.complete });
      return c.body(head.replace('"messages":[]', `"messages":[${page.frames.join(",")}]`), 200, {
        "Content-Type": "application/json",
      });
    });

    api.post(`${base}/kick`, signedBody, async (c) => {
      const { name, order } = parseKickBody(body(c), kind);
      const { closed } = await objects(c.env).place(kind, name).apiKick(order);
      logEvent("kick", {
        ...placeField(kind, name),
        user: order.user,
        reason: order.reason,
        ban_sec: order.banSec,
        closed,
      });
      return c.json({ closed });
    });
  }
  return api;
}
