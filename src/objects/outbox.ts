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
 */

/** A batched message is cut here, so one flush never builds a huge string. */
export const MAX_BATCH_BYTES = 1 << 20;
/** JSON text never contains a raw newline, so it can separate frames. */
export const BATCH_SEPARATOR = "\n";

const encoder = new TextEncoder();

/** What the outbox needs to know of a member: how it takes its frames. */
export interface Recipient {
  batch: boolean;
}

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
  /** Sockets with frames of their own this turn: everything they are due, in order. */
  #private = new Map<WebSocket, Pending>();
  #scheduled = false;
  // The same string is often queued for many sockets: measure it once, not once per socket.
  #measured = "";
  #measuredBytes = 0;

  constructor(audience: ReadonlyMap<WebSocket, Recipient> = new Map(), beforeSend = () => {}) {
    this.#audience = audience;
    this.#beforeSend = beforeSend;
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
  admit(ws: WebSocket, batch: boolean): void {
    this.#private.set(ws, { frames: [], size: 0, exact: false, batch });
  }

  /** The private queue of `ws`, created on first use as a copy of this turn's broadcasts. */
  #queueOf(ws: WebSocket, batch: boolean): Pending {
    let pending = this.#private.get(ws);
    if (pending === undefined) {
      const frames = this.#audience.has(ws) ? this.#shared.slice() : [];
      let size = 0;
      if (batch) {
        size = Math.max(0, frames.length - 1);
        for (const frame of frames) size += upperBytes(frame);
      }
      pending = { frames, size, exact: false, batch };
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

  /** Queues one JSON text for one socket; it leaves on the next turn. */
  send(ws: WebSocket, text: string, batch: boolean): void {
    this.#push(ws, this.#queueOf(ws, batch), text);
    this.#schedule();
  }

  /**
   * Queues one JSON text for every member, or every member but `except`; returns how many
   * sockets it will reach.
   */
  broadcast(text: string, except?: WebSocket): number {
    const excluded = except !== undefined && this.#audience.has(except);
    // The one left out keeps what it is due so far, and is then skipped below.
    if (excluded) this.#queueOf(except, this.#audience.get(except)!.batch);
    this.#shared.push(text);
    for (const [ws, pending] of this.#private) {
      if (ws !== except && this.#audience.has(ws)) this.#push(ws, pending, text);
    }
    this.#schedule();
    return this.#audience.size - (excluded ? 1 : 0);
  }

  /** Sends everything queued, for every socket. */
  flush(): void {
    this.#scheduled = false;
    const shared = this.#shared;
    const own = this.#private;
    this.#shared = [];
    this.#private = new Map();
    this.#beforeSend();
    for (const [ws, p] of own) deliver(ws, p);
    if (shared.length === 0) return;
    let batched: string[] | undefined;
    for (const [ws, member] of this.#audience) {
      if (own.has(ws)) continue;
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
    const p =
      this.#private.get(ws) ?? (member === undefined ? undefined : this.#queueOf(ws, member.batch));
    // What it was sent now is not sent again at the turn's end.
    if (member !== undefined) this.admit(ws, member.batch);
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
