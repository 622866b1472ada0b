/**
 * Events out: what rooms and desks tell your backend (when HOOK_URL is set), their shapes, and
 * the settings that decide which places send them. Delivered through a Cloudflare Queue, signed
 * with HOOK_SECRET, at least once: every event has an `id` that stays the same on every retry,
 * so a backend drops repeats by it.
 */
import type { Member } from "./frames.ts";
import { readPositive } from "./limits.ts";

export type HookEvent =
  | { id: string; type: "room.occupied" | "room.vacated"; room: string; ts: number }
  | {
      id: string;
      type: "member.joined" | "member.left";
      room: string;
      member: Member;
      count: number;
      ts: number;
    }
  | { id: string; type: "message.created"; room: string; frame: unknown; ts: number }
  | {
      id: string;
      type: "conversation.opened" | "conversation.assigned" | "conversation.closed";
      desk: string;
      customer: Member;
      agent: Member | null;
      ts: number;
    };

/** One POST to the backend: up to MAX_EVENTS_PER_DELIVERY events under one `webhook-id`. */
export interface HookDelivery {
  id: string;
  events: HookEvent[];
}

/** The most events one delivery carries (the backend's body stays small). */
export const MAX_EVENTS_PER_DELIVERY = 100;

/** The publish hook of one room, or null where it is off (no URL, or the room does not match). */
export interface PublishHook {
  url: string;
  /** Missing: every hooked message is refused `hook_unavailable` (never stored unchecked). */
  secret: string | undefined;
  timeoutMs: number;
}

export function readPublishHook(
  env: HookVars & {
    PUBLISH_HOOK_URL?: unknown;
    PUBLISH_HOOK_ROOMS?: unknown;
    HOOK_SECRET?: string;
  },
  room: string,
): PublishHook | null {
  const url = text(env.PUBLISH_HOOK_URL, "");
  if (url === "" || !matchesPattern(text(env.PUBLISH_HOOK_ROOMS, ""), room)) return null;
  return { url, secret: env.HOOK_SECRET, timeoutMs: readHookSettings(env).timeoutMs };
}

export interface HookSettings {
  /** HOOK_URL: where events go; empty sends none, and then nothing is written for them. */
  url: string;
  /** HOOK_ROOMS: the places (rooms and desks) whose events go out. */
  places: string;
  /** HOOK_MESSAGES: the rooms whose stored messages go out as message.created. */
  messages: string;
  /** LEAVE_GRACE_SEC, in ms: a member who comes back within it neither left nor joined. */
  leaveGraceMs: number;
  /** HOOK_ATTEMPTS: deliveries tried this often, then dead-lettered. */
  attempts: number;
  /** HOOK_TIMEOUT_MS: how long one delivery (or a hook call) may take. */
  timeoutMs: number;
}

type HookVars = Partial<
  Record<
    | "HOOK_URL"
    | "HOOK_ROOMS"
    | "HOOK_MESSAGES"
    | "LEAVE_GRACE_SEC"
    | "HOOK_ATTEMPTS"
    | "HOOK_TIMEOUT_MS",
    unknown
  >
>;

const text = (v: unknown, fallback: string) => (typeof v === "string" ? v.trim() : fallback);

export function readHookSettings(env: HookVars): HookSettings {
  return {
    url: text(env.HOOK_URL, ""),
    places: text(env.HOOK_ROOMS, "*"),
    messages: text(env.HOOK_MESSAGES, ""),
    leaveGraceMs: readPositive(env.LEAVE_GRACE_SEC, "LEAVE_GRACE_SEC", 5, false) * 1000,
    attempts: readPositive(env.HOOK_ATTEMPTS, "HOOK_ATTEMPTS", 5, true),
    timeoutMs: readPositive(env.HOOK_TIMEOUT_MS, "HOOK_TIMEOUT_MS", 3000, true),
  };
}

/**
 * Whether `name` matches a comma-separated list of patterns, where `*` matches any run of
 * characters (`support-*,orders`). An empty list matches nothing; names are compared whole.
 */
export function matchesPattern(patterns: string, name: string): boolean {
  return patterns
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .some((p) => {
      const re = new RegExp(`^${p.split("*").map(escapeRegExp).join(".*")}$`);
      return re.test(name);
    });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
