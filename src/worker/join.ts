/**
 * The Worker's checks on a join, shared by rooms and desks: names and query (400), the upgrade
 * itself (426), the origin (403), then identity, which is always vouched for and never claimed:
 * a backend's join token, a guest token this server made, with no token where a connect hook
 * is set the backend's answer, or, with no token where the place admits guests, a fresh guest id
 * with its guest token. The result is either the checked identity for the object, or a refusal
 * the browser can read (an accepted socket with one `error` frame, closed 4401/4403, or 1013
 * when the connect hook could not decide). A raw socket (`/room/<room>/` or `?format=raw`, the
 * plain-text socket of a Django Channels page) is checked the same way, and refused without
 * the frame.
 */
import type { Context, MiddlewareHandler } from "hono";
import {
  mintGuestToken,
  originAllowed,
  renewedGuestToken,
  verifyJoinToken,
  type Place,
  type PlaceKind,
} from "./auth";
import { ApiError } from "./errors";
import { askConnectHook, connectHookFor, connectRequest } from "./hooks/connect";
import { logEvent } from "./log";
import {
  CLOSE_TRY_AGAIN_LATER,
  GUEST_PREFIX,
  PRIVATE_ROOM_PREFIX,
  cleanDisplayName,
  errorFrame,
  isRoomName,
  personalRoomOwner,
  refusalCloseCode,
  connectUrl,
  type Refusal,
  type Join,
  type ShardPick,
} from "../protocol";

export const ROOM_RULE = "names are 1-99 characters of A-Z a-z 0-9 _ . -";

const GUEST_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
const randomChars = (n: number) => {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => GUEST_ALPHABET[b % GUEST_ALPHABET.length]).join("");
};

/**
 * Why a join is refused: an identity refusal (4401/4403), or `auth_unavailable` (1013) when the
 * connect hook's backend gave no usable answer, which a later try may get.
 */
export type JoinRefusal = Refusal | { code: "auth_unavailable"; message: string };

/** A checked join: who it is, or why it is refused (a refusal the browser must be able to read). */
export type JoinCheck = { ok: true; join: Join } | { ok: false; refusal: JoinRefusal };

const refused = (code: JoinRefusal["code"], message: string): JoinCheck => ({
  ok: false,
  refusal: { code, message },
});
const admitted = (join: Join): JoinCheck => ({ ok: true, join });

/**
 * Checks one join and establishes who it is. Malformed requests throw (HTTP 400/403/426); a
 * refused identity is returned. `agent`: the desk's `?role=agent`, which admits only a desk
 * token, or a connect hook's identity, with `role: "agent"`.
 */
