/* A library that declares the libraries it dlopens in `.note.dlopen`
   notes, in the layout of the ELF dlopen metadata specification
   (https://systemd.io/ELF_DLOPEN_METADATA/): an ELF note, 4-byte aligned,
   owner "FDO", type 0x407c0c0a, whose descriptor is a NUL-terminated
   JSON text. One note per priority, and one that is not JSON. */
#include <dlfcn.h>
#include <stdint.h>

#define FDO_DLOPEN 0x407c0c0a

struct dlopen_note_header {
    uint32_t namesz, descsz, type;
    char owner[4];
};

#define DLOPEN_NOTE(var, text)                                                 \
    __attribute__((used, section(".note.dlopen"), aligned(4))) static const   \
    struct {                                                                   \
        struct dlopen_note_header h;                                           \
        char desc[(sizeof(text) + 3) / 4 * 4];                                 \
    } var = {{4, sizeof(text), FDO_DLOPEN, "FDO"}, text}

/* Two alternatives: the builder has only the second. */
DLOPEN_NOTE(required, "[{\"feature\":\"zip\",\"description\":\"Compressed "
                      "archives\",\"priority\":\"required\",\"soname\":["
                      "\"libzip9.so.9\",\"libreq.so.1\"]}]");
/* No priority: recommended, the specification's default. */
DLOPEN_NOTE(recommended, "{\"feature\":\"fmt\",\"soname\":\"librec.so.1\"}");
DLOPEN_NOTE(suggested, "[{\"feature\":\"extra\",\"priority\":\"suggested\","
                       "\"soname\":[\"libsug.so.1\"]}]");
DLOPEN_NOTE(broken, "not json");

void *noted_open(const char *name) { return dlopen(name, RTLD_NOW); }
