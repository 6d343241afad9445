/*
 * timer_test proves gort's timers, tickers and sleeps behave as Go's
 * (time.Sleep, time.Timer and time.Ticker before Go 1.23):
 *  - 10,000 goroutines sleeping random durations (0 to 30 ms, some zero
 *    or negative) all wake, each once, and none early (gort_nanotime
 *    before and after), at GOMAXPROCS=1 and 2;
 *  - a timer fires once: its channel (capacity 1) receives one value,
 *    the fire time: at least creation + ns and at most the time of the
 *    receive; nothing more arrives later; an unread value waits in the
 *    channel; ns <= 0 fires at once;
 *  - Stop before the timer fires returns true (a second Stop false) and
 *    nothing ever arrives; Stop after it fired returns false, and a value
 *    not yet received is still in the channel;
 *  - Reset of an active timer returns true and moves the fire time,
 *    earlier or later (nothing arrives before the new time); Reset of an
 *    expired or stopped timer returns false and it fires again;
 *  - a ticker delivers repeatedly (the k-th value received is at least
 *    creation + k periods, values increase); Reset of a ticker moves the
 *    next tick and keeps the period; a 100 us ticker delivers hundreds of
 *    increasing values; when the reader is slow ticks are dropped, not
 *    queued: after 5.5 periods one value is waiting (the first tick's),
 *    not five, and the next one comes from a later tick;
 *  - huge durations do not overflow: timers of INT64_MAX (and
 *    INT64_MAX - 1000) ns, Resets to those, tickers with an INT64_MAX
 *    period (after their first tick) and goroutines sleeping about
 *    INT64_MAX ns never fire or wake during the test;
 *  - a select over 1000 timers of different durations receives each
 *    exactly once, none early;
 *  - stop/reset races: goroutines calling stop, reset, try_recv and
 *    non-blocking selects on shared timers and tickers for 300 ms at
 *    GOMAXPROCS 2 and 4 do not crash, every value received is a plausible
 *    fire time, a one-shot timer never yields more values plus successful
 *    stops and resets than it was armed, and afterwards each timer,
 *    stopped and drained, stays silent, and fires once more when reset;
 *  - stop and free racing the firing (timers of 0-40 us stopped or
 *    freed after 0-60 us of busy waiting, for 0.5 s each, at GOMAXPROCS
 *    2): a stop that returns false returns only once the value is in the
 *    channel (a firing under way completes first, as in Go before 1.23),
 *    a stop that returns true leaves it empty, and a freed timer is not
 *    touched by a firing under way (ASan, TSan);
 *  - stop and reset racing a fast ticker's re-arming (1 us tickers, for
 *    0.8 s: four goroutines creating, running 100 us and stopping them at
 *    GOMAXPROCS 2; one goroutine resetting four of them while idle Ps
 *    fire them, at GOMAXPROCS 4): a ticker that was never stopped is
 *    armed or firing, so stop and reset return true; once stop returned
 *    and the channel was drained no tick arrives (300 us later); reset
 *    tickers still tick, and stay silent once stopped;
 *  - timers are usable from threads that are not goroutines: a plain
 *    thread creates, receives from, stops, resets and frees timers and
 *    tickers, and receives from a goroutine's timer, and a goroutine
 *    receives from the thread's timer;
 *  - gort_timer_free of an active timer, of a ticker that keeps firing
 *    into a full channel, and of timers that fired or not (hundreds, at
 *    random) releases them: nothing fires into freed memory (ASan);
 *  - GOMAXPROCS changing 100 times between 1 and 8, then 1 for good,
 *    while timers and sleeps are pending on every P (400 timers of 60-100
 *    ms made at GOMAXPROCS=8, every third stopped by a plain thread
 *    meanwhile; 400 goroutines, a quarter locked to their threads,
 *    sleeping 1-20 ms five times, then 60-100 ms): every sleep ends, none
 *    early; each timer not stopped fires once, none early; a stopped one
 *    never does;
 *  - bad input: stop and reset of NULL return false with errno EINVAL,
 *    gort_timer_chan(NULL) is NULL, gort_timer_free(NULL) is harmless
 *    (with and without a running runtime); a negative period gives NULL
 *    with EINVAL.
 */
#include "gort_util.h"

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static gort_timer *new_timer(int64_t ns, int64_t period)
{
	gort_timer *t = gort_timer_new(ns, period);
	if (t == NULL)
		FAILF("gort_timer_new(%lld, %lld): %s", (long long)ns,
		      (long long)period, strerror(read_errno()));
	CHECK(gort_timer_chan(t) != NULL);
	return t;
}

/* Receive the next value of t, failing if none comes within limit_s (a
 * select against a guard timer, so that a missing firing is reported
 * rather than hanging the case). */
static int64_t recv_within(gort_timer *t, double limit_s, const char *what)
{
	gort_timer *guard = new_timer((int64_t)(harness_timeout(limit_s) * 1e9), 0);
	int64_t v = -1, g = 0;
	gort_case cs[2] = {
		{.chan = gort_timer_chan(t), .dir = GORT_RECV, .elem = &v},
		{.chan = gort_timer_chan(guard), .dir = GORT_RECV, .elem = &g},
	};
	int r = gort_select(cs, 2, true);
	gort_timer_free(guard);
	if (r != 0)
		FAILF("%s: no value within %.1f s (select returned %d)", what,
		      harness_timeout(limit_s), r);
	CHECK(cs[0].ok);
	return v;
}

/* A fire time v received at time `now` of a timer due no earlier than
 * `due`. */
static void check_value(int64_t v, int64_t due, int64_t now, const char *what)
{
	if (v < due)
		FAILF("%s: fire time %lld is %.3f ms before the due time", what,
		      (long long)v, (double)(due - v) / 1e6);
	if (v > now)
		FAILF("%s: fire time %lld is after the receive (%lld)", what,
		      (long long)v, (long long)now);
}

/* Nothing in t's channel now. */
static void check_empty(gort_timer *t, const char *what)
{
	int64_t v = -1;
	write_errno(0);
	int r = gort_chan_try_recv(gort_timer_chan(t), &v);
	if (r != -1 || read_errno() != EAGAIN)
		FAILF("%s: try_recv gave %d (value %lld), want nothing", what, r,
		      (long long)v);
	CHECK_EQ(gort_chan_len(gort_timer_chan(t)), 0);
}

/* Wait until the 10 ms timer t, made at t0, has fired: its value waits
 * in the channel. */
