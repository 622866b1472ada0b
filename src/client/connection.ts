/**
 * The client's connection state machine: connecting, open, reconnecting, closed. It dials one
 * link at a time, waits a full-jitter backoff between failed tries (the count of them resets
 * only once a connection lasted), asks the server over HTTP why a join failed, and ends for good
 * on a refusal or on `close()`. What frames and losses mean for the room is for client.ts,
 * which it tells through hooks.
 */
import { CLOSE_NORMAL } from "../protocol/codes.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import { backoffDelay, closeRefusal, probeRefusal, type Refusal } from "./connect.ts";
import type { Emitter } from "./emitter.ts";
import { Link } from "./link.ts";
import type {
  Closed,
  ConnectionState,
  RoomClientEvents,
  RoomClientOptions,
  StateChange,
} from "./types.ts";

/** What we close a socket with when we give up on it ourselves (4000-4999: application use). */
const CLOSE_GIVE_UP = 4000;

export type ConnectionOptions = Required<
  Pick<
    RoomClientOptions,
    | "baseDelayMs"
    | "maxDelayMs"
    | "minUptimeMs"
    | "connectTimeoutMs"
    | "pingIntervalMs"
    | "pongTimeoutMs"
    | "probe"
    | "random"
    | "WebSocket"
  >
>;

export interface ConnectionHooks {
  /** Where the next join goes, as whom. */
  url(): string;
  /** Every frame of the current link. */
  frame(link: Link, frame: ServerFrame): void;
  /** The current link is let go of: whatever was under way on it is over. */
  detached(): void;
  /**
   * A link was lost and closed, with this close code and what it says about the join: reports
   * what it cost; true to join again at once as a new guest rather than take the refusal.
   */
  lost(link: Link, code: number | undefined, refusal: Refusal | null): boolean;
}

