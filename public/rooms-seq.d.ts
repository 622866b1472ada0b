// Generated from the JSDoc of rooms-seq.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
/**
 * The client's side of the room's order (docs/protocol.md, "One order", "Welcome and replay"):
 * the newest `seq` handed to listeners, which is both where the next connection resumes (`since`)
 * and the line at or below which a frame is a duplicate. It also follows the replay a `welcome`
 * announces, and says when the room's history no longer reaches back to us (a gap) or when the
 * replay left frames out that are still to be had (rooms-backfill.js pages back for those). No
 * sockets, no timers and no listeners here: rooms-client.js asks, then emits and sends.
 */
export type WelcomeFrame = import("./rooms-protocol.js").WelcomeFrame;
export type StoredFrame = import("./rooms-protocol.js").StoredFrame;
export type Gap = import("./rooms-client-types.js").Gap;
export declare class SeqTracker {
  #private;
  /** @param {number | undefined} since resume after this `seq` (none: from the room's start) */
  constructor(since: number | undefined);
  /** The newest `seq` handed to listeners: the resume point and the dedupe line. */
  get last(): number | undefined;
  /**
   * Compares a welcome with where we are, and says what its replay will not bring:
   * - `gap`: frames we cannot get. The room trimmed them; or it is behind us (its storage was
   *   reset) and we follow it, or every new frame would look like one we had already seen.
   * - `leftOut`: frames after our `since` that the room left out of the replay for its byte
   *   budget (`replay.from` is past `since`). They are still in its history: page back for them.
   * A join without `since` asked for the newest frames only: fewer of them is no gap.
   * @param {WelcomeFrame} frame
   * @returns {{ gap: Gap | null, leftOut: { since: number } | null }}
   */
  welcome(frame: WelcomeFrame): {
    gap: Gap | null;
    leftOut: {
      since: number;
    } | null;
  };
  /**
   * Expects the replay the welcome announced; with none, we are at the welcome's `seq` already.
   * @param {WelcomeFrame} frame
   */
  expectReplay(frame: WelcomeFrame): void;
  /**
   * Whether listeners get a stored or live frame: each `seq` once (an overlapping replay or a
   * re-delivery is dropped), and a live-only event (no `seq`: not part of the order) always.
   * A frame let through becomes the newest seen.
   * @param {StoredFrame} frame
   */
  accept(frame: StoredFrame): boolean;
  /**
   * A frame was handled (delivered or dropped): while a replay runs, counts it off. After the
   * whole replay we hold everything we may see up to the welcome's `seq` (frames between are
   * others' direct ones): the next connection resumes from there.
   * @param {StoredFrame} frame
   */
  handled(frame: StoredFrame): void;
  /** The connection carrying the replay is gone: the rest of it will not come. */
  stopReplay(): void;
}
