// @ts-check
/**
 * The live dashboard: `/dashboard.html?room=farm-1` (optionally `&count=alarm`, the event to
 * count per label instead of plotting, and `&token=…` for a private room). A RoomClient
 * subscribes to the room; every pushed `event` goes into the model (dashboard-model.js), and
 * the charts (dashboard-charts.js) redraw at most once per animation frame, only for what
 * changed — so a feed of 20 events a second, or a history page of 100, costs one redraw.
 * On join the room replays its newest 50 frames; the page then pages back through `history`
 * so a late page draws every series as far back as the room keeps (or the charts hold).
 * Live-only events (`store: false`, no `seq`) are drawn like any other, and never replayed.
 */
import { MAX_HISTORY_PAGE, ROOM_NAME, RoomClient } from "./rooms-client.js";
import { alertBar } from "./kit/alert.js";
import { byId, field, sayProblem } from "./kit/dom.js";
import { historyPager } from "./kit/history.js";
import { bindStatus } from "./kit/status.js";
import { ROOM_NAME_RULE, explain } from "./kit/words.js";
import { DashboardModel } from "./dashboard-model.js";
import { CountPanel, FieldPanel, PALETTE } from "./dashboard-charts.js";

/** @typedef {import("./rooms-client.js").EventFrame} EventFrame */
/** @typedef {import("./rooms-client.js").StoredFrame} StoredFrame */

const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
const DEFAULT_COUNT_EVENT = "alarm";
/** Frames fetched on join at most: HISTORY_LIMIT's default, all a room keeps. */
const HISTORY_FILL = 1000;

