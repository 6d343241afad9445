/*
 * trace.c - the execution tracer and the flight recorder (Go's
 * runtime/trace and trace.FlightRecorder). The file format is in
 * trace_format.h; the hooks the scheduler calls are in trace.h.
 *
 * Buffers. Every thread that emits (an M, sysmon, a foreign thread that
 * readies a goroutine) gets its own tthread, found through a __thread
 * pointer and registered once in a global list (threads.lock). A tthread
 * holds the thread's staging buffer (tbuf, TBUF_SIZE bytes), which
 * begins with an EvBatch event; events go into it with no lock and no
 * locked instruction. The staging buffer is the thread's for the whole
 * trace (allocated at the thread's first event, freed when the trace or
 * the recorder stops): a full one is copied into a free tbuf with
 * streaming stores (memcpy_stream, arch/<arch>/memstream.h), and the
 * copy is handed over under trace.lock (taken for the lists only).
 * So events are always written to the same 32 KiB, which stays in the
 * core's cache, and the copy neither reads the handed-over memory into
 * the cache first nor evicts the scheduler's working set. Events written
 * straight into the buffers that are handed over (and come back cold
 * from the writer thread's core) made the scheduler's locked
 * instructions, which wait for the stores before them, measurably slower:
 * skynet at GOMAXPROCS=1 traced cost about 4% more (docs/BENCHMARKS.md).
 * The copy is handed over:
 *  - to the writer thread (a plain pthread, not an M), which writes it to
 *    the file (gort_trace_start), or
 *  - to the ring of the flight recorder (gort_trace_flight_start), which
 *    keeps the newest buffers totalling at most about `bytes` (at least
 *    one) and recycles the oldest; a buffer handed over less than half
 *    full (by a dump, or a thread that ends) is kept in a copy cut to its
 *    length (handover).
 * A tthread outlives its thread: when the thread ends, a key destructor
 * hands its events over and marks the tthread free for the next thread
 * that registers. tthreads are never freed, so stop and dump may walk
 * the list at any time; their staging buffers are freed by stop, which
 * owns every buffer once emission is quiesced (below). t->gen names the
 * session whose events the staging buffer holds; 0 (no session: sessions
 * count from 1) or an older session means it holds none.
 *
 * Emitting, and why stop is safe. trace_enabled is TRACE_OFF, TRACE_ON or
 * TRACE_PAUSED. An emitter stores t->busy = 1, then reads trace_enabled;
 * it writes only if it reads TRACE_ON, and stores busy = 0 (release) when
 * done. Stop stores TRACE_OFF, then makes every thread of the process
 * execute a full barrier (membarrier(2), private expedited), then waits
 * for every tthread's busy to read 0 (acquire). After the barrier each
 * emitter either has its busy = 1 visible to stop, or reads TRACE_OFF:
 * so once every busy reads 0, no emitter is inside a buffer and none will
 * enter one, and stop owns every buffer. The barrier is what spares the
 * emitter a fence of its own (the StoreLoad order Dekker's pattern
 * needs); where membarrier is not available emitters fence instead
 * (trace_fence). A flight dump does the same with TRACE_PAUSED: emitters
 * that arrive meanwhile wait (yielding) for TRACE_ON instead of dropping
 * their event, so a dump loses nothing; the pause lasts while the dump
 * moves the partial buffers into the ring and copies the ring (memcpy).
 * An emission interrupted by a signal whose handler emits (the preemption
 * handler entering SYSCALL_DETACHED) would nest in the same buffer: the
 * nested one is dropped (t->busy is already set), and a handler never
 * allocates nor takes a lock (traceev_sig): the ordinary path keeps room
 * for a handler's events (SIG_EVENTS), and a buffer handed over by a
 * dump stays the thread's, where the handler begins a new batch.
 *
 * Timestamps: nanotime() (CLOCK_MONOTONIC), as the format says, read
 * through the CPU's tick counter (see "the clock" below), written in
 * units of 2^TRACE_UNIT ns; each event carries the delta from the
 * previous one of its batch, in its type byte when it is small.
 *
 * Registers. A batch's P, G and last goroutine id (the format's P, G and
 * L) are mirrored in the tthread (curp, curg, lastgid) and reset with
 * every new buffer, so every buffer decodes on its own. The hooks pass
 * every argument explicitly; emit() leaves out what the registers imply
 * and writes an EvSetP / EvSetG first where a value differs, so the file
 * says exactly what the hooks said whatever the scheduler does.
 *
 * Sequence numbers (the format's seq) are g->traceseq, written only
 * while tracing, by the goroutine's current owner or the one readying
 * it. A trace's snapshot sets them to 1, GoCreate to 0; they are 32 bits
 * and wrap after 2^32 starts of one goroutine within one trace.
 *
 * Strings: the wait reasons are ids 1 .. waitReasonCount-1 (id = the
 * reason's value, so GoBlock needs no look-up); goroutine names are
 * interned under strtab.lock as they are created (at most STR_MAX; names
 * past that are written as 0, no name), and so are creation sites (name
 * id, pc; at most SITE_MAX, then 0: no site), both in an itab (an array
 * by id and an open-addressing hash of the ids). The tables go into the
 * file as its last batch (tid 0, mid -1).
 *
 * Snapshot. gort_trace_start stops the world (on a goroutine: it asks
 * one when called from another thread), turns tracing on and writes
 * Gomaxprocs, ProcStart of its own P, then GoCreate and the state of
 * every goroutine. The flight recorder writes no goroutine snapshot (its
 * head is lost anyway): a dump begins with Gomaxprocs and the reader
 * takes goroutines it has not seen created as existing from the start.
 *
 * Lifetime. Tracing covers one gort_main run: starting outside a run
 * fails with ESRCH, and the end of a run (teardown, once every M has
 * stopped) stops a running trace, flushing it, or the flight recorder.
 * Stop or dump without a running trace / recorder: -1 ENOENT. A write
 * error of the writer thread is reported by gort_trace_stop (-1 with its
 * errno); the trace then ends where the error happened.
 *
 * Locks: ctl (an atomic flag, yielding) serialises start, stop and dump;
 * trace.lock protects the hand-over lists, the ring and the free
 * buffers; strtab.lock the strings; threads.lock the tthread list. All
 * three mutexes are leaves: taken with runtime locks held, never the
 * other way round, and never held across a goroutine switch. They count
 * in mlocks while held (leaf_lock), so that the preemption handler
 * leaves their holder alone: a hand-off takes sched.lock, which
 * procresize holds while it takes trace.lock. snaplock
 * (tracesnap_lock, trace.h) orders a start's snapshot with the state
 * changes of threads without a P; the other three are taken under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cputicks.h"
#include "memstream.h"
#include "trace.h"

/* The tracer's mutexes and tracesnap_lock's, counted as runtime locks
 * (above). */
static void leaf_lock(pthread_mutex_t *mu)
{
	mlocks_raise();
	pthread_mutex_lock(mu);
}

static void leaf_unlock(pthread_mutex_t *mu)
{
	pthread_mutex_unlock(mu);
	mlocks_lower();
}

enum { TRACE_OFF, TRACE_ON, TRACE_PAUSED };
enum { MODE_NONE, MODE_FILE, MODE_FLIGHT };
enum {
	TBUF_SIZE = 32 << 10,
	WRITER_BATCH = 8,    /* full buffers that wake the writer */
	WRITER_POLL_MS = 10, /* how often it looks without being woken */
	PROCS_HIST = 32,     /* GOMAXPROCS changes a flight dump can say */
	/* EvSetP, EvSetG, then type, dt and the arguments (worst case) */
	EV_MAX = 2 * 11 + 1 + 10 + 10 * TRACE_MAX_ARGS,
	/* The most events one signal handler writes: a hand-off's
	 * GoSysCall and ProcStop, and GoSysBlock if a stop of the world
	 * takes the P at once (entersyscall_gcwait). */
	SIG_EVENTS = 3,
	STR_MAX = 1 << 16,   /* names interned per trace */
	SITE_MAX = 1 << 16,  /* creation sites interned per trace */
};

