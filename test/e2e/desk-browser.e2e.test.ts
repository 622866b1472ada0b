/**
 * The help desk's pages (public/agent.html, public/support.html) in headless Chromium against a
 * real `wrangler dev`: one agent console serving two customer widgets both ways — queue, then
 * assignment, unread counts, replies landing in the right conversation only, closing — plus
 * transfer between two consoles and the console's answer to a missing or refused token.
 */
import { sign } from "hono/jwt";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/webhook.ts";
import { browserSuite, openPage, saveScreenshot } from "./browser";

const JOIN_SECRET = generateSecret().slice("whsec_".length);
const WAIT = { timeout: 15_000 };
const PHONE = { width: 390, height: 844 };

const suite = browserSuite({ JOIN_SECRET });

const newDesk = () => `help-${crypto.randomUUID().slice(0, 8)}`;

/** A join token as the backend would mint it (scripts/token.ts). */
const token = (sub: string, name: string, desk: string, role = "agent") =>
  sign(
    { sub, name, room: desk, role, exp: Math.floor(Date.now() / 1000) + 600 },
    JOIN_SECRET,
    "HS256",
  );

async function open(path: string, query: Record<string, string>, viewport?: typeof PHONE) {
  const url = `${suite.server.url}/${path}?${new URLSearchParams(query)}`;
  const page = await openPage(suite.browser, url, viewport);
  suite.pages.push(page);
  return page;
}

/** A customer's widget, with a known user id so the console's entries can be addressed. */
const widget = (desk: string, name: string, user: string, viewport?: typeof PHONE) =>
  open("support.html", { desk, name, user }, viewport);

/** An agent's console, signed in with an agent token, once the desk has welcomed it. */
async function console_(desk: string, id: string, name: string) {
  const chat = await open("agent.html", { desk, token: await token(id, name, desk) });
  await chat.page.locator('#status[data-state="open"]').waitFor(WAIT);
  return chat;
}

async function say(page: Page, text: string) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** Stored messages of one conversation: a customer id in the console, "support" in a widget. */
const items = (page: Page, conv: string) =>
  page.locator(`.conversation[data-conv="${conv}"] .msg[data-seq]`);
const texts = (page: Page, conv: string) => items(page, conv).locator(".text").allTextContents();
/** Waits for a message in a conversation; `attached`: in one that is not selected (hidden). */
const shows = (page: Page, conv: string, text: string, state: "visible" | "attached" = "visible") =>
  items(page, conv)
    .filter({ has: page.locator(".text", { hasText: text }) })
    .first()
    .waitFor({ ...WAIT, state });

const deskState = (page: Page, state: string) =>
  page.locator(`#desk-state[data-state="${state}"]`).waitFor(WAIT);
const tab = (page: Page, customer: string) => page.locator(`.tab[data-customer="${customer}"]`);
const unread = (page: Page, customer: string) =>
  tab(page, customer)
    .locator(".badge.unread")
    .evaluate((b) => ((b as HTMLElement).hidden ? "" : b.textContent));

