/*
 * runtime.h - the data model of gort: G, M, P and the scheduler (schedt).
 *
 * This is the counterpart of Go's runtime2.go. A reader should be able to
 * hold Go's src/runtime/proc.go beside sched.c, runq.c, g.c, m.c and p.c
 * and find the same names doing the same things.
 *
 *   G  a goroutine: a function, a stack (allocated when it first runs) and
 *      a saved context (gobuf). Gs are never freed while the runtime runs;
 *      dead ones are reused through per-P and global free lists.
 *   M  an OS thread. It runs the scheduler on its own g0 stack (the
 *      thread's native stack) and switches into Gs from there.
 *   P  a logical processor: the right to run Go code, with a local run
 *      queue. An M must hold a P to run a G. There are GOMAXPROCS Ps.
 *
 * Ownership and locking (the rules every other file relies on):
 *  - A G's fields are owned by whoever holds it: the M running it
 *    (status _Grunning), the queue it sits on (_Grunnable), or the wait
 *    structure it is parked on (_Gwaiting). Handing a G over always goes
 *    through an atomic (run queue tail, CAS on runnext) or a lock, which
 *    orders the G's fields for the next owner.
 *  - A P's fields are owned by the M that holds it (p->m), except the
 *    run queue head and runnext (thieves CAS them), and status, which
 *    thieves read to skip idle Ps.
 *  - sched.lock protects the idle M and P lists, the global run queue,
 *    the M counters and the stop-the-world state. npidle and nmspinning
 *    are atomics so that wakep() can read them without the lock.
 *  - Lock order: sched.lock before sched.gfree_lock before stack pool
 *    lock before the G arena lock; a poll descriptor's lock (netpoll.h)
 *    comes before a P's timerslock and before sched.lock; a semaphore
 *    root lock is never held together with sched.lock. The whole order
 *    is in docs/ARCHITECTURE.md ("Lock order"). No runtime lock is held
 *    across a context switch, except in the direct switches (sched.c):
 *    sched.lock across gosched's, and the waiter's lock across gopark's,
 *    both released by the next G on the same thread before user code.
 */
#ifndef GORT_RUNTIME_H
#define GORT_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

/* The runtime reads errno where it knows the thread (geterrno and
 * seterrno where a switch came between). */
#define GORT_LIBC_ERRNO
#include "gort.h"
#include "ctx.h"
#include "lock.h"

