/**
 * The one verifier of signed requests: every route a backend calls with a body signed with
 * PUSH_SECRET (Standard Webhooks, webhook.ts) goes through `verifySigned`, as middleware
 * (`signedBody`) or from a route that also takes another credential (/jobs). The checks run in
 * the order that costs an attacker the most and us the least: configured at all, size, then
 * the signature over the raw bytes; nothing parses the body before it is verified.
 */
import type { MiddlewareHandler } from "hono";
import { readCapped, readLimits } from "../protocol";
import { ApiError } from "./errors";
import { verifyWebhook } from "../protocol/webhook";

/** A verified body and the `webhook-id` it was signed under. */
export interface Signed {
  id: string;
  body: Uint8Array;
}

export interface SignedVariables {
  signed: Signed;
}

/** Reads the body as bytes, refusing (413) as soon as it passes `max`, whatever Content-Length said. */
export async function readLimited(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new ApiError(413, "too_large", `signed bodies are limited to ${max} bytes`);
  const length = request.headers.get("Content-Length");
  if (length !== null && Number(length) > max) throw tooLarge();
  if (request.body === null) return new Uint8Array(0);
  // Over HTTP a declared length frames the body (the runtime never reads past it), so one read
  // is safe and far cheaper than a chunk loop; the size is still checked, for a Request built
  // in code with a header that lies. A body of unknown length is counted as it arrives.
  if (length !== null) {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > max) throw tooLarge();
    return body;
  }
  const body = await readCapped(request.body, max);
  if (body === null) throw tooLarge();
  return body;
}

/**
 * Verifies one signed request: 503 `push_disabled` without a secret, 413 `too_large` over
 * `maxBytes`, 401 `bad_signature` for a missing or wrong signature or a timestamp outside the
 * window. Returns the body only once it is known to come from a holder of the secret.
 */
export async function verifySigned(
  request: Request,
  { secret, maxBytes }: { secret: string | undefined; maxBytes: number },
  nowSec = Math.floor(Date.now() / 1000),
): Promise<Signed> {
  if (!secret) {
    throw new ApiError(
      503,
      "push_disabled",
      "signed requests are disabled: no PUSH_SECRET is configured",
    );
  }
  const body = await readLimited(request, maxBytes);
  const check = await verifyWebhook(secret, request.headers, body, nowSec);
  if (!check.ok) throw new ApiError(401, "bad_signature", check.reason);
  return { id: check.id, body };
}

/** Middleware for signed routes: the verified body is `c.var.signed`, or the request is refused. */
export const signedBody: MiddlewareHandler<{ Bindings: Env; Variables: SignedVariables }> = async (
  c,
  next,
) => {
  const { maxPushBytes } = readLimits(c.env);
  c.set(
    "signed",
    await verifySigned(c.req.raw, { secret: c.env.PUSH_SECRET, maxBytes: maxPushBytes }),
  );
  await next();
};
