/*
 * select_test proves that gort_select behaves as Go's select:
 *  - with nothing ready a non-blocking select returns -1 with EAGAIN
 *    (the default branch) and changes nothing, n == 0 included;
 *  - a ready receive (buffered value, parked sender, closed channel:
 *    ok false and elem zeroed) and a ready send (room in a buffer, parked
 *    receiver, closed channel: ok false) run, and only the ready case
 *    runs, whichever its position, blocking or not;
 *  - a case whose channel is NULL never fires, in either direction;
 *    a blocking select with only NULL cases (and with n == 0) stays
 *    blocked: its goroutine has not returned 200 ms later, and is
 *    parked [select] (with n == 0, [select (no cases)]), as in Go;
 *  - bad input: n < 0, NULL cases with n > 0, a dir other than
 *    GORT_SEND/GORT_RECV (on a real or a NULL channel, beside a ready
 *    case, blocking or not) and n > GORT_SELECT_MAX give -1 EINVAL and
 *    touch no channel; NULL cases with n == 0 is the default branch;
 *  - GORT_SELECT_MAX cases work, non-blocking and parked on two
 *    channels that recur 32768 times each;
 *  - a send and a receive case on the same channel: a buffered channel
 *    runs whichever is ready (both, at random, when both are); on an
 *    unbuffered one a select never pairs with itself, a parked one is
 *    completed by a plain receive or send, and two goroutines running
 *    such selects pair with each other only;
 *  - close while selects are parked: receive cases run with ok false
 *    and elem zeroed, send cases with ok false, and a woken select
 *    leaves nothing behind on its other channels; a select with a send
 *    and a receive case on the closing channel runs the receive, as
 *    Go's does (never the send, where Go would panic);
 *  - close wins a select parked behind 200 receivers on the closing
 *    channel: a thread woken by the same close cannot then complete the
 *    select by a send on its other channel;
 *  - one winner: a select parked on two channels that become ready at
 *    once (two senders, or two receivers) completes one case; the other
 *    peer stays blocked and its value is not lost;
 *  - fairness: among always-ready cases each is chosen with frequency
 *    within 8.5 standard deviations of uniform (binomial bound, see
 *    there), with the ready cases adjacent among non-ready ones; and
 *    the whole distribution of the case chosen is uniform for 2, 3, 5
 *    and 7 ready cases, alone or among NULL and never-ready ones, in a
 *    goroutine and on a plain thread (chi-square, false failure below
 *    1e-9, see there); a plain thread and the copy of it in a process
 *    it forks do not go on to choose the same cases;
 *  - no value is delivered twice or lost when producers (select over
 *    send cases and a receive case, some non-blocking) and consumers
 *    (select over receive cases, NULLing closed channels) race over two
 *    buffered and two unbuffered channels, at GOMAXPROCS 1, 2 and 4:
 *    exact counts per value;
 *  - nor while the channels close one by one under the same kind of
 *    traffic (a producer also receiving on a channel it sends on, a
 *    plain thread among the consumers), at GOMAXPROCS 1 and 4: each
 *    value is received once or, its send cases all closed, given up,
 *    never both;
 *  - 1 KiB elements go through select cases intact;
 *  - a channel of a select that another of its channels completed can
 *    be freed at once by the goroutine that completed it, before the
 *    select has returned (the free waits for it), at GOMAXPROCS 1 and 2;
 *    so can the channel that completed it, and one whose sudog a later
 *    try_send took out;
 *  - a plain thread (not a goroutine) runs blocking and non-blocking
 *    selects woken by goroutines;
 *  - a timer channel as a timeout: a select on a never-ready channel and
 *    a 50 ms timer returns the timer case after at least 50 ms (the value
 *    is the fire time) and not seconds later; a channel that becomes
 *    ready first wins over a long timer;
 *  - a main goroutine in a select that can never run is Go's deadlock:
 *    "fatal error: all goroutines are asleep - deadlock!", status 2.
 */
#include "gort_util.h"

static gort_case rcase(gort_chan *c, void *elem)
{
	return (gort_case){.chan = c, .dir = GORT_RECV, .elem = elem};
}

static gort_case scase(gort_chan *c, void *elem)
{
	return (gort_case){.chan = c, .dir = GORT_SEND, .elem = elem};
}

/* ---------------------------------------------------------------------
 * Non-blocking select with nothing ready
 * ------------------------------------------------------------------- */

static int default_main(void *arg)
{
	(void)arg;
	gort_chan *u = make_chan(sizeof(int), 0);
	gort_chan *empty = make_chan(sizeof(int), 2);
	gort_chan *full = make_chan(sizeof(int), 1);
	int one = 1;
	CHECK_EQ(gort_chan_send(full, &one), 0);
	int a = 11, b = 12, x = 13, y = 14;
	gort_case cs[5] = {rcase(u, &x), scase(u, &a), rcase(empty, &y),
	                   scase(full, &b), rcase(NULL, &x)};
	for (int i = 0; i < 100; i++)
		CHECK_FAILS(gort_select(cs, 5, false), EAGAIN);
	CHECK_EQ(x, 13);
	CHECK_EQ(y, 14);
	CHECK_EQ(gort_chan_len(empty), 0);
	CHECK_EQ(gort_chan_len(full), 1);
	CHECK_FAILS(gort_select(cs, 0, false), EAGAIN);
	CHECK_FAILS(gort_select(NULL, 0, false), EAGAIN);
	/* Nothing was left behind on the channels. */
	CHECK_FAILS(gort_chan_try_send(u, &a), EAGAIN);
	CHECK_FAILS(gort_chan_try_recv(u, &a), EAGAIN);
	gort_chan_free(u);
	gort_chan_free(empty);
	gort_chan_free(full);
	return 0;
}

MAIN_CASE(nonblocking_default, default_main, 2)

/* ---------------------------------------------------------------------
 * Ready cases
 * ------------------------------------------------------------------- */

static int ready_main(void *arg)
{
	(void)arg;
	gort_chan *never = make_chan(sizeof(int), 0);
	gort_chan *buf = make_chan(sizeof(int), 1);
	int x = 0, v = 0;

	for (int i = 0; i < 200; i++) {
		bool block = i % 2;
		/* A buffered value: the receive runs, wherever it is. */
		v = 1000 + i;
		CHECK_EQ(gort_chan_send(buf, &v), 0);
		x = -1;
		int pos = i % 3;
		gort_case cs[3] = {rcase(never, NULL), rcase(never, NULL),
		                   rcase(never, NULL)};
		cs[pos] = rcase(buf, &x);
		cs[(pos + 1) % 3].dir = GORT_SEND;
		cs[(pos + 1) % 3].elem = &v;
		CHECK_EQ(gort_select(cs, 3, block), pos);
		CHECK(cs[pos].ok);
		CHECK_EQ(x, 1000 + i);
		CHECK_EQ(gort_chan_len(buf), 0);

		/* Room in the buffer: the send runs. */
		v = 2000 + i;
		cs[pos] = scase(buf, &v);
		CHECK_EQ(gort_select(cs, 3, block), pos);
		CHECK(cs[pos].ok);
		CHECK_EQ(gort_chan_len(buf), 1);
		CHECK_EQ(gort_chan_recv(buf, &x), 1);
		CHECK_EQ(x, 2000 + i);
	}

	/* A parked sender makes a receive ready; a parked receiver a send. */
	gort_chan *u = make_chan(sizeof(int), 0);
	struct peer p;
	park_peer(peer_send, &p, u, 77);
	gort_case cs[2] = {rcase(never, &x), rcase(u, &x)};
	x = 0;
	CHECK_EQ(gort_select(cs, 2, false), 1);
	CHECK(cs[1].ok);
	CHECK_EQ(x, 77);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);

	park_peer(peer_recv, &p, u, 0);
	v = 78;
	cs[1] = scase(u, &v);
	CHECK_EQ(gort_select(cs, 2, true), 1);
	CHECK(cs[1].ok);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 1);
	CHECK_EQ(p.val, 78);

	/* A closed channel: the receive runs with ok false and elem zeroed,
	 * the send with ok false. */
	gort_chan *closed = make_chan(sizeof(int), 3);
	CHECK_EQ(gort_chan_close(closed), 0);
	x = 55;
	cs[1] = rcase(closed, &x);
	cs[1].ok = true;
	CHECK_EQ(gort_select(cs, 2, false), 1);
	CHECK(!cs[1].ok);
	CHECK_EQ(x, 0);
	cs[1] = scase(closed, &v);
	cs[1].ok = true;
	CHECK_EQ(gort_select(cs, 2, true), 1);
	CHECK(!cs[1].ok);
	CHECK_EQ(gort_chan_len(closed), 0);

	/* A buffered value survives the close and comes first. */
	gort_chan *drain = make_chan(sizeof(int), 2);
	v = 9;
	CHECK_EQ(gort_chan_send(drain, &v), 0);
	CHECK_EQ(gort_chan_close(drain), 0);
	cs[1] = rcase(drain, &x);
	CHECK_EQ(gort_select(cs, 2, true), 1);
	CHECK(cs[1].ok);
	CHECK_EQ(x, 9);
	CHECK_EQ(gort_select(cs, 2, true), 1);
	CHECK(!cs[1].ok);

	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(never);
	gort_chan_free(buf);
	gort_chan_free(u);
	gort_chan_free(closed);
	gort_chan_free(drain);
	return 0;
}

