/**
 * The rooms behind Pusher's calls: a channel is the room of the same name, so each call is the
 * server API's or /push's RPC to that room (`publish`, `apiInfo`, `apiMembers`, `apiKick`) or the
 * registry's list of occupied rooms. What Pusher calls a channel's `user_count` is a room's
 * distinct members, its `subscription_count` the room's sockets.
 */
import { logEvent, logPush } from "../log";
import { ApiError } from "../errors";
import type { Occupied, PlaceApi, PlaceInfo, PublishResult, RoomEvent } from "../../protocol";
import type { InfoAttr, PusherEvent } from "./parse";

/** How the routes reach the objects (src/index.ts binds them to ROOMS and REGISTRY). */
export interface PusherRooms {
  room(name: string): PlaceApi & {
    publish(pushId: string, events: RoomEvent[]): Promise<PublishResult>;
  };
  /** Occupied rooms whose name starts with `prefix`, from the registry (which may lag). */
  occupied(prefix: string): Promise<Occupied[]>;
}

/** The page size asked of a room when listing all its users: the server API's largest page. */
const USERS_PAGE = 1000;

/**
 * Delivers events as a push does: stored, in each room's order, one RPC per room carrying that
 * room's events in request order, rooms concurrently. Pusher's libraries send no idempotency
 * key, so every call is a push of its own, named by a fresh id (an event of a batch by that id
 * and its position, as /push names batch events).
 */
export async function deliver(rooms: PusherRooms, events: PusherEvent[], batch: boolean) {
  const pushId = `pusher_${crypto.randomUUID()}`;
  const byRoom = new Map<string, RoomEvent[]>();
  events.forEach((e, i) => {
    const event: RoomEvent = {
      id: batch ? `${pushId}#${i}` : pushId,
      event: e.name,
      data: e.data,
      to: null,
      store: true,
    };
    for (const room of e.channels) byRoom.set(room, [...(byRoom.get(room) ?? []), event]);
  });
  await Promise.all(
    [...byRoom].map(async ([room, list]) => {
      const out = await rooms.room(room).publish(pushId, list);
      logPush(room, pushId, list, out);
    }),
  );
}

/** The asked attributes of one room's info, in Pusher's words. */
export function attrsOf(info: PlaceInfo, attrs: InfoAttr[]): Partial<Record<InfoAttr, number>> {
  const out: Partial<Record<InfoAttr, number>> = {};
  if (attrs.includes("user_count")) out.user_count = info.members;
  if (attrs.includes("subscription_count")) out.subscription_count = info.sockets;
  return out;
}

/** Each named room's info, asked concurrently (one RPC each). */
export async function infoOf(rooms: PusherRooms, names: string[]): Promise<Map<string, PlaceInfo>> {
  const unique = [...new Set(names)];
  const infos = await Promise.all(unique.map((name) => rooms.room(name).apiInfo()));
  return new Map(unique.map((name, i) => [name, infos[i]!]));
}

/** Every connected user of a room, in id order: one RPC per USERS_PAGE users. */
export async function usersOf(rooms: PusherRooms, name: string): Promise<{ id: string }[]> {
  const room = rooms.room(name);
  const users: { id: string }[] = [];
  let after: string | null = null;
  do {
    const page = await room.apiMembers(after, USERS_PAGE);
    for (const m of page.members) users.push({ id: m.id });
    after = page.next;
  } while (after !== null);
  return users;
}

/**
 * Closes a user's sockets in every occupied room the registry lists: one kick (no ban) per room,
 * all at once. A room that could not be asked fails the call (500) after the others were done,
 * so a retry, which is harmless, reaches it.
 */
export async function terminate(rooms: PusherRooms, user: string): Promise<void> {
  const occupied = await rooms.occupied("");
  const order = { user, reason: "your connections were terminated", banSec: null };
  const outcomes = await Promise.allSettled(
    occupied.map(async ({ name }) => {
      const { closed } = await rooms.room(name).apiKick(order);
      // One line per room where the user was, not per room asked: most rooms close nothing.
      if (closed > 0) {
        logEvent("kick", { room: name, user, reason: order.reason, ban_sec: null, closed });
      }
    }),
  );
  const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [occupied[i]!.name] : []));
  if (failed.length > 0) {
    console.error(`terminate_connections: ${failed.length} room(s) could not be asked`, failed);
    throw new ApiError(
      500,
      "terminate_incomplete",
      `${failed.length} of ${occupied.length} rooms could not be asked; the user may still be connected there: call again`,
    );
  }
}
