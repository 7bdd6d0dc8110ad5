// memory.c: memfd, ftruncate and file size, and mmap/unmap of a shared mapping as an external ArrayBuffer.
#include "emu_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef EMU_MAX_MAP
#define EMU_MAX_MAP ((uint64_t)1 << 32) /* Node 20 refuses ArrayBuffers above 4 GiB */
#endif

/* memfdCreate(name, size: bigint, sealSize?: boolean) -> fd. With sealSize, the size is sealed once set (F_SEAL_SHRINK,
   F_SEAL_GROW, then F_SEAL_SEAL): nobody holding the fd can shrink the file under a mapping of it (a SIGBUS). */
napi_value emu_memfd_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "name and size are required");
  char name[250];
  if (!emu_arg_str(env, argv[0], name, sizeof name, "name")) return NULL;
  uint64_t size;
  if (!emu_arg_u64(env, argv[1], &size, "size")) return NULL;
  if (size > (uint64_t)INT64_MAX) return emu_throw_arg(env, "size is too large");
  bool seal = false;
  if (argc > 2 && !emu_arg_bool(env, argv[2], &seal)) return NULL;
  int fd = memfd_create(name, MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0));
  if (fd < 0) return emu_throw_sys(env, errno, "memfd_create", NULL);
  int r;
  do {
    r = size > 0 ? ftruncate(fd, (off_t)size) : 0;
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    return emu_throw_sys(env, err, "ftruncate", NULL);
  }
  if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    int err = errno;
    close(fd);
    return emu_throw_sys(env, err, "fcntl", NULL);
  }
  return emu_return_fd(env, fd);
}

napi_value emu_ftruncate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "fd and size are required");
  int fd;
  uint64_t size;
  if (!emu_arg_fd(env, argv[0], &fd, "fd") || !emu_arg_u64(env, argv[1], &size, "size")) return NULL;
  if (size > (uint64_t)INT64_MAX) return emu_throw_arg(env, "size is too large");
  int r;
  do {
    r = ftruncate(fd, (off_t)size);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return emu_throw_sys(env, errno, "ftruncate", NULL);
  return emu_undef(env);
}

napi_value emu_file_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1) return emu_throw_arg(env, "fd is required");
  if (!emu_arg_fd(env, argv[0], &fd, "fd")) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return emu_throw_sys(env, errno, "fstat", NULL);
  NAPI(napi_create_bigint_int64(env, (int64_t)st.st_size, &v));
  return v;
}

typedef struct {
  void* addr;
  size_t len;
  int unmapped;
  int in_create;
  int finalized_in_create;
} mapping;

/* Runs when the ArrayBuffer's memory is released: after GC, or after unmap() detached it (then already unmapped).
   Node 20 also calls it synchronously when creating the external ArrayBuffer fails: emu_mmap then owns `m`. */
static void mapping_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  mapping* m = (mapping*)hint;
  if (!m->unmapped) {
    munmap(m->addr, m->len);
    m->unmapped = 1;
  }
  if (m->in_create) {
    m->finalized_in_create = 1;
    return;
  }
  free(m);
}

