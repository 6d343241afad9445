/*
 * traceback.c - the goroutine dump (Go's traceback.go): one printer for
 * the fatal paths (deadlock, throw), SIGQUIT and gort_dump_goroutines.
 *
 * The goroutine that dumps (or that SIGQUIT interrupted) comes first,
 * then the others in the order they were made, as Go's. Each goroutine
 * prints as Go's:
 *
 *   goroutine 18 [chan receive, 2 minutes]:
 *   	name: worker                      (gort_attr name, if any; a
 *                                       control byte or \ as \xNN)
 *   blocker(...)
 *   	/path/to/program +0x2c
 *   ...
 *   created by spawn_workers in goroutine 1
 *   	/path/to/program +0x51
 *
 * The header is Go's goroutineheader: the wait reason (or the status),
 * ", N minutes" after a minute of waiting, ", locked to thread". Frames
 * are "function(...)" and, where Go prints file:line, the file the code
 * was loaded from and the offset in the function: gort reads ELF symbol
 * tables (symtab.c), not debug information. An address without a symbol
 * prints as "?(...)" with its pc.
 *
 * Stacks are walked through frame pointers (the runtime is built with
 * -fno-omit-frame-pointer; code without them ends or skips frames). A
 * parked goroutine's walk starts from the frame ctxswitch saved on its
 * stack (ctx_saved_frame, per architecture); the goroutine doing the dump
 * walks from its own frame; the one a signal interrupted, from the
 * signal's context. A walk stops after TRACEBACK_MAX frames, at a frame
 * pointer outside the goroutine's stack [lo, hi), misaligned, or not
 * above the previous one: a corrupt or racing stack ends the walk, it
 * never faults, because only words inside [lo, hi) are read.
 *
 * Goroutines running on other threads (or in a system call) have no
 * saved context: they print Go's "goroutine running on other thread;
 * stack unavailable" and their M. gort_dump_goroutines called by a
 * goroutine stops the world first (stopTheWorld), so every other
 * goroutine is parked and shown with its stack. The SIGQUIT handler and
 * callers on threads that are not goroutines cannot stop anything: they
 * read each G as it is (like Go's forEachGRace), and walk only stacks that
 * stay mapped whatever happens to their goroutine (pool-sized stacks go
 * back to caches and pools, never to the kernel, until teardown); other
 * stacks print as unavailable. The signal path uses only write(2), a
 * pipe to copy names (out_name_racy) and the async-signal-safe
 * symboliser: no malloc, no stdio, no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

/* Reading other goroutines' stacks and fields racily is the point here:
 * a stack's words may lie in ASan redzones or change under TSan's eyes. */
#define NOSAN __attribute__((no_sanitize("address", "thread")))

enum { TRACEBACK_MAX = 100 }; /* Go's _TracebackMaxFrames */

typedef struct dumpctx {
	dumpout *o;
	int64_t now;
	bool stopped;   /* nothing runs: every parked stack may be walked */
	g *self;        /* the goroutine on this thread, walked from selffp */
	uintptr_t selfpc, selffp;
	bool selfexact; /* selfpc is an interrupted pc, not a return address */
	bool probing;   /* probe is open (out_name_racy) */
	int probe[2];
} dumpctx;

static void print_frame(dumpout *o, uintptr_t pc, bool exact)
{
	symbol sym;
	/* A return address may lie past its call's function: look up pc-1. */
	bool ok = symbolize(exact ? pc : pc - 1, &sym);
	out_str(o, ok ? sym.name : "?");
	out_str(o, "(...)\n\t");
	out_str(o, sym.module ? sym.module : "?");
	if (ok) {
		out_str(o, " +");
		out_hex(o, sym.offset + (exact ? 0 : 1));
	} else {
		out_str(o, " pc=");
		out_hex(o, pc);
	}
	out_str(o, "\n");
}