MAIN_CASE(ready_cases, ready_main, 1)

/* ---------------------------------------------------------------------
 * NULL channels
 * ------------------------------------------------------------------- */

static int null_main(void *arg)
{
	(void)arg;
	gort_chan *buf = make_chan(sizeof(int), 1);
	int x = 0, v = 5;
	for (int i = 0; i < 200; i++) {
		int pos = i % 4;
		gort_case cs[4] = {rcase(NULL, &x), scase(NULL, &v),
		                   rcase(NULL, NULL), scase(NULL, &v)};
		CHECK_FAILS(gort_select(cs, 4, false), EAGAIN);
		CHECK_EQ(gort_chan_try_send(buf, &i), 0);
		cs[pos] = rcase(buf, &x);
		CHECK_EQ(gort_select(cs, 4, i % 2), pos);
		CHECK(cs[pos].ok);
		CHECK_EQ(x, i);
	}
	gort_chan_free(buf);
	return 0;
}

MAIN_CASE(null_cases, null_main, 2)

static atomic_int null_returned;
static gort_case null_only[3];

static void null_selector(void *arg)
{
	int n = (int)(intptr_t)arg;
	gort_select(n ? null_only : NULL, n, true);
	atomic_fetch_add(&null_returned, 1); /* must never happen */
}

static int null_blocks_main(void *arg)
{
	(void)arg;
	int x;
	null_only[0] = rcase(NULL, &x);
	null_only[1] = scase(NULL, &x);
	null_only[2] = rcase(NULL, NULL);
	int64_t three = gort_go(null_selector, (void *)(intptr_t)3);
	int64_t one = gort_go(null_selector, (void *)(intptr_t)1);
	int64_t none = gort_go(null_selector, (void *)(intptr_t)0);
	CHECK(three > 0 && one > 0 && none > 0);
	/* Parked as Go parks them: a select of NULL channels as any select,
	 * "select {}" as one with no cases. */
	wait_parked(three, "select");
	wait_parked(one, "select");
	wait_parked(none, "select (no cases)");
	int64_t t0 = gort_nanotime();
	gort_sleep(200 * MS);
	CHECK(gort_nanotime() - t0 >= 200 * MS);
	CHECK_EQ(atomic_load(&null_returned), 0);
	CHECK_EQ(gort_numgoroutine(), 4);
	/* Main returns: the three stay blocked and are abandoned. */
	return 0;
}

MAIN_CASE(null_only_blocks, null_blocks_main, 2)

/* ---------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------- */

static int bad_main(void *arg)
{
	(void)arg;
	gort_chan *buf = make_chan(sizeof(int), 2);
	int v = 3, x = 0;
	CHECK_EQ(gort_chan_send(buf, &v), 0);
	gort_case cs[3] = {rcase(buf, &x), scase(buf, &v), rcase(NULL, &x)};

	CHECK_FAILS(gort_select(cs, -1, false), EINVAL);
	CHECK_FAILS(gort_select(cs, -1, true), EINVAL);
	CHECK_FAILS(gort_select(cs, INT_MIN, true), EINVAL);
	CHECK_FAILS(gort_select(NULL, 1, false), EINVAL);
	CHECK_FAILS(gort_select(NULL, 3, true), EINVAL);
	CHECK_FAILS(gort_select(cs, GORT_SELECT_MAX + 1, false), EINVAL);
	CHECK_FAILS(gort_select(cs, INT_MAX, true), EINVAL);

	static const int bad_dirs[] = {0, 3, -1, 4, GORT_SEND | GORT_RECV,
	                               INT_MAX, INT_MIN};
	for (size_t i = 0; i < sizeof bad_dirs / sizeof *bad_dirs; i++) {
		for (int pos = 0; pos < 3; pos++) {
			gort_case bad[3] = {rcase(buf, &x), scase(buf, &v),
			                    rcase(NULL, &x)};
			bad[pos].dir = bad_dirs[i];
			/* Ready cases beside the bad one must not run. */
			CHECK_FAILS(gort_select(bad, 3, true), EINVAL);
			CHECK_FAILS(gort_select(bad, 3, false), EINVAL);
			CHECK_EQ(gort_chan_len(buf), 1);
		}
		/* A bad dir on a NULL channel is bad input too. */
		gort_case lone = rcase(NULL, &x);
		lone.dir = bad_dirs[i];
		CHECK_FAILS(gort_select(&lone, 1, false), EINVAL);
		CHECK_FAILS(gort_select(&lone, 1, true), EINVAL);
	}
	CHECK_EQ(x, 0);
	CHECK_EQ(gort_chan_len(buf), 1);
	CHECK_EQ(gort_chan_recv(buf, &x), 1);
	CHECK_EQ(x, 3);
	gort_chan_free(buf);
	return 0;
}

MAIN_CASE(bad_input, bad_main, 1)

/* ---------------------------------------------------------------------
 * GORT_SELECT_MAX cases
 * ------------------------------------------------------------------- */

static gort_case *max_cases;
static gort_chan *max_a, *max_b;
static atomic_int max_state;
static int max_rc;

static void max_selector(void *arg)
{
	(void)arg;
	atomic_store(&max_state, 1);
	max_rc = gort_select(max_cases, GORT_SELECT_MAX, true);
	atomic_store(&max_state, 2);
	gort_wg_done(&helpers_wg);
}

static int max_main(void *arg)
{
	(void)arg;
	max_cases = calloc(GORT_SELECT_MAX, sizeof *max_cases);
	CHECK(max_cases != NULL);
	gort_chan *ready = make_chan(sizeof(int), 1);
	int v = 21, x = 0;
	CHECK_EQ(gort_chan_send(ready, &v), 0);
	for (int i = 0; i < GORT_SELECT_MAX; i++)
		max_cases[i] = rcase(NULL, &x);
	max_cases[GORT_SELECT_MAX - 1] = rcase(ready, &x);
	CHECK_EQ(gort_select(max_cases, GORT_SELECT_MAX, false),
	         GORT_SELECT_MAX - 1);
	CHECK_EQ(x, 21);
	CHECK_FAILS(gort_select(max_cases, GORT_SELECT_MAX, false), EAGAIN);

	/* Parked on two channels, each in 32768 cases. */
	max_a = make_chan(sizeof(int), 0);
	max_b = make_chan(sizeof(int), 0);
	for (int i = 0; i < GORT_SELECT_MAX; i++)
		max_cases[i] = rcase(i % 2 ? max_b : max_a, &x);
	CHECK_FAILS(gort_select(max_cases, GORT_SELECT_MAX, false), EAGAIN);
	x = 0;
	start_helper(max_selector, NULL);
	wait_flag(&max_state, 1);
	settle();
	CHECK_EQ(atomic_load(&max_state), 1);
	v = 22;
	CHECK_EQ(gort_chan_send(max_b, &v), 0);
	wait_flag(&max_state, 2);
	CHECK(max_rc >= 0 && max_rc < GORT_SELECT_MAX);
	CHECK_EQ(max_rc % 2, 1);
	CHECK(max_cases[max_rc].ok);
	CHECK_EQ(x, 22);
	/* No sudog was left on either channel. */
	CHECK_FAILS(gort_chan_try_send(max_a, &v), EAGAIN);
	CHECK_FAILS(gort_chan_try_send(max_b, &v), EAGAIN);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(max_a);
	gort_chan_free(max_b);
	gort_chan_free(ready);
	free(max_cases);
	return 0;
}

