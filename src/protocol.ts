/**
 * The wire protocol in types: names and their rules, limits read from the environment, close
 * codes, the frames the server sends (a `type`-tagged union) and the one parser every inbound
 * client frame goes through. Nothing here touches sockets or storage, so it is tested on its own
 * and shared by the Worker and every Durable Object. docs/protocol.md is the prose version.
 */

// ---- names (PROTOCOL section 1) ----

/** Django Channels' group-name rule, so rooms migrated from Channels keep their names. */
export const ROOM_NAME = /^[A-Za-z0-9_.-]{1,99}$/;
/** Any member's id: a backend's user id or a server-made guest id (both fit this). */
export const MEMBER_ID = /^[A-Za-z0-9_.:@-]{1,64}$/;
/**
 * Ids the server makes for guests. The prefix is reserved: a backend id may not start with it,
 * so no token can name a guest but the guest's own.
 */
export const GUEST_PREFIX = "guest-";
export const GUEST_ID = /^guest-[A-Za-z0-9_-]{10,58}$/;
const CONTROL_CHARS = /\p{Cc}/u;
/**
 * Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069): in a name they can make
 * the text after it read backwards, so "Ann" could pose as someone else in every member list.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;
const MAX_NAME_CHARS = 64;
export const MAX_CLIENT_ID_CHARS = 64;

/** Rooms whose name starts with this admit only members with a backend token or hook identity. */
export const PRIVATE_ROOM_PREFIX = "private-";
/** `user-<id>` is the personal room of user `<id>` (jobs report there): only `<id>` may join. */
export const PERSONAL_ROOM_PREFIX = "user-";

export const isRoomName = (s: string): boolean => ROOM_NAME.test(s);
/** An id a member can have (the addressee of a direct message or a targeted event). */
export const isMemberId = (s: string): boolean => MEMBER_ID.test(s);
export const isGuestId = (s: string): boolean => GUEST_ID.test(s);
/** An id a backend may vouch for: any member id but the guests' reserved prefix. */
export const isUserId = (s: string): boolean => MEMBER_ID.test(s) && !s.startsWith(GUEST_PREFIX);

/** The user whose personal room this is, or null for any other room. */
export const personalRoomOwner = (room: string): string | null =>
  room.startsWith(PERSONAL_ROOM_PREFIX) ? room.slice(PERSONAL_ROOM_PREFIX.length) : null;

/**
 * Trims and checks a display name; `null` when it breaks the rule (1–64 chars, no control
 * characters, no bidirectional overrides or isolates).
 */
export function cleanDisplayName(raw: string): string | null {
  const name = raw.trim();
  const chars = [...name].length; // code points, so an emoji counts once
  if (chars < 1 || chars > MAX_NAME_CHARS || CONTROL_CHARS.test(name)) return null;
  if (BIDI_CONTROLS.test(name)) return null;
  return name;
}

// ---- limits (wrangler.toml [vars]) ----

export interface Limits {
  maxFrameBytes: number;
  maxPushBytes: number;
  ratePerSec: number;
  rateBurst: number;
  historyLimit: number;
  /** How long a desk agent may be gone before its customers go to others. */
  agentGraceSec: number;
  /** Sockets one user may hold in one room or desk; one more closes the oldest (4429). */
  maxSocketsPerUser: number;
  /** Bytes of stored frames one replay or `history` answer may carry. */
  maxReplayBytes: number;
  /** Seconds without a frame after which a desk conversation closes by itself. */
  deskIdleSec: number;
  /** Open conversations one desk may hold; a customer who would open one more gets `desk_full`. */
  deskMaxOpen: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameBytes: 65536,
  maxPushBytes: 1048576,
  ratePerSec: 20,
  rateBurst: 40,
  historyLimit: 1000,
  agentGraceSec: 30,
  maxSocketsPerUser: 10,
  maxReplayBytes: 1048576,
  deskIdleSec: 86400,
  deskMaxOpen: 10000,
};

/** Frames replayed on join when the client gives no `since`. */
export const DEFAULT_REPLAY = 50;

