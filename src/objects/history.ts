/**
 * The room's log in the Durable Object's SQLite storage: one total order (`seq`), visibility,
 * trimming, replay, history pages, and (with dedupe.ts) the idempotency keys that make re-sends
 * harmless, written in the same transaction as their frames. Shared by
 * every object that keeps a conversation (Room now, Desk later) so none of this is written twice.
 *
 * Frames are stored as the exact JSON text that was broadcast, so replay and history send
 * stored strings as they are: nothing is parsed or serialized again on the way out.
 */
import { Dedupe } from "./dedupe";

/** SQLite allows 100 bound parameters per statement; a frame row takes 4. */
const ROWS_PER_INSERT = 25;

export interface Visibility {
  /** The user who wrote the frame; null for server events. */
  sender: string | null;
  /** The only other user who may see it; null means everyone in the room. */
  recipient: string | null;
}

export interface Replay {
  /** The seq after which frames are replayed. */
  from: number;
  /** Stored JSON texts, oldest first. */
  frames: string[];
  /** False when frames after `from` were already trimmed, so the client has a gap. */
  complete: boolean;
}

/** Who reads: a proven id and the role it holds in this object. */
export interface Reader {
  id: string;
  role: "member" | "agent";
}

/**
 * The SQL condition under which the reader may see a frame; `param` is the number of the SQL
 * parameter holding the reader's id, and the rule may differ by the reader's role. A room's rule
 * is `roomVisibility`; a desk passes its own.
 */
export type VisibilityRule = (param: number, role: Reader["role"]) => string;

/** Visible to everyone, or (direct and targeted frames) only to the two parties. */
export const roomVisibility: VisibilityRule = (param) =>
  `(recipient IS NULL OR recipient = ?${param} OR sender = ?${param})`;

/** Every frame, for the backend (the server API); the reader's parameter goes unused. */
const everyone: VisibilityRule = () => "1 = 1";

export class History {
  #sql: SqlStorage;
  #limit: number;
  #lastSeq: number;
  #visible: VisibilityRule;
  /** Bytes one replay or page may carry (MAX_REPLAY_BYTES). */
  #maxReplayBytes: number;
  /** Whether flush trims the room as a whole (see the constructor's `trim`). */
  #trimRoom: boolean;
  /** Appended, numbered, not yet written: see flush(). */
  #pending: { seq: number; sender: string | null; recipient: string | null; body: string }[] = [];
  /** Idempotency keys: remembered in memory, written by flush() with the frames. */
  readonly keys: Dedupe;
  #atomically: (write: () => void) => void;
  #onWriteError: (err: unknown) => void;
  #extra: { readonly pending: boolean; write(): void } | undefined;

  /**
   * `byRecipient` indexes frames by recipient, for objects that read conversations by it (the
   * desk); a room does not, and saves that write on every frame.
   */
  constructor(
    sql: SqlStorage,
    historyLimit: number,
    options: {
      visible?: VisibilityRule;
      byRecipient?: boolean;
      maxReplayBytes?: number;
      /**
       * `room` (the default) keeps the room's newest HISTORY_LIMIT frames; `recipient` leaves
       * trimming to the owner, which calls `trimRecipient` per conversation (the desk), so no
       * conversation can push another's frames out.
       */
      trim?: "room" | "recipient";
      /** Runs a write as one transaction (the storage's transactionSync). */
      atomically?: (write: () => void) => void;
      /** Called when a flush fails, before the error is thrown on (see flush()). */
      onWriteError?: (err: unknown) => void;
      /** More of the turn to write in the same transaction (the hook events). */
      extra?: { readonly pending: boolean; write(): void };
    } = {},
  ) {
    this.#sql = sql;
    this.#limit = historyLimit;
    this.#maxReplayBytes = options.maxReplayBytes ?? Infinity;
    this.#trimRoom = options.trim !== "recipient";
    this.#atomically = options.atomically ?? ((write) => write());
    this.#onWriteError = options.onWriteError ?? (() => {});
    this.#extra = options.extra;
    this.#visible = options.visible ?? roomVisibility;
    // IF NOT EXISTS: the constructor runs on every wake-up, the tables exist from the first.
    sql.exec(`CREATE TABLE IF NOT EXISTS frames (
      seq INTEGER PRIMARY KEY,
      sender TEXT,
      recipient TEXT,
      body TEXT NOT NULL
    )`);
    this.keys = new Dedupe(sql);
    if (options.byRecipient === true) {
      sql.exec("CREATE INDEX IF NOT EXISTS frames_recipient ON frames (recipient, seq)");
    }
    // Trimming always keeps the newest frame (HISTORY_LIMIT >= 1), so MAX(seq) is the room's
    // newest seq and the order never goes backwards, without a counter written per frame.
    this.#lastSeq =
      sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM frames").one().seq ?? 0;
  }

