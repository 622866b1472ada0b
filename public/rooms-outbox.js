// @ts-check
/**
 * What a client has written and the room has not yet confirmed, in the order it was written.
 * A frame with an `id` stays here until its `ack` (or its echo, or a refusal) arrives, and goes
 * out again, byte for byte, on every new connection: the room stores an `id` once and answers a
 * repeat with the first `ack`, so a re-send can never double a message. Frames without an `id`
 * (history requests) only wait for a connection and are forgotten once sent.
 */
import { MAX_FRAME_BYTES, utf8Bytes } from "./rooms-protocol.js";

/** @typedef {import("./rooms-protocol.js").SentFrame} SentFrame */

/**
 * @typedef {object} Outgoing
 * @property {string} text the frame's JSON, built once so a re-send is byte-identical
 * @property {number} bytes
 * @property {SentFrame | null} frame null for frames that need no ack (history requests)
 * @property {WebSocket | null} sentOn the socket it last went out on
 */

/** Thrown for a frame that can never be sent. */
export class RoomClientError extends Error {
  /** @param {"too_large" | "closed"} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = "RoomClientError";
    this.code = code;
  }
}

/** @param {number} n */
function randomId(n) {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => alphabet[b % 36]).join("");
}

export class Outbox {
  /** @type {Outgoing[]} */
  #items = [];
  /** Random per client, so ids never collide with an earlier page load of the same user. */
  #idPrefix = `c${randomId(8)}`;
  #nextId = 0;
  #maxFrameBytes;

  constructor(maxFrameBytes = MAX_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** A fresh frame id: 1–64 characters, unique for this user in this room. */
  newId() {
    return `${this.#idPrefix}-${++this.#nextId}`;
  }

  /** Frames waiting for their ack, oldest first. */
  get pending() {
    return this.#items.flatMap((o) => (o.frame === null ? [] : [o.frame]));
  }

  /**
   * Queues a frame that must be acknowledged. Refuses one the room would close the socket for
   * (1009): re-sent after every reconnect, it would never get through.
   * @param {SentFrame} frame
   * @returns {Outgoing}
   */
  add(frame) {
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

  /** Queues a frame that needs no ack. @param {object} frame */
  addOnce(frame) {
    const text = JSON.stringify(frame);
    return this.#queue({ text, bytes: utf8Bytes(text), frame: null, sentOn: null });
  }

  /** @param {Outgoing} out */
  #queue(out) {
    this.#items.push(out);
    return out;
  }

  /**
   * Sends one frame; a frame without an `id` is then done with. A socket that throws is dying:
   * its close event starts a reconnect, and the frame goes out again on the next socket.
   * @param {WebSocket} ws
   * @param {Outgoing} out
   */
  transmit(ws, out) {
    try {
      ws.send(out.text);
    } catch {
      return; // kept: see above
    }
    out.sentOn = ws;
    if (out.frame === null) this.#remove(out);
  }

  /**
   * Sends everything, in the order it was written: frames sent before and never acknowledged
   * go again with their `id`, then whatever was queued while there was no connection.
   * @param {WebSocket} ws
   * @param {() => boolean} stillCurrent false once the socket was given up on mid-way
   */
  flush(ws, stillCurrent) {
    for (const out of [...this.#items]) {
      if (!stillCurrent()) return;
      this.transmit(ws, out);
    }
  }

  /**
   * Removes a frame the room acknowledged, stored (its echo) or refused.
   * @param {string} id
   * @returns {Outgoing | undefined}
   */
  settle(id) {
    const out = this.#items.find((o) => o.frame?.id === id);
    if (out !== undefined) this.#remove(out);
    return out;
  }

  /**
   * The room closed a socket with 1009 for a frame over its limit, which may be lower than this
   * client's. Only a frame larger than that limit can cause it, so the largest un-acked frame
   * sent on that socket is one: it is removed and returned (to be reported), or every reconnect
   * would re-send it and be closed again.
   * @param {WebSocket} ws
   */
  dropLargestSentOn(ws) {
    const sent = this.#items.filter((o) => o.sentOn === ws && o.frame !== null);
    if (sent.length === 0) return undefined;
    const largest = sent.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    this.#remove(largest);
    return largest;
  }

  /** @param {Outgoing} out */
  #remove(out) {
    const i = this.#items.indexOf(out);
    if (i >= 0) this.#items.splice(i, 1);
  }
}
