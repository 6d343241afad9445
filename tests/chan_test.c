/*
 * chan_test proves that gort's channels behave as Go's:
 *  - unbuffered: a send blocks until a receiver takes the value (the
 *    sender is still parked after 20 ms alone), values arrive in FIFO
 *    order, both ways between goroutines, at GOMAXPROCS=1 and 2; a
 *    receive into NULL discards;
 *  - buffered: cap sends complete without a receiver, the next one
 *    blocks until a receive makes room, a receiver parked on an empty
 *    buffer is woken by a send (len stays 0), and a stream through a
 *    small buffer keeps FIFO order;
 *  - try_send/try_recv fail with EAGAIN exactly where the blocking form
 *    would block: not with a parked peer on an unbuffered channel, not
 *    with room or values in a buffer; a try_recv on a full buffer with a
 *    parked sender takes the head and moves the sender's value in;
 *  - close wakes every parked receiver (each gets 0 and its elem
 *    zeroed) and every parked sender (-1 EPIPE, its value never
 *    delivered); values buffered before the close are received in order
 *    before 0; a second close, a send and a try_send after close fail
 *    with EPIPE; len and cap follow (cap unchanged by close);
 *  - close in batches: with 400 senders parked behind a full buffer, a
 *    plain thread receiving (plainly or in a select) from the moment it
 *    sees the close gets the one buffered value and then 0, and every
 *    sender fails with EPIPE;
 *  - zero-size elements: signal channels with NULL elem, buffered
 *    (counted by len) and unbuffered (a rendezvous);
 *  - a NULL channel: send, recv, try_send, try_recv and close give -1
 *    EINVAL; len and cap are 0;
 *  - gort_chan_make with absurd sizes (SIZE_MAX element or capacity,
 *    element * capacity overflowing size_t, 2^60 bytes) returns NULL with
 *    EINVAL or ENOMEM, and so do elements of 64 KiB or more even
 *    unbuffered (Go's limit); a 64 KiB - 1 element is copied intact;
 *  - Go's concurrent prime sieve (a chain of filter goroutines) yields
 *    the first 1000 primes (200 in sanitizer builds), checked against a
 *    plain sieve, and shuts down by closing the chain, at GOMAXPROCS=1
 *    and 2;
 *  - Go's daisy chain: 10,000 goroutines (scaled down in sanitizer
 *    builds, as every count here), each receiving from its left
 *    and sending +1 to its right, add 10,000 to each of several values,
 *    at GOMAXPROCS=1 and 2;
 *  - many producers and consumers (blocking and non-blocking forms
 *    mixed) over one buffered and one unbuffered channel, at GOMAXPROCS
 *    1, 2 and 4: every value is delivered exactly once (counts) and each
 *    consumer sees each producer's values in increasing order (FIFO);
 *  - large elements (1 KiB structs, 1021-byte records, 16 KiB buffers)
 *    are copied intact, by value: changing the sender's buffer after a
 *    buffered send does not change what is received;
 *  - threads that are not goroutines (plain pthreads) use channels while
 *    the runtime runs: a plain thread sends to and receives from a
 *    goroutine (both sides block), is woken by a close in a receive and
 *    in a send, and two plain threads ping-pong over unbuffered channels;
 *  - a channel outlives a gort_main run in which goroutines were left
 *    parked on it (receive, send, send on a full buffer, select): after
 *    the run, with no runtime, try_send/try_recv find no peer (EAGAIN),
 *    the abandoned sender's value is not moved into the buffer, close
 *    wakes no one; the next run's goroutines use the channels as usual,
 *    and gort_chan_free finds no waiters;
 *  - a plain thread that waits on a channel before gort_main is reached
 *    by a goroutine's send once the runtime runs;
 *  - a plain thread that keeps sending while 300 runs end with goroutine
 *    receivers parked: no send touches a stack or scheduler being freed;
 *  - a main goroutine blocked forever on a receive is Go's deadlock: the
 *    process prints "fatal error: all goroutines are asleep - deadlock!"
 *    and exits with status 2.
 */
#include "gort_util.h"

/* ---------------------------------------------------------------------
 * Unbuffered
 * ------------------------------------------------------------------- */

#define STREAM SCALE(20000)

static void stream_sender(void *arg)
{
	gort_chan *c = arg;
	for (int i = 0; i < STREAM; i++)
		CHECK_EQ(gort_chan_send(c, &i), 0);
	gort_wg_done(&helpers_wg);
}

static void stream_receiver(void *arg)
{
	gort_chan *c = arg;
	for (int i = 0; i < STREAM; i++) {
		int v = -1;
		CHECK_EQ(gort_chan_recv(c, &v), 1);
		CHECK_EQ(v, i);
	}
	/* the last one announces the end */
	int v = -1;
	CHECK_EQ(gort_chan_recv(c, &v), 1);
	CHECK_EQ(v, -7);
	gort_wg_done(&helpers_wg);
}

static int unbuffered_main(void *arg)
{
	(void)arg;
	gort_chan *c = gort_chan_make(sizeof(int), 0);
	CHECK(c != NULL);
	CHECK_EQ(gort_chan_cap(c), 0);
	CHECK_EQ(gort_chan_len(c), 0);

	/* A send blocks until someone receives. */
	struct peer p;
	park_peer(peer_send, &p, c, 42);
	CHECK_EQ(gort_chan_len(c), 0);
	int v = 0;
	CHECK_EQ(gort_chan_recv(c, &v), 1);
	CHECK_EQ(v, 42);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);

	/* A receive blocks until someone sends. */
	park_peer(peer_recv, &p, c, 0);
	int w = 43;
	CHECK_EQ(gort_chan_send(c, &w), 0);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 1);
	CHECK_EQ(p.val, 43);

	/* A receive into NULL discards the value. */
	park_peer(peer_send, &p, c, 44);
	CHECK_EQ(gort_chan_recv(c, NULL), 1);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);

	/* Streams both ways keep FIFO order. */
	start_helper(stream_sender, c);
	for (int i = 0; i < STREAM; i++) {
		CHECK_EQ(gort_chan_recv(c, &v), 1);
		CHECK_EQ(v, i);
	}
	start_helper(stream_receiver, c);
	for (int i = 0; i < STREAM; i++)
		CHECK_EQ(gort_chan_send(c, &i), 0);
	v = -7;
	CHECK_EQ(gort_chan_send(c, &v), 0);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(c);
	return 0;
}

MAIN_CASE(unbuffered_procs1, unbuffered_main, 1)
MAIN_CASE(unbuffered_procs2, unbuffered_main, 2)

/* ---------------------------------------------------------------------
 * Buffered
 * ------------------------------------------------------------------- */

#define BUF_CAP 8

