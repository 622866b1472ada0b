// @ts-check
/**
 * The help desk's agent console (客服工作台): the conversations assigned to this agent, each
 * with its customer's online status and an unread count; a reply box for the selected one;
 * transfer to another online agent and closing a conversation. A conversation opens with its
 * customer's first message, so customers appear here as they write (a customer who only looks
 * never does), and one that stays quiet for the desk's idle time closes by itself. Built on the
 * rooms client with `kind: "desk", role: "agent"` (docs/protocol.md, "The help desk"). Agents
 * sign in with a desk token (agent-signin.js); a refused token (4401/4403) sends them back there
 * with the desk's own reason.
 */
import { ROOM_NAME, RoomClient } from "./rooms-client.js";
import { alertBar } from "./kit/alert.js";
import { Conversation } from "./kit/conversation.js";
import { byId, el } from "./kit/dom.js";
import { messageItem, textOf } from "./kit/messages.js";
import { composer, confirmAck, failPending, sendPending } from "./kit/pending.js";
import { bindStatus } from "./kit/status.js";
import { explainDesk } from "./kit/words.js";
import { closedNote } from "./desk-view.js";
import { showSignin } from "./agent-signin.js";

/** @typedef {import("./rooms-client.js").Member} Member */
/** @typedef {import("./rooms-client.js").StoredFrame} StoredFrame */
/**
 * One conversation, named by its customer. `open` is ours to answer; `closed` was ended (by an
 * agent, or by the desk after the idle time); `gone` went to another agent. `lastTs`: when its
 * newest message was stored (the desk's clock), 0 before any.
 * @typedef {{ id: string, name: string, online: boolean, state: "open" | "closed" | "gone",
 *   note: string, lastSeq: number, lastTs: number, conv: Conversation, dot: HTMLElement,
 *   preview: HTMLElement }} Entry
 */

