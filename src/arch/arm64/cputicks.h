/*
 * cputicks.h (arm64) - the generic timer's virtual count (CNTVCT_EL0),
 * for the tracer's timestamps (Go's cputicks). Readable from user space
 * on Linux, at the fixed rate CNTFRQ_EL0 on every core, so no
 * calibration is needed.
 */
#ifndef GORT_CPUTICKS_H
#define GORT_CPUTICKS_H

#include <stdbool.h>
#include <stdint.h>

static inline uint64_t cputicks(void)
{
	uint64_t v;
	/* isb: not read ahead of the code before it. */
	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

static inline bool cputicks_usable(void)
{
	return true;
}

static inline uint64_t cputicks_freq(void)
{
	uint64_t f;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f;
}

#endif /* GORT_CPUTICKS_H */