static int buffered_main(void *arg)
{
	(void)arg;
	gort_chan *c = gort_chan_make(sizeof(int), BUF_CAP);
	CHECK(c != NULL);
	CHECK_EQ(gort_chan_cap(c), BUF_CAP);

	/* cap blocking sends complete with nobody receiving. */
	for (int i = 0; i < BUF_CAP; i++) {
		CHECK_EQ(gort_chan_send(c, &i), 0);
		CHECK_EQ(gort_chan_len(c), i + 1);
	}
	/* The next one blocks until a receive makes room. */
	struct peer p;
	park_peer(peer_send, &p, c, BUF_CAP);
	CHECK_EQ(gort_chan_len(c), BUF_CAP);
	int v = -1;
	CHECK_EQ(gort_chan_recv(c, &v), 1);
	CHECK_EQ(v, 0);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);
	CHECK_EQ(gort_chan_len(c), BUF_CAP);
	for (int i = 1; i <= BUF_CAP; i++) {
		CHECK_EQ(gort_chan_recv(c, &v), 1);
		CHECK_EQ(v, i);
		CHECK_EQ(gort_chan_len(c), BUF_CAP - i);
	}

	/* A receiver parked on the empty buffer is woken by a send. */
	park_peer(peer_recv, &p, c, 0);
	v = 99;
	CHECK_EQ(gort_chan_send(c, &v), 0);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 1);
	CHECK_EQ(p.val, 99);
	CHECK_EQ(gort_chan_len(c), 0);

	/* A stream through a small buffer keeps FIFO order. */
	gort_chan *s = gort_chan_make(sizeof(int), 3);
	CHECK(s != NULL);
	start_helper(stream_sender, s);
	for (int i = 0; i < STREAM; i++) {
		CHECK_EQ(gort_chan_recv(s, &v), 1);
		CHECK_EQ(v, i);
		CHECK(gort_chan_len(s) <= 3);
	}
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(s);
	gort_chan_free(c);
	return 0;
}

MAIN_CASE(buffered_procs1, buffered_main, 1)
MAIN_CASE(buffered_procs2, buffered_main, 2)

/* ---------------------------------------------------------------------
 * try_send / try_recv
 * ------------------------------------------------------------------- */

