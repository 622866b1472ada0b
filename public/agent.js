// @ts-check
/**
 * The help desk's agent console (客服工作台): the conversations assigned to this agent, each
 * with its customer's online status and an unread count; a reply box for the selected one;
 * transfer to another online agent and closing a conversation. A conversation opens with its
 * customer's first message, so customers appear here as they write (a customer who only looks
 * never does), and one that stays quiet for the desk's idle time closes by itself. Built on the
 * rooms client with `kind: "desk", role: "agent"` (docs/protocol.md, "The help desk").
 *
 * Agents sign in with a desk token of role "agent" (a token whose place is the desk, `desk: help`
 * or `*`; a room token never opens a desk): `/agent.html?desk=help&token=<token>`, minted by the
 * backend that knows its agents, or locally with
 *   npm run token -- --user kefu1 --name Li --desk help --role agent
 * Agents are never guests: without a token the page says how to get one, and a refused token
 * (4401/4403) shows the desk's own reason.
 */
import { RoomClient, RoomClientError } from "./rooms-client.js";
import { Conversation, el, failWord, messageItem, pendingItem, textOf } from "./chat-view.js";
import {
  DESK_NAME,
  alertBar,
  bindStatus,
  byId,
  confirmAck,
  explainDesk,
  quietFor,
  sentText,
} from "./desk-view.js";

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

/** @param {string} desk @param {string} [error] */
function showSignin(desk, error) {
  byId("console").hidden = true;
  byId("signin").hidden = false;
  byId("token-command").textContent =
    `npm run token -- --user kefu1 --name Li --desk ${desk} --role agent`;
  const form = /** @type {HTMLFormElement} */ (byId("signin-form"));
  const deskInput = /** @type {HTMLInputElement} */ (form.elements.namedItem("desk"));
  const tokenInput = /** @type {HTMLInputElement} */ (form.elements.namedItem("token"));
  deskInput.value = desk;
  const problem = byId("signin-error");
  problem.hidden = error === undefined;
  problem.textContent = error ?? "";
  tokenInput.focus();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!DESK_NAME.test(deskInput.value.trim()) || tokenInput.value.trim() === "") {
      problem.hidden = false;
      problem.textContent = "A desk name (letters, digits, “_”, “.”, “-”) and a token, please.";
      return;
    }
    const query = { desk: deskInput.value.trim(), token: tokenInput.value.trim() };
    location.search = new URLSearchParams(query).toString();
  });
}

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
  const showAlert = alertBar();
  const list = byId("conv-list");
  const panes = byId("conversations");
  const bar = byId("conv-bar");
  const transferTo = /** @type {HTMLSelectElement} */ (byId("transfer-to"));
  const transferButton = /** @type {HTMLButtonElement} */ (byId("transfer"));
  const closeButton = /** @type {HTMLButtonElement} */ (byId("close-conv"));
  const input = /** @type {HTMLInputElement} */ (byId("text"));
  const sendButton = /** @type {HTMLButtonElement} */ (byId("send"));

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
  /**
   * Customers whose conversation this page asked to close, with the request's id: a `closed` for
   * any other was the desk's, after the idle time (or another window of this agent's).
   * @type {Map<string, string>}
   */
  const closing = new Map();

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
    const customer = frame.customer ?? frame.from.id;
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
    try {
      const id = client.sendTo(e.id, { text });
      e.conv.addPending(id, pendingItem(id, self?.name ?? "me", text));
      return true;
    } catch (err) {
      if (err instanceof RoomClientError) showAlert(explainDesk(err.code, err.message));
      return false;
    }
  }

  byId("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (input.value.trim() !== "" && reply(input.value)) input.value = "";
  });
  byId("transfer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (active !== null && transferTo.value) client.transfer(active, transferTo.value);
  });
  closeButton.addEventListener("click", () => {
    if (active !== null) closing.set(active, client.closeConversation(active));
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
    const e = entries.get(p.member.id);
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
    const asked = closing.delete(c.customer.id);
    const e = entries.get(c.customer.id);
    if (e === undefined) return;
    // The frame does not say who closed it: this page knows when it asked; otherwise it was the
    // desk, once the conversation had been quiet for its idle time (or this agent elsewhere).
    const note = asked
      ? "You closed this conversation"
      : c.agent !== null && c.agent.id !== self?.id
        ? `${c.agent.name} closed this conversation`
        : e.lastTs > 0
          ? `Closed after ${quietFor(Date.now() - e.lastTs)} without a message`
          : "This conversation was closed";
    setState(e, "closed", note);
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
    showAlert(explainDesk(e.code, e.message));
    for (const [customer, id] of closing) if (id === e.id) closing.delete(customer);
    const frame = e.frame;
    if (frame === undefined || frame.type !== "message" || frame.to === undefined) return;
    const text = sentText(frame);
    entries.get(frame.to)?.conv.fail(e.id ?? "", failWord(e.code), () => {
      if (active === frame.to) reply(text);
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
    else showAlert(reason, "fatal", true);
    render();
  });
  client.connect();
}

// ---- start ----
const params = new URLSearchParams(location.search);
const desk = params.get("desk")?.trim() || "help";
const token = params.get("token")?.trim() ?? "";
if (!DESK_NAME.test(desk))
  showSignin("help", "Desk names are 1–99 letters, digits, “_”, “.” or “-”.");
else if (token === "") showSignin(desk);
else startConsole(desk, token);
