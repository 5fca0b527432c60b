/* ntlm_gss_helper: a squid NTLM authentication helper that checks passwords, for the
 * interop suite (tests/interop/auth_lib.sh, auth_start_ntlm_gss). Squid's own
 * ntlm_fake_auth checks none, and its challenge is a short legacy message that the
 * gss-ntlmssp client rejects; this helper lets gss-ntlmssp's acceptor do the work:
 * gss_accept_sec_context with the NTLMSSP mechanism makes the challenge and verifies
 * the client's answer against the users in NTLM_USER_FILE (DOMAIN:USER:PASSWORD lines).
 * A test peer, written without wsproxy.h.
 *
 * Squid's stateful NTLM helper protocol, one line each way:
 *   "YR <base64 NEGOTIATE>"     -> "TT <base64 CHALLENGE>"   (a new exchange)
 *   "KK <base64 AUTHENTICATE>"  -> "AF <DOMAIN\user>"        (password right)
 *                               -> "NA <reason>"             (wrong, or unknown user)
 *   anything else               -> "BH <reason>"
 * curl's messages are legal but shorter than gss-ntlmssp 1.2 accepts (no Version
 * field in the NEGOTIATE, no Version and MIC room in the AUTHENTICATE): the helper
 * pads both with zeros before handing them over (see below); the challenge answers
 * are not touched, so the password check stays gss-ntlmssp's.
 * Diagnostics go to stderr (squid's cache.log); never a token or a password.
 */
#define _POSIX_C_SOURCE 200809L
#include "gss_common.h"

/* An AUTHENTICATE may start its payload right after the 64-byte fixed part (no
 * Version, no MIC: curl sends that); gss-ntlmssp 1.2 reads its fields only from byte
 * 80 on. Insert the 24 bytes of a zero Version and a zero MIC (a MIC counts only when
 * the client flags it inside its NTLMv2 response) and move every field offset by 24.
 * The responses themselves are not touched, so the password check is unchanged. */
static long widen_authenticate(unsigned char *t, long n, size_t cap)
{
    unsigned long lowest = (unsigned long)n;
    int i;
    if (n < 64 || (size_t)n + 24 > cap || memcmp(t, "NTLMSSP\0\3\0\0\0", 12)) return n;
    for (i = 0; i < 6; i++) {
        const unsigned char *f = t + 12 + 8 * i;
        unsigned long off = f[4] | f[5] << 8 | (unsigned long)f[6] << 16 | (unsigned long)f[7] << 24;
        if ((f[0] | f[1]) && off < lowest) lowest = off;
    }
    if (lowest != 64) return n;
    memmove(t + 88, t + 64, (size_t)(n - 64));
    memset(t + 64, 0, 24);
    for (i = 0; i < 6; i++) {
        unsigned char *f = t + 12 + 8 * i;
        unsigned long off = f[4] | f[5] << 8 | (unsigned long)f[6] << 16 | (unsigned long)f[7] << 24;
        if (!(f[0] | f[1])) continue;
        off += 24;
        f[4] = (unsigned char)off; f[5] = (unsigned char)(off >> 8);
        f[6] = (unsigned char)(off >> 16); f[7] = (unsigned char)(off >> 24);
    }
    return n + 24;
}

int main(void)
{
    static char line[65536];
    static unsigned char tok[49152];
    char err[512];
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_OID_set_desc mechs = {1, &oid_ntlmssp};
    OM_uint32 maj, min;

    setvbuf(stdout, NULL, _IOLBF, 0);
    maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &cred, NULL, NULL);
    if (GSS_ERROR(maj)) {
        fprintf(stderr, "ntlm_gss_helper: gss_acquire_cred (acceptor): %s\n", gss_text(maj, min, &oid_ntlmssp, err, sizeof err));
        cred = GSS_C_NO_CREDENTIAL;
    }
    while (fgets(line, sizeof line, stdin)) {
        gss_buffer_desc in, out = GSS_C_EMPTY_BUFFER;
        gss_name_t src = GSS_C_NO_NAME;
        long n;
        int yr = !strncmp(line, "YR", 2), kk = !strncmp(line, "KK ", 3);
        line[strcspn(line, "\r\n")] = 0;
        if (!yr && !kk) { printf("BH unknown request\n"); continue; }
        if (yr && ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
        if (kk && ctx == GSS_C_NO_CONTEXT) { printf("BH KK without an exchange\n"); continue; }
        n = strlen(line) > 3 ? b64_decode(line + 3, tok, sizeof tok - 24) : 0;
        if (n <= 0) {   /* a YR without the client's NEGOTIATE cannot start gss-ntlmssp */
            printf("BH %s without a token\n", yr ? "YR" : "KK");
            continue;
        }
        /* A NEGOTIATE may end after its two 8-byte field headers (32 bytes, no
         * Version field: curl sends that); gss-ntlmssp 1.2 only takes the 40-byte
         * form. The Version field means nothing without the NEGOTIATE_VERSION flag:
         * zeros in its place change nothing else. */
        if (yr && n >= 32 && n < 40 && !memcmp(tok, "NTLMSSP\0\1\0\0\0", 12) && !(tok[15] & 0x02)) {
            memset(tok + n, 0, (size_t)(40 - n));
            n = 40;
        }
        if (kk) n = widen_authenticate(tok, n, sizeof tok);
        in.value = tok;
        in.length = (size_t)n;
        maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &src, NULL, &out,
                                     NULL, NULL, NULL);
        if (yr) {
            char *b64 = NULL;
            if (maj == GSS_S_CONTINUE_NEEDED && out.length && (b64 = b64_encode(out.value, out.length))) {
                printf("TT %s\n", b64);
                free(b64);
            } else {
                printf("BH the NEGOTIATE message was refused\n");
                fprintf(stderr, "ntlm_gss_helper: NEGOTIATE: %s\n", gss_text(maj, min, &oid_ntlmssp, err, sizeof err));
            }
        } else if (maj == GSS_S_COMPLETE) {
            gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
            if (gss_display_name(&min, src, &name, NULL) == GSS_S_COMPLETE)
                printf("AF %.*s\n", (int)name.length, (char *)name.value);
            else
                printf("BH no name for the user\n");
            gss_release_buffer(&min, &name);
        } else {
            printf("NA authentication failed\n");
            fprintf(stderr, "ntlm_gss_helper: AUTHENTICATE: %s\n", gss_text(maj, min, &oid_ntlmssp, err, sizeof err));
        }
        gss_release_buffer(&min, &out);
        if (src != GSS_C_NO_NAME) gss_release_name(&min, &src);
        if (!yr && ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    }
    if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&min, &cred);
    return 0;
}