describe("the help desk pages in Chromium", () => {
  it("lets one agent console and two customer widgets talk both ways", async () => {
    const desk = newDesk();
    // Two customers arrive before any agent: they queue, in order, and may already write.
    const ann = await widget(desk, "Ann", "ann-1", PHONE);
    await deskState(ann.page, "queued");
    expect(await ann.page.textContent("#queue-position")).toBe("1");
    const bo = await widget(desk, "Bo", "bo-2");
    await deskState(bo.page, "queued");
    expect(await bo.page.textContent("#queue-position")).toBe("2");
    await say(ann.page, "Hi, my order #1042 has not arrived");
    await shows(ann.page, "support", "Hi, my order #1042 has not arrived");

    // The agent comes online: both are assigned to Li, and each widget says so by name.
    const li = await console_(desk, "kefu1", "Li");
    for (const customer of [ann, bo]) {
      await deskState(customer.page, "assigned");
      expect(await customer.page.textContent("#agent-name")).toBe("Li");
    }
    expect(await li.page.textContent("#me-name")).toBe("Li");
    await expect
      .poll(() => li.page.locator("#conv-list .tab-title").allTextContents(), WAIT)
      .toEqual(["Ann", "Bo"]);
    for (const id of ["ann-1", "bo-2"])
      expect(await tab(li.page, id).locator(".presence").getAttribute("data-online")).toBe("true");
    // The first conversation is open, with what Ann wrote while queued (handed over with it).
    expect(await tab(li.page, "ann-1").getAttribute("aria-selected")).toBe("true");
    await shows(li.page, "ann-1", "Hi, my order #1042 has not arrived");
    expect(await li.page.textContent("#conv-title")).toBe("Ann");

    // Bo writes while Ann's conversation is selected: Bo's entry counts unread messages.
    await say(bo.page, "Can I change my delivery address?");
    await tab(li.page, "bo-2").locator('.badge.unread:text-is("1")').waitFor(WAIT);
    await say(bo.page, "It is for order #2077");
    await tab(li.page, "bo-2").locator('.badge.unread:text-is("2")').waitFor(WAIT);
    expect(await unread(li.page, "ann-1")).toBe("");
    expect(await tab(li.page, "bo-2").locator(".preview").textContent()).toBe(
      "It is for order #2077",
    );

    // The agent answers Ann, then opens Bo's conversation (its count clears) and answers Bo.
    await say(li.page, "Sorry about that, Ann! Checking #1042 now.");
    await shows(ann.page, "support", "Sorry about that, Ann! Checking #1042 now.");
    await li.page.click('.tab[data-customer="bo-2"]');
    expect(await unread(li.page, "bo-2")).toBe("");
    expect(await texts(li.page, "bo-2")).toEqual([
      "Can I change my delivery address?",
      "It is for order #2077",
    ]);
    await say(li.page, "Sure, Bo: what is the new address?");
    await shows(bo.page, "support", "Sure, Bo: what is the new address?");
    await say(ann.page, "Thank you!");
    await tab(li.page, "ann-1").locator('.badge.unread:text-is("1")').waitFor(WAIT);

    // Each conversation holds its own messages only, on both sides.
    expect(await texts(li.page, "ann-1")).toEqual([
      "Hi, my order #1042 has not arrived",
      "Sorry about that, Ann! Checking #1042 now.",
      "Thank you!",
    ]);
    expect(await texts(li.page, "bo-2")).toEqual([
      "Can I change my delivery address?",
      "It is for order #2077",
      "Sure, Bo: what is the new address?",
    ]);
    expect(await texts(ann.page, "support")).toEqual(await texts(li.page, "ann-1"));
    expect(await texts(bo.page, "support")).toEqual(await texts(li.page, "bo-2"));
    const senders = await items(bo.page, "support").locator(".sender").allTextContents();
    expect(senders).toEqual(["Bo", "Bo", "Li"]);

    // Closing Ann's conversation: her widget says so, and the console stops the reply box.
    await li.page.click('.tab[data-customer="ann-1"]');
    await li.page.click("#close-conv");
    await deskState(ann.page, "closed");
    expect(await ann.page.textContent("#desk-state")).toMatch(/Li closed this conversation/);
    await expect.poll(() => tab(li.page, "ann-1").getAttribute("data-state"), WAIT).toBe("closed");
    expect(await li.page.isDisabled("#text")).toBe(true);
    expect(await li.page.isDisabled("#close-conv")).toBe(true);
    // Writing again starts a new conversation with an agent (the only one: Li, again), which
    // counts as unread while the agent is in Bo's conversation.
    await li.page.click('.tab[data-customer="bo-2"]');
    await say(ann.page, "One more question, sorry");
    await deskState(ann.page, "assigned");
    await shows(li.page, "ann-1", "One more question, sorry", "attached");
    await expect.poll(() => tab(li.page, "ann-1").getAttribute("data-state"), WAIT).toBe("open");
    await tab(li.page, "ann-1").locator('.badge.unread:text-is("1")').waitFor(WAIT);

    // The widget fits a phone: nothing wider than the screen, the composer on it.
    expect(await ann.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      PHONE.width,
    );
    const composer = (await ann.page.locator("#composer").boundingBox())!;
    expect(composer.y + composer.height).toBeLessThanOrEqual(PHONE.height);
    expect(composer.width).toBeGreaterThan(350);

    await li.page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await saveScreenshot(li.page, "agent.png");

    // A customer who leaves shows as offline in the console.
    await bo.close();
    await expect
      .poll(() => tab(li.page, "bo-2").locator(".presence").getAttribute("data-online"), WAIT)
      .toBe("false");
    expect(await li.page.textContent("#conv-presence")).toBe("offline");
  });

  it("transfers a conversation to another online agent, with what was said", async () => {
    const desk = newDesk();
    const li = await console_(desk, "kefu1", "Li");
    const cy = await widget(desk, "Cy", "cy-3");
    await deskState(cy.page, "assigned");
    const wang = await console_(desk, "kefu2", "Wang"); // after Cy: Cy stays with Li
    expect(await cy.page.textContent("#agent-name")).toBe("Li");
    await say(cy.page, "I need an invoice for last month");
    await shows(li.page, "cy-3", "I need an invoice for last month");

    await expect
      .poll(() => li.page.locator("#transfer-to option").allTextContents(), WAIT)
      .toEqual(["Wang"]);
    await li.page.click("#transfer");
    await cy.page.locator('#agent-name:text-is("Wang")').waitFor(WAIT);
    await shows(wang.page, "cy-3", "I need an invoice for last month");
    await expect.poll(() => tab(li.page, "cy-3").getAttribute("data-state"), WAIT).toBe("gone");
    expect(await li.page.isDisabled("#text")).toBe(true);

    await say(wang.page, "Hi Cy, Wang here: sending it now.");
    await shows(cy.page, "support", "Hi Cy, Wang here: sending it now.");
    await say(cy.page, "Great, thanks");
    await shows(wang.page, "cy-3", "Great, thanks");
    expect(await texts(li.page, "cy-3")).toEqual(["I need an invoice for last month"]);
  });

  it("says how to get an agent token, and why one was refused", async () => {
    const desk = newDesk();
    const none = await open("agent.html", { desk });
    await none.page.locator("#signin").waitFor(WAIT);
    expect(await none.page.textContent("#token-command")).toBe(
      `npm run token -- --user kefu1 --name Li --room ${desk} --role agent`,
    );
    expect(none.sockets).toEqual([]);

    const member = await open("agent.html", {
      desk,
      token: await token("u1", "U", desk, "member"),
    });
    await member.page.locator("#signin-error").waitFor(WAIT);
    expect(await member.page.textContent("#signin-error")).toMatch(/not make you an agent.*role/);

    const garbage = await open("agent.html", { desk, token: "not.a.token" });
    await garbage.page.locator("#signin-error").waitFor(WAIT);
    expect(await garbage.page.textContent("#signin-error")).toMatch(/did not accept this token/);
    for (const refused of [member, garbage]) {
      expect(await refused.page.isHidden("#console")).toBe(true);
      expect(refused.sockets).toHaveLength(1); // a refusal is final: no retry
    }
  });
});
