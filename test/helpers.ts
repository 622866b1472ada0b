/**
 * Test client for rooms inside workerd: opens a WebSocket through the Worker's own fetch handler
 * (exactly the path a browser takes) and lets a test await frames in order, with timeouts.
 */
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { afterEach, beforeEach, vi } from "vitest";

// Frames are checked field by field in tests; `any` keeps those assertions short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

export const uniqueRoom = (prefix = "t") => `${prefix}-${crypto.randomUUID()}`;

export function roomUrl(room: string, params: Record<string, string> = {}): string {
  const qs = new URLSearchParams(params).toString();
  return `https://rooms.test/room/${room}${qs ? `?${qs}` : ""}`;
}

export async function request(
  room: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  return exports.default.fetch(roomUrl(room, params), { headers });
}

/** Joins a room and waits for `welcome`, which it returns alongside the client. */
export async function join(
  room: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const client = await open(room, params, headers);
  const welcome = await client.expect("welcome");
  return { client, welcome };
}

/**
 * Joins as a backend would let its user in: `user` (and `name`) in `params` become a join token
 * for that user, signed with the test JOIN_SECRET, since the server takes ids only from tokens.
 * Without `user`, the socket joins as a guest.
 */
export async function open(
  room: string,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const res = await request(room, await vouched(params, "room"), {
    Upgrade: "websocket",
    ...headers,
  });
  if (res.status !== 101 || res.webSocket === null) {
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  }
  return new Client(res.webSocket);
}

/** A backend's join token for one user (`room` or `desk`: `*` unless given). */
export function userToken(
  user: string,
  claims: { name?: string; room?: string; desk?: string; role?: string; exp?: number } = {},
): Promise<string> {
  const place = claims.desk !== undefined ? { desk: claims.desk } : { room: claims.room ?? "*" };
  const { room: _r, desk: _d, ...rest } = claims;
  return sign(
    { sub: user, name: user, exp: Math.floor(Date.now() / 1000) + 3600, ...place, ...rest },
    joinSecret(),
    "HS256",
  );
}

export function joinSecret(): string {
  // src/env.d.ts declares the secrets on the global Env, not on Cloudflare.Env that `env` is typed with.
  const secret = (env as Env).JOIN_SECRET;
  if (!secret) throw new Error("vitest.config.ts must bind JOIN_SECRET");
  return secret;
}

/** Replaces `user`/`name` by a token for that user (see `open`). */
export async function vouched(
  params: Record<string, string>,
  kind: "room" | "desk",
): Promise<Record<string, string>> {
  const { user, name, ...rest } = params;
  // With a token of its own, the test means to send what it gave: user is then sent as it is.
  if (user === undefined || params.token !== undefined) return params;
  const token = await userToken(user, { ...(name === undefined ? {} : { name }), [kind]: "*" });
  return { ...rest, token };
}

/**
 * Collects the structured log lines (`{"event":…}`, src/worker/log.ts) each test writes, fresh
 * for every test; any other console line still reaches the console.
 */
export function captureLogs(): { readonly lines: Record<string, unknown>[] } {
  const captured = { lines: [] as Record<string, unknown>[] };
  beforeEach(() => {
    captured.lines = [];
    const log = console.log.bind(console);
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
      const line = args[0];
      if (args.length === 1 && typeof line === "string" && line.startsWith('{"event":')) {
        captured.lines.push(JSON.parse(line) as Record<string, unknown>);
      } else log(...args);
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return captured;
}

interface Waiter {
  match: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
}

export class Client {
  /** Every WebSocket message as it arrived (one per frame unless joined with batch=1). */
  readonly raw: string[] = [];
  #queue: Frame[] = [];
  #waiters: Waiter[] = [];
  #rawWaiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.accept();
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
    });
    ws.addEventListener("message", (e) => {
      const text =
        typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer);
      this.raw.push(text);
      for (const w of this.#rawWaiters.splice(0)) w();
      for (const line of text.split("\n")) {
        const frame: Frame = line === "pong" ? { type: "pong" } : JSON.parse(line);
        const i = this.#waiters.findIndex((w) => w.match(frame));
        if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
        else this.#queue.push(frame);
      }
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The first frame (buffered or future) that matches; earlier non-matching frames stay queued. */
  waitFor(
    match: (f: Frame) => boolean,
    what = "a matching frame",
    timeoutMs = 5000,
  ): Promise<Frame> {
    const i = this.#queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for ${what}; queued: ${JSON.stringify(this.#queue)}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** The next frame in arrival order. */
  next(timeoutMs?: number): Promise<Frame> {
    return this.waitFor(() => true, "the next frame", timeoutMs);
  }

  /** The next frame in arrival order, which must be of `type`. */
  async expect(type: string, timeoutMs?: number): Promise<Frame> {
    const f = await this.next(timeoutMs);
    if (f.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(f)}`);
    return f;
  }

  /** Waits until at least `n` raw WebSocket messages have arrived. */
  async rawCount(n: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.raw.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out: ${this.raw.length} of ${n} messages`);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`timed out: ${this.raw.length} of ${n} messages`)),
          timeoutMs,
        );
        this.#rawWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.raw;
  }

  /** Frames received but not yet taken by next/expect/waitFor. */
  get pending(): Frame[] {
    return [...this.#queue];
  }

  close(code = 1000): void {
    try {
      this.ws.close(code, "test done");
    } catch {
      // already closed by the server, which some tests expect
    }
  }
}
