/**
 * The client's side of the room's order: the newest `seq` handed to listeners, which is both
 * where the next connection resumes (`since`) and the line at or below which a frame is a
 * duplicate. It also follows the replay a `welcome` announces, and says when the room's history
 * no longer reaches back to us (a gap) or when the replay left frames out that are still to be
 * had (backfill.ts pages back for those). No sockets, no timers and no listeners here: the
 * client asks, then emits and sends.
 */
import type { StoredFrame, WelcomeFrame } from "../protocol/frames.ts";
import type { Gap } from "./types.ts";

export class SeqTracker {
  #last: number | undefined;
  /** Replayed frames still expected after the current welcome, and that welcome's `seq`. */
  #replayLeft = 0;
  #replayHead = 0;

  /** `since`: resume after this `seq` (none: from the room's start). */
  constructor(since: number | undefined) {
    this.#last = since;
  }

  /** The newest `seq` handed to listeners: the resume point and the dedupe line. */
  get last(): number | undefined {
    return this.#last;
  }

  /**
   * Compares a welcome with where we are, and says what its replay will not bring:
   * - `gap`: frames we cannot get. The room trimmed them; or it is behind us (its storage was
   *   reset) and we follow it, or every new frame would look like one we had already seen.
   * - `leftOut`: frames after our `since` that the room left out of the replay for its byte
   *   budget (`replay.from` is past `since`). They are still in its history: page back for them.
   * A join without `since` asked for the newest frames only: fewer of them is no gap.
   */
  welcome(frame: WelcomeFrame): { gap: Gap | null; leftOut: { since: number } | null } {
    const since = this.#last;
    if (since !== undefined && frame.seq < since) {
      this.#last = frame.seq;
      return { gap: { reason: "reset", since, seq: frame.seq }, leftOut: null };
    }
    if (since === undefined || frame.replay.complete) return { gap: null, leftOut: null };
    if (frame.replay.from > since) return { gap: null, leftOut: { since } };
    return { gap: { reason: "trimmed", since, seq: frame.seq }, leftOut: null };
  }

  /** Expects the replay the welcome announced; with none, we are at the welcome's `seq` already. */
  expectReplay(frame: WelcomeFrame): void {
    this.#replayLeft = frame.replay.count;
    this.#replayHead = frame.seq;
    if (this.#replayLeft === 0) this.#advance(frame.seq);
  }

  /**
   * Whether listeners get a stored or live frame: each `seq` once (an overlapping replay or a
   * re-delivery is dropped), and a live-only event (no `seq`: not part of the order) always.
   * A frame let through becomes the newest seen.
   */
  accept(frame: StoredFrame): boolean {
    if (frame.seq === undefined) return true;
    if (this.#last !== undefined && frame.seq <= this.#last) return false;
    this.#last = frame.seq;
    return true;
  }

  /**
   * A frame was handled (delivered or dropped): while a replay runs, counts it off. After the
   * whole replay we hold everything we may see up to the welcome's `seq` (frames between are
   * others' direct ones): the next connection resumes from there.
   */
  handled(frame: StoredFrame): void {
    if (frame.seq === undefined) return;
    if (this.#replayLeft > 0 && --this.#replayLeft === 0) this.#advance(this.#replayHead);
  }

  /** The connection carrying the replay is gone: the rest of it will not come. */
  stopReplay(): void {
    this.#replayLeft = 0;
  }

  #advance(seq: number): void {
    if (this.#last === undefined || seq > this.#last) this.#last = seq;
  }
}
