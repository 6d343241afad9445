/*
 * trace.h - the execution tracer's hooks (trace.c) and the runtime
 * counters (stats.c), as the scheduler calls them.
 *
 * Every hook is a static inline that tests one global word and calls an
 * out-of-line emitter only when a trace or the flight recorder runs, so
 * that tracing off costs a load and a branch not taken. Arguments are
 * computed only behind the test. The emitters never switch goroutines,
 * never take a runtime lock, and may be called with runtime locks held
 * (the tracer's own locks are leaves); see trace.c for the buffers.
 */
#ifndef GORT_TRACE_H
#define GORT_TRACE_H

#include "runtime.h"
#include "trace_format.h"

/* TRACE_OFF, TRACE_ON, TRACE_PAUSED (trace.c). */
extern _Atomic uint32_t trace_enabled;
/* Set on this thread while checktimers runs a timer's function: goroutines
 * it readies are readied "by" no goroutine. */
extern __thread uint8_t trace_intimer __attribute__((tls_model("initial-exec")));

static inline bool tracing(void)
{
	return unlikely(atomic_load_explicit(&trace_enabled, memory_order_relaxed) != 0);
}

/* The emitter: event ev with the first trace_ev_nargs(ev) of a..d, every
 * argument given, those the format leaves implicit (the P the thread
 * holds, the goroutine it runs) included: trace.c leaves them out. */
