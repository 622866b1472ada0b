/**
 * Filling in what a resumed replay left out. A join with `since` is replayed only the newest
 * frames that fit the room's byte budget (`MAX_REPLAY_BYTES`); the welcome then says
 * `replay.complete: false` with `replay.from` past our `since`, and the frames in between are
 * still in the room's history. The client pages back for them with `history` requests, newest
 * page first, until it reaches `since` (or the room has nothing older), and only then hands
 * everything on, oldest first: the frames that were left out, then the replay and whatever came
 * live meanwhile, which were held back so that listeners see one unbroken order, as if the room
 * had replayed it all. No sockets, timers or listeners here: inbox.ts sends the requests this
 * asks for and delivers what it gives back.
 */
import { MAX_HISTORY_PAGE } from "../protocol/client-frames.ts";
import type { HistoryFrame, StoredFrame, WelcomeFrame } from "../protocol/frames.ts";
import type { Gap } from "./types.ts";

export interface BackfillRequest {
  type: "history";
  id: string;
  before: number;
  limit: number;
}

/** What a finished backfill hands on, in this order. */
export interface Backfilled {
  /** Frames that were not to be had after all (trimmed meanwhile). */
  gap: Gap | null;
  /** The frames the replay left out, oldest first. */
  missing: StoredFrame[];
  /** The replay and live frames that arrived meanwhile, as they came. */
  held: StoredFrame[];
}

const seqOf = (frame: StoredFrame): number => frame.seq ?? 0; // history pages hold stored frames only: all have one

export class Backfill {
  /** The welcome whose replay this completes. */
  readonly welcome: WelcomeFrame;
  #since: number;
  /** The oldest seq we hold from the room after `since`: the next page ends below it. */
  #before: number;
  /** The id of the request on its way; "" when none is. */
  #id = "";
  /** Pages as they came: newest first, each oldest first. */
  #pages: StoredFrame[][] = [];
  #held: StoredFrame[] = [];
  #gap = false;

  /**
   * `welcome`: a welcome whose replay left frames out for the budget; `since`: the seq the join
   * resumed after.
   */
  constructor(welcome: WelcomeFrame, since: number) {
    this.welcome = welcome;
    this.#since = since;
    this.#before = welcome.replay.from + 1;
  }

  /**
   * The next request. It carries `id` so its answer is told apart from a page's own `history`
   * requests, and asks for no more than the seqs down to `since` itself: a page that shows
   * `since` (or the frame right after it) proves nothing is missing.
   */
  request(id: string): BackfillRequest {
    this.#id = id;
    const limit = Math.max(1, Math.min(MAX_HISTORY_PAGE, this.#before - this.#since));
    return { type: "history", id, before: this.#before, limit };
  }

  /** Whether a `history` answer or an `error` with this `id` answers our request. */
  owns(id: string | undefined): boolean {
    return id !== undefined && id !== "" && id === this.#id;
  }

  /** A stored frame (replayed or live) that came while we page back: it waits its turn. */
  hold(frame: StoredFrame): void {
    this.#held.push(frame);
  }

  /**
   * Takes the answer to our request: true when done (see `release`), false when another
   * request is due.
   */
  answer(page: HistoryFrame): boolean {
    this.#id = "";
    const older = page.messages
      .filter((f) => seqOf(f) < this.#before)
      .sort((a, b) => seqOf(a) - seqOf(b));
    this.#pages.push(older.filter((f) => seqOf(f) > this.#since));
    const oldest = older[0];
    if (oldest !== undefined && seqOf(oldest) <= this.#since + 1) return true;
    if (page.complete || oldest === undefined) {
      // Nothing older is left, yet the seqs between `since` and the oldest frame were not seen.
      // Others' direct frames there would look the same, but then a frame we may see at or
      // below `since` would have come too: none is left, so the room trimmed up to here.
      this.#gap = true;
      return true;
    }
    this.#before = seqOf(oldest);
    return false;
  }

  /** The room would not answer (it refused the request): what was fetched goes on, with a gap. */
  giveUp(): void {
    this.#id = "";
    this.#gap = true;
  }

  release(): Backfilled {
    return {
      gap: this.#gap ? { reason: "trimmed", since: this.#since, seq: this.welcome.seq } : null,
      missing: this.#pages.slice().reverse().flat(),
      held: this.#held,
    };
  }
}
