/*
 * preempt.c - preemption: sysmon's request, the cooperative check at
 * runtime calls, and asynchronous preemption by signal (Go's preemptone,
 * preemptM, doSigPreempt, asyncPreempt, gopreempt_m).
 *
 * Request. sysmon marks a P whose goroutine has run a whole time slice
 * (p->preempt) and sends SIGURG to its M, at most one signal in flight
 * per M (m->signalpending), as Go does; stopTheWorld asks the same way.
 * Unlike Go's Ms, ours may be blocked in the kernel with the P (a plain
 * blocking call made without the syscall hand-off). Such a thread, seen
 * in /proc/<tid>/syscall, gets no signal for a request: the signal could
 * not preempt it there and would only break its call with EINTR. It gets
 * one for a hand-off, and the handler restarts the call it broke (a
 * relative sleep for the time it had left: restart_args).
 *
 * Nor does a signal land in a call made through the syscall hand-off,
 * where it would break the call for nothing (a close's linger, a sleep,
 * a connect cut short): the sender claims signalpending and then looks
 * at the P once more, sending only if it is still _Prunning on the same
 * M; entersyscall stores _Psyscall and then looks at signalpending, and
 * waits for a signal already claimed to land before the call begins
 * (preempt_syscall_wait). Both sides are seq_cst, so one of the two sees
 * the other.
 *
 * Nor does a request outlive the time slice it was made for. sysmon
 * decides from the P's schedtick it saw (tick); by the time it sends,
 * the goroutine may have left the P and another taken it with a new
 * slice: one back from a call on a P it took (startslice), which would
 * get the signal in its next plain call (a sleep broken at once, with
 * EINTR, that no hand-off restarts). The same pair of looks covers it:
 * the sender rechecks the tick after claiming signalpending, and
 * startslice moves the tick and then looks at signalpending.
 *
 * Cooperative. Every gort_* call a goroutine makes checks the flag on its
 * way out (rt_exit) and yields to the global run queue.
 *
 * Asynchronous. The SIGURG handler looks at the interrupted point. If it
 * is safe, the handler rewrites the interrupted context so that, when it
 * returns, the thread enters the assembly trampoline asyncpreempt
 * (arch/<arch>/asyncpreempt.S) as if the interrupted instruction had
 * called it (sigctx_redirect). The trampoline saves every register the
 * interrupted code can be using: the general purpose registers and flags,
 * and the FP/SIMD state (xsave with the components the OS enabled, so
 * x87, SSE, AVX and AVX-512 on x86-64; the whole V register file, fpsr
 * and fpcr on arm64). It then calls asyncpreempt2, which parks the
 * goroutine as _Gpreempted and puts it on the global run queue. When the
 * goroutine runs again, possibly on another thread, the trampoline
 * restores everything and jumps back to the interrupted instruction:
 * `ret $128` on x86-64, past the red zone it left untouched; rt_sigreturn
 * on a frame it built in the kernel's layout on arm64, where no register
 * is free to jump through. The handler itself returns on the thread it
 * came on, so the kernel's signal state is never carried across threads.
 *
 * Safe points. The handler parks the goroutine only if
 *  - it is the M's current goroutine, _Grunning, on a P that asked;
 *  - the M holds no runtime lock (mlocks) and the goroutine is not inside
 *    a gort_* call (g->inruntime): it may be using its P's structures;
 *  - the goroutine has not marked the code unsafe (gort_preempt_off);
 *  - it runs with the Ms' signal mask: not inside a signal handler of
 *    the program (which must finish on the thread it interrupted);
 *  - no general register holds the address of the thread's errno: the
 *    code is between looking errno's location up and loading or storing
 *    through it (gort.h's errno and libc's look it up at each use, and
 *    use it at once); moved, it would reach the old thread's errno, by
 *    then another goroutine's. A register still holding it after its use
 *    refuses the stop as well, which costs only a later one;
 *  - the PC is in the program's own code: the executable's text, less
 *    the runtime's (linked from libgort.a, the section gort_text), read
 *    once at start, or in the vDSO. No shared object is: code in libc,
 *    the loader, libgcc, libgort.so or any other library may hold a
 *    lock (a goroutine parked inside malloc would deadlock the next
 *    malloc on that thread, one parked holding the tracer's lock the
 *    next stop of the world) or be using its thread's own state
 *    (collect_ranges);
 *  - there is room on its stack for the trampoline's save area.
 * Otherwise the request stays pending for the next runtime call. If the
 * goroutine is still in such code after a second slice, sysmon asks for
 * a hand-off and the handler detaches the P (the goroutine enters the
 * syscall state SYSCALL_DETACHED): sysmon gives the P to another M and
 * the goroutine runs on on its own thread, taking a P back at its next
 * runtime call (rt_enter). This is the "KLT switching" of Shiina et al.
 * (PPoPP 2021): preemption is safe and still guaranteed.
 *
 * Off: GODEBUG=asyncpreemptoff=1; sanitizer builds (their runtimes hold
 * locks of their own around code we cannot see); a program whose libc is
 * linked statically (its malloc is indistinguishable from user code).
 * The cooperative check stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "runtime.h"
#include "trace.h"

#define PREEMPT_SIGNAL SIGURG /* Go's sigPreempt */
enum { MAX_RANGES = 16, ASYNC_STACK_NEED = 32 * 1024 };

