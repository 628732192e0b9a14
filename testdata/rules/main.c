/* An executable that only exists to carry dynamic-section entries. */
int main(void) { return 0; }
