/* Body of every x86-64 test library; only the soname (given with
   -Wl,-soname at link time) tells them apart in ld.so.cache.  */
int ldcache_test_symbol (void) { return 1; }
