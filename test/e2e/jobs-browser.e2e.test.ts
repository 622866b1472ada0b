/**
 * The jobs page (pages/jobs/index.html, served at /jobs/) in headless Chromium against a real
 * `wrangler dev` with its local Queues: a user starts the built-in `file.inspect` job from the
 * page and watches it go from queued to done (or failed, with the reason) as the results are
 * pushed into their room, finds the same jobs again after a reload, and pages back to jobs older
 * than the replay.
 */
import { sign } from "hono/jwt";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { generateSecret, signWebhook } from "../../src/protocol/webhook.ts";
import { browserSuite, openPage, saveScreenshot } from "./browser";

const PUSH_SECRET = generateSecret();
const WAIT = { timeout: 15_000 };
/** The queue consumer waits up to max_batch_timeout (1 s) for a batch, then runs the job. */
const JOB_WAIT = { timeout: 20_000 };

const suite = browserSuite({ PUSH_SECRET });

const newUser = () => `u${crypto.randomUUID().slice(0, 8)}`;
/**
 * A room token as the user's backend would mint it (npm run token), for the user's personal
 * room unless told otherwise, signed with the server's JOIN_SECRET.
 */
const tokenFor = (user: string, room = `user-${user}`) =>
  sign(
    { sub: user, room, exp: Math.floor(Date.now() / 1000) + 600 },
    suite.server.joinSecret,
    "HS256",
  );

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
    note(); // the jobs already shown
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

/** One signed push of several events, as the user's backend sends it (`npm run push`). */
async function push(events: unknown[]) {
  const body = JSON.stringify({ events });
  const headers = await signWebhook(PUSH_SECRET, `t_${crypto.randomUUID()}`, body);
  const res = await fetch(`${suite.server.url}/push`, { method: "POST", headers, body });
  expect(res.status, await res.clone().text()).toBe(200);
}

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

  it("pages back to jobs older than the replay, showing each once at its newest stage", async () => {
    const user = newUser();
    const room = `user-${user}`;
    const JOBS = 60;
    const numbers = Array.from({ length: JOBS }, (_, i) => i + 1);
    const id = (n: number) => `job_${user}_${String(n).padStart(2, "0")}`;
    const path = (n: number) => `/file-${n}.txt`;
    const fails = (n: number) => n % 7 === 0;
    const kind = "file.inspect";
    // What src/worker/jobs/ pushes, seeded faster: every job queued in a burst (seqs 1-60), an event
    // for the user that is no job (61), one for somebody else that this user never sees (62),
    // then every outcome (63-122). The replay (the newest 50 the user may see) holds only the
    // outcomes of jobs 11-60; the first older page the outcomes of 1-10 and the queued events of
    // 22-60; the last the queued events of 1-21. Each job straddles a page boundary.
    await push([
      ...numbers.map((n) => ({ room, to: user, event: "job.queued", data: { job: id(n), kind } })),
      { room, to: user, event: "account.notice", data: { job: id(1), text: "not a job event" } },
      { room, to: "someone-else", event: "job.queued", data: { job: "job_not_yours", kind } },
    ]);
    const result = (n: number) => ({ path: path(n), bytes: n * 100, type: "text/plain" });
    await push(
      numbers.map((n) =>
        fails(n)
          ? {
              room,
              to: user,
              event: "job.failed",
              data: { job: id(n), kind, reason: `no such file: ${path(n)}`, attempts: 3 },
            }
          : { room, to: user, event: "job.done", data: { job: id(n), kind, result: result(n) } },
      ),
    );
    /** Each job as the page must show it in the end: newest first, at its last stage. */
    const final = (n: number) => ({
      job: id(n),
      state: fails(n) ? "failed" : "done",
      target: fails(n) ? "" : path(n),
      outcome: fails(n)
        ? `no such file: ${path(n)} (after 3 tries)`
        : JSON.stringify(result(n), null, 2),
    });
    const newestFirst = (from: number, to: number) =>
      numbers.filter((n) => n >= from && n <= to).reverse();

    const { page } = await openJobs(user, await tokenFor(user));
    await online(page);
    await expect.poll(async () => (await listed(page)).length, WAIT).toBe(JOBS - 10);
    await recordStates(page);
    expect(await listed(page)).toEqual(newestFirst(11, JOBS).map(final));
    const older = page.getByRole("button", { name: "Load older jobs" });
    expect(await older.isVisible()).toBe(true);
    expect(await page.textContent("#older-status")).toBe("");

    const said: string[] = [];
    for (let pages = 1; await older.isVisible(); pages++) {
      expect(pages, "pages of history before the start").toBeLessThanOrEqual(3);
      await older.click();
      // Busy while the page is on its way, then ready again (or gone, at the start).
      await page.locator('#load-older[aria-disabled="true"]').waitFor({ state: "detached" });
      said.push((await page.textContent("#older-status")) ?? "");
      const ids = (await listed(page)).map((j) => j.job);
      expect(new Set(ids).size, "no job listed twice").toBe(ids.length);
    }
    expect(said).toEqual([
      "Loaded 10 older jobs.",
      "This is the start of your room: there are no older jobs.",
    ]);

    // Every job once, newest first, at its newest stage: an older queued event never undid one.
    expect(await listed(page)).toEqual(newestFirst(1, JOBS).map(final));
    for (const n of numbers) expect(await statesOf(page, id(n))).toEqual([final(n).state]);
    // The start is reached: the control is gone, and the note that says so has the focus.
    expect(await page.isHidden("#load-older")).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("older-status");
  });

  it("says so when the token is for another user, another room or a desk, or the id is a guest's", async () => {
    const user = newUser();
    // A token for someone else never gets as far as the room.
    const other = await openJobs(user, await tokenFor("mallory"));
    await other.page.locator("#setup-error", { hasText: "for the user “mallory”" }).waitFor(WAIT);
    expect(other.sockets).toEqual([]);
    // Guest ids are the server's to hand out: no backend token has one, no jobs page either.
    const guest = await openJobs("guest-abcdefghijkl", await tokenFor(user));
    await guest.page
      .locator("#setup-error", { hasText: "does not start with “guest-”" })
      .waitFor(WAIT);
    expect(guest.sockets).toEqual([]);

    // The user's own token, but for another room: the room refuses it, and the page says why.
    const wrongRoom = await openJobs(user, await tokenFor(user, "user-mallory"));
    await wrongRoom.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await wrongRoom.page.textContent("#alert-text")).toMatch(/does not open your room/);
    expect(await wrongRoom.page.isDisabled("#submit-job")).toBe(true);

    // A desk token of the user never opens a room, the personal one included.
    const deskToken = await sign(
      { sub: user, desk: "*", exp: Math.floor(Date.now() / 1000) + 600 },
      suite.server.joinSecret,
      "HS256",
    );
    const desk = await openJobs(user, deskToken);
    await desk.page.locator('#status[data-state="closed"]').waitFor(WAIT);
    expect(await desk.page.textContent("#alert-text")).toMatch(/does not open your room/);
    expect(desk.sockets).toHaveLength(1); // refused for good: no retry
  });
});
