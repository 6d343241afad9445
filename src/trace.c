/* trace.c - the execution tracer (not yet). */
#include <errno.h>
#include "runtime.h"

GORT_API int gort_trace_start(const char *path)
{
	(void)path;
	errno = ENOSYS;
	return -1;
}

GORT_API int gort_trace_stop(void)
{
	errno = ENOSYS;
	return -1;
}

GORT_API int gort_trace_flight_start(size_t bytes)
{
	(void)bytes;
	errno = ENOSYS;
	return -1;
}

GORT_API int gort_trace_flight_dump(const char *path)
{
	(void)path;
	errno = ENOSYS;
	return -1;
}

GORT_API int gort_trace_flight_stop(void)
{
	errno = ENOSYS;
	return -1;
}

GORT_API int gort_read_stats(gort_stats *s)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	*s = (gort_stats){0};
	return 0;
}