static void wait_fired(gort_timer *t, int64_t t0)
{
	int64_t deadline = t0 + (int64_t)(harness_timeout(5) * 1e9);
	while (gort_chan_len(gort_timer_chan(t)) == 0) {
		if (gort_nanotime() > deadline)
			FAILF("a 10 ms timer had not fired after 5 s");
		gort_sleep(MS);
	}
}

/* ---------------------------------------------------------------------
 * Many sleepers of random durations
 * ------------------------------------------------------------------- */

#define SLEEPERS SCALE(10000)

static int64_t *sleep_want;
static int64_t *sleep_got;
static atomic_int *sleep_wakes;
static gort_waitgroup sleep_wg;

static void sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	int64_t t0 = gort_nanotime();
	gort_sleep(sleep_want[i]);
	sleep_got[i] = gort_nanotime() - t0;
	atomic_fetch_add(&sleep_wakes[i], 1);
	gort_wg_done(&sleep_wg);
}

static int sleepers_main(void *arg)
{
	(void)arg;
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	for (long i = 0; i < SLEEPERS; i++) {
		uint64_t r = xorshift(&seed);
		if (r % 50 == 0)
			sleep_want[i] = -(int64_t)(r % 1000); /* <= 0: at once */
		else
			sleep_want[i] = (int64_t)(r % (30 * MS));
	}
	int64_t t0 = gort_nanotime();
	CHECK_EQ(gort_wg_add(&sleep_wg, SLEEPERS), 0);
	for (long i = 0; i < SLEEPERS; i++)
		CHECK(gort_go(sleeper, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&sleep_wg), 0);
	double secs = (double)(gort_nanotime() - t0) / 1e9;
	int64_t max_late = 0;
	for (long i = 0; i < SLEEPERS; i++) {
		CHECK_EQ(atomic_load(&sleep_wakes[i]), 1);
		int64_t want = sleep_want[i] > 0 ? sleep_want[i] : 0;
		if (sleep_got[i] < want)
			FAILF("goroutine %ld asked for %lld ns and woke after %lld "
			      "ns", i, (long long)want, (long long)sleep_got[i]);
		if (sleep_got[i] - want > max_late)
			max_late = sleep_got[i] - want;
	}
	printf("     %d sleepers at GOMAXPROCS=%d: %.3f s, max lateness "
	       "%.3f ms\n", SLEEPERS, gort_gomaxprocs(0), secs,
	       (double)max_late / 1e6);
	if (secs > harness_timeout(5))
		FAILF("%d sleeps of at most 30 ms took %.1f s", SLEEPERS, secs);
	return 0;
}

static void run_sleepers(int procs)
{
	sleep_want = calloc(SLEEPERS, sizeof *sleep_want);
	sleep_got = calloc(SLEEPERS, sizeof *sleep_got);
	sleep_wakes = calloc(SLEEPERS, sizeof *sleep_wakes);
	CHECK(sleep_want && sleep_got && sleep_wakes);
	run_main(sleepers_main, NULL, procs);
	free(sleep_want);
	free(sleep_got);
	free(sleep_wakes);
}

static void random_sleepers_procs1(void)
{
	run_sleepers(1);
}

static void random_sleepers_procs2(void)
{
	run_sleepers(2);
}

/* ---------------------------------------------------------------------
 * A timer fires once
 * ------------------------------------------------------------------- */

static int once_main(void *arg)
{
	(void)arg;
	int64_t t0 = gort_nanotime();
	gort_timer *t = new_timer(50 * MS, 0);
	gort_chan *c = gort_timer_chan(t);
	CHECK(gort_timer_chan(t) == c); /* the same channel every time */
	CHECK_EQ(gort_chan_cap(c), 1);
	/* Empty before it fires; a slow host (an emulator) may be past it. */
	size_t len = gort_chan_len(c);
	if (gort_nanotime() - t0 < 50 * MS)
		CHECK_EQ(len, 0);
	int64_t v = -1;
	CHECK_EQ(gort_chan_recv(c, &v), 1);
	int64_t t1 = gort_nanotime();
	check_value(v, t0 + 50 * MS, t1, "50 ms timer");
	printf("     a 50 ms timer fired after %.3f ms\n",
	       (double)(v - t0) / 1e6);
	gort_sleep(100 * MS);
	check_empty(t, "a timer that fired and was received");
	CHECK(!gort_timer_stop(t));
	gort_timer_free(t);

	/* An unread value waits in the channel. */
	t0 = gort_nanotime();
	t = new_timer(10 * MS, 0);
	wait_fired(t, t0);
	gort_sleep(30 * MS);
	CHECK_EQ(gort_chan_len(gort_timer_chan(t)), 1);
	CHECK_EQ(gort_chan_try_recv(gort_timer_chan(t), &v), 1);
	check_value(v, t0 + 10 * MS, gort_nanotime(), "10 ms timer, read late");
	check_empty(t, "a timer read late");
	gort_timer_free(t);

	/* ns <= 0 fires at once. */
	static const int64_t now_ns[] = {0, -1, -50 * MS, INT64_MIN};
	for (size_t i = 0; i < sizeof now_ns / sizeof *now_ns; i++) {
		t0 = gort_nanotime();
		t = new_timer(now_ns[i], 0);
		v = recv_within(t, 2, "a timer of ns <= 0");
		check_value(v, t0, gort_nanotime(), "a timer of ns <= 0");
		CHECK(!gort_timer_stop(t));
		gort_timer_free(t);
	}
	return 0;
}

MAIN_CASE(fires_once, once_main, 2)

/* ---------------------------------------------------------------------
 * Stop
 * ------------------------------------------------------------------- */

