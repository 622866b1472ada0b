/**
 * The client's events: typed listeners per event name. A listener that throws is logged and
 * skipped, never allowed to stop the protocol (acks, dedupe) running underneath the page.
 */
export type Listener<T> = (detail: T) => void;

export class Emitter<Events extends object> {
  #listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const set: Set<Listener<Events[K]>> = (this.#listeners[type] ??= new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof Events>(type: K, detail: Events[K]): void {
    for (const listener of this.#listeners[type] ?? []) {
      try {
        listener(detail);
      } catch (err) {
        // A page's rendering bug must not stop the protocol (acks, dedupe) underneath it.
        console.error(`rooms-client: a "${String(type)}" listener threw`, err);
      }
    }
  }
}
