/*
 * sysmon.c - the system monitor (Go's sysmon and retake).
 *
 * sysmon is a thread of its own that runs without a P, so it keeps
 * working when every P is busy or blocked. Each round it
 *  - retakes Ps from Ms blocked in a system call (retake: a P still in
 *    _Psyscall at the second look, or after 10 ms when there is nothing
 *    else to run anyway, goes to another M through handoffp);
 *  - asks the goroutine of a P that has run one schedtick for more than
 *    forcePreemptNS (10 ms) to stop (preemptone: a flag checked at every
 *    runtime call, and a signal, preempt.c); after a second slice in code
 *    that cannot be preempted, it asks for the P to be detached;
 *  - starts an M on an idle P when a timer is overdue, or when work is
 *    stranded (stranded: queued where no M looks, which only a failed
 *    thread creation leaves; the retry is here);
 *  - polls the network when goroutines wait on it and nobody has polled
 *    for 10 ms (sched.lastpoll; Go's sysmon does the same), injecting
 *    the goroutines it readies (injectglist: the global queue, and Ms
 *    started on idle Ps), so that busy Ps that never run out of work
 *    still see their I/O complete.
 *  - prints the scheduler report every GODEBUG=schedtrace=N ms
 *    (schedtrace.c);
 *  - runs checkdead again while its last look was stopped only by
 *    threads of the program's own (sched.deadretry), which may have
 *    ended since: every DEADRETRY_MIN_NS, doubling to DEADRETRY_MAX_NS.
 * It sleeps 20 µs between rounds, doubling up to 10 ms once 50 rounds in
 * a row found nothing to retake, and sleeps deeply while every P is idle
 * (or the world is stopped) and no work is stranded, until entersyscall,
 * acquirep (a P starts running), startTheWorld or a checkdead that asks
 * for a retry wake it (sysmonwake), or the next timer or retry is due
 * (Go's timeSleepUntil);
 * never while schedtrace is on, as Go.
 *
 * sysmon reads other Ps' ticks and statuses without locks (they are
 * atomics written by their owners); its sysmontick records are its own.
 */
#include <signal.h>
#include <time.h>

#include "runtime.h"
#include "trace.h"

enum {
	SYSMON_MIN_US = 20,
	SYSMON_MAX_US = 10 * 1000,
	SYSMON_IDLE_ROUNDS = 50,
};
#define NETPOLL_STALE_NS (10LL * 1000 * 1000) /* poll if nobody has for this long */
#define DEEP_SLEEP_NS (60LL * 1000 * 1000 * 1000) /* Go: forcegcperiod/2 */
#define DEADRETRY_MIN_NS (10LL * 1000 * 1000)
#define DEADRETRY_MAX_NS (1000LL * 1000 * 1000)

/* When sysmon next runs checkdead for sched.deadretry (0: not due to),
 * and the interval after that. sysmon's own; reset when it starts. */
static int64_t deadnext, deadwait;

_Atomic bool debug_nopreempt;

static void sysmon_sleep_us(int64_t us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL); /* sysmon blocks all signals: no EINTR */
}

/* Retake Ps blocked in syscalls and preempt long-running goroutines.
 * Returns how many Ps it took from syscalls. */