static int stop_main(void *arg)
{
	(void)arg;
	/* Before it fires (a thread stalled past the due time finds the
	 * value there instead: take it). */
	int64_t t0 = gort_nanotime();
	gort_timer *t = new_timer(100 * MS, 0);
	bool stopped = gort_timer_stop(t);
	int64_t late = -1;
	if (gort_nanotime() - t0 < 100 * MS)
		CHECK(stopped);
	else
		(void)gort_chan_try_recv(gort_timer_chan(t), &late);
	CHECK(!gort_timer_stop(t));
	gort_sleep(200 * MS);
	check_empty(t, "a timer stopped before it fired");
	CHECK(!gort_timer_stop(t));
	gort_timer_free(t);

	/* A ticker stopped before its first tick. */
	t0 = gort_nanotime();
	t = new_timer(50 * MS, 10 * MS);
	stopped = gort_timer_stop(t);
	if (gort_nanotime() - t0 < 50 * MS)
		CHECK(stopped);
	else /* stalled past the first tick: it may be waiting */
		(void)gort_chan_try_recv(gort_timer_chan(t), &late);
	gort_sleep(120 * MS);
	check_empty(t, "a ticker stopped before it fired");
	gort_timer_free(t);

	/* After it fired and the value was received. */
	t0 = gort_nanotime();
	t = new_timer(10 * MS, 0);
	int64_t v = recv_within(t, 5, "10 ms timer");
	check_value(v, t0 + 10 * MS, gort_nanotime(), "10 ms timer");
	CHECK(!gort_timer_stop(t));
	gort_timer_free(t);

	/* After it fired, the value not received: it stays. */
	t0 = gort_nanotime();
	t = new_timer(10 * MS, 0);
	wait_fired(t, t0);
	CHECK(!gort_timer_stop(t));
	CHECK_EQ(gort_chan_try_recv(gort_timer_chan(t), &v), 1);
	check_value(v, t0 + 10 * MS, gort_nanotime(), "10 ms timer, stopped");
	gort_sleep(20 * MS);
	check_empty(t, "a fired timer after stop");
	gort_timer_free(t);

	/* A running ticker, stopped: no tick after the stop returned. */
	t = new_timer(2 * MS, 2 * MS);
	v = recv_within(t, 5, "2 ms ticker");
	v = recv_within(t, 5, "2 ms ticker");
	CHECK(gort_timer_stop(t));
	int64_t t_stop = gort_nanotime();
	if (gort_chan_try_recv(gort_timer_chan(t), &v) == 1)
		CHECK(v <= t_stop); /* a tick from before the stop */
	gort_sleep(30 * MS);
	check_empty(t, "a stopped ticker");
	gort_timer_free(t);
	return 0;
}

MAIN_CASE(stop, stop_main, 2)

/* ---------------------------------------------------------------------
 * Reset
 * ------------------------------------------------------------------- */

static int reset_main(void *arg)
{
	(void)arg;
	/* Active, moved earlier. */
	gort_timer *t = new_timer(20LL * 1000 * MS, 0);
	int64_t tr = gort_nanotime();
	CHECK(gort_timer_reset(t, 50 * MS));
	int64_t v = recv_within(t, 5, "a 20 s timer reset to 50 ms");
	check_value(v, tr + 50 * MS, gort_nanotime(), "reset to 50 ms");
	check_empty(t, "after the reset timer fired");
	gort_timer_free(t);

	/* Active, moved later: nothing before the new time. */
	int64_t t0 = gort_nanotime();
	t = new_timer(200 * MS, 0);
	tr = gort_nanotime();
	bool active = gort_timer_reset(t, 400 * MS);
	if (gort_nanotime() - t0 < 200 * MS)
		CHECK(active);
	else if (!active) /* stalled: it fired at 200 ms, before the reset */
		(void)gort_chan_try_recv(gort_timer_chan(t), &v);
	gort_sleep(250 * MS);
	write_errno(0);
	int r = gort_chan_try_recv(gort_timer_chan(t), &v);
	int e = read_errno();
	int64_t t_try = gort_nanotime();
	if (t_try < tr + 400 * MS) {
		if (r != -1 || e != EAGAIN)
			FAILF("a timer reset to 400 ms delivered %lld after %.3f "
			      "ms", (long long)v, (double)(t_try - tr) / 1e6);
	}
	if (r != 1)
		v = recv_within(t, 5, "a timer reset to 400 ms");
	check_value(v, tr + 400 * MS, gort_nanotime(), "reset to 400 ms");
	gort_timer_free(t);

	/* Expired: false, and it fires again. */
	t = new_timer(10 * MS, 0);
	(void)recv_within(t, 5, "10 ms timer");
	tr = gort_nanotime();
	CHECK(!gort_timer_reset(t, 50 * MS));
	v = recv_within(t, 5, "an expired timer reset to 50 ms");
	check_value(v, tr + 50 * MS, gort_nanotime(), "expired, reset");
	/* and again, with ns <= 0 */
	tr = gort_nanotime();
	CHECK(!gort_timer_reset(t, 0));
	v = recv_within(t, 5, "an expired timer reset to 0");
	check_value(v, tr, gort_nanotime(), "expired, reset to 0");
	gort_timer_free(t);

	/* Stopped: false, and it fires again. */
	t = new_timer(10LL * 1000 * MS, 0);
	CHECK(gort_timer_stop(t));
	tr = gort_nanotime();
	CHECK(!gort_timer_reset(t, 20 * MS));
	v = recv_within(t, 5, "a stopped timer reset to 20 ms");
	check_value(v, tr + 20 * MS, gort_nanotime(), "stopped, reset");
	gort_timer_free(t);

	/* Many resets of one active timer: only the last one counts. */
	t = new_timer(10LL * 1000 * MS, 0);
	for (int i = 0; i < 1000; i++)
		CHECK(gort_timer_reset(t, (10 + i % 7) * 1000LL * MS));
	tr = gort_nanotime();
	CHECK(gort_timer_reset(t, 30 * MS));
	v = recv_within(t, 5, "a timer reset 1000 times");
	check_value(v, tr + 30 * MS, gort_nanotime(), "reset 1000 times");
	gort_sleep(20 * MS);
	check_empty(t, "a timer reset 1000 times, after it fired");
	gort_timer_free(t);
	return 0;
}

MAIN_CASE(reset, reset_main, 2)

/* ---------------------------------------------------------------------
 * Tickers
 * ------------------------------------------------------------------- */

#define TICK (20 * MS)

static int ticker_main(void *arg)
{
	(void)arg;
	int64_t t0 = gort_nanotime();
	gort_timer *t = new_timer(TICK, TICK);
	int64_t prev = 0;
	for (int k = 1; k <= 10; k++) {
		int64_t v = recv_within(t, 5, "a 20 ms ticker");
		check_value(v, t0 + k * TICK, gort_nanotime(), "tick");
		CHECK(v > prev);
		prev = v;
	}
	printf("     10 ticks of 20 ms in %.3f ms\n",
	       (double)(prev - t0) / 1e6);

	/* Reset moves the next tick and keeps the period. */
	int64_t tr = gort_nanotime();
	CHECK(gort_timer_reset(t, 60 * MS));
	int64_t tr2 = gort_nanotime();
	int64_t v = recv_within(t, 5, "a ticker reset to 60 ms");
	if (v <= tr2) {
		/* a tick from before the reset was waiting: take the next */
		v = recv_within(t, 5, "a ticker reset to 60 ms");
	}
	check_value(v, tr + 60 * MS, gort_nanotime(), "ticker after reset");
	int64_t v2 = recv_within(t, 5, "a reset ticker's period");
	check_value(v2, tr + 60 * MS + TICK, gort_nanotime(),
	            "the tick after the reset one");
	CHECK(gort_timer_stop(t));
	gort_timer_free(t);

	/* A ticker created with a delay different from its period. */
	t0 = gort_nanotime();
	t = new_timer(50 * MS, 5 * MS);
	v = recv_within(t, 5, "a ticker with a 50 ms delay");
	check_value(v, t0 + 50 * MS, gort_nanotime(), "first tick");
	v2 = recv_within(t, 5, "a ticker's second tick");
	check_value(v2, t0 + 55 * MS, gort_nanotime(), "second tick");
	CHECK(v2 > v);
	gort_timer_free(t);

	/* A fast ticker: 100 us. */
	t0 = gort_nanotime();
	t = new_timer(100 * US, 100 * US);
	prev = 0;
	for (int k = 1; k <= 300; k++) {
		v = recv_within(t, 5, "a 100 us ticker");
		check_value(v, t0 + k * 100 * US, gort_nanotime(), "fast tick");
		CHECK(v > prev);
		prev = v;
	}
	gort_timer_free(t);
	return 0;
}

