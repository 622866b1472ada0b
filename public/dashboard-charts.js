// @ts-check
/**
 * The dashboard's drawing: a panel per numeric field — a line chart with one series per source,
 * and the latest value of each source large above it — and a panel for the counted events, a bar
 * per label stacked by kind. Only ECharts and the DOM here; what to draw comes from
 * dashboard-model.js. Names from the data (fields, sources, labels) go in through textContent or
 * as chart data, never as HTML: the charts draw text on a canvas, tooltips included
 * (`renderMode: "richText"`), so they also need no inline styles the page's CSP would refuse.
 */
// A static asset copied from node_modules by wrangler's [build] step (scripts/vendor.mjs), so
// TypeScript cannot resolve it; the part used here is typed by EChartsApi below.
// @ts-ignore
import * as echartsModule from "/vendor/echarts.esm.min.mjs";
import { el } from "./kit/dom.js";

/** @typedef {import("./dashboard-model.js").Series} Series */
/** @typedef {import("./dashboard-model.js").Count} Count */
/**
 * @typedef {object} EChart the part of an ECharts instance this page uses
 * @property {(option: object) => void} setOption
 * @property {() => any} getOption
 * @property {() => void} resize
 * @typedef {{ init: (el: HTMLElement, theme?: string | null) => EChart }} EChartsApi
 */

const echarts = /** @type {EChartsApi} */ (echartsModule);

/** Series colours, by source in order of first appearance; the same source keeps its colour in
 * every chart. Readable on the light and the dark background. */
export const PALETTE = [
  "#2f6fed",
  "#12b886",
  "#f08c00",
  "#d6336c",
  "#7950f2",
  "#15aabf",
  "#82c91e",
  "#e8590c",
];
/** Kinds of the counted event (alarm kinds): warm colours, apart from the series'. */
export const KIND_PALETTE = ["#e03131", "#f08c00", "#fab005", "#c2255c", "#9c36b5", "#868e96"];

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
/** @param {number} n */
export const formatNumber = (n) => number.format(n);

/** The page's own colours (style.css), so the charts follow light and dark mode. */
function ink() {
  const css = getComputedStyle(document.documentElement);
  /** @param {string} name @param {string} fallback */
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return { text: v("--ink", "#1d2330"), muted: v("--muted", "#667085"), line: v("--line", "#ddd") };
}

/** What every chart shares: no animation (live data moves on its own), canvas tooltips. */
function baseOption() {
  const c = ink();
  return {
    animation: false,
    backgroundColor: "transparent",
    textStyle: { color: c.text, fontFamily: "system-ui, sans-serif" },
    grid: { left: 8, right: 12, top: 34, bottom: 10 },
    legend: {
      top: 0,
      type: "scroll",
      textStyle: { color: c.muted },
      pageTextStyle: { color: c.muted },
    },
    tooltip: { trigger: "axis", renderMode: "richText", confine: true },
  };
}

/** @param {HTMLElement} box @param {object} option */
function makeChart(box, option) {
  const chart = echarts.init(box);
  chart.setOption(option);
  // A panel changes size with the window and the grid's columns, not only on window resize.
  new ResizeObserver(() => chart.resize()).observe(box);
  return chart;
}

/** One numeric field: the latest value per source, large, over a live line chart. */
export class FieldPanel {
  /** @type {Map<string, { li: HTMLLIElement, value: HTMLElement, delta: HTMLElement }>} */
  #tiles = new Map();

  /** @param {string} field @param {HTMLElement} parent */
  constructor(field, parent) {
    this.field = field;
    this.section = el("section", "panel");
    this.section.dataset.field = field;
    const head = el("header", "panel-head");
    head.append(el("h2", "panel-title", field));
    this.latest = el("ul", "latest");
    this.latest.setAttribute("aria-label", `Latest ${field}`);
    const box = el("div", "chart");
    this.section.append(head, this.latest, box);
    parent.append(this.section); // a chart needs its size, so it is placed before init
    const c = ink();
    this.chart = makeChart(box, {
      ...baseOption(),
      legend: { show: false }, // the latest-value tiles above carry each series' colour
      grid: { left: 8, right: 12, top: 12, bottom: 10 },
      xAxis: {
        type: "time",
        axisLabel: { color: c.muted, hideOverlap: true },
        axisLine: { lineStyle: { color: c.line } },
        splitLine: { show: false },
      },
      yAxis: {
        type: "value",
        scale: true, // prices near 120 should not be drawn from 0
        axisLabel: { color: c.muted },
        splitLine: { lineStyle: { color: c.line } },
      },
      series: [],
    });
  }

