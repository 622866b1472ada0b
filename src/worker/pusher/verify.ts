/**
 * Pusher's request signing, verified: what Pusher's server libraries put on every call, so a
 * backend that signs for Pusher signs for us unchanged. The query carries `auth_key`,
 * `auth_timestamp`, `auth_version` (1.0), `body_md5` (the hex MD5 of the body, when there is
 * one) and `auth_signature`: the hex HMAC-SHA256, keyed with the secret, of
 * "METHOD\nPATH\nQUERY", QUERY being every other parameter as `key=value` (keys lower-cased,
 * values as sent before URL encoding) sorted by key and joined with `&`.
 *
 * The checks run in the order that costs us least: configured, the right app, the size, then
 * the signature over the raw bytes; nothing parses the body before it is verified.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import { readLimited } from "../signed";
import { readLimits } from "../../protocol";
import { readPusherConfig, type PusherConfig } from "./config";

/** How far `auth_timestamp` may be from the server's clock, either way. */
export const MAX_CLOCK_SKEW_SEC = 600;

/** A verified call: its body, and the query parameters it was signed with, minus the auth ones. */
export interface PusherCall {
  body: Uint8Array;
  params: Map<string, string>;
}

export interface PusherVariables {
  pusher: PusherCall;
}

const AUTH_PARAMS = new Set([
  "auth_key",
  "auth_timestamp",
  "auth_version",
  "auth_signature",
  "body_md5",
]);

const unauthorized = (message: string) => new ApiError(401, "bad_signature", message);

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** workerd's Web Crypto digests MD5 too (outside the standard), so no Node module is needed. */
export async function md5Hex(body: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest("MD5", body));
}

const HEX_64 = /^[0-9a-f]{64}$/;

function hexBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The string a Pusher library signs for this request. */
export function stringToSign(method: string, path: string, query: Map<string, string>): string {
  const pairs = [...query]
    .filter(([k]) => k !== "auth_signature")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  return `${method.toUpperCase()}\n${path}\n${pairs.join("&")}`;
}

/**
 * Checks one request's signature; returns its other query parameters. 401 for a missing or
 * wrong part, each with a sentence saying which (the expected string to sign included, as
 * Pusher does: it holds nothing secret).
 */
export async function verifyPusher(
  request: { method: string; url: string },
  body: Uint8Array,
  config: Pick<PusherConfig, "key" | "secret">,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<Map<string, string>> {
  const url = new URL(request.url);
  const query = new Map<string, string>();
  for (const [rawKey, value] of url.searchParams) {
    const key = rawKey.toLowerCase();
    // Two values under one key could be signed in either order: refused, never guessed.
    if (query.has(key)) throw unauthorized(`the query parameter "${key}" is given twice`);
    query.set(key, value);
  }
  for (const name of ["auth_key", "auth_timestamp", "auth_version", "auth_signature"]) {
    if (!query.has(name)) throw unauthorized(`missing ${name}: sign the request as Pusher does`);
  }
  if (query.get("auth_key") !== config.key) throw unauthorized("unknown auth_key");
  if (query.get("auth_version") !== "1.0") throw unauthorized("auth_version must be 1.0");
  const timestamp = query.get("auth_timestamp")!;
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw unauthorized("auth_timestamp must be unix seconds");
  }
  if (Math.abs(nowSec - Number(timestamp)) > MAX_CLOCK_SKEW_SEC) {
    throw unauthorized(
      `timestamp expired: auth_timestamp ${timestamp} is not within ${MAX_CLOCK_SKEW_SEC} s of the server's time ${nowSec}`,
    );
  }
  const md5 = query.get("body_md5");
  if (md5 !== undefined || body.byteLength > 0) {
    if (md5 === undefined) throw unauthorized("missing body_md5: a request with a body signs it");
    if (md5.toLowerCase() !== (await md5Hex(body))) {
      throw unauthorized("body_md5 is not the MD5 of the body that arrived");
    }
  }
  const signed = stringToSign(request.method, url.pathname, query);
  const signature = query.get("auth_signature")!.toLowerCase();
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(config.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  // subtle.verify compares in constant time.
  const valid =
    HEX_64.test(signature) &&
    (await crypto.subtle.verify(
      "HMAC",
      key,
      hexBytes(signature),
      new TextEncoder().encode(signed),
    ));
  if (!valid) {
    throw unauthorized(
      `invalid signature: expected the hex HMAC-SHA256, keyed with the app's secret, of ${JSON.stringify(signed)}`,
    );
  }
  for (const name of AUTH_PARAMS) query.delete(name);
  return query;
}

/**
 * Middleware for every Pusher route: 503 when the API is off, 404 for another app id, 413 over
 * MAX_PUSH_BYTES, 401 unless signed; then the verified call is `c.var.pusher`.
 */
export const pusherSigned: MiddlewareHandler<{
  Bindings: Env;
  Variables: PusherVariables;
}> = async (c, next) => {
  const config = readPusherConfig(c.env);
  const appId = c.req.param("app");
  if (appId !== config.appId) {
    throw new ApiError(404, "unknown_app", `unknown app id "${appId}"`);
  }
  const body = await readLimited(c.req.raw, readLimits(c.env).maxPushBytes);
  const params = await verifyPusher(c.req.raw, body, config);
  c.set("pusher", { body, params });
  await next();
};