MAIN_CASE(ticker, ticker_main, 2)

/* A slow reader: ticks are dropped, not queued. */
#define DROP_P (40 * MS)

static int drops_main(void *arg)
{
	(void)arg;
	int64_t t0 = gort_nanotime();
	gort_timer *t = new_timer(DROP_P, DROP_P);
	gort_chan *c = gort_timer_chan(t);
	gort_sleep(5 * DROP_P + DROP_P / 2);
	CHECK(gort_chan_len(c) <= 1);
	int64_t v1 = recv_within(t, 5, "a 40 ms ticker");
	int64_t ta = gort_nanotime();
	check_value(v1, t0 + DROP_P, ta, "the waiting tick");
	/* What else is there right now: nothing, or one tick that came
	 * during these few calls; five queued ticks would show here. */
	int extra = 0;
	int64_t v;
	while (gort_chan_try_recv(c, &v) == 1)
		extra++;
	printf("     after 5.5 periods: the waiting tick fired %.3f ms after "
	       "creation; %d more waiting\n", (double)(v1 - t0) / 1e6, extra);
	if (extra > 1)
		FAILF("after sleeping 5.5 periods %d ticks were waiting: ticks "
		      "were queued, not dropped", extra + 1);
	/* The next tick is a new one, not one saved from the sleep. */
	int64_t v2 = recv_within(t, 5, "a 40 ms ticker after the sleep");
	check_value(v2, t0 + 5 * DROP_P, gort_nanotime(), "the next tick");
	CHECK(v2 > v1);
	gort_timer_free(t);
	return 0;
}

MAIN_CASE(ticker_drops, drops_main, 2)

/* ---------------------------------------------------------------------
 * Huge durations
 * ------------------------------------------------------------------- */

static int huge_timer_main(void *arg)
{
	(void)arg;
	gort_timer *a = new_timer(INT64_MAX, 0);
	gort_timer *b = new_timer(INT64_MAX - 1000, 0);
	gort_timer *c = new_timer(10 * MS, 0);
	CHECK(gort_timer_reset(c, INT64_MAX));
	gort_timer *d = new_timer(10 * MS, 0);
	CHECK(gort_timer_reset(d, INT64_MAX - 1000));
	gort_sleep(100 * MS);
	check_empty(a, "a timer of INT64_MAX ns");
	check_empty(b, "a timer of INT64_MAX - 1000 ns");
	check_empty(c, "a timer reset to INT64_MAX ns");
	check_empty(d, "a timer reset to INT64_MAX - 1000 ns");
	CHECK(gort_timer_stop(a));
	CHECK(gort_timer_stop(b));
	CHECK(gort_timer_stop(c));
	CHECK(gort_timer_stop(d));
	gort_timer_free(a);
	gort_timer_free(b);
	gort_timer_free(c);
	gort_timer_free(d);
	return 0;
}

MAIN_CASE(huge_timer, huge_timer_main, 2)

static int huge_period_main(void *arg)
{
	(void)arg;
	gort_timer *b = new_timer(INT64_MAX - 5, INT64_MAX);
	int64_t t0 = gort_nanotime();
	gort_timer *d = new_timer(MS, INT64_MAX); /* fires once, then never */
	int64_t v = recv_within(d, 5, "a 1 ms timer of period INT64_MAX");
	check_value(v, t0 + MS, gort_nanotime(), "first tick");
	gort_sleep(100 * MS);
	check_empty(b, "a ticker of INT64_MAX ns and period");
	check_empty(d, "a ticker of period INT64_MAX after its first tick");
	CHECK(gort_timer_stop(b));
	CHECK(gort_timer_stop(d));
	gort_timer_free(b);
	gort_timer_free(d);
	return 0;
}

MAIN_CASE(huge_period, huge_period_main, 2)

static atomic_int huge_woke;

static void huge_sleeper(void *arg)
{
	gort_sleep((int64_t)(intptr_t)arg);
	atomic_fetch_add(&huge_woke, 1); /* must not happen */
}

static int huge_sleep_main(void *arg)
{
	(void)arg;
	CHECK(gort_go(huge_sleeper, (void *)(intptr_t)INT64_MAX) > 0);
	CHECK(gort_go(huge_sleeper, (void *)(intptr_t)(INT64_MAX - 1000)) > 0);
	CHECK(gort_go(huge_sleeper, (void *)(intptr_t)(INT64_MAX / 2 + 1)) > 0);
	gort_sleep(100 * MS);
	if (atomic_load(&huge_woke) != 0)
		FAILF("%d goroutines sleeping about INT64_MAX ns woke within "
		      "100 ms", atomic_load(&huge_woke));
	return 0; /* the sleepers are abandoned */
}

MAIN_CASE(huge_sleep, huge_sleep_main, 2)

/* ---------------------------------------------------------------------
 * A select over many timers
 * ------------------------------------------------------------------- */

#define MANY_TIMERS SCALE(1000)

