// Generated from the JSDoc of rooms-protocol.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
/**
 * The rooms wire protocol as the client sees it (docs/protocol.md): the frames a room sends and
 * the ones a client writes, the close codes, and the one parser every inbound line goes through.
 * No sockets and no timers here, so it reads like the protocol document and is shared by the
 * client and anyone who wants to decode frames themselves. A help desk (`/desk/<desk>`, docs
 * "The help desk") speaks the same frames plus `queued`, `assigned` and `closed`, and its
 * messages name their conversation (`customer`) and its other party (`to`). A customer's
 * `welcome` says how many agents are online (`agents_online`): its conversation opens only with
 * its first message.
 */
export type Member = {
  id: string;
  name: string;
};
export type Self = Member & {
  token?: string;
};
export type DeskCustomer = {
  id: string;
  name: string;
  online: boolean;
};
export type WelcomeFrame = {
  type: "welcome";
  room: string;
  self: Self;
  members: Member[];
  seq: number;
  replay: {
    from: number;
    count: number;
    complete: boolean;
  };
  customers?: DeskCustomer[];
  agents_online?: number;
};
export type MessageFrame = {
  type: "message";
  seq: number;
  id?: string;
  from: Member;
  data: unknown;
  ts: number;
  to?: string | null;
  customer?: string;
};
export type DirectFrame = {
  type: "direct";
  seq: number;
  id?: string;
  from: Member;
  to: string;
  data: unknown;
  ts: number;
};
export type EventFrame = {
  type: "event";
  seq?: number;
  id: string;
  event: string;
  data: unknown;
  to: string | null;
  ts: number;
};
export type PresenceFrame = {
  type: "presence";
  action: "join" | "leave";
  member: Member;
  count: number;
};
export type AckFrame = {
  type: "ack";
  id: string;
  seq: number;
};
export type ErrorFrame = {
  type: "error";
  code: string;
  message: string;
  id?: string;
};
export type HistoryFrame = {
  type: "history";
  id?: string;
  customer?: string;
  messages: StoredFrame[];
  complete: boolean;
};
export type QueuedFrame = {
  type: "queued";
  position: number;
};
export type DeskParty = Member & {
  online: boolean;
};
export type AssignedFrame = {
  type: "assigned";
  customer: DeskParty;
  agent: DeskParty;
};
export type ClosedFrame = {
  type: "closed";
  customer: Member;
  agent: Member | null;
};
export type StoredFrame = MessageFrame | DirectFrame | EventFrame;
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
export type SentFrame =
  | {
      type: "message";
      data: unknown;
      id: string;
      to?: string;
    }
  | {
      type: "direct";
      to: string;
      data: unknown;
      id: string;
    };
/**
 * A user id a backend may put in a token's `sub` (docs/protocol.md, "Names and limits"): 1-64 of
 * these characters, and not `guest-…`, which only the server hands out, to guests.
 */
export declare const USER_ID: RegExp;
/**
 * A display name as the room will take it (docs/protocol.md, "Names and limits"): trimmed, 1-64
 * characters, none of them refused. Null when the room would refuse it, so a page can say so
 * before joining.
 * @param {string} raw
 * @returns {string | null}
 */
export declare function cleanDisplayName(raw: string): string | null;
/** Rooms that admit no guests (docs/protocol.md): a backend's token is needed. */
export declare const PRIVATE_ROOM_PREFIX = "private-";
/** Personal rooms, `user-<id>`: only the user `<id>` may join, with a backend's token. */
export declare const PERSONAL_ROOM_PREFIX = "user-";
/**
 * Whether a room lets guests in: every room but the private and the personal ones. A page uses
 * it to not offer a guest token where it can only be refused.
 * @param {string} room
 */
export declare const roomAdmitsGuests: (room: string) => boolean;
/** Close codes of docs/protocol.md, "Close codes". */
export declare const CLOSE_NORMAL = 1000;
export declare const CLOSE_POLICY = 1008;
export declare const CLOSE_TOO_LARGE = 1009;
export declare const CLOSE_UNAUTHORIZED = 4401;
export declare const CLOSE_FORBIDDEN = 4403;
/** A user's socket beyond the room's per-user cap: the room closes that user's oldest one. */
export declare const CLOSE_TOO_MANY_CONNECTIONS = 4429;
/** The room's default `MAX_FRAME_BYTES`: a larger client frame closes the socket (1009). */
export declare const MAX_FRAME_BYTES = 65536;
/**
 * How many frames a join without `since` is replayed at most: the room's newest ones
 * (docs/protocol.md, "Welcome and replay"). The byte budget may make it fewer.
 */
export declare const REPLAY_ON_JOIN = 50;
/** The largest `limit` a `history` request may ask for; a larger one is refused. */
export declare const MAX_HISTORY_PAGE = 100;
/** A frame's size as the room counts it. @param {string} text */
export declare const utf8Bytes: (text: string) => number;
/** @param {unknown} v @returns {v is Record<string, unknown>} */
export declare const isObject: (v: unknown) => v is Record<string, unknown>;
/**
 * Reads one server frame (one line of a batched message), checking the fields the client relies
 * on (parse, don't cast). Unknown or malformed frames are `null` and ignored, so a newer server
 * with new frame types does not break an older client.
 * @param {string} line
 * @returns {ServerFrame | null}
 */
export declare function parseServerFrame(line: string): ServerFrame | null;
