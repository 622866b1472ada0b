/**
 * POST /push: a backend in any language signs one HTTP request (Standard Webhooks, webhook.ts)
 * and its events reach the rooms' sockets in each room's order, exactly once. The checks run in
 * the order that costs an attacker the most and us the least: configured at all, size, then the
 * signature over the raw bytes, and only then is the body parsed.
 */
import { ApiError } from "./errors";
import { isRoomName, isMemberId } from "../protocol";
import type { PublishResult, RoomEvent } from "../protocol";
import { verifyWebhook } from "./webhook";

export const MAX_BATCH_EVENTS = 100;
const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

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

/** Reads the body as bytes, refusing (413) as soon as it passes `max`, whatever Content-Length said. */
export async function readLimited(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, "too_large", `push bodies are limited to ${max} bytes`);
  const length = request.headers.get("Content-Length");
  if (length !== null && Number(length) > max) throw tooLarge();
  if (request.body === null) return new Uint8Array(0);
  // Over HTTP a declared length frames the body (the runtime never reads past it), so one read
  // is safe and far cheaper than a chunk loop; the size is still checked, for a Request built
  // in code with a header that lies. A body of unknown length is counted as it arrives.
  if (length !== null) {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > max) throw tooLarge();
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
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
  publish(room: string, pushId: string, events: RoomEvent[]): Promise<PublishResult>;
  nowSec?: number;
}

/** The whole of POST /push, minus Hono: verify, parse, fan out per room, answer in request order. */
export async function handlePush(
  request: Request,
  deps: PushDeps,
): Promise<{ results: PushResult[] }> {
  if (!deps.secret) {
    throw new ApiError(503, "push_disabled", "push is disabled: no PUSH_SECRET is configured");
  }
  const body = await readLimited(request, deps.maxBytes);
  const check = await verifyWebhook(
    deps.secret,
    request.headers,
    body,
    deps.nowSec ?? Math.floor(Date.now() / 1000),
  );
  if (!check.ok) throw new ApiError(401, "bad_signature", check.reason);
  const { events, batch } = parsePushBody(body);

  // One RPC per room, carrying that room's events in request order; rooms run concurrently.
  const byRoom = new Map<string, { index: number; event: RoomEvent }[]>();
  events.forEach((e, index) => {
    const list = byRoom.get(e.room) ?? [];
    list.push({
      index,
      event: {
        id: batch ? `${check.id}#${index}` : check.id,
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
      const out = await deps.publish(
        room,
        check.id,
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
