/**
 * The chat page (pages/index.html) in headless Chromium against a real `wrangler dev`: what
 * people do with it — chat both ways, see who is there, message one person, survive a server
 * restart, stay the same guest across tabs and reloads — and what must never happen: markup
 * from a message running, a message shown twice or lost.
 */
import { sign } from "hono/jwt";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSuite, openPage, openTab, saveScreenshot, type ChatPage } from "./browser";
import { startServer } from "./server";
import { WsClient } from "./wsclient";

const WAIT = { timeout: 15_000 };
/** A dial already under way when the server came back may still fail: then the backoff (at
 * most 15 s) decides, so reconnect waits allow a little more than that. */
const RECONNECT_WAIT = { timeout: 20_000 };

const suite = browserSuite({});

const newRoom = () => `web-${crypto.randomUUID().slice(0, 8)}`;

async function open(query: Record<string, string>, viewport?: { width: number; height: number }) {
  const chat = await openPage(
    suite.browser,
    `${suite.server.url}/?${new URLSearchParams(query)}`,
    viewport,
  );
  suite.pages.push(chat);
  return chat;
}

/** Opens the page for one person and waits until the room has welcomed them. */
async function enter(room: string, name: string, viewport?: { width: number; height: number }) {
  const chat = await open({ room, name }, viewport);
  await online(chat.page);
  return chat;
}

const online = (page: Page) => page.locator('#status[data-state="open"]').waitFor(WAIT);

async function say(page: Page, text: string) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** The stored messages of one conversation ("room" or "dm:<user>"), in page order. */
const items = (page: Page, conv = "room") =>
  page.locator(`.conversation[data-conv="${conv}"] .msg[data-seq]`);

/** Waits until a conversation shows a message with exactly this text. */
const shows = (page: Page, text: string, conv = "room") =>
  items(page, conv)
    .filter({ has: page.locator(".text", { hasText: text }) })
    .first()
    .waitFor(WAIT);

/** How many stored messages of a conversation show exactly this text. */
const countOf = (page: Page, text: string, conv = "room") =>
  items(page, conv)
    .locator(".text")
    .evaluateAll((nodes, t) => nodes.filter((n) => n.textContent === t).length, text);

/** The id the room gave this page's member (the list shows yourself as plain text). */
const selfId = (page: Page) =>
  page.locator("#member-list li:has(.member.self)").getAttribute("data-user");

/** The address of the chat page for a room and a name, as a link would carry them. */
const chatUrl = (query: Record<string, string>) =>
  `${suite.server.url}/?${new URLSearchParams(query)}`;

const memberNames = (page: Page) =>
  page
    .locator("#member-list li")
    .evaluateAll((lis) => lis.map((li) => li.querySelector(".member")?.textContent ?? ""));

