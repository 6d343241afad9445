/* schedtrace.c - GODEBUG=schedtrace and the goroutine dump (not yet). */
#include <errno.h>
#include "runtime.h"

GORT_API void gort_schedtrace(FILE *out, bool detail)
{
	(void)out;
	(void)detail;
}

GORT_API void gort_dump_goroutines(FILE *out)
{
	(void)out;
}
