{
  "targets": [
    {
      "target_name": "emu_sys",
      "sources": [
        "src/native/errors.c",
        "src/native/args.c",
        "src/native/poll-base.c",
        "src/native/socket.c",
        "src/native/socket-send.c",
        "src/native/socket-recv.c",
        "src/native/listener.c",
        "src/native/eventfd-watch.c",
        "src/native/eventfd.c",
        "src/native/fd.c",
        "src/native/memory.c",
        "src/native/thread.c",
        "src/native/copy.c",
        "src/native/module.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
