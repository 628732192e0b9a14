/*
 * What reading a scope's sources costs, done simply: every path given (NUL
 * separated, on stdin) opened and read whole, on as many threads as the
 * machine has CPUs, and nothing else: not even a search of the bytes read
 * (glibc's memmem for three words costs more than the reads; ldslim's SIMD
 * search less, but not nothing), no ELF, no parse, no plan.
 * scripts/bench.sh times it behind `find SCOPE -name '*.py' -print0`: the
 * part of the main job no design that reads the sources can leave out,
 * beside `find` (which reads none). Not a strict lower bound: ldslim's own
 * walk lists and reads on every CPU, where here `find` lists on one.
 *
 * Prints "FILES files, BYTES bytes read" to stderr.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char **paths;
static size_t npaths;
static atomic_size_t next_path;
static atomic_size_t total_bytes;

static void *reader(void *unused)
{
    (void)unused;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        size_t i = atomic_fetch_add(&next_path, 1);
        if (i >= npaths)
            break;
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOATIME);
        if (fd < 0)
            fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        size_t got = 0;
        for (;;) {
            if (got == cap) {
                char *bigger = realloc(buf, cap * 2);
                if (!bigger)
                    break;
                buf = bigger;
                cap *= 2;
            }
            ssize_t n = pread(fd, buf + got, cap - got, (off_t)got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
        atomic_fetch_add(&total_bytes, got);
    }
    free(buf);
    return NULL;
}

int main(void)
{
    size_t cap = 0, len = 0;
    char *all = NULL;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            all = realloc(all, cap);
            if (!all)
                return 1;
        }
        ssize_t n = read(0, all + len, cap - len);
        if (n < 0)
            return 1;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    for (size_t i = 0; i < len; i++)
        if (all[i] == '\0')
            npaths++;
    paths = malloc((npaths ? npaths : 1) * sizeof *paths);
    if (!paths)
        return 1;
    for (size_t i = 0, start = 0, k = 0; i < len; i++)
        if (all[i] == '\0') {
            paths[k++] = all + start;
            start = i + 1;
        }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    if (cpus > 64)
        cpus = 64;
    pthread_t threads[64];
    long started = 0;
    while (started < cpus && pthread_create(&threads[started], NULL, reader, NULL) == 0)
        started++;
    /* No thread at all: this one reads. */
    if (started == 0)
        reader(NULL);
    for (long t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    fprintf(stderr, "%zu files, %zu bytes read\n", npaths, (size_t)total_bytes);
    return 0;
}
