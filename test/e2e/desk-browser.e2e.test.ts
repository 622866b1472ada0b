/**
 * The help desk's pages (pages/agent.html, pages/support.html) in headless Chromium against a
 * real `wrangler dev`. A conversation opens with the customer's first message: before it the
 * widget says how many agents are online, and a customer who joins and leaves without writing
 * never reaches a console. Then: one agent console serving two customer widgets both ways —
 * queue, then assignment, unread counts, replies landing in the right conversation only,
 * closing — plus transfer between two consoles, a customer who reloads the widget and keeps its
 * agent, the console's answer to a missing or refused token, and, on a desk with a short
 * DESK_IDLE_SEC and room for one conversation, `desk_full` and conversations that close by
 * themselves. Customers are guests: the desk makes their ids, so a test reads them from the
 * console.
 */
import { sign } from "hono/jwt";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSuite, openPage, saveScreenshot, type BrowserSuite } from "./browser";

const WAIT = { timeout: 15_000 };
const PHONE = { width: 390, height: 844 };

const suite = browserSuite({});
/** The server the helpers below use: `suite`, or the short-idle one of the last describe. */
let current: BrowserSuite = suite;

const newDesk = () => `help-${crypto.randomUUID().slice(0, 8)}`;

/**
 * A join token as the backend would mint it (npm run token): a desk token by default, a room
 * token with `place: "room"`, signed with the server's JOIN_SECRET.
 */
const token = (sub: string, name: string, desk: string, role = "agent", place = "desk") =>
  sign(
    { sub, name, [place]: desk, role, exp: Math.floor(Date.now() / 1000) + 600 },
    current.server.joinSecret,
    "HS256",
  );

async function open(path: string, query: Record<string, string>, viewport?: typeof PHONE) {
  const url = `${current.server.url}/${path}?${new URLSearchParams(query)}`;
  const page = await openPage(current.browser, url, viewport);
  current.pages.push(page);
  return page;
}

/** A customer's widget: a guest of the desk, in a browser profile of its own. */
const widget = (desk: string, name: string, viewport?: typeof PHONE) =>
  open("support.html", { desk, name }, viewport);

/** An agent's console, signed in with an agent token, once the desk has welcomed it. */
async function console_(desk: string, id: string, name: string) {
  const chat = await open("agent.html", { desk, token: await token(id, name, desk) });
  await chat.page.locator('#status[data-state="open"]').waitFor(WAIT);
  return chat;
}

/**
 * A widget before its first message: no conversation yet, only how many agents are online, in
 * the line above the conversation. Returns that line's text.
 */
