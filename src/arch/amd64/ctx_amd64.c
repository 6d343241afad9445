/*
 * ctx_amd64.c - the first frame of a new goroutine on x86-64.
 *
 * It mirrors the frame ctxswitch (ctx.S) pops: FP control state, six
 * callee-saved registers (all zero; rbp = 0 ends frame-pointer walks) and
 * a return address that enters gostart_tramp with rsp 16-byte aligned.
 */
#include <string.h>

#include "ctx.h"

enum {
	MXCSR_DEFAULT = 0x1f80, /* all exceptions masked, round to nearest */
	FPCW_DEFAULT = 0x037f   /* x87: all masked, 64-bit precision */
};

void *ctx_prepare(uintptr_t stack_hi)
{
	uintptr_t top = stack_hi & ~(uintptr_t)15;
	uint64_t *frame = (uint64_t *)(top - 64);

	memset(frame, 0, 64);
	frame[0] = (uint64_t)MXCSR_DEFAULT | ((uint64_t)FPCW_DEFAULT << 32);
	frame[7] = (uint64_t)(uintptr_t)gostart_tramp;
	return frame;
}

/* The frame ctxswitch left (ctx.S): rbp at sp+48, return address at sp+56. */
__attribute__((no_sanitize("address", "thread"))) void ctx_saved_frame(uintptr_t sp, uintptr_t *fp,
                                                                       uintptr_t *pc)
{
	const uint64_t *frame = (const uint64_t *)sp;
	*fp = (uintptr_t)frame[6];
	*pc = (uintptr_t)frame[7];
}
