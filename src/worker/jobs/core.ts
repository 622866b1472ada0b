/**
 * What submitting a job (jobs-submit.ts) and running it (jobs-run.ts) share: the job as it
 * travels on the queue, where it reports (its user's personal room, under push ids derived from
 * the job id), the processors configured per kind, and how large a job may be.
 */
import { PERSONAL_ROOM_PREFIX, readLimits, readPositive } from "../../protocol";
import type { PublishResult, RoomEvent } from "../../protocol";

/** What travels on the queue. */
export interface Job {
  id: string;
  user: string;
  kind: string;
  input: unknown;
  /** ms since epoch, when it was accepted. */
  at: number;
}

/** A job that did not make it, as it is sent to the dead-letter queue. */
export interface DeadJob extends Job {
  reason: string;
  attempts: number;
}

/** Needs no outside service: the size and type of a file served from public/. */
export const BUILTIN_KIND = "file.inspect";
export const KIND = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Jobs report to their user's personal room, which only that user can join. */
export const jobRoom = (user: string) => `${PERSONAL_ROOM_PREFIX}${user}`;

/** A failure that retrying cannot fix (a 4xx answer, a bad input): reported at once. */
export class PermanentJobError extends Error {}

export type JobStage = "queued" | "done" | "failed";

/**
 * The push id of a job's event at one stage. The room remembers push ids for 24 h, so the id
 * doubles as the job's record there: `queued` says it was accepted (a replayed submission is
 * answered from it), `done` and `failed` that it was reported (a redelivery is not run again).
 */
export const pushId = (jobId: string, stage: JobStage) => `${jobId}:${stage}`;

/** Pushes `job.<stage>` to the job's user only, stored, named by `pushId`. */
export function publish(
  env: Env,
  job: Job,
  stage: JobStage,
  data: unknown,
): Promise<PublishResult> {
  const event: RoomEvent = {
    id: pushId(job.id, stage),
    event: `job.${stage}`,
    data,
    to: job.user,
    store: true,
  };
  return env.ROOMS.getByName(jobRoom(job.user)).publish(event.id, [event]);
}

/** JOB_PROCESSORS: a JSON object of kind → HTTPS URL. A malformed value is a loud error. */
export function readProcessors(raw: string | undefined): Map<string, string> {
  if (raw === undefined || raw.trim() === "") return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error("JOB_PROCESSORS must be a JSON object of kind -> URL");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("JOB_PROCESSORS must be a JSON object of kind -> URL");
  }
  const out = new Map<string, string>();
  for (const [kind, url] of Object.entries(parsed)) {
    if (!KIND.test(kind) || typeof url !== "string" || !/^https?:\/\//.test(url)) {
      throw new Error(`JOB_PROCESSORS: "${kind}" must map to an http(s) URL`);
    }
    out.set(kind, url);
  }
  return out;
}

// ---- size ----

/**
 * What one Cloudflare Queues message carries: 128 KB, where a KB is 1,000 bytes, and up to
 * ~100 bytes of it are the platform's own metadata
 * (https://developers.cloudflare.com/queues/platform/limits/). wrangler dev's local queue
 * refuses a message over 128,000 bytes, so this holds there as well as deployed.
 */
export const QUEUE_MESSAGE_MAX_BYTES = 128_000 - 100;

/**
 * The default JOB_MAX_BYTES, 128 KiB, as the protocol states it. One queue message carries a
 * little less (QUEUE_MESSAGE_MAX_BYTES), so a body close to this limit can still be too large
 * once queued: that job is refused 413 when it is queued (jobs-submit.ts), never a 500. An
 * operator who wants the limit to name exactly what is accepted sets JOB_MAX_BYTES = 127000.
 */
export const DEFAULT_JOB_MAX_BYTES = 131_072;

/** The largest job body, and the variable that set it (named in the 413's message). */
export interface JobBodyLimit {
  bytes: number;
  name: "JOB_MAX_BYTES" | "MAX_PUSH_BYTES";
}

/**
 * JOB_MAX_BYTES, read with the rule of every limit in src/protocol/limits.ts: unset is the default, and
 * anything but a positive integer is a loud error, never "unlimited". MAX_PUSH_BYTES bounds
 * every signed body, so a lower one wins.
 */
export function readJobBodyLimit(
  env: Parameters<typeof readLimits>[0] & { JOB_MAX_BYTES?: unknown },
): JobBodyLimit {
  const bytes = readPositive(env.JOB_MAX_BYTES, "JOB_MAX_BYTES", DEFAULT_JOB_MAX_BYTES, true);
  const { maxPushBytes } = readLimits(env);
  return bytes <= maxPushBytes
    ? { bytes, name: "JOB_MAX_BYTES" }
    : { bytes: maxPushBytes, name: "MAX_PUSH_BYTES" };
}
