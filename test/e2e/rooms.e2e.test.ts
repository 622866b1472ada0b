/**
 * The rooms against a real `wrangler dev` process, with the `ws` package as the client: what a
 * new user does after `npm start`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

let server: DevServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const room = () => `e2e-${crypto.randomUUID()}`;

describe("rooms under wrangler dev", () => {
  it("serves the page and answers a plain GET on a room with 426 JSON", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const res = await fetch(`${server.url}/room/lobby`);
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ error: "upgrade_required" });
  });

  it("lets two clients chat both ways, with presence and direct messages", async () => {
    const r = room();
    const ann = await WsClient.connect(`${server.wsUrl}/room/${r}?user=ann&name=Ann`);
    expect(await ann.expect("welcome")).toMatchObject({
      room: r,
      seq: 0,
      members: [{ id: "ann", name: "Ann" }],
    });
    const bo = await WsClient.connect(`${server.wsUrl}/room/${r}?user=bo&name=Bo`);
    expect((await bo.expect("welcome")).members).toHaveLength(2);
    expect(await ann.expect("presence")).toMatchObject({
      action: "join",
      member: { id: "bo" },
      count: 2,
    });

    ann.send({ type: "message", data: { text: "你好" }, id: "a1" });
    expect(await bo.expect("message")).toMatchObject({
      seq: 1,
      from: { id: "ann" },
      data: { text: "你好" },
    });
    expect(await ann.expect("message")).toMatchObject({ seq: 1 });
    expect(await ann.expect("ack")).toEqual({ type: "ack", id: "a1", seq: 1 });

    bo.send({ type: "direct", to: "ann", data: "psst" });
    expect(await ann.expect("direct")).toMatchObject({
      seq: 2,
      to: "ann",
      from: { id: "bo" },
      data: "psst",
    });
    expect(await bo.expect("direct")).toMatchObject({ seq: 2 });

    bo.close();
    expect(await ann.expect("presence")).toMatchObject({
      action: "leave",
      member: { id: "bo" },
      count: 1,
    });
    ann.close();
  });

  it("answers ping with pong and bad JSON with an error frame, keeping the socket", async () => {
    const c = await WsClient.connect(`${server.wsUrl}/room/${room()}`);
    await c.expect("welcome");
    c.send("ping");
    expect(await c.expect("pong")).toEqual({ type: "pong" });
    c.send("{nope");
    expect(await c.expect("error")).toMatchObject({ code: "bad_json" });
    c.send({ type: "message", data: 1 });
    expect(await c.expect("message")).toMatchObject({ seq: 1, data: 1 });
    c.close();
  });

  it("refuses a browser from a foreign origin before the upgrade", async () => {
    await expect(
      WsClient.connect(`${server.wsUrl}/room/${room()}`, { Origin: "https://evil.example" }),
    ).rejects.toThrow(/HTTP 403/);
  });

  it("keeps history across a server restart and replays after since", async () => {
    const r = room();
    const a = await WsClient.connect(`${server.wsUrl}/room/${r}?user=a`);
    await a.expect("welcome");
    for (let i = 1; i <= 3; i++) a.send({ type: "message", data: i, id: `m${i}` });
    for (let i = 1; i <= 3; i++)
      await a.waitFor((f) => f.type === "ack" && f.id === `m${i}`, `ack m${i}`);
    a.close();
    await a.closed;

    const { port, persistDir } = server;
    await server.stop();
    server = await startServer({ port, persistDir });

    const b = await WsClient.connect(`${server.wsUrl}/room/${r}?user=a&since=1&batch=1`);
    const welcome = await b.expect("welcome");
    expect(welcome).toMatchObject({ seq: 3, replay: { from: 1, count: 2, complete: true } });
    expect(b.raw[0]!.split("\n")).toHaveLength(3); // welcome + 2 replayed frames in one message
    expect((await b.expect("message")).data).toBe(2);
    expect((await b.expect("message")).data).toBe(3);
    // A re-send of an id from before the restart is acknowledged, not stored again.
    b.send({ type: "message", data: "again", id: "m3" });
    expect(await b.expect("ack")).toEqual({ type: "ack", id: "m3", seq: 3 });
    b.close();
  });
});
