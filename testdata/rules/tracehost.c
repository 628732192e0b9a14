/* What `ldslim trace` must see (tests/trace.rs): a plugin opened with
 * dlopen by path (its own DT_NEEDED library comes with it), a data file
 * read through a symlink, a directory listed, a file read by a second thread, one read by a
 * forked child, a program executed by another child, a file written and
 * read back in /tmp. Paths are below argv[1] (empty: the root itself),
 * so the program runs on the host as well as chrooted. Exits 3 when all
 * of it worked: the tracer passes that status on. */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[2048];

static void at(char *out, const char *rel) { snprintf(out, 4096, "%s%s", base, rel); }

static int readfile(const char *rel) {
    char p[4096];
    char b[64];
    at(p, rel);
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        perror(p);
        return 1;
    }
    int n = (int)read(fd, b, sizeof b);
    close(fd);
    return n < 0;
}

static void *thread(void *arg) {
    (void)arg;
    return (void *)(long)readfile("/usr/share/tracehost/thread.txt");
}

int main(int argc, char **argv) {
    char p[4096];
    int st;
    void *r;
    pthread_t t;
    snprintf(base, sizeof base, "%s", argc > 1 ? argv[1] : "");
    at(p, "/usr/lib/tracehost/plugins/libplug.so");
    if (!dlopen(p, RTLD_NOW)) {
        fprintf(stderr, "%s\n", dlerror());
        return 10;
    }
    if (readfile("/usr/share/tracehost/data.txt"))
        return 11;
    /* A filter directory, listed when it exists; none of its entries is
     * what the program wants. */
    at(p, "/usr/lib/tracehost/filters");
    DIR *d = opendir(p);
    if (d) {
        while (readdir(d))
            ;
        closedir(d);
    }
    if (pthread_create(&t, 0, thread, 0) || pthread_join(t, &r) || r)
        return 12;
    pid_t c = fork();
    if (c == 0)
        _exit(readfile("/etc/tracehost.conf"));
    if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
        return 13;
    c = fork();
    if (c == 0) {
        at(p, "/usr/bin/helper");
        execl(p, "helper", "from-child", (char *)0);
        _exit(14);
    }
    if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st))
        return 15;
    at(p, "/tmp/tracehost.tmp");
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1)
        return 16;
    close(fd);
    if (readfile("/tmp/tracehost.tmp"))
        return 17;
    return 3;
}