_Atomic uint32_t trace_enabled;
__thread uint8_t trace_intimer __attribute__((tls_model("initial-exec")));

typedef struct tbuf {
	struct tbuf *next;
	size_t len;
	size_t cap;        /* bytes of data: TBUF_SIZE, or a cut copy's len (handover) */
	_Alignas(16) uint8_t data[]; /* memcpy_stream: 16-byte aligned */
} tbuf;

typedef struct tthread {
	/* What every emission of the thread reads and writes, in one cache
	 * line of its own (the struct is aligned to one): another thread's
	 * tthread next to it in the heap would otherwise share a line that
	 * both write on every event. */
	_Atomic uint32_t busy; /* inside an emission (see the top) */
	_Atomic uint32_t gen;  /* the session buf belongs to */
	tbuf *buf;             /* the staging buffer (see the top) */
	int64_t lastts;        /* ns; the file has lastts >> TRACE_UNIT */
	/* The registers of buf's batch (see the top). */
	uint64_t curp, curg, lastgid;
	int64_t anchorns;      /* nanotime() at anchortk (see "the clock") */
	uint64_t anchortk;

	uint32_t lastgen;      /* the session of lastts */
	bool free;             /* its thread ended (threads.lock) */
	struct tthread *alllink;
	/* The name of the last entry function seen, and the site of the
	 * last unnamed goroutine created (gosite). */
	uintptr_t namepc;
	uint32_t nameid;
	uint32_t namegen;
	uintptr_t sitefn, sitepc;
	uint32_t siteid;
	uint32_t sitegen;
} __attribute__((aligned(CACHE_LINE))) tthread;
_Static_assert(offsetof(tthread, lastgen) <= CACHE_LINE,
               "an emission's fields of tthread grew past a cache line");

static __thread tthread *tls_tt __attribute__((tls_model("initial-exec")));
static __thread bool tls_pausing; /* this thread pauses the tracer */

static struct {
	pthread_mutex_t lock;
	tthread *all;
	pthread_key_t key;
	bool membarrier; /* registered for MEMBARRIER_CMD_PRIVATE_EXPEDITED */
} threads = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static bool trace_fence; /* no membarrier: emitters fence themselves */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	_Atomic uint32_t gen;   /* current session, read by emitters */
	int mode;               /* MODE_* (ctl) */
	/* file mode: the writer thread's input */
	int fd;
	tbuf *full, *fulltail;
	bool writerstop;
	int nfull;             /* buffers on full */
	bool writerasleep;     /* waiting for WRITER_BATCH of them */
	int writeerr;
	pthread_t writer;
	/* flight mode: the ring, oldest first */
	tbuf *ring, *ringtail;
	size_t ringbytes, ringmax;
	tbuf *freebufs;
	/* flight mode: the last PROCS_HIST changes of GOMAXPROCS, oldest
	 * first (gort_trace_flight_dump's head) */
	struct procschange {
		int64_t ns;
		int32_t from, to;
	} procs[PROCS_HIST];
	int nprocs;
} trace = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* An interning table: items by id (ids 1 .. n-1; [0] unused) and an
 * open-addressing hash of their ids (0: an empty slot), kept at most half
 * full so that every probe ends. Both tables below are one of these. */
typedef struct itab {
	void *items;
	size_t size;       /* bytes of an item */
	uint32_t n, cap;   /* ids given (with [0]), items allocated */
	uint32_t *ht;
	uint32_t htcap;    /* a power of two */
	uint32_t (*hash)(const void *item);
} itab;

/* A creation site: the goroutine's name (a string id) and where it was
 * created. */
struct site {
	uint32_t name;
	uintptr_t pc;
};

static uint32_t str_hash(const void *item);
static uint32_t site_hash(const void *item);

static struct {
	pthread_mutex_t lock;
	itab strs;  /* char *: goroutine names and the wait reasons */
	itab sites; /* struct site */
} strtab = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.strs = {.size = sizeof(char *), .hash = str_hash},
	.sites = {.size = sizeof(struct site), .hash = site_hash},
};

static _Atomic uint32_t ctl;

/* ---- encoding ---- */

static inline uint8_t *putvarint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* An EvBatch: thread tid, its M (NULL: not an M), time ts in units. */
static uint8_t *putbatch(uint8_t *p, uint64_t tid, const m *mp, uint64_t ts)
{
	*p++ = EvBatch;
	p = putvarint(p, tid);
	p = putvarint(p, mp ? (uint64_t)mp->id + 1 : 0); /* an ID: -1 is 0 */
	return putvarint(p, ts);
}

/* The ts of the EvBatch a batch begins with. */
static uint64_t batch_ts(const uint8_t *b)
{
	const uint8_t *q = b + 1;
	for (int k = 0; k < 2; k++) /* tid, mid */
		while (*q++ & 0x80)
			;
	uint64_t v = 0;
	for (int sh = 0;; sh += 7) {
		v |= (uint64_t)(*q & 0x7f) << sh;
		if (!(*q++ & 0x80))
			return v;
	}
}

/* ---- the clock ---- */

/*
 * Timestamps are nanotime() values, as the format says, but reading the
 * clock for every event (a clock_gettime, 25-70 ns on a virtual machine)
 * is most of a trace's cost. So, like Go's tracer (cputicks), emitters
 * read the CPU's tick counter (arch/<arch>/cputicks.h) and convert: each
 * thread anchors a (nanotime, ticks) pair at the start of every buffer
 * and again once its ticks have moved on by a millisecond, and scales
 * ticks since its anchor by clk.mult. The rate is measured over 200 µs
 * at the start of a trace, refined at every anchor from the whole time
 * since (so its error shrinks as the trace goes on), or read from the
 * hardware where it is exact (arm64). Extrapolating at most 1 ms at a
 * relative error of at most 5e-4 (and soon far less) keeps a timestamp
 * within 0.5 µs of the clock; every event of a batch is at or after the
 * one before. Without a usable counter (no invariant TSC) emitters read
 * nanotime().
 *
 * Every pair is read as ticks, clock, ticks (clock_pair), and kept only
 * when the two counter reads lie close: a thread preempted, or a virtual
 * CPU descheduled, between the two reads of a plain pair (one read in
 * 10^4 to 10^5 on a loaded virtual machine, for 10 µs to milliseconds)
 * would shift every timestamp its thread extrapolates from it by the
 * time it was away, and, as a refinement, the rate of every thread.
 * Events of different threads then came out of order: a goroutine's
 * start before the unblock that made it runnable.
 */
static struct {
	bool ticks;              /* cputicks usable */
	bool refine;             /* the rate was measured, not read */
	int64_t ns0;             /* origin of the rate measurement */
	uint64_t tk0;
	uint64_t maxdelta;       /* ticks between anchors (~1 ms) */
	uint64_t tight;          /* a pair read within this many ticks (~1 µs) */
	_Atomic uint64_t mult;   /* ns per tick, 32.32 fixed point */
} clk;

void (*_Atomic trace_clock_hook)(void);

/* One try of clock_pair: the clock read between two counter reads, the
 * ticks taken halfway; returns the width between the counter reads. */
