/*
 * memstream.h (amd64) - copy with streaming (non-temporal) stores, for
 * the tracer's hand-over of a full staging buffer (trace.c).
 *
 * A streaming store writes whole cache lines through write-combining
 * buffers: the destination is not read into the cache first (no
 * read-for-ownership) and nothing of the caller's working set is evicted
 * for it. The destination is read next by another thread (the trace
 * writer) or not for a long time (the flight recorder's ring), so caching
 * it would only cost. Streaming stores are weakly ordered: the closing
 * sfence makes them visible before any later store, such as those that
 * publish the buffer under trace.lock.
 */
#ifndef GORT_MEMSTREAM_H
#define GORT_MEMSTREAM_H

#include <emmintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* dst must be 16-byte aligned. */
static inline void memcpy_stream(void *dst, const void *src, size_t n)
{
	__m128i *d = dst;
	const __m128i *s = src;
	size_t i = 0;
	for (; i + 64 <= n; i += 64, d += 4, s += 4) {
		__m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1);
		__m128i c = _mm_loadu_si128(s + 2), e = _mm_loadu_si128(s + 3);
		_mm_stream_si128(d, a);
		_mm_stream_si128(d + 1, b);
		_mm_stream_si128(d + 2, c);
		_mm_stream_si128(d + 3, e);
	}
	memcpy(d, s, n - i);
	_mm_sfence();
}

#endif /* GORT_MEMSTREAM_H */
