/*
 * dump_test proves the goroutine dump (gort_dump_goroutines and SIGQUIT):
 *  - goroutines blocked in a channel receive, a sleep and a mutex show
 *    Go's header with their wait reason ("goroutine N [chan receive]:"),
 *    a stack that holds the test's own blocking function (noinline,
 *    found through the frame pointers and the ELF symbol table), and
 *    "created by" naming the function that spawned them, "in goroutine
 *    1"; a named goroutine shows its name, a newline or backslash in it
 *    escaped (\x0a, \x5c) so that it forges no line; a goroutine with a
 *    custom stack size (not pooled) is walked too, the world being
 *    stopped;
 *  - the goroutine calling gort_dump_goroutines shows as running, with
 *    its own stack (the calling function);
 *  - a plain thread (not a goroutine) gets a dump without stopping the
 *    world: parked goroutines with their stacks, nothing crashes, not
 *    even while named goroutines exit (freeing their names) under it;
 *  - a goroutine that computes without calling the runtime is stopped
 *    (preempted) for the dump promptly, and shown with its stack through
 *    the preemption frame, the interrupted function first, a leaf that
 *    has called nothing too (not in sanitizer builds: they have no
 *    asynchronous preemption, so the dump waits for it, as Go's would);
 *  - SIGQUIT to a child program (tests/prog/sigquit.c): exit status 2,
 *    "SIGQUIT: quit" then the goroutines with their stacks on stderr;
 *    with GODEBUG=scheddetail=1, the detailed scheduler report first;
 *  - the SIGQUIT handler is the runtime's only while gort_main runs, and
 *    only where SIGQUIT had its default action: a program that ignores
 *    it keeps ignoring it;
 *  - gort_dump_goroutines and gort_schedtrace keep their caller's errno,
 *    also when it went on on another thread (it waited for the world, or
 *    was preempted for a resize), and leave the errno of the goroutine
 *    that runs on its first thread alone;
 *  - the goroutine that dumps comes first, then the others in the order
 *    they were made (Go's allgs), also when there are more than one arena
 *    of G structs holds;
 *  - gort_dump_goroutines outside the runtime prints nothing.
 */
#include "gort_util.h"

#include <pthread.h>
#include <signal.h>

static gort_chan *ch;
static gort_mutex mu;
static atomic_int parked;

static __attribute__((noinline)) void dump_recv_blocker(void *arg)
{
	(void)arg;
	int v;
	atomic_fetch_add(&parked, 1);
	gort_chan_recv(ch, &v);
	__asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
}

