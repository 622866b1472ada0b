/**
 * Idempotency keys: a client frame's `id` (per user) and a push's `webhook-id`, each with the
 * result to answer a repeat with (the original seq, or the push's results), for 24 hours. Keys
 * are remembered in memory and written by the history's flush in the same transaction as the
 * frames they point at, so a key never outlives its frame (a crash between two turns would
 * otherwise leave a key acking a seq that later goes to another frame).
 */

/** How long an idempotency key (client frame `id`, push `webhook-id`) is remembered. */
export const DEDUPE_TTL_MS = 24 * 60 * 60 * 1000;
/** Expired keys are swept at most this often, so the sweep is not a cost per frame. */
const DEDUPE_SWEEP_EVERY_MS = 60 * 60 * 1000;
/** A row of the dedupe table that records the last sweep (no client or push key looks like it). */
const LAST_SWEEP_KEY = "meta:last-sweep";

export type PendingKeys = Map<string, { result: string; ts: number }>;

export class Dedupe {
  #sql: SqlStorage;
  #pending: PendingKeys = new Map();
  /** When expired keys were last swept; read from storage on first use, so a wake-up keeps it. */
  #lastSweep: number | undefined;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    // WITHOUT ROWID and no index on ts: each key is one row written (billing counts every index
    // entry as a row), and the hourly sweep's full scan only costs rows read, which are cheap.
    sql.exec(`CREATE TABLE IF NOT EXISTS dedupe (
      key TEXT PRIMARY KEY,
      result TEXT NOT NULL,
      ts INTEGER NOT NULL
    ) WITHOUT ROWID`);
  }

  /**
   * The remembered result for a key, if it was seen within DEDUPE_TTL_MS: one remembered this
   * turn (not yet written) counts too, so a re-send in the same turn is caught.
   */
  recall(key: string, now: number): string | undefined {
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending.result;
    const row = this.#sql
      .exec<{ result: string }>(
        "SELECT result FROM dedupe WHERE key = ? AND ts > ?",
        key,
        now - DEDUPE_TTL_MS,
      )
      .toArray()[0];
    return row?.result;
  }

  /** Remembers a key's result; the next flush of the history writes it, with the frames. */
  remember(key: string, result: string, now: number): void {
    this.#pending.set(key, { result, ts: now });
  }

  get pending(): boolean {
    return this.#pending.size > 0;
  }

  /** Hands over the keys remembered since the last take, for the flush to write. */
  take(): PendingKeys {
    const keys = this.#pending;
    this.#pending = new Map();
    return keys;
  }

  /** Writes keys (inside the flush's transaction), then sweeps expired ones if one is due. */
  write(keys: PendingKeys): void {
    let now = 0;
    for (const [key, { result, ts }] of keys) {
      this.#upsert(key, result, ts);
      now = Math.max(now, ts);
    }
    if (keys.size > 0) this.#sweep(now);
  }

  /** Deletes expired keys, at most every DEDUPE_SWEEP_EVERY_MS (its clock is kept in storage). */
  #sweep(now: number): void {
    if (this.#lastSweep === undefined) {
      const row = this.#sql
        .exec<{ ts: number }>("SELECT ts FROM dedupe WHERE key = ?", LAST_SWEEP_KEY)
        .toArray()[0];
      // A table without the mark is new: nothing can have expired yet, so start the clock.
      if (row === undefined) this.#upsert(LAST_SWEEP_KEY, "", now);
      this.#lastSweep = row?.ts ?? now;
    }
    if (now - this.#lastSweep > DEDUPE_SWEEP_EVERY_MS) {
      this.#lastSweep = now;
      this.#sql.exec("DELETE FROM dedupe WHERE ts <= ?", now - DEDUPE_TTL_MS);
      this.#upsert(LAST_SWEEP_KEY, "", now);
    }
  }

  #upsert(key: string, result: string, now: number): void {
    this.#sql.exec(
      "INSERT INTO dedupe (key, result, ts) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET result = excluded.result, ts = excluded.ts",
      key,
      result,
      now,
    );
  }
}