static int try_main(void *arg)
{
	(void)arg;
	int v = 5;

	/* Unbuffered, nobody there: both would block. */
	gort_chan *u = gort_chan_make(sizeof(int), 0);
	CHECK(u != NULL);
	CHECK_FAILS(gort_chan_try_send(u, &v), EAGAIN);
	CHECK_FAILS(gort_chan_try_recv(u, &v), EAGAIN);
	CHECK_EQ(v, 5); /* untouched */

	/* A parked receiver: try_send hands the value over. */
	struct peer p;
	park_peer(peer_recv, &p, u, 0);
	v = 6;
	CHECK_EQ(gort_chan_try_send(u, &v), 0);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 1);
	CHECK_EQ(p.val, 6);
	CHECK_FAILS(gort_chan_try_send(u, &v), EAGAIN); /* gone again */

	/* A parked sender: try_recv takes its value. */
	park_peer(peer_send, &p, u, 7);
	v = 0;
	CHECK_EQ(gort_chan_try_recv(u, &v), 1);
	CHECK_EQ(v, 7);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);
	CHECK_FAILS(gort_chan_try_recv(u, &v), EAGAIN);

	/* Buffered: room and values decide. */
	gort_chan *b = gort_chan_make(sizeof(int), 2);
	CHECK(b != NULL);
	CHECK_FAILS(gort_chan_try_recv(b, &v), EAGAIN);
	v = 1;
	CHECK_EQ(gort_chan_try_send(b, &v), 0);
	v = 2;
	CHECK_EQ(gort_chan_try_send(b, &v), 0);
	v = 3;
	CHECK_FAILS(gort_chan_try_send(b, &v), EAGAIN);
	CHECK_EQ(gort_chan_len(b), 2);

	/* Full with a parked sender: try_recv takes the head and the
	 * sender's value moves into the buffer, behind the others. */
	park_peer(peer_send, &p, b, 3);
	CHECK_EQ(gort_chan_try_recv(b, &v), 1);
	CHECK_EQ(v, 1);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);
	CHECK_EQ(gort_chan_len(b), 2);
	CHECK_EQ(gort_chan_try_recv(b, &v), 1);
	CHECK_EQ(v, 2);
	CHECK_EQ(gort_chan_try_recv(b, &v), 1);
	CHECK_EQ(v, 3);
	CHECK_FAILS(gort_chan_try_recv(b, &v), EAGAIN);
	CHECK_EQ(gort_chan_len(b), 0);

	/* Closed: try_recv drains, then 0 (not EAGAIN); try_send EPIPE. */
	v = 8;
	CHECK_EQ(gort_chan_try_send(b, &v), 0);
	CHECK_EQ(gort_chan_close(b), 0);
	CHECK_FAILS(gort_chan_try_send(b, &v), EPIPE);
	v = 0;
	CHECK_EQ(gort_chan_try_recv(b, &v), 1);
	CHECK_EQ(v, 8);
	v = 123;
	CHECK_EQ(gort_chan_try_recv(b, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(gort_chan_close(u), 0);
	v = 123;
	CHECK_EQ(gort_chan_try_recv(u, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_FAILS(gort_chan_try_send(u, &v), EPIPE);

	CHECK_EQ(gort_wg_wait(&helpers_wg), 0); /* the peers */
	gort_chan_free(u);
	gort_chan_free(b);
	return 0;
}

MAIN_CASE(try_ops, try_main, 1)

/* ---------------------------------------------------------------------
 * Close wakes every waiter
 * ------------------------------------------------------------------- */

#define WAITERS 100

struct waiter {
	gort_chan *c;
	unsigned char elem[24];
	int rc;
	int err;
};

static atomic_int waiters_blocking; /* about to block */
static atomic_int waiters_returned;
static gort_waitgroup waiters_wg;

static void close_recv_waiter(void *arg)
{
	struct waiter *w = arg;
	memset(w->elem, 0xAA, sizeof w->elem);
	atomic_fetch_add(&waiters_blocking, 1);
	write_errno(0);
	w->rc = gort_chan_recv(w->c, w->elem);
	w->err = read_errno();
	atomic_fetch_add(&waiters_returned, 1);
	gort_wg_done(&waiters_wg);
}

static void close_send_waiter(void *arg)
{
	struct waiter *w = arg;
	memset(w->elem, 0x55, sizeof w->elem);
	atomic_fetch_add(&waiters_blocking, 1);
	write_errno(0);
	w->rc = gort_chan_send(w->c, w->elem);
	w->err = read_errno();
	atomic_fetch_add(&waiters_returned, 1);
	gort_wg_done(&waiters_wg);
}

/* Park WAITERS goroutines running fn on c, close c, check they all woke. */
static void close_waiters(gort_chan *c, void (*fn)(void *), bool recv)
{
	static struct waiter ws[WAITERS];
	atomic_store(&waiters_blocking, 0);
	atomic_store(&waiters_returned, 0);
	CHECK_EQ(gort_wg_add(&waiters_wg, WAITERS), 0);
	for (int i = 0; i < WAITERS; i++) {
		ws[i].c = c;
		ws[i].rc = -2;
		CHECK(gort_go(fn, &ws[i]) > 0);
	}
	wait_flag(&waiters_blocking, WAITERS);
	settle();
	CHECK_EQ(atomic_load(&waiters_returned), 0);
	CHECK_EQ(gort_chan_close(c), 0);
	CHECK_EQ(gort_wg_wait(&waiters_wg), 0);
	for (int i = 0; i < WAITERS; i++) {
		if (recv) {
			CHECK_EQ(ws[i].rc, 0);
			for (size_t k = 0; k < sizeof ws[i].elem; k++)
				CHECK_EQ(ws[i].elem[k], 0);
		} else {
			CHECK_EQ(ws[i].rc, -1);
			CHECK_EQ(ws[i].err, EPIPE);
		}
	}
}

static int close_receivers_main(void *arg)
{
	(void)arg;
	gort_chan *u = gort_chan_make(24, 0);
	gort_chan *b = gort_chan_make(24, 4);
	CHECK(u != NULL && b != NULL);
	close_waiters(u, close_recv_waiter, true);
	close_waiters(b, close_recv_waiter, true);
	CHECK_EQ(gort_chan_len(b), 0);
	CHECK_EQ(gort_chan_cap(b), 4);
	gort_chan_free(u);
	gort_chan_free(b);
	return 0;
}

MAIN_CASE(close_wakes_receivers_procs1, close_receivers_main, 1)
MAIN_CASE(close_wakes_receivers_procs2, close_receivers_main, 2)

static int close_senders_main(void *arg)
{
	(void)arg;
	gort_chan *u = gort_chan_make(24, 0);
	CHECK(u != NULL);
	close_waiters(u, close_send_waiter, false);
	unsigned char e[24];
	memset(e, 0x11, sizeof e);
	CHECK_EQ(gort_chan_recv(u, e), 0); /* no sender's value got in */
	CHECK_EQ(e[0], 0);

	/* A full buffer with senders parked behind it: the senders fail
	 * and exactly the buffered values are received, then 0. */
	gort_chan *b = gort_chan_make(24, 4);
	CHECK(b != NULL);
	for (int i = 0; i < 4; i++) {
		memset(e, 0x20 + i, sizeof e);
		CHECK_EQ(gort_chan_send(b, e), 0);
	}
	close_waiters(b, close_send_waiter, false);
	CHECK_EQ(gort_chan_len(b), 4);
	for (int i = 0; i < 4; i++) {
		memset(e, 0, sizeof e);
		CHECK_EQ(gort_chan_recv(b, e), 1);
		for (size_t k = 0; k < sizeof e; k++)
			CHECK_EQ(e[k], 0x20 + i);
	}
	memset(e, 0x11, sizeof e);
	CHECK_EQ(gort_chan_recv(b, e), 0);
	CHECK_EQ(e[23], 0);
	gort_chan_free(u);
	gort_chan_free(b);
	return 0;
}

MAIN_CASE(close_wakes_senders_procs1, close_senders_main, 1)
MAIN_CASE(close_wakes_senders_procs2, close_senders_main, 2)

/* ---------------------------------------------------------------------
 * Close in batches: closechan takes its waiters out a batch (32) at a
 * time and drops the lock between batches. A sender still queued then
 * has lost to the close all the same: a receiver that comes between two
 * batches, plain or in a select, takes the buffered value and then gets
 * 0, never a queued sender's value, and every sender fails with EPIPE.
 * ------------------------------------------------------------------- */

#define BATCH_SENDERS 400 /* many batches, even in sanitizer builds */

static atomic_int batch_sent;

static void batch_sender(void *arg)
{
	int v = 7;
	atomic_fetch_add(&waiters_blocking, 1);
	if (gort_chan_send(arg, &v) == 0)
		atomic_fetch_add(&batch_sent, 1);
	gort_wg_done(&waiters_wg);
}

struct batch_reader {
	gort_chan *c;
	bool select;
	atomic_bool spinning;
	int got; /* values received after the close */
};

/* A plain thread: waits for the close (a try_send fails with EPIPE, not
 * EAGAIN, once close has set closed under the lock), then receives until
 * the channel reports closed and empty. */
static void *batch_reader(void *arg)
{
	struct batch_reader *r = arg;
	int v = 0;
	atomic_store(&r->spinning, true);
	while (gort_chan_try_send(r->c, &v) == 0 || errno != EPIPE)
		;
	for (;;) {
		int rc;
		if (r->select) {
			gort_case cs[1] = {{.chan = r->c, .dir = GORT_RECV, .elem = &v}};
			CHECK_EQ(gort_select(cs, 1, true), 0);
			rc = cs[0].ok;
		} else {
			rc = gort_chan_recv(r->c, &v);
		}
		if (rc == 0)
			break;
		CHECK_EQ(v, 1); /* the buffered value, not a sender's 7 */
		r->got++;
	}
	return NULL;
}

static void close_batch_round(bool select)
{
	gort_chan *c = make_chan(sizeof(int), 1);
	CHECK_EQ(gort_chan_send(c, &(int){1}), 0); /* full */
	atomic_store(&waiters_blocking, 0);
	atomic_store(&batch_sent, 0);
	CHECK_EQ(gort_wg_add(&waiters_wg, BATCH_SENDERS), 0);
	for (int i = 0; i < BATCH_SENDERS; i++)
		CHECK(gort_go(batch_sender, c) > 0);
	wait_flag(&waiters_blocking, BATCH_SENDERS);
	settle();
	struct batch_reader r = {.c = c, .select = select};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, batch_reader, &r), 0);
	while (!atomic_load(&r.spinning))
		gort_gosched();
	CHECK_EQ(gort_chan_close(c), 0);
	CHECK_EQ(gort_wg_wait(&waiters_wg), 0);
	join_thread(th);
	CHECK_EQ(atomic_load(&batch_sent), 0);
	CHECK_EQ(r.got, 1);
	gort_chan_free(c);
}

static int close_batches_main(void *arg)
{
	(void)arg;
	for (int round = 0; round < 16; round++)
		close_batch_round(round % 2);
	return 0;
}

MAIN_CASE(close_batches, close_batches_main, 2)

/* ---------------------------------------------------------------------
 * Close: draining, double close, send after close, len and cap
 * ------------------------------------------------------------------- */

static int close_main(void *arg)
{
	(void)arg;
	gort_chan *c = gort_chan_make(sizeof(long), 5);
	CHECK(c != NULL);
	for (long i = 1; i <= 3; i++)
		CHECK_EQ(gort_chan_send(c, &i), 0);
	CHECK_EQ(gort_chan_close(c), 0);
	CHECK_EQ(gort_chan_len(c), 3);
	CHECK_EQ(gort_chan_cap(c), 5);
	long v = 0;
	CHECK_FAILS(gort_chan_send(c, &v), EPIPE);
	CHECK_FAILS(gort_chan_try_send(c, &v), EPIPE);
	CHECK_FAILS(gort_chan_close(c), EPIPE);
	CHECK_EQ(gort_chan_len(c), 3); /* nothing got in */
	for (long i = 1; i <= 3; i++) {
		CHECK_EQ(gort_chan_recv(c, &v), 1);
		CHECK_EQ(v, i);
		CHECK_EQ(gort_chan_len(c), (size_t)(3 - i));
	}
	for (int k = 0; k < 3; k++) {
		v = -1;
		CHECK_EQ(gort_chan_recv(c, &v), 0);
		CHECK_EQ(v, 0);
		CHECK_EQ(gort_chan_recv(c, NULL), 0);
	}
	CHECK_EQ(gort_chan_cap(c), 5);
	gort_chan_free(c);

	gort_chan *u = gort_chan_make(sizeof(long), 0);
	CHECK(u != NULL);
	CHECK_EQ(gort_chan_close(u), 0);
	CHECK_FAILS(gort_chan_close(u), EPIPE);
	CHECK_FAILS(gort_chan_send(u, &v), EPIPE);
	v = -1;
	CHECK_EQ(gort_chan_recv(u, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(gort_chan_len(u), 0);
	CHECK_EQ(gort_chan_cap(u), 0);
	gort_chan_free(u);
	return 0;
}

MAIN_CASE(close_semantics, close_main, 2)

/* ---------------------------------------------------------------------
 * len and cap
 * ------------------------------------------------------------------- */

static int len_cap_main(void *arg)
{
	(void)arg;
	static const size_t caps[] = {0, 1, 2, 7, 64, 1000};
	for (size_t k = 0; k < sizeof caps / sizeof *caps; k++) {
		gort_chan *c = gort_chan_make(sizeof(short), caps[k]);
		CHECK(c != NULL);
		CHECK_EQ(gort_chan_cap(c), caps[k]);
		CHECK_EQ(gort_chan_len(c), 0);
		for (size_t i = 0; i < caps[k]; i++) {
			short s = (short)i;
			CHECK_EQ(gort_chan_try_send(c, &s), 0);
			CHECK_EQ(gort_chan_len(c), i + 1);
		}
		short s = 0;
		CHECK_FAILS(gort_chan_try_send(c, &s), EAGAIN);
		/* wrap around the ring a few times */
		for (size_t i = 0; i < 3 * caps[k]; i++) {
			CHECK_EQ(gort_chan_try_recv(c, &s), 1);
			CHECK_EQ(s, (short)i);
			s = (short)(i + caps[k]);
			CHECK_EQ(gort_chan_try_send(c, &s), 0);
			CHECK_EQ(gort_chan_len(c), caps[k]);
		}
		CHECK_EQ(gort_chan_cap(c), caps[k]);
		gort_chan_free(c);
	}
	return 0;
}

MAIN_CASE(len_cap, len_cap_main, 1)

/* ---------------------------------------------------------------------
 * Zero-size elements
 * ------------------------------------------------------------------- */

#define SIGNALS SCALE(10000)

static void signal_sender(void *arg)
{
	gort_chan *c = arg;
	for (int i = 0; i < SIGNALS; i++)
		CHECK_EQ(gort_chan_send(c, NULL), 0);
	CHECK_EQ(gort_chan_close(c), 0);
	gort_wg_done(&helpers_wg);
}

static int zero_size_main(void *arg)
{
	(void)arg;
	gort_chan *b = gort_chan_make(0, 3);
	CHECK(b != NULL);
	CHECK_EQ(gort_chan_cap(b), 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(gort_chan_try_send(b, NULL), 0);
	CHECK_EQ(gort_chan_len(b), 3);
	CHECK_FAILS(gort_chan_try_send(b, NULL), EAGAIN);
	CHECK_EQ(gort_chan_recv(b, NULL), 1);
	CHECK_EQ(gort_chan_try_recv(b, NULL), 1);
	CHECK_EQ(gort_chan_len(b), 1);
	CHECK_EQ(gort_chan_send(b, NULL), 0);
	CHECK_EQ(gort_chan_close(b), 0);
	CHECK_EQ(gort_chan_recv(b, NULL), 1);
	CHECK_EQ(gort_chan_recv(b, NULL), 1);
	CHECK_EQ(gort_chan_recv(b, NULL), 0);
	CHECK_EQ(gort_chan_try_recv(b, NULL), 0);
	gort_chan_free(b);

	/* Unbuffered signals: a rendezvous per signal. */
	gort_chan *u = gort_chan_make(0, 0);
	CHECK(u != NULL);
	CHECK_FAILS(gort_chan_try_send(u, NULL), EAGAIN);
	CHECK_FAILS(gort_chan_try_recv(u, NULL), EAGAIN);
	struct peer p;
	park_peer(peer_send, &p, u, 0); /* sends sizeof 0 from &p.val */
	CHECK_EQ(gort_chan_recv(u, NULL), 1);
	wait_flag(&p.state, 2);
	CHECK_EQ(p.rc, 0);
	start_helper(signal_sender, u);
	int n = 0;
	int r;
	while ((r = gort_chan_recv(u, NULL)) == 1)
		n++;
	CHECK_EQ(r, 0);
	CHECK_EQ(n, SIGNALS);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(u);
	return 0;
}

MAIN_CASE(zero_size, zero_size_main, 2)

/* ---------------------------------------------------------------------
 * NULL channel
 * ------------------------------------------------------------------- */

static int null_main(void *arg)
{
	(void)arg;
	int v = 3;
	CHECK_FAILS(gort_chan_send(NULL, &v), EINVAL);
	CHECK_FAILS(gort_chan_recv(NULL, &v), EINVAL);
	CHECK_FAILS(gort_chan_try_send(NULL, &v), EINVAL);
	CHECK_FAILS(gort_chan_try_recv(NULL, &v), EINVAL);
	CHECK_FAILS(gort_chan_close(NULL), EINVAL);
	CHECK_FAILS(gort_chan_recv(NULL, NULL), EINVAL);
	CHECK_EQ(v, 3);
	CHECK_EQ(gort_chan_len(NULL), 0);
	CHECK_EQ(gort_chan_cap(NULL), 0);
	return 0;
}

MAIN_CASE(null_chan, null_main, 1)

/* Byte patterns for records of any size. */
static void odd_fill(unsigned char *buf, size_t n, unsigned seq)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(seq * 131u + i * 7u + (i >> 8));
}

static void odd_check(const unsigned char *buf, size_t n, unsigned seq)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != (unsigned char)(seq * 131u + i * 7u + (i >> 8)))
			FAILF("record %u of %zu bytes: byte %zu is %u", seq, n, i,
			      buf[i]);
	}
}

