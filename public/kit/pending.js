// @ts-check
/**
 * Sending with pending and ack marks, the same on every page that writes: the composer, and a
 * message that shows at once as pending in its conversation, replaced by its stored echo, or
 * confirmed by its `ack` when the echo was lost; a refusal marks it "not sent" with a Retry
 * button. A send the client refuses at once (too large, client closed) is never shown: the
 * alert says why instead.
 */
import { RoomClientError } from "../rooms-client.js";
import { byId, el } from "./dom.js";
import { pendingItem } from "./messages.js";

/** @typedef {import("./conversation.js").Conversation} Conversation */
/** @typedef {import("../rooms-client.js").AckFrame} AckFrame */
/** @typedef {import("../rooms-client.js").ClientError} ClientError */

/**
 * Sends through `send`, which returns the frame's id, and shows `text` as pending in `conv`.
 * Returns whether it went.
 * @param {Conversation} conv
 * @param {{ name: string, text: string, send: () => string,
 *   refused: (err: RoomClientError) => void }} what `name`: ours, as the item shows it
 */
export function sendPending(conv, { name, text, send, refused }) {
  /** @type {string} */
  let id;
  try {
    id = send();
  } catch (err) {
    if (err instanceof RoomClientError) refused(err);
    return false;
  }
  conv.addPending(id, pendingItem(id, name, text));
  return true;
}

/**
 * The composer under a conversation. The page holds an empty
 * `<form id="composer" class="composer" autocomplete="off">`; this fills it with the text input
 * (`#text`) and the Send button (`#send`), and hands each submitted text to `onSend`'s callback.
 * Blank text is not sent; sent text is cleared, refused text stays for the writer to fix.
 * @param {{ label: string, placeholder?: string }} words the input's accessible name and hint
 */
export function composer({ label, placeholder = "" }) {
  const form = byId("composer", HTMLFormElement);
  const input = el("input");
  input.id = input.name = "text";
  input.setAttribute("aria-label", label);
  input.autocomplete = "off";
  input.enterKeyHint = "send";
  input.placeholder = placeholder;
  const sendButton = el("button", undefined, "Send");
  sendButton.id = "send";
  sendButton.type = "submit";
  form.replaceChildren(input, sendButton);
  return {
    input,
    sendButton,
    /** @param {(text: string) => boolean} send whether the text went */
    onSend(send) {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        if (input.value.trim() !== "" && send(input.value)) input.value = "";
      });
    },
  };
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
 * Marks the pending item an `error` frame refused as not sent, with a Retry button that sends
 * its text again through `retry`.
 * @param {Conversation | undefined} conv where it was sent
 * @param {ClientError} error
 * @param {(text: string) => void} retry
 */
export function failPending(conv, error, retry) {
  const data = error.frame?.data;
  const text = typeof data === "object" && data !== null && "text" in data ? String(data.text) : "";
  conv?.fail(error.id ?? "", failWord(error.code), () => retry(text));
}

/** Short words for a refused item. @param {string} code */
const failWord = (code) =>
  code === "rate_limited"
    ? "too fast"
    : code === "too_large"
      ? "too large"
      : code.replace(/_/g, " ");