static __attribute__((noinline)) void dump_sleep_blocker(void *arg)
{
	(void)arg;
	atomic_fetch_add(&parked, 1);
	gort_sleep(60LL * 1000 * 1000 * 1000);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void dump_mutex_blocker(void *arg)
{
	(void)arg;
	atomic_fetch_add(&parked, 1);
	gort_mutex_lock(&mu);
	gort_mutex_unlock(&mu);
	__asm__ volatile("" ::: "memory");
}

static int64_t ids[4];

static __attribute__((noinline)) void dump_spawner(void)
{
	ids[0] = gort_go(dump_recv_blocker, NULL);
	ids[1] = gort_go(dump_sleep_blocker, NULL);
	ids[2] = gort_go(dump_mutex_blocker, NULL);
	/* A name that would forge a line of the dump, were it printed raw. */
	gort_attr attr = {.stack_size = 1u << 20,
	                  .name = "dump-named\ngoroutine 1 [running]:\\"};
	ids[3] = gort_go_attr(dump_recv_blocker, NULL, &attr);
	__asm__ volatile("" ::: "memory");
}

static void wait_four_parked(void);

/* The four goroutines of dump_spawner, parked (mu held until the caller
 * unlocks it). */
static void park_four(void)
{
	ch = make_chan(sizeof(int), 0);
	gort_mutex_lock(&mu);
	atomic_store(&parked, 0);
	dump_spawner();
	wait_flag(&parked, 4);
	wait_four_parked();
}

/* The block of goroutine id in dump, copied into buf ("" if absent). */
static void goroutine_block(const char *dump, int64_t id, char *buf, size_t n)
{
	char head[48];
	snprintf(head, sizeof head, "goroutine %lld [", (long long)id);
	buf[0] = 0;
	const char *p = strstr(dump, head);
	if (!p || (p != dump && p[-1] != '\n'))
		return;
	const char *end = strstr(p, "\n\n");
	size_t len = end ? (size_t)(end - p) : strlen(p);
	if (len >= n)
		len = n - 1;
	memcpy(buf, p, len);
	buf[len] = 0;
}

static void want(const char *dump, const char *block, const char *what)
{
	if (!strstr(block, what)) {
		fprintf(stderr, "--- dump ---\n%s--- end ---\nmissing: %s\n", dump, what);
		FAILF("dump: %s", what);
	}
}

/* Symbols: ASan/TSan builds keep frame pointers and symbol tables too,
 * so every build must name the functions. */
static void check_blocked(const char *dump, bool stopped)
{
	char b[8192];
	goroutine_block(dump, ids[0], b, sizeof b);
	want(dump, b, "[chan receive]:\n");
	want(dump, b, "dump_recv_blocker(...)\n");
	want(dump, b, "created by dump_spawner in goroutine 1\n");
	goroutine_block(dump, ids[1], b, sizeof b);
	want(dump, b, "[sleep]:\n");
	want(dump, b, "dump_sleep_blocker(...)\n");
	goroutine_block(dump, ids[2], b, sizeof b);
	want(dump, b, "[sync.Mutex.Lock]:\n");
	want(dump, b, "dump_mutex_blocker(...)\n");
	want(dump, b, "created by dump_spawner in goroutine 1\n");
	goroutine_block(dump, ids[3], b, sizeof b);
	want(dump, b, "[chan receive]:\n\tname: dump-named\\x0agoroutine 1 [running]:\\x5c\n");
	if (stopped)
		want(dump, b, "dump_recv_blocker(...)\n");
	else
		want(dump, b, "stack unavailable");
	/* frames are "name(...)" then a tab line with "+0x" */
	want(dump, dump, "(...)\n\t");
}

/* Until a dump (the world stopped) shows the four of dump_spawner
 * parked: `parked` counts them before they block, and a thread kept off
 * the CPU there would show running in a dump that does not stop the
 * world. */
static void wait_four_parked(void)
{
	static const char *const reason[4] = {"chan receive", "sleep", "sync.Mutex.Lock",
	                                      "chan receive"};
	for (int i = 0; i < 4; i++)
		wait_parked(ids[i], reason[i]);
}

static __attribute__((noinline)) int dump_main(void *arg)
{
	(void)arg;
	park_four();
	char *dump = dump_to_string();
	check_blocked(dump, true);
	char b[8192];
	goroutine_block(dump, 1, b, sizeof b);
	want(dump, b, "goroutine 1 [running]:\n");
	want(dump, b, "dump_main(...)\n");
	CHECK(strstr(b, "created by") == NULL); /* as Go: not for main */
	free(dump);
	gort_mutex_unlock(&mu);
	return 0;
}

static void case_goroutine(void)
{
	run_main(dump_main, NULL, 2);
}

/* From a plain thread while the goroutines sit parked. */
static void *thread_dump(void *arg)
{
	char **out = arg;
	*out = dump_to_string();
	return NULL;
}

static int thread_main(void *arg)
{
	(void)arg;
	park_four();
	char *dump = NULL;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, thread_dump, &dump), 0);
	join_thread(th);
	CHECK(dump != NULL);
	check_blocked(dump, false);
	free(dump);
	gort_mutex_unlock(&mu);
	return 0;
}

static void case_thread(void)
{
	run_main(thread_main, NULL, 2);
}

/* Where the header of goroutine id begins in dump, or NULL. */
static const char *header_of(const char *dump, int64_t id)
{
	char head[48];
	snprintf(head, sizeof head, "goroutine %lld [", (long long)id);
	for (const char *p = dump; (p = strstr(p, head)) != NULL; p++)
		if (p == dump || p[-1] == '\n')
			return p;
	return NULL;
}

