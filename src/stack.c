/*
 * stack.c - goroutine stacks.
 *
 * A stack is plain anonymous memory from mmap: the kernel commits a page
 * only when it is first touched, so a 256 KiB stack costs the pages a
 * goroutine really uses. A G gets its stack when it first runs (g.c:
 * gstart_prepare), not when it is created, and gives it back when it
 * exits: spawning a million goroutines touches no stack memory, and a
 * spawn/exit cycle keeps reusing the same few hot stacks.
 *
 * Layout. Stacks of the pool size (the default size when the runtime
 * started) are carved from chunks of CHUNK_SLOTS slots; each slot is a
 * guard region followed by the usable stack:
 *
 *     chunk: | guard | stack 0 | guard | stack 1 | ... | guard | stack 63 |
 *              lo-GUARD  lo   hi
 *
 * Other sizes get a mapping of their own with the same layout. A chunk is
 * one mapping, so a million stacks need ~16,000 mappings, well below the
 * kernel's vm.max_map_count (65,530 by default). That rules out the usual
 * guard made with mprotect(PROT_NONE): it splits the mapping, costing two
 * mappings per stack, so at most ~32,000 stacks could have one. A chunk
 * is also at most CHUNK_MAX_BYTES of address space (fewer slots when
 * stacks are large, at least one): with a 256 MiB default stack, 64 slots
 * would make the first goroutine reserve 16 GiB, which a limit on the
 * address space (RLIMIT_AS) or strict overcommit refuses. Chunks of large
 * stacks still fill 256 MiB, so the mapping limit is met only past 16 TiB
 * of them.
 *
 * How overflow is still caught: the guard is installed with
 * madvise(MADV_GUARD_INSTALL) (Linux 6.13+), which marks the pages in the
 * page tables without splitting the mapping; any access faults, and the
 * SIGSEGV handler (signal.c), running on the M's alternate signal stack,
 * sees a fault inside the current goroutine's guard and reports
 * "fatal error: stack overflow" with the goroutine id. The guard is
 * GUARD_SIZE (64 KiB), so a frame would have to skip 64 KiB without
 * touching it to jump over. On older kernels the guard is made with
 * mprotect while fewer than MPROTECT_GUARD_BUDGET stacks have one; past
 * that, a stack gets a canary word at its lowest address instead, checked
 * every time its goroutine switches out or exits (sched.c), so an
 * overflow is reported at the goroutine's next runtime call.
 *
 * Reuse. Freed pool-size stacks go to the P's cache (STACK_CACHE_MAX,
 * LIFO, no lock, still hot in cache). When the cache is full, half of it
 * moves to the global pool. A stack entering the global pool gives back
 * to the kernel (MADV_DONTNEED) every page below its top KEEP_SIZE bytes
 * if it was used below them, so a burst of deep stacks does not stay
 * resident. How deep a stack was used is the lowest stack pointer seen
 * each time its goroutines switched out (stack_track): free to keep, but
 * blind to a deep call that returned before its goroutine ever switched
 * out; such pages stay with the stack until a later user switches out
 * deep. Doing it unconditionally would cost a system call (~10 µs here)
 * per exiting goroutine; mincore to look first costs one as well.
 * Chunks are unmapped only at teardown. Guard markers survive
 * MADV_DONTNEED.
 *
 * Locking: stackpool.lock protects the global free list and the chunk
 * list; nothing is taken under it. It may be taken while holding
 * sched.lock (procresize releases P caches). A direct switch (gopark,
 * gosched) that holds a lock across it prepares a fresh G only when its
 * stack comes from the P's cache (stackcached); otherwise the G is
 * prepared on g0 with no lock held, so no page fault, system call or
 * stack-pool wait happens under a channel, semaphore or sched lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

enum {
	GUARD_SIZE = 64 * 1024,
	KEEP_SIZE = 16 * 1024,
	CHUNK_SLOTS = 64,
	CHUNK_MAX_BYTES = 256 << 20,
	MPROTECT_GUARD_BUDGET = 16384
};

#define STACK_CANARY 0x676f72745f737461ull /* "gort_sta" */

typedef struct stackchunk {
	struct stackchunk *next;
	char *base;
	size_t len;
	uint32_t used;
} stackchunk;

