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
 * - `presence-turn`: `greet-turn`, and what else every join of this project's protocol must do,
 *   the least way it can be done: the Worker signs a guest token for a new guest (HMAC-SHA256,
 *   a cached key) or checks the one a returning socket brings; the object keeps the distinct
 *   members, welcomes with the member list up to PRESENCE_MAX (200) members and with the count
 *   above it, sends every other socket a `join` or `leave` of each member up to 200, and above
 *   it a `count` at most once per PRESENCE_COUNT_MS (2 s) while the count rises, a falling one
 *   once leaves pause for that long (at most five intervals). Nothing stored, no registry, no
 *   hooks, no bans: what any room that speaks this protocol pays the runtime at a join.
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
  /** `presence-turn`: its members and the frames of this turn (`null`: to every socket). */
  readonly #presence = new BarePresence((text) => this.#broadcast(text));
  #out: { to: WebSocket | null; except?: WebSocket; text: string }[] = [];

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

  override async fetch(request: Request): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    this.#sockets.add(server);
    if (this.#mode === "presence-turn") {
      const q = new URL(request.url).searchParams;
      const who = { id: q.get("id")!, name: q.get("name")! };
      server.serializeAttachment(who);
      this.#presenceJoin(server, who, q.get("token"));
      return new Response(null, { status: 101, webSocket: client });
    }
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
    if (this.#mode === "presence-turn") {
      const left = this.#presence.leave(ws.deserializeAttachment() as Who);
      if (left !== null) this.#out.push({ to: null, text: left });
      if (this.#out.length > 0) this.#schedule();
    }
    try {
      ws.close(1000, "closed");
    } catch {
      // already closed
    }
  }

  /** A socket joined a `presence-turn` room: its welcome, and the others told as the protocol says. */
  #presenceJoin(ws: WebSocket, who: Who, token: string | null): void {
    const { members, announce } = this.#presence.join(who);
    const welcome = JSON.stringify({
      type: "welcome",
      room: this.ctx.id.name,
      self: token === null ? who : { ...who, token },
      members,
      count: this.#presence.count,
      last_seq: this.#seq,
      replay: { from: this.#seq + 1, count: 0, complete: true },
    });
    this.#out.push({ to: ws, text: welcome });
    if (announce !== null) this.#out.push({ to: null, except: ws, text: announce });
    this.#schedule();
  }

  #flush(): void {
    this.#scheduled = false;
    const out = this.#out;
    this.#out = [];
    for (const { to, except, text } of out) {
      if (to !== null) sendQuietly(to, text);
      else for (const ws of this.#sockets) if (ws !== except) sendQuietly(ws, text);
    }
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
    for (const ws of this.#sockets) sendQuietly(ws, text);
  }
}

function sendQuietly(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // a socket that just closed; its close handler removes it
  }
}

type Who = { id: string; name: string };

/** Above this many members, counts instead of names (this project's PRESENCE_MAX default). */
const PRESENCE_MAX = 200;
/** The least time between two `count` frames (this project's PRESENCE_COUNT_MS default). */
const COUNT_MS = 2000;

/** The `presence-turn` room's members, and when a `count` is due. */
class BarePresence {
  /** Each member's open sockets. */
  readonly #members = new Map<string, { name: string; sockets: number }>();
  #counting = false;
  #shown = -1;
  #lastSent = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #fallSince: number | null = null;

  constructor(readonly send: (text: string) => void) {}

  get count(): number {
    return this.#members.size;
  }

  #list(): Who[] {
    return [...this.#members].map(([id, m]) => ({ id, name: m.name }));
  }

