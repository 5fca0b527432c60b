/* wsproxy_parse_response: the CONNECT and 101 reply heads.
   Invariants: the result is a head length in 1..len or one of -1/-2/-3; every slice
   (reason, header names and values) lies inside the head; names are tokens, values
   trimmed and free of CR/LF; status 100..599; the header count is within the caller's
   capacity; the head is self-delimiting (bytes after it change nothing); and the verdict
   a client sees feeding byte by byte (first prefix that is not INCOMPLETE) equals the
   verdict on the whole input.
   libFuzzer -max_len (fuzz/run.sh): fuzz-max-len: 9000 */
#include "fuzz_common.h"

static int is_tchar(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

typedef struct {
    int r, minor, status;
    const char *reason;
    size_t reason_len, nh;
    wsproxy_header h[WSPROXY_MAX_HEADERS + 2];
} parsed;

static void parse(const char *buf, size_t len, size_t cap, parsed *p)
{
    memset(p, 0, sizeof *p);
    p->nh = cap;
    p->r = wsproxy_parse_response(buf, len, &p->minor, &p->status, &p->reason, &p->reason_len,
                                  p->h, &p->nh);
}

static void check_one(const char *buf, size_t len, size_t cap, const parsed *p)
{
    size_t i, limit = cap < WSPROXY_MAX_HEADERS ? cap : WSPROXY_MAX_HEADERS;
    FUZZ_CHECK(p->r == WSPROXY_HTTP_ERROR || p->r == WSPROXY_HTTP_INCOMPLETE ||
               p->r == WSPROXY_HTTP_TOO_LARGE || (p->r > 0 && (size_t)p->r <= len));
    FUZZ_CHECK(p->nh <= limit);
    if (p->r == WSPROXY_HTTP_INCOMPLETE)   /* INCOMPLETE promises none of the limits hit */
        FUZZ_CHECK(len <= WSPROXY_MAX_HEAD_BYTES + 2 * WSPROXY_MAX_LINE_BYTES);
    if (p->r <= 0) return;
    FUZZ_CHECK((size_t)p->r <= WSPROXY_MAX_HEAD_BYTES);
    FUZZ_CHECK(p->minor >= 0 && p->minor <= 9);
    FUZZ_CHECK(p->status >= 100 && p->status <= 599);
    FUZZ_CHECK(memcmp(buf, "HTTP/1.", 7) == 0);
    FUZZ_CHECK(fuzz_inside(p->reason, p->reason_len, buf, (size_t)p->r));
    for (i = 0; i < p->reason_len; i++)
        FUZZ_CHECK(p->reason[i] != '\r' && p->reason[i] != '\n');
    /* the head ends with an empty line */
    FUZZ_CHECK(buf[p->r - 1] == '\n');
    for (i = 0; i < p->nh; i++) {
        const wsproxy_header *h = &p->h[i];
        size_t k;
        FUZZ_CHECK(h->name_len > 0);
        FUZZ_CHECK(fuzz_inside(h->name, h->name_len, buf, (size_t)p->r));
        FUZZ_CHECK(fuzz_inside(h->value, h->value_len, buf, (size_t)p->r));
        FUZZ_CHECK(h->name + h->name_len < buf + p->r && h->name[h->name_len] == ':');
        for (k = 0; k < h->name_len; k++) FUZZ_CHECK(is_tchar((unsigned char)h->name[k]));
        if (h->value_len) {
            FUZZ_CHECK(h->value[0] != ' ' && h->value[0] != '\t');
            FUZZ_CHECK(h->value[h->value_len - 1] != ' ' && h->value[h->value_len - 1] != '\t');
        }
        for (k = 0; k < h->value_len; k++)
            FUZZ_CHECK(h->value[k] != '\r' && h->value[k] != '\n' && h->value[k] != '\0');
        if (i > 0) FUZZ_CHECK(h->name > p->h[i - 1].value);
    }
}

static void same(const parsed *a, const parsed *b)
{
    size_t i;
    FUZZ_CHECK(a->r == b->r);
    if (a->r <= 0) return;
    FUZZ_CHECK(a->minor == b->minor && a->status == b->status);
    FUZZ_CHECK(a->reason == b->reason && a->reason_len == b->reason_len);
    FUZZ_CHECK(a->nh == b->nh);
    for (i = 0; i < a->nh; i++) {
        FUZZ_CHECK(a->h[i].name == b->h[i].name && a->h[i].name_len == b->h[i].name_len);
        FUZZ_CHECK(a->h[i].value == b->h[i].value && a->h[i].value_len == b->h[i].value_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static parsed whole, part, other;
    fuzz_reader rd;
    size_t cap, len, k;
    char *buf;
    uint32_t seed;
    if (size < 1) return 0;
    rd.p = data; rd.n = size;
    /* first byte: header capacity (0..WSPROXY_MAX_HEADERS+1, mostly the maximum) */
    k = fuzz_byte(&rd);
    cap = (k & 0x80) ? (k & 0x7F) % (WSPROXY_MAX_HEADERS + 2) : WSPROXY_MAX_HEADERS;
    seed = (uint32_t)k * 2654435761u;
    len = rd.n;
    buf = (char *)fuzz_dup(rd.p, len);

    parse(buf, len, cap, &whole);
    check_one(buf, len, cap, &whole);

    /* self-delimiting: parsing exactly the head gives the same; so does a copy */
    if (whole.r > 0) {
        char *head = (char *)fuzz_dup(buf, (size_t)whole.r);
        parse(buf, (size_t)whole.r, cap, &part);
        same(&whole, &part);
        parse(head, (size_t)whole.r, cap, &other);
        check_one(head, (size_t)whole.r, cap, &other);
        FUZZ_CHECK(other.r == whole.r && other.status == whole.status && other.nh == whole.nh);
        free(head);
        /* one byte short of the head is never a verdict */
        parse(buf, (size_t)whole.r - 1, cap, &part);
        FUZZ_CHECK(part.r == WSPROXY_HTTP_INCOMPLETE);
    }

    /* byte-by-byte verdict: the first prefix that is not INCOMPLETE. Every prefix when
       the input is short, else a sample, kept sorted so the first verdict is found. */
    {
        int verdict = WSPROXY_HTTP_INCOMPLETE;
        size_t step_max = len <= 700 ? 1 : len / 48 + 1, at = 0;
        while (at < len) {
            at += len <= 700 ? 1 : fuzz_split(&seed, (unsigned)step_max);
            if (at > len) at = len;
            parse(buf, at, cap, &part);
            check_one(buf, at, cap, &part);
            if (part.r != WSPROXY_HTTP_INCOMPLETE) { verdict = part.r; break; }
        }
        if (len <= 700) {
            /* exact: a client feeding bytes one at a time acts on this verdict */
            if (verdict > 0) same(&whole, &part);
            else FUZZ_CHECK(verdict == whole.r);
        } else if (verdict > 0) {
            same(&whole, &part);
        } else if (verdict != WSPROXY_HTTP_INCOMPLETE) {
            FUZZ_CHECK(whole.r == verdict);
        }
    }
    free(buf);
    return 0;
}
