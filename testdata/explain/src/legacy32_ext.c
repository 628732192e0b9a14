/* A 32-bit (i386) build of an extension module, as if copied from the wrong
   platform's wheel. Built with -m32 -nostdlib. */
void *PyInit__legacy(void) { return 0; }
