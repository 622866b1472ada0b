/**
 * Background jobs whose results are pushed to their user: the edge version of Celery + a Redis
 * list + a push to the user's group. `POST /jobs` (jobs-submit.ts) checks the credential, queues
 * the job on a Cloudflare Queue and answers 202 at once; the Worker's `queue()` consumer
 * (jobs-run.ts) calls the processor configured for the job's kind, signed with HOOK_SECRET, and
 * pushes `job.done` or `job.failed` into the user's room (`user-<id>`) as a stored event for that
 * user only. What both share, the job and its record in the room, is in jobs-core.ts.
 *
 * Exactly once, end to end: every push carries an id derived from the job id, and the room
 * remembers push ids for 24 h, so a replayed submission is not queued again and a redelivered
 * message neither runs again nor pushes twice.
 */
export { consumeJobs } from "./run";
export { submitJob } from "./submit";
export {
  BUILTIN_KIND,
  DEFAULT_JOB_MAX_BYTES,
  QUEUE_MESSAGE_MAX_BYTES,
  jobRoom,
  readJobBodyLimit,
  readProcessors,
  type DeadJob,
  type Job,
} from "./core";
