/*
 * cputicks.h (amd64) - the CPU's time-stamp counter, for the tracer's
 * timestamps (Go's cputicks). A read costs a fraction of a
 * clock_gettime; trace.c anchors it to nanotime() and converts.
 *
 * Usable only with an invariant TSC (CPUID 0x80000007, EDX bit 8): one
 * constant rate on every core, running through sleep states. Without
 * it the tracer reads nanotime() instead.
 */
#ifndef GORT_CPUTICKS_H
#define GORT_CPUTICKS_H

#include <cpuid.h>
#include <stdbool.h>
#include <stdint.h>

static inline uint64_t cputicks(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline bool cputicks_usable(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
		return false;
	__get_cpuid(0x80000007, &a, &b, &c, &d);
	return (d >> 8) & 1;
}

/* Ticks per second when the hardware states it exactly; 0: measure. */
static inline uint64_t cputicks_freq(void)
{
	return 0;
}

#endif /* GORT_CPUTICKS_H */
