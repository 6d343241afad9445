/*
 * sigctx_amd64.c - what the signal handlers read from, and write to, an
 * interrupted x86-64 context; the set-up of the preemption trampoline
 * (asyncpreempt.S).
 */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include "runtime.h"

/* Read by asyncpreempt.S. Size 0 means no xsave: fxsave's 512 bytes. */
uint32_t asyncpreempt_xsave_size;
uint64_t asyncpreempt_xsave_mask;
uint8_t asyncpreempt_avx;

enum {
	CPUID1_ECX_XSAVE = 1u << 26,
	CPUID1_ECX_OSXSAVE = 1u << 27,
	XSTATE_AVX = 1u << 2,
	/* AMX tile config and data: a thread must ask the kernel for them
	 * (arch_prctl), and xrstor of tile data faults while that is not
	 * granted. Code that uses AMX must not be preempted (gort_preempt_off). */
	XSTATE_AMX = 3u << 17,
	XSAVE_LEGACY_AND_HEADER = 576,
};

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

void asyncpreempt_init(void)
{
	unsigned a, b, c, d;
	asyncpreempt_xsave_size = 0;
	asyncpreempt_avx = 0;
	if (!__get_cpuid(1, &a, &b, &c, &d) ||
	    (c & (CPUID1_ECX_XSAVE | CPUID1_ECX_OSXSAVE)) !=
	            (CPUID1_ECX_XSAVE | CPUID1_ECX_OSXSAVE))
		return;
	uint64_t mask = xgetbv0() & ~(uint64_t)XSTATE_AMX;
	/* The standard (non-compacted) layout: component i lies at the
	 * offset cpuid(0xd, i) gives, so the area ends at the furthest
	 * enabled component. */
	uint32_t size = XSAVE_LEGACY_AND_HEADER;
	for (unsigned i = 2; i < 64; i++) {
		if (!(mask >> i & 1) || !__get_cpuid_count(0xd, i, &a, &b, &c, &d))
			continue;
		if (b + a > size)
			size = b + a;
	}
	asyncpreempt_xsave_mask = mask;
	asyncpreempt_xsave_size = size;
	asyncpreempt_avx = (mask & XSTATE_AVX) != 0;
}

uintptr_t sigctx_sp(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RSP];
}

uintptr_t sigctx_pc(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}

/* The interrupted frame pointer: where a traceback of the interrupted
 * goroutine starts (traceback.c). */
uintptr_t sigctx_fp(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RBP];
}

/* Whether one of the interrupted general registers holds v: r8 to rcx
 * in gregs' order, which puts rsp and rip after them. */
bool sigctx_holds(const void *uc, uintptr_t v)
{
	const greg_t *r = ((const ucontext_t *)uc)->uc_mcontext.gregs;
	for (int i = REG_R8; i <= REG_RCX; i++)
		if ((uintptr_t)r[i] == v)
			return true;
	return false;
}

/* If the signal broke the system call sc (it returned EINTR right at the
 * pc and sp it was seen blocked at, with the same six arguments, which
 * the kernel leaves in their registers: the same call, not a later one
 * through a shared syscall instruction), make the interrupted code issue
 * it again, with the arguments again: back onto the syscall instruction
 * with the number in rax. */
void sigctx_restart_syscall(void *ucv, const sigsyscall *sc, const uintptr_t again[6])
{
	greg_t *r = ((ucontext_t *)ucv)->uc_mcontext.gregs;
	static const int argreg[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};
	if (sc->pc == 0 || r[REG_RAX] != -EINTR || (uintptr_t)r[REG_RIP] != sc->pc ||
	    (uintptr_t)r[REG_RSP] != sc->sp)
		return;
	for (int i = 0; i < 6; i++)
		if ((uintptr_t)r[argreg[i]] != sc->args[i])
			return;
	const uint8_t *insn = (const uint8_t *)(sc->pc - 2);
	if (insn[0] != 0x0f || insn[1] != 0x05) /* syscall */
		return;
	for (int i = 0; i < 6; i++)
		r[argreg[i]] = (greg_t)again[i];
	r[REG_RAX] = (greg_t)sc->nr;
	r[REG_RIP] = (greg_t)(sc->pc - 2);
}

/* Make the interrupted code call asyncpreempt where it stands: below its
 * red zone, push the interrupted rip as a return address. */
void sigctx_redirect(void *ucv)
{
	greg_t *r = ((ucontext_t *)ucv)->uc_mcontext.gregs;
	uintptr_t sp = (uintptr_t)r[REG_RSP] - 128 - 8;
	*(uintptr_t *)sp = (uintptr_t)r[REG_RIP];
	r[REG_RSP] = (greg_t)sp;
	r[REG_RIP] = (greg_t)(uintptr_t)asyncpreempt;
}

/* The interrupted context is restored by the trampoline itself. */
void asyncpreempt_resume(void *frame)
{
	(void)frame;
}
