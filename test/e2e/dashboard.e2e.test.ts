/**
 * The live dashboard (pages/dashboard.html) in headless Chromium against a real `wrangler dev`,
 * fed by the demo feeders (scripts/demo.ts) as a user runs them: each numeric field drawn as one
 * series per source with the right points and last value, a late page filled from history past
 * the replayed 50, alarms counted per sensor, stock quotes with live-only ticks, the cap and
 * batching that keep it smooth, and who it joins as: a guest, or a link's token in a private
 * room. What the charts hold is read back from ECharts itself.
 */
import { sign } from "hono/jwt";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { generateSecret, signWebhook } from "../../src/protocol/webhook.ts";
import { browserSuite, openPage, saveScreenshot } from "./browser";
import { WsClient, type Frame } from "./wsclient";

const ROOT = resolve(import.meta.dirname, "../..");
const PUSH_SECRET = generateSecret();
const WAIT = { timeout: 15_000 };
const SENSORS = ["greenhouse-1", "greenhouse-2", "barn", "field-north"];
const SYMBOLS = ["ACME", "GLOBEX", "INITECH", "UMBRELLA"];
/** Marks the end of a feed: once an observer has it, it has everything pushed before. */
const END = "test.end";

const suite = browserSuite({ PUSH_SECRET });

const newRoom = () => `dash-${crypto.randomUUID().slice(0, 8)}`;

type SeriesRead = Record<string, { points: number; last: number | null }>;
interface Snapshot {
  fields: Record<string, SeriesRead>;
  counts: Record<string, number>;
  frames: number;
  renders: number;
  maxRenderMs: number;
}

/** Opens the dashboard of a room and waits until it is live. */
async function openDashboard(room: string, viewport?: { width: number; height: number }) {
  const dash = await openPage(
    suite.browser,
    `${suite.server.url}/dashboard.html?room=${room}`,
    viewport,
  );
  suite.pages.push(dash);
  await dash.page.locator('#status[data-state="open"]').waitFor(WAIT);
  // A public room's dashboard is a guest: it names itself, and never claims an id.
  const join = new URL(dash.sockets[0]!).searchParams;
  expect([join.get("name"), join.has("user"), join.has("token")]).toEqual([
    "dashboard",
    false,
    false,
  ]);
  return dash;
}

const snapshot = (page: Page) =>
  page.evaluate(
    () =>
      (window as unknown as { __dashboard?: { snapshot(): Snapshot } }).__dashboard?.snapshot() ??
      null,
  );

/** Runs a demo feeder to its end, with this server's address and secret. */
async function feed(kind: "sensors" | "stocks", room: string, ...args: string[]) {
  await promisify(execFile)(
    process.execPath,
    ["scripts/demo.ts", kind, "--room", room, "--url", suite.server.url, ...args],
    { cwd: ROOT, env: { ...process.env, PUSH_SECRET }, timeout: 60_000 },
  );
}

