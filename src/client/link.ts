/**
 * One WebSocket to the room, from dialing until the client lets go of it: every line of every
 * message goes through the parser, it knows whether the room has welcomed it, gives up on a
 * room that does not answer in time, and keeps an open link alive with pings. It decides
 * nothing: what a frame or a lost link means is for connection.ts and client.ts.
 */
import type { ServerFrame } from "../protocol/frames.ts";
import { closeQuietly } from "./connect.ts";
import { parseServerFrame } from "./frames.ts";
import type { Sender } from "./outbox.ts";

export interface LinkTimings {
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

export interface LinkEvents {
  frame(frame: ServerFrame): void;
  /** The link is gone or dead; `welcomed`: whether the room had welcomed it. */
  lost(welcomed: boolean, code: number | undefined, reason: string): void;
}

type Timer = ReturnType<typeof setTimeout>;

export class Link implements Sender {
  #ws: WebSocket;
  #timings: LinkTimings;
  /** Null once the client let go: nothing of this socket reaches it any more. */
  #events: LinkEvents | null;
  #welcomed = false;
  #connectTimer: Timer | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pongTimer: Timer | undefined;

  constructor(ws: WebSocket, timings: LinkTimings, events: LinkEvents) {
    this.#ws = ws;
    this.#timings = timings;
    this.#events = events;
    this.#connectTimer = setTimeout(() => {
      this.#events?.lost(false, undefined, "the room did not answer in time");
    }, timings.connectTimeoutMs);
    ws.onmessage = (e) => this.#read(e.data);
    ws.onclose = (e) => this.#events?.lost(this.#welcomed, e.code, e.reason);
    ws.onerror = () => {
      // Browsers follow an error with a close event (1006), but Node 22's WebSocket fires no
      // close at all when the upgrade is refused; so an error ends the link here.
      this.#events?.lost(this.#welcomed, undefined, "the connection failed");
    };
  }

  /** Whether the client let go of this link (it may still be closing). */
  get detached(): boolean {
    return this.#events === null;
  }

  #read(data: unknown): void {
    if (this.#events === null) return;
    this.#heard();
    if (typeof data !== "string") return; // the room sends text only
    for (const line of data.split("\n")) {
      if (line === "pong" || line === "") continue;
      const frame = parseServerFrame(line);
      if (frame === null) continue;
      if (frame.type === "welcome") this.#welcomed = true;
      this.#events?.frame(frame);
      if (this.detached) return; // a handler let go of us (refused, closed): drop the rest
    }
  }

  /** Any traffic proves the link is alive; the keep-alive only needs silence to be short. */
  #heard(): void {
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  /** The room welcomed us: no more connect timeout, and a ping whenever it has been quiet. */
  opened(): void {
    clearTimeout(this.#connectTimer);
    if (this.detached) return;
    this.#pingTimer = setInterval(() => {
      if (this.detached) return;
      try {
        this.#ws.send("ping");
      } catch {
        return; // closing already; the close event takes over
      }
      this.#pongTimer ??= setTimeout(() => {
        this.#events?.lost(true, undefined, "no answer to ping: the connection is dead");
      }, this.#timings.pongTimeoutMs);
    }, this.#timings.pingIntervalMs);
  }

  send(text: string): void {
    this.#ws.send(text);
  }

  /** Stops listening to the socket and its timers; the socket itself is left as it is. */
  detach(): void {
    this.#events = null;
    clearTimeout(this.#connectTimer);
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    this.#ws.onmessage = this.#ws.onclose = this.#ws.onerror = null;
  }

  /** Closes the socket, unless it is closing or closed already. */
  close(code: number, reason: string): void {
    closeQuietly(this.#ws, code, reason);
  }
}
