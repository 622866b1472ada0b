/**
 * The client as a package: `npm pack ./src/client` builds it (its prepack) and packs it, a
 * fresh project installs the tarball offline, type-checks a small consumer against the
 * declarations the tarball carries (under strict, with Node's and bundlers' module resolution),
 * and runs that consumer with Node 22 against a scripted room. So the package installs, its
 * types are real (a misuse fails to compile), and its JavaScript joins, sends and gets an ack.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedRoom, send, welcome } from "./scripted-room";

const ROOT = resolve(import.meta.dirname, "../..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const run = promisify(execFile);

/** Runs a command, failing with everything it printed. */
async function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    return await run(cmd, args, { cwd, env: { ...process.env, ...env } });
  } catch (e) {
    const { stdout = "", stderr = "" } = e as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${stdout}\n${stderr}`);
  }
}

/** Uses the package the way its README says, and misuses it where its types must object. */
const CONSUMER = `
import { RoomClient, RoomClientError, backoffDelay } from "@edge-rooms/client";
import type { AckFrame, RoomClientOptions, StoredFrame, WelcomeFrame } from "@edge-rooms/client";

// Node has a process; this project has no @types/node, which the package does not need.
declare const process: { env: { ROOMS_URL?: string } };

const options: RoomClientOptions = { url: process.env.ROOMS_URL ?? "", room: "lobby", name: "Ann" };
const client = new RoomClient({ ...options, probe: false });
const welcomed = new Promise<WelcomeFrame>((ok) => client.on("welcome", ok));
const acked = new Promise<AckFrame>((ok) => client.on("ack", ok));
const stored: StoredFrame[] = [];
client.on("message", (m) => stored.push(m));
client.on("state", (s) => {
  const attempt: number = s.attempt;
  void attempt;
});
// @ts-expect-error: no such event
client.on("welcomed", () => {});
// @ts-expect-error: a room's name is a string
void new RoomClient({ url: "ws://x", room: 7 });
client.on("welcome", (w) => {
  // @ts-expect-error: a welcome's seq is a number
  const wrong: string = w.seq;
  void wrong;
});

client.connect();
const w = await welcomed;
const id = client.send({ text: "hi" });
const ack = await acked;
client.close();
let refused = "";
try {
  client.send("after close");
} catch (err) {
  if (err instanceof RoomClientError) refused = err.code;
}
console.log(JSON.stringify({
  room: w.room,
  self: w.self.id,
  acked: ack.id === id,
  seq: ack.seq,
  state: client.state,
  refused,
  delay: backoffDelay(3, 500, 15_000, () => 0.5),
}));
`;

const tsconfig = (moduleResolution: "nodenext" | "bundler") => ({
  compilerOptions: {
    strict: true,
    target: "es2022",
    lib: ["es2022", "dom"],
    module: moduleResolution === "nodenext" ? "nodenext" : "esnext",
    moduleResolution,
    verbatimModuleSyntax: true,
    noEmit: true,
    types: [],
  },
  files: ["consumer.ts"],
});

describe("the client as a package", () => {
  let dir: string;
  let tarball: string;
  let room: ScriptedRoom;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rooms-package-"));
    const packs = join(dir, "packs");
    mkdirSync(packs);
    await sh("npm", ["pack", "./src/client", "--pack-destination", packs], ROOT);
    const [name] = readdirSync(packs).filter((f) => f.endsWith(".tgz"));
    tarball = join(packs, name!);
    room = await ScriptedRoom.start();
  });
  afterAll(async () => {
    await room?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("packs built JavaScript and declarations, and no source", async () => {
    const { stdout } = await sh("tar", ["-tzf", tarball], dir);
    const files = stdout.trim().split("\n");
    expect(files).toContain("package/package.json");
    expect(files).toContain("package/dist/index.js");
    expect(files).toContain("package/dist/types/client/index.d.ts");
    expect(files).toContain("package/dist/types/protocol/frames.d.ts");
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("installs from its tarball, type-checks a consumer and runs it with Node 22", async () => {
    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ private: true, type: "module" }));
    // Offline: the package has no dependencies, so the tarball is all there is to install.
    await sh("npm", ["install", tarball, "--offline", "--no-audit", "--no-fund"], app);
    writeFileSync(join(app, "consumer.ts"), CONSUMER);
    for (const resolution of ["nodenext", "bundler"] as const) {
      writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig(resolution)));
      await sh(process.execPath, [TSC, "-p", "tsconfig.json"], app);
    }

    // The scripted room welcomes the consumer and acknowledges its message.
    const answered = room.connection(1).then(async (conn) => {
      send(conn, welcome(4));
      const sent = JSON.parse(await conn.frame(1));
      send(conn, { type: "ack", id: sent.id, seq: 5 });
      return { path: conn.url.pathname, sent };
    });
    const { stdout } = await sh(process.execPath, ["consumer.ts"], app, { ROOMS_URL: room.url });
    expect(await answered).toMatchObject({
      path: "/room/lobby",
      sent: { type: "message", data: { text: "hi" } },
    });
    expect(JSON.parse(stdout)).toEqual({
      room: "r",
      self: "u1",
      acked: true,
      seq: 5,
      state: "closed",
      refused: "closed",
      delay: 2000,
    });
  });
});
