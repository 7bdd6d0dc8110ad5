import { SysError, SysStateError } from "./errors.js";
import { type WatchHandle, native } from "./internal/native.js";

export interface EventFdOptions {
  /** Initial counter (0 to 2^32-1). Default 0. */
  initval?: number;
  /** EFD_SEMAPHORE: each read takes 1 instead of the whole counter. */
  semaphore?: boolean;
}

export interface EventFdWatchOptions {
  /** The watcher failed (the fd was closed behind its back...); it has stopped. Without it: uncaught. */
  onError?: (err: SysError) => void;
}

/**
 * An eventfd (close-on-exec, non-blocking). `watch()` waits with a poller on the event loop, never with a blocking
 * read on the libuv thread pool.
 */
export class EventFd {
  #fd: number;
  #watch: WatchHandle | undefined;
  #unref = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  static create(options: EventFdOptions = {}): EventFd {
    return new EventFd(native.eventfdCreate(options.initval ?? 0, options.semaphore ?? false));
  }

  /**
   * Takes ownership of an eventfd (e.g. received over a socket): it is made close-on-exec and non-blocking (the
   * O_NONBLOCK flag is shared with every process holding it). On a thrown error the caller still owns `fd`.
   */
  static adopt(fd: number): EventFd {
    native.eventfdAdopt(fd);
    return new EventFd(fd);
  }

  /** The fd, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  get watching(): boolean {
    return this.#watch !== undefined;
  }

  /** Adds `n` (default 1) to the counter. SysError EAGAIN if the counter would overflow. */
  signal(n: number | bigint = 1): void {
    native.eventfdWrite(this.#live(), n);
  }

  /** Reads and resets the counter (semaphore: takes 1): its value, or null when it is zero. Never blocks. */
  tryRead(): bigint | null {
    return native.eventfdRead(this.#live());
  }

  /** Calls `listener` with each value read when the counter becomes non-zero. One watcher at a time. */
  watch(listener: (count: bigint) => void, options: EventFdWatchOptions = {}): void {
    const fd = this.#live();
    if (this.#watch) throw new SysStateError("this EventFd is already watched");
    if (typeof listener !== "function") throw new SysStateError("watch() needs a listener function");
    const onError = options.onError;
    const w = new native.WatchHandle(fd, listener, (errno) => {
      if (this.#watch === w) this.#watch = undefined;
      const err = new SysError(errno, "read");
      if (onError) onError(err);
      else throw err;
    });
    if (this.#unref) w.unref();
    this.#watch = w;
  }

  unwatch(): void {
    this.#watch?.stop();
    this.#watch = undefined;
  }

  /** Lets the process exit while watching. */
  unref(): this {
    this.#unref = true;
    this.#watch?.unref();
    return this;
  }

  ref(): this {
    this.#unref = false;
    this.#watch?.ref();
    return this;
  }

  /** Stops watching and closes the fd (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    this.unwatch();
    const fd = this.#fd;
    this.#fd = -1;
    native.closeFd(fd);
  }

  #live(): number {
    if (this.#fd < 0) throw new SysStateError("this EventFd is closed");
    return this.#fd;
  }
}
