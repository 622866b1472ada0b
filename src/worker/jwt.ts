/**
 * JSON Web Tokens signed with HS256 (RFC 7519 over HMAC-SHA256), the only kind this server
 * makes or accepts. Written here rather than taken from a library because a join checks a
 * token every time, and a reconnect storm is thousands of joins at once: importing the secret
 * as a WebCrypto key for every token was a measured part of a join's cost (`npm run bench`,
 * the reconnect storm), so the imported key is kept, one per secret. The secret is used as its
 * UTF-8 bytes, as every JWT library does for a string secret, so tokens from PyJWT, jsonwebtoken,
 * Hono or jose interoperate.
 */
import { fromBase64, toBase64 } from "../protocol/webhook";

export type JwtFailure = "malformed" | "algorithm" | "signature" | "expired" | "not_yet_valid";

/** Why a token was refused; `reason` is for the caller's message, never shown raw. */
export class JwtError extends Error {
  constructor(readonly reason: JwtFailure) {
    super(`JWT refused: ${reason}`);
    this.name = "JwtError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** Imported keys by secret. Secrets change only on deploy, so this holds one or two entries. */
const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    keys.set(secret, key);
  }
  return key;
}

const base64url = (bytes: Uint8Array): string =>
  toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new JwtError("malformed");
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = fromBase64(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  if (bytes === null) throw new JwtError("malformed");
  return bytes;
}

function jsonPart(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(fromBase64url(part)));
  } catch (err) {
    throw err instanceof JwtError ? err : new JwtError("malformed");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new JwtError("malformed");
  return value as Record<string, unknown>;
}

const HEADER = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));

/** Signs `payload` as an HS256 JWT. */
export async function signJwt(payload: Record<string, unknown>, secret: string): Promise<string> {
  const input = `${HEADER}.${base64url(encoder.encode(JSON.stringify(payload)))}`;
  const mac = await crypto.subtle.sign("HMAC", await keyOf(secret), encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(mac))}`;
}

/**
 * The payload of a valid HS256 JWT, or a JwtError: malformed, another algorithm (never `none`),
 * a signature that does not match (compared in constant time by WebCrypto's verify), an `exp`
 * at or before now, or an `nbf` after now. The signature is checked before any claim, so a
 * forged token learns nothing from the answer.
 */
export async function verifyJwt(
  token: string,
  secret: string,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<Record<string, unknown>> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("malformed");
  const [header, payload, signature] = parts as [string, string, string];
  // Tokens from this server and from most libraries carry exactly HEADER: no need to decode it.
  if (header !== HEADER && jsonPart(header).alg !== "HS256") throw new JwtError("algorithm");
  const valid = await crypto.subtle.verify(
    "HMAC",
    await keyOf(secret),
    fromBase64url(signature),
    encoder.encode(`${header}.${payload}`),
  );
  if (!valid) throw new JwtError("signature");
  const claims = jsonPart(payload);
  if (typeof claims.exp === "number" && claims.exp <= nowSec) throw new JwtError("expired");
  if (typeof claims.nbf === "number" && claims.nbf > nowSec) throw new JwtError("not_yet_valid");
  return claims;
}
