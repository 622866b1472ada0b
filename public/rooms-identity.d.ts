// Generated from the JSDoc of rooms-identity.js by test/node/client.test.ts; do not edit.
// Rewrite it with: UPDATE_TYPES=1 npx vitest run -c vitest.e2e.config.ts test/node/client.test.ts
/**
 * Who the client joins as (docs/protocol.md): a backend's join token, or a guest, who is
 * whoever holds the guest token the room hands out in every `welcome`. This module keeps that
 * token — the page's stored one at first, then the newest from a welcome — so every reconnect
 * is the same guest, tells the page about each new one, and decides what a refusal of it means.
 * No sockets here: rooms-client.js asks it for the token to join with and tells it what the
 * room said.
 */
export type Self = import("./rooms-protocol.js").Self;
export type Refusal = import("./rooms-connect.js").Refusal;
export type RoomClientOptions = import("./rooms-client-types.js").RoomClientOptions;
export declare class Identity {
  #private;
  /** @param {Pick<RoomClientOptions, "token" | "guestToken" | "onGuestToken">} options */
  constructor({
    token,
    guestToken,
    onGuestToken,
  }: Pick<RoomClientOptions, "token" | "guestToken" | "onGuestToken">);
  /** The newest guest token; null with a backend's token, or before a new guest's welcome. */
  get guestToken(): string | null;
  /** The token the next join carries: the backend's, else our guest token; none: a new guest. */
  get joinToken(): string | undefined;
  /**
   * The room welcomed us. Every guest welcome carries a fresh token (its 30 days start again):
   * the next join must use it, or a reconnect would be a new guest whose re-sent frames are
   * someone else's. A backend's token stays what it is.
   * @param {Self} self
   */
  welcomed(self: Self): void;
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
  refused(refusal: Refusal): boolean;
}
