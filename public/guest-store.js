// @ts-check
/**
 * Where a page keeps its guest token between visits: one localStorage entry per key (the chat
 * page keys by name, the support widget by desk and name). The token is the guest's identity —
 * whoever holds it is that guest — so it stays in this browser profile, shared by its tabs (two
 * tabs are one member) and by reloads (the same id, so the same direct messages and the same
 * agent). A page hands `get()` to the client as `guestToken` and `set` as `onGuestToken`.
 */

const PREFIX = "edge-rooms:guest:";

/** @typedef {{ get(): string | undefined, set(token: string | null): void }} GuestStore */

/**
 * @param {string} key what this guest is for, e.g. the name it chats under
 * @returns {GuestStore}
 */
export function guestStore(key) {
  const item = PREFIX + key;
  return {
    get() {
      try {
        return localStorage.getItem(item) ?? undefined;
      } catch {
        return undefined; // storage disabled: a new guest, kept for this page's life by the client
      }
    },
    set(token) {
      try {
        if (token === null) localStorage.removeItem(item);
        else localStorage.setItem(item, token);
      } catch {
        // Storage disabled or full: the client still rejoins with the token while the page lives.
      }
    },
  };
}
