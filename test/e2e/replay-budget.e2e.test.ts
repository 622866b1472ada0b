/**
 * The chat page in headless Chromium against `wrangler dev` with a small replay budget
 * (MAX_REPLAY_BYTES 20000, so about nine 2 KB messages per replay or history page): a page that
 * was away while 40 such messages came shows every one of them when it is back, in order, once
 * each and with no gap notice, because the client module pages back for what the replay left
 * out; and "Load older messages" goes on past pages the budget cut short, until the room says
 * it is at its start.
 *
 * The page's WebSocket goes through `page.routeWebSocket`, so the test can cut the link (closing
 * both ends, as a dropped network does), keep it down, and read what the page and the room said.
 */
import type { Page, WebSocketRoute } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite, openPage } from "./browser";
import { WsClient, type Frame } from "./wsclient";

const WAIT = { timeout: 15_000 };
/** A reconnect may wait out one backoff step (at most 15 s) if the retry button raced it. */
const RECONNECT_WAIT = { timeout: 20_000 };
const MESSAGES = 40;
const BUDGET = 20_000;

const suite = browserSuite({ MAX_REPLAY_BYTES: String(BUDGET) });

const newRoom = () => `budget-${crypto.randomUUID().slice(0, 8)}`;
/** About 2 KB of text, told apart by its number. */
const big = (i: number) => `message ${i} ${"·".repeat(1000)}`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The link between one page and the room: cut and restored by the test, and recorded. */
class Link {
  up = true;
  /** Every frame the page sent, and every line the room sent it (batches split). */
  readonly fromPage: Frame[] = [];
  readonly fromRoom: Frame[] = [];
  #open: WebSocketRoute[] = [];

  async install(page: Page): Promise<void> {
    await page.routeWebSocket(/\/room\//, (ws) => {
      if (!this.up) {
        void ws.close({ code: 1001, reason: "offline" }); // no network: the dial fails at once
        return;
      }
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        if (m !== "ping") this.fromPage.push(JSON.parse(String(m)) as Frame);
        server.send(m);
      });
      server.onMessage((m) => {
        for (const line of String(m).split("\n"))
          if (line !== "pong") this.fromRoom.push(JSON.parse(line) as Frame);
        ws.send(m);
      });
      this.#open.push(ws, server);
    });
  }

  /** Drops every open connection, both ends, and refuses new ones until `restore`. */
  async cut(): Promise<void> {
    this.up = false;
    await Promise.all(this.#open.splice(0).map((end) => end.close({ code: 1001, reason: "cut" })));
  }

  restore(): void {
    this.up = true;
  }
}

async function openChat(room: string, name: string, link?: Link) {
  const chat = await openPage(
    suite.browser,
    `${suite.server.url}/?${new URLSearchParams({ room, name })}`,
    undefined,
    link === undefined ? undefined : (page) => link.install(page),
  );
  suite.pages.push(chat);
  await chat.page.locator('#status[data-state="open"]').waitFor(WAIT);
  return chat;
}

/** The texts of the room's stored messages, in page order. */
const texts = (page: Page) =>
  page.locator('.conversation[data-conv="room"] .msg[data-seq] .text').allTextContents();

/** A guest writing to the room, each message acknowledged before the next. */
async function writer(room: string, name: string) {
  const ws = await WsClient.connect(`${suite.server.wsUrl}/room/${room}?name=${name}`);
  await ws.expect("welcome");
  let n = 0;
  return {
    async say(text: string): Promise<number> {
      const id = `w${++n}`;
      ws.send({ type: "message", data: { text }, id });
      const ack = await ws.waitFor((f) => f.type === "ack" && f.id === id, `ack ${id}`);
      return ack.seq as number;
    },
    close: () => ws.close(),
  };
}

describe("the chat page under a 20 KB replay budget", () => {
  it("shows all 40 messages of 2 KB it missed while offline, in order, once, without a gap notice", async () => {
    const room = newRoom();
    const link = new Link();
    const ann = await openChat(room, "Ann", link);
    const bo = await writer(room, "Bo");
    await bo.say("before the break");
    await ann.page.locator(".msg .text", { hasText: "before the break" }).first().waitFor(WAIT);

    await link.cut();
    await ann.page.locator('#status[data-state="reconnecting"]').waitFor(WAIT);
    for (const i of range(MESSAGES)) await bo.say(big(i));

    const welcomesBefore = link.fromRoom.filter((f) => f.type === "welcome").length;
    link.restore();
    // The page's own control, rather than waiting out the backoff; clicked through the DOM in
    // case a retry of the page's own already took it away.
    await ann.page.evaluate(() => document.getElementById("retry-now")!.click());
    await ann.page.locator('#status[data-state="open"]').waitFor(RECONNECT_WAIT);

    const expected = ["before the break", ...range(MESSAGES).map(big)];
    await expect.poll(() => texts(ann.page), WAIT).toEqual(expected);
    expect(await ann.page.locator(".notice", { hasText: "no longer kept" }).count()).toBe(0);

    // The budget really cut the replay, and the page paged back with history for the rest.
    const welcome = link.fromRoom.filter((f) => f.type === "welcome")[welcomesBefore]!;
    expect(welcome.replay.complete).toBe(false);
    expect(welcome.replay.count).toBeLessThan(MESSAGES);
    const asked = link.fromPage.filter((f) => f.type === "history");
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked[0]).toMatchObject({ before: welcome.replay.from + 1, id: expect.any(String) });
    for (const page of link.fromRoom.filter((f) => f.type === "history")) {
      const bytes = page.messages.reduce(
        (n: number, m: Frame) => n + new TextEncoder().encode(JSON.stringify(m)).length + 1,
        0,
      );
      expect(bytes).toBeLessThanOrEqual(BUDGET);
    }

    // One more live message: anything late or doubled would have arrived before it.
    await bo.say("after the break");
    await expect.poll(() => texts(ann.page), WAIT).toEqual([...expected, "after the break"]);
    bo.close();
  });

  it("loads older messages past pages the budget cut short, until the room's start", async () => {
    const room = newRoom();
    const bo = await writer(room, "Bo");
    for (const i of range(MESSAGES)) await bo.say(big(i));
    bo.close();

    // A join without since gets the newest messages that fit: far fewer than 50, yet not all.
    const ann = await openChat(room, "Ann");
    const replayed = await texts(ann.page);
    expect(replayed.length).toBeLessThan(MESSAGES);
    expect(replayed).toEqual(range(MESSAGES).slice(-replayed.length).map(big));
    const older = ann.page.locator(".load-older");
    expect(await older.isVisible()).toBe(true);
    expect(await ann.page.isHidden(".start")).toBe(true);

    for (let pages = 1; await older.isVisible(); pages++) {
      expect(pages, "pages before the start").toBeLessThanOrEqual(MESSAGES);
      const shown = (await texts(ann.page)).length;
      await older.click();
      // A page arrives: more messages, or the start of the room.
      await expect
        .poll(
          async () =>
            (await texts(ann.page)).length > shown || (await ann.page.isVisible(".start")),
          WAIT,
        )
        .toBe(true);
    }
    expect(await texts(ann.page)).toEqual(range(MESSAGES).map(big));
    expect(await ann.page.isVisible(".start")).toBe(true);
  });
});
