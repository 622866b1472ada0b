/**
 * The rooms against a real `wrangler dev` process, with the `ws` package as the client: what a
 * new user does after `npm start`. Nobody names their own id: a client joins as a guest (the
 * server makes the id and hands out a guest token) or with a token a backend signed.
 */
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJoinSecret, mintToken, startServer, type DevServer } from "./server";
import { WsClient, type Frame } from "./wsclient";

let server: DevServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const room = () => `e2e-${crypto.randomUUID()}`;
const GUEST_ID = /^guest-[A-Za-z0-9_-]{10,}$/;

/** Joins and reads the welcome. */
async function join(path: string): Promise<{ c: WsClient; welcome: Frame }> {
  const c = await WsClient.connect(`${server.wsUrl}${path}`);
  return { c, welcome: await c.expect("welcome") };
}

/** A join the server must refuse as an identity problem: one error frame, then the close. */
async function refused(path: string): Promise<{ code: string; close: number }> {
  const c = await WsClient.connect(`${server.wsUrl}${path}`);
  const error = await c.expect("error");
  expect(error.message).toEqual(expect.any(String));
  return { code: error.code, close: (await c.closed).code };
}

describe("rooms under wrangler dev", () => {
  it("serves the page and answers a plain GET on a room with 426 JSON", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const res = await fetch(`${server.url}/room/lobby`);
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ error: "upgrade_required" });
  });

  it("lets two guests chat both ways, with presence and direct messages", async () => {
    const r = room();
    const { c: ann, welcome } = await join(`/room/${r}?name=Ann`);
    const annId: string = welcome.self.id;
    expect(annId).toMatch(GUEST_ID);
    expect(welcome).toMatchObject({
      room: r,
      seq: 0,
      self: { id: annId, name: "Ann", token: expect.any(String) },
      members: [{ id: annId, name: "Ann" }],
      count: 1,
    });
    const { c: bo, welcome: boWelcome } = await join(`/room/${r}?name=Bo`);
    const boId: string = boWelcome.self.id;
    expect(boId).toMatch(GUEST_ID);
    expect(boId).not.toBe(annId);
    expect(boWelcome.members).toHaveLength(2);
    // Ann learns Bo's id from presence: the id a direct message goes to.
    const joined = await ann.expect("presence");
    expect(joined).toMatchObject({ action: "join", member: { id: boId, name: "Bo" }, count: 2 });

    ann.send({ type: "message", data: { text: "你好" }, id: "a1" });
    expect(await bo.expect("message")).toMatchObject({
      seq: 1,
      from: { id: annId, name: "Ann" },
      data: { text: "你好" },
    });
    expect(await ann.expect("message")).toMatchObject({ seq: 1 });
    expect(await ann.expect("ack")).toEqual({ type: "ack", id: "a1", seq: 1 });

    bo.send({ type: "direct", to: annId, data: "psst" });
    expect(await ann.expect("direct")).toMatchObject({
      seq: 2,
      to: annId,
      from: { id: boId },
      data: "psst",
    });
    expect(await bo.expect("direct")).toMatchObject({ seq: 2 });

    bo.close();
    expect(await ann.expect("presence")).toMatchObject({
      action: "leave",
      member: { id: boId },
      count: 1,
    });
    ann.close();
  });

  it("answers ping with pong and bad JSON with an error frame, keeping the socket", async () => {
    const { c } = await join(`/room/${room()}`);
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

  it("keeps history across a server restart; the guest token is still that guest", async () => {
    const r = room();
    const { c: a, welcome } = await join(`/room/${r}?name=A`);
    for (let i = 1; i <= 3; i++) a.send({ type: "message", data: i, id: `m${i}` });
    for (let i = 1; i <= 3; i++)
      await a.waitFor((f) => f.type === "ack" && f.id === `m${i}`, `ack m${i}`);
    a.close();
    await a.closed;

    const { port, persistDir, joinSecret } = server;
    await server.stop();
    server = await startServer({ port, persistDir, vars: { JOIN_SECRET: joinSecret } });

    const b = await WsClient.connect(
      `${server.wsUrl}/room/${r}?token=${welcome.self.token}&since=1&batch=1`,
    );
    const again = await b.expect("welcome");
    expect(again).toMatchObject({
      self: { id: welcome.self.id, name: "A" },
      seq: 3,
      replay: { from: 1, count: 2, complete: true },
    });
    expect(b.raw[0]!.split("\n")).toHaveLength(3); // welcome + 2 replayed frames in one message
    expect((await b.expect("message")).data).toBe(2);
    expect((await b.expect("message")).data).toBe(3);
    // A re-send of an id from before the restart is acknowledged, not stored again: the same
    // guest, so the same sender of m3.
    b.send({ type: "message", data: "again", id: "m3" });
    expect(await b.expect("ack")).toEqual({ type: "ack", id: "m3", seq: 3 });
    b.close();
  });
});

