/*
 * signal.c - the runtime's signal handling: turning a fault in a
 * goroutine's stack guard into "fatal error: stack overflow", and
 * SIGQUIT into Go's goroutine dump (traceback.c) and exit status 2.
 *
 * Every M runs with an alternate signal stack (sigaltstack): a goroutine
 * that overflowed has no stack left to run a handler on. It is mapped
 * before the M's thread is made (mpreinit, as Go's), so that a system
 * out of memory refuses the thread, an error the runtime carries on
 * from, instead of leaving an M on which an overflow would die of a
 * plain SIGSEGV; it is unmapped when the thread ends. The SIGSEGV and
 * SIGBUS handlers look at the faulting address: inside the guard below
 * the current goroutine's stack (stack.c), or below its stack with the
 * stack pointer there too, it is an overflow, reported with the
 * goroutine's id, and the process exits with status 2 as Go's does.
 * Any other fault is not ours: the handler the program had before is
 * called, or the default action is restored and the fault re-raised. A
 * SIGSEGV or SIGBUS sent by kill or raise is never an overflow; it is
 * passed on the same way, and raised again for the default action, as
 * returning would not bring it back as it brings a fault back.
 *
 * SIGQUIT is taken only when its disposition is the default (which would
 * kill the process): a program that ignores or handles it keeps doing so.
 *
 * Handlers are installed by gort_main and the previous ones restored at
 * teardown, where ours are still installed: a handler the program put in
 * meanwhile stays. Only async-signal-safe calls are made in the handlers.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "runtime.h"

enum { SIGSTACK_SIZE = 64 * 1024 };

static struct sigaction oldsegv, oldbus, oldquit;
static bool quitset;
static stack_t m0_oldaltstack;
/* The signal mask of the thread that called gort_main: every M runs with
 * it, so a program that blocks signals everywhere but in one thread of
 * its own (sigwait) keeps that arrangement. */
static sigset_t initmask;

static bool is_overflow(g *gp, uintptr_t addr, uintptr_t sp)
{
	if (!gp || !gp->stk.lo)
		return false;
	uintptr_t guardlo = gp->stk.lo - stack_guard_size();
	if (addr >= guardlo && addr < gp->stk.lo)
		return true;
	/* A huge frame may skip the guard; the stack pointer tells. */
	return sp < gp->stk.lo && sp >= gp->stk.lo - (1u << 20) && addr < gp->stk.lo;
}

static void report_overflow(g *gp, uintptr_t sp)
{
	printstr("runtime: goroutine stack exceeds ");
	printint((int64_t)gp->stk.size);
	printstr("-byte limit\nruntime: sp=");
	printhex(sp);
	printstr(" stack=[");
	printhex(gp->stk.lo);
	printstr(", ");
	printhex(stack_hi(&gp->stk));
	printstr("]\n");
	fatal("stack overflow");
}

static void sigfault(int sig, siginfo_t *info, void *uc)
{
	m *mp = tls_m;
	g *gp = mp ? mp->curg : NULL;
	uintptr_t sp = sigctx_sp(uc);
	/* A signal sent by kill, raise or sigqueue (si_code <= 0) is no
	 * fault: its si_addr holds the sender's pid and uid. */
	bool sent = info->si_code <= 0;
	if (!sent && is_overflow(gp, (uintptr_t)info->si_addr, sp))
		report_overflow(gp, sp);

	struct sigaction *old = sig == SIGSEGV ? &oldsegv : &oldbus;
	if ((old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, info, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Not ours: die the way the program would have without us. A fault
	 * comes back when the handler returns, now to the default action; a
	 * sent signal does not, so it is raised again, unless the program
	 * ignored it (a fault is fatal even then). */
	if (sent && old->sa_handler == SIG_IGN)
		return;
	signal(sig, SIG_DFL);
	if (sent)
		raise(sig); /* not blocked (SA_NODEFER): delivered before it returns */
}

/* Whether a signal interrupted code running with the Ms' own signal
 * mask. Inside another signal handler (which blocks its signal and its
 * sa_mask), or in a goroutine that blocked signals itself, the mask
 * differs: such code belongs to the thread, and the preemption handler
 * must not move it to another one. Only the kernel's 64 bits of the
 * saved mask are meaningful. */
bool sigctx_basemask(const void *ucv)
{
	const ucontext_t *uc = ucv;
	uint64_t a, b;
	memcpy(&a, &uc->uc_sigmask, sizeof a);
	memcpy(&b, &initmask, sizeof b);
	return a == b;
}

int signal_init(void)
{
	pthread_sigmask(SIG_SETMASK, NULL, &initmask);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sigfault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &oldsegv) != 0)
		return -1;
	if (sigaction(SIGBUS, &sa, &oldbus) != 0) {
		sigaction(SIGSEGV, &oldsegv, NULL);
		return -1;
	}
	quitset = false;
	if (sigaction(SIGQUIT, NULL, &oldquit) == 0 && !(oldquit.sa_flags & SA_SIGINFO) &&
	    oldquit.sa_handler == SIG_DFL) {
		sa.sa_sigaction = sigquit_handler;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigfillset(&sa.sa_mask); /* the dump runs alone on this thread */
		quitset = sigaction(SIGQUIT, &sa, NULL) == 0;
	}
	return 0;
}

/* Put back the handler sig had before gort_main, unless the program
 * installed one of its own meanwhile: that one stays. */
void sigrestore(int sig, const struct sigaction *old, void (*ours)(int, siginfo_t *, void *))
{
	struct sigaction cur;
	if (sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	    cur.sa_sigaction == ours)
		sigaction(sig, old, NULL);
}

void signal_teardown(void)
{
	sigrestore(SIGSEGV, &oldsegv, sigfault);
	sigrestore(SIGBUS, &oldbus, sigfault);
	if (quitset)
		sigrestore(SIGQUIT, &oldquit, sigquit_handler);
	quitset = false;
}

/* Map mp's alternate signal stack, on the thread that makes mp (Go's
 * mpreinit): 0, or -1 with no memory. */
int mpreinit(m *mp)
{
	mp->sigstack = sysalloc(SIGSTACK_SIZE);
	return mp->sigstack ? 0 : -1;
}

/* Unmap it (NULL: none). */
void msigstack_free(m *mp)
{
	if (mp->sigstack)
		sysfree(mp->sigstack, SIGSTACK_SIZE);
	mp->sigstack = NULL;
}

/* Per-M set-up on its own thread: its alternate signal stack, and the
 * program's signal mask in place of the full one newm started it with. */
void minit_signals(m *mp)
{
	stack_t ss = {.ss_sp = mp->sigstack, .ss_size = SIGSTACK_SIZE, .ss_flags = 0};
	sigaltstack(&ss, mp->ism0 ? &m0_oldaltstack : NULL);
	if (!mp->ism0)
		pthread_sigmask(SIG_SETMASK, &initmask, NULL);
}

void munit_signals(m *mp)
{
	if (!mp->sigstack)
		return;
	if (mp->ism0) {
		sigaltstack(&m0_oldaltstack, NULL);
	} else {
		stack_t ss = {.ss_flags = SS_DISABLE};
		sigaltstack(&ss, NULL);
	}
	msigstack_free(mp);
}
