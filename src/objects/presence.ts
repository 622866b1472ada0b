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
 * Which of the two the clients were last told is stored (one key, written only when it
 * switches): an object evicted while a switch back to lists was still due must send the list
 * after it wakes, or its clients would keep an empty list. The throttle itself is the same one
 * the registry report uses, with the object's alarm for the trailing frame, so no timer keeps a
 * room awake.
 */
import { OccupancyReport } from "./registry";
import type { Member, PresenceCountFrame } from "../protocol";

const COUNTING_KEY = "presence:counting";

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
  /** Whether the clients were told counts (true) or member lists (false). */
  #counting: boolean;

  constructor(max: number, intervalMs: number, kv: SyncKvStorage, room: PresenceRoom) {
    this.#max = max;
    this.#kv = kv;
    this.#room = room;
    this.#counting = kv.get(COUNTING_KEY) === true;
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
   * A user's first socket arrived or its last left. Returns true when the caller announces it
   * per member (`join`/`leave`), false when it is announced as a count.
   */
  changed(now: number): boolean {
    if (!this.#counting && this.#room.count() > this.#max) this.#switch(true);
    if (!this.#counting) return true;
    this.#throttle.changed(this.#room.count(), now);
    return false;
  }

  /** The object's alarm: the trailing `count` frame when due; when the alarm is next needed. */
  onAlarm(now: number): number | null {
    if (!this.#counting) return null;
    return this.#throttle.onAlarm(this.#room.count(), now);
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
    }
    this.#room.broadcast(JSON.stringify(frame));
  }

  #switch(counting: boolean): void {
    this.#counting = counting;
    // Counts from an earlier period say nothing about now: the next one is always sent, even
    // if it equals the last count sent then (a room back at that count must still switch back).
    this.#throttle.forget();
    if (counting) this.#kv.put(COUNTING_KEY, true);
    else this.#kv.delete(COUNTING_KEY);
  }
}