static struct {
	mutex lock;
	stack *free;            /* global pool of pool-size stacks */
	size_t nfree, capfree;
	stackchunk *chunks;
	int guardmode;          /* 0 unknown, 1 madvise, 2 mprotect fallback */
	int64_t nmprotect;      /* guards made with mprotect */
} stackpool;

size_t stackpool_size;
size_t stack_default = GORT_STACK_DEFAULT;

size_t stack_guard_size(void)
{
	return GUARD_SIZE;
}

/* A requested stack size rounded up to whole pages: with the guard
 * (a multiple of every page size) in front, each slot of a chunk then
 * starts on a page boundary, as madvise and mprotect require. */
size_t stack_round(size_t size)
{
	size_t pg = physpagesize();
	return (size + pg - 1) & ~(pg - 1);
}

void stack_init(size_t poolsize)
{
	stackpool_size = poolsize;
}

static size_t slot_size(void)
{
	return GUARD_SIZE + stackpool_size;
}

/* Whether the kernel refuses to read the page at addr: a write(2) from
 * it into a pipe fails with EFAULT instead of raising a signal. Used once,
 * to make sure MADV_GUARD_INSTALL really guards (an emulator such as
 * qemu-user accepts the call and does nothing). */
static bool unreadable(const void *addr)
{
	int fds[2];
	if (pipe(fds) != 0)
		return false;
	bool fault = write(fds[1], addr, 1) < 0 && errno == EFAULT;
	close(fds[0]);
	close(fds[1]);
	return fault;
}

/* Protect [lo - GUARD_SIZE, lo). Returns false when the stack has to rely
 * on its canary instead; *mprot says the guard was made with mprotect and
 * holds a place in the budget until the stack is unmapped. */
static bool guard_install(uintptr_t lo, bool *mprot)
{
	void *guard = (void *)(lo - GUARD_SIZE);
	*mprot = false;
	int mode = __atomic_load_n(&stackpool.guardmode, __ATOMIC_RELAXED);
	if (mode != 2) {
		if (madvise(guard, GUARD_SIZE, MADV_GUARD_INSTALL) == 0) {
			if (mode == 1 || unreadable(guard)) {
				__atomic_store_n(&stackpool.guardmode, 1, __ATOMIC_RELAXED);
				return true;
			}
		} else if (errno != EINVAL) {
			return false;
		}
		__atomic_store_n(&stackpool.guardmode, 2, __ATOMIC_RELAXED);
	}
	if (__atomic_fetch_add(&stackpool.nmprotect, 1, __ATOMIC_RELAXED) < MPROTECT_GUARD_BUDGET &&
	    mprotect(guard, GUARD_SIZE, PROT_NONE) == 0) {
		*mprot = true;
		return true;
	}
	/* No guard: the place goes back. */
	__atomic_fetch_sub(&stackpool.nmprotect, 1, __ATOMIC_RELAXED);
	return false;
}

static void canary_set(stack *stk)
{
	*(uint64_t *)stk->lo = STACK_CANARY;
	stk->canary = true;
}

bool stack_canary_ok(const stack *stk)
{
	return !stk->canary || *(const uint64_t *)stk->lo == STACK_CANARY;
}

/* Slots per chunk: CHUNK_SLOTS, fewer when they would take more than
 * CHUNK_MAX_BYTES, at least one. */
static size_t chunk_slots(void)
{
	size_t n = CHUNK_MAX_BYTES / slot_size();
	return n < 1 ? 1 : n > CHUNK_SLOTS ? CHUNK_SLOTS : n;
}

/* A fresh slot from the current chunk, or a new chunk. pool lock held. */
static bool carve_locked(stack *out)
{
	stackchunk *c = stackpool.chunks;
	if (!c || c->used == chunk_slots()) {
		c = malloc(sizeof *c);
		if (!c)
			return false;
		c->len = chunk_slots() * slot_size();
		c->base = sysalloc(c->len);
		if (!c->base) {
			free(c);
			return false;
		}
		c->used = 0;
		c->next = stackpool.chunks;
		stackpool.chunks = c;
	}
	uintptr_t slot = (uintptr_t)c->base + (size_t)c->used++ * slot_size();
	out->lo = slot + GUARD_SIZE;
	out->size = (uint32_t)stackpool_size;
	out->canary = false;
	out->deep = false;
	out->mprot = false;
	return true;
}

