/*
 * ctx.h - saved execution contexts and the switch between them.
 *
 * A context is just a stack pointer: ctxswitch (arch/<arch>/ctx.S) pushes
 * the callee-saved registers and the floating-point control state (x86-64:
 * mxcsr and the x87 control word; arm64: fpcr) on the current stack, saves
 * the stack pointer, loads the other one and pops the same frame. Nothing
 * else needs saving: the switch is an ordinary function call, so the
 * compiler has already spilled every caller-saved register. There is no
 * system call on this path (unlike swapcontext, which saves the signal
 * mask).
 *
 * gogo_switch wraps ctxswitch and tells the sanitizers about the stack
 * change: AddressSanitizer must know which stack it is on to keep its
 * fake stacks and shadow straight, ThreadSanitizer tracks each goroutine
 * as a fiber. In ordinary builds the wrapper is the bare call.
 */
#ifndef GORT_CTX_H
#define GORT_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define GORT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GORT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GORT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GORT_TSAN 1
#endif
#endif

typedef struct gobuf {
	void *sp;                 /* saved stack pointer; NULL before first run */
#if GORT_ASAN
	void *asan_fake;          /* ASan fake stack of the switched-out side */
	const void *stack_bottom; /* lowest address of this context's stack */
	size_t stack_size;
#endif
#if GORT_TSAN
	void *tsan_fiber;
#endif
} gobuf;

/* arch/<arch>/ctx.S: save the current context into *save_sp, resume sp. */
void ctxswitch(void **save_sp, void *sp);
/* arch/<arch>/ctx.S: first instruction of every new goroutine. */
void gostart_tramp(void);
/* arch/<arch>/ctx_<arch>.c: lay out a first frame at the top of a fresh
 * stack so that switching to it enters gostart_tramp. Returns the sp. */
void *ctx_prepare(uintptr_t stack_hi);
/* arch/<arch>/ctx_<arch>.c: the frame pointer and return address that
 * ctxswitch saved on a switched-out stack (sp: the gobuf's). The frame
 * records above it are the ABI's: [fp] = the caller's fp, [fp + 8] = the
 * return address (x86-64 rbp chain, AArch64 x29/x30 records). The caller
 * checks that sp lies in the stack; reads are not sanitizer-checked. */
void ctx_saved_frame(uintptr_t sp, uintptr_t *fp, uintptr_t *pc);

/* Switch from `from` to `to`. `dying`: the `from` stack is about to be
 * freed and will never be resumed. */
void gogo_switch(gobuf *from, gobuf *to, bool dying);
/* Called first thing on a new goroutine's stack. */
void ctx_entered(void);
/* Sanitizer bookkeeping of a context's stack (no-ops otherwise). */
void ctx_set_stack(gobuf *buf, uintptr_t lo, uintptr_t hi);
void ctx_fiber_create(gobuf *buf);
void ctx_fiber_destroy(gobuf *buf);
void ctx_fiber_current(gobuf *buf);

#endif /* GORT_CTX_H */