  /** A socket joined: the welcome's member list (null above the threshold), and the `join` to send. */
  join(who: Who): { members: Who[] | null; announce: string | null } {
    const m = this.#members.get(who.id);
    if (m !== undefined) {
      m.sockets++;
      return { members: this.#counting ? null : this.#list(), announce: null };
    }
    this.#members.set(who.id, { name: who.name, sockets: 1 });
    if (!this.#counting && this.count > PRESENCE_MAX) this.#counting = true;
    if (this.#counting) {
      this.#fallSince = null;
      this.#due(Date.now());
      return { members: null, announce: null };
    }
    const frame = { type: "presence", action: "join", member: who, count: this.count };
    return { members: this.#list(), announce: JSON.stringify(frame) };
  }

  /** A socket left: the `leave` to send when it was its member's last, below the threshold. */
  leave(who: Who): string | null {
    const m = this.#members.get(who.id);
    if (m === undefined || --m.sockets > 0) return null;
    this.#members.delete(who.id);
    if (!this.#counting) {
      const frame = { type: "presence", action: "leave", member: who, count: this.count };
      return JSON.stringify(frame);
    }
    // A falling count waits until the leaves pause (at most five intervals).
    const now = Date.now();
    this.#fallSince ??= now;
    const at = Math.min(now + COUNT_MS, this.#fallSince + 5 * COUNT_MS);
    this.#arm(at - now);
    return null;
  }

  /** A rising count: now if none went out for COUNT_MS, else at the end of that interval. */
  #due(now: number): void {
    if (now - this.#lastSent >= COUNT_MS && this.#timer === null) this.#arm(0);
    else if (this.#timer === null) this.#arm(this.#lastSent + COUNT_MS - now);
  }

  #arm(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#sendCount(), ms);
  }

  #sendCount(): void {
    this.#timer = null;
    this.#fallSince = null;
    if (!this.#counting || this.count === this.#shown) return;
    this.#lastSent = Date.now();
    const frame: { type: string; action: string; count: number; members?: Who[] } = {
      type: "presence",
      action: "count",
      count: this.count,
    };
    if (this.count <= PRESENCE_MAX) {
      this.#counting = false;
      this.#shown = -1;
      frame.members = this.#list();
    } else this.#shown = this.count;
    this.send(JSON.stringify(frame));
  }
}

/** The mode a room's name asks for (`…~<mode>~…`), else the server's MODE. */
function modeOf(name: string | undefined, fallback: string): string {
  const asked = name?.split("~")[1];
  return asked === undefined || asked === "" ? fallback : asked;
}

let hmacKey: Promise<CryptoKey> | undefined;
const hmac = () =>
  (hmacKey ??= crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode("bench-only-key"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  ));

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const unb64url = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/**
 * A `presence-turn` room's join in the Worker: a returning socket's guest token checked (HMAC
 * verify), or a new guest given an id and a signed token of a JWT's shape and length; the
 * object gets who it is in the URL, as this project's objects do.
 */
async function presenceJoin(request: Request, env: Env, room: string): Promise<Response> {
  const q = new URL(request.url).searchParams;
  let token = q.get("token");
  let who: Who;
  const head = b64url(new TextEncoder().encode('{"alg":"HS256","typ":"JWT"}'));
  if (token !== null) {
    const [h = "", body = "", sig = ""] = token.split(".");
    const ok = await crypto.subtle.verify(
      "HMAC",
      await hmac(),
      unb64url(sig),
      new TextEncoder().encode(`${h}.${body}`),
    );
    if (!ok) return Response.json({ error: "unauthorized" }, { status: 401 });
    const claims = JSON.parse(new TextDecoder().decode(unb64url(body))) as {
      sub: string;
      name: string;
    };
    who = { id: claims.sub, name: claims.name };
  } else {
    const id = `guest-${b64url(crypto.getRandomValues(new Uint8Array(12)))}`;
    who = { id, name: q.get("name") ?? "guest" };
    const exp = Math.floor(Date.now() / 1000) + 30 * 86_400;
    const claims = { sub: who.id, name: who.name, role: "guest", place: "*", exp };
    const body = b64url(new TextEncoder().encode(JSON.stringify(claims)));
    const sig = await crypto.subtle.sign(
      "HMAC",
      await hmac(),
      new TextEncoder().encode(`${head}.${body}`),
    );
    token = `${head}.${body}.${b64url(new Uint8Array(sig))}`;
  }
  const url = new URL("https://bare/join");
  url.searchParams.set("id", who.id);
  url.searchParams.set("name", who.name);
  url.searchParams.set("token", token);
  return env.BARE.getByName(room).fetch(new Request(url, request));
}

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
          const mac = await crypto.subtle.sign(
            "HMAC",
            await hmac(),
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
    if (modeOf(room, "") === "presence-turn") return presenceJoin(request, env, room);
    return env.BARE.getByName(room).fetch(request);
  },
} satisfies ExportedHandler<Env>;
