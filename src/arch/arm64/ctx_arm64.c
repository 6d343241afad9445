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