async function ready(page: Page, agentsOnline: number): Promise<string> {
  await page
    .locator(`#desk-state[data-state="ready"][data-agents="${agentsOnline}"]`)
    .waitFor(WAIT);
  return (await page.textContent("#desk-state"))!.trim();
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
/** The id the desk gave a customer, read from the console's conversation with that name. */
async function customerId(page: Page, name: string): Promise<string> {
  const entry = page.locator("#conv-list .tab").filter({
    has: page.locator(`.tab-title:text-is("${name}")`),
  });
  await entry.waitFor(WAIT);
  const id = await entry.getAttribute("data-customer");
  expect(id).toMatch(/^guest-/);
  return id!;
}
const unread = (page: Page, customer: string) =>
  tab(page, customer)
    .locator(".badge.unread")
    .evaluate((b) => ((b as HTMLElement).hidden ? "" : b.textContent));

describe("the help desk pages in Chromium", () => {
  it("lets one agent console and two customer widgets talk both ways", async () => {
    const desk = newDesk();
    // Before any agent: the widget says nobody is in, and that writing queues.
    const ann = await widget(desk, "Ann", PHONE);
    expect(await ready(ann.page, 0)).toBe(
      "No agent online right now: write and you will be queued.",
    );
    // A customer who looks and leaves without writing leaves nothing behind.
    const lurker = await widget(desk, "Cy");
    await ready(lurker.page, 0);
    await lurker.close();
    // The first message opens the conversation: queued, in the order of first messages.
    await say(ann.page, "Hi, my order #1042 has not arrived");
    await deskState(ann.page, "queued");
    expect(await ann.page.textContent("#queue-position")).toBe("1");
    await shows(ann.page, "support", "Hi, my order #1042 has not arrived");
    const bo = await widget(desk, "Bo");
    await ready(bo.page, 0);
    await say(bo.page, "Can I change my delivery address?");
    await deskState(bo.page, "queued");
    expect(await bo.page.textContent("#queue-position")).toBe("2");

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
    const annId = await customerId(li.page, "Ann");
    const boId = await customerId(li.page, "Bo");
    for (const id of [annId, boId])
      expect(await tab(li.page, id).locator(".presence").getAttribute("data-online")).toBe("true");
    // The first conversation is open, with what Ann wrote while queued (handed over with it).
    expect(await tab(li.page, annId).getAttribute("aria-selected")).toBe("true");
    await shows(li.page, annId, "Hi, my order #1042 has not arrived");
    expect(await li.page.textContent("#conv-title")).toBe("Ann");
    await shows(li.page, boId, "Can I change my delivery address?", "attached");

    // A customer arriving now is told one agent is in; leaving without a word, it is never listed.
    const dee = await widget(desk, "Dee");
    expect(await ready(dee.page, 1)).toBe("1 agent online — write to start.");
    expect(await dee.page.textContent("#agents-online")).toBe("1");
    await dee.close();

    // Bo writes while Ann's conversation is selected: Bo's entry counts unread messages.
    await say(bo.page, "It is for order #2077");
    await tab(li.page, boId).locator('.badge.unread:text-is("1")').waitFor(WAIT);
    await say(bo.page, "Or can I pick it up?");
    await tab(li.page, boId).locator('.badge.unread:text-is("2")').waitFor(WAIT);
    expect(await unread(li.page, annId)).toBe("");
    expect(await tab(li.page, boId).locator(".preview").textContent()).toBe("Or can I pick it up?");

    // The agent answers Ann, then opens Bo's conversation (its count clears) and answers Bo.
    await say(li.page, "Sorry about that, Ann! Checking #1042 now.");
    await shows(ann.page, "support", "Sorry about that, Ann! Checking #1042 now.");
    await li.page.click(`.tab[data-customer="${boId}"]`);
    expect(await unread(li.page, boId)).toBe("");
    expect(await texts(li.page, boId)).toEqual([
      "Can I change my delivery address?",
      "It is for order #2077",
      "Or can I pick it up?",
    ]);
    await say(li.page, "Sure, Bo: what is the new address?");
    await shows(bo.page, "support", "Sure, Bo: what is the new address?");
    await say(ann.page, "Thank you!");
    await tab(li.page, annId).locator('.badge.unread:text-is("1")').waitFor(WAIT);

    // Each conversation holds its own messages only, on both sides.
    expect(await texts(li.page, annId)).toEqual([
      "Hi, my order #1042 has not arrived",
      "Sorry about that, Ann! Checking #1042 now.",
      "Thank you!",
    ]);
    expect(await texts(li.page, boId)).toEqual([
      "Can I change my delivery address?",
      "It is for order #2077",
      "Or can I pick it up?",
      "Sure, Bo: what is the new address?",
    ]);
    expect(await texts(ann.page, "support")).toEqual(await texts(li.page, annId));
    expect(await texts(bo.page, "support")).toEqual(await texts(li.page, boId));
    const senders = await items(bo.page, "support").locator(".sender").allTextContents();
    expect(senders).toEqual(["Bo", "Bo", "Bo", "Li"]);

    // Closing Ann's conversation: her widget says who closed it, and the console stops the
    // reply box. The closed frame names the reason, so Li's other window, which did not ask,
    // says the same.
    const liElsewhere = await console_(desk, "kefu1", "Li");
    await li.page.click(`.tab[data-customer="${annId}"]`);
    await li.page.click("#close-conv");
    await deskState(ann.page, "closed");
    expect(await ann.page.textContent("#desk-state")).toBe(
      "Li closed this conversation. Write again to start a new one.",
    );
    await expect.poll(() => tab(li.page, annId).getAttribute("data-state"), WAIT).toBe("closed");
    expect(await li.page.textContent("#conv-presence")).toBe("You closed this conversation");
    await liElsewhere.page.click(`.tab[data-customer="${annId}"]`);
    await expect
      .poll(() => liElsewhere.page.textContent("#conv-presence"), WAIT)
      .toBe("You closed this conversation");
    await liElsewhere.close();
    expect(await li.page.isDisabled("#text")).toBe(true);
    expect(await li.page.isDisabled("#close-conv")).toBe(true);
    // Writing again starts a new conversation with an agent (the only one: Li, again), which
    // counts as unread while the agent is in Bo's conversation.
    await li.page.click(`.tab[data-customer="${boId}"]`);
    await say(ann.page, "One more question, sorry");
    await deskState(ann.page, "assigned");
    await shows(li.page, annId, "One more question, sorry", "attached");
    await expect.poll(() => tab(li.page, annId).getAttribute("data-state"), WAIT).toBe("open");
    await tab(li.page, annId).locator('.badge.unread:text-is("1")').waitFor(WAIT);
    expect(
      await li.page
        .locator(`.conversation[data-conv="${annId}"] .notice`)
        .filter({ hasText: "Ann wrote again: a new conversation" })
        .count(),
    ).toBe(1);

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
      .poll(() => tab(li.page, boId).locator(".presence").getAttribute("data-online"), WAIT)
      .toBe("false");
    expect(await li.page.textContent("#conv-presence")).toBe("offline");

    // The desk itself lists the two who wrote, never the two who only looked: a fresh console
    // is welcomed with exactly those conversations.
    await li.page.reload();
    await li.page.locator('#status[data-state="open"]').waitFor(WAIT);
    await expect
      .poll(
        async () => (await li.page.locator("#conv-list .tab-title").allTextContents()).sort(),
        WAIT,
      )
      .toEqual(["Ann", "Bo"]);
  });

  it("transfers a conversation to another online agent, with what was said", async () => {
    const desk = newDesk();
    const li = await console_(desk, "kefu1", "Li");
    const cy = await widget(desk, "Cy");
    await ready(cy.page, 1);
    await say(cy.page, "I need an invoice for last month");
    await deskState(cy.page, "assigned");
    const wang = await console_(desk, "kefu2", "Wang"); // after Cy wrote: Cy stays with Li
    expect(await cy.page.textContent("#agent-name")).toBe("Li");
    const cyId = await customerId(li.page, "Cy");
    await shows(li.page, cyId, "I need an invoice for last month");

    await expect
      .poll(() => li.page.locator("#transfer-to option").allTextContents(), WAIT)
      .toEqual(["Wang"]);
    await li.page.click("#transfer");
    await cy.page.locator('#agent-name:text-is("Wang")').waitFor(WAIT);
    await shows(wang.page, cyId, "I need an invoice for last month");
    await expect.poll(() => tab(li.page, cyId).getAttribute("data-state"), WAIT).toBe("gone");
    expect(await li.page.isDisabled("#text")).toBe(true);

    await say(wang.page, "Hi Cy, Wang here: sending it now.");
    await shows(cy.page, "support", "Hi Cy, Wang here: sending it now.");
    await say(cy.page, "Great, thanks");
    await shows(wang.page, cyId, "Great, thanks");
    expect(await texts(li.page, cyId)).toEqual(["I need an invoice for last month"]);
  });

  it("keeps the customer's agent and conversation across a reload of the widget", async () => {
    const desk = newDesk();
    const li = await console_(desk, "kefu1", "Li");
    const ann = await widget(desk, "Ann");
    await ready(ann.page, 1);
    // Joining assigned nothing: the console lists no one until Ann writes.
    expect(await li.page.locator("#conv-list .tab").count()).toBe(0);
    await say(ann.page, "Hello, is anyone there?");
    await deskState(ann.page, "assigned");
    expect(await ann.page.textContent("#agent-name")).toBe("Li");
    const annId = await customerId(li.page, "Ann");
    await shows(li.page, annId, "Hello, is anyone there?");
    // A second agent with no conversation yet: a new customer would be given Wang (the least
    // busy), so only the same customer id keeps Li.
    const wang = await console_(desk, "kefu2", "Wang");
    // Another customer is told both agents are in, and leaves without writing.
    const eve = await widget(desk, "Eve");
    expect(await ready(eve.page, 2)).toBe("2 agents online — write to start.");
    await eve.close();

    await ann.page.reload();
    await deskState(ann.page, "assigned");
    expect(await ann.page.textContent("#agent-name")).toBe("Li");
    expect(new URL(ann.sockets.at(-1)!).searchParams.has("token")).toBe(true);
    await shows(ann.page, "support", "Hello, is anyone there?"); // her conversation, replayed
    await say(ann.page, "Still me, after a reload");
    await shows(li.page, annId, "Still me, after a reload");
    await say(li.page, "Yes, Ann: how can I help?");
    await shows(ann.page, "support", "Yes, Ann: how can I help?");
    expect(await texts(li.page, annId)).toEqual([
      "Hello, is anyone there?",
      "Still me, after a reload",
      "Yes, Ann: how can I help?",
    ]);
    // One conversation with Ann, never a second customer of that name; none reached Wang, and
    // Eve, who never wrote, reached no one.
    expect(await li.page.locator("#conv-list .tab").count()).toBe(1);
    expect(await wang.page.locator("#conv-list .tab").count()).toBe(0);
  });

  it("says how to get an agent token, and why one was refused", async () => {
    const desk = newDesk();
    const none = await open("agent.html", { desk });
    await none.page.locator("#signin").waitFor(WAIT);
    expect(await none.page.textContent("#token-command")).toBe(
      `npm run token -- --user kefu1 --name Li --desk ${desk} --role agent`,
    );
    expect(none.sockets).toEqual([]);

    const member = await open("agent.html", {
      desk,
      token: await token("u1", "U", desk, "member"),
    });
    await member.page.locator("#signin-error").waitFor(WAIT);
    expect(await member.page.textContent("#signin-error")).toMatch(/not make you an agent.*role/);

    // A room token of the same name never opens the desk, even with the agent role.
    const roomToken = await open("agent.html", {
      desk,
      token: await token("kefu1", "Li", desk, "agent", "room"),
    });
    await roomToken.page.locator("#signin-error").waitFor(WAIT);
    expect(await roomToken.page.textContent("#signin-error")).toMatch(/not make you an agent/);

    const garbage = await open("agent.html", { desk, token: "not.a.token" });
    await garbage.page.locator("#signin-error").waitFor(WAIT);
    expect(await garbage.page.textContent("#signin-error")).toMatch(/did not accept this token/);
    for (const refused of [member, roomToken, garbage]) {
      expect(await refused.page.isHidden("#console")).toBe(true);
      expect(refused.sockets).toHaveLength(1); // a refusal is final: no retry
    }
  });
});

describe("a full desk and quiet conversations, in Chromium", () => {
  // Conversations close after IDLE_SEC without a frame, and the desk holds one at a time.
  const IDLE_SEC = 5;
  const short = browserSuite({ DESK_IDLE_SEC: String(IDLE_SEC), DESK_MAX_OPEN: "1" });
  beforeAll(() => {
    current = short;
  });
  afterAll(() => {
    current = suite;
  });
  const QUIET = { timeout: (IDLE_SEC + 15) * 1000 };

  it("refuses a first message with desk_full, then closes quiet conversations by themselves", async () => {
    const desk = newDesk();
    // Cy opens the desk's one conversation, queued: no agent is in.
    const cy = await widget(desk, "Cy");
    await ready(cy.page, 0);
    await say(cy.page, "Anyone there?");
    await deskState(cy.page, "queued");

    // Dee's first message finds the desk full: said plainly, the message marked not sent.
    const dee = await widget(desk, "Dee");
    await ready(dee.page, 0);
    await say(dee.page, "I have a question too");
    await dee.page.locator("#alert:not([hidden])").waitFor(WAIT);
    expect(await dee.page.textContent("#alert-text")).toMatch(/desk is full right now/);
    const refused = dee.page.locator(".conversation .msg.failed");
    await refused.waitFor(WAIT);
    expect(await refused.locator(".text").textContent()).toBe("I have a question too");
    expect(await refused.locator(".state").textContent()).toBe("not sent: desk full");
    expect(await items(dee.page, "support").count()).toBe(0);
    await ready(dee.page, 0); // still no conversation

    // Nobody comes for Cy: after IDLE_SEC the desk closes it, with no agent to name.
    await cy.page.locator('#desk-state[data-state="closed"]').waitFor(QUIET);
    expect(await cy.page.textContent("#desk-state")).toBe(
      "No agent was available, so this conversation was closed. Write again to start a new one.",
    );

    // Room again: with an agent in, Dee's retry opens a conversation and Li gets it. Cy, whose
    // conversation closed before any agent came, is not Li's.
    const li = await console_(desk, "kefu1", "Li");
    await dee.page.click(".msg.failed .retry");
    await deskState(dee.page, "assigned");
    expect(await dee.page.textContent("#agent-name")).toBe("Li");
    const deeId = await customerId(li.page, "Dee");
    await shows(li.page, deeId, "I have a question too");
    expect(await li.page.locator("#conv-list .tab-title").allTextContents()).toEqual(["Dee"]);

    // Nobody writes: the desk closes the conversation on both sides, and both say it was
    // quiet, not that someone closed it.
    await dee.page.locator('#desk-state[data-state="closed"]').waitFor(QUIET);
    expect(await dee.page.textContent("#desk-state")).toBe(
      "Your conversation with Li was closed: nobody wrote for a while. Write again to start a new one.",
    );
    await expect.poll(() => tab(li.page, deeId).getAttribute("data-state"), WAIT).toBe("closed");
    expect(await li.page.textContent("#conv-presence")).toMatch(
      /^Closed after \d+ seconds without a message$/,
    );
    expect(await li.page.isDisabled("#text")).toBe(true);

    // Dee writes again: a new conversation, with the only agent.
    await say(dee.page, "Still there?");
    await deskState(dee.page, "assigned");
    await shows(li.page, deeId, "Still there?");
    await expect.poll(() => tab(li.page, deeId).getAttribute("data-state"), WAIT).toBe("open");
  });
});
