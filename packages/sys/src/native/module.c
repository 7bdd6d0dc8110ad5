// module.c: the addon's entry point: per-env state (instance data, so worker threads each have their own),
// init() and the exports.
#include "emu_sys.h"

#include <stdlib.h>
#include <unistd.h>

env_data* emu_env_data(napi_env env) {
  void* p = NULL;
  if (napi_get_instance_data(env, &p) != napi_ok) return NULL;
  return (env_data*)p;
}

static void ed_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  env_data* ed = (env_data*)data;
  if (ed->sys_error) napi_delete_reference(env, ed->sys_error);
  if (ed->arg_error) napi_delete_reference(env, ed->arg_error);
  if (ed->sock_ctor) napi_delete_reference(env, ed->sock_ctor);
  if (ed->rbuf) napi_delete_reference(env, ed->rbuf);
  free(ed);
}

/* init(sysErrorFactory, argErrorFactory): called once by the TypeScript loader. */
static napi_value f_init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  env_data* ed = emu_env_data(env);
  if (!ed) return emu_napi_failed(env);
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc >= 2) {
    napi_typeof(env, argv[0], &t0);
    napi_typeof(env, argv[1], &t1);
  }
  if (t0 != napi_function || t1 != napi_function) return emu_throw_arg(env, "init needs two functions");
  if (ed->sys_error) napi_delete_reference(env, ed->sys_error);
  if (ed->arg_error) napi_delete_reference(env, ed->arg_error);
  ed->sys_error = ed->arg_error = NULL;
  NAPI(napi_create_reference(env, argv[0], 1, &ed->sys_error));
  NAPI(napi_create_reference(env, argv[1], 1, &ed->arg_error));
  return emu_undef(env);
}

static napi_value Init(napi_env env, napi_value exports) {
  env_data* ed = (env_data*)calloc(1, sizeof(env_data));
  if (!ed) return emu_napi_failed(env);
  if (napi_get_uv_event_loop(env, &ed->loop) != napi_ok) {
    free(ed);
    return emu_napi_failed(env);
  }
  if (napi_set_instance_data(env, ed, ed_finalize, NULL) != napi_ok) {
    free(ed);
    return emu_napi_failed(env);
  }

  napi_value sock_cls = emu_socket_class(env);
  if (!sock_cls) return NULL;
  NAPI(napi_create_reference(env, sock_cls, 1, &ed->sock_ctor));
  napi_value server_cls = emu_server_class(env);
  if (!server_cls) return NULL;
  napi_value efd_cls = emu_eventfd_handle_class(env);
  if (!efd_cls) return NULL;

  napi_value page;
  NAPI(napi_create_double(env, (double)sysconf(_SC_PAGESIZE), &page));

  napi_property_descriptor props[] = {
      EMU_METHOD("init", f_init),
      EMU_METHOD("connect", emu_connect),
      EMU_METHOD("socketPair", emu_socket_pair),
      EMU_METHOD("sendPrefix", emu_sock_send_prefix),
      EMU_METHOD("closeFd", emu_close_fd),
      EMU_METHOD("dupFd", emu_dup_fd),
      EMU_METHOD("ioctl", emu_ioctl),
      EMU_METHOD("readFd", emu_read_fd),
      EMU_METHOD("writeFd", emu_write_fd),
      EMU_METHOD("memfdCreate", emu_memfd_create),
      EMU_METHOD("ftruncate", emu_ftruncate),
      EMU_METHOD("fileSize", emu_file_size),
      EMU_METHOD("mmap", emu_mmap),
      EMU_METHOD("unmap", emu_unmap),
      EMU_METHOD("eventfdCreate", emu_eventfd_create),
      EMU_METHOD("eventfdAdopt", emu_eventfd_adopt),
      EMU_METHOD("eventfdWrite", emu_eventfd_write),
      EMU_METHOD("eventfdRead", emu_eventfd_read),
      EMU_METHOD("setThreadAffinity", emu_set_thread_affinity),
      EMU_METHOD("threadAffinity", emu_thread_affinity),
      EMU_METHOD("copyRanges", emu_copy_ranges),
      {"SocketHandle", NULL, NULL, NULL, NULL, sock_cls, napi_enumerable, NULL},
      {"ServerHandle", NULL, NULL, NULL, NULL, server_cls, napi_enumerable, NULL},
      {"EventFdHandle", NULL, NULL, NULL, NULL, efd_cls, napi_enumerable, NULL},
      {"pageSize", NULL, NULL, NULL, NULL, page, napi_enumerable, NULL},
  };
  NAPI(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