MAIN_CASE(select_max, max_main, 2)

/* ---------------------------------------------------------------------
 * A send and a receive case on the same channel
 * ------------------------------------------------------------------- */

#define PAIR_ROUNDS SCALE(5000)

struct pairer {
	int id;
	gort_chan *c;
	int sent, received;
	int last_from_other;
};

static void pairer_run(void *arg)
{
	struct pairer *p = arg;
	p->last_from_other = -1;
	for (int i = 0; i < PAIR_ROUNDS; i++) {
		int mine = p->id * 1000000 + p->sent;
		int got = -1;
		gort_case cs[2] = {scase(p->c, &mine), rcase(p->c, &got)};
		int r = gort_select(cs, 2, true);
		CHECK(r == 0 || r == 1);
		CHECK(cs[r].ok);
		if (r == 0) {
			p->sent++;
			continue;
		}
		p->received++;
		int from = got / 1000000;
		int seq = got % 1000000;
		if (from == p->id)
			FAILF("goroutine %d received its own value %d", p->id, got);
		if (seq <= p->last_from_other)
			FAILF("goroutine %d received %d after %d", p->id, seq,
			      p->last_from_other);
		p->last_from_other = seq;
	}
	gort_wg_done(&helpers_wg);
}

static int same_main(void *arg)
{
	(void)arg;
	int v = 0, x = 0;

	/* Buffered, cap 1: only one of the two is ever ready. */
	gort_chan *b1 = make_chan(sizeof(int), 1);
	for (int i = 0; i < 200; i++) {
		v = i;
		gort_case cs[2] = {scase(b1, &v), rcase(b1, &x)};
		if (i % 2)
			cs[0] = rcase(b1, &x), cs[1] = scase(b1, &v);
		int send_idx = i % 2;
		CHECK_EQ(gort_select(cs, 2, i % 4 < 2), send_idx);
		CHECK_EQ(gort_chan_len(b1), 1);
		x = -1;
		CHECK_EQ(gort_select(cs, 2, i % 4 >= 2), 1 - send_idx);
		CHECK_EQ(x, i);
		CHECK_EQ(gort_chan_len(b1), 0);
	}

	/* Buffered, cap 2, one value in: both ready, both get chosen. */
	gort_chan *b2 = make_chan(sizeof(int), 2);
	int sends = 0, recvs = 0;
	v = 4;
	CHECK_EQ(gort_chan_send(b2, &v), 0);
	for (int i = 0; i < 1000; i++) {
		gort_case cs[2] = {scase(b2, &v), rcase(b2, &x)};
		int r = gort_select(cs, 2, false);
		CHECK(r == 0 || r == 1);
		if (r == 0) {
			sends++;
			CHECK_EQ(gort_chan_recv(b2, &x), 1);
		} else {
			recvs++;
			CHECK_EQ(gort_chan_send(b2, &v), 0);
		}
		CHECK_EQ(gort_chan_len(b2), 1);
	}
	/* Both below 1000 unless the choice is not random: each round is
	 * a fair coin, so 1000 of the same has probability 2^-999. */
	CHECK(sends > 0 && recvs > 0);

	/* Unbuffered: a select does not pair with itself. */
	gort_chan *u = make_chan(sizeof(int), 0);
	gort_case cs[2] = {scase(u, &v), rcase(u, &x)};
	CHECK_FAILS(gort_select(cs, 2, false), EAGAIN);

	/* A parked one is completed by a plain receive, then a send. */
	struct peer p;
	p.n = 2;
	p.vals[0] = 31;
	p.cases[0] = scase(u, &p.vals[0]);
	p.cases[1] = rcase(u, &p.vals[1]);
	park_peer(peer_select, &p, u, 0);
	CHECK_EQ(gort_chan_recv(u, &x), 1);
	CHECK_EQ(x, 31);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);
	CHECK(p.cases[0].ok);
	park_peer(peer_select, &p, u, 0);
	v = 32;
	CHECK_EQ(gort_chan_send(u, &v), 0);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 1);
	CHECK(p.cases[1].ok);
	CHECK_EQ(p.vals[1], 32);

	/* Two goroutines with such selects pair with each other only. */
	static struct pairer pa, pb;
	pa = (struct pairer){.id = 1, .c = u};
	pb = (struct pairer){.id = 2, .c = u};
	start_helper(pairer_run, &pa);
	start_helper(pairer_run, &pb);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	CHECK_EQ(pa.sent + pa.received, PAIR_ROUNDS);
	CHECK_EQ(pb.sent + pb.received, PAIR_ROUNDS);
	CHECK_EQ(pa.sent, pb.received);
	CHECK_EQ(pb.sent, pa.received);

	gort_chan_free(b1);
	gort_chan_free(b2);
	gort_chan_free(u);
	return 0;
}

MAIN_CASE(same_channel_procs1, same_main, 1)
MAIN_CASE(same_channel_procs2, same_main, 2)

/* ---------------------------------------------------------------------
 * Close while selects are parked
 * ------------------------------------------------------------------- */

#define SELECTORS 50

struct selector {
	gort_case cases[2];
	long elem[2];
	long send_val;
	int rc;
};

static atomic_int sel_blocking;
static atomic_int sel_returned;

static void close_selector(void *arg)
{
	struct selector *s = arg;
	atomic_fetch_add(&sel_blocking, 1);
	s->rc = gort_select(s->cases, 2, true);
	atomic_fetch_add(&sel_returned, 1);
	gort_wg_done(&helpers_wg);
}

/* Park n selects over {(c0, d0), (c1, d1)}; close `closing`; each must
 * return case `want` (-1: either) with ok false. */
static void close_round(int n, gort_chan *c0, int d0, gort_chan *c1, int d1,
                        gort_chan *closing, int want)
{
	static struct selector ss[SELECTORS];
	atomic_store(&sel_blocking, 0);
	atomic_store(&sel_returned, 0);
	for (int i = 0; i < n; i++) {
		struct selector *s = &ss[i];
		s->elem[0] = s->elem[1] = 0x5A5A5A5A;
		s->send_val = i;
		s->cases[0] = (gort_case){c0, d0,
		                          d0 == GORT_SEND ? (void *)&s->send_val
		                                          : (void *)&s->elem[0],
		                          true};
		s->cases[1] = (gort_case){c1, d1,
		                          d1 == GORT_SEND ? (void *)&s->send_val
		                                          : (void *)&s->elem[1],
		                          true};
		s->rc = -2;
		start_helper(close_selector, s);
	}
	wait_flag(&sel_blocking, n);
	settle();
	CHECK_EQ(atomic_load(&sel_returned), 0);
	CHECK_EQ(gort_chan_close(closing), 0);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	for (int i = 0; i < n; i++) {
		struct selector *s = &ss[i];
		if (want >= 0)
			CHECK_EQ(s->rc, want);
		else
			CHECK(s->rc == 0 || s->rc == 1);
		CHECK(!s->cases[s->rc].ok);
		if (s->cases[s->rc].dir == GORT_RECV)
			CHECK_EQ(s->elem[s->rc], 0);
	}
}

static int close_main(void *arg)
{
	(void)arg;
	long v = 1;
	/* Receive cases on two unbuffered channels; close the second. */
	gort_chan *a = make_chan(sizeof(long), 0);
	gort_chan *b = make_chan(sizeof(long), 0);
	close_round(SELECTORS, a, GORT_RECV, b, GORT_RECV, b, 1);
	CHECK_FAILS(gort_chan_try_send(a, &v), EAGAIN); /* nothing left on a */

	/* A receive and a send case; close the send's channel. */
	gort_chan *c = make_chan(sizeof(long), 0);
	gort_chan *d = make_chan(sizeof(long), 0);
	close_round(SELECTORS, c, GORT_RECV, d, GORT_SEND, d, 1);
	CHECK_FAILS(gort_chan_try_send(c, &v), EAGAIN);

	/* Send cases on a full buffer and an unbuffered channel; close the
	 * buffered one: its buffered value stays, nothing else got in. */
	gort_chan *e = make_chan(sizeof(long), 1);
	gort_chan *f = make_chan(sizeof(long), 0);
	v = 99;
	CHECK_EQ(gort_chan_send(e, &v), 0);
	close_round(SELECTORS, e, GORT_SEND, f, GORT_SEND, e, 0);
	CHECK_FAILS(gort_chan_try_recv(f, &v), EAGAIN);
	CHECK_EQ(gort_chan_len(e), 1);
	v = 0;
	CHECK_EQ(gort_chan_recv(e, &v), 1);
	CHECK_EQ(v, 99);
	CHECK_EQ(gort_chan_recv(e, &v), 0);

	/* Both cases on the channel that closes (one select: two would
	 * pair with each other): the receive runs, as in Go, whose close
	 * takes the receivers out first; the send would have panicked. */
	gort_chan *g = make_chan(sizeof(long), 0);
	close_round(1, g, GORT_SEND, g, GORT_RECV, g, 1);
	gort_chan *h = make_chan(sizeof(long), 0);
	close_round(1, h, GORT_RECV, h, GORT_SEND, h, 0);

	gort_chan *chans[] = {a, b, c, d, e, f, g, h};
	for (size_t i = 0; i < sizeof chans / sizeof *chans; i++)
		gort_chan_free(chans[i]);
	return 0;
}

