// @ts-check
/**
 * The chat page's DOM: message items, conversations (the room and one per direct-message
 * partner) and small helpers. Every piece of user text — names, messages, event data — goes in
 * through `textContent` or an attribute, never through HTML (STYLE.md convention 12), so a
 * message that looks like markup stays text. No protocol knowledge beyond the frame shapes.
 */

import { roomAdmitsGuests } from "./rooms-client.js";

/** @typedef {import("./rooms-client.js").StoredFrame} StoredFrame */
/** @typedef {import("./rooms-client.js").Member} Member */

/**
 * Creates an element; `text` is set with textContent, never parsed.
 * @template {keyof HTMLElementTagNameMap} T
 * @param {T} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[T]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * What a message says: `{text}` as the page sends it, a bare string, or any other JSON shown as
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

/** @param {number} ts */
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
 * One stored frame as a list item, keyed by `data-seq` (the page shows each seq once).
 * @param {StoredFrame} frame
 * @param {string | undefined} selfId
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

/** The scroll distance under which a list follows new messages. */
const STICK_PX = 80;

/** One conversation: the room's group chat, or the direct messages with one person. */
export class Conversation {
  /**
   * @param {{ key: string, kind: "room" | "dm", title: string, intro: string }} spec
   */
  constructor({ key, kind, title, intro }) {
    this.key = key;
    this.kind = kind;
    this.unread = 0;
    /** @type {Map<string, HTMLLIElement>} */
    this.pending = new Map();

    this.tab = el("button", "tab");
    this.tab.type = "button";
    this.tab.setAttribute("role", "tab");
    this.tab.dataset.conv = key;
    this.tabTitle = el("span", "tab-title", title);
    this.badge = el("span", "badge unread");
    this.badge.hidden = true;
    this.tab.append(this.tabTitle, this.badge);

    this.panel = el("section", "conversation");
    this.panel.setAttribute("role", "tabpanel");
    this.panel.dataset.conv = key;
    this.head = el("div", "conv-head");
    this.head.append(el("p", "intro", intro));
    this.list = el("ol", "messages");
    this.panel.append(this.head, this.list);
  }

  /** @param {string} title */
  setTitle(title) {
    this.tabTitle.textContent = title;
  }

  /** @param {boolean} active */
  setActive(active) {
    this.tab.setAttribute("aria-selected", String(active));
    this.panel.hidden = !active;
    if (active) {
      this.unread = 0;
      this.#showUnread();
      this.scrollToEnd();
    }
  }

  markUnread() {
    this.unread++;
    this.#showUnread();
  }

  #showUnread() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = String(this.unread);
  }

  get nearEnd() {
    const p = this.panel;
    return p.scrollHeight - p.scrollTop - p.clientHeight < STICK_PX;
  }

  scrollToEnd() {
    this.panel.scrollTop = this.panel.scrollHeight;
  }

  /**
   * Places a stored frame's item by seq: after older ones, before newer ones and before the
   * pending items (which always stay last). Notices have no seq and are stepped over.
   * @param {HTMLLIElement} li
   * @param {number} seq
   */
  insert(li, seq) {
    const follow = this.nearEnd;
    /** @type {Element | null} */
    let before = null;
    for (let node = this.list.lastElementChild; node !== null; node = node.previousElementSibling) {
      if (node instanceof HTMLElement && node.dataset.pendingId !== undefined) before = node;
      else if (node instanceof HTMLElement && node.dataset.seq !== undefined) {
        if (Number(node.dataset.seq) < seq) break;
        before = node;
      }
    }
    this.list.insertBefore(li, before);
    if (follow) this.scrollToEnd();
  }

  /**
   * Older frames go on top without moving what the reader is looking at.
   * @param {() => void} insertAll
   */
  keepScroll(insertAll) {
    const fromBottom = this.panel.scrollHeight - this.panel.scrollTop;
    insertAll();
    this.panel.scrollTop = this.panel.scrollHeight - fromBottom;
  }

  /** @param {string} id @param {HTMLLIElement} li */
  addPending(id, li) {
    this.pending.set(id, li);
    this.list.append(li);
    this.scrollToEnd();
  }

  /** Removes a pending item once its stored frame is shown. @param {string} id */
  settle(id) {
    this.pending.get(id)?.remove();
    this.pending.delete(id);
  }

  /**
   * Marks a pending item as refused, with a retry button.
   * @param {string} id
   * @param {string} reason
   * @param {() => void} retry
   */
  fail(id, reason, retry) {
    const li = this.pending.get(id);
    if (li === undefined) return;
    this.pending.delete(id);
    li.classList.replace("pending", "failed");
    delete li.dataset.pendingId;
    li.dataset.failedId = id;
    const state = li.querySelector(".state");
    if (state) state.textContent = `not sent: ${reason}`;
    const again = el("button", "retry", "Retry");
    again.type = "button";
    again.addEventListener("click", () => {
      li.remove();
      retry();
    });
    li.append(again);
  }

  /**
   * A line about the room itself (joins, leaves, gaps); not part of the room's order.
   * @param {string} text
   */
  notice(text) {
    const follow = this.nearEnd;
    this.list.append(el("li", "notice", text));
    if (follow) this.scrollToEnd();
  }
}

