/**
 * A bare Durable Object broadcast loop, for `node bench/variants.ts`: the runtime's own ceiling
 * and, one change at a time, what this project's send path adds to it. `MODE` (a var) picks:
 *
 * - `forward`: every inbound text is sent to every socket. Nothing else.
 * - `sql`: one SQLite INSERT per inbound text, then the sends (this project's order: stored,
 *   then delivered, so the output gate holds the sends until the write is confirmed).
 * - `send-first`: the sends, then the INSERT.
 * - `turn`: inbound texts are queued; once per event-loop turn (a zero-delay timer, like
 *   src/outbox.ts) they are all INSERTed, then each is sent to every socket as its own message.
 * - `sql-send-turn`: one INSERT per inbound text as it arrives, the sends once per turn (the
 *   order src/outbox.ts has since 247442d).
 * - `forward-turn`: `turn` without the INSERTs.
 *
 * Every mode sends one frame per WebSocket message; only when and after what differs.
 */
import { DurableObject } from "cloudflare:workers";

interface Env {
  MODE: string;
  BARE: DurableObjectNamespace<BareRoom>;
}

export class BareRoom extends DurableObject<Env> {
  readonly #sockets = new Set<WebSocket>(this.ctx.getWebSockets());
  readonly #mode = this.env.MODE;
  #seq = 0;
  #queued: string[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, body TEXT)");
  }

  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.#sockets.add(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(_ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const text = message as string;
    switch (this.#mode) {
      case "sql":
        this.#store(text);
        this.#broadcast(text);
        return;
      case "send-first":
        this.#broadcast(text);
        this.#store(text);
        return;
      case "sql-send-turn":
        this.#store(text);
        this.#queue(text);
        return;
      case "turn":
      case "forward-turn":
        this.#queue(text);
        return;
      default:
        this.#broadcast(text);
    }
  }

  #queue(text: string): void {
    this.#queued.push(text);
    if (this.#queued.length === 1) setTimeout(() => this.#flush(), 0);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.#sockets.delete(ws);
    try {
      ws.close(1000, "closed");
    } catch {
      // already closed
    }
  }

  #flush(): void {
    const texts = this.#queued;
    this.#queued = [];
    if (this.#mode === "turn") for (const t of texts) this.#store(t);
    for (const t of texts) this.#broadcast(t);
  }

  #store(text: string): void {
    this.ctx.storage.sql.exec("INSERT INTO frames (seq, body) VALUES (?, ?)", ++this.#seq, text);
  }

  #broadcast(text: string): void {
    for (const ws of this.#sockets) {
      try {
        ws.send(text);
      } catch {
        // a socket that just closed; its close handler removes it
      }
    }
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // GET /room/<room> as a WebSocket upgrade joins; anything else is 426, like this project.
    const room = new URL(request.url).pathname.split("/")[2];
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !room) {
      return Response.json({ error: "upgrade_required" }, { status: 426 });
    }
    return env.BARE.getByName(room).fetch(request);
  },
} satisfies ExportedHandler<Env>;
