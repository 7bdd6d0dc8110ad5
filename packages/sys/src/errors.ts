import { getSystemErrorMap } from "node:util";

/**
 * A failed system call. `code` is the errno name ("ENOTTY", "EADDRINUSE"...), `errno` its positive number,
 * `syscall` the call that failed; `path` is set for calls on a path (bind, connect...).
 */
export class SysError extends Error {
  readonly _tag = "SysError" as const;
  override readonly name = "SysError";
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(errno: number, syscall: string, path?: string, detail?: string) {
    const [code, text] = describeErrno(errno);
    super(`${syscall} ${code}: ${detail ?? text}${path === undefined ? "" : ` '${path}'`}`);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

/** A bad argument from JS (wrong type, negative fd, unaligned offset, length 0...). Nothing was done. */
export class SysArgumentError extends Error {
  readonly _tag = "SysArgumentError" as const;
  override readonly name = "SysArgumentError";
}

/** An operation that the object's state does not allow (e.g. `start()` twice, `watch()` twice). */
export class SysStateError extends Error {
  readonly _tag = "SysStateError" as const;
  override readonly name = "SysStateError";
}

/**
 * The peer sent more fds with one message than `maxRecvFds`. The fds that did arrive were closed and the socket was
 * closed: the byte stream and the fds can no longer be matched.
 */
export class TooManyFdsError extends Error {
  readonly _tag = "TooManyFdsError" as const;
  override readonly name = "TooManyFdsError";
  readonly limit: number;
  constructor(limit: number) {
    super(`the peer sent more than ${limit} fds with one message (maxRecvFds); the socket was closed`);
    this.limit = limit;
  }
}

/** Every error this package throws or delivers. */
export type EmuSysError = SysError | SysArgumentError | SysStateError | TooManyFdsError;

/** Why a socket closed, as given to `onClose`: undefined for end of stream or a local `close()`. */
export type SocketCloseError = SysError | TooManyFdsError;

const hasTag = (u: unknown, tag: string): boolean =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === tag;

/** Type guards on `_tag` (they also recognise errors from another copy of this package). */
export const isSysError = (u: unknown): u is SysError => hasTag(u, "SysError");
export const isSysArgumentError = (u: unknown): u is SysArgumentError => hasTag(u, "SysArgumentError");
export const isSysStateError = (u: unknown): u is SysStateError => hasTag(u, "SysStateError");
export const isTooManyFdsError = (u: unknown): u is TooManyFdsError => hasTag(u, "TooManyFdsError");
export const isEmuSysError = (u: unknown): u is EmuSysError =>
  isSysError(u) || isSysArgumentError(u) || isSysStateError(u) || isTooManyFdsError(u);

let errnoMap: Map<number, [string, string]> | undefined;
function describeErrno(errno: number): [code: string, text: string] {
  errnoMap ??= getSystemErrorMap();
  return errnoMap.get(-errno) ?? [`Unknown system error ${errno}`, `errno ${errno}`];
}