describe("identities under wrangler dev", () => {
  it("refuses ?user= with HTTP 400 invalid_user, before any upgrade", async () => {
    const res = await fetch(`${server.url}/room/${room()}?user=ann&name=Ann`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("invalid_user");
    expect(body.message).toMatch(/token/);
    const desk = await fetch(`${server.url}/desk/${room()}?user=ann`);
    expect(desk.status).toBe(400);
    expect(await desk.json()).toMatchObject({ error: "invalid_user" });
  });

  it("refuses a name with a bidirectional override (400 invalid_name)", async () => {
    for (const name of ["Ann\u202Egnp.exe", "\u2066Bo\u2069"]) {
      const res = await fetch(`${server.url}/room/${room()}?name=${encodeURIComponent(name)}`);
      expect(res.status, name).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_name" });
    }
  });

  it("gives a guest who asks for a member's name a fresh id that cannot read their directs", async () => {
    const r = room();
    const { c: ann } = await join(
      `/room/${r}?token=${await mintToken(server, { sub: "ann", name: "Ann", room: r })}`,
    );
    const { c: bo } = await join(
      `/room/${r}?token=${await mintToken(server, { sub: "bo", room: r })}`,
    );
    const { c: eve, welcome } = await join(`/room/${r}?name=Ann`);
    expect(welcome.self.id).toMatch(GUEST_ID);
    bo.send({ type: "direct", to: "ann", data: "for Ann only" });
    expect(await ann.waitFor((f) => f.type === "direct")).toMatchObject({
      from: { id: "bo" },
      data: "for Ann only",
    });
    // Eve sees the room's next frame, a group message, and never the direct before it.
    bo.send({ type: "message", data: "everyone" });
    expect(await eve.waitFor((f) => f.type === "direct" || f.type === "message")).toMatchObject({
      type: "message",
      seq: 2,
      data: "everyone",
    });
    for (const c of [ann, bo, eve]) c.close();
  });

  it("refuses guest tokens that the server did not make: forged, expired, from another secret", async () => {
    const r = room();
    const guest = (secret: string, ttl = 600) =>
      sign(
        {
          sub: "guest-abcdefghijklmnop",
          name: "Mallory",
          role: "guest",
          room: "*",
          desk: "*",
          exp: Math.floor(Date.now() / 1000) + ttl,
        },
        secret,
        "HS256",
      );
    const { welcome } = await join(`/room/${r}?name=Real`);
    const [header, , signature] = (welcome.self.token as string).split(".");
    const payload = Buffer.from(
      JSON.stringify({
        sub: welcome.self.id,
        name: "Not Real",
        role: "guest",
        room: "*",
        desk: "*",
        exp: 9999999999,
      }),
    ).toString("base64url");
    for (const token of [
      `${header}.${payload}.${signature}`, // the real guest's signature on changed claims
      await guest(generateJoinSecret()),
      await guest(server.joinSecret, -60),
    ]) {
      expect(await refused(`/room/${r}?token=${token}`)).toEqual({
        code: "unauthorized",
        close: 4401,
      });
    }
  });

  it("refuses a backend token that names a guest id (4401)", async () => {
    const r = room();
    const { welcome } = await join(`/room/${r}?name=Ann`);
    const token = await mintToken(server, { sub: welcome.self.id, name: "Ann", room: r });
    expect(await refused(`/room/${r}?token=${token}`)).toEqual({
      code: "unauthorized",
      close: 4401,
    });
  });

  it("keeps guests out of private rooms: 4401 without a token, 4403 with a guest token", async () => {
    const r = `private-${crypto.randomUUID()}`;
    expect(await refused(`/room/${r}?name=Ann`)).toEqual({ code: "unauthorized", close: 4401 });
    const { welcome } = await join(`/room/${room()}?name=Ann`);
    expect(await refused(`/room/${r}?token=${welcome.self.token}`)).toEqual({
      code: "forbidden",
      close: 4403,
    });
    const { welcome: member } = await join(
      `/room/${r}?token=${await mintToken(server, { sub: "u1", room: r })}`,
    );
    expect(member.self).toEqual({ id: "u1", name: "u1" });
  });

  it("opens a personal room user-<id> to user <id> only", async () => {
    const r = `user-${crypto.randomUUID().slice(0, 8)}`;
    const owner = r.slice("user-".length);
    const { c, welcome } = await join(
      `/room/${r}?token=${await mintToken(server, { sub: owner, room: "*" })}`,
    );
    expect(welcome.self.id).toBe(owner);
    c.close();
    expect(await refused(`/room/${r}`)).toEqual({ code: "unauthorized", close: 4401 });
    const other = await mintToken(server, { sub: "someone-else", room: "*" });
    expect(await refused(`/room/${r}?token=${other}`)).toEqual({ code: "forbidden", close: 4403 });
    const { welcome: guest } = await join(`/room/${room()}`);
    expect(await refused(`/room/${r}?token=${guest.self.token}`)).toEqual({
      code: "forbidden",
      close: 4403,
    });
  });

  it("opens a desk with a desk token only, and keeps an agent's id off the customer side", async () => {
    const d = `desk-${crypto.randomUUID().slice(0, 8)}`;
    const agentToken = await mintToken(server, {
      sub: "kefu1",
      name: "Li",
      desk: d,
      role: "agent",
    });
    const { c: agent } = await join(`/desk/${d}?role=agent&token=${agentToken}`);
    // A room token never opens a desk, even one of the same name, nor a desk token a room.
    const roomToken = await mintToken(server, { sub: "kefu1", room: d, role: "agent" });
    expect(await refused(`/desk/${d}?role=agent&token=${roomToken}`)).toEqual({
      code: "forbidden",
      close: 4403,
    });
    expect(await refused(`/room/${d}?token=${agentToken}`)).toEqual({
      code: "forbidden",
      close: 4403,
    });
    // The agent's id as a customer: refused, so nobody can read its conversations that way.
    const asCustomer = await mintToken(server, { sub: "kefu1", desk: d });
    expect(await refused(`/desk/${d}?token=${asCustomer}`)).toEqual({
      code: "forbidden",
      close: 4403,
    });
    // Agents' consoles are closed to guests; customers may be guests.
    expect(await refused(`/desk/${d}?role=agent`)).toEqual({ code: "unauthorized", close: 4401 });
    const { c: customer, welcome } = await join(`/desk/${d}?name=Ann`);
    expect(welcome.self.id).toMatch(GUEST_ID);
    expect(await refused(`/desk/${d}?role=agent&token=${welcome.self.token}`)).toEqual({
      code: "forbidden",
      close: 4403,
    });
    // A token with both kinds of place is no token at all.
    const both = await sign(
      { sub: "u1", room: "*", desk: "*", exp: Math.floor(Date.now() / 1000) + 600 },
      server.joinSecret,
      "HS256",
    );
    expect(await refused(`/desk/${d}?token=${both}`)).toEqual({
      code: "unauthorized",
      close: 4401,
    });
    agent.close();
    customer.close();
  });
});

describe("a server without JOIN_SECRET", () => {
  let bare: DevServer;
  beforeAll(async () => {
    bare = await startServer({ noJoinSecret: true });
  });
  afterAll(async () => {
    await bare?.stop();
  });

  it("refuses every join, guests included: it can vouch for no one", async () => {
    for (const path of [`/room/${room()}?name=Ann`, `/desk/${room()}?name=Ann`]) {
      const c = await WsClient.connect(`${bare.wsUrl}${path}`);
      expect(await c.expect("error")).toMatchObject({ code: "unauthorized" });
      expect((await c.closed).code).toBe(4401);
    }
  });
});
