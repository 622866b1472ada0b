/**
 * Who is connected to one Durable Object: each socket's identity (kept in its hibernation
 * attachment, so it survives eviction) and the distinct members those sockets add up to.
 * The maps here are caches: the constructor of the object rebuilds them from
 * `ctx.getWebSockets()`, so nothing in them exists only in memory.
 */
import type { Member } from "../protocol";
import type { Role } from "../protocol/contract";
import { TokenBucket } from "./ratelimit";

/** Bumped when the attachment's shape changes, so an old shape is recognised, not misread. */
const ATTACHMENT_VERSION = 1;

export type { Role };

/** What a socket carries through hibernation: small (the runtime allows 16 KiB) and versioned. */
export interface Attachment {
  v: typeof ATTACHMENT_VERSION;
  id: string;
  name: string;
  batch: boolean;
  role: Role;
  /**
   * A raw socket (plain text in, data out). Optional, so attachments written before it existed
   * read as what they were, JSON sockets, with no version bump.
   */
  raw?: true;
  /**
   * The socket's own number in this object, random, so a sharded room's order keeper can
   * address one socket of a shard (an ack goes to the socket that sent the frame). 0 in
   * attachments written before it existed.
   */
  sid: number;
  /** Set once the room has counted this socket as gone, so a later close event is not a second leave. */
  left?: true;
}

export interface Connection extends Attachment {
  /**
   * The user's rate bucket, one for all of its sockets here, so ten tabs get no more than one.
   * Memory only, by design: a bucket lost to eviction refills long before an idle object is
   * evicted.
   */
  bucket: TokenBucket;
}

export function readAttachment(ws: WebSocket): Attachment | null {
  let raw: unknown;
  try {
    raw = ws.deserializeAttachment();
  } catch {
    return null; // a socket accepted without an attachment is not one of ours to track
  }
  if (typeof raw !== "object" || raw === null) return null;
  const a = raw as Partial<Attachment>;
  if (a.v !== ATTACHMENT_VERSION || typeof a.id !== "string" || typeof a.name !== "string")
    return null;
  return {
    v: ATTACHMENT_VERSION,
    id: a.id,
    name: a.name,
    batch: a.batch === true,
    role: a.role === "agent" ? "agent" : "member",
    ...(a.raw === true ? { raw: true as const } : {}),
    sid: typeof a.sid === "number" ? a.sid : 0,
    ...(a.left === true ? { left: true as const } : {}),
  };
}

export const attachment = (
  id: string,
  name: string,
  batch: boolean,
  role: Attachment["role"] = "member",
  raw = false,
): Attachment => ({
  v: ATTACHMENT_VERSION,
  id,
  name,
  batch,
  role,
  ...(raw ? { raw: true as const } : {}),
  // 2^53 values: among a shard's 20,000 sockets, two alike is a one-in-40-million chance.
  sid: Math.floor(Math.random() * Number.MAX_SAFE_INTEGER) + 1,
});

/** Best effort: a socket that is already closed may refuse a new attachment, and then the
 * in-memory `#removed` set (same instance) is what prevents a second leave. */
function markLeft(ws: WebSocket, a: Attachment): void {
  try {
    ws.serializeAttachment({
      v: a.v,
      id: a.id,
      name: a.name,
      batch: a.batch,
      role: a.role,
      ...(a.raw === true ? { raw: true as const } : {}),
      sid: a.sid,
      left: true,
    } satisfies Attachment);
  } catch {
    // see above
  }
}

/** A user whose last socket left, with the role it had. */
export interface Departure extends Member {
  role: Attachment["role"];
}

interface MemberEntry {
  id: string;
  name: string;
  /** In arrival order (a Set keeps it): the first is the oldest, closed first at the cap. */
  sockets: Set<WebSocket>;
  bucket: TokenBucket;
}

/** Role and id in one map key; ids never contain a space, so no two pairs share a key. */
const memberKey = (id: string, role: Role) => `${role} ${id}`;

export class Members {
  readonly sockets = new Map<WebSocket, Connection>();
  #members = new Map<string, MemberEntry>();
  /** Sockets removed by this instance; the attachment's `left` flag covers earlier instances. */
  #removed = new WeakSet<WebSocket>();
  #newBucket: () => TokenBucket;
  #raw = 0;

  constructor(existing: WebSocket[], newBucket: () => TokenBucket) {
    this.#newBucket = newBucket;
    for (const ws of existing) {
      const a = readAttachment(ws);
      if (a !== null && a.left !== true) this.add(ws, a);
    }
  }

  /** Adds a socket; true when it is the user's first, i.e. the user just joined. */
  add(ws: WebSocket, a: Attachment): boolean {
    if (a.raw === true) this.#raw++;
    const key = memberKey(a.id, a.role);
    const entry = this.#members.get(key);
    if (entry !== undefined) {
      this.sockets.set(ws, { ...a, bucket: entry.bucket });
      entry.sockets.add(ws);
      return false;
    }
    const bucket = this.#newBucket();
    this.sockets.set(ws, { ...a, bucket });
    this.#members.set(key, { id: a.id, name: a.name, sockets: new Set([ws]), bucket });
    return true;
  }

  /**
   * Removes a socket; returns the member when it was the user's last socket (the user left).
   * `closed`: the socket's close event is what removes it, so no later event can come for it and
   * its attachment need not record the leave. That write is skipped because a reconnect storm
   * is thousands of closes at once, and it was a measured part of each (`npm run bench`).
   */
  remove(ws: WebSocket, closed = false): Departure | null {
    const conn = this.sockets.get(ws);
    if (conn === undefined) return this.#removeUnknown(ws);
    this.sockets.delete(ws);
    if (conn.raw === true) this.#raw--;
    this.#removed.add(ws);
    if (!closed) markLeft(ws, conn);
    const key = memberKey(conn.id, conn.role);
    const entry = this.#members.get(key);
    if (entry === undefined) return null;
    entry.sockets.delete(ws);
    if (entry.sockets.size > 0) return null;
    this.#members.delete(key);
    return { id: conn.id, name: entry.name, role: conn.role };
  }

  /**
   * A socket the caches do not hold: either it was removed already (error then close, or our own
   * close then the peer's), or its close event is what woke the object, and the runtime left the
   * closing socket out of `getWebSockets()`. Only the second is a leave, and only if the user
   * has no other socket.
   */
  #removeUnknown(ws: WebSocket): Departure | null {
    if (this.#removed.has(ws)) return null;
    this.#removed.add(ws);
    const a = readAttachment(ws);
    if (a === null || a.left === true || this.#members.has(memberKey(a.id, a.role))) return null;
    return { id: a.id, name: a.name, role: a.role };
  }

  get count(): number {
    return this.#members.size;
  }

  /** Raw sockets here now: while none is, nothing is ever turned into raw text (outbox.ts). */
  get rawSockets(): number {
    return this.#raw;
  }

  /** Distinct members; a user with several tabs is listed once, under the name it joined with. */
  list(): Member[] {
    return [...this.#members.values()].map((m) => ({ id: m.id, name: m.name }));
  }

  member(id: string, role: Role = "member"): Member | null {
    const m = this.#members.get(memberKey(id, role));
    return m === undefined ? null : { id, name: m.name };
  }

  /** All sockets of one user in one role (none when the user is not connected). */
  socketsOf(id: string, role: Role = "member"): Iterable<WebSocket> {
    return this.#members.get(memberKey(id, role))?.sockets ?? [];
  }
}
