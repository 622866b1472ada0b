/**
 * Identities are vouched for, never claimed. Each block starts with an attack that worked while a
 * client could name its own id (`?user=`): impersonating a member of a public room, reading a
 * user's personal room, and a desk customer posing as its agent. Then what replaces the claimed
 * id: guests with a server-made id and a guest token, tokens that name their kind of place, and
 * desk roles.
 */
import { env, exports } from "cloudflare:workers";
import { sign, verify } from "hono/jwt";
import { afterEach, describe, expect, it } from "vitest";
import { mintGuestToken } from "../src/worker/auth";
import { Client, type Frame, uniqueRoom } from "./helpers";

const opened: Client[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

const secret = () => (env as Env).JOIN_SECRET!;
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
const mint = (claims: Record<string, unknown>, key = secret()) =>
  sign({ exp: inAnHour(), ...claims }, key, "HS256");
const GUEST_ID = /^guest-[A-Za-z0-9_-]{10,}$/;

/** An upgrade to `/<kind>/<place>`; the raw response, so refusals can be read too. */
function upgrade(kind: "room" | "desk", place: string, params: Record<string, string> = {}) {
  const qs = new URLSearchParams(params).toString();
  return exports.default.fetch(`https://rooms.test/${kind}/${place}${qs ? `?${qs}` : ""}`, {
    headers: { Upgrade: "websocket" },
  });
}

async function connect(kind: "room" | "desk", place: string, params: Record<string, string> = {}) {
  const res = await upgrade(kind, place, params);
  if (res.status !== 101 || res.webSocket === null) {
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  }
  const client = new Client(res.webSocket);
  opened.push(client);
  return client;
}

async function welcomed(kind: "room" | "desk", place: string, params: Record<string, string>) {
  const client = await connect(kind, place, params);
  return { client, welcome: await client.expect("welcome") };
}

/** A join the Worker must refuse as an identity problem: one error frame, then 4401 or 4403. */
async function refused(
  kind: "room" | "desk",
  place: string,
  params: Record<string, string>,
): Promise<{ code: string; message: string; close: number }> {
  const client = await connect(kind, place, params);
  const error = await client.expect("error");
  const { code } = await client.closed;
  return { code: error.code, message: error.message, close: code };
}

const roomToken = (sub: string, room: string, extra: Record<string, unknown> = {}) =>
  mint({ sub, name: sub.toUpperCase(), room, ...extra });
const deskToken = (sub: string, desk: string, extra: Record<string, unknown> = {}) =>
  mint({ sub, name: sub.toUpperCase(), desk, ...extra });

describe("attack: impersonating a member of a public room", () => {
  it("cannot claim the id of a member who joined with a token", async () => {
    const room = uniqueRoom();
    await welcomed("room", room, { token: await roomToken("ann", room) });
    const res = await upgrade("room", room, { user: "ann", name: "Ann" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("invalid_user");
    expect(body.message).toMatch(/tokens/);
  });

  it("cannot read direct messages sent to another member: a guest is a fresh id", async () => {
    const room = uniqueRoom();
    const { client: ann } = await welcomed("room", room, { token: await roomToken("ann", room) });
    const { client: bo } = await welcomed("room", room, { token: await roomToken("bo", room) });
    const { client: eve, welcome } = await welcomed("room", room, { name: "ann" });
    expect(welcome.self.id).toMatch(GUEST_ID);
    expect(welcome.self.id).not.toBe("ann");
    bo.send({ type: "direct", to: "ann", data: "the code is 1234", id: "d1" });
    await ann.waitFor((f) => f.type === "direct" && f.data === "the code is 1234", "the direct");
    eve.send({ type: "message", data: "flush", id: "m1" });
    await eve.waitFor((f) => f.type === "ack" && f.id === "m1", "eve's ack");
    // Eve's own echo came after the direct in the room's order: anything visible to her has
    // arrived by now, and the direct is not among it.
    expect(eve.pending.some((f) => f.type === "direct")).toBe(false);
  });

  it("refuses the user parameter on desks too", async () => {
    const res = await upgrade("desk", uniqueRoom("desk"), { user: "kefu1" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_user");
  });
});

describe("attack: reading someone else's personal room", () => {
  it("refuses the old claimed id", async () => {
    const res = await upgrade("room", "user-42", { user: "42" });
    expect(res.status).toBe(400);
  });

  it("admits only identity <id> to user-<id>", async () => {
    const room = `user-${crypto.randomUUID()}`;
    const id = room.slice("user-".length);
    expect(await refused("room", room, {})).toMatchObject({ code: "unauthorized", close: 4401 });
    const { welcome: guest } = await welcomed("room", uniqueRoom(), {});
    expect(await refused("room", room, { token: guest.self.token })).toMatchObject({
      code: "forbidden",
      close: 4403,
    });
    expect(
      await refused("room", room, { token: await roomToken("someone-else", "*") }),
    ).toMatchObject({ code: "forbidden", close: 4403 });
    const { welcome } = await welcomed("room", room, { token: await roomToken(id, "*") });
    expect(welcome.self).toEqual({ id, name: id.toUpperCase() });
  });

  it("delivers job reports only to the user's own socket", async () => {
    const user = `u${crypto.randomUUID().slice(0, 8)}`;
    const { client } = await welcomed("room", `user-${user}`, {
      token: await roomToken(user, `user-${user}`),
    });
    const stub = env.ROOMS.getByName(`user-${user}`);
    await stub.publish(`p-${crypto.randomUUID()}`, [
      { id: "e1", event: "job.done", data: { job: "j1" }, to: user, store: true },
    ]);
    const frame = await client.waitFor((f) => f.type === "event", "the job event");
    expect(frame).toMatchObject({ event: "job.done", to: user });
  });
});

describe("attack: a desk customer posing as its agent", () => {
  /** An agent and one assigned customer (a guest); returns the ids. */
  async function deskWithConversation() {
    const desk = uniqueRoom("desk");
    const { client: agent } = await welcomed("desk", desk, {
      role: "agent",
      token: await deskToken("kefu1", desk, { role: "agent" }),
    });
    const { client: customer, welcome } = await welcomed("desk", desk, { name: "Cus" });
    customer.send({ type: "message", data: "my card number is 4111", id: "c1" });
    await customer.waitFor((f) => f.type === "ack", "the customer's ack");
    await agent.waitFor((f) => f.type === "message", "the customer's message at the agent");
    return { desk, agent, customer, customerId: welcome.self.id as string };
  }

  it("cannot claim the agent's id without a token", async () => {
    const { desk } = await deskWithConversation();
    const res = await upgrade("desk", desk, { user: "kefu1", name: "Li" });
    expect(res.status).toBe(400);
  });

  it("cannot join as a customer with a token whose id is an agent of that desk", async () => {
    const { desk } = await deskWithConversation();
    const token = await deskToken("kefu1", desk);
    expect(await refused("desk", desk, { token })).toMatchObject({
      code: "forbidden",
      close: 4403,
    });
  });

  it("a second guest sees nothing of the first guest's conversation", async () => {
    const { desk, customer } = await deskWithConversation();
    const { client: other, welcome } = await welcomed("desk", desk, { since: "0" });
    expect(welcome.replay.count).toBe(0);
    customer.send({ type: "message", data: "second secret", id: "c2" });
    await customer.waitFor((f) => f.type === "ack" && f.id === "c2", "ack");
    other.send({ type: "history", limit: 100 });
    const page = await other.waitFor((f) => f.type === "history", "history");
    expect(page.messages).toEqual([]);
    expect(other.pending.filter((f: Frame) => f.type === "message")).toEqual([]);
  });

  it("an agent's customers are reassigned when it leaves, whoever tried to pose as it", async () => {
    const { desk, agent, customer, customerId } = await deskWithConversation();
    await refused("desk", desk, { token: await deskToken("kefu1", desk) });
    agent.close();
    await welcomed("desk", desk, {
      role: "agent",
      token: await deskToken("kefu2", desk, { role: "agent" }),
    });
    const moved = await customer.waitFor(
      (f) => f.type === "assigned" && f.agent.id === "kefu2",
      "reassignment to kefu2 after the grace",
    );
    expect(moved.customer.id).toBe(customerId);
  });
});

describe("guests", () => {
  it("get a server-made id, the name they asked for and a guest token", async () => {
    const room = uniqueRoom();
    const { welcome } = await welcomed("room", room, { name: "Ann" });
    expect(welcome.self.id).toMatch(GUEST_ID);
    expect(welcome.self.name).toBe("Ann");
    expect(typeof welcome.self.token).toBe("string");
    expect(welcome.members).toEqual([{ id: welcome.self.id, name: "Ann" }]);
  });

  it("are named guest-xxxx when they give no name", async () => {
    const { welcome } = await welcomed("room", uniqueRoom(), {});
    expect(welcome.self.name).toMatch(/^guest-[a-z0-9]{4}$/);
  });

  it("are the same guest again, anywhere, with their token", async () => {
    const { welcome: first } = await welcomed("room", uniqueRoom(), { name: "Ann" });
    const room = uniqueRoom();
    const { welcome: again } = await welcomed("room", room, {
      token: first.self.token,
      name: "ignored with a token",
    });
    expect(again.self).toMatchObject({ id: first.self.id, name: "Ann" });
    expect(typeof again.self.token).toBe("string");
    const { welcome: atDesk } = await welcomed("desk", uniqueRoom("desk"), {
      token: first.self.token,
    });
    expect(atDesk.self.id).toBe(first.self.id);
  });

  it("keep a token under a day old as it is, and get one lasting 30 days for an older one", async () => {
    const { welcome: first } = await welcomed("room", uniqueRoom(), { name: "Ann" });
    const now = Math.floor(Date.now() / 1000);
    const days = (d: number) => d * 24 * 3600;
    // Made an hour ago: signing it again now would give another string (a later exp).
    const recent = await mintGuestToken(first.self.id, "Ann", secret(), now - 3600);
    const { welcome: soon } = await welcomed("room", uniqueRoom(), { token: recent });
    expect(soon.self).toMatchObject({ id: first.self.id, name: "Ann", token: recent });

    const old = await mintGuestToken(first.self.id, "Ann", secret(), now - days(2));
    const { welcome: later } = await welcomed("room", uniqueRoom(), { token: old });
    expect(later.self).toMatchObject({ id: first.self.id, name: "Ann" });
    expect(later.self.token).not.toBe(old);
    const renewed = await verify(later.self.token, secret(), "HS256");
    expect(renewed).toMatchObject({ sub: first.self.id, name: "Ann", role: "guest" });
    expect(renewed.exp).toBeGreaterThanOrEqual(now + days(30));
  });

  it("two sockets with one guest token are one member", async () => {
    const room = uniqueRoom();
    const { client: tab1, welcome } = await welcomed("room", room, { name: "Ann" });
    const { welcome: tab2 } = await welcomed("room", room, { token: welcome.self.token });
    expect(tab2.count).toBe(1);
    expect(tab2.members).toEqual([{ id: welcome.self.id, name: "Ann" }]);
    expect(tab1.pending.some((f) => f.type === "presence")).toBe(false);
  });

  it("refuses a forged, expired, other-secret or tampered guest token", async () => {
    const room = uniqueRoom();
    const { welcome } = await welcomed("room", room, { name: "Ann" });
    const id = welcome.self.id as string;
    const guest = { sub: id, name: "Ann", role: "guest", room: "*", desk: "*" };
    const otherSecret = await mint(guest, "another-secret-entirely-0123456789");
    const expired = await mint({ ...guest, exp: Math.floor(Date.now() / 1000) - 5 });
    const [h, , s] = (welcome.self.token as string).split(".");
    const body = btoa(JSON.stringify({ ...guest, sub: "guest-someoneelse1", exp: inAnHour() }))
      .replaceAll("=", "")
      .replaceAll("+", "-")
      .replaceAll("/", "_");
    for (const token of [otherSecret, expired, `${h}.${body}.${s}`, "not-a-token"]) {
      expect(await refused("room", room, { token })).toMatchObject({
        code: "unauthorized",
        close: 4401,
      });
    }
  });

  it("cannot be minted by a backend: a token whose sub starts with guest- is refused", async () => {
    const room = uniqueRoom();
    const { welcome } = await welcomed("room", room, {});
    const token = await roomToken(welcome.self.id, "*");
    expect(await refused("room", room, { token })).toMatchObject({
      code: "unauthorized",
      close: 4401,
    });
  });

  it("are refused from private rooms and agent consoles", async () => {
    const { welcome } = await welcomed("room", uniqueRoom(), {});
    const token = welcome.self.token as string;
    const priv = `private-${crypto.randomUUID()}`;
    expect(await refused("room", priv, {})).toMatchObject({ close: 4401 });
    expect(await refused("room", priv, { token })).toMatchObject({ close: 4403 });
    const desk = uniqueRoom("desk");
    expect(await refused("desk", desk, { role: "agent" })).toMatchObject({ close: 4401 });
    expect(await refused("desk", desk, { role: "agent", token })).toMatchObject({ close: 4403 });
  });

  it("backend tokens carry no self.token", async () => {
    const room = uniqueRoom();
    const { welcome } = await welcomed("room", room, { token: await roomToken("ann", room) });
    expect(welcome.self).toEqual({ id: "ann", name: "ANN" });
  });
});

describe("tokens name their kind of place", () => {
  it("a room token never opens a desk of the same name, nor a desk token a room", async () => {
    const name = uniqueRoom("both");
    expect(await refused("desk", name, { token: await roomToken("ann", name) })).toMatchObject({
      code: "forbidden",
      close: 4403,
    });
    expect(await refused("desk", name, { token: await roomToken("ann", "*") })).toMatchObject({
      close: 4403,
    });
    expect(await refused("room", name, { token: await deskToken("ann", name) })).toMatchObject({
      code: "forbidden",
      close: 4403,
    });
    await welcomed("desk", name, { token: await deskToken("ann", name) });
    await welcomed("room", name, { token: await roomToken("ann", name) });
  });

  it("a backend token that names both kinds of place, or neither, is refused", async () => {
    const name = uniqueRoom();
    for (const token of [
      await mint({ sub: "ann", room: name, desk: name }),
      await mint({ sub: "ann" }),
    ]) {
      expect(await refused("room", name, { token })).toMatchObject({ close: 4401 });
    }
  });
});

describe("display names", () => {
  it.each(["\u202Eevil", "a\u2066b", "x\u202Ay", "\u2069"])(
    "refuses bidirectional controls in %j",
    async (name) => {
      const res = await upgrade("room", uniqueRoom(), { name });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe("invalid_name");
    },
  );
});
