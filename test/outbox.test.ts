/**
 * Unit tests of the batching outbox with fake sockets that record
 * what they were sent. Batched frames leave on a zero-delay timer, so "the next turn" is awaited
 * with a zero-delay timer of our own, scheduled after the outbox's and therefore run after it.
 */
import { describe, expect, it, vi } from "vitest";
import { BATCH_SEPARATOR, MAX_BATCH_BYTES, Outbox } from "../src/objects/outbox";

class FakeSocket {
  readonly sent: string[] = [];
  send(text: string): void {
    this.sent.push(text);
  }
}

class BrokenSocket {
  attempts = 0;
  send(_text: string): void {
    this.attempts++;
    throw new TypeError("WebSocket is closed");
  }
}

const ws = (fake: FakeSocket | BrokenSocket) => fake as unknown as WebSocket;

/** Resolves after every zero-delay timer scheduled before it has run. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

const frame = (n: number) => JSON.stringify({ type: "message", seq: n, data: { text: `m${n}` } });

/** An audience of members as the Hub passes it: socket → how it takes frames. */
const room = (...members: [FakeSocket, boolean][]) =>
  new Map(members.map(([s, batch]) => [ws(s), { batch }]));

describe("Outbox", () => {
  it("holds non-batch frames until the next turn, then sends one message per frame, in order", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    outbox.send(ws(a), frame(1), false);
    outbox.send(ws(a), frame(2), false);
    outbox.send(ws(a), frame(3), false);
    expect(a.sent).toEqual([]); // after the turn's writes, not interleaved with them
    await nextTurn();
    expect(a.sent).toEqual([frame(1), frame(2), frame(3)]);
    await nextTurn();
    expect(a.sent).toHaveLength(3); // nothing is sent twice
  });

  it("holds batch frames until the next turn, then sends them as one newline-joined message", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    outbox.send(ws(a), frame(1), true);
    outbox.send(ws(a), frame(2), true);
    outbox.send(ws(a), frame(3), true);
    expect(a.sent).toEqual([]);
    await nextTurn();
    expect(BATCH_SEPARATOR).toBe("\n");
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}\n${frame(3)}`]);
    expect(a.sent[0]!.split("\n").map((line) => JSON.parse(line).seq)).toEqual([1, 2, 3]);
  });

  it("sends a lone batch frame on the next turn without a separator", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    outbox.send(ws(a), frame(1), true);
    await nextTurn();
    expect(a.sent).toEqual([frame(1)]);
  });

  it("keeps each socket's batch separate", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    const b = new FakeSocket();
    outbox.send(ws(a), frame(1), true);
    outbox.send(ws(b), frame(1), true);
    outbox.send(ws(a), frame(2), true);
    outbox.send(ws(b), frame(3), true);
    await nextTurn();
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    expect(b.sent).toEqual([`${frame(1)}\n${frame(3)}`]);
  });

  it("flushes batch and non-batch sockets on the same turn, each in its own form", async () => {
    const outbox = new Outbox();
    const batched = new FakeSocket();
    const plain = new FakeSocket();
    for (const n of [1, 2]) {
      outbox.send(ws(batched), frame(n), true);
      outbox.send(ws(plain), frame(n), false);
    }
    expect([plain.sent, batched.sent]).toEqual([[], []]);
    await nextTurn();
    expect(plain.sent).toEqual([frame(1), frame(2)]);
    expect(batched.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
  });

  it("starts a new batch after a flush, sent on the following turn", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    outbox.send(ws(a), frame(1), true);
    await nextTurn();
    outbox.send(ws(a), frame(2), true);
    outbox.send(ws(a), frame(3), true);
    expect(a.sent).toEqual([frame(1)]);
    await nextTurn();
    expect(a.sent).toEqual([frame(1), `${frame(2)}\n${frame(3)}`]);
  });

  it("flushSocket sends that socket's batch at once and only once", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    const b = new FakeSocket();
    outbox.send(ws(a), frame(1), true);
    outbox.send(ws(a), frame(2), true);
    outbox.send(ws(b), frame(1), true);
    outbox.flushSocket(ws(a));
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    expect(b.sent).toEqual([]); // other sockets still wait for the turn
    await nextTurn();
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    expect(b.sent).toEqual([frame(1)]);
  });

  it("flushSocket sends a non-batch socket's frames at once, one message each", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    outbox.send(ws(a), frame(1), false);
    outbox.send(ws(a), frame(2), false);
    outbox.flushSocket(ws(a));
    expect(a.sent).toEqual([frame(1), frame(2)]);
    await nextTurn();
    expect(a.sent).toEqual([frame(1), frame(2)]);
  });

  it("flushSocket with nothing queued sends nothing, not an empty message", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    outbox.flushSocket(ws(a));
    outbox.send(ws(a), frame(1), false);
    outbox.flushSocket(ws(a));
    await nextTurn();
    expect(a.sent).toEqual([frame(1)]);
  });

  it("drop discards a socket's queued frames and leaves the others alone", async () => {
    const outbox = new Outbox();
    const gone = new FakeSocket();
    const stays = new FakeSocket();
    outbox.send(ws(gone), frame(1), true);
    outbox.send(ws(stays), frame(1), true);
    outbox.send(ws(gone), frame(2), true);
    outbox.drop(ws(gone));
    await nextTurn();
    expect(gone.sent).toEqual([]);
    expect(stays.sent).toEqual([frame(1)]);
  });

  it("a socket whose send throws does not stop non-batch delivery to the others", async () => {
    const outbox = new Outbox();
    const broken = new BrokenSocket();
    const a = new FakeSocket();
    const b = new FakeSocket();
    for (const s of [a, broken, b]) expect(() => outbox.send(ws(s), frame(1), false)).not.toThrow();
    await nextTurn();
    expect(broken.attempts).toBe(1);
    expect(a.sent).toEqual([frame(1)]);
    expect(b.sent).toEqual([frame(1)]);
  });

  it("a socket whose send throws does not stop a batch flush to the others", async () => {
    const outbox = new Outbox();
    const broken = new BrokenSocket();
    const a = new FakeSocket();
    const b = new FakeSocket();
    for (const s of [a, broken, b]) {
      outbox.send(ws(s), frame(1), true);
      outbox.send(ws(s), frame(2), true);
    }
    await nextTurn();
    expect(broken.attempts).toBe(1);
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    expect(b.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    expect(() => outbox.flushSocket(ws(broken))).not.toThrow();
  });

  it("flushSocket on a socket whose send throws does not throw", () => {
    const outbox = new Outbox();
    const broken = new BrokenSocket();
    outbox.send(ws(broken), frame(1), true);
    expect(() => outbox.flushSocket(ws(broken))).not.toThrow();
    expect(broken.attempts).toBe(1);
  });

  it("cuts a very large batch into messages of at most MAX_BATCH_BYTES, in order", async () => {
    expect(MAX_BATCH_BYTES).toBe(1 << 20);
    const outbox = new Outbox();
    const a = new FakeSocket();
    const big = (c: string) => c.repeat(300_000);
    for (const c of ["a", "b", "c", "d"]) outbox.send(ws(a), big(c), true);
    // The fourth frame would take the message past the cap: the first three leave at once.
    expect(a.sent).toEqual([[big("a"), big("b"), big("c")].join("\n")]);
    await nextTurn();
    expect(a.sent).toEqual([[big("a"), big("b"), big("c")].join("\n"), big("d")]);
    for (const message of a.sent) expect(message.length).toBeLessThanOrEqual(MAX_BATCH_BYTES);
  });

  it("fills a batched message up to exactly MAX_BATCH_BYTES and no further", async () => {
    const outbox = new Outbox();
    const exact = new FakeSocket();
    const first = "x".repeat(1 << 19);
    const fits = "y".repeat(MAX_BATCH_BYTES - first.length - 1); // + one separator = the cap
    outbox.send(ws(exact), first, true);
    outbox.send(ws(exact), fits, true);

    const over = new FakeSocket();
    outbox.send(ws(over), first, true);
    outbox.send(ws(over), `${fits}z`, true);
    await nextTurn();
    expect(exact.sent).toEqual([`${first}\n${fits}`]);
    expect(exact.sent[0]!.length).toBe(MAX_BATCH_BYTES);
    expect(over.sent).toEqual([first, `${fits}z`]);
  });

  it("sends a single frame larger than MAX_BATCH_BYTES alone, with no empty message before it", async () => {
    const outbox = new Outbox();
    const a = new FakeSocket();
    const huge = "h".repeat(MAX_BATCH_BYTES + 10);
    outbox.send(ws(a), huge, true);
    outbox.send(ws(a), frame(2), true);
    await nextTurn();
    expect(a.sent).toEqual([huge, frame(2)]);
  });

  it("measures MAX_BATCH_BYTES in UTF-8 bytes, not UTF-16 units", async () => {
    // Each frame is 200,000 euro signs: 600,000 bytes on the wire. Two of them already pass the
    // 1 MiB cap, so every frame must leave in its own message; counting string length (800,003
    // units for all four) puts 2.4 MB in one message.
    const outbox = new Outbox();
    const a = new FakeSocket();
    const euros = "€".repeat(200_000);
    for (let i = 0; i < 4; i++) outbox.send(ws(a), euros, true);
    await nextTurn();
    const bytes = a.sent.map((m) => new TextEncoder().encode(m).byteLength);
    for (const n of bytes) expect(n).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(a.sent.join("\n")).toBe(Array(4).fill(euros).join("\n"));
  });
});

describe("Outbox broadcasts", () => {
  it("reaches every member in its own form, and batch members get one shared string", async () => {
    const [a, b, plain] = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, true], [b, true], [plain, false]));
    expect(outbox.broadcast(frame(1))).toBe(3);
    expect(outbox.broadcast(frame(2))).toBe(3);
    expect([a.sent, b.sent, plain.sent]).toEqual([[], [], []]);
    await nextTurn();
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    expect(b.sent).toEqual(a.sent);
    expect(plain.sent).toEqual([frame(1), frame(2)]);
    await nextTurn();
    expect(a.sent).toHaveLength(1);
  });

  it("keeps one order per socket when its own frames and broadcasts interleave", async () => {
    const [a, b, c] = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, true], [b, false], [c, true]));
    outbox.broadcast(frame(1));
    outbox.send(ws(a), "ack-a", true);
    outbox.send(ws(b), "ack-b", false);
    outbox.broadcast(frame(2));
    outbox.send(ws(a), "dm-a", true);
    await nextTurn();
    expect(a.sent).toEqual([[frame(1), "ack-a", frame(2), "dm-a"].join("\n")]);
    expect(b.sent).toEqual([frame(1), "ack-b", frame(2)]);
    expect(c.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
  });

  it("leaves out one socket, which still gets the broadcasts before and after it", async () => {
    const [a, b] = [new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, true], [b, true]));
    outbox.broadcast(frame(1));
    expect(outbox.broadcast(frame(2), ws(a))).toBe(1);
    outbox.broadcast(frame(3));
    await nextTurn();
    expect(a.sent).toEqual([`${frame(1)}\n${frame(3)}`]);
    expect(b.sent).toEqual([`${frame(1)}\n${frame(2)}\n${frame(3)}`]);
  });

  it("counts a left-out socket only when it is a member", () => {
    const [a, stranger] = [new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, false]));
    expect(outbox.broadcast(frame(1), ws(stranger))).toBe(1);
  });

  it("gives a socket admitted mid-turn only the broadcasts after it joined", async () => {
    const [a, late] = [new FakeSocket(), new FakeSocket()];
    const members = room([a, true]);
    const outbox = new Outbox(members);
    outbox.broadcast(frame(1));
    members.set(ws(late), { batch: true });
    outbox.admit(ws(late), true);
    outbox.send(ws(late), "welcome", true);
    outbox.broadcast(frame(2));
    await nextTurn();
    expect(late.sent).toEqual([`welcome\n${frame(2)}`]);
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
  });

  it("sends broadcasts to members only, not to sockets that were sent a frame directly", async () => {
    const [a, outsider] = [new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, false]));
    outbox.send(ws(outsider), "refusal", false);
    outbox.broadcast(frame(1));
    await nextTurn();
    expect(outsider.sent).toEqual(["refusal"]);
    expect(a.sent).toEqual([frame(1)]);
  });

  it("skips a member that left before the flush", async () => {
    const [a, gone] = [new FakeSocket(), new FakeSocket()];
    const members = room([a, true], [gone, true]);
    const outbox = new Outbox(members);
    outbox.broadcast(frame(1));
    members.delete(ws(gone));
    outbox.drop(ws(gone));
    await nextTurn();
    expect(gone.sent).toEqual([]);
    expect(a.sent).toEqual([frame(1)]);
  });

  it("flushSocket sends a member its broadcasts at once, then only what comes after", async () => {
    const [a, b] = [new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, true], [b, true]));
    outbox.broadcast(frame(1));
    outbox.broadcast(frame(2));
    outbox.flushSocket(ws(a));
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    outbox.broadcast(frame(3));
    await nextTurn();
    expect(a.sent).toEqual([`${frame(1)}\n${frame(2)}`, frame(3)]);
    expect(b.sent).toEqual([`${frame(1)}\n${frame(2)}\n${frame(3)}`]);
  });

  it("runs beforeSend once, before a turn's first send", async () => {
    const a = new FakeSocket();
    const writes: number[] = [];
    const outbox = new Outbox(room([a, false]), () => writes.push(a.sent.length));
    outbox.broadcast(frame(1));
    outbox.broadcast(frame(2));
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual([0]); // written when nothing had been sent yet
    expect(a.sent).toEqual([frame(1), frame(2)]);
  });

  it("cuts shared broadcasts into messages under MAX_BATCH_BYTES, the same for every batch member", async () => {
    const [a, b] = [new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, true], [b, true]));
    const big = (c: string) => c.repeat(300_000);
    for (const c of ["a", "b", "c", "d", "e", "f", "g"]) outbox.broadcast(big(c));
    const huge = "h".repeat(MAX_BATCH_BYTES + 10);
    outbox.broadcast(huge);
    outbox.broadcast(frame(9));
    await nextTurn();
    expect(a.sent).toEqual([
      [big("a"), big("b"), big("c")].join("\n"),
      [big("d"), big("e"), big("f")].join("\n"),
      big("g"),
      huge,
      frame(9),
    ]);
    expect(b.sent).toEqual(a.sent);
  });

  it("counts a private copy of the shared frames towards MAX_BATCH_BYTES", async () => {
    const a = new FakeSocket();
    const outbox = new Outbox(room([a, true]));
    const big = (c: string) => c.repeat(400_000);
    outbox.broadcast(big("a"));
    outbox.broadcast(big("b"));
    outbox.send(ws(a), big("c"), true); // a + b + c would pass the cap: a and b leave now
    expect(a.sent).toEqual([`${big("a")}\n${big("b")}`]);
    await nextTurn();
    expect(a.sent).toEqual([`${big("a")}\n${big("b")}`, big("c")]);
  });

  it("measures shared broadcasts in UTF-8 bytes too", async () => {
    const [a, b] = [new FakeSocket(), new FakeSocket()];
    const outbox = new Outbox(room([a, true], [b, true]));
    const euros = "€".repeat(200_000); // 600,000 bytes: no two fit under the cap together
    const ascii = "a".repeat(400_000); // a bound of 3 bytes a unit would wrongly keep it apart
    outbox.broadcast(euros);
    outbox.broadcast(ascii);
    outbox.broadcast(euros);
    await nextTurn();
    expect(a.sent).toEqual([`${euros}\n${ascii}`, euros]);
    for (const m of a.sent)
      expect(new TextEncoder().encode(m).byteLength).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(b.sent).toEqual(a.sent);
  });
});

describe("Outbox.sendNow (a push: everything it sends is queued by the end of the call)", () => {
  it("sends what the call queued before returning, after beforeSend, with no timer", async () => {
    const a = new FakeSocket();
    const b = new FakeSocket();
    const writes: number[] = [];
    const outbox = new Outbox(room([a, false], [b, true]), () => writes.push(a.sent.length));
    const timers = vi.spyOn(globalThis, "setTimeout");
    try {
      const out = outbox.sendNow(() => {
        outbox.broadcast(frame(1));
        outbox.broadcast(frame(2));
        return "answer";
      });
      expect(out).toBe("answer");
      expect(timers).not.toHaveBeenCalled();
    } finally {
      timers.mockRestore();
    }
    expect(writes).toEqual([0]);
    expect(a.sent).toEqual([frame(1), frame(2)]);
    expect(b.sent).toEqual([`${frame(1)}\n${frame(2)}`]);
    await nextTurn();
    expect(a.sent).toHaveLength(2); // nothing twice
  });

  it("sends frames queued earlier in the turn first, and the earlier timer then finds nothing", async () => {
    const a = new FakeSocket();
    const outbox = new Outbox(room([a, false]));
    outbox.broadcast(frame(1)); // sets the timer
    outbox.sendNow(() => outbox.broadcast(frame(2)));
    expect(a.sent).toEqual([frame(1), frame(2)]);
    await nextTurn();
    expect(a.sent).toEqual([frame(1), frame(2)]);
    outbox.broadcast(frame(3)); // later frames still wait for their turn
    expect(a.sent).toHaveLength(2);
    await nextTurn();
    expect(a.sent).toEqual([frame(1), frame(2), frame(3)]);
  });

  it("when the call throws, sends nothing now and leaves what it queued to the next turn", async () => {
    const a = new FakeSocket();
    const outbox = new Outbox(room([a, false]));
    expect(() =>
      outbox.sendNow(() => {
        outbox.broadcast(frame(1));
        throw new Error("the write failed");
      }),
    ).toThrow("the write failed");
    expect(a.sent).toEqual([]);
    await nextTurn();
    expect(a.sent).toEqual([frame(1)]);
  });
});
