# Minimal shared-object body for the i386 and x32 test libraries, assembled
# with `as --32` / `as --x32` and linked with `ld -shared`, so no 32-bit C
# toolchain or libc is needed.
	.text
	.globl	ldcache_test_symbol
ldcache_test_symbol:
	ret
