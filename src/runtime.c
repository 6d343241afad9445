/*
 * runtime.c - the runtime's life: gort_main (Go's schedinit + main),
 * the GOMAXPROCS default, stop-the-world resizes, and teardown.
 *
 * Start: the calling thread becomes M0, allp gets GOMAXPROCS Ps, M0 takes
 * P0, and the main goroutine (goid 1) is queued on P0. M0 then runs the
 * scheduler on the caller's own stack until the runtime exits.
 *
 * Exit: when the main goroutine returns (or calls gort_goexit), exitbegin
 * sets sched.exiting and wakes every idle M. Each M leaves the scheduler
 * at its next pass through findrunnable; Ms other than M0 end their
 * threads, and the last one wakes M0, which joins them all and frees the
 * runtime's memory: allp, the Ms, every G (abandoned ones included),
 * every stack. The globals are then back to their zero state, but for
 * the plain threads still blocked on a channel, a select or a sync
 * object, which stay blocked into the next run (the semaphore table
 * keeps theirs); the goroutines abandoned beside them are taken out of
 * those objects first, while their stacks are still mapped
 * (plainwait.c). gort_main can then run again. A goroutine that runs on
 * without entering the runtime is preempted by sysmon, which keeps
 * running until every M has left, and its M then leaves; one that
 * cannot be preempted (asyncpreemptoff, code marked with
 * gort_preempt_off, a blocking call) keeps its M, and so gort_main, from
 * finishing until it next enters the runtime or its call returns, as in
 * a Go program with preemption off.
 *
 * Threads that are not goroutines may call gort_go while the runtime
 * runs; they hold foreign_lock for reading around it (foreign_enter),
 * teardown holds it for writing, so no such call ever touches a runtime
 * being freed. So do their other calls that touch the runtime (timers,
 * gort_set_deadline, gort_close, stats, schedtrace, dumps), and their
 * channel operations and sync calls, which may ready a goroutine, except
 * while they sleep (rt_enter_wait).
 *
 * Settings made outside gort_main (GOMAXPROCS, thread limit, stack size)
 * are kept in `config` and apply at the next start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "trace.h"

schedt sched;
_Atomic uint32_t runtime_running;
_Atomic uint32_t runtime_gen;
pthread_rwlock_t foreign_lock = PTHREAD_RWLOCK_INITIALIZER;
__thread int32_t foreign_held __attribute__((tls_model("initial-exec")));

static struct {
	mutex lock;
	int32_t procs;      /* 0 = default */
	int32_t maxthreads; /* 0 = 10000 */
} config;

enum { DEFAULT_MAX_THREADS = 10000 };

static struct {
	int (*fn)(void *);
	void *arg;
} mainfn;

/* The value of a GODEBUG setting, s[0..n), in *v: as Go's atoi32, an
 * optional '-' and decimal digits that fit an int32, nothing else. */
static bool godebug_atoi32(const char *s, size_t n, int64_t *v)
{
	bool neg = n > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (i == n)
		return false;
	int64_t u = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		u = u * 10 + (s[i] - '0');
		if (u > (int64_t)INT32_MAX + 1)
			return false;
	}
	if (!neg && u > INT32_MAX)
		return false;
	*v = neg ? -u : u;
	return true;
}

/* GODEBUG is a comma list of name=value settings (Go's debug vars). As
 * Go's parsedebugvars, every setting of name is read in turn and the last
 * valid one wins ("schedtrace=1000,schedtrace=0" is off); one that is not
 * a number leaves the value as it was. */
int64_t godebug_int(const char *name, int64_t def)
{
	size_t n = strlen(name);
	int64_t v = def;
	for (const char *s = getenv("GODEBUG"); s && *s;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (len > n && strncmp(s, name, n) == 0 && s[n] == '=')
			godebug_atoi32(s + n + 1, len - n - 1, &v);
		s = end ? end + 1 : NULL;
	}
	return v;
}

int32_t gomaxprocs_default(void)
{
	const char *s = getenv("GOMAXPROCS");
	if (s && *s) {
		char *end;
		long n = strtol(s, &end, 10);
		if (*end == '\0' && n > 0)
			return n > GORT_MAX_PROCS ? GORT_MAX_PROCS : (int32_t)n;
	}
	int32_t n = getproccount();
	return n > GORT_MAX_PROCS ? GORT_MAX_PROCS : n;
}