typedef struct textrange {
	uintptr_t lo, hi;
} textrange;

static struct {
	bool on;                   /* asynchronous preemption enabled */
	textrange safe[MAX_RANGES];   /* the program's own code */
	int nsafe;
	textrange unsafe[2];          /* within it: gort_text, the trampoline */
	int nunsafe;
	struct sigaction old;      /* the program's SIGURG handler */
	pid_t pid;
} preempt;

/* ---- the request ---- */

/* mp's /proc/<pid>/task/<tid>/syscall, opened at its first need and
 * kept until its thread ends (m_closesyscallfile): opening one at every
 * request would take and free fd numbers under a program that is
 * closing and reusing its own. -1 if it cannot be had. Two callers
 * (sysmon, a stop of the world) may race to open it: one keeps its fd.
 *
 * mp->sysfd1 is the fd + 1; 0: not open yet; SYSFD_CLOSED: none, the
 * thread ended (its tid may be another thread's by then) or has not
 * begun; only the thread of a reused M makes it 0 again, once mp->procid
 * is its own (m_preempt_ready: the reader loads procid after sysfd1). A
 * reader counts itself in mp->sysfd_users from before it loads
 * sysfd1 until its pread is done, and the closer, which swaps in
 * SYSFD_CLOSED first, closes only once no reader is left: both sides
 * seq_cst, so either the reader sees SYSFD_CLOSED or the closer sees the
 * reader. No pread can then land on a number the program opened again. */
#define SYSFD_CLOSED (-1)

static int syscall_file(m *mp)
{
	int fd1 = atomic_load(&mp->sysfd1);
	if (fd1 != 0)
		return fd1 > 0 ? fd1 - 1 : -1;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)preempt.pid,
	         (int)mp->procid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int want = 0;
	if (!atomic_compare_exchange_strong(&mp->sysfd1, &want, fd + 1)) {
		if (fd >= 0)
			close(fd);
		return want > 0 ? want - 1 : -1;
	}
	return fd;
}

/* mp's thread ends (mstart0), or the run does (m_teardown). */
void m_closesyscallfile(m *mp)
{
	int fd1 = atomic_exchange(&mp->sysfd1, SYSFD_CLOSED);
	while (atomic_load(&mp->sysfd_users) != 0)
		sched_yield(); /* a pread of a few hundred bytes */
	if (fd1 > 0)
		close(fd1 - 1);
}

