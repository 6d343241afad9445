/*
 * ctx.c - the sanitizer-aware wrapper around the context switch.
 *
 * Protocol (both sanitizers need it on every switch):
 *  - AddressSanitizer: before leaving a stack, start_switch_fiber names the
 *    stack we go to and saves our fake-stack handle in our gobuf; the first
 *    thing after arriving is finish_switch_fiber with the handle of the
 *    side that arrives. A side that will never run again passes NULL so
 *    that ASan frees its fake frames. A brand-new goroutine arrives in
 *    ctx_entered with nothing saved.
 *  - ThreadSanitizer: every goroutine is a fiber; switching to a fiber
 *    also orders the two sides (flag 0 = synchronise), which is exactly
 *    the happens-before a hand-over through the scheduler implies.
 */
#include "ctx.h"

#if GORT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if GORT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

void gogo_switch(gobuf *from, gobuf *to, bool dying)
{
#if GORT_ASAN
	__sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake,
	                               to->stack_bottom, to->stack_size);
#endif
#if GORT_TSAN
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
	(void)dying;
	ctxswitch(&from->sp, to->sp);
#if GORT_ASAN
	__sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
}

void ctx_entered(void)
{
#if GORT_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

void ctx_set_stack(gobuf *buf, uintptr_t lo, uintptr_t hi)
{
#if GORT_ASAN
	buf->stack_bottom = (const void *)lo;
	buf->stack_size = hi - lo;
	/* A reused stack may still carry the poisoned redzones of frames
	 * that were live when its previous goroutine switched away for good. */
	__asan_unpoison_memory_region((void *)lo, hi - lo);
#else
	(void)buf, (void)lo, (void)hi;
#endif
}

/* A goroutine gets a fresh TSan fiber each time it starts and loses it
 * when it exits: a fiber cannot be reused, because the frames that were
 * live on it when its goroutine switched away for good stay on its
 * shadow call stack. */
void ctx_fiber_create(gobuf *buf)
{
#if GORT_TSAN
	buf->tsan_fiber = __tsan_create_fiber(0);
#else
	(void)buf;
#endif
}

void ctx_fiber_destroy(gobuf *buf)
{
#if GORT_TSAN
	if (buf->tsan_fiber)
		__tsan_destroy_fiber(buf->tsan_fiber);
	buf->tsan_fiber = NULL;
#else
	(void)buf;
#endif
}

void ctx_fiber_current(gobuf *buf)
{
#if GORT_TSAN
	buf->tsan_fiber = __tsan_get_current_fiber();
#else
	(void)buf;
#endif
}
