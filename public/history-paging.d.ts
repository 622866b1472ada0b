// Generated from the JSDoc of history-paging.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
export type PageRequest = {
  before?: number;
  limit: number;
};
export declare class HistoryPaging {
  pageSize: number;
  /** @type {number | undefined} */
  oldest: number | undefined;
  complete: boolean;
  loading: boolean;
  /** @param {number} pageSize frames asked for per page (at most MAX_HISTORY_PAGE) */
  constructor(pageSize: number);
  /** @param {number | undefined} seq of a stored frame that reached the page */
  saw(seq: number | undefined): void;
  /**
   * The welcome of a join without `since`, whose replay is the room's newest frames: nothing is
   * older when it starts at the room's first frame, or holds all the room has (fewer than a
   * full replay, with none left out for the budget: `complete`). A short replay that the budget
   * cut says `complete: false`, and older frames are there to fetch.
   * @param {{ from: number, count: number, complete: boolean }} replay
   */
  welcomed(replay: { from: number; count: number; complete: boolean }): void;
  /**
   * The next history request, or null when there is nothing to ask (all loaded, or a page is
   * on its way). Marks a page as on its way.
   * @returns {PageRequest | null}
   */
  next(): PageRequest | null;
  /**
   * A history answer arrived. `complete` sticks once the room said so; an empty page cannot
   * move the cursor, so asking again would only bring it again: it ends the paging too.
   * Returns the frames older than any seen before, so a page answered twice adds nothing twice.
   * @template {{ seq?: number }} F
   * @param {{ messages: F[], complete: boolean }} page
   * @returns {F[]}
   */
  answered<
    F extends {
      seq?: number;
    },
  >(page: { messages: F[]; complete: boolean }): F[];
  /** The connection was lost meanwhile: a request may have gone with it, so asking is allowed again. */
  interrupted(): void;
}
