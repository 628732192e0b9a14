/* Test program for the ld.so oracle: it only needs DT_NEEDED entries,
   which the test adds by linking the libraries with --no-as-needed.  */
int main (void) { return 0; }