MAIN_CASE(close_wakes_selects_procs1, close_main, 1)
MAIN_CASE(close_wakes_selects_procs2, close_main, 2)

/* ---------------------------------------------------------------------
 * Close wins a parked select, even behind many waiters: once anyone has
 * seen the close complete its wait, the select's other cases are gone.
 * closechan readies plain waiters in batches; a select's sudog in a
 * later batch could otherwise still be completed by a send on its other
 * channel.
 * ------------------------------------------------------------------- */

#define CLOSE_QUEUE 200 /* receivers ahead of the select: many batches */

static gort_chan *cw_c, *cw_d;
static atomic_bool cw_waiting;
static atomic_int cw_late_send; /* a send on d completed the select */

static void cw_receiver(void *arg)
{
	(void)arg;
	atomic_fetch_add(&sel_blocking, 1);
	CHECK_EQ(gort_chan_recv(cw_c, NULL), 0);
	gort_wg_done(&helpers_wg);
}

/* Queued first on c, so woken in the close's first batch. */
static void *cw_first(void *arg)
{
	(void)arg;
	atomic_store(&cw_waiting, true);
	CHECK_EQ(gort_chan_recv(cw_c, NULL), 0);
	if (gort_chan_try_send(cw_d, NULL) == 0)
		atomic_store(&cw_late_send, 1);
	else
		CHECK_EQ(errno, EAGAIN);
	return NULL;
}

static int close_wins_main(void *arg)
{
	(void)arg;
	for (int round = 0; round < 8; round++) {
		cw_c = make_chan(0, 0);
		cw_d = make_chan(0, 0);
		atomic_store(&cw_waiting, false);
		atomic_store(&cw_late_send, 0);
		atomic_store(&sel_blocking, 0);
		atomic_store(&sel_returned, 0);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, cw_first, NULL), 0);
		while (!atomic_load(&cw_waiting))
			gort_gosched();
		settle();
		for (int i = 0; i < CLOSE_QUEUE; i++)
			start_helper(cw_receiver, NULL);
		wait_flag(&sel_blocking, CLOSE_QUEUE);
		settle();
		struct selector s = {.rc = -2};
		s.cases[0] = (gort_case){.chan = cw_c, .dir = GORT_RECV};
		s.cases[1] = (gort_case){.chan = cw_d, .dir = GORT_RECV};
		start_helper(close_selector, &s);
		wait_flag(&sel_blocking, CLOSE_QUEUE + 1);
		settle();
		CHECK_EQ(gort_chan_close(cw_c), 0);
		CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
		join_thread(th);
		CHECK_EQ(atomic_load(&cw_late_send), 0);
		CHECK_EQ(s.rc, 0);
		CHECK(!s.cases[0].ok);
		gort_chan_free(cw_c);
		gort_chan_free(cw_d);
	}
	return 0;
}

MAIN_CASE(close_wins_select, close_wins_main, 2)

/* ---------------------------------------------------------------------
 * One winner
 * ------------------------------------------------------------------- */

#define WIN_ROUNDS SCALE(300)

static int winner_main(void *arg)
{
	(void)arg;
	gort_chan *a = make_chan(sizeof(int), 0);
	gort_chan *b = make_chan(sizeof(int), 0);
	for (int round = 0; round < WIN_ROUNDS; round++) {
		bool sends = round % 2; /* the select sends, peers receive */
		struct peer sel, pa, pb;
		sel.n = 2;
		sel.vals[0] = sel.vals[1] = -1;
		sel.vals[2] = 500 + round;
		if (sends) {
			sel.cases[0] = scase(a, &sel.vals[2]);
			sel.cases[1] = scase(b, &sel.vals[2]);
		} else {
			sel.cases[0] = rcase(a, &sel.vals[0]);
			sel.cases[1] = rcase(b, &sel.vals[1]);
		}
		start_peer(peer_select, &sel, NULL, 0);
		wait_flag(&sel.state, 1);
		if (round % 4 < 2)
			gort_gosched(); /* sometimes parked, sometimes not yet */
		/* Two peers at once, one per channel. */
		start_peer(sends ? peer_recv : peer_send, &pa, a, 1);
		start_peer(sends ? peer_recv : peer_send, &pb, b, 2);
		wait_flag(&sel.state, 2);
		CHECK(sel.rc == 0 || sel.rc == 1);
		CHECK(sel.cases[sel.rc].ok);
		/* The loser is still blocked; complete it by hand. */
		struct peer *loser = sel.rc == 0 ? &pb : &pa;
		struct peer *winner = sel.rc == 0 ? &pa : &pb;
		wait_flag(&winner->state, 2);
		CHECK_EQ(winner->rc, sends ? 1 : 0);
		if (sends) {
			CHECK_EQ(winner->val, 500 + round);
			int w = 7;
			CHECK_EQ(gort_chan_send(loser->c, &w), 0);
			wait_flag(&loser->state, 2);
			CHECK_EQ(loser->rc, 1);
			CHECK_EQ(loser->val, 7);
		} else {
			CHECK_EQ(sel.vals[sel.rc], sel.rc + 1);
			CHECK_EQ(sel.vals[1 - sel.rc], -1);
			int w = -1;
			CHECK_EQ(gort_chan_recv(loser->c, &w), 1);
			CHECK_EQ(w, loser->val);
			wait_flag(&loser->state, 2);
			CHECK_EQ(loser->rc, 0);
		}
		CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	}
	gort_chan_free(a);
	gort_chan_free(b);
	return 0;
}

MAIN_CASE(one_winner_procs2, winner_main, 2)
MAIN_CASE(one_winner_procs4, winner_main, 4)

/* ---------------------------------------------------------------------
 * Fairness
 * ------------------------------------------------------------------- */

/*
 * N selects, each with k always-ready cases: the count of one case is
 * Binomial(N, 1/k), mean N/k, standard deviation sigma = sqrt(N p (1-p)).
 * The bound is 8.5 sigma; a normal tail beyond it on either side has
 * probability 2 * Phi(-8.5) ~= 2e-17 per count checked, so a correct
 * select never fails this. For N = 100,000:
 *   k = 2: sigma = sqrt(100000 * 1/2 * 1/2) = 158.1, bound 1344:
 *          each count in [48656, 51344];
 *   k = 3: sigma = sqrt(100000 * 1/3 * 2/3) = 149.1, bound 1268:
 *          each count in [32065, 34601].
 * (Sanitizer builds scale N down: N = 10,000 gives bounds 426 and 401;
 * N = 1,000 gives 135 and 127.) A select that prefers the first ready
 * case, or scans from a random start (with the ready cases adjacent the
 * first of them wins 5 times in 6), is far outside.
 */
#define FAIR_N SCALE(100000)

