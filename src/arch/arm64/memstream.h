/*
 * memstream.h (arm64) - the tracer's copy of a full staging buffer
 * (trace.c; see arch/amd64/memstream.h for why it streams there).
 *
 * A plain memcpy: arm64 cores already write whole lines without reading
 * them first when a copy fills them (write streaming mode), so there is
 * nothing to gain from non-temporal pairs (stnp), which are only hints.
 */
#ifndef GORT_MEMSTREAM_H
#define GORT_MEMSTREAM_H

#include <stddef.h>
#include <string.h>

static inline void memcpy_stream(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
}

#endif /* GORT_MEMSTREAM_H */
