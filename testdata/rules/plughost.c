/* A library that loads plugins the way many do without declaring them:
   it calls dlopen, and its read-only data names a library, a data file
   and paths that are not the image's business (the resolver's
   configuration, debug links). Built with -DNO_DLOPEN it names the same
   things but never calls dlopen: no evidence of a load then. */
#ifndef NO_DLOPEN
#include <dlfcn.h>
#endif

const char *const plughost_names[] = {
    "libplugdep.so.3",
    "/usr/share/plughost/plughost.conf",
    "/etc/resolv.conf",
    "/usr/lib/debug/.build-id/plughost.debug",
};

void *plughost_open(int i) {
#ifndef NO_DLOPEN
    return dlopen(plughost_names[i], RTLD_NOW);
#else
    return (void *)plughost_names[i];
#endif
}
