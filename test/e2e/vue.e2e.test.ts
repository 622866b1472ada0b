/**
 * examples/vue-chat.html in headless Chromium, the way an adopter would use it: served by their
 * own site (a tiny static server on another port, so another origin than the rooms server),
 * loading Vue and the client module from the rooms server, and let in by ALLOWED_ORIGINS. It
 * chats with a second client and shows an event a backend pushed. The same page served from an
 * origin that is not listed is refused: that is the origin policy, seen from a browser.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateSecret, signWebhook } from "../../src/protocol/webhook.ts";
import { launchBrowser, openPage, type ChatPage } from "./browser";
import { startServer, type DevServer } from "./server";
import { WsClient } from "./wsclient";

const EXAMPLES = resolve(import.meta.dirname, "../../examples");
const PUSH_SECRET = generateSecret();
const WAIT = { timeout: 15_000 };
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** Serves examples/ read-only, as any web server would; nothing else. */
async function staticSite(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(EXAMPLES, path);
    if (!file.startsWith(EXAMPLES + "/")) return void res.writeHead(404).end();
    readFile(file).then(
      (body) =>
        res
          .writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" })
          .end(body),
      () => res.writeHead(404).end("not found"),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let rooms: DevServer;
let site: { server: Server; origin: string };
let stranger: { server: Server; origin: string };
let browser: Browser;
let pages: ChatPage[] = [];

beforeAll(async () => {
  [site, stranger] = await Promise.all([staticSite(), staticSite()]);
  [rooms, browser] = await Promise.all([
    startServer({ vars: { ALLOWED_ORIGINS: site.origin, PUSH_SECRET } }),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await rooms?.stop();
  site?.server.close();
  stranger?.server.close();
});
afterEach(async () => {
  const opened = pages;
  pages = [];
  await Promise.all(opened.map((p) => p.close()));
});

async function openChat(origin: string, query: Record<string, string>): Promise<ChatPage> {
  const qs = new URLSearchParams({ server: rooms.url, ...query });
  const chat = await openPage(browser, `${origin}/vue-chat.html?${qs}`, {
    width: 900,
    height: 640,
  });
  pages.push(chat);
  return chat;
}

/** Waits until the page has loaded Vue and the client and rendered; fails with the page's reason. */
async function mounted(chat: ChatPage): Promise<void> {
  await chat.page.locator("#status, #boot-error:not([hidden])").first().waitFor(WAIT);
  if (await chat.page.locator("#boot-error").isVisible()) {
    throw new Error(`the page did not start: ${await chat.page.textContent("#boot-error")}`);
  }
}

const newRoom = () => `vue-${crypto.randomUUID().slice(0, 8)}`;

describe("the Vue example on another origin", () => {
  it("gets Vue and the client module from the rooms server with CORS", async () => {
    // Module scripts from another origin load only with Access-Control-Allow-Origin.
    for (const path of [
      "/rooms-client.js",
      "/rooms-protocol.js",
      "/vendor/vue.esm-browser.prod.js",
    ]) {
      const res = await fetch(`${rooms.url}${path}`, { headers: { Origin: site.origin } });
      expect(res.status, path).toBe(200);
      expect(
        res.headers.get("access-control-allow-origin") ?? "(no such header)",
        `${path} needs Access-Control-Allow-Origin (public/_headers) to be importable from other origins`,
      ).toMatch(/^(\*|http:\/\/127\.0\.0\.1:\d+)$/);
    }
  });

  it("chats with a second client and shows a pushed event, from an allowed origin", async () => {
    const room = newRoom();
    const ann = await openChat(site.origin, { room, name: "Ann" });
    await mounted(ann);
    await ann.page.locator('#status[data-state="open"]').waitFor(WAIT);
    expect(ann.sockets.map((u) => new URL(u).origin)).toEqual([rooms.wsUrl]);
    // A guest: the room made the id, and the page keeps the guest token it handed out.
    const annId = await ann.page.locator("#members li").first().getAttribute("data-user");
    expect(annId).toMatch(/^guest-/);
    expect(await ann.page.evaluate(() => localStorage.getItem("vue-chat:guest:Ann"))).toMatch(
      /^ey/,
    );

    // Bo is another kind of client: a Node process, no Origin header; a guest too.
    const bo = await WsClient.connect(`${rooms.wsUrl}/room/${room}?name=Bo`);
    const { members } = await bo.expect("welcome");
    expect(members).toHaveLength(2);
    expect(members).toEqual(
      expect.arrayContaining([
        { id: annId, name: "Ann" },
        { id: expect.stringMatching(/^guest-/), name: "Bo" },
      ]),
    );
    await expect
      .poll(() => ann.page.locator("#members li").allTextContents(), WAIT)
      .toEqual(["Ann", "Bo"]);

    await ann.page.fill("#text", "Hello from Vue");
    await ann.page.press("#text", "Enter");
    expect(await bo.waitFor((f) => f.type === "message", "Ann's message")).toMatchObject({
      seq: 1,
      from: { id: annId, name: "Ann" },
      data: { text: "Hello from Vue" },
    });

    bo.send({ type: "message", data: { text: "你好, <b>Ann</b>" }, id: "b-1" });
    const reply = ann.page.locator('.msg[data-seq="2"]');
    await reply.waitFor(WAIT);
    expect(await reply.locator(".from").textContent()).toBe("Bo");
    expect(await reply.locator(".text").textContent()).toBe("你好, <b>Ann</b>"); // text, not markup
    expect(await ann.page.locator("#log b").count()).toBe(0);

    // A backend pushes (what the Django view does); the page shows the event in order.
    const body = JSON.stringify({ room, event: "order.paid", data: { order: 7 } });
    const res = await fetch(`${rooms.url}/push`, {
      method: "POST",
      headers: await signWebhook(PUSH_SECRET, `vue-${room}`, body),
      body,
    });
    expect(await res.json()).toEqual({
      results: [{ room, seq: 3, delivered: 2, duplicate: false }],
    });
    const event = ann.page.locator('.msg.event[data-seq="3"]');
    await event.waitFor(WAIT);
    expect(await event.locator(".from").textContent()).toBe("order.paid");
    expect(await event.locator(".text").textContent()).toBe('{"order":7}');
    expect(
      await ann.page
        .locator("#log .msg[data-seq]")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-seq"))),
    ).toEqual(["1", "2", "3"]);

    bo.close();
    await expect
      .poll(() => ann.page.locator("#members li").allTextContents(), WAIT)
      .toEqual(["Ann"]);
    expect(ann.errors).toEqual([]);
    expect(ann.dialogs).toEqual([]);
  });

  it("is refused from an origin that is not in ALLOWED_ORIGINS, and says why", async () => {
    const room = newRoom();
    // The server's side, without a browser: same upgrade, two origins.
    const url = `${rooms.wsUrl}/room/${room}?name=probe`;
    await expect(WsClient.connect(url, { Origin: stranger.origin })).rejects.toThrow(/HTTP 403/);
    const allowed = await WsClient.connect(url, { Origin: site.origin });
    await allowed.expect("welcome");
    allowed.close();

    const eve = await openChat(stranger.origin, { room, name: "Eve" });
    await mounted(eve); // Vue and the client load (CORS on static files is for everyone)...
    // ...but the WebSocket is refused (403), every time.
    await eve.page.locator("#problem", { hasText: "ALLOWED_ORIGINS" }).waitFor(WAIT);
    expect(await eve.page.locator("#problem").textContent()).toContain(stranger.origin);
    expect(await eve.page.getAttribute("#status", "data-state")).toBe("reconnecting");
    expect(eve.sockets.length).toBeGreaterThanOrEqual(2); // it kept trying, and was refused each time
    expect(await eve.page.locator("#log .msg").count()).toBe(0);
    // The client's HTTP probe for a reason is itself cross-origin and blocked: expected noise.
    expect(eve.errors.filter((e) => !/CORS policy|net::ERR_FAILED/.test(e))).toEqual([]);
  });
});
