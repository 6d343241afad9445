/*
 * schedtrace.c - the scheduler report (Go's schedtrace and scheddetail),
 * printed every GODEBUG=schedtrace=N ms by sysmon and on demand by
 * gort_schedtrace.
 *
 * The format is Go's, one line:
 *   SCHED 5ms: gomaxprocs=4 idleprocs=2 threads=8 spinningthreads=0
 *   needspinning=0 idlethreads=1 runqueue=0 [0 0 15 0]
 * (needspinning= as Go 1.20+ prints it, the bracket list of the local run
 * queue lengths as Go 1.19), and with detail (scheddetail=1) the global
 * counters, then one line per P, per M (allm order, newest first; an M
 * that newm reuses keeps its place) and per goroutine, as Go 1.19 with -1
 * for a missing id.
 *
 * Where gort differs from Go, the field still prints, with gort's nearest
 * value:
 *  - threads: Ms created minus Ms whose threads exited (Go's mcount), plus
 *    sysmon, which Go counts as an M and gort runs as a plain thread (it
 *    is not in the M list).
 *  - needspinning: always 0. Go 1.20 added the flag to its wakep protocol
 *    (wakep found work but no idle P: an M about to drop its P must spin
 *    instead); gort follows Go 1.19's protocol, which has no such state.
 *  - M lines: mallocing, throwing, dying and preemptoff are Go's memory
 *    allocator and panic states, which gort does not have (0, 0, 0 and
 *    empty); locks is 0 (gort counts an M's runtime locks in
 *    thread-local storage, which another thread cannot read).
 *
 * Nothing is stopped: the counters, queues and lists are read as they
 * are, so a report may be slightly inconsistent, as Go's. That is safe
 * because Ps live until teardown, allm only grows and is published with
 * a release store (M structs are freed at teardown; one that newm reuses
 * meanwhile reads as a new M), and G structs are
 * never freed while the runtime runs (forEachGRace). A caller that is not
 * an M holds foreign_lock for reading, so teardown waits for it.
 */
#include "runtime.h"

int32_t debug_schedtrace;
int32_t debug_scheddetail;
static int64_t schedtrace_next; /* sysmon's: when to print next */
/* Set by the first report of a run, as Go's starttime: the first line is
 * always "SCHED 0ms:". */
static _Atomic int64_t starttime;

void schedtrace_init(int64_t now)
{
	int64_t ms = godebug_int("schedtrace", 0);
	debug_schedtrace = ms > 0 && ms < INT32_MAX ? (int32_t)ms : 0;
	debug_scheddetail = godebug_int("scheddetail", 0) > 0;
	schedtrace_next = now;
	atomic_store(&starttime, 0);
}

void schedtrace_tick(int64_t now)
{
	if (now < schedtrace_next)
		return;
	schedtrace_next = now + (int64_t)debug_schedtrace * 1000000;
	dumpout o;
	out_init_fd(&o, 2);
	schedtrace(&o, debug_scheddetail);
	out_flush(&o);
}

static RACY int64_t mid(m *mp)
{
	return mp ? mp->id : -1;
}

static void out_kv(dumpout *o, const char *key, int64_t v)
{
	out_str(o, key);
	out_int(o, v);
}

static RACY uint32_t runqsize(p *pp)
{
	uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	int32_t n = (int32_t)(t - h);
	return n < 0 ? 0 : n > GORT_RUNQ_SIZE ? GORT_RUNQ_SIZE : (uint32_t)n;
}

static RACY void schedtrace_p(dumpout *o, int32_t i, p *pp)
{
	out_kv(o, "  P", i);
	out_kv(o, ": status=", atomic_load_explicit(&pp->status, memory_order_relaxed));
	out_kv(o, " schedtick=", tick_load(&pp->schedtick));
	out_kv(o, " syscalltick=", tick_load(&pp->syscalltick));
	out_kv(o, " m=", mid(pm(pp)));
	out_kv(o, " runqsize=", runqsize(pp));
	out_kv(o, " gfreecnt=", pp->gfreecnt);
	out_kv(o, " timerslen=", pp->ntimers);
	out_str(o, "\n");
}

/* An M's blocked flag, read plainly: an M that newm reuses is cleared
 * with memset (a plain write) meanwhile, and TSan checks an atomic load
 * even in a RACY function, where a plain read is left alone. */
static RACY bool m_blocked(m *mp)
{
	return *(volatile uint8_t *)&mp->blocked != 0;
}