/** One signed push of several events, as a backend sends it. */
async function push(events: unknown[]) {
  const body = JSON.stringify({ events });
  const headers = await signWebhook(PUSH_SECRET, `t_${crypto.randomUUID()}`, body);
  const res = await fetch(`${suite.server.url}/push`, { method: "POST", headers, body });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** A socket in the room that records every event until the END marker. */
async function observe(room: string) {
  // A guest: public rooms let anyone watch, with an id the room makes.
  const ws = await WsClient.connect(`${suite.server.wsUrl}/room/${room}?name=observer`);
  await ws.expect("welcome");
  return {
    async until(): Promise<Frame[]> {
      const seen: Frame[] = [];
      for (;;) {
        const f = await ws.waitFor((x) => x.type === "event", "an event", 15_000);
        if (f.event === END) break;
        seen.push(f);
      }
      ws.close();
      return seen;
    },
  };
}

/**
 * What the charts must hold for these events, by the page's documented rule: each number of
 * `data` a point of the series (field, first string field); `alarm` events counted instead.
 */
function expected(events: Frame[]) {
  const fields: Record<string, SeriesRead> = {};
  const counts: Record<string, number> = {};
  for (const e of events) {
    const entries = Object.entries(e.data as Record<string, unknown>);
    const source = entries.find(([, v]) => typeof v === "string")![1] as string;
    if (e.event === "alarm") {
      counts[source] = (counts[source] ?? 0) + 1;
      continue;
    }
    for (const [field, value] of entries) {
      if (typeof value !== "number") continue;
      const s = ((fields[field] ??= {})[source] ??= { points: 0, last: null });
      s.points++;
      s.last = value;
    }
  }
  return { fields, counts };
}

/** Alarms of our own, so the counts are tested even when the feed raised none. */
const ourAlarms = (room: string) => [
  { room, event: "alarm", data: { sensor: "barn", alarm: "battery_low", value: 7.5 } },
  { room, event: "alarm", data: { sensor: "barn", alarm: "battery_low", value: 6.9 } },
  { room, event: "alarm", data: { sensor: "field-north", alarm: "humidity_low", value: 31.2 } },
  { room, event: END, data: null },
];

const tileValue = (page: Page, field: string, source: string) =>
  page
    .locator(`.panel[data-field="${field}"] .tile[data-source="${source}"] .tile-value`)
    .textContent();

describe("the live dashboard in Chromium", () => {
  it("draws each numeric field as a series per sensor, with every reading and the latest large", async () => {
    const room = newRoom();
    const dash = await openDashboard(room);
    expect(await dash.page.isVisible("#empty")).toBe(true);
    const observer = await observe(room);
    const ROUNDS = 30;
    await feed("sensors", room, "--count", String(ROUNDS), "--interval", "100");
    await push(ourAlarms(room));
    const want = expected(await observer.until());

    expect(Object.keys(want.fields).sort()).toEqual(["humidity", "temperature"]);
    for (const field of ["temperature", "humidity"]) {
      expect(Object.keys(want.fields[field]!).sort()).toEqual([...SENSORS].sort());
      for (const s of SENSORS) expect(want.fields[field]![s]!.points).toBe(ROUNDS);
    }
    await expect.poll(async () => (await snapshot(dash.page))?.fields, WAIT).toEqual(want.fields);
    await expect.poll(async () => (await snapshot(dash.page))?.counts, WAIT).toEqual(want.counts);
    expect(want.counts.barn).toBeGreaterThanOrEqual(2);

    // The latest value, large, per sensor; and one panel per field, alarms after them.
    for (const s of SENSORS) {
      const text = await tileValue(dash.page, "temperature", s);
      expect(Number(text!.replace(/,/g, ""))).toBe(want.fields.temperature![s]!.last);
    }
    expect(
      await dash.page
        .locator(".panel")
        .evaluateAll((ps) =>
          ps.map(
            (p) => (p as HTMLElement).dataset.field ?? `count:${(p as HTMLElement).dataset.count}`,
          ),
        ),
    ).toEqual(["temperature", "humidity", "count:alarm"]);
    expect(await dash.page.textContent('.panel[data-count="alarm"] .panel-title')).toBe(
      "alarm events per sensor",
    );
    expect(await dash.page.isHidden("#empty")).toBe(true);
    // A round's readings arrive together and are drawn together: far fewer redraws than events.
    const snap = (await snapshot(dash.page))!;
    expect(snap.renders).toBeLessThan(snap.frames / 2);
  });

  it("watches a private room with a token in its link, and says why it cannot without one", async () => {
    const room = `private-${newRoom()}`;
    const refused = await openPage(
      suite.browser,
      `${suite.server.url}/dashboard.html?room=${room}`,
    );
    suite.pages.push(refused);
    await refused.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await refused.page.textContent("#alert-text")).toMatch(/private room.*join token/);

    const token = await sign(
      { sub: "ops-board", name: "Ops board", room, exp: Math.floor(Date.now() / 1000) + 600 },
      suite.server.joinSecret,
      "HS256",
    );
    const query = new URLSearchParams({ room, token });
    const dash = await openPage(suite.browser, `${suite.server.url}/dashboard.html?${query}`);
    suite.pages.push(dash);
    await dash.page.locator('#status[data-state="open"]').waitFor(WAIT);
    await push([{ room, event: "reading", data: { sensor: "vault", temperature: 4.5 } }]);
    await expect
      .poll(async () => (await snapshot(dash.page))?.fields, WAIT)
      .toEqual({ temperature: { vault: { points: 1, last: 4.5 } } });
  });

  it("fills a page opened late from the room's history, past the 50 replayed frames", async () => {
    const room = newRoom();
    const observer = await observe(room);
    const ROUNDS = 30; // four readings a round: 120 stored frames and more
    await feed("sensors", room, "--count", String(ROUNDS), "--interval", "100");
    await push(ourAlarms(room));
    const events = await observer.until();
    expect(events.length).toBeGreaterThan(100);
    const want = expected(events);

    const dash = await openDashboard(room, { width: 1280, height: 900 });
    await expect.poll(async () => (await snapshot(dash.page))?.fields, WAIT).toEqual(want.fields);
    await expect.poll(async () => (await snapshot(dash.page))?.counts, WAIT).toEqual(want.counts);
    for (const s of SENSORS) {
      expect(
        await dash.page.getAttribute(
          `.panel[data-field="humidity"] .tile[data-source="${s}"]`,
          "data-points",
        ),
      ).toBe(String(ROUNDS));
    }
    await dash.page.evaluate(() => document.fonts.ready);
    await saveScreenshot(dash.page, "dashboard.png", true);
  });

  it("draws stored quotes with the live-only ticks between them; a late page gets the quotes", async () => {
    const room = newRoom();
    const dash = await openDashboard(room);
    const observer = await observe(room);
    // Three quotes a symbol, four rounds of ticks after each of the first two.
    await feed("stocks", room, "--count", "3", "--interval", "600", "--ticks", "4");
    await push([{ room, event: END, data: null }]);
    const events = await observer.until();
    expect(events.filter((e) => e.event === "tick").every((e) => e.seq === undefined)).toBe(true);
    const want = expected(events);
    for (const s of SYMBOLS) {
      expect(want.fields.price![s]!.points).toBe(3 + 2 * 4);
      expect(want.fields.volume![s]!.points).toBe(3);
    }
    await expect.poll(async () => (await snapshot(dash.page))?.fields, WAIT).toEqual(want.fields);

    // Ticks were never stored: a page opened now draws the quotes, on a phone screen.
    const quotesOnly = expected(events.filter((e) => e.event === "quote"));
    const phone = await openDashboard(room, { width: 390, height: 844 });
    await expect
      .poll(async () => (await snapshot(phone.page))?.fields, WAIT)
      .toEqual(quotesOnly.fields);
    expect(quotesOnly.fields.price!.ACME!.last).toBe(want.fields.price!.ACME!.last);
    expect(
      await phone.page.evaluate(() => document.documentElement.scrollWidth),
    ).toBeLessThanOrEqual(390);
    const chart = await phone.page.locator('.panel[data-field="price"] .chart').boundingBox();
    expect(chart!.width).toBeGreaterThan(300);
  });

  it("keeps the newest 300 points of a series and redraws once a frame under a burst", async () => {
    const room = newRoom();
    const dash = await openDashboard(room);
    // 400 live-only ticks of one symbol in 20 pushes, as fast as the server takes them.
    for (let batch = 0; batch < 20; batch++) {
      await push(
        Array.from({ length: 20 }, (_, i) => ({
          room,
          event: "tick",
          data: { symbol: "FAST", price: batch * 20 + i + 1 },
          store: false,
        })),
      );
    }
    await expect
      .poll(async () => (await snapshot(dash.page))?.fields.price, WAIT)
      .toEqual({ FAST: { points: 300, last: 400 } });
    const snap = (await snapshot(dash.page))!;
    expect(snap.frames).toBe(400);
    expect(snap.renders).toBeLessThanOrEqual(20 + 1);
    expect(await tileValue(dash.page, "price", "FAST")).toBe("400");
  });
});