static int many_main(void *arg)
{
	(void)arg;
	gort_timer **ts = calloc(MANY_TIMERS, sizeof *ts);
	int64_t *due = calloc(MANY_TIMERS, sizeof *due);
	int64_t *vals = calloc(MANY_TIMERS, sizeof *vals);
	int *fired = calloc(MANY_TIMERS, sizeof *fired);
	gort_case *cs = calloc(MANY_TIMERS, sizeof *cs);
	CHECK(ts && due && vals && fired && cs);
	for (int i = 0; i < MANY_TIMERS; i++) {
		int64_t d = (1 + (i * 7919) % 50) * MS;
		due[i] = gort_nanotime() + d;
		ts[i] = new_timer(d, 0);
		cs[i] = (gort_case){.chan = gort_timer_chan(ts[i]),
		                    .dir = GORT_RECV, .elem = &vals[i]};
	}
	for (int n = 0; n < MANY_TIMERS; n++) {
		int r = gort_select(cs, MANY_TIMERS, true);
		CHECK(r >= 0 && r < MANY_TIMERS);
		CHECK(cs[r].ok);
		check_value(vals[r], due[r], gort_nanotime(), "one of many");
		fired[r]++;
		cs[r].chan = NULL;
	}
	gort_sleep(20 * MS);
	for (int i = 0; i < MANY_TIMERS; i++) {
		CHECK_EQ(fired[i], 1);
		check_empty(ts[i], "one of many, after it fired");
		gort_timer_free(ts[i]);
	}
	free(ts);
	free(due);
	free(vals);
	free(fired);
	free(cs);
	return 0;
}

MAIN_CASE(many_timers_select, many_main, 2)

/* ---------------------------------------------------------------------
 * Stop / reset races
 * ------------------------------------------------------------------- */

#define RACE_TIMERS 8
#define RACE_WORKERS 16
#define RACE_NS (300 * MS)

struct race_timer {
	gort_timer *t;
	bool ticker;
	atomic_long resets, resets_true, stops_true, received;
};

static struct race_timer race[RACE_TIMERS];
static int64_t race_start;
static gort_waitgroup race_wg;

static void race_got(int64_t v)
{
	int64_t now = gort_nanotime();
	if (v < race_start || v > now)
		FAILF("a racing timer delivered %lld, not a time in [%lld, %lld]",
		      (long long)v, (long long)race_start, (long long)now);
}