static long isqrt(long x)
{
	long r = 0;
	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/* 8.5 sigma of Binomial(n, num/den), rounded up. */
static long fair_bound(long n, long num, long den)
{
	/* 8.5 sigma = sqrt(72.25 n p (1-p)) = sqrt(7225 n p (1-p)) / 10 */
	long var100 = 7225 * n / den * num / den * (den - num);
	return isqrt(var100) / 10 + 1;
}

static void check_fair(const char *what, long count, long n, long k)
{
	long mean = n / k;
	long bound = fair_bound(n, 1, k);
	printf("     %s: %ld of %ld (mean %ld, bound +-%ld)\n", what, count, n,
	       mean, bound);
	if (count < mean - bound || count > mean + bound)
		FAILF("%s: chosen %ld times in %ld selects; uniform choice gives "
		      "%ld +- %ld", what, count, n, mean, bound);
}

static int fair_main(void *arg)
{
	(void)arg;
	gort_chan *never = make_chan(sizeof(int), 0);
	gort_chan *full = make_chan(sizeof(int), 1);
	gort_chan *closed0 = make_chan(sizeof(int), 0);
	gort_chan *closed1 = make_chan(sizeof(int), 4);
	int v = 0, x = 0;
	CHECK_EQ(gort_chan_send(full, &v), 0);
	CHECK_EQ(gort_chan_close(closed0), 0);
	CHECK_EQ(gort_chan_close(closed1), 0);

	/* Two ready cases, adjacent, among four that never are. */
	gort_case cs[6] = {rcase(never, &x), rcase(closed0, &x),
	                   rcase(closed1, &x), scase(full, &v),
	                   rcase(NULL, &x), scase(never, &v)};
	long counts[6] = {0};
	for (long i = 0; i < FAIR_N; i++) {
		int r = gort_select(cs, 6, i % 2);
		CHECK(r == 1 || r == 2);
		CHECK(!cs[r].ok);
		counts[r]++;
	}
	check_fair("case 1 of 2 ready", counts[1], FAIR_N, 2);
	check_fair("case 2 of 2 ready", counts[2], FAIR_N, 2);

	/* Three ready cases of different kinds: a buffered value, room in a
	 * buffer, a closed channel. */
	gort_chan *rb = make_chan(sizeof(int), 1);
	gort_chan *sb = make_chan(sizeof(int), 1);
	CHECK_EQ(gort_chan_send(rb, &v), 0);
	gort_case ds[5] = {rcase(never, &x), rcase(rb, &x), scase(sb, &v),
	                   rcase(closed0, &x), scase(full, &v)};
	long dcounts[5] = {0};
	for (long i = 0; i < FAIR_N; i++) {
		int r = gort_select(ds, 5, i % 2);
		CHECK(r >= 1 && r <= 3);
		dcounts[r]++;
		if (r == 1)
			CHECK_EQ(gort_chan_try_send(rb, &v), 0);
		else if (r == 2)
			CHECK_EQ(gort_chan_try_recv(sb, &x), 1);
	}
	check_fair("buffered receive of 3 ready", dcounts[1], FAIR_N, 3);
	check_fair("buffered send of 3 ready", dcounts[2], FAIR_N, 3);
	check_fair("closed receive of 3 ready", dcounts[3], FAIR_N, 3);

	gort_chan *chans[] = {never, full, closed0, closed1, rb, sb};
	for (size_t i = 0; i < sizeof chans / sizeof *chans; i++)
		gort_chan_free(chans[i]);
	return 0;
}

MAIN_CASE(fairness, fair_main, 1)

/* ---------------------------------------------------------------------
 * Fairness, the whole distribution: chi-square
 *
 * For k simultaneously ready cases (k = 2, 3, 5, 7), alone or among
 * cases on NULL channels and never-ready ones, the index of the case that
 * runs is counted over N = k * E selects (E expected per ready case) and
 * Pearson's statistic X2 = sum (count - E)^2 / E compared with the
 * chi-square quantile of k - 1 degrees of freedom at upper tail 1e-12:
 *   dof 1: 50.85, dof 2: 55.27, dof 4: 62.20, dof 6: 68.11.
 * E is at least 2000 (20000 in a normal build). There the chi-square
 * tail is the multinomial's within a few-fold: at the threshold a single
 * count is off by at most sqrt(68.11 * 2000) = 369, 18% of E, where the
 * count's true large-deviation exponent is within 6% of the quadratic
 * one the chi-square tail has (e^1.8 = 6 times). With the 1000-fold margin
 * of 1e-12 over 1e-9, a uniform select fails a layout with probability
 * below 1e-9, all layouts together below 1e-8. A select whose choice is
 * not uniform among the ready cases is far outside: always the first
 * ready one gives X2 = (k - 1) N, at least 4000; never-ready cases that
 * shift the odds among the ready ones (a random start scanned in order,
 * or a shuffle of all cases whose ready ones come first only in some
 * orders) give thousands too.
 * ------------------------------------------------------------------- */

static int64_t chi2_e(void)
{
	int64_t e = SCALE(20000);
	return e < 2000 ? 2000 : e;
}

/* The chi-square quantile at upper tail 1e-12, times 100, by dof. */
static int64_t chi2_limit100(int dof)
{
	switch (dof) {
	case 1: return 5085;
	case 2: return 5527;
	case 4: return 6220;
	case 6: return 6811;
	}
	FAILF("no chi-square limit for %d degrees of freedom", dof);
	return 0;
}

/* layout: one letter a case: 'r' ready (receive from a closed channel),
 * 'b' ready (send into a buffer with room, emptied after), 'n' NULL
 * channel, 'x' never ready (receive from an unbuffered channel nobody
 * sends on), 'f' never ready (send into a full buffer). */
static void chi2_layout(const char *layout)
{
	enum { MAXC = 16 };
	int n = (int)strlen(layout);
	CHECK(n <= MAXC);
	gort_chan *closed = make_chan(sizeof(int), 0);
	gort_chan *never = make_chan(sizeof(int), 0);
	gort_chan *full = make_chan(sizeof(int), 1);
	gort_chan *room = make_chan(sizeof(int), 1);
	int v = 0, x = 0;
	CHECK_EQ(gort_chan_close(closed), 0);
	CHECK_EQ(gort_chan_send(full, &v), 0);
	gort_case cs[MAXC];
	bool ready[MAXC];
	int k = 0;
	for (int i = 0; i < n; i++) {
		ready[i] = layout[i] == 'r' || layout[i] == 'b';
		k += ready[i];
		switch (layout[i]) {
		case 'r': cs[i] = rcase(closed, &x); break;
		case 'b': cs[i] = scase(room, &v); break;
		case 'n': cs[i] = rcase(NULL, &x); break;
		case 'x': cs[i] = rcase(never, &x); break;
		case 'f': cs[i] = scase(full, &v); break;
		default: FAILF("bad layout letter %c", layout[i]);
		}
	}
	int64_t e = chi2_e(), total = e * k;
	int64_t counts[MAXC] = {0};
	for (int64_t i = 0; i < total; i++) {
		int r = gort_select(cs, n, i % 2);
		CHECK(r >= 0 && r < n && ready[r]);
		counts[r]++;
		if (layout[r] == 'b')
			CHECK_EQ(gort_chan_try_recv(room, &x), 1);
	}
	/* X2 * 100, exactly: sum of (count - e)^2 * 100 / e. */
	int64_t num = 0;
	for (int i = 0; i < n; i++)
		if (ready[i])
			num += (counts[i] - e) * (counts[i] - e);
	int64_t x2_100 = num * 100 / e, limit = chi2_limit100(k - 1);
	printf("     %-12s k=%d N=%lld: X2 = %lld.%02lld (limit %lld.%02lld), counts",
	       layout, k, (long long)total, (long long)(x2_100 / 100),
	       (long long)(x2_100 % 100), (long long)(limit / 100),
	       (long long)(limit % 100));
	for (int i = 0; i < n; i++)
		if (ready[i])
			printf(" %lld", (long long)counts[i]);
	printf("\n");
	if (x2_100 > limit)
		FAILF("%s: the ready case chosen is not uniform: X2 = %lld.%02lld "
		      "over %lld.%02lld (chi-square, %d dof, tail 1e-12)",
		      layout, (long long)(x2_100 / 100), (long long)(x2_100 % 100),
		      (long long)(limit / 100), (long long)(limit % 100), k - 1);
	gort_chan_free(closed);
	gort_chan_free(never);
	gort_chan_free(full);
	gort_chan_free(room);
}

static const char *const chi2_layouts[] = {
	/* Only ready cases. */
	"rr", "rrr", "rbrrr", "rrrrrrr",
	/* Ready cases among NULL and never-ready ones, adjacent or not, at
	 * the ends or not. */
	"xnrr", "nrxfr", "rxxnxr", "xnrbrfn", "rxrnrfrxr", "nrrrxrrrrf",
	"xxxxxxxxxrrrrrrr",
};

static int chi2_main(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof chi2_layouts / sizeof *chi2_layouts; i++)
		chi2_layout(chi2_layouts[i]);
	return 0;
}

MAIN_CASE(fairness_chi2, chi2_main, 1)

