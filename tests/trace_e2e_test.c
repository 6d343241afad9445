/*
 * trace_e2e_test.c - trace a known workload with gort_trace_start/stop and
 * read the file with every gort-trace command.
 *
 * The workload, at GOMAXPROCS=2: main spawns a goroutine named
 * "e2e-worker" and blocks receiving from an unbuffered channel until the
 * worker, which waits for that, sends (a block, then an unblock by the
 * worker); main spawns spinners faster than one P runs them, so the other
 * P steals; one goroutine makes a blocking syscall through
 * gort_entersyscall_block. Then:
 *   view   well-formed JSON with the worker's run slices, an unblock flow
 *          pair, a steal instant, counters;
 *   stats  lists the worker by name;
 *   go     `go tool trace -d` parses the result and shows the events of
 *          the workload (when go is in PATH).
 * Without the tracer in the runtime (gort_trace_start failing with
 * ENOSYS) the test says so and passes.
 */
#include "gort_util.h"
#include "trace_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPINNERS 8

static char dir[] = "gort_trace_e2e_XXXXXX";
static char trace_path[PATH_MAX], out_path[PATH_MAX];
static bool traced;
static int64_t worker_id;

struct rendezvous {
	gort_chan *c;
	gort_waitgroup wg;
};

static void worker(void *arg)
{
	struct rendezvous *r = arg;
	/* Send only to main parked on the receive (an unbuffered try-send
	 * succeeds only then), so that the trace holds its block: a slow
	 * main could come to the receive after a plain send had parked. */
	int v = 42;
	while (gort_chan_try_send(r->c, &v) != 0) {
		CHECK_EQ(read_errno(), EAGAIN);
		gort_sleep(MS);
	}
	gort_wg_done(&r->wg);
}

static atomic_int spinners_started;

/* 2 ms, and on until a second spinner has started: all of them wait in
 * main's P's queue, so on a loaded machine, where the other P's M may
 * wake late, the first ones would otherwise run out before it steals
 * (bounded: a runtime that never steals still ends the test). */
static void spinner(void *arg)
{
	struct rendezvous *r = arg;
	atomic_fetch_add(&spinners_started, 1);
	int64_t start = gort_nanotime();
	for (int64_t now = start; now - start < 2 * MS || (atomic_load(&spinners_started) < 2 &&
	                                                   now - start < 2000 * MS);)
		now = gort_nanotime();
	gort_wg_done(&r->wg);
}

static void syscaller(void *arg)
{
	struct rendezvous *r = arg;
	gort_entersyscall_block();
	harness_sleep_ms(2);
	gort_exitsyscall();
	gort_wg_done(&r->wg);
}

static int traced_main(void *arg)
{
	(void)arg;
	if (gort_trace_start(trace_path) != 0) {
		int e = read_errno();
		if (e == ENOSYS)
			return 0;
		FAILF("gort_trace_start: %s", strerror(e));
	}
	traced = true;
	struct rendezvous r = {.c = make_chan(sizeof(int), 0)};
	gort_wg_add(&r.wg, 2 + SPINNERS);
	gort_attr attr = {.name = "e2e-worker"};
	worker_id = gort_go_attr(worker, &r, &attr);
	CHECK(worker_id > 0);
	int v = 0;
	CHECK_EQ(gort_chan_recv(r.c, &v), 1);
	CHECK_EQ(v, 42);
	gort_attr sattr = {.name = "e2e-spinner"};
	for (int i = 0; i < SPINNERS; i++)
		CHECK(gort_go_attr(spinner, &r, &sattr) > 0);
	CHECK(gort_go(syscaller, &r) > 0);
	gort_wg_wait(&r.wg);
	CHECK_EQ(gort_trace_stop(), 0);
	gort_chan_free(r.c);
	return 0;
}

int main(void)
{
	if (trace_tool() == NULL) {
		SKIP("trace_e2e", "gort-trace not built (GORT_BUILD_TOOLS=OFF)");
		return 0;
	}
	trace_workdir(dir, "e2e.trace", trace_path, out_path, sizeof trace_path);
	run_main(traced_main, NULL, 2);
	if (!traced) {
		printf("skipped: tracer not built\n");
		rmdir(dir);
		return 0;
	}

	char gname[64];
	snprintf(gname, sizeof(gname), "\"name\":\"G%lld e2e-worker\"",
	         (long long)worker_id);
	char *j = trace_view_json(trace_path, out_path);
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":1,", gname, NULL));
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":1,", "e2e-spinner", NULL));
	CHECK(has_line(j, "\"ph\":\"s\"", "\"cat\":\"unblock\"", NULL));
	CHECK(has_line(j, "\"ph\":\"f\"", "\"bp\":\"e\"", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"name\":\"steal\"", "\"victim\":", NULL));
	CHECK(has_line(j, "\"ph\":\"C\"", "\"name\":\"Goroutines\"", NULL));
	CHECK(has_line(j, "\"ph\":\"M\"", "\"thread_name\"", "\"P1\"", NULL));
	free(j);
	PASS("view");

	char *s = trace_tool_run("stats", trace_path, out_path);
	char id[32];
	snprintf(id, sizeof(id), "%lld ", (long long)worker_id);
	CHECK(has_line(s, id, "e2e-worker", NULL));
	CHECK(has_line(s, "e2e-spinner", NULL));
	free(s);
	PASS("stats");

	char dump[PATH_MAX + 16];
	snprintf(dump, sizeof(dump), "%s/go-d.txt", dir);
	char *d = go_trace_dump(trace_path, out_path, dump);
	if (d != NULL) {
		static const char *const want[] = {
			"GoCreate", "GoStart", "GoBlockRecv", "GoUnblock", "GoEnd",
			"GoSysCall", "GoSysBlock", "GoSysExit", "ProcStart",
			"ProcStop", "Gomaxprocs",
		};
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (!has_line(d, want[i], NULL))
				FAILF("go tool trace -d shows no %s", want[i]);
		char created[48];
		snprintf(created, sizeof(created), " g=%lld stack=",
		         (long long)worker_id);
		CHECK(has_line(d, "GoCreate", created, NULL));
		free(d);
	}
	PASS("go");

	char rm[PATH_MAX + 16];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}
