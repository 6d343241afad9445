/*
 * stats.c - the runtime counters of gort_read_stats.
 *
 * Always on, so they must cost nothing a hot path would notice: each M
 * counts in its own m->stats (trace.h: STAT_ADD), written only by the
 * M's thread with a plain load and store (relaxed atomics: no locked
 * instruction, no cache line shared with another writer), and readers
 * sum every M's set. Threads that are not Ms (sysmon) add to one global
 * set with atomics; they do so rarely. Goroutine creations are the P
 * counters gort_numgoroutine already keeps (g.c).
 *
 * Ms are freed only at teardown, so walking allm under sched.lock is
 * safe while the runtime runs; foreign_lock (read) keeps teardown away
 * from a reader that is not a goroutine. A goroutine keeps it away by
 * running (teardown waits for every M) and must not take the lock: it
 * may be preempted and go on on another thread, whose count of brackets
 * (foreign_held) is not the one that took it, or be abandoned there when
 * gort_main returns; either way the lock stays held and teardown waits
 * for it for ever. rt_enter_wait takes the one bracket or the other. A
 * goroutine's read is a runtime call like any other (rt_enter): one
 * whose P the preemption signal handed off takes one back, rather than
 * read on and return detached, and a pending preemption request is
 * honoured on the way out. An M that newm reuses keeps its counters, so
 * a sum never goes back.
 */
#include <errno.h>

#include "trace.h"

static schedstats globalstats;

void stat_add_global(size_t off, uint64_t n)
{
	atomic_fetch_add_explicit((_Atomic uint64_t *)((char *)&globalstats + off), n,
	                          memory_order_relaxed);
}

/* Fields are read last to first, each with acquire: a count that only
 * ever follows another on its M (steals_won after steals_tried, stored
 * with release) is read first, so the sum never shows more won than
 * tried. */
static void stats_sum(schedstats *sum, schedstats *s)
{
	_Atomic uint64_t *dst = (_Atomic uint64_t *)sum, *src = (_Atomic uint64_t *)s;
	for (size_t i = sizeof *s / sizeof(uint64_t); i-- > 0;)
		atomic_store_explicit(&dst[i], atomic_load_explicit(&dst[i], memory_order_relaxed) +
		                      atomic_load_explicit(&src[i], memory_order_acquire),
		                      memory_order_relaxed);
}

/* A new run counts from zero (teardown). */
void stats_reset(void)
{
	schedstats zero = {0};
	_Atomic uint64_t *dst = (_Atomic uint64_t *)&globalstats;
	for (size_t i = 0; i < sizeof zero / sizeof(uint64_t); i++)
		atomic_store_explicit(&dst[i], 0, memory_order_relaxed);
}

/* The counters, while the runtime is up. */
static void stats_read(gort_stats *s)
{
	s->goroutines = numgoroutine();
	schedstats sum = {0};
	stats_sum(&sum, &globalstats);
	lock(&sched.lock);
	for (m *mp = allm; mp; mp = mp->alllink)
		stats_sum(&sum, &mp->stats);
	uint64_t created = (uint64_t)atomic_load_explicit(&sched.ngforeign, memory_order_relaxed);
	for (int i = 0; i < GORT_MAX_PROCS && allp[i]; i++)
		created += (uint64_t)atomic_load_explicit(&allp[i]->gcreated, memory_order_relaxed);
	s->threads = sched.nmalive + 1; /* and M0 */
	unlock(&sched.lock);
	s->gomaxprocs = atomic_load(&gomaxprocs);
	s->idleprocs = atomic_load(&sched.npidle);
	s->runqueue = atomic_load(&sched.runqsize);
	s->goroutines_created = created;
	s->context_switches = sum.context_switches;
	s->steals_tried = sum.steals_tried;
	s->steals_won = sum.steals_won;
	s->handoffs = sum.handoffs;
	s->preempt_async = sum.preempt_async;
	s->preempt_coop = sum.preempt_coop;
	s->netpoll_wakeups = sum.netpoll_wakeups;
	s->timers_fired = sum.timers_fired;
	s->stoptheworld = sum.stoptheworld;
}

GORT_API int gort_read_stats(gort_stats *s)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	*s = (gort_stats){0};
	g *gp = rt_enter_wait();
	if (atomic_load(&runtime_running) == RUNTIME_UP)
		stats_read(s);
	rt_exit_wait(gp);
	return 0;
}
