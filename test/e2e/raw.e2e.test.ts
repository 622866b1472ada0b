/**
 * The Django Channels tutorial's own page (test/e2e/fixtures/channels-tutorial.html: its Vue
 * component as plain JavaScript) in headless Chromium against a real `wrangler dev`, served from
 * another origin the way its own dev server would serve it, with only the host changed. It
 * connects to `/room/<name>/` as a raw socket, its "23423423" comes back, a push made with
 * examples/push.py shows as its data's JSON text, and a message typed on the project's chat page
 * shows too; the chat page shows the tutorial page's text as a message of a guest.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { freePort } from "../../scripts/processes.ts";
import { generateSecret } from "../../src/protocol/webhook.ts";
import { launchBrowser, openPage, type ChatPage } from "./browser";
import { startServer, type DevServer } from "./server";

const ROOT = resolve(import.meta.dirname, "../..");
const FIXTURE = resolve(import.meta.dirname, "fixtures/channels-tutorial.html");
const PUSH_SECRET = generateSecret();
const WAIT = { timeout: 15_000 };
const run = promisify(execFile);

let rooms: DevServer;
let site: { server: Server; origin: string };
let browser: Browser;
const pages: ChatPage[] = [];

beforeAll(async () => {
  // The page's origin must be allowed, as the tutorial's Vue dev server's would be: its port is
  // chosen first, so the rooms server can be told it.
  const sitePort = await freePort();
  // Each is kept as soon as it is up, so afterAll stops it even if the other failed.
  await Promise.all([
    startServer({ vars: { PUSH_SECRET, ALLOWED_ORIGINS: `http://127.0.0.1:${sitePort}` } }).then(
      (s) => (rooms = s),
    ),
    launchBrowser().then((b) => (browser = b)),
  ]);
  site = await tutorialSite(sitePort, new URL(rooms.url).host);
});

/**
 * Serves the tutorial's page as its own dev server would, from its own origin, with the one
 * change a user makes: the backend's host, localhost:8000, becomes the rooms server's.
 */
async function tutorialSite(port: number, roomsHost: string) {
  const page = (await readFile(FIXTURE, "utf8")).replaceAll("localhost:8000", roomsHost);
  expect(page).toContain(`new WebSocket("ws://${roomsHost}/room/"`);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path !== "/") return void res.writeHead(404).end("not found");
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  });
  await new Promise<void>((ready) => server.listen(port, "127.0.0.1", ready));
  return { server, origin: `http://127.0.0.1:${port}` };
}

afterEach(async () => {
  const opened = pages.splice(0);
  await Promise.all(opened.map((p) => p.close()));
  expect(opened.flatMap((p) => p.errors)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((closed) => (site?.server ? site.server.close(closed) : closed(undefined)));
  await rooms?.stop();
});

it("runs the tutorial's page unchanged but for the host: its text, a push and a chat message", async () => {
  // The tutorial's routing takes \w+ group names.
  const room = `tutorial_${crypto.randomUUID().slice(0, 8)}`;
  const tutorial = await openPage(browser, `${site.origin}/?id=${room}`);
  pages.push(tutorial);
  const lines = tutorial.page.locator("#message > div");
  await lines.filter({ hasText: "[连接成功]" }).waitFor(WAIT);
  expect(tutorial.sockets).toEqual([`${rooms.wsUrl}/room/${room}/`]);

  // Its button sends the tutorial's text; the room delivers it to the group, the page included.
  await tutorial.page.click("#submit");
  await lines.nth(1).waitFor(WAIT);
  expect(await lines.nth(1).innerText()).toBe("23423423");

  // The push view's job, done by the Python helper: the page shows the data's JSON text.
  const { stdout } = await run(
    "/usr/bin/python3",
    ["examples/push.py", "--room", room, "--event", "update", "--data", '{"name": "234"}'],
    { cwd: ROOT, env: { ...process.env, PUSH_SECRET, ROOMS_URL: rooms.url } },
  );
  expect(JSON.parse(stdout)).toMatchObject({ results: [{ room, seq: 2, delivered: 1 }] });
  await lines.nth(2).waitFor(WAIT);
  expect(await lines.nth(2).innerText()).toBe('{"name":"234"}');

  // The project's chat page in the same room: it shows the tutorial page's text (a guest's
  // message), and what Ann types reaches the tutorial page as the data the chat page sends.
  const chat = await openPage(browser, `${rooms.url}/?room=${room}&name=Ann`);
  pages.push(chat);
  await chat.page.locator('#status[data-state="open"]').waitFor(WAIT);
  await chat.page
    .locator('.conversation[data-conv="room"] .msg[data-seq] .text', { hasText: "23423423" })
    .waitFor(WAIT);
  await chat.page.fill("#text", "hello from Ann");
  await chat.page.press("#text", "Enter");
  await lines.nth(3).waitFor(WAIT);

  // Exactly these, one line per message: no welcome, presence (Ann's join) or ack among them.
  expect(await lines.allInnerTexts()).toEqual([
    "[连接成功]",
    "23423423",
    '{"name":"234"}',
    '{"text":"hello from Ann"}',
  ]);
  // Its alerts: the room name at start, then "33" for each of the three messages.
  expect(tutorial.dialogs).toEqual([room, "33", "33", "33"]);
});
