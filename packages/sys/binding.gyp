{
  "targets": [
    {
      "target_name": "emu_sys",
      "sources": ["src/native/emu_sys.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
