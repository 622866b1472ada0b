// @ts-check
/**
 * The customer's chat widget for the help desk: `/support.html?desk=help&name=Ann`. It shows
 * where the customer stands — before writing, how many agents are online (a conversation opens
 * with the first message, not with the join); then in the queue (and at which position), with an
 * agent (by name), or closed (by the agent, or after a quiet while), when the next message
 * starts a new conversation — and the conversation with the agent. The customer is a guest: the
 * guest token the desk hands out is kept per desk and name in this browser, so a reload or a
 * reconnect is the same customer id, and so keeps its open conversation and its agent (the
 * desk's assignment is sticky by id). Built on the rooms client with `kind: "desk"`; one column,
 * so it fits a phone.
 */
import { ROOM_NAME, RoomClient, cleanDisplayName as cleanName } from "./rooms-client.js";
import { alertBar } from "./kit/alert.js";
import { Conversation } from "./kit/conversation.js";
import { byId, el, field, sayProblem } from "./kit/dom.js";
import { messageItem } from "./kit/messages.js";
import { composer, confirmAck, failPending, sendPending } from "./kit/pending.js";
import { bindStatus } from "./kit/status.js";
import { guestStore } from "./kit/storage.js";
import { DISPLAY_NAME_RULE, explainDesk } from "./kit/words.js";
import { closedWords } from "./desk-view.js";

/** @typedef {import("./rooms-client.js").Member} Member */

/** @param {URLSearchParams} params */
function showStart(params) {
  byId("start").hidden = false;
  const form = byId("start-form", HTMLFormElement);
  const nameInput = field(form, "name");
  nameInput.focus();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = cleanName(nameInput.value);
    sayProblem(byId("start-error"), name === null ? DISPLAY_NAME_RULE : null);
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
  const alert = alertBar();
  const stateLine = byId("desk-state");
  const compose = composer({ label: "Message", placeholder: "Type your question" });
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
  /** The agent of the open conversation; null before it opens, while queued and once closed. */
  /** @type {Member | null} */
  let agent = null;
  /** The last agent named on this page, so a reconnect to the same one says nothing new. */
  /** @type {Member | null} */
  let lastAgent = null;
  let agentAway = false;
  const shown = new Set();

  /**
   * @param {"connecting" | "ready" | "queued" | "assigned" | "closed"} state
   * @param {(string | Node)[]} parts text (set as text) and elements
   */
  function setState(state, ...parts) {
    stateLine.dataset.state = state;
    stateLine.replaceChildren(...parts);
  }
  function showAssigned() {
    const agentName = el("strong", "agent-name", agent?.name ?? "");
    agentName.id = "agent-name";
    setState(
      "assigned",
      "You are chatting with ",
      agentName,
      agentAway ? " (away for a moment: your messages will wait for them)" : "",
    );
  }
  /**
   * Before the first message there is no conversation: the desk only says how many agents are
   * online as we join, and writing opens one (assigned, or queued when nobody is in).
   * @param {number} online
   */
  function showReady(online) {
    const count = el("strong", undefined, String(online));
    count.id = "agents-online";
    stateLine.dataset.agents = String(online);
    if (online === 0) setState("ready", "No agent online right now: write and you will be queued.");
    else setState("ready", count, online === 1 ? " agent" : " agents", " online — write to start.");
  }

  /** @param {string} text */
  const send = (text) =>
    sendPending(conv, {
      name: self?.name ?? name,
      text,
      send: () => client.send({ text }),
      refused: (err) => alert.show(explainDesk(err.code, err.message)),
    });
  compose.onSend(send);

  client.on("welcome", (w) => {
    self = w.self;
    // An open conversation follows this with `assigned` or `queued`; without one, the next
    // message starts one. (A conversation closed while we were away sends nothing more.)
    agent = null;
    showReady(w.agents_online ?? 0);
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
    agent = a.agent;
    agentAway = !a.agent.online;
    if (lastAgent?.id !== a.agent.id) {
      conv.notice(
        lastAgent === null
          ? `${a.agent.name} is here to help you`
          : `You were transferred to ${a.agent.name}`,
      );
    }
    lastAgent = a.agent;
    showAssigned();
  });
  client.on("conversationClosed", (c) => {
    agent = null;
    lastAgent = null;
    const again = " Write again to start a new one.";
    if (c.agent === null) {
      // Only the desk closes a queued conversation: nobody came for the desk's idle time.
      setState("closed", "No agent was available, so this conversation was closed." + again);
      conv.notice("This conversation was closed while waiting for an agent");
      return;
    }
    const [lead, tail] = closedWords(c);
    setState("closed", lead, el("strong", undefined, c.agent.name), `${tail}.${again}`);
    conv.notice(`${lead}${c.agent.name}${tail}`);
  });
  client.on("presence", (p) => {
    // A desk announces members by name; counts are for big rooms.
    if (p.action === "count" || agent === null || p.member.id !== agent.id) return;
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
    alert.show(explainDesk(e.code, e.message));
    if (e.frame !== undefined) failPending(conv, e, send);
  });
  client.on("closed", (c) => {
    if (c.error === undefined) return;
    alert.show(explainDesk(c.error, c.reason), "fatal", true);
    compose.input.disabled = compose.sendButton.disabled = true;
  });
  client.connect();
}

// ---- start ----
const params = new URLSearchParams(location.search);
const desk = params.get("desk")?.trim() || "help";
const name = cleanName(params.get("name") ?? "");
if (!ROOM_NAME.test(desk)) {
  byId("start").hidden = false;
  byId("start-form").replaceChildren(
    el("h1", undefined, "Chat with support"),
    el("p", "form-error", "This support link names a desk that does not exist."),
  );
} else if (name === null) showStart(params);
else startWidget(desk, name);
