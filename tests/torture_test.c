/*
 * torture_test mixes the runtime's features at random, across a few
 * hundred goroutines for a few seconds per case, and checks what each
 * one promises, not only that nothing crashed:
 *  - channels: workers send unique values on shared channels (unbuffered
 *    and buffered) with blocking sends, try_send and selects (blocking,
 *    with a timer channel as the timeout, and non-blocking), and receive
 *    them with try_recv and selects; consumer goroutines receive with
 *    blocking recv and with selects over every channel. Each channel's
 *    sent and received counts, sums and hashed sums match at the end: every
 *    value arrives exactly once. A receive never reports a shared channel
 *    closed before it was; once closed, each one drains and then reports
 *    closed, with the element zeroed;
 *  - private channels: a non-blocking select with no ready case takes the
 *    default, one with a single ready case takes that one; a channel
 *    closed with values buffered (and senders and receivers parked) hands
 *    every value out once, then reports closed; sends and closes on it
 *    then fail with EPIPE;
 *  - sync: a counter under a gort_mutex (lock and trylock, held across
 *    yields) is exact; rwmutex readers always see the writers' invariant
 *    and the write count is exact; tokens handed through a gort_cond
 *    (signal and broadcast) are all consumed, once; each gort_once runs
 *    its function once and every caller returns after it finished;
 *    WaitGroups over trees of goroutines spawning goroutines reach zero
 *    only after each of them ran;
 *  - time: gort_sleep never returns early; one-shot timers, timers
 *    stopped and reset, and tickers fire, never early, with the fire time
 *    as their value; gort_timer_stop and reset report the state right;
 *  - blocking calls in gort_entersyscall/gort_exitsyscall (and the
 *    _block form) keep errno; a goroutine locked to its thread stays on
 *    that thread across yields, sleeps, channel and mutex waits;
 *  - pipes through the netpoller: a stream written and read in random
 *    chunks arrives whole and in order; read and write deadlines, and
 *    gort_fd_wait's, fail with ETIMEDOUT, never early;
 *  - beside them: CPU spinners without runtime calls (sysmon's
 *    preemption) and inside gort_preempt_off (the P handed off past
 *    20 ms), gosched, goroutines that end with gort_goexit or locked to
 *    their thread (which ends with them), custom stack sizes; in the
 *    resizing case a controller goroutine that changes GOMAXPROCS between
 *    1 and 4 and prints the reports (schedtrace, the goroutine dump) and
 *    dumps the flight recorder meanwhile; and a plain thread that locks
 *    the mutex, sends and selects on the channels, makes goroutines and
 *    timers and signals the cond;
 *  - at the end only main is left and gort_read_stats agrees with what
 *    the test did (goroutines, created, started, timers fired, steals).
 *
 * Cases: GOMAXPROCS 1 and 4 fixed, and 2 changed at random by the
 * controller. The seed is printed; GORT_TEST_SEED=<n> repeats a run (as
 * far as the scheduling allows), and GORT_TORTURE_MS=<ms> changes how
 * long each case runs (default 2500). With arguments, only the cases
 * named run.
 */
#include "gort_util.h"

#include <sys/syscall.h>

/* ---------------------------------------------------------------------
 * Sizes: a few hundred goroutines in a normal build; fewer under the
 * sanitizers, where each goroutine costs far more (a TSan fiber).
 * ------------------------------------------------------------------- */

#if HARNESS_SANITIZED && defined(HARNESS_TSAN)
#define NWORKERS 40
#elif HARNESS_SANITIZED
#define NWORKERS 120
#else
#define NWORKERS 300
#endif

#define NCH 8      /* shared channels */
#define NONCE 16   /* gort_once objects */
#define FDSEM 24   /* pipes open at once (2 fds each) */
#define NCOND_CONSUMERS 3
#define NMULTI 4   /* select consumers over every channel */

static const size_t chan_caps[NCH] = {0, 0, 1, 4, 0, 16, 2, 0};

/* ---------------------------------------------------------------------
 * Random numbers: xorshift64*, one state per goroutine.
 * ------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ULL;
}

static int64_t rnd_range(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd(s) % (uint64_t)(hi - lo + 1));
}

static uint64_t mix(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

/* ---------------------------------------------------------------------
 * Shared state of one run.
 * ------------------------------------------------------------------- */

struct tally {
	atomic_ullong n, sum, hash;
};

static struct {
	unsigned seed;
	bool resize;       /* the controller changes GOMAXPROCS */
	int64_t end;       /* workers stop starting operations here */

	gort_chan *ch[NCH];
	atomic_bool closed[NCH];
	struct tally sent[NCH], recvd[NCH];
	gort_waitgroup consumers_wg;

	gort_chan *fdsem;  /* tokens: at most FDSEM pipes open */

	gort_mutex mu;
	int64_t mu_counter; /* under mu */
	atomic_llong mu_incs;

	gort_rwmutex rw;
	int64_t rw_a, rw_b; /* under rw: always equal outside a writer */
	atomic_llong rw_writes;

	gort_mutex cmu;
	gort_cond cond;
	int64_t tokens; /* under cmu */
	bool cond_shutdown;
	atomic_llong produced, consumed;
	gort_waitgroup cond_wg;

	gort_once once[NONCE];
	atomic_int once_runs[NONCE];

	gort_waitgroup workers_wg;
	atomic_bool stop_controller;
	gort_waitgroup controller_wg;
	atomic_int resizes;
	FILE *devnull;
	char flight_path[64]; /* the flight recorder's dumps, when it runs */

	atomic_llong created;       /* goroutines this test made */
	atomic_llong timers_seen;   /* timer firings received */
	atomic_llong spins_long;    /* spins longer than a time slice */
	atomic_llong ops;
	atomic_llong plain_children;
	gort_waitgroup plain_wg;
} T;