type LimitVars = Partial<
  Record<
    | "MAX_FRAME_BYTES"
    | "MAX_PUSH_BYTES"
    | "RATE_PER_SEC"
    | "RATE_BURST"
    | "HISTORY_LIMIT"
    | "AGENT_GRACE_SEC"
    | "MAX_SOCKETS_PER_USER"
    | "MAX_REPLAY_BYTES"
    | "DESK_IDLE_SEC"
    | "DESK_MAX_OPEN",
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
    agentGraceSec: positive(env.AGENT_GRACE_SEC, "AGENT_GRACE_SEC", d.agentGraceSec, false),
    maxSocketsPerUser: positive(
      env.MAX_SOCKETS_PER_USER,
      "MAX_SOCKETS_PER_USER",
      d.maxSocketsPerUser,
      true,
    ),
    maxReplayBytes: positive(env.MAX_REPLAY_BYTES, "MAX_REPLAY_BYTES", d.maxReplayBytes, true),
    deskIdleSec: positive(env.DESK_IDLE_SEC, "DESK_IDLE_SEC", d.deskIdleSec, false),
    deskMaxOpen: positive(env.DESK_MAX_OPEN, "DESK_MAX_OPEN", d.deskMaxOpen, true),
  };
}

// ---- close codes ----

export const CLOSE_NORMAL = 1000;
export const CLOSE_POLICY = 1008; // sustained rate-limit abuse
export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
/** A user's oldest socket, closed for an eleventh: the client must not reconnect it. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;

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

/** Who a member is, as its own welcome says. */
export interface Self extends Member {
  /**
   * Guests only: a guest token that joins again as this same guest, anywhere guests are
   * admitted. Every guest join hands out a fresh one (30 days), so a guest in use never expires.
   */
  token?: string;
}

export interface WelcomeFrame {
  type: "welcome";
  room: string;
  self: Self;
  members: Member[];
  /** Distinct members: a user with several sockets counts once. */
  count: number;
  seq: number;
  replay: ReplayInfo;
  /** Desk agents only: the open conversations assigned to this agent. */
  customers?: DeskCustomer[];
  /** Desk customers only: agents online now, so a customer knows before writing if anyone is in. */
  agents_online?: number;
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
  /** Desk only: the conversation this page belongs to, when an agent is handed one. */
  customer?: string;
  messages: StoredFrame[];
  /** True when nothing older can be fetched: the page reaches the oldest retained frame. */
  complete: boolean;
}

// ---- help-desk frames (PROTOCOL section 6) ----

/** A desk message: between one customer and the agent who has the conversation. */
export interface DeskMessageFrame {
  type: "message";
  seq: number;
  id?: string;
  from: Member;
  /** The other party: the agent for a customer's message (null while queued), or the customer. */
  to: string | null;
  /** The conversation, named by its customer. */
  customer: string;
  data: unknown;
  ts: number;
}
export interface QueuedFrame {
  type: "queued";
  position: number;
}
export interface AssignedFrame {
  type: "assigned";
  /** `online`: whether that party has a socket open now. */
  customer: DeskParty;
  agent: DeskParty;
}
export interface ClosedFrame {
  type: "closed";
  customer: Member;
  /** Null for a conversation that closed while queued (DESK_IDLE_SEC): it never had an agent. */
  agent: Member | null;
}
export interface DeskParty extends Member {
  online: boolean;
}
/** An agent's conversation in its welcome. */
export type DeskCustomer = DeskParty;

export type StoredFrame = MessageFrame | DirectFrame | EventFrame | DeskMessageFrame;
export type ServerFrame =
  | WelcomeFrame
  | StoredFrame
  | PresenceFrame
  | AckFrame
  | ErrorFrame
  | HistoryFrame
  | QueuedFrame
  | AssignedFrame
  | ClosedFrame;

export type ErrorCode =
  | "bad_json"
  | "unknown_type"
  | "invalid_frame"
  | "unsupported_binary"
  | "too_large"
  | "rate_limited"
  | "unauthorized"
  | "forbidden"
  | "too_many_connections"
  | "desk_full"
  | "internal";

export const errorFrame = (code: ErrorCode, message: string, id?: string): ErrorFrame =>
  id === undefined
    ? ({ type: "error", code, message } satisfies ErrorFrame)
    : ({ type: "error", code, message, id } satisfies ErrorFrame);
