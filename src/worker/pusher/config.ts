/**
 * PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET, read loudly: a backend written for Pusher
 * Channels names the app by id in every path, signs with the key and the secret, and nothing
 * else. All three empty (the wrangler.toml defaults) is "off"; only some set is a half-done
 * setup, answered 503 naming what is missing; a value of the wrong shape is a configuration
 * error naming the variable (never the secret's value), so a typo never turns into a 401 that
 * looks like the caller's fault.
 */
import { ApiError } from "../errors";

/** The variables as the runtime hands them over: strings, or absent. */
export interface PusherVars {
  PUSHER_APP_ID?: unknown;
  PUSHER_KEY?: unknown;
  PUSHER_SECRET?: unknown;
}

export interface PusherConfig {
  appId: string;
  key: string;
  secret: string;
}

/** Pusher's app ids are digits and its keys hex; anything that fits one path segment is allowed. */
const ID_RULE = /^[A-Za-z0-9_.-]{1,64}$/;
/** Pusher's own secrets are 20 characters; a shorter one is too easy to guess to sign with. */
export const MIN_SECRET_CHARS = 16;

function readVar(value: unknown, name: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new Error(`${name} must be a string`);
  return value;
}

/**
 * The configured app, or a 503 `pusher_disabled` naming the variables still to set. Throws a
 * plain Error (a 500, logged) for a value of the wrong shape.
 */
export function readPusherConfig(env: PusherVars): PusherConfig {
  const appId = readVar(env.PUSHER_APP_ID, "PUSHER_APP_ID");
  const key = readVar(env.PUSHER_KEY, "PUSHER_KEY");
  const secret = readVar(env.PUSHER_SECRET, "PUSHER_SECRET");
  const missing = [
    ["PUSHER_APP_ID", appId],
    ["PUSHER_KEY", key],
    ["PUSHER_SECRET", secret],
  ]
    .filter(([, v]) => v === "")
    .map(([k]) => k!);
  if (missing.length === 3) {
    throw new ApiError(
      503,
      "pusher_disabled",
      "Pusher's HTTP API is off: set PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET to turn it on",
    );
  }
  if (missing.length > 0) {
    throw new ApiError(
      503,
      "pusher_disabled",
      `Pusher's HTTP API is off: ${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} not set`,
    );
  }
  if (!ID_RULE.test(appId)) {
    throw new Error(`PUSHER_APP_ID must be 1-64 characters of A-Z a-z 0-9 _ . -, got "${appId}"`);
  }
  if (!ID_RULE.test(key)) {
    throw new Error(`PUSHER_KEY must be 1-64 characters of A-Z a-z 0-9 _ . -, got "${key}"`);
  }
  // The secret's value is never repeated, not even in an error.
  if (secret.length < MIN_SECRET_CHARS || secret.trim() !== secret) {
    throw new Error(
      `PUSHER_SECRET must be at least ${MIN_SECRET_CHARS} characters, without surrounding spaces`,
    );
  }
  return { appId, key, secret };
}