/* ---------------------------------------------------------------------
 * Absurd sizes
 * ------------------------------------------------------------------- */

static void must_not_make(size_t elem, size_t cap)
{
	write_errno(0);
	gort_chan *c = gort_chan_make(elem, cap);
	int e = read_errno();
	if (c != NULL || (e != EINVAL && e != ENOMEM)) {
		FAILF("gort_chan_make(%zu, %zu) = %p with errno %d (%s); want "
		      "NULL with EINVAL or ENOMEM", elem, cap, (void *)c, e,
		      strerror(e));
	}
}

static int absurd_main(void *arg)
{
	(void)arg;
	must_not_make(SIZE_MAX, 1);
	must_not_make(1, SIZE_MAX);
	must_not_make(8, SIZE_MAX);
	must_not_make(SIZE_MAX, SIZE_MAX);
	must_not_make(SIZE_MAX / 2 + 1, 2);      /* product wraps to 0 */
	must_not_make(SIZE_MAX / 2 + 2, 2);      /* wraps to 2 */
	must_not_make((size_t)1 << 32, (size_t)1 << 32); /* wraps to 0 */
	must_not_make((size_t)3 << 62, 4);
	must_not_make(1 << 20, (size_t)1 << 40); /* 2^60 bytes */
	must_not_make(1, (size_t)1 << 62);
	must_not_make(64, SIZE_MAX / 64 + 1);    /* just past SIZE_MAX */
	/* A sane make still works afterwards. */
	gort_chan *c = gort_chan_make(16, 16);
	CHECK(c != NULL);
	gort_chan_free(c);
	return 0;
}

MAIN_CASE(absurd_sizes, absurd_main, 1)

/* Elements of 64 KiB and more are refused whatever the capacity, as Go
 * refuses such element types (docs/GUIDE.md: "below 64 KiB as in Go");
 * the largest allowed one is copied intact. */
static int absurd_elem_main(void *arg)
{
	(void)arg;
	must_not_make(SIZE_MAX, 0);
	must_not_make(SIZE_MAX / 2, 0);
	must_not_make((size_t)1 << 16, 0);
	must_not_make((size_t)1 << 16, 1);
	size_t max = ((size_t)1 << 16) - 1;
	gort_chan *c = gort_chan_make(max, 1);
	CHECK(c != NULL);
	unsigned char *a = malloc(max), *b = malloc(max);
	CHECK(a != NULL && b != NULL);
	odd_fill(a, max, 3);
	CHECK_EQ(gort_chan_send(c, a), 0);
	memset(a, 0, max);
	CHECK_EQ(gort_chan_recv(c, b), 1);
	odd_check(b, max, 3);
	free(a);
	free(b);
	gort_chan_free(c);
	return 0;
}

MAIN_CASE(absurd_elem_unbuffered, absurd_elem_main, 1)

/* ---------------------------------------------------------------------
 * Go's concurrent prime sieve
 * ------------------------------------------------------------------- */

#define NPRIMES (HARNESS_SANITIZED ? 200 : 1000)

