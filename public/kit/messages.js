// @ts-check
/**
 * How a stored frame looks on a page: a list item with its sender, its time and its text, keyed
 * by `data-seq` (a page shows each seq once). Every piece of user text — names, messages, event
 * data — goes in through textContent, so a message that looks like markup stays text.
 */
import { el } from "./dom.js";

/** @typedef {import("../rooms-client.js").StoredFrame} StoredFrame */

/**
 * What a message says: `{text}` as the pages send it, a bare string, or any other JSON shown as
 * JSON (other clients may send anything).
 * @param {unknown} data
 */
export function textOf(data) {
  if (typeof data === "string") return data;
  if (
    typeof data === "object" &&
    data !== null &&
    "text" in data &&
    typeof data.text === "string"
  ) {
    return data.text;
  }
  return JSON.stringify(data) ?? "";
}

/** Today's messages show the time only; older ones the day too. @param {number} ts */
function timeElement(ts) {
  const when = new Date(ts);
  const today = new Date().toDateString() === when.toDateString();
  const t = el(
    "time",
    "time",
    today
      ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : when.toLocaleString([], {
          month: "short",
          day: "numeric",
          hour: "2-digit",
          minute: "2-digit",
        }),
  );
  t.dateTime = when.toISOString();
  t.title = when.toLocaleString();
  return t;
}

/**
 * One stored frame as a list item.
 * @param {StoredFrame} frame
 * @param {string | undefined} selfId marks our own messages
 */
export function messageItem(frame, selfId) {
  const li = el("li", "msg");
  // A live-only event (no seq) is not part of the room's order: it gets no place in it either.
  if (frame.seq !== undefined) li.dataset.seq = String(frame.seq);
  if (frame.type === "event") {
    li.classList.add("event");
    const meta = el("div", "meta");
    meta.append(el("span", "sender", `⚡ ${frame.event}`));
    if (frame.to !== null) meta.append(el("span", "to", "to you"));
    meta.append(timeElement(frame.ts));
    li.append(meta, el("p", "text", JSON.stringify(frame.data) ?? "null"));
    return li;
  }
  if (frame.id !== undefined) li.dataset.id = frame.id;
  li.dataset.from = frame.from.id;
  if (frame.from.id === selfId) li.classList.add("mine");
  const meta = el("div", "meta");
  meta.append(el("span", "sender", frame.from.name), timeElement(frame.ts));
  li.append(meta, el("p", "text", textOf(frame.data)));
  return li;
}

/**
 * A message typed here that the room has not confirmed yet: shown at once, greyed, and replaced
 * by the stored frame when its echo (or ack) arrives.
 * @param {string} id
 * @param {string} name
 * @param {string} text
 */
export function pendingItem(id, name, text) {
  const li = el("li", "msg mine pending");
  li.dataset.pendingId = id;
  const meta = el("div", "meta");
  meta.append(el("span", "sender", name), el("span", "state", "sending…"));
  li.append(meta, el("p", "text", text));
  return li;
}
