// @ts-check
/**
 * The chat page's entry point: the room and the name come from the URL (`/?room=lobby&name=Ann`,
 * or `?room=private-x&token=…` with a join token) or from the join form. Without a token the page
 * joins as a guest, and keeps the guest token the room hands out per name in this browser, so a
 * reload, a reconnect or a second tab is the same member. Then chat.js runs the room.
 */
import { startChat } from "./chat.js";
import { ROOM_NAME, cleanDisplayName as cleanName } from "./rooms-client.js";
import { byId, field, sayProblem } from "./kit/dom.js";
import { guestStore } from "./kit/storage.js";
import { DISPLAY_NAME_RULE, ROOM_NAME_RULE } from "./kit/words.js";

function showJoinForm(/** @type {URLSearchParams} */ params) {
  byId("join").hidden = false;
  const form = byId("join-form", HTMLFormElement);
  const roomInput = field(form, "room");
  const nameInput = field(form, "name");
  roomInput.value = params.get("room") ?? "lobby";
  nameInput.value = params.get("name") ?? "";
  (nameInput.value ? roomInput : nameInput).focus();
  const error = byId("join-error");
  /** Why the form cannot join yet, or null. */
  const problem = () =>
    !ROOM_NAME.test(roomInput.value.trim())
      ? ROOM_NAME_RULE
      : cleanName(nameInput.value) === null
        ? DISPLAY_NAME_RULE
        : null;
  // A link that named a room the server would refuse says so before anyone types.
  if (params.has("room") && !ROOM_NAME.test(roomInput.value.trim())) sayProblem(error, problem());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = problem();
    sayProblem(error, text);
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
