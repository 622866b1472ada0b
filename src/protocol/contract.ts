/**
 * The contract between the Worker and its objects: how a checked join reaches an object (the
 * Worker's side builds the URL, the object's side reads it back), how an object refuses one,
 * and the shape of a push handed to a room over RPC. Both sides import it from here, so the
 * Worker never reaches into an object's internals for a type.
 */

/**
 * A desk's agent or anyone else (a room's member, a desk's customer). Members are keyed by role
 * and id together, so a socket of one role is never counted as, or sent the frames of, the other.
 */
export type Role = "member" | "agent";

/** The Worker's request to the object: identity already checked, passed as query parameters. */
export const CONNECT_PATH = "/connect";

/** What the Worker established about a joining socket. */
export interface Join {
  /** The room or desk name, as the client asked for it. */
  name: string;
  user: string;
  displayName: string;
  role: Role;
  since: number | undefined;
  batch: boolean;
  /**
   * A raw socket (`/room/<room>/` or `?format=raw`): plain text in, only the data of what it may
   * see out, no protocol frames. Absent or false: the JSON protocol.
   */
  raw?: boolean;
  /**
   * Guests only: the token for its welcome (a new guest's, or the one it came with, renewed once
   * it is a day old).
   */
  guestToken?: string;
}

/** A join the object itself turns away, for what only it knows (a desk knows its agents). */
export interface Refusal {
  code: "unauthorized" | "forbidden";
  message: string;
}

/**
 * The Worker's side of CONNECT_PATH: the URL that carries a checked identity to the object.
 * Written as one string, not through URL and URLSearchParams objects: every join, and a storm's
 * thousands at once, goes through here. `readJoin` reads it back with URLSearchParams.
 */
export function connectUrl(join: Join): string {
  const q = (key: string, value: string) => `&${key}=${encodeURIComponent(value)}`;
  return (
    `https://hub.internal${CONNECT_PATH}?name=${encodeURIComponent(join.name)}` +
    q("user", join.user) +
    q("display", join.displayName) +
    q("role", join.role) +
    q("batch", join.batch ? "1" : "0") +
    (join.raw === true ? q("raw", "1") : "") +
    (join.since === undefined ? "" : q("since", String(join.since))) +
    (join.guestToken === undefined ? "" : q("token", join.guestToken))
  );
}

/** The object's side of CONNECT_PATH. */
export function readJoin(url: URL): Join {
  const p = url.searchParams;
  const since = p.get("since");
  const token = p.get("token");
  return {
    name: p.get("name") ?? "",
    user: p.get("user") ?? "",
    displayName: p.get("display") ?? "",
    role: p.get("role") === "agent" ? "agent" : "member",
    since: since === null ? undefined : Number(since),
    batch: p.get("batch") === "1",
    ...(p.get("raw") === "1" ? { raw: true } : {}),
    ...(token === null ? {} : { guestToken: token }),
  };
}

/** One event of a push, as the Worker hands it to the room over RPC. */
export interface RoomEvent {
  id: string;
  event: string;
  data: unknown;
  to: string | null;
  store: boolean;
}

export interface RoomEventResult {
  seq: number | null;
  delivered: number;
}

export interface PublishResult {
  duplicate: boolean;
  results: RoomEventResult[];
}

// ---- the server API (POST /api/rooms/…, /api/desks/…): what the Worker asks a room or desk ----

/** A room or desk: the two kinds of place the server API and the registry know. */
export type PlaceKind = "room" | "desk";

/** `/api/…/info`: one place, now. A place never used is unoccupied, with seq 0. */
export interface PlaceInfo {
  occupied: boolean;
  /** Distinct users connected (a desk's agents and customers both count). */
  members: number;
  sockets: number;
  /** The place's newest seq; 0 before anything was stored. */
  seq: number;
  /** Objects holding the place's sockets: 1 for a plain room or desk. */
  shards: number;
}

/** One connected user, in a members page. */
export interface MemberSockets {
  id: string;
  name: string;
  sockets: number;
  /** Desks only: whether the user is connected as an agent or as a customer. */
  role?: "agent" | "customer";
}

/** `/api/…/members`: members in id order after a cursor; `next` is the cursor for more, or null. */
export interface MembersPage {
  members: MemberSockets[];
  next: string | null;
}

/**
 * `/api/…/history`: stored frames, oldest first, as the stored JSON texts (the Worker splices them
 * into its answer unparsed); `complete` is false while older frames remain.
 */
export interface StoredPage {
  frames: string[];
  complete: boolean;
}

/** `/api/…/kick`: the user's sockets are closed; with `banSec`, its joins are refused that long. */
export interface KickOrder {
  user: string;
  reason: string;
  banSec: number | null;
}

export interface KickResult {
  closed: number;
}

/** What a room or desk answers the Worker for the server API, over RPC. */
export interface PlaceApi {
  apiInfo(): Promise<PlaceInfo>;
  apiMembers(after: string | null, limit: number): Promise<MembersPage>;
  apiHistory(before: number | null, limit: number): Promise<StoredPage>;
  apiKick(order: KickOrder): Promise<KickResult>;
}

/** One occupied place, as the registry lists it. */
export interface Occupied {
  name: string;
  members: number;
}