struct worker {
	int id;
	uint64_t rng;
	uint64_t seq;
};

static struct worker workers[NWORKERS];

static void go(void (*fn)(void *), void *arg)
{
	int64_t id = gort_go(fn, arg);
	if (id <= 0)
		FAILF("gort_go: %lld, errno %d", (long long)id, read_errno());
	atomic_fetch_add(&T.created, 1);
}

/* ---------------------------------------------------------------------
 * Shared channels: unique values, tallied on both sides.
 * ------------------------------------------------------------------- */

/* Worker id + 1 in the high bits, a sequence number below: unique and
 * never 0. */
static uint64_t next_value(struct worker *w)
{
	return ((uint64_t)(w->id + 1) << 40) | ++w->seq;
}

static void tally_add(struct tally *t, uint64_t v)
{
	atomic_fetch_add(&t->n, 1);
	atomic_fetch_add(&t->sum, v);
	atomic_fetch_add(&t->hash, mix(v));
}

static void check_value(uint64_t v, const char *what)
{
	uint64_t id = v >> 40, seq = v & ((1ULL << 40) - 1);
	if (id == 0 || id > NWORKERS + 1 || seq == 0) /* + the plain thread */
		FAILF("%s: received %#llx, never sent", what, (unsigned long long)v);
}

static void got_value(int i, uint64_t v, const char *what)
{
	check_value(v, what);
	tally_add(&T.recvd[i], v);
}

/* A receive found shared channel i closed: only after main closed it. */
static void got_closed(int i, const char *what)
{
	if (!atomic_load(&T.closed[i]))
		FAILF("%s: channel %d reported closed before it was", what, i);
}

/* Fire time v of a timer started at t0 for d: never early. */
static void check_fire(int64_t v, int64_t t0, int64_t d, const char *what)
{
	int64_t now = gort_nanotime();
	if (v < t0 + d || now < t0 + d || v > now)
		FAILF("%s: timer for %lld ns fired at +%lld (now +%lld)", what,
		      (long long)d, (long long)(v - t0), (long long)(now - t0));
	atomic_fetch_add(&T.timers_seen, 1);
}

static int find_chan(gort_chan *c)
{
	for (int i = 0; i < NCH; i++)
		if (T.ch[i] == c)
			return i;
	FAILF("select case on an unknown channel");
}

static void op_send(struct worker *w)
{
	int i = (int)(rnd(&w->rng) % NCH);
	uint64_t v = next_value(w);
	if (rnd(&w->rng) % 2) {
		CHECK_EQ(gort_chan_send(T.ch[i], &v), 0);
		tally_add(&T.sent[i], v);
		return;
	}
	write_errno(0);
	int r = gort_chan_try_send(T.ch[i], &v);
	if (r == 0)
		tally_add(&T.sent[i], v);
	else if (r != -1 || read_errno() != EAGAIN)
		FAILF("try_send: %d errno %d", r, read_errno());
}

static void op_try_recv(struct worker *w)
{
	int i = (int)(rnd(&w->rng) % NCH);
	uint64_t v = 0;
	write_errno(0);
	int r = gort_chan_try_recv(T.ch[i], &v);
	if (r == 1)
		got_value(i, v, "try_recv");
	else if (r == 0)
		got_closed(i, "try_recv");
	else if (r != -1 || read_errno() != EAGAIN)
		FAILF("try_recv: %d errno %d", r, read_errno());
}

/*
 * A select over two shared channels (sends, receives or both) and, when
 * blocking, a timer channel as the timeout; the case taken must have
 * been ready: a send sent, a receive got a value sent, the timer fired.
 */
static void op_select(struct worker *w)
{
	bool block = rnd(&w->rng) % 3 != 0;
	gort_case cs[3];
	uint64_t vals[2];
	int n = 0;
	for (int k = 0; k < 2; k++) {
		int i = (int)(rnd(&w->rng) % NCH);
		bool send = rnd(&w->rng) % 2;
		vals[k] = send ? next_value(w) : 0;
		cs[n++] = (gort_case){.chan = T.ch[i],
		                      .dir = send ? GORT_SEND : GORT_RECV,
		                      .elem = &vals[k]};
	}
	gort_timer *t = NULL;
	int64_t fire = 0, t0 = gort_nanotime(), d = rnd_range(&w->rng, 0, 2 * MS);
	if (block) {
		t = gort_timer_new(d, 0);
		CHECK(t != NULL);
		cs[n++] = (gort_case){.chan = gort_timer_chan(t), .dir = GORT_RECV,
		                      .elem = &fire};
	}
	write_errno(0);
	int r = gort_select(cs, n, block);
	if (r < 0) {
		if (block || read_errno() != EAGAIN)
			FAILF("select: %d errno %d", r, read_errno());
	} else if (r == 2) {
		CHECK(cs[2].ok);
		check_fire(fire, t0, d, "select timeout");
	} else {
		int i = find_chan(cs[r].chan);
		if (cs[r].dir == GORT_SEND) {
			CHECK(cs[r].ok); /* never closed while workers run */
			tally_add(&T.sent[i], vals[r]);
		} else if (cs[r].ok) {
			got_value(i, vals[r], "select recv");
		} else {
			got_closed(i, "select recv");
		}
	}
	if (t != NULL)
		gort_timer_free(t); /* may race with its firing */
}

/* Blocking consumers of one channel: until it is closed and drained. */
static void consumer(void *arg)
{
	int i = (int)(intptr_t)arg;
	for (;;) {
		uint64_t v = 12345;
		int r = gort_chan_recv(T.ch[i], &v);
		if (r == 1) {
			got_value(i, v, "recv");
			continue;
		}
		CHECK_EQ(r, 0);
		got_closed(i, "recv");
		CHECK_EQ(v, 0); /* zeroed */
		v = 1;
		CHECK_EQ(gort_chan_try_recv(T.ch[i], &v), 0);
		CHECK_EQ(v, 0);
		break;
	}
	gort_wg_done(&T.consumers_wg);
}

