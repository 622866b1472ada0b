// Generated from the JSDoc of rooms-outbox.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
export type SentFrame = import("./rooms-protocol.js").SentFrame;
export type Outgoing = {
  /**
   * the frame's JSON, built once so a re-send is byte-identical
   */
  text: string;
  bytes: number;
  /**
   * null for frames that need no ack (history requests)
   */
  frame: SentFrame | null;
  /**
   * the socket it last went out on
   */
  sentOn: WebSocket | null;
};
/** Thrown for a frame that can never be sent. */
export declare class RoomClientError extends Error {
  code: "closed" | "too_large";
  /** @param {"too_large" | "closed"} code @param {string} message */
  constructor(code: "too_large" | "closed", message: string);
}
export declare class Outbox {
  #private;
  constructor(maxFrameBytes?: number);
  /** A fresh frame id: 1–64 characters, unique for this user in this room. */
  newId(): string;
  /** Frames waiting for their ack, oldest first. */
  get pending(): import("./rooms-protocol.js").SentFrame[];
  /**
   * Queues a frame that must be acknowledged. Refuses one the room would close the socket for
   * (1009): re-sent after every reconnect, it would never get through.
   * @param {SentFrame} frame
   * @returns {Outgoing}
   */
  add(frame: SentFrame): Outgoing;
  /** Queues a frame that needs no ack. @param {object} frame */
  addOnce(frame: object): Outgoing;
  /**
   * Sends one frame; a frame without an `id` is then done with. A socket that throws is dying:
   * its close event starts a reconnect, and the frame goes out again on the next socket.
   * @param {WebSocket} ws
   * @param {Outgoing} out
   */
  transmit(ws: WebSocket, out: Outgoing): void;
  /**
   * Sends everything, in the order it was written: frames sent before and never acknowledged
   * go again with their `id`, then whatever was queued while there was no connection.
   * @param {WebSocket} ws
   * @param {() => boolean} stillCurrent false once the socket was given up on mid-way
   */
  flush(ws: WebSocket, stillCurrent: () => boolean): void;
  /**
   * Removes a frame the room acknowledged, stored (its echo) or refused.
   * @param {string} id
   * @returns {Outgoing | undefined}
   */
  settle(id: string): Outgoing | undefined;
  /**
   * The room closed a socket with 1009 for a frame over its limit, which may be lower than this
   * client's. Only a frame larger than that limit can cause it, so the largest un-acked frame
   * sent on that socket is one: it is removed and returned (to be reported), or every reconnect
   * would re-send it and be closed again.
   * @param {WebSocket} ws
   */
  dropLargestSentOn(ws: WebSocket): Outgoing | undefined;
}
