/* wsproxy_cert_ip_match: the iPAddress subjectAltName check on a DER certificate.
   Input: byte 0 picks the address length (4 or 16, or a wrong one), the address bytes
   follow, the rest is the certificate.
   Invariants: result -1/0/1, and -1 for a wrong address length or NULL; 1 only when the
   bytes 0x87 <len> <ip> occur in the certificate; bytes after the outer SEQUENCE change
   nothing; the result does not depend on where the buffer lives.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 4096 */
#include "fuzz_common.h"

/* Is there an iPAddress GeneralName [7] with this address: 0x87, a length of ip_len
   (short form, or long form as the library also reads it: 0x81..0x84 then the value),
   then the address bytes? */
static int has_ip_tlv(const unsigned char *d, size_t len, const unsigned char *ip, size_t ip_len)
{
    size_t i;
    for (i = 0; i + 2 <= len; i++) {
        size_t at = i + 2, v = d[i + 1];
        if (d[i] != 0x87) continue;
        if (v & 0x80) {
            size_t n = v & 0x7F, k;
            if (n == 0 || n > 4 || i + 2 + n > len) continue;
            for (v = 0, k = 0; k < n; k++) v = v << 8 | d[i + 2 + k];
            at = i + 2 + n;
        }
        if (v == ip_len && at + ip_len <= len && memcmp(d + at, ip, ip_len) == 0) return 1;
    }
    return 0;
}

/* Length of the outer TLV (short or long form up to 4 bytes), or 0. */
static size_t outer_len(const unsigned char *d, size_t len)
{
    size_t n, k, v = 0;
    if (len < 2) return 0;
    if (!(d[1] & 0x80)) n = d[1], k = 2;
    else {
        size_t c = d[1] & 0x7F, i;
        if (c == 0 || c > 4 || 2 + c > len) return 0;
        for (i = 0; i < c; i++) v = v << 8 | d[2 + i];
        n = v; k = 2 + c;
    }
    if (n > len - k) return 0;
    return k + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char ip[16];
    size_t ip_len, len, outer;
    const unsigned char *der;
    unsigned char *copy, *padded;
    int r, sel;
    if (size < 1) return 0;
    sel = data[0];
    ip_len = (sel & 3) == 0 ? 16 : (sel & 3) == 3 ? (size_t)(sel >> 2) % 20 : 4;
    memset(ip, 0, sizeof ip);
    if (size - 1 < ip_len) return 0;
    if (ip_len <= 16) memcpy(ip, data + 1, ip_len);
    der = data + 1 + ip_len;
    len = size - 1 - ip_len;
    copy = fuzz_dup(der, len);
    if (ip_len > 16) {
        unsigned char big[20];
        memset(big, 0, sizeof big);
        FUZZ_CHECK(wsproxy_cert_ip_match(copy, len, big, ip_len) == -1);
        free(copy);
        return 0;
    }
    r = wsproxy_cert_ip_match(copy, len, ip, ip_len);
    FUZZ_CHECK(r == -1 || r == 0 || r == 1);
    if (ip_len != 4 && ip_len != 16) FUZZ_CHECK(r == -1);
    if (r == 1) FUZZ_CHECK(has_ip_tlv(copy, len, ip, ip_len));
    FUZZ_CHECK(wsproxy_cert_ip_match(NULL, len, ip, ip_len) == -1);
    FUZZ_CHECK(wsproxy_cert_ip_match(copy, len, NULL, ip_len) == -1);
    /* trailing bytes after the certificate are not looked at */
    outer = outer_len(copy, len);
    if (outer && outer < len) FUZZ_CHECK(wsproxy_cert_ip_match(copy, outer, ip, ip_len) == r);
    /* the same bytes elsewhere, with garbage after them */
    padded = (unsigned char *)malloc(len + 7);
    memcpy(padded, copy, len);
    memset(padded + len, 0x87, 7);
    FUZZ_CHECK(wsproxy_cert_ip_match(padded, len, ip, ip_len) == r);
    free(padded);
    free(copy);
    return 0;
}
