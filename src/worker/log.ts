/**
 * Structured log lines for operators: one JSON object per line, which Workers Logs indexes by
 * field and `wrangler tail --format json` shows as it happens (docs/deploy.md). What happened
 * (`event`), where (`room` or `desk`), to whom (`user`) and why (`reason`); never a token or a
 * secret, which is why callers pass named fields and never a request or its headers.
 */
import type { PlaceKind, PublishResult, RoomEvent } from "../protocol";

export type LogEvent = "join_refused" | "push" | "kick";

export function logEvent(event: LogEvent, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ event, ...fields }));
}

/** A place as a field: `{"room": "lobby"}` or `{"desk": "help"}`. */
export const placeField = (kind: PlaceKind, name: string) => ({ [kind]: name });

/** One line per room a push reached: its events' names, the users they targeted, the outcome. */
export function logPush(room: string, pushId: string, events: RoomEvent[], out: PublishResult) {
  const targets = [...new Set(events.flatMap((e) => (e.to === null ? [] : [e.to])))];
  logEvent("push", {
    room,
    id: pushId,
    events: [...new Set(events.map((e) => e.event))],
    user: targets.length === 0 ? null : targets.length === 1 ? targets[0] : targets,
    delivered: out.results.reduce((sum, r) => sum + r.delivered, 0),
    duplicate: out.duplicate,
  });
}
