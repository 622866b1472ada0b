// @ts-check
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

/** @typedef {{ id: string, name: string }} Member */
/**
 * @typedef {Member & { token?: string }} Self who the room says we are. `token`: guests only, a
 *   fresh guest token on every welcome (valid 30 days from that welcome); joining again with it
 *   is being the same guest, anywhere guests are admitted
 */
/** @typedef {{ id: string, name: string, online: boolean }} DeskCustomer a desk agent's conversation */
/**
 * @typedef {{ type: "welcome", room: string, self: Self, members: Member[], seq: number,
 *   replay: { from: number, count: number, complete: boolean },
 *   customers?: DeskCustomer[], agents_online?: number }} WelcomeFrame `customers`: desk agents
 *   only; `agents_online`: desk customers only, the agents online as it joined
 * @typedef {{ type: "message", seq: number, id?: string, from: Member, data: unknown,
 *   ts: number, to?: string | null, customer?: string }} MessageFrame `to` and `customer`: desk
 *   only (`to` is null while the customer is queued)
 * @typedef {{ type: "direct", seq: number, id?: string, from: Member, to: string, data: unknown,
 *   ts: number }} DirectFrame
 * @typedef {{ type: "event", seq?: number, id: string, event: string, data: unknown,
 *   to: string | null, ts: number }} EventFrame
 * @typedef {{ type: "presence", action: "join" | "leave", member: Member, count: number }} PresenceFrame
 * @typedef {{ type: "ack", id: string, seq: number }} AckFrame
 * @typedef {{ type: "error", code: string, message: string, id?: string }} ErrorFrame `code`:
 *   `rate_limited`, `too_large`, ...; at a desk also `desk_full`, a first message refused because
 *   the desk holds all the open conversations it may (nothing was stored: send it again later)
 * @typedef {{ type: "history", id?: string, customer?: string, messages: StoredFrame[],
 *   complete: boolean }} HistoryFrame `customer`: a desk conversation handed to an agent
 * @typedef {{ type: "queued", position: number }} QueuedFrame desk: 1 = next in line
 * @typedef {Member & { online: boolean }} DeskParty a desk party and whether it is online now
 * @typedef {{ type: "assigned", customer: DeskParty, agent: DeskParty }} AssignedFrame desk
 * @typedef {{ type: "closed", customer: Member, agent: Member | null }} ClosedFrame desk: the
 *   conversation ended, closed by its agent or quiet for the desk's idle time (not to be
 *   confused with the connection closing); `agent` is null when it closed still queued
 * @typedef {MessageFrame | DirectFrame | EventFrame} StoredFrame
 * @typedef {WelcomeFrame | StoredFrame | PresenceFrame | AckFrame | ErrorFrame | HistoryFrame
 *   | QueuedFrame | AssignedFrame | ClosedFrame} ServerFrame
 */
/**
 * Client frames that carry an `id` and so are acknowledged (and safe to re-send). A message
 * with `to` is a desk agent's, to one of its customers.
 * @typedef {{ type: "message", data: unknown, id: string, to?: string }
 *   | { type: "direct", to: string, data: unknown, id: string }} SentFrame
 */

/**
 * A user id a backend may put in a token's `sub` (docs/protocol.md, "Names and limits"): 1-64 of
 * these characters, and not `guest-…`, which only the server hands out, to guests.
 */
export const USER_ID = /^(?!guest-)[A-Za-z0-9_.:@-]{1,64}$/;

/** Control characters, and the bidirectional overrides and isolates that could make a name
 * display as something else: the room refuses names with any of them (400 invalid_name). */
const NAME_REFUSED = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

/**
 * A display name as the room will take it (docs/protocol.md, "Names and limits"): trimmed, 1-64
 * characters, none of them refused. Null when the room would refuse it, so a page can say so
 * before joining.
 * @param {string} raw
 * @returns {string | null}
 */
export function cleanDisplayName(raw) {
  const name = raw.trim();
  const length = [...name].length;
  return length >= 1 && length <= 64 && !NAME_REFUSED.test(name) ? name : null;
}

/** Rooms that admit no guests (docs/protocol.md): a backend's token is needed. */
export const PRIVATE_ROOM_PREFIX = "private-";
/** Personal rooms, `user-<id>`: only the user `<id>` may join, with a backend's token. */
export const PERSONAL_ROOM_PREFIX = "user-";

/**
 * Whether a room lets guests in: every room but the private and the personal ones. A page uses
 * it to not offer a guest token where it can only be refused.
 * @param {string} room
 */
export const roomAdmitsGuests = (room) =>
  !room.startsWith(PRIVATE_ROOM_PREFIX) && !room.startsWith(PERSONAL_ROOM_PREFIX);

/** Close codes of docs/protocol.md, "Close codes". */
export const CLOSE_NORMAL = 1000;
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
/** A user's socket beyond the room's per-user cap: the room closes that user's oldest one. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;

/** The room's default `MAX_FRAME_BYTES`: a larger client frame closes the socket (1009). */
export const MAX_FRAME_BYTES = 65_536;