static void race_worker(void *arg)
{
	uint64_t seed = 0x12345 + (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull;
	int64_t end = race_start + RACE_NS;
	while (gort_nanotime() < end) {
		uint64_t r = xorshift(&seed);
		struct race_timer *rt = &race[r % RACE_TIMERS];
		struct race_timer *ru = &race[(r >> 8) % RACE_TIMERS];
		int64_t v = -1;
		switch ((r >> 16) % 6) {
		case 0:
			if (gort_timer_stop(rt->t))
				atomic_fetch_add(&rt->stops_true, 1);
			break;
		case 1:
			atomic_fetch_add(&rt->resets, 1);
			if (gort_timer_reset(rt->t, (int64_t)((r >> 24) % (2 * MS))))
				atomic_fetch_add(&rt->resets_true, 1);
			break;
		case 2:
			if (gort_chan_try_recv(gort_timer_chan(rt->t), &v) == 1) {
				race_got(v);
				atomic_fetch_add(&rt->received, 1);
			}
			break;
		case 3: {
			int64_t w = -1;
			gort_case cs[2] = {
				{.chan = gort_timer_chan(rt->t), .dir = GORT_RECV,
				 .elem = &v},
				{.chan = gort_timer_chan(ru->t), .dir = GORT_RECV,
				 .elem = &w},
			};
			int k = gort_select(cs, 2, false);
			if (k >= 0) {
				CHECK(cs[k].ok);
				race_got(k == 0 ? v : w);
				atomic_fetch_add(k == 0 ? &rt->received
				                        : &ru->received, 1);
			}
			break;
		}
		case 4:
			gort_sleep((int64_t)((r >> 24) % (300 * US)));
			break;
		default:
			gort_gosched();
			break;
		}
	}
	gort_wg_done(&race_wg);
}

static int race_main(void *arg)
{
	(void)arg;
	race_start = gort_nanotime();
	for (int i = 0; i < RACE_TIMERS; i++) {
		race[i].ticker = i % 2 == 1;
		race[i].t = new_timer((i + 1) * 100 * US,
		                      race[i].ticker ? (i + 1) * 100 * US : 0);
		atomic_store(&race[i].resets, 0);
		atomic_store(&race[i].resets_true, 0);
		atomic_store(&race[i].stops_true, 0);
		atomic_store(&race[i].received, 0);
	}
	CHECK_EQ(gort_wg_add(&race_wg, RACE_WORKERS), 0);
	for (int i = 0; i < RACE_WORKERS; i++)
		CHECK(gort_go(race_worker, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&race_wg), 0);

	long total = 0;
	for (int i = 0; i < RACE_TIMERS; i++) {
		struct race_timer *rt = &race[i];
		/* Stop, drain: then it stays silent. */
		if (gort_timer_stop(rt->t))
			atomic_fetch_add(&rt->stops_true, 1);
		int64_t v;
		int64_t t_stop = gort_nanotime();
		while (gort_chan_try_recv(gort_timer_chan(rt->t), &v) == 1) {
			CHECK(v <= t_stop);
			race_got(v);
			atomic_fetch_add(&rt->received, 1);
		}
		long armed = 1 + atomic_load(&rt->resets);
		long used = atomic_load(&rt->received) +
		            atomic_load(&rt->stops_true) +
		            atomic_load(&rt->resets_true);
		printf("     timer %d (%s): %ld resets (%ld true), %ld stops "
		       "true, %ld values\n", i, rt->ticker ? "ticker" : "one-shot",
		       atomic_load(&rt->resets), atomic_load(&rt->resets_true),
		       atomic_load(&rt->stops_true), atomic_load(&rt->received));
		/* Each arming of a one-shot timer ends once: fired (at most
		 * one value), stopped (stop true) or replaced (reset true). */
		if (!rt->ticker && used > armed)
			FAILF("one-shot timer %d: %ld values + stops + resets that "
			      "returned true, but armed only %ld times", i, used,
			      armed);
		total += atomic_load(&rt->received);
	}
	CHECK(total > 0);
	gort_sleep(10 * MS);
	for (int i = 0; i < RACE_TIMERS; i++) {
		check_empty(race[i].t, "a raced timer after stop and drain");
		CHECK(!gort_timer_stop(race[i].t));
		/* and it still works */
		int64_t tr = gort_nanotime();
		CHECK(!gort_timer_reset(race[i].t, MS));
		int64_t v = recv_within(race[i].t, 5, "a raced timer, reset");
		check_value(v, tr + MS, gort_nanotime(), "a raced timer, reset");
		gort_timer_free(race[i].t);
	}
	return 0;
}

MAIN_CASE(stop_reset_race_procs2, race_main, 2)
MAIN_CASE(stop_reset_race_procs4, race_main, 4)

/* ---------------------------------------------------------------------
 * Stop and free racing the firing
 * ------------------------------------------------------------------- */

/*
 * A timer of 0 to 40 us, stopped after a busy wait of 0 to 60 us: the
 * stop often lands just as another P runs the timer. Stop must wait for a
 * firing under way (Go before 1.23 does: its deltimer waits while the
 * timer runs), so once it returns false the value is in the channel, as
 * nobody else receives. Then the same with gort_timer_free, tickers too:
 * a firing under way must not touch the freed timer (ASan, TSan).
 */
#define FIRE_RACE_NS (500 * MS)

static void spin_until(int64_t t)
{
	while (gort_nanotime() < t)
		;
}

static int fire_race_main(void *arg)
{
	(void)arg;
	uint64_t seed = 0xDEADBEEF;
	long trials = 0, fired = 0;
	int64_t end = gort_nanotime() + FIRE_RACE_NS;
	while (gort_nanotime() < end) {
		gort_timer *t = new_timer((int64_t)(xorshift(&seed) % (40 * US)), 0);
		spin_until(gort_nanotime() + (int64_t)(xorshift(&seed) % (60 * US)));
		bool stopped = gort_timer_stop(t);
		size_t len = gort_chan_len(gort_timer_chan(t));
		trials++;
		if (!stopped) {
			fired++;
			if (len != 1)
				FAILF("trial %ld: gort_timer_stop returned false (fired) "
				      "but the channel holds %zu values: the stop did "
				      "not wait for the firing under way", trials, len);
		} else if (len != 0) {
			FAILF("trial %ld: gort_timer_stop returned true (stopped "
			      "before firing) but the channel holds a value", trials);
		}
		gort_timer_free(t);
	}
	printf("     stop: %ld trials, %ld fired first\n", trials, fired);
	trials = 0;
	end = gort_nanotime() + FIRE_RACE_NS;
	while (gort_nanotime() < end) {
		uint64_t r = xorshift(&seed);
		gort_timer *t = new_timer((int64_t)(r % (40 * US)),
		                          r & (1 << 20) ? 20 * US : 0);
		spin_until(gort_nanotime() + (int64_t)(xorshift(&seed) % (60 * US)));
		gort_timer_free(t);
		trials++;
	}
	printf("     free: %ld trials\n", trials);
	return 0;
}

MAIN_CASE(stop_free_racing_fire, fire_race_main, 2)

/* ---------------------------------------------------------------------
 * Stop and reset of fast tickers racing their own re-arming
 * ------------------------------------------------------------------- */

/*
 * A ticker of 1 us period re-arms itself at once, and the re-armed timer
 * is due at once: another P may take it out of its heap to fire again
 * while the first firing is still finishing. Stop and reset must see that
 * second firing under way: a ticker that was never stopped is always
 * armed or firing, so stop and reset return true; after a stop has
 * returned (and the channel is drained) no tick ever arrives; a reset
 * never arms a ticker that is also firing (it would be in a heap twice).
 * Each case runs for a bounded time.
 */
#define TICKER_RACE_NS (800 * MS)
#define TICKER_RACE_WORKERS 4

/* Stop: four goroutines at GOMAXPROCS=2, each creating a ticker, letting
 * it run 100 us, stopping it and watching it for 300 us. */
static gort_waitgroup ticker_race_wg;
static atomic_long ticker_race_trials;

static void ticker_stop_worker(void *arg)
{
	(void)arg;
	int64_t end = gort_nanotime() + TICKER_RACE_NS;
	while (gort_nanotime() < end) {
		long trial = atomic_fetch_add(&ticker_race_trials, 1) + 1;
		gort_timer *t = new_timer(US, US);
		gort_chan *c = gort_timer_chan(t);
		gort_sleep(100 * US);
		if (!gort_timer_stop(t))
			FAILF("trial %ld: gort_timer_stop of a running 1 us ticker "
			      "returned false (not armed, not firing)", trial);
		int64_t t_stop = gort_nanotime();
		int64_t v;
		while (gort_chan_try_recv(c, &v) == 1)
			CHECK(v <= t_stop);
		gort_sleep(300 * US);
		if (gort_chan_try_recv(c, &v) == 1)
			FAILF("trial %ld: a stopped 1 us ticker delivered a tick "
			      "%.3f ms after gort_timer_stop returned", trial,
			      (double)(v - t_stop) / 1e6);
		gort_timer_free(t);
	}
	gort_wg_done(&ticker_race_wg);
}

static int ticker_stop_race_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&ticker_race_wg, TICKER_RACE_WORKERS), 0);
	for (int i = 0; i < TICKER_RACE_WORKERS; i++)
		CHECK(gort_go(ticker_stop_worker, NULL) > 0);
	CHECK_EQ(gort_wg_wait(&ticker_race_wg), 0);
	printf("     %ld fast tickers stopped, none ticked after its stop\n",
	       atomic_load(&ticker_race_trials));
	return 0;
}

MAIN_CASE(ticker_stop_race, ticker_stop_race_main, 2)

/* Reset: one goroutine resets the tickers while the other Ps, idle, take
 * them from each other's heaps to fire them (the race wants idle Ps), at
 * GOMAXPROCS=4. */
#define RESET_TICKERS 4

static int ticker_reset_race_main(void *arg)
{
	(void)arg;
	gort_timer *ts[RESET_TICKERS];
	for (int i = 0; i < RESET_TICKERS; i++)
		ts[i] = new_timer(US, US);
	long resets = 0, ticks = 0;
	int64_t end = gort_nanotime() + TICKER_RACE_NS;
	while (gort_nanotime() < end) {
		for (int i = 0; i < RESET_TICKERS; i++) {
			if (!gort_timer_reset(ts[i], 500))
				FAILF("reset %ld: gort_timer_reset of a running 1 us "
				      "ticker returned false (not armed, not firing)",
				      resets);
			resets++;
			int64_t v;
			ticks += gort_chan_try_recv(gort_timer_chan(ts[i]), &v) == 1;
		}
		if (resets % 256 == 0)
			gort_sleep(20 * US); /* this P fires them too */
	}
	printf("     %ld resets of 1 us tickers, %ld ticks received\n", resets,
	       ticks);
	/* Each still ticks; stopped and drained, it is silent. */
	for (int i = 0; i < RESET_TICKERS; i++) {
		int64_t v = -1;
		while (gort_chan_try_recv(gort_timer_chan(ts[i]), &v) == 1)
			;
		/* A tick fired before t0 may still arrive: skip it. */
		int64_t t0 = gort_nanotime();
		v = -1;
		for (int k = 0; k < 10 && v < t0; k++)
			v = recv_within(ts[i], 5, "a reset 1 us ticker");
		check_value(v, t0, gort_nanotime(), "a reset 1 us ticker");
		CHECK(gort_timer_stop(ts[i]));
		int64_t t_stop = gort_nanotime();
		while (gort_chan_try_recv(gort_timer_chan(ts[i]), &v) == 1)
			CHECK(v <= t_stop);
	}
	gort_sleep(5 * MS);
	for (int i = 0; i < RESET_TICKERS; i++) {
		check_empty(ts[i], "a reset ticker after stop and drain");
		gort_timer_free(ts[i]);
	}
	return 0;
}