static uint64_t clock_try(int64_t *ns, uint64_t *tk)
{
	uint64_t a = cputicks();
	*ns = nanotime();
	void (*hook)(void) = atomic_load_explicit(&trace_clock_hook, memory_order_relaxed);
	if (unlikely(hook != NULL))
		hook();
	uint64_t b = cputicks();
	uint64_t w = b >= a ? b - a : UINT64_MAX - 1;
	*tk = a + w / 2;
	return w;
}

/* A (nanotime, ticks) pair: of up to `tries` tries (at least one), the
 * one whose counter reads lay closest; stops at a try within `enough`
 * ticks. Returns the kept try's width. */
static uint64_t clock_pair(int tries, uint64_t enough, int64_t *ns, uint64_t *tk)
{
	uint64_t best = clock_try(ns, tk);
	for (int i = 1; i < tries && best > enough; i++) {
		int64_t n;
		uint64_t k;
		uint64_t w = clock_try(&n, &k);
		if (w < best) {
			best = w;
			*ns = n;
			*tk = k;
		}
	}
	return best;
}

enum {
	CLOCK_INIT_TRIES = 8,   /* once per trace: the closest of 8 pairs */
	CLOCK_ANCHOR_TRIES = 4, /* per anchor: the first tight pair of 4 */
};

static void clock_init(void)
{
	clk.ticks = cputicks_usable();
	if (!clk.ticks)
		return;
	uint64_t freq = cputicks_freq();
	clk.refine = freq == 0;
	uint64_t w = clock_pair(CLOCK_INIT_TRIES, 0, &clk.ns0, &clk.tk0);
	if (clk.refine) {
		int64_t n1;
		uint64_t t1;
		while (nanotime() - clk.ns0 < 200000)
			;
		clock_pair(CLOCK_INIT_TRIES, 0, &n1, &t1);
		if (t1 <= clk.tk0) {
			clk.ticks = false;
			return;
		}
		freq = (uint64_t)((double)(t1 - clk.tk0) * 1e9 / (double)(n1 - clk.ns0));
	}
	if (freq < 1000) {
		clk.ticks = false;
		return;
	}
	clk.maxdelta = freq / 1000;
	/* A microsecond, or twice the narrowest pair where the clock is a
	 * slow read (no vDSO), which would otherwise never count as tight. */
	clk.tight = freq / 1000000 > 2 * w ? freq / 1000000 : 2 * w;
	atomic_store_explicit(&clk.mult, (uint64_t)(1e9 * 4294967296.0 / (double)freq),
	                      memory_order_relaxed);
}

/* Anchor t's conversion at the clock now; returns nanotime(). Only a
 * tight pair refines the rate; a loose one (every try preempted) still
 * anchors, as the best this thread could read. */
static int64_t tthread_anchor(tthread *t)
{
	if (!clk.ticks)
		return nanotime();
	int64_t ns;
	uint64_t tk;
	uint64_t w = clock_pair(CLOCK_ANCHOR_TRIES, clk.tight, &ns, &tk);
	t->anchorns = ns;
	t->anchortk = tk;
	if (clk.refine && w <= clk.tight && ns - clk.ns0 > 10000000 && tk > clk.tk0)
		atomic_store_explicit(&clk.mult,
		                      (uint64_t)(((unsigned __int128)(ns - clk.ns0) << 32) /
		                                 (tk - clk.tk0)),
		                      memory_order_relaxed);
	return ns;
}

static inline int64_t tthread_now(tthread *t)
{
	if (unlikely(!clk.ticks))
		return nanotime();
	uint64_t d = cputicks() - t->anchortk;
	if (unlikely(d > clk.maxdelta)) /* also a counter behind the anchor */
		return tthread_anchor(t);
	return t->anchorns +
	       (int64_t)((d * atomic_load_explicit(&clk.mult, memory_order_relaxed)) >> 32);
}

/* ---- threads ---- */

static void tthread_exit(void *arg);

static void threads_init(void)
{
	pthread_key_create(&threads.key, tthread_exit);
	threads.membarrier =
	        syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	trace_fence = !threads.membarrier;
}

static tthread *tthread_register(void)
{
	pthread_once(&threads_once, threads_init);
	leaf_lock(&threads.lock);
	tthread *t;
	for (t = threads.all; t && !t->free; t = t->alllink)
		;
	if (t) {
		t->free = false;
	} else if ((t = aligned_alloc(CACHE_LINE, sizeof *t)) != NULL) {
		memset(t, 0, sizeof *t);
		t->alllink = threads.all;
		threads.all = t;
	}
	leaf_unlock(&threads.lock);
	if (t) {
		pthread_setspecific(threads.key, t);
		tls_tt = t;
	}
	return t;
}

/* Under TSan (which has no fences) both sides use seq_cst operations
 * instead: correct, and slower, which does not matter there. */
#if GORT_TSAN
#define FULL_FENCE() ((void)0)
#define SC_STORE_BUSY memory_order_seq_cst
#define ENABLED_LOAD memory_order_seq_cst
#else
#define ENABLED_LOAD memory_order_acquire
#define FULL_FENCE() atomic_thread_fence(memory_order_seq_cst)
#define SC_STORE_BUSY memory_order_relaxed
#endif

/* Make every thread's busy = 1 store visible before our next load (see
 * the top of the file). */
static void barrier_all(void)
{
	if (threads.membarrier)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	FULL_FENCE();
}

/* Enter an emission: false if tracing is off (or this thread is already
 * emitting, in a signal handler). */
static inline bool emit_begin(tthread *t)
{
	if (atomic_load_explicit(&t->busy, memory_order_relaxed))
		return false;
	for (;;) {
		atomic_store_explicit(&t->busy, 1, SC_STORE_BUSY);
		if (unlikely(trace_fence))
			FULL_FENCE();
		else
			atomic_signal_fence(memory_order_seq_cst);
		uint32_t s = atomic_load_explicit(&trace_enabled, ENABLED_LOAD);
		if (likely(s == TRACE_ON))
			return true;
		atomic_store_explicit(&t->busy, 0, memory_order_release);
		if (s != TRACE_PAUSED || tls_pausing)
			return false;
		while (atomic_load_explicit(&trace_enabled, memory_order_acquire) == TRACE_PAUSED)
			sched_yield();
	}
}

static inline void emit_end(tthread *t)
{
	atomic_store_explicit(&t->busy, 0, memory_order_release);
}

/* ---- buffers (trace.lock held) ---- */

/* A tbuf with room for cap bytes of events; NULL without memory. */
static tbuf *tbuf_alloc(size_t cap)
{
	tbuf *b = malloc(offsetof(tbuf, data) + cap);
	if (b)
		b->cap = cap;
	return b;
}

/* The memory b holds, as the ring counts it. */
static size_t tbuf_bytes(const tbuf *b)
{
	return offsetof(tbuf, data) + b->cap;
}

/* Retire b: to the writer, or to the ring, whose oldest buffers it then
 * drops past ringmax. Returns the dropped buffers that are not of full
 * size (linked by next), for the caller to free once it has let go of
 * trace.lock; full-size ones go to freebufs for the next copy. */
