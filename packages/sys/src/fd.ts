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
