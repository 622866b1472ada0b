// @ts-check
/**
 * The alert bar under a page's top bar: one sentence at a time, dismissable. The page holds an
 * empty `<div id="alert" class="alert" role="alert" hidden>`; this fills it with the text
 * (`#alert-text`) and its close button (`#alert-close`). Its `data-kind` picks the colours:
 * errors red, `info` and `offline` (the connection is away, messages wait) yellow.
 */
import { byId, button, el } from "./dom.js";

/** @typedef {"error" | "info" | "offline" | "fatal"} AlertKind */

/** An alert that is not sticky goes after this long: long enough to read a sentence twice. */
const ALERT_MS = 10_000;

export function alertBar() {
  const box = byId("alert");
  const text = el("span");
  text.id = "alert-text";
  const close = button("", "×");
  close.id = "alert-close";
  close.setAttribute("aria-label", "Dismiss");
  box.replaceChildren(text, close);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const hide = () => {
    clearTimeout(timer);
    box.hidden = true;
  };
  close.addEventListener("click", hide);
  return {
    /**
     * @param {string} message set as text
     * @param {AlertKind} [kind]
     * @param {boolean} [sticky] stays until dismissed or replaced
     */
    show(message, kind = "error", sticky = false) {
      text.textContent = message;
      box.dataset.kind = kind;
      box.hidden = false;
      clearTimeout(timer);
      if (!sticky) timer = setTimeout(hide, ALERT_MS);
    },
    /** Hides the alert if it is of this kind: its cause is over. @param {AlertKind} kind */
    clear(kind) {
      if (box.dataset.kind === kind) hide();
    },
  };
}

/** @typedef {ReturnType<typeof alertBar>} AlertBar */
