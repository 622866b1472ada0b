/**
 * Who the client joins as: a backend's join token, or a guest, who is whoever holds the guest
 * token the room hands out in every `welcome`. This module keeps that token — the page's stored
 * one at first, then the newest from a welcome — so every reconnect is the same guest, tells the
 * page about each new one, and decides what a refusal of it means. No sockets here: the client
 * asks it for the token to join with and tells it what the room said.
 */
import type { Self } from "../protocol/frames.ts";
import type { Refusal } from "./connect.ts";
import type { RoomClientOptions } from "./types.ts";

export class Identity {
  #token: string | undefined;
  #guestToken: string | null;
  #onGuestToken: ((token: string | null) => void) | undefined;

  constructor({
    token,
    guestToken,
    onGuestToken,
  }: Pick<RoomClientOptions, "token" | "guestToken" | "onGuestToken">) {
    this.#token = token;
    // A backend's token decides who we are: a stored guest token next to it is not used.
    this.#guestToken = token === undefined ? (guestToken ?? null) : null;
    this.#onGuestToken = onGuestToken;
  }

  /** The newest guest token; null with a backend's token, or before a new guest's welcome. */
  get guestToken(): string | null {
    return this.#guestToken;
  }

  /** The token the next join carries: the backend's, else our guest token; none: a new guest. */
  get joinToken(): string | undefined {
    return this.#token ?? this.#guestToken ?? undefined;
  }

  /**
   * The room welcomed us. Every guest welcome carries a token good for 29 days or more (the
   * same one while it is under a day old, else a new one whose 30 days start again):
   * the next join must use it, or a reconnect would be a new guest whose re-sent frames are
   * someone else's. A backend's token stays what it is.
   */
  welcomed(self: Self): void {
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
   * renew. Returns whether the client should join again at once, as a new guest.
   */
  refused(refusal: Refusal): boolean {
    if (refusal.code !== "unauthorized" || this.#token !== undefined) return false;
    if (this.#guestToken === null) return false; // a new guest refused: nothing left to drop
    this.#guestToken = null;
    this.#tell(null);
    return true;
  }

  #tell(token: string | null): void {
    try {
      this.#onGuestToken?.(token);
    } catch (err) {
      // A page's storage bug must not stop the join: the client still holds the token.
      console.error("rooms-client: onGuestToken threw", err);
    }
  }
}