  /**
   * Redraws the chart and the latest values from the field's series (merged by id: a new
   * source adds a series, the others get their new points).
   * @param {Series[]} series
   * @param {(source: string) => string} colorOf
   */
  draw(series, colorOf) {
    this.chart.setOption({
      series: series.map((s) => {
        const color = colorOf(s.source);
        return {
          id: s.source,
          name: s.source,
          type: "line",
          showSymbol: false,
          itemStyle: { color },
          lineStyle: { color, width: 2 },
          data: s.points.slice(), // a copy: the model keeps appending to its own array
        };
      }),
    });
    for (const s of series) this.#showLatest(s, colorOf(s.source));
  }

  /** @param {Series} s @param {string} color */
  #showLatest(s, color) {
    const last = s.points[s.points.length - 1];
    if (last === undefined) return;
    let tile = this.#tiles.get(s.source);
    if (tile === undefined) {
      const li = el("li", "tile");
      li.dataset.source = s.source;
      li.style.setProperty("--series", color);
      const value = el("strong", "tile-value");
      const delta = el("span", "tile-delta");
      li.append(el("span", "tile-source", s.source), value, delta);
      this.latest.append(li);
      this.#tiles.set(s.source, (tile = { li, value, delta }));
    }
    const prev = s.points[s.points.length - 2];
    const change = prev === undefined ? 0 : last[1] - prev[1];
    tile.li.dataset.value = String(last[1]);
    tile.li.dataset.points = String(s.points.length);
    tile.li.dataset.trend = change > 0 ? "up" : change < 0 ? "down" : "flat";
    tile.li.title = `${s.source}: ${formatNumber(last[1])} at ${new Date(last[0]).toLocaleTimeString()}`;
    tile.value.textContent = formatNumber(last[1]);
    tile.delta.textContent =
      change > 0 ? `▲ ${formatNumber(change)}` : change < 0 ? `▼ ${formatNumber(-change)}` : "";
  }

  /** What the chart itself holds, per series: for tests and the console. */
  read() {
    /** @type {Record<string, { points: number, last: number | null }>} */
    const out = {};
    for (const s of this.chart.getOption().series ?? []) {
      const data = /** @type {[number, number][]} */ (s.data ?? []);
      out[s.name] = { points: data.length, last: data[data.length - 1]?.[1] ?? null };
    }
    return out;
  }
}

/** The counted events (alarms): how many per label (sensor), a bar stacked by kind. */
export class CountPanel {
  /** @param {string} eventName @param {HTMLElement} parent */
  constructor(eventName, parent) {
    this.eventName = eventName;
    this.section = el("section", "panel counts");
    this.section.dataset.count = eventName;
    const head = el("header", "panel-head");
    this.title = el("h2", "panel-title", `${eventName} events`);
    this.total = el("span", "panel-note");
    head.append(this.title, this.total);
    const box = el("div", "chart");
    this.section.append(head, box);
    parent.append(this.section);
    const c = ink();
    this.chart = makeChart(box, {
      ...baseOption(),
      xAxis: {
        type: "category",
        data: [],
        axisLabel: { color: c.muted, interval: 0, hideOverlap: true },
        axisLine: { lineStyle: { color: c.line } },
      },
      yAxis: {
        type: "value",
        minInterval: 1, // counts are whole numbers
        axisLabel: { color: c.muted },
        splitLine: { lineStyle: { color: c.line } },
      },
      series: [],
    });
  }

  /**
   * @param {Count[]} counts
   * @param {string[]} kinds
   * @param {{ labelField: string, kindField: string }} names
   */
  draw(counts, kinds, { labelField, kindField }) {
    const total = counts.reduce((sum, c) => sum + c.total, 0);
    this.title.textContent = `${this.eventName} events` + (labelField ? ` per ${labelField}` : "");
    this.total.textContent =
      `${formatNumber(total)} in all` + (kindField ? `, by ${kindField}` : "");
    this.section.dataset.total = String(total);
    this.chart.setOption({
      xAxis: { data: counts.map((c) => c.label) },
      series: kinds.map((kind, i) => ({
        id: kind,
        name: kind,
        type: "bar",
        stack: "all",
        barMaxWidth: 48,
        itemStyle: { color: KIND_PALETTE[i % KIND_PALETTE.length] },
        data: counts.map((c) => c.kinds.get(kind) ?? 0),
      })),
    });
  }

  /** Totals per label as the chart holds them: for tests and the console. */
  read() {
    const option = this.chart.getOption();
    const labels = /** @type {string[]} */ (option.xAxis?.[0]?.data ?? []);
    /** @type {Record<string, number>} */
    const out = {};
    labels.forEach((label, i) => {
      out[label] = 0;
      for (const s of option.series ?? []) out[label] += Number(s.data?.[i] ?? 0);
    });
    return out;
  }
}