static int plain_primes[1000];
static int sieve_limit;

static void compute_primes(void)
{
	/* The 1000th prime is 7919. */
	static bool composite[8000];
	int n = 0;
	for (int i = 2; i < 8000 && n < 1000; i++) {
		if (composite[i])
			continue;
		plain_primes[n++] = i;
		for (int j = i * i; j < 8000; j += i)
			composite[j] = true;
	}
	CHECK_EQ(n, 1000);
	CHECK_EQ(plain_primes[999], 7919);
}

static gort_waitgroup sieve_wg;

static void generate(void *arg)
{
	gort_chan *out = arg;
	for (int i = 2; i <= sieve_limit; i++)
		CHECK_EQ(gort_chan_send(out, &i), 0);
	CHECK_EQ(gort_chan_close(out), 0);
	gort_wg_done(&sieve_wg);
}

struct filter {
	gort_chan *in, *out;
	int prime;
};

static void filter(void *arg)
{
	struct filter *f = arg;
	int v;
	int r;
	while ((r = gort_chan_recv(f->in, &v)) == 1) {
		if (v % f->prime != 0)
			CHECK_EQ(gort_chan_send(f->out, &v), 0);
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(gort_chan_close(f->out), 0);
	gort_wg_done(&sieve_wg);
}

static int sieve_main(void *arg)
{
	(void)arg;
	static gort_chan *chans[1001];
	static struct filter filters[1000];
	sieve_limit = plain_primes[NPRIMES - 1];
	chans[0] = gort_chan_make(sizeof(int), 0);
	CHECK(chans[0] != NULL);
	CHECK_EQ(gort_wg_add(&sieve_wg, 1), 0);
	CHECK(gort_go(generate, chans[0]) > 0);
	for (int i = 0; i < NPRIMES; i++) {
		int prime = 0;
		CHECK_EQ(gort_chan_recv(chans[i], &prime), 1);
		if (prime != plain_primes[i])
			FAILF("prime %d from the sieve is %d, want %d", i, prime,
			      plain_primes[i]);
		chans[i + 1] = gort_chan_make(sizeof(int), 0);
		CHECK(chans[i + 1] != NULL);
		filters[i] = (struct filter){chans[i], chans[i + 1], prime};
		CHECK_EQ(gort_wg_add(&sieve_wg, 1), 0);
		CHECK(gort_go(filter, &filters[i]) > 0);
	}
	/* The generator stops at the last prime wanted: nothing more
	 * comes out of the chain, and the close reaches its end. */
	int v = -1;
	CHECK_EQ(gort_chan_recv(chans[NPRIMES], &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(gort_wg_wait(&sieve_wg), 0);
	for (int i = 0; i <= NPRIMES; i++)
		gort_chan_free(chans[i]);
	return 0;
}

static void prime_sieve_procs1(void)
{
	compute_primes();
	run_main(sieve_main, NULL, 1);
}

static void prime_sieve_procs2(void)
{
	compute_primes();
	run_main(sieve_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Go's daisy chain
 * ------------------------------------------------------------------- */

#define CHAIN SCALE(10000)
#define CHAIN_ROUNDS 3

static gort_waitgroup chain_wg;

struct link {
	gort_chan *left, *right;
};

static void chain_link(void *arg)
{
	struct link *l = arg;
	long v;
	int r;
	while ((r = gort_chan_recv(l->left, &v)) == 1)
		CHECK_EQ(gort_chan_send(l->right, &(long){v + 1}), 0);
	CHECK_EQ(r, 0);
	CHECK_EQ(gort_chan_close(l->right), 0);
	gort_wg_done(&chain_wg);
}

static int chain_main(void *arg)
{
	(void)arg;
	gort_chan **chans = calloc(CHAIN + 1, sizeof *chans);
	struct link *links = calloc(CHAIN, sizeof *links);
	CHECK(chans != NULL && links != NULL);
	for (int i = 0; i <= CHAIN; i++) {
		chans[i] = gort_chan_make(sizeof(long), 0);
		CHECK(chans[i] != NULL);
	}
	CHECK_EQ(gort_wg_add(&chain_wg, CHAIN), 0);
	for (int i = 0; i < CHAIN; i++) {
		links[i] = (struct link){chans[i], chans[i + 1]};
		CHECK(gort_go(chain_link, &links[i]) > 0);
	}
	for (long r = 0; r < CHAIN_ROUNDS; r++) {
		long start = 1 + r * 1000000;
		CHECK_EQ(gort_chan_send(chans[0], &start), 0);
		long out = 0;
		CHECK_EQ(gort_chan_recv(chans[CHAIN], &out), 1);
		CHECK_EQ(out, start + CHAIN);
	}
	CHECK_EQ(gort_chan_close(chans[0]), 0);
	long out = -1;
	CHECK_EQ(gort_chan_recv(chans[CHAIN], &out), 0);
	CHECK_EQ(gort_wg_wait(&chain_wg), 0);
	for (int i = 0; i <= CHAIN; i++)
		gort_chan_free(chans[i]);
	free(chans);
	free(links);
	return 0;
}

MAIN_CASE(daisy_chain_procs1, chain_main, 1)
MAIN_CASE(daisy_chain_procs2, chain_main, 2)

/* ---------------------------------------------------------------------
 * Many producers and consumers
 * ------------------------------------------------------------------- */

#define PRODUCERS 8
#define CONSUMERS 8
#define PER_PRODUCER SCALE(40000)
#define TOTAL (PRODUCERS * PER_PRODUCER)

static gort_chan *mpmc_chan;
static atomic_int *mpmc_counts;
static gort_waitgroup producers_wg, consumers_wg;

static void producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_PRODUCER; i++) {
		int v = id * PER_PRODUCER + i;
		if (id % 2 == 0) {
			CHECK_EQ(gort_chan_send(mpmc_chan, &v), 0);
			continue;
		}
		/* odd producers: the non-blocking form, yielding when full */
		int r;
		while ((r = gort_chan_try_send(mpmc_chan, &v)) != 0) {
			CHECK_EQ(r, -1);
			CHECK_EQ(read_errno(), EAGAIN);
			gort_gosched();
		}
	}
	gort_wg_done(&producers_wg);
}

static void consumer(void *arg)
{
	int id = (int)(intptr_t)arg;
	int last[PRODUCERS];
	for (int p = 0; p < PRODUCERS; p++)
		last[p] = -1;
	for (;;) {
		int v = -1;
		int r;
		if (id % 2 == 0) {
			r = gort_chan_recv(mpmc_chan, &v);
		} else {
			while ((r = gort_chan_try_recv(mpmc_chan, &v)) == -1) {
				CHECK_EQ(read_errno(), EAGAIN);
				gort_gosched();
			}
		}
		if (r == 0)
			break;
		CHECK_EQ(r, 1);
		if (v < 0 || v >= TOTAL)
			FAILF("consumer %d received %d, not a value sent", id, v);
		int p = v / PER_PRODUCER;
		if (v <= last[p])
			FAILF("consumer %d received %d after %d from producer %d: "
			      "not FIFO", id, v, last[p], p);
		last[p] = v;
		atomic_fetch_add(&mpmc_counts[v], 1);
	}
	gort_wg_done(&consumers_wg);
}

static int mpmc_main(void *arg)
{
	size_t cap = (size_t)(intptr_t)arg;
	mpmc_chan = gort_chan_make(sizeof(int), cap);
	CHECK(mpmc_chan != NULL);
	mpmc_counts = calloc(TOTAL, sizeof *mpmc_counts);
	CHECK(mpmc_counts != NULL);
	CHECK_EQ(gort_wg_add(&producers_wg, PRODUCERS), 0);
	CHECK_EQ(gort_wg_add(&consumers_wg, CONSUMERS), 0);
	for (int i = 0; i < CONSUMERS; i++)
		CHECK(gort_go(consumer, (void *)(intptr_t)i) > 0);
	for (int i = 0; i < PRODUCERS; i++)
		CHECK(gort_go(producer, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&producers_wg), 0);
	CHECK_EQ(gort_chan_close(mpmc_chan), 0);
	CHECK_EQ(gort_wg_wait(&consumers_wg), 0);
	long total = 0;
	for (int v = 0; v < TOTAL; v++) {
		int n = atomic_load(&mpmc_counts[v]);
		if (n != 1)
			FAILF("value %d was received %d times (cap %zu, "
			      "GOMAXPROCS=%d)", v, n, cap, gort_gomaxprocs(0));
		total += n;
	}
	CHECK_EQ(total, TOTAL);
	CHECK_EQ(gort_chan_len(mpmc_chan), 0);
	gort_chan_free(mpmc_chan);
	free(mpmc_counts);
	return 0;
}

static void mpmc(size_t cap)
{
	static const int procs[] = {1, 2, 4};
	for (size_t i = 0; i < 3; i++)
		run_main(mpmc_main, (void *)(intptr_t)cap, procs[i]);
}

static void mpmc_buffered(void)
{
	mpmc(16);
}

static void mpmc_unbuffered(void)
{
	mpmc(0);
}

/* ---------------------------------------------------------------------
 * Large elements
 * ------------------------------------------------------------------- */

struct big {
	uint64_t seq;
	uint64_t words[126];
	uint64_t sum;
};

_Static_assert(sizeof(struct big) == 1024, "a 1 KiB element");

#define BIG_PER SCALE(3000)
#define BIG_SENDERS 4

static void big_fill(struct big *b, uint64_t seq)
{
	b->seq = seq;
	b->sum = 0;
	for (int i = 0; i < 126; i++) {
		b->words[i] = seq * 0x9E3779B97F4A7C15ull + (uint64_t)i * 0x1234567ull;
		b->sum += b->words[i];
	}
}

static void big_check(const struct big *b)
{
	uint64_t sum = 0;
	for (int i = 0; i < 126; i++) {
		uint64_t want = b->seq * 0x9E3779B97F4A7C15ull +
		                (uint64_t)i * 0x1234567ull;
		if (b->words[i] != want)
			FAILF("element %llu: word %d is %llx, want %llx",
			      (unsigned long long)b->seq, i,
			      (unsigned long long)b->words[i],
			      (unsigned long long)want);
		sum += want;
	}
	CHECK(sum == b->sum);
}

static gort_chan *big_chan;
static gort_waitgroup big_wg;

static void big_sender(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	struct big b;
	for (uint64_t i = 0; i < BIG_PER; i++) {
		big_fill(&b, id * BIG_PER + i);
		CHECK_EQ(gort_chan_send(big_chan, &b), 0);
		memset(&b, 0xEE, sizeof b); /* the channel has its own copy */
	}
	gort_wg_done(&big_wg);
}

struct odd_job {
	gort_chan *c;
	size_t size;
	unsigned count;
};

static void odd_sender(void *arg)
{
	struct odd_job *j = arg;
	unsigned char *buf = malloc(j->size);
	CHECK(buf != NULL);
	for (unsigned i = 0; i < j->count; i++) {
		odd_fill(buf, j->size, i);
		CHECK_EQ(gort_chan_send(j->c, buf), 0);
	}
	free(buf);
	CHECK_EQ(gort_chan_close(j->c), 0);
	gort_wg_done(&helpers_wg);
}

static void odd_stream(size_t size, size_t cap, unsigned count)
{
	struct odd_job j = {gort_chan_make(size, cap), size, count};
	CHECK(j.c != NULL);
	unsigned char *buf = malloc(size + 64);
	CHECK(buf != NULL);
	memset(buf + size, 0x5A, 64); /* nothing is written past elem_size */
	start_helper(odd_sender, &j);
	for (unsigned i = 0; i < count; i++) {
		CHECK_EQ(gort_chan_recv(j.c, buf), 1);
		odd_check(buf, size, i);
	}
	CHECK_EQ(gort_chan_recv(j.c, buf), 0);
	for (size_t i = 0; i < size; i++)
		CHECK_EQ(buf[i], 0);
	for (size_t i = size; i < size + 64; i++)
		CHECK_EQ(buf[i], 0x5A);
	free(buf);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(j.c);
}

static int large_main(void *arg)
{
	(void)arg;
	static const size_t caps[] = {0, 5};
	for (size_t k = 0; k < 2; k++) {
		big_chan = gort_chan_make(sizeof(struct big), caps[k]);
		CHECK(big_chan != NULL);
		static bool seen[BIG_SENDERS * BIG_PER];
		memset(seen, 0, sizeof seen);
		CHECK_EQ(gort_wg_add(&big_wg, BIG_SENDERS), 0);
		for (uintptr_t i = 0; i < BIG_SENDERS; i++)
			CHECK(gort_go(big_sender, (void *)i) > 0);
		for (int n = 0; n < BIG_SENDERS * BIG_PER; n++) {
			struct big b;
			memset(&b, 0, sizeof b);
			CHECK_EQ(gort_chan_recv(big_chan, &b), 1);
			big_check(&b);
			CHECK(b.seq < BIG_SENDERS * BIG_PER);
			CHECK(!seen[b.seq]);
			seen[b.seq] = true;
		}
		CHECK_EQ(gort_wg_wait(&big_wg), 0);
		gort_chan_free(big_chan);
	}

	/* By value: the sender's buffer changes after the send. */
	gort_chan *c = gort_chan_make(sizeof(struct big), 3);
	CHECK(c != NULL);
	struct big b;
	for (uint64_t i = 0; i < 3; i++) {
		big_fill(&b, 1000 + i);
		CHECK_EQ(gort_chan_try_send(c, &b), 0);
		memset(&b, 0xCC, sizeof b);
	}
	for (uint64_t i = 0; i < 3; i++) {
		CHECK_EQ(gort_chan_try_recv(c, &b), 1);
		CHECK_EQ(b.seq, 1000 + i);
		big_check(&b);
	}
	gort_chan_free(c);

	/* Odd sizes and a 16 KiB element, buffered and unbuffered. */
	odd_stream(1021, 0, SCALE(2000));
	odd_stream(1021, 7, SCALE(2000));
	odd_stream(3, 2, SCALE(5000));
	odd_stream(16384, 0, SCALE(300));
	odd_stream(16384, 3, SCALE(300));
	return 0;
}

MAIN_CASE(large_elems, large_main, 2)

/* ---------------------------------------------------------------------
 * Plain threads
 * ------------------------------------------------------------------- */

#define PLAIN_N SCALE(2000)

struct plain_ctx {
	gort_chan *to_thread;   /* unbuffered: goroutine -> thread */
	gort_chan *to_main;     /* unbuffered: thread -> goroutine */
	gort_chan *closed_recv; /* the thread blocks in recv; main closes */
	gort_chan *closed_send; /* the thread blocks in send; main closes */
	atomic_int stage;
	int recv_rc, send_rc, send_err;
	int64_t goid;
};

static void *plain_thread(void *arg)
{
	struct plain_ctx *x = arg;
	x->goid = gort_goid();
	for (int i = 0; i < PLAIN_N; i++) {
		int v = -1;
		CHECK_EQ(gort_chan_recv(x->to_thread, &v), 1);
		CHECK_EQ(v, i);
	}
	for (int i = 0; i < PLAIN_N; i++)
		CHECK_EQ(gort_chan_send(x->to_main, &(int){i * 3}), 0);
	atomic_store(&x->stage, 1);
	int v = 77;
	x->recv_rc = gort_chan_recv(x->closed_recv, &v);
	CHECK_EQ(v, 0);
	atomic_store(&x->stage, 2);
	write_errno(0);
	x->send_rc = gort_chan_send(x->closed_send, &v);
	x->send_err = read_errno();
	atomic_store(&x->stage, 3);
	return NULL;
}

struct pingpong {
	gort_chan *ping, *pong;
};

static void *pinger(void *arg)
{
	struct pingpong *pp = arg;
	for (int i = 0; i < PLAIN_N; i++) {
		CHECK_EQ(gort_chan_send(pp->ping, &i), 0);
		int v = -1;
		CHECK_EQ(gort_chan_recv(pp->pong, &v), 1);
		CHECK_EQ(v, i + 1);
	}
	CHECK_EQ(gort_chan_close(pp->ping), 0);
	return NULL;
}

static void *ponger(void *arg)
{
	struct pingpong *pp = arg;
	int v, r, n = 0;
	while ((r = gort_chan_recv(pp->ping, &v)) == 1) {
		CHECK_EQ(v, n);
		n++;
		CHECK_EQ(gort_chan_send(pp->pong, &(int){v + 1}), 0);
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(n, PLAIN_N);
	return NULL;
}

static int plain_main(void *arg)
{
	(void)arg;
	struct plain_ctx x = {
		.to_thread = gort_chan_make(sizeof(int), 0),
		.to_main = gort_chan_make(sizeof(int), 0),
		.closed_recv = gort_chan_make(sizeof(int), 0),
		.closed_send = gort_chan_make(sizeof(int), 0),
		.goid = -1,
	};
	CHECK(x.to_thread && x.to_main && x.closed_recv && x.closed_send);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, plain_thread, &x), 0);
	for (int i = 0; i < PLAIN_N; i++)
		CHECK_EQ(gort_chan_send(x.to_thread, &i), 0);
	for (int i = 0; i < PLAIN_N; i++) {
		int v = -1;
		CHECK_EQ(gort_chan_recv(x.to_main, &v), 1);
		CHECK_EQ(v, i * 3);
	}
	wait_flag(&x.stage, 1);
	settle();
	CHECK_EQ(atomic_load(&x.stage), 1); /* blocked in recv */
	CHECK_EQ(gort_chan_close(x.closed_recv), 0);
	wait_flag(&x.stage, 2);
	settle();
	CHECK_EQ(atomic_load(&x.stage), 2); /* blocked in send */
	CHECK_EQ(gort_chan_close(x.closed_send), 0);
	wait_flag(&x.stage, 3);
	join_thread(th);
	CHECK_EQ(x.goid, 0);
	CHECK_EQ(x.recv_rc, 0);
	CHECK_EQ(x.send_rc, -1);
	CHECK_EQ(x.send_err, EPIPE);
	gort_chan_free(x.to_thread);
	gort_chan_free(x.to_main);
	gort_chan_free(x.closed_recv);
	gort_chan_free(x.closed_send);

	/* Two plain threads, no goroutine on either side. */
	struct pingpong pp = {gort_chan_make(sizeof(int), 0),
	                      gort_chan_make(sizeof(int), 0)};
	CHECK(pp.ping && pp.pong);
	pthread_t a, b;
	CHECK_EQ(pthread_create(&b, NULL, ponger, &pp), 0);
	CHECK_EQ(pthread_create(&a, NULL, pinger, &pp), 0);
	join_thread(a);
	join_thread(b);
	gort_chan_free(pp.ping);
	gort_chan_free(pp.pong);
	return 0;
}

MAIN_CASE(plain_threads_procs1, plain_main, 1)
MAIN_CASE(plain_threads_procs2, plain_main, 2)

/* ---------------------------------------------------------------------
 * Channels that outlive a run with goroutines left waiting on them
 * ------------------------------------------------------------------- */

/*
 * Goroutines still parked when main returns are abandoned, their stacks
 * released. A channel they waited on may outlive the run: it must not
 * remember them. After the run, with no runtime, and in the next run:
 * no receiver or sender is found (try_send, try_recv: EAGAIN), the value
 * of a sender abandoned on a full buffer is not moved in, a close wakes
 * no one, new goroutines use the channels as usual (also in a select),
 * and gort_chan_free does not see waiters.
 */
static gort_chan *left_recvc;  /* an abandoned receiver waited here */
static gort_chan *left_sendc;  /* an abandoned sender */
static gort_chan *left_fullc;  /* cap 1, full, an abandoned sender */
static gort_chan *left_selc;   /* an abandoned select (with left_sendc) */
static atomic_int left_parked;

static void left_receiver(void *arg)
{
	(void)arg;
	int v;
	atomic_fetch_add(&left_parked, 1);
	gort_chan_recv(left_recvc, &v);
	FAILF("a receiver abandoned when main returned woke up");
}

static void left_sender(void *arg)
{
	gort_chan *c = arg;
	atomic_fetch_add(&left_parked, 1);
	gort_chan_send(c, &(int){-1});
	FAILF("a sender abandoned when main returned woke up");
}

static void left_selector(void *arg)
{
	(void)arg;
	int in = 0, out = -2;
	gort_case cs[2] = {
		{.chan = left_selc, .dir = GORT_RECV, .elem = &in},
		{.chan = left_sendc, .dir = GORT_SEND, .elem = &out},
	};
	atomic_fetch_add(&left_parked, 1);
	gort_select(cs, 2, true);
	FAILF("a select abandoned when main returned woke up");
}

static int leave_waiters_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_chan_send(left_fullc, &(int){7}), 0);
	CHECK(gort_go(left_receiver, NULL) > 1);
	CHECK(gort_go(left_sender, left_sendc) > 1);
	CHECK(gort_go(left_sender, left_fullc) > 1);
	CHECK(gort_go(left_selector, NULL) > 1);
	wait_flag(&left_parked, 4);
	settle();
	CHECK_EQ(gort_numgoroutine(), 5);
	return 0; /* they stay parked */
}