/* The same from a plain thread, which draws from its own generator. */
static void *chi2_plain(void *arg)
{
	(void)arg;
	chi2_layout("rrr");
	chi2_layout("nrxrfrrrrr");
	return NULL;
}

static int chi2_plain_main(void *arg)
{
	(void)arg;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, chi2_plain, NULL), 0);
	join_thread(th);
	return 0;
}

MAIN_CASE(fairness_chi2_plain_thread, chi2_plain_main, 1)

/* A process forked by a plain thread that has made selects: the thread
 * in the child and the one in the parent must not go on choosing the
 * same cases. 32 choices among 7 ready cases alike in both: 7^-32. */
#define FORK_DRAWS 32

static void fork_draws(gort_case *cs, unsigned char *out)
{
	for (int i = 0; i < FORK_DRAWS; i++) {
		int r = gort_select(cs, 7, false);
		CHECK(r >= 0 && r < 7);
		out[i] = (unsigned char)r;
	}
}

static void fork_distinct(void)
{
	gort_chan *closed = make_chan(sizeof(int), 0);
	CHECK_EQ(gort_chan_close(closed), 0);
	int x = 0;
	gort_case cs[7];
	for (int i = 0; i < 7; i++)
		cs[i] = rcase(closed, &x);
	unsigned char mine[FORK_DRAWS], theirs[FORK_DRAWS];
	fork_draws(cs, mine); /* this thread's generator is seeded */
	int fds[2];
	CHECK_EQ(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		fork_draws(cs, theirs);
		_exit(write(fds[1], theirs, sizeof theirs) == sizeof theirs ? 0 : 1);
	}
	close(fds[1]);
	fork_draws(cs, mine);
	CHECK_EQ(read(fds[0], theirs, sizeof theirs), (ssize_t)sizeof theirs);
	close(fds[0]);
	int status = 0;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("     parent:");
	for (int i = 0; i < FORK_DRAWS; i++)
		printf(" %d", mine[i]);
	printf("\n     child: ");
	for (int i = 0; i < FORK_DRAWS; i++)
		printf(" %d", theirs[i]);
	printf("\n");
	if (memcmp(mine, theirs, sizeof mine) == 0)
		FAILF("a forked child chose the same %d cases as its parent",
		      FORK_DRAWS);
	gort_chan_free(closed);
}

/* ---------------------------------------------------------------------
 * No value lost or delivered twice
 * ------------------------------------------------------------------- */

#define NL_CHANS 4
#define NL_PRODUCERS 8
#define NL_CONSUMERS 4
#define NL_PER SCALE(30000)
#define NL_TOTAL (NL_PRODUCERS * NL_PER)

static gort_chan *nl_chans[NL_CHANS];
static atomic_int *nl_counts;
static atomic_long nl_by_producers; /* values a producer's select received */
static gort_waitgroup nl_producers, nl_consumers;

static void nl_mark(int v, const char *who)
{
	if (v < 0 || v >= NL_TOTAL)
		FAILF("%s received %d, a value never sent", who, v);
	atomic_fetch_add(&nl_counts[v], 1);
}

static void nl_producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < NL_PER; i++) {
		int v = id * NL_PER + i;
		int got = -1;
		gort_case cs[3] = {scase(nl_chans[id % NL_CHANS], &v),
		                   scase(nl_chans[(id + 1) % NL_CHANS], &v),
		                   rcase(nl_chans[(id + 2) % NL_CHANS], &got)};
		/* Odd producers also receive: a value they get is counted
		 * like any other, and their own is sent in a later select. */
		int n = id % 2 ? 3 : 2;
		bool block = i % 4 != 0;
		for (;;) {
			int r = gort_select(cs, n, block);
			if (r == -1) {
				CHECK(!block);
				CHECK_EQ(read_errno(), EAGAIN);
				gort_gosched();
				continue;
			}
			CHECK(r >= 0 && r < n);
			CHECK(cs[r].ok); /* nothing closes before producers end */
			if (r < 2)
				break; /* v sent */
			nl_mark(got, "a producer");
			atomic_fetch_add(&nl_by_producers, 1);
			got = -1;
		}
	}
	gort_wg_done(&nl_producers);
}

/* A consumer: one select over all n channels (from its own first one),
 * blocking for even ids, until every channel is closed and drained; each
 * value goes to take. */
static void consume_until_closed(gort_chan *const *chans, int n, int id, void (*take)(int v))
{
	enum { MAX_CHANS = 8 };
	CHECK(n <= MAX_CHANS);
	int got = -1;
	gort_case cs[MAX_CHANS];
	for (int i = 0; i < n; i++)
		cs[i] = rcase(chans[(i + id) % n], &got);
	int open = n;
	bool block = id % 2 == 0;
	while (open > 0) {
		int r = gort_select(cs, n, block);
		if (r == -1) {
			CHECK(!block);
			CHECK_EQ(read_errno(), EAGAIN);
			gort_gosched();
			continue;
		}
		CHECK(r >= 0 && r < n);
		if (!cs[r].ok) {
			CHECK_EQ(got, 0);
			cs[r].chan = NULL; /* closed and drained: never again */
			open--;
		} else {
			take(got);
		}
		got = -1;
	}
}

static void nl_take(int v)
{
	nl_mark(v, "a consumer");
}

static void nl_consumer(void *arg)
{
	consume_until_closed(nl_chans, NL_CHANS, (int)(intptr_t)arg, nl_take);
	gort_wg_done(&nl_consumers);
}

static int no_loss_main(void *arg)
{
	(void)arg;
	static const size_t caps[NL_CHANS] = {0, 3, 0, 1};
	for (int i = 0; i < NL_CHANS; i++)
		nl_chans[i] = make_chan(sizeof(int), caps[i]);
	nl_counts = calloc(NL_TOTAL, sizeof *nl_counts);
	CHECK(nl_counts != NULL);
	atomic_store(&nl_by_producers, 0);
	CHECK_EQ(gort_wg_add(&nl_producers, NL_PRODUCERS), 0);
	CHECK_EQ(gort_wg_add(&nl_consumers, NL_CONSUMERS), 0);
	for (int i = 0; i < NL_CONSUMERS; i++)
		CHECK(gort_go(nl_consumer, (void *)(intptr_t)i) > 0);
	for (int i = 0; i < NL_PRODUCERS; i++)
		CHECK(gort_go(nl_producer, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&nl_producers), 0);
	for (int i = 0; i < NL_CHANS; i++)
		CHECK_EQ(gort_chan_close(nl_chans[i]), 0);
	CHECK_EQ(gort_wg_wait(&nl_consumers), 0);
	for (int v = 0; v < NL_TOTAL; v++) {
		int n = atomic_load(&nl_counts[v]);
		if (n != 1)
			FAILF("value %d was received %d times (GOMAXPROCS=%d)", v,
			      n, gort_gomaxprocs(0));
	}
	printf("     GOMAXPROCS=%d: %d values, %ld of them received by "
	       "producers' selects\n", gort_gomaxprocs(0), NL_TOTAL,
	       atomic_load(&nl_by_producers));
	for (int i = 0; i < NL_CHANS; i++)
		gort_chan_free(nl_chans[i]);
	free(nl_counts);
	return 0;
}

MAIN_CASE(no_loss_procs1, no_loss_main, 1)
MAIN_CASE(no_loss_procs2, no_loss_main, 2)
MAIN_CASE(no_loss_procs4, no_loss_main, 4)

/* ---------------------------------------------------------------------
 * No value lost or delivered twice while channels close
 * ------------------------------------------------------------------- */

#define CR_CHANS 4
#define CR_PRODUCERS 6
#define CR_CONSUMERS 3
#define CR_PER SCALE(20000)
#define CR_TOTAL (CR_PRODUCERS * CR_PER)

static gort_chan *cr_chans[CR_CHANS];
static atomic_int *cr_received; /* by value */
static atomic_int *cr_unsent;   /* by value: its sends all found closed */
static atomic_long cr_progress; /* values received or given up */
static gort_waitgroup cr_producers, cr_consumers;

static void cr_mark(atomic_int *counts, int v, const char *what)
{
	if (v < 0 || v >= CR_TOTAL)
		FAILF("%s %d, a value never sent", what, v);
	atomic_fetch_add(&counts[v], 1);
	atomic_fetch_add(&cr_progress, 1);
}

/* Sends each value with a select over two channels, and receives on the
 * first of them too (on an unbuffered one a select never pairs with
 * itself). A send case that finds its channel closed sent nothing: the
 * channel is dropped and the value tried on the other; with both
 * closed, the values left are given up. */
