// @ts-check
/**
 * The customer's chat widget for the help desk: `/support.html?desk=help&name=Ann`. It shows
 * where the customer stands — in the queue (and at which position), with an agent (by name), or
 * closed — and the conversation with the agent. The customer is a guest: the guest token the desk
 * hands out is kept per desk and name in this browser, so a reload or a reconnect is the same
 * customer id, and so keeps its conversation and its agent (the desk's assignment is sticky by
 * id). Built on the rooms client with `kind: "desk"`; one column, so it fits a phone.
 */
import { RoomClient, RoomClientError, cleanDisplayName as cleanName } from "./rooms-client.js";
import { Conversation, el, failWord, messageItem, pendingItem } from "./chat-view.js";
import { guestStore } from "./guest-store.js";
import {
  DESK_NAME,
  alertBar,
  bindStatus,
  byId,
  confirmAck,
  explainDesk,
  sentText,
} from "./desk-view.js";

/** @typedef {import("./rooms-client.js").Member} Member */

/** @param {URLSearchParams} params */
function showStart(params) {
  byId("start").hidden = false;
  const form = /** @type {HTMLFormElement} */ (byId("start-form"));
  const nameInput = /** @type {HTMLInputElement} */ (form.elements.namedItem("name"));
  nameInput.focus();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = cleanName(nameInput.value);
    const problem = byId("start-error");
    problem.hidden = name !== null;
    problem.textContent =
      name === null
        ? "Names are 1–64 characters, without control or text-direction characters."
        : "";
    if (name === null) return;
    params.set("name", name);
    location.search = params.toString();
  });
}

/** @param {string} desk @param {string} name */
function startWidget(desk, name) {
  byId("widget").hidden = false;
  byId("desk-name").textContent = desk;
  document.title = `Support · ${desk}`;
  // One customer per desk and name in this browser profile (the chat page keeps one per name).
  const guest = guestStore(`desk:${desk}:${name}`);
  const client = new RoomClient({
    url: location.origin,
    room: desk,
    kind: "desk",
    name,
    guestToken: guest.get(),
    onGuestToken: guest.set,
  });
  bindStatus(client);
  const showAlert = alertBar();
  const stateLine = byId("desk-state");
  const input = /** @type {HTMLInputElement} */ (byId("text"));
  const sendButton = /** @type {HTMLButtonElement} */ (byId("send"));
  const conv = new Conversation({
    key: "support",
    kind: "dm",
    title: desk,
    intro: "Your conversation with our support team. Only you and your agent see it.",
  });
  byId("conversations").append(conv.panel);
  conv.setActive(true);

  /** @type {Member | null} */
  let self = null;
  /** @type {Member | null} */
  let agent = null;
  let agentAway = false;
  const shown = new Set();

  /**
   * @param {"connecting" | "queued" | "assigned" | "closed"} state
   * @param {(string | Node)[]} parts text (set as text) and elements
   */
  function setState(state, ...parts) {
    stateLine.dataset.state = state;
    stateLine.replaceChildren(...parts);
  }
  const agentName = () => el("strong", "agent-name", agent?.name ?? "");
  function showAssigned() {
    const name = agentName();
    name.id = "agent-name";
    setState(
      "assigned",
      "You are chatting with ",
      name,
      agentAway ? " (away for a moment: your messages will wait for them)" : "",
    );
  }

  /** @param {string} text */
  function send(text) {
    try {
      const id = client.send({ text });
      conv.addPending(id, pendingItem(id, self?.name ?? name, text));
      return true;
    } catch (err) {
      if (err instanceof RoomClientError) showAlert(explainDesk(err.code, err.message));
      return false;
    }
  }
  byId("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.value.trim() !== "" && send(input.value)) input.value = "";
  });

  client.on("welcome", (w) => {
    self = w.self;
  });
  client.on("queued", (q) => {
    agent = null;
    const position = el("strong", undefined, String(q.position));
    position.id = "queue-position";
    setState(
      "queued",
      q.position === 1 ? "You are next in line " : "Your place in the queue: ",
      position,
      ". An agent will be with you soon; you can already write.",
    );
  });
  client.on("assigned", (a) => {
    const before = agent;
    agent = a.agent;
    agentAway = !a.agent.online;
    if (before?.id !== a.agent.id) {
      conv.notice(
        before === null
          ? `${a.agent.name} is here to help you`
          : `You were transferred to ${a.agent.name}`,
      );
    }
    showAssigned();
  });
  client.on("conversationClosed", (c) => {
    agent = null;
    const by = el("strong", undefined, c.agent.name);
    setState("closed", by, " closed this conversation. Write again to start a new one.");
    conv.notice(`${c.agent.name} closed this conversation`);
  });
  client.on("presence", (p) => {
    if (agent === null || p.member.id !== agent.id) return;
    agentAway = p.action === "leave";
    showAssigned();
  });
  /** @param {import("./rooms-client.js").StoredFrame} frame @param {boolean} live */
  const show = (frame, live) => {
    if (frame.type !== "message" || shown.has(frame.seq)) return;
    shown.add(frame.seq);
    if (frame.id !== undefined) conv.settle(frame.id);
    conv.insert(messageItem(frame, self?.id), frame.seq);
    if (live && frame.from.id !== self?.id && document.hidden)
      document.title = `• Support · ${desk}`;
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) document.title = `Support · ${desk}`;
  });
  client.on("message", (m) => show(m, true));
  client.on("history", (h) => h.messages.forEach((m) => show(m, false)));
  client.on("ack", (a) => confirmAck([conv], a, shown));
  client.on("error", (e) => {
    showAlert(explainDesk(e.code, e.message));
    if (e.frame === undefined) return;
    const text = sentText(e.frame);
    conv.fail(e.id ?? "", failWord(e.code), () => send(text));
  });
  client.on("closed", (c) => {
    if (c.error === undefined) return;
    showAlert(explainDesk(c.error, c.reason), "fatal", true);
    input.disabled = sendButton.disabled = true;
  });
  client.connect();
}

// ---- start ----
const params = new URLSearchParams(location.search);
const desk = params.get("desk")?.trim() || "help";
const name = cleanName(params.get("name") ?? "");
if (!DESK_NAME.test(desk)) {
  byId("start").hidden = false;
  byId("start-form").replaceChildren(
    el("h1", undefined, "Chat with support"),
    el("p", "form-error", "This support link names a desk that does not exist."),
  );
} else if (name === null) showStart(params);
else startWidget(desk, name);