/* A select over every shared channel, with a timer: a closed channel's
 * case is dropped (set to NULL, as Go code sets it to nil). */
static void multi_consumer(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 7919 + T.seed + 1;
	gort_case cs[NCH + 1];
	uint64_t vals[NCH];
	int open = NCH;
	for (int i = 0; i < NCH; i++)
		cs[i] = (gort_case){.chan = T.ch[i], .dir = GORT_RECV, .elem = &vals[i]};
	while (open > 0) {
		int64_t fire = 0, t0 = gort_nanotime(), d = rnd_range(&rng, 100 * US, 3 * MS);
		gort_timer *t = gort_timer_new(d, 0);
		CHECK(t != NULL);
		cs[NCH] = (gort_case){.chan = gort_timer_chan(t), .dir = GORT_RECV, .elem = &fire};
		int r = gort_select(cs, NCH + 1, true);
		CHECK(r >= 0 && r <= NCH);
		if (r == NCH) {
			CHECK(cs[r].ok);
			check_fire(fire, t0, d, "multi-consumer timeout");
		} else if (cs[r].ok) {
			got_value(r, vals[r], "multi-consumer");
		} else {
			got_closed(r, "multi-consumer");
			cs[r].chan = NULL;
			open--;
		}
		gort_timer_free(t);
	}
	gort_wg_done(&T.consumers_wg);
}

/* ---------------------------------------------------------------------
 * Private channels: outcomes known exactly.
 * ------------------------------------------------------------------- */

static void op_select_ready(struct worker *w)
{
	gort_chan *full = make_chan(sizeof(int), 1);
	gort_chan *empty = make_chan(sizeof(int), 2);
	gort_chan *unbuf = make_chan(sizeof(int), 0);
	int one = 1, x = 0, y = 0, z = 0;
	CHECK_EQ(gort_chan_send(full, &one), 0);
	gort_case cs[5] = {
		{.chan = full, .dir = GORT_SEND, .elem = &one},
		{.chan = empty, .dir = GORT_RECV, .elem = &x},
		{.chan = NULL, .dir = GORT_RECV, .elem = &y},
		{.chan = unbuf, .dir = GORT_SEND, .elem = &one},
		{.chan = unbuf, .dir = GORT_RECV, .elem = &z},
	};
	CHECK_FAILS(gort_select(cs, 5, false), EAGAIN);
	int v = (int)rnd_range(&w->rng, 2, 1000);
	CHECK_EQ(gort_chan_send(empty, &v), 0);
	int r = gort_select(cs, 5, rnd(&w->rng) % 2);
	CHECK_EQ(r, 1);
	CHECK(cs[1].ok);
	CHECK_EQ(x, v);
	CHECK_EQ(gort_chan_close(unbuf), 0);
	/* Both the closed channel's cases are ready now, the others not. */
	r = gort_select(cs, 5, false);
	CHECK(r == 3 || r == 4);
	CHECK(!cs[r].ok);
	CHECK_EQ(gort_chan_len(full), 1);
	gort_chan_free(full);
	gort_chan_free(empty);
	gort_chan_free(unbuf);
}

struct drain {
	gort_chan *c;
	atomic_llong sum, n;
	int send_rc, send_err;
	int64_t send_val;
	gort_waitgroup wg;
};

static void drain_recv(void *arg)
{
	struct drain *d = arg;
	int64_t v;
	int r;
	while ((r = gort_chan_recv(d->c, &v)) == 1) {
		atomic_fetch_add(&d->sum, v);
		atomic_fetch_add(&d->n, 1);
	}
	CHECK_EQ(r, 0);
	gort_wg_done(&d->wg);
}

static void drain_send(void *arg)
{
	struct drain *d = arg;
	write_errno(0);
	d->send_rc = gort_chan_send(d->c, &d->send_val);
	d->send_err = read_errno();
	gort_wg_done(&d->wg);
}

/* Close a private channel with values buffered and goroutines parked on
 * it: every value comes out once, then it reports closed. */
