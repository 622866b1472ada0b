// @ts-check
/**
 * The chat page's own pieces of DOM, beside the kit's conversations and messages: the member
 * list's entries. Names go in through textContent, so a name that looks like markup stays text.
 */
import { button, el } from "./kit/dom.js";

/** @typedef {import("./rooms-client.js").Member} Member */

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
  const pickButton = button("member", member.name);
  pickButton.title = `Send ${member.name} a direct message`;
  if (current) pickButton.setAttribute("aria-current", "true");
  pickButton.addEventListener("click", pick);
  li.append(pickButton);
  if (unread > 0) li.append(el("span", "badge unread", String(unread)));
  return li;
}
