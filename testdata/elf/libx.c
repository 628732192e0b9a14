/* A library with versioned symbols (see libx.map). It calls nothing, so it
 * also links with -m32 -nostdlib on hosts without 32-bit libc. */
int x_one(void) { return 1; }
int x_two(void) { return 2; }
int x_three(void) { return 3; }