/* newm: mp's thread does not run yet, and mp may be a freed M that
 * sysmon or a stopper loaded from a P before its last thread ended: such
 * a reader must neither open the file of a thread id that is not (yet)
 * mp's nor signal one. Until m_preempt_ready the file is "none" and a
 * signal counts as on its way, so no request reaches mp. */
void m_preempt_init(m *mp)
{
	atomic_store(&mp->signalpending, 1);
	atomic_store(&mp->sysfd1, SYSFD_CLOSED);
}

/* mp's thread runs and mp->procid is its id: requests may come. */
void m_preempt_ready(m *mp)
{
	atomic_store(&mp->sysfd1, 0);
	atomic_store(&mp->signalpending, 0);
}

/* Whether mp's thread is blocked in a system call, and which. Linux's
 * /proc/<pid>/task/<tid>/syscall reads "nr arg0 ... arg5 sp pc" then,
 * "running" or "-1 sp pc" otherwise. Without /proc: as if running. */
static bool syscall_blocked(m *mp, sigsyscall *sc)
{
	char buf[256];
	atomic_fetch_add(&mp->sysfd_users, 1);
	int fd = syscall_file(mp);
	ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof buf - 1, 0);
	atomic_fetch_sub(&mp->sysfd_users, 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	char *s = buf, *end;
	long nr = strtol(s, &end, 10);
	if (end == s || nr < 0)
		return false;
	uintptr_t f[8];
	for (int i = 0; i < 8; i++) {
		s = end;
		f[i] = (uintptr_t)strtoull(s, &end, 16);
		if (end == s)
			return false;
	}
	*sc = (sigsyscall){.nr = nr, .sp = f[6], .pc = f[7]};
	for (int i = 0; i < 6; i++)
		sc->args[i] = f[i];
	return sc->pc != 0;
}

/* Ask the goroutine running on pp to stop (sysmon, stopTheWorld), if
 * pp is still in the time slice of tick (its schedtick). */
bool preemptone(p *pp, uint8_t level, uint32_t tick)
{
	m *mp = pm(pp);
	if (!mp || tick_load(&pp->schedtick) != tick)
		return false;
	uint8_t cur = atomic_load_explicit(&pp->preempt, memory_order_relaxed);
	if (cur < level)
		atomic_store_explicit(&pp->preempt, level, memory_order_relaxed);
	else
		level = cur;
	bool sent = false;
	if (preempt.on && atomic_load(&mp->signalpending) == 0) {
		/* A thread blocked in a system call (a plain sleep, poll or
		 * read made without the syscall hand-off) would get it back
		 * with EINTR: nanosleep, poll, epoll_wait and the like are
		 * never restarted once a handler runs, SA_RESTART or not, and
		 * libc's sleep() then returns early. It cannot be preempted
		 * there anyway, so it is left alone for a request; for a
		 * hand-off the handler restarts the call it broke. */
		sigsyscall sc;
		bool blocked = syscall_blocked(mp, &sc);
		if (!blocked || level == PREEMPT_HANDOFF) {
			/* Only the sender writes sigsys, after winning
			 * signalpending: the handler of the last signal has
			 * read it (it clears signalpending after), and the
			 * next handler reads it after the tgkill below. */
			uint32_t zero = 0;
			sent = atomic_compare_exchange_strong(&mp->signalpending, &zero, 1);
			if (sent && (atomic_load(&pp->status) != _Prunning || pm(pp) != mp ||
			             atomic_load(&pp->schedtick) != tick)) {
				/* It entered a system call, left the P, or
				 * began a new slice since the look above (the
				 * file comment). */
				atomic_store(&mp->signalpending, 0);
				sent = false;
			}
			if (sent)
				mp->sigsys = blocked ? sc : (sigsyscall){0};
		}
	}
	tracePreemptReq(pp, sent);
	if (sent)
		syscall(SYS_tgkill, preempt.pid, mp->procid, PREEMPT_SIGNAL);
	return true;
}

