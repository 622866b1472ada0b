// @ts-check
/**
 * Paging back through a room's history, for the pages that show older frames: the chat page's
 * "Load older messages", the jobs page's "Load older jobs" and the dashboard, which fills its
 * charts on join. It keeps where the next page starts (the oldest `seq` the page has seen, of any
 * stored frame: a page of history begins where the previous one ended), whether the room has
 * anything older, and whether a page is on its way.
 *
 * Only the room says when its start is reached: `complete` on a `history` answer, or a welcome
 * whose replay began at its first frame or held all it had (see `welcomed`). A page shorter than
 * asked is not the last when the room's byte budget (`MAX_REPLAY_BYTES`) cut it, so a length is
 * never taken for an answer. No DOM and no client here, so Node tests it
 * (test/node/history-paging.test.ts); kit/history.js wires it to a client for the pages.
 */
import { REPLAY_ON_JOIN } from "./rooms-protocol.js";

/** @typedef {{ before?: number, limit: number }} PageRequest */

export class HistoryPaging {
  /** @type {number | undefined} */
  oldest;
  complete = false;
  loading = false;

  /** @param {number} pageSize frames asked for per page (at most MAX_HISTORY_PAGE) */
  constructor(pageSize) {
    this.pageSize = pageSize;
  }

  /** @param {number | undefined} seq of a stored frame that reached the page */
  saw(seq) {
    if (seq !== undefined && (this.oldest === undefined || seq < this.oldest)) this.oldest = seq;
  }

  /**
   * The welcome of a join without `since`, whose replay is the room's newest frames: nothing is
   * older when it starts at the room's first frame, or holds all the room has (fewer than a
   * full replay, with none left out for the budget: `complete`). A short replay that the budget
   * cut says `complete: false`, and older frames are there to fetch.
   * @param {{ from: number, count: number, complete: boolean }} replay
   */
  welcomed(replay) {
    if (replay.from === 0 || (replay.complete && replay.count < REPLAY_ON_JOIN)) {
      this.complete = true;
    } else if (this.oldest === undefined) {
      this.oldest = replay.from + 1;
    }
  }

  /**
   * The next history request, or null when there is nothing to ask (all loaded, or a page is
   * on its way). Marks a page as on its way.
   * @returns {PageRequest | null}
   */
  next() {
    if (this.complete || this.loading) return null;
    this.loading = true;
    return { ...(this.oldest === undefined ? {} : { before: this.oldest }), limit: this.pageSize };
  }

  /**
   * A history answer arrived. `complete` sticks once the room said so; an empty page cannot
   * move the cursor, so asking again would only bring it again: it ends the paging too.
   * Returns the frames older than any seen before, so a page answered twice adds nothing twice.
   * @template {{ seq?: number }} F
   * @param {{ messages: F[], complete: boolean }} page
   * @returns {F[]}
   */
  answered(page) {
    const bound = this.oldest ?? Infinity;
    const fresh = page.messages.filter((f) => f.seq !== undefined && f.seq < bound);
    for (const frame of page.messages) this.saw(frame.seq);
    this.loading = false;
    if (page.complete || page.messages.length === 0) this.complete = true;
    return fresh;
  }

  /** The connection was lost meanwhile: a request may have gone with it, so asking is allowed again. */
  interrupted() {
    this.loading = false;
  }
}
