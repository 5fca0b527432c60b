/* bench/mem_default.c: sizeof(wsproxy_client) with the default limits (the built-in
   16 KiB buffers), for bench/mem.c, which is built without them. The header only: no
   wsproxy_* function is called from here. */
#include "../wsproxy.h"

size_t mem_default_client_size(void);
size_t mem_default_client_size(void) { return sizeof(wsproxy_client); }
