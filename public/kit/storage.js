// @ts-check
/**
 * What a page keeps in this browser between visits: one localStorage entry per key, read and
 * written so that a browser with storage disabled or full never breaks the page — it only
 * forgets sooner.
 *
 * The guest token is the one identity kept this way (the chat page keys it by name, the support
 * widget by desk and name). Whoever holds it is that guest, so it stays in this browser profile,
 * shared by its tabs (two tabs are one member) and by reloads (the same id, so the same direct
 * messages and the same agent). A page hands `get()` to the client as `guestToken` and `set` as
 * `onGuestToken`.
 */

const PREFIX = "edge-rooms:";

/** @typedef {{ get(): string | undefined, set(value: string | null): void }} StoredItem */
/** @typedef {StoredItem} GuestStore */

/**
 * One entry; `set(null)` removes it.
 * @param {string} key
 * @returns {StoredItem}
 */
export function storedItem(key) {
  const item = PREFIX + key;
  return {
    get() {
      try {
        return localStorage.getItem(item) ?? undefined;
      } catch {
        return undefined; // storage disabled: as if nothing was kept
      }
    },
    set(value) {
      try {
        if (value === null) localStorage.removeItem(item);
        else localStorage.setItem(item, value);
      } catch {
        // Storage disabled or full: the page still has the value while it lives.
      }
    },
  };
}

/**
 * The guest token of one guest of this browser. Without storage the client still rejoins with
 * the token it was given while the page lives; a reload is then a new guest.
 * @param {string} key what this guest is for, e.g. the name it chats under
 * @returns {GuestStore}
 */
export const guestStore = (key) => storedItem(`guest:${key}`);
