/**
 * Big rooms in a real browser, against `wrangler dev`: with PRESENCE_MAX at 3, the chat page
 * shows the count and a note instead of a member list once a fourth member joins, and the list
 * again when the room is back at three.
 */
import { describe, expect, it } from "vitest";
import { browserSuite, openPage } from "./browser";
import { WsClient } from "./wsclient";

const WAIT = { timeout: 15_000 };
const suite = browserSuite({ PRESENCE_MAX: "3", PRESENCE_COUNT_MS: "200" });

describe("the chat page in a room above PRESENCE_MAX", () => {
  it("shows the count instead of names, then the list again below the threshold", async () => {
    const room = `big-${crypto.randomUUID().slice(0, 8)}`;
    const chat = await openPage(suite.browser, `${suite.server.url}/?room=${room}&name=Ann`);
    suite.pages.push(chat);
    const { page } = chat;
    await page.locator('#status[data-state="open"]').waitFor(WAIT);
    const guests: WsClient[] = [];
    for (const name of ["Bo", "Cy", "Di"]) {
      const ws = await WsClient.connect(`${suite.server.wsUrl}/room/${room}?name=${name}`);
      await ws.waitFor((f) => f.type === "welcome");
      guests.push(ws);
    }
    await expect.poll(() => page.textContent("#member-count"), WAIT).toBe("4");
    await page.locator("#member-list .too-many", { hasText: "4 people are here" }).waitFor(WAIT);
    expect(await page.locator("#member-list .member").count()).toBe(0);

    guests.pop()!.ws.close();
    await expect
      .poll(() => page.locator("#member-list .member").allTextContents(), WAIT)
      .toEqual(expect.arrayContaining([expect.stringContaining("Ann")]));
    expect(await page.locator("#member-list .member").count()).toBe(3);
    expect(await page.textContent("#member-count")).toBe("3");
    for (const g of guests) g.ws.close();
  });
});