export async function checkJoin(
  c: Pick<Context<{ Bindings: Env }>, "req" | "env">,
  place: Place,
  options: { agent?: boolean; raw?: boolean } = {},
): Promise<JoinCheck> {
  if (!isRoomName(place.name)) throw new ApiError(400, "invalid_room", ROOM_RULE);
  const q = c.req.query();
  const raw = options.raw === true || q.format === "raw";
  if (q.format !== undefined && q.format !== "raw") {
    throw new ApiError(
      400,
      "invalid_format",
      "format is raw (plain text in, only data out, as a Django Channels page expects), or " +
        "absent for the JSON protocol",
    );
  }
  if (raw && place.kind === "desk") {
    // A desk's conversations, queue and agents live in its JSON frames: plain text has no room here.
    throw new ApiError(400, "invalid_format", "raw sockets join rooms; a desk speaks JSON only");
  }
  if (q.user !== undefined) {
    throw new ApiError(
      400,
      "invalid_user",
      "there is no user parameter: ids come from tokens (a backend's join token, or the guest " +
        "token a guest gets in its welcome), so nobody can claim another member's id",
    );
  }
  const token = q.token;
  // With a token, the token's name is the name: ?name is ignored (not validated either).
  const asked = token === undefined && q.name !== undefined ? cleanDisplayName(q.name) : undefined;
  if (asked === null) {
    throw new ApiError(
      400,
      "invalid_name",
      "names are 1-64 characters after trimming, without control characters or " +
        "bidirectional overrides",
    );
  }
  if (q.since !== undefined && !/^\d{1,15}$/.test(q.since)) {
    throw new ApiError(
      400,
      "invalid_since",
      "since is the last seq the client saw: a non-negative integer",
    );
  }
  if (q.batch !== undefined && q.batch !== "0" && q.batch !== "1") {
    throw new ApiError(400, "invalid_batch", "batch is 1 (several frames per message) or 0");
  }
  // A raw socket's page reads one message per text and keeps no seq: say so rather than ignore.
  if (raw && q.batch === "1") {
    throw new ApiError(
      400,
      "invalid_batch",
      "a raw socket gets one text per message, never a batch",
    );
  }
  if (raw && q.since !== undefined) {
    throw new ApiError(400, "invalid_since", "a raw socket gets no replay: since does not apply");
  }
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "join with a WebSocket upgrade request", {
      Upgrade: "websocket",
    });
  }
  if (
    !originAllowed(c.req.header("Origin") ?? null, new URL(c.req.url), c.env.ALLOWED_ORIGINS ?? "")
  ) {
    throw new ApiError(403, "origin_not_allowed", "this origin is not in ALLOWED_ORIGINS");
  }

  const secret = c.env.JOIN_SECRET;
  if (!secret) {
    // Without the key nothing can be proven, not even a guest's id: refuse rather than admit
    // ids nobody vouched for.
    return refused(
      "unauthorized",
      "this server has no JOIN_SECRET, so it can vouch for no one (npm start creates one in .dev.vars)",
    );
  }
  const since = q.since === undefined ? undefined : Number(q.since);
  const base = { name: place.name, since, batch: q.batch === "1", ...(raw ? { raw } : {}) };
  const agent = options.agent === true;
  const closedToGuests = guestsRefused(place, agent);
  const newGuest = async (): Promise<JoinCheck> => {
    const id = `${GUEST_PREFIX}${randomChars(GUEST_ID_CHARS)}`;
    const displayName = asked ?? `guest-${randomChars(4)}`;
    return admitted({
      ...base,
      user: id,
      displayName,
      role: "member",
      guestToken: await guestToken(id, displayName, secret),
    });
  };

  if (token === undefined) {
    // Where a connect hook is set, the backend decides every join without a token, including
    // those to places no guest may enter: its answer can be a user of the backend's own.
    const hook = connectHookFor(c.env, place.name);
    if (hook !== null) {
      const header = (name: string) => c.req.header(name);
      const decision = await askConnectHook(hook, connectRequest(place, agent, q, header));
      if (decision.by === "refused") return refused(decision.code, decision.message);
      if (decision.by === "user") {
        return admitUser(base, place, agent, decision, 'the connect hook gave no role "agent"');
      }
      if (closedToGuests !== null) {
        return refused(
          "unauthorized",
          `the connect hook admits a guest, but ${closedToGuests.guest}`,
        );
      }
      return newGuest();
    }
    if (closedToGuests !== null) return refused("unauthorized", closedToGuests.noToken);
    return newGuest();
  }

  const check = await verifyJoinToken(token, secret, place);
  if (!check.ok) return refused(check.code, check.message);
  const { sub, name, role } = check.claims;
  if (role === "guest") {
    if (closedToGuests !== null) return refused("forbidden", closedToGuests.guest);
    return admitted({
      ...base,
      user: sub,
      displayName: name,
      role: "member",
      guestToken: await renewedGuestToken(
        token,
        check.claims,
        secret,
        Math.floor(Date.now() / 1000),
      ),
    });
  }
  return admitUser(
    base,
    place,
    agent,
    { user: sub, name, role },
    'agents join with a desk token of role "agent"',
  );
}

/**
 * A user proven by a backend (its token, or its answer to the connect hook) in the place: only
 * its own personal room among the `user-…` rooms, and an agent only with `role: "agent"` and
 * `?role=agent` (an agent joining without it is a customer like any other).
 */
function admitUser(
  base: Pick<Join, "name" | "since" | "batch" | "raw">,
  place: Place,
  agent: boolean,
  proven: { user: string; name: string; role: "member" | "agent" },
  notAgent: string,
): JoinCheck {
  const owner = place.kind === "room" ? personalRoomOwner(place.name) : null;
  if (owner !== null && owner !== proven.user) {
    return refused("forbidden", `"${place.name}" is the personal room of another user`);
  }
  if (agent && proven.role !== "agent") return refused("forbidden", notAgent);
  return admitted({
    ...base,
    user: proven.user,
    displayName: proven.name,
    role: agent ? "agent" : "member",
  });
}

/** A guest's id: `guest-` and this many random characters (80 bits). */
const GUEST_ID_CHARS = 16;

const guestToken = (id: string, name: string, secret: string) =>
  mintGuestToken(id, name, secret, Math.floor(Date.now() / 1000));

