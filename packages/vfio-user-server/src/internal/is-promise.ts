import type { MaybePromise } from "../device.js";

/** A callback's result went asynchronous (a thenable). */
export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}
