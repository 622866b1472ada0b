/**
 * The connect hook: where `AUTH_HOOK_URL` is set and the place matches `AUTH_HOOK_ROOMS`, a join
 * without a token is decided by the backend, which reads the request's cookies and headers (as
 * Django Channels' AuthMiddlewareStack reads the session) and answers with an identity, a guest,
 * or a refusal. This file builds the question and reads the answer; the join check applies the
 * answer to the place (personal rooms, agents, places closed to guests). A backend that cannot
 * answer usably, in time, refuses the join: nobody is ever admitted by accident.
 */
import { cleanDisplayName, GUEST_PREFIX, isUserId, readPositive } from "../../protocol";
import type { Place } from "../auth";
import { callHook } from "../../protocol/hook-call";
import { matchesPattern } from "../../protocol";

export const DEFAULT_AUTH_HOOK_ROOMS = "*";
export const DEFAULT_HOOK_TIMEOUT_MS = 3000;
/** The request headers the backend is sent, each when present: what tells it who is asking. */
export const CONNECT_HOOK_HEADERS = ["cookie", "authorization", "origin", "user-agent"] as const;

/** The settings read here (wrangler.toml [vars] and the HOOK_SECRET secret). */
export interface ConnectHookVars {
  AUTH_HOOK_URL?: unknown;
  AUTH_HOOK_ROOMS?: unknown;
  HOOK_TIMEOUT_MS?: unknown;
  HOOK_SECRET?: string;
}

export interface ConnectHook {
  url: string;
  /** Undefined when HOOK_SECRET is not set: then every hooked join is refused, never asked. */
  secret: string | undefined;
  timeoutMs: number;
}

/** The hook that decides a tokenless join to the place named `place`, or null where none does. */
export function connectHookFor(env: ConnectHookVars, place: string): ConnectHook | null {
  const url = typeof env.AUTH_HOOK_URL === "string" ? env.AUTH_HOOK_URL.trim() : "";
  if (url === "") return null;
  const timeoutMs = readPositive(
    env.HOOK_TIMEOUT_MS,
    "HOOK_TIMEOUT_MS",
    DEFAULT_HOOK_TIMEOUT_MS,
    true,
  );
  const rooms = env.AUTH_HOOK_ROOMS === undefined ? DEFAULT_AUTH_HOOK_ROOMS : env.AUTH_HOOK_ROOMS;
  if (!matchesPattern(String(rooms), place)) return null;
  return { url, secret: env.HOOK_SECRET || undefined, timeoutMs };
}

/** What the backend is sent: the join as the client asked for it, and who the browser says it is. */
export interface ConnectRequest {
  place: string;
  kind: Place["kind"];
  /** Desks: the role asked for (`customer` unless `?role=agent`); rooms: null. */
  role: "customer" | "agent" | null;
  /** The query parameters of the join, except `token` (a join with one never gets here). */
  query: Record<string, string>;
  headers: Partial<Record<(typeof CONNECT_HOOK_HEADERS)[number], string>>;
}

export function connectRequest(
  place: Place,
  agent: boolean,
  query: Record<string, string>,
  header: (name: string) => string | undefined,
): ConnectRequest {
  const { token: _token, ...rest } = query;
  const headers: ConnectRequest["headers"] = {};
  for (const name of CONNECT_HOOK_HEADERS) {
    const value = header(name);
    if (value !== undefined) headers[name] = value;
  }
  return {
    place: place.name,
    kind: place.kind,
    role: place.kind === "desk" ? (agent ? "agent" : "customer") : null,
    query: rest,
    headers,
  };
}

/** The backend's decision: a user (proven like a backend token's), a guest, or a refusal. */
export type ConnectDecision =
  | { by: "user"; user: string; name: string; role: "member" | "agent" }
  | { by: "guest" }
  | {
      by: "refused";
      code: "unauthorized" | "forbidden" | "auth_unavailable";
      message: string;
    };

const unavailable = (message: string): ConnectDecision => ({
  by: "refused",
  code: "auth_unavailable",
  message,
});

/** Asks the backend; every way of not answering usably is `auth_unavailable`. */
export async function askConnectHook(
  hook: ConnectHook,
  request: ConnectRequest,
): Promise<ConnectDecision> {
  if (hook.secret === undefined) {
    console.error("connect hook: AUTH_HOOK_URL is set but HOOK_SECRET is not");
    return unavailable(
      "HOOK_SECRET is not set: the connect hook (AUTH_HOOK_URL) is only ever called signed " +
        "with it, so joins here cannot be decided",
    );
  }
  const result = await callHook(hook.url, hook.secret, request, hook.timeoutMs);
  if (!result.ok) {
    // The details (an address, a network error) are for the operator, not the browser.
    console.warn(`connect hook for ${request.kind} ${request.place}: ${result.message}`);
    return unavailable(
      result.reason === "timeout"
        ? `the connect hook did not answer within ${hook.timeoutMs} ms; try again later`
        : "the connect hook could not be reached; try again later",
    );
  }
  const decision = readConnectAnswer(result.status, result.json);
  if (decision.by === "refused" && decision.code === "auth_unavailable") {
    console.warn(`connect hook for ${request.kind} ${request.place}: ${decision.message}`);
  }
  return decision;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Reads the backend's answer (`json` undefined when the body was not JSON). 200 with a valid
 * identity or `{"guest":true}` decides; 401/403 refuse with the backend's `message`; anything
 * else, including a 200 whose identity breaks the id or name rules, is a failing backend.
 */
export function readConnectAnswer(status: number, json: unknown): ConnectDecision {
  if (status === 401 || status === 403) {
    const given = isObject(json) && typeof json.message === "string" ? json.message.trim() : "";
    return {
      by: "refused",
      code: status === 401 ? "unauthorized" : "forbidden",
      message: given !== "" ? given : "your backend refused this join",
    };
  }
  if (status !== 200) return unavailable(`the connect hook answered HTTP ${status}`);
  if (!isObject(json)) return unavailable("the connect hook's answer is not a JSON object");
  if (json.user === undefined) {
    return json.guest === true
      ? { by: "guest" }
      : unavailable('the connect hook answered neither a "user" nor "guest": true');
  }
  if (json.guest !== undefined) {
    return unavailable('the connect hook answered both a "user" and "guest"');
  }
  const { user, name, role } = json;
  if (typeof user !== "string" || !isUserId(user)) {
    return unavailable(
      typeof user === "string" && user.startsWith(GUEST_PREFIX)
        ? `the connect hook answered a user id starting with "${GUEST_PREFIX}", which only guests made by this server may`
        : "the connect hook answered an invalid user id",
    );
  }
  const display =
    name === undefined ? user : typeof name === "string" ? cleanDisplayName(name) : null;
  if (display === null) return unavailable("the connect hook answered an invalid display name");
  if (role !== undefined && role !== "member" && role !== "agent") {
    return unavailable('the connect hook answered a role that is not "member" or "agent"');
  }
  return { by: "user", user, name: display, role: role ?? "member" };
}
