/*
 * g.c - goroutines: creation (newproc), status transitions, the dead-G
 * free lists (gfput/gfget), and where G structs live.
 *
 * G structs come from arenas: 2 MiB chunks, asked to be backed by huge
 * pages, carved in cache-line-sized pieces and never unmapped while the
 * runtime runs. A million queued goroutines then cost a few hundred huge
 * page faults instead of tens of thousands of small ones (a fresh page
 * costs ~11 µs on a virtual machine). The arenas also serve as allgs:
 * every G ever made can be visited (forEachG) for dumps and teardown, in
 * the order the G structs were made, as Go's allgs: the arenas are
 * linked oldest first (a goroutine dump or scheddetail lists goroutine 1
 * before those of a later arena).
 *
 * A dead G keeps no stack: the stack went back to its P's stack cache at
 * exit, where the next goroutine to start picks it up while it is still
 * hot. Gs therefore move between the free lists as bare structs.
 *
 * Free lists: p->gfree (owner only) and sched.gfree (sched.gfree_lock).
 * gfput moves half of a long local list to the global one; gfget refills
 * from it, as Go's thresholds (64 / 32).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime.h"
#include "trace.h"

enum { ARENA_SIZE = 2 << 20 };

#define GSIZE ((sizeof(g) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1))

typedef struct garena {
	struct garena *next; /* the next newer arena */
	size_t used;  /* Gs carved */
	char gs[];    /* GSIZE each, cache-line aligned */
} garena;

/* Gs per arena. */
#define ARENA_GS ((ARENA_SIZE - offsetof(garena, gs)) / GSIZE)

static struct {
	mutex lock;
	garena *arenas; /* the oldest: where allgs begins */
	garena *last;   /* the newest, where Gs are carved */
} gheap;

static g *malg(void)
{
	lock(&gheap.lock);
	garena *a = gheap.last;
	if (!a || a->used == ARENA_GS) {
		void *mem = NULL;
		if (posix_memalign(&mem, ARENA_SIZE, ARENA_SIZE) != 0) {
			unlock(&gheap.lock);
			return NULL;
		}
		madvise(mem, ARENA_SIZE, MADV_HUGEPAGE);
		a = mem;
		a->used = 0;
		a->next = NULL;
		/* Published for forEachGRace, which reads without the lock,
		 * at the end of the list: allgs keeps its order. */
		__atomic_store_n(gheap.last ? &gheap.last->next : &gheap.arenas, a,
		                 __ATOMIC_RELEASE);
		gheap.last = a;
	}
	g *gp = (g *)(a->gs + a->used * GSIZE);
	memset(gp, 0, sizeof *gp);
	atomic_store_explicit(&gp->atomicstatus, _Gidle, memory_order_relaxed);
	/* Publish the G only once it is initialised: forEachG reads `used`. */
	__atomic_store_n(&a->used, a->used + 1, __ATOMIC_RELEASE);
	unlock(&gheap.lock);
	return gp;
}

void forEachG(gvisitor fn, void *arg)
{
	lock(&gheap.lock);
	for (garena *a = gheap.arenas; a; a = a->next)
		for (size_t i = 0; i < a->used; i++)
			fn((g *)(a->gs + i * GSIZE), arg);
	unlock(&gheap.lock);
}

void forEachGRace(gvisitor fn, void *arg)
{
	for (garena *a = __atomic_load_n(&gheap.arenas, __ATOMIC_ACQUIRE); a;
	     a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE)) {
		size_t used = __atomic_load_n(&a->used, __ATOMIC_ACQUIRE);
		for (size_t i = 0; i < used; i++)
			fn((g *)(a->gs + i * GSIZE), arg);
	}
}

uint32_t readgstatus(g *gp)
{
	return atomic_load_explicit(&gp->atomicstatus, memory_order_acquire);
}

/* Out of line: the report of a transition from a wrong state. */
void badgstatus(g *gp, uint32_t oldval, uint32_t newval)
{
	printstr("runtime: casgstatus: oldval=");
	printint(oldval);
	printstr(" newval=");
	printint(newval);
	printstr(" actual=");
	printint(atomic_load_explicit(&gp->atomicstatus, memory_order_relaxed));
	printstr(" goid=");
	printint(gp->goid);
	printstr("\n");
	throw("casgstatus: bad incoming values");
}

/* Written under gfree_lock, peeked at without it. */
static inline void gfreecnt_add(int32_t n)
{
	atomic_store_explicit(&sched.gfreecnt,
	        atomic_load_explicit(&sched.gfreecnt, memory_order_relaxed) + n,
	        memory_order_relaxed);
}

