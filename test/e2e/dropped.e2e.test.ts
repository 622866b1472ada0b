/**
 * A connection that drops (no close frame: a reset, a lost network) is closed with code 1006,
 * and the room does not answer it: there is nobody to answer, and answering thousands of them
 * at once was most of a reconnect storm's cost (protocol/codes.ts). This proves, against a real
 * `wrangler dev`, that the dropped socket is gone for good all the same: its user leaves at once,
 * and after the room was evicted and rebuilt from the runtime's list of its sockets, the user is
 * not back as a ghost.
 *
 * Eviction is seen from outside through memory only the live object has: with a rate of one
 * frame and a refill of one per 100 s, a second frame is refused, and it is accepted again only
 * by a rebuilt object, whose buckets are new.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type DevServer } from "./server";
import { WsClient, type Frame } from "./wsclient";

let server: DevServer;

beforeAll(async () => {
  server = await startServer({ vars: { RATE_PER_SEC: "0.01", RATE_BURST: "1" } });
});
afterAll(async () => {
  await server?.stop();
});

async function join(path: string): Promise<{ c: WsClient; welcome: Frame }> {
  const c = await WsClient.connect(`${server.wsUrl}${path}`);
  return { c, welcome: await c.expect("welcome") };
}

/** Sends a message; "stored" once it is acked, "refused" on the rate limit's error. */
async function sendOne(c: WsClient, id: string): Promise<"stored" | "refused"> {
  c.send({ type: "message", data: id, id });
  const answer = await c.waitFor(
    (f) => (f.type === "ack" || f.type === "error") && f.id === id,
    `the answer to ${id}`,
  );
  if (answer.type === "error") {
    expect(answer.code).toBe("rate_limited");
    return "refused";
  }
  return "stored";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a dropped connection", () => {
  it("leaves at once, and is not a member again after the room is evicted", async () => {
    const room = `dropped-${crypto.randomUUID()}`;
    const { c: ann, welcome } = await join(`/room/${room}?name=Ann`);
    const annId: string = welcome.self.id;
    const { c: bo, welcome: boWelcome } = await join(`/room/${room}?name=Bo`);
    const boId: string = boWelcome.self.id;
    expect(await ann.expect("presence")).toMatchObject({ action: "join", count: 2 });

    // The TCP connection goes away without a close frame: the room sees 1006.
    bo.ws.terminate();
    expect(await ann.expect("presence")).toMatchObject({
      action: "leave",
      member: { id: boId, name: "Bo" },
      count: 1,
    });

    expect(await sendOne(ann, "m1")).toBe("stored");
    expect(await sendOne(ann, "m2")).toBe("refused"); // this instance's bucket is empty

    // No event tells a test the object was evicted: wait past the runtime's ~10 s idle time,
    // then look. Each look is an event that keeps it awake again, so look seldom.
    let evicted = false;
    for (let attempt = 1; attempt <= 4 && !evicted; attempt++) {
      await sleep(attempt === 1 ? 13_000 : 6_000);
      evicted = (await sendOne(ann, `probe-${attempt}`)) === "stored";
    }
    expect(evicted, "the room was never evicted while idle").toBe(true);

    const { c: cy, welcome: cyWelcome } = await join(`/room/${room}?name=Cy`);
    expect(cyWelcome.count).toBe(2);
    expect(cyWelcome.members.map((m: Frame) => m.id).sort()).toEqual(
      [annId, cyWelcome.self.id].sort(),
    );
    ann.close();
    cy.close();
  }, 60_000);
});