/**
 * One entry of the member list: yourself as plain text, anyone else as a button that opens
 * the direct conversation with them.
 * @param {Member} member
 * @param {{ self: boolean, current: boolean, unread: number, pick: () => void }} state
 */
export function memberItem(member, { self, current, unread, pick }) {
  const li = el("li");
  li.dataset.user = member.id;
  if (self) {
    li.append(el("span", "member self", member.name), el("span", "you", "you"));
    return li;
  }
  const button = el("button", "member", member.name);
  button.type = "button";
  button.title = `Send ${member.name} a direct message`;
  if (current) button.setAttribute("aria-current", "true");
  button.addEventListener("click", pick);
  li.append(button);
  if (unread > 0) li.append(el("span", "badge unread", String(unread)));
  return li;
}

/**
 * The sentence a person reads for an error code of the room (docs/protocol.md).
 * @param {string} code
 * @param {string} message the room's own sentence
 * @param {string} room
 * @param {boolean} [invited] the page joined with a link's join token, not as a guest
 */
export function explain(code, message, room, invited = false) {
  switch (code) {
    case "rate_limited":
      return "You are sending messages too fast, so some were not sent. Wait a moment and try again.";
    case "too_large":
      return "That message is too large to send. Please make it shorter.";
    case "unauthorized":
      return invited
        ? `Your invite link was not accepted. (${message})`
        : !roomAdmitsGuests(room)
          ? `“${room}” is a private room: you need an invite link with a valid join token. (${message})`
          : `The room did not let you in as a guest. (${message})`;
    case "forbidden":
      return invited
        ? `Your invite link is for a different room, not “${room}”. (${message})`
        : `Guests may not enter “${room}”. (${message})`;
    case "invalid_room":
    case "invalid_name":
      return `The room refused this join: ${message}`;
    case "too_many_connections":
      return "This room is open in too many of your tabs or windows, so this one was disconnected. Reload it to use it here.";
    case "invalid_user":
      // Only a page older than the server sends a user id: ids come from tokens now.
      return `This page is out of date: reload it. (${message})`;
    default:
      return `The room could not handle that: ${message}`;
  }
}

/** Short words for a failed message item. @param {string} code */
export const failWord = (code) =>
  code === "rate_limited"
    ? "too fast"
    : code === "too_large"
      ? "too large"
      : code.replace(/_/g, " ");

const STATUS_TEXT = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

/**
 * Keeps `#status` (text, `data-state`, reason as its title) and `#retry-now` in step with the
 * client, and reconnects at once when the browser says the network is back (it knows before any
 * backoff timer does). Every page has these two elements.
 * @param {import("./rooms-client.js").RoomClient} client
 * @param {string} [openText] what "open" is called on this page
 */
export function bindStatus(client, openText = STATUS_TEXT.open) {
  const status = /** @type {HTMLElement} */ (document.getElementById("status"));
  const retryNow = /** @type {HTMLElement} */ (document.getElementById("retry-now"));
  client.on("state", (s) => {
    status.dataset.state = s.state;
    status.textContent =
      s.state === "reconnecting" && s.attempt > 1
        ? `Reconnecting… (try ${s.attempt})`
        : s.state === "open"
          ? openText
          : STATUS_TEXT[s.state];
    status.title = s.reason ?? "";
    retryNow.hidden = s.state !== "reconnecting";
  });
  retryNow.addEventListener("click", () => client.reconnectNow());
  window.addEventListener("online", () => client.reconnectNow());
}
