{
  "targets": [
    {
      "target_name": "sockshard_native",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/binding.c",
            "native/ss_accept.c",
            "native/ss_client_hello.c",
            "native/ss_describe.c",
            "native/ss_errors.c",
            "native/ss_fd.c",
            "native/ss_header_reader.c",
            "native/ss_listen.c",
            "native/ss_proxy.c",
            "native/ss_scm.c",
            "native/ss_socket.c",
            "native/ss_streams.c",
            "native/ss_udp.c",
            "native/ss_udp_batch.c",
            "native/ss_unix.c"
          ],
          "defines": ["NAPI_VERSION=9"],
          "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