static void op_close_drain(struct worker *w)
{
	size_t cap = (size_t)rnd_range(&w->rng, 0, 4);
	struct drain d = {.c = make_chan(sizeof(int64_t), cap), .send_val = 1000};
	int64_t want = 0, k = cap ? rnd_range(&w->rng, 0, (int64_t)cap) : 0;
	for (int64_t i = 1; i <= k; i++) {
		CHECK_EQ(gort_chan_send(d.c, &i), 0);
		want += i;
	}
	int nrecv = (int)rnd_range(&w->rng, 0, 2);
	bool sender = cap == 0 || rnd(&w->rng) % 2;
	CHECK_EQ(gort_wg_add(&d.wg, nrecv + sender), 0);
	if (sender)
		go(drain_send, &d);
	for (int i = 0; i < nrecv; i++)
		go(drain_recv, &d);
	if (rnd(&w->rng) % 2)
		gort_sleep(rnd_range(&w->rng, 0, 500 * US));
	else
		gort_gosched();
	CHECK_EQ(gort_chan_close(d.c), 0);
	if (nrecv == 0) {
		/* drain here */
		int64_t v;
		while (gort_chan_recv(d.c, &v) == 1) {
			d.sum += v;
			d.n++;
		}
	}
	CHECK_EQ(gort_wg_wait(&d.wg), 0);
	if (sender) {
		if (d.send_rc == 0) {
			want += d.send_val;
			k++;
		} else if (d.send_rc != -1 || d.send_err != EPIPE) {
			FAILF("send on a closing channel: %d errno %d", d.send_rc,
			      d.send_err);
		}
	}
	if (atomic_load(&d.sum) != want || atomic_load(&d.n) != k)
		FAILF("closed channel (cap %zu) drained %lld values summing %lld, "
		      "want %lld summing %lld", cap, (long long)d.n,
		      (long long)d.sum, (long long)k, (long long)want);
	int64_t v = 7;
	CHECK_EQ(gort_chan_recv(d.c, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(gort_chan_try_recv(d.c, NULL), 0);
	CHECK_FAILS(gort_chan_send(d.c, &v), EPIPE);
	CHECK_FAILS(gort_chan_try_send(d.c, &v), EPIPE);
	CHECK_FAILS(gort_chan_close(d.c), EPIPE);
	gort_case sc = {.chan = d.c, .dir = GORT_SEND, .elem = &v};
	CHECK_EQ(gort_select(&sc, 1, false), 0);
	CHECK(!sc.ok);
	CHECK_EQ(gort_chan_len(d.c), 0);
	gort_chan_free(d.c);
}

/* ---------------------------------------------------------------------
 * Sync objects.
 * ------------------------------------------------------------------- */

static void mutex_inc(uint64_t *rng, bool may_yield)
{
	if (rnd(rng) % 4 == 0) {
		while (!gort_mutex_trylock(&T.mu))
			gort_gosched();
	} else {
		gort_mutex_lock(&T.mu);
	}
	int64_t c = T.mu_counter;
	if (may_yield && rnd(rng) % 8 == 0)
		gort_gosched(); /* hold it across a switch */
	T.mu_counter = c + 1;
	gort_mutex_unlock(&T.mu);
	atomic_fetch_add(&T.mu_incs, 1);
}

static void rw_write(uint64_t *rng, bool may_yield)
{
	gort_rwmutex_lock(&T.rw);
	T.rw_a++;
	if (may_yield && rnd(rng) % 4 == 0)
		gort_gosched();
	T.rw_b++;
	gort_rwmutex_unlock(&T.rw);
	atomic_fetch_add(&T.rw_writes, 1);
}

static void op_rw(struct worker *w)
{
	if (rnd(&w->rng) % 4 == 0) {
		rw_write(&w->rng, true);
		return;
	}
	gort_rwmutex_rlock(&T.rw);
	int64_t a = T.rw_a, b = T.rw_b;
	if (rnd(&w->rng) % 4 == 0)
		gort_gosched();
	int64_t a2 = T.rw_a, b2 = T.rw_b;
	gort_rwmutex_runlock(&T.rw);
	if (a != b || a2 != a || b2 != b)
		FAILF("rwmutex reader saw %lld/%lld then %lld/%lld", (long long)a,
		      (long long)b, (long long)a2, (long long)b2);
}

static void cond_produce(bool broadcast)
{
	gort_mutex_lock(&T.cmu);
	T.tokens++;
	atomic_fetch_add(&T.produced, 1);
	if (broadcast)
		gort_cond_broadcast(&T.cond);
	else
		gort_cond_signal(&T.cond);
	gort_mutex_unlock(&T.cmu);
}

static void cond_consumer(void *arg)
{
	(void)arg;
	gort_mutex_lock(&T.cmu);
	for (;;) {
		while (T.tokens == 0 && !T.cond_shutdown)
			gort_cond_wait(&T.cond, &T.cmu);
		if (T.tokens == 0)
			break; /* shut down and nothing left */
		T.tokens--;
		atomic_fetch_add(&T.consumed, 1);
	}
	gort_mutex_unlock(&T.cmu);
	gort_wg_done(&T.cond_wg);
}

static void once_fn(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_fetch_add(&T.once_runs[i], 1);
	gort_sleep(200 * US); /* callers meanwhile must wait */
}

static void do_once(int i)
{
	gort_once_do(&T.once[i], once_fn, (void *)(intptr_t)i);
	CHECK_EQ(atomic_load(&T.once_runs[i]), 1);
}

/* A tree of goroutines spawning goroutines, under one WaitGroup. */
struct tree {
	gort_waitgroup wg;
	atomic_int spawned, ran;
	unsigned seed;
};

struct tnode {
	struct tree *t;
	int depth;
};

static void tree_spawn(struct tree *t, int depth, int k);

static void tree_node(void *arg)
{
	struct tnode *n = arg;
	struct tree *t = n->t;
	int depth = n->depth;
	free(n);
	atomic_fetch_add(&t->ran, 1);
	uint64_t rng = t->seed + (uint64_t)atomic_load(&t->ran) * 31 + 1;
	switch (rnd(&rng) % 4) {
	case 0:
		gort_gosched();
		break;
	case 1:
		gort_sleep(rnd_range(&rng, 0, 200 * US));
		break;
	default:
		break;
	}
	if (depth < 3 && rnd(&rng) % 2)
		tree_spawn(t, depth + 1, (int)rnd_range(&rng, 1, 3));
	uint64_t r = rnd(&rng) % 16;
	if (r < 2)
		gort_lock_os_thread(); /* its thread ends with it */
	gort_wg_done(&t->wg);
	if (r % 4 == 0)
		gort_goexit(); /* ends it as returning does */
}

/* Add before spawning, as Go code must: the count covers every child
 * before its parent's Done. */
static void tree_spawn(struct tree *t, int depth, int k)
{
	CHECK_EQ(gort_wg_add(&t->wg, k), 0);
	atomic_fetch_add(&t->spawned, k);
	for (int i = 0; i < k; i++) {
		struct tnode *n = malloc(sizeof(*n));
		CHECK(n != NULL);
		*n = (struct tnode){.t = t, .depth = depth};
		if (i % 2) {
			gort_attr a = {.stack_size = GORT_STACK_MIN * (size_t)(1 + depth),
			               .name = "tree"};
			CHECK(gort_go_attr(tree_node, n, &a) > 0);
			atomic_fetch_add(&T.created, 1);
		} else {
			go(tree_node, n);
		}
	}
}

static void op_tree(struct worker *w)
{
	struct tree t = {.seed = (unsigned)rnd(&w->rng)};
	tree_spawn(&t, 0, (int)rnd_range(&w->rng, 1, 6));
	CHECK_EQ(gort_wg_wait(&t.wg), 0);
	if (atomic_load(&t.ran) != atomic_load(&t.spawned))
		FAILF("WaitGroup reached zero with %d of %d goroutines run",
		      atomic_load(&t.ran), atomic_load(&t.spawned));
}

/* ---------------------------------------------------------------------
 * Time.
 * ------------------------------------------------------------------- */

static void op_sleep(struct worker *w)
{
	int64_t d = rnd_range(&w->rng, -100 * US, 3 * MS);
	int64_t t0 = gort_nanotime();
	gort_sleep(d);
	int64_t el = gort_nanotime() - t0;
	if (el < d)
		FAILF("gort_sleep(%lld) returned after %lld ns", (long long)d,
		      (long long)el);
}

static int64_t timer_recv(gort_timer *t)
{
	int64_t v = 0;
	CHECK_EQ(gort_chan_recv(gort_timer_chan(t), &v), 1);
	return v;
}

static void op_timer(struct worker *w)
{
	int64_t d = rnd_range(&w->rng, 0, 2 * MS);
	int64_t t0 = gort_nanotime();
	gort_timer *t;
	switch (rnd(&w->rng) % 5) {
	case 0: /* one shot */
		t = gort_timer_new(d, 0);
		CHECK(t != NULL);
		check_fire(timer_recv(t), t0, d, "timer");
		CHECK(!gort_timer_stop(t));
		break;
	case 1: /* stopped before it fires, then reset */
		t = gort_timer_new(10LL * 1000 * MS, 0);
		CHECK(t != NULL);
		CHECK(gort_timer_stop(t));
		CHECK(!gort_timer_stop(t));
		CHECK_EQ(gort_chan_len(gort_timer_chan(t)), 0);
		t0 = gort_nanotime();
		CHECK(!gort_timer_reset(t, d));
		check_fire(timer_recv(t), t0, d, "reset stopped timer");
		break;
	case 2: /* reset while active */
		t = gort_timer_new(10LL * 1000 * MS, 0);
		CHECK(t != NULL);
		t0 = gort_nanotime();
		CHECK(gort_timer_reset(t, d));
		check_fire(timer_recv(t), t0, d, "reset active timer");
		CHECK(!gort_timer_stop(t));
		break;
	case 3: { /* ticker */
		int64_t p = rnd_range(&w->rng, 100 * US, 1 * MS);
		t = gort_timer_new(p, p);
		CHECK(t != NULL);
		int64_t prev = t0;
		for (int k = 0; k < 3; k++) {
			int64_t v = timer_recv(t);
			check_fire(v, prev, k == 0 ? p : 1, "ticker");
			prev = v;
		}
		CHECK(gort_timer_stop(t)); /* a ticker is always active */
		CHECK(!gort_timer_stop(t));
		break;
	}
	default: /* freed while it may be firing */
		t = gort_timer_new(d / 4, 0);
		CHECK(t != NULL);
		if (rnd(&w->rng) % 2)
			gort_gosched();
		break;
	}
	gort_timer_free(t);
}

/* ---------------------------------------------------------------------
 * Blocking calls and locked threads.
 * ------------------------------------------------------------------- */

static void op_syscall(struct worker *w)
{
	int64_t us = rnd_range(&w->rng, 10, 300);
	int e = (int)rnd_range(&w->rng, 1, 100);
	if (rnd(&w->rng) % 3 == 0)
		gort_entersyscall_block();
	else
		gort_entersyscall();
	usleep((useconds_t)us);
	write_errno(e);
	gort_exitsyscall();
	if (read_errno() != e)
		FAILF("gort_exitsyscall changed errno %d to %d", e, read_errno());
}

static int tid(void)
{
	return (int)syscall(SYS_gettid);
}

static void op_locked(struct worker *w)
{
	gort_lock_os_thread();
	bool nested = rnd(&w->rng) % 2;
	if (nested)
		gort_lock_os_thread();
	int me = tid();
	for (int k = 0; k < 4; k++) {
		switch (rnd(&w->rng) % 5) {
		case 0:
			gort_gosched();
			break;
		case 1:
			gort_sleep(rnd_range(&w->rng, 0, 300 * US));
			break;
		case 2:
			mutex_inc(&w->rng, false);
			break;
		case 3:
			op_syscall(w);
			break;
		default:
			op_select(w);
			break;
		}
		if (tid() != me)
			FAILF("a goroutine locked to thread %d ran on %d", me, tid());
	}
	if (nested)
		gort_unlock_os_thread();
	gort_unlock_os_thread();
}

/* ---------------------------------------------------------------------
 * Pipes on the netpoller.
 * ------------------------------------------------------------------- */

static void fd_acquire(void)
{
	CHECK_EQ(gort_chan_recv(T.fdsem, NULL), 1);
}

static void fd_release(void)
{
	CHECK_EQ(gort_chan_send(T.fdsem, NULL), 0);
}

static void make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		FAILF("pipe2: %s", strerror(read_errno()));
}

struct stream {
	int fd;
	size_t len;
	unsigned char salt;
	uint64_t rng;
	gort_waitgroup wg;
};

static unsigned char stream_byte(const struct stream *s, size_t i)
{
	return (unsigned char)(i * 7 + (i >> 9) + s->salt);
}

static void stream_writer(void *arg)
{
	struct stream *s = arg;
	unsigned char buf[16384];
	size_t off = 0;
	while (off < s->len) {
		size_t n = (size_t)rnd_range(&s->rng, 1, sizeof(buf));
		if (n > s->len - off)
			n = s->len - off;
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte(s, off + i);
		ssize_t r = gort_write(s->fd, buf, n);
		if (r != (ssize_t)n)
			FAILF("gort_write of %zu: %zd errno %d", n, r, read_errno());
		off += n;
	}
	CHECK_EQ(gort_close(s->fd), 0);
	gort_wg_done(&s->wg);
}

static void op_pipe_stream(struct worker *w)
{
	int p[2];
	fd_acquire();
	make_pipe(p);
	struct stream s = {.fd = p[1],
	                   .len = (size_t)rnd_range(&w->rng, 0, 256 * 1024),
	                   .salt = (unsigned char)rnd(&w->rng),
	                   .rng = rnd(&w->rng) | 1};
	CHECK_EQ(gort_wg_add(&s.wg, 1), 0);
	go(stream_writer, &s);
	unsigned char buf[8192];
	size_t off = 0;
	for (;;) {
		size_t n = (size_t)rnd_range(&w->rng, 1, sizeof(buf));
		ssize_t r = gort_read(p[0], buf, n);
		if (r < 0)
			FAILF("gort_read: errno %d", read_errno());
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != stream_byte(&s, off + (size_t)i))
				FAILF("pipe stream: byte %zu wrong", off + (size_t)i);
		off += (size_t)r;
	}
	CHECK_EQ(gort_wg_wait(&s.wg), 0);
	if (off != s.len)
		FAILF("pipe stream: read %zu bytes of %zu", off, s.len);
	CHECK_EQ(gort_close(p[0]), 0);
	fd_release();
}

