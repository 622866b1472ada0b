/**
 * The jobs page (public/jobs.html) in headless Chromium against a real `wrangler dev` with its
 * local Queues: a user starts the built-in `file.inspect` job from the page and watches it go
 * from queued to done (or failed, with the reason) as the results are pushed into their room,
 * and finds the same jobs again after a reload.
 */
import { sign } from "hono/jwt";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/webhook.ts";
import { browserSuite, openPage, saveScreenshot } from "./browser";

const JOIN_SECRET = generateSecret().slice("whsec_".length);
const WAIT = { timeout: 15_000 };
/** The queue consumer waits up to max_batch_timeout (1 s) for a batch, then runs the job. */
const JOB_WAIT = { timeout: 20_000 };

const suite = browserSuite({ JOIN_SECRET });

const newUser = () => `u${crypto.randomUUID().slice(0, 8)}`;
/** A join token as the user's backend would mint it (npm run token). */
const tokenFor = (user: string, room = `user-${user}`) =>
  sign({ sub: user, room, exp: Math.floor(Date.now() / 1000) + 600 }, JOIN_SECRET, "HS256");

/**
 * Opens the page by the address people are given. The page itself lives at /jobs/ (/jobs is
 * the Worker's API route), and the asset server redirects there with the query.
 */
async function openJobs(user: string, token: string, viewport?: { width: number; height: number }) {
  const url = `${suite.server.url}/jobs.html?${new URLSearchParams({ user, token })}`;
  const jobs = await openPage(suite.browser, url, viewport);
  suite.pages.push(jobs);
  const landed = new URL(jobs.page.url());
  expect([landed.pathname, landed.searchParams.get("user")]).toEqual(["/jobs/", user]);
  return jobs;
}

const online = (page: Page) => page.locator('#status[data-state="open"]').waitFor(WAIT);

/** Records every state each job's item goes through, however briefly it was shown. */
const recordStates = (page: Page) =>
  page.evaluate(() => {
    const seen = new Map<string, string>();
    const log: [string, string][] = [];
    (window as unknown as { __states: typeof log }).__states = log;
    const list = document.getElementById("jobs")!;
    const note = () => {
      for (const li of list.querySelectorAll<HTMLElement>(".job")) {
        const { job, state } = li.dataset;
        if (job !== undefined && state !== undefined && seen.get(job) !== state) {
          seen.set(job, state);
          log.push([job, state]);
        }
      }
    };
    new MutationObserver(note).observe(list, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ["data-state"],
    });
  });

const statesOf = (page: Page, job: string) =>
  page.evaluate(
    (id) =>
      (window as unknown as { __states: [string, string][] }).__states
        .filter(([j]) => j === id)
        .map(([, s]) => s),
    job,
  );

/** Starts a job for a path from the form; returns the id the server's 202 named. */
async function startJob(page: Page, path: string): Promise<string> {
  await page.fill("#path", path);
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/jobs", WAIT),
    page.click("#submit-job"),
  ]);
  expect(res.status()).toBe(202);
  return ((await res.json()) as { job: string }).job;
}

const item = (page: Page, job: string) => page.locator(`#jobs .job[data-job="${job}"]`);

/** The jobs as the page lists them, newest first. */
const listed = (page: Page) =>
  page.locator("#jobs .job").evaluateAll((lis) =>
    lis.map((li) => ({
      job: (li as HTMLElement).dataset.job,
      state: (li as HTMLElement).dataset.state,
      target: li.querySelector(".job-target")?.textContent,
      outcome: li.querySelector(".job-outcome")?.textContent,
    })),
  );

describe("the jobs page in Chromium", () => {
  it("starts a file.inspect job and shows it go from queued to done, with the file's size", async () => {
    const user = newUser();
    const { page } = await openJobs(user, await tokenFor(user), { width: 390, height: 844 });
    await online(page);
    expect(await page.isVisible("#no-jobs")).toBe(true);
    expect(await page.inputValue("#path")).toBe("/index.html");
    await recordStates(page);

    const job = await startJob(page, "/index.html");
    await item(page, job).and(page.locator('[data-state="done"]')).waitFor(JOB_WAIT);
    expect(await statesOf(page, job)).toEqual(["queued", "done"]);

    const file = await fetch(`${suite.server.url}/index.html`);
    const bytes = (await file.arrayBuffer()).byteLength;
    const shown = JSON.parse((await item(page, job).locator(".job-result").textContent())!);
    expect(shown).toEqual({ path: "/index.html", bytes, type: file.headers.get("content-type") });
    expect(await item(page, job).locator(".job-kind").textContent()).toBe("file.inspect");
    expect(await item(page, job).locator(".job-state").textContent()).toBe("done");
    expect(await page.isHidden("#no-jobs")).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
  });

  it("shows a job for a missing file as failed with the reason, and both jobs after a reload", async () => {
    const user = newUser();
    const { page } = await openJobs(user, await tokenFor(user), { width: 900, height: 640 });
    await online(page);
    await recordStates(page);

    const missing = await startJob(page, "/no-such-file.txt");
    await item(page, missing).and(page.locator('[data-state="failed"]')).waitFor(JOB_WAIT);
    expect(await statesOf(page, missing)).toEqual(["queued", "failed"]);
    expect(await item(page, missing).locator(".job-reason").textContent()).toBe(
      "no such file: /no-such-file.txt (after 1 try)",
    );
    const found = await startJob(page, "/style.css");
    await item(page, found).and(page.locator('[data-state="done"]')).waitFor(JOB_WAIT);

    const before = await listed(page);
    expect(before.map((j) => [j.job, j.state])).toEqual([
      [found, "done"],
      [missing, "failed"],
    ]);
    await page.reload();
    await online(page);
    await expect.poll(() => listed(page), WAIT).toEqual(before);

    await page.locator("#path").blur();
    await saveScreenshot(page, "jobs.png");
  });

  it("says so when the token is for another user or another user's room", async () => {
    const user = newUser();
    // A token for someone else never gets as far as the room.
    const other = await openJobs(user, await tokenFor("mallory"));
    await other.page.locator("#setup-error", { hasText: "for the user “mallory”" }).waitFor(WAIT);
    expect(other.sockets).toEqual([]);

    // The user's own token, but for another room: the room refuses it, and the page says why.
    const wrongRoom = await openJobs(user, await tokenFor(user, "user-mallory"));
    await wrongRoom.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await wrongRoom.page.textContent("#alert-text")).toMatch(/for a different room/);
    expect(await wrongRoom.page.isDisabled("#submit-job")).toBe(true);
  });
});
