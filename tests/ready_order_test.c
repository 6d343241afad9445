/*
 * ready_order_test checks that goroutines readied one after another run in
 * Go 1.19's order at GOMAXPROCS=1: each readied G goes to runnext and
 * kicks the one there to the tail of the local queue, so once the readier
 * blocks, the last one readied runs first and the others follow in the
 * order they were readied (5 waiters run as 4 0 1 2 3). Four ways of
 * readying them, measured on Go 1.19: a cond signalled once per waiter, a
 * wait group whose last Done releases them all, a send per waiter on an
 * unbuffered channel, and a close of the channel they receive from,
 * which readies them last first (5 waiters run as 0 4 3 2 1; 40, past
 * a close's batch of 32, as 0 39 38 ... 1).
 *
 * The first G readied inside a runtime call is kept in the M's readynext
 * (sched.c) rather than runnext; one readied while runnext holds a G
 * readied earlier must still put that G behind the queue, or it runs
 * before the Gs queued ahead of it (4 3 0 1 2).
 *
 * Go's order holds only for Gs that no time slice interrupts. A G taken
 * from runnext inherits the slice, so the readier, its sleeps, the
 * waiters it starts and those it readies share one: the readier yields
 * for a fresh slice before it readies. Under an emulator a round can
 * still outlast a slice (a waiter is preempted before it records its
 * turn; or the readier, in gort_preempt_off, outlasts two and its P is
 * handed to another M, which runs the queue while it goes on): a round
 * that saw a preemption or a hand-off is run again.
 */
#include "gort_util.h"

#define MAXW 40

enum how { BY_SIGNAL, BY_WAITGROUP, BY_SEND, BY_CLOSE };

static const char *const how_name[] = {"cond signal", "wait group", "send", "close"};

static gort_mutex mu;
static gort_cond cond;
static gort_waitgroup gate;
static gort_chan *ch;
static gort_waitgroup done;
static int order[MAXW];
static int norder;
static enum how how;

static void waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	switch (how) {
	case BY_SIGNAL:
		gort_mutex_lock(&mu);
		gort_cond_wait(&cond, &mu);
		gort_mutex_unlock(&mu);
		break;
	case BY_WAITGROUP:
		CHECK_EQ(gort_wg_wait(&gate), 0);
		break;
	case BY_SEND:
		CHECK_EQ(gort_chan_recv(ch, NULL), 1);
		break;
	case BY_CLOSE:
		CHECK_EQ(gort_chan_recv(ch, NULL), 0);
		break;
	}
	order[norder++] = i;
	CHECK_EQ(gort_wg_done(&done), 0);
}

static const char *reason(void)
{
	switch (how) {
	case BY_SIGNAL:
		return "sync.Cond.Wait";
	case BY_WAITGROUP:
		return "semacquire";
	default:
		return "chan receive";
	}
}

/* n waiters park one after another and are readied in that order (last
 * first for a close); false if a time slice ended in the round, else
 * they must have run as the last readied, then the others in the order
 * they were readied. */
static bool try_check(int n)
{
	int readied[MAXW], want[MAXW];
	for (int k = 0; k < n; k++)
		readied[k] = how == BY_CLOSE ? n - 1 - k : k;
	want[0] = readied[n - 1];
	for (int k = 1; k < n; k++)
		want[k] = readied[k - 1];
	if (how == BY_CLOSE)
		ch = make_chan(0, 0);
	norder = 0;
	if (how == BY_WAITGROUP)
		CHECK_EQ(gort_wg_add(&gate, 1), 0);
	for (int i = 0; i < n; i++) {
		CHECK_EQ(gort_wg_add(&done, 1), 0);
		int64_t id = gort_go(waiter, (void *)(intptr_t)i);
		CHECK(id > 1);
		wait_parked(id, reason());
	}
	gort_gosched(); /* a fresh time slice */
	uint64_t i0 = slices_ended();
	switch (how) {
	case BY_SIGNAL:
		for (int i = 0; i < n; i++)
			gort_cond_signal(&cond);
		break;
	case BY_WAITGROUP:
		CHECK_EQ(gort_wg_done(&gate), 0);
		break;
	case BY_SEND:
		for (int i = 0; i < n; i++)
			CHECK_EQ(gort_chan_send(ch, NULL), 0);
		break;
	case BY_CLOSE:
		CHECK_EQ(gort_chan_close(ch), 0);
		break;
	}
	CHECK_EQ(gort_wg_wait(&done), 0);
	if (how == BY_CLOSE)
		gort_chan_free(ch);
	CHECK_EQ(norder, n);
	if (slices_ended() != i0)
		return false;
	bool go = true;
	for (int k = 0; k < n; k++)
		go = go && order[k] == want[k];
	if (!go) {
		fprintf(stderr, "%s, %d waiters ran as", how_name[how], n);
		for (int k = 0; k < n; k++)
			fprintf(stderr, " %d", order[k]);
		fputc('\n', stderr);
		FAILF("not Go's order (the last readied, then the rest "
		      "in the order they were readied)");
	}
	return true;
}

static void check(int n)
{
	for (int tries = 0; !try_check(n); tries++)
		if (tries == 4)
			FAILF("%s, %d waiters: every round saw a time slice end", how_name[how], n);
}

static int order_main(void *arg)
{
	(void)arg;
	/* The order is Go's for a readier that no time slice interrupts. */
	gort_preempt_off();
	CHECK_EQ(gort_gomaxprocs(0), 1);
	for (how = BY_SIGNAL; how <= BY_CLOSE; how++) {
		if (how == BY_SEND)
			ch = make_chan(0, 0);
		for (int n = 2; n <= 5; n++)
			check(n);
		check(MAXW);
		if (how == BY_SEND)
			gort_chan_free(ch);
		printf("  %s: Go's order\n", how_name[how]);
	}
	gort_preempt_on();
	return 0;
}

MAIN_CASE(ready_order_at_one_p, order_main, 1)

int main(void)
{
	RUN_CASE(ready_order_at_one_p, 30);
	PASS("ready_order_test");
	return 0;
}
