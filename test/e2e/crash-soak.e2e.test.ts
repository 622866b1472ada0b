/**
 * A soak with a crash in the middle: rooms of members who send numbered messages, drop their
 * sockets at random and come back with `since`, re-sending whatever was not acknowledged —
 * while `wrangler dev` is killed with SIGKILL and started again on the same storage. At the end
 * every acknowledged frame exists exactly once, under the seq it was acked with, and every
 * member saw its room from its first join with no gap and no duplicate.
 *
 * The size is small by default so CI stays quick; SOAK_ROOMS, SOAK_MEMBERS, SOAK_SECONDS and
 * SOAK_KILLS scale it up (e.g. 10 rooms of 10 members for 60 s with 5 kills). A kill only hurts
 * when it lands between the turn that receives a frame and the one that writes it, a window of
 * a millisecond or so, so a small run rarely hits it: test/crash.test.ts makes that exact crash
 * happen every time; this run shows the guarantees hold through real kills and reconnects.
 */
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type DevServer, startServer } from "./server.ts";

const ROOMS = Number(process.env.SOAK_ROOMS ?? 3);
const MEMBERS = Number(process.env.SOAK_MEMBERS ?? 4);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 8);
/** How many times the server is killed, evenly spread over the run. */
const KILLS = Number(process.env.SOAK_KILLS ?? 1);
/** Each member sends about this many messages a second, as the reported run did. */
const SEND_PER_SEC = 2;
/** Chance per send tick that a member drops its socket (then it reconnects shortly after). */
const DROP_CHANCE = 0.08;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

/** A member as a careful client behaves: resume with since, re-send what is not acked. */
class Member {
  token: string | undefined;
  id: string | undefined;
  /** The newest seq seen: where the next join resumes. */
  lastSeq: number | undefined;
  /** Where the first welcome's replay starts: from here on the member must see every seq once. */
  firstSeq: number | undefined;
  readonly seen: number[] = [];
  readonly problems: string[] = [];
  readonly acked = new Map<string, number>();
  readonly unacked = new Map<string, string>();
  #ws: WebSocket | null = null;
  #open = false;
  #next = 0;
  #stopped = false;

  constructor(
    readonly room: string,
    readonly name: string,
    readonly base: () => string,
  ) {}

  connect(): void {
    if (this.#stopped) return;
    const q = new URLSearchParams({ batch: "1" });
    if (this.token !== undefined) q.set("token", this.token);
    else q.set("name", this.name);
    if (this.lastSeq !== undefined) q.set("since", String(this.lastSeq));
    const ws = new WebSocket(`${this.base()}/room/${this.room}?${q}`);
    this.#ws = ws;
    ws.on("message", (data) => {
      for (const line of data.toString().split("\n")) this.#receive(ws, JSON.parse(line));
    });
    const retry = () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#open = false;
      // The server may be down (killed): come back a little later, as a client's backoff does.
      setTimeout(() => this.connect(), 200 + Math.random() * 300);
    };
    ws.on("close", retry);
    ws.on("error", () => ws.terminate());
  }

  #receive(ws: WebSocket, f: Frame): void {
    switch (f.type) {
      case "welcome":
        this.id ??= f.self.id;
        if (f.self.token !== undefined) this.token = f.self.token;
        if (f.self.id !== this.id) this.problems.push(`became ${f.self.id}, was ${this.id}`);
        // The first join replays the newest frames: the member's view starts just before them.
        if (this.firstSeq === undefined) this.firstSeq = f.replay.from;
        this.lastSeq ??= f.replay.from;
        if (f.replay.complete !== true)
          this.problems.push(`incomplete replay ${JSON.stringify(f)}`);
        this.#open = true;
        // Everything not acknowledged goes again, under its own id.
        for (const [id, text] of this.unacked)
          ws.send(JSON.stringify({ type: "message", id, data: text }));
        return;
      case "message": {
        const expected = this.lastSeq! + 1;
        if (f.seq !== expected) {
          this.problems.push(
            f.seq <= this.lastSeq! ? `duplicate seq ${f.seq}` : `gap: ${expected}..${f.seq - 1}`,
          );
        }
        if (f.seq > this.lastSeq!) {
          this.lastSeq = f.seq;
          this.seen.push(f.seq);
        }
        return;
      }
      case "ack": {
        const before = this.acked.get(f.id);
        if (before !== undefined && before !== f.seq)
          this.problems.push(`${f.id} acked as ${before}, then as ${f.seq}`);
        this.acked.set(f.id, f.seq);
        this.unacked.delete(f.id);
        return;
      }
      case "error":
        this.problems.push(`error ${f.code}: ${f.message}`);
        return;
    }
  }

  /** Sends the next numbered message (kept until acked); sometimes drops the socket instead. */
  tick(): void {
    if (Math.random() < DROP_CHANCE) {
      this.#ws?.terminate();
      return;
    }
    const id = `${this.name}-${this.#next++}`;
    const text = `${this.name} says ${id}`;
    this.unacked.set(id, text);
    if (this.#open) this.#ws?.send(JSON.stringify({ type: "message", id, data: text }));
  }

  stop(): void {
    this.#stopped = true;
    const ws = this.#ws;
    this.#ws = null;
    ws?.close();
  }
}