/**
 * How many frames a join without `since` is replayed at most: the room's newest ones
 * (docs/protocol.md, "Welcome and replay"). The byte budget may make it fewer.
 */
export const REPLAY_ON_JOIN = 50;
/** The largest `limit` a `history` request may ask for; a larger one is refused. */
export const MAX_HISTORY_PAGE = 100;

const encoder = new TextEncoder();
/** A frame's size as the room counts it. @param {string} text */
export const utf8Bytes = (text) => encoder.encode(text).byteLength;

/** @param {unknown} v @returns {v is Record<string, unknown>} */
export const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
/** @param {unknown} v @returns {v is Member} */
const isMember = (v) => isObject(v) && typeof v.id === "string" && typeof v.name === "string";
/** @param {unknown} v @returns {v is DeskCustomer} */
const isDeskCustomer = (v) =>
  isMember(v) && typeof (/** @type {{ online?: unknown }} */ (v).online) === "boolean";
/** @param {unknown} v @returns {v is number} */
const isSeq = (v) => Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0;
/** A count (of agents, say): the same rule as a seq. */
const isCount = isSeq;
/** @param {unknown} v */
const isOptionalString = (v) => v === undefined || typeof v === "string";

/**
 * Reads one server frame (one line of a batched message), checking the fields the client relies
 * on (parse, don't cast). Unknown or malformed frames are `null` and ignored, so a newer server
 * with new frame types does not break an older client.
 * @param {string} line
 * @returns {ServerFrame | null}
 */
export function parseServerFrame(line) {
  /** @type {unknown} */
  let raw;
  try {
    raw = JSON.parse(line);
  } catch {
    return null; // not JSON: ignored like any frame this client does not understand
  }
  return readFrame(raw);
}

/**
 * @param {unknown} raw a parsed JSON value
 * @returns {ServerFrame | null}
 */
function readFrame(raw) {
  if (!isObject(raw)) return null;
  const f = raw;
  switch (f.type) {
    case "welcome":
      return typeof f.room === "string" &&
        isMember(f.self) &&
        isOptionalString(/** @type {{ token?: unknown }} */ (f.self).token) &&
        Array.isArray(f.members) &&
        f.members.every(isMember) &&
        isSeq(f.seq) &&
        isObject(f.replay) &&
        isSeq(f.replay.from) &&
        isSeq(f.replay.count) &&
        typeof f.replay.complete === "boolean" &&
        (f.customers === undefined ||
          (Array.isArray(f.customers) && f.customers.every(isDeskCustomer))) &&
        (f.agents_online === undefined || isCount(f.agents_online))
        ? /** @type {WelcomeFrame} */ (f)
        : null;
    case "message":
      return isSeq(f.seq) &&
        isMember(f.from) &&
        "data" in f &&
        (f.to === undefined || f.to === null || typeof f.to === "string") &&
        isOptionalString(f.customer)
        ? /** @type {MessageFrame} */ (f)
        : null;
    case "direct":
      return isSeq(f.seq) && isMember(f.from) && typeof f.to === "string" && "data" in f
        ? /** @type {DirectFrame} */ (f)
        : null;
    case "event":
      return (f.seq === undefined || isSeq(f.seq)) && typeof f.event === "string"
        ? /** @type {EventFrame} */ (f)
        : null;
    case "presence":
      return (f.action === "join" || f.action === "leave") && isMember(f.member)
        ? /** @type {PresenceFrame} */ (f)
        : null;
    case "ack":
      return typeof f.id === "string" && isSeq(f.seq) ? /** @type {AckFrame} */ (f) : null;
    case "error":
      return typeof f.code === "string" && typeof f.message === "string"
        ? /** @type {ErrorFrame} */ (f)
        : null;
    case "history":
      return Array.isArray(f.messages) &&
        typeof f.complete === "boolean" &&
        isOptionalString(f.customer)
        ? /** @type {HistoryFrame} */ ({
            ...f,
            messages: f.messages.map(readFrame).filter(isStored),
          })
        : null;
    case "queued":
      return Number.isSafeInteger(f.position) && /** @type {number} */ (f.position) >= 1
        ? /** @type {QueuedFrame} */ (f)
        : null;
    case "assigned":
      return isMember(f.customer) && isMember(f.agent) ? /** @type {AssignedFrame} */ (f) : null;
    case "closed":
      // A conversation that idled out in the queue never had an agent.
      return isMember(f.customer) && (f.agent === null || isMember(f.agent))
        ? /** @type {ClosedFrame} */ (f)
        : null;
    default:
      return null;
  }
}

/** @param {ServerFrame | null} f @returns {f is StoredFrame} */
const isStored = (f) =>
  (f?.type === "message" || f?.type === "direct" || f?.type === "event") && f.seq !== undefined;
