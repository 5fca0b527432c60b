/* bench/e2e_wsp_big.c: the same runner, wsproxy.h built with 256 KiB buffers each way
   (WSPROXY_RECV_BUFFER_BYTES / WSPROXY_SEND_BUFFER_BYTES), to show what the buffer size
   costs in system calls on large messages. */
#define WSPROXY_RECV_BUFFER_BYTES (256u * 1024u)
#define WSPROXY_SEND_BUFFER_BYTES (256u * 1024u)
#define RUNNER_NAME run_wsproxy_big
#define SIZE_NAME wsproxy_client_size_big
#include "e2e_wsproxy.inc"
