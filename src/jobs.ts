/**
 * Background jobs whose results are pushed to their user: the edge version of the origin
 * documents' Celery + Redis list + aiohttp pipeline. `POST /jobs` enqueues a job on a Cloudflare
 * Queue and answers 202 at once; the Worker's `queue()` consumer runs each batch concurrently,
 * calls the processor configured for the job's kind, and pushes `job.done` or `job.failed` into
 * the user's room (`user-<id>`) as a stored event for that user only.
 *
 * Exactly once, end to end: every push carries an id derived from the job id, and the room
 * remembers push ids for 24 h, so a redelivered message neither runs again nor pushes twice.
 */
import type { Context } from "hono";
import { verifyJoinToken } from "./auth";
import { ApiError } from "./errors";
import { PERSONAL_ROOM_PREFIX, isRoomName, isUserId, readLimits } from "./protocol";
import { readLimited } from "./push";
import type { RoomEvent } from "./room";
import { verifyWebhook } from "./webhook";

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
const KIND = /^[A-Za-z0-9_.:-]{1,64}$/;
const PROCESSOR_TIMEOUT_MS = 30_000;
const MAX_RETRY_DELAY_SEC = 300;

/** Jobs report to their user's personal room, which only that user can join. */
export const jobRoom = (user: string) => `${PERSONAL_ROOM_PREFIX}${user}`;

/** A failure that retrying cannot fix (a 4xx answer, a bad input): reported at once. */
export class PermanentJobError extends Error {}

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

// ---- POST /jobs ----

/**
 * Accepts a job from a backend (signed like /push) or from a browser with a join token for its
 * own user (`Authorization: Bearer <token>`, the token's room being the user's room or `*`).
 */
export async function submitJob(c: Context<{ Bindings: Env }>): Promise<Response> {
  const env = c.env;
  const body = await readLimited(c.req.raw, readLimits(env).maxPushBytes);
  const auth = c.req.header("Authorization");
  let job: Job;
  if (auth !== undefined) {
    const token = /^Bearer (\S+)$/.exec(auth)?.[1];
    if (token === undefined) {
      throw new ApiError(401, "unauthorized", "Authorization must be: Bearer <join token>");
    }
    job = parseJobBody(body, env, `job_${crypto.randomUUID()}`);
    // The token must admit to the user's own room (or any), and be that user's.
    const check = await verifyJoinToken(token, env.JOIN_SECRET, {
      kind: "room",
      name: jobRoom(job.user),
    });
    if (!check.ok)
      throw new ApiError(check.code === "unauthorized" ? 401 : 403, check.code, check.message);
    if (check.claims.sub !== job.user) {
      throw new ApiError(403, "forbidden", "a join token submits jobs for its own user only");
    }
  } else {
    if (!env.PUSH_SECRET)
      throw new ApiError(503, "push_disabled", "jobs from backends need PUSH_SECRET");
    const check = await verifyWebhook(
      env.PUSH_SECRET,
      c.req.raw.headers,
      body,
      Math.floor(Date.now() / 1000),
    );
    if (!check.ok) throw new ApiError(401, "bad_signature", check.reason);
    // The webhook id names the job, so a retried submission is the same job, reported once.
    job = parseJobBody(body, env, `job_${check.id}`);
  }
  await env.JOBS.send(job);
  await publish(env, job, "queued", { job: job.id, kind: job.kind });
  return c.json({ job: job.id }, 202);
}

function parseJobBody(bytes: Uint8Array, env: Env, id: string): Job {
  const invalid = (message: string) => new ApiError(400, "invalid_body", message);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw invalid("the body must be UTF-8 JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw invalid("the body must be a JSON object");
  const { user, kind, input } = raw as Record<string, unknown>;
  if (typeof user !== "string" || !isUserId(user) || !isRoomName(jobRoom(user))) {
    throw invalid(`"user" must be a user id that can name its room (A-Z a-z 0-9 _ . -)`);
  }
  if (typeof kind !== "string" || !KIND.test(kind))
    throw invalid('"kind" must be 1-64 of A-Z a-z 0-9 _ . : -');
  if (kind !== BUILTIN_KIND && !readProcessors(env.JOB_PROCESSORS).has(kind)) {
    throw new ApiError(400, "unknown_kind", `no processor for kind "${kind}" (JOB_PROCESSORS)`);
  }
  return { id, user, kind, input: input === undefined ? null : input, at: Date.now() };
}

// ---- the consumer ----

/** Runs one batch: every job concurrently, each acked, retried or dead-lettered on its own. */
export async function consumeJobs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((msg) => consumeOne(msg, env)));
}