MAIN_CASE(ticker_reset_race, ticker_reset_race_main, 4)

/* ---------------------------------------------------------------------
 * Plain threads
 * ------------------------------------------------------------------- */

struct plain_ctx {
	gort_timer *from_main;      /* created by the goroutine */
	int64_t from_main_t0;
	gort_timer *from_thread;    /* created by the thread */
	int64_t from_thread_t0;
	atomic_int stage;
};

static void *plain_thread(void *arg)
{
	struct plain_ctx *x = arg;
	CHECK_EQ(gort_goid(), 0);

	/* A timer of its own, received by blocking the thread. */
	int64_t t0 = gort_nanotime();
	gort_timer *t = new_timer(20 * MS, 0);
	int64_t v = -1;
	CHECK_EQ(gort_chan_recv(gort_timer_chan(t), &v), 1);
	check_value(v, t0 + 20 * MS, gort_nanotime(), "plain thread timer");
	CHECK(!gort_timer_stop(t));
	int64_t tr = gort_nanotime();
	CHECK(!gort_timer_reset(t, 10 * MS));
	v = recv_within(t, 5, "plain thread timer, reset");
	check_value(v, tr + 10 * MS, gort_nanotime(), "plain thread reset");
	CHECK(!gort_timer_stop(t));
	CHECK(!gort_timer_reset(t, 10LL * 1000 * MS));
	CHECK(gort_timer_stop(t));
	gort_timer_free(t);

	/* A ticker. */
	t0 = gort_nanotime();
	t = new_timer(5 * MS, 5 * MS);
	int64_t prev = 0;
	for (int k = 1; k <= 5; k++) {
		CHECK_EQ(gort_chan_recv(gort_timer_chan(t), &v), 1);
		check_value(v, t0 + k * 5 * MS, gort_nanotime(), "thread tick");
		CHECK(v > prev);
		prev = v;
	}
	gort_timer_free(t);

	/* One for the goroutine; the goroutine's one for us. */
	x->from_thread_t0 = gort_nanotime();
	x->from_thread = new_timer(30 * MS, 0);
	atomic_store(&x->stage, 1);
	CHECK_EQ(gort_chan_recv(gort_timer_chan(x->from_main), &v), 1);
	check_value(v, x->from_main_t0 + 40 * MS, gort_nanotime(),
	            "the goroutine's timer on a plain thread");
	atomic_store(&x->stage, 2);
	return NULL;
}

static int plain_main(void *arg)
{
	(void)arg;
	static struct plain_ctx x;
	x.from_main_t0 = gort_nanotime();
	x.from_main = new_timer(40 * MS, 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, plain_thread, &x), 0);
	wait_flag(&x.stage, 1);
	int64_t v = recv_within(x.from_thread, 5, "a plain thread's timer");
	check_value(v, x.from_thread_t0 + 30 * MS, gort_nanotime(),
	            "a plain thread's timer in a goroutine");
	join_thread(th);
	CHECK_EQ(atomic_load(&x.stage), 2);
	gort_timer_free(x.from_main);
	gort_timer_free(x.from_thread);
	return 0;
}

MAIN_CASE(plain_threads, plain_main, 2)

/* ---------------------------------------------------------------------
 * Free
 * ------------------------------------------------------------------- */

#define FREE_MANY SCALE(1000)

static int free_main(void *arg)
{
	(void)arg;
	/* Active. */
	gort_timer *t = new_timer(20 * MS, 0);
	gort_timer_free(t);
	/* A ticker firing into a full channel. */
	t = new_timer(MS, MS);
	gort_sleep(10 * MS);
	gort_timer_free(t);
	/* A ticker being read. */
	t = new_timer(MS, MS);
	(void)recv_within(t, 5, "1 ms ticker");
	gort_timer_free(t);
	/* Fired, value waiting. */
	t = new_timer(0, 0);
	(void)recv_within(t, 5, "0 ns timer");
	gort_timer_free(t);
	/* Many, freed at random before or after they fire. */
	gort_timer **ts = calloc(FREE_MANY, sizeof *ts);
	CHECK(ts != NULL);
	uint64_t seed = 77;
	for (int i = 0; i < FREE_MANY; i++) {
		uint64_t r = xorshift(&seed);
		ts[i] = new_timer((int64_t)(r % (5 * MS)),
		                  r % 3 == 0 ? (int64_t)(r % MS) + 100 * US : 0);
		if (r % 2) {
			gort_timer_free(ts[i]);
			ts[i] = NULL;
		}
	}
	gort_sleep(3 * MS);
	for (int i = 0; i < FREE_MANY; i++)
		gort_timer_free(ts[i]); /* NULL for those already freed */
	free(ts);
	/* Let anything wrongly left armed fire into freed memory now. */
	gort_sleep(30 * MS);
	/* Timers still work. */
	int64_t t0 = gort_nanotime();
	t = new_timer(5 * MS, 0);
	int64_t v = recv_within(t, 5, "a timer after many were freed");
	check_value(v, t0 + 5 * MS, gort_nanotime(), "after free");
	gort_timer_free(t);
	return 0;
}

MAIN_CASE(free_timers, free_main, 2)

/* ---------------------------------------------------------------------
 * GOMAXPROCS changing under pending timers
 * ------------------------------------------------------------------- */

#define CHURN_TIMERS SCALE(400)
#define CHURN_SLEEPERS SCALE(400)
#define CHURN_CHANGES 100

static struct {
	gort_timer *t[CHURN_TIMERS];
	int64_t due[CHURN_TIMERS];
	bool stopped[CHURN_TIMERS];
	atomic_bool go;
	atomic_int_fast64_t late; /* the latest sleeper, ns past its time */
	gort_waitgroup made, work;
} churn;

/* Made all at once at GOMAXPROCS=8, the makers spread over the Ps, and
 * so do their timers (60-100 ms: still pending when the changes end). */
