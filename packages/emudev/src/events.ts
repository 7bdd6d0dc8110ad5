// What an emudev device tells its application and its provider, and the subscription to it.
import type { DmaRegionInfo, ResetReason } from "@emu/vfio-user-server";

/** Device → application/provider notifications. */
export type EmudevEvent =
  /** The driver says the guest has configured the device: queues may be used (the provider's `deviceConfigured`). */
  | { readonly kind: "ready" }
  /** The driver says the device is no longer usable as configured (e.g. the guest began a reset). */
  | { readonly kind: "notReady" }
  /** A queue was enabled or disabled (its info is `device.queue(queue)`). */
  | { readonly kind: "queueState"; readonly queue: number; readonly enabled: boolean }
  /** The device was reset: by the client (DEVICE_RESET), by a function-level reset, or by the driver itself. */
  | { readonly kind: "reset"; readonly reason: ResetReason | "driver" }
  /** The DMA table changed: a mapping was added or is going away (views of it read empty after). */
  | { readonly kind: "dmaTable"; readonly change: "map" | "unmap"; readonly region: DmaRegionInfo }
  /** An attribute changed (e.g. "link"), from the driver or from `setAttribute`. */
  | { readonly kind: "attribute"; readonly name: string; readonly value: unknown }
  /** A client connected (VERSION done) or went away. */
  | { readonly kind: "connection"; readonly connected: boolean };

export type EmudevEventKind = EmudevEvent["kind"];
export type EmudevEventOf<K extends EmudevEventKind> = Extract<EmudevEvent, { kind: K }>;
export type EmudevListener<K extends EmudevEventKind> = (event: EmudevEventOf<K>) => void;

/** Subscribes to one kind of event ("*" for all); returns the unsubscribe function. */
export interface EmudevEvents {
  on<K extends EmudevEventKind>(kind: K, listener: EmudevListener<K>): () => void;
  on(kind: "*", listener: (event: EmudevEvent) => void): () => void;
}

/** Listeners by kind. A listener that throws is reported to `onError`; the others still run. */
export class EventHub implements EmudevEvents {
  private readonly listeners = new Map<string, Set<(e: EmudevEvent) => void>>();

  constructor(private readonly onError: (e: unknown) => void) {}

  on(kind: string, listener: (e: never) => void): () => void {
    let set = this.listeners.get(kind);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(kind, set);
    }
    const l = listener as (e: EmudevEvent) => void;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  emit(event: EmudevEvent): void {
    for (const kind of [event.kind, "*"])
      for (const l of [...(this.listeners.get(kind) ?? [])]) {
        try {
          l(event);
        } catch (e) {
          this.onError(e);
        }
      }
  }

  clear(): void {
    this.listeners.clear();
  }
}
