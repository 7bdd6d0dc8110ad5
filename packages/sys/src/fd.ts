import { native } from "./internal/native.js";

/** close(2). SysError EBADF if `fd` is not open. */
export function closeFd(fd: number): void {
  native.closeFd(fd);
}

/**
 * Closes every fd of `fds`, ignoring the ones already closed: the one way to drop descriptors that arrived with a
 * message (SCM_RIGHTS) or were handed over and are no longer wanted.
 */
export function closeFds(fds: Iterable<number>): void {
  for (const fd of fds) {
    try {
      native.closeFd(fd);
    } catch {
      // already closed
    }
  }
}

/** A close-on-exec duplicate of `fd` (F_DUPFD_CLOEXEC). */
export function dupFd(fd: number): number {
  return native.dupFd(fd);
}

/**
 * ioctl(2). `request` is an unsigned 32-bit number (numbers up to 2^32-1, or negative int32 forms, are accepted:
 * some VFIO requests exceed 2^31). A Uint8Array `arg` is passed by pointer (an in/out struct; when the request
 * encodes a size, the array must be at least that long), a number or bigint by value, none as 0.
 * Returns the ioctl's non-negative result; -1 from the kernel throws a SysError (e.g. ENOTTY).
 */
export function ioctl(fd: number, request: number, arg?: Uint8Array | number | bigint): number {
  return arg === undefined ? native.ioctl(fd, request) : native.ioctl(fd, request, arg);
}

/**
 * One read(2) of at most `length` bytes into `buffer` at `offset` (defaults: the whole array). Returns the bytes read
 * (0: end of file), or -1 when the fd is non-blocking and has nothing now (EAGAIN): a poll loop (a worker polling a
 * TAP fd, a pipe) asks again without paying for an exception per empty poll. Any other error throws SysError.
 */
export function readFd(fd: number, buffer: Uint8Array, offset?: number, length?: number): number {
  return native.readFd(fd, buffer, offset, length);
}

/**
 * One write(2) of `length` bytes of `buffer` from `offset` (defaults: the whole array). Returns the bytes written, or
 * -1 when a non-blocking fd cannot take them now (EAGAIN). Any other error throws SysError.
 */
export function writeFd(fd: number, buffer: Uint8Array, offset?: number, length?: number): number {
  return native.writeFd(fd, buffer, offset, length);
}
