// @ts-check
/**
 * What the help desk's two pages (agent.js, the agent console; support.js, the customer widget)
 * share beyond chat-view.js: the connection status line, the alert bar, the words for the desk's
 * error codes and for how long a conversation was quiet, and turning a pending message into a
 * stored one when its `ack` comes before its echo. User text goes in through textContent only,
 * never as HTML.
 */

/** @typedef {import("./rooms-client.js").RoomClient} RoomClient */
/** @typedef {import("./rooms-client.js").AckFrame} AckFrame */
/** @typedef {import("./chat-view.js").Conversation} Conversation */

/** Desk names follow the room rule (docs/protocol.md, "Names"). */
export const DESK_NAME = /^[A-Za-z0-9_.-]{1,99}$/;

/** @param {string} id @returns {HTMLElement} */
export const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

// The status line is every page's (chat-view.js); the desk pages take it from here too.
export { bindStatus } from "./chat-view.js";

/**
 * The alert bar (`#alert`, `#alert-text`, `#alert-close`). Returns `show(text, kind, sticky)`;
 * a non-sticky alert goes away after 10 s.
 */
export function alertBar() {
  const box = byId("alert");
  const text = byId("alert-text");
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  byId("alert-close").addEventListener("click", () => (box.hidden = true));
  /** @param {string} message @param {"error" | "info" | "fatal"} [kind] @param {boolean} [sticky] */
  return (message, kind = "error", sticky = false) => {
    text.textContent = message;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(timer);
    if (!sticky) timer = setTimeout(() => (box.hidden = true), 10_000);
  };
}

/**
 * The sentence a person reads for a desk's error code; `message` is the desk's own sentence.
 * @param {string} code
 * @param {string} message
 */
export function explainDesk(code, message) {
  switch (code) {
    case "rate_limited":
      return "You are sending messages too fast, so some were not sent. Wait a moment and try again.";
    case "too_large":
      return "That message is too large to send. Please make it shorter.";
    case "desk_full":
      // Only a first message gets it: the desk holds all the open conversations it may.
      return "Our support desk is full right now, so your message was not sent. Please try again in a few minutes.";
    case "unauthorized":
      return `The desk did not let you in. (${message})`;
    case "forbidden":
      return `The desk refused that: ${message}`;
    case "invalid_room":
    case "invalid_name":
    case "invalid_role":
      return `The desk refused this join: ${message}`;
    case "too_many_connections":
      return "This desk is open in too many of your tabs or windows, so this one was disconnected. Reload it to use it here.";
    case "invalid_user":
      // Only a page older than the server sends a user id: ids come from tokens now.
      return `This page is out of date: reload it. (${message})`;
    default:
      return `The desk could not handle that: ${message}`;
  }
}

/**
 * An `ack` confirms a send even if its echo was lost: the pending item becomes the stored one.
 * When the echo was shown already, the pending copy just goes.
 * @param {Iterable<Conversation>} conversations
 * @param {AckFrame} ack
 * @param {Set<number>} shown the seqs on the page
 */
export function confirmAck(conversations, ack, shown) {
  for (const conv of conversations) {
    const li = conv.pending.get(ack.id);
    if (li === undefined) continue;
    if (shown.has(ack.seq)) {
      conv.settle(ack.id);
      continue;
    }
    conv.pending.delete(ack.id);
    li.classList.remove("pending");
    delete li.dataset.pendingId;
    li.dataset.seq = String(ack.seq);
    li.querySelector(".state")?.remove();
    shown.add(ack.seq);
  }
}

/**
 * How long a conversation was quiet, in words: "40 seconds", "3 minutes", "24 hours", "2 days".
 * @param {number} ms
 */
export function quietFor(ms) {
  const s = Math.max(1, Math.round(ms / 1000));
  /** @param {number} n @param {string} unit */
  const of = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (s < 90) return of(s, "second");
  if (s < 90 * 60) return of(Math.round(s / 60), "minute");
  if (s < 36 * 3600) return of(Math.round(s / 3600), "hour");
  return of(Math.round(s / 86400), "day");
}

/**
 * The text of a refused frame, so its Retry button can send it again.
 * @param {{ data: unknown }} frame
 */
export const sentText = (frame) =>
  typeof frame.data === "object" && frame.data !== null && "text" in frame.data
    ? String(frame.data.text)
    : "";
