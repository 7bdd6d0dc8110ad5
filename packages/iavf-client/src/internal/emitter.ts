/** A small typed event emitter: listeners by event name, `on` returns the unsubscribe function. */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(kind: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(kind);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(kind, set);
    }
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  /** Calls every listener of `kind`; a listener that throws does not stop the others (its error is reported). */
  emit<K extends keyof Events>(kind: K, value: Events[K], onListenerError: (e: unknown) => void): void {
    for (const l of [...(this.listeners.get(kind) ?? [])]) {
      try {
        (l as (v: Events[K]) => void)(value);
      } catch (e) {
        onListenerError(e);
      }
    }
  }
}