/* mmap(fd, offset: bigint, length: number, writable: boolean) -> [ArrayBuffer, handle, address: bigint] */
napi_value emu_mmap(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return emu_throw_arg(env, "fd, offset, length and access are required");
  int fd;
  uint64_t off, len;
  bool writable;
  if (!emu_arg_fd(env, argv[0], &fd, "fd") || !emu_arg_u64(env, argv[1], &off, "offset") ||
      !emu_arg_u64(env, argv[2], &len, "length"))
    return NULL;
  emu_arg_bool(env, argv[3], &writable);
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  if (off % page != 0)
    return emu_throw_arg(env, "offset %llu is not a multiple of the page size (%llu)", (unsigned long long)off,
                         (unsigned long long)page);
  if (len == 0 || len > EMU_MAX_MAP)
    return emu_throw_arg(env, "length must be 1 to %llu bytes (Node 20 refuses larger ArrayBuffers: use mmapWindows)",
                         (unsigned long long)EMU_MAX_MAP);
  if (off > (uint64_t)INT64_MAX - len) return emu_throw_arg(env, "offset + length overflows");
  /* Touching a page beyond the end of a file raises SIGBUS: refuse such mappings of regular files (memfds
     included). Device fds (e.g. VFIO regions) have no meaningful size and are not checked. */
  struct stat fst;
  if (fstat(fd, &fst) < 0) return emu_throw_sys(env, errno, "fstat", NULL);
  if (S_ISREG(fst.st_mode) && off + len > (uint64_t)fst.st_size)
    return emu_throw_arg(env,
                         "offset %llu + length %llu is beyond the end of the file (%lld bytes): touching it would "
                         "raise SIGBUS",
                         (unsigned long long)off, (unsigned long long)len, (long long)fst.st_size);
  void* addr = mmap(NULL, (size_t)len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, (off_t)off);
  if (addr == MAP_FAILED) return emu_throw_sys(env, errno, "mmap", NULL);
  mapping* m = (mapping*)calloc(1, sizeof(mapping));
  if (!m) {
    munmap(addr, (size_t)len);
    return emu_throw_sys(env, ENOMEM, "malloc", NULL);
  }
  m->addr = addr;
  m->len = (size_t)len;
  m->in_create = 1;
  napi_value ab, handle, arr;
  napi_status st = napi_create_external_arraybuffer(env, addr, (size_t)len, mapping_finalize, m, &ab);
  m->in_create = 0;
  if (st != napi_ok) {
    if (!m->unmapped) munmap(addr, (size_t)len);
    m->unmapped = 1;
    /* If the finalizer already ran (Node 20: synchronously), it left m to us; if it may still run later, it will
       free m then (a few bytes leak if it never does). */
    if (m->finalized_in_create) free(m);
    return emu_napi_failed(env);
  }
  /* From here the ArrayBuffer owns the mapping; the handle only points at it (no finalizer). */
  napi_value address;
  NAPI(napi_create_external(env, m, NULL, NULL, &handle));
  NAPI(napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)addr, &address));
  NAPI(napi_create_array_with_length(env, 3, &arr));
  NAPI(napi_set_element(env, arr, 0, ab));
  NAPI(napi_set_element(env, arr, 1, handle));
  NAPI(napi_set_element(env, arr, 2, address));
  return arr;
}

/* unmap(handle, arrayBuffer): munmap now and detach the ArrayBuffer (views then have length 0). The caller
   guarantees it is called at most once per mapping (m may be freed by the detach). */
napi_value emu_unmap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return emu_throw_arg(env, "handle and buffer are required");
  napi_valuetype t;
  bool is_ab = false;
  void* p = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p ||
      napi_is_arraybuffer(env, argv[1], &is_ab) != napi_ok || !is_ab)
    return emu_throw_arg(env, "not a mapping");
  /* A detached buffer may mean m is already freed: check that before touching m. While the buffer is attached,
     its finalizer has not run, so m is alive. */
  bool detached = false;
  if (napi_is_detached_arraybuffer(env, argv[1], &detached) != napi_ok || detached)
    return emu_throw_arg(env, "mapping already unmapped (its ArrayBuffer is detached)");
  mapping* m = (mapping*)p;
  void* data = NULL;
  size_t len = 0;
  NAPI(napi_get_arraybuffer_info(env, argv[1], &data, &len));
  if (m->unmapped || data != m->addr || len != m->len)
    return emu_throw_arg(env, "buffer does not belong to this mapping");
  if (munmap(m->addr, m->len) < 0) return emu_throw_sys(env, errno, "munmap", NULL);
  m->unmapped = 1;
  /* No JS runs between munmap and detach. The detach may release the backing store and run the finalizer. */
  NAPI(napi_detach_arraybuffer(env, argv[1]));
  return emu_undef(env);
}