static void expect_timeout(int64_t deadline, const char *what)
{
	if (read_errno() != ETIMEDOUT)
		FAILF("%s: errno %d, want ETIMEDOUT", what, read_errno());
	if (gort_nanotime() < deadline)
		FAILF("%s: ETIMEDOUT %lld ns before the deadline", what,
		      (long long)(deadline - gort_nanotime()));
}

static void op_pipe_deadline(struct worker *w)
{
	int p[2];
	char b = 0;
	fd_acquire();
	make_pipe(p);
	int64_t d = rnd_range(&w->rng, 50 * US, 2 * MS);
	int64_t dl = gort_nanotime() + d;
	CHECK_EQ(gort_set_deadline(p[0], GORT_READ, dl), 0);
	write_errno(0);
	CHECK_EQ(gort_read(p[0], &b, 1), -1);
	expect_timeout(dl, "read deadline");
	CHECK_EQ(gort_write(p[1], "x", 1), 1);
	CHECK_FAILS(gort_read(p[0], &b, 1), ETIMEDOUT); /* it stays */
	CHECK_EQ(gort_set_deadline(p[0], GORT_READ, 0), 0);
	CHECK_EQ(gort_read(p[0], &b, 1), 1);
	CHECK_EQ(b, 'x');

	dl = gort_nanotime() + d;
	write_errno(0);
	CHECK_EQ(gort_fd_wait(p[0], GORT_READ, dl), -1);
	expect_timeout(dl, "fd_wait deadline");
	CHECK_EQ(gort_write(p[1], "y", 1), 1);
	CHECK((gort_fd_wait(p[0], GORT_READ, 0) & GORT_READ) != 0);

	CHECK_EQ(gort_set_deadline(p[1], GORT_WRITE, gort_nanotime() - 1), 0);
	CHECK_FAILS(gort_write(p[1], "z", 1), ETIMEDOUT);
	CHECK_EQ(gort_read(p[0], &b, 1), 1);
	CHECK_EQ(b, 'y');
	CHECK_EQ(gort_close(p[0]), 0);
	CHECK_EQ(gort_close(p[1]), 0);
	fd_release();
}