/* The global free list is a stack of batches: moving a batch is O(1)
 * under the lock. Go moves Gs one at a time under its lock, reading each
 * one's link; those Gs were last written by the core that freed them, so
 * each read is a cache miss taken while every other P waits. Here the
 * taker walks its batch later, one G per spawn, when it writes that G
 * anyway. Returns false (the caller keeps the Gs) if the batch array
 * cannot grow. */
static bool gfree_push(gbatch b)
{
	lock(&sched.gfree_lock);
	if (sched.ngfree == sched.capgfree) {
		int32_t cap = sched.capgfree ? sched.capgfree * 2 : 64;
		gbatch *nb = realloc(sched.gfree, (size_t)cap * sizeof *nb);
		if (!nb) {
			unlock(&sched.gfree_lock);
			return false;
		}
		sched.gfree = nb;
		sched.capgfree = cap;
	}
	sched.gfree[sched.ngfree++] = b;
	gfreecnt_add(b.n);
	unlock(&sched.gfree_lock);
	return true;
}

static bool gfree_pop(gbatch *b)
{
	if (atomic_load_explicit(&sched.gfreecnt, memory_order_relaxed) == 0)
		return false;
	lock(&sched.gfree_lock);
	bool ok = sched.ngfree > 0;
	if (ok) {
		*b = sched.gfree[--sched.ngfree];
		gfreecnt_add(-b->n);
	}
	unlock(&sched.gfree_lock);
	return ok;
}

void gfput(p *pp, g *gp)
{
	if (readgstatus(gp) != _Gdead)
		throw("gfput: bad status (not Gdead)");
	if (!pp) {
		gp->schedlink = NULL;
		if (!gfree_push((gbatch){gp, gp, 1}))
			throw("out of memory (free G list)");
		return;
	}
	gp->schedlink = pp->gfree;
	pp->gfree = gp;
	if (++pp->gfreecnt < GFREE_LOCAL_MAX)
		return;
	/* Keep the GFREE_LOCAL_KEEP - 1 most recent (hottest) Gs; the rest
	 * go to the global list as one batch. */
	g *last = pp->gfree;
	for (int32_t i = 1; i < GFREE_LOCAL_KEEP - 1; i++)
		last = last->schedlink;
	gbatch b = {last->schedlink, last->schedlink, pp->gfreecnt - (GFREE_LOCAL_KEEP - 1)};
	while (b.tail->schedlink)
		b.tail = b.tail->schedlink;
	last->schedlink = NULL;
	if (gfree_push(b))
		pp->gfreecnt = GFREE_LOCAL_KEEP - 1;
	else
		last->schedlink = b.head;
}

g *gfget(p *pp)
{
	if (!pp) {
		gbatch b;
		if (!gfree_pop(&b))
			return NULL;
		g *gp = b.head;
		if (b.n > 1 && !gfree_push((gbatch){gp->schedlink, b.tail, b.n - 1}))
			throw("out of memory (free G list)");
		return gp;
	}
	if (!pp->gfree) {
		gbatch b;
		if (gfree_pop(&b)) {
			pp->gfree = b.head;
			pp->gfreecnt = b.n;
		}
	}
	g *gp = pp->gfree;
	if (gp) {
		pp->gfree = gp->schedlink;
		pp->gfreecnt--;
		/* The next spawn writes the next G: a G freed on another CPU
		 * is fetched now, for writing, instead of read then upgraded. */
		if (pp->gfree)
			__builtin_prefetch(pp->gfree, 1);
	}
	return gp;
}

/* Give all of pp's free Gs to the global list (procresize). */
void gfpurge(p *pp)
{
	if (!pp->gfree)
		return;
	gbatch b = {pp->gfree, pp->gfree, pp->gfreecnt};
	while (b.tail->schedlink)
		b.tail = b.tail->schedlink;
	if (!gfree_push(b))
		throw("out of memory (free G list)");
	pp->gfree = NULL;
	pp->gfreecnt = 0;
}