static void echo_once(void *arg)
{
	gort_chan *c = arg;
	int v = -1;
	CHECK_EQ(gort_chan_recv(c, &v), 1);
	CHECK_EQ(gort_chan_send(c, &(int){v + 1}), 0);
	gort_wg_done(&helpers_wg);
}

static int reuse_main(void *arg)
{
	(void)arg;
	gort_chan *unbuf[] = {left_recvc, left_sendc};
	for (size_t i = 0; i < 2; i++) {
		/* Parked on the channel first: the queue is used again. */
		start_helper(echo_once, unbuf[i]);
		settle();
		CHECK_EQ(gort_chan_send(unbuf[i], &(int){10}), 0);
		int v = -1;
		CHECK_EQ(gort_chan_recv(unbuf[i], &v), 1);
		CHECK_EQ(v, 11);
	}
	/* The buffered one: a value in, a blocked sender, drained. */
	struct peer p;
	CHECK_EQ(gort_chan_send(left_fullc, &(int){1}), 0);
	park_peer(peer_send, &p, left_fullc, 2);
	int v = -1;
	CHECK_EQ(gort_chan_recv(left_fullc, &v), 1);
	CHECK_EQ(v, 1);
	CHECK_EQ(gort_chan_recv(left_fullc, &v), 1);
	CHECK_EQ(v, 2);
	/* A select on the closed channel and an unbuffered one. */
	struct peer q;
	start_peer(peer_send, &q, left_sendc, 5);
	int a = -1, b = -1;
	gort_case cs[2] = {
		{.chan = left_sendc, .dir = GORT_RECV, .elem = &a},
		{.chan = left_selc, .dir = GORT_RECV, .elem = &b},
	};
	int k = gort_select(cs, 2, true);
	if (k == 1) { /* the closed one was ready: take the value too */
		CHECK(!cs[1].ok);
		CHECK_EQ(gort_chan_recv(left_sendc, &a), 1);
	}
	CHECK_EQ(a, 5);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	return 0;
}

