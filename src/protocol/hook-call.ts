/**
 * One signed call to a backend's hook: a JSON POST signed with Standard Webhooks under
 * HOOK_SECRET (never PUSH_SECRET, so nothing a hook receives verifies at /push), answered within
 * a deadline. It never throws: the caller gets the status and the parsed body, or why there was
 * no usable answer, and decides what a failing backend means (for every hook: refuse, never
 * admit or store by accident).
 */
import { readCapped } from "./bytes.ts";
import { signWebhook } from "./webhook.ts";

/** The most of a hook's answer that is read: its answers are a few fields, never documents. */
export const MAX_HOOK_ANSWER_BYTES = 65536;

export type HookResult =
  /** `json` is the parsed body, or `undefined` when it is empty or not JSON. */
  | { ok: true; status: number; json: unknown }
  | { ok: false; reason: "timeout" | "failed"; message: string };

const failed = (message: string): HookResult => ({ ok: false, reason: "failed", message });

/**
 * POSTs `body` as JSON to `url`, signed with `secret` (`whsec_<base64>`) under a fresh
 * `webhook-id` unless one is given, and waits at most `timeoutMs` for the whole answer, body
 * included. Redirects are not followed: a signed body goes only where it was addressed.
 */
export async function callHook(
  url: string,
  secret: string,
  body: unknown,
  timeoutMs: number,
  id = `msg_${crypto.randomUUID()}`,
): Promise<HookResult> {
  const text = JSON.stringify(body);
  let signature: Record<string, string>;
  try {
    signature = await signWebhook(secret, id, text);
  } catch {
    return failed("HOOK_SECRET is malformed: it must be whsec_<base64>");
  }
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<HookResult>((resolve) => {
    timer = setTimeout(() => {
      resolve({ ok: false, reason: "timeout", message: `no answer within ${timeoutMs} ms` });
      abort.abort(); // stops the request and the body still being read; the result is settled
    }, timeoutMs);
  });
  try {
    return await Promise.race([exchange(url, signature, text, abort.signal), deadline]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

async function exchange(
  url: string,
  signature: Record<string, string>,
  text: string,
  signal: AbortSignal,
): Promise<HookResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { ...signature, "content-type": "application/json" },
      body: text,
      signal,
      redirect: "manual",
    });
  } catch (err) {
    return failed(`the hook could not be reached: ${err instanceof Error ? err.message : err}`);
  }
  let raw: string | null;
  try {
    raw = await readAnswer(res, MAX_HOOK_ANSWER_BYTES);
  } catch (err) {
    return failed(`the hook's answer broke off: ${err instanceof Error ? err.message : err}`);
  }
  if (raw === null) return failed(`the hook's answer is over ${MAX_HOOK_ANSWER_BYTES} bytes`);
  let json: unknown;
  try {
    json = raw.trim() === "" ? undefined : JSON.parse(raw);
  } catch {
    json = undefined; // not JSON: the caller sees no body, which every hook treats as failing
  }
  return { ok: true, status: res.status, json };
}

/** The body as text, or null (and the rest cancelled) once it passes `max` bytes. */
async function readAnswer(res: Response, max: number): Promise<string | null> {
  if (res.body === null) return "";
  const declared = Number(res.headers.get("content-length"));
  if (declared > max) {
    await res.body.cancel();
    return null;
  }
  const bytes = await readCapped(res.body, max);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}