/* Frame records from (pc, fp), inside the stack [lo, hi). */
static NOSAN void traceback_frames(dumpout *o, uintptr_t pc, uintptr_t fp, bool exact,
                                   uintptr_t lo, uintptr_t hi)
{
	for (int n = 0; pc != 0; n++) {
		if (n == TRACEBACK_MAX) {
			out_str(o, "...additional frames elided...\n");
			return;
		}
		print_frame(o, pc, exact);
		exact = false;
		if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)))
			return;
		const uintptr_t *rec = (const uintptr_t *)fp;
		uintptr_t next = rec[0];
		pc = rec[1];
		if (next <= fp)
			return; /* 0 at the bottom (gostart_tramp), or garbage */
		fp = next;
	}
}

/* The "name:" line of a goroutine that may exit meanwhile (a dump that
 * stopped nothing): its exit frees the name, which may then be reused or
 * gone from the address space (a large name is a mapping of its own), so
 * reading it could fault. It is copied through a pipe instead: write(2)
 * fails with EFAULT where a read would fault, natively and under an
 * emulator alike, a piece at a time, each within one page, up to its
 * NUL. A goroutine that exits meanwhile may show a garbled name, never a
 * crash; without a pipe (no fd left) the name is left out. The pipe is
 * the dump's (c->probe), made at the first such name and closed at the
 * end (dumpall). Async-signal-safe (SIGQUIT). */
static void out_name_racy(dumpctx *c, const char *name)
{
	if (!c->probing) {
		if (pipe2(c->probe, O_CLOEXEC | O_NONBLOCK) != 0)
			return;
		c->probing = true;
	}
	char buf[257];
	bool any = false;
	for (uintptr_t a = (uintptr_t)name;;) {
		size_t n = 4096 - (a & 4095); /* to the end of a's page (pages >= 4 KiB) */
		if (n > sizeof buf - 1)
			n = sizeof buf - 1;
		/* The system call itself, not libc's write: a sanitizer's
		 * interceptor would check (and report) the very read that
		 * the kernel is here to make safe. */
		ssize_t w = syscall(SYS_write, c->probe[1], (const void *)a, n);
		if (w <= 0)
			break;
		ssize_t r = read(c->probe[0], buf, (size_t)w);
		if (r != w)
			break;
		buf[r] = '\0';
		if (!any)
			out_str(c->o, "\tname: ");
		any = true;
		out_quoted(c->o, buf);
		if (strlen(buf) < (size_t)r)
			break;
		a += (size_t)r;
	}
	if (any)
		out_str(c->o, "\n");
}

static NOSAN void goroutineheader(dumpctx *c, g *gp, uint32_t s)
{
	dumpout *o = c->o;
	out_str(o, "goroutine ");
	out_int(o, gp->goid);
	out_str(o, " [");
	uint8_t wr = gp->waitreason;
	if (s == _Gwaiting && wr != waitReasonZero && wr < waitReasonCount) {
		out_str(o, waitreason_strings[wr]);
	} else {
		static const char *const names[] = {
			[_Gidle] = "idle", [_Grunnable] = "runnable", [_Grunning] = "running",
			[_Gsyscall] = "syscall", [_Gwaiting] = "waiting", [5] = "moribund_unused",
			[_Gdead] = "dead", [7] = "enqueue_unused", [8] = "copystack",
			[_Gpreempted] = "preempted"};
		out_str(o, s < sizeof names / sizeof names[0] ? names[s] : "???");
	}
	if ((s == _Gwaiting || s == _Gsyscall) && gp->waitsince) {
		int64_t min = (c->now - gp->waitsince) / (60LL * 1000000000);
		if (min >= 1) {
			out_str(o, ", ");
			out_int(o, min);
			out_str(o, " minutes");
		}
	}
	if (gp->locked)
		out_str(o, ", locked to thread");
	out_str(o, "]:\n");
	const char *name = gp->name;
	if (!name)
		return;
	if (c->stopped || gp == c->self) {
		out_str(o, "\tname: ");
		out_quoted(o, name);
		out_str(o, "\n");
	} else {
		out_name_racy(c, name);
	}
}

