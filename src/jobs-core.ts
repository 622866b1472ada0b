/**
 * What submitting a job (jobs-submit.ts) and running it (jobs-run.ts) share: the job as it
 * travels on the queue, where it reports (its user's personal room, under push ids derived from
 * the job id), and the processors configured per kind.
 */
import { PERSONAL_ROOM_PREFIX } from "./protocol";
import type { PublishResult, RoomEvent } from "./room";

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
