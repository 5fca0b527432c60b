/* Compile test: the whole header, implementation included, in one translation unit. */
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"
#include <stdio.h>

int main(void)
{
    char out[29];
    wsproxy_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    printf("%s %u\n", out, (unsigned)sizeof(wsproxy_client));
    return 0;
}