static void runmain(void *arg)
{
	(void)arg;
	atomic_store(&sched.mainstarted, 1);
	sched.mainresult = mainfn.fn(mainfn.arg);
}

/* The main goroutine is gone: every M winds down. */
void exitbegin(void)
{
	lock(&sched.lock);
	atomic_store_explicit(&sched.exiting, 1, memory_order_seq_cst);
	for (m *mp; (mp = mget()) != NULL;) {
		mp->nextp = NULL;
		notewakeup(&mp->park);
	}
	lockedm_wakeall();
	unlock(&sched.lock);
	netpollBreak(); /* the M blocked in netpoll */
}

static void foreigncalls_open(void);

static int schedinit(m *m0)
{
	memset(&sched, 0, sizeof sched);
	foreigncalls_open();
	sched.worldsema = 1; /* a binary semaphore, free */
	lock(&config.lock);
	int32_t procs = config.procs > 0 ? config.procs : gomaxprocs_default();
	sched.maxmcount = config.maxthreads > 0 ? config.maxthreads : DEFAULT_MAX_THREADS;
	unlock(&config.lock);
	stack_init(__atomic_load_n(&stack_default, __ATOMIC_RELAXED));
	if (signal_init() != 0)
		return -1;
	int err = ENOMEM;
	if (preempt_init() != 0) {
		err = errno;
		goto nopreempt;
	}
	if (netpollinit() != 0) {
		err = errno;
		goto nonetpoll;
	}
	if (!procs_prealloc(procs) || mpreinit(m0) != 0)
		goto noprocs;
	lock(&sched.lock);
	mcommoninit(m0);
	if (procresize(m0, procs) != NULL)
		throw("schedinit: unexpected runnable P");
	unlock(&sched.lock);
	return 0;

	/* Undone in the reverse order; the failure's errno is kept. */
noprocs:
	p_teardown();
	netpoll_teardown();
nonetpoll:
	preempt_teardown();
nopreempt:
	signal_teardown();
	errno = err;
	return -1;
}

/* Release what a run holds once no M, sysmon or plain thread can touch
 * it any more: the end of every run (teardown), and a run that could not
 * start (start_failed). */
static void release_run(m *m0)
{
	m_teardown(m0);
	/* Waiters left in channel queues belong to this run: abandoned. */
	atomic_fetch_add(&runtime_gen, 1);
	/* Before the stacks go, while the abandoned goroutines' sudogs can
	 * still be read: the structures that plain threads still wait on
	 * let go of them and keep the plain threads. */
	plainwait_teardown();
	/* Before the stacks go: sleep timers live on them. */
	for (int32_t i = 0; i < GORT_MAX_PROCS && allp[i]; i++)
		timers_orphan(allp[i]);
	g_teardown();
	for (int32_t i = 0; i < GORT_MAX_PROCS && allp[i]; i++)
		allp[i]->nstackcache = 0;
	stack_teardown();
	p_teardown();
	netpoll_teardown(); /* after timers_orphan: deadline timers live in it */
	preempt_teardown();
	signal_teardown();
	free(sched.gfree);
	memset(&sched, 0, sizeof sched);
}

/* gort_main cannot start: undo schedinit, and the main goroutine if it
 * was made (no goroutine has run, and no thread but this one, no M, no
 * sysmon, no plain thread, saw the run); -1 with errno err. */
static int start_failed(m *m0, int err)
{
	setm(NULL);
	msigstack_free(m0);
	release_run(m0);
	free(m0);
	atomic_store(&runtime_running, RUNTIME_DOWN);
	errno = err;
	return -1;
}

static void foreigncalls_abandon(void);

