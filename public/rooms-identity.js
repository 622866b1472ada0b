// @ts-check
/**
 * Who the client joins as (docs/protocol.md): a backend's join token, or a guest, who is
 * whoever holds the guest token the room hands out in every `welcome`. This module keeps that
 * token — the page's stored one at first, then the newest from a welcome — so every reconnect
 * is the same guest, tells the page about each new one, and decides what a refusal of it means.
 * No sockets here: rooms-client.js asks it for the token to join with and tells it what the
 * room said.
 */

/** @typedef {import("./rooms-protocol.js").Self} Self */
/** @typedef {import("./rooms-connect.js").Refusal} Refusal */
/** @typedef {import("./rooms-client-types.js").RoomClientOptions} RoomClientOptions */

export class Identity {
  /** @type {string | undefined} */
  #token;
  /** @type {string | null} */
  #guestToken;
  /** @type {((token: string | null) => void) | undefined} */
  #onGuestToken;

  /** @param {Pick<RoomClientOptions, "token" | "guestToken" | "onGuestToken">} options */
  constructor({ token, guestToken, onGuestToken }) {
    this.#token = token;
    // A backend's token decides who we are: a stored guest token next to it is not used.
    this.#guestToken = token === undefined ? (guestToken ?? null) : null;
    this.#onGuestToken = onGuestToken;
  }

  /** The newest guest token; null with a backend's token, or before a new guest's welcome. */
  get guestToken() {
    return this.#guestToken;
  }

  /** The token the next join carries: the backend's, else our guest token; none: a new guest. */
  get joinToken() {
    return this.#token ?? this.#guestToken ?? undefined;
  }

  /**
   * The room welcomed us. Every guest welcome carries a fresh token (its 30 days start again):
   * the next join must use it, or a reconnect would be a new guest whose re-sent frames are
   * someone else's. A backend's token stays what it is.
   * @param {Self} self
   */
  welcomed(self) {
    if (self.token === undefined || this.#token !== undefined) return;
    this.#guestToken = self.token;
    this.#tell(self.token);
  }

  /**
   * The room refused who we are. A guest token it no longer accepts (`unauthorized`: expired,
   * or signed with a secret the server has since replaced) cannot become good again: rather
   * than stay out for good, we forget it (the page is told, to drop its copy) and join as a new
   * guest. Any other refusal is final: `forbidden` means this place refuses guests (the token
   * is still good elsewhere, so the page keeps it), and a backend's token is the backend's to
   * renew.
   * @param {Refusal} refusal
   * @returns {boolean} whether the client should join again at once, as a new guest
   */
  refused(refusal) {
    if (refusal.code !== "unauthorized" || this.#token !== undefined) return false;
    if (this.#guestToken === null) return false; // a new guest refused: nothing left to drop
    this.#guestToken = null;
    this.#tell(null);
    return true;
  }

  /** @param {string | null} token */
  #tell(token) {
    try {
      this.#onGuestToken?.(token);
    } catch (err) {
      // A page's storage bug must not stop the join: the client still holds the token.
      console.error("rooms-client: onGuestToken threw", err);
    }
  }
}
