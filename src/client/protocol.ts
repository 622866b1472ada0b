/**
 * The protocol as the client hands it to pages: src/protocol's names, codes and frame types,
 * re-exported rather than restated, and the few values a page needs that the protocol states
 * in another form (a limit's default, a rule as a RegExp). One import for users: everything
 * here comes with the client.
 */
import {
  MEMBER_ID,
  GUEST_PREFIX,
  PERSONAL_ROOM_PREFIX,
  PRIVATE_ROOM_PREFIX,
} from "../protocol/names.ts";
import { DEFAULT_LIMITS, DEFAULT_REPLAY } from "../protocol/limits.ts";

export type * from "../protocol/frames.ts";
export type { ClientFrame } from "../protocol/client-frames.ts";
export { MAX_HISTORY_PAGE } from "../protocol/client-frames.ts";
export {
  CLOSE_FORBIDDEN,
  CLOSE_NORMAL,
  CLOSE_POLICY,
  CLOSE_TOO_LARGE,
  CLOSE_TOO_MANY_CONNECTIONS,
  CLOSE_UNAUTHORIZED,
  NO_RECONNECT_CLOSE_CODES,
  type ErrorCode,
} from "../protocol/codes.ts";
export {
  GUEST_PREFIX,
  MEMBER_ID,
  PERSONAL_ROOM_PREFIX,
  PRIVATE_ROOM_PREFIX,
  ROOM_NAME,
  cleanDisplayName,
  isMemberId,
  isRoomName,
  isUserId,
} from "../protocol/names.ts";

/**
 * A user id a backend may put in a token's `sub`, as a pattern (for an input's check): a member
 * id that does not start with `guest-`, which only the server hands out, to guests.
 */
export const USER_ID = new RegExp(`^(?!${GUEST_PREFIX})${MEMBER_ID.source.slice(1)}`);

/**
 * Whether a room lets guests in: every room but the private and the personal ones. A page uses
 * it to not offer a guest token where it can only be refused.
 */
export const roomAdmitsGuests = (room: string): boolean =>
  !room.startsWith(PRIVATE_ROOM_PREFIX) && !room.startsWith(PERSONAL_ROOM_PREFIX);

/** The room's default `MAX_FRAME_BYTES`: a larger client frame closes the socket (1009). */
export const MAX_FRAME_BYTES = DEFAULT_LIMITS.maxFrameBytes;

/**
 * How many frames a join without `since` is replayed at most: the room's newest ones. The byte
 * budget may make it fewer.
 */
export const REPLAY_ON_JOIN = DEFAULT_REPLAY;

const encoder = new TextEncoder();
/** A frame's size as the room counts it. */
export const utf8Bytes = (text: string): number => encoder.encode(text).byteLength;
