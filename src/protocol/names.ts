/**
 * Names and their rules: rooms and desks, member ids (a backend's user ids and the server's guest
 * ids), display names. The Worker checks them before a join, the objects before storing, the
 * browser client before sending, so a bad name is refused the same way everywhere.
 */

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

/** A pushed event's name, however it was pushed (POST /push, Pusher's HTTP API, jobs). */
export const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

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
