/**
 * What the Node tests of the client module share: a scripted room (a tiny `ws` server whose
 * every word is the test's), frame builders, and waiting for a client's events with a timeout.
 */
import WebSocket, { WebSocketServer } from "ws";
import type { RoomClient, RoomClientEvents } from "../../src/client/index.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

export const WAIT_MS = 5_000;

/** Resolves with the next event of a type (matching `match`), or fails after WAIT_MS. */
export function nextEvent<K extends keyof RoomClientEvents>(
  client: RoomClient,
  type: K,
  match: (detail: RoomClientEvents[K]) => boolean = () => true,
  what = `a "${String(type)}" event`,
): Promise<RoomClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, WAIT_MS);
    const off = client.on(type, (detail) => {
      if (!match(detail)) return;
      clearTimeout(timer);
      off();
      resolve(detail);
    });
  });
}

/** Collects every detail of one event type, in order. */
export function record<K extends keyof RoomClientEvents>(
  client: RoomClient,
  type: K,
): RoomClientEvents[K][] {
  const seen: RoomClientEvents[K][] = [];
  client.on(type, (d) => seen.push(d));
  return seen;
}

/** One accepted connection of the scripted server: what the client asked for and sent. */
export interface Conn {
  ws: WebSocket;
  url: URL;
  received: string[];
  /** Resolves with the n-th text frame (counting from 1) this connection received. */
  frame(n: number): Promise<string>;
}

/**
 * A scripted room: each connection is handed to the test, which decides what the "room" says.
 * Frames are sent batched (joined with "\n") as a room sends them to a `batch=1` client.
 */
export class ScriptedRoom {
  readonly conns: Conn[] = [];
  #wss: WebSocketServer;
  #waiters: { n: number; resolve: (c: Conn) => void }[] = [];

  private constructor(wss: WebSocketServer) {
    this.#wss = wss;
    wss.on("connection", (ws, req) => {
      const received: string[] = [];
      const frameWaiters: { n: number; resolve: (t: string) => void }[] = [];
      ws.on("message", (data) => {
        received.push(data.toString());
        for (const w of frameWaiters.filter((w) => w.n <= received.length))
          w.resolve(received[w.n - 1]!);
      });
      const conn: Conn = {
        ws,
        url: new URL(req.url!, "http://x"),
        received,
        frame: (n) =>
          received.length >= n
            ? Promise.resolve(received[n - 1]!)
            : withTimeout(
                new Promise((resolve) => frameWaiters.push({ n, resolve })),
                `client frame #${n}`,
              ),
      };
      this.conns.push(conn);
      for (const w of this.#waiters.filter((w) => w.n <= this.conns.length))
        w.resolve(this.conns[w.n - 1]!);
    });
  }

  static async start(): Promise<ScriptedRoom> {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    return new ScriptedRoom(wss);
  }

  get url(): string {
    const addr = this.#wss.address();
    return `ws://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
  }

  /** Resolves with the n-th connection (counting from 1). */
  connection(n: number): Promise<Conn> {
    if (this.conns.length >= n) return Promise.resolve(this.conns[n - 1]!);
    return withTimeout(
      new Promise((resolve) => this.#waiters.push({ n, resolve })),
      `connection #${n}`,
    );
  }

  async stop(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    await new Promise((r) => this.#wss.close(r));
  }
}

export function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export const send = (conn: Conn, ...frames: (Frame | string)[]) =>
  conn.ws.send(frames.map((f) => (typeof f === "string" ? f : JSON.stringify(f))).join("\n"));

export const welcome = (seq: number, count = 0, extra: Frame = {}): Frame => ({
  type: "welcome",
  room: "r",
  self: { id: "u1", name: "Ann" },
  members: [{ id: "u1", name: "Ann" }],
  count: 1,
  seq,
  replay: { from: seq - count, count, complete: true },
  ...extra,
});
export const message = (
  seq: number,
  data: unknown = `m${seq}`,
  from = "u2",
  id?: string,
): Frame => ({
  type: "message",
  seq,
  ...(id === undefined ? {} : { id }),
  from: { id: from, name: from },
  data,
  ts: 1764000000000 + seq,
});
