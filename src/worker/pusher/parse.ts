/**
 * What Pusher's libraries send, parsed once verified: the bodies of `events` and `batch_events`
 * and the query parameters of the `channels` calls, turned into typed values or a 400 naming the
 * field. A channel is the room of the same name, so a channel name that is not a room name is
 * refused here rather than silently renamed; so are fields and parameters that cannot mean
 * anything here (a Pusher `socket_id`), so a backend learns at once what does not carry over.
 */
import { ApiError } from "../errors";
import { readJsonObject } from "../api/parse";
import { EVENT_NAME, isMemberId, isRoomName } from "../../protocol";

/** Channels one `events` call may name, as Pusher allows. */
export const MAX_TRIGGER_CHANNELS = 100;
/** Events one `batch_events` call may carry, as Pusher allows. */
export const MAX_BATCH_EVENTS = 10;
/** Pusher's end-to-end encrypted channels: their data is ciphertext no room member could read. */
const ENCRYPTED_PREFIX = "private-encrypted-";

const invalid = (message: string) => new ApiError(400, "invalid_body", message);
const badQuery = (message: string) => new ApiError(400, "invalid_query", message);

/** What a channel's info may hold: `user_count` (distinct members), `subscription_count` (sockets). */
export type InfoAttr = "user_count" | "subscription_count";

/** One event to deliver: its channels (rooms), its name, and its data already decoded. */
export interface PusherEvent {
  channels: string[];
  name: string;
  data: unknown;
  info: InfoAttr[];
}

/** A channel name as a room name, or 400. */
export function channelName(raw: unknown, where: string): string {
  if (typeof raw !== "string" || !isRoomName(raw)) {
    throw invalid(
      `${where}: ${JSON.stringify(raw)} is not a room name (1-99 characters of A-Z a-z 0-9 _ . -); a channel is the room of the same name`,
    );
  }
  if (raw.startsWith(ENCRYPTED_PREFIX)) {
    throw invalid(
      `${where}: end-to-end encrypted channels (${ENCRYPTED_PREFIX}*) are not supported: members could not read the data`,
    );
  }
  return raw;
}

/** A user id from a path, or 400. */
export function userId(raw: string): string {
  if (!isMemberId(raw)) {
    throw new ApiError(
      400,
      "invalid_user",
      `user ${JSON.stringify(raw)} is not a user id (1-64 characters of A-Z a-z 0-9 _ . : @ -)`,
    );
  }
  return raw;
}

/**
 * An event's `data` as the members get it: Pusher's libraries send a string, which is the JSON
 * of the value given to `trigger`; that value is what arrives. A string that is not JSON (a
 * backend that triggered a plain string) arrives as that string.
 */
export function decodeData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** `info` as a list of attributes, each one of `allowed`. */
export function infoAttrs(raw: unknown, allowed: InfoAttr[], where: string): InfoAttr[] {
  if (raw === undefined || raw === null || raw === "") return [];
  const rule = `${where}: "info" is a comma-separated list of ${allowed.join(", ")}`;
  if (typeof raw !== "string") throw new ApiError(400, "invalid_info", rule);
  const attrs = raw.split(",").map((a) => a.trim());
  for (const a of attrs) {
    if (!(allowed as string[]).includes(a)) {
      throw new ApiError(400, "invalid_info", `${rule}; "${a}" is not one`);
    }
  }
  return [...new Set(attrs as InfoAttr[])];
}

function onlyFields(body: Record<string, unknown>, allowed: string[], where: string): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw invalid(
        `${where}: unknown field "${key}"; an event takes ${allowed.map((k) => `"${k}"`).join(", ")}`,
      );
    }
  }
}

