/* The smallest probe: proves static probes build and run inside a container. */
#include <unistd.h>
int main(void) { return write(1, "hello from a static probe\n", 26) == 26 ? 0 : 1; }