static void cr_producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	int v = 0, got = -1;
	gort_case cs[3] = {scase(cr_chans[id % CR_CHANS], &v),
	                   scase(cr_chans[(id + 1) % CR_CHANS], &v),
	                   rcase(cr_chans[id % CR_CHANS], &got)};
	int i = 0;
	while (i < CR_PER) {
		if (!cs[0].chan && !cs[1].chan) {
			for (; i < CR_PER; i++)
				cr_mark(cr_unsent, id * CR_PER + i, "gave up");
			break;
		}
		v = id * CR_PER + i;
		bool block = i % 8 != 0;
		int r = gort_select(cs, 3, block);
		if (r == -1) {
			CHECK(!block);
			CHECK_EQ(read_errno(), EAGAIN);
			gort_gosched();
			continue;
		}
		CHECK(r >= 0 && r < 3);
		if (r == 2) {
			if (cs[2].ok)
				cr_mark(cr_received, got, "a producer received");
			else
				cs[2].chan = NULL;
			got = -1;
		} else if (cs[r].ok) {
			i++;
		} else {
			cs[r].chan = NULL; /* closed: v is still ours */
		}
	}
	gort_wg_done(&cr_producers);
}

static void cr_take(int v)
{
	cr_mark(cr_received, v, "a consumer received");
}

static void cr_consume(int id)
{
	consume_until_closed(cr_chans, CR_CHANS, id, cr_take);
}

static void cr_consumer(void *arg)
{
	cr_consume((int)(intptr_t)arg);
	gort_wg_done(&cr_consumers);
}

static void *cr_plain_consumer(void *arg)
{
	cr_consume((int)(intptr_t)arg);
	return NULL;
}

/* Main closes the channels one by one as the values go through, all but
 * the last while every producer still sends. */
static int close_race_main(void *arg)
{
	(void)arg;
	static const size_t caps[CR_CHANS] = {0, 2, 0, 1};
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < CR_CHANS; i++)
			cr_chans[i] = make_chan(sizeof(int), caps[i]);
		cr_received = calloc(CR_TOTAL, sizeof *cr_received);
		cr_unsent = calloc(CR_TOTAL, sizeof *cr_unsent);
		CHECK(cr_received != NULL && cr_unsent != NULL);
		atomic_store(&cr_progress, 0);
		CHECK_EQ(gort_wg_add(&cr_producers, CR_PRODUCERS), 0);
		CHECK_EQ(gort_wg_add(&cr_consumers, CR_CONSUMERS), 0);
		for (int i = 0; i < CR_CONSUMERS; i++)
			CHECK(gort_go(cr_consumer, (void *)(intptr_t)i) > 0);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, cr_plain_consumer,
		                        (void *)(intptr_t)(CR_CONSUMERS + 1)), 0);
		for (int i = 0; i < CR_PRODUCERS; i++)
			CHECK(gort_go(cr_producer, (void *)(intptr_t)i) > 0);
		for (int i = 0; i < CR_CHANS - 1; i++) {
			long want = (long)CR_TOTAL * (i + 1 + round) / (CR_CHANS + 3);
			while (atomic_load(&cr_progress) < want) {
				if (round == 0)
					gort_gosched();
				else
					gort_sleep(50 * US);
			}
			CHECK_EQ(gort_chan_close(cr_chans[(i + round) % CR_CHANS]), 0);
		}
		CHECK_EQ(gort_wg_wait(&cr_producers), 0);
		CHECK_EQ(gort_chan_close(cr_chans[(CR_CHANS - 1 + round) % CR_CHANS]), 0);
		CHECK_EQ(gort_wg_wait(&cr_consumers), 0);
		join_thread(th);
		long unsent = 0;
		for (int v = 0; v < CR_TOTAL; v++) {
			int r = atomic_load(&cr_received[v]);
			int u = atomic_load(&cr_unsent[v]);
			if (r + u != 1)
				FAILF("value %d was received %d times and given "
				      "up %d times (GOMAXPROCS=%d, round %d)", v, r,
				      u, gort_gomaxprocs(0), round);
			unsent += u;
		}
		printf("     GOMAXPROCS=%d round %d: %d values, %ld given up "
		       "on closed channels\n", gort_gomaxprocs(0), round,
		       CR_TOTAL, unsent);
		for (int i = 0; i < CR_CHANS; i++)
			gort_chan_free(cr_chans[i]);
		free(cr_received);
		free(cr_unsent);
	}
	return 0;
}

MAIN_CASE(close_race_procs1, close_race_main, 1)
MAIN_CASE(close_race_procs4, close_race_main, 4)

/* ---------------------------------------------------------------------
 * Large elements
 * ------------------------------------------------------------------- */

struct big {
	uint32_t seq;
	uint32_t words[255];
};

_Static_assert(sizeof(struct big) == 1024, "a 1 KiB element");

#define BIG_N SCALE(4000)

static gort_chan *big_a, *big_b;

static uint32_t big_word(uint32_t seq, int i)
{
	return seq * 2654435761u ^ (uint32_t)i * 40503u;
}

static void big_sender(void *arg)
{
	(void)arg;
	struct big b;
	for (uint32_t s = 0; s < BIG_N; s++) {
		b.seq = s;
		for (int i = 0; i < 255; i++)
			b.words[i] = big_word(s, i);
		gort_case cs[2] = {scase(big_a, &b), scase(big_b, &b)};
		int r = gort_select(cs, 2, true);
		CHECK(r == 0 || r == 1);
		CHECK(cs[r].ok);
		memset(&b, 0xAB, sizeof b);
	}
	CHECK_EQ(gort_chan_close(big_a), 0);
	CHECK_EQ(gort_chan_close(big_b), 0);
	gort_wg_done(&helpers_wg);
}

static int big_main(void *arg)
{
	(void)arg;
	big_a = make_chan(sizeof(struct big), 0);
	big_b = make_chan(sizeof(struct big), 2);
	start_helper(big_sender, NULL);
	static struct big b;
	static bool seen[BIG_N];
	gort_case cs[2] = {rcase(big_a, &b), rcase(big_b, &b)};
	uint32_t n = 0;
	int open = 2;
	while (open > 0) {
		int r = gort_select(cs, 2, true);
		CHECK(r == 0 || r == 1);
		if (!cs[r].ok) {
			cs[r].chan = NULL;
			open--;
			continue;
		}
		CHECK(b.seq < BIG_N);
		CHECK(!seen[b.seq]);
		seen[b.seq] = true;
		for (int i = 0; i < 255; i++)
			if (b.words[i] != big_word(b.seq, i))
				FAILF("element %u: word %d is %x", b.seq, i,
				      b.words[i]);
		n++;
	}
	CHECK_EQ(n, BIG_N);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(big_a);
	gort_chan_free(big_b);
	return 0;
}

MAIN_CASE(large_elems, big_main, 2)

/* ---------------------------------------------------------------------
 * A plain thread
 * ------------------------------------------------------------------- */

struct plain_ctx {
	gort_chan *a, *b, *reply;
	atomic_int stage;
	int rc1, rc2;
	int got1, got2;
	bool ok2;
};

static void *plain_selector(void *arg)
{
	struct plain_ctx *x = arg;
	int v = -1;
	gort_case cs[2] = {rcase(x->a, &v), rcase(x->b, &v)};
	CHECK_FAILS(gort_select(cs, 2, false), EAGAIN);
	atomic_store(&x->stage, 1);
	x->rc1 = gort_select(cs, 2, true); /* a goroutine sends on b */
	x->got1 = v;
	/* Send back through a select; a goroutine receives. */
	int w = v * 2;
	gort_case ss[2] = {scase(x->reply, &w), rcase(NULL, NULL)};
	CHECK_EQ(gort_select(ss, 2, true), 0);
	atomic_store(&x->stage, 2);
	x->rc2 = gort_select(cs, 2, true); /* main closes a */
	x->ok2 = cs[x->rc2].ok;
	x->got2 = v;
	atomic_store(&x->stage, 3);
	return NULL;
}

