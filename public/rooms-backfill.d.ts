// Generated from the JSDoc of rooms-backfill.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
export type WelcomeFrame = import("./rooms-protocol.js").WelcomeFrame;
export type HistoryFrame = import("./rooms-protocol.js").HistoryFrame;
export type StoredFrame = import("./rooms-protocol.js").StoredFrame;
export type Gap = import("./rooms-client-types.js").Gap;
export type BackfillRequest = {
  type: "history";
  id: string;
  before: number;
  limit: number;
};
export type Backfilled = {
  /**
   * frames that were not to be had after all (trimmed meanwhile)
   */
  gap: Gap | null;
  /**
   * the frames the replay left out, oldest first
   */
  missing: StoredFrame[];
  /**
   * the replay and live frames that arrived meanwhile, as they came
   */
  held: StoredFrame[];
};
export declare class Backfill {
  #private;
  /** The welcome whose replay this completes. */
  welcome: import("./rooms-protocol.js").WelcomeFrame;
  /**
   * @param {WelcomeFrame} welcome a welcome whose replay left frames out for the budget
   * @param {number} since the seq the join resumed after
   */
  constructor(welcome: WelcomeFrame, since: number);
  /**
   * The next request. It carries `id` so its answer is told apart from a page's own `history`
   * requests, and asks for no more than the seqs down to `since` itself: a page that shows
   * `since` (or the frame right after it) proves nothing is missing.
   * @param {string} id
   * @returns {BackfillRequest}
   */
  request(id: string): BackfillRequest;
  /** Whether a `history` answer or an `error` with this `id` answers our request. @param {string | undefined} id */
  owns(id: string | undefined): boolean;
  /** A stored frame (replayed or live) that came while we page back: it waits its turn. @param {StoredFrame} frame */
  hold(frame: StoredFrame): void;
  /**
   * Takes the answer to our request.
   * @param {HistoryFrame} page
   * @returns {boolean} true when done (see `release`), false when another request is due
   */
  answer(page: HistoryFrame): boolean;
  /** The room would not answer (it refused the request): what was fetched goes on, with a gap. */
  giveUp(): void;
  /** @returns {Backfilled} */
  release(): Backfilled;
}