static void teardown(m *m0)
{
	/* sysmon keeps preempting goroutines that run on, so that their Ms
	 * get to see the exit; it stops only once they all have. */
	lock(&sched.lock);
	while (sched.nmalive > 0) {
		sched.exitwaiter = true;
		unlock(&sched.lock);
		notesleep(&sched.exitnote);
		noteclear(&sched.exitnote);
		lock(&sched.lock);
	}
	unlock(&sched.lock);
	sysmon_stop();
	/* Every M and sysmon have stopped. Release the plain threads waiting
	 * on goroutines abandoned now (a gort_trace_start among them holds
	 * the tracer); then end a trace that still runs, before the
	 * gort_trace_stop of debug_http_teardown would wait for it. */
	foreigncalls_abandon();
	trace_runtime_end();
	debug_http_teardown(); /* its goroutines are abandoned: close their fds */
	stats_reset();

	pthread_rwlock_wrlock(&foreign_lock);
	atomic_store(&runtime_running, RUNTIME_STOPPING);
	release_run(m0);
	atomic_store(&runtime_running, RUNTIME_DOWN);
	pthread_rwlock_unlock(&foreign_lock);
}

GORT_API int gort_main(int (*fn)(void *), void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	uint32_t down = RUNTIME_DOWN;
	if (!atomic_compare_exchange_strong(&runtime_running, &down, RUNTIME_STARTING)) {
		errno = EBUSY;
		return -1;
	}
	/* runtime_gen moves on only at teardown, not here: a plain thread
	 * may already wait on a channel, and its sudog belongs to no run. */
	m *m0 = calloc(1, sizeof *m0);
	if (!m0 || schedinit(m0) != 0) {
		free(m0);
		atomic_store(&runtime_running, RUNTIME_DOWN);
		errno = errno ? errno : ENOMEM;
		return -1;
	}
	m0->ism0 = true;
	m0->thread = pthread_self();
	m0->procid = gettid_();
	mainfn.fn = fn;
	mainfn.arg = arg;

	setm(m0);
	int64_t goid = newproc(m0, runmain, NULL, stack_default, "main", (uintptr_t)fn);
	if (goid < 0)
		return start_failed(m0, ENOMEM);
	/* newproc put main in P0's runnext. */
	g *maing = atomic_load(&m0->p->runnext);
	maing->ismain = true;
	sched.maing = maing;
	schedtrace_init(nanotime());
	/* Before the runtime is up, so that no plain thread has seen it. */
	if (sysmon_start() != 0)
		return start_failed(m0, EAGAIN);
	atomic_store(&runtime_running, RUNTIME_UP);

	mstart0(m0);

	int result = sched.mainresult;
	teardown(m0);
	free(m0);
	return result;
}

GORT_API int gort_numcpu(void)
{
	return getproccount();
}

/*
 * A thread that is not a goroutine asking a goroutine to do what only a
 * goroutine can (stop the world: gort_gomaxprocs, gort_trace_start). The
 * run may end before that goroutine gets to run, or while it runs: it is
 * then abandoned with the others, and its caller must not wait for it.
 * So every such call is on foreigncalls.list (foreigncalls.lock) until
 * its goroutine takes it off, waking the caller; teardown, once no M
 * runs, wakes those still on it as abandoned. The goroutine wakes its
 * caller with the lock held, where it cannot be preempted, and touches
 * the call no more (it lives on the caller's stack). Once teardown has
 * released them, no call is taken until the next run (closed). Lock
 * order: foreign_lock, foreigncalls.lock, sched.lock (newproc's).
 */
typedef struct foreigncall {
	void (*fn)(void *);
	void *arg;
	note done;
	bool abandoned;
	struct foreigncall *next;
} foreigncall;

static struct {
	mutex lock;
	foreigncall *list;
	bool closed; /* abandoned: the run is ending, take no more */
} foreigncalls;

static void foreigncall_unlink(foreigncall *fc)
{
	foreigncall **pp = &foreigncalls.list;
	while (*pp != fc)
		pp = &(*pp)->next;
	*pp = fc->next;
}

static void foreigncall_run(void *arg)
{
	foreigncall *fc = arg;
	fc->fn(fc->arg);
	lock(&foreigncalls.lock);
	foreigncall_unlink(fc);
	notewakeup(&fc->done);
	unlock(&foreigncalls.lock);
}

