/* A stand-in C library that defines the symbol version GLIBC_2.38, so that
   an object linked against it records "needs GLIBC_2.38 from libc.so.6"
   (a Debian 13 builder's python3.13 does). Built with glibc238.map. */
int ldslim_new_glibc_symbol(void) { return 238; }
