/**
 * Presence that grows with N. Announcing every member to every member makes a join cost O(N)
 * frames and a room that N people join O(N²): at a thousand members the announcements, not the
 * messages, are the room's work. So above PRESENCE_MAX members a room stops naming members:
 * a joiner's `welcome` has `members: null` (and the `count`), and everyone gets a `count` frame
 * at most once per PRESENCE_COUNT_MS while the count changes. When the count is back at
 * PRESENCE_MAX or below, the next `count` frame carries the member list (at most PRESENCE_MAX
 * entries) and per-member `join`/`leave` resume; clients replace their list with it. A room
 * that flaps around the threshold sends that list at most once per PRESENCE_COUNT_MS.
 *
 * A count below the one the clients were last sent (members left) waits until nobody has left
 * for PRESENCE_COUNT_MS, and at most LEAVES_WAIT_INTERVALS intervals after the first such leave.
 * A page reload (a leave, then the same user back) then sends nothing, and a mass disconnect
 * (a deploy, a network cut) is announced once it is over, not count by count to sockets that
 * are closing themselves. Those frames were measured to be what stalls a reconnect storm of
 * 5,000 sockets under the local runtime (docs/BENCHMARKS.md, target 5).
 *
 * Which of the two the clients were last told is stored (one key, written only when it
 * switches): an object evicted while a switch back to lists was still due must send the list
 * after it wakes, or its clients would keep an empty list. The throttle itself is the same one
 * the registry report uses, with the object's alarm for the trailing frame, so no timer keeps a
 * room awake.
 */
import { OccupancyReport } from "./registry";
import type { Member, PresenceCountFrame } from "../protocol";

const COUNTING_KEY = "presence:counting";
/** A falling count goes out at the latest this many PRESENCE_COUNT_MS after its first leave. */
export const LEAVES_WAIT_INTERVALS = 5;

export interface PresenceRoom {
  /** Distinct members now. */
  count(): number;
  /** Every member now (only asked for when there are at most PRESENCE_MAX). */
  list(): Member[];
  /** Sends one text to every socket. */
  broadcast(text: string): void;
  /** Makes sure the object's alarm fires by then. */
  armAlarm(at: number): void;
}

export class Presence {
  readonly #max: number;
  readonly #kv: SyncKvStorage;
  readonly #room: PresenceRoom;
  readonly #throttle: OccupancyReport;
  readonly #intervalMs: number;
  /** Whether the clients were told counts (true) or member lists (false). */
  #counting: boolean;
  /** The count the clients were last sent while counting; null when none was since the switch. */
  #shown: number | null = null;
  /**
   * An instance that woke up counting has sent nothing yet, but its clients were told a count
   * before: the count it woke with, taken as what they last saw until it sends one itself.
   */
  #woke: boolean;
  /** A lower count waiting for the leaves to pause: since when, and when it is quiet enough. */
  #fall: { since: number; quietAt: number } | null = null;

  constructor(max: number, intervalMs: number, kv: SyncKvStorage, room: PresenceRoom) {
    this.#max = max;
    this.#kv = kv;
    this.#room = room;
    this.#intervalMs = intervalMs;
    this.#counting = kv.get(COUNTING_KEY) === true;
    this.#woke = this.#counting;
    this.#throttle = new OccupancyReport(
      async () => this.#sendCount(),
      intervalMs,
      (at) => room.armAlarm(at),
    );
  }

  /** True while members are announced as counts: welcome's `members` is then null. */
  get counting(): boolean {
    return this.#counting;
  }

  /**
   * A user's first socket arrived (`left` false) or its last left (`left` true). Returns true
   * when the caller announces it per member (`join`/`leave`), false when as a count.
   */
  changed(now: number, left = false): boolean {
    if (!this.#counting && this.#room.count() > this.#max) this.#switch(true);
    if (!this.#counting) return true;
    const count = this.#room.count();
    // The first change since waking: before it, the room held one member more (a leave) or less.
    if (this.#woke && this.#shown === null) this.#shown = left ? count + 1 : count - 1;
    this.#woke = false;
    if (this.#shown !== null && count < this.#shown) {
      // Below what the clients were told: wait for the leaves to pause (joins do not delay it).
      // The alarm is armed once, for the first moment it could be due; if more leaves came by
      // then, onAlarm answers the later moment.
      if (this.#fall === null) {
        this.#fall = { since: now, quietAt: now + this.#intervalMs };
        this.#room.armAlarm(this.#fall.quietAt);
      } else if (left) {
        this.#fall.quietAt = now + this.#intervalMs;
      }
      return false;
    }
    // Back where the clients were told (a reload) needs no frame; above it, as throttled.
    this.#fall = null;
    if (count !== this.#shown) this.#throttle.changed(count, now);
    return false;
  }

  /** The object's alarm: a `count` frame when due; when the alarm is next needed. */
  onAlarm(now: number): number | null {
    if (!this.#counting) return null;
    if (this.#fall !== null) {
      const due = this.#fallDue(this.#fall);
      // Until then, not even the throttle's trailing frame: it would send the falling count.
      if (now < due) return due;
      this.#fall = null;
      this.#throttle.changed(this.#room.count(), now);
    }
    return this.#throttle.onAlarm(this.#room.count(), now);
  }

  #fallDue(fall: { since: number; quietAt: number }): number {
    return Math.min(fall.quietAt, fall.since + LEAVES_WAIT_INTERVALS * this.#intervalMs);
  }

  /** The count now (the throttle runs it a moment after it decided), so it is never stale. */
  #sendCount(): void {
    if (!this.#counting) return;
    const count = this.#room.count();
    const frame: PresenceCountFrame = { type: "presence", action: "count", count };
    // Back at the threshold or below: the list, once, then members one by one again.
    if (count <= this.#max) {
      this.#switch(false);
      frame.members = this.#room.list();
    } else {
      this.#shown = count;
    }
    this.#room.broadcast(JSON.stringify(frame));
  }

  #switch(counting: boolean): void {
    this.#woke = false;
    this.#counting = counting;
    this.#shown = null;
    this.#fall = null;
    // Counts from an earlier period say nothing about now: the next one is always sent, even
    // if it equals the last count sent then (a room back at that count must still switch back).
    this.#throttle.forget();
    if (counting) this.#kv.put(COUNTING_KEY, true);
    else this.#kv.delete(COUNTING_KEY);
  }
}
