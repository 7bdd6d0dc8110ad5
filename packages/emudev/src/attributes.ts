// Named attributes of a device (e.g. "mac", "link", "queues"): the driver declares them, the application and the
// provider read and set them, every change is an event.
import { EmudevError } from "./errors.js";

/** An attribute as the driver declares it. Without `set` it is read-only from outside. */
export interface AttributeDescription {
  get(): unknown;
  /** Checks and applies a value set from outside; throws (any error) to refuse it. */
  set?(value: unknown): void;
}

/** The attributes of one device. */
export class AttributeTable {
  constructor(
    private readonly table: Readonly<Record<string, AttributeDescription>>,
    private readonly onChange: (name: string, value: unknown) => void,
  ) {}

  private find(name: string): AttributeDescription {
    const a = Object.hasOwn(this.table, name) ? this.table[name] : undefined;
    if (a === undefined)
      throw new EmudevError(
        "UnknownResource",
        `no attribute "${name}" (the device has: ${Object.keys(this.table).join(", ") || "none"})`,
      );
    return a;
  }

  names(): readonly string[] {
    return Object.keys(this.table);
  }

  get(name: string): unknown {
    return this.find(name).get();
  }

  set(name: string, value: unknown): void {
    const a = this.find(name);
    if (a.set === undefined) throw new EmudevError("InvalidValue", `attribute "${name}" is read-only`);
    try {
      a.set(value);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new EmudevError("InvalidValue", `attribute "${name}" refused ${String(value)}: ${why}`, { cause: e });
    }
    this.onChange(name, a.get());
  }

  /** The driver changed an attribute itself: tell the listeners. */
  changed(name: string): void {
    this.onChange(name, this.find(name).get());
  }
}