/* More goroutines than one arena of G structs holds (16383 G structs of
 * 128 bytes in 2 MiB), all alive at the dump, so that the last one's G
 * comes from a newer arena than the first one's. */
enum { ORDER_GS = 17000 };
static gort_chan *order_gate;

static void order_waiter(void *arg)
{
	(void)arg;
	int v;
	gort_chan_recv(order_gate, &v);
}

/* At GOMAXPROCS 1 most of them never run before the dump: runnable,
 * without a stack. */
static int order_main(void *arg)
{
	(void)arg;
	order_gate = make_chan(sizeof(int), 0);
	int64_t first = gort_go(order_waiter, NULL), last = first;
	CHECK(first > 0);
	for (int i = 1; i < ORDER_GS; i++)
		CHECK((last = gort_go(order_waiter, NULL)) > 0);
	char *dump = dump_to_string();
	const char *pf = header_of(dump, first), *pl = header_of(dump, last);
	CHECK(pf != NULL && pl != NULL);
	if (pf > pl)
		FAILF("dump: goroutine %lld (made last) is listed before goroutine %lld (made "
		      "first); Go lists allgs in the order the goroutines were made",
		      (long long)last, (long long)first);
	free(dump);
	return 0;
}

static void case_order(void)
{
#ifdef HARNESS_TSAN
	/* Each goroutine is a TSan fiber: 17000 at once cost minutes there,
	 * beyond the fibers TSan can hold. */
	printf("     skipped under TSan\n");
	return;
#endif
	run_main(order_main, NULL, 1);
}

/* A goroutine other than main dumps: its own block comes first. */
static char *self_dump;

static void self_dumper(void *arg)
{
	self_dump = dump_to_string();
	gort_chan_send(arg, &(int){1});
}

static int self_main(void *arg)
{
	(void)arg;
	gort_chan *done = make_chan(sizeof(int), 0);
	int64_t id = gort_go(self_dumper, done);
	CHECK(id > 0);
	int v;
	CHECK_EQ(gort_chan_recv(done, &v), 1);
	gort_chan_free(done);
	char head[64];
	snprintf(head, sizeof head, "goroutine %lld [running]:\n", (long long)id);
	if (strncmp(self_dump, head, strlen(head)) != 0) {
		fprintf(stderr, "--- dump ---\n%s--- end ---\n", self_dump);
		FAILF("dump: does not begin with its caller's block (%s)", head);
	}
	free(self_dump);
	return 0;
}

static void case_self_first(void)
{
	run_main(self_main, NULL, 2);
}

/* Named goroutines exit, freeing their names, while a plain thread dumps
 * over and over. The names are large enough (1 MiB) to be mappings of
 * their own, so that reading one after its exit faults rather than
 * reading stale bytes. */
static atomic_bool churn_stop;

static void churn_nop(void *arg)
{
	(void)arg;
}

static void *churn_dumper(void *arg)
{
	(void)arg;
	FILE *f = fopen("/dev/null", "w");
	CHECK(f != NULL);
	while (!atomic_load(&churn_stop))
		gort_dump_goroutines(f);
	fclose(f);
	return NULL;
}

static int churn_main(void *arg)
{
	(void)arg;
	size_t n = 1u << 20;
	char *name = malloc(n);
	CHECK(name != NULL);
	memset(name, 'n', n - 1);
	name[n - 1] = '\0';
	gort_attr attr = {.name = name};
	atomic_store(&churn_stop, false);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, churn_dumper, NULL), 0);
	int64_t end = gort_nanotime() + 1000000000LL;
	while (gort_nanotime() < end) {
		for (int i = 0; i < 8; i++)
			CHECK(gort_go_attr(churn_nop, NULL, &attr) > 0);
		gort_gosched();
	}
	atomic_store(&churn_stop, true);
	join_thread(th);
	free(name);
	return 0;
}

static void case_thread_churn(void)
{
	run_main(churn_main, NULL, 2);
}

static atomic_bool busy_stop;