static bool pool_get(stack *out, bool *fresh)
{
	lock(&stackpool.lock);
	bool ok = true;
	*fresh = false;
	if (stackpool.nfree > 0) {
		*out = stackpool.free[--stackpool.nfree];
	} else {
		ok = carve_locked(out);
		*fresh = ok;
	}
	unlock(&stackpool.lock);
	return ok;
}

/* Give pages below the top KEEP_SIZE bytes back to the kernel, if the
 * stack was used down there. */
static void release_pages(stack *stk)
{
	if (!stk->deep)
		return;
	stk->deep = false;
	size_t pg = physpagesize();
	/* Keep the bottom page when it holds the canary, and every page that
	 * reaches into the top KEEP_SIZE bytes. */
	uintptr_t from = stk->lo + (stk->canary ? pg : 0);
	uintptr_t to = (stack_hi(stk) - KEEP_SIZE) & ~(uintptr_t)(pg - 1);
	if (to > from)
		madvise((void *)from, to - from, MADV_DONTNEED);
}

static void pool_put(stack *stks, size_t n)
{
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		release_pages(&stks[i]);
	lock(&stackpool.lock);
	if (stackpool.nfree + n > stackpool.capfree) {
		size_t cap = stackpool.capfree ? stackpool.capfree * 2 : 256;
		while (cap < stackpool.nfree + n)
			cap *= 2;
		stack *nf = realloc(stackpool.free, cap * sizeof *nf);
		if (!nf) {
			/* Out of memory for the free list: the stacks stay mapped
			 * but unused until teardown; nothing is corrupted. */
			unlock(&stackpool.lock);
			return;
		}
		stackpool.free = nf;
		stackpool.capfree = cap;
	}
	memcpy(stackpool.free + stackpool.nfree, stks, n * sizeof *stks);
	stackpool.nfree += n;
	unlock(&stackpool.lock);
}

static bool alloc_own(size_t size, stack *out)
{
	char *base = sysalloc(GUARD_SIZE + size);
	if (!base)
		return false;
	out->lo = (uintptr_t)base + GUARD_SIZE;
	out->size = (uint32_t)size;
	out->canary = false;
	out->deep = false;
	if (!guard_install(out->lo, &out->mprot))
		canary_set(out);
	return true;
}

bool stackalloc(p *pp, size_t size, stack *out)
{
	if (size != stackpool_size)
		return alloc_own(size, out);
	if (pp && pp->nstackcache > 0) {
		*out = pp->stackcache[--pp->nstackcache];
		return true;
	}
	bool fresh;
	if (!pool_get(out, &fresh))
		return false;
	if (fresh && !guard_install(out->lo, &out->mprot))
		canary_set(out);
	return true;
}

/* Whether stackalloc(pp, size) would take a stack from pp's cache: no
 * lock, no system call, and a top page that was used before. */
bool stackcached(p *pp, size_t size)
{
	return size == stackpool_size && pp && pp->nstackcache > 0;
}

/* lowsp: the lowest stack pointer its goroutine was seen at. */
void stackfree(p *pp, stack stk, uintptr_t lowsp)
{
	if (stk.size != stackpool_size) {
		munmap((void *)(stk.lo - GUARD_SIZE), GUARD_SIZE + stk.size);
		/* Its guard went with the mapping: another stack may have one. */
		if (stk.mprot)
			__atomic_fetch_sub(&stackpool.nmprotect, 1, __ATOMIC_RELAXED);
		return;
	}
	if (lowsp && lowsp < stack_hi(&stk) - KEEP_SIZE)
		stk.deep = true;
	if (pp) {
		if (pp->nstackcache == STACK_CACHE_MAX) {
			pp->nstackcache = STACK_CACHE_MAX / 2;
			pool_put(pp->stackcache + pp->nstackcache, STACK_CACHE_MAX / 2);
		}
		pp->stackcache[pp->nstackcache++] = stk;
		return;
	}
	pool_put(&stk, 1);
}

void stackcache_release(p *pp)
{
	pool_put(pp->stackcache, (size_t)pp->nstackcache);
	pp->nstackcache = 0;
}

void stack_teardown(void)
{
	stackchunk *c = stackpool.chunks;
	while (c) {
		stackchunk *next = c->next;
		sysfree(c->base, c->len);
		free(c);
		c = next;
	}
	free(stackpool.free);
	memset(&stackpool, 0, sizeof stackpool);
}