/* Increment a counter that only the calling P's owner writes. */
static inline void owner_inc(_Atomic int64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static int64_t newgoid(p *pp)
{
	if (!pp)
		return (int64_t)atomic_fetch_add_explicit(&sched.goidgen, 1, memory_order_relaxed) + 1;
	if (pp->goidcache == pp->goidcacheend) {
		pp->goidcache = (int64_t)atomic_fetch_add_explicit(&sched.goidgen, GOID_CACHE_BATCH,
		                        memory_order_relaxed) + 1;
		pp->goidcacheend = pp->goidcache + GOID_CACHE_BATCH;
	}
	return pp->goidcache++;
}

/* Create a runnable G for fn(arg) and queue it as Go's newproc does:
 * runnext of the current P, or the global queue from a thread without a
 * P. Returns the new goid (read before the G is queued: once queued it
 * may run, exit and be reused at once), or -1 with errno set. */
int64_t newproc(m *mp, void (*fn)(void *), void *arg, size_t stacksize, const char *name,
                uintptr_t callerpc)
{
	p *pp = mp ? mp->p : NULL;
	char *namecopy = NULL;
	if (name && !(namecopy = strdup(name))) {
		errno = ENOMEM;
		return -1;
	}
	g *newg = gfget(pp);
	if (!newg) {
		newg = malg();
		if (!newg) {
			free(namecopy);
			errno = ENOMEM;
			return -1;
		}
		casgstatus(newg, _Gidle, _Gdead);
	}
	g *curg = mp ? mp->curg : NULL;
	/* Only the first cache line of newg is written here (see struct g);
	 * goexit0 left the rest clean. */
	newg->fn = fn;
	newg->arg = arg;
	newg->stacksize = (uint32_t)stacksize;
	newg->gopc = callerpc;
	newg->parentgoid = curg ? curg->goid : 0;
	newg->sched.sp = NULL;
	if (namecopy)
		newg->name = namecopy;
	int64_t goid = newg->goid = newgoid(pp);
	if (pp)
		owner_inc(&pp->gcreated);
	else
		atomic_fetch_add_explicit(&sched.ngforeign, 1, memory_order_relaxed);
	tracesnap_enter(pp);
	casgstatus(newg, _Gdead, _Grunnable);
	traceGoCreate(pp, newg);
	tracesnap_exit(pp);
	if (pp) {
		/* A G readied before this one (sched.c: readynext) goes to
		 * runnext first, so that the new G displaces it, as in Go. */
		if (mp->readynext) {
			runqput(pp, mp->readynext, true);
			mp->readynext = NULL;
		}
		runqput(pp, newg, true);
		if (atomic_load_explicit(&sched.mainstarted, memory_order_relaxed))
			wakep();
	} else {
		lock(&sched.lock);
		globrunqput(newg);
		unlock(&sched.lock);
		wakep();
	}
	return goid;
}

/* Give gp a stack and a first frame; called by execute when gp runs for
 * the first time. The stack comes from pp's cache when it can. */
void gstart_prepare(p *pp, g *gp)
{
	/* A stack from outside pp's cache may cost a page fault or a system
	 * call: never while this thread holds a runtime lock, as a direct
	 * switch would (sched.c: park_direct, gosched route such a G
	 * through g0). */
	if (unlikely(mlocks != 0) && gstart_uncached(pp, gp))
		throw("gstart_prepare: fresh stack under a runtime lock");
	if (!gp->stk.lo && !stackalloc(pp, gp->stacksize, &gp->stk))
		fatal("out of memory allocating goroutine stack");
	ctx_set_stack(&gp->sched, gp->stk.lo, stack_hi(&gp->stk));
	gp->lowsp = stack_hi(&gp->stk);
	/* gp begins inside the runtime: from the instruction that puts the
	 * thread on its stack it is the M's _Grunning curg, and its first
	 * code (gostart) finishes the previous G's switch (switchedin),
	 * which may use the P: a park's unlock function (sleep_arm's
	 * addtimer, a runqput). Left at 0 until gostart raised it, a
	 * hand-off landing between would detach the P just before that
	 * code uses it. gostart lowers it once the switch is done. */
	gp->inruntime = 1;
	ctx_fiber_create(&gp->sched);
	gp->sched.sp = ctx_prepare(stack_hi(&gp->stk));
}

/* On g0, after gp ran its last instruction: free what it held and put it
 * on the free list. */
g *goexit0(m *mp, g *gp)
{
	p *pp = mp->p;
	casgstatus(gp, _Grunning, _Gdead);
	traceGoEnd(pp, gp);
	bool locked = gp->locked;
	gp->locked = false;
	mp->curg = NULL;
	setg(NULL);
	gp->m = NULL;
	ctx_fiber_destroy(&gp->sched);
	stackfree(pp, gp->stk, gp->lowsp);
	gp->stk = (stack){0};
	gp->sched.sp = NULL;
	free(gp->name);
	gp->name = NULL;
	gp->waitreason = waitReasonZero;
	gp->inruntime = 0;
	gp->nopreempt = 0;
	owner_inc(&pp->gexited);
	bool ismain = gp->ismain;
	gp->ismain = false;
	gfput(pp, gp);
	if (ismain) {
		mp->lockedg = NULL; /* the runtime exits: the thread is M0's anyway */
		mp->lockedext = 0;
		exitbegin();
	} else if (locked) {
		return lockedexit(mp, gp);
	}
	return NULL;
}

/* Abandoned goroutines (alive when main returned) still own stacks and
 * names; the world is gone, so release them directly. */
static void gfree_abandoned(g *gp, void *arg)
{
	(void)arg;
	if (gp->stk.lo) {
		ctx_fiber_destroy(&gp->sched);
		if (gp->stk.size != stackpool_size)
			stackfree(NULL, gp->stk, 0);
	}
	free(gp->name);
}

void g_teardown(void)
{
	forEachG(gfree_abandoned, NULL);
	garena *a = gheap.arenas;
	while (a) {
		garena *next = a->next;
		free(a);
		a = next;
	}
	memset(&gheap, 0, sizeof gheap);
}

/* ---- public API ---- */

static int64_t go_common(void (*fn)(void *), void *arg, const gort_attr *attr, uintptr_t pc)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	size_t ss = __atomic_load_n(&stack_default, __ATOMIC_RELAXED);
	const char *name = NULL;
	if (attr) {
		if (attr->stack_size) {
			if (attr->stack_size < GORT_STACK_MIN || attr->stack_size > GORT_STACK_MAX) {
				errno = EINVAL;
				return -1;
			}
			ss = stack_round(attr->stack_size);
		}
		name = attr->name;
	}
	g *gp = rt_enter();
	if (gp) {
		int64_t goid = newproc(gp->m, fn, arg, ss, name, pc);
		rt_exit(gp);
		return goid;
	}
	/* A thread that is not an M: hold off teardown while we queue. */
	foreign_enter();
	int64_t goid;
	if (atomic_load(&runtime_running) != RUNTIME_UP) {
		errno = EAGAIN;
		goid = -1;
	} else {
		goid = newproc(NULL, fn, arg, ss, name, pc);
	}
	foreign_exit();
	return goid;
}

