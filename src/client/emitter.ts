type Listener<T> = (value: T) => void;

/** A tiny typed event emitter; `on` returns the function that removes the listener. */
export class Emitter<Events extends object> {
  #listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    const listeners = this.#listeners[name] ?? new Set();
    this.#listeners[name] = listeners;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const listeners = this.#listeners[name];
    if (!listeners) return;
    // A throwing listener must not stop the others nor the connection's own bookkeeping.
    for (const listener of [...listeners]) {
      try {
        listener(value);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
