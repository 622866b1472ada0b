/**
 * The send path of every Durable Object. Every frame is queued and leaves on the next turn of
 * the event loop, when a zero-delay timer flushes the queue: sockets that joined with `batch=1`
 * get everything queued for them in one WebSocket message, newline-separated; all other sockets
 * get exactly one frame per message, in order.
 *
 * Why a turn: a busy room handles a burst of inbound messages back to back, and what they
 * produce leaves together — for `batch=1` sockets as far fewer, larger messages, and for every
 * socket after the turn's SQLite writes instead of interleaved with them, which measured about
 * 3× cheaper per send under workerd (bench/variants.ts, "turn" against "sql"). A quiet room's
 * single frame still leaves on the very next turn. A send that throws (the peer vanished) never
 * stops the loop for the others.
 *
 * Broadcasts cost one step, not one per socket: they go to a list shared by the whole audience
 * (the room's members), and at the flush every `batch=1` member that received nothing else gets
 * the same joined string. Only a socket with frames of its own this turn (an ack, a welcome, a
 * direct message, or one left out of a broadcast) gets a private queue: it starts as a copy of
 * the shared list so far, and later broadcasts are added to it as well, so every socket still
 * sees one order.
 *
 * Raw sockets (the plain-text sockets a Django Channels page opens) take only the data of data
 * frames (messages, directs, events), one per message: never batched, never a protocol frame.
 * Data frames come with their `data`, and its raw text is made here, once per frame, only while
 * the room holds a raw socket: a room without one never serializes anything a second time. The
 * raw texts of the turn's broadcasts are a second shared list, beside the first.
 */

/** A batched message is cut here, so one flush never builds a huge string. */
export const MAX_BATCH_BYTES = 1 << 20;
/** JSON text never contains a raw newline, so it can separate frames. */
export const BATCH_SEPARATOR = "\n";

const encoder = new TextEncoder();

/** What the outbox needs to know of a member: how it takes its frames. */
export interface Recipient {
  batch: boolean;
  /** A raw socket: only the raw text of data frames, one per message. */
  raw?: boolean;
}

/** The `data` argument of a frame that has none for raw sockets (welcome, presence, acks…). */
export const NO_DATA: unique symbol = Symbol("no data");

/** What a raw socket is sent for a frame's data: a string as it is, other JSON as its text. */
export const rawText = (data: unknown): string =>
  typeof data === "string" ? data : (JSON.stringify(data) ?? "null");

interface Pending {
  frames: string[];
  /**
   * UTF-8 bytes of the batched message so far (batch sockets only): an upper bound (3 bytes per
   * UTF-16 unit) until that bound would pass MAX_BATCH_BYTES, then measured (`exact`), so a
   * queue far from the cap is never encoded just to be measured.
   */
  size: number;
  exact: boolean;
  batch: boolean;
  /** A raw socket's queue: raw texts only, never batched. */
  raw: boolean;
}

/** UTF-8 never takes more than 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2). */
const upperBytes = (text: string) => text.length * 3;

export class Outbox {
  /** The sockets a broadcast goes to (the room's members), read at broadcast and flush time. */
  readonly #audience: ReadonlyMap<WebSocket, Recipient>;
  /** Runs before anything leaves: the owner writes what the turn stored (History.flush). */
  readonly #beforeSend: () => void;
  /** This turn's broadcasts, for every member without a private queue. */
  #shared: string[] = [];
  /**
   * The raw texts of this turn's data broadcasts, for raw sockets without a private queue; only
   * filled while a raw socket is present (one that is on this list has been here all turn).
   */
  #sharedRaw: string[] = [];
  /** Whether the audience holds a raw socket now (the owner counts them). */
  readonly #rawPresent: () => boolean;
  /** Sockets with frames of their own this turn: everything they are due, in order. */
  #private = new Map<WebSocket, Pending>();
  #scheduled = false;
  // The same string is often queued for many sockets: measure it once, not once per socket.
  #measured = "";
  #measuredBytes = 0;

  constructor(
    audience: ReadonlyMap<WebSocket, Recipient> = new Map(),
    beforeSend = () => {},
    rawPresent: () => boolean = () => false,
  ) {
    this.#audience = audience;
    this.#beforeSend = beforeSend;
    this.#rawPresent = rawPresent;
  }