void traceev(uint8_t ev, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
/* The same at the timestamp of this thread's previous event (no clock
 * read); for the one case traceGoStart's sametime explains. */
void traceev_samets(uint8_t ev, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
/* The same from a signal handler: never allocates (drops the event when
 * the thread's buffer has no room left). */
void traceev_sig(uint8_t ev, uint64_t a, uint64_t b, uint64_t c);
void tracegocreate_slow(p *pp, g *newg);
void tracegomaxprocs_slow(int32_t old, int32_t n);
void trace_runtime_end(void);      /* gort_main ends: stop what runs */
size_t trace_staged_bytes(void);   /* see trace.c */
size_t trace_ring_bytes(void);     /* see trace.c */
int trace_threads(void);           /* see trace.c */
uint64_t trace_sig_lost(void);     /* see trace.c */
/* For tests: runs between the clock read and the second counter read of
 * every (clock, ticks) pair the tracer reads (clock_pair in trace.c). */
extern void (*_Atomic trace_clock_hook)(void);
void stats_reset(void);

/* Stopping the world holds off every thread with a P, not the threads
 * without one: an M leaving a syscall with no P to take (exitsyscall0),
 * netpoll results readied by sysmon or an idle M (injectglist), a plain
 * thread that readies or creates a goroutine (goready, newproc). Each of
 * them changes a goroutine's state and then writes its event, while a
 * trace start's snapshot reads that state and writes the goroutine's
 * first events and seq. So such a thread makes its change and its event
 * holding tracesnap_lock, which the start holds from turning tracing on
 * to the end of its snapshot: the pair comes wholly before the snapshot
 * (tracing off: no event; the snapshot sees the new state) or wholly
 * after it, never interleaved with it. It may be taken with runtime
 * locks held (a channel's, by goready); under it only gheap.lock (the
 * snapshot's forEachG) and trace.c's own mutexes are taken. */
void tracesnap_lock(void);
void tracesnap_unlock(void);

/* The lock around a state change and its event made holding pp: taken
 * only when pp is NULL, since the world's stop holds off the rest. */
static inline void tracesnap_enter(const p *pp)
{
	if (!pp)
		tracesnap_lock();
}

static inline void tracesnap_exit(const p *pp)
{
	if (!pp)
		tracesnap_unlock();
}

/* ++seq of gp (see trace.c). */
static inline uint64_t tracegoseq(g *gp)
{
	return ++gp->traceseq;
}

/* -1 (no P) as the format writes it. */
static inline uint64_t tracepid(p *pp)
{
	return pp ? (uint64_t)(int64_t)pp->id : UINT64_MAX;
}

/* The P of the calling thread, if it holds one. */
static inline uint64_t tracecurp(void)
{
	m *mp = tls_m;
	return tracepid(mp ? mp->p : NULL);
}

static inline void traceGoCreate(p *pp, g *newg)
{
	if (tracing())
		tracegocreate_slow(pp, newg);
}

/* sametime: a goroutine this thread took from its own P's queue (or its
 * readynext) right after, or just before, writing the last event of the
 * goroutine it leaves (a park's GoBlock, a GoEnd). Only this P's owners
 * put goroutines in its queue: what made this one runnable was written by
 * this thread earlier, or by a previous owner before its ProcStop, so it
 * is ordered before that last event whatever the clocks say, and the
 * start may take that event's timestamp, tens of ns early, instead of a
 * clock read of its own (the largest cost of an event). */
static inline void traceGoStart(p *pp, g *gp, bool sametime)
{
	if (tracing())
		(sametime ? traceev_samets : traceev)(EvGoStart, tracepid(pp), (uint64_t)gp->goid,
		                                      tracegoseq(gp), 0);
}

static inline void traceGoEnd(p *pp, g *gp)
{
	if (tracing())
		traceev(EvGoEnd, tracepid(pp), (uint64_t)gp->goid, 0, 0);
}

/* The string id of a wait reason: the reasons are the first strings of
 * every trace (trace.c), id = reason. */
static inline void traceGoBlock(p *pp, g *gp)
{
	if (tracing())
		traceev(EvGoBlock, tracepid(pp), (uint64_t)gp->goid, gp->waitreason, 0);
}

/* gp was made runnable; by the calling goroutine unless a timer's
 * function or a thread without a goroutine did it. */
static inline void traceGoUnblock(g *gp)
{
	if (tracing()) {
		g *by = trace_intimer ? NULL : getg();
		traceev(EvGoUnblock, tracecurp(), (uint64_t)gp->goid, tracegoseq(gp),
		        by ? (uint64_t)by->goid : 0);
	}
}

/* gp was made runnable by no goroutine: readied by the netpoller, or
 * its park was called off by its commit (gopark's unlockf returned
 * false; gopark's direct path runs the commit on the next goroutine,
 * which did not ready it). */
static inline void traceGoUnblockNoG(g *gp)
{
	if (tracing())
		traceev(EvGoUnblock, tracecurp(), (uint64_t)gp->goid, tracegoseq(gp), 0);
}

static inline void traceGoSched(p *pp, g *gp)
{
	if (tracing())
		traceev(EvGoSched, tracepid(pp), (uint64_t)gp->goid, 0, 0);
}

static inline void traceGoPreempt(p *pp, g *gp, bool async)
{
	if (tracing())
		traceev(EvGoPreempt, tracepid(pp), (uint64_t)gp->goid, async, 0);
}

/* entersyscall: the G enters the call and the M gives up owning its P.
 * sig: called from the preemption signal handler (SYSCALL_DETACHED).
 * entersyscall has set pp->tracesysg, tracing or not. */
static inline void traceGoSysCall(m *mp, p *pp, g *gp, bool sig)
{
	if (tracing()) {
		if (sig) {
			traceev_sig(EvGoSysCall, tracepid(pp), (uint64_t)gp->goid, 0);
			traceev_sig(EvProcStop, tracepid(pp), (uint64_t)mp->id, 0);
		} else {
			traceev(EvGoSysCall, tracepid(pp), (uint64_t)gp->goid, 0, 0);
			traceev(EvProcStop, tracepid(pp), (uint64_t)mp->id, 0, 0);
		}
	}
}

static inline void traceGoSysExit(p *pp, g *gp)
{
	if (tracing())
		traceev(EvGoSysExit, tracepid(pp), (uint64_t)gp->goid, tracegoseq(gp), 0);
}

/* pp, left in a syscall, was taken from its M (retake, entersyscallblock,
 * a stop of the world). sig: from the preemption signal handler, whose
 * entersyscall may stop its P for a stop of the world. */
static inline void traceGoSysBlock(p *pp, bool sig)
{
	if (tracing()) {
		uint64_t gid = (uint64_t)atomic_load_explicit(&pp->tracesysg, memory_order_relaxed);
		if (sig)
			traceev_sig(EvGoSysBlock, tracepid(pp), gid, 0);
		else
			traceev(EvGoSysBlock, tracepid(pp), gid, 0, 0);
	}
}

static inline void traceProc(uint8_t ev, p *pp, m *mp)
{
	if (tracing())
		traceev(ev, tracepid(pp), (uint64_t)mp->id, 0, 0);
}

/* procresize: GOMAXPROCS becomes n (from old). */
static inline void traceGomaxprocs(int32_t old, int32_t n)
{
	if (tracing())
		tracegomaxprocs_slow(old, n);
}

static inline void traceM(uint8_t ev, m *mp)
{
	if (tracing())
		traceev(ev, (uint64_t)mp->id, (uint64_t)mp->procid, 0, 0);
}

/* Two-argument events of a P and a count: GlobRunqGet, GlobRunqPut,
 * NetpollWake, TimerFire. */
static inline void traceCount(uint8_t ev, uint64_t pid, int64_t n)
{
	if (tracing())
		traceev(ev, pid, (uint64_t)n, 0, 0);
}

/* The same for the calling thread's P, looked up only when tracing. */
static inline void traceCountCur(uint8_t ev, int64_t n)
{
	if (tracing())
		traceev(ev, tracecurp(), (uint64_t)n, 0, 0);
}

static inline void traceSteal(p *pp, p *victim, uint32_t n)
{
	if (tracing())
		traceev(EvSteal, tracepid(pp), tracepid(victim), n, 0);
}

static inline void tracePreemptReq(p *pp, bool signal)
{
	if (tracing())
		traceev(EvPreemptReq, tracepid(pp), 0, signal, 0);
}

/* ---- counters (stats.c) ---------------------------------------------- */

/* Add n to a counter of the calling M (owner-written: a plain load and
 * store, no locked instruction, no shared line); threads that are not Ms
 * (sysmon) add to the global set with an atomic. */
void stat_add_global(size_t off, uint64_t n);
static inline void stat_add_(size_t off, uint64_t n)
{
	m *mp = tls_m;
	if (likely(mp != NULL)) {
		_Atomic uint64_t *c = (_Atomic uint64_t *)((char *)&mp->stats + off);
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
		                      memory_order_relaxed);
	} else {
		stat_add_global(off, n);
	}
}
#define STAT_ADD(field, n) stat_add_(offsetof(schedstats, field), (uint64_t)(n))
/* The same where the caller holds its M already (no TLS look-up). */
#define STAT_ADD_M(mp, field, n)                                                       \
	atomic_store_explicit(&(mp)->stats.field,                                      \
	                      atomic_load_explicit(&(mp)->stats.field, memory_order_relaxed) + \
	                              (uint64_t)(n),                                   \
	                      memory_order_relaxed)

#endif /* GORT_TRACE_H */
