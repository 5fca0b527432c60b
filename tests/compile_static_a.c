/* Compile test: two translation units, each with its own static copy. */
#define WSPROXY_STATIC
#define WSPROXY_IMPLEMENTATION
#include "../wsproxy.h"
#include <string.h>

int accept_from_b(char out[29]);

int main(void)
{
    char a[29], b[29];
    wsproxy_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, a);
    accept_from_b(b);
    return strcmp(a, b) != 0 || strcmp(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0;
}
