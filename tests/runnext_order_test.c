/*
 * runnext_order_test proves that gort_go places goroutines exactly as
 * Go 1.19's newproc/runqput do, by the order in which they run at
 * GOMAXPROCS=1 once main blocks:
 *  - 10 spawns run as 9 0 1 2 3 4 5 6 7 8: every new G goes to runnext and
 *    kicks the previous one to the tail of the local queue;
 *  - 300 spawns overflow the 256-slot local queue once: runqputslow moves
 *    the oldest half (0..127) plus the kicked G (256) to the global queue,
 *    runnext holds 299 and the local queue 128..298. The run order is then
 *    fixed by schedule()/findRunnable(): runnext first (inheriting the time
 *    slice, so schedtick does not advance), then the local queue, with one
 *    G taken from the global queue whenever schedtick % 61 == 0, and the
 *    global queue drained last through globrunqget's batch (runqsize/1+1,
 *    capped at 128) refilling the local queue.
 * The schedtick main has when it blocks is not visible, so the first
 * 300-spawn order must equal the simulated order for one of the 61
 * starting phases; that fixes the phase, and every later round must match
 * the phase predicted from it (schedtick advances once per G that does
 * not inherit a time slice: 299 per 300 spawns, 9 per 10, none for main
 * woken into runnext). Every goroutine must run exactly once. A build with a smaller local
 * queue (debug builds may shrink it) is matched against the same rules
 * with that size and reported.
 */
#include "gort_util.h"

#define MAX_SPAWN 300
#define GO_RUNQ 256
#define SCHEDTICK_FAIRNESS 61

/* ---------------------------------------------------------------------
 * The model: Go 1.19's runqput/runqputslow/runqget/globrunqget at one P.
 * ------------------------------------------------------------------- */

struct model {
	int qsize;                  /* local ring capacity */
	int local[4 * MAX_SPAWN];   /* local queue, [lhead, ltail) */
	int lhead, ltail;
	int global[2 * MAX_SPAWN];  /* global queue, [ghead, gtail) */
	int ghead, gtail;
	int runnext;                /* -1 = empty */
};

static void model_put_local(struct model *m, int g)
{
	if (m->ltail - m->lhead < m->qsize) {
		m->local[m->ltail++] = g;
		return;
	}
	/* runqputslow: the oldest half, then g, to the global tail. */
	for (int i = 0; i < m->qsize / 2; i++)
		m->global[m->gtail++] = m->local[m->lhead++];
	m->global[m->gtail++] = g;
}

/* model_spawn is newproc's runqput(p, newg, next=true). */
static void model_spawn(struct model *m, int g)
{
	if (m->runnext >= 0)
		model_put_local(m, m->runnext);
	m->runnext = g;
}

/* model_next is findRunnable's choice; *inherit as runqget reports. */
static int model_next(struct model *m, int schedtick, bool *inherit)
{
	int glen = m->gtail - m->ghead;
	*inherit = false;
	if (schedtick % SCHEDTICK_FAIRNESS == 0 && glen > 0)
		return m->global[m->ghead++]; /* globrunqget(p, 1) */
	if (m->runnext >= 0) {
		int g = m->runnext;
		m->runnext = -1;
		*inherit = true;
		return g;
	}
	if (m->ltail > m->lhead)
		return m->local[m->lhead++];
	if (glen == 0)
		return -1;
	int n = glen / 1 + 1; /* runqsize / gomaxprocs + 1 */
	if (n > glen)
		n = glen;
	if (n > m->qsize / 2)
		n = m->qsize / 2;
	int g = m->global[m->ghead++];
	for (int i = 1; i < n; i++)
		model_put_local(m, m->global[m->ghead++]);
	return g;
}