/* Go's "created by f in goroutine N", with the spawn site. */
static NOSAN void print_createdby(dumpout *o, g *gp)
{
	if (gp->ismain || gp->gopc == 0)
		return;
	symbol sym;
	bool ok = symbolize(gp->gopc - 1, &sym);
	out_str(o, "created by ");
	out_str(o, ok ? sym.name : "?");
	if (gp->parentgoid) {
		out_str(o, " in goroutine ");
		out_int(o, gp->parentgoid);
	}
	out_str(o, "\n\t");
	out_str(o, sym.module ? sym.module : "?");
	if (ok) {
		out_str(o, " +");
		out_hex(o, sym.offset + 1);
	} else {
		out_str(o, " pc=");
		out_hex(o, gp->gopc);
	}
	out_str(o, "\n");
}

/* The stack of a goroutine that is not running, from its saved context. */
static NOSAN void traceback_parked(dumpctx *c, g *gp)
{
	stack stk = gp->stk;
	uintptr_t sp = (uintptr_t)gp->sched.sp;
	if (stk.lo == 0 || sp == 0) {
		/* Never ran: Go shows its entry function. */
		if (gp->fn)
			print_frame(c->o, (uintptr_t)gp->fn, true);
		return;
	}
	uintptr_t hi = stack_hi(&stk);
	if (!c->stopped && stk.size != stackpool_size) {
		out_str(c->o, "\tstack unavailable (not a pooled stack, world not stopped)\n");
		return;
	}
	if (sp < stk.lo || sp > hi - 64)
		return;
	uintptr_t fp, pc;
	ctx_saved_frame(sp, &fp, &pc);
	traceback_frames(c->o, pc, fp, false, stk.lo, hi);
}

static NOSAN void dumpg(g *gp, void *arg)
{
	dumpctx *c = arg;
	uint32_t s = readgstatus(gp);
	if (s == _Gdead || s == _Gidle)
		return;
	goroutineheader(c, gp, s);
	if (gp == c->self && c->selfpc == 0) {
		out_str(c->o, "\tin the scheduler on this thread; stack unavailable\n");
	} else if (gp == c->self) {
		traceback_frames(c->o, c->selfpc, c->selffp, c->selfexact, gp->stk.lo,
		                 stack_hi(&gp->stk));
	} else if (s == _Grunning || s == _Gsyscall) {
		m *mp = gp->m;
		out_str(c->o, "\tgoroutine running on other thread; stack unavailable\n");
		if (mp) {
			out_str(c->o, "\tm: ");
			out_int(c->o, mp->id);
			out_str(c->o, "\n");
		}
	} else {
		traceback_parked(c, gp);
	}
	print_createdby(c->o, gp);
	out_str(c->o, "\n");
}

static NOSAN void dumpother(g *gp, void *arg)
{
	dumpctx *c = arg;
	if (gp != c->self)
		dumpg(gp, c);
}

/* The goroutine of this thread first (the caller, or the one the signal
 * interrupted), then every other in allgs order, as Go's runtime.Stack
 * and tracebackothers. */
static void dumpall(dumpctx *c)
{
	c->now = nanotime();
	if (c->self)
		dumpg(c->self, c);
	forEachGRace(dumpother, c);
	out_flush(c->o);
	if (c->probing) {
		close(c->probe[0]);
		close(c->probe[1]);
		c->probing = false;
	}
}

/* This thread's goroutine, walked from the caller of the function that
 * calls here (a frame record of ours: [fp] caller's fp, [fp+8] its pc). */
