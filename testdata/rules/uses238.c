/* Calls the GLIBC_2.38 symbol of glibc238.c. */
int ldslim_new_glibc_symbol(void);
int main(void) { return ldslim_new_glibc_symbol() == 238 ? 0 : 1; }
