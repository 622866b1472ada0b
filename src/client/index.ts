/**
 * The rooms client: one object per room connection, for the chat page, users' own pages and
 * Node 22 (which has a global WebSocket). It is a small state machine — connecting, open,
 * reconnecting, closed — that reconnects with full-jitter backoff, resumes with `since` so no
 * frame is missed, drops frames it has already seen (by `seq`), and keeps every frame it sent
 * with an `id` until the room acknowledges it, re-sending it with the same `id` after a
 * reconnect (the room answers a repeated `id` with its first `ack`), so nothing is lost or
 * doubled. The wire format is docs/protocol.md; the shape follows centrifuge-js and partysocket.
 *
 * Written once, here, with the protocol's own types (src/protocol). The build bundles it into
 * the `/rooms-client.js` the pages import (browser/), and `npm pack` of this folder makes the
 * `@edge-rooms/client` package, with declarations from the same sources.
 *
 * ```js
 * import { RoomClient } from "/rooms-client.js"; // or from "@edge-rooms/client"
 * const client = new RoomClient({
 *   url: location.origin,
 *   room: "lobby",
 *   name: "Ann", // a guest: the room makes the id
 *   guestToken: localStorage.getItem("guest") ?? undefined, // the same guest as last time
 *   onGuestToken: (t) => (t ? localStorage.setItem("guest", t) : localStorage.removeItem("guest")),
 * });
 * client.on("message", (m) => console.log(m.from.name, m.data));
 * client.connect();
 * client.send({ text: "hi" });
 * ```
 *
 * Ids come from tokens, never from the client: a backend's join token (`token`), or the guest
 * token the room hands a guest in every `welcome`. The client rejoins with the newest guest
 * token after every drop, so a reconnect is the same guest and its re-sent frames stay its own
 * (the constructor says how a page keeps one across reloads).
 *
 * The same client joins a help desk (docs/protocol.md, "The help desk") with `kind: "desk"`: a
 * customer as above (a guest, or with a backend's desk token), an agent with `role: "agent"` and
 * a desk token of that role. The desk's own frames arrive as the `queued`, `assigned` and
 * `conversationClosed` events; an agent answers with `sendTo(customer, data)`, and hands over or
 * ends a conversation with `transfer` and `closeConversation`.
 *
 * Every stored frame reaches the `message`, `direct` and `event` listeners once, in the room's
 * order, with no hole after a reconnect, even when the room's replay left frames out for its
 * byte budget (inbox.ts). Only frames the room no longer has at all are a `gap` event.
 */
export { DEFAULTS, RoomClient } from "./client.ts";
export { backoffDelay } from "./connect.ts";
export type { Refusal } from "./connect.ts";
export { isObject, parseServerFrame, type SentFrame } from "./frames.ts";
export { RoomClientError } from "./outbox.ts";
export * from "./protocol.ts";
export type * from "./types.ts";