static NOSAN void self_from_frame(dumpctx *c, uintptr_t fp)
{
	m *mp = tls_m;
	c->self = mp ? mp->curg : NULL;
	const uintptr_t *rec = (const uintptr_t *)fp;
	c->selffp = rec[0];
	c->selfpc = rec[1];
	c->selfexact = false;
}

__attribute__((noinline)) void dumpgoroutines(dumpout *o, bool stopped)
{
	dumpctx c = {.o = o, .stopped = stopped};
	self_from_frame(&c, (uintptr_t)__builtin_frame_address(0));
	dumpall(&c);
}

/* throw/fatal: the goroutine that hit it, if this thread runs one. */
NOSAN __attribute__((noinline)) void tracebackcurg(void)
{
	dumpout o;
	out_init_fd(&o, 2);
	dumpctx c = {.o = &o, .now = nanotime()};
	self_from_frame(&c, (uintptr_t)__builtin_frame_address(0));
	g *gp = c.self;
	if (!gp)
		return;
	out_str(&o, "\n");
	goroutineheader(&c, gp, readgstatus(gp));
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (here >= gp->stk.lo && here < stack_hi(&gp->stk))
		traceback_frames(&o, c.selfpc, c.selffp, false, gp->stk.lo, stack_hi(&gp->stk));
	else /* a signal stack (stack overflow) or the M's own */
		out_str(&o, "\tnot on the goroutine's stack; stack unavailable\n");
	print_createdby(&o, gp);
	out_flush(&o);
}

/*
 * SIGQUIT (installed by signal.c while the runtime runs): Go's report,
 * every goroutine, exit status 2. The goroutine this thread was running
 * is walked from the interrupted context.
 */
void sigquit_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	fatal_claim();
	dumpout o;
	out_init_fd(&o, 2);
	m *mp = tls_m;
	if (schedtrace_fatal(&o))
		out_str(&o, "\n");
	out_str(&o, "SIGQUIT: quit\nPC=");
	out_hex(&o, sigctx_pc(uc));
	out_str(&o, " m=");
	out_int(&o, mp ? mp->id : -1);
	out_str(&o, " sigcode=");
	out_int(&o, info ? info->si_code : 0);
	out_str(&o, "\n\n");
	dumpctx c = {.o = &o, .stopped = false};
	c.self = mp ? mp->curg : NULL;
	uintptr_t sp = sigctx_sp(uc);
	if (c.self && sp >= c.self->stk.lo && sp < stack_hi(&c.self->stk)) {
		c.selfpc = sigctx_pc(uc);
		c.selffp = sigctx_fp(uc);
		c.selfexact = true;
	} /* else: interrupted on the M's own stack (g0), between goroutines */
	dumpall(&c);
	_exit(2);
}

/* gort_dump_goroutines on a goroutine: stop the world, dump, restart. */
static void dump_stopped(dumpout *o, g *gp)
{
	rt_enter();
	semacquire(&sched.worldsema, waitReasonStopTheWorld);
	stopTheWorld();
	dumpgoroutines(o, true);
	startTheWorld();
	semrelease(&sched.worldsema);
	rt_exit(gp);
}

GORT_API void gort_dump_goroutines(FILE *out)
{
	/* Through geterrno/seterrno: a goroutine that waited for the world
	 * goes on on another thread, and errno's address read here would be
	 * the first thread's, whose next goroutine's errno it would set. */
	int saved = geterrno();
	dumpout o;
	out_init_file(&o, out ? out : stderr);
	g *gp = getg();
	if (gp && gp->syscallstate != SYSCALL_USER) {
		dump_stopped(&o, gp);
	} else if (gp) {
		/* inside gort_entersyscall: it may not take a P back */
		dumpgoroutines(&o, false);
	} else {
		foreign_enter();
		if (atomic_load(&runtime_running) == RUNTIME_UP)
			dumpgoroutines(&o, false);
		foreign_exit();
	}
	out_flush(&o);
	fflush(o.f);
	seterrno(saved);
}
