/* An extension module that calls a function no loaded object defines (as
   when a library is older than the one the module was built against).
   Shared objects may have undefined symbols at link time; Python dlopens
   extension modules with RTLD_NOW, so the loader reports it at import. */
int ldslim_missing_function_v2(int);
void *PyInit__native(void) { return (void *)(long)ldslim_missing_function_v2(1); }