/* entersyscall, after its P went to _Psyscall (or startslice, after the
 * P's tick moved), when mp->signalpending was set: a sender claimed it
 * before it could see the store, and may have sent the signal, which
 * would break the call about to start (the next one). Wait
 * for the handler (which clears the flag and leaves a goroutine in a
 * system call alone), or for the sender to take its claim back. Not for
 * ever: where the signal is blocked it cannot break the call either,
 * and a program that took SIGURG for itself would leave the flag set. */
void preempt_syscall_wait(m *mp)
{
	int64_t until = nanotime() + 1000 * 1000;
	while (atomic_load(&mp->signalpending) != 0 && nanotime() < until) {
		sigset_t set;
		if (sigpending(&set) == 0 && sigismember(&set, PREEMPT_SIGNAL))
			return;
		osyield(); /* a system call: a signal sent lands on its return */
	}
}

/* On g0: gp stops here and goes to the global run queue (Go's
 * gopreempt_m); _Gpreempted marks the stop for observers. */
static g *gopreempt_m(m *mp, g *gp)
{
	casgstatus(gp, _Grunning, _Gpreempted);
	dropg(mp, gp);
	casgstatus(gp, _Gpreempted, _Grunnable);
	lock(&sched.lock);
	globrunqput(gp);
	unlock(&sched.lock);
	return NULL;
}

/* The cooperative half: called by rt_exit when a request is pending. */
void gopreempt(void)
{
	g *gp = getg();
	traceGoPreempt(gp->m->p, gp, false);
	STAT_ADD(preempt_coop, 1);
	mcall(gopreempt_m);
}

/* ---- the signal ---- */

static bool in_ranges(const textrange *r, int n, uintptr_t pc)
{
	for (int i = 0; i < n; i++)
		if (pc >= r[i].lo && pc < r[i].hi)
			return true;
	return false;
}

bool preempt_unsafe_pc(uintptr_t pc)
{
	return in_ranges(preempt.unsafe, preempt.nunsafe, pc) ||
	       !in_ranges(preempt.safe, preempt.nsafe, pc);
}

/* Called by the trampoline, every register saved in frame: park here.
 * The handler raised g->inruntime, so no second signal starts another
 * trampoline meanwhile. Returns frame (the arm64 trampoline's way back). */
void *asyncpreempt2(void *frame)
{
	g *gp = getg();
	/* The interrupted code's errno follows it to whatever thread it
	 * resumes on. */
	int saved = geterrno();
	traceGoPreempt(gp->m->p, gp, true);
	STAT_ADD(preempt_async, 1);
	mcall(gopreempt_m);
	seterrno(saved);
	asyncpreempt_resume(frame);
	inruntime_lower(gp);
	return frame;
}

/* The arguments to issue the broken call sc with again: its own, except
 * that a relative sleep goes on from the time it had left, which the
 * kernel wrote to its rem argument when the signal broke it (POSIX
 * requires it); issued with its request again it would sleep again as
 * long as it had slept. A sleep without rem (usleep) still runs long,
 * by the time it slept before the hand-off, as do poll and epoll_wait,
 * whose timeouts the kernel does not update (select and ppoll update
 * theirs, and glibc's sleep passes its request as rem). */
static void restart_args(const sigsyscall *sc, uintptr_t again[6])
{
	memcpy(again, sc->args, sizeof sc->args);
#ifdef SYS_nanosleep
	if (sc->nr == SYS_nanosleep && again[1] != 0)
		again[0] = again[1];
#endif
	if (sc->nr == SYS_clock_nanosleep && !(again[1] & TIMER_ABSTIME) && again[3] != 0)
		again[2] = again[3];
}

/* sc: the system call sysmon saw the thread blocked in (pc 0: none). If
 * the handler acts (detaches the P, or parks the goroutine) and the signal
 * broke that call, it is restarted; otherwise, with no further signal
 * coming, the call gets back EINTR rather than be restarted over and over
 * by the next ones. */