int run_on_goroutine(void (*fn)(void *), void *arg)
{
	foreigncall fc = {.fn = fn, .arg = arg};
	int64_t goid = -1;
	int err = ESRCH;
	foreign_enter();
	if (atomic_load(&runtime_running) == RUNTIME_UP) {
		lock(&foreigncalls.lock);
		if (!foreigncalls.closed) {
			fc.next = foreigncalls.list;
			foreigncalls.list = &fc;
			goid = newproc(NULL, foreigncall_run, &fc, stack_default, NULL,
			               (uintptr_t)__builtin_return_address(0));
			if (goid < 0) {
				err = errno;
				foreigncall_unlink(&fc);
			}
		}
		unlock(&foreigncalls.lock);
	}
	foreign_exit();
	if (goid < 0) {
		errno = err;
		return -1;
	}
	notesleep(&fc.done);
	if (fc.abandoned) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/* schedinit: a new run takes calls. */
static void foreigncalls_open(void)
{
	lock(&foreigncalls.lock);
	foreigncalls.closed = false;
	unlock(&foreigncalls.lock);
}

/* teardown, once no M runs: release the callers of abandoned calls, and
 * take no more (a caller released may try again while the run ends). */
static void foreigncalls_abandon(void)
{
	lock(&foreigncalls.lock);
	for (foreigncall *fc = foreigncalls.list, *next; fc; fc = next) {
		next = fc->next;
		fc->abandoned = true;
		notewakeup(&fc->done);
	}
	foreigncalls.list = NULL;
	foreigncalls.closed = true;
	unlock(&foreigncalls.lock);
}

struct procsreq {
	int n;
	int prev;
};

static void procs_on_goroutine(void *arg)
{
	struct procsreq *r = arg;
	r->prev = gort_gomaxprocs(r->n);
}

GORT_API int gort_gomaxprocs(int n)
{
	if (n > GORT_MAX_PROCS)
		n = GORT_MAX_PROCS;
	if (atomic_load(&runtime_running) != RUNTIME_UP) {
		lock(&config.lock);
		int prev = config.procs > 0 ? config.procs : gomaxprocs_default();
		if (n > 0)
			config.procs = n;
		unlock(&config.lock);
		return prev;
	}
	int prev = atomic_load(&gomaxprocs);
	if (n <= 0)
		return prev;
	if (n == prev) {
		/* As Go's GOMAXPROCS: the value it has needs no stop of the
		 * world, which would preempt every running goroutine. */
		lock(&config.lock);
		config.procs = n;
		unlock(&config.lock);
		return prev;
	}
	g *gp = getg();
	if (!gp) {
		/* Not a goroutine: stop-the-world needs one, so ask one. If
		 * the run ends first, the setting goes to the next run. */
		struct procsreq r = {.n = n};
		if (run_on_goroutine(procs_on_goroutine, &r) == 0)
			return r.prev;
		if (errno != ESRCH)
			return -1;
		lock(&config.lock);
		config.procs = n;
		unlock(&config.lock);
		return prev;
	}
	lock(&config.lock);
	config.procs = n;
	unlock(&config.lock);
	rt_enter();
	semacquire(&sched.worldsema, waitReasonStopTheWorld);
	stopTheWorld();
	prev = atomic_load(&gomaxprocs);
	newprocs = n;
	startTheWorld();
	semrelease(&sched.worldsema);
	rt_exit(gp);
	return prev;
}

GORT_API int gort_set_max_threads(int n)
{
	lock(&config.lock);
	int prev = config.maxthreads > 0 ? config.maxthreads : DEFAULT_MAX_THREADS;
	if (n > 0)
		config.maxthreads = n;
	unlock(&config.lock);
	if (n > 0 && atomic_load(&runtime_running) == RUNTIME_UP) {
		lock(&sched.lock);
		prev = sched.maxmcount;
		sched.maxmcount = n;
		checkmcount(0); /* below the Ms there are: as Go's setMaxThreads */
		unlock(&sched.lock);
	}
	return prev;
}

GORT_API long gort_set_stack_size(size_t size)
{
	size_t prev = __atomic_load_n(&stack_default, __ATOMIC_RELAXED);
	if (size == 0)
		return (long)prev;
	if (size < GORT_STACK_MIN || size > GORT_STACK_MAX) {
		errno = EINVAL;
		return -1;
	}
	__atomic_store_n(&stack_default, stack_round(size), __ATOMIC_RELAXED);
	return (long)prev;
}

GORT_API int64_t gort_nanotime(void)
{
	return nanotime();
}

GORT_API void gort_gosched(void)
{
	g *gp = rt_enter();
	if (gp) {
		gosched(gp);
		rt_exit(gp);
	} else {
		osyield();
	}
}
