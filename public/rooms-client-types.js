// @ts-check
/**
 * The types of the rooms client's API (rooms-client.js): its connection states, the detail of
 * each event a page can listen to, and the options of `new RoomClient(...)`. Types only: nothing
 * here runs, and the client re-exports every name, so pages import them from rooms-client.js.
 */

/** @typedef {import("./rooms-protocol.js").Member} Member */
/** @typedef {import("./rooms-protocol.js").WelcomeFrame} WelcomeFrame */
/** @typedef {import("./rooms-protocol.js").MessageFrame} MessageFrame */
/** @typedef {import("./rooms-protocol.js").DirectFrame} DirectFrame */
/** @typedef {import("./rooms-protocol.js").EventFrame} EventFrame */
/** @typedef {import("./rooms-protocol.js").PresenceFrame} PresenceFrame */
/** @typedef {import("./rooms-protocol.js").AckFrame} AckFrame */
/** @typedef {import("./rooms-protocol.js").HistoryFrame} HistoryFrame */
/** @typedef {import("./rooms-protocol.js").SentFrame} SentFrame */
/** @typedef {import("./rooms-protocol.js").QueuedFrame} QueuedFrame */
/** @typedef {import("./rooms-protocol.js").AssignedFrame} AssignedFrame */
/** @typedef {import("./rooms-protocol.js").ClosedFrame} ClosedFrame */
/** @typedef {"connecting" | "open" | "reconnecting" | "closed"} ConnectionState */
/**
 * @typedef {object} StateChange
 * @property {ConnectionState} state
 * @property {ConnectionState} previous
 * @property {number} attempt consecutive failed connections (0 once a connection lasted)
 * @property {number} [delayMs] with `reconnecting`: how long until the next try
 * @property {number} [code] the close code that caused the change, if any
 * @property {string} [reason] a human reason, when there is one
 */
/**
 * @typedef {object} ClientError
 * @property {string} code the server's error code (`rate_limited`, `too_large`, ...)
 * @property {string} message
 * @property {string} [id] the `id` of the frame that was refused, when known
 * @property {SentFrame} [frame] that frame: it will not be re-sent
 */
/**
 * @typedef {object} Closed
 * @property {number} [code] the close code, when the server closed
 * @property {string} [error] `unauthorized`, `forbidden`, `invalid_room`, ... when the room
 *   refused us (fatal: no reconnect); absent after `close()`
 * @property {string} reason a sentence for humans
 */
/**
 * Frames we will never get. Not reported for frames a replay only left out for the room's byte
 * budget: the client fetches those itself and hands them on as usual.
 * @typedef {object} Gap
 * @property {"trimmed" | "reset"} reason trimmed: frames after our last `seq` were dropped from
 *   the room's history; reset: the room is behind us (its storage was reset)
 * @property {number} since the `seq` we asked to resume after
 * @property {number} seq the room's newest `seq`
 */
/**
 * @typedef {object} RoomClientEvents
 * @property {StateChange} state
 * @property {WelcomeFrame} welcome `self.token` is set for guests: the newest guest token
 * @property {MessageFrame} message a stored group message, or our own echoed. Stored frames
 *   (`message`, `direct`, `event`) come once each, in `seq` order: after a reconnect first those
 *   the replay left out for the room's byte budget (fetched with `history` before anything newer
 *   is handed on), then the replay, then live ones, so a page that appends them has no hole
 * @property {DirectFrame} direct a stored direct message, to or from us; in order as `message`
 * @property {EventFrame} event a pushed event; stored ones in order as `message`, live-only ones
 *   (no `seq`) as they come
 * @property {PresenceFrame} presence
 * @property {Member[]} members the member list after a welcome or a presence change
 * @property {AckFrame} ack
 * @property {ClientError} error
 * @property {HistoryFrame} history the answer to `requestHistory`; `complete: false` means older
 *   frames exist, even when the page is shorter than asked (the byte budget cut it). The
 *   client's own requests for what a replay left out are not reported here
 * @property {Gap} gap
 * @property {Closed} closed the connection ended for good
 * @property {QueuedFrame} queued desk customers: the conversation is open and waits for an
 *   agent (from its first message, and on every join while it waits); sent again as the
 *   position changes
 * @property {AssignedFrame} assigned desk: a conversation got an agent (on its first message,
 *   from the queue, by a transfer or after the agent's grace period); a customer gets it again
 *   on every join while the conversation is open
 * @property {ClosedFrame} conversationClosed desk: a conversation ended, closed by its agent or
 *   idle too long (`agent` null: it was still queued); the customer's next message opens a new
 *   one. The `closed` frame, not the connection's `closed`
 */
/**
 * The options of `new RoomClient(...)`; who joins (`token`, `name`, `guestToken`) is explained
 * on the constructor.
 *
 * @typedef {object} RoomClientOptions
 * @property {string} url the server's base URL: `https://host`, `ws://host:8787`, `location.origin`
 * @property {string} room the room's name, or the desk's with `kind: "desk"`
 * @property {"room" | "desk"} [kind] join `/room/<room>` (default) or the help desk `/desk/<room>`
 * @property {"agent" | "customer"} [role] desks only: `agent` needs a desk token of that role;
 *   customers may leave it out
 * @property {string} [name] the display name a new guest asks for (1-64 characters; default:
 *   one the room makes up); with a token, the token's name is used instead
 * @property {string} [token] a join token from your backend; `guestToken` is then ignored
 * @property {string} [guestToken] a guest token from an earlier `welcome`, to join as that guest
 * @property {(token: string | null) => void} [onGuestToken] called with every guest token a
 *   `welcome` hands out (before the `welcome` event), and with null when the stored one was
 *   refused and should be forgotten
 * @property {number} [since] resume after this `seq` on the first connection too
 * @property {number} [baseDelayMs] backoff base (default 500)
 * @property {number} [maxDelayMs] backoff cap (default 15000)
 * @property {number} [minUptimeMs] a connection must last this long before the retry count
 *   resets (default 5000), so a server that accepts and drops at once is not hammered
 * @property {number} [connectTimeoutMs] give up on a connection not welcomed by then (default 10000)
 * @property {number} [pingIntervalMs] keep-alive period (default 25000)
 * @property {number} [pongTimeoutMs] no traffic this long after a ping: the link is dead (default 10000)
 * @property {number} [maxFrameBytes] refuse to send larger frames (default 65536, the server's)
 * @property {boolean} [probe] after a failed connection, ask the server over HTTP why (a bad
 *   room or name is a 400 a WebSocket cannot read); default: when `fetch` exists
 * @property {typeof WebSocket} [WebSocket] the WebSocket class (default: the global one)
 * @property {() => number} [random] for the jitter (default Math.random), 0 <= r < 1
 */

export {};