/* model_order fills out[0..n) with the order Go runs n spawns in. */
static void model_order(int n, int qsize, int schedtick, int *out)
{
	static struct model m;
	memset(&m, 0, sizeof(m));
	m.qsize = qsize;
	m.runnext = -1;
	for (int g = 0; g < n; g++)
		model_spawn(&m, g);
	for (int k = 0; k < n; k++) {
		bool inherit;
		out[k] = model_next(&m, schedtick, &inherit);
		if (!inherit)
			schedtick++;
	}
}

/* ---------------------------------------------------------------------
 * The runtime.
 * ------------------------------------------------------------------- */

static int order[MAX_SPAWN];
static atomic_int order_len;
static gort_waitgroup order_wg;

static void record(void *arg)
{
	order[atomic_fetch_add(&order_len, 1)] = (int)(intptr_t)arg;
	gort_wg_done(&order_wg);
}

/* spawn_and_wait spawns n recorders, blocks, returns the spawn time. */
static int64_t spawn_and_wait(int n)
{
	atomic_store(&order_len, 0);
	CHECK_EQ(gort_wg_add(&order_wg, n), 0);
	int64_t t0 = gort_nanotime();
	for (int i = 0; i < n; i++)
		CHECK(gort_go(record, (void *)(intptr_t)i) > 1);
	int64_t spent = gort_nanotime() - t0;
	CHECK_EQ(gort_wg_wait(&order_wg), 0);
	CHECK_EQ(atomic_load(&order_len), n);
	return spent;
}

static void check_each_once(int n)
{
	bool seen[MAX_SPAWN] = {false};
	for (int k = 0; k < n; k++) {
		CHECK(order[k] >= 0 && order[k] < n);
		if (seen[order[k]])
			FAILF("goroutine %d ran twice", order[k]);
		seen[order[k]] = true;
	}
}

static void print_order(const char *what, const int *o, int n)
{
	fprintf(stderr, "%s:", what);
	for (int k = 0; k < n; k++)
		fprintf(stderr, " %d", o[k]);
	fputc('\n', stderr);
}

/* match finds (qsize, schedtick phase) whose model order equals order[]. */
static bool match(int n, int *qsize_out, int *phase_out)
{
	static int want[MAX_SPAWN];
	for (int qsize = GO_RUNQ; qsize >= 4; qsize /= 2) {
		for (int phase = 0; phase < SCHEDTICK_FAIRNESS; phase++) {
			model_order(n, qsize, phase, want);
			if (memcmp(want, order, (size_t)n * sizeof(int)) == 0) {
				*qsize_out = qsize;
				*phase_out = phase;
				return true;
			}
		}
	}
	return false;
}

/* explain prints the robust facts of the 256-slot model that failed. */
static void explain(int n)
{
	print_order("observed order", order, n);
	static int want[MAX_SPAWN];
	model_order(n, GO_RUNQ, 1, want);
	print_order("Go 1.19 order (schedtick 1 when main blocks)", want, n);
	if (n != MAX_SPAWN)
		return;
	int last_local = 127;
	int last_global = -1;
	for (int k = 0; k < n; k++) {
		int g = order[k];
		if (g >= 128 && g <= 298 && g != 256) {
			if (g < last_local)
				fprintf(stderr, "local queue 128..298 out of "
				        "order at position %d (%d)\n", k, g);
			last_local = g;
		} else if (g != 299) {
			int rank = g == 256 ? 128 : g;
			if (rank < last_global)
				fprintf(stderr, "global queue 0..127,256 out "
				        "of order at position %d (%d)\n", k, g);
			last_global = rank;
		}
	}
	if (order[0] != 299 && order[1] != 299)
		fprintf(stderr, "runnext (299) did not run first\n");
}

/* ticks_for is how far schedtick moves while n spawns run after main
 * blocks, and main is woken: every G but the runnext one takes a new
 * time slice; the runnext one and main (readied into runnext by the last
 * Done) inherit theirs. */
static int ticks_for(int n)
{
	return n - 1;
}

