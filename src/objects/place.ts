/**
 * Place: what a room and a desk say, written once over the socket runtime of hub.ts. The
 * `welcome` with its replay, `history` pages, acknowledgements and idempotent re-sends,
 * presence frames, and the server API's answers every place gives the same way. Room and Desk
 * build on it; hub.ts stays only the runtime (sockets, checks, the alarm), so an object that
 * holds sockets without a log of its own can build on the runtime alone.
 */
import { Bans, memberPage } from "./api";
import { Hub } from "./hub";
import type { Reader } from "./history";
import type { Connection } from "./members";
import { OccupancyReport, REGISTRY_NAME, readPresenceCountMs } from "./registry";
import {
  CLOSE_FORBIDDEN,
  DEFAULT_REPLAY,
  errorFrame,
  type HistoryFrame,
  type Join,
  type KickOrder,
  type KickResult,
  type MembersPage,
  type Refusal,
  type Member,
  type PlaceInfo,
  type PresenceChangeFrame,
  type StoredPage,
  type WelcomeFrame,
  type ClientFrame,
  type ServerFrame,
} from "../protocol";

export abstract class Place extends Hub {
  /**
   * Sends `welcome` (with `extra` fields) and the replay the user may see. `members: null` is a
   * room too big to list (then `count` is all its members).
   */
  protected welcome(
    ws: WebSocket,
    conn: Connection,
    join: Join,
    members: Member[] | null,
    extra: Partial<WelcomeFrame> = {},
  ): void {
    if (conn.raw === true) return; // a raw socket hears no protocol frame
    const self = this.members.member(conn.id, conn.role) ?? { id: conn.id, name: conn.name };
    const { text, frames } = this.welcomeFor(conn, self, join, members, extra);
    this.outbox.send(ws, text, conn.batch);
    for (const frame of frames) this.outbox.send(ws, frame, conn.batch);
  }

  /** The `welcome` text and the replay for a reader, wherever its socket is (a sharded room's shard). */
  protected welcomeFor(
    reader: Reader,
    self: Member,
    join: Pick<Join, "name" | "since" | "guestToken">,
    members: Member[] | null,
    extra: Partial<WelcomeFrame> = {},
  ): { text: string; frames: string[]; seq: number } {
    const replay = this.history.replay(reader, join.since, DEFAULT_REPLAY);
    const text = JSON.stringify({
      type: "welcome",
      room: join.name,
      self: join.guestToken === undefined ? self : { ...self, token: join.guestToken },
      members,
      count: members === null ? this.memberCount : members.length,
      seq: this.history.lastSeq,
      replay: { from: replay.from, count: replay.frames.length, complete: replay.complete },
      ...extra,
    } satisfies WelcomeFrame);
    return { text, frames: replay.frames, seq: this.history.lastSeq };
  }

  /** Answers a `history` request from the log, filtered by what the user may see. */
  protected answerHistory(sender: Sender, frame: Extract<ClientFrame, { type: "history" }>): void {
    const page = this.history.page(sender, frame.before, frame.limit);
    const extra = frame.id === undefined ? {} : { id: frame.id };
    sender.answer(historyText(page.frames, page.complete, extra));
  }

  /** Sends stored frames as a `history` frame. */
  protected sendHistory(
    ws: WebSocket,
    conn: Connection,
    frames: string[],
    complete: boolean,
    extra: Partial<HistoryFrame> = {},
  ): void {
    this.outbox.send(ws, historyText(frames, complete, extra), conn.batch);
  }

  /** A socket here as the sender of a frame: its answers go to it (none to a raw socket). */
  protected local(ws: WebSocket, conn: Connection): Sender {
    return {
      id: conn.id,
      role: conn.role,
      answer: (frame) => {
        if (conn.raw === true) return;
        this.outbox.send(ws, typeof frame === "string" ? frame : JSON.stringify(frame), conn.batch);
      },
    };
  }

  /**
   * When a frame's `id` was already stored by this user, answers the original `ack` and returns
   * true: the caller then stores and delivers nothing.
   */
  protected acknowledgedBefore(sender: Sender, id: string | undefined, now: number): boolean {
    if (id === undefined) return false;
    const seen = this.history.keys.recall(clientKey(sender.id, id), now);
    if (seen === undefined) return false;
    sender.answer({ type: "ack", id, seq: Number(seen) });
    return true;
  }

  /** Whether this user's frame `id` was stored already (its re-send is then answered, not stored). */
  protected storedBefore(user: string, id: string, now: number): boolean {
    return this.history.keys.recall(clientKey(user, id), now) !== undefined;
  }