/* ---------------------------------------------------------------------
 * CPU spinning, with no runtime call: only sysmon's preemption (a
 * signal) takes the P from it meanwhile.
 * ------------------------------------------------------------------- */

static void op_spin(struct worker *w)
{
	int64_t d = rnd_range(&w->rng, 1 * MS, HARNESS_SANITIZED ? 5 * MS : 25 * MS);
	bool off = rnd(&w->rng) % 4 == 0;
	if (off)
		gort_preempt_off(); /* past 20 ms its P goes to another M */
	int64_t t0 = harness_now();
	volatile uint64_t x = 0;
	while (harness_now() - t0 < d)
		x++;
	if (off)
		gort_preempt_on();
	else if (d >= 12 * MS)
		atomic_fetch_add(&T.spins_long, 1);
}

/* ---------------------------------------------------------------------
 * Workers, controller, plain thread.
 * ------------------------------------------------------------------- */

static void worker(void *arg)
{
	struct worker *w = arg;
	while (gort_nanotime() < T.end) {
		switch (rnd(&w->rng) % 20) {
		case 0:
		case 1:
		case 2:
			op_send(w);
			break;
		case 3:
			op_try_recv(w);
			break;
		case 4:
		case 5:
			op_select(w);
			break;
		case 6:
			op_select_ready(w);
			break;
		case 7:
			op_close_drain(w);
			break;
		case 8:
			mutex_inc(&w->rng, true);
			break;
		case 9:
			op_rw(w);
			break;
		case 10:
			cond_produce(rnd(&w->rng) % 4 == 0);
			break;
		case 11:
			do_once((int)(rnd(&w->rng) % NONCE));
			break;
		case 12:
			op_tree(w);
			break;
		case 13:
			op_sleep(w);
			break;
		case 14:
			op_timer(w);
			break;
		case 15:
			op_syscall(w);
			break;
		case 16:
			op_locked(w);
			break;
		case 17:
			if (rnd(&w->rng) % 2)
				op_pipe_stream(w);
			else
				op_pipe_deadline(w);
			break;
		case 18:
			op_spin(w);
			break;
		default:
			gort_gosched();
			break;
		}
		atomic_fetch_add(&T.ops, 1);
	}
	gort_wg_done(&T.workers_wg);
}

