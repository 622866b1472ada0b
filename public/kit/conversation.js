// @ts-check
/**
 * One conversation on a page: the room's group chat, the direct messages with one person, or a
 * desk conversation. A tab (its title and unread count) and a panel (an intro, then the
 * messages): stored frames in `seq` order, our own sends still pending after them, and notices
 * about the conversation itself. The list follows new messages only while the reader is at its
 * end, so scrolling back to read is never interrupted.
 */
import { button, el } from "./dom.js";

/** The scroll distance under which a list follows new messages. */
const STICK_PX = 80;

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

    this.tab = button("tab");
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
    const again = button("retry", "Retry");
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