static void dosigpreempt(m *mp, ucontext_t *uc, const sigsyscall *sc)
{
	g *gp = mp->curg;
	p *pp = mp->p;
	if (!gp || !pp || readgstatus(gp) != _Grunning)
		return;
	uint8_t level = atomic_load_explicit(&pp->preempt, memory_order_relaxed);
	if (level == PREEMPT_NONE || mlocks != 0 || gp->inruntime != 0)
		return;
	uintptr_t again[6];
	restart_args(sc, again);
	uintptr_t sp = sigctx_sp(uc);
	if (sp < gp->stk.lo + ASYNC_STACK_NEED || sp > stack_hi(&gp->stk))
		return; /* not on its stack, or too little of it left */
	if (gp->nopreempt || preempt_unsafe_pc(sigctx_pc(uc)) || !sigctx_basemask(uc) ||
	    sigctx_holds(uc, (uintptr_t)gort_errno_location())) {
		/* Not here. A second slice in such code: hand the P off. */
		if (level == PREEMPT_HANDOFF) {
			entersyscall(mp, gp, SYSCALL_DETACHED);
			sigctx_restart_syscall(uc, sc, again);
		}
		return;
	}
	gp->inruntime++;
	sigctx_restart_syscall(uc, sc, again);
	sigctx_redirect(uc);
}

static void sigpreempt(int sig, siginfo_t *info, void *ucv)
{
	int saved = geterrno();
	/* The program's own SIGURG handler runs too: signals coalesce, so a
	 * SIGURG of its own may have merged with ours. */
	if ((preempt.old.sa_flags & SA_SIGINFO) && preempt.old.sa_sigaction)
		preempt.old.sa_sigaction(sig, info, ucv);
	else if (preempt.old.sa_handler != SIG_DFL && preempt.old.sa_handler != SIG_IGN)
		preempt.old.sa_handler(sig);
	m *mp = tls_m;
	if (mp) {
		sigsyscall sc = mp->sigsys;
		mp->sigsys.pc = 0;
		atomic_store(&mp->signalpending, 0);
		dosigpreempt(mp, ucv, &sc);
	}
	seterrno(saved);
}

/* The runtime's own code, when a program links it from libgort.a: the
 * section gort_text, into which the build moves all of it (CMakeLists.txt,
 * gort_archive). The linker defines these bounds only then; in libgort.so
 * they stay 0. */
extern const char __start_gort_text[] __attribute__((weak, visibility("hidden")));
extern const char __stop_gort_text[] __attribute__((weak, visibility("hidden")));

static bool gort_text_marked(void)
{
	return (uintptr_t)__start_gort_text != (uintptr_t)__stop_gort_text;
}

static void add_unsafe(uintptr_t lo, uintptr_t hi)
{
	preempt.unsafe[preempt.nunsafe++] = (textrange){lo, hi};
}

/* A safe range left out for want of room only loses preemption points. */
static void add_safe(uintptr_t lo, uintptr_t hi)
{
	if (preempt.nsafe < MAX_RANGES)
		preempt.safe[preempt.nsafe++] = (textrange){lo, hi};
}

/* Whether pc lies in an executable segment of the object; with add, each
 * such segment becomes safe. */
static bool object_text(const struct dl_phdr_info *info, uintptr_t pc, bool add)
{
	bool holds = false;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		holds |= pc >= lo && pc < lo + ph->p_memsz;
		if (add)
			add_safe(lo, lo + ph->p_memsz);
	}
	return holds;
}

/* The program headers of the vDSO, the kernel's code for clock_gettime
 * and its kin, where they lie in the image the kernel maps into every
 * process (dl_iterate_phdr reports them there); NULL without one. */
