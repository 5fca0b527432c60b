/* The translation unit the static analysers read (tests/lint.sh): wsproxy.h with its
   implementation, once with TLS and once without (WSPROXY_NO_TLS on the command line). */
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"

int main(void)
{
    char out[29];
    wsproxy_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    return out[0] == 's' ? 0 : 1;
}
