// Loads the addon and declares its surface. Not part of the public API.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { SysArgumentError, SysError } from "../errors.js";

export interface SocketHandle {
  setCallbacks(
    /** A chunk: `length` bytes at `offset` of `buffer`, the receive buffer (valid during the call) or its own. */
    onData: (buffer: ArrayBuffer, offset: number, length: number, fds: number[] | undefined) => void,
    onDrain: () => void,
    onClose: (kind: number, errno: number, syscall: string) => void,
  ): void;
  start(maxRecvFds: number): void;
  setPaused(paused: boolean): void;
  /** bufferedAmount after the call, or -1 when the socket is (now) closed. */
  send(data: Uint8Array | readonly Uint8Array[], fds?: readonly number[]): number;
  /** This socket for `Native.sendPrefix` (keep it with the handle: it is valid as long as the handle is). */
  external(): SocketExternal;
  bufferedAmount(): number;
  fd(): number;
  isClosed(): boolean;
  closeError(): [kind: number, errno: number, syscall: string] | undefined;
  close(): void;
  ref(): void;
  unref(): void;
}

export interface ServerHandle {
  /** With callbacks: begin accepting; without: resume after an accept error. */
  start(onConnection?: (h: SocketHandle) => void, onError?: (errno: number) => void): void;
  close(unlink: boolean): void;
  ref(): void;
  unref(): void;
}

/** Owns an eventfd: closes it on close() or when the env (e.g. a worker) is torn down. */
export interface EventFdHandle {
  watch(onCount: (n: bigint) => void, onError: (errno: number) => void): void;
  unwatch(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

/** What closed a socket (SocketHandle onClose kind). */
export const CloseKind = { Eof: 0, Errno: 1, TooManyFds: 2 } as const;

declare const externalBrand: unique symbol;
export type SocketExternal = { readonly [externalBrand]: true };

declare const mappingBrand: unique symbol;
export type MappingHandle = { readonly [mappingBrand]: true };

interface Native {
  init(sysError: (errno: number, syscall: string, path?: string) => Error, argError: (m: string) => Error): void;
  SocketHandle: new (fd: number, verify: boolean) => SocketHandle;
  ServerHandle: new (path: string, mode: number, backlog: number) => ServerHandle;
  EventFdHandle: new (fd: number, adopted?: boolean) => EventFdHandle;
  connect(path: string): SocketHandle;
  socketPair(): [SocketHandle, SocketHandle];
  /** As `SocketHandle.send(data.subarray(0, length))`, for the socket `external()` gave. */
  sendPrefix(socket: SocketExternal, data: Uint8Array, length: number): number;
  closeFd(fd: number): void;
  dupFd(fd: number): number;
  ioctl(fd: number, request: number, arg?: Uint8Array | number | bigint): number;
  readFd(fd: number, buffer: Uint8Array, offset?: number, length?: number): number;
  writeFd(fd: number, buffer: Uint8Array, offset?: number, length?: number): number;
  memfdCreate(name: string, size: bigint, sealSize: boolean): number;
  ftruncate(fd: number, size: bigint): void;
  setThreadAffinity(cpus: number[]): void;
  threadAffinity(): number[];
  copyRanges(dst: Uint8Array, src: Uint8Array, plan: Uint32Array, n: number): void;
  fileSize(fd: number): bigint;
  mmap(fd: number, offset: bigint, length: number, writable: boolean): [ArrayBuffer, MappingHandle, bigint];
  unmap(handle: MappingHandle, buffer: ArrayBuffer): void;
  eventfdCreate(initval: number, semaphore: boolean): number;
  eventfdAdopt(fd: number): void;
  eventfdWrite(fd: number, count: bigint | number, shared?: boolean): void;
  eventfdRead(fd: number): bigint | null;
  readonly pageSize: number;
}

// dist/internal/native.js -> build/Release/emu_sys.node (the package root is two levels up).
const ADDON = "../../build/Release/emu_sys.node";

/**
 * Why the addon did not load, and the fix. Package managers that skip dependencies' build scripts (pnpm 10 until
 * the package is approved, any of them with --ignore-scripts) leave no addon behind; an addon built for another
 * node or system fails in dlopen.
 */
function addonLoadMessage(err: unknown, path: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "MODULE_NOT_FOUND") {
    return (
      `@emu/sys: its native addon is not built (${path} is missing): the package's install script, which builds ` +
      "it with node-gyp, did not run. pnpm 10 runs a dependency's build script only once approved: approve " +
      "@emu/sys with `pnpm approve-builds` (or list it under `onlyBuiltDependencies` in pnpm-workspace.yaml), then " +
      "run `pnpm rebuild @emu/sys`. With npm (without --ignore-scripts): `npm rebuild @emu/sys`. The build needs " +
      "python3, make and g++."
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return (
    `@emu/sys: its native addon ${path} failed to load (${detail}); it may have been built for another Node.js: ` +
    "rebuild it with `pnpm rebuild @emu/sys` or `npm rebuild @emu/sys`."
  );
}

function loadNative(): Native {
  try {
    return createRequire(import.meta.url)(ADDON) as Native;
  } catch (err) {
    throw new Error(addonLoadMessage(err, fileURLToPath(new URL(ADDON, import.meta.url))), { cause: err });
  }
}

const native = loadNative();
native.init(
  (errno, syscall, path) => new SysError(errno, syscall, path),
  (message) => new SysArgumentError(message),
);

export { native };
