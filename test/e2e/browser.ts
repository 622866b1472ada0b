/**
 * Headless Chromium for the browser tests, through playwright-core. The browser comes from
 * `@sparticuz/chromium` (unpacked by `npm install`, no system package); CHROME_PATH points at
 * another one. Each chat page gets its own browser context — its own storage, so its own guest —
 * unless a test opens another tab of the same one, and records what a test must be able to
 * assert on: dialogs, page errors, console errors.
 */
import chromium from "@sparticuz/chromium";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { startServer, type DevServer } from "./server";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  chromium as playwright,
  type Browser,
  type BrowserContext,
  type Page,
} from "playwright-core";

/**
 * Flags of the Lambda-oriented default set that would make these tests less like a user's
 * browser: no same-origin policy, mixed content allowed, and everything in one process.
 */
const UNWANTED_FLAGS = new Set([
  "--disable-web-security",
  "--allow-running-insecure-content",
  "--single-process",
]);

/**
 * Saves a screenshot to test-results/screenshots on every run; with UPDATE_SCREENSHOTS=1 to
 * docs/screenshots instead, refreshing the ones the README shows. A plain run leaves git clean.
 */
export async function saveScreenshot(page: Page, name: string, fullPage = false): Promise<void> {
  const root = resolve(import.meta.dirname, "../..");
  const dir = join(
    root,
    process.env.UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : "test-results/screenshots",
  );
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, name), fullPage });
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROME_PATH || (await chromium.executablePath());
  return playwright.launch({
    executablePath,
    args: chromium.args.filter((a) => !UNWANTED_FLAGS.has(a)),
  });
}

export interface ChatPage {
  page: Page;
  context: BrowserContext;
  /** Messages of every alert/confirm/prompt the page opened (they are dismissed). */
  dialogs: string[];
  /** Uncaught exceptions and console errors, minus the expected noise of a lost connection. */
  errors: string[];
  /** Every request URL the page made. */
  requests: string[];
  /** Every WebSocket URL the page opened. */
  sockets: string[];
  close(): Promise<void>;
}

/** Console lines a page prints when the server is away: expected in the reconnect tests. */
const CONNECTION_NOISE =
  /WebSocket connection to|Failed to load resource|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED/;

/**
 * Opens `url` in a new browser context. `prepare` runs before the page loads: a test that must
 * come between the page and the server (`page.routeWebSocket`) sets that up there.
 */
export async function openPage(
  browser: Browser,
  url: string,
  viewport = { width: 1100, height: 720 },
  prepare?: (page: Page) => Promise<void>,
): Promise<ChatPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await prepare?.(page);
  return watch(context, page, url, () => context.close());
}

/**
 * Another tab of the same browser profile as `of`: same storage, so the same stored guest.
 * Closing it closes only the tab.
 */
export async function openTab(of: ChatPage, url: string): Promise<ChatPage> {
  const page = await of.context.newPage();
  return watch(of.context, page, url, () => page.close());
}

async function watch(
  context: BrowserContext,
  page: Page,
  url: string,
  close: () => Promise<void>,
): Promise<ChatPage> {
  const chat: ChatPage = {
    page,
    context,
    dialogs: [],
    errors: [],
    requests: [],
    sockets: [],
    close,
  };
  page.on("dialog", (d) => {
    chat.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => chat.errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !CONNECTION_NOISE.test(m.text()))
      chat.errors.push(`console: ${m.text()}`);
  });
  page.on("request", (r) => chat.requests.push(r.url()));
  page.on("websocket", (ws) => chat.sockets.push(ws.url()));
  page.setDefaultTimeout(15_000);
  await page.goto(url);
  return chat;
}

/** What a browser test file shares: its `wrangler dev`, its Chromium, the pages a test opened. */
export interface BrowserSuite {
  server: DevServer;
  browser: Browser;
  /** Pages opened by the running test; closed after it, and none may have logged an error. */
  pages: ChatPage[];
}

/**
 * Registers the hooks every browser test file needs: a server (with `vars`) and a browser for
 * the file, and after each test its pages closed and checked for page errors (a thrown
 * exception, a console error, a CSP refusal). Call at the top of the file.
 */
export function browserSuite(vars: Record<string, string>): BrowserSuite {
  const suite = { pages: [] as ChatPage[] } as BrowserSuite;
  beforeAll(async () => {
    [suite.server, suite.browser] = await Promise.all([startServer({ vars }), launchBrowser()]);
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  afterEach(async () => {
    const opened = suite.pages;
    suite.pages = [];
    await Promise.all(opened.map((p) => p.close()));
    expect(opened.flatMap((p) => p.errors)).toEqual([]);
  });
  return suite;
}
