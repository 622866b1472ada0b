/**
 * POST /jobs: a backend (signed like /push) or a browser (its user's own join token) submits a
 * job; it is queued and answered 202 `{"job": "<id>"}` at once.
 *
 * The credential is checked before anything in the body is looked at, so a caller whose
 * credential fails learns nothing from the body's fate: neither which kinds are configured nor
 * whether the body would have been too large. A signature covers the body, so a signed body is
 * read (bounded by MAX_PUSH_BYTES, like /push) but parsed only once it verifies. A token names
 * no body, so it is verified before the body is read at all; whose job it may submit is checked
 * once the body says which user the job is for, and still before the kind is.
 */
import type { Context } from "hono";
import { verifyJoinToken } from "../auth";
import { ApiError } from "../errors";
import {
  BUILTIN_KIND,
  KIND,
  QUEUE_MESSAGE_MAX_BYTES,
  jobRoom,
  publish,
  pushId,
  readJobBodyLimit,
  readProcessors,
  type Job,
  type JobBodyLimit,
} from "./core";
import { isRoomName, isUserId, readLimits } from "../../protocol";
import { readLimited, verifySigned } from "../signed";

export async function submitJob(c: Context<{ Bindings: Env }>): Promise<Response> {
  const env = c.env;
  const { maxPushBytes } = readLimits(env);
  const limit = readJobBodyLimit(env);
  const auth = c.req.header("Authorization");
  const job =
    auth === undefined
      ? await acceptSigned(c.req.raw, env, maxPushBytes, limit)
      : await acceptFromToken(auth, c.req.raw, env, limit);
  return c.json({ job }, 202);
}

/** A backend's job: the webhook-id names it, so a retried submission is the same job. */
async function acceptSigned(
  request: Request,
  env: Env,
  maxPushBytes: number,
  limit: JobBodyLimit,
): Promise<string> {
  const check = await verifySigned(request, { secret: env.PUSH_SECRET, maxBytes: maxPushBytes });
  const body = check.body;
  if (body.byteLength > limit.bytes) throw tooLarge(limit);
  const job: Job = { id: `job_${check.id}`, ...parseJobBody(body), at: Date.now() };
  // The same webhook-id within the room's 24 h memory is the same job: answered again, never
  // queued again. The record is the job.queued push id in the user's room, which is stored
  // there (not in this isolate's memory) and so outlives restarts and reaches every isolate.
  if (await env.ROOMS.getByName(jobRoom(job.user)).published(pushId(job.id, "queued"))) {
    return job.id;
  }
  requireKnownKind(job.kind, env);
  await enqueue(env, job);
  return job.id;
}

/** A browser's job: its user's own join token, for the user's room (or any room). */
async function acceptFromToken(
  auth: string,
  request: Request,
  env: Env,
  limit: JobBodyLimit,
): Promise<string> {
  const token = /^Bearer (\S+)$/.exec(auth)?.[1];
  if (token === undefined) {
    throw new ApiError(401, "unauthorized", "Authorization must be: Bearer <join token>");
  }
  // The room the token must open is the user's, named in the body, which is not read until the
  // token is known to be genuine. Checked against no room in particular, a genuine token is
  // admitted (a token for any room) or forbidden (for another place); a forged, malformed or
  // expired one is unauthorized, whatever place it names.
  const genuine = await verifyJoinToken(token, env.JOIN_SECRET, { kind: "room", name: "" });
  if (!genuine.ok && genuine.code === "unauthorized") {
    throw new ApiError(401, "unauthorized", genuine.message);
  }
  if (genuine.ok && genuine.claims.role === "guest") {
    throw new ApiError(403, "forbidden", "guests have no personal room, so no jobs");
  }
  const fields = parseJobBody(await readJobBody(request, limit));
  const check = await verifyJoinToken(token, env.JOIN_SECRET, {
    kind: "room",
    name: jobRoom(fields.user),
  });
  if (!check.ok) throw new ApiError(403, "forbidden", check.message);
  if (check.claims.sub !== fields.user) {
    throw new ApiError(403, "forbidden", "a join token submits jobs for its own user only");
  }
  requireKnownKind(fields.kind, env);
  const job: Job = { id: `job_${crypto.randomUUID()}`, ...fields, at: Date.now() };
  await enqueue(env, job);
  return job.id;
}

const tooLarge = (limit: JobBodyLimit) =>
  new ApiError(413, "too_large", `job bodies are limited to ${limit.bytes} bytes (${limit.name})`);

/** The raw body, refused (413) as soon as it passes the limit: its message names the variable. */
async function readJobBody(request: Request, limit: JobBodyLimit): Promise<Uint8Array> {
  try {
    return await readLimited(request, limit.bytes);
  } catch (err) {
    if (err instanceof ApiError && err.status === 413) throw tooLarge(limit);
    throw err;
  }
}

function parseJobBody(bytes: Uint8Array): Pick<Job, "user" | "kind" | "input"> {
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
  return { user, kind, input: input === undefined ? null : input };
}

/** Which kinds exist is configuration: told only to a caller whose credential held. */
function requireKnownKind(kind: string, env: Env): void {
  if (kind !== BUILTIN_KIND && !readProcessors(env.JOB_PROCESSORS).has(kind)) {
    throw new ApiError(400, "unknown_kind", `no processor for kind "${kind}" (JOB_PROCESSORS)`);
  }
}

const encoder = new TextEncoder();

/**
 * Queues the job and tells its user. The message is JSON, so its size is the size of the text
 * measured here (v8's serialization could double a string); a job that would not fit one
 * message, the body having grown in parsing (`1e20` is queued as 21 digits) or a long
 * webhook-id, is refused like a large body instead of failing in `send`.
 */
async function enqueue(env: Env, job: Job): Promise<void> {
  const bytes = encoder.encode(JSON.stringify(job)).byteLength;
  if (bytes > QUEUE_MESSAGE_MAX_BYTES) {
    throw new ApiError(
      413,
      "too_large",
      `the job would be queued as ${bytes} bytes; one queue message carries ${QUEUE_MESSAGE_MAX_BYTES}`,
    );
  }
  await env.JOBS.send(job, { contentType: "json" });
  await publish(env, job, "queued", { job: job.id, kind: job.kind });
}
