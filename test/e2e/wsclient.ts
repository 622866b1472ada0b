/**
 * A room client for Node-side tests, on the `ws` package: connects, queues parsed frames
 * (splitting batched messages), and lets a test await them in order with timeouts.
 */
import WebSocket from "ws";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

export class WsClient {
  readonly raw: string[] = [];
  #queue: Frame[] = [];
  #waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on("message", (data) => {
      const text = data.toString();
      this.raw.push(text);
      for (const line of text.split("\n")) {
        const frame: Frame = line === "pong" ? { type: "pong" } : JSON.parse(line);
        const i = this.#waiters.findIndex((w) => w.match(frame));
        if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
        else this.#queue.push(frame);
      }
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new WsClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
      );
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  waitFor(
    match: (f: Frame) => boolean,
    what = "a matching frame",
    timeoutMs = 10_000,
  ): Promise<Frame> {
    const i = this.#queue.findIndex(match);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `timed out waiting for ${what}; queued: ${JSON.stringify(this.#queue).slice(0, 2000)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  async expect(type: string, timeoutMs?: number): Promise<Frame> {
    const f = await this.waitFor(() => true, `a ${type} frame`, timeoutMs);
    if (f.type !== type) throw new Error(`expected a ${type} frame, got ${JSON.stringify(f)}`);
    return f;
  }

  close(): void {
    this.ws.close(1000);
  }
}