static void churn_maker(void *arg)
{
	long i = (long)(intptr_t)arg;
	int64_t ns = (int64_t)(60 + i % 40) * MS;
	churn.due[i] = gort_nanotime() + ns;
	churn.t[i] = new_timer(ns, 0);
	gort_wg_done(&churn.made);
}

/* Sleeps of 1-20 ms while the changes go on, then one of 60-100 ms that
 * outlasts them; a quarter of the sleepers on a locked thread, whose P
 * goes to another M for the sleep. */
static void churn_sleeper(void *arg)
{
	long i = (long)(intptr_t)arg;
	if (i % 4 == 0)
		gort_lock_os_thread();
	for (int k = 0; k < 6; k++) {
		int64_t ns = (int64_t)(k < 5 ? (i * 7 + k * 3) % 20 + 1 : 60 + i % 40) * MS;
		int64_t t0 = gort_nanotime();
		gort_sleep(ns);
		int64_t got = gort_nanotime() - t0;
		if (got < ns)
			FAILF("sleeper %ld: asked for %lld ns, woke after %lld", i,
			      (long long)ns, (long long)got);
		int_fast64_t cur = atomic_load(&churn.late);
		while (got - ns > cur &&
		       !atomic_compare_exchange_weak(&churn.late, &cur, got - ns))
			;
	}
	gort_wg_done(&churn.work);
}

/* GOMAXPROCS between 1 and 8, then 1 for good: the timers of Ps 1-7
 * must have gone to a P that stays. */
static void churn_procs(void *arg)
{
	(void)arg;
	uint64_t seed = 0x1234567ull;
	for (int i = 0; i < CHURN_CHANGES; i++) {
		gort_gomaxprocs(1 + (int)(xorshift(&seed) % 8));
		gort_sleep(200 * US);
	}
	gort_gomaxprocs(1);
	gort_wg_done(&churn.work);
}

/* A plain thread stops every third timer while the Ps come and go. */
static void *churn_stopper(void *arg)
{
	(void)arg;
	for (long i = 0; i < CHURN_TIMERS; i += 3)
		churn.stopped[i] = gort_timer_stop(churn.t[i]);
	return NULL;
}

static int churn_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&churn.made, CHURN_TIMERS), 0);
	for (long i = 0; i < CHURN_TIMERS; i++)
		CHECK(gort_go(churn_maker, (void *)(intptr_t)i) > 0);
	CHECK_EQ(gort_wg_wait(&churn.made), 0);
	CHECK_EQ(gort_wg_add(&churn.work, CHURN_SLEEPERS + 1), 0);
	for (long i = 0; i < CHURN_SLEEPERS; i++)
		CHECK(gort_go(churn_sleeper, (void *)(intptr_t)i) > 0);
	CHECK(gort_go(churn_procs, NULL) > 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, churn_stopper, NULL), 0);
	join_thread(th);
	CHECK_EQ(gort_wg_wait(&churn.work), 0);
	CHECK_EQ(gort_gomaxprocs(0), 1);
	/* Every timer not stopped fires, not early, wherever its P went. */
	int fired = 0;
	for (long i = 0; i < CHURN_TIMERS; i++) {
		if (churn.stopped[i])
			continue;
		int64_t v = recv_within(churn.t[i], 5, "a timer while GOMAXPROCS changes");
		check_value(v, churn.due[i], gort_nanotime(), "a timer while GOMAXPROCS changes");
		fired++;
	}
	/* Past every due time: a stopped timer stayed silent and a fired one
	 * fired once. */
	gort_sleep(20 * MS);
	for (long i = 0; i < CHURN_TIMERS; i++) {
		check_empty(churn.t[i], "a timer after GOMAXPROCS changed");
		CHECK(!gort_timer_stop(churn.t[i]));
		gort_timer_free(churn.t[i]);
	}
	printf("     %d timers fired, %d stopped; sleepers at most %.3f ms late\n",
	       fired, CHURN_TIMERS - fired, (double)atomic_load(&churn.late) / 1e6);
	return 0;
}

MAIN_CASE(gomaxprocs_churn, churn_main, 8)

/* ---------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------- */

static void null_calls(void)
{
	write_errno(0);
	CHECK(!gort_timer_stop(NULL));
	CHECK_EQ(read_errno(), EINVAL);
	write_errno(0);
	CHECK(!gort_timer_reset(NULL, MS));
	CHECK_EQ(read_errno(), EINVAL);
	CHECK(gort_timer_chan(NULL) == NULL);
	gort_timer_free(NULL);
}

static int bad_main(void *arg)
{
	(void)arg;
	null_calls();
	static const int64_t periods[] = {-1, -MS, INT64_MIN};
	for (size_t i = 0; i < sizeof periods / sizeof *periods; i++) {
		write_errno(0);
		gort_timer *t = gort_timer_new(10 * MS, periods[i]);
		int e = read_errno();
		if (t != NULL || e != EINVAL)
			FAILF("gort_timer_new(10 ms, %lld) = %p with errno %d; want "
			      "NULL with EINVAL", (long long)periods[i], (void *)t, e);
	}
	/* Period 0 is a one-shot timer. */
	gort_timer *t = new_timer(MS, 0);
	(void)recv_within(t, 5, "a 1 ms timer of period 0");
	gort_sleep(10 * MS);
	check_empty(t, "a timer of period 0, after it fired");
	gort_timer_free(t);
	return 0;
}

static void bad_input(void)
{
	null_calls(); /* no runtime running */
	run_main(bad_main, NULL, 1);
}

static const struct harness_case cases[] = {
	{"random_sleepers_procs1", random_sleepers_procs1},
	{"random_sleepers_procs2", random_sleepers_procs2},
	{"fires_once", fires_once},
	{"stop", stop},
	{"reset", reset},
	{"ticker", ticker},
	{"ticker_drops", ticker_drops},
	{"huge_timer", huge_timer},
	{"huge_period", huge_period},
	{"huge_sleep", huge_sleep},
	{"many_timers_select", many_timers_select},
	{"stop_reset_race_procs2", stop_reset_race_procs2},
	{"stop_reset_race_procs4", stop_reset_race_procs4},
	{"stop_free_racing_fire", stop_free_racing_fire},
	{"ticker_stop_race", ticker_stop_race},
	{"ticker_reset_race", ticker_reset_race},
	{"plain_threads", plain_threads},
	{"free_timers", free_timers},
	{"gomaxprocs_churn", gomaxprocs_churn},
	{"bad_input", bad_input},
};

int main(int argc, char **argv)
{
	run_named(argc, argv, cases, sizeof cases / sizeof *cases, 30);
	PASS("timer_test");
	return 0;
}