/* Hidden visibility is the default (-fvisibility=hidden); internal names
 * are further localised in libgort.a, so Go's plain names are safe here. */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* A function whose racy reads of other threads' plain fields are its
 * point (schedtrace, a test's look at a goroutine it waits for): the
 * thread sanitizer is told not to watch it. */
#define RACY __attribute__((no_sanitize("thread")))

#ifndef GORT_RUNQ_SIZE
#define GORT_RUNQ_SIZE 256 /* local run queue slots (Go: len(p.runq)) */
#endif
#if GORT_RUNQ_SIZE < 2 || (GORT_RUNQ_SIZE & (GORT_RUNQ_SIZE - 1)) != 0
#error "GORT_RUNQ_SIZE must be a power of two >= 2"
#endif

#define GOID_CACHE_BATCH 16 /* Go's _GoidCacheBatch */
#define STEAL_TRIES 4       /* Go's stealTries */
#define GFREE_LOCAL_MAX 64  /* gfput moves to global at this many... */
#define GFREE_LOCAL_KEEP 32 /* ...until fewer than this remain */
#define CACHE_LINE 64

typedef struct g g;
typedef struct m m;
typedef struct p p;
typedef struct sudog sudog;
typedef struct timer timer;

/* ---- G ------------------------------------------------------------- */

/* Go's G states (runtime2.go), same values. */
enum {
	_Gidle = 0,     /* just allocated, not yet initialised */
	_Grunnable = 1, /* on a run queue, not running; owned by the queue */
	_Grunning = 2,  /* running on an M that holds a P */
	_Gsyscall = 3,  /* in a system call, on an M, not holding the P */
	_Gwaiting = 4,  /* parked; owned by what it waits on */
	_Gdead = 6,     /* unused: on a free list, or exited */
	_Gpreempted = 9 /* stopped by preemption, to be made runnable */
};

/* Why a G is waiting, shown in dumps. Go's waitReason, same strings. */
typedef enum {
	waitReasonZero,
	waitReasonChanReceiveNilChan,
	waitReasonChanSendNilChan,
	waitReasonSelectNoCases,
	waitReasonChanReceive,
	waitReasonChanSend,
	waitReasonSelect,
	waitReasonSleep,
	waitReasonSemacquire,
	waitReasonSyncCondWait,
	waitReasonSyncMutexLock,
	waitReasonSyncRWMutexRLock,
	waitReasonSyncRWMutexLock,
	waitReasonIOWait,
	waitReasonStopTheWorld,
	waitReasonPreempted,
	waitReasonLockOSThread,
	waitReasonCount
} waitreason;

extern const char *const waitreason_strings[waitReasonCount];

/* A goroutine's stack: usable bytes [lo, hi). Below lo lies its guard
 * (stack.c explains how overflow is caught). */
typedef struct stack {
	uintptr_t lo;
	uint32_t size;  /* usable bytes: [lo, lo + size) */
	bool canary;    /* no hardware guard: a canary word sits at lo */
	bool deep;      /* used below its top pages: release them when pooled */
	bool mprot;     /* its guard was made with mprotect (counts in the budget) */
} stack;

static inline uintptr_t stack_hi(const stack *s)
{
	return s->lo + s->size;
}

/* Two cache lines (checked below), split by who writes them. A million
 * queued goroutines are a million Gs written by the spawner and then by
 * whoever runs them, often another core: newproc writes only the first
 * line, so a spawn costs one cache line that another core may own, not
 * two. Fields of the second line are reset by goexit0, on the core that
 * ran the goroutine. */
struct g {
	/* first line: set by newproc */
	gobuf sched;            /* saved context while not running */
	_Atomic uint32_t atomicstatus;
	uint32_t stacksize;     /* requested usable stack bytes */
	int64_t goid;
	g *schedlink;           /* run queue / free list link */
	void (*fn)(void *);     /* entry, run by gostart */
	void *arg;
	uintptr_t gopc;         /* where it was created (the caller of gort_go) */
	int64_t parentgoid;

	/* second line: the running side's */
	stack stk;              /* lo == 0: no stack yet (allocated at first run) */
	uintptr_t lowsp;        /* lowest sp seen at a switch: how deep stk is used */
	m *m;                   /* running it; for a locked G, the M it is locked to */
	int64_t waitsince;      /* coarse nanotime of its park or syscall entry */
	char *name;             /* gort_attr name, owned (malloc) */
	uint8_t waitreason;     /* valid in _Gwaiting */
	bool ismain;            /* the main goroutine of gort_main */
	uint8_t inruntime;      /* inside a gort_* call: not async-preemptible */
	uint8_t nopreempt;      /* gort_preempt_off depth */
	uint8_t syscallstate;   /* SYSCALL_*: how it is in _Gsyscall (syscall.c) */
	bool locked;            /* LockOSThread: runs only on m->lockedg's M */
	uint32_t traceseq;      /* trace sequence number (trace.c), while tracing */
};
#if !GORT_ASAN && !GORT_TSAN
_Static_assert(sizeof(struct g) <= 2 * CACHE_LINE, "struct g grew past two cache lines");
#endif

/* A waiter (Go's sudog): a goroutine, or a plain thread that is not one,
 * waiting on a channel (chan.c, select.c), a semaphore or a notify list
 * (sema.c). It lives on the waiter's own stack: stacks never move, so a
 * waker may copy into or out of the waiter's frame, and waiting
 * allocates nothing. Owned by the wait structure it is queued on (under
 * that structure's lock); once dequeued, by the one waker that took it,
 * until sudog_ready, after which the frame may be gone. A plain thread's
 * sudog outlives the run it was queued in (its stack is its thread's);
 * a goroutine's does not, and teardown takes every goroutine's sudog out
 * of the structures that still hold a plain thread's (plainwait.c). */
enum { SUDOG_CHAN, SUDOG_SEMA, SUDOG_NOTIFY }; /* sudog.kind */
struct sudog {
	g *g;              /* the waiting goroutine; NULL for a plain thread */
	note *wake;        /* a plain thread sleeps on it */
	sudog *next;       /* wait queue links; semaphore: the treap's */
	sudog *prev;       /* children, prev on the lower addresses' side */
	void *elem;        /* channel: the element; semaphore: its address;
	                      notify list: the list */
	gort_chan *c;      /* channel: the one waited on */
	struct selwait *sel; /* channel: the select it belongs to, or NULL */
	/* Semaphore only, guarded by root->lock (sema.c) as next and prev
	 * are while queued. The first waiter on an address is its treap
	 * node; the others follow it on waitlink. parent, tail and priority
	 * mean something only in the node. */
	sudog *parent;     /* treap parent; NULL at the top */
	sudog *waitlink;   /* next waiter on the same address; select: its
	                      next sudog, in lock order (select.c) */
	sudog *tail;       /* last waiter on the address */
	uint32_t priority; /* treap priority: random; a parent's is no higher */
	uint32_t ticket;   /* semaphore: unit handed over; notify list ticket */
	int32_t caseidx;   /* select: its case */
	bool success;      /* channel: completed by a value, not by close */
	uint8_t kind;      /* SUDOG_*: the structure it waits on */
};

/* ---- M ------------------------------------------------------------- */

/* A system call a thread was seen blocked in (/proc/<tid>/syscall), for
 * the preemption handler to restart if the signal breaks it: pc 0 when
 * none was seen. */
typedef struct sigsyscall {
	long nr;
	uintptr_t args[6], sp, pc;
} sigsyscall;

/* Counters for gort_read_stats (stats.c), one set per M: written only by
 * the M's own thread (a plain load and store, relaxed), summed on read. */
typedef struct schedstats {
	_Atomic uint64_t context_switches;
	_Atomic uint64_t steals_tried;
	_Atomic uint64_t steals_won;  /* after steals_tried: read before it */
	_Atomic uint64_t handoffs;
	_Atomic uint64_t preempt_async;
	_Atomic uint64_t preempt_coop;
	_Atomic uint64_t netpoll_wakeups;
	_Atomic uint64_t timers_fired;
	_Atomic uint64_t stoptheworld;
} schedstats;

struct m {
	gobuf g0;               /* the scheduler's context on this thread */
	g *curg;                /* the G running on this M, or NULL on g0 */
	p *p;                   /* attached P, NULL when idle or in a syscall */
	p *nextp;               /* P handed over by startm, taken on wake-up */
	p *oldp;                /* P held before a syscall */
	int64_t id;
	bool spinning;          /* looking for work while holding a P */
	bool ism0;              /* the thread that called gort_main */
	note park;              /* stopm sleeps on it */
	m *schedlink;           /* idle M list */
	g *(*mcallfn)(m *, g *); /* what g0 runs after a G switched to it */
	bool (*waitunlockf)(g *, void *); /* gopark's unlock callback */
	g *runqafter;           /* gosched's direct switch: queue it, then */
	mutex *unlockafter;     /* release this, once switched away from it */
	uint32_t syscalltick;   /* p->syscalltick when the syscall began */
	sigsyscall sigsys;      /* the system call it interrupts, if any (preempt.c) */
	g *lockedg;             /* LockOSThread: the only G this M runs */
	uint32_t lockedext;     /* gort_lock_os_thread nesting */
	bool exitafterg;        /* the locked G exited: end this thread */
	bool detached;          /* its thread ended detached: not to be joined */
	bool threadgone;        /* exitafterg: its thread was seen gone (mthreadgone) */
	bool freed;             /* on sched.freem: its thread ended, or never began */
	bool wedged;            /* M0 after its locked G exited: parks until exit */
	bool lockedpark;        /* asleep in stoplockedm (wake with mwake) */
	g *handnext;            /* gosched, gopark: a locked G for mloop to hand over */
	g *parkedg;             /* gopark's direct switch: parked, unlockf pending */
	g *readynext;           /* goready inside a gort_* call: runs next (sched.c) */
	void *waitlock;
	uint64_t fastrand;      /* per-M random state (wyrand) */
	pthread_t thread;
	int procid;             /* kernel thread id */
	void *sigstack;         /* alternate signal stack (overflow reports) */
	_Atomic uint8_t blocked; /* asleep in notesleep (schedtrace shows it) */

	/* Kept when newm reuses a freed M (everything above is zeroed, as
	 * calloc made it): the list it stays on, its counters, which
	 * gort_read_stats goes on summing, and what preempt.c hands to
	 * readers that may still hold the M from before its thread ended
	 * (m_preempt_init). */
	m *alllink;             /* allm */
	schedstats stats;       /* this M's counters (trace.h: STAT_ADD) */
	_Atomic uint32_t signalpending; /* a preemption signal is on its way */
	_Atomic int sysfd1;     /* its /proc syscall file + 1; 0: not open yet, -1: none
	                           (the thread ended, or has not begun) (preempt.c) */
	_Atomic int32_t sysfd_users; /* readers of that file right now (preempt.c) */
};

/* ---- P ------------------------------------------------------------- */

/* Go's P states, same values. */
enum {
	_Pidle = 0,    /* on the idle list or in hand-over to an M */
	_Prunning = 1, /* held by an M running Go code or the scheduler */
	_Psyscall = 2, /* its M is in a syscall; may be retaken */
	_Pgcstop = 3,  /* stopped for a stop-the-world */
	_Pdead = 4     /* beyond GOMAXPROCS */
};

#define STACK_CACHE_MAX 16

/* p->preempt: the running G's time slice is over (PREEMPT_ASK, at 10 ms);
 * it has run a second slice in code that cannot be preempted
 * (PREEMPT_HANDOFF, at 20 ms: preempt.c detaches its P). */
enum { PREEMPT_NONE, PREEMPT_ASK, PREEMPT_HANDOFF };

/* g->syscallstate: how a _Gsyscall G got there. */
enum { SYSCALL_NONE, SYSCALL_USER, SYSCALL_DETACHED };

/* What sysmon saw of a P at its last look (Go's sysmontick). */
typedef struct sysmontick {
	uint32_t schedtick;
	int64_t schedwhen;
	uint32_t syscalltick;
	int64_t syscallwhen;
} sysmontick;

struct p {
	int32_t id;
	_Atomic uint32_t status;
	p *link;                /* idle P list */
	/* Written by the owner, read by sysmon (relaxed atomics). */
	_Atomic uint32_t schedtick;   /* each non-inheriting execute */
	_Atomic uint32_t syscalltick; /* each syscall the P survives or loses */
	_Atomic(m *) m;         /* back link to the M holding it */
	_Atomic uint8_t preempt; /* PREEMPT_*: sysmon says the slice is over */
	/* The goroutine whose syscall holds this P, for the GoSysBlock
	 * written when the P is retaken (trace.h). Written at every
	 * entersyscall, tracing or not: the flight recorder starts without
	 * stopping the world, and a P retaken from a call made before it
	 * started must still name that call's goroutine. Beside status,
	 * whose line entersyscall writes anyway. */
	_Atomic int64_t tracesysg;
	sysmontick sysmontick;  /* sysmon's own */

	/* Local run queue: a ring written only by the owner at the tail and
	 * taken from the head by the owner and by thieves with CAS. */
	_Atomic uint32_t runqhead;
	_Atomic uint32_t runqtail;
	_Atomic(g *) runq[GORT_RUNQ_SIZE];
	/* The G to run next, ahead of runq; it inherits the time slice. */
	_Atomic(g *) runnext;

	/* Dead Gs (without stacks) for reuse. */
	g *gfree;
	int32_t gfreecnt;

	/* Timers (timer.c): a 4-ary heap by `when`, under timerslock;
	 * timer0when is its earliest (0: none), read without the lock. */
	mutex timerslock;
	timer **timers;
	int32_t ntimers, captimers;
	_Atomic int64_t timer0when;

	/* Free default-size stacks, hot in cache (stack.c). */
	stack stackcache[STACK_CACHE_MAX];
	int32_t nstackcache;

	/* Gs created and exited on this P. Written only by the P's owner
	 * (no locked instruction); gort_numgoroutine sums them. A shared
	 * counter would bounce between cores on every spawn and exit. */
	_Atomic int64_t gcreated;
	_Atomic int64_t gexited;

	/* Goroutine ids handed out without touching sched.goidgen. */
	int64_t goidcache;
	int64_t goidcacheend;

} __attribute__((aligned(CACHE_LINE)));

/* ---- the scheduler ------------------------------------------------- */

typedef struct gqueue {
	g *head;
	g *tail;
} gqueue;

/* Append gp to q (through schedlink). */
static inline void gpush(gqueue *q, g *gp)
{
	gp->schedlink = NULL;
	if (q->tail)
		q->tail->schedlink = gp;
	else
		q->head = gp;
	q->tail = gp;
}

/* A batch of dead Gs linked through schedlink, moved as one (g.c). */
typedef struct gbatch {
	g *head;
	g *tail;
	int32_t n;
} gbatch;

/* Visits every P once in a pseudo-random order (Go's randomOrder). */
typedef struct randomorder {
	uint32_t count;
	uint32_t ncoprimes;
	uint32_t *coprimes;
} randomorder;

typedef struct schedt {
	_Atomic uint64_t goidgen;

	mutex lock;

	m *midle;               /* idle Ms, LIFO */
	int32_t nmidle;
	int64_t mnext;          /* Ms created so far; next M id */
	int32_t maxmcount;      /* thread limit */
	int32_t nmalive;        /* Ms other than M0 whose threads still run */

	p *pidle;               /* idle Ps, LIFO */
	_Atomic int32_t npidle;
	_Atomic int32_t nmspinning;

	gqueue runq;            /* global run queue */
	_Atomic int32_t runqsize;

	mutex gfree_lock;       /* global dead-G list: a stack of batches */
	gbatch *gfree;
	int32_t ngfree, capgfree;
	_Atomic int32_t gfreecnt; /* Gs in all batches */

	_Atomic uint32_t gcwaiting; /* stop-the-world requested */
	int32_t stopwait;           /* Ps still to stop */
	note stopnote;              /* wakes the stopper when stopwait hits 0 */
	uint32_t worldsema;         /* semaphore (1 = free): one stopper at a time */

	_Atomic int64_t ngforeign;  /* Gs created by threads without a P */

	int32_t nmidlelocked;       /* Ms parked waiting for their locked G */
	int32_t nmfreed;            /* Ms whose threads exited */
	m *freem, *freemtail;       /* freed Ms, oldest first (m.c: mfreeput) */
	int32_t nmsys;              /* system Ms (sysmon): not counted by checkdead */
	/* checkdead's last look found goroutines that only threads of the
	 * program's own could wake: sysmon looks again, since nothing in the
	 * runtime learns when such a thread ends. Written under sched.lock,
	 * peeked at without it. */
	_Atomic bool deadretry;
	_Atomic uint32_t sysmonwait; /* sysmon deep-sleeps on sysmonnote */
	note sysmonnote;
	pthread_t sysmonthread;
	_Atomic uint32_t sysmonstop;

	/* The netpoller (netpoll.c). lastpoll: when the network was last
	 * polled; 0 while an M blocks in netpoll, which it does until
	 * pollUntil (0: no timer, until woken). The blocked poller is also
	 * the timer sleeper: netpollBreak wakes it for an earlier timer. */
	_Atomic int64_t lastpoll;
	_Atomic int64_t pollUntil;
	_Atomic uint32_t mainstarted; /* the main goroutine began running */
	_Atomic uint32_t exiting;   /* main returned: Ms wind down */
	note exitnote;              /* wakes M0 when the last other M ends */
	bool exitwaiter;            /* M0 sleeps on exitnote (sched.lock) */
	g *maing;
	int mainresult;
	/* nanotime() as of sysmon's last round (sysmonwake refreshes it when
	 * sysmon slept): a goroutine's park time, good to ~10 ms for what
	 * dumps show in minutes, for one load instead of a clock read. */
	_Atomic int64_t coarsenow;
} schedt;

extern schedt sched;
extern p *allp[GORT_MAX_PROCS]; /* allp[0..gomaxprocs) are live */
extern _Atomic int32_t gomaxprocs;
extern int32_t newprocs;        /* pending GOMAXPROCS for startTheWorld */
extern m *allm;
extern randomorder stealorder;

/* ---- per-thread state ---------------------------------------------- */

/* The M running on this thread; NULL on threads that are not Ms. Always
 * read through getm(): a G may resume on another thread after any switch,
 * and the call keeps compilers from reusing a stale TLS address. */
m *getm(void);
void setm(m *mp);
/* Runtime locks held by this thread (lock.c); never carried across a
 * switch, so the raw TLS variable is safe to use. */
extern __thread int32_t mlocks __attribute__((tls_model("initial-exec")));
extern __thread m *tls_m __attribute__((tls_model("initial-exec")));

/* The G running on this thread (NULL on g0 and on threads that are not
 * Ms). One TLS load: reading getm()->curg instead would be two steps, and
 * a goroutine preempted between them and resumed on another M would read
 * that M's old curg. The scheduler sets it wherever m->curg changes.
 * From a goroutine's own point of view its value never changes, so a
 * compiler may keep it across a switch; what must not be kept is the
 * thread's TLS base. x86-64 compilers address TLS through %fs on every
 * access, so there the load is inline; AArch64 compilers may keep
 * tpidr_el0 in a register across calls, so there it is a call. For code
 * running on a G, its M is getg()->m once it cannot be preempted
 * (inside rt_enter/rt_exit, or holding a runtime lock). */
#if defined(__x86_64__)
extern __thread g *tls_g __attribute__((tls_model("initial-exec")));
static inline g *getg(void)
{
	return tls_g;
}
static inline void setg(g *gp)
{
	tls_g = gp;
}
#else
g *getg(void);
void setg(g *gp);
#endif

/* ---- functions, by file ---------------------------------------------- */

/* throw.c / print.c */
_Noreturn void throw(const char *msg);
_Noreturn void fatal(const char *msg);
/* Claim the one fatal report of the process: returns in the first thread
 * to call it, never returns in the others (print.c). */
void fatal_claim(void);
void printstr(const char *s);
void printint(int64_t v);
void printhex(uint64_t v);
/* A report's output (print.c): buffered, flushed with write(2) to fd
 * (async-signal-safe) or with fwrite to f. */
typedef struct dumpout {
	int fd;
	FILE *f;
	uint32_t n;
	char buf[512];
} dumpout;
void out_init_fd(dumpout *o, int fd);
void out_init_file(dumpout *o, FILE *f);
void out_str(dumpout *o, const char *s);
void out_quoted(dumpout *o, const char *s);
void out_int(dumpout *o, int64_t v);
void out_hex(dumpout *o, uint64_t v);
void out_flush(dumpout *o);

/* g.c */
uint32_t readgstatus(g *gp);
_Noreturn void badgstatus(g *gp, uint32_t oldval, uint32_t newval);

/* The transitions a G may make (bit `to` set in validnext[from]);
 * anything else is runtime corruption. */
#define GBIT(s) (1u << (s))
static const uint32_t validnext[10] = {
	[_Gidle] = GBIT(_Gdead),
	[_Gdead] = GBIT(_Grunnable),
	[_Grunnable] = GBIT(_Grunning),
	[_Grunning] = GBIT(_Grunnable) | GBIT(_Gwaiting) | GBIT(_Gsyscall) |
	              GBIT(_Gpreempted) | GBIT(_Gdead),
	[_Gsyscall] = GBIT(_Grunning) | GBIT(_Grunnable),
	[_Gwaiting] = GBIT(_Grunnable),
	[_Gpreempted] = GBIT(_Gwaiting) | GBIT(_Grunnable),
};

/* Change gp's status from oldval to newval, which must be a valid
 * transition from gp's actual status. Only gp's current owner changes its
 * status (see the top of this file), so a load, a check and a release
 * store do what Go's CAS does without a locked instruction on every
 * switch; the check still catches any transition made from a wrong
 * state. Callers pass constants, so the table check folds away. */
static inline void casgstatus(g *gp, uint32_t oldval, uint32_t newval)
{
	if (unlikely(oldval >= 10 || !(validnext[oldval] & GBIT(newval)) ||
	             atomic_load_explicit(&gp->atomicstatus, memory_order_relaxed) != oldval))
		badgstatus(gp, oldval, newval);
	atomic_store_explicit(&gp->atomicstatus, newval, memory_order_release);
}
int64_t newproc(m *mp, void (*fn)(void *), void *arg, size_t stacksize,
                const char *name, uintptr_t callerpc);
int64_t numgoroutine(void);
void gfput(p *pp, g *gp);
g *gfget(p *pp);
void gfpurge(p *pp);
void gstart_prepare(p *pp, g *gp);
g *goexit0(m *mp, g *gp);
void g_teardown(void);
typedef void (*gvisitor)(g *gp, void *arg);
void forEachG(gvisitor fn, void *arg);
/* Without the arena lock (Go's forEachGRace): for signal handlers and
 * reports that must not block; sees every G published before the call. */
void forEachGRace(gvisitor fn, void *arg);

/* runq.c */
bool runqempty(p *pp);
void runqput(p *pp, g *gp, bool next);
void runqputbatch(p *pp, gqueue *q, int32_t n);
g *runqget(p *pp, bool *inherittime);
g *runqsteal(p *pp, p *p2, bool stealrunnextg);
void globrunqput(g *gp);
void globrunqputhead(g *gp);
void globrunqputbatch(gqueue *batch, int32_t n);
g *globrunqget(p *pp, int32_t max);
g *globrunqget_deferring(p *pp, int32_t max, g *held, g **deferred);
g *globrunqgetlocked(p *pp);
uint32_t runqlen(p *pp);

/* p.c */
static inline m *pm(p *pp)
{
	return atomic_load_explicit(&pp->m, memory_order_relaxed);
}
static inline void setpm(p *pp, m *mp)
{
	atomic_store_explicit(&pp->m, mp, memory_order_relaxed);
}
/* Owner-only increments of counters that sysmon reads. */
static inline void tick_inc(_Atomic uint32_t *t)
{
	atomic_store_explicit(t, atomic_load_explicit(t, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}
static inline uint32_t tick_load(_Atomic uint32_t *t)
{
	return atomic_load_explicit(t, memory_order_relaxed);
}
void pidleput(p *pp);
p *pidleget(void);
void acquirep(m *mp, p *pp);
p *releasep(m *mp);
p *procresize(m *mp, int32_t nprocs);
bool procs_prealloc(int32_t nprocs);
void stopTheWorld(void);
void startTheWorld(void);
void p_teardown(void);
void randomorder_reset(randomorder *ord, uint32_t count);
typedef struct randomenum {
	uint32_t i, count, pos, inc;
} randomenum;
randomenum randomorder_start(const randomorder *ord, uint32_t i);
static inline bool randomenum_done(const randomenum *e) { return e->i == e->count; }
static inline void randomenum_next(randomenum *e)
{
	e->i++;
	e->pos = (e->pos + e->inc) % e->count;
}

/* m.c */
void mcommoninit(m *mp);
bool mthreadgone(m *mp);
void checkmcount(int32_t extra);
void startm(p *pp, bool spinning);
bool stopm(m *mp);
void mput(m *mp);
m *mget(void);
void mstart0(m *mp);
void exitbegin(void);
void m_teardown(m *m0);
uint32_t fastrand(m *mp);
uint32_t cheaprand(void);
uint32_t cheaprandn(uint32_t n);
uint64_t randseed(uint64_t unique);

/* syscall.c */
void entersyscall(m *mp, g *gp, uint8_t how);
void exitsyscall(m *mp, g *gp);
void handoffp(p *pp);

/* sysmon.c */
int sysmon_start(void);
void sysmon_stop(void);
void sysmonwake(void);
#define FORCE_PREEMPT_NS (10 * 1000 * 1000) /* Go's forcePreemptNS */
/* For the scheduling-scenario tests, which build exact queue states and
 * must not see a time slice end halfway (sanitizer builds are slow):
 * sysmon then asks no goroutine to stop. */
extern _Atomic bool debug_nopreempt;

/* preempt.c */
int preempt_init(void);
void preempt_teardown(void);
bool preemptone(p *pp, uint8_t level, uint32_t tick);
void m_closesyscallfile(m *mp);
void m_preempt_init(m *mp);
void m_preempt_ready(m *mp);
void preempt_syscall_wait(m *mp);
void gopreempt(void);
/* Whether a goroutine interrupted at pc must not be parked there: any
 * code but the program's own and the vDSO's, and the runtime's inside the
 * program (preempt.c, "Safe points"). */
bool preempt_unsafe_pc(uintptr_t pc);
/* g->inruntime, like mlocks, is read by the preemption signal's handler,
 * which runs on the thread whose code it interrupted. A compiler barrier
 * (atomic_signal_fence) keeps the work it guards from being moved to
 * before the raise or after the lowering; no other thread reads it, so
 * no hardware ordering is needed. */
static inline void inruntime_raise(g *gp)
{
	gp->inruntime++;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void inruntime_lower(g *gp)
{
	atomic_signal_fence(memory_order_seq_cst);
	gp->inruntime--;
}

/* mlocks likewise: a runtime lock held (lock_futex.c), or anything else
 * the handler must not park or detach the thread inside (a clock read,
 * the tracer's mutexes). */
static inline void mlocks_raise(void)
{
	mlocks++;
	atomic_signal_fence(memory_order_seq_cst);
}

static inline void mlocks_lower(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	mlocks--;
}

/* Every gort_* call that a goroutine makes into the runtime is bracketed
 * by rt_enter/rt_exit. Inside, the goroutine is not async-preemptible (it
 * may be using its P's structures); on the way in, a goroutine whose P
 * was detached while it ran unpreemptible code takes one back; on the
 * way out, a pending preemption request is honoured (the cooperative
 * half of preemption). */
static inline g *rt_enter(void)
{
	g *gp = getg();
	if (gp) {
		inruntime_raise(gp);
		/* Detached by preemption, or a gort call made between
		 * gort_entersyscall and gort_exitsyscall: the hand-off ends
		 * here (that gort_exitsyscall then does nothing). */
		if (unlikely(gp->syscallstate != SYSCALL_NONE))
			exitsyscall(gp->m, gp);
	}
	return gp;
}
void readynext_flush(m *mp);
static inline void rt_exit(g *gp)
{
	if (gp) {
		/* Still inside (inruntime): the check and the switch must not
		 * be preempted themselves. */
		m *mp = gp->m;
		if (unlikely(mp->readynext != NULL) &&
		    atomic_load_explicit(&gomaxprocs, memory_order_relaxed) != 1)
			readynext_flush(mp);
		if (unlikely(mp->p && atomic_load_explicit(&mp->p->preempt, memory_order_relaxed)) &&
		    gp->inruntime == 1 && gp->nopreempt == 0 && gp->syscallstate == SYSCALL_NONE)
			gopreempt();
		inruntime_lower(gp);
	}
}

/* lockosthread.c */
bool stoplockedm(m *mp);
void startlockedm(m *mp, g *gp);
bool startlockedm_global(p *pp);
g *lockedexit(m *mp, g *gp);
void lockedm_wakeall(void);

/* checkdead.c */
void checkdead(void);

/* traceback.c: the goroutine dump. stopped: nothing can run (the world
 * is stopped, or the process is deadlocked), so every parked goroutine's
 * stack can be walked; otherwise stacks that may be freed under the walk
 * (other than the pool's, which stay mapped) are not. */
void dumpgoroutines(dumpout *o, bool stopped);
void tracebackcurg(void); /* throw/fatal: the goroutine on this thread */
void sigquit_handler(int sig, siginfo_t *info, void *uc);

/* symtab.c: the function holding pc, from the ELF symbol tables of the
 * mapped files (async-signal-safe). module: the file's path, or NULL. */
typedef struct symbol {
	const char *name;
	uintptr_t offset;
	const char *module;
} symbol;
bool symbolize(uintptr_t pc, symbol *out);

/* schedtrace.c: GODEBUG=schedtrace=N,scheddetail=1. */
extern int32_t debug_schedtrace;   /* ms between reports; 0: off */
extern int32_t debug_scheddetail;
void schedtrace_init(int64_t now);
void schedtrace_tick(int64_t now); /* sysmon, each round */
void schedtrace(dumpout *o, bool detail);
bool schedtrace_fatal(dumpout *o); /* a fatal report's, with GODEBUG set */

/* timer.c */
struct timer {
	int64_t when;
	void (*f)(void *arg, int64_t now); /* runs on an M with a P, no lock held */
	void *arg;
	_Atomic(p *) pp; /* whose heap holds it (set under its timerslock), or NULL */
	int32_t idx;    /* its place in that heap, or -1 */
	/* Set when checktimers takes it out to run f; f's owner clears it
	 * (gort_timer's fire), so that stop and reset can wait for a firing
	 * in flight. */
	_Atomic uint32_t firing;
};
/* now + ns, saturating (Go's when(): a huge duration means "never"). */
static inline int64_t addsat(int64_t now, int64_t ns)
{
	int64_t w;
	return __builtin_add_overflow(now, ns, &w) ? INT64_MAX : w;
}
bool addtimer(m *mp, timer *t);
bool addtimer_p(p *pp, timer *t);
void wakesleeper(int64_t when);
void timesleep(g *gp, int64_t ns);
bool deltimer(timer *t);
int checktimers(p *pp, int64_t now);
/* The scheduler's check: one load when pp has no timer. */
static inline void runtimers(p *pp)
{
	if (unlikely(atomic_load_explicit(&pp->timer0when, memory_order_relaxed) != 0))
		checktimers(pp, 0);
}
int64_t nexttimer(void);
void movetimers(p *dst, p *src);
void timers_orphan(p *pp);
void timers_teardown(p *pp);

/* netpoll.c, netpoll_epoll.c: the scheduler's side of the netpoller.
 * netpoll(delay) returns the goroutines made ready by I/O (delay < 0:
 * block until something is ready or netpollBreak; 0: do not block; > 0:
 * block at most delay ns), linked through schedlink, still _Gwaiting;
 * injectglist makes them runnable. netpollWaiters counts the goroutines
 * parked on it (checkdead: they are not deadlocked). */
extern _Atomic int32_t netpollWaiters;

/* Goroutines wait on the network and no M blocks in the netpoller
 * (sched.lastpoll is 0 while one does): only sysmon's 10 ms poll would
 * see them ready. */
static inline bool netpoll_unwatched(void)
{
	return atomic_load(&netpollWaiters) > 0 && atomic_load(&sched.lastpoll) != 0;
}

int netpollinit(void);
void netpoll_teardown(void);
int32_t netpoll(int64_t delay, gqueue *list);
void netpollBreak(void);
bool netpoll_trylock(void);
void netpoll_unlock(void);

/* sched.c */
void mloop(m *mp);
void netpollwoke(p *pp, int32_t n);
void injectglist(gqueue *list);
void dropg(m *mp, g *gp);
void wakep(void);
void mcall(g *(*fn)(m *, g *));
void gopark(bool (*unlockf)(g *, void *), void *lock, waitreason reason);
void goparkunlock(mutex *lock, waitreason reason);
void goready(g *gp);
bool parkunlock_c(g *gp, void *lock);
/* Wait on a queued sudog: park the goroutine, or sleep the thread on
 * s->wake; unlockf(gp, lock) releases the queue's lock once the wake-up
 * cannot be missed. sudog_ready wakes it. */
void sudog_park(sudog *s, bool (*unlockf)(g *, void *), void *lock, waitreason reason);
void sudog_ready(sudog *s);
void gosched(g *gp);
_Noreturn void goexit1(void);
_Noreturn void gostart(void); /* entry of every new G (arch trampoline) */
void gcstopm(m *mp);

/* stack.c */
void stack_init(size_t poolsize);
size_t stack_round(size_t size);
bool stackalloc(p *pp, size_t size, stack *out);
bool stackcached(p *pp, size_t size);
/* Whether gp has not run yet and gstart_prepare(pp, gp) would take its
 * stack from outside pp's cache (the pool's lock, maybe mmap, a first
 * touch): work that must not happen under a runtime lock (sched.c:
 * park_direct). */
static inline bool gstart_uncached(p *pp, const g *gp)
{
	return !gp->stk.lo && !stackcached(pp, gp->stacksize);
}
void stackfree(p *pp, stack stk, uintptr_t lowsp);
void stackcache_release(p *pp);
void stack_teardown(void);
size_t stack_guard_size(void);
bool stack_canary_ok(const stack *stk);

/* Called on the goroutine's stack each time it switches out or exits:
 * note how deep the stack is in use (stack.c releases pages of deep
 * stacks), and catch an overflow of a stack guarded only by a canary. */
static inline void stack_track(g *gp)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (sp < gp->lowsp)
		gp->lowsp = sp;
	if (unlikely(gp->stk.canary) && !stack_canary_ok(&gp->stk))
		fatal("stack overflow");
}
extern size_t stackpool_size;  /* usable bytes of pooled stacks */
extern size_t stack_default;   /* default usable bytes for new Gs */

/* arch/<arch>/sigctx_<arch>.c: the interrupted sp and pc of a signal,
 * and whether a general register holds a value (sigctx_holds);
 * the redirection of an interrupted context into the preemption
 * trampoline (arch/<arch>/asyncpreempt.S) and the trampoline's frame. */
uintptr_t sigctx_sp(const void *uc);
uintptr_t sigctx_pc(const void *uc);
void sigctx_restart_syscall(void *uc, const sigsyscall *sc, const uintptr_t again[6]);
uintptr_t sigctx_fp(const void *uc);
bool sigctx_holds(const void *uc, uintptr_t v);
void sigctx_redirect(void *uc);
void asyncpreempt_init(void);
void asyncpreempt_resume(void *frame);
void asyncpreempt(void);
void asyncpreempt_end(void);
void *asyncpreempt2(void *frame); /* preempt.c */

/* signal.c */
int signal_init(void);
void signal_teardown(void);
void sigrestore(int sig, const struct sigaction *old, void (*ours)(int, siginfo_t *, void *));
int mpreinit(m *mp);
void msigstack_free(m *mp);
void minit_signals(m *mp);
bool sigctx_basemask(const void *uc);
void munit_signals(m *mp);

/* sema.c */
void semacquire1(uint32_t *addr, bool lifo, waitreason reason);
void semrelease1(uint32_t *addr, bool handoff);
void semacquire(uint32_t *addr, waitreason reason); /* semacquire1, FIFO */
bool cansemacquire(uint32_t *addr);                 /* one unit if free, no wait */
void semrelease(uint32_t *addr);                    /* semrelease1, no handoff */
void sema_teardown(void);
typedef struct notifyList notifyList; /* a gort_cond, seen by the runtime */
void notifyList_keep(notifyList *l, uint32_t gen);
uint32_t notifyListAdd(notifyList *l);
void notifyListWait(notifyList *l, uint32_t t);
void notifyListNotifyOne(notifyList *l);
void notifyListNotifyAll(notifyList *l);

/* plainwait.c: the plain threads asleep on a sudog (runtime.h, above
 * foreign_enter), and what teardown does for them. */
typedef struct plainwait {
	sudog *s;
	struct plainwait *next, *prev;
} plainwait;
void plainwait_add(plainwait *w, sudog *s);
void plainwait_remove(plainwait *w);
void plainwait_teardown(void);

/* runtime.c */
/* From a thread that is not a goroutine: run fn(arg) on a new goroutine
 * and wait for it. 0 once it has run; -1 with ESRCH if the runtime is not
 * running or the run ended first (fn may have run in part), or with
 * newproc's errno. */
int run_on_goroutine(void (*fn)(void *), void *arg);
enum { RUNTIME_DOWN, RUNTIME_STARTING, RUNTIME_UP, RUNTIME_STOPPING };
extern _Atomic uint32_t runtime_running;
/* Incremented when a gort_main run ends: wait queues that outlive a run
 * (a channel's, a cond's notify list) recognise waiters abandoned with
 * their goroutines. A structure on which a plain thread still waits is
 * cleared of them at teardown instead, and stamped with the new value
 * (plainwait.c), so that its plain waiters are kept. */
extern _Atomic uint32_t runtime_gen;
extern pthread_rwlock_t foreign_lock;
/*
 * A thread that is not a goroutine holds off teardown, which frees the
 * runtime under it, with foreign_enter/foreign_exit: foreign_lock for
 * reading (teardown takes it for writing). foreign_held counts this
 * thread's nested brackets; only the outermost takes the lock, and
 * sudog_park lets go of it while the thread sleeps, so that a plain
 * thread blocked when gort_main returns does not hold teardown up.
 * Before letting go it records its sudog (plainwait_add), which it takes
 * back only once it holds the lock again: teardown finds every plain
 * thread asleep in a wait structure, or woken and not yet past the
 * lock, on that record, and keeps it there for the next run.
 *
 * A call that may reach a goroutine (copy into its stack, ready it: a
 * channel operation, a select, a sync type's semaphore or notify list)
 * is bracketed by rt_enter_wait/rt_exit_wait in place of
 * rt_enter/rt_exit: a goroutine waiter found before teardown begins is
 * freed, with its stack and the scheduler it is readied on, only once
 * the call is done with it.
 */
extern __thread int32_t foreign_held __attribute__((tls_model("initial-exec")));
static inline void foreign_enter(void)
{
	if (foreign_held++ == 0)
		pthread_rwlock_rdlock(&foreign_lock);
}
static inline void foreign_exit(void)
{
	if (--foreign_held == 0)
		pthread_rwlock_unlock(&foreign_lock);
}
static inline g *rt_enter_wait(void)
{
	g *gp = rt_enter();
	if (!gp)
		foreign_enter();
	return gp;
}
static inline void rt_exit_wait(g *gp)
{
	if (gp)
		rt_exit(gp);
	else
		foreign_exit();
}
/* A call that needs the run's tables (a timer's heap, an fd's
 * registration) from any thread: rt_enter_wait, and true while a run is
 * up; false, with nothing held, when none is (a plain thread between
 * runs). Left with rt_exit_wait. */
static inline bool rt_enter_up(g **gpp)
{
	g *gp = *gpp = rt_enter_wait();
	if (gp || atomic_load(&runtime_running) == RUNTIME_UP)
		return true;
	foreign_exit();
	return false;
}
int32_t gomaxprocs_default(void);
/* The value of name=N in the comma list GODEBUG, or def. */
int64_t godebug_int(const char *name, int64_t def);

/* debug_http.c: at the end of a run, once only M0 is left: stop a trace
 * capture left running, close the listener and the connections whose
 * goroutines were abandoned, so that the next run can serve again. */
void debug_http_teardown(void);
extern int64_t debug_http_read_timeout; /* ns a client has to send its request */
extern bool debug_http_capture_memfd;   /* false: trace captures go to TMPDIR */

/* os_linux.c */
int64_t nanotime(void);
void futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns);
void futexwakeup(_Atomic uint32_t *addr, uint32_t cnt);
void osyield(void);
void usleep_ns(int64_t ns);
int gettid_(void);
int geterrno(void);
void seterrno(int v);
int32_t getproccount(void);
size_t physpagesize(void);
void *sysalloc(size_t n);
void sysfree(void *v, size_t n);

#endif /* GORT_RUNTIME_H */
