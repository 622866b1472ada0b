/**
 * Big rooms against `wrangler dev`: with PRESENCE_MAX at 3, the chat page shows the count and a
 * note instead of a member list once a fourth member joins, and the list again when the room is
 * back at three; and a sharded room (rooms named shard-*, two sockets per shard) where the chat
 * page and sockets on other shards see one conversation in one order.
 */
import { describe, expect, it } from "vitest";
import { browserSuite, openPage } from "./browser";
import { WsClient } from "./wsclient";

const WAIT = { timeout: 15_000 };
const suite = browserSuite({
  PRESENCE_MAX: "3",
  PRESENCE_COUNT_MS: "200",
  SHARDED_ROOMS: "shard-*",
  SHARD_SOCKETS: "2",
});

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

describe("a sharded room", () => {
  it("is one conversation in one order for the chat page and sockets on other shards", async () => {
    const room = `shard-${crypto.randomUUID().slice(0, 8)}`;
    const chat = await openPage(suite.browser, `${suite.server.url}/?room=${room}&name=Ann`);
    suite.pages.push(chat);
    const { page } = chat;
    await page.locator('#status[data-state="open"]').waitFor(WAIT);
    // Ann is on shard 0 with Bo; Cy and Di are on shard 1, Ed on shard 2.
    const others: WsClient[] = [];
    for (const name of ["Bo", "Cy", "Di", "Ed"]) {
      const ws = await WsClient.connect(`${suite.server.wsUrl}/room/${room}?name=${name}`);
      await ws.waitFor((f) => f.type === "welcome");
      others.push(ws);
    }
    await expect.poll(() => page.textContent("#member-count"), WAIT).toBe("5");
    for (const [i, ws] of others.entries()) ws.send({ type: "message", data: { text: `m${i}` } });
    await page.locator("#composer input, #composer textarea").first().fill("from Ann");
    await page.keyboard.press("Enter");
    const order = async (ws: WsClient) => {
      const seen: string[] = [];
      while (seen.length < 5) {
        const f = await ws.waitFor((g) => g.type === "message");
        seen.push(`${f.seq}:${f.data.text}`);
      }
      return seen;
    };
    const orders = await Promise.all(others.map(order));
    for (const o of orders) expect(o).toEqual(orders[0]);
    expect(orders[0]!.map((o) => Number(o.split(":")[0]))).toEqual([1, 2, 3, 4, 5]);
    // The page shows the same five, in the same order.
    const shown = () =>
      page
        .locator("li.msg[data-seq]")
        .evaluateAll((items) =>
          items.map(
            (li) => `${li.getAttribute("data-seq")}:${li.querySelector(".text")?.textContent}`,
          ),
        );
    await expect.poll(shown, WAIT).toEqual(orders[0]);
    for (const ws of others) ws.ws.close();
  });
});
