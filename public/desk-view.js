// @ts-check
/**
 * What the help desk's two pages (agent.js, the agent console; support.js, the customer widget)
 * share beyond the kit: why a conversation closed, as each side words it. The `closed` frame
 * says it — `reason: "agent"` (its agent closed it) or `"idle"` (nobody wrote for the desk's
 * idle time) — so neither page has to guess from what it asked for or when it last saw a message.
 */

/** @typedef {import("./rooms-client.js").ClosedFrame} ClosedFrame */

/**
 * The frame's reason, read as it came: the client's type of the frame may not list `reason`
 * yet, and a desk older than it does not send one (undefined).
 * @param {ClosedFrame} frame
 * @returns {"agent" | "idle" | undefined}
 */
function closedBy(frame) {
  const reason = /** @type {{ reason?: unknown }} */ (frame).reason;
  return reason === "agent" || reason === "idle" ? reason : undefined;
}

/**
 * The console's note on a closed conversation.
 * @param {ClosedFrame} frame
 * @param {string | undefined} selfId this agent, who may have closed it in another window too
 * @param {number} lastTs when its newest message was stored, 0 before any
 */
export function closedNote(frame, selfId, lastTs) {
  const why = closedBy(frame);
  if (why === "agent" && frame.agent !== null) {
    return frame.agent.id === selfId
      ? "You closed this conversation"
      : `${frame.agent.name} closed this conversation`;
  }
  if (why === "idle") {
    return lastTs > 0
      ? `Closed after ${quietFor(Date.now() - lastTs)} without a message`
      : "Closed: nobody wrote for a while";
  }
  return "This conversation was closed";
}

/**
 * The widget's words for a conversation its agent had, around the agent's name: `[before,
 * after]`. (A conversation closed while queued had no agent; the widget says so itself.)
 * @param {ClosedFrame} frame
 * @returns {[string, string]}
 */
export function closedWords(frame) {
  switch (closedBy(frame)) {
    case "agent":
      return ["", " closed this conversation"];
    case "idle":
      return ["Your conversation with ", " was closed: nobody wrote for a while"];
    default:
      return ["Your conversation with ", " was closed"];
  }
}

/**
 * How long a conversation was quiet, in words: "40 seconds", "3 minutes", "24 hours", "2 days".
 * @param {number} ms
 */
function quietFor(ms) {
  const s = Math.max(1, Math.round(ms / 1000));
  /** @param {number} n @param {string} unit */
  const of = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (s < 90) return of(s, "second");
  if (s < 90 * 60) return of(Math.round(s / 60), "minute");
  if (s < 36 * 3600) return of(Math.round(s / 3600), "hour");
  return of(Math.round(s / 86400), "day");
}
