/**
 * Events out, the Worker's side: the `rooms-hooks` queue's consumer. Each queue message is one
 * delivery (up to 100 events a room or desk wrote together); it is POSTed to HOOK_URL signed
 * with HOOK_SECRET under the delivery's own id as `webhook-id`, so every retry resends the same
 * body under the same id (with a fresh timestamp and signature, as Standard Webhooks asks).
 * A 2xx acknowledges it; anything else, or no answer within HOOK_TIMEOUT_MS, retries with
 * backoff (the first within 10 s, then doubling), and after HOOK_ATTEMPTS tries the delivery
 * goes to the dead-letter queue, where an operator can still read it.
 */
import { readHookSettings, type HookDelivery } from "../../protocol";
import { callHook } from "../../protocol/hook-call";

/** The first retry comes this soon; each next one waits twice as long, up to the cap. */
const FIRST_RETRY_SEC = 10;
const MAX_RETRY_SEC = 3600;

export const retryDelaySec = (attempts: number): number =>
  Math.min(MAX_RETRY_SEC, FIRST_RETRY_SEC * 2 ** (attempts - 1));

export async function consumeHookDeliveries(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const settings = readHookSettings(env);
  await Promise.all(
    batch.messages.map(async (msg) => {
      const delivery = asDelivery(msg.body);
      if (delivery === null) {
        console.error("hooks: a malformed delivery on the queue", msg.id);
        await env.HOOKS_DLQ.send({ reason: "malformed delivery", body: msg.body });
        msg.ack();
        return;
      }
      const failure = await deliver(delivery, settings.url, env.HOOK_SECRET, settings.timeoutMs);
      if (failure === null) {
        msg.ack();
        return;
      }
      if (msg.attempts >= settings.attempts) {
        console.error(
          JSON.stringify({ event: "hook_dead_lettered", delivery: delivery.id, reason: failure }),
        );
        await env.HOOKS_DLQ.send({ ...delivery, reason: failure, attempts: msg.attempts });
        msg.ack();
        return;
      }
      console.warn(
        JSON.stringify({
          event: "hook_failed",
          delivery: delivery.id,
          attempt: msg.attempts,
          reason: failure,
        }),
      );
      msg.retry({ delaySeconds: retryDelaySec(msg.attempts) });
    }),
  );
}

/** One POST of a delivery; null when the backend took it (2xx), else why not. */
async function deliver(
  delivery: HookDelivery,
  url: string,
  secret: string | undefined,
  timeoutMs: number,
): Promise<string | null> {
  if (url === "") return "HOOK_URL is not set";
  if (!secret) return "HOOK_SECRET is not set";
  const result = await callHook(url, secret, { events: delivery.events }, timeoutMs, delivery.id);
  if (!result.ok) return result.message;
  return result.status >= 200 && result.status < 300
    ? null
    : `the backend answered ${result.status}`;
}

function asDelivery(body: unknown): HookDelivery | null {
  if (typeof body !== "object" || body === null) return null;
  const d = body as Partial<HookDelivery>;
  return typeof d.id === "string" && Array.isArray(d.events) ? (d as HookDelivery) : null;
}