describe("the chat page in Chromium", () => {
  it("lets two people chat both ways, with sender and time, and shows who is there", async () => {
    const room = newRoom();
    const ann = await enter(room, "Ann");
    // Bo arrives through a link with a mistyped room, and fixes it in the form.
    const bo = await open({ room: "design review", name: "Bo" });
    expect(await bo.page.textContent("#join-error")).toMatch(/no spaces/);
    expect(await bo.page.inputValue('#join-form [name="name"]')).toBe("Bo");
    await bo.page.fill('#join-form [name="room"]', room);
    await bo.page.click('#join-form [type="submit"]');
    await online(bo.page);
    expect(new URL(bo.page.url()).searchParams.get("room")).toBe(room);

    await expect.poll(() => memberNames(ann.page), WAIT).toEqual(["Ann", "Bo"]);
    expect(await memberNames(bo.page)).toEqual(["Bo", "Ann"]); // yourself first

    await say(ann.page, "Hi Bo! Ready for the demo?");
    await shows(bo.page, "Hi Bo! Ready for the demo?");
    await say(bo.page, "你好 Ann, almost ✅");
    await shows(ann.page, "你好 Ann, almost ✅");

    const seen = await items(ann.page).evaluateAll((lis) =>
      lis.map((li) => ({
        sender: li.querySelector(".sender")?.textContent,
        text: li.querySelector(".text")?.textContent,
        time: li.querySelector("time")?.getAttribute("datetime"),
        mine: li.classList.contains("mine"),
      })),
    );
    expect(seen).toMatchObject([
      { sender: "Ann", text: "Hi Bo! Ready for the demo?", mine: true },
      { sender: "Bo", text: "你好 Ann, almost ✅", mine: false },
    ]);
    for (const s of seen) expect(Math.abs(Date.parse(s.time!) - Date.now())).toBeLessThan(120_000);

    await bo.close();
    await expect.poll(() => memberNames(ann.page), WAIT).toEqual(["Ann"]);
    await ann.page.locator(".notice", { hasText: "Bo left" }).waitFor(WAIT);
    expect(await ann.page.textContent("#member-count")).toBe("1");
  });

  it("delivers a direct message only to its addressee, apart from the group chat", async () => {
    const room = newRoom();
    const ann = await enter(room, "Ann");
    const bo = await enter(room, "Bo");
    const cy = await enter(room, "Cy");
    await expect.poll(() => memberNames(ann.page), WAIT).toEqual(["Ann", "Bo", "Cy"]);

    await ann.page.click('#member-list button.member:text-is("Bo")');
    const boId = await ann.page
      .locator('#member-list li:has(button:text-is("Bo"))')
      .getAttribute("data-user");
    const dm = `dm:${boId}`;
    await expect
      .poll(() => ann.page.getAttribute(`.tab[data-conv="${dm}"]`, "aria-selected"))
      .toBe("true");
    await say(ann.page, "Just between us: the launch is Friday");
    await shows(ann.page, "Just between us: the launch is Friday", dm);

    // Bo gets it in a tab of its own, marked unread, and not in the group chat.
    const annId = await bo.page
      .locator('#member-list li:has(button:text-is("Ann"))')
      .getAttribute("data-user");
    const boDm = `dm:${annId}`;
    await bo.page.locator(`.tab[data-conv="${boDm}"] .badge:text-is("1")`).waitFor(WAIT);
    await bo.page.click(`.tab[data-conv="${boDm}"]`);
    await shows(bo.page, "Just between us: the launch is Friday", boDm);
    expect(await countOf(bo.page, "Just between us: the launch is Friday", "room")).toBe(0);
    await say(bo.page, "Got it, not a word");
    await shows(ann.page, "Got it, not a word", dm);

    // A group message sent after both: once Cy has it, Cy would have had the direct ones too.
    await ann.page.click('.tab[data-conv="room"]');
    await say(ann.page, "Standup in 5 minutes");
    await shows(cy.page, "Standup in 5 minutes");
    const cyText = await cy.page.locator("body").innerText();
    expect(cyText).not.toContain("launch is Friday");
    expect(cyText).not.toContain("not a word");
    expect(await cy.page.locator('.tab[data-conv^="dm:"]').count()).toBe(0);
    expect(await items(cy.page).count()).toBe(1);
  });

  it("is one member in two tabs of one browser: the same guest, counted once", async () => {
    const room = newRoom();
    const ann = await enter(room, "Ann");
    const annId = await selfId(ann.page);
    expect(annId).toMatch(/^guest-/);
    expect(new URL(ann.sockets[0]!).searchParams.has("token")).toBe(false); // a new guest

    // A second tab finds the guest token the first one stored, and joins with it.
    const second = await openTab(ann, chatUrl({ room, name: "Ann" }));
    suite.pages.push(second);
    await online(second.page);
    expect(await selfId(second.page)).toBe(annId);
    expect(new URL(second.sockets[0]!).searchParams.has("token")).toBe(true);
    expect(await second.page.textContent("#member-count")).toBe("1");

    // Someone else sees one Ann, and so do both of Ann's tabs.
    const bo = await enter(room, "Bo");
    await expect.poll(() => memberNames(bo.page), WAIT).toEqual(["Bo", "Ann"]);
    for (const tab of [ann, second]) {
      await expect.poll(() => memberNames(tab.page), WAIT).toEqual(["Ann", "Bo"]);
      expect(await tab.page.textContent("#member-count")).toBe("2");
    }
    // What one tab sends is the member's own message in the other tab too.
    await say(second.page, "typed in the second tab");
    await shows(ann.page, "typed in the second tab");
    await shows(bo.page, "typed in the second tab");
    expect(await items(ann.page).last().getAttribute("class")).toMatch(/\bmine\b/);
    expect(await items(bo.page).last().locator(".sender").textContent()).toBe("Ann");
  });

  it("keeps the guest id and its direct messages across a reload", async () => {
    const room = newRoom();
    const ann = await enter(room, "Ann");
    const bo = await enter(room, "Bo");
    const annId = (await selfId(ann.page))!;
    const boId = (await selfId(bo.page))!;
    await bo.page.click('#member-list button.member:text-is("Ann")');
    await say(bo.page, "psst, before your reload");
    const dm = `dm:${boId}`;
    await ann.page.locator(`.tab[data-conv="${dm}"]`).waitFor(WAIT);
    await ann.page.click(`.tab[data-conv="${dm}"]`);
    await shows(ann.page, "psst, before your reload", dm);

    await ann.page.reload();
    await online(ann.page);
    expect(await selfId(ann.page)).toBe(annId);
    expect(new URL(ann.sockets.at(-1)!).searchParams.has("token")).toBe(true);
    // Only the addressee is replayed a direct message: this one comes back because it is Ann.
    await ann.page.locator(`.tab[data-conv="${dm}"]`).waitFor(WAIT);
    await ann.page.click(`.tab[data-conv="${dm}"]`);
    await shows(ann.page, "psst, before your reload", dm);
    expect(await countOf(ann.page, "psst, before your reload", dm)).toBe(1);

    // Bo's direct conversation still reaches her, and hers reaches Bo: one Ann, the same id.
    await say(ann.page, "still me after the reload");
    await shows(bo.page, "still me after the reload", `dm:${annId}`);
    await say(bo.page, "welcome back");
    await shows(ann.page, "welcome back", dm);
    await expect.poll(() => memberNames(bo.page), WAIT).toEqual(["Bo", "Ann"]);
  });

  it("drops a stored guest token the server no longer accepts, and joins as a new guest", async () => {
    const room = newRoom();
    // What a browser holds after the server's JOIN_SECRET was replaced: a token it cannot verify.
    const stale = await sign(
      {
        sub: "guest-stalestalestale",
        name: "Ann",
        role: "guest",
        room: "*",
        desk: "*",
        exp: Math.floor(Date.now() / 1000) + 600,
      },
      "the-secret-before-the-rotation",
      "HS256",
    );
    const ann = await open({}); // the join form: nothing connects yet
    await ann.page.evaluate((t) => localStorage.setItem("edge-rooms:guest:Ann", t), stale);
    await ann.page.goto(chatUrl({ room, name: "Ann" }));
    await online(ann.page);
    const id = await selfId(ann.page);
    expect(id).toMatch(/^guest-/);
    expect(id).not.toBe("guest-stalestalestale");
    const joins = ann.sockets.map((u) => new URL(u).searchParams);
    expect(joins.map((q) => [q.get("token"), q.get("name")])).toEqual([
      [stale, null],
      [null, "Ann"],
    ]);
    const stored = await ann.page.evaluate(() => localStorage.getItem("edge-rooms:guest:Ann"));
    expect(stored).toMatch(/^ey/);
    expect(stored).not.toBe(stale);
    expect(await ann.page.isHidden("#alert")).toBe(true);
  });

  it("shows markup in messages and names as text and runs none of it", async () => {
    const room = newRoom();
    const attack = "<img src=x onerror=alert(1)>";
    const ann = await enter(room, "Ann");
    const mallory = await enter(room, "<img src=x onerror=alert(2)>");
    await say(mallory.page, attack);
    await shows(ann.page, attack);
    await shows(mallory.page, attack);

    for (const chat of [ann, mallory]) {
      const item = items(chat.page).last();
      expect(await item.locator(".text").textContent()).toBe(attack);
      expect(await item.locator(".sender").textContent()).toBe("<img src=x onerror=alert(2)>");
      expect(await chat.page.locator("img").count()).toBe(0); // no element was made from it
      expect(chat.dialogs).toEqual([]);
      expect(chat.requests.filter((u) => new URL(u).pathname === "/x")).toEqual([]);
    }
    expect(await memberNames(ann.page)).toContain("<img src=x onerror=alert(2)>");
  });

  it("reconnects after a server restart and shows what it missed, exactly once", async () => {
    const room = newRoom();
    const ann = await enter(room, "Ann");
    const bo = await enter(room, "Bo");
    await say(ann.page, "before the restart (Ann)");
    await say(bo.page, "before the restart (Bo)");
    await shows(ann.page, "before the restart (Bo)");
    await shows(bo.page, "before the restart (Ann)");

    const { port, persistDir, joinSecret } = suite.server;
    await suite.server.stop();
    await ann.page.locator('#status[data-state="reconnecting"]').waitFor(WAIT);
    await bo.page.locator('#status[data-state="reconnecting"]').waitFor(WAIT);
    // Ann's network goes too, so she stays away while Bo talks after the restart.
    await ann.context.setOffline(true);
    await say(ann.page, "typed while offline");
    await ann.page.locator(".msg.pending .text", { hasText: "typed while offline" }).waitFor(WAIT);

    // The same secret, as a deploy keeps it: the pages' guest tokens stay good.
    suite.server = await startServer({ port, persistDir, vars: { JOIN_SECRET: joinSecret } });
    // The page's own "Retry now" control, instead of waiting out the backoff. Clicked through
    // the DOM: Bo's own timer may have reconnected (and hidden it) a moment ago, which is fine.
    await bo.page.evaluate(() => document.getElementById("retry-now")!.click());
    await bo.page.locator('#status[data-state="open"]').waitFor(RECONNECT_WAIT);
    await say(bo.page, "missed 1");
    await say(bo.page, "missed 2");
    await shows(bo.page, "missed 2");

    await ann.context.setOffline(false); // the page hears "online" and reconnects at once
    await ann.page.locator('#status[data-state="open"]').waitFor(RECONNECT_WAIT);
    const expected = [
      "before the restart (Ann)",
      "before the restart (Bo)",
      "missed 1",
      "missed 2",
      "typed while offline",
    ];
    for (const chat of [ann, bo]) {
      await shows(chat.page, "typed while offline");
      await expect
        .poll(() => items(chat.page).locator(".text").allTextContents(), WAIT)
        .toEqual(expected);
      expect(await chat.page.locator(".msg.pending").count()).toBe(0);
    }
    // One more round trip: anything duplicated by a late re-send would have arrived before it.
    await say(bo.page, "all caught up?");
    await shows(ann.page, "all caught up?");
    expect(await items(ann.page).locator(".text").allTextContents()).toEqual([
      ...expected,
      "all caught up?",
    ]);
  });

  it("pages back through history until the start of the room", async () => {
    const room = newRoom();
    // 75 messages from three writers (each under the per-connection burst), acknowledged.
    for (let w = 0; w < 3; w++) {
      const c = await WsClient.connect(`${suite.server.wsUrl}/room/${room}?name=Writer${w}`);
      await c.expect("welcome");
      for (let i = 1; i <= 25; i++)
        c.send({ type: "message", data: { text: `note ${w * 25 + i}` }, id: `n${i}` });
      for (let i = 1; i <= 25; i++)
        await c.waitFor((f) => f.type === "ack" && f.id === `n${i}`, `ack n${i}`);
      c.close();
    }
    const ann = await enter(room, "Ann");
    await shows(ann.page, "note 75");
    const texts = () => items(ann.page).locator(".text").allTextContents();
    const notes = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `note ${from + i}`);
    expect(await texts()).toEqual(notes(26, 75)); // the newest 50 come with the welcome
    expect(await ann.page.isHidden(".start")).toBe(true);

    await ann.page.click(".load-older");
    await ann.page.locator(".start").waitFor(WAIT);
    expect(await texts()).toEqual(notes(1, 75));
    expect(await ann.page.isHidden(".load-older")).toBe(true);
  });

  it("says why a private room refused the join, without retrying, and admits a valid token", async () => {
    const room = `private-${newRoom()}`;
    const token = (forRoom: string, exp = Math.floor(Date.now() / 1000) + 600) =>
      sign(
        { sub: "ann-42", name: "Ann Lee", room: forRoom, exp },
        suite.server.joinSecret,
        "HS256",
      );

    const noToken = await open({ room, name: "Ann" });
    await noToken.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await noToken.page.textContent("#alert-text")).toMatch(/private room.*join token/);
    expect(await noToken.page.isDisabled("#text")).toBe(true);
    expect(await noToken.page.isHidden("#retry-now")).toBe(true);

    const wrongRoom = await open({ room, token: await token("private-elsewhere") });
    await wrongRoom.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await wrongRoom.page.textContent("#alert-text")).toMatch(
      /invite link is for a different room/,
    );

    const expired = await open({
      room,
      token: await token(room, Math.floor(Date.now() / 1000) - 60),
    });
    await expired.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await expired.page.textContent("#alert-text")).toMatch(/expired/);

    const valid = await open({ room, token: await token(room) });
    await online(valid.page);
    expect(await valid.page.textContent("#me-name")).toBe("Ann Lee");
    await say(valid.page, "inside the private room");
    await shows(valid.page, "inside the private room");
    // A retrying page would have dialled again by now: its first retry waits at most 0.5 s.
    for (const refused of [noToken, wrongRoom, expired]) {
      expect(refused.sockets).toHaveLength(1);
      expect(await refused.page.getAttribute("#status", "data-state")).toBe("closed");
    }
  });

  it("explains rate limiting and too-large messages in plain words", async () => {
    const room = newRoom();
    const ann = await enter(room, "Ann");
    // A burst far over the room's limit (40 at once, then 20 a second), typed by a script.
    await ann.page.evaluate(() => {
      const form = document.getElementById("composer") as HTMLFormElement;
      const input = document.getElementById("text") as HTMLInputElement;
      for (let i = 1; i <= 60; i++) {
        input.value = `burst ${i}`;
        form.requestSubmit();
      }
    });
    await ann.page.locator("#alert-text", { hasText: "sending messages too fast" }).waitFor(WAIT);
    await expect.poll(() => ann.page.locator(".msg.pending").count(), WAIT).toBe(0);
    const stored = await items(ann.page).count();
    const failed = ann.page.locator(".msg.failed");
    expect(stored).toBeGreaterThanOrEqual(40);
    expect(stored + (await failed.count())).toBe(60);
    expect(await failed.first().locator(".state").textContent()).toBe("not sent: too fast");
    // Retry sends the same text again, now that the bucket has refilled.
    const retried = await failed.first().locator(".text").textContent();
    await failed.first().locator(".retry").click();
    await expect.poll(() => countOf(ann.page, retried!), WAIT).toBe(1);

    await ann.page.fill("#text", "x".repeat(70_000));
    await ann.page.press("#text", "Enter");
    await ann.page.locator("#alert-text", { hasText: "too large to send" }).waitFor(WAIT);
    expect((await ann.page.inputValue("#text")).length).toBe(70_000); // kept, so it can be shortened
    expect(await ann.page.getAttribute("#status", "data-state")).toBe("open");
  });

  it("fits a phone screen, with the member list in a drawer", async () => {
    const room = "lobby"; // each run's server has fresh storage: the name is free
    const phone = { width: 390, height: 844 };
    const bo = await enter(room, "Bo");
    const ann = await enter(room, "Ann", phone);
    const page = ann.page;
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    const composer = await page.locator("#composer").boundingBox();
    expect(composer!.y + composer!.height).toBeLessThanOrEqual(844);
    expect(composer!.width).toBeGreaterThan(350);
    // The drawer is off screen until asked for; picking someone closes it on the way to the chat.
    const drawer = () => page.locator("#members").boundingBox();
    expect((await drawer())!.x + (await drawer())!.width).toBeLessThanOrEqual(0);
    await page.click("#members-toggle");
    await expect.poll(async () => (await drawer())!.x, WAIT).toBe(0);
    await page.click('#member-list button.member:text-is("Bo")');
    await expect
      .poll(async () => (await drawer())!.x + (await drawer())!.width, WAIT)
      .toBeLessThanOrEqual(0);
    expect(await page.getAttribute('.tab[data-conv^="dm:"]', "aria-selected")).toBe("true");
    const dm = (await page.getAttribute('.tab[data-conv^="dm:"]', "data-conv"))!;
    await say(page, "sent from a phone");
    await shows(page, "sent from a phone", dm);
    await bo.page.click('#member-list button.member:text-is("Ann")');
    await say(bo.page, "Got it on my laptop. Call you in 5?");
    await shows(page, "Got it on my laptop. Call you in 5?", dm);
    await page.locator("#text").blur();
    await saveScreenshot(page, "chat-phone.png");
  });

  it("saves a screenshot of a lively room", async () => {
    const r = "design-review"; // each run's server has fresh storage: the name is free
    const ann = await enter(r, "Ann");
    const bo = await enter(r, "Bo");
    const cy = await enter(r, "Cy");
    await expect.poll(() => memberNames(ann.page), WAIT).toEqual(["Ann", "Bo", "Cy"]);
    const script: [ChatPage, string][] = [
      [bo, "Morning! The new landing page is up on staging."],
      [ann, "Looks great. The hero image loads fast now."],
      [cy, "Checked it on my phone too: the menu collapses nicely."],
      [bo, "Next up: pricing table copy. Ann, can you review by noon?"],
      [ann, "On it."],
    ];
    for (const [chat, text] of script) {
      await say(chat.page, text);
      await shows(ann.page, text);
    }
    await cy.page.click('#member-list button.member:text-is("Ann")');
    await say(cy.page, "Coffee after the review?");
    await ann.page.locator('.tab[data-conv^="dm:"] .badge:text-is("1")').waitFor(WAIT);
    await ann.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await saveScreenshot(ann.page, "chat.png");
  });
});
