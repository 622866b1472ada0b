/**
 * POST /jobs: a backend (signed like /push) or a browser (its user's own join token) submits a
 * job; it is queued and answered 202 `{"job": "<id>"}` at once.
 */
import type { Context } from "hono";
import { verifyJoinToken } from "./auth";
import { ApiError } from "./errors";
import { BUILTIN_KIND, KIND, jobRoom, publish, readProcessors, type Job } from "./jobs-core";
import { isRoomName, isUserId, readLimits } from "./protocol";
import { readLimited } from "./push";
import { verifyWebhook } from "./webhook";

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
