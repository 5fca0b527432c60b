/* bench/e2e_wsp.c: the wsproxy.h runner with the library's default buffers. */
#define RUNNER_NAME run_wsproxy
#define SIZE_NAME wsproxy_client_size
#include "e2e_wsproxy.inc"
