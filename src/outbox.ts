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
 */

/** A batched message is cut here, so one flush never builds a huge string. */
export const MAX_BATCH_BYTES = 1 << 20;
/** JSON text never contains a raw newline, so it can separate frames. */
export const BATCH_SEPARATOR = "\n";

const encoder = new TextEncoder();

interface Pending {
  frames: string[];
  /** UTF-8 bytes of the batched message so far (batch sockets only). */
  size: number;
  batch: boolean;
}

export class Outbox {
  /** Runs before anything leaves: the owner writes what the turn stored (History.flush). */
  readonly #beforeSend: () => void;
  #pending = new Map<WebSocket, Pending>();
  #scheduled = false;
  // A broadcast hands the same string to every socket: measure it once, not once per socket.
  #measured = "";
  #measuredBytes = 0;

  #utf8Bytes(text: string): number {
    if (text !== this.#measured) {
      this.#measured = text;
      this.#measuredBytes = encoder.encode(text).byteLength;
    }
    return this.#measuredBytes;
  }

  constructor(beforeSend: () => void = () => {}) {
    this.#beforeSend = beforeSend;
  }

  /** Queues one JSON text for one socket; it leaves on the next turn. */
  send(ws: WebSocket, text: string, batch: boolean): void {
    let pending = this.#pending.get(ws);
    if (pending === undefined) {
      pending = { frames: [], size: 0, batch };
      this.#pending.set(ws, pending);
    }
    if (batch) {
      const bytes = this.#utf8Bytes(text);
      if (pending.frames.length > 0 && pending.size + 1 + bytes > MAX_BATCH_BYTES) {
        this.#beforeSend();
        sendQuietly(ws, pending.frames.join(BATCH_SEPARATOR));
        pending.frames = [];
        pending.size = 0;
      }
      // The size is the message's exact UTF-8 length: frames plus the separators between them.
      pending.size += (pending.frames.length > 0 ? 1 : 0) + bytes;
    }
    pending.frames.push(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  /** Sends everything queued, for every socket. */
  flush(): void {
    this.#scheduled = false;
    this.#beforeSend();
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [ws, p] of pending) deliver(ws, p);
  }

  /** Sends what is queued for one socket now: before closing it, so nothing queued is lost. */
  flushSocket(ws: WebSocket): void {
    const p = this.#pending.get(ws);
    if (p === undefined) return;
    this.#pending.delete(ws);
    this.#beforeSend();
    deliver(ws, p);
  }

  /** Forgets a socket that is gone; its queued frames have nobody to go to. */
  drop(ws: WebSocket): void {
    this.#pending.delete(ws);
  }
}

function deliver(ws: WebSocket, p: Pending): void {
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