export class Connection {
  #opts: ConnectionOptions;
  #events: Emitter<RoomClientEvents>;
  #hooks: ConnectionHooks;
  /** `closed` before `connect()` too; `#closing` tells the final kind apart. */
  #state: ConnectionState = "closed";
  #link: Link | null = null;
  #started = false;
  #closing = false;
  /** Consecutive connections that failed or did not last `minUptimeMs`. */
  #attempt = 0;
  /** Set when the room refused us for good (error frame before a 4401/4403 close). */
  #fatal: Refusal | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #uptimeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: ConnectionOptions, events: Emitter<RoomClientEvents>, hooks: ConnectionHooks) {
    this.#opts = opts;
    this.#events = events;
    this.#hooks = hooks;
  }

  get state(): ConnectionState {
    return this.#state;
  }
  /** The room-refusal that closed the connection, if any. */
  get fatal(): Refusal | null {
    return this.#fatal;
  }
  /** Whether nothing more can be sent: closed by the page, or refused by the room. */
  get ended(): boolean {
    return this.#closing || this.#fatal !== null;
  }
  /** The link frames go out on now; null unless open. */
  get openLink(): Link | null {
    return this.#state === "open" ? this.#link : null;
  }

  /** Starts connecting. Calling it again is harmless. */
  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    this.#setState("connecting");
    this.#dial();
  }

  /** The room welcomed this link: the connection counts as open from here. */
  opened(link: Link): void {
    link.opened();
    this.#setState("open");
    if (link !== this.#link) return; // a listener closed us
    this.#uptimeTimer = setTimeout(() => {
      // Only a connection that lasted resets the count: a server that welcomes and drops at
      // once must not be reconnected to at full speed forever.
      this.#attempt = 0;
    }, this.#opts.minUptimeMs);
  }

  /** While waiting to reconnect, tries now (say, when the browser says it is back online). */
  reconnectNow(): void {
    if (this.#state !== "reconnecting" || this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#dial();
  }

  /** Closes for good: no reconnect. */
  close(): void {
    if (this.#state === "closed" && this.#closing) return;
    this.#closing = true;
    const link = this.#link;
    this.#detach();
    link?.close(CLOSE_NORMAL, "client closed");
    this.#toClosed({ reason: "closed by the client" });
  }

  /**
   * The link is gone (closed by the server, by the network, or given up on by us). Decides
   * between closing for good and reconnecting. `refusal`: the room's refusal of who we are, in
   * its own words (its error frame); by default what the close code says.
   */
  lose(
    link: Link,
    welcomed: boolean,
    code: number | undefined,
    reason: string,
    refusal: Refusal | null = closeRefusal(code, reason),
  ): void {
    if (link !== this.#link) return;
    this.#detach();
    // A socket we gave up on may still be half-open; a browser would wait for its close
    // handshake, so it is closed without waiting and never heard from again.
    link.close(CLOSE_GIVE_UP, reason || "reconnecting");
    const asNewGuest = this.#hooks.lost(link, code, refusal);
    if (refusal !== null && !asNewGuest) this.#fatal = refusal;
    if (this.#fatal !== null) {
      this.#toClosed({
        ...(code === undefined ? {} : { code }),
        error: this.#fatal.code,
        reason: this.#fatal.message,
      });
      return;
    }
    // Asked once per streak of failures, not on every retry: the answer does not change. A
    // dropped guest token is no failure of the server: the new guest goes at once.
    if (!welcomed && !asNewGuest && this.#attempt === 0 && this.#opts.probe) void this.#probe();
    const { baseDelayMs, maxDelayMs, random } = this.#opts;
    const delayMs = asNewGuest ? 0 : backoffDelay(this.#attempt, baseDelayMs, maxDelayMs, random);
    if (!asNewGuest) this.#attempt++;
    this.#retryTimer = setTimeout(() => this.#dial(), delayMs);
    this.#setState("reconnecting", {
      delayMs,
      ...(code === undefined ? {} : { code }),
      ...(reason ? { reason } : {}),
    });
  }

  #dial(): void {
    this.#retryTimer = undefined;
    let ws: WebSocket;
    try {
      ws = new this.#opts.WebSocket(this.#hooks.url());
    } catch (err) {
      // A malformed URL cannot get better by retrying.
      this.#fatal = {
        code: "invalid_url",
        message: String(err instanceof Error ? err.message : err),
      };
      this.#toClosed({ error: this.#fatal.code, reason: this.#fatal.message });
      return;
    }
    const link: Link = new Link(ws, this.#opts, {
      frame: (frame) => this.#hooks.frame(link, frame),
      lost: (welcomed, code, reason) => this.lose(link, welcomed, code, reason),
    });
    this.#link = link;
  }

  /** Stops listening to the current link and the timers. */
  #detach(): void {
    const link = this.#link;
    this.#link = null;
    clearTimeout(this.#uptimeTimer);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    link?.detach();
    this.#hooks.detached();
  }

  /**
   * Asks over plain HTTP why the join failed (a WebSocket cannot read a refused upgrade). A
   * refusal is final; no verdict means the backoff goes on. The answer counts only while the
   * connection is still reconnecting: by then it may have been welcomed, or closed.
   */
  async #probe(): Promise<void> {
    const refusal = await probeRefusal(this.#hooks.url());
    if (refusal === null || this.#state !== "reconnecting") return;
    this.#fatal = refusal;
    const link = this.#link;
    this.#detach();
    link?.close(CLOSE_NORMAL, "refused");
    this.#toClosed({ error: refusal.code, reason: refusal.message });
  }

  #setState(state: ConnectionState, extra: Partial<StateChange> = {}): void {
    const previous = this.#state;
    this.#state = state;
    this.#events.emit("state", { state, previous, attempt: this.#attempt, ...extra });
  }

  #toClosed(detail: Closed): void {
    if (this.#state === "closed") return;
    this.#setState("closed", {
      ...(detail.code === undefined ? {} : { code: detail.code }),
      reason: detail.reason,
    });
    this.#events.emit("closed", detail);
  }
}