static void outlives_run(void)
{
	left_recvc = make_chan(sizeof(int), 0);
	left_sendc = make_chan(sizeof(int), 0);
	left_fullc = make_chan(sizeof(int), 1);
	left_selc = make_chan(sizeof(int), 0);
	run_main(leave_waiters_main, NULL, 2);

	/* No runtime: nobody waits on them any more. */
	CHECK_ERRNO(gort_chan_try_send(left_recvc, &(int){1}), EAGAIN);
	int v = -1;
	CHECK_ERRNO(gort_chan_try_recv(left_sendc, &v), EAGAIN);
	CHECK_ERRNO(gort_chan_try_send(left_selc, &(int){1}), EAGAIN);
	CHECK_EQ(gort_chan_len(left_fullc), 1);
	CHECK_EQ(gort_chan_try_recv(left_fullc, &v), 1);
	CHECK_EQ(v, 7);
	CHECK_ERRNO(gort_chan_try_recv(left_fullc, &v), EAGAIN);
	CHECK_EQ(gort_chan_len(left_fullc), 0);
	CHECK_EQ(gort_chan_close(left_selc), 0);
	CHECK_EQ(gort_chan_try_recv(left_selc, &v), 0);

	/* The next run uses them. */
	run_main(reuse_main, NULL, 2);
	gort_chan_free(left_recvc);
	gort_chan_free(left_sendc);
	gort_chan_free(left_fullc);
	gort_chan_free(left_selc);
}