static __attribute__((noinline)) void dump_busy(void *arg)
{
	(void)arg;
	atomic_fetch_add(&parked, 1);
	while (!atomic_load_explicit(&busy_stop, memory_order_relaxed))
		__asm__ volatile("" ::: "memory");
}

static atomic_int leaf_started;

/* A loop that calls nothing, not even before it: on arm64 its link
 * register still holds its caller's return address, and (a leaf) it may
 * have no frame record of its own, so only the interrupted pc names it. */
static __attribute__((noinline)) void dump_busy_leaf(void *arg)
{
	(void)arg;
	atomic_store_explicit(&leaf_started, 1, memory_order_relaxed);
	while (!atomic_load_explicit(&busy_stop, memory_order_relaxed))
		__asm__ volatile("" ::: "memory");
}

static int busy_main(void *arg)
{
	(void)arg;
	atomic_store(&parked, 0);
	atomic_store(&busy_stop, false);
	atomic_store(&leaf_started, 0);
	int64_t id = gort_go(dump_busy, NULL);
	int64_t leaf = gort_go(dump_busy_leaf, NULL);
	wait_flag(&parked, 1);
	wait_flag(&leaf_started, 1);
	int64_t t0 = gort_nanotime();
	char *dump = dump_to_string();
	double secs = (double)(gort_nanotime() - t0) / 1e9;
	atomic_store(&busy_stop, true);
	char b[8192];
	goroutine_block(dump, id, b, sizeof b);
	want(dump, b, "dump_busy(...)\n");
	goroutine_block(dump, leaf, b, sizeof b);
	want(dump, b, "dump_busy_leaf(...)\n");
	if (secs > harness_timeout(2))
		FAILF("the dump took %.3f s: running goroutines were not stopped", secs);
	free(dump);
	return 0;
}

static void case_busy(void)
{
	if (HARNESS_SANITIZED) {
		harness_skip("busy", "no asynchronous preemption in sanitizer builds");
		return;
	}
	run_main(busy_main, NULL, 2);
}

static void *quit_handler(void)
{
	struct sigaction sa;
	CHECK_EQ(sigaction(SIGQUIT, NULL, &sa), 0);
	return (sa.sa_flags & SA_SIGINFO) ? (void *)sa.sa_sigaction : (void *)sa.sa_handler;
}

static void *quit_inside;

static int quit_main(void *arg)
{
	(void)arg;
	quit_inside = quit_handler();
	return 0;
}

/*
 * errno: gort_dump_goroutines and gort_schedtrace keep the caller's
 * errno, also when the caller went on on another thread (it waited for
 * the world, another goroutine resizing meanwhile, or was preempted for
 * a resize), and touch no other goroutine's: watchers set errno and spin
 * without a runtime call, then read it back. Parked goroutines make each
 * report long enough to be cut by a resize.
 */
enum { ERRNO_CALLER = 77 };
static atomic_bool errno_stop;
static atomic_int errno_lost;

static void errno_resizer(void *arg)
{
	(void)arg;
	/* Each a stop of the world, on worldsema: a value it has already
	 * would stop nothing. */
	for (int n = 3; !atomic_load(&errno_stop); n ^= 7)
		gort_gomaxprocs(n);
	gort_wg_done(&helpers_wg);
}

static void errno_watcher(void *arg)
{
	int mine = 1000 + (int)(intptr_t)arg;
	while (!atomic_load(&errno_stop)) {
		write_errno(mine);
		for (int64_t t0 = harness_now(); harness_now() - t0 < 200 * US;)
			;
		if (read_errno() == ERRNO_CALLER)
			atomic_fetch_add(&errno_lost, 1);
		gort_gosched();
	}
	gort_wg_done(&helpers_wg);
}