static tbuf *retire_locked(tbuf *b)
{
	b->next = NULL;
	if (trace.mode == MODE_FILE) {
		if (trace.fulltail)
			trace.fulltail->next = b;
		else
			trace.full = b;
		trace.fulltail = b;
		/* Waking a sleeping thread is a system call and, on a virtual
		 * machine, an interrupt to another CPU: tens of µs, paid by the
		 * emitter. So the writer is woken for a batch of buffers, and
		 * otherwise collects what waits every WRITER_POLL_MS. */
		if (++trace.nfull >= WRITER_BATCH && trace.writerasleep)
			pthread_cond_signal(&trace.cond);
		return NULL;
	}
	if (trace.ringtail)
		trace.ringtail->next = b;
	else
		trace.ring = b;
	trace.ringtail = b;
	trace.ringbytes += tbuf_bytes(b);
	tbuf *drop = NULL;
	while (trace.ringbytes > trace.ringmax && trace.ring != trace.ringtail) {
		tbuf *old = trace.ring;
		trace.ring = old->next;
		trace.ringbytes -= tbuf_bytes(old);
		if (old->cap == TBUF_SIZE) {
			old->next = trace.freebufs;
			trace.freebufs = old;
		} else {
			old->next = drop;
			drop = old;
		}
	}
	return drop;
}

static void freebufs_locked(void)
{
	while (trace.freebufs) {
		tbuf *b = trace.freebufs;
		trace.freebufs = b->next;
		free(b);
	}
}

/* Whether t's staging buffer holds events of session gen. */
static bool staged(tthread *t, uint32_t gen)
{
	return t->buf && atomic_load_explicit(&t->gen, memory_order_relaxed) == gen;
}

/* Hand a copy of t's staging buffer over and empty it. trace.lock is
 * held only to take a free tbuf and to retire the copy, not across the
 * copy, a malloc or a free: every thread hands over through it, and so
 * does the writer thread collect. Without memory for the copy its events
 * are lost, as an emitter's are when it can get no buffer.
 *
 * The ring keeps what it is given until its bytes pass ringmax, and a
 * dump or an ending thread hands over buffers far from full: in a
 * full-size copy, a ring of a few hundred KiB held 32 KiB for every
 * few bytes of them, and a program that dumped often grew by megabytes
 * a second with the ring never full. So the recorder's copy of a buffer
 * less than half full is cut to its length, and the ring counts the
 * memory each copy holds: what the ring keeps stays within about
 * ringmax. */
static void handover(tthread *t)
{
	size_t len = t->buf->len;
	leaf_lock(&trace.lock);
	bool cut = trace.mode == MODE_FLIGHT && len < TBUF_SIZE / 2;
	tbuf *b = cut ? NULL : trace.freebufs;
	if (b)
		trace.freebufs = b->next;
	leaf_unlock(&trace.lock);
	if (!b)
		b = tbuf_alloc(cut ? len : TBUF_SIZE);
	if (b) {
		b->len = len;
		memcpy_stream(b->data, t->buf->data, len);
		leaf_lock(&trace.lock);
		tbuf *drop = retire_locked(b);
		leaf_unlock(&trace.lock);
		while (drop) {
			tbuf *next = drop->next;
			free(drop);
			drop = next;
		}
	}
	atomic_store_explicit(&t->gen, 0, memory_order_relaxed);
}

/* Start a new batch in t's staging buffer with its EvBatch, handing the
 * events it holds over first. */
static bool tbuf_next(tthread *t, uint32_t gen)
{
	bool cont = staged(t, gen);
	if (cont)
		handover(t);
	else if (!t->buf && !(t->buf = tbuf_alloc(TBUF_SIZE)))
		return false;
	tbuf *b = t->buf;
	int64_t now = tthread_anchor(t);
	/* The thread's events stay in order through a session: from batch
	 * to batch, and across a flight dump, whose hand-over ended the
	 * last one (a new anchor may be a little behind the estimate). */
	if (t->lastgen == gen && now < t->lastts)
		now = t->lastts;
	uint8_t *p = putbatch(b->data, (uint64_t)gettid_(), tls_m, (uint64_t)now >> TRACE_UNIT);
	b->len = (size_t)(p - b->data);
	t->lastts = now;
	t->lastgen = gen;
	t->curp = UINT64_MAX; /* the registers as EvBatch sets them */
	t->curg = 0;
	t->lastgid = 0;
	atomic_store_explicit(&t->gen, gen, memory_order_relaxed);
	return true;
}

/* Most values (ids of busy Ps, small deltas) fit in one byte. */
static inline uint8_t *putarg(uint8_t *p, uint64_t v)
{
	if (likely(v < 0x80)) {
		*p = (uint8_t)v;
		return p + 1;
	}
	return putvarint(p, v);
}