static uint32_t retake(int64_t now)
{
	uint32_t n = 0;
	int32_t procs = atomic_load_explicit(&gomaxprocs, memory_order_acquire);
	for (int32_t i = 0; i < procs; i++) {
		p *pp = allp[i];
		if (!pp)
			continue;
		sysmontick *pd = &pp->sysmontick;
		uint32_t s = atomic_load_explicit(&pp->status, memory_order_acquire);
		bool sysretake = false;
		if (s == _Prunning || s == _Psyscall) {
			/* The same schedtick for a whole slice: one G (or one
			 * runnext chain) has had the P for forcePreemptNS. */
			uint32_t t = tick_load(&pp->schedtick);
			if (pd->schedtick != t || pd->schedwhen == 0) {
				/* (schedwhen 0: a P sysmon had not seen yet) */
				pd->schedtick = t;
				pd->schedwhen = now;
			} else if (pd->schedwhen + FORCE_PREEMPT_NS <= now &&
			           !atomic_load_explicit(&debug_nopreempt, memory_order_relaxed)) {
				uint8_t level = pd->schedwhen + 2 * FORCE_PREEMPT_NS <= now
				                ? PREEMPT_HANDOFF : PREEMPT_ASK;
				preemptone(pp, level, t);
				sysretake = true;
			}
		}
		if (s != _Psyscall)
			continue;
		/* Retake only after seeing the same syscall for a whole
		 * sysmon tick (at least 20 µs). */
		uint32_t t = tick_load(&pp->syscalltick);
		if (!sysretake && pd->syscalltick != t) {
			pd->syscalltick = t;
			pd->syscallwhen = now;
			continue;
		}
		/* Nothing else to run and someone already looking for work:
		 * leave the P to its M for up to 10 ms, as Go does. */
		if (runqempty(pp) &&
		    atomic_load(&sched.nmspinning) + atomic_load(&sched.npidle) > 0 &&
		    pd->syscallwhen + 10 * 1000 * 1000 > now)
			continue;
		uint32_t want = _Psyscall;
		if (atomic_compare_exchange_strong(&pp->status, &want, _Pidle)) {
			n++;
			tick_inc(&pp->syscalltick);
			traceGoSysBlock(pp, false);
			STAT_ADD(handoffs, 1);
			handoffp(pp);
		}
	}
	return n;
}

/* Work that no M may see, with a P idle to run it: goroutines on the
 * global queue, or goroutines waiting on the network with nobody
 * polling. Whoever queues work or lets a P go normally gets an M to it
 * (wakep, handoffp); a thread creation that failed (newmfailed) leaves
 * it so, and nobody else tries again. Transiently true in normal runs
 * too (a goroutine preempted to the global queue while another P is
 * idle), which one look cannot tell from stranded: two can. */
static bool stranded(void)
{
	return atomic_load(&sched.npidle) > 0 &&
	       (atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0 ||
	        netpoll_unwatched());
}

/* Everything idle (or stopped): sleep until woken, until the next timer
 * or checkdead retry, or long. Returns whether something woke us. */
static bool sysmon_deepsleep(void)
{
	if (debug_schedtrace > 0)
		return false;
	lock(&sched.lock);
	bool idle = atomic_load(&sched.gcwaiting) ||
	            (atomic_load(&sched.npidle) == atomic_load(&gomaxprocs) && !stranded());
	if (!idle || atomic_load(&sched.sysmonstop)) {
		unlock(&sched.lock);
		return false;
	}
	/* Only until the next timer, as Go: the M polling the network takes
	 * an idle P for the goroutine the timer readies without waking us
	 * (no startm), and one that then runs on without a runtime call
	 * must still be preempted after its slice. */
	int64_t sleep = DEEP_SLEEP_NS;
	if (atomic_load_explicit(&sched.deadretry, memory_order_relaxed)) {
		/* (deadnext 0: deadcheck has not seen the request yet) */
		int64_t left = deadnext == 0 ? 0 : deadnext - nanotime();
		if (left <= 0) {
			unlock(&sched.lock);
			return false;
		}
		if (left < sleep)
			sleep = left;
	}
	int64_t next = nexttimer();
	if (next != 0) {
		int64_t now = nanotime();
		if (next <= now) {
			unlock(&sched.lock);
			return false;
		}
		if (next - now < sleep)
			sleep = next - now;
	}
	atomic_store(&sched.sysmonwait, 1);
	unlock(&sched.lock);
	bool woke = notetsleep(&sched.sysmonnote, sleep);
	if (atomic_exchange(&sched.sysmonwait, 0) == 0 && !woke) {
		/* A waker took the flag and is about to post the note. */
		notesleep(&sched.sysmonnote);
		woke = true;
	}
	noteclear(&sched.sysmonnote);
	return woke;
}

