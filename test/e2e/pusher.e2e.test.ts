/**
 * A backend written for Pusher Channels, unchanged: the official `pusher` npm library,
 * configured only with this `wrangler dev`'s host and port and the app's id, key and secret,
 * triggers, batches, asks about channels and terminates a user's connections; each call is seen
 * from room sockets (the `ws` package) as a room's members see it.
 */
import { randomBytes } from "node:crypto";
import Pusher from "pusher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient, type Frame } from "./wsclient";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const APP_ID = "1234567";
const KEY = randomBytes(10).toString("hex");
const SECRET = randomBytes(20).toString("hex");

let server: DevServer;
/** The backend's client, exactly as a Pusher app configures it, but for the host. */
let pusher: Pusher;
beforeAll(async () => {
  server = await startServer({
    vars: { PUSHER_APP_ID: APP_ID, PUSHER_KEY: KEY, PUSHER_SECRET: SECRET },
  });
  pusher = new Pusher({
    appId: APP_ID,
    key: KEY,
    secret: SECRET,
    host: "127.0.0.1",
    port: String(server.port),
    useTLS: false,
  });
});
const opened: WsClient[] = [];
afterAll(async () => {
  for (const c of opened) c.close();
  await server?.stop();
});

/** A member of `room` as `user`, with the join token its backend would have signed; welcomed. */
async function member(room: string, user: string): Promise<WsClient> {
  const token = await mintToken(server, { sub: user, room });
  const client = await WsClient.connect(`${server.wsUrl}/room/${room}?token=${token}`);
  expect((await client.expect("welcome")).self.id).toBe(user);
  opened.push(client);
  return client;
}

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;
const isEvent = (f: Frame) => f.type === "event";

/**
 * Asks again every 200 ms until `done`, for at most 10 s: the registry behind the channel list
 * is told in the background, so there is no event a backend could await.
 */
async function until(ask: () => Promise<Json>, done: (answer: Json) => boolean): Promise<Json> {
  const deadline = Date.now() + 10_000;
  let answer = await ask();
  while (!done(answer)) {
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 200));
    answer = await ask();
  }
  return answer;
}

describe("the official pusher library, pointed at the Worker", () => {
  it("triggers to one channel and to several: each room's members get the data decoded", async () => {
    const orders = unique("orders");
    const other = unique("other");
    const ann = await member(orders, "ann");
    const bob = await member(other, "bob");

    const res = await pusher.trigger(orders, "order.paid", { order: 7, items: ["tea"] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(await ann.waitFor(isEvent)).toMatchObject({
      type: "event",
      seq: 1,
      event: "order.paid",
      data: { order: 7, items: ["tea"] },
      to: null,
    });

    await pusher.trigger([orders, other], "notice", "plain words");
    for (const c of [ann, bob]) {
      expect(await c.waitFor(isEvent)).toMatchObject({ event: "notice", data: "plain words" });
    }
  });

  it("triggers a batch: the events arrive in order", async () => {
    const a = unique("batch-a");
    const b = unique("batch-b");
    const ann = await member(a, "ann");
    const bob = await member(b, "bob");
    const res = await pusher.triggerBatch([
      { channel: a, name: "first", data: { i: 0 } },
      { channel: b, name: "elsewhere", data: { i: 1 } },
      { channel: a, name: "second", data: { i: 2 } },
    ]);
    expect(res.status).toBe(200);
    expect([await ann.waitFor(isEvent), await ann.waitFor(isEvent)]).toMatchObject([
      { event: "first", data: { i: 0 }, seq: 1 },
      { event: "second", data: { i: 2 }, seq: 2 },
    ]);
    expect(await bob.waitFor(isEvent)).toMatchObject({ event: "elsewhere", data: { i: 1 } });
  });

  it("gets the channel list, one channel's info and its users", async () => {
    const prefix = unique("presence");
    const room = `${prefix}-lobby`;
    await member(room, "ann");
    await member(room, "ann");
    await member(room, "bob");

    const channels = await until(
      async () =>
        (await (
          await pusher.get({
            path: "/channels",
            params: { filter_by_prefix: prefix, info: "user_count" },
          })
        ).json()) as Json,
      (answer) => answer.channels[room]?.user_count === 2,
    );
    expect(channels).toEqual({ channels: { [room]: { user_count: 2 } } });

    const info = await pusher.get({
      path: `/channels/${room}`,
      params: { info: "user_count,subscription_count" },
    });
    expect(await info.json()).toEqual({ occupied: true, user_count: 2, subscription_count: 3 });

    const users = await pusher.get({ path: `/channels/${room}/users` });
    expect(await users.json()).toEqual({ users: [{ id: "ann" }, { id: "bob" }] });
  });

  it("terminates a user's connections in every room: error kicked, then close 4403", async () => {
    const prefix = unique("term");
    const user = unique("troll");
    const [a, b] = [`${prefix}-a`, `${prefix}-b`];
    const sockets = [await member(a, user), await member(a, user), await member(b, user)];
    const carol = await member(a, "carol");

    // Terminating reaches the rooms the registry lists: both must be there first.
    await until(
      async () =>
        (await (
          await pusher.get({ path: "/channels", params: { filter_by_prefix: prefix } })
        ).json()) as Json,
      (answer) => Object.keys(answer.channels).length === 2,
    );

    const res = await pusher.terminateUserConnections(user);
    expect(res.status).toBe(200);
    for (const s of sockets) {
      expect(await s.waitFor((f) => f.type === "error")).toEqual({
        type: "error",
        code: "kicked",
        message: "your connections were terminated",
      });
      expect((await s.closed).code).toBe(4403);
    }
    expect(await carol.waitFor((f) => f.type === "presence" && f.action === "leave")).toMatchObject(
      { member: { id: user } },
    );
  });

  it("surfaces refusals as the library reports them: status and Pusher's plain-text sentence", async () => {
    const wrong = new Pusher({
      appId: APP_ID,
      key: KEY,
      secret: randomBytes(20).toString("hex"),
      host: "127.0.0.1",
      port: String(server.port),
      useTLS: false,
    });
    const err = await wrong.trigger("lobby", "x", {}).catch((e: Pusher.RequestError) => e);
    expect(err).toMatchObject({ name: "PusherRequestError", status: 401 });
    expect((err as Pusher.RequestError).body).toMatch(
      /^invalid signature: expected the hex HMAC-SHA256/,
    );

    // The library itself refuses what Pusher would; a name Pusher takes but rooms do not is ours.
    expect(() => pusher.trigger("not a room!", "x", {})).toThrow(/Invalid channel name/);
    const ours = await pusher.trigger("a=b", "x", {}).catch((e: Pusher.RequestError) => e);
    expect(ours).toMatchObject({ status: 400 });
    expect((ours as Pusher.RequestError).body).toMatch(/"a=b" is not a room name/);
  });
});