/* ---------------------------------------------------------------------
 * A plain thread that waits on a channel before gort_main is not
 * forgotten when the runtime starts: a goroutine's send reaches it.
 * ------------------------------------------------------------------- */

static gort_chan *early_chan;
static atomic_bool early_waiting;

static void *early_receiver(void *arg)
{
	int *v = arg;
	atomic_store(&early_waiting, true);
	CHECK_EQ(gort_chan_recv(early_chan, v), 1);
	return NULL;
}

static int early_send_main(void *arg)
{
	(void)arg;
	gort_timer *t = gort_timer_new((int64_t)(harness_timeout(10) * 1e9), 0);
	CHECK(t != NULL);
	int v = 42;
	gort_case cs[2] = {{.chan = early_chan, .dir = GORT_SEND, .elem = &v},
	                   {.chan = gort_timer_chan(t), .dir = GORT_RECV}};
	CHECK_EQ(gort_select(cs, 2, true), 0); /* 1: the receiver was lost */
	gort_timer_free(t);
	return 0;
}

static void waits_before_main(void)
{
	early_chan = make_chan(sizeof(int), 0);
	int v = 0;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, early_receiver, &v), 0);
	while (!atomic_load(&early_waiting))
		sched_yield();
	usleep(20000); /* parked in the receive (if not, the case passes anyway) */
	run_main(early_send_main, NULL, 2);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(v, 42);
	gort_chan_free(early_chan);
}

/* ---------------------------------------------------------------------
 * A plain thread sending while runs end and begin
 * ------------------------------------------------------------------- */

/*
 * A plain thread keeps offering values (try_send) on a channel whose
 * receivers are goroutines, run after run; each run ends with them
 * parked in the receive. A send that finds one while the run ends
 * writes into its stack and readies it: teardown, which frees both
 * stacks and scheduler, must wait for that send to finish.
 */
static gort_chan *across_chan;
static atomic_bool across_stop;
static atomic_long across_sent;

static void *across_sender(void *arg)
{
	(void)arg;
	long v = 1;
	while (!atomic_load(&across_stop))
		if (gort_chan_try_send(across_chan, &v) == 0)
			atomic_fetch_add(&across_sent, 1);
	return NULL;
}

static void across_receiver(void *arg)
{
	(void)arg;
	long v;
	while (gort_chan_recv(across_chan, &v) == 1)
		;
}

static int across_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++)
		CHECK(gort_go(across_receiver, NULL) > 1);
	gort_sleep(200000);
	return 0; /* the receivers stay parked, or about to */
}

static void plain_sender_across_runs(void)
{
	across_chan = make_chan(sizeof(long), 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, across_sender, NULL), 0);
	/* Until a send got through, too (a loaded host may starve the
	 * sender for the first runs), up to twenty times as many runs. */
	for (int i = 0; i < SCALE(300) || (atomic_load(&across_sent) == 0 && i < SCALE(6000));
	     i++)
		run_main(across_main, NULL, 2);
	atomic_store(&across_stop, true);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK(atomic_load(&across_sent) > 0);
	gort_chan_free(across_chan);
}

/* ---------------------------------------------------------------------
 * Deadlock: main blocked forever on a receive
 * ------------------------------------------------------------------- */

static gort_chan *deadlock_chan;

static int deadlock_main(void *arg)
{
	(void)arg;
	deadlock_chan = gort_chan_make(sizeof(int), 0);
	CHECK(deadlock_chan != NULL);
	int v;
	gort_chan_recv(deadlock_chan, &v);
	fprintf(stderr, "chan_test: main woke up\n");
	return 1;
}

static void deadlock_recv(void)
{
	if (harness_emulated()) {
		SKIP("deadlock_recv", "no deadlock detection under the emulator");
		return;
	}
	must_deadlock("recv", "chan receive", "gort_chan_recv");
}

static const struct harness_case cases[] = {
	{"unbuffered_procs1", unbuffered_procs1},
	{"unbuffered_procs2", unbuffered_procs2},
	{"buffered_procs1", buffered_procs1},
	{"buffered_procs2", buffered_procs2},
	{"try_ops", try_ops},
	{"close_wakes_receivers_procs1", close_wakes_receivers_procs1},
	{"close_wakes_receivers_procs2", close_wakes_receivers_procs2},
	{"close_wakes_senders_procs1", close_wakes_senders_procs1},
	{"close_wakes_senders_procs2", close_wakes_senders_procs2},
	{"close_batches", close_batches},
	{"close_semantics", close_semantics},
	{"len_cap", len_cap},
	{"zero_size", zero_size},
	{"null_chan", null_chan},
	{"absurd_sizes", absurd_sizes},
	{"absurd_elem_unbuffered", absurd_elem_unbuffered},
	{"prime_sieve_procs1", prime_sieve_procs1},
	{"prime_sieve_procs2", prime_sieve_procs2},
	{"daisy_chain_procs1", daisy_chain_procs1},
	{"daisy_chain_procs2", daisy_chain_procs2},
	{"mpmc_buffered", mpmc_buffered},
	{"mpmc_unbuffered", mpmc_unbuffered},
	{"large_elems", large_elems},
	{"plain_threads_procs1", plain_threads_procs1},
	{"plain_threads_procs2", plain_threads_procs2},
	{"outlives_run", outlives_run},
	{"waits_before_main", waits_before_main},
	{"plain_sender_across_runs", plain_sender_across_runs},
	{"deadlock_recv", deadlock_recv},
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--deadlock") == 0) {
		gort_gomaxprocs(2);
		return gort_main(deadlock_main, NULL);
	}
	run_named(argc, argv, cases, sizeof cases / sizeof *cases, 30);
	PASS("chan_test");
	return 0;
}
