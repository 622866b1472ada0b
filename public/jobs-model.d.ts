// Generated from the JSDoc of jobs-model.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
export type EventFrame = import("./rooms-protocol.js").EventFrame;
export type Stage = "queued" | "done" | "failed";
export type JobUpdate = {
  job: string;
  stage: Stage;
  kind?: string;
  /**
   * with `done`
   */
  result?: unknown;
  /**
   * with `failed`
   */
  reason?: string;
  /**
   * with `failed`
   */
  attempts?: number;
  ts: number;
  /**
   * the event's place in the room's order; none for the 202 answer
   */
  seq?: number;
};
export type Job = {
  id: string;
  kind: string | undefined;
  /**
   * the update whose stage is shown: the furthest one known
   */
  shown: JobUpdate;
  /**
   * the smallest `seq` of its events seen so far (Infinity before any)
   */
  first: number;
  /**
   * the order in which the page learnt of the jobs (breaks ties of `first`)
   */
  made: number;
};
export type Applied = {
  job: Job;
  /**
   * the job is new to the page
   */
  created: boolean;
  /**
   * its shown stage, time and outcome are now those of the update
   */
  restaged: boolean;
  /**
   * its place in the list changed (older events of it turned up)
   */
  moved: boolean;
};
/** A job only moves forward: a late or older `queued` never undoes `done` or `failed`. */
export declare const STAGE_RANK: {
  queued: number;
  done: number;
  failed: number;
};
/**
 * Reads a job event of the user's room (src/jobs.ts); anything else in the room is not ours to
 * show.
 * @param {EventFrame} frame
 * @param {() => number} [now] the time for a frame without `ts`
 * @returns {JobUpdate | null}
 */
export declare function parseJobEvent(frame: EventFrame, now?: () => number): JobUpdate | null;
/**
 * Whether `next` is further along than what a job shows now: a higher stage, or the same stage
 * later in the room's order.
 * @param {JobUpdate} next
 * @param {JobUpdate} shown
 */
export declare function supersedes(next: JobUpdate, shown: JobUpdate): boolean;
/**
 * Whether job `a` is listed above job `b` (newest first).
 * @param {Job} a
 * @param {Job} b
 */
export declare const listedAbove: (a: Job, b: Job) => boolean;
/** Every job the page knows, merged from updates in whatever order they arrive. */
export declare class JobBook {
  #private;
  get size(): number;
  /** @param {string} id */
  get(id: string): Job | undefined;
  /**
   * Merges one update into its job.
   * @param {JobUpdate} u
   * @returns {Applied}
   */
  apply(u: JobUpdate): Applied;
  /**
   * The job listed just below one: the newest of the jobs older than it, or null when it is the
   * oldest (its item goes last).
   * @param {string} id
   * @returns {string | null}
   */
  nextOlder(id: string): string | null;
  /** @returns {Job[]} newest first, as the page lists them */
  newestFirst(): Job[];
}