/* check_order spawns n and checks the order. When *phase is >= 0 it is the
 * schedtick % 61 main must block at; on return it is the phase main
 * resumes at, or -1 if unknown. Returns false if a time slice ended in
 * the round (main's, in a slow spawn loop, or a recorder's): the order
 * then proves nothing, and schedtick moved once more than counted. */
static bool check_order(int n, int *phase)
{
	uint64_t i0 = slices_ended();
	int64_t spent = spawn_and_wait(n);
	check_each_once(n);
	if (slices_ended() != i0) {
		fprintf(stderr, "  a time slice ended while %d spawns ran "
		        "(spawning took %.1f ms), retrying\n",
		        n, (double)spent / 1e6);
		*phase = -1;
		return false;
	}
	int qsize;
	int found;
	if (!match(n, &qsize, &found)) {
		explain(n);
		FAILF("the run order of %d spawns at GOMAXPROCS=1 is not Go's",
		      n);
	}
	if (qsize != GO_RUNQ)
		printf("  note: %d spawns match Go's rules with a %d-slot "
		       "local queue (Go has %d)\n", n, qsize, GO_RUNQ);
	if (*phase >= 0) {
		static int want[MAX_SPAWN];
		model_order(n, qsize, *phase, want);
		if (memcmp(want, order, (size_t)n * sizeof(int)) != 0) {
			explain(n);
			FAILF("%d spawns ran as if schedtick %% 61 were %d, "
			      "not %d: schedtick must advance only for Gs "
			      "that do not inherit a time slice",
			      n, found, *phase);
		}
		found = *phase;
	}
	if (n > qsize)
		printf("  %d spawns ran in Go's order (schedtick %% 61 = %d "
		       "when main blocked)\n", n, found);
	else
		printf("  %d spawns ran in Go's order\n", n);
	fflush(stdout);
	if (n <= qsize && *phase < 0)
		return true; /* this order does not tell the phase */
	*phase = (found + ticks_for(n)) % SCHEDTICK_FAIRNESS;
	return true;
}

static void check_order_retrying(int n, int *phase)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		if (check_order(n, phase))
			return;
	}
	FAILF("spawning %d goroutines was too slow to check the order", n);
}

static int order_main(void *arg)
{
	(void)arg;
	/* The order is Go's for a spawner that no time slice interrupts;
	 * sanitizer builds are slow enough for a 10 ms slice to end. */
	gort_preempt_off();
	CHECK_EQ(gort_gomaxprocs(0), 1);
	spawn_and_wait(MAX_SPAWN); /* warm the free lists: spawns get cheap */
	int phase = -1; /* unknown until a 300-spawn order fixes it */
	for (int round = 0; round < 4; round++) {
		check_order_retrying(10, &phase);
		check_order_retrying(MAX_SPAWN, &phase);
	}
	return 0;
}

MAIN_CASE(run_order_at_one_p, order_main, 1)

/* The model itself, against the facts measured on Go 1.19. */
static void model_facts(void)
{
	int o[MAX_SPAWN];
	int ten[10] = {9, 0, 1, 2, 3, 4, 5, 6, 7, 8};
	for (int phase = 0; phase < SCHEDTICK_FAIRNESS; phase++) {
		model_order(10, GO_RUNQ, phase, o);
		CHECK(memcmp(o, ten, sizeof(ten)) == 0);
	}
	model_order(MAX_SPAWN, GO_RUNQ, 1, o);
	CHECK_EQ(o[0], 299);
	CHECK_EQ(o[1], 128);
	CHECK_EQ(o[2], 129);
	CHECK_EQ(o[MAX_SPAWN - 1], 256);
	CHECK_EQ(o[MAX_SPAWN - 2], 127);
	model_order(MAX_SPAWN, GO_RUNQ, 0, o);
	CHECK_EQ(o[0], 0); /* the fairness pick comes before runnext */
	CHECK_EQ(o[1], 299);
}

int main(void)
{
	RUN_CASE(model_facts, 10);
	RUN_CASE(run_order_at_one_p, 30);
	PASS("runnext_order_test");
	return 0;
}
