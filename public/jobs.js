// @ts-check
/**
 * The jobs page: `/jobs.html?user=u1&token=<join token>` (pages/jobs/index.html, served at
 * `/jobs/`, because `/jobs` is the Worker's API route; `/jobs.html` redirects there). It joins
 * the user's personal room (`user-<id>`) with the token — a backend's room token for that room
 * (or `*`) whose `sub` is the user; no guest gets in there — starts `file.inspect` jobs with
 * `POST /jobs` (the same token as `Authorization: Bearer`), and shows each job go from queued to
 * done or failed as the room's targeted events arrive (src/worker/jobs/: `job.queued`, `job.done`,
 * `job.failed`). They are stored events, so the room replays its newest ones on join: a reload
 * shows the recent jobs again, and "Load older jobs" pages back through the room's history for
 * the rest, until its start. How events that arrive out of order are merged (a job only moves
 * forward, each job is listed once, by its oldest event) is jobs-model.js, and the sign-in (which
 * user and token) is jobs-setup.js; this file draws the page. Every value from the server is
 * shown through textContent, the result as formatted JSON.
 */
import { PERSONAL_ROOM_PREFIX, RoomClient, isObject } from "./rooms-client.js";
import { alertBar } from "./kit/alert.js";
import { byId, el } from "./kit/dom.js";
import { historyPager } from "./kit/history.js";
import { bindStatus } from "./kit/status.js";
import { storedItem } from "./kit/storage.js";
import { explain } from "./kit/words.js";
import { JobBook, parseJobEvent } from "./jobs-model.js";
import { check, showSetup } from "./jobs-setup.js";

/** @typedef {import("./rooms-client.js").StoredFrame} StoredFrame */
/** @typedef {import("./jobs-model.js").JobUpdate} JobUpdate */
/**
 * @typedef {object} JobView
 * @property {HTMLLIElement} li
 * @property {HTMLElement} kind
 * @property {HTMLElement} target
 * @property {HTMLElement} state
 * @property {HTMLTimeElement} time
 * @property {HTMLElement} outcome
 */

const KIND = "file.inspect";
const DEFAULT_PATH = "/index.html";
const HISTORY_PAGE = 50;
const STAGE_TEXT = { queued: "queued", done: "done", failed: "failed" };

/**
 * Job targets this browser remembers per user: enough for the jobs a replay shows (older pages
 * fall back to the path a `done` result names).
 */
const TARGETS_KEPT = 100;

/**
 * What this browser asked each job to inspect, kept across reloads: the job events do not
 * repeat a job's input, and a failed job's reason need not name its file.
 * @param {string} user
 */
function rememberedTargets(user) {
  const item = storedItem(`job-targets:${user}`);
  /** @type {Map<string, string>} */
  const targets = new Map();
  try {
    const raw = /** @type {unknown} */ (JSON.parse(item.get() ?? "[]"));
    if (Array.isArray(raw))
      for (const entry of raw)
        if (Array.isArray(entry) && typeof entry[0] === "string" && typeof entry[1] === "string")
          targets.set(entry[0], entry[1]);
  } catch {
    // Garbled: this page still remembers what it submits itself.
  }
  return Object.assign(targets, {
    // Without storage, only the path of an older job is not shown after a reload.
    save: () => item.set(JSON.stringify([...targets].slice(-TARGETS_KEPT))),
  });
}

