/**
 * The frames the server sends, a `type`-tagged union. Outgoing frames are built with
 * `satisfies` against these types, so the wire format and this file cannot drift; the browser
 * client reads the same types.
 */
import type { ErrorCode } from "./codes.ts";

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
  /** Every member; null in a room above PRESENCE_MAX members, which announces only counts. */
  members: Member[] | null;
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
/** A member's first socket joined or its last left (rooms of at most PRESENCE_MAX members). */
export interface PresenceChangeFrame {
  type: "presence";
  action: "join" | "leave";
  member: Member;
  count: number;
}
/**
 * Above PRESENCE_MAX members a room announces only its count, at most once per
 * PRESENCE_COUNT_MS. The frame that comes when the room is back at PRESENCE_MAX or below carries
 * `members`, the whole list, and per-member `join`/`leave` follow from then on.
 */
export interface PresenceCountFrame {
  type: "presence";
  action: "count";
  count: number;
  members?: Member[];
}
export type PresenceFrame = PresenceChangeFrame | PresenceCountFrame;
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

// ---- help-desk frames ----

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
  /** `agent`: its agent closed it; `idle`: no frame for DESK_IDLE_SEC. */
  reason: "agent" | "idle";
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

export const errorFrame = (code: ErrorCode, message: string, id?: string): ErrorFrame =>
  id === undefined
    ? ({ type: "error", code, message } satisfies ErrorFrame)
    : ({ type: "error", code, message, id } satisfies ErrorFrame);
