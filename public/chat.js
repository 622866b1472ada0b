// @ts-check
/**
 * One room on the page: wires a RoomClient to the DOM — the group chat, direct messages (单聊)
 * in tabs of their own, the member list from presence, the connection status, paging back
 * through history, and errors in plain words. Each stored frame is shown once, by `seq`,
 * whichever way it arrives (live, replayed after a reconnect, or from a history page).
 * The pieces every page shares are the kit's (kit/); this file decides what to show when.
 */
import { RoomClient, roomAdmitsGuests } from "./rooms-client.js";
import { alertBar } from "./kit/alert.js";
import { Conversation } from "./kit/conversation.js";
import { button, byId, el } from "./kit/dom.js";
import { historyPager } from "./kit/history.js";
import { messageItem } from "./kit/messages.js";
import { composer, confirmAck, failPending, sendPending } from "./kit/pending.js";
import { bindStatus } from "./kit/status.js";
import { explain } from "./kit/words.js";
import { memberItem } from "./chat-view.js";

/** @typedef {import("./rooms-client.js").Member} Member */
/** @typedef {import("./rooms-client.js").StoredFrame} StoredFrame */

const HISTORY_PAGE = 50;
const ROOM_KEY = "room";

/**
 * Joins with `token` (an invite link's join token) when there is one; otherwise as a guest named
 * `name`, the same guest as before when `guest` holds its token.
 * @param {{ room: string, name?: string, token?: string,
 *   guest?: import("./kit/storage.js").GuestStore }} who
 */