static const void *vdso_phdr(void)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (base == 0)
		return NULL;
	return (const void *)(base + ((const ElfW(Ehdr) *)base)->e_phoff);
}

struct collect {
	const void *vdso;  /* vdso_phdr() */
	bool program_seen; /* the first object, the program, is behind */
	bool libc_shared;  /* the C library is a shared object */
};

/* A goroutine may be parked only in the program's own code: the text of
 * the executable, which dl_iterate_phdr visits first. Shared objects,
 * loaded at start or later by dlopen, stay outside: libc, the loader and
 * libgcc may hold a lock, libgort.so and libgort_hook.so (whose wrappers
 * take a lock of their own) are the runtime, and any other library may
 * be in the middle of using a lock or its thread's own state (an
 * allocator's per-thread cache, an error queue), which the goroutine,
 * moved, would go on using from another thread. The vDSO is safe: it
 * keeps no lock nor any thread's state (the kernel itself moves a thread
 * between CPUs in the middle of it), and a loop that watches the clock
 * spends most of its time there. If the runtime was compiled into the
 * program by other means than libgort.a, there is no gort_text to tell
 * them apart: none of the program's code is safe then, and its long
 * loops are left to the hand-off. */
static int collect_ranges(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct collect *c = arg;
	const char *name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	name = name ? name + 1 : info->dlpi_name;
	if (name && strncmp(name, "libc.so", 7) == 0)
		c->libc_shared = true;
	bool program = !c->program_seen;
	c->program_seen = true;
	if (program && !gort_text_marked() && object_text(info, (uintptr_t)collect_ranges, false))
		return 0; /* the runtime compiled in */
	if (program || (c->vdso && (const void *)info->dlpi_phdr == c->vdso))
		object_text(info, 0, true);
	return 0;
}

#if GORT_ASAN || GORT_TSAN
#define SANITIZED true
#else
#define SANITIZED false
#endif

int preempt_init(void)
{
	memset(&preempt, 0, sizeof preempt);
	preempt.pid = getpid();
	if (SANITIZED || godebug_int("asyncpreemptoff", 0) != 0)
		return 0;
	/* The runtime's code inside the program's, when linked from
	 * libgort.a. The trampoline is never interrupted into itself,
	 * whichever object it was linked into. */
	if (gort_text_marked())
		add_unsafe((uintptr_t)__start_gort_text, (uintptr_t)__stop_gort_text);
	add_unsafe((uintptr_t)asyncpreempt, (uintptr_t)asyncpreempt_end);
	struct collect c = {vdso_phdr(), false, false};
	dl_iterate_phdr(collect_ranges, &c);
	if (!c.libc_shared)
		return 0;
	asyncpreempt_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sigpreempt;
	/* SA_RESTART: interrupted system calls go on. SA_ONSTACK (every M
	 * has an alternate stack): the kernel's signal frame must not lie on
	 * the goroutine's stack, where sigctx_redirect writes the return
	 * address just below the red zone; on x86-64 that is where the frame
	 * keeps its xsave area, whose corruption makes sigreturn fall back to
	 * restoring only the legacy SSE state. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(PREEMPT_SIGNAL, &sa, &preempt.old) != 0)
		return -1;
	preempt.on = true;
	return 0;
}

void preempt_teardown(void)
{
	if (preempt.on)
		sigrestore(PREEMPT_SIGNAL, &preempt.old, sigpreempt);
	preempt.on = false;
}

/* ---- public API ---- */

GORT_API void gort_preempt_off(void)
{
	g *gp = getg();
	if (!gp)
		return;
	/* A count that stopped would end the region at the wrong on. */
	if (gp->nopreempt == UINT8_MAX)
		fatal("gort_preempt_off: nested more than 255 deep");
	gp->nopreempt++;
}

GORT_API void gort_preempt_on(void)
{
	g *gp = rt_enter();
	if (gp && gp->nopreempt > 0)
		gp->nopreempt--;
	rt_exit(gp);
}
