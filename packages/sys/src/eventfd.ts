import { SysArgumentError, SysError, SysStateError } from "./errors.js";
import { type EventFdHandle, native } from "./internal/native.js";

/** Options of {@link EventFd.create}. */
export interface EventFdOptions {
  /** Initial counter (0 to 2^32-1). Default 0. */
  initval?: number;
  /** EFD_SEMAPHORE: each read takes 1 instead of the whole counter. */
  semaphore?: boolean;
}

/** Options of {@link EventFd.watch}. */
export interface EventFdWatchOptions {
  /** The watcher failed (the fd was closed behind its back...); it has stopped. Without it: uncaught. */
  onError?: (err: SysError) => void;
}

/**
 * An eventfd (close-on-exec), owned by this object: `close()` closes it, and so does the teardown of the thread's
 * environment (a worker exiting). `watch()` waits with a poller on the event loop, never with a blocking read on the
 * libuv thread pool. Reads and signals never block, also on an adopted eventfd that is in blocking mode.
 */
export class EventFd {
  readonly #h: EventFdHandle;
  #fd: number;
  readonly #adopted: boolean;
  #watching = false;

  private constructor(fd: number, adopted: boolean) {
    this.#h = new native.EventFdHandle(fd, adopted);
    this.#fd = fd;
    this.#adopted = adopted;
  }

  /** A new eventfd (EFD_CLOEXEC | EFD_NONBLOCK). */
  static create(options: EventFdOptions = {}): EventFd {
    const fd = native.eventfdCreate(options.initval ?? 0, options.semaphore ?? false);
    try {
      return new EventFd(fd, false);
    } catch (e) {
      native.closeFd(fd);
      throw e;
    }
  }

  /**
   * Takes ownership of an eventfd (e.g. received over a socket): it is made close-on-exec (a flag of this process's
   * descriptor). Its file status flags are left alone: O_NONBLOCK lives on the open file description every holder
   * shares, and a peer that reads its eventfd in blocking mode must keep doing so. Reads are non-blocking per call
   * (`preadv2(RWF_NOWAIT)`), signals are preceded by a zero-timeout poll (see the README's "eventfd"). On a thrown
   * error the caller still owns `fd`.
   */
  static adopt(fd: number): EventFd {
    native.eventfdAdopt(fd);
    return new EventFd(fd, true);
  }

  /** The fd, or -1 once closed. Do not close it yourself. */
  get fd(): number {
    return this.#fd;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** True while a `watch()` listener is installed. */
  get watching(): boolean {
    return this.#watching;
  }

  /** Adds `n` (default 1) to the counter. SysError EAGAIN if the counter would overflow. */
  signal(n: number | bigint = 1): void {
    native.eventfdWrite(this.#live(), n, this.#adopted);
  }

  /** Reads and resets the counter (semaphore: takes 1): its value, or null when it is zero. Never blocks. */
  tryRead(): bigint | null {
    return native.eventfdRead(this.#live());
  }

  /**
   * Calls `listener` with each value read when the counter becomes non-zero (one read per wake-up; in semaphore mode
   * each call gets 1n). One watcher at a time.
   */
  watch(listener: (count: bigint) => void, options: EventFdWatchOptions = {}): void {
    this.#live();
    if (typeof listener !== "function") throw new SysArgumentError("watch() needs a listener function");
    if (this.#watching) throw new SysStateError("this EventFd is already watched");
    const onError = options.onError;
    this.#h.watch(listener, (errno) => {
      this.#watching = false;
      const err = new SysError(errno, "read");
      if (onError) onError(err);
      else throw err;
    });
    this.#watching = true;
  }

  /** Stops the watcher (the fd stays open). */
  unwatch(): void {
    this.#h.unwatch();
    this.#watching = false;
  }

  /** Lets the process exit while watching (like Timeout#unref). */
  unref(): this {
    this.#h.unref();
    return this;
  }

  /** Keeps the process alive while watching (the default). */
  ref(): this {
    this.#h.ref();
    return this;
  }

  /** Stops watching and closes the fd (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    this.#h.close();
    this.#fd = -1;
    this.#watching = false;
  }

  #live(): number {
    if (this.#fd < 0) throw new SysStateError("this EventFd is closed");
    return this.#fd;
  }
}