/** Every stored frame of a room, paged through by a reader who may see them all. */
async function storedFrames(base: string, room: string): Promise<Frame[]> {
  const ws = new WebSocket(`${base}/room/${room}?name=auditor`);
  const frames: Frame[] = [];
  const inbox: Frame[] = [];
  let wake: (() => void) | null = null;
  ws.on("message", (d) => {
    inbox.push(JSON.parse(d.toString()));
    wake?.();
  });
  const next = async (type: string): Promise<Frame> => {
    for (;;) {
      const i = inbox.findIndex((f) => f.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0]!;
      await new Promise<void>((r, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${type} frame`)), 10_000);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  };
  const welcome = await next("welcome");
  let before = welcome.seq + 1;
  for (;;) {
    ws.send(JSON.stringify({ type: "history", before, limit: 100 }));
    const page = await next("history");
    frames.unshift(...page.messages);
    if (page.complete || page.messages.length === 0) break;
    before = page.messages[0].seq;
  }
  ws.close();
  return frames;
}

describe("a crash in the middle of a busy run", () => {
  const servers: DevServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it("loses no acknowledged frame, acks none with another's seq, and shows every member its room without gaps", async () => {
    // Nothing is trimmed during the run, so every acknowledged frame can be looked up after it.
    const vars = { HISTORY_LIMIT: "100000" };
    let server = await startServer({ vars });
    servers.push(server);
    const base = () => server.wsUrl;
    const rooms = Array.from({ length: ROOMS }, (_, r) => `soak-${r}-${crypto.randomUUID()}`);
    const members = rooms.flatMap((room, r) =>
      Array.from({ length: MEMBERS }, (_, m) => new Member(room, `r${r}m${m}`, base)),
    );
    for (const m of members) m.connect();

    const ticker = setInterval(() => {
      for (const m of members) m.tick();
    }, 1000 / SEND_PER_SEC);
    const segmentMs = (SECONDS * 1000) / (KILLS + 1);
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, segmentMs)); // a run lasts this long by design
      // The crash: SIGKILL, then the same storage, port and secret again.
      await server.kill();
      server = await startServer({
        persistDir: server.persistDir,
        port: server.port,
        vars: { ...vars, JOIN_SECRET: server.joinSecret },
      });
      servers.push(server);
    }
    await new Promise((r) => setTimeout(r, segmentMs));
    clearInterval(ticker);

    // Quiet now: every member gets its last messages acknowledged.
    const deadline = Date.now() + 30_000;
    while (members.some((m) => m.unacked.size > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100)); // polling the members' own state
    }
    for (const m of members) m.stop();
    expect(members.filter((m) => m.unacked.size > 0).map((m) => m.name)).toEqual([]);

    let totalAcked = 0;
    for (const room of rooms) {
      const stored = await storedFrames(server.wsUrl, room);
      const seqs = stored.map((f) => f.seq);
      expect(new Set(seqs).size, `${room}: a seq stored twice`).toBe(seqs.length);
      const byKey = new Map<string, Frame[]>();
      for (const f of stored) {
        const key = `${f.from.id} ${f.id}`;
        byKey.set(key, [...(byKey.get(key) ?? []), f]);
      }
      for (const m of members.filter((x) => x.room === room)) {
        for (const [id, seq] of m.acked) {
          const copies = byKey.get(`${m.id} ${id}`) ?? [];
          expect(
            copies.map((f) => f.seq),
            `${m.name} ${id}`,
          ).toEqual([seq]);
          expect(copies[0]!.data).toBe(`${m.name} says ${id}`);
          totalAcked++;
        }
        expect(m.problems, m.name).toEqual([]);
        // From its first join on, the member saw every seq of its room once, in order.
        const expected = seqs.filter((s) => s > m.firstSeq! && s <= m.lastSeq!);
        expect(m.seen, m.name).toEqual(expected);
      }
    }
    expect(totalAcked).toBeGreaterThan(ROOMS * MEMBERS * SECONDS * SEND_PER_SEC * 0.5);
  }, 180_000);
});
