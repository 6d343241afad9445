/*
 * m.c - machines: OS threads that run goroutines (Go's newm, mstart,
 * startm, stopm, mput/mget and the thread limit).
 *
 * An M is created on demand by startm when a P has work and no idle M
 * exists; it runs mloop (sched.c) on its native thread stack, which is
 * its g0. With nothing to do it parks on its note in the idle list
 * (stopm) and is reused by a later startm, so the number of Ms follows
 * the peak parallelism, not the number of wake-ups.
 *
 * The idle list is protected by sched.lock. What an M holds of the
 * kernel's (its signal stack, the /proc file preempt.c reads) goes when
 * its thread ends, which for an M whose locked goroutine exited is long
 * before the run does. The M struct itself stays on allm, which only
 * grows and is walked without locks (schedtrace, dumps), and is freed at
 * teardown (M0 joins every thread then); until then a freed M, whose
 * thread ended (or could not be made), waits on sched.freem for newm to
 * reuse it once its thread is gone from the kernel's list, so that a
 * program that keeps ending locked goroutines does not keep an M for
 * each (Go unlinks such Ms from allm and frees them; gort's lock-free
 * readers need them to stay).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "runtime.h"
#include "trace.h"

__thread m *tls_m __attribute__((tls_model("initial-exec")));
__thread g *tls_g __attribute__((tls_model("initial-exec")));
m *allm;

/* Out of line on purpose: see the comment on getm in runtime.h. */
__attribute__((noinline)) m *getm(void)
{
	return tls_m;
}

__attribute__((noinline)) void setm(m *mp)
{
	tls_m = mp;
}

#if !defined(__x86_64__)
__attribute__((noinline)) g *getg(void)
{
	return tls_g;
}

__attribute__((noinline)) void setg(g *gp)
{
	tls_g = gp;
}
#endif

/* wyrand: a fast, good-enough random source, one per M (and one per
 * plain thread). */
static uint32_t wyrand(uint64_t *state)
{
	*state += 0xa0761d6478bd642full;
	__uint128_t t = (__uint128_t)*state * (*state ^ 0xe7037ed1a0b428dbull);
	return (uint32_t)((uint64_t)(t >> 64) ^ (uint64_t)t);
}

uint32_t fastrand(m *mp)
{
	return wyrand(&mp->fastrand);
}

/* splitmix64's finalizer: a bijection, so what h held survives each
 * value mixed in. */
