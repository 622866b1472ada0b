// @ts-check
/**
 * The chat page's entry point: the room and the name come from the URL (`/?room=lobby&name=Ann`,
 * or `?room=private-x&token=…` with a join token) or from the join form. Without a token the page
 * joins as a guest, and keeps the guest token the room hands out per name in this browser, so a
 * reload, a reconnect or a second tab is the same member. Then chat.js runs the room.
 */
import { startChat } from "./chat.js";
import { guestStore } from "./guest-store.js";
import { cleanDisplayName as cleanName } from "./rooms-client.js";

const ROOM_NAME = /^[A-Za-z0-9_.-]{1,99}$/;

/** @param {string} id @returns {HTMLElement} */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

function showJoinForm(/** @type {URLSearchParams} */ params) {
  byId("join").hidden = false;
  const form = /** @type {HTMLFormElement} */ (byId("join-form"));
  const roomInput = /** @type {HTMLInputElement} */ (form.elements.namedItem("room"));
  const nameInput = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
  roomInput.value = params.get("room") ?? "lobby";
  nameInput.value = params.get("name") ?? "";
  (nameInput.value ? roomInput : nameInput).focus();
  const error = byId("join-error");
  /** Why the form cannot join yet, or null. */
  const problem = () =>
    !ROOM_NAME.test(roomInput.value.trim())
      ? "Room names are 1–99 letters, digits, “_”, “.” or “-” (no spaces)."
      : cleanName(nameInput.value) === null
        ? "Names are 1–64 characters, without control or text-direction characters."
        : null;
  /** @param {string | null} text */
  const showProblem = (text) => {
    error.hidden = text === null;
    error.textContent = text ?? "";
  };
  // A link that named a room the server would refuse says so before anyone types.
  if (params.has("room") && !ROOM_NAME.test(roomInput.value.trim())) showProblem(problem());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = problem();
    showProblem(text);
    if (text !== null) return;
    const next = new URLSearchParams({
      room: roomInput.value.trim(),
      name: /** @type {string} */ (cleanName(nameInput.value)),
    });
    location.search = next.toString();
  });
}

// ---- start ----
const params = new URLSearchParams(location.search);
const room = params.get("room")?.trim() ?? "";
const token = params.get("token") ?? undefined;
const name = cleanName(params.get("name") ?? "");
if (ROOM_NAME.test(room) && token) {
  startChat({ room, token });
} else if (ROOM_NAME.test(room) && name !== null) {
  startChat({ room, name, guest: guestStore(name) });
} else {
  showJoinForm(params);
}
