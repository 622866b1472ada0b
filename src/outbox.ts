/**
 * The send path of every Durable Object. Sockets that joined with `batch=1` get the frames that
 * are ready at the same moment in one WebSocket message, newline-separated; all other sockets
 * get exactly one frame per message, sent at once.
 *
 * "The same moment" is one turn of the event loop: frames queued while the object handles a
 * burst of inbound messages are flushed together by a zero-delay timer, so a busy room sends far
 * fewer, larger messages, while a quiet room's single frame leaves on the very next turn. The
 * per-message cost of a send dominates a broadcast (see docs/BENCHMARKS.md), which is why this
 * exists. A send that throws (the peer vanished) never stops the loop for the others.
 */

/** A batched message is cut here, so one flush never builds a huge string. */
export const MAX_BATCH_BYTES = 1 << 20;
/** JSON text never contains a raw newline, so it can separate frames. */
export const BATCH_SEPARATOR = "\n";

const encoder = new TextEncoder();

interface Pending {
  frames: string[];
  size: number;
}

export class Outbox {
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

  /** Sends or queues one JSON text to one socket. */
  send(ws: WebSocket, text: string, batch: boolean): void {
    if (!batch) {
      sendQuietly(ws, text);
      return;
    }
    let pending = this.#pending.get(ws);
    if (pending === undefined) {
      pending = { frames: [], size: 0 };
      this.#pending.set(ws, pending);
    }
    const bytes = this.#utf8Bytes(text);
    if (pending.frames.length > 0 && pending.size + 1 + bytes > MAX_BATCH_BYTES) {
      sendQuietly(ws, pending.frames.join(BATCH_SEPARATOR));
      pending.frames = [];
      pending.size = 0;
    }
    // The size is the message's exact UTF-8 length: frames plus the separators between them.
    pending.size += (pending.frames.length > 0 ? 1 : 0) + bytes;
    pending.frames.push(text);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  /** Sends everything queued, for every socket. */
  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [ws, p] of pending) sendQuietly(ws, p.frames.join(BATCH_SEPARATOR));
  }

  /** Sends what is queued for one socket now: before closing it, so nothing queued is lost. */
  flushSocket(ws: WebSocket): void {
    const p = this.#pending.get(ws);
    if (p === undefined) return;
    this.#pending.delete(ws);
    sendQuietly(ws, p.frames.join(BATCH_SEPARATOR));
  }

  /** Forgets a socket that is gone; its queued frames have nobody to go to. */
  drop(ws: WebSocket): void {
    this.#pending.delete(ws);
  }
}

function sendQuietly(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // The socket closed between our decision and the send; its close handler cleans it up.
  }
}
