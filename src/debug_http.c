/* debug_http.c - the debug HTTP endpoint (not yet). */
#include <errno.h>
#include "runtime.h"

GORT_API int gort_debug_serve(const char *addr)
{
	(void)addr;
	errno = ENOSYS;
	return -1;
}