GORT_API int64_t gort_go(void (*fn)(void *), void *arg)
{
	return go_common(fn, arg, NULL, (uintptr_t)__builtin_return_address(0));
}

GORT_API int64_t gort_go_attr(void (*fn)(void *), void *arg, const gort_attr *attr)
{
	return go_common(fn, arg, attr, (uintptr_t)__builtin_return_address(0));
}

GORT_NORETURN GORT_API void gort_goexit(void)
{
	if (!getg())
		fatal("gort_goexit called outside a goroutine");
	goexit1();
}

GORT_API int64_t gort_goid(void)
{
	g *gp = getg();
	return gp ? gp->goid : 0;
}

/* foreign_lock held (read) or the caller is a goroutine. */
int64_t numgoroutine(void)
{
	if (atomic_load(&runtime_running) != RUNTIME_UP)
		return 0;
	int64_t n = atomic_load_explicit(&sched.ngforeign, memory_order_relaxed);
	/* P structs outlive GOMAXPROCS changes, so their counts stay valid;
	 * sched.lock keeps procresize from adding Ps meanwhile. */
	lock(&sched.lock);
	for (int i = 0; i < GORT_MAX_PROCS && allp[i]; i++)
		n += atomic_load_explicit(&allp[i]->gcreated, memory_order_relaxed) -
		     atomic_load_explicit(&allp[i]->gexited, memory_order_relaxed);
	unlock(&sched.lock);
	/* The counts move while they are summed: a goroutine created on a P
	 * already read may exit on one read later. Like Go's gcount, clamp
	 * what cannot be (the caller adds itself: gort_numgoroutine). */
	return n < 0 ? 0 : n;
}

GORT_API int64_t gort_numgoroutine(void)
{
	if (getg()) {
		int64_t n = numgoroutine(); /* teardown waits for every goroutine */
		return n < 1 ? 1 : n;       /* at least the caller */
	}
	/* A thread that is not a goroutine: hold off teardown, which frees
	 * the Ps and clears sched (its lock included) under us otherwise. */
	foreign_enter();
	int64_t n = numgoroutine();
	foreign_exit();
	return n;
}
