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
 * - `batch-turn`: `turn`, but each socket gets the turn's texts as one newline-joined message
 *   (what `batch=1` does), so the sends stop mattering and the cost of an inbound message shows.
 * - `batch-forward`: `batch-turn` without the INSERTs.
 * - `greet-turn`: `turn`, and every socket that joins is sent one frame the size and shape of
 *   this project's `welcome` on the next turn (what a room that must greet each socket pays the
 *   runtime, beside rooms that send nothing at join: `npm run bench`'s joins and storm).
 *
 * The other modes send one frame per WebSocket message; only when and after what differs.
 *
 * A room whose name has `~<mode>~` in it (e.g. `bench-x~batch-turn~-100`) runs that mode
 * instead of MODE, so one server can hold rooms of several modes (`npm run bench` does).
 *
 * For `node bench/variants.ts --http` (what an HTTP push costs before any fan-out), POST routes
 * add one step at a time to the 426 of `GET /room/x`: `/body` reads the body and answers JSON in
 * the Worker; `/hmac` also signs it with HMAC-SHA256 (a cached key); `/rpc` hands it to the
 * room's object over RPC, which does nothing; `/rpc-sql` has the object INSERT it first, so the
 * answer waits for the write to be confirmed; `/rpc-push` runs the four statements of one push
 * of this project (look up the push id, INSERT, trim, remember the id); `/rpc-sql-log` is
 * `/rpc-sql` plus one JSON log line of the shape a push writes, which under `wrangler dev` also
 * travels to wrangler's process through the attached inspector (what an operator's log line
 * costs on this machine, which a deployed Worker does not pay that way); `/rpc-publish-log/<room>`
 * is a bare push into a room of sockets: the event as a frame with the next seq, INSERTed, sent
 * to every socket, and that log line.
 */
import { DurableObject } from "cloudflare:workers";

interface Env {
  MODE: string;
  BARE: DurableObjectNamespace<BareRoom>;
}

