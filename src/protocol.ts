/**
 * The wire protocol in types: names and their rules, limits read from the environment, close
 * codes, the frames the server sends (a `type`-tagged union) and the one parser every inbound
 * client frame goes through. Nothing here touches sockets or storage, so it is tested on its own
 * and shared by the Worker and every Durable Object. docs/protocol.md is the prose version.
 */

// ---- names (PROTOCOL section 1) ----

/** Django Channels' group-name rule, so rooms migrated from Channels keep their names. */
export const ROOM_NAME = /^[A-Za-z0-9_.-]{1,99}$/;
export const USER_ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
const CONTROL_CHARS = /\p{Cc}/u;
const MAX_NAME_CHARS = 64;
const MAX_CLIENT_ID_CHARS = 64;

export const isRoomName = (s: string): boolean => ROOM_NAME.test(s);
export const isUserId = (s: string): boolean => USER_ID.test(s);

/** Trims and checks a display name; `null` when it breaks the rule (1–64 chars, no controls). */
export function cleanDisplayName(raw: string): string | null {
  const name = raw.trim();
  const chars = [...name].length; // code points, so an emoji counts once
  if (chars < 1 || chars > MAX_NAME_CHARS || CONTROL_CHARS.test(name)) return null;
  return name;
}

// ---- limits (wrangler.toml [vars]) ----

export interface Limits {
  maxFrameBytes: number;
  maxPushBytes: number;
  ratePerSec: number;
  rateBurst: number;
  historyLimit: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameBytes: 65536,
  maxPushBytes: 1048576,
  ratePerSec: 20,
  rateBurst: 40,
  historyLimit: 1000,
};

/** Frames replayed on join when the client gives no `since`. */
export const DEFAULT_REPLAY = 50;
/** Largest page a `history` request may ask for, and the page size when it gives none. */
export const MAX_HISTORY_PAGE = 100;
export const DEFAULT_HISTORY_PAGE = 50;

type LimitVars = Partial<
  Record<
    "MAX_FRAME_BYTES" | "MAX_PUSH_BYTES" | "RATE_PER_SEC" | "RATE_BURST" | "HISTORY_LIMIT",
    unknown
  >
>;

function positive(value: unknown, name: string, fallback: number, integer: boolean): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  // A typo in a deployed limit must be loud, not silently "unlimited" or zero.
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(
      `${name} must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`,
    );
  }
  return n;
}

export function readLimits(env: LimitVars): Limits {
  const d = DEFAULT_LIMITS;
  return {
    maxFrameBytes: positive(env.MAX_FRAME_BYTES, "MAX_FRAME_BYTES", d.maxFrameBytes, true),
    maxPushBytes: positive(env.MAX_PUSH_BYTES, "MAX_PUSH_BYTES", d.maxPushBytes, true),
    ratePerSec: positive(env.RATE_PER_SEC, "RATE_PER_SEC", d.ratePerSec, false),
    rateBurst: positive(env.RATE_BURST, "RATE_BURST", d.rateBurst, true),
    historyLimit: positive(env.HISTORY_LIMIT, "HISTORY_LIMIT", d.historyLimit, true),
  };
}

// ---- close codes ----

export const CLOSE_NORMAL = 1000;
export const CLOSE_POLICY = 1008; // sustained rate-limit abuse
export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;

/**
 * Codes a peer may report but nobody may send (RFC 6455 7.4.1; 1004 is reserved too, and
 * workerd's close() throws for all four): the close is answered with 1000 instead.
 */
const RESERVED_CLOSE_CODES = new Set([1004, 1005, 1006, 1015]);
export const answerableCloseCode = (code: number): number =>
  RESERVED_CLOSE_CODES.has(code) || code < 1000 || code > 4999 ? CLOSE_NORMAL : code;

// ---- server frames ----

export interface Member {
  id: string;
  name: string;
}

export interface ReplayInfo {
  from: number;
  count: number;
  complete: boolean;
}

export interface WelcomeFrame {
  type: "welcome";
  room: string;
  self: Member;
  members: Member[];
  seq: number;
  replay: ReplayInfo;
}
export interface MessageFrame {
  type: "message";
  seq: number;
  id?: string;
  from: Member;
  data: unknown;
  ts: number;
}
export interface DirectFrame {
  type: "direct";
  seq: number;
  id?: string;
  from: Member;
  to: string;
  data: unknown;
  ts: number;
}
export interface EventFrame {
  type: "event";
  /** Absent on live-only (`store: false`) events: they are not part of the room's order. */
  seq?: number;
  id: string;
  event: string;
  data: unknown;
  to: string | null;
  ts: number;
}
export interface PresenceFrame {
  type: "presence";
  action: "join" | "leave";
  member: Member;
  count: number;
}
export interface AckFrame {
  type: "ack";
  id: string;
  seq: number;
}
export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  message: string;
  id?: string;
}
export interface HistoryFrame {
  type: "history";
  id?: string;
  messages: StoredFrame[];
  /** True when nothing older can be fetched: the page reaches the oldest retained frame. */
  complete: boolean;
}