/** @param {{ user: string, token: string }} who */
function startJobs({ user, token }) {
  // Job results go to the user's personal room, which only that user's own token opens.
  const room = `${PERSONAL_ROOM_PREFIX}${user}`;
  byId("jobs-page").hidden = false;
  byId("user-name").textContent = user;
  byId("room-name").textContent = room;
  document.title = `Jobs of ${user} · edge-rooms`;
  const alert = alertBar();
  /** Stays until dismissed: the job's fate or the token's refusal. @param {string} text */
  const showAlert = (text) => alert.show(text, "error", true);
  const list = byId("jobs");
  const noJobs = byId("no-jobs");
  const form = byId("job-form", HTMLFormElement);
  const pathInput = byId("path", HTMLInputElement);
  const submit = byId("submit-job", HTMLButtonElement);

  const olderButton = byId("load-older", HTMLButtonElement);
  const olderStatus = byId("older-status");

  const book = new JobBook();
  /** @type {Map<string, JobView>} */
  const views = new Map();
  const targets = rememberedTargets(user);

  /** @param {string} id */
  function newView(id) {
    const li = el("li", "job");
    li.dataset.job = id;
    const head = el("div", "job-head");
    const kind = el("span", "job-kind");
    const target = el("span", "job-target");
    const state = el("span", "job-state");
    head.append(kind, target, state);
    const meta = el("div", "job-meta");
    const time = el("time");
    meta.append(el("span", "job-id", id), time);
    const outcome = el("div", "job-outcome");
    li.append(head, meta, outcome);
    noJobs.hidden = true;
    /** @type {JobView} */
    const view = { li, kind, target, state, time, outcome };
    views.set(id, view);
    return view;
  }

  /**
   * Puts a job's item where the book lists it: newest first, by the oldest of its events.
   * @param {JobView} view
   * @param {string} id
   */
  function place(view, id) {
    const next = book.nextOlder(id);
    list.insertBefore(view.li, next === null ? null : (views.get(next)?.li ?? null));
  }

  /**
   * Shows the stage, time and outcome of the update a job has got furthest with.
   * @param {JobView} view
   * @param {JobUpdate} u
   */
  function showStage(view, u) {
    view.li.dataset.state = u.stage;
    view.state.textContent = STAGE_TEXT[u.stage];
    const when = new Date(u.ts);
    view.time.dateTime = when.toISOString();
    view.time.textContent = `${STAGE_TEXT[u.stage]} at ${when.toLocaleTimeString()}`;
    if (u.stage === "done") {
      view.outcome.replaceChildren(el("pre", "job-result", JSON.stringify(u.result, null, 2)));
    } else if (u.stage === "failed") {
      const tries =
        u.attempts === undefined
          ? ""
          : ` (after ${u.attempts} ${u.attempts === 1 ? "try" : "tries"})`;
      view.outcome.replaceChildren(el("p", "job-reason", `${u.reason ?? "failed"}${tries}`));
    }
  }

  /**
   * Merges one update, whenever it arrives (live, replayed, from an older page, the 202 answer).
   * @param {JobUpdate} u
   * @returns {boolean} whether the job is new to the page
   */
  function apply(u) {
    const { job, created, restaged, moved } = book.apply(u);
    const view = created ? newView(job.id) : /** @type {JobView} */ (views.get(job.id));
    if (created || moved) place(view, job.id);
    if (job.kind !== undefined) view.kind.textContent = job.kind;
    const result = u.result;
    const target =
      targets.get(u.job) ??
      (isObject(result) && typeof result.path === "string" ? result.path : undefined);
    if (target !== undefined) view.target.textContent = target;
    if (restaged) showStage(view, job.shown);
    return created;
  }

  /**
   * A stored frame of the room: its job events are shown.
   * @param {StoredFrame} frame
   * @returns {boolean} whether it added a job to the page
   */
  function take(frame) {
    if (frame.type !== "event") return false;
    const update = parseJobEvent(frame);
    return update !== null && apply(update);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const path = pathInput.value.trim() || DEFAULT_PATH;
    submit.disabled = true;
    try {
      const res = await fetch("/jobs", {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ user, kind: KIND, input: { path } }),
      });
      const body = /** @type {unknown} */ (await res.json().catch(() => null));
      if (res.status === 202 && isObject(body) && typeof body.job === "string") {
        targets.set(body.job, path);
        targets.save();
        apply({ job: body.job, stage: "queued", kind: KIND, ts: Date.now() });
      } else {
        const why = isObject(body) && typeof body.message === "string" ? body.message : "";
        showAlert(`The job was not accepted (HTTP ${res.status}). ${why}`);
      }
    } catch {
      showAlert("Could not reach the server to start the job. Check the connection and try again.");
    } finally {
      submit.disabled = false;
    }
  });

  const client = new RoomClient({ url: location.origin, room, token });
  bindStatus(client);
  client.on("event", take);
  client.on("message", take);
  client.on("direct", take);

  // ---- older jobs ----
  /** @param {string} text said politely to screen readers, and shown under the list */
  function sayPaging(text) {
    olderStatus.textContent = text;
  }
  const pager = historyPager(client, {
    pageSize: HISTORY_PAGE,
    older: (frames) => {
      let added = 0;
      for (const frame of frames) if (take(frame)) added++;
      const hadFocus = document.activeElement === olderButton;
      showPaging();
      const loaded = added === 0 ? [] : [`Loaded ${added} older ${added === 1 ? "job" : "jobs"}.`];
      if (pager.complete) {
        sayPaging(
          [...loaded, "This is the start of your room: there are no older jobs."].join(" "),
        );
        if (hadFocus) olderStatus.focus(); // the button is gone: keep keyboard users nearby
      } else {
        sayPaging(loaded[0] ?? "No jobs in that part of the history. There is more to load.");
      }
    },
    changed: (why) => {
      showPaging();
      if (why === "asked") sayPaging("Loading older jobs…");
      if (why === "interrupted") sayPaging("");
    },
  });
  /** The control as it should be: hidden once the start is reached, "busy" while loading. */
  function showPaging() {
    olderButton.hidden = pager.complete;
    if (pager.loading) olderButton.setAttribute("aria-disabled", "true");
    else olderButton.removeAttribute("aria-disabled");
    olderButton.textContent = pager.loading ? "Loading…" : "Load older jobs";
  }
  olderButton.addEventListener("click", () => pager.more());

  client.on("closed", (c) => {
    if (c.error === undefined) return;
    // The page always joins with the user's token: a refusal is about that token.
    showAlert(
      c.error === "forbidden"
        ? `This token does not open your room “${room}”: ${c.reason}`
        : c.error === "unauthorized"
          ? `The room did not accept this token: ${c.reason}`
          : explain(c.error, c.reason, room, true),
    );
    submit.disabled = true;
    olderButton.hidden = true;
  });
  client.connect();
}

// ---- start ----
const params = new URLSearchParams(location.search);
const problem = check(params);
if (problem === undefined) {
  startJobs({
    user: /** @type {string} */ (params.get("user")),
    token: /** @type {string} */ (params.get("token")),
  });
} else {
  showSetup(params, params.size > 0 ? problem : undefined);
}