export class BareRoom extends DurableObject<Env> {
  readonly #sockets = new Set<WebSocket>(this.ctx.getWebSockets());
  readonly #mode = modeOf(this.ctx.id.name, this.env.MODE);
  #seq = 0;
  #queued: string[] = [];
  /** `greet-turn`: sockets that joined this turn, greeted at its end. */
  #joined: WebSocket[] = [];
  #scheduled = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, body TEXT)");
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS dedupe (key TEXT PRIMARY KEY, result TEXT NOT NULL, ts INTEGER NOT NULL) WITHOUT ROWID",
    );
    // A woken object goes on from the stored seq, as this project does.
    this.#seq =
      ctx.storage.sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM frames").one()
        .seq ?? 0;
  }

  /** RPC: nothing but the hop. */
  async noop(text: string): Promise<number> {
    return text.length;
  }

  /** RPC: one INSERT, confirmed before the answer leaves (the output gate). */
  async store(text: string): Promise<number> {
    this.#store(text);
    return this.#seq;
  }

  /**
   * RPC: the statements of one signed push here (src/room.ts `publish`): look the push id up,
   * INSERT the frame, trim the log, remember the push id.
   */
  async push(text: string): Promise<number> {
    const sql = this.ctx.storage.sql;
    const id = `push:${crypto.randomUUID()}`;
    sql.exec("SELECT result FROM dedupe WHERE key = ? AND ts > ?", id, Date.now() - 86_400_000);
    this.#store(text);
    sql.exec("DELETE FROM frames WHERE seq <= ?", this.#seq - 1000);
    sql.exec("INSERT INTO dedupe (key, result, ts) VALUES (?, ?, ?)", id, "[]", Date.now());
    return this.#seq;
  }

  /**
   * RPC: a bare push into this room (`npm run bench`'s ceiling for pushes into sockets): the
   * pushed event becomes an `event` frame with the next seq, is INSERTed, then sent to every
   * socket as it is; nothing checked, deduplicated or batched. Answers how many sockets it reached.
   */
  async publish(text: string): Promise<number> {
    const e = JSON.parse(text) as { event: string; data: unknown };
    const frame = JSON.stringify({
      type: "event",
      seq: this.#seq + 1,
      event: e.event,
      data: e.data,
      to: null,
      ts: Date.now(),
    });
    this.#store(frame);
    this.#broadcast(frame);
    return this.#sockets.size;
  }

  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.#sockets.add(server);
    if (this.#mode === "greet-turn") {
      this.#joined.push(server);
      this.#schedule();
    }
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
      case "greet-turn":
      case "forward-turn":
      case "batch-turn":
      case "batch-forward":
        this.#queue(text);
        return;
      default:
        this.#broadcast(text);
    }
  }

  #queue(text: string): void {
    this.#queued.push(text);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => this.#flush(), 0);
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
    this.#scheduled = false;
    const texts = this.#queued;
    this.#queued = [];
    const joined = this.#joined;
    this.#joined = [];
    for (const ws of joined) {
      try {
        ws.send(this.#welcome());
      } catch {
        // gone already
      }
    }
    if (this.#mode === "turn" || this.#mode === "batch-turn" || this.#mode === "greet-turn")
      for (const t of texts) this.#store(t);
    if (this.#mode.startsWith("batch-")) this.#broadcast(texts.join("\n"));
    else for (const t of texts) this.#broadcast(t);
  }

  /**
   * A `welcome` as this project sends it to a socket that rejoins a room above PRESENCE_MAX:
   * who it is (with a guest token of a signed token's length), the count instead of a member
   * list, the last seq and an empty replay. The last seq goes under another key than `seq`, so
   * the bench client checks no order for this room, whose messages carry none.
   */
  #welcome(): string {
    return JSON.stringify({
      type: "welcome",
      room: this.ctx.id.name,
      self: { id: "guest_0123456789abcdef", name: "u0", token: "t".repeat(240) },
      members: null,
      count: this.#sockets.size,
      last_seq: this.#seq,
      replay: { from: this.#seq + 1, count: 0, complete: true },
    });
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

/** The mode a room's name asks for (`…~<mode>~…`), else the server's MODE. */
function modeOf(name: string | undefined, fallback: string): string {
  const asked = name?.split("~")[1];
  return asked === undefined || asked === "" ? fallback : asked;
}

let hmacKey: Promise<CryptoKey> | undefined;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method === "POST") {
      const [, step, room = "http"] = new URL(request.url).pathname.split("/");
      const text = await request.text();
      const stub = env.BARE.getByName(room);
      switch (step) {
        case "body":
          return Response.json({ bytes: text.length });
        case "hmac": {
          hmacKey ??= crypto.subtle.importKey(
            "raw",
            new TextEncoder().encode("bench-only-key"),
            { name: "HMAC", hash: "SHA-256" },
            false,
            ["sign"],
          );
          const mac = await crypto.subtle.sign(
            "HMAC",
            await hmacKey,
            new TextEncoder().encode(text),
          );
          return Response.json({ bytes: mac.byteLength });
        }
        case "rpc":
          return Response.json({ result: await stub.noop(text) });
        case "rpc-sql":
          return Response.json({ result: await stub.store(text) });
        case "rpc-push":
          return Response.json({ result: await stub.push(text) });
        case "rpc-sql-log":
        case "rpc-publish-log": {
          const publish = step === "rpc-publish-log";
          const seq = publish ? 0 : await stub.store(text);
          const delivered = publish ? await stub.publish(text) : 1;
          console.log(
            JSON.stringify({
              event: "push",
              room,
              id: `msg_${seq}`,
              events: ["bench"],
              user: null,
              delivered,
              duplicate: false,
            }),
          );
          // The answer has a push's shape, so the bench checks it as it checks a push's.
          return Response.json({ result: seq, results: [{ delivered }] });
        }
        default:
          return Response.json({ error: "not_found" }, { status: 404 });
      }
    }
    // GET /room/<room> as a WebSocket upgrade joins; anything else is 426, like this project.
    const room = new URL(request.url).pathname.split("/")[2];
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !room) {
      return Response.json({ error: "upgrade_required" }, { status: 426 });
    }
    return env.BARE.getByName(room).fetch(request);
  },
} satisfies ExportedHandler<Env>;
