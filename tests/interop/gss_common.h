/* What tests/interop/gss_probe.c and tests/interop/ntlm_gss_helper.c share: the
 * NTLMSSP mechanism OID, base64 and GSSAPI status text. Test peers only; never
 * wsproxy.h. */
#ifndef GSS_COMMON_H
#define GSS_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>

/* 1.3.6.1.4.1.311.2.2.10, the OID gss-ntlmssp registers (its gssapi_ntlmssp.h,
 * GSS_NTLMSSP_OID_STRING, and /etc/gss/mech.d/mech.ntlmssp.conf) */
static gss_OID_desc oid_ntlmssp = {10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of n bytes, in a malloc'd string (NULL when out of memory) */
static char *b64_encode(const unsigned char *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1), *q = o;
    size_t i;
    if (!o) return NULL;
    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        *q++ = b64_alphabet[v >> 18];
        *q++ = b64_alphabet[(v >> 12) & 63];
        *q++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        *q++ = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    *q = 0;
    return o;
}

/* decodes the base64 string s (up to its end or '='): the byte count, or -1 on a
 * character outside the alphabet or more than cap bytes */
static long b64_decode(const char *s, unsigned char *out, size_t cap)
{
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    for (; *s && *s != '='; s++) {
        const char *c = strchr(b64_alphabet, *s);
        if (!c) return -1;
        v = v << 6 | (unsigned)(c - b64_alphabet);
        bits += 6;
        if (bits >= 8) {
            if (o >= cap) return -1;
            bits -= 8;
            out[o++] = (unsigned char)(v >> bits);
        }
    }
    return (long)o;
}

/* GSSAPI's words for a major status and a minor status of mech, on one line */
static const char *gss_text(OM_uint32 maj, OM_uint32 min, gss_OID mech, char *buf, size_t cap)
{
    OM_uint32 m2, ctx = 0;
    gss_buffer_desc s;
    size_t o;
    snprintf(buf, cap, "major 0x%08x", maj);
    if (gss_display_status(&m2, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &s) == GSS_S_COMPLETE) {
        o = strlen(buf);
        snprintf(buf + o, cap - o, " (%.*s)", (int)s.length, (char *)s.value);
        gss_release_buffer(&m2, &s);
    }
    ctx = 0;
    if (min && gss_display_status(&m2, min, GSS_C_MECH_CODE, mech, &ctx, &s) == GSS_S_COMPLETE) {
        o = strlen(buf);
        snprintf(buf + o, cap - o, ", minor %u (%.*s)", min, (int)s.length, (char *)s.value);
        gss_release_buffer(&m2, &s);
    }
    return buf;
}

#endif