static inline void emit(tthread *t, bool fresh, uint8_t ev, uint64_t a0, uint64_t a1,
                        uint64_t a2, uint64_t a3)
{
	const uint64_t a[TRACE_MAX_ARGS] = {a0, a1, a2, a3};
	const unsigned char *k = trace_ev_args[ev];
	tbuf *buf = t->buf;
	uint8_t *p = buf->data + buf->len;
	/* The registers the event's implicit arguments need. */
	for (int i = 0; i < TRACE_MAX_ARGS && k[i] != TA_END; i++) {
		if (k[i] == TA_P && a[i] != t->curp) {
			*p++ = EvSetP;
			p = putarg(p, a[i] + 1);
			t->curp = a[i];
		} else if (k[i] == TA_G && a[i] != t->curg) {
			*p++ = EvSetG;
			p = putarg(p, a[i]);
			t->curg = a[i];
		}
	}
	int64_t now = fresh ? tthread_now(t) : t->lastts;
	if (now < t->lastts)
		now = t->lastts; /* a new anchor a little behind the estimate */
	/* In units, from the last one written, so rounding never adds up. */
	uint64_t dt = ((uint64_t)now >> TRACE_UNIT) - ((uint64_t)t->lastts >> TRACE_UNIT);
	t->lastts = now;
	if (likely(dt < TRACE_DTC_VARINT)) {
		*p++ = (uint8_t)(ev | dt << TRACE_DTC_SHIFT);
	} else {
		*p++ = (uint8_t)(ev | TRACE_DTC_VARINT << TRACE_DTC_SHIFT);
		p = putvarint(p, dt);
	}
	for (int i = 0; i < TRACE_MAX_ARGS && k[i] != TA_END; i++) {
		switch (k[i]) {
		case TA_U:
			p = putarg(p, a[i]);
			break;
		case TA_ID:
			p = putarg(p, a[i] + 1); /* -1 (none) is 0 */
			break;
		case TA_GID: {
			int64_t d = (int64_t)(a[i] - t->lastgid);
			t->lastgid = a[i];
			p = putarg(p, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
			break;
		}
		default:
			break; /* TA_P, TA_G: the registers */
		}
	}
	if (ev == EvGoStart)
		t->curg = a1;
	buf->len = (size_t)(p - buf->data);
}

static inline void traceev1(bool fresh, uint8_t ev, uint64_t a, uint64_t b, uint64_t c,
                            uint64_t d)
{
	tthread *t = tls_tt;
	if (unlikely(!t) && !(t = tthread_register()))
		return;
	if (!emit_begin(t))
		return;
	uint32_t gen = atomic_load_explicit(&trace.gen, memory_order_relaxed);
	/* Room for this event and a signal handler's (traceev_sig). */
	if (unlikely(!staged(t, gen) || TBUF_SIZE - t->buf->len < (1 + SIG_EVENTS) * EV_MAX) &&
	    !tbuf_next(t, gen)) {
		emit_end(t);
		return;
	}
	emit(t, fresh, ev, a, b, c, d);
	emit_end(t);
}

void traceev(uint8_t ev, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	traceev1(true, ev, a, b, c, d);
}

void traceev_samets(uint8_t ev, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	traceev1(false, ev, a, b, c, d);
}

/* The events traceev_sig could not write while a trace ran: each one
 * leaves the trace saying what did not happen (a P still running that
 * its M gave away). For tests. */
static _Atomic uint64_t sig_lost;

uint64_t trace_sig_lost(void)
{
	return atomic_load(&sig_lost);
}

/* A handler finds the buffer as the ordinary path left it: with room for
 * its events, or handed over (a flight dump hands every thread's over)
 * but still the thread's, where a new batch begins with no allocation
 * and no lock (tbuf_next hands nothing over when nothing is staged). */
void traceev_sig(uint8_t ev, uint64_t a, uint64_t b, uint64_t c)
{
	tthread *t = tls_tt;
	if (!t || !emit_begin(t)) {
		if (atomic_load_explicit(&trace_enabled, memory_order_relaxed) != TRACE_OFF)
			atomic_fetch_add_explicit(&sig_lost, 1, memory_order_relaxed);
		return;
	}
	uint32_t gen = atomic_load_explicit(&trace.gen, memory_order_relaxed);
	if (t->buf && !staged(t, gen))
		tbuf_next(t, gen);
	if (staged(t, gen) && TBUF_SIZE - t->buf->len >= EV_MAX)
		emit(t, true, ev, a, b, c, 0);
	else
		atomic_fetch_add_explicit(&sig_lost, 1, memory_order_relaxed);
	emit_end(t);
}

/* The thread ends: hand its buffer over, free its tthread. */
static void tthread_exit(void *arg)
{
	tthread *t = arg;
	if (emit_begin(t)) {
		if (staged(t, atomic_load_explicit(&trace.gen, memory_order_relaxed)))
			handover(t);
		emit_end(t);
	}
	tls_tt = NULL;
	leaf_lock(&threads.lock);
	t->free = true;
	leaf_unlock(&threads.lock);
}

/* ---- strings ---- */

static void *itab_at(itab *t, uint32_t id)
{
	return (char *)t->items + (size_t)id * t->size;
}

static void itab_free(itab *t)
{
	free(t->items);
	free(t->ht);
	t->items = NULL;
	t->ht = NULL;
	t->n = t->cap = t->htcap = 0;
}

/* Room for cap items, id 0 taken. */
static bool itab_init(itab *t, uint32_t cap)
{
	t->items = calloc(cap, t->size);
	t->ht = calloc(2 * (size_t)cap, sizeof *t->ht);
	t->cap = cap;
	t->htcap = 2 * cap;
	t->n = 1;
	return t->items && t->ht;
}

/* Where id goes in ht (of htcap slots) for an item of hash h. */
static uint32_t itab_slot(const uint32_t *ht, uint32_t htcap, uint32_t h)
{
	uint32_t j = h & (htcap - 1);
	while (ht[j])
		j = (j + 1) & (htcap - 1);
	return j;
}

/* Room for one more item, the hash still at most half full. */
static bool itab_grow(itab *t)
{
	if (t->n == t->cap) {
		void *ni = realloc(t->items, 2 * (size_t)t->cap * t->size);
		if (!ni)
			return false;
		t->items = ni;
		t->cap *= 2;
	}
	if (2 * t->n >= t->htcap) {
		uint32_t cap = 2 * t->htcap;
		uint32_t *ht = calloc(cap, sizeof *ht);
		if (!ht)
			return false;
		for (uint32_t i = 0; i < t->htcap; i++)
			if (t->ht[i])
				ht[itab_slot(ht, cap, t->hash(itab_at(t, t->ht[i])))] = t->ht[i];
		free(t->ht);
		t->ht = ht;
		t->htcap = cap;
	}
	return true;
}

/* The id of the item equal to key (eq), 0 if none; h is key's hash. */
static uint32_t itab_find(itab *t, uint32_t h, bool (*eq)(const void *item, const void *key),
                          const void *key)
{
	if (!t->ht)
		return 0;
	for (uint32_t j = h & (t->htcap - 1); t->ht[j]; j = (j + 1) & (t->htcap - 1))
		if (eq(itab_at(t, t->ht[j]), key))
			return t->ht[j];
	return 0;
}

/* Adds a copy of item (not in t; at most max ids): its id, or 0. */
static uint32_t itab_add(itab *t, const void *item, uint32_t max)
{
	if (!t->ht || t->n >= max || !itab_grow(t))
		return 0;
	uint32_t id = t->n++;
	memcpy(itab_at(t, id), item, t->size);
	t->ht[itab_slot(t->ht, t->htcap, t->hash(item))] = id;
	return id;
}

static const char *str_at(uint32_t id)
{
	return *(char **)itab_at(&strtab.strs, id);
}

static const struct site *site_at(uint32_t id)
{
	return itab_at(&strtab.sites, id);
}

static uint32_t strhash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static uint32_t str_hash(const void *item)
{
	return strhash(*(char *const *)item);
}

static bool str_eq(const void *item, const void *key)
{
	return strcmp(*(char *const *)item, key) == 0;
}

static uint32_t sitehash(uint32_t name, uintptr_t pc)
{
	uint64_t h = ((uint64_t)pc ^ ((uint64_t)name << 48)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

static uint32_t site_hash(const void *item)
{
	const struct site *st = item;
	return sitehash(st->name, st->pc);
}

static bool site_eq(const void *item, const void *key)
{
	const struct site *a = item, *b = key;
	return a->name == b->name && a->pc == b->pc;
}

static void strtab_reset(void)
{
	leaf_lock(&strtab.lock);
	for (uint32_t i = waitReasonCount; i < strtab.strs.n; i++)
		free((char *)str_at(i));
	itab_free(&strtab.strs);
	itab_free(&strtab.sites);
	leaf_unlock(&strtab.lock);
}

/* The wait reasons, ids 1 .. waitReasonCount-1 (static strings); no
 * site yet. */
static bool strtab_init(void)
{
	strtab_reset();
	leaf_lock(&strtab.lock);
	bool ok = itab_init(&strtab.strs, 256) && itab_init(&strtab.sites, 64);
	for (uint32_t i = 1; ok && i < waitReasonCount; i++) {
		const char *r = waitreason_strings[i] ? waitreason_strings[i] : "";
		ok = itab_add(&strtab.strs, &r, STR_MAX) == i;
	}
	leaf_unlock(&strtab.lock);
	return ok;
}

/* The id of goroutine name s, added if new; 0 when none can be given.
 * A name longer than the format's TRACE_STRING_MAX is interned (looked
 * up, too) cut to that length: looking the whole name up would never
 * find the cut copy, and every goroutine of that name would add another
 * until STR_MAX, after which names are lost. */
static uint32_t strtab_intern(const char *s)
{
	if (!s)
		return 0;
	char cut[TRACE_STRING_MAX + 1];
	size_t len = strnlen(s, TRACE_STRING_MAX + 1);
	if (len > TRACE_STRING_MAX) {
		len = TRACE_STRING_MAX;
		memcpy(cut, s, len);
		cut[len] = 0;
		s = cut;
	}
	leaf_lock(&strtab.lock);
	uint32_t id = itab_find(&strtab.strs, strhash(s), str_eq, s);
	if (!id && strtab.strs.ht && strtab.strs.n < STR_MAX) {
		char *c = malloc(len + 1);
		if (c) {
			memcpy(c, s, len);
			c[len] = 0;
			if (!(id = itab_add(&strtab.strs, &c, STR_MAX)))
				free(c);
		}
	}
	leaf_unlock(&strtab.lock);
	return id;
}

/* The id of site (name, pc), added if new; 0 when none can be given. */
static uint32_t site_intern(uint32_t name, uintptr_t pc)
{
	struct site key = {name, pc};
	leaf_lock(&strtab.lock);
	uint32_t id = itab_find(&strtab.sites, sitehash(name, pc), site_eq, &key);
	if (!id)
		id = itab_add(&strtab.sites, &key, SITE_MAX);
	leaf_unlock(&strtab.lock);
	return id;
}

/* The string and site tables as a batch (tid 0, mid -1), malloc'd; *len
 * its size. */
static uint8_t *strtab_batch(size_t *len)
{
	leaf_lock(&strtab.lock);
	size_t cap = 32 + (size_t)strtab.sites.n * (1 + 3 * 10);
	for (uint32_t i = 1; i < strtab.strs.n; i++)
		cap += 1 + 10 + 10 + strlen(str_at(i));
	uint8_t *buf = malloc(cap);
	if (buf) {
		uint8_t *p = putbatch(buf, 0, NULL, (uint64_t)nanotime() >> TRACE_UNIT);
		for (uint32_t i = 1; i < strtab.strs.n; i++) {
			size_t n = strlen(str_at(i));
			*p++ = EvString;
			p = putvarint(p, i);
			p = putvarint(p, n);
			memcpy(p, str_at(i), n);
			p += n;
		}
		for (uint32_t i = 1; i < strtab.sites.n; i++) {
			*p++ = EvSite;
			p = putvarint(p, i);
			p = putvarint(p, site_at(i)->name);
			p = putvarint(p, (uint64_t)site_at(i)->pc);
		}
		*len = (size_t)(p - buf);
	}
	leaf_unlock(&strtab.lock);
	return buf;
}

/* ---- hooks that need more than one event ---- */

/* The name a trace gives a goroutine: its gort_attr name, else its entry
 * function's symbol, as Go's traces name goroutines. A program starts
 * most goroutines from a few functions: each thread remembers the last
 * one, so that a spawn loop looks the symbol up once. */
static uint32_t goname(g *gp)
{
	if (gp->name)
		return strtab_intern(gp->name);
	tthread *t = tls_tt;
	uint32_t gen = atomic_load_explicit(&trace.gen, memory_order_relaxed);
	uintptr_t pc = (uintptr_t)gp->fn;
	if (t && t->namepc == pc && t->namegen == gen)
		return t->nameid;
	symbol sym;
	uint32_t id = symbolize(pc, &sym) && sym.name ? strtab_intern(sym.name) : 0;
	if (t) {
		t->namepc = pc;
		t->nameid = id;
		t->namegen = gen;
	}
	return id;
}

/* The site of gp: its name and where it was created. A spawn loop makes
 * goroutines of one site: each thread remembers the last unnamed one, so
 * that the loop takes no lock for it. */
static uint32_t gosite(g *gp)
{
	if (gp->name)
		return site_intern(strtab_intern(gp->name), gp->gopc);
	tthread *t = tls_tt;
	uint32_t gen = atomic_load_explicit(&trace.gen, memory_order_relaxed);
	uintptr_t fn = (uintptr_t)gp->fn;
	if (t && t->sitefn == fn && t->sitepc == gp->gopc && t->sitegen == gen)
		return t->siteid;
	uint32_t id = site_intern(goname(gp), gp->gopc);
	if (t) {
		t->sitefn = fn;
		t->sitepc = gp->gopc;
		t->siteid = id;
		t->sitegen = gen;
	}
	return id;
}

void tracegocreate_slow(p *pp, g *newg)
{
	newg->traceseq = 0;
	traceev(EvGoCreate, tracepid(pp), (uint64_t)newg->goid, (uint64_t)newg->parentgoid,
	        gosite(newg));
}

/* A change of GOMAXPROCS: its event, and for the flight recorder a note
 * of it. A dump's head says the count in effect at its oldest event, and
 * says again every change after that: the buffer that held a change's
 * own event may have been dropped from the ring while an older buffer of
 * another thread was kept. Under the world's stop (procresize), so one
 * at a time; trace.lock orders it with a dump. */
void tracegomaxprocs_slow(int32_t old, int32_t n)
{
	traceev(EvGomaxprocs, (uint64_t)n, 0, 0, 0);
	leaf_lock(&trace.lock);
	if (trace.mode == MODE_FLIGHT) {
		if (trace.nprocs == PROCS_HIST) {
			memmove(&trace.procs[0], &trace.procs[1],
			        (PROCS_HIST - 1) * sizeof trace.procs[0]);
			trace.nprocs--;
		}
		trace.procs[trace.nprocs++] =
		        (struct procschange){.ns = nanotime(), .from = old, .to = n};
	}
	leaf_unlock(&trace.lock);
}

/* The flight dump's head: an EvBatch at ts (units) with the count in
 * effect then and every later change noted, in len bytes at most. The
 * count at ts is the first later change's from (the changes before the
 * oldest noted are forgotten: more than PROCS_HIST in the ring's span
 * make it a guess). trace.lock held. */
static size_t flight_head_locked(uint8_t *head, uint64_t ts)
{
	uint8_t *p = putbatch(head, 0, NULL, ts);
	int first = 0;
	while (first < trace.nprocs && (uint64_t)trace.procs[first].ns >> TRACE_UNIT < ts)
		first++;
	int32_t n = first < trace.nprocs ? trace.procs[first].from : atomic_load(&gomaxprocs);
	*p++ = EvGomaxprocs; /* dt 0 */
	p = putvarint(p, (uint64_t)n);
	for (int i = first; i < trace.nprocs; i++) {
		uint64_t at = (uint64_t)trace.procs[i].ns >> TRACE_UNIT;
		*p++ = (uint8_t)(EvGomaxprocs | TRACE_DTC_VARINT << TRACE_DTC_SHIFT);
		p = putvarint(p, at - ts);
		p = putvarint(p, (uint64_t)trace.procs[i].to);
		ts = at;
	}
	return (size_t)(p - head);
}

/* ---- control ---- */

static void ctl_lock(void)
{
	while (atomic_exchange_explicit(&ctl, 1, memory_order_acquire)) {
		if (getg())
			gort_gosched();
		else
			sched_yield();
	}
}

static void ctl_unlock(void)
{
	atomic_store_explicit(&ctl, 0, memory_order_release);
}

static bool writeall(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool write_header(int fd)
{
	char h[TRACE_HEADER_LEN] = {0};
	memcpy(h, TRACE_MAGIC, sizeof TRACE_MAGIC - 1);
	h[TRACE_HEADER_UNIT] = TRACE_UNIT;
	return writeall(fd, h, sizeof h);
}

/* 1 while the writer thread runs: it is one of the runtime's threads,
 * which checkdead does not take for a thread that may still wake a
 * goroutine (that would leave every deadlock of a traced run unreported,
 * where Go reports it). Set only once the thread is made, and cleared
 * before it is told to end, so that a 1 always stands for a thread the
 * kernel lists: a count too high could hide a plain thread from
 * checkdead (a false report), one too low for a moment only keeps it
 * quiet while the goroutine or thread that starts or stops the trace
 * runs, and a later look sees the count right. */
static _Atomic int writer_alive;

int trace_threads(void)
{
	return atomic_load(&writer_alive);
}

/* The writer thread (file mode): writes full buffers until stopped. */
static void *writer_main(void *arg)
{
	(void)arg;
	leaf_lock(&trace.lock);
	for (;;) {
		while (trace.nfull < WRITER_BATCH && !trace.writerstop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts); /* the condition's clock */
			ts.tv_nsec += WRITER_POLL_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			trace.writerasleep = true;
			int r = pthread_cond_timedwait(&trace.cond, &trace.lock, &ts);
			trace.writerasleep = false;
			if (r == ETIMEDOUT && trace.full)
				break;
		}
		tbuf *list = trace.full;
		trace.full = trace.fulltail = NULL;
		trace.nfull = 0;
		if (!list && trace.writerstop)
			break;
		leaf_unlock(&trace.lock);
		tbuf *last = list;
		for (tbuf *b = list; b; b = b->next) {
			if (trace.writeerr == 0 && !writeall(trace.fd, b->data, b->len))
				trace.writeerr = errno ? errno : EIO;
			last = b;
		}
		leaf_lock(&trace.lock);
		last->next = trace.freebufs;
		trace.freebufs = list;
	}
	leaf_unlock(&trace.lock);
	return NULL;
}

/* Turn emission off (TRACE_OFF) or pause it (TRACE_PAUSED) and wait until
 * no thread is inside a buffer (see the top of the file). */
static void quiesce(uint32_t state)
{
	atomic_store_explicit(&trace_enabled, state, memory_order_seq_cst);
	barrier_all();
	leaf_lock(&threads.lock);
	tthread *all = threads.all;
	leaf_unlock(&threads.lock);
	/* tthreads are only ever added at the head: walking from `all` sees
	 * every one that existed when the barrier ran. */
	for (tthread *t = all; t; t = t->alllink)
		for (int spins = 0; atomic_load_explicit(&t->busy, memory_order_seq_cst); spins++)
			if (spins > 100)
				sched_yield();
}

/* Hand every thread's partial buffer over (emission quiesced). With
 * release, the trace ends: free the staging buffers too, so that a
 * stopped trace holds no memory in the threads that emitted (the next
 * trace allocates a thread's buffer again at its first event). */
static void retire_partials(bool release)
{
	uint32_t gen = atomic_load_explicit(&trace.gen, memory_order_relaxed);
	leaf_lock(&threads.lock);
	tthread *all = threads.all;
	leaf_unlock(&threads.lock);
	for (tthread *t = all; t; t = t->alllink) {
		if (staged(t, gen))
			handover(t);
		if (release) {
			free(t->buf);
			t->buf = NULL;
		}
	}
}

/* The trace ends: no emitter writes again, every event is handed over,
 * no thread keeps a staging buffer. */
static void stop_emitters(void)
{
	quiesce(TRACE_OFF);
	retire_partials(true);
}

/* The staging buffers the threads hold, in bytes: 0 once a trace has
 * stopped. For tests, and only while no trace runs (an emitter sets its
 * buffer without a lock). */
size_t trace_staged_bytes(void)
{
	leaf_lock(&threads.lock);
	size_t n = 0;
	for (tthread *t = threads.all; t; t = t->alllink)
		if (t->buf)
			n += tbuf_bytes(t->buf);
	leaf_unlock(&threads.lock);
	return n;
}

/* The memory the flight recorder's ring and its free buffers hold, in
 * bytes. For tests. */
size_t trace_ring_bytes(void)
{
	leaf_lock(&trace.lock);
	size_t n = 0;
	for (tbuf *b = trace.ring; b; b = b->next)
		n += tbuf_bytes(b);
	for (tbuf *b = trace.freebufs; b; b = b->next)
		n += tbuf_bytes(b);
	leaf_unlock(&trace.lock);
	return n;
}

/* See trace.h. */
static pthread_mutex_t snaplock = PTHREAD_MUTEX_INITIALIZER;

void tracesnap_lock(void)
{
	leaf_lock(&snaplock);
}

void tracesnap_unlock(void)
{
	leaf_unlock(&snaplock);
}

static void snapshot_g(g *gp, void *arg)
{
	g *self = arg;
	uint32_t s = readgstatus(gp);
	if (s == _Gidle || s == _Gdead)
		return;
	uint64_t id = (uint64_t)gp->goid;
	gp->traceseq = 1;
	traceev(EvGoCreate, UINT64_MAX, id, 0, gosite(gp));
	if (gp == self) {
		traceev(EvGoStart, tracecurp(), id, 1, 0);
	} else if (s == _Gwaiting) {
		traceev(EvGoWaiting, id, 1, gp->waitreason, 0);
	} else if (s == _Gsyscall) {
		traceev(EvGoInSyscall, id, 1, 0, 0);
	} else {
		traceev(EvGoRunnable, id, 0, 0, 0);
	}
}

/* On a goroutine, world stopped: trace on, and the snapshot. */
static void trace_begin_stw(void)
{
	g *gp = rt_enter();
	semacquire(&sched.worldsema, waitReasonStopTheWorld);
	stopTheWorld();
	m *mp = getm();
	tracesnap_lock(); /* threads without a P still run */
	atomic_store_explicit(&trace_enabled, TRACE_ON, memory_order_seq_cst);
	traceev(EvGomaxprocs, (uint64_t)atomic_load(&gomaxprocs), 0, 0, 0);
	traceev(EvProcStart, tracepid(mp->p), (uint64_t)mp->id, 0, 0);
	forEachG(snapshot_g, gp);
	tracesnap_unlock();
	startTheWorld();
	semrelease(&sched.worldsema);
	rt_exit(gp);
}

static void begin_on_goroutine(void *arg)
{
	(void)arg;
	trace_begin_stw();
}

/* Session state for a new trace or recorder (ctl held, tracing off). */
static int session_init(int mode)
{
	pthread_once(&threads_once, threads_init);
	clock_init();
	if (!strtab_init()) {
		strtab_reset();
		errno = ENOMEM;
		return -1;
	}
	leaf_lock(&trace.lock);
	trace.mode = mode;
	trace.full = trace.fulltail = NULL;
	trace.ring = trace.ringtail = NULL;
	trace.ringbytes = 0;
	trace.writerstop = false;
	trace.nfull = 0;
	trace.writeerr = 0;
	trace.nprocs = 0;
	atomic_fetch_add_explicit(&trace.gen, 1, memory_order_relaxed);
	leaf_unlock(&trace.lock);
	return 0;
}

static void session_free(void)
{
	leaf_lock(&trace.lock);
	while (trace.ring) {
		tbuf *b = trace.ring;
		trace.ring = b->next;
		free(b);
	}
	trace.ringtail = NULL;
	trace.ringbytes = 0;
	freebufs_locked();
	trace.mode = MODE_NONE;
	leaf_unlock(&trace.lock);
	strtab_reset();
}

/* A goroutine that emits, or pauses the emitters, outside a gort_*
 * bracket (the public calls below are not held through: api_enter) is
 * held inside the runtime meanwhile (g->inruntime), where the preemption
 * handler leaves it alone: a hand-off there would detach its P, and the
 * handler's events for that (traceev_sig) be lost, nested in this
 * thread's own emission or waiting out a pause that this thread holds
 * (tls_pausing); the trace would then have the P running on two Ms. The
 * hand-off comes at a later signal. */
static g *emit_hold(void)
{
	g *gp = getg();
	if (gp)
		inruntime_raise(gp);
	return gp;
}

static void emit_unhold(g *gp)
{
	if (gp)
		inruntime_lower(gp);
}

/* Each public call begins as a runtime call (rt_enter, rt_exit): a
 * goroutine whose P the preemption signal handed off (it ran on in code
 * it cannot be preempted in) takes one back here, rather than run on
 * detached through the call and after it, and a pending preemption
 * request is honoured, so that a loop of these calls yields as a loop of
 * other gort_* calls does. It is not held inside the runtime to the
 * call's end, as those are: the calls hold no P's state, and start, stop
 * and dump wait on files and on the writer thread, where a held
 * goroutine would keep its P from sysmon's hand-off and from a stop of
 * the world for as long as a disk or a pipe takes (a FIFO's open waits
 * for a reader). What must not be preempted holds itself (emit_hold,
 * trace_begin_stw). It comes before ctl is taken: a goroutine parked
 * when a run ends is abandoned, with ctl if it held it, and teardown
 * (trace_runtime_end) would wait for ctl for ever. */
static void api_enter(void)
{
	rt_exit(rt_enter());
}

static bool runtime_up(void)
{
	return atomic_load(&runtime_running) == RUNTIME_UP &&
	       !atomic_load_explicit(&sched.exiting, memory_order_relaxed);
}

/* Take ctl for a new trace or recorder whose argument is valid if argok:
 * true, or false with errno (ctl not held): EINVAL for a bad argument,
 * EBUSY if one runs, ESRCH outside a run. */
static bool ctl_lock_idle(bool argok)
{
	if (!argok) {
		errno = EINVAL;
		return false;
	}
	ctl_lock();
	int e = trace.mode != MODE_NONE ? EBUSY : !runtime_up() ? ESRCH : 0;
	if (e) {
		ctl_unlock();
		errno = e;
	}
	return e == 0;
}

static int trace_end_file(void);

GORT_API int gort_trace_start(const char *path)
{
	api_enter();
	if (!ctl_lock_idle(path != NULL))
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !write_header(fd)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		ctl_unlock();
		errno = e;
		return -1;
	}
	if (session_init(MODE_FILE) != 0) {
		close(fd);
		ctl_unlock();
		return -1;
	}
	trace.fd = fd;
	/* The writer takes no signal meant for an M (SIGURG, SIGPROF...). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int err = pthread_create(&trace.writer, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		session_free();
		close(fd);
		ctl_unlock();
		errno = err;
		return -1;
	}
	atomic_store(&writer_alive, 1);
	if (getg()) {
		trace_begin_stw();
	} else {
		/* Stopping the world takes a goroutine: ask one. Without
		 * one, tracing begins with no snapshot. */
		if (run_on_goroutine(begin_on_goroutine, NULL) != 0) {
			if (errno == ESRCH && !tracing()) {
				/* The run ended first: it never began. */
				trace_end_file();
				ctl_unlock();
				errno = ESRCH;
				return -1;
			}
			atomic_store(&trace_enabled, TRACE_ON);
		}
	}
	ctl_unlock();
	return 0;
}

/* Stop the file trace (ctl held, mode FILE). Returns the write error. */
static int trace_end_file(void)
{
	atomic_store(&writer_alive, 0);
	stop_emitters();
	leaf_lock(&trace.lock);
	trace.writerstop = true;
	pthread_cond_signal(&trace.cond);
	leaf_unlock(&trace.lock);
	pthread_join(trace.writer, NULL);
	int err = trace.writeerr;
	size_t n;
	uint8_t *sb = strtab_batch(&n);
	if (!sb)
		err = err ? err : ENOMEM;
	else if (err == 0 && !writeall(trace.fd, sb, n))
		err = errno ? errno : EIO;
	free(sb);
	if (close(trace.fd) != 0 && err == 0)
		err = errno;
	trace.fd = -1;
	session_free();
	return err;
}

GORT_API int gort_trace_stop(void)
{
	api_enter();
	ctl_lock();
	if (trace.mode != MODE_FILE) {
		ctl_unlock();
		errno = ENOENT;
		return -1;
	}
	int err = trace_end_file();
	ctl_unlock();
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

GORT_API int gort_trace_flight_start(size_t bytes)
{
	api_enter();
	if (!ctl_lock_idle(bytes != 0))
		return -1;
	if (session_init(MODE_FLIGHT) != 0) {
		ctl_unlock();
		return -1;
	}
	trace.ringmax = bytes;
	atomic_store_explicit(&trace_enabled, TRACE_ON, memory_order_seq_cst);
	g *held = emit_hold();
	traceev(EvGomaxprocs, (uint64_t)atomic_load(&gomaxprocs), 0, 0, 0);
	emit_unhold(held);
	ctl_unlock();
	return 0;
}

typedef struct dumpcopy {
	size_t n;
	uint8_t **data;
	size_t *len;
} dumpcopy;

/* Copy the ring (trace.lock held). */
static bool copy_ring_locked(dumpcopy *c)
{
	size_t n = 0;
	for (tbuf *b = trace.ring; b; b = b->next)
		n++;
	c->data = calloc(n ? n : 1, sizeof *c->data);
	c->len = calloc(n ? n : 1, sizeof *c->len);
	if (!c->data || !c->len)
		return false;
	for (tbuf *b = trace.ring; b; b = b->next) {
		uint8_t *d = malloc(b->len);
		if (!d)
			return false;
		memcpy(d, b->data, b->len);
		c->data[c->n] = d;
		c->len[c->n++] = b->len;
	}
	return true;
}

static void dumpcopy_free(dumpcopy *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->data[i]);
	free(c->data);
	free(c->len);
}

GORT_API int gort_trace_flight_dump(const char *path)
{
	api_enter();
	if (!path) {
		errno = EINVAL;
		return -1;
	}
	ctl_lock();
	if (trace.mode != MODE_FLIGHT) {
		ctl_unlock();
		errno = ENOENT;
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		ctl_unlock();
		errno = e;
		return -1;
	}
	/* Pause emitters, move every partial buffer into the ring, copy the
	 * ring; emitters go on as soon as the partial buffers are moved,
	 * those that need a fresh buffer wait for the copy. */
	g *held = emit_hold();
	tls_pausing = true;
	quiesce(TRACE_PAUSED);
	retire_partials(false);
	leaf_lock(&trace.lock);
	atomic_store_explicit(&trace_enabled, TRACE_ON, memory_order_seq_cst);
	tls_pausing = false;
	emit_unhold(held);
	dumpcopy c = {0};
	bool ok = copy_ring_locked(&c);
	/* Head: Gomaxprocs, timed before the oldest event kept, from the
	 * changes noted as the ring was copied. */
	uint8_t head[32 + PROCS_HIST * 24];
	size_t hn = 0;
	if (ok) {
		uint64_t ts = (uint64_t)nanotime() >> TRACE_UNIT;
		for (size_t i = 0; i < c.n; i++)
			if (batch_ts(c.data[i]) < ts)
				ts = batch_ts(c.data[i]);
		hn = flight_head_locked(head, ts);
	}
	leaf_unlock(&trace.lock);

	int err = ok ? 0 : ENOMEM;
	size_t sn = 0;
	uint8_t *sb = ok ? strtab_batch(&sn) : NULL;
	if (ok && !sb)
		err = ENOMEM;
	if (!err) {
		if (!write_header(fd) || !writeall(fd, head, hn))
			err = errno ? errno : EIO;
		for (size_t i = 0; !err && i < c.n; i++)
			if (!writeall(fd, c.data[i], c.len[i]))
				err = errno ? errno : EIO;
		if (!err && !writeall(fd, sb, sn))
			err = errno ? errno : EIO;
	}
	free(sb);
	dumpcopy_free(&c);
	if (close(fd) != 0 && !err)
		err = errno;
	ctl_unlock();
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static void flight_end(void)
{
	stop_emitters();
	session_free();
}

GORT_API int gort_trace_flight_stop(void)
{
	api_enter();
	ctl_lock();
	if (trace.mode != MODE_FLIGHT) {
		ctl_unlock();
		errno = ENOENT;
		return -1;
	}
	flight_end();
	ctl_unlock();
	return 0;
}

/* teardown: every M has stopped; end what runs (the file is complete). */
void trace_runtime_end(void)
{
	ctl_lock();
	if (trace.mode == MODE_FILE)
		trace_end_file();
	else if (trace.mode == MODE_FLIGHT)
		flight_end();
	ctl_unlock();
}
