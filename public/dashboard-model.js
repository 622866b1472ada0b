// @ts-check
/**
 * The dashboard's data, apart from any drawing: pushed `event` frames in, series and counts out.
 * Every finite number in an event's `data` is a point of the series named after that field (one
 * chart per field: temperature, humidity, price, …), from the source named by the data's first
 * string field (`sensor`, `symbol`, …; the event's name when it has none), at the frame's `ts`.
 * Events of the counted kind (`?count=alarm`) are categorical instead: they are counted per label
 * (their first string field) and kind (their second), not plotted — an alarm's `value` would mix
 * units in one chart. Each series keeps its newest `maxPoints` points, so memory and redraw
 * cost stay flat however long the page stays open. No DOM, no ECharts: it runs anywhere.
 */

/** @typedef {import("./rooms-client.js").EventFrame} EventFrame */
/** @typedef {[ts: number, value: number]} Point */
/**
 * @typedef {object} Series
 * @property {string} source
 * @property {Point[]} points oldest first, at most `maxPoints`
 */
/**
 * @typedef {object} Count
 * @property {string} label e.g. the sensor
 * @property {Map<string, number>} kinds e.g. alarm kind → how many
 * @property {number} total
 */

/** Points kept per series: enough for five minutes of a 1 Hz feed, cheap to redraw at 60 fps. */
export const MAX_POINTS = 300;

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isRecord = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

export class DashboardModel {
  /**
   * field → source → series, each in order of first appearance (the page's order too).
   * @type {Map<string, Map<string, Series>>}
   */
  fields = new Map();
  /**
   * label → counts of the counted event, in order of first appearance.
   * @type {Map<string, Count>}
   */
  counts = new Map();
  /** The counted events' label field (`sensor`) and kind field (`alarm`), once seen. */
  countLabelField = "";
  countKindField = "";
  /** Events taken in (plotted or counted). */
  events = 0;
  /** Fields changed since the last `takeDirty()`. @type {Set<string>} */
  #dirtyFields = new Set();
  #countsDirty = false;
  #maxPoints;

  /** @param {{ countEvent: string, maxPoints?: number }} options */
  constructor({ countEvent, maxPoints = MAX_POINTS }) {
    this.countEvent = countEvent;
    this.#maxPoints = maxPoints;
  }

  /**
   * Takes one event frame (live, replayed or from history, in any order).
   * @param {EventFrame} frame
   * @returns {boolean} whether it changed anything
   */
  add(frame) {
    const data = frame.data;
    if (!isRecord(data)) return false;
    const strings = Object.entries(data).filter(
      /** @returns {e is [string, string]} */ (e) => typeof e[1] === "string",
    );
    if (frame.event === this.countEvent) return this.#count(strings);
    const ts = typeof frame.ts === "number" && Number.isFinite(frame.ts) ? frame.ts : Date.now();
    const source = strings[0]?.[1] ?? frame.event;
    let changed = false;
    for (const [field, value] of Object.entries(data)) {
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      let bySource = this.fields.get(field);
      if (bySource === undefined) this.fields.set(field, (bySource = new Map()));
      let series = bySource.get(source);
      if (series === undefined) bySource.set(source, (series = { source, points: [] }));
      if (insertPoint(series.points, [ts, value], this.#maxPoints)) {
        this.#dirtyFields.add(field);
        changed = true;
      }
    }
    if (changed) this.events++;
    return changed;
  }

  /** @param {[string, string][]} strings the event's string fields, in order */
  #count(strings) {
    const label = strings[0];
    if (label === undefined) return false; // nothing to count it under
    this.countLabelField ||= label[0];
    const kind = strings[1]?.[1] ?? this.countEvent;
    if (strings[1] !== undefined) this.countKindField ||= strings[1][0];
    let count = this.counts.get(label[1]);
    if (count === undefined)
      this.counts.set(label[1], (count = { label: label[1], kinds: new Map(), total: 0 }));
    count.kinds.set(kind, (count.kinds.get(kind) ?? 0) + 1);
    count.total++;
    this.#countsDirty = true;
    this.events++;
    return true;
  }

  /** Every source of every field, in order of first appearance (for stable colours). */
  get sources() {
    const all = new Set();
    for (const bySource of this.fields.values()) for (const s of bySource.keys()) all.add(s);
    return /** @type {string[]} */ ([...all]);
  }

  /** Every kind of the counted event, in order of first appearance. */
  get countKinds() {
    const all = new Set();
    for (const c of this.counts.values()) for (const k of c.kinds.keys()) all.add(k);
    return /** @type {string[]} */ ([...all]);
  }

  /**
   * What changed since the last call: the page redraws only that, once per animation frame.
   * @returns {{ fields: string[], counts: boolean }}
   */
  takeDirty() {
    const dirty = { fields: [...this.#dirtyFields], counts: this.#countsDirty };
    this.#dirtyFields.clear();
    this.#countsDirty = false;
    return dirty;
  }
}

/**
 * Puts a point in time order (live points go at the end; history pages land before them) and
 * drops the oldest beyond `max`.
 * @param {Point[]} points
 * @param {Point} point
 * @param {number} max
 * @returns {boolean} false when the point is older than everything a full series keeps
 */
export function insertPoint(points, point, max) {
  const last = points[points.length - 1];
  if (last === undefined || point[0] >= last[0]) points.push(point);
  else {
    // After equal times, so points of one instant keep their arrival order.
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (/** @type {Point} */ (points[mid])[0] <= point[0]) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0 && points.length >= max) return false;
    points.splice(lo, 0, point);
  }
  if (points.length > max) points.splice(0, points.length - max);
  return true;
}