/** Why a place admits no guests (what to tell one without a token, and one with a guest token); null when it does. */
function guestsRefused(place: Place, agent: boolean): { noToken: string; guest: string } | null {
  if (place.kind === "desk") {
    return agent
      ? { noToken: "agents join with a desk token", guest: "guests cannot be agents" }
      : null;
  }
  if (place.name.startsWith(PRIVATE_ROOM_PREFIX)) {
    return {
      noToken: "private rooms admit only members with a join token",
      guest: "private rooms admit no guests",
    };
  }
  if (personalRoomOwner(place.name) !== null) {
    return {
      noToken: "a personal room admits only its user, with a join token",
      guest: "a personal room admits only its user, never a guest",
    };
  }
  return null;
}

/**
 * Hands a checked join to its object. The object may still refuse it for what only it knows
 * (a desk knows its agents) by answering 401/403 with a JSON error: that refusal is turned into
 * one the browser can read, like the Worker's own.
 */
export async function forwardJoin(
  stub: { fetch(request: Request): Promise<Response> },
  join: Join,
  request: Request,
  kind: PlaceKind,
): Promise<Response> {
  const res = await stub.fetch(new Request(connectUrl(join), request));
  if (res.status !== 401 && res.status !== 403) return res;
  const body = (await res.json()) as { message?: string };
  return refuseUpgrade(
    { code: res.status === 401 ? "unauthorized" : "forbidden", message: body.message ?? "refused" },
    { [kind]: join.name, user: join.user },
    join.raw === true,
  );
}

/** How the Worker reaches a room: its own object, and (sharded rooms) the shards. */
export interface RoomObjects {
  keeper: {
    fetch(request: Request): Promise<Response>;
    shardFor(user: string): Promise<ShardPick>;
  };
  shard(n: number): { fetch(request: Request): Promise<Response> };
  sharded: boolean;
}

/**
 * Hands a checked room join on. A plain room's object takes the socket; a sharded room's (its
 * order keeper) first says which shard takes it (docs/sharded-rooms.md), or refuses a banned
 * user, refused here like any other.
 */
export async function forwardRoomJoin(
  room: RoomObjects,
  join: Join,
  request: Request,
): Promise<Response> {
  if (!room.sharded) return forwardJoin(room.keeper, join, request, "room");
  const pick = await room.keeper.shardFor(join.user);
  if ("refusal" in pick)
    return refuseUpgrade(pick.refusal, { room: join.name, user: join.user }, join.raw === true);
  return forwardJoin(room.shard(pick.shard), join, request, "room");
}

export interface JoinVariables {
  join: Join;
}

/**
 * The join check as middleware for `/room/:room` and `/desk/:desk`: the checked identity is
 * `c.var.join`, or the upgrade is refused here (HTTP errors thrown, identity refusals as a
 * socket closed 4401/4403, or 1013 when the connect hook could not decide), before any object
 * is woken. `raw`: the route itself makes raw sockets (`/room/:room/`, the Django Channels form).
 */
export const joinCheck =
  (
    kind: PlaceKind,
    options: { raw?: boolean } = {},
  ): MiddlewareHandler<{ Bindings: Env; Variables: JoinVariables }> =>
  async (c, next) => {
    let agent = false;
    if (kind === "desk") {
      const role = c.req.query("role");
      if (role !== undefined && role !== "agent" && role !== "customer") {
        throw new ApiError(400, "invalid_role", "role is agent or customer (the default)");
      }
      agent = role === "agent";
    }
    // checkJoin throws on any other format, so this is what it decided too.
    const raw = options.raw === true || c.req.query("format") === "raw";
    const place = { kind, name: c.req.param(kind) ?? "" };
    const checked = await checkJoin(c, place, { agent, raw });
    if (!checked.ok)
      return refuseUpgrade(checked.refusal, { [kind]: c.req.param(kind), user: null }, raw);
    c.set("join", checked.join);
    await next();
  };

/**
 * Refuses a join so a browser can read why: browsers hide an HTTP error on an upgrade, so the
 * upgrade is accepted here in the Worker, one `error` frame is sent and the socket is closed
 * with 4401/4403, or 1013 ("try again later") for `auth_unavailable`. (Done in the Worker with
 * a plain pair: a hibernatable socket closed inside the object's fetch was seen to deliver the
 * frame but never the close.) A raw socket gets the close alone: its page would show the JSON
 * of an `error` frame as if someone had said it.
 */
function refuseUpgrade(
  { code, message }: JoinRefusal,
  where: Record<string, unknown>,
  raw: boolean,
): Response {
  logEvent("join_refused", { ...where, code, reason: message }); // never the token
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  if (!raw) server.send(JSON.stringify(errorFrame(code, message)));
  server.close(code === "auth_unavailable" ? CLOSE_TRY_AGAIN_LATER : refusalCloseCode(code), code);
  return new Response(null, { status: 101, webSocket: client });
}