static int errno_main(void *arg)
{
	(void)arg;
	static struct peer parked_peers[1000];
	FILE *f = fopen("/dev/null", "w");
	CHECK(f != NULL);
	gort_chan *never = make_chan(sizeof(int), 0);
	for (int i = 0; i < SCALE(1000); i++)
		start_peer(peer_recv, &parked_peers[i], never, 0);
	start_helper(errno_resizer, NULL);
	for (int i = 0; i < 4; i++)
		start_helper(errno_watcher, (void *)(intptr_t)i);
	/* Bounded in time too: an emulator on a loaded machine makes each
	 * report with 1,000 goroutines take tens of ms. Before the fix a few
	 * hundred reports already changed errnos dozens of times. */
	int changed = 0;
	int64_t t0 = harness_now();
	for (int i = 0; i < SCALE(2000) && harness_now() - t0 < 5000 * MS; i++) {
		write_errno(ERRNO_CALLER);
		if (i % 2)
			gort_schedtrace(f, true);
		else
			gort_dump_goroutines(f);
		changed += read_errno() != ERRNO_CALLER;
	}
	atomic_store(&errno_stop, true);
	CHECK_EQ(gort_chan_close(never), 0);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	gort_chan_free(never);
	fclose(f);
	if (changed != 0 || atomic_load(&errno_lost) != 0)
		FAILF("the reports changed their caller's errno %d times and "
		      "set another goroutine's to the caller's %d times",
		      changed, atomic_load(&errno_lost));
	return 0;
}

static void case_errno(void)
{
	run_main(errno_main, NULL, 4);
}

static void case_disposition(void)
{
	CHECK(quit_handler() == (void *)SIG_DFL);
	run_main(quit_main, NULL, 1);
	CHECK(quit_inside != (void *)SIG_DFL && quit_inside != (void *)SIG_IGN);
	CHECK(quit_handler() == (void *)SIG_DFL);
	signal(SIGQUIT, SIG_IGN);
	run_main(quit_main, NULL, 1);
	CHECK(quit_inside == (void *)SIG_IGN);
	CHECK(quit_handler() == (void *)SIG_IGN);
}

static void case_outside(void)
{
	char *dump = dump_to_string();
	CHECK_EQ(strlen(dump), 0);
	free(dump);
}

static void case_sigquit(void)
{
	struct child_result res;
	char *argv[] = {NULL, NULL};
	run_child_prog("sigquit", argv, harness_timeout(20), &res);
	if (!(res.exited && res.status == 2) || !strstr(res.output, "SIGQUIT: quit\n") ||
	    !strstr(res.output, "[chan receive]:\n") || !strstr(res.output, "sigquit_blocker(...)\n") ||
	    !strstr(res.output, "created by sigquit_main in goroutine 1\n") ||
	    !strstr(res.output, "goroutine 1 [")) {
		harness_describe("sigquit", &res);
		FAILF("sigquit: want exit status 2, \"SIGQUIT: quit\" and the blocked goroutine's stack");
	}
	CHECK(strstr(res.output, "sigquit: ready") < strstr(res.output, "SIGQUIT: quit"));
	CHECK(strstr(res.output, "SCHED ") == NULL);
	/* With GODEBUG=scheddetail=1 the detailed scheduler report comes
	 * first, as Go's startpanic_m prints it. */
	CHECK_EQ(setenv("GODEBUG", "scheddetail=1", 1), 0);
	run_child_prog("sigquit", argv, harness_timeout(20), &res);
	CHECK_EQ(unsetenv("GODEBUG"), 0);
	const char *sched = strstr(res.output, "\nSCHED ");
	const char *quit = strstr(res.output, "SIGQUIT: quit\n");
	if (!(res.exited && res.status == 2) || !sched || !quit || sched > quit ||
	    !strstr(sched, "  G2: status=4(chan receive)")) {
		harness_describe("sigquit scheddetail=1", &res);
		FAILF("sigquit with GODEBUG=scheddetail=1: want the detailed SCHED "
		      "report, then \"SIGQUIT: quit\"");
	}
}

int main(void)
{
	run_case("goroutine", case_goroutine, 20);
	run_case("thread", case_thread, 20);
	run_case("thread_churn", case_thread_churn, 30);
	run_case("order", case_order, 60);
	run_case("self_first", case_self_first, 20);
	run_case("busy", case_busy, 20);
	run_case("errno", case_errno, 30);
	run_case("disposition", case_disposition, 10);
	run_case("outside", case_outside, 10);
	run_case("sigquit", case_sigquit, 30);
	return 0;
}