static int plain_main(void *arg)
{
	(void)arg;
	struct plain_ctx x = {.a = make_chan(sizeof(int), 0),
	                      .b = make_chan(sizeof(int), 0),
	                      .reply = make_chan(sizeof(int), 0)};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, plain_selector, &x), 0);
	wait_flag(&x.stage, 1);
	settle();
	CHECK_EQ(atomic_load(&x.stage), 1);
	int v = 21;
	CHECK_EQ(gort_chan_send(x.b, &v), 0);
	int w = 0;
	CHECK_EQ(gort_chan_recv(x.reply, &w), 1);
	CHECK_EQ(w, 42);
	wait_flag(&x.stage, 2);
	settle();
	CHECK_EQ(atomic_load(&x.stage), 2);
	CHECK_EQ(gort_chan_close(x.a), 0);
	wait_flag(&x.stage, 3);
	join_thread(th);
	CHECK_EQ(x.rc1, 1);
	CHECK_EQ(x.got1, 21);
	CHECK_EQ(x.rc2, 0);
	CHECK(!x.ok2);
	CHECK_EQ(x.got2, 0);
	gort_chan_free(x.a);
	gort_chan_free(x.b);
	gort_chan_free(x.reply);
	return 0;
}

MAIN_CASE(plain_thread, plain_main, 2)

/* ---------------------------------------------------------------------
 * Freeing a channel of a select completed through another one
 * ------------------------------------------------------------------- */

struct fw {
	gort_chan *c, *d;
	int got;
};

static void fw_selector(void *arg)
{
	struct fw *f = arg;
	int x = 0, y = 0;
	gort_case cs[2] = {rcase(f->c, &x), rcase(f->d, &y)};
	CHECK_EQ(gort_select(cs, 2, true), 1);
	f->got = y;
	gort_wg_done(&helpers_wg);
}

/* Free a channel of a select that another one (d) completed, before the
 * select may have returned. winner: free d as well, and first have a
 * try_send on c take out c's sudog (finding the select done). Neither
 * channel then holds a sudog of the select, but the selector still locks
 * them to leave their queues, so free must wait for it all the same. */
static void free_before_return(bool winner)
{
	for (int round = 0; round < 100; round++) {
		struct fw f = {make_chan(sizeof(int), 0), make_chan(sizeof(int), 0), 0};
		start_helper(fw_selector, &f);
		/* Parked in the select: at GOMAXPROCS=1 the helper runs now. */
		gort_gosched();
		gort_sleep(round % 10 == 0 ? MS : 0);
		int v = round + 1;
		CHECK_EQ(gort_chan_send(f.d, &v), 0);
		if (winner) {
			CHECK_FAILS(gort_chan_try_send(f.c, &v), EAGAIN);
			gort_chan_free(f.d);
		}
		gort_chan_free(f.c);
		CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
		CHECK_EQ(f.got, round + 1);
		if (!winner)
			gort_chan_free(f.d);
	}
}

static int freewon_main(void *arg)
{
	(void)arg;
	free_before_return(false);
	return 0;
}

MAIN_CASE(free_won_procs1, freewon_main, 1)
MAIN_CASE(free_won_procs2, freewon_main, 2)

static int freewinner_main(void *arg)
{
	(void)arg;
	free_before_return(true);
	return 0;
}

MAIN_CASE(free_winner_procs1, freewinner_main, 1)
MAIN_CASE(free_winner_procs2, freewinner_main, 2)

/* ---------------------------------------------------------------------
 * A timer channel as a timeout
 * ------------------------------------------------------------------- */

static void late_sender(void *arg)
{
	gort_chan *c = arg;
	gort_sleep(10 * MS);
	int v = 8;
	CHECK_EQ(gort_chan_send(c, &v), 0);
	gort_wg_done(&helpers_wg);
}

static int timeout_main(void *arg)
{
	(void)arg;
	gort_chan *never = make_chan(sizeof(int), 0);
	for (int round = 0; round < 3; round++) {
		int64_t t0 = gort_nanotime();
		gort_timer *t = gort_timer_new(50 * MS, 0);
		CHECK(t != NULL);
		gort_chan *tc = gort_timer_chan(t);
		CHECK(tc != NULL);
		int x = -1;
		int64_t when = 0;
		gort_case cs[2] = {rcase(never, &x), rcase(tc, &when)};
		int r = gort_select(cs, 2, true);
		int64_t t1 = gort_nanotime();
		CHECK_EQ(r, 1);
		CHECK(cs[1].ok);
		CHECK_EQ(x, -1);
		if (t1 - t0 < 50 * MS)
			FAILF("a 50 ms timeout ended the select after %.3f ms",
			      (double)(t1 - t0) / 1e6);
		if (when < t0 + 50 * MS || when > t1)
			FAILF("the timer sent %lld, not a time in [%lld, %lld]",
			      (long long)when, (long long)(t0 + 50 * MS),
			      (long long)t1);
		if ((double)(t1 - t0) > harness_timeout(2) * 1e9)
			FAILF("a 50 ms timeout ended the select only after %.3f s",
			      (double)(t1 - t0) / 1e9);
		printf("     50 ms timeout: select returned after %.3f ms\n",
		       (double)(t1 - t0) / 1e6);
		CHECK(!gort_timer_stop(t)); /* it fired */
		gort_timer_free(t);
	}

	/* A channel that becomes ready first wins over a long timer. */
	gort_chan *c = make_chan(sizeof(int), 0);
	gort_timer *t = gort_timer_new(60LL * 1000 * MS, 0);
	CHECK(t != NULL);
	start_helper(late_sender, c);
	int x = -1;
	int64_t when = 0;
	gort_case cs[2] = {rcase(gort_timer_chan(t), &when), rcase(c, &x)};
	CHECK_EQ(gort_select(cs, 2, true), 1);
	CHECK_EQ(x, 8);
	CHECK(gort_timer_stop(t)); /* still pending */
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_timer_free(t);
	gort_chan_free(c);
	gort_chan_free(never);
	return 0;
}

MAIN_CASE(timer_timeout, timeout_main, 2)

/* ---------------------------------------------------------------------
 * Deadlock: main in a select that can never run
 * ------------------------------------------------------------------- */

static gort_chan *dead_chan;

static int dead_main(void *arg)
{
	int mode = strcmp(arg, "chan") == 0;
	int x;
	gort_case cs[2] = {rcase(NULL, &x), scase(NULL, &x)};
	if (mode == 1) {
		dead_chan = gort_chan_make(sizeof(int), 0);
		CHECK(dead_chan != NULL);
		cs[0].chan = dead_chan;
	}
	gort_select(cs, 2, true);
	fprintf(stderr, "select_test: main woke up\n");
	return 1;
}

static void deadlock_select(void)
{
	if (harness_emulated()) {
		SKIP("deadlock_select", "no deadlock detection under the emulator");
		return;
	}
	must_deadlock("null", "select", "gort_select (NULL cases)");
	must_deadlock("chan", "select",
	              "gort_select (a case on a channel nobody uses)");
}

static const struct harness_case cases[] = {
	{"nonblocking_default", nonblocking_default},
	{"ready_cases", ready_cases},
	{"null_cases", null_cases},
	{"null_only_blocks", null_only_blocks},
	{"bad_input", bad_input},
	{"select_max", select_max},
	{"same_channel_procs1", same_channel_procs1},
	{"same_channel_procs2", same_channel_procs2},
	{"close_wakes_selects_procs1", close_wakes_selects_procs1},
	{"close_wakes_selects_procs2", close_wakes_selects_procs2},
	{"close_wins_select", close_wins_select},
	{"one_winner_procs2", one_winner_procs2},
	{"one_winner_procs4", one_winner_procs4},
	{"fairness", fairness},
	{"fairness_chi2", fairness_chi2},
	{"fairness_chi2_plain_thread", fairness_chi2_plain_thread},
	{"fork_distinct", fork_distinct},
	{"no_loss_procs1", no_loss_procs1},
	{"no_loss_procs2", no_loss_procs2},
	{"no_loss_procs4", no_loss_procs4},
	{"close_race_procs1", close_race_procs1},
	{"close_race_procs4", close_race_procs4},
	{"large_elems", large_elems},
	{"plain_thread", plain_thread},
	{"free_won_procs1", free_won_procs1},
	{"free_won_procs2", free_won_procs2},
	{"free_winner_procs1", free_winner_procs1},
	{"free_winner_procs2", free_winner_procs2},
	{"timer_timeout", timer_timeout},
	{"deadlock_select", deadlock_select},
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--deadlock") == 0) {
		gort_gomaxprocs(2);
		return gort_main(dead_main, argv[2]);
	}
	run_named(argc, argv, cases, sizeof cases / sizeof *cases, 30);
	PASS("select_test");
	return 0;
}
