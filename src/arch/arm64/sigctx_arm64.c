/*
 * sigctx_arm64.c - what the signal handlers read from, and write to, an
 * interrupted AArch64 context; the frame of the preemption trampoline
 * (asyncpreempt.S).
 */
#include <asm/sigcontext.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include "runtime.h"

/* The kernel's struct rt_sigframe: glibc's ucontext_t has the kernel's
 * layout (its 128-byte sigset_t covers the kernel's mask and padding). */
typedef struct rt_sigframe {
	siginfo_t info;
	ucontext_t uc;
} rt_sigframe;

_Static_assert(sizeof(rt_sigframe) == 4688, "asyncpreempt.S FRAME");
_Static_assert(offsetof(rt_sigframe, uc.uc_mcontext.regs) == 312, "REGS");
_Static_assert(offsetof(rt_sigframe, uc.uc_mcontext.sp) == 312 + 31 * 8, "sp");
_Static_assert(offsetof(rt_sigframe, uc.uc_mcontext.pstate) == 312 + 33 * 8, "pstate");
_Static_assert(offsetof(rt_sigframe, uc.uc_mcontext.__reserved) == 592, "records");
_Static_assert(offsetof(struct fpsimd_context, fpsr) == 8 &&
               offsetof(struct fpsimd_context, vregs) == 16, "FPSR, VREGS");

void asyncpreempt_init(void)
{
}

uintptr_t sigctx_sp(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.sp;
}

uintptr_t sigctx_pc(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.pc;
}

/* The interrupted frame pointer: where a traceback of the interrupted
 * goroutine starts (traceback.c). */
uintptr_t sigctx_fp(const void *uc)
{
	return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.regs[29];
}

/* Whether one of the interrupted general registers, x0 to x30, holds v. */
bool sigctx_holds(const void *uc, uintptr_t v)
{
	const mcontext_t *mc = &((const ucontext_t *)uc)->uc_mcontext;
	for (int i = 0; i <= 30; i++)
		if (mc->regs[i] == v)
			return true;
	return false;
}

/* If the signal broke the system call sc (x0 is EINTR right at the pc and
 * sp it was seen blocked at, and x1-x5 hold its other arguments: the same
 * call, not a later one through a shared svc), make the interrupted code
 * issue it again, with the arguments again: back onto the svc with x0,
 * which the result overwrote, reloaded too. */
void sigctx_restart_syscall(void *ucv, const sigsyscall *sc, const uintptr_t again[6])
{
	mcontext_t *mc = &((ucontext_t *)ucv)->uc_mcontext;
	if (sc->pc == 0 || (int64_t)mc->regs[0] != -EINTR || mc->pc != sc->pc || mc->sp != sc->sp)
		return;
	for (int i = 1; i < 6; i++)
		if (mc->regs[i] != sc->args[i])
			return;
	if (*(const uint32_t *)(sc->pc - 4) != 0xd4000001) /* svc #0 */
		return;
	for (int i = 0; i < 6; i++)
		mc->regs[i] = again[i];
	mc->regs[8] = (uint64_t)sc->nr;
	mc->pc = sc->pc - 4;
}

/* Make the interrupted code call asyncpreempt where it stands: the link
 * register goes on the stack and takes the interrupted pc (AAPCS64 has
 * no red zone: below sp is free). */
void sigctx_redirect(void *ucv)
{
	mcontext_t *mc = &((ucontext_t *)ucv)->uc_mcontext;
	mc->sp -= 16;
	*(uint64_t *)mc->sp = mc->regs[30];
	mc->regs[30] = mc->pc;
	mc->pc = (uintptr_t)asyncpreempt;
}

/* Complete the trampoline's frame for rt_sigreturn on this thread. */
void asyncpreempt_resume(void *frame)
{
	rt_sigframe *f = frame;
	f->uc.uc_flags = 0;
	f->uc.uc_link = NULL;
	sigaltstack(NULL, &f->uc.uc_stack);
	pthread_sigmask(SIG_SETMASK, NULL, &f->uc.uc_sigmask);
	f->uc.uc_mcontext.fault_address = 0;
	struct fpsimd_context *fp = (void *)f->uc.uc_mcontext.__reserved;
	fp->head.magic = FPSIMD_MAGIC;
	fp->head.size = sizeof *fp;
	struct _aarch64_ctx *end = (void *)(fp + 1);
	end->magic = 0;
	end->size = 0;
}
