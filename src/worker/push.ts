/**
 * POST /push: a backend in any language signs one HTTP request (Standard Webhooks, verified by
 * signed.ts) and its events reach the rooms' sockets in each room's order, exactly once. The
 * body is parsed only once it is verified.
 */
import { ApiError } from "./errors";
import { EVENT_NAME, isRoomName, isMemberId } from "../protocol";
import type { PublishResult, RoomEvent } from "../protocol";
import { verifySigned, type Signed } from "./signed";

export const MAX_BATCH_EVENTS = 100;

export interface PushEvent {
  room: string;
  event: string;
  data: unknown;
  to: string | null;
  store: boolean;
}

export interface PushResult {
  room: string;
  seq: number | null;
  delivered: number;
  duplicate: boolean;
}

const invalid = (message: string) => new ApiError(400, "invalid_body", message);

function parseEvent(raw: unknown, where: string): PushEvent {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw invalid(`${where} must be an object`);
  const e = raw as Record<string, unknown>;
  if (typeof e.room !== "string" || !isRoomName(e.room)) {
    throw invalid(`${where}: "room" must be 1-99 characters of A-Z a-z 0-9 _ . -`);
  }
  if (typeof e.event !== "string" || !EVENT_NAME.test(e.event)) {
    throw invalid(`${where}: "event" must be 1-100 characters of A-Z a-z 0-9 _ . : -`);
  }
  if (e.to !== undefined && e.to !== null && (typeof e.to !== "string" || !isMemberId(e.to))) {
    throw invalid(`${where}: "to" must be a user id or null`);
  }
  if (e.store !== undefined && typeof e.store !== "boolean")
    throw invalid(`${where}: "store" must be true or false`);
  return {
    room: e.room,
    event: e.event,
    data: e.data === undefined ? null : e.data,
    to: (e.to as string | null | undefined) ?? null,
    store: e.store !== false,
  };
}

/** One event or `{"events":[...]}` (1-100); all valid or the whole request is refused. */
export function parsePushBody(bytes: Uint8Array): { events: PushEvent[]; batch: boolean } {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw invalid("the body must be UTF-8 JSON");
  }
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw) && "events" in raw) {
    const list = (raw as { events: unknown }).events;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH_EVENTS) {
      throw invalid(`"events" must be an array of 1-${MAX_BATCH_EVENTS} events`);
    }
    return { events: list.map((e, i) => parseEvent(e, `events[${i}]`)), batch: true };
  }
  return { events: [parseEvent(raw, "the event")], batch: false };
}

export interface PushDeps {
  secret: string | undefined;
  maxBytes: number;
  /** Delivers one room's share of the request; the room remembers `pushId` for 24 h. */
  publish: Publish;
  nowSec?: number;
}

/** Delivers one room's share of a push; the room remembers `pushId` for 24 h. */
export type Publish = (room: string, pushId: string, events: RoomEvent[]) => Promise<PublishResult>;

/** The whole of POST /push, minus Hono: verify, then deliver (the route verifies in middleware). */
export async function handlePush(
  request: Request,
  deps: PushDeps,
): Promise<{ results: PushResult[] }> {
  return pushEvents(await verifySigned(request, deps, deps.nowSec), deps.publish);
}

/** A verified push: parse, fan out per room, answer in request order. */
export async function pushEvents(
  signed: Signed,
  publish: Publish,
): Promise<{ results: PushResult[] }> {
  const { events, batch } = parsePushBody(signed.body);

  // One RPC per room, carrying that room's events in request order; rooms run concurrently.
  const byRoom = new Map<string, { index: number; event: RoomEvent }[]>();
  events.forEach((e, index) => {
    const list = byRoom.get(e.room) ?? [];
    list.push({
      index,
      event: {
        id: batch ? `${signed.id}#${index}` : signed.id,
        event: e.event,
        data: e.data,
        to: e.to,
        store: e.store,
      },
    });
    byRoom.set(e.room, list);
  });
  const results: PushResult[] = new Array(events.length);
  await Promise.all(
    [...byRoom].map(async ([room, list]) => {
      const out = await publish(
        room,
        signed.id,
        list.map((x) => x.event),
      );
      list.forEach((x, i) => {
        const r = out.results[i]!;
        results[x.index] = { room, seq: r.seq, delivered: r.delivered, duplicate: out.duplicate };
      });
    }),
  );
  return { results };
}
