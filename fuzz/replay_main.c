/* A main() for the fuzz targets without libFuzzer: replays files and directories of
   inputs through LLVMFuzzerTestOneInput, so the targets also build with gcc (or any C
   compiler) and a corpus or crash file can be rerun under any sanitizer or debugger.

     build/fuzz/NAME-replay FILE|DIR...     prints "N passed, N failed" at the end
   An input that breaks an invariant aborts the process (the target calls abort()), so
   the file being replayed is printed before each run when REPLAY_VERBOSE is set, and
   always named on a failure line from the abort handler. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current_file = "";
static unsigned long passed;

static void on_abort(int sig)
{
    /* async-signal-safe: write only */
    static const char msg[] = "FAIL replay: ";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0 || write(2, current_file, strlen(current_file)) < 0 ||
        write(2, "\n", 1) < 0) {}
    signal(SIGABRT, SIG_DFL);
    raise(SIGABRT);
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    if (!f) { fprintf(stderr, "replay: cannot open %s\n", path); return -1; }
    for (;;) {
        if (cap - len < 4096) {
            unsigned char *p = (unsigned char *)realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!p) { free(buf); fclose(f); return -1; }
            buf = p;
        }
        got = fread(buf + len, 1, cap - len, f);
        if (got == 0) break;
        len += got;
    }
    fclose(f);
    current_file = path;
    if (getenv("REPLAY_VERBOSE")) fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    /* an exact-size copy, so reads past the end are caught as with libFuzzer */
    {
        unsigned char *exact = (unsigned char *)malloc(len ? len : 1);
        if (!exact) { free(buf); return -1; }
        if (len) memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    passed++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) { fprintf(stderr, "replay: no such file %s\n", path); return -1; }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **list;
        int n = scandir(path, &list, NULL, alphasort), i, bad = 0;
        if (n < 0) return -1;
        for (i = 0; i < n; i++) {
            if (list[i]->d_name[0] != '.') {
                size_t need = strlen(path) + strlen(list[i]->d_name) + 2;
                char *full = (char *)malloc(need);
                if (full) {
                    snprintf(full, need, "%s/%s", path, list[i]->d_name);
                    if (replay_path(full) != 0) bad = 1;
                    free(full);
                }
            }
            free(list[i]);
        }
        free(list);
        return bad ? -1 : 0;
    }
    return replay_file(path);
}

int main(int argc, char **argv)
{
    int i, failed = 0;
    signal(SIGABRT, on_abort);
    for (i = 1; i < argc; i++)
        if (argv[i][0] != '-' && replay_path(argv[i]) != 0) failed++;   /* -flags: libFuzzer's, ignored */
    printf("%lu passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
