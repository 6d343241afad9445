/*
 * ctx_arm64.c - the first frame of a new goroutine on AArch64.
 *
 * It mirrors the frame ctxswitch (ctx.S) pops: callee-saved registers all
 * zero (x29 = 0 ends frame-pointer walks), x30 = gostart_tramp, fpcr = 0
 * (round to nearest, no traps).
 */
#include <string.h>

#include "ctx.h"

void *ctx_prepare(uintptr_t stack_hi)
{
	uintptr_t top = stack_hi & ~(uintptr_t)15;
	uint64_t *frame = (uint64_t *)(top - 176);

	memset(frame, 0, 176);
	frame[11] = (uint64_t)(uintptr_t)gostart_tramp; /* x30 */
	return frame;
}

/* The frame ctxswitch left (ctx.S): x29 at sp+80, x30 at sp+88. */
__attribute__((no_sanitize("address", "thread"))) void ctx_saved_frame(uintptr_t sp, uintptr_t *fp,
                                                                       uintptr_t *pc)
{
	const uint64_t *frame = (const uint64_t *)sp;
	*fp = (uintptr_t)frame[10];
	*pc = (uintptr_t)frame[11];
}