static uint64_t seedmix(uint64_t h, uint64_t v)
{
	h ^= v;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* A generator's seed: it must differ from that of every generator that
 * draws at the same time, in this process (another thread), in a
 * process forked from it (the same addresses and M ids, a copy of each
 * thread's state) and in another run of the same program (the same
 * addresses without ASLR). The clock alone does not: two threads, or a
 * parent and its child, read the same nanosecond. So the seed mixes the
 * kernel's 16 random bytes of this exec (AT_RANDOM, Go's fastrandseed),
 * the process id (a forked child's own), the time, and unique, which
 * tells the generator from the others of the process. */
uint64_t randseed(uint64_t unique)
{
	uint64_t r[2] = {0, 0};
	const void *at = (const void *)getauxval(AT_RANDOM);
	if (at)
		memcpy(r, at, sizeof r);
	uint64_t h = seedmix(0x9e3779b97f4a7c15ull, r[0]);
	h = seedmix(h, r[1]);
	h = seedmix(h, (uint64_t)getpid());
	h = seedmix(h, (uint64_t)nanotime());
	return seedmix(h, unique);
}

/* A plain thread's generator is seeded on its first draw, and again in a
 * forked child: the child's thread is a copy of the parent's, state and
 * all, and would otherwise draw what the parent's thread draws. The fork
 * handler bumps forkgen, which the child's only thread then finds newer
 * than the one it seeded at. */
static uint32_t forkgen = 1;
static __thread uint64_t thread_rand;
static __thread uint32_t thread_randgen; /* forkgen when seeded; 0: never */

static void rand_atfork_child(void)
{
	if (++forkgen == 0)
		forkgen = 1;
}

__attribute__((constructor)) static void rand_ctor(void)
{
	pthread_atfork(NULL, NULL, rand_atfork_child);
}

/* 32 random bits for goroutines and plain threads alike: the M's
 * generator, or a thread's own on a thread that is not an M. */
uint32_t cheaprand(void)
{
	m *mp = getm();
	if (mp)
		return fastrand(mp);
	if (unlikely(thread_randgen != forkgen)) {
		thread_rand = randseed((uint64_t)gettid_());
		thread_randgen = forkgen;
	}
	return wyrand(&thread_rand);
}

/* A random number in [0, n), as cheaprand. */
uint32_t cheaprandn(uint32_t n)
{
	return (uint32_t)(((uint64_t)cheaprand() * n) >> 32);
}

/* sched.lock held: a new M id and random state. */
static void mnewid(m *mp)
{
	mp->id = sched.mnext++;
	mp->fastrand = randseed((uint64_t)mp->id);
}

/* sched.lock held. */
void mcommoninit(m *mp)
{
	mnewid(mp);
	mp->alllink = allm;
	/* Published for readers without sched.lock (schedtrace, dumps). */
	__atomic_store_n(&allm, mp, __ATOMIC_RELEASE);
}

/* sched.lock held: whether the thread of mp, freed or whose locked G
 * exited, is gone from the kernel's list (one that never began is).
 * Once seen gone it is not looked at again. */
bool mthreadgone(m *mp)
{
	if (mp->threadgone)
		return true;
	char path[48];
	snprintf(path, sizeof path, "/proc/self/task/%d", mp->procid);
	if (mp->procid != 0 && access(path, F_OK) == 0)
		return false;
	mp->threadgone = true;
	return true;
}

/* sched.lock held: mp's thread ended, or was never made; nothing touches
 * mp after the caller unlocks. Queued last: the oldest freed M is the
 * one whose thread is most likely gone. */
static void mfreeput(m *mp)
{
	mp->freed = true;
	mp->schedlink = NULL;
	if (sched.freemtail)
		sched.freemtail->schedlink = mp;
	else
		sched.freem = mp;
	sched.freemtail = mp;
}

/* sched.lock held: the oldest freed M, made as calloc would (it keeps
 * its place on allm), if its thread is gone; else NULL. A thread still listed by the
 * kernel counts as the M's (checkdead), so its M waits until it is not. */
static m *mfreeget(void)
{
	m *mp = sched.freem;
	if (!mp || !mthreadgone(mp))
		return NULL;
	sched.freem = mp->schedlink;
	if (!sched.freem)
		sched.freemtail = NULL;
	memset(mp, 0, offsetof(m, alllink));
	return mp;
}

/* sched.lock held: the Ms alive, with `extra` more, against the thread
 * limit. Ms whose threads ended (a locked G exited) no longer count, as
 * Go's mcount() = mnext - nmfreed. */
void checkmcount(int32_t extra)
{
	if (sched.mnext - sched.nmfreed + extra > sched.maxmcount) {
		printstr("runtime: program exceeds ");
		printint(sched.maxmcount);
		printstr("-thread limit\n");
		fatal("thread exhaustion");
	}
}

static void *mstart(void *arg)
{
	m *mp = arg;
	mp->procid = gettid_();
	m_preempt_ready(mp);
	mstart0(mp);
	lock(&sched.lock);
	if (mp->exitafterg) {
		/* Its locked G exited while the runtime runs on: the thread
		 * ends now, and its stack goes back with it instead of
		 * waiting for teardown's join (a program that keeps ending
		 * locked goroutines would keep every dead thread's stack).
		 * Nothing here touches mp after the unlock. */
		pthread_detach(pthread_self());
		mp->detached = true;
		mfreeput(mp);
	}
	if (--sched.nmalive == 0 && sched.exitwaiter) {
		sched.exitwaiter = false;
		notewakeup(&sched.exitnote);
	}
	unlock(&sched.lock);
	return NULL;
}

/* Wake mp, taken off the idle list (mget), to run pp. sched.lock not
 * held. */
static void mstartidle(m *mp, p *pp, bool spinning)
{
	if (mp->spinning)
		throw("startm: m is spinning");
	if (mp->p)
		throw("startm: m has p");
	mp->spinning = spinning;
	mp->nextp = pp;
	notewakeup(&mp->park);
}

/* No M could be made to run pp, which no M holds (a hand-off: it may
 * have local work). Its Gs go to the global queue, where the Ms there
 * are find them, since an idle P must have none; it then stops if the
 * world is stopping (whose stopper counts it as running, as handoffp
 * does), else goes to an M that parked while pp was in limbo, or idle.
 *
 * That M matters: while the thread creation failed, pp was neither
 * held nor idle, so an M leaving a system call (exitsyscall0) or
 * giving up in findrunnable found no P and no global work, and parked.
 * With the work now global and pp idle, nobody would look at either
 * (every M parked, sysmon asleep: a hang). Both sides decide under
 * sched.lock, so an M that parks before this sees pp given to it, and
 * one that looks after finds pp idle.
 *
 * No M owns pp, so no one writes its queue's tail meanwhile: runqget
 * may take from it here (thieves only CAS the head and runnext too).
 * sched.lock not held. */
static void newmfailed(p *pp)
{
	gqueue q = {NULL, NULL};
	int32_t n = 0;
	bool inherit;
	for (g *gp; (gp = runqget(pp, &inherit)) != NULL; n++)
		gpush(&q, gp);
	lock(&sched.lock);
	globrunqputbatch(&q, n);
	if (atomic_load(&sched.gcwaiting)) {
		atomic_store_explicit(&pp->status, _Pgcstop, memory_order_relaxed);
		if (--sched.stopwait == 0)
			notewakeup(&sched.stopnote);
		unlock(&sched.lock);
		return;
	}
	/* Exiting (the creation began before exitbegin): pp is left for
	 * teardown, as startm leaves it. exitbegin has woken the locked Ms
	 * with no P; handing pp to one now would post its note a second time
	 * before it cleared it (a fatal double wake-up), or run its goroutine
	 * after main returned. */
	if (atomic_load(&sched.exiting)) {
		unlock(&sched.lock);
		return;
	}
	/* Work, timers or a network nobody polls: an idle M takes pp (not
	 * wakep, whose startm would come back here while creation keeps
	 * failing), or else the M of a locked goroutine waiting on the
	 * global queue, which is not on the idle list (it waits in
	 * stoplockedm for an M to hand it a P) yet can run that goroutine. */
	bool work = atomic_load_explicit(&sched.runqsize, memory_order_relaxed) != 0 ||
	            atomic_load_explicit(&pp->timer0when, memory_order_relaxed) != 0 ||
	            netpoll_unwatched();
	m *mp = work ? mget() : NULL;
	if (mp) {
		unlock(&sched.lock);
		mstartidle(mp, pp, false);
		return;
	}
	if (work && startlockedm_global(pp)) {
		unlock(&sched.lock);
		return;
	}
	pidleput(pp);
	unlock(&sched.lock);
	if (!work)
		return;
	/* Stranded: an M blocked in the netpoller is woken to take pp; the
	 * running Ms find the work themselves, whoever next polls or sleeps
	 * counts pp's timers (nexttimer reads every P), and sysmon tries the
	 * creation again (sysmon.c), woken from its deep sleep (every P
	 * idle: a goroutine queued by a thread that is not an M wakes no
	 * one else). */
	if (atomic_load(&sched.lastpoll) == 0)
		netpollBreak();
	sysmonwake();
}

/* Make mp's thread, which runs mstart: 0 or pthread_create's error. */
static int newosproc(m *mp)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	/* g0 runs only the scheduler; sanitizers need more room. */
#if GORT_ASAN || GORT_TSAN
	pthread_attr_setstacksize(&attr, 4u << 20);
#else
	pthread_attr_setstacksize(&attr, 256u << 10);
#endif
	/* Start with every signal blocked; mstart0 opens them once the M
	 * is set up, so no signal lands on a half-made M. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&mp->thread, &attr, mstart, mp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return err;
}

/* Start a new M that will run pp (spinning if so asked). sched.lock not
 * held. On thread creation failure (no thread, or no memory for its
 * signal stack) the P goes back to the idle list and
 * the runtime carries on with the Ms it has: the P's work goes to the
 * global queue for them (newmfailed), nothing is lost. */
static void newm(p *pp, bool spinning)
{
	lock(&sched.lock);
	m *mp = mfreeget();
	unlock(&sched.lock);
	bool fresh = !mp;
	if (fresh && !(mp = calloc(1, sizeof *mp)))
		goto fail;
	lock(&sched.lock);
	checkmcount(1);
	if (fresh)
		mcommoninit(mp);
	else
		mnewid(mp);
	sched.nmalive++;
	unlock(&sched.lock);
	m_preempt_init(mp);
	mp->nextp = pp;
	mp->spinning = spinning;
	int err = mpreinit(mp) == 0 ? newosproc(mp) : ENOMEM;
	if (err == 0)
		return;

	msigstack_free(mp);
	lock(&sched.lock);
	sched.nmalive--;
	/* No thread: it is not one of the Ms that run (checkdead, the
	 * thread limit), as a locked M whose thread ended. The last M to go
	 * idle may have seen it as running meanwhile and let a deadlock
	 * pass: look again, as Go's mexit does (goroutines still on pp's
	 * queue are runnable, which is no deadlock). */
	sched.nmfreed++;
	mp->thread = 0;
	mfreeput(mp);
	checkdead();
	unlock(&sched.lock);
	static _Atomic int warned;
	if (!atomic_exchange(&warned, 1)) {
		printstr("runtime: failed to create new OS thread (errno ");
		printint(err);
		printstr("); continuing with the threads there are\n");
	}
fail:
	if (spinning)
		atomic_fetch_sub(&sched.nmspinning, 1);
	newmfailed(pp);
}

/* sched.lock held. */
void mput(m *mp)
{
	mp->schedlink = sched.midle;
	sched.midle = mp;
	sched.nmidle++;
	checkdead();
}

/* sched.lock held. */
m *mget(void)
{
	m *mp = sched.midle;
	if (mp) {
		sched.midle = mp->schedlink;
		mp->schedlink = NULL;
		sched.nmidle--;
	}
	return mp;
}

/* Run pp (or an idle P when pp is NULL) on an idle M, or a new one.
 * spinning: the caller incremented nmspinning on the M's behalf; it is
 * undone if there turns out to be no P. */
void startm(p *pp, bool spinning)
{
	lock(&sched.lock);
	if (atomic_load(&sched.exiting)) {
		/* No new thread once the runtime exits (sysmon's hand-offs);
		 * the P is left for teardown. */
		unlock(&sched.lock);
		if (spinning)
			atomic_fetch_sub(&sched.nmspinning, 1);
		return;
	}
	if (!pp) {
		pp = pidleget();
		if (!pp) {
			unlock(&sched.lock);
			if (spinning && atomic_fetch_sub(&sched.nmspinning, 1) <= 0)
				throw("startm: negative nmspinning");
			return;
		}
	}
	m *nmp = mget();
	unlock(&sched.lock);
	if (!nmp) {
		newm(pp, spinning);
		return;
	}
	if (spinning && !runqempty(pp))
		throw("startm: p has runnable gs");
	mstartidle(nmp, pp, spinning);
}

/* Park mp (it holds no P) until startm hands it one. Returns false when
 * it was woken because the runtime is exiting. */
bool stopm(m *mp)
{
	if (mp->p)
		throw("stopm holding p");
	if (mp->spinning)
		throw("stopm spinning");
	lock(&sched.lock);
	if (atomic_load(&sched.exiting)) {
		unlock(&sched.lock);
		return false;
	}
	mput(mp);
	unlock(&sched.lock);
	traceM(EvMPark, mp);
	notesleep(&mp->park);
	noteclear(&mp->park);
	if (!mp->nextp)
		return false; /* woken by exitbegin */
	traceM(EvMUnpark, mp);
	acquirep(mp, mp->nextp);
	mp->nextp = NULL;
	return true;
}

/* Thread body of every M, M0 included (runtime.c calls it for M0). */
void mstart0(m *mp)
{
	setm(mp);
	ctx_fiber_current(&mp->g0);
	pthread_attr_t attr;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		void *lo;
		size_t size;
		pthread_attr_getstack(&attr, &lo, &size);
		ctx_set_stack(&mp->g0, (uintptr_t)lo, (uintptr_t)lo + size);
		pthread_attr_destroy(&attr);
	}
	minit_signals(mp);
	traceM(EvMStart, mp);
	if (mp->nextp) {
		p *pp = mp->nextp;
		mp->nextp = NULL;
		acquirep(mp, pp);
	}
	mloop(mp);
	if (mp->p)
		releasep(mp);
	/* A thread that ends with its locked goroutine ends long before the
	 * run: its /proc file must not stay open until then. */
	m_closesyscallfile(mp);
	traceM(EvMStop, mp);
	munit_signals(mp);
	setm(NULL);
}

/* Every M but m0 has returned from mstart0; reap the threads. */
void m_teardown(m *m0)
{
	m *mp = allm;
	while (mp) {
		m *next = mp->alllink;
		m_closesyscallfile(mp);
		if (mp != m0) {
			if (mp->thread && !mp->detached)
				pthread_join(mp->thread, NULL);
			free(mp);
		}
		mp = next;
	}
	allm = NULL;
}