  #utf8Bytes(text: string): number {
    if (text !== this.#measured) {
      this.#measured = text;
      this.#measuredBytes = encoder.encode(text).byteLength;
    }
    return this.#measuredBytes;
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        try {
          this.flush();
        } catch (err) {
          // Only the owner's write can throw here, and the owner has already handled it (it
          // restarts the object); a timer has nobody else to tell.
          console.error("outbox: the turn's write failed; nothing of it was sent", err);
        }
      }, 0);
    }
  }

  /**
   * A socket that just joined: it must not get the broadcasts queued before it was a member
   * (its welcome already counts them), so it starts with a private queue of its own.
   */
  admit(ws: WebSocket, batch: boolean, raw = false): void {
    this.#private.set(ws, { frames: [], size: 0, exact: false, batch: batch && !raw, raw });
  }

  /** The private queue of `ws`, created on first use as a copy of this turn's broadcasts. */
  #queueOf(ws: WebSocket, batch: boolean, raw = false): Pending {
    let pending = this.#private.get(ws);
    if (pending === undefined) {
      const member = this.#audience.has(ws);
      const frames = member ? (raw ? this.#sharedRaw : this.#shared).slice() : [];
      let size = 0;
      if (batch && !raw) {
        size = Math.max(0, frames.length - 1);
        for (const frame of frames) size += upperBytes(frame);
      }
      pending = { frames, size, exact: false, batch: batch && !raw, raw };
      this.#private.set(ws, pending);
    }
    return pending;
  }

  #push(ws: WebSocket, pending: Pending, text: string): void {
    if (pending.batch) {
      const separator = pending.frames.length > 0 ? 1 : 0;
      if (!pending.exact && pending.size + separator + upperBytes(text) > MAX_BATCH_BYTES) {
        pending.size = this.#measure(pending.frames);
        pending.exact = true;
      }
      const bytes = pending.exact ? this.#utf8Bytes(text) : upperBytes(text);
      if (pending.frames.length > 0 && pending.size + 1 + bytes > MAX_BATCH_BYTES) {
        this.#beforeSend();
        sendQuietly(ws, pending.frames.join(BATCH_SEPARATOR));
        pending.frames = [];
        pending.size = 0;
        pending.exact = false;
      }
      // Frames plus the separators between them (exactly, or a bound while far from the cap).
      pending.size += (pending.frames.length > 0 ? 1 : 0) + bytes;
    }
    pending.frames.push(text);
  }

  /**
   * Queues one JSON text for one socket; it leaves on the next turn. A raw socket is never sent
   * one (a welcome, an ack, an error, a history page, a replay): this is the one place that
   * keeps every protocol frame from it.
   */
  send(ws: WebSocket, text: string, batch: boolean): void {
    if (this.#rawPresent() && this.#audience.get(ws)?.raw === true) return;
    this.#push(ws, this.#queueOf(ws, batch), text);
    this.#schedule();
  }

  /** Queues one raw text (a data frame's, see `rawText`) for one raw socket. */
  sendRaw(ws: WebSocket, text: string): void {
    this.#push(ws, this.#queueOf(ws, false, true), text);
    this.#schedule();
  }

  /**
   * Queues one JSON text for every member, or every member but `except`; returns how many
   * sockets it will reach. `data`: a data frame's, which raw sockets get as its raw text; the
   * default (NO_DATA) is a protocol frame, which they never get.
   */
  broadcast(text: string, except?: WebSocket, data: unknown = NO_DATA): number {
    const excluded = except !== undefined && this.#audience.has(except);
    // The one left out keeps what it is due so far, and is then skipped below.
    if (excluded) {
      const member = this.#audience.get(except)!;
      this.#queueOf(except, member.batch, member.raw === true);
    }
    this.#shared.push(text);
    // Made once for the frame, whatever the number of raw sockets, and never without one.
    const raw = data !== NO_DATA && this.#rawPresent() ? rawText(data) : undefined;
    if (raw !== undefined) this.#sharedRaw.push(raw);
    for (const [ws, pending] of this.#private) {
      if (ws === except || !this.#audience.has(ws)) continue;
      if (!pending.raw) this.#push(ws, pending, text);
      else if (raw !== undefined) this.#push(ws, pending, raw);
    }
    this.#schedule();
    return this.#audience.size - (excluded ? 1 : 0);
  }

  /**
   * Runs `queue` and sends what it queued before returning, with no timer: for a call that
   * queues everything it will send at once (a push), so waiting for the next turn gains
   * nothing. A timer already set by an earlier event still fires, and finds nothing to send.
   */
  sendNow<T>(queue: () => T): T {
    const scheduled = this.#scheduled;
    this.#scheduled = true;
    let result: T;
    try {
      result = queue();
    } catch (err) {
      // What was queued leaves as it would have without this call: on the next turn.
      this.#scheduled = scheduled;
      if (this.#shared.length > 0 || this.#private.size > 0) this.#schedule();
      throw err;
    }
    this.flush();
    return result;
  }

  /** Sends everything queued, for every socket. */
  flush(): void {
    this.#scheduled = false;
    const shared = this.#shared;
    const sharedRaw = this.#sharedRaw;
    const own = this.#private;
    this.#shared = [];
    this.#sharedRaw = [];
    this.#private = new Map();
    this.#beforeSend();
    for (const [ws, p] of own) deliver(ws, p);
    if (shared.length === 0) return;
    let batched: string[] | undefined;
    const rawHere = this.#rawPresent();
    for (const [ws, member] of this.#audience) {
      if (own.has(ws)) continue;
      if (rawHere && member.raw === true) {
        for (const text of sharedRaw) sendQuietly(ws, text);
        continue;
      }
      if (!member.batch) {
        for (const frame of shared) sendQuietly(ws, frame);
        continue;
      }
      // Joined once per turn, however many batch sockets share it.
      batched ??= this.#joinShared(shared);
      for (const message of batched) sendQuietly(ws, message);
    }
  }

  /** Exact UTF-8 bytes of `frames` joined as one batched message. */
  #measure(frames: string[]): number {
    let size = Math.max(0, frames.length - 1);
    for (const frame of frames) size += this.#utf8Bytes(frame);
    return size;
  }

  /** The shared frames as batched messages, each under MAX_BATCH_BYTES (a lone frame may not be). */
  #joinShared(frames: string[]): string[] {
    let bound = frames.length - 1;
    for (const frame of frames) bound += upperBytes(frame);
    if (bound <= MAX_BATCH_BYTES) return [frames.join(BATCH_SEPARATOR)];
    const messages: string[] = [];
    let start = 0;
    let size = 0;
    for (let i = 0; i < frames.length; i++) {
      const bytes = this.#utf8Bytes(frames[i]!);
      if (i > start && size + 1 + bytes > MAX_BATCH_BYTES) {
        messages.push(frames.slice(start, i).join(BATCH_SEPARATOR));
        start = i;
        size = bytes;
      } else size += (i > start ? 1 : 0) + bytes;
    }
    messages.push(frames.slice(start).join(BATCH_SEPARATOR));
    return messages;
  }

  /** Sends what is queued for one socket now: before closing it, so nothing queued is lost. */
  flushSocket(ws: WebSocket): void {
    const member = this.#audience.get(ws);
    const raw = member?.raw === true;
    const p =
      this.#private.get(ws) ??
      (member === undefined ? undefined : this.#queueOf(ws, member.batch, raw));
    // What it was sent now is not sent again at the turn's end.
    if (member !== undefined) this.admit(ws, member.batch, raw);
    else this.#private.delete(ws);
    if (p === undefined || p.frames.length === 0) return;
    this.#beforeSend();
    deliver(ws, p);
  }

  /** Forgets a socket that is gone; its queued frames have nobody to go to. */
  drop(ws: WebSocket): void {
    this.#private.delete(ws);
  }
}

function deliver(ws: WebSocket, p: Pending): void {
  if (p.frames.length === 0) return;
  if (p.batch) sendQuietly(ws, p.frames.join(BATCH_SEPARATOR));
  else for (const frame of p.frames) sendQuietly(ws, frame);
}

function sendQuietly(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // The socket closed between our decision and the send; its close handler cleans it up.
  }
}
