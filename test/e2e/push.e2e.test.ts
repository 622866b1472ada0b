/**
 * Backends pushing into rooms of a real `wrangler dev`: the Python standard-library example
 * (what a Django view does), the project's CLI, and the official `standardwebhooks` signer.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/protocol/webhook.ts";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const PUSH_SECRET = generateSecret();
const JOIN_SECRET = generateSecret().slice("whsec_".length);

let server: DevServer;
beforeAll(async () => {
  server = await startServer({ vars: { PUSH_SECRET, JOIN_SECRET } });
});
afterAll(async () => {
  await server?.stop();
});

const room = () => `push-${crypto.randomUUID()}`;
/** The CLI and the example with this server's secrets and address, and no .dev.vars fallback. */
const cliEnv = () => ({ ...process.env, PUSH_SECRET, JOIN_SECRET, ROOMS_URL: server.url });
/** A member of room `r` as user `user`, with the token its backend would have signed. */
const member = async (r: string, user: string) =>
  WsClient.connect(
    `${server.wsUrl}/room/${r}?token=${await mintToken(server, { sub: user, room: r })}`,
  );

describe("push from backends", () => {
  it("delivers an event pushed by the Python standard-library example", async () => {
    const r = room();
    const c = await member(r, "u1");
    await c.expect("welcome");
    const { stdout } = await run(
      "python3",
      [
        "examples/push.py",
        "--room",
        r,
        "--event",
        "upload.processed",
        "--data",
        '{"file":"a.png"}',
        "--id",
        "py-1",
      ],
      { cwd: ROOT, env: cliEnv() },
    );
    expect(JSON.parse(stdout)).toEqual({
      results: [{ room: r, seq: 1, delivered: 1, duplicate: false }],
    });
    expect(await c.expect("event")).toMatchObject({
      seq: 1,
      id: "py-1",
      event: "upload.processed",
      data: { file: "a.png" },
    });

    // The same id again (a retried request) is answered, not delivered.
    const again = await run(
      "python3",
      ["examples/push.py", "--room", r, "--event", "upload.processed", "--id", "py-1"],
      {
        cwd: ROOT,
        env: cliEnv(),
      },
    );
    expect(JSON.parse(again.stdout)).toEqual({
      results: [{ room: r, seq: 1, delivered: 1, duplicate: true }],
    });
    c.close();
  });

  it("reports a refused push from the Python example with the server's JSON error", async () => {
    const err = await run("python3", ["examples/push.py", "--room", "bad room", "--event", "x"], {
      cwd: ROOT,
      env: cliEnv(),
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/HTTP 400 .*invalid_body/);
  });

  it("delivers a targeted event pushed with the CLI only to its user", async () => {
    const r = room();
    const u1 = await member(r, "u1");
    const u2 = await member(r, "u2");
    await u1.expect("welcome");
    await u2.expect("welcome");
    const { stdout } = await run(
      "node",
      [
        "scripts/push.ts",
        "--room",
        r,
        "--event",
        "order.paid",
        "--data",
        '{"order":7}',
        "--to",
        "u2",
      ],
      { cwd: ROOT, env: cliEnv() },
    );
    expect(JSON.parse(stdout)).toMatchObject({ results: [{ room: r, seq: 1, delivered: 1 }] });
    expect(await u2.expect("event")).toMatchObject({ seq: 1, to: "u2", data: { order: 7 } });
    // u1 never sees seq 1: its next stored frame is the group message after it.
    u2.send({ type: "message", data: "after" });
    expect(await u1.waitFor((f) => f.type === "event" || f.type === "message")).toMatchObject({
      type: "message",
      seq: 2,
    });
    u1.close();
    u2.close();
  });

  it("delivers an event targeted at a guest's id to that guest only", async () => {
    const r = room();
    const other = await WsClient.connect(`${server.wsUrl}/room/${r}?name=Ann`);
    await other.expect("welcome");
    const guest = await WsClient.connect(`${server.wsUrl}/room/${r}?name=Ann`);
    const id: string = (await guest.expect("welcome")).self.id;
    const { stdout } = await run(
      "node",
      ["scripts/push.ts", "--room", r, "--event", "coupon", "--data", '"10%"', "--to", id],
      { cwd: ROOT, env: cliEnv() },
    );
    expect(JSON.parse(stdout)).toMatchObject({ results: [{ room: r, seq: 1, delivered: 1 }] });
    expect(await guest.expect("event")).toMatchObject({ seq: 1, to: id, data: "10%" });
    // The other guest, who asked for the same name, never sees seq 1.
    guest.send({ type: "message", data: "after" });
    expect(await other.waitFor((f) => f.type === "event" || f.type === "message")).toMatchObject({
      type: "message",
      seq: 2,
    });
    guest.close();
    other.close();
  });

  it("admits a room token from the CLI to a private room, and nobody without one", async () => {
    const r = `private-${crypto.randomUUID()}`;
    const { stdout } = await run(
      "node",
      ["scripts/token.ts", "--user", "ann", "--name", "Ann", "--room", r],
      {
        cwd: ROOT,
        env: cliEnv(),
      },
    );
    const c = await WsClient.connect(`${server.wsUrl}/room/${r}?token=${stdout.trim()}`);
    expect(await c.expect("welcome")).toMatchObject({ self: { id: "ann", name: "Ann" } });
    c.close();
    const anon = await WsClient.connect(`${server.wsUrl}/room/${r}`);
    expect(await anon.expect("error")).toMatchObject({ code: "unauthorized" });
    expect((await anon.closed).code).toBe(4401);
  });

  it("admits a desk agent with a --desk token from the CLI; its room token opens no desk", async () => {
    const desk = `help-${crypto.randomUUID().slice(0, 8)}`;
    const token = async (...place: string[]) =>
      (
        await run(
          "node",
          ["scripts/token.ts", "--user", "kefu1", "--name", "Li", ...place, "--role", "agent"],
          { cwd: ROOT, env: cliEnv() },
        )
      ).stdout.trim();
    const agent = await WsClient.connect(
      `${server.wsUrl}/desk/${desk}?role=agent&token=${await token("--desk", desk)}`,
    );
    expect(await agent.expect("welcome")).toMatchObject({ self: { id: "kefu1", name: "Li" } });
    agent.close();
    const wrongKind = await WsClient.connect(
      `${server.wsUrl}/desk/${desk}?role=agent&token=${await token("--room", desk)}`,
    );
    expect(await wrongKind.expect("error")).toMatchObject({ code: "forbidden" });
    expect((await wrongKind.closed).code).toBe(4403);
  });

  it("refuses to mint a token for a guest id, for both places or for neither", async () => {
    for (const args of [
      ["--user", "guest-abcdefghij", "--room", "lobby"],
      ["--user", "u1", "--room", "lobby", "--desk", "help"],
      ["--user", "u1"],
    ]) {
      const err = await run("node", ["scripts/token.ts", ...args], {
        cwd: ROOT,
        env: cliEnv(),
      }).catch((e: { code: number; stdout: string }) => e);
      expect(err, args.join(" ")).toMatchObject({ code: 2, stdout: "" });
    }
  });

  it("accepts a push signed by the official standardwebhooks package", async () => {
    const r = room();
    const c = await WsClient.connect(`${server.wsUrl}/room/${r}?name=Guest`);
    await c.expect("welcome");
    const body = JSON.stringify({
      events: [
        { room: r, event: "a", data: 1 },
        { room: r, event: "b", data: 2, store: false },
      ],
    });
    const headers = {
      "webhook-id": "sw-1",
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
    };
    const signature = new Webhook(PUSH_SECRET).sign(
      "sw-1",
      new Date(Number(headers["webhook-timestamp"]) * 1000),
      body,
    );
    const res = await fetch(`${server.url}/push`, {
      method: "POST",
      headers: { ...headers, "webhook-signature": signature },
      body,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      results: [
        { room: r, seq: 1, delivered: 1, duplicate: false },
        { room: r, seq: null, delivered: 1, duplicate: false },
      ],
    });
    expect(await c.expect("event")).toMatchObject({ seq: 1, id: "sw-1#0", event: "a" });
    const live = await c.expect("event");
    expect(live).toMatchObject({ id: "sw-1#1", event: "b", data: 2 });
    expect(live).not.toHaveProperty("seq");
    c.close();
  });
});
