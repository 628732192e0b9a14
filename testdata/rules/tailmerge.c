/* A library that exports `plugin_dlopen` and imports `dlopen`: the linker
   stores "dlopen" as the tail of "plugin_dlopen" in the dynamic string
   table (libasound's `snd_dlopen` does the same). */
#include <dlfcn.h>

void *plugin_dlopen(const char *name) { return dlopen(name, RTLD_NOW); }

const char *const tailmerge_name = "/usr/share/tailmerge/conf";