export type StoredFrame = MessageFrame | DirectFrame | EventFrame;
export type ServerFrame =
  WelcomeFrame | StoredFrame | PresenceFrame | AckFrame | ErrorFrame | HistoryFrame;

export type ErrorCode =
  | "bad_json"
  | "unknown_type"
  | "invalid_frame"
  | "unsupported_binary"
  | "too_large"
  | "rate_limited"
  | "unauthorized"
  | "forbidden"
  | "internal";

export const errorFrame = (code: ErrorCode, message: string, id?: string): ErrorFrame =>
  id === undefined
    ? ({ type: "error", code, message } satisfies ErrorFrame)
    : ({ type: "error", code, message, id } satisfies ErrorFrame);

// ---- client frames ----

export type ClientFrame =
  | { type: "message"; data: unknown; id?: string }
  | { type: "direct"; to: string; data: unknown; id?: string }
  | { type: "history"; before?: number; limit: number; id?: string };

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; error: ErrorFrame };

const fail = (code: ErrorCode, message: string, id?: string): ParseResult => ({
  ok: false,
  error: errorFrame(code, message, id),
});

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * Parses one client text frame. The size and binary checks come before this (they decide
 * whether the socket survives); everything here answers with an error frame and keeps it open.
 */
export function parseClientFrame(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("bad_json", "frame is not valid JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return fail("invalid_frame", 'frame must be a JSON object with a "type"');
  }
  const obj = raw as Record<string, unknown>;
  // Echo the id whenever it is readable, so the client can match the error to its send.
  const readableId = typeof obj.id === "string" && obj.id.length <= 256 ? obj.id : undefined;
  if (typeof obj.type !== "string")
    return fail("invalid_frame", '"type" must be a string', readableId);

  let id: string | undefined;
  if (obj.id !== undefined) {
    if (typeof obj.id !== "string" || obj.id.length < 1 || obj.id.length > MAX_CLIENT_ID_CHARS) {
      return fail(
        "invalid_frame",
        `"id" must be a string of 1-${MAX_CLIENT_ID_CHARS} characters`,
        readableId,
      );
    }
    id = obj.id;
  }
  const withId = <T extends object>(frame: T): T & { id?: string } =>
    id === undefined ? frame : { ...frame, id };

  switch (obj.type) {
    case "message":
      if (!("data" in obj)) return fail("invalid_frame", '"message" needs "data"', id);
      return { ok: true, frame: withId({ type: "message" as const, data: obj.data }) };
    case "direct":
      if (typeof obj.to !== "string" || !isUserId(obj.to)) {
        return fail("invalid_frame", '"direct" needs "to": a valid user id', id);
      }
      if (!("data" in obj)) return fail("invalid_frame", '"direct" needs "data"', id);
      return { ok: true, frame: withId({ type: "direct" as const, to: obj.to, data: obj.data }) };
    case "history": {
      if (obj.before !== undefined && !isPositiveInt(obj.before)) {
        return fail("invalid_frame", '"before" must be a positive integer seq', id);
      }
      if (obj.limit !== undefined && !(isPositiveInt(obj.limit) && obj.limit <= MAX_HISTORY_PAGE)) {
        return fail(
          "invalid_frame",
          `"limit" must be an integer from 1 to ${MAX_HISTORY_PAGE}`,
          id,
        );
      }
      const frame: ClientFrame = {
        type: "history",
        limit: (obj.limit as number | undefined) ?? DEFAULT_HISTORY_PAGE,
        ...(obj.before === undefined ? {} : { before: obj.before as number }),
      };
      return { ok: true, frame: withId(frame) };
    }
    default:
      return fail("unknown_type", `unknown frame type "${obj.type.slice(0, 32)}"`, id);
  }
}

/**
 * The `id` of a frame that is refused before parsing (rate limited), so the client can still
 * match the error to its send. Undefined when there is none to read.
 */
export function peekId(message: string | ArrayBuffer): string | undefined {
  if (typeof message !== "string") return undefined;
  try {
    const raw: unknown = JSON.parse(message);
    const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
    return typeof id === "string" && id.length >= 1 && id.length <= MAX_CLIENT_ID_CHARS
      ? id
      : undefined;
  } catch {
    return undefined; // not JSON: nothing to echo
  }
}

const encoder = new TextEncoder();

/**
 * Whether a string's UTF-8 form is longer than `max` bytes, encoding it only when its length
 * cannot decide: every UTF-16 unit becomes at least 1 and at most 3 UTF-8 bytes.
 */
export function exceedsBytes(text: string, max: number): boolean {
  if (text.length * 3 <= max) return false;
  if (text.length > max) return true;
  return encoder.encode(text).byteLength > max;
}
