/**
 * The registry: which rooms and desks are occupied, with their member counts, for the server
 * API's `list`. No room knows the others, so one Durable Object of its own keeps the record (one
 * SQLite row per occupied place), reached by name as REGISTRY_NAME. Places tell it themselves
 * (`OccupancyReport`), only when their member count changes and at most once per
 * PRESENCE_COUNT_MS each, never per message; so `list` may lag joins and leaves by that much.
 *
 * A place restarted by a deploy loses its sockets without a leave, and may never wake to say so.
 * The registry's own alarm therefore asks places it has not heard from for VERIFY_MS how many
 * members they have, and corrects or drops their rows.
 */
import { DurableObject } from "cloudflare:workers";
import { readPositive, type Occupied, type PlaceKind } from "../protocol";

/** The name of the one registry object. */
export const REGISTRY_NAME = "registry";
export const DEFAULT_PRESENCE_COUNT_MS = 2000;
/** A place not heard from for this long is asked for its count by the registry's alarm. */
const VERIFY_MS = 15 * 60_000;
/** Places asked at once by that alarm. */
const VERIFY_BATCH = 50;

export const readPresenceCountMs = (env: { PRESENCE_COUNT_MS?: unknown }): number =>
  readPositive(env.PRESENCE_COUNT_MS, "PRESENCE_COUNT_MS", DEFAULT_PRESENCE_COUNT_MS, true);

export class Registry extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS occupied (
      kind TEXT NOT NULL,
      name TEXT NOT NULL,
      members INTEGER NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (kind, name)
    ) WITHOUT ROWID`);
  }

  /** A place's member count: 0 drops its row (vacated), anything else writes it. */
  async report(kind: PlaceKind, name: string, members: number): Promise<void> {
    const now = Date.now();
    if (members <= 0) {
      this.#sql.exec("DELETE FROM occupied WHERE kind = ? AND name = ?", kind, name);
      return;
    }
    this.#sql.exec(
      `INSERT INTO occupied (kind, name, members, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, name) DO UPDATE SET members = excluded.members, at = excluded.at`,
      kind,
      name,
      members,
      now,
    );
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(now + VERIFY_MS);
    }
  }

  /** Every occupied place of a kind whose name starts with `prefix`, in name order. */
  async list(kind: PlaceKind, prefix: string): Promise<Occupied[]> {
    // Names are ASCII below U+007F, so every name with the prefix sorts below prefix + U+007F:
    // a range over the primary key, not a scan.
    return this.#sql
      .exec<{ name: string; members: number }>(
        "SELECT name, members FROM occupied WHERE kind = ? AND name >= ? AND name < ? ORDER BY name",
        kind,
        prefix,
        `${prefix}\u007f`,
      )
      .toArray()
      .map(({ name, members }) => ({ name, members }));
  }

  /** Asks the places not heard from for VERIFY_MS for their count, a batch at a time. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const stale = this.#sql
      .exec<{ kind: PlaceKind; name: string; at: number }>(
        "SELECT kind, name, at FROM occupied WHERE at <= ? ORDER BY at LIMIT ?",
        now - VERIFY_MS,
        VERIFY_BATCH,
      )
      .toArray();
    await Promise.all(stale.map((row) => this.#verify(row, now)));
    const next = this.#sql
      .exec<{ at: number | null }>("SELECT MIN(at) AS at FROM occupied")
      .one().at;
    if (next === null) return;
    // A full batch may have left more behind: go on soon, not in VERIFY_MS.
    const at = stale.length === VERIFY_BATCH ? now + 1000 : Math.max(next + VERIFY_MS, now + 1000);
    await this.ctx.storage.setAlarm(at);
  }

  async #verify(row: { kind: PlaceKind; name: string; at: number }, now: number): Promise<void> {
    const ns = row.kind === "room" ? this.env.ROOMS : this.env.DESKS;
    let members: number;
    try {
      members = (await ns.getByName(row.name).apiInfo()).members;
    } catch (err) {
      console.error(`Registry: asking ${row.kind} ${row.name} for its count failed`, err);
      return;
    }
    // Only if the place did not report meanwhile: its own report is newer than this answer.
    if (members <= 0) {
      this.#sql.exec(
        "DELETE FROM occupied WHERE kind = ? AND name = ? AND at = ?",
        row.kind,
        row.name,
        row.at,
      );
    } else {
      this.#sql.exec(
        "UPDATE occupied SET members = ?, at = ? WHERE kind = ? AND name = ? AND at = ?",
        members,
        now,
        row.kind,
        row.name,
        row.at,
      );
    }
  }
}

/**
 * A place's side: tells the registry its member count when it changes, at most once per
 * `intervalMs`. A change inside the window arms the place's alarm for the window's end (a
 * trailing report, so the last count always arrives); a count that changed back by then sends
 * nothing. What was last sent is memory only, by design: a place woken fresh by its alarm
 * reports once, which the registry takes as it is.
 */
export class OccupancyReport {
  readonly #send: (members: number) => Promise<void>;
  readonly #intervalMs: number;
  readonly #arm: (at: number) => void;
  /** The count the registry last heard from this instance; null when unknown. */
  #sent: number | null = null;
  #lastAt = -Infinity;
  /** When a trailing report is due, or null. */
  #due: number | null = null;
  /** Reports leave one at a time, so the registry hears them in order. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    send: (members: number) => Promise<void>,
    intervalMs: number,
    arm: (at: number) => void,
  ) {
    this.#send = send;
    this.#intervalMs = intervalMs;
    this.#arm = arm;
  }

  /** The member count changed (a user's first socket joined, or its last left). */
  changed(count: number, now: number): void {
    if (now - this.#lastAt >= this.#intervalMs) {
      this.#report(count, now);
    } else if (this.#due === null) {
      this.#due = this.#lastAt + this.#intervalMs;
      this.#arm(this.#due);
    }
  }

  /** What was last sent is no longer what the receiver holds: the next change is sent. */
  forget(): void {
    this.#sent = null;
  }

  /** The place's alarm: sends a trailing report when due; returns when it next needs the alarm. */
  onAlarm(count: number, now: number): number | null {
    if (this.#due === null) {
      if (this.#sent === null) this.#report(count, now);
      return null;
    }
    if (now < this.#due) return this.#due;
    this.#due = null;
    if (count !== this.#sent) this.#report(count, now);
    return null;
  }

  #report(count: number, now: number): void {
    this.#sent = count;
    this.#lastAt = now;
    this.#due = null;
    this.#chain = this.#chain
      .then(() => this.#send(count))
      .catch((err: unknown) => {
        console.error(`reporting ${count} members to the registry failed`, err);
        // Unknown now: the alarm reports again once the window is over.
        this.#sent = null;
        this.#due ??= Date.now() + this.#intervalMs;
        this.#arm(this.#due);
      });
  }
}
