/*
 * checkdead.c - deadlock detection (Go's checkdead).
 *
 * checkdead runs, with sched.lock held, each time an M goes idle (mput,
 * stoplockedm, the exit of a locked M), when a new M's thread could not
 * be made, and from sysmon for a retry (below). The program is deadlocked when
 * no M runs (every M is idle, or parked for its locked G) and yet
 * goroutines exist that wait: nothing inside the runtime can wake them.
 * It is not a deadlock, and checkdead returns, when
 *  - an M is running (it may be in a system call: _Gsyscall Gs keep an M
 *    busy, or running a goroutine detached from its P);
 *  - a goroutine is runnable (a thread that is not an M queued it and is
 *    about to wake an M);
 *  - the process has threads besides the runtime's own (M threads,
 *    sysmon, the threads still ending of Ms whose locked G exited, and
 *    the writer thread of a trace to a file):
 *    such a thread may still wake a goroutine (gort_wg_done,
 *    gort_go), and the runtime cannot know whether it will. This errs on
 *    the side of never declaring a deadlock that is not one. Nor does
 *    the runtime learn when such a thread ends, so checkdead then sets
 *    sched.deadretry and sysmon calls it again, at growing intervals
 *    (10 ms to 1 s), until it finds the deadlock or something runs.
 *  - a timer is pending, however far away (as Go);
 *  - a goroutine waits on the netpoller (for I/O readiness: something
 *    outside the process may wake it; Go keeps an M blocked in netpoll
 *    for them, which has the same effect).
 *
 * Then, as Go: "fatal error: all goroutines are asleep - deadlock!", the
 * goroutine dump (traceback.c), exit status 2.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "trace.h"

#if GORT_TSAN
#define GORT_TSAN_THREADS 1
#else
#define GORT_TSAN_THREADS 0
#endif

/* Whether tid is the thread of an M whose locked G exited (exitafterg):
 * such an M no longer counts in mcount, but its thread lives on for a
 * moment after lockedexit (the checkdead there runs on it), and would
 * otherwise pass for a thread that may still wake a goroutine. newm
 * reuses such an M only once its thread is gone. sched.lock held. */
static bool exiting_thread(long tid)
{
	for (m *mp = allm; mp; mp = mp->alllink)
		if (mp->exitafterg && !mp->threadgone && mp->procid == tid)
			return true;
	return false;
}

/* Threads in this process (entries of /proc/self/task) but those of
 * exiting Ms, or -1. One pass over the directory: counting every thread
 * and then the exiting Ms whose threads are still listed, a thread that
 * ended between the two looks was counted as a thread of the program's,
 * and a deadlock seen only then went unreported for good. The directory
 * is read rather than num_threads of /proc/self/stat: an emulator
 * (qemu-user) fakes the latter but not the former. sched.lock held. */
static int64_t process_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int64_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.' && !exiting_thread(strtol(e->d_name, NULL, 10)))
			n++;
	closedir(d);
	return n;
}

struct gcount {
	int64_t waiting;
	int64_t active;
};

static void countg(g *gp, void *arg)
{
	struct gcount *c = arg;
	switch (readgstatus(gp)) {
	case _Gwaiting:
	case _Gpreempted:
		c->waiting++;
		break;
	case _Grunnable:
	case _Grunning:
	case _Gsyscall:
		c->active++;
		break;
	default:
		break;
	}
}

/* sched.lock held. */
void checkdead(void)
{
	bool retrying = atomic_exchange_explicit(&sched.deadretry, false, memory_order_relaxed);
	if (atomic_load(&sched.exiting))
		return;
	int64_t mcount = sched.mnext - sched.nmfreed;
	int64_t run = mcount - sched.nmidle - sched.nmidlelocked;
	if (run > 0)
		return;
	if (run < 0) {
		printstr("runtime: checkdead: nmidle=");
		printint(sched.nmidle);
		printstr(" nmidlelocked=");
		printint(sched.nmidlelocked);
		printstr(" mcount=");
		printint(mcount);
		printstr("\n");
		throw("checkdead: inconsistent counts");
	}
	if (atomic_load(&netpollWaiters) > 0)
		return; /* goroutines wait for I/O */
	if (nexttimer() != 0)
		return; /* a timer will wake someone (even an hour away, as Go) */
	struct gcount c = {0, 0};
	forEachG(countg, &c);
	if (c.active > 0 || c.waiting == 0)
		return;
	/* Our threads: the Ms, sysmon, ThreadSanitizer's own and the
	 * trace's writer (those of Ms ending with their locked G are not
	 * counted). */
	int64_t threads = process_threads();
	if (threads < 0)
		return;
	if (threads > mcount + 1 + (GORT_TSAN_THREADS) + trace_threads()) {
		atomic_store_explicit(&sched.deadretry, true, memory_order_relaxed);
		if (!retrying)
			sysmonwake(); /* out of a deep sleep that would not end */
		return;
	}
	fatal_claim();
	printstr("fatal error: all goroutines are asleep - deadlock!\n\n");
	dumpout o;
	out_init_fd(&o, 2);
	if (schedtrace_fatal(&o))
		out_str(&o, "\n");
	dumpgoroutines(&o, true); /* nothing can run: every stack holds still */
	_exit(2);
}
