// @ts-check
/**
 * The jobs page's state, apart from any DOM: job events in (live, replayed on join, or from a
 * history page), what to show of each job out. It runs anywhere, so Node tests it
 * (test/node/jobs-model.test.ts).
 *
 * Events of one job can arrive in any order: a history page brings events older than the ones
 * the page already has, so a job's `job.done` may be shown long before its `job.queued` turns
 * up, and the 202 answer of `POST /jobs` may come before or after the job's own events. The
 * merge therefore never depends on arrival:
 * - a job's stage only moves forward (queued, then done or failed); between two events of the
 *   same rank the one later in the room's order (`seq`) wins, and an event with a `seq` wins
 *   over the 202 answer, which has none. Applying an event twice changes nothing.
 * - a job's place in the list is the oldest of its events seen so far (its smallest `seq`),
 *   newest first; a job known only from the 202 answer is newer than anything. A job whose
 *   older events turn up later moves down to where it belongs, so once every page is loaded
 *   the list is the same as if the room had replayed everything at once.
 */
import { isObject } from "./rooms-protocol.js";

/** @typedef {import("./rooms-protocol.js").EventFrame} EventFrame */
/** @typedef {"queued" | "done" | "failed"} Stage */
/**
 * @typedef {object} JobUpdate what one event (or the 202 answer) says about a job
 * @property {string} job
 * @property {Stage} stage
 * @property {string} [kind]
 * @property {unknown} [result] with `done`
 * @property {string} [reason] with `failed`
 * @property {number} [attempts] with `failed`
 * @property {number} ts
 * @property {number} [seq] the event's place in the room's order; none for the 202 answer
 */
/**
 * @typedef {object} Job what the page shows of one job
 * @property {string} id
 * @property {string | undefined} kind
 * @property {JobUpdate} shown the update whose stage is shown: the furthest one known
 * @property {number} first the smallest `seq` of its events seen so far (Infinity before any)
 * @property {number} made the order in which the page learnt of the jobs (breaks ties of `first`)
 */
/**
 * @typedef {object} Applied what one update changed
 * @property {Job} job
 * @property {boolean} created the job is new to the page
 * @property {boolean} restaged its shown stage, time and outcome are now those of the update
 * @property {boolean} moved its place in the list changed (older events of it turned up)
 */

/** A job only moves forward: a late or older `queued` never undoes `done` or `failed`. */
export const STAGE_RANK = { queued: 0, done: 1, failed: 1 };

/**
 * Reads a job event of the user's room (src/worker/jobs/); anything else in the room is not ours to
 * show.
 * @param {EventFrame} frame
 * @param {() => number} [now] the time for a frame without `ts`
 * @returns {JobUpdate | null}
 */
export function parseJobEvent(frame, now = Date.now) {
  const stage = frame.event.startsWith("job.") ? frame.event.slice("job.".length) : "";
  if (stage !== "queued" && stage !== "done" && stage !== "failed") return null;
  const d = frame.data;
  if (!isObject(d) || typeof d.job !== "string") return null;
  return {
    job: d.job,
    stage,
    ...(typeof d.kind === "string" ? { kind: d.kind } : {}),
    ...("result" in d ? { result: d.result } : {}),
    ...(typeof d.reason === "string" ? { reason: d.reason } : {}),
    ...(typeof d.attempts === "number" ? { attempts: d.attempts } : {}),
    ts: typeof frame.ts === "number" ? frame.ts : now(),
    ...(typeof frame.seq === "number" ? { seq: frame.seq } : {}),
  };
}

/**
 * Whether `next` is further along than what a job shows now: a higher stage, or the same stage
 * later in the room's order.
 * @param {JobUpdate} next
 * @param {JobUpdate} shown
 */
export function supersedes(next, shown) {
  const ahead = STAGE_RANK[next.stage] - STAGE_RANK[shown.stage];
  if (ahead !== 0) return ahead > 0;
  if (next.seq === undefined) return false;
  return shown.seq === undefined || next.seq > shown.seq;
}

/**
 * Whether job `a` is listed above job `b` (newest first).
 * @param {Job} a
 * @param {Job} b
 */
export const listedAbove = (a, b) => a.first > b.first || (a.first === b.first && a.made > b.made);

/** Every job the page knows, merged from updates in whatever order they arrive. */
export class JobBook {
  /** @type {Map<string, Job>} */
  #jobs = new Map();
  #made = 0;

  get size() {
    return this.#jobs.size;
  }

  /** @param {string} id */
  get(id) {
    return this.#jobs.get(id);
  }

  /**
   * Merges one update into its job.
   * @param {JobUpdate} u
   * @returns {Applied}
   */
  apply(u) {
    const first = u.seq ?? Infinity;
    const known = this.#jobs.get(u.job);
    if (known === undefined) {
      /** @type {Job} */
      const job = { id: u.job, kind: u.kind, shown: u, first, made: this.#made++ };
      this.#jobs.set(u.job, job);
      return { job, created: true, restaged: true, moved: false };
    }
    if (u.kind !== undefined) known.kind = u.kind;
    const restaged = supersedes(u, known.shown);
    if (restaged) known.shown = u;
    const moved = first < known.first;
    if (moved) known.first = first;
    return { job: known, created: false, restaged, moved };
  }

  /**
   * The job listed just below one: the newest of the jobs older than it, or null when it is the
   * oldest (its item goes last).
   * @param {string} id
   * @returns {string | null}
   */
  nextOlder(id) {
    const job = this.#jobs.get(id);
    if (job === undefined) return null;
    /** @type {Job | null} */
    let next = null;
    for (const other of this.#jobs.values()) {
      if (other !== job && listedAbove(job, other) && (next === null || listedAbove(other, next)))
        next = other;
    }
    return next?.id ?? null;
  }

  /** @returns {Job[]} newest first, as the page lists them */
  newestFirst() {
    return [...this.#jobs.values()].sort((a, b) => (listedAbove(a, b) ? -1 : 1));
  }
}