/* The reports and the flight recorder, beside everything else: they read
 * every P, M and goroutine while those change. */
static void observe(uint64_t *rng)
{
	switch (rnd(rng) % 8) {
	case 0:
		gort_schedtrace(T.devnull, rnd(rng) % 2);
		break;
	case 1:
		gort_dump_goroutines(T.devnull);
		break;
	case 2:
		if (T.flight_path[0] != '\0')
			CHECK_EQ(gort_trace_flight_dump(T.flight_path), 0);
		break;
	default:
		break;
	}
}

static void controller(void *arg)
{
	(void)arg;
	uint64_t rng = T.seed * 0x9E3779B97F4A7C15ULL + 3;
	int last = gort_gomaxprocs(0);
	while (!atomic_load(&T.stop_controller)) {
		gort_sleep(rnd_range(&rng, 500 * US, 8 * MS));
		int n = (int)rnd_range(&rng, 1, 4);
		int prev = gort_gomaxprocs(n);
		if (prev != last)
			FAILF("gort_gomaxprocs(%d) returned %d, last set %d", n, prev, last);
		CHECK_EQ(gort_gomaxprocs(0), n);
		gort_stats s;
		CHECK_EQ(gort_read_stats(&s), 0);
		CHECK_EQ(s.gomaxprocs, n);
		CHECK(s.idleprocs >= 0 && s.idleprocs <= s.gomaxprocs);
		CHECK(s.threads >= 1);
		last = n;
		atomic_fetch_add(&T.resizes, 1);
		observe(&rng);
	}
	gort_wg_done(&T.controller_wg);
}

static void plain_child(void *arg)
{
	(void)arg;
	atomic_fetch_add(&T.plain_children, 1);
	gort_wg_done(&T.plain_wg);
}

/* A thread that is not a goroutine uses the shared channels (blocking
 * there) and the sync objects, makes goroutines and timers beside the
 * workers. */
static void *plain_thread(void *arg)
{
	(void)arg;
	struct worker pw = {.id = NWORKERS, .rng = T.seed + 99};
	uint64_t rng = T.seed + 98;
	while (gort_nanotime() < T.end) {
		switch (rnd(&rng) % 9) {
		case 6:
			op_send(&pw);
			break;
		case 7:
			op_select(&pw);
			break;
		case 8:
			op_try_recv(&pw);
			break;
		case 0:
			mutex_inc(&rng, false);
			break;
		case 1:
			rw_write(&rng, false);
			break;
		case 2:
			cond_produce(rnd(&rng) % 2);
			break;
		case 3:
			CHECK_EQ(gort_wg_add(&T.plain_wg, 1), 0);
			go(plain_child, NULL);
			break;
		case 4: {
			gort_timer *t = gort_timer_new(1000 * MS, 0);
			CHECK(t != NULL);
			CHECK(gort_timer_stop(t));
			gort_timer_free(t);
			break;
		}
		default:
			do_once((int)(rnd(&rng) % NONCE));
			break;
		}
		if (rnd(&rng) % 4 == 0)
			harness_sleep_ms(1);
	}
	CHECK_EQ(gort_wg_wait(&T.plain_wg), 0);
	return NULL;
}

/* ---------------------------------------------------------------------
 * One run.
 * ------------------------------------------------------------------- */

static int64_t run_ms(void)
{
	const char *e = getenv("GORT_TORTURE_MS");
	return e != NULL && atoll(e) > 0 ? atoll(e) : 2500;
}

static void check_tallies(void)
{
	for (int i = 0; i < NCH; i++) {
		unsigned long long sn = atomic_load(&T.sent[i].n),
		                   rn = atomic_load(&T.recvd[i].n);
		if (sn != rn || atomic_load(&T.sent[i].sum) != atomic_load(&T.recvd[i].sum) ||
		    atomic_load(&T.sent[i].hash) != atomic_load(&T.recvd[i].hash))
			FAILF("channel %d (cap %zu): %llu values sent, %llu "
			      "received, or not the same ones",
			      i, chan_caps[i], sn, rn);
		CHECK_EQ(gort_chan_len(T.ch[i]), 0);
	}
}

static void check_stats(void)
{
	wait_only_main();
	gort_stats s;
	CHECK_EQ(gort_read_stats(&s), 0);
	CHECK_EQ(s.goroutines, 1);
	CHECK_EQ(gort_numgoroutine(), 1);
	CHECK_EQ(s.gomaxprocs, gort_gomaxprocs(0));
	CHECK(s.idleprocs >= 0 && s.idleprocs <= s.gomaxprocs);
	CHECK(s.threads >= 1);
	CHECK(s.runqueue >= 0);
	long long created = atomic_load(&T.created);
	if ((long long)s.goroutines_created < created)
		FAILF("stats: %llu goroutines created, the test made %lld",
		      (unsigned long long)s.goroutines_created, created);
	if ((long long)s.context_switches < created)
		FAILF("stats: %llu goroutine starts for %lld goroutines that ran",
		      (unsigned long long)s.context_switches, created);
	if ((long long)s.timers_fired < atomic_load(&T.timers_seen))
		FAILF("stats: %llu timers fired, %lld firings received",
		      (unsigned long long)s.timers_fired,
		      (long long)atomic_load(&T.timers_seen));
	CHECK(s.steals_won <= s.steals_tried);
	const char *godebug = getenv("GODEBUG");
	bool async = !HARNESS_SANITIZED && !harness_emulated() &&
	             (godebug == NULL || strstr(godebug, "asyncpreemptoff=1") == NULL);
	if (async && atomic_load(&T.spins_long) > 20 && s.preempt_async == 0)
		FAILF("stats: no asynchronous preemption after %lld spins "
		      "longer than a time slice", (long long)atomic_load(&T.spins_long));
	printf("     %lld ops, %lld goroutines, %d resizes, %lld timer firings, "
	       "%llu preemptions, %llu handoffs, %llu steals, %lld threads\n",
	       (long long)atomic_load(&T.ops), created, atomic_load(&T.resizes),
	       (long long)atomic_load(&T.timers_seen),
	       (unsigned long long)(s.preempt_async + s.preempt_coop),
	       (unsigned long long)s.handoffs, (unsigned long long)s.steals_won,
	       (long long)s.threads);
}

