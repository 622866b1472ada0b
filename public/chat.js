// @ts-check
/**
 * One room on the page: wires a RoomClient to the DOM — the group chat, direct messages (单聊)
 * in tabs of their own, the member list from presence, the connection status, paging back
 * through history, and errors in plain words. Each stored frame is shown once, by `seq`,
 * whichever way it arrives (live, replayed after a reconnect, or from a history page).
 * Rendering lives in chat-view.js; this file decides what to show when.
 */
import { RoomClient, RoomClientError, roomAdmitsGuests } from "./rooms-client.js";
import {
  Conversation,
  bindStatus,
  el,
  explain,
  failWord,
  memberItem,
  messageItem,
  pendingItem,
} from "./chat-view.js";
import { HistoryPaging } from "./history-paging.js";

/** @typedef {import("./rooms-client.js").Member} Member */
/** @typedef {import("./rooms-client.js").StoredFrame} StoredFrame */

const HISTORY_PAGE = 50;
const ROOM_KEY = "room";

/** @param {string} id @returns {HTMLElement} */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Joins with `token` (an invite link's join token) when there is one; otherwise as a guest named
 * `name`, the same guest as before when `guest` holds its token.
 * @param {{ room: string, name?: string, token?: string,
 *   guest?: import("./guest-store.js").GuestStore }} who
 */
export function startChat(who) {
  const { room } = who;
  const invited = who.token !== undefined;
  byId("chat").hidden = false;
  byId("room-name").textContent = room;
  byId("me-name").textContent = who.name ?? "…";
  document.title = `#${room} · edge-rooms`;
  /** @type {HTMLAnchorElement} */ (byId("leave")).href = who.name
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

  const alertBox = byId("alert");
  const alertText = byId("alert-text");
  const tabs = byId("tabs");
  const panes = byId("conversations");
  const memberList = byId("member-list");
  const composer = /** @type {HTMLFormElement} */ (byId("composer"));
  const input = /** @type {HTMLInputElement} */ (byId("text"));
  const sendButton = /** @type {HTMLButtonElement} */ (byId("send"));
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
  let firstWelcome = true;
  /** "Load older messages": where it goes on from, and whether the room's start is reached. */
  const paging = new HistoryPaging(HISTORY_PAGE);

  // ---- alerts ----
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let alertTimer;
  /** @param {string} text @param {"error" | "info"} [kind] @param {boolean} [sticky] */
  function showAlert(text, kind = "error", sticky = false) {
    alertText.textContent = text;
    alertBox.dataset.kind = kind;
    alertBox.hidden = false;
    clearTimeout(alertTimer);
    if (!sticky) alertTimer = setTimeout(() => (alertBox.hidden = true), 10_000);
  }
  byId("alert-close").addEventListener("click", () => (alertBox.hidden = true));

  // ---- conversations ----
  const roomConv = new Conversation({
    key: ROOM_KEY,
    kind: "room",
    title: `# ${room}`,
    intro: `Group chat of #${room}: everyone in the room sees these messages.`,
  });
  const olderButton = el("button", "load-older", "Load older messages");
  olderButton.type = "button";
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
    paging.saw(frame.seq);
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
    byId("member-count").textContent = String(list.length);
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
      conv.setTitle(`@ ${nameOf(peer)}${members.has(peer) ? "" : " (away)"}`);
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
  function sendTo(text, key) {
    const conv = conversations.get(key) ?? roomConv;
    /** @type {string} */
    let id;
    try {
      id =
        key === ROOM_KEY
          ? client.send({ text })
          : client.sendDirect(key.slice("dm:".length), { text });
    } catch (err) {
      if (err instanceof RoomClientError) showAlert(explain(err.code, err.message, room, invited));
      return false;
    }
    conv.addPending(id, pendingItem(id, self?.name ?? who.name ?? "me", text));
    return true;
  }

  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value;
    if (text.trim() === "") return;
    if (sendTo(text, active)) input.value = "";
  });

  olderButton.addEventListener("click", () => {
    const page = paging.next();
    if (page === null) return;
    showPaging();
    client.requestHistory(page);
  });

  /** The control as paging stands: gone at the room's start, busy while a page is on its way. */
  function showPaging() {
    olderButton.hidden = paging.complete;
    startNote.hidden = !paging.complete;
    olderButton.disabled = paging.loading;
    olderButton.textContent = paging.loading ? "Loading…" : "Load older messages";
  }

  // ---- the client's events ----
  bindStatus(client);
  client.on("state", (s) => {
    if (s.state === "open" && alertBox.dataset.kind === "offline") alertBox.hidden = true;
    // A page asked for on a connection that is gone may never be answered: allow asking again.
    if (s.state === "reconnecting" && paging.loading) {
      paging.interrupted();
      showPaging();
    }
    if (s.state === "reconnecting" && s.previous === "open") {
      showAlert(
        "Connection lost. Reconnecting; messages you send meanwhile are kept and sent when it is back.",
        "info",
        true,
      );
      alertBox.dataset.kind = "offline";
    }
  });

  client.on("welcome", (w) => {
    self = w.self;
    byId("me-name").textContent = w.self.name;
    if (firstWelcome) {
      firstWelcome = false;
      paging.welcomed(w.replay);
      showPaging();
    }
  });
  client.on("members", (list) => {
    members = new Map(list.map((m) => [m.id, m]));
    for (const m of list) knownNames.set(m.id, m.name);
    renderMembers();
  });
  client.on("presence", (p) => {
    if (p.member.id !== self?.id)
      roomConv.notice(`${p.member.name} ${p.action === "join" ? "joined" : "left"}`);
  });
  client.on("message", (m) => showStored(m, true));
  client.on("direct", (m) => showStored(m, true));
  client.on("event", (m) => showStored(m, true));
  client.on("ack", (a) => {
    // The echo normally came first; if it was lost, the ack alone still confirms the send.
    for (const conv of conversations.values()) {
      const li = conv.pending.get(a.id);
      if (li === undefined || shown.has(a.seq)) {
        conv.settle(a.id);
        continue;
      }
      conv.pending.delete(a.id);
      li.classList.remove("pending");
      delete li.dataset.pendingId;
      li.dataset.seq = String(a.seq);
      li.querySelector(".state")?.remove();
      shown.add(a.seq);
    }
  });
  client.on("history", (h) => {
    const older = paging.answered(h);
    roomConv.keepScroll(() => {
      for (const frame of older) showStored(frame, false);
    });
    showPaging();
  });
  client.on("gap", (g) => {
    roomConv.notice(
      g.reason === "reset"
        ? "The room's history was reset on the server; older messages are gone."
        : "Some messages from while you were away are no longer kept and could not be shown.",
    );
  });
  client.on("error", (e) => {
    showAlert(explain(e.code, e.message, room, invited));
    if (e.frame === undefined) return;
    const frame = e.frame;
    const key = frame.type === "direct" ? `dm:${frame.to}` : ROOM_KEY;
    const text =
      typeof frame.data === "object" && frame.data !== null && "text" in frame.data
        ? String(frame.data.text)
        : "";
    conversations.get(key)?.fail(e.id ?? "", failWord(e.code), () => sendTo(text, key));
  });
  client.on("closed", (c) => {
    if (c.error === undefined) return;
    showAlert(explain(c.error, c.reason, room, invited), "error", true);
    alertBox.dataset.kind = "fatal";
    input.disabled = true;
    sendButton.disabled = true;
    olderButton.hidden = true;
    input.placeholder = "You are not in this room";
  });

  client.connect();
}