/** The fields every event shares: `name`, `data`, `socket_id` (refused), `info`. */
function eventFields(e: Record<string, unknown>, where: string) {
  if (typeof e.name !== "string" || !EVENT_NAME.test(e.name)) {
    throw invalid(`${where}: "name" must be 1-100 characters of A-Z a-z 0-9 _ . : -`);
  }
  if (typeof e.data !== "string") {
    throw invalid(`${where}: "data" must be a string (Pusher's libraries send the JSON text)`);
  }
  // A Pusher socket id names a socket of Pusher's own servers: none exists here to leave out.
  if (e.socket_id !== undefined && e.socket_id !== null) {
    throw invalid(
      `${where}: "socket_id" is not supported: there are no Pusher sockets here to exclude`,
    );
  }
  return {
    name: e.name,
    data: decodeData(e.data),
    info: infoAttrs(e.info, ["user_count", "subscription_count"], where),
  };
}

/** `POST /apps/<id>/events`: `channel` or `channels` (1-100), `name`, `data`. */
export function parseTrigger(bytes: Uint8Array): PusherEvent {
  const body = readJsonObject(bytes);
  const where = "the event";
  onlyFields(body, ["name", "data", "channel", "channels", "socket_id", "info"], where);
  if ((body.channel === undefined) === (body.channels === undefined)) {
    throw invalid(`${where}: give "channel" or "channels", one of the two`);
  }
  let channels: string[];
  if (body.channels !== undefined) {
    const list = body.channels;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_TRIGGER_CHANNELS) {
      throw invalid(`"channels" must be an array of 1-${MAX_TRIGGER_CHANNELS} channel names`);
    }
    channels = list.map((c, i) => channelName(c, `"channels"[${i}]`));
  } else {
    channels = [channelName(body.channel, '"channel"')];
  }
  return { channels: [...new Set(channels)], ...eventFields(body, where) };
}

/** `POST /apps/<id>/batch_events`: `{"batch": [...]}`, 1-10 events of one `channel` each. */
export function parseBatch(bytes: Uint8Array): PusherEvent[] {
  const body = readJsonObject(bytes);
  for (const key of Object.keys(body)) {
    if (key !== "batch") throw invalid(`unknown field "${key}": this call takes "batch"`);
  }
  const list = body.batch;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH_EVENTS) {
    throw invalid(`"batch" must be an array of 1-${MAX_BATCH_EVENTS} events`);
  }
  return list.map((raw, i) => {
    const where = `batch[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw invalid(`${where} must be an object`);
    }
    const e = raw as Record<string, unknown>;
    onlyFields(e, ["name", "data", "channel", "socket_id", "info"], where);
    return { channels: [channelName(e.channel, `${where}.channel`)], ...eventFields(e, where) };
  });
}

/** A body that must say nothing: `terminate_connections` sends `{}` (or none). */
export function parseEmpty(bytes: Uint8Array): void {
  if (bytes.byteLength === 0) return;
  const body = readJsonObject(bytes);
  const keys = Object.keys(body);
  if (keys.length > 0) throw invalid(`unknown field "${keys[0]}": this call takes no fields`);
}

/** The query of a GET, each parameter one of `allowed` (the auth ones are already taken off). */
export function onlyParams(params: Map<string, string>, allowed: string[]): void {
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      const takes =
        allowed.length === 0
          ? "this call takes none"
          : `this call takes ${allowed.map((k) => `"${k}"`).join(", ")}`;
      throw badQuery(`unknown query parameter "${key}": ${takes}`);
    }
  }
}

/** `filter_by_prefix` of the channel list: "" or the start of a room name. */
export function prefixParam(params: Map<string, string>): string {
  const prefix = params.get("filter_by_prefix") ?? "";
  if (prefix !== "" && !isRoomName(prefix)) {
    throw badQuery('"filter_by_prefix" must be up to 99 characters of A-Z a-z 0-9 _ . -');
  }
  return prefix;
}

/** `info` of a GET, as attributes. */
export function infoParam(params: Map<string, string>, allowed: InfoAttr[]): InfoAttr[] {
  return infoAttrs(params.get("info"), allowed, "the query");
}
