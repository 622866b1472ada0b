/**
 * Stored frames in the room's order, each handed on once, with no hole after a reconnect. The
 * room replays only the newest frames that fit its byte budget (`MAX_REPLAY_BYTES`), so when
 * frames after `since` were left out, this first fetches them with `history` requests of its
 * own (backfill.ts), holding back the replay and live frames meanwhile, then hands them all
 * on, oldest first, as if they had been replayed (centrifuge-js delivers recovered
 * publications the same way). Only frames the room no longer has at all are a gap.
 */
import type { ErrorFrame, HistoryFrame, StoredFrame, WelcomeFrame } from "../protocol/frames.ts";
import { Backfill } from "./backfill.ts";
import type { Link } from "./link.ts";
import { SeqTracker } from "./seq.ts";
import type { Gap } from "./types.ts";

/**
 * How long a backfill request refused as `rate_limited` waits to be asked again: the room's
 * bucket refills many frames a second (RATE_PER_SEC, default 20), so one is back by then.
 */
const BACKFILL_RETRY_MS = 1_000;

export interface InboxOutput {
  /** A stored or live frame, new to listeners. */
  deliver(frame: StoredFrame): void;
  gap(gap: Gap): void;
  /** An id for a backfill request, unique like the client's own frames'. */
  newId(): string;
}

export class Inbox {
  /** Where the next connection resumes, which `seq`s were seen, the replay under way. */
  #seq: SeqTracker;
  /**
   * Paging back for what the current replay left out for the byte budget; null when nothing is
   * missing. While it runs, stored frames wait in it.
   */
  #backfill: Backfill | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #out: InboxOutput;

  constructor(since: number | undefined, out: InboxOutput) {
    this.#seq = new SeqTracker(since);
    this.#out = out;
  }

  /** The newest `seq` seen; the next connection resumes after it. */
  get last(): number | undefined {
    return this.#seq.last;
  }

  /**
   * A welcome: reports a gap it shows, and expects its replay, unless frames before it were
   * left out for the budget: then the replay waits until they are in (see `askBackfill`).
   */
  welcome(frame: WelcomeFrame): void {
    const { gap, leftOut } = this.#seq.welcome(frame);
    if (gap !== null) this.#out.gap(gap);
    if (leftOut === null) this.#seq.expectReplay(frame);
    else this.#backfill = new Backfill(frame, leftOut.since);
  }

  /** A stored frame, replayed or live: handed on now, or held while we page back. */
  stored(frame: StoredFrame): void {
    if (this.#backfill !== null) this.#backfill.hold(frame);
    else this.#take(frame);
  }

  /** Asks for the next page of what the replay left out, if that is under way. */
  askBackfill(link: Link): void {
    this.#retryTimer = undefined;
    if (this.#backfill === null || link.detached) return;
    try {
      link.send(JSON.stringify(this.#backfill.request(this.#out.newId())));
    } catch {
      // The socket is dying: its close event reconnects, and that welcome starts over.
    }
  }

  /** Takes a `history` frame if it answers our own request; false when it is the page's. */
  history(link: Link, page: HistoryFrame): boolean {
    if (!this.#backfill?.owns(page.id)) return false;
    if (this.#backfill.answer(page) === false) this.askBackfill(link);
    else this.#finish(link);
    return true;
  }

  /**
   * Takes an `error` frame if it refuses our own request; false otherwise. Too fast is asked
   * again a little later; anything else will not get better, so what was fetched goes on, with
   * a gap.
   */
  refused(link: Link, error: ErrorFrame): boolean {
    if (!this.#backfill?.owns(error.id)) return false;
    if (error.code === "rate_limited") {
      this.#retryTimer = setTimeout(() => this.askBackfill(link), BACKFILL_RETRY_MS);
    } else {
      this.#backfill.giveUp();
      this.#finish(link);
    }
    return true;
  }

  /**
   * The link is gone. Nothing of a backfill was handed on, and `since` has not moved: the next
   * welcome starts over.
   */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#seq.stopReplay();
    this.#backfill = null;
  }

  /**
   * Listeners get each seq once (a replay may overlap, a frame come twice); a live-only event,
   * which has no seq, always. A replayed frame is counted off the replay.
   */
  #take(frame: StoredFrame): void {
    if (this.#seq.accept(frame)) this.#out.deliver(frame);
    this.#seq.handled(frame);
  }

  /**
   * Everything the replay left out is in: hands it on oldest first, then the replay and the
   * live frames that waited, through the usual dedupe. The replay is counted from here, so the
   * resume point only moves past the left-out frames once listeners have them.
   */
  #finish(link: Link): void {
    const backfill = this.#backfill;
    if (backfill === null) return;
    this.#backfill = null;
    const { gap, missing, held } = backfill.release();
    if (gap !== null) this.#out.gap(gap);
    for (const frame of missing) {
      if (link.detached) return; // a listener closed the client
      if (this.#seq.accept(frame)) this.#out.deliver(frame);
    }
    this.#seq.expectReplay(backfill.welcome);
    for (const frame of held) {
      if (link.detached) return;
      this.#take(frame);
    }
  }
}
