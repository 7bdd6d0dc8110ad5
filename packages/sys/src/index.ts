export { CopyBatch, copyRanges } from "./copy.js";
export {
  type EmuSysError,
  isEmuSysError,
  isSysArgumentError,
  isSysError,
  isSysStateError,
  isTooManyFdsError,
  type SocketCloseError,
  SysArgumentError,
  SysError,
  SysStateError,
  TooManyFdsError,
} from "./errors.js";
export { EventFd, type EventFdOptions, type EventFdWatchOptions } from "./eventfd.js";
export { closeFd, closeFds, dupFd, ioctl, readFd, writeFd } from "./fd.js";
export {
  fileSize,
  ftruncate,
  MAX_MAPPING_LENGTH,
  type MapAccess,
  type Mapping,
  type MemfdOptions,
  memfdCreate,
  mmap,
  mmapWindows,
  pageSize,
} from "./memory.js";
export {
  MAX_FDS_PER_MESSAGE,
  type UnixConnectOptions,
  type UnixListenOptions,
  UnixServer,
  UnixSocket,
  type UnixSocketHandlers,
  type UnixSocketStartOptions,
} from "./socket.js";
export { setThreadAffinity, threadAffinity } from "./thread.js";
