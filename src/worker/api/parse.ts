/**
 * The server API's bodies, parsed: each call's one `parse…` turns a verified body into typed
 * values or throws 400 `invalid_body` naming the field. Unknown fields are refused too, so a
 * typo (`"ban"` for `"ban_sec"`, `"room"` at a desk) is an error, never silently ignored.
 */
import { ApiError } from "../errors";
import {
  MAX_HISTORY_PAGE,
  isMemberId,
  isRoomName,
  type KickOrder,
  type PlaceKind,
} from "../../protocol";

/** Places one `info` call may ask about. */
export const MAX_INFO_PLACES = 100;
/** Members one `members` page may hold; also the page size when the body gives none. */
export const MAX_MEMBERS_PAGE = 1000;
/** Frames one `history` page may hold (as a client's `history` frame); also the default. */
export const MAX_API_HISTORY_PAGE = MAX_HISTORY_PAGE;
/** A kick's reason reaches the user in an `error` frame: a sentence, not a document. */
export const MAX_REASON_CHARS = 500;
/** The longest ban: ten years, so that `until` stays a plain date. */
export const MAX_BAN_SEC = 10 * 365 * 86400;

const invalid = (message: string) => new ApiError(400, "invalid_body", message);

type Body = Record<string, unknown>;

/** The verified bytes as a JSON object. */
export function readJsonObject(bytes: Uint8Array): Body {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw invalid("the body must be UTF-8 JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalid("the body must be a JSON object");
  }
  return raw as Body;
}

function onlyFields(body: Body, allowed: string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw invalid(
        `unknown field "${key}": this call takes ${allowed.map((k) => `"${k}"`).join(", ")}`,
      );
    }
  }
}

const nameRule = (kind: PlaceKind) => `"${kind}" must be 1-99 characters of A-Z a-z 0-9 _ . -`;

function placeName(body: Body, kind: PlaceKind): string {
  const name = body[kind];
  if (typeof name !== "string" || !isRoomName(name)) throw invalid(nameRule(kind));
  return name;
}

const isPositiveInt = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v > 0;

function optionalLimit(body: Body, max: number): number {
  if (body.limit === undefined) return max;
  if (!isPositiveInt(body.limit) || body.limit > max) {
    throw invalid(`"limit" must be an integer from 1 to ${max}`);
  }
  return body.limit;
}

/** `info`: `{"rooms": [names]}` (or `"desks"`), 1 to MAX_INFO_PLACES of them; repeats count once. */
export function parseInfoBody(raw: Body, kind: PlaceKind): { names: string[] } {
  const key = `${kind}s`;
  onlyFields(raw, [key]);
  const list = raw[key];
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_INFO_PLACES) {
    throw invalid(`"${key}" must be an array of 1-${MAX_INFO_PLACES} ${kind} names`);
  }
  for (const [i, name] of list.entries()) {
    if (typeof name !== "string" || !isRoomName(name)) {
      throw invalid(`"${key}"[${i}]: names are 1-99 characters of A-Z a-z 0-9 _ . -`);
    }
  }
  return { names: [...new Set(list as string[])] };
}

/** `list`: `{"prefix": "support-"}`, or `{}` for every occupied place. */
export function parseListBody(raw: Body): { prefix: string } {
  onlyFields(raw, ["prefix"]);
  const prefix = raw.prefix ?? "";
  if (typeof prefix !== "string" || (prefix !== "" && !isRoomName(prefix))) {
    throw invalid('"prefix" must be up to 99 characters of A-Z a-z 0-9 _ . -');
  }
  return { prefix };
}

/** `members`: `{"room", "after"?: <the last id of the previous page>, "limit"?}`. */
export function parseMembersBody(
  raw: Body,
  kind: PlaceKind,
): { name: string; after: string | null; limit: number } {
  onlyFields(raw, [kind, "after", "limit"]);
  const after = raw.after ?? null;
  if (after !== null && (typeof after !== "string" || !isMemberId(after))) {
    throw invalid('"after" must be the "next" of the previous page (a member id), or null');
  }
  return { name: placeName(raw, kind), after, limit: optionalLimit(raw, MAX_MEMBERS_PAGE) };
}

/** `history`: `{"room", "before"?: <seq>, "limit"?}`. */
export function parseHistoryBody(
  raw: Body,
  kind: PlaceKind,
): { name: string; before: number | null; limit: number } {
  onlyFields(raw, [kind, "before", "limit"]);
  const before = raw.before ?? null;
  if (before !== null && !isPositiveInt(before)) {
    throw invalid('"before" must be a positive integer seq, or null');
  }
  return { name: placeName(raw, kind), before, limit: optionalLimit(raw, MAX_API_HISTORY_PAGE) };
}

/** `kick`: `{"room", "user", "reason"?, "ban_sec"?}`. */
export function parseKickBody(raw: Body, kind: PlaceKind): { name: string; order: KickOrder } {
  onlyFields(raw, [kind, "user", "reason", "ban_sec"]);
  const name = placeName(raw, kind);
  if (typeof raw.user !== "string" || !isMemberId(raw.user)) {
    throw invalid('"user" must be a user id: 1-64 characters of A-Z a-z 0-9 _ . : @ -');
  }
  const reason = raw.reason ?? "";
  if (typeof reason !== "string" || [...reason].length > MAX_REASON_CHARS) {
    throw invalid(`"reason" must be a string of at most ${MAX_REASON_CHARS} characters`);
  }
  const banSec = raw.ban_sec ?? null;
  if (banSec !== null && (!isPositiveInt(banSec) || banSec > MAX_BAN_SEC)) {
    throw invalid(`"ban_sec" must be an integer from 1 to ${MAX_BAN_SEC} (ten years), or null`);
  }
  return { name, order: { user: raw.user, reason: reason.trim(), banSec } };
}
