/* A shared object that only exists to carry dynamic-section entries
   (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS_1): the tests
   compile it with different link flags for each loader rule. */
int ldslim_fixture_symbol(void) { return 42; }