/* Call checkdead again while sched.deadretry asks for it; see the top.
 * sched.lock only when a look is due. */
static void deadcheck(int64_t now)
{
	if (!atomic_load_explicit(&sched.deadretry, memory_order_relaxed)) {
		deadnext = 0;
		return;
	}
	if (deadnext == 0) {
		deadwait = DEADRETRY_MIN_NS;
		deadnext = now + deadwait;
		return;
	}
	if (now < deadnext)
		return;
	lock(&sched.lock);
	if (atomic_load_explicit(&sched.deadretry, memory_order_relaxed))
		checkdead(); /* may end the process */
	unlock(&sched.lock);
	deadwait *= 2;
	if (deadwait > DEADRETRY_MAX_NS)
		deadwait = DEADRETRY_MAX_NS;
	deadnext = now + deadwait;
}

static void *sysmon(void *arg)
{
	(void)arg;
	uint32_t idle = 0;
	int64_t delay = SYSMON_MIN_US;
	deadnext = 0; /* not a previous run's */
	bool wasstranded = false;
	while (!atomic_load(&sched.sysmonstop)) {
		if (idle == 0)
			delay = SYSMON_MIN_US;
		else if (idle > SYSMON_IDLE_ROUNDS)
			delay *= 2;
		if (delay > SYSMON_MAX_US)
			delay = SYSMON_MAX_US;
		sysmon_sleep_us(delay);
		if (sysmon_deepsleep()) {
			idle = 0;
			delay = SYSMON_MIN_US;
		}
		int64_t now = nanotime();
		atomic_store_explicit(&sched.coarsenow, now, memory_order_relaxed);
		if (debug_schedtrace > 0)
			schedtrace_tick(now);
		if (retake(now) != 0)
			idle = 0;
		else
			idle++;
		deadcheck(now);
		/* Timers that should have run already (every M busy, or the
		 * wake-up lost in a race): start an M on an idle P to run
		 * them, as Go's sysmon does. */
		int64_t next = nexttimer();
		if (next != 0 && next < now)
			startm(NULL, false);
		/* Stranded work, seen twice in a row: a spinning M for it,
		 * which runs it or becomes the poller (findrunnable). */
		bool s = stranded();
		if (s && wasstranded)
			wakep();
		wasstranded = s;
		int64_t lp = atomic_load(&sched.lastpoll);
		if (atomic_load_explicit(&netpollWaiters, memory_order_relaxed) > 0 && lp != 0 &&
		    lp + NETPOLL_STALE_NS < now && netpoll_trylock()) {
			if (atomic_compare_exchange_strong(&sched.lastpoll, &lp, now)) {
				gqueue list;
				int32_t n = netpoll(0, &list);
				if (n > 0) {
					netpollwoke(NULL, n);
					injectglist(&list);
				}
			}
			netpoll_unlock();
		}
	}
	return NULL;
}

/* Wake sysmon from its deep sleep. */
void sysmonwake(void)
{
	if (atomic_exchange(&sched.sysmonwait, 0)) {
		atomic_store_explicit(&sched.coarsenow, nanotime(), memory_order_relaxed);
		notewakeup(&sched.sysmonnote);
	}
}

int sysmon_start(void)
{
	atomic_store_explicit(&sched.coarsenow, nanotime(), memory_order_relaxed);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256u << 10);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&sched.sysmonthread, &attr, sysmon, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return err == 0 ? 0 : -1;
}

/* sysmonstop is set under sched.lock, under which sysmon_deepsleep
 * looks at it and then announces its sleep (sysmonwait): either sysmon
 * sees the stop, or the sleep is announced before sysmonwake looks. */
void sysmon_stop(void)
{
	lock(&sched.lock);
	atomic_store(&sched.sysmonstop, 1);
	unlock(&sched.lock);
	sysmonwake();
	pthread_join(sched.sysmonthread, NULL);
}