async function consumeOne(msg: Message<unknown>, env: Env): Promise<void> {
  const job = asJob(msg.body);
  if (job === null) {
    // Nothing can ever process it, and nobody to tell: keep it for an operator, not in a loop.
    console.error("jobs: malformed message on the queue", msg.id);
    await env.JOBS_DLQ.send({ reason: "malformed job", body: msg.body, attempts: msg.attempts });
    msg.ack();
    return;
  }
  const room = env.ROOMS.getByName(jobRoom(job.user));
  try {
    if (
      (await room.published(pushId(job, "done"))) ||
      (await room.published(pushId(job, "failed")))
    ) {
      msg.ack(); // a redelivery of a job already reported
      return;
    }
    const result = await runProcessor(job, env);
    await publish(env, job, "done", { job: job.id, kind: job.kind, result });
    msg.ack();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const attempts = Number(env.JOB_ATTEMPTS ?? "3");
    if (err instanceof PermanentJobError || msg.attempts >= attempts) {
      try {
        await env.JOBS_DLQ.send({ ...job, reason, attempts: msg.attempts } satisfies DeadJob);
        await publish(env, job, "failed", {
          job: job.id,
          kind: job.kind,
          reason,
          attempts: msg.attempts,
        });
        msg.ack();
      } catch (reportErr) {
        // Could not even report: let the queue retry (and dead-letter it after max_retries).
        console.error(`jobs: could not report the failure of ${job.id}`, reportErr);
        msg.retry({ delaySeconds: retryDelay(msg.attempts, env) });
      }
      return;
    }
    console.warn(`jobs: ${job.id} attempt ${msg.attempts} failed: ${reason}`);
    msg.retry({ delaySeconds: retryDelay(msg.attempts, env) });
  }
}

/** Exponential backoff from JOB_RETRY_BASE_SEC (default 2 s): base, 2·base, 4·base, … capped. */
export function retryDelay(attempts: number, env: Env): number {
  const base = Number(env.JOB_RETRY_BASE_SEC ?? "2");
  return Math.min(MAX_RETRY_DELAY_SEC, Math.round(base * 2 ** (attempts - 1)));
}

function asJob(body: unknown): Job | null {
  if (typeof body !== "object" || body === null) return null;
  const j = body as Partial<Job>;
  if (typeof j.id !== "string" || typeof j.user !== "string" || typeof j.kind !== "string")
    return null;
  return {
    id: j.id,
    user: j.user,
    kind: j.kind,
    input: j.input ?? null,
    at: typeof j.at === "number" ? j.at : 0,
  };
}

const pushId = (job: Job, stage: "queued" | "done" | "failed") => `${job.id}:${stage}`;

async function publish(
  env: Env,
  job: Job,
  stage: "queued" | "done" | "failed",
  data: unknown,
): Promise<void> {
  const event: RoomEvent = {
    id: pushId(job, stage),
    event: `job.${stage}`,
    data,
    to: job.user,
    store: true,
  };
  await env.ROOMS.getByName(jobRoom(job.user)).publish(event.id, [event]);
}

// ---- processors ----

export async function runProcessor(job: Job, env: Env): Promise<unknown> {
  if (job.kind === BUILTIN_KIND) return inspectFile(job, env);
  const url = readProcessors(env.JOB_PROCESSORS).get(job.kind);
  if (url === undefined) throw new PermanentJobError(`no processor for kind "${job.kind}"`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ job: job.id, user: job.user, kind: job.kind, input: job.input }),
      signal: AbortSignal.timeout(PROCESSOR_TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`processor unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const text = await res.text();
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
    throw new PermanentJobError(
      `processor refused the job: HTTP ${res.status} ${text.slice(0, 200)}`,
    );
  }
  if (!res.ok) throw new Error(`processor failed: HTTP ${res.status} ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new PermanentJobError("processor answered with something that is not JSON");
  }
}

/** The built-in demo kind: `{"path": "/logo.svg"}` → its size in bytes and content type. */
async function inspectFile(job: Job, env: Env): Promise<unknown> {
  const path = (job.input as { path?: unknown } | null)?.path;
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("..")) {
    throw new PermanentJobError('file.inspect needs {"path": "/<file in public/>"}');
  }
  const res = await env.ASSETS.fetch(new Request(new URL(path, "https://assets.local")));
  if (res.status === 404) throw new PermanentJobError(`no such file: ${path}`);
  if (!res.ok) throw new Error(`assets answered HTTP ${res.status}`);
  const bytes = (await res.arrayBuffer()).byteLength;
  return { path, bytes, type: res.headers.get("content-type") ?? "application/octet-stream" };
}
