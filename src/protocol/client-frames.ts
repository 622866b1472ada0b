/**
 * Client frames: the one parser every inbound text frame goes through (parse, don't cast: no
 * frame is trusted before it passes here). It returns a typed frame or the `error` frame to answer with; the caller says which
 * frame types its object accepts, so a room and a desk share one parser.
 */
import { errorFrame, type ErrorFrame } from "./frames.ts";
import type { ErrorCode } from "./codes.ts";
import { MAX_CLIENT_ID_CHARS, isMemberId } from "./names.ts";

/** Largest page a `history` request may ask for, and the page size when it gives none. */
export const MAX_HISTORY_PAGE = 100;
export const DEFAULT_HISTORY_PAGE = 50;

export type ClientFrame =
  /** `to` is for desk agents, who write to one of their customers; a room refuses it. */
  | { type: "message"; data: unknown; to?: string; id?: string }
  | { type: "direct"; to: string; data: unknown; id?: string }
  | { type: "history"; before?: number; limit: number; id?: string }
  | { type: "transfer"; customer: string; to: string; id?: string }
  | { type: "close"; customer: string; id?: string };

export type ClientFrameType = ClientFrame["type"];
const ALL_CLIENT_FRAMES: ReadonlySet<ClientFrameType> = new Set([
  "message",
  "direct",
  "history",
  "transfer",
  "close",
]);

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
export function parseClientFrame(
  text: string,
  accepted: ReadonlySet<ClientFrameType> = ALL_CLIENT_FRAMES,
): ParseResult {
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

  if (!accepted.has(obj.type as ClientFrameType)) {
    return fail("unknown_type", `unknown frame type "${obj.type.slice(0, 32)}"`, id);
  }
  const userField = (name: string): string | null => {
    const v = obj[name];
    return typeof v === "string" && isMemberId(v) ? v : null;
  };
  switch (obj.type) {
    case "message": {
      if (!("data" in obj)) return fail("invalid_frame", '"message" needs "data"', id);
      if (obj.to === undefined)
        return { ok: true, frame: withId({ type: "message" as const, data: obj.data }) };
      const to = userField("to");
      if (to === null) return fail("invalid_frame", '"to" must be a valid user id', id);
      return { ok: true, frame: withId({ type: "message" as const, data: obj.data, to }) };
    }
    case "direct":
      if (typeof obj.to !== "string" || !isMemberId(obj.to)) {
        return fail("invalid_frame", '"direct" needs "to": a valid user id', id);
      }
      if (!("data" in obj)) return fail("invalid_frame", '"direct" needs "data"', id);
      return { ok: true, frame: withId({ type: "direct" as const, to: obj.to, data: obj.data }) };
    case "history": {
      if (obj.before !== undefined && !isPositiveInt(obj.before)) {
        return fail("invalid_frame", '"before" must be a positive integer seq', id);
      }
      if (obj.limit !== undefined && !isPositiveInt(obj.limit)) {
        return fail("invalid_frame", '"limit" must be a positive integer', id);
      }
      const frame: ClientFrame = {
        type: "history",
        // A page larger than the server serves is read as the largest it serves: the answer's
        // `complete` tells the client whether to ask again.
        limit: Math.min(
          MAX_HISTORY_PAGE,
          (obj.limit as number | undefined) ?? DEFAULT_HISTORY_PAGE,
        ),
        ...(obj.before === undefined ? {} : { before: obj.before as number }),
      };
      return { ok: true, frame: withId(frame) };
    }
    case "transfer": {
      const customer = userField("customer");
      const to = userField("to");
      if (customer === null || to === null) {
        return fail("invalid_frame", '"transfer" needs "customer" and "to": valid user ids', id);
      }
      return { ok: true, frame: withId({ type: "transfer" as const, customer, to }) };
    }
    case "close": {
      const customer = userField("customer");
      if (customer === null)
        return fail("invalid_frame", '"close" needs "customer": a valid user id', id);
      return { ok: true, frame: withId({ type: "close" as const, customer }) };
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