  /** Records a stored frame's `id` for idempotent re-sends and acknowledges it. */
  protected acknowledge(sender: Sender, id: string | undefined, seq: number, now: number): void {
    if (id === undefined) return;
    this.history.keys.remember(clientKey(sender.id, id), String(seq), now);
    sender.answer({ type: "ack", id, seq });
  }

  protected presence(action: PresenceChangeFrame["action"], member: Member): string {
    return JSON.stringify({
      type: "presence",
      action,
      member,
      count: this.memberCount,
    } satisfies PresenceChangeFrame);
  }

  // ---- the server API's shared answers (rooms and desks) ----

  /** Distinct members (a sharded room counts those on all its shards). */
  protected get memberCount(): number {
    return this.members.count;
  }

  async apiInfo(): Promise<PlaceInfo> {
    const members = this.memberCount;
    return {
      occupied: members > 0,
      members,
      sockets: this.members.sockets.size,
      seq: this.history.lastSeq,
      shards: 1,
    };
  }

  /** Every stored frame, directs and every desk conversation included: the backend sees all. */
  async apiHistory(before: number | null, limit: number): Promise<StoredPage> {
    return this.history.pageAll(before ?? undefined, limit);
  }

  /** Bans left by `kick` with `ban_sec`, checked at every join (a desk's agents' too). */
  readonly #bans = new Bans(this.ctx.storage.sql);
  /** Tells the registry this place's member count, throttled, for the server API's `list`. */
  readonly #occupancy = new OccupancyReport(
    (members) => this.env.REGISTRY.getByName(REGISTRY_NAME).report(this.kind, this.name, members),
    readPresenceCountMs(this.env),
    (at) => this.armAlarm(at),
  );

  /** The room's or desk's name (objects are always reached by name). */
  protected get name(): string {
    return this.ctx.id.name ?? "";
  }

  /** The member count changed (a user's first socket joined, or its last left). */
  protected occupancyChanged(): void {
    this.#occupancy.changed(this.memberCount, Date.now());
  }

  /** A user banned here (`kick` with `ban_sec`) is refused 4403 until the ban ends. */
  protected override refuse(join: Join): Refusal | null {
    return this.banned(join.user);
  }

  protected banned(user: string): Refusal | null {
    return this.#bans.refusal(user, `${this.kind} "${this.name}"`, Date.now());
  }

  /** Records a ban (`kick` with `ban_sec`). */
  protected ban(order: KickOrder, now: number): void {
    if (order.banSec !== null)
      this.#bans.ban(order.user, now + order.banSec * 1000, order.reason, now);
  }

  /** The registry's throttled report; a subclass with timers of its own adds them to this. */
  protected override onAlarm(now: number): number | null {
    return this.#occupancy.onAlarm(this.memberCount, now);
  }

  /** A page of the connected users (a desk's with their roles). */
  async apiMembers(after: string | null, limit: number): Promise<MembersPage> {
    return memberPage(this.members.sockets.values(), after, limit, this.kind === "desk");
  }

  /**
   * Closes the user's sockets, as a member and as an agent (`error` `kicked`, then 4403); with
   * `banSec`, bans it first, so the kicked client's reconnect is refused too.
   */
  async apiKick(order: KickOrder): Promise<KickResult> {
    this.ban(order, Date.now());
    const reason = kickReason(order, this.kind);
    const sockets = [
      ...this.members.socketsOf(order.user, "member"),
      ...this.members.socketsOf(order.user, "agent"),
    ];
    for (const ws of sockets) {
      const conn = this.members.sockets.get(ws);
      if (conn !== undefined) this.reply(ws, conn, errorFrame("kicked", reason));
      this.close(ws, CLOSE_FORBIDDEN, "kicked");
    }
    return { closed: sockets.length };
  }
}

/**
 * The idempotency key of a client frame. The user id's length comes first, so no choice of ids
 * can make two users' keys equal: user "a" with id "b:c" and user "a:b" with id "c" differ.
 */
const clientKey = (user: string, id: string) => `client:${user.length}:${user}:${id}`;

/** What a kicked user is told: the backend's reason, or a plain sentence. */
export const kickReason = (order: KickOrder, kind: string): string =>
  order.reason === "" ? `you were removed from this ${kind}` : order.reason;

/** A `history` frame around stored texts, spliced in as they are (never parsed again). */
function historyText(frames: string[], complete: boolean, extra: Partial<HistoryFrame>): string {
  const head = JSON.stringify({
    type: "history",
    ...extra,
    messages: [],
    complete,
  } satisfies HistoryFrame);
  return head.replace('"messages":[]', `"messages":[${frames.join(",")}]`);
}

/** Who sent a frame and where its answers go: a socket here, or one on a sharded room's shard. */
export interface Sender extends Reader {
  answer(frame: ServerFrame | string): void;
}
