// @ts-check
/**
 * What the pages say to people: the rules for the names they type (checked before anything
 * connects, so a bad link is explained at once), and a sentence for each error code of a room
 * or a desk (docs/protocol.md lists them). `message` is always the server's own sentence,
 * quoted where it adds the detail.
 */
import { roomAdmitsGuests } from "../rooms-client.js";

/** For a name that fails the protocol's ROOM_NAME (desks follow the same rule). */
export const ROOM_NAME_RULE = "Room names are 1–99 letters, digits, “_”, “.” or “-” (no spaces).";
export const DISPLAY_NAME_RULE =
  "Names are 1–64 characters, without control or text-direction characters.";

/**
 * The sentence for a room's error code.
 * @param {string} code
 * @param {string} message
 * @param {string} room
 * @param {boolean} [invited] the page joined with a link's join token, not as a guest
 */
export function explain(code, message, room, invited = false) {
  switch (code) {
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
    default:
      return explainAny(code, message, "room");
  }
}

/**
 * The sentence for a desk's error code.
 * @param {string} code
 * @param {string} message
 */
export function explainDesk(code, message) {
  switch (code) {
    case "desk_full":
      // Only a first message gets it: the desk holds all the open conversations it may.
      return "Our support desk is full right now, so your message was not sent. Please try again in a few minutes.";
    case "unauthorized":
      return `The desk did not let you in. (${message})`;
    case "forbidden":
      return `The desk refused that: ${message}`;
    default:
      return explainAny(code, message, "desk");
  }
}

/**
 * Codes that read the same in a room and at a desk.
 * @param {string} code
 * @param {string} message
 * @param {"room" | "desk"} place
 */
function explainAny(code, message, place) {
  switch (code) {
    case "rate_limited":
      return "You are sending messages too fast, so some were not sent. Wait a moment and try again.";
    case "too_large":
      return "That message is too large to send. Please make it shorter.";
    case "invalid_room":
    case "invalid_name":
    case "invalid_role":
      return `The ${place} refused this join: ${message}`;
    case "too_many_connections":
      return `This ${place} is open in too many of your tabs or windows, so this one was disconnected. Reload it to use it here.`;
    case "invalid_user":
      // Only a page older than the server sends a user id: ids come from tokens now.
      return `This page is out of date: reload it. (${message})`;
    default:
      return `The ${place} could not handle that: ${message}`;
  }
}
