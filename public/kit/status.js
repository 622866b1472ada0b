// @ts-check
/**
 * The connection status in a page's top bar. The page holds an empty
 * `<span id="status" class="status" role="status" aria-live="polite">`; this keeps its text, its
 * `data-state` (the dot's colour) and the reason as its title in step with the client, and puts
 * a "Retry now" button (`#retry-now`) after it while the client waits to reconnect. It also
 * reconnects at once when the browser says the network is back: it knows before any backoff
 * timer does.
 */
import { byId, button } from "./dom.js";

/** @typedef {import("../rooms-client.js").RoomClient} RoomClient */

const STATUS_TEXT = {
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

/**
 * @param {RoomClient} client
 * @param {string} [openText] what "open" is called on this page
 */
export function bindStatus(client, openText = STATUS_TEXT.open) {
  const status = byId("status");
  status.dataset.state = "connecting";
  status.textContent = STATUS_TEXT.connecting;
  const retryNow = button("retry-now", "Retry now");
  retryNow.id = "retry-now";
  retryNow.hidden = true;
  status.after(retryNow);
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
