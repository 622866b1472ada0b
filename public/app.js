// @ts-check
/**
 * The chat page's entry point: the room and the name come from the URL (`/?room=lobby&name=Ann`,
 * or `?room=private-x&token=…` with a join token) or from the join form, and the user id is kept
 * per name in this browser so a reload or a reconnect is the same member. Then chat.js runs the
 * room.
 */
import { startChat } from "./chat.js";
import { USER_ID } from "./rooms-client.js";

const ROOM_NAME = /^[A-Za-z0-9_.-]{1,99}$/;
const CONTROL_CHARS = /\p{Cc}/u;

/** @param {string} id @returns {HTMLElement} */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * A user id that stays the same for a name in this browser profile, so a reload or reconnect is
 * the same member and a re-sent frame is recognised (the room remembers ids per user).
 * @param {string} name
 */
function stableUserId(name) {
  const key = `edge-rooms:user:${name}`;
  const fresh = () => {
    const chars = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) =>
      (b % 36).toString(36),
    );
    return `u-${chars.join("")}`;
  };
  try {
    const known = localStorage.getItem(key);
    if (known !== null && USER_ID.test(known)) return known;
    const id = fresh();
    localStorage.setItem(key, id);
    return id;
  } catch {
    return fresh(); // storage disabled: this tab still gets one id for its whole life
  }
}

/** @param {string} raw @returns {string | null} the name, or null when the room would refuse it */
function cleanName(raw) {
  const name = raw.trim();
  return [...name].length >= 1 && [...name].length <= 64 && !CONTROL_CHARS.test(name) ? name : null;
}

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
        ? "Names are 1–64 characters."
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
    const user = params.get("user");
    if (user) next.set("user", user);
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
  const user = params.get("user") ?? "";
  startChat({ room, name, user: USER_ID.test(user) ? user : stableUserId(name) });
} else {
  showJoinForm(params);
}
