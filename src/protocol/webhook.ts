/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verification, pure WebCrypto:
 * no Hono, no Worker APIs, no imports, so the Worker, the tests and the Node CLI
 * (scripts/push.ts, run with Node's type stripping) all use this one file.
 *
 * A signature is base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)) written `v1,<base64>`;
 * the header may carry several, space-separated, so a sender can rotate keys.
 */

export const WEBHOOK_ID = "webhook-id";
export const WEBHOOK_TIMESTAMP = "webhook-timestamp";
export const WEBHOOK_SIGNATURE = "webhook-signature";
/** How far a timestamp may be from now, either way, before the request counts as a replay. */
export const WEBHOOK_TOLERANCE_SEC = 300;
const SECRET_PREFIX = "whsec_";

export type WebhookCheck =
  { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

const encoder = new TextEncoder();

/** Standard base64 to bytes; null when it is not base64. */
export function fromBase64(b64: string): Uint8Array<ArrayBuffer> | null {
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null; // not base64: the caller reports what was malformed
  }
}

export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin);
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the spec's libraries). */
export function secretKey(secret: string): Uint8Array<ArrayBuffer> {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = fromBase64(b64);
  if (key === null || key.length === 0)
    throw new Error("the webhook secret must be whsec_<base64>");
  return key;
}

/** A new random secret in the spec's format (24 bytes, as the reference libraries make). */
export function generateSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(24)));
}

/**
 * Imported keys, by secret: importing is a cost on every push otherwise (bench: "push request
 * path"). Secrets change only on deploy, so the map holds one or two entries.
 */
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    const raw = secretKey(secret); // throws at once for a malformed secret, and is not cached
    key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

async function hmac(
  secret: string,
  id: string,
  timestamp: string,
  body: Uint8Array,
): Promise<Uint8Array> {
  const key = await hmacKey(secret);
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
}

const asBytes = (body: Uint8Array | string) =>
  typeof body === "string" ? encoder.encode(body) : body;

/** Signs a request body: returns the three headers to send with it. */
export async function signWebhook(
  secret: string,
  id: string,
  body: Uint8Array | string,
  timestampSec = Math.floor(Date.now() / 1000),
): Promise<Record<string, string>> {
  const sig = await hmac(secret, id, String(timestampSec), asBytes(body));
  return {
    [WEBHOOK_ID]: id,
    [WEBHOOK_TIMESTAMP]: String(timestampSec),
    [WEBHOOK_SIGNATURE]: `v1,${toBase64(sig)}`,
  };
}

/** Constant-time equality: workerd's timingSafeEqual, or a full XOR loop where it is missing (Node). */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const subtle = crypto.subtle as SubtleCrypto & {
    timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean;
  };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Verifies the three headers against the raw body bytes, before anything parses the body.
 * `nowSec` is passed in so tests can check the window without waiting.
 */
export async function verifyWebhook(
  secret: string,
  headers: { get(name: string): string | null },
  body: Uint8Array | string,
  nowSec: number,
): Promise<WebhookCheck> {
  const id = headers.get(WEBHOOK_ID);
  const timestamp = headers.get(WEBHOOK_TIMESTAMP);
  const signatures = headers.get(WEBHOOK_SIGNATURE);
  if (!id || !timestamp || !signatures) {
    return {
      ok: false,
      reason: `missing header: ${WEBHOOK_ID}, ${WEBHOOK_TIMESTAMP} and ${WEBHOOK_SIGNATURE} are required`,
    };
  }
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: `${WEBHOOK_TIMESTAMP} must be unix seconds` };
  const ts = Number(timestamp);
  if (Math.abs(nowSec - ts) > WEBHOOK_TOLERANCE_SEC) {
    return {
      ok: false,
      reason: `${WEBHOOK_TIMESTAMP} is more than ${WEBHOOK_TOLERANCE_SEC} s from now`,
    };
  }
  const expected = await hmac(secret, id, timestamp, asBytes(body));
  for (const candidate of signatures.split(" ")) {
    const comma = candidate.indexOf(",");
    if (comma < 0 || candidate.slice(0, comma) !== "v1") continue; // other schemes (v1a) are not ours
    const given = fromBase64(candidate.slice(comma + 1));
    if (given !== null && equalBytes(given, expected)) return { ok: true, id, timestamp: ts };
  }
  return { ok: false, reason: "no signature matches" };
}
