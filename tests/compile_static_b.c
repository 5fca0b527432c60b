/* Second translation unit of the WSPROXY_STATIC compile test. */
#define WSPROXY_STATIC
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"

int accept_from_b(char out[29]);

int accept_from_b(char out[29])
{
    wsproxy_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    return 0;
}
