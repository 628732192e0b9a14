/* An extension module built against a newer C library: it needs the symbol
   version GLIBC_2.38 of libc.so.6 (glibc 2.38 is Debian 13's; a
   distroless/cc-debian12 base has glibc 2.36). Linked by
   scripts/capture-messages.sh against the stand-in libc of
   testdata/rules/glibc238.{c,map}; the loader refuses it before PyInit runs. */
int ldslim_new_glibc_symbol(void);
void *PyInit__speedups(void) { return (void *)(long)ldslim_new_glibc_symbol(); }
