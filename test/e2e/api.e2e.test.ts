/**
 * The server API end to end: a real `wrangler dev`, real sockets (the `ws` package), and the
 * project's CLI as a backend's operator runs it (`npm run rooms -- info/members/history/kick/
 * list`): what each prints, what the sockets see, and a ban that holds across a restart of the
 * server (its storage kept), then ends.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/protocol/webhook.ts";
import { mintToken, startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const PUSH_SECRET = generateSecret();
const JOIN_SECRET = generateSecret().slice("whsec_".length);
const VARS = { PUSH_SECRET, JOIN_SECRET };

let server: DevServer;
beforeAll(async () => {
  server = await startServer({ vars: VARS });
});
afterAll(async () => {
  await server?.stop();
});

/** `npm run rooms -- <args>` against this server, with its secret and no .dev.vars fallback. */
async function rooms(args: string[], secret = PUSH_SECRET) {
  const env = { ...process.env, PUSH_SECRET: secret, ROOMS_URL: server.url };
  const { stdout } = await exec("npm", ["run", "--silent", "rooms", "--", ...args], {
    cwd: ROOT,
    env,
    timeout: 30_000,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return JSON.parse(stdout) as any;
}

const member = async (room: string, user: string) =>
  WsClient.connect(
    `${server.wsUrl}/room/${room}?token=${await mintToken(server, { sub: user, room })}`,
  );

describe("the server API from the CLI", () => {
  it("answers info, members and history, and kicks with a ban that survives a restart", async () => {
    const room = `api-${crypto.randomUUID()}`;
    const ann1 = await member(room, "ann");
    await ann1.expect("welcome");
    const ann2 = await member(room, "ann");
    await ann2.expect("welcome");
    const bob = await member(room, "bob");
    await bob.expect("welcome");
    bob.send({ type: "direct", to: "ann", data: "psst", id: "d1" });
    await bob.waitFor((f) => f.type === "ack");

    expect(await rooms(["info", room])).toEqual({
      rooms: { [room]: { occupied: true, members: 2, sockets: 3, seq: 1, shards: 1 } },
    });
    expect(await rooms(["members", room])).toEqual({
      members: [
        { id: "ann", name: "ann", sockets: 2 },
        { id: "bob", name: "bob", sockets: 1 },
      ],
      next: null,
    });
    expect(await rooms(["members", room, "--limit", "1"])).toMatchObject({ next: "ann" });
    const history = await rooms(["history", room]);
    expect(history).toMatchObject({
      messages: [{ type: "direct", seq: 1, from: { id: "bob" }, to: "ann", data: "psst" }],
      complete: true,
    });

    expect(await rooms(["kick", room, "ann", "--ban", "600", "--reason", "spam"])).toEqual({
      closed: 2,
    });
    for (const ann of [ann1, ann2]) {
      expect(await ann.waitFor((f) => f.type === "error")).toEqual({
        type: "error",
        code: "kicked",
        message: "spam",
      });
      expect((await ann.closed).code).toBe(4403);
    }
    expect(await bob.waitFor((f) => f.type === "presence" && f.action === "leave")).toMatchObject({
      member: { id: "ann" },
    });

    // The ban holds after a restart of the whole server, storage kept.
    bob.close();
    await server.stop();
    server = await startServer({ vars: VARS, persistDir: server.persistDir, port: server.port });
    const refused = await member(room, "ann");
    const error = await refused.expect("error");
    expect(error).toMatchObject({ code: "forbidden" });
    expect(error.message).toMatch(/^banned from room ".*" until .*: spam$/);
    expect((await refused.closed).code).toBe(4403);
    // Others still come in.
    const carol = await member(room, "carol");
    expect((await carol.expect("welcome")).self.id).toBe("carol");
    carol.close();
  });

  it("lists occupied rooms by prefix once the registry has heard", async () => {
    const prefix = `list-${crypto.randomUUID()}-`;
    const a = await member(`${prefix}a`, "ann");
    await a.expect("welcome");
    const deadline = Date.now() + 10_000;
    let listed = await rooms(["list", prefix]);
    while (listed.rooms.length === 0 && Date.now() < deadline) {
      // Told in the background (at most once per PRESENCE_COUNT_MS): asked again shortly.
      await new Promise((r) => setTimeout(r, 200));
      listed = await rooms(["list", prefix]);
    }
    expect(listed).toEqual({ rooms: [{ room: `${prefix}a`, members: 1 }] });
    a.close();
  });

  it("prints the server's refusal and exits 1 for a wrong secret", async () => {
    const err = await rooms(["info", "lobby"], generateSecret()).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect(JSON.parse((err as { stderr: string }).stderr)).toMatchObject({
      error: "bad_signature",
    });
  });

  it("refuses bad arguments before sending anything (exit 2)", async () => {
    const err = await rooms(["kick", "lobby"]).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/kick takes a room name and a user id/);
  });
});
