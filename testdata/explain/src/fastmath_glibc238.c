/* A plain shared library (loaded with ctypes.CDLL) that needs GLIBC_2.38,
   linked like speedups_glibc238.c. */
int ldslim_new_glibc_symbol(void);
int fastmath_add(int a, int b) { return a + b + ldslim_new_glibc_symbol() - 238; }