/** @param {{ room: string, countEvent: string, token?: string }} options */
function startDashboard({ room, countEvent, token }) {
  byId("board").hidden = false;
  byId("room-name").textContent = room;
  document.title = `#${room} · live · edge-rooms`;
  const alert = alertBar();
  /** Stays until dismissed: a chart's gap or a refusal is still true later. @param {string} text */
  const showAlert = (text) => alert.show(text, "error", true);
  const empty = byId("empty");
  const panelsBox = byId("panels");
  const rate = byId("rate");

  const model = new DashboardModel({ countEvent });
  /** @type {Map<string, FieldPanel>} */
  const panels = new Map();
  /** @type {CountPanel | null} */
  let countPanel = null;
  /** @type {Map<string, string>} */
  const colors = new Map();
  /** @param {string} source */
  const colorOf = (source) => {
    let color = colors.get(source);
    if (color === undefined)
      colors.set(source, (color = PALETTE[colors.size % PALETTE.length] ?? "#888"));
    return color;
  };
  /** Frames received, redraws done: what batching saves, readable from the console. */
  const stats = { frames: 0, live: 0, renders: 0, lastRenderMs: 0, maxRenderMs: 0 };

  // ---- drawing, once per animation frame ----
  let drawScheduled = false;
  function scheduleDraw() {
    if (drawScheduled) return;
    drawScheduled = true;
    // A hidden tab gets no frames: the model keeps (a capped amount of) data meanwhile, and the
    // first frame after the tab is shown draws it all at once.
    requestAnimationFrame(draw);
  }
  function draw() {
    drawScheduled = false;
    const started = performance.now();
    const dirty = model.takeDirty();
    for (const field of dirty.fields) {
      const bySource = model.fields.get(field);
      if (bySource === undefined) continue;
      let panel = panels.get(field);
      if (panel === undefined) panels.set(field, (panel = new FieldPanel(field, panelsBox)));
      panel.draw([...bySource.values()], colorOf);
    }
    if (dirty.counts) {
      countPanel ??= new CountPanel(countEvent, panelsBox);
      countPanel.draw([...model.counts.values()], model.countKinds, {
        labelField: model.countLabelField,
        kindField: model.countKindField,
      });
    }
    empty.hidden = panels.size > 0 || countPanel !== null;
    stats.renders++;
    stats.lastRenderMs = performance.now() - started;
    stats.maxRenderMs = Math.max(stats.maxRenderMs, stats.lastRenderMs);
  }

  /** @param {StoredFrame} frame */
  function take(frame) {
    if (frame.type !== "event") return; // chat messages in the room are not data
    stats.frames++;
    if (model.add(frame)) scheduleDraw();
  }

  // ---- the rate in the top bar: live events only, not replay or history ----
  /**
   * The room's newest seq when it last welcomed us: frames up to it are replayed (or fetched
   * after a reconnect), not live.
   */
  let welcomedAt = 0;
  let liveBefore = 0;
  setInterval(() => {
    const perSecond = stats.live - liveBefore;
    liveBefore = stats.live;
    rate.textContent = stats.live === 0 ? "" : `${perSecond} events/s`;
  }, 1000);

  const client = new RoomClient({
    url: location.origin,
    room,
    // A dashboard only watches: in a public room it is a guest, a new one per page (nobody
    // needs to find it again, so its guest token is not kept); a private room needs `token`.
    ...(token === undefined ? { name: "dashboard" } : { token }),
  });

  // ---- filling the charts from history on join ----
  /**
   * Pages back from the oldest frame held, until the room's start or HISTORY_FILL frames; only
   * frames older than everything held so far come back, so a repeated answer adds nothing twice.
   */
  let fetched = 0;
  const pager = historyPager(client, {
    pageSize: MAX_HISTORY_PAGE,
    older: (frames, page) => {
      for (const frame of frames) take(frame);
      fetched += page.messages.length;
    },
    // After a reconnect, the welcome asks again for a page that was lost with the connection.
    changed: (why) => {
      if ((why === "welcome" || why === "answered") && fetched < HISTORY_FILL) pager.more();
    },
  });

  // ---- the client's events ----
  bindStatus(client, "Live");
  client.on("welcome", (w) => {
    welcomedAt = w.seq;
  });
  /** @param {StoredFrame} frame */
  const arrived = (frame) => {
    if (frame.seq === undefined || frame.seq > welcomedAt) stats.live++;
    take(frame);
  };
  client.on("event", arrived);
  client.on("message", arrived);
  client.on("gap", () => {
    showAlert(
      "Some data from while this page was offline is no longer kept: the charts have a gap.",
    );
  });
  client.on("error", (e) => showAlert(explain(e.code, e.message, room, token !== undefined)));
  client.on("closed", (c) => {
    if (c.error !== undefined) showAlert(explain(c.error, c.reason, room, token !== undefined));
  });

  // For tests and the console: what the charts hold (read back from ECharts, not the model).
  Object.assign(window, {
    __dashboard: {
      snapshot: () => ({
        fields: Object.fromEntries([...panels].map(([field, p]) => [field, p.read()])),
        counts: countPanel?.read() ?? {},
        events: model.events,
        ...stats,
      }),
    },
  });

  client.connect();
}

function showPicker(/** @type {URLSearchParams} */ params) {
  byId("pick").hidden = false;
  const form = byId("pick-form", HTMLFormElement);
  const input = field(form, "room");
  input.value = params.get("room") ?? "farm-1";
  input.focus();
  const check = () => {
    const bad = !ROOM_NAME.test(input.value.trim());
    sayProblem(byId("pick-error"), bad ? ROOM_NAME_RULE : null);
    return !bad;
  };
  if (params.has("room")) check();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!check()) return;
    const next = new URLSearchParams(params);
    next.set("room", input.value.trim());
    location.search = next.toString();
  });
}

// ---- start ----
const params = new URLSearchParams(location.search);
const room = params.get("room")?.trim() ?? "";
const count = params.get("count")?.trim() || DEFAULT_COUNT_EVENT;
if (ROOM_NAME.test(room)) {
  startDashboard({
    room,
    countEvent: EVENT_NAME.test(count) ? count : DEFAULT_COUNT_EVENT,
    ...(params.get("token") ? { token: /** @type {string} */ (params.get("token")) } : {}),
  });
} else {
  showPicker(params);
}
