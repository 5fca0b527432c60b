/* wsproxy_pem_trust_anchors: the PEM bundle loader.
   Input byte 0 picks the shape: the rest as PEM text, or the rest as DER wrapped in a
   CERTIFICATE block by this harness (so the fuzzer reaches the certificate decoder), or
   the rest as PEM text with an extra DER certificate appended.
   Invariants: result OK / PEM_SPACE / PEM_SYNTAX; the sizing call (NULL, 0) and a call
   with exactly the reported room agree and the second succeeds; every pointer of every
   anchor lies inside the caller's memory; one byte or one anchor less gives PEM_SPACE;
   the anchors do not depend on how much spare room there is.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 8192 */
#include "fuzz_common.h"

static size_t b64(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0, i, line = 0;
    char tmp[5];
    for (i = 0; i < len; i += 3) {
        size_t k = len - i < 3 ? len - i : 3;
        wsproxy_base64(in + i, k, tmp, sizeof tmp);
        memcpy(out + o, tmp, 4);
        o += 4;
        if (++line == 16) { out[o++] = '\n'; line = 0; }
    }
    out[o++] = '\n';
    return o;
}

static char *wrap(const unsigned char *der, size_t len, const char *prefix, size_t plen,
                  size_t *out_len)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n", end[] = "-----END CERTIFICATE-----\n";
    char *out = (char *)malloc(plen + sizeof begin + len / 3 * 4 + len / 48 + 16 + sizeof end);
    size_t o = 0;
    memcpy(out, prefix, plen); o += plen;
    memcpy(out + o, begin, sizeof begin - 1); o += sizeof begin - 1;
    o += b64(der, len, out + o);
    memcpy(out + o, end, sizeof end - 1); o += sizeof end - 1;
    *out_len = o;
    return out;
}

static void check_anchor(const br_x509_trust_anchor *ta, const unsigned char *mem, size_t mem_len)
{
    FUZZ_CHECK(ta->flags == 0 || ta->flags == BR_X509_TA_CA);
    FUZZ_CHECK(ta->dn.len == 0 || fuzz_inside(ta->dn.data, ta->dn.len, mem, mem_len));
    if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
        FUZZ_CHECK(fuzz_inside(ta->pkey.key.rsa.n, ta->pkey.key.rsa.nlen, mem, mem_len));
        FUZZ_CHECK(fuzz_inside(ta->pkey.key.rsa.e, ta->pkey.key.rsa.elen, mem, mem_len));
        FUZZ_CHECK(ta->pkey.key.rsa.n != NULL && ta->pkey.key.rsa.e != NULL);
    } else {
        FUZZ_CHECK(ta->pkey.key_type == BR_KEYTYPE_EC);
        FUZZ_CHECK(ta->pkey.key.ec.q != NULL);
        FUZZ_CHECK(fuzz_inside(ta->pkey.key.ec.q, ta->pkey.key.ec.qlen, mem, mem_len));
    }
}

static void check_pem(const char *pem, size_t len)
{
    wsproxy_pem_result r0, r1, r2;
    int rc0, rc1, rc;
    size_t i;
    br_x509_trust_anchor *tas, *tas2;
    unsigned char *mem, *mem2;

    rc0 = wsproxy_pem_trust_anchors(pem, len, NULL, 0, NULL, 0, &r0);
    FUZZ_CHECK(rc0 == WSPROXY_OK || rc0 == WSPROXY_E_PEM_SPACE || rc0 == WSPROXY_E_PEM_SYNTAX);
    if (rc0 == WSPROXY_E_PEM_SYNTAX) return;
    if (r0.anchors == 0) FUZZ_CHECK(rc0 == WSPROXY_OK);
    else FUZZ_CHECK(rc0 == WSPROXY_E_PEM_SPACE);
    if (r0.skipped == 0 && r0.anchors == 0) FUZZ_CHECK(r0.bytes_needed == 0);

    /* exactly the room asked for: each on its own heap block, so ASan sees overruns */
    tas = (br_x509_trust_anchor *)malloc((r0.anchors ? r0.anchors : 1) * sizeof *tas);
    mem = (unsigned char *)malloc(r0.bytes_needed ? r0.bytes_needed : 1);
    rc1 = wsproxy_pem_trust_anchors(pem, len, tas, r0.anchors, mem, r0.bytes_needed, &r1);
    FUZZ_CHECK(rc1 == WSPROXY_OK);
    FUZZ_CHECK(r1.anchors == r0.anchors && r1.bytes_needed == r0.bytes_needed &&
               r1.skipped == r0.skipped);
    for (i = 0; i < r1.anchors; i++) check_anchor(&tas[i], mem, r1.bytes_needed);

    /* more room than needed: the same anchors, byte for byte */
    tas2 = (br_x509_trust_anchor *)malloc((r0.anchors + 2) * sizeof *tas2);
    mem2 = (unsigned char *)malloc(r0.bytes_needed + 64);
    rc = wsproxy_pem_trust_anchors(pem, len, tas2, r0.anchors + 2, mem2, r0.bytes_needed + 64, &r2);
    FUZZ_CHECK(rc == WSPROXY_OK && r2.anchors == r1.anchors && r2.bytes_needed == r1.bytes_needed);
    for (i = 0; i < r1.anchors; i++) {
        FUZZ_CHECK(tas[i].dn.len == tas2[i].dn.len && tas[i].flags == tas2[i].flags);
        FUZZ_CHECK(tas[i].dn.len == 0 || memcmp(tas[i].dn.data, tas2[i].dn.data, tas[i].dn.len) == 0);
        FUZZ_CHECK(tas[i].pkey.key_type == tas2[i].pkey.key_type);
    }
    /* one byte or one anchor short */
    if (r0.bytes_needed > 0) {
        rc = wsproxy_pem_trust_anchors(pem, len, tas2, r0.anchors, mem2, r0.bytes_needed - 1, &r2);
        FUZZ_CHECK(r2.bytes_needed == r0.bytes_needed);
        /* only the name of a skipped certificate may take room no anchor needs */
        FUZZ_CHECK(rc == WSPROXY_E_PEM_SPACE || (rc == WSPROXY_OK && r0.skipped > 0));
    }
    if (r0.anchors > 0) {
        rc = wsproxy_pem_trust_anchors(pem, len, tas2, r0.anchors - 1, mem2, r0.bytes_needed, &r2);
        FUZZ_CHECK(rc == WSPROXY_E_PEM_SPACE && r2.anchors == r0.anchors);
    }
    free(tas); free(mem); free(tas2); free(mem2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *pem;
    size_t len;
    if (size < 1) return 0;
    switch (data[0] % 3) {
    case 0:
        pem = (char *)fuzz_dup(data + 1, size - 1);
        len = size - 1;
        break;
    case 1:
        pem = wrap(data + 1, size - 1, "", 0, &len);
        break;
    default: {
        /* PEM text, then a DER certificate taken from the input's second half */
        size_t half = (size - 1) / 2;
        pem = wrap(data + 1 + half, size - 1 - half, (const char *)data + 1, half, &len);
        break;
    }
    }
    check_pem(pem, len);
    {
        wsproxy_pem_result r;
        FUZZ_CHECK(wsproxy_pem_trust_anchors(NULL, 0, NULL, 0, NULL, 0, &r) == WSPROXY_OK);
        FUZZ_CHECK(wsproxy_pem_trust_anchors(NULL, 1, NULL, 0, NULL, 0, &r) == WSPROXY_E_ARGUMENT);
    }
    free(pem);
    return 0;
}
