/**
 * The queue consumer: runs each batch concurrently, calls the processor configured for a job's
 * kind (or the built-in `file.inspect`), and pushes `job.done` or `job.failed` to the job's user.
 *
 * A processor is an outside URL, so every call is signed with Standard Webhooks under
 * HOOK_SECRET, never PUSH_SECRET: a processor can tell our calls from anyone's POST, and nothing
 * a processor receives verifies at /push. The call's webhook-id is the job id, the same on every
 * retry and redelivery, with the same body, so a processor can drop repeats.
 */
import {
  BUILTIN_KIND,
  PermanentJobError,
  jobRoom,
  publish,
  pushId,
  readProcessors,
  type DeadJob,
  type Job,
} from "./core";
import { signWebhook } from "../../protocol/webhook";
import { readPositive } from "../../protocol";

const PROCESSOR_TIMEOUT_MS = 30_000;
const MAX_RETRY_DELAY_SEC = 300;

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
      (await room.published(pushId(job.id, "done"))) ||
      (await room.published(pushId(job.id, "failed")))
    ) {
      msg.ack(); // a redelivery of a job already reported
      return;
    }
    const result = await runProcessor(job, env);
    await publish(env, job, "done", { job: job.id, kind: job.kind, result });
    msg.ack();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const attempts = readPositive(env.JOB_ATTEMPTS, "JOB_ATTEMPTS", 3, true);
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
  // Zero is a real choice (retry at once, as the end-to-end tests do), unlike for a limit.
  const base = readPositive(env.JOB_RETRY_BASE_SEC, "JOB_RETRY_BASE_SEC", 2, false, {
    zero: true,
  });
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

// ---- processors ----

export async function runProcessor(job: Job, env: Env): Promise<unknown> {
  if (job.kind === BUILTIN_KIND) return inspectFile(job, env);
  const url = readProcessors(env.JOB_PROCESSORS).get(job.kind);
  if (url === undefined) throw new PermanentJobError(`no processor for kind "${job.kind}"`);
  // Without the secret there is no call a processor could trust; retrying will not make one.
  if (!env.HOOK_SECRET) {
    throw new PermanentJobError(
      `HOOK_SECRET is not set: processor calls are signed with it, so "${job.kind}" was not sent`,
    );
  }
  const body = JSON.stringify({ job: job.id, user: job.user, kind: job.kind, input: job.input });
  let signature: Record<string, string>;
  try {
    signature = await signWebhook(env.HOOK_SECRET, job.id, body);
  } catch {
    throw new PermanentJobError("HOOK_SECRET is malformed: it must be whsec_<base64>");
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...signature },
      body,
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