/** @param {string} desk @param {string} token */
function startConsole(desk, token) {
  byId("console").hidden = false;
  byId("desk-name").textContent = desk;
  document.title = `${desk} · agent console`;
  const client = new RoomClient({
    url: location.origin,
    room: desk,
    kind: "desk",
    role: "agent",
    token,
  });
  bindStatus(client);
  const alert = alertBar();
  const list = byId("conv-list");
  const panes = byId("conversations");
  const bar = byId("conv-bar");
  const transferTo = byId("transfer-to", HTMLSelectElement);
  const transferButton = byId("transfer", HTMLButtonElement);
  const closeButton = byId("close-conv", HTMLButtonElement);
  const compose = composer({ label: "Reply", placeholder: "Pick a conversation" });
  const { input, sendButton } = compose;
  input.disabled = sendButton.disabled = true; // until a conversation of ours is picked

  /** @type {Member | null} */
  let self = null;
  /** @type {Map<string, Entry>} */
  const entries = new Map();
  /** Everyone ever seen as a customer: the desk's other members are agents. */
  const customerIds = new Set();
  /** Each stored frame is shown once, however it arrives (live, replay, handed-over history). */
  const shown = new Set();
  /** @type {string | null} */
  let active = null;
  let welcomed = false;

  /** The conversation with a customer, created on first sight. @param {string} id @param {string} name */
  function entryOf(id, name) {
    customerIds.add(id);
    const known = entries.get(id);
    if (known !== undefined) return known;
    const conv = new Conversation({
      key: id,
      kind: "dm",
      title: name,
      intro: `Your conversation with ${name}. Only the agent it is assigned to sees it.`,
    });
    const dot = el("span", "presence");
    const preview = el("span", "preview");
    conv.tab.dataset.customer = id;
    conv.tab.prepend(dot);
    conv.tab.append(preview);
    conv.tab.addEventListener("click", () => select(id));
    /** @type {Entry} */
    const entry = {
      id,
      name,
      online: true,
      state: "open",
      note: "",
      lastSeq: 0,
      lastTs: 0,
      conv,
      dot,
      preview,
    };
    entries.set(id, entry);
    list.append(conv.tab);
    panes.append(conv.panel);
    conv.setActive(false);
    byId("empty").hidden = true;
    return entry;
  }

  /** @param {string} id */
  function select(id) {
    active = id;
    for (const e of entries.values()) e.conv.setActive(e.id === id);
    render();
    input.focus();
  }

  /** Other online agents: the members that are not customers (and not us). */
  const otherAgents = () =>
    client.members.filter((m) => m.id !== self?.id && !customerIds.has(m.id));

  function render() {
    for (const e of entries.values()) {
      e.dot.dataset.online = String(e.online);
      e.dot.title = e.online ? "online" : "offline";
      e.conv.setTitle(e.name);
      e.conv.tab.dataset.state = e.state;
    }
    const agents = otherAgents();
    byId("agents-online").textContent =
      agents.length === 0 ? "no other agent online" : `${agents.length} other agent(s) online`;
    const e = active === null ? undefined : entries.get(active);
    bar.hidden = e === undefined;
    const open = e?.state === "open" && client.state === "open";
    input.disabled = sendButton.disabled = !open;
    input.placeholder =
      e === undefined ? "Pick a conversation" : open ? `Reply to ${e.name}` : e.note;
    if (e === undefined) return;
    byId("conv-title").textContent = e.name;
    const presence = byId("conv-presence");
    presence.textContent = e.state === "open" ? (e.online ? "online" : "offline") : e.note;
    presence.dataset.online = String(e.online);
    closeButton.disabled = !open;
    const current = transferTo.value;
    /** @param {string} value @param {string} label */
    const option = (value, label) => Object.assign(el("option", undefined, label), { value });
    transferTo.replaceChildren(
      ...(agents.length === 0 ? [option("", "no other agent online")] : []),
      ...agents.map((a) => option(a.id, a.name)),
    );
    if (agents.some((a) => a.id === current)) transferTo.value = current;
    transferTo.disabled = transferButton.disabled = !open || agents.length === 0;
  }

  /** @param {Entry} e @param {"open" | "closed" | "gone"} state @param {string} note */
  function setState(e, state, note) {
    e.state = state;
    e.note = note;
    if (note) e.conv.notice(note);
  }

  /** @param {StoredFrame} frame @param {boolean} live */
  function show(frame, live) {
    if (frame.type !== "message" || shown.has(frame.seq)) return;
    // A desk message names its conversation by the customer; a plain message, by its sender.
    const customer = "customer" in frame ? frame.customer : frame.from.id;
    const entry = entryOf(customer, frame.from.id === customer ? frame.from.name : customer);
    shown.add(frame.seq);
    if (frame.id !== undefined) entry.conv.settle(frame.id);
    entry.conv.insert(messageItem(frame, self?.id), frame.seq);
    if (frame.seq > entry.lastSeq) {
      entry.lastSeq = frame.seq;
      entry.lastTs = frame.ts;
      entry.preview.textContent = textOf(frame.data);
    }
    if (live && frame.from.id !== self?.id && customer !== active) entry.conv.markUnread();
  }

  /** @param {string} text */
  function reply(text) {
    const e = active === null ? undefined : entries.get(active);
    if (e === undefined || e.state !== "open") return false;
    return sendPending(e.conv, {
      name: self?.name ?? "me",
      text,
      send: () => client.sendTo(e.id, { text }),
      refused: (err) => alert.show(explainDesk(err.code, err.message)),
    });
  }
  compose.onSend(reply);
  byId("transfer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (active !== null && transferTo.value) client.transfer(active, transferTo.value);
  });
  closeButton.addEventListener("click", () => {
    if (active !== null) client.closeConversation(active);
  });

  client.on("state", () => render());
  client.on("welcome", (w) => {
    welcomed = true;
    self = w.self;
    byId("me-name").textContent = w.self.name;
    const listed = new Set();
    for (const c of w.customers ?? []) {
      listed.add(c.id);
      const e = entryOf(c.id, c.name);
      e.online = c.online;
      e.state = "open";
    }
    // Back after a disconnect: those closed (idle) or, after the grace period, went to other
    // agents; the welcome does not say which.
    for (const e of entries.values()) {
      if (e.state === "open" && !listed.has(e.id))
        setState(
          e,
          "gone",
          "No longer yours: closed or given to another agent while you were away",
        );
    }
    if (active === null && listed.size > 0) select([...listed][0]);
    render();
  });
  client.on("members", () => render());
  client.on("presence", (p) => {
    // A desk announces members by name; counts are for big rooms.
    const e = p.action === "count" ? undefined : entries.get(p.member.id);
    if (e !== undefined) {
      e.online = p.action === "join";
      e.conv.notice(`${e.name} ${e.online ? "is back online" : "went offline"}`);
    }
    render();
  });
  client.on("assigned", (a) => {
    customerIds.add(a.customer.id);
    if (a.agent.id === self?.id) {
      const isNew = !entries.has(a.customer.id);
      const e = entryOf(a.customer.id, a.customer.name);
      e.name = a.customer.name;
      e.online = a.customer.online;
      if (isNew || e.state !== "open") {
        const reopened = e.state === "closed";
        setState(e, "open", "");
        e.conv.notice(
          reopened
            ? `${a.customer.name} wrote again: a new conversation`
            : `${a.customer.name} is now assigned to you`,
        );
      }
      if (active === null) select(e.id);
    } else {
      const e = entries.get(a.customer.id);
      if (e !== undefined && e.state === "open")
        setState(e, "gone", `Transferred to ${a.agent.name}`);
    }
    render();
  });
  client.on("conversationClosed", (c) => {
    const e = entries.get(c.customer.id);
    if (e === undefined) return;
    setState(e, "closed", closedNote(c, self?.id, e.lastTs));
    render();
  });
  client.on("message", (m) => show(m, true));
  client.on("history", (h) => {
    for (const frame of h.messages) show(frame, false);
  });
  client.on("ack", (a) =>
    confirmAck(
      [...entries.values()].map((e) => e.conv),
      a,
      shown,
    ),
  );
  client.on("error", (e) => {
    alert.show(explainDesk(e.code, e.message));
    const frame = e.frame;
    if (frame === undefined || frame.type !== "message" || frame.to === undefined) return;
    const customer = frame.to;
    failPending(entries.get(customer)?.conv, e, (text) => {
      if (active === customer) reply(text);
    });
  });
  client.on("closed", (c) => {
    if (c.error === undefined) return;
    const reason =
      c.error === "forbidden"
        ? `This token does not make you an agent of “${desk}”: ${c.reason}`
        : c.error === "unauthorized"
          ? `The desk did not accept this token: ${c.reason}`
          : explainDesk(c.error, c.reason);
    if (!welcomed) showSignin(desk, reason);
    else alert.show(reason, "fatal", true);
    render();
  });
  client.connect();
}

// ---- start ----
const params = new URLSearchParams(location.search);
const desk = params.get("desk")?.trim() || "help";
const token = params.get("token")?.trim() ?? "";
if (!ROOM_NAME.test(desk))
  showSignin("help", "Desk names are 1–99 letters, digits, “_”, “.” or “-”.");
else if (token === "") showSignin(desk);
else startConsole(desk, token);