static RACY void schedtrace_m(dumpout *o, m *mp)
{
	p *pp = mp->p;
	g *curg = mp->curg;
	g *lockedg = mp->lockedg;
	out_kv(o, "  M", mp->id);
	out_kv(o, ": p=", pp ? pp->id : -1);
	out_kv(o, " curg=", curg ? curg->goid : -1);
	out_str(o, " mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=");
	out_str(o, mp->spinning ? "true" : "false");
	out_str(o, " blocked=");
	out_str(o, m_blocked(mp) ? "true" : "false");
	out_kv(o, " lockedg=", lockedg ? lockedg->goid : -1);
	out_str(o, "\n");
}

static RACY void schedtrace_g(g *gp, void *arg)
{
	dumpout *o = arg;
	uint32_t s = readgstatus(gp);
	if (s == _Gidle)
		return;
	uint8_t wr = gp->waitreason;
	m *mp = gp->m;
	out_kv(o, "  G", gp->goid);
	out_kv(o, ": status=", s);
	out_str(o, "(");
	out_str(o, wr < waitReasonCount ? waitreason_strings[wr] : "unknown wait reason");
	/* gp->m is the running M, or for a locked G the M it is locked to */
	out_kv(o, ") m=", (s == _Grunning || s == _Gsyscall) ? mid(mp) : -1);
	out_kv(o, " lockedm=", gp->locked ? mid(mp) : -1);
	out_str(o, "\n");
}

RACY void schedtrace(dumpout *o, bool detail)
{
	int64_t now = nanotime();
	int64_t start = 0;
	if (!atomic_compare_exchange_strong(&starttime, &start, now))
		now = now > start ? now : start;
	else
		start = now;
	int32_t procs = atomic_load_explicit(&gomaxprocs, memory_order_acquire);
	out_kv(o, "SCHED ", (now - start) / 1000000);
	out_kv(o, "ms: gomaxprocs=", procs);
	out_kv(o, " idleprocs=", atomic_load(&sched.npidle));
	out_kv(o, " threads=", sched.mnext - sched.nmfreed + 1 /* sysmon */);
	out_kv(o, " spinningthreads=", atomic_load(&sched.nmspinning));
	out_kv(o, " needspinning=", 0);
	out_kv(o, " idlethreads=", sched.nmidle);
	out_kv(o, " runqueue=", atomic_load(&sched.runqsize));
	if (detail) {
		out_kv(o, " gcwaiting=", atomic_load(&sched.gcwaiting));
		out_kv(o, " nmidlelocked=", sched.nmidlelocked);
		out_kv(o, " stopwait=", sched.stopwait);
		out_kv(o, " sysmonwait=", atomic_load(&sched.sysmonwait));
		out_str(o, "\n");
	}
	for (int32_t i = 0; i < procs; i++) {
		p *pp = allp[i];
		if (!pp)
			break;
		if (detail) {
			schedtrace_p(o, i, pp);
		} else {
			out_str(o, i == 0 ? " [" : " ");
			out_int(o, runqsize(pp));
			if (i == procs - 1)
				out_str(o, "]");
		}
	}
	if (!detail) {
		out_str(o, "\n");
		return;
	}
	for (m *mp = __atomic_load_n(&allm, __ATOMIC_ACQUIRE); mp; mp = mp->alllink)
		if (!mp->freed) /* no thread: not one of Go's allm */
			schedtrace_m(o, mp);
	forEachGRace(schedtrace_g, o);
}

/* A fatal report (throw, fatal, checkdead's deadlock, SIGQUIT) with
 * GODEBUG schedtrace or scheddetail set begins with the detailed report,
 * as Go's startpanic_m does: the state the scheduler died in. It reads
 * what it reads without locks, as every report, so it is safe with any
 * runtime lock held; nothing once the run is over (its Ps are gone).
 * Returns whether it printed. */
bool schedtrace_fatal(dumpout *o)
{
	if ((debug_schedtrace > 0 || debug_scheddetail > 0) &&
	    atomic_load(&runtime_running) == RUNTIME_UP) {
		schedtrace(o, true);
		return true;
	}
	return false;
}

/* Run fn(o) on the live runtime: on an M directly; elsewhere holding
 * foreign_lock so that teardown waits. false when it is not running. */
static bool with_runtime(void (*fn)(dumpout *, bool), dumpout *o, bool arg)
{
	if (getm()) {
		fn(o, arg);
		return true;
	}
	foreign_enter();
	bool up = atomic_load(&runtime_running) == RUNTIME_UP;
	if (up)
		fn(o, arg);
	foreign_exit();
	return up;
}

GORT_API void gort_schedtrace(FILE *out, bool detail)
{
	dumpout o;
	out_init_file(&o, out ? out : stderr);
	/* Through geterrno/seterrno: a goroutine preempted meanwhile (for a
	 * stop of the world) may go on on another thread, and errno's
	 * address read here would be the first thread's. */
	int saved = geterrno();
	with_runtime(schedtrace, &o, detail);
	out_flush(&o);
	fflush(o.f);
	seterrno(saved);
}
