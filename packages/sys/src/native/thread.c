// thread.c: the calling thread's CPU affinity (sched_setaffinity / sched_getaffinity of thread 0 = the caller), so a
// worker thread can pin itself to the CPUs it was given, as a DPDK lcore does.
#include "emu_sys.h"

#include <errno.h>
#include <sched.h>

/* setThreadAffinity(cpus: number[]): pins the calling thread to the listed CPUs. */
napi_value emu_set_thread_affinity(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array)
    return emu_throw_arg(env, "cpus must be an array of CPU numbers");
  uint32_t n;
  NAPI(napi_get_array_length(env, argv[0], &n));
  if (n == 0) return emu_throw_arg(env, "cpus must name at least one CPU");
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    NAPI(napi_get_element(env, argv[0], i, &e));
    int64_t cpu;
    if (!emu_arg_int(env, e, 0, CPU_SETSIZE - 1, &cpu, "cpu")) return NULL;
    CPU_SET((int)cpu, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) < 0) return emu_throw_sys(env, errno, "sched_setaffinity", NULL);
  return emu_undef(env);
}

/* threadAffinity(): the CPUs the calling thread may run on, ascending. */
napi_value emu_thread_affinity(napi_env env, napi_callback_info info) {
  (void)info;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) < 0) return emu_throw_sys(env, errno, "sched_getaffinity", NULL);
  napi_value out;
  NAPI(napi_create_array(env, &out));
  uint32_t k = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    napi_value v;
    NAPI(napi_create_int32(env, cpu, &v));
    NAPI(napi_set_element(env, out, k++, v));
  }
  return out;
}
