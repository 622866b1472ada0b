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
  /** Guests only: a fresh guest token, handed to the guest in its welcome. */
  guestToken?: string;
}

/** A join the object itself turns away, for what only it knows (a desk knows its agents). */
export interface Refusal {
  code: "unauthorized" | "forbidden";
  message: string;
}

/** The Worker's side of CONNECT_PATH: the URL that carries a checked identity to the object. */
export function connectUrl(join: Join): URL {
  const url = new URL(CONNECT_PATH, "https://hub.internal");
  url.search = new URLSearchParams({
    name: join.name,
    user: join.user,
    display: join.displayName,
    role: join.role,
    batch: join.batch ? "1" : "0",
    ...(join.since === undefined ? {} : { since: String(join.since) }),
    ...(join.guestToken === undefined ? {} : { token: join.guestToken }),
  }).toString();
  return url;
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