  /** The newest seq of the room; 0 before anything was stored. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /**
   * The oldest seq still retained (logically: older ones are gone or about to be). Under
   * per-conversation trimming no room-wide bound exists, so nothing counts as trimmed here.
   */
  get firstRetained(): number {
    return this.#trimRoom ? Math.max(1, this.#lastSeq - this.#limit + 1) : 1;
  }

  /**
   * Stores one frame under the next seq. `build` receives that seq and returns the JSON text,
   * so the stored text and the broadcast text are one string.
   */
  append(visibility: Visibility, build: (seq: number) => string): { seq: number; body: string } {
    const seq = this.#lastSeq + 1;
    const body = build(seq);
    this.#pending.push({ seq, sender: visibility.sender, recipient: visibility.recipient, body });
    this.#lastSeq = seq;
    return { seq, body };
  }

  /**
   * Writes what was appended and remembered since the last flush — frames, then the
   * idempotency keys that point at them — in one transaction, in as few statements as SQLite's
   * parameter limit allows, then trims once. The owner calls this at the end of a turn, before
   * anything about those frames is sent (so they are still stored before sent, and the output
   * gate is closed once per turn instead of once per frame); every read flushes first.
   *
   * A frame and its key become durable together or not at all: a key written without its frame
   * (a crash between two turns) would make a re-send be acked with a seq that later goes to
   * another frame. If the write fails, memory no longer matches storage (seqs were handed out,
   * frames are queued to be sent): `onWriteError` is called so the owner can restart from
   * storage, and the error is thrown on.
   */
  flush(): void {
    if (this.#pending.length === 0 && !this.keys.pending && this.#extra?.pending !== true) return;
    const rows = this.#pending;
    this.#pending = [];
    const keys = this.keys.take();
    try {
      this.#atomically(() => {
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          const chunk = rows.slice(i, i + ROWS_PER_INSERT);
          this.#sql.exec(
            `INSERT INTO frames (seq, sender, recipient, body) VALUES ${chunk.map(() => "(?, ?, ?, ?)").join(", ")}`,
            ...chunk.flatMap((r) => [r.seq, r.sender, r.recipient, r.body]),
          );
        }
        this.keys.write(keys);
        this.#extra?.write();
        const cutoff = this.#lastSeq - this.#limit;
        if (this.#trimRoom && rows.length > 0 && cutoff > 0)
          this.#sql.exec("DELETE FROM frames WHERE seq <= ?", cutoff);
      });
    } catch (err) {
      this.#onWriteError(err);
      throw err;
    }
  }

  /** Deletes every frame addressed to `recipient` (a desk conversation being forgotten). */
  forgetRecipient(recipient: string): void {
    this.flush();
    this.#sql.exec("DELETE FROM frames WHERE recipient = ?", recipient);
  }

  /**
   * Deletes all but the newest `keep` frames addressed to `recipient` (one desk conversation);
   * returns how many were deleted. The owner calls it when its own count says the
   * conversation is over the limit, so no frame pays for a count query.
   */
  trimRecipient(recipient: string, keep: number): number {
    this.flush();
    return this.#sql.exec(
      `DELETE FROM frames WHERE recipient = ?1 AND seq < (
         SELECT seq FROM frames WHERE recipient = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
      recipient,
      keep - 1,
    ).rowsWritten;
  }

  /**
   * Frames a user may see, for a join. With `since`, every visible frame after it; without,
   * the newest `newest` visible frames. Either way no more than the byte budget: then the
   * newest frames that fit, and `complete` is false so the client pages back for the rest.
   */
  replay(reader: Reader, since: number | undefined, newest: number): Replay {
    this.flush();
    // Nothing stored, or nothing after what the client saw (every socket of a reconnect storm
    // in a quiet room): no query. Joins are where a big room spends its time.
    if (since === undefined ? this.#lastSeq === 0 : since === this.#lastSeq) {
      return { from: this.#lastSeq, frames: [], complete: true };
    }
    if (since === undefined) {
      const { bodies, firstSeq, cut } = this.#newestWithin(
        this.#sql.exec<Row>(
          `SELECT seq, body FROM frames WHERE ${this.#visible(1, reader.role)} ORDER BY seq DESC LIMIT ?2`,
          reader.id,
          newest,
        ),
        newest,
      );
      const from = firstSeq === null ? this.#lastSeq : firstSeq - 1;
      return { from, frames: bodies, complete: !cut };
    }
    const { bodies, firstSeq, cut } = this.#newestWithin(
      this.#sql.exec<Row>(
        `SELECT seq, body FROM frames WHERE seq > ?1 AND ${this.#visible(2, reader.role)} ORDER BY seq DESC`,
        since,
        reader.id,
      ),
      Infinity,
    );
    if (cut) return { from: firstSeq! - 1, frames: bodies, complete: false };
    // A client ahead of the room (its storage was reset) cannot be made whole either.
    const complete = since + 1 >= this.firstRetained && since <= this.#lastSeq;
    return { from: since, frames: bodies, complete };
  }

  /**
   * One page of older frames a user may see, oldest first: at most `limit` frames and the byte
   * budget; `complete` is false while older visible frames remain.
   */
  page(
    reader: Reader,
    before: number | undefined,
    limit: number,
    visible: VisibilityRule = this.#visible,
  ): { frames: string[]; complete: boolean } {
    this.flush();
    const bound = before ?? this.#lastSeq + 1;
    const { bodies, cut, more } = this.#newestWithin(
      this.#sql.exec<Row>(
        `SELECT seq, body FROM frames WHERE seq < ?1 AND ${visible(2, reader.role)} ORDER BY seq DESC LIMIT ?3`,
        bound,
        reader.id,
        limit + 1, // one extra row tells whether anything older is left
      ),
      limit,
    );
    return { frames: bodies, complete: !cut && !more };
  }

  /**
   * Stored frames after `after` up to `upTo`, oldest first, with who may see each: what a
   * sharded room's shard fetches when its stream from the keeper skipped some (shards/shard.ts).
   * Frames already trimmed are simply absent.
   */
  between(
    after: number,
    upTo: number,
  ): { seq: number; sender: string | null; recipient: string | null; body: string }[] {
    this.flush();
    return this.#sql
      .exec<{ seq: number; sender: string | null; recipient: string | null; body: string }>(
        "SELECT seq, sender, recipient, body FROM frames WHERE seq > ? AND seq <= ? ORDER BY seq",
        after,
        upTo,
      )
      .toArray();
  }

  /**
   * One page of every stored frame, whoever it was for (directs and desk conversations
   * included), within the same bounds: what the server API shows the backend, which sees all.
   */
  pageAll(before: number | undefined, limit: number): { frames: string[]; complete: boolean } {
    return this.page({ id: "", role: "member" }, before, limit, everyone);
  }

  /**
   * The newest `limit` frames addressed to `recipient` (a desk conversation), oldest first,
   * within the byte budget.
   */
  addressedTo(recipient: string, limit: number): { frames: string[]; complete: boolean } {
    this.flush();
    const { bodies, cut, more } = this.#newestWithin(
      this.#sql.exec<Row>(
        "SELECT seq, body FROM frames WHERE recipient = ? ORDER BY seq DESC LIMIT ?",
        recipient,
        limit + 1,
      ),
      limit,
    );
    return { frames: bodies, complete: !cut && !more };
  }

  /**
   * Takes rows newest first while they fit: at most `limit` of them and MAX_REPLAY_BYTES of
   * text (counted as sent: the bodies and a separator each). The cursor is read lazily, so a
   * stop leaves the older rows unread. The newest row is always taken, even alone over the
   * budget (one frame is bounded by MAX_PUSH_BYTES), so paging back always moves on. `cut`:
   * stopped by the budget; `more`: rows were left beyond `limit`.
   */
  #newestWithin(
    rows: Iterable<Row>,
    limit: number,
  ): { bodies: string[]; firstSeq: number | null; cut: boolean; more: boolean } {
    const bodies: string[] = [];
    let firstSeq: number | null = null;
    let bytes = 0;
    for (const row of rows) {
      if (bodies.length >= limit)
        return { bodies: bodies.reverse(), firstSeq, cut: false, more: true };
      bytes += utf8Length(row.body) + 1;
      if (bytes > this.#maxReplayBytes && bodies.length > 0) {
        return { bodies: bodies.reverse(), firstSeq, cut: true, more: true };
      }
      bodies.push(row.body);
      firstSeq = row.seq;
    }
    return { bodies: bodies.reverse(), firstSeq, cut: false, more: false };
  }
}

type Row = { seq: number; body: string };

/** UTF-8 length of a string without encoding it (a surrogate pair is 2 units and 4 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}
