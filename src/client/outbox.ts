/**
 * What a client has written and the room has not yet confirmed, in the order it was written.
 * A frame with an `id` stays here until its `ack` (or its echo, or a refusal) arrives, and goes
 * out again, byte for byte, on every new connection: the room stores an `id` once and answers a
 * repeat with the first `ack`, so a re-send can never double a message. Frames without an `id`
 * (history requests) only wait for a connection and are forgotten once sent.
 */
import type { SentFrame } from "./frames.ts";
import { MAX_FRAME_BYTES, utf8Bytes } from "./protocol.ts";

/** Where a frame goes out: a connection (a socket, or what wraps one). */
export interface Sender {
  send(text: string): void;
}

export interface Outgoing {
  /** The frame's JSON, built once so a re-send is byte-identical. */
  text: string;
  bytes: number;
  /** Null for frames that need no ack (history requests). */
  frame: SentFrame | null;
  /** The connection it last went out on. */
  sentOn: Sender | null;
}

/** Thrown for a frame that can never be sent. */
export class RoomClientError extends Error {
  readonly code: "too_large" | "closed";
  constructor(code: "too_large" | "closed", message: string) {
    super(message);
    this.name = "RoomClientError";
    this.code = code;
  }
}

function randomId(n: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % 36]).join("");
}

export class Outbox {
  #items: Outgoing[] = [];
  /** Random per client, so ids never collide with an earlier page load of the same user. */
  #idPrefix = `c${randomId(8)}`;
  #nextId = 0;
  #maxFrameBytes: number;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** A fresh frame id: 1–64 characters, unique for this user in this room. */
  newId(): string {
    return `${this.#idPrefix}-${++this.#nextId}`;
  }

  /** Frames waiting for their ack, oldest first. */
  get pending(): SentFrame[] {
    return this.#items.flatMap((o) => (o.frame === null ? [] : [o.frame]));
  }

  /**
   * Queues a frame that must be acknowledged. Refuses one the room would close the socket for
   * (1009): re-sent after every reconnect, it would never get through.
   */
  add(frame: SentFrame): Outgoing {
    const text = JSON.stringify(frame);
    const bytes = utf8Bytes(text);
    if (bytes > this.#maxFrameBytes) {
      throw new RoomClientError(
        "too_large",
        `the message is ${bytes} bytes; the room accepts at most ${this.#maxFrameBytes}`,
      );
    }
    return this.#queue({ text, bytes, frame, sentOn: null });
  }

  /** Queues a frame that needs no ack. */
  addOnce(frame: object): Outgoing {
    const text = JSON.stringify(frame);
    return this.#queue({ text, bytes: utf8Bytes(text), frame: null, sentOn: null });
  }

  #queue(out: Outgoing): Outgoing {
    this.#items.push(out);
    return out;
  }

  /**
   * Sends one frame; a frame without an `id` is then done with. A connection that throws is
   * dying: its close starts a reconnect, and the frame goes out again on the next one.
   */
  transmit(to: Sender, out: Outgoing): void {
    try {
      to.send(out.text);
    } catch {
      return; // kept: see above
    }
    out.sentOn = to;
    if (out.frame === null) this.#remove(out);
  }

  /**
   * Sends everything, in the order it was written: frames sent before and never acknowledged
   * go again with their `id`, then whatever was queued while there was no connection.
   * `stillCurrent` turns false once the connection was given up on mid-way.
   */
  flush(to: Sender, stillCurrent: () => boolean): void {
    for (const out of [...this.#items]) {
      if (!stillCurrent()) return;
      this.transmit(to, out);
    }
  }

  /** Removes a frame the room acknowledged, stored (its echo) or refused. */
  settle(id: string): Outgoing | undefined {
    const out = this.#items.find((o) => o.frame?.id === id);
    if (out !== undefined) this.#remove(out);
    return out;
  }

  /**
   * The room closed a connection with 1009 for a frame over its limit, which may be lower than
   * this client's. Only a frame larger than that limit can cause it, so the largest un-acked
   * frame sent on that connection is one: it is removed and returned (to be reported), or every
   * reconnect would re-send it and be closed again.
   */
  dropLargestSentOn(on: Sender): Outgoing | undefined {
    const sent = this.#items.filter((o) => o.sentOn === on && o.frame !== null);
    if (sent.length === 0) return undefined;
    const largest = sent.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    this.#remove(largest);
    return largest;
  }

  #remove(out: Outgoing): void {
    const i = this.#items.indexOf(out);
    if (i >= 0) this.#items.splice(i, 1);
  }
}
