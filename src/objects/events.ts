/**
 * Events out, the object's side: what happened in this room or desk is written as deliveries
 * in the same transaction as the turn's frames (so a message.created can never be lost while
 * its frame is kept, nor the other way round), then handed to the hooks queue, and deleted once
 * the queue has them. What a crash leaves unsent is sent again by the alarm: at least once, each
 * event under the same `id`.
 *
 * Presence with a grace: a member's last socket leaving is written down, not announced; if the
 * member comes back within LEAVE_GRACE_SEC nothing is sent at all, so a reconnect does not flap
 * member.left / member.joined (and room.vacated / room.occupied). The alarm announces the leaves
 * that stayed leaves. Nothing here is kept only in memory, and no timer holds the object awake.
 */
import {
  MAX_EVENTS_PER_DELIVERY,
  matchesPattern,
  type HookDelivery,
  type HookEvent,
  type HookSettings,
  type Member,
} from "../protocol";

/** The place the events are about: `room` names go in a `room` field, desks in `desk`. */
export interface EventPlace {
  kind: "room" | "desk";
  name: string;
}

type NewEvent = DistributiveOmit<HookEvent, "id" | "ts" | "room" | "desk">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Deliveries handed to the queue at a time (Queues' sendBatch takes up to 100 messages). */
const SEND_BATCH = 100;

export class EventsOut {
  #sql: SqlStorage;
  #place: EventPlace;
  #queue: Queue<HookDelivery> | undefined;
  /** Whether this place sends events at all, and its messages. */
  readonly enabled: boolean;
  readonly messages: boolean;
  readonly graceMs: number;
  #pending: HookEvent[] = [];
  #sending: Promise<void> | null = null;

  constructor(
    sql: SqlStorage,
    place: EventPlace,
    settings: HookSettings,
    queue: Queue<HookDelivery> | undefined,
  ) {
    this.#sql = sql;
    this.#place = place;
    this.#queue = queue;
    this.enabled =
      settings.url !== "" && queue !== undefined && matchesPattern(settings.places, place.name);
    this.messages =
      this.enabled && place.kind === "room" && matchesPattern(settings.messages, place.name);
    this.graceMs = settings.leaveGraceMs;
    if (!this.enabled) return; // nothing to keep: a place without hooks writes no row for them
    sql.exec(`CREATE TABLE IF NOT EXISTS hook_deliveries (
      n INTEGER PRIMARY KEY,
      body TEXT NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS hook_leaves (
      user TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    sql.exec(`CREATE TABLE IF NOT EXISTS hook_state (
      key TEXT PRIMARY KEY,
      value INTEGER NOT NULL
    ) WITHOUT ROWID`);
  }

  /** Queues one event for the end of the turn (written with the turn's frames). */
  emit(event: NewEvent, now: number): void {
    if (!this.enabled) return;
    const where =
      this.#place.kind === "room" ? { room: this.#place.name } : { desk: this.#place.name };
    this.#pending.push({
      id: `evt_${crypto.randomUUID()}`,
      ...where,
      ...event,
      ts: now,
    } as HookEvent);
  }

  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Writes the turn's events as deliveries; called inside the turn's transaction. */
  write(): void {
    const events = this.#pending;
    this.#pending = [];
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_DELIVERY) {
      const delivery: HookDelivery = {
        id: `dlv_${crypto.randomUUID()}`,
        events: events.slice(i, i + MAX_EVENTS_PER_DELIVERY),
      };
      this.#sql.exec("INSERT INTO hook_deliveries (body) VALUES (?)", JSON.stringify(delivery));
    }
  }

  /** Whether deliveries wait to be handed to the queue (for the alarm). */
  unsent(): boolean {
    if (!this.enabled) return false;
    return this.#sql.exec("SELECT 1 FROM hook_deliveries LIMIT 1").toArray().length > 0;
  }

  /**
   * Hands the written deliveries to the queue, oldest first, deleting each batch once the queue
   * has it. One run at a time; a failure leaves the rows for the next run (the alarm).
   */
  send(): Promise<void> {
    if (!this.enabled || this.#queue === undefined) return Promise.resolve();
    this.#sending ??= this.#sendAll(this.#queue).finally(() => {
      this.#sending = null;
    });
    return this.#sending;
  }

  async #sendAll(queue: Queue<HookDelivery>): Promise<void> {
    for (;;) {
      const rows = this.#sql
        .exec<{ n: number; body: string }>(
          "SELECT n, body FROM hook_deliveries ORDER BY n LIMIT ?",
          SEND_BATCH,
        )
        .toArray();
      if (rows.length === 0) return;
      await queue.sendBatch(
        rows.map((r) => ({ body: JSON.parse(r.body) as HookDelivery, contentType: "json" })),
      );
      this.#sql.exec("DELETE FROM hook_deliveries WHERE n <= ?", rows.at(-1)!.n);
    }
  }

  // ---- presence, with a grace ----

  /**
   * A member's first socket arrived. A member who left within the grace simply came back:
   * nothing is sent. Otherwise member.joined, after room.occupied for the first member.
   */
  joined(member: Member, count: number, now: number): void {
    if (!this.enabled || this.#place.kind !== "room") return;
    const back = this.#sql.exec("DELETE FROM hook_leaves WHERE user = ? RETURNING 1", member.id);
    if (back.toArray().length > 0) return;
    if (!this.#flag("occupied")) {
      this.#setFlag("occupied", true);
      this.emit({ type: "room.occupied" }, now);
    }
    this.emit({ type: "member.joined", member, count }, now);
  }

  /** A member's last socket left: written down, announced by the alarm after the grace. */
  left(member: Member, now: number): number | null {
    if (!this.enabled || this.#place.kind !== "room") return null;
    this.#sql.exec(
      "INSERT INTO hook_leaves (user, name, at) VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET name = excluded.name, at = excluded.at",
      member.id,
      member.name,
      now,
    );
    return now + this.graceMs;
  }

  /**
   * The alarm's part: leaves older than the grace become member.left (and room.vacated once
   * nobody is left or pending); returns when the next pending leave falls due, or null.
   */
  settleLeaves(count: number, now: number): number | null {
    if (!this.enabled || this.#place.kind !== "room") return null;
    const due = this.#sql
      .exec<{ user: string; name: string }>(
        "DELETE FROM hook_leaves WHERE at <= ? RETURNING user, name",
        now - this.graceMs,
      )
      .toArray();
    for (const { user, name } of due) {
      this.emit({ type: "member.left", member: { id: user, name }, count }, now);
    }
    const next = this.#sql
      .exec<{ at: number | null }>("SELECT MIN(at) AS at FROM hook_leaves")
      .one().at;
    if (next === null && count === 0 && this.#flag("occupied")) {
      this.#setFlag("occupied", false);
      this.emit({ type: "room.vacated" }, now);
    }
    return next === null ? null : next + this.graceMs;
  }

  #flag(key: string): boolean {
    return (
      this.#sql
        .exec<{ value: number }>("SELECT value FROM hook_state WHERE key = ?", key)
        .toArray()[0]?.value === 1
    );
  }

  #setFlag(key: string, on: boolean): void {
    this.#sql.exec(
      "INSERT INTO hook_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      on ? 1 : 0,
    );
  }
}
