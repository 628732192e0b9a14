/* Links against libx: its Verneed lists LIBX_1.0, LIBX_2.0 and LIBX_3.0.
 * x_three is referenced only weakly, yet GNU ld 2.40 still writes LIBX_3.0
 * without VER_FLG_WEAK (so weak flags are tested with hand-built images). */
int x_one(void);
int x_two(void);
int x_three(void) __attribute__((weak));

int consume(void) { return x_one() + x_two() + (x_three ? x_three() : 0); }

int main(void) { return consume() == 6 ? 0 : 1; }