static int torture_main(void *arg)
{
	(void)arg;
	T.end = gort_nanotime() + run_ms() * MS;
	for (int i = 0; i < NCH; i++)
		T.ch[i] = make_chan(sizeof(uint64_t), chan_caps[i]);
	T.fdsem = make_chan(0, FDSEM);
	for (int i = 0; i < FDSEM; i++)
		fd_release();

	CHECK_EQ(gort_wg_add(&T.consumers_wg, 2 * NCH + NMULTI), 0);
	for (int i = 0; i < NCH; i++) {
		go(consumer, (void *)(intptr_t)i);
		go(consumer, (void *)(intptr_t)i);
	}
	for (int i = 0; i < NMULTI; i++)
		go(multi_consumer, (void *)(intptr_t)i);
	CHECK_EQ(gort_wg_add(&T.cond_wg, NCOND_CONSUMERS), 0);
	for (int i = 0; i < NCOND_CONSUMERS; i++)
		go(cond_consumer, NULL);
	if (T.resize) {
		T.devnull = fopen("/dev/null", "w");
		CHECK(T.devnull != NULL);
		snprintf(T.flight_path, sizeof(T.flight_path),
		         "/tmp/gort-torture-%d.trace", (int)getpid());
		CHECK_EQ(gort_trace_flight_start(256 * 1024), 0);
		CHECK_EQ(gort_wg_add(&T.controller_wg, 1), 0);
		go(controller, NULL);
	}
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, plain_thread, NULL), 0);
	CHECK_EQ(gort_wg_add(&T.workers_wg, NWORKERS), 0);
	for (int i = 0; i < NWORKERS; i++) {
		workers[i] = (struct worker){.id = i,
		                             .rng = mix(T.seed + (uint64_t)i * 1000003) | 1};
		go(worker, &workers[i]);
	}

	CHECK_EQ(gort_wg_wait(&T.workers_wg), 0);
	atomic_store(&T.stop_controller, true);
	if (T.resize) {
		CHECK_EQ(gort_wg_wait(&T.controller_wg), 0);
		CHECK_EQ(gort_trace_flight_stop(), 0);
		unlink(T.flight_path);
		fclose(T.devnull);
	}
	join_thread(th);

	for (int i = 0; i < NCH; i++) {
		atomic_store(&T.closed[i], true);
		CHECK_EQ(gort_chan_close(T.ch[i]), 0);
		CHECK_FAILS(gort_chan_close(T.ch[i]), EPIPE);
	}
	CHECK_EQ(gort_wg_wait(&T.consumers_wg), 0);
	check_tallies();

	gort_mutex_lock(&T.cmu);
	T.cond_shutdown = true;
	gort_cond_broadcast(&T.cond);
	gort_mutex_unlock(&T.cmu);
	CHECK_EQ(gort_wg_wait(&T.cond_wg), 0);
	CHECK_EQ(T.tokens, 0);
	CHECK_EQ(atomic_load(&T.consumed), atomic_load(&T.produced));

	CHECK_EQ(T.mu_counter, atomic_load(&T.mu_incs));
	CHECK_EQ(T.rw_a, atomic_load(&T.rw_writes));
	CHECK_EQ(T.rw_b, T.rw_a);
	for (int i = 0; i < NONCE; i++)
		CHECK(atomic_load(&T.once_runs[i]) <= 1);
	CHECK_EQ(gort_chan_len(T.fdsem), FDSEM);
	check_stats();

	for (int i = 0; i < NCH; i++)
		gort_chan_free(T.ch[i]);
	gort_chan_free(T.fdsem);
	return 0;
}

static unsigned base_seed;

static void torture(unsigned salt, int procs, bool resize)
{
	memset(&T, 0, sizeof(T));
	T.seed = base_seed * 2654435761u + salt;
	T.resize = resize;
	run_main(torture_main, NULL, procs);
}

static void torture_p1(void)
{
	torture(1, 1, false);
}

static void torture_p4(void)
{
	torture(2, 4, false);
}

static void torture_resize(void)
{
	torture(3, 2, true);
}

int main(int argc, char **argv)
{
	const char *env = getenv("GORT_TEST_SEED");
	base_seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	printf("     seed %u (GORT_TEST_SEED=%u repeats it), %d workers, %lld ms a case\n",
	       base_seed, base_seed, NWORKERS, (long long)run_ms());
	fflush(stdout);
	static const struct harness_case cases[] = {
		{"torture_p1", torture_p1},
		{"torture_p4", torture_p4},
		{"torture_resize", torture_resize},
	};
	run_named(argc, argv, cases, sizeof(cases) / sizeof(cases[0]),
	          20 + (double)run_ms() / 1000);
	PASS("torture_test");
	return 0;
}