export function startChat(who) {
  const { room } = who;
  const invited = who.token !== undefined;
  byId("chat").hidden = false;
  byId("room-name").textContent = room;
  byId("me-name").textContent = who.name ?? "…";
  document.title = `#${room} · edge-rooms`;
  byId("leave", HTMLAnchorElement).href = who.name
    ? `/?${new URLSearchParams({ name: who.name })}`
    : "/";

  // A room that admits no guests would only refuse the guest token (forbidden); joining
  // without one gets the clearer answer: an invite link is needed.
  const guest = roomAdmitsGuests(room) ? who.guest : undefined;
  const client = new RoomClient({
    url: location.origin,
    room,
    ...(who.token !== undefined
      ? { token: who.token }
      : { name: who.name, guestToken: guest?.get(), onGuestToken: guest?.set }),
  });

  const alert = alertBar();
  const tabs = byId("tabs");
  const panes = byId("conversations");
  const memberList = byId("member-list");
  const compose = composer({ label: "Message" });
  const { input } = compose;
  const membersToggle = byId("members-toggle");
  const membersPanel = byId("members");

  /** @type {Member | null} */
  let self = null;
  /** @type {Map<string, Member>} */
  let members = new Map();
  /**
   * Names of people we have direct messages with, also after they left.
   * @type {Map<string, string>}
   */
  const knownNames = new Map();
  /**
   * Every seq on the page: each stored frame is shown once, however it arrives.
   * @type {Set<number>}
   */
  const shown = new Set();
  /** @type {Map<string, Conversation>} */
  const conversations = new Map();
  let active = ROOM_KEY;

  // ---- conversations ----
  const roomConv = new Conversation({
    key: ROOM_KEY,
    kind: "room",
    title: `# ${room}`,
    intro: `Group chat of #${room}: everyone in the room sees these messages.`,
  });
  const olderButton = button("load-older", "Load older messages");
  olderButton.hidden = true;
  const startNote = el("p", "start", `This is the beginning of #${room}.`);
  startNote.hidden = true;
  roomConv.head.append(olderButton, startNote);
  addConversation(roomConv);
  activate(ROOM_KEY);

  /** @param {Conversation} conv */
  function addConversation(conv) {
    conversations.set(conv.key, conv);
    tabs.append(conv.tab);
    panes.append(conv.panel);
    conv.setActive(false);
    conv.tab.addEventListener("click", () => activate(conv.key));
  }

  /** @param {string} key */
  function activate(key) {
    active = key;
    for (const conv of conversations.values()) conv.setActive(conv.key === key);
    const peer = key === ROOM_KEY ? null : key.slice("dm:".length);
    input.placeholder = peer === null ? `Message #${room}` : `Message ${nameOf(peer)} directly`;
    renderMembers();
  }

  /** @param {string} id */
  const nameOf = (id) => members.get(id)?.name ?? knownNames.get(id) ?? id;

  /** The direct-message conversation with one person, created on first use. @param {string} peer */
  function dmWith(peer) {
    const key = `dm:${peer}`;
    let conv = conversations.get(key);
    if (conv === undefined) {
      conv = new Conversation({
        key,
        kind: "dm",
        title: `@ ${nameOf(peer)}`,
        intro: `Direct messages with ${nameOf(peer)}: only the two of you see these.`,
      });
      addConversation(conv);
    }
    return conv;
  }

  /** Where a stored frame belongs. @param {StoredFrame} frame */
  function conversationOf(frame) {
    if (frame.type !== "direct") return roomConv;
    const peer = frame.from.id === self?.id ? frame.to : frame.from.id;
    if (frame.from.id !== self?.id) knownNames.set(peer, frame.from.name);
    return dmWith(peer);
  }

  /**
   * Shows a stored frame once (by seq), in its conversation, replacing our pending copy.
   * @param {StoredFrame} frame
   * @param {boolean} live false for history pages: they neither count as unread nor scroll
   */
  function showStored(frame, live) {
    if (frame.seq === undefined) {
      roomConv.list.append(messageItem(frame, self?.id)); // a live-only event: shown where it lands
      return;
    }
    if (shown.has(frame.seq)) return;
    shown.add(frame.seq);
    const conv = conversationOf(frame);
    if (frame.type !== "event" && frame.id !== undefined) conv.settle(frame.id);
    conv.insert(messageItem(frame, self?.id), frame.seq);
    const mine = frame.type !== "event" && frame.from.id === self?.id;
    if (live && !mine && conv.key !== active) {
      conv.markUnread();
      renderMembers();
    }
  }

  // ---- members ----
  function renderMembers() {
    const list = [...members.values()].sort((a, b) =>
      a.id === self?.id ? -1 : b.id === self?.id ? 1 : a.name.localeCompare(b.name),
    );
    // A big room (above its PRESENCE_MAX) sends counts, not names: the count is all there is.
    const listed = client.membersListed;
    byId("member-count").textContent = String(listed ? list.length : client.count);
    if (!listed) {
      const note = `${client.count} people are here: too many to list, so joins and leaves are not shown.`;
      memberList.replaceChildren(el("li", "too-many", note));
    } else
      memberList.replaceChildren(
        ...list.map((m) =>
          memberItem(m, {
            self: m.id === self?.id,
            current: active === `dm:${m.id}`,
            unread: conversations.get(`dm:${m.id}`)?.unread ?? 0,
            pick: () => {
              activate(dmWith(m.id).key);
              setDrawer(false);
              input.focus();
            },
          }),
        ),
      );
    for (const conv of conversations.values()) {
      if (conv.kind !== "dm") continue;
      const peer = conv.key.slice("dm:".length);
      conv.setTitle(`@ ${nameOf(peer)}${!listed || members.has(peer) ? "" : " (away)"}`);
    }
  }

  /** @param {boolean} open */
  function setDrawer(open) {
    membersPanel.classList.toggle("open", open);
    membersToggle.setAttribute("aria-expanded", String(open));
  }
  membersToggle.addEventListener("click", () =>
    setDrawer(!membersPanel.classList.contains("open")),
  );

  // ---- sending ----
  /** @param {string} text @param {string} key */
  const sendTo = (text, key) =>
    sendPending(conversations.get(key) ?? roomConv, {
      name: self?.name ?? who.name ?? "me",
      text,
      send: () =>
        key === ROOM_KEY
          ? client.send({ text })
          : client.sendDirect(key.slice("dm:".length), { text }),
      refused: (err) => alert.show(explain(err.code, err.message, room, invited)),
    });
  compose.onSend((text) => sendTo(text, active));

  // ---- older messages ----
  const pager = historyPager(client, {
    pageSize: HISTORY_PAGE,
    older: (frames) =>
      roomConv.keepScroll(() => {
        for (const frame of frames) showStored(frame, false);
      }),
    // The control as paging stands: gone at the room's start, busy while a page is on its way.
    changed: () => {
      olderButton.hidden = pager.complete;
      startNote.hidden = !pager.complete;
      olderButton.disabled = pager.loading;
      olderButton.textContent = pager.loading ? "Loading…" : "Load older messages";
    },
  });
  olderButton.addEventListener("click", () => pager.more());

  // ---- the client's events ----
  bindStatus(client);
  client.on("state", (s) => {
    if (s.state === "open") alert.clear("offline");
    if (s.state === "reconnecting" && s.previous === "open") {
      alert.show(
        "Connection lost. Reconnecting; messages you send meanwhile are kept and sent when it is back.",
        "offline",
        true,
      );
    }
  });
  client.on("welcome", (w) => {
    self = w.self;
    byId("me-name").textContent = w.self.name;
  });
  client.on("members", (list) => {
    members = new Map(list.map((m) => [m.id, m]));
    for (const m of list) knownNames.set(m.id, m.name);
    renderMembers();
  });
  client.on("presence", (p) => {
    if (p.action !== "count" && p.member.id !== self?.id)
      roomConv.notice(`${p.member.name} ${p.action === "join" ? "joined" : "left"}`);
  });
  client.on("message", (m) => showStored(m, true));
  client.on("direct", (m) => showStored(m, true));
  client.on("event", (m) => showStored(m, true));
  // The echo normally came first; if it was lost, the ack alone still confirms the send.
  client.on("ack", (a) => confirmAck(conversations.values(), a, shown));
  client.on("gap", (g) => {
    roomConv.notice(
      g.reason === "reset"
        ? "The room's history was reset on the server; older messages are gone."
        : "Some messages from while you were away are no longer kept and could not be shown.",
    );
  });
  client.on("error", (e) => {
    alert.show(explain(e.code, e.message, room, invited));
    if (e.frame === undefined) return;
    const key = e.frame.type === "direct" ? `dm:${e.frame.to}` : ROOM_KEY;
    failPending(conversations.get(key), e, (text) => sendTo(text, key));
  });
  client.on("closed", (c) => {
    if (c.error === undefined) return;
    alert.show(explain(c.error, c.reason, room, invited), "fatal", true);
    input.disabled = compose.sendButton.disabled = true;
    olderButton.hidden = true;
    input.placeholder = "You are not in this room";
  });

  client.connect();
}
