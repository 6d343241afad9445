/*
 * trace_tool_test.c - the gort-trace tool on a synthetic trace.
 *
 * The test writes a trace file by hand, in the format of trace_format.h,
 * for a known scenario on 2 Ps: main (G1) creates a worker with a name
 * full of JSON trouble (quotes, a newline, a byte that is not UTF-8), a
 * syscaller and an unnamed goroutine; main blocks on a channel receive;
 * M1 steals from P0 and runs the syscaller, whose syscall loses P1 to
 * sysmon (hand-off to M2); the worker unblocks main, is preempted, and
 * moves to P1; the syscaller comes back on P0. Then:
 *   view   the JSON is well formed (a strict checker) and holds each
 *          goroutine's run on the right P track, the unblock flow pair,
 *          the steal with its victim, escaped names, M tracks, counters;
 *   stats  every goroutine with its latency, blocked and syscall times;
 *   go     `go tool trace -d` parses the Go 1.19 file and shows the
 *          expected events (skipped without go in PATH);
 *   bad input  garbage, a pipe of garbage that does not end, and every
 *          truncation and many random mutations of the file: exit
 *          status 0 or 1 with a message, never a crash or a hang;
 *   ties   events of one goroutine at equal times on two threads come
 *          in the order of their sequence numbers;
 *   syscall_kept  syscalls as the runtime writes them (the M stops its P
 *          at the entry): one that gets its P back stays a syscall of a
 *          running goroutine, one that returns without a P lost it;
 *   stray_snapshot  a snapshot state (EvGoWaiting) of a goroutine that
 *          has run since is dropped: the Go file still parses;
 *   stopped  a block for good (Go's GoStop) that a damaged file
 *          unblocks is a plain block in the Go file, which still parses;
 *   resized  each change of GOMAXPROCS is a Gomaxprocs in the Go file;
 *   unsampled  goroutines never runnable in the trace show no latency
 *          ("-"), not 0 ns;
 *   starved  a goroutine runnable until the trace ends has that wait
 *          as a latency sample;
 *   site_reasons  a creation site's blocked time by wait reason, the sum
 *          of its goroutines';
 *   long_waits  a site's times, the sum of its goroutines', saturate
 *          rather than overflow on a trace as long as the reader takes;
 *   colliding_ids, colliding_names  goroutine ids, and names, chosen to
 *          share one slot of a fixed hash take no longer than any others.
 */
#include "harness.h"
#include "trace_check.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/trace_format.h"

#define T0 1000000ull
#define NOP UINT64_MAX /* -1: no P, not an M */

/* --- a trace writer -------------------------------------------------------- */

struct gen {
	unsigned char b[8192];
	size_t n;
	uint64_t last;
	uint64_t p, g, lastgid; /* the batch's registers */
};

static void put(struct gen *g, unsigned char c)
{
	if (g->n == sizeof(g->b))
		FAILF("synthetic trace too big");
	g->b[g->n++] = c;
}

static void varint(struct gen *g, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		put(g, (unsigned char)(0x80 | (v & 0x7f)));
	put(g, (unsigned char)v);
}

/* The file's header (magic, then zeros to TRACE_HEADER_LEN) at b;
 * returns its length. */
static size_t put_header(unsigned char *b)
{
	memcpy(b, TRACE_MAGIC, sizeof(TRACE_MAGIC) - 1);
	memset(b + sizeof(TRACE_MAGIC) - 1, 0, TRACE_HEADER_LEN - (sizeof(TRACE_MAGIC) - 1));
	return TRACE_HEADER_LEN;
}

/* A generator with the header written. */
static void gen_start(struct gen *g)
{
	*g = (struct gen){0};
	g->n = put_header(g->b);
}

/* The file's time unit is 1 ns (u = 0 in the header). */
static void batch(struct gen *g, uint64_t tid, uint64_t mid, uint64_t ts)
{
	put(g, EvBatch);
	varint(g, tid);
	varint(g, mid + 1);
	varint(g, ts);
	g->last = ts;
	g->p = UINT64_MAX;
	g->g = g->lastgid = 0;
}

/* ev(g, type, ts, args...): as many args as trace_ev_nargs says, all of
 * them, written as the format wants (the implicit ones through the
 * registers, as the runtime's writer does). */
static void ev(struct gen *g, int type, uint64_t ts, ...)
{
	uint64_t a[TRACE_MAX_ARGS];
	int n = trace_ev_nargs(type);
	const unsigned char *k = trace_ev_args[type];
	va_list ap;
	va_start(ap, ts);
	for (int i = 0; i < n; i++)
		a[i] = va_arg(ap, uint64_t);
	va_end(ap);
	for (int i = 0; i < n; i++) {
		if (k[i] == TA_P && a[i] != g->p) {
			put(g, EvSetP);
			varint(g, a[i] + 1);
			g->p = a[i];
		} else if (k[i] == TA_G && a[i] != g->g) {
			put(g, EvSetG);
			varint(g, a[i]);
			g->g = a[i];
		}
	}
	uint64_t dt = ts - g->last;
	g->last = ts;
	if (dt < TRACE_DTC_VARINT) {
		put(g, (unsigned char)(type | dt << TRACE_DTC_SHIFT));
	} else {
		put(g, (unsigned char)(type | TRACE_DTC_VARINT << TRACE_DTC_SHIFT));
		varint(g, dt);
	}
	for (int i = 0; i < n; i++) {
		if (k[i] == TA_U) {
			varint(g, a[i]);
		} else if (k[i] == TA_ID) {
			varint(g, a[i] + 1);
		} else if (k[i] == TA_GID) {
			int64_t d = (int64_t)(a[i] - g->lastgid);
			g->lastgid = a[i];
			varint(g, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
		}
	}
	if (type == EvGoStart)
		g->g = a[1];
}

static void site(struct gen *g, uint64_t id, uint64_t name, uint64_t pc)
{
	put(g, EvSite);
	varint(g, id);
	varint(g, name);
	varint(g, pc);
}

static void str(struct gen *g, uint64_t id, const char *s)
{
	put(g, EvString);
	varint(g, id);
	varint(g, strlen(s));
	for (; *s; s++)
		put(g, (unsigned char)*s);
}

enum { S_MAIN = 1, S_WORKER, S_SYSCALLER, S_CHANRECV, S_SELECTNONE, S_WAITER,
       S_SLEEP };
/* Sites: the strings above with entry pcs, and one without a name. */
enum { SITE_MAIN = 1, SITE_WORKER, SITE_SYSCALLER, SITE_ANON, SITE_WAITER };
#define WORKER_NAME "worker \"q\"\n\xff"
#define WORKER_JSON "worker \\\"q\\\"\\u000a\\ufffd"

#define U(x) ((uint64_t)(x))

/* M0: the snapshot, then main on P0. */
static void m0_batch(struct gen *g)
{
	batch(g, 100, 0, T0);
	ev(g, EvGomaxprocs, T0, U(2));
	ev(g, EvMStart, T0, U(0), U(100));
	ev(g, EvGoCreate, T0, U(0), U(1), U(0), U(SITE_MAIN));
	ev(g, EvProcStart, T0, U(0), U(0));
	ev(g, EvGoStart, T0, U(0), U(1), U(1));
	ev(g, EvGoCreate, T0 + 1000, U(0), U(2), U(1), U(SITE_WORKER));
	ev(g, EvGoCreate, T0 + 1100, U(0), U(3), U(1), U(SITE_SYSCALLER));
	ev(g, EvGoCreate, T0 + 1200, U(0), U(4), U(1), U(SITE_ANON));
	ev(g, EvGoBlock, T0 + 2000, U(0), U(1), U(S_CHANRECV));
	ev(g, EvGoStart, T0 + 2100, U(0), U(2), U(1));
	ev(g, EvGoUnblock, T0 + 3500, U(0), U(1), U(2), U(2));
	ev(g, EvTimerFire, T0 + 3600, U(0), U(1));
	ev(g, EvGoPreempt, T0 + 4000, U(0), U(2), U(1));
	ev(g, EvGoStart, T0 + 4100, U(0), U(1), U(3));
	ev(g, EvGoEnd, T0 + 5000, U(0), U(1));
	ev(g, EvGoStart, T0 + 5050, U(0), U(4), U(1));
	ev(g, EvGoSched, T0 + 5060, U(0), U(4));
	ev(g, EvGlobRunqPut, T0 + 5070, U(0), U(1));
	ev(g, EvProcStop, T0 + 5100, U(0), U(0));
	ev(g, EvMPark, T0 + 5100, U(0));
}

/* scenario writes the trace; without M0's batch (which holds the
 * snapshot and every creation) it is what a flight recorder dump that
 * lost its oldest buffer looks like. */
static void scenario(struct gen *g, bool with_m0)
{
	gen_start(g);

	if (with_m0)
		m0_batch(g);

	/* M1: steals the syscaller, loses P1 in the syscall, returns on P0. */
	batch(g, 101, 1, T0 + 1500);
	ev(g, EvMStart, T0 + 1500, U(1), U(101));
	ev(g, EvProcStart, T0 + 1500, U(1), U(1));
	ev(g, EvSteal, T0 + 2200, U(1), U(0), U(1));
	ev(g, EvGoStart, T0 + 2300, U(1), U(3), U(1));
	ev(g, EvGoSysCall, T0 + 2400, U(1), U(3));
	ev(g, EvProcStart, T0 + 7000, U(0), U(1));
	ev(g, EvGoSysExit, T0 + 7000, U(0), U(3), U(2));
	ev(g, EvGoStart, T0 + 7001, U(0), U(3), U(3));
	ev(g, EvGoEnd, T0 + 8000, U(0), U(3));
	ev(g, EvGlobRunqGet, T0 + 8050, U(0), U(1));
	ev(g, EvGoStart, T0 + 8100, U(0), U(4), U(2));
	ev(g, EvGoEnd, T0 + 8200, U(0), U(4));
	ev(g, EvProcStop, T0 + 8300, U(0), U(1));

	/* sysmon: retakes P1 from the syscall, asks the worker to yield. */
	batch(g, 102, NOP, T0 + 3000);
	ev(g, EvGoSysBlock, T0 + 3000, U(1), U(3));
	ev(g, EvPreemptReq, T0 + 3900, U(0), U(2), U(1));

	/* M2: gets P1 by the hand-off, runs the worker after its preemption. */
	batch(g, 103, 2, T0 + 3100);
	ev(g, EvMStart, T0 + 3100, U(2), U(103));
	ev(g, EvProcStart, T0 + 3100, U(1), U(2));
	ev(g, EvGoStart, T0 + 4500, U(1), U(2), U(3));
	ev(g, EvGoEnd, T0 + 6000, U(1), U(2));
	ev(g, EvProcStop, T0 + 6100, U(1), U(2));
	ev(g, EvMPark, T0 + 6100, U(2));

	/* The string and site tables, last, as the writer puts them. */
	batch(g, 0, NOP, T0 + 9000);
	str(g, S_MAIN, "main");
	str(g, S_WORKER, WORKER_NAME);
	str(g, S_SYSCALLER, "syscaller");
	str(g, S_CHANRECV, "chan receive");
	site(g, SITE_MAIN, S_MAIN, 0x1000);
	site(g, SITE_WORKER, S_WORKER, 0x2000);
	site(g, SITE_SYSCALLER, S_SYSCALLER, 0x3000);
	site(g, SITE_ANON, 0, 0x4444);
}

/* --- running the tool ------------------------------------------------------ */

/* In the working directory (the build's tests directory under ctest). */
static char dir[] = "gort_trace_tool_XXXXXX";
static char trace_path[PATH_MAX], out_path[PATH_MAX];
static struct gen gen;

static void write_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(b, 1, n, f) != n || fclose(f) != 0)
		FAILF("write %s: %s", path, strerror(errno));
}

/* tool runs gort-trace cmd on path, output to out_path; its status. */
static int tool(const char *cmd, const char *path, struct child_result *res)
{
	trace_tool_exec(cmd, path, out_path, 20, res);
	if (res->timed_out)
		FAILF("gort-trace %s timed out", cmd);
	if (!res->exited)
		FAILF("gort-trace %s died by signal %d: %s", cmd, res->signal,
		      res->output);
	return res->status;
}

/* --- the cases --------------------------------------------------------------- */

static void view_case(void)
{
	char *j = trace_view_json(trace_path, out_path);
	CHECK(strstr(j, "\"displayTimeUnit\":\"ns\"") != NULL);
	/* Each goroutine's runs on the P tracks (tid = P + 1) of pid 1. */
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":1,\"tid\":1,", "\"name\":\"G1 main\"", NULL));
	CHECK(count_lines(j, "\"ph\":\"X\"", "\"pid\":1,", "\"name\":\"G1 main\"", NULL) == 2);
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"G2 " WORKER_JSON "\"", "preempted", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"G2 " WORKER_JSON "\"", "\"end\":\"end\"", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"G3 syscaller\"", "syscall blocked", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"G3 syscaller\"", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"G4\"", "gosched", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"G1 main\"", "\"end\":\"chan receive\"", "\"ts\":0.000,", "\"dur\":2.000", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"syscall\"", "\"ts\":2.400,", "\"dur\":0.600", NULL));
	/* The unblock: its slice and flow start on P0, the flow's end where
	 * main runs again. */
	CHECK(has_line(j, "\"ph\":\"X\"", "\"ts\":3.500,", "\"tid\":1,", "\"name\":\"unblock G1\"", "\"by\":2", NULL));
	CHECK(has_line(j, "\"ph\":\"s\"", "\"ts\":3.500,", "\"tid\":1,", "\"id\":1}", NULL));
	CHECK(has_line(j, "\"ph\":\"f\"", "\"ts\":4.100,", "\"tid\":1,", "\"bp\":\"e\"", "\"id\":1}", NULL));
	CHECK_EQ(count_lines(j, "\"ph\":\"s\"", NULL), 1);
	CHECK_EQ(count_lines(j, "\"ph\":\"f\"", NULL), 1);
	/* Instants. */
	CHECK(has_line(j, "\"ph\":\"i\"", "\"tid\":2,", "\"name\":\"steal\"", "\"victim\":0,\"n\":1", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"tid\":1,", "\"name\":\"preempt\"", "\"g\":2", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"name\":\"preempt request\"", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"tid\":2,", "\"name\":\"syscall\"", "\"g\":3", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"tid\":2,", "\"name\":\"syscall handoff\"", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"name\":\"global runq put\"", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"name\":\"global runq get\"", NULL));
	CHECK(has_line(j, "\"ph\":\"i\"", "\"name\":\"timers fired\"", NULL));
	/* M tracks (pid 2, tid = M + 1). */
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":2,\"tid\":1,", "\"name\":\"P0\"", NULL));
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":2,\"tid\":2,", "\"name\":\"P1\"", "\"dur\":1.600", NULL));
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":2,\"tid\":3,", "\"name\":\"P1\"", NULL));
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":2,\"tid\":3,", "\"name\":\"parked\"", NULL));
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":2,\"tid\":1,", "\"name\":\"G1 main\"", NULL));
	/* Counters: the moment main blocked and the worker had not started. */
	CHECK(has_line(j, "\"ph\":\"C\"", "\"ts\":2.000,", "\"name\":\"Goroutines\"", "\"running\":0,\"runnable\":3,\"waiting\":1", NULL));
	CHECK(has_line(j, "\"ph\":\"C\"", "\"name\":\"Threads\"", "\"syscall\":1", NULL));
	/* Metadata. */
	CHECK(has_line(j, "\"ph\":\"M\"", "\"pid\":1,", "\"process_name\"", "\"Procs\"", NULL));
	CHECK(has_line(j, "\"ph\":\"M\"", "\"pid\":2,", "\"process_name\"", "\"Threads\"", NULL));
	CHECK(has_line(j, "\"ph\":\"M\"", "\"pid\":1,\"tid\":2,", "\"thread_name\"", "\"P1\"", NULL));
	CHECK(has_line(j, "\"ph\":\"M\"", "\"pid\":2,\"tid\":3,", "\"thread_name\"", "\"M2\"", NULL));
	free(j);
}

static void stats_case(void)
{
	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK(strstr(s, "Goroutines: 4") != NULL);
	/* main: blocked 1.5 us on the channel; ran 2 us + 0.9 us. */
	CHECK(has_line(s, "1 ", "main", "2.9us", "chan receive=1.5us", NULL));
	/* worker: latencies 1.1 us (created to started) and 500 ns (after
	 * the preemption): p50 500ns, max 1.1us. */
	CHECK(has_line(s, "2 ", "worker \"q\"?", "500ns", "1.1us", NULL));
	/* syscaller: 4.6 us in its syscall. */
	CHECK(has_line(s, "3 ", "syscaller", "4.6us", NULL));
	/* the unnamed goroutine, by its entry pc. */
	CHECK(has_line(s, "4 ", "pc=0x4444", NULL));
	CHECK(strstr(s, "By creation site:") != NULL);
	free(s);
}

/* `go tool trace -d` of the trace at trace_path, converted into
 * out_path; NULL when go is not installed (trace_check.h). */
static char *go_dump(void)
{
	char dump[PATH_MAX + 16];
	snprintf(dump, sizeof(dump), "%s/go-d.txt", dir);
	return go_trace_dump(trace_path, out_path, dump);
}

static void go_case(void)
{
	char *d = go_dump();
	if (d == NULL)
		return;
	static const char *const want[] = {
		"GoCreate", "GoStart", "GoBlockRecv", "GoUnblock", "GoEnd",
		"GoSysCall", "GoSysBlock", "GoSysExit", "ProcStart", "ProcStop",
		"GoPreempt", "GoSched", "Gomaxprocs",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_line(d, want[i], NULL))
			FAILF("go tool trace -d shows no %s:\n%s", want[i], d);
	CHECK(has_line(d, "GoBlockRecv", "g=1 ", NULL));
	CHECK(has_line(d, "GoUnblock", "g=2 ", "g=1 ", NULL));
	CHECK(has_line(d, "GoSysBlock", "p=1 ", "g=3 ", NULL));
	CHECK(has_line(d, "GoSysExit", "g=3 ", NULL));
	CHECK(has_line(d, "Gomaxprocs", "procs=2", NULL));
	CHECK_EQ(count_lines(d, "GoCreate", NULL), 4);
	free(d);

	/* Go's scheduler latency profile: the unblock of main by the worker
	 * and the creations by main are its samples, by site. */
	const char *go = go_tool_path();
	char prof[PATH_MAX + 16], top[PATH_MAX + 16];
	snprintf(prof, sizeof(prof), "%s/sched.pb", dir);
	snprintf(top, sizeof(top), "%s/top.txt", dir);
	struct child_result res;
	char *pargv[] = {(char *)go, "tool", "trace", "-pprof=sched", out_path, NULL};
	run_tool(pargv, prof, 120, &res);
	CHECK(res.exited && res.status == 0);
	char *targv[] = {(char *)go, "tool", "pprof", "-top", prof, NULL};
	run_tool(targv, top, 120, &res);
	char *t = slurp(top, NULL);
	if (!res.exited || res.status != 0 || !has_line(t, "main", NULL) ||
	    !has_line(t, "worker", NULL))
		FAILF("go tool pprof -top of the sched profile: %s%s", res.output, t);
	free(t);
}

/* mutate checks one damaged file: status 0 or 1, and 1 with a message. */
static void check_damaged(const void *b, size_t n, int k)
{
	static const char *const cmds[] = {"view", "stats", "go"};
	write_file(trace_path, b, n);
	struct child_result res;
	int st = tool(cmds[k % 3], trace_path, &res);
	if (st != 0 && st != 1)
		FAILF("gort-trace %s on a damaged file: status %d: %s",
		      cmds[k % 3], st, res.output);
	if (st == 1 && strstr(res.output, "gort-trace: ") == NULL)
		FAILF("gort-trace %s: status 1 without a message: %s",
		      cmds[k % 3], res.output);
}

static void bad_input_case(void)
{
	struct child_result res;
	char missing[PATH_MAX + 16];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	CHECK_EQ(tool("view", missing, &res), 1);
	CHECK(strstr(res.output, "gort-trace: ") != NULL);
	/* A directory: says why it cannot be read. */
	CHECK_EQ(tool("view", dir, &res), 1);
	if (strstr(res.output, strerror(EISDIR)) == NULL)
		FAILF("gort-trace view DIR: %s", res.output);
	write_file(trace_path, "", 0);
	CHECK_EQ(tool("stats", trace_path, &res), 1);
	write_file(trace_path, "{\"not\": \"a trace\"}\n", 19);
	CHECK_EQ(tool("view", trace_path, &res), 1);
	CHECK(strstr(res.output, "bad header") != NULL);
	trace_tool_exec("frobnicate", trace_path, out_path, 10, &res);
	CHECK_EQ(res.status, 2);

	/* Something that is not a trace and does not end (a pipe kept open
	 * here; /dev/zero, a huge file named by mistake): rejected by its
	 * header, not read whole into memory first, or waited on for ever. */
	char fifo[PATH_MAX + 16];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) != 0)
		FAILF("mkfifo %s: %s", fifo, strerror(errno));
	int wfd = open(fifo, O_RDWR | O_CLOEXEC); /* no wait for a reader */
	if (wfd < 0)
		FAILF("open %s: %s", fifo, strerror(errno));
	static const char junk[] = "this is not a gort trace, and more may follow\n";
	CHECK_EQ(write(wfd, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
	CHECK_EQ(tool("stats", fifo, &res), 1);
	CHECK(strstr(res.output, "bad header") != NULL);
	close(wfd);
	unlink(fifo);

	/* Truncations at about 150 places (those at an event boundary are
	 * valid traces), the header's bytes each; a fifth of the places and
	 * of the random rounds below under an emulator, where each run of
	 * the tool costs a new emulator, and under TSan, which has nothing
	 * to check in the single-threaded tool and costs each run its start
	 * (100 s of the TSan stage for all of them). The tool's code is the
	 * same as the native build's, which covers all of them, and the
	 * ASan build too, for its checks of the parser's reads. */
#ifdef HARNESS_TSAN
	bool few = true;
#else
	bool few = harness_emulated();
#endif
	size_t places = few ? 30 : 150;
	size_t step = gen.n / places ? gen.n / places : 1;
	for (size_t n = 0; n < gen.n; n += n < TRACE_HEADER_LEN + 2 ? 1 : step)
		check_damaged(gen.b, n, (int)n);
	/* Random damage: a few bytes overwritten, or a slice cut out. */
	unsigned seed = 12345;
	unsigned char b[sizeof(gen.b)];
	int rounds = few ? 60 : 300;
	for (int k = 0; k < rounds; k++) {
		memcpy(b, gen.b, gen.n);
		size_t n = gen.n;
		int edits = 1 + rand_r(&seed) % 4;
		for (int e = 0; e < edits; e++) {
			size_t at = TRACE_HEADER_LEN + (size_t)rand_r(&seed) % (n - TRACE_HEADER_LEN);
			if (rand_r(&seed) % 4 == 0 && n > at + 8) {
				size_t cut = 1 + (size_t)rand_r(&seed) % 8;
				memmove(b + at, b + at + cut, n - at - cut);
				n -= cut;
			} else {
				b[at] = (unsigned char)rand_r(&seed);
			}
		}
		check_damaged(b, n, k);
	}
	write_file(trace_path, gen.b, gen.n);
}

/* A trace without its head: goroutines first seen running, runnable or
 * in a syscall existed since the start; every command still works and the
 * Go file still parses. */
static void headless_case(void)
{
	struct gen h = {0};
	scenario(&h, false);
	write_file(trace_path, h.b, h.n);
	char *j = trace_view_json(trace_path, out_path);
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"G3\"", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"G2\"", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"G4\"", NULL));
	free(j);
	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK(strstr(s, "Goroutines: 3") != NULL);
	free(s);
	char *d = go_dump();
	if (d != NULL) {
		CHECK(has_line(d, "GoSysExit", "g=3 ", NULL));
		CHECK(has_line(d, "GoStart", "g=2 ", NULL));
		CHECK_EQ(count_lines(d, "GoCreate", NULL), 3);
		free(d);
	}
	write_file(trace_path, gen.b, gen.n);
}

/* Equal timestamps on two threads: G5 is readied by G6 on M1 and started
 * on M0 at the same time, M0's batch first in the file. The seqs order
 * them: the unblock (seq 1) comes before the start (seq 2), so the view
 * shows it rather than dropping it as the unblock of a running goroutine. */
static void ties_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 200, 0, T0);
	ev(&h, EvProcStart, T0, U(0), U(0));
	ev(&h, EvGoStart, T0 + 500, U(0), U(5), U(2));
	ev(&h, EvGoEnd, T0 + 600, U(0), U(5));
	batch(&h, 201, 1, T0);
	ev(&h, EvProcStart, T0, U(1), U(1));
	ev(&h, EvGoStart, T0 + 100, U(1), U(6), U(1));
	ev(&h, EvGoUnblock, T0 + 500, U(1), U(5), U(1), U(6));
	ev(&h, EvGoEnd, T0 + 700, U(1), U(6));
	write_file(trace_path, h.b, h.n);
	char *j = trace_view_json(trace_path, out_path);
	CHECK(has_line(j, "\"ph\":\"X\"", "\"tid\":2,", "\"name\":\"unblock G5\"", "\"by\":6", NULL));
	CHECK(has_line(j, "\"ph\":\"X\"", "\"pid\":1,\"tid\":1,", "\"name\":\"G5\"", NULL));
	free(j);
	write_file(trace_path, gen.b, gen.n);
}

/* The runtime's syscalls: EvGoSysCall, then EvProcStop by the same M
 * (the M gives up owning its P); on the way out EvProcStart by that M
 * when the P was still free, then EvGoSysExit on it. G7's call keeps P0:
 * one run from start to end with a nested syscall, no hand-off, no
 * scheduler latency sample at the return; in Go's format a GoSysCall
 * only, as Go writes a syscall that kept its P. G8's P1 is taken unseen
 * (a stop of the world) and its call returns without a P (EvGoSysExit
 * on P -1): it lost P1 there and is runnable until M2 starts it. */
static void syscall_kept_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 300, 0, T0);
	ev(&h, EvProcStart, T0, U(0), U(0));
	ev(&h, EvGoStart, T0 + 100, U(0), U(7), U(1));
	ev(&h, EvGoSysCall, T0 + 200, U(0), U(7));
	ev(&h, EvProcStop, T0 + 200, U(0), U(0));
	ev(&h, EvProcStart, T0 + 1200, U(0), U(0));
	ev(&h, EvGoSysExit, T0 + 1200, U(0), U(7), U(2));
	ev(&h, EvGoEnd, T0 + 1500, U(0), U(7));
	ev(&h, EvProcStop, T0 + 1600, U(0), U(0));
	batch(&h, 301, 1, T0);
	ev(&h, EvProcStart, T0, U(1), U(1));
	ev(&h, EvGoStart, T0 + 100, U(1), U(8), U(1));
	ev(&h, EvGoSysCall, T0 + 300, U(1), U(8));
	ev(&h, EvProcStop, T0 + 300, U(1), U(1));
	ev(&h, EvGoSysExit, T0 + 2000, NOP, U(8), U(2));
	batch(&h, 302, 2, T0 + 2500);
	ev(&h, EvProcStart, T0 + 2500, U(1), U(2));
	ev(&h, EvGoStart, T0 + 2600, U(1), U(8), U(3));
	ev(&h, EvGoEnd, T0 + 2700, U(1), U(8));
	write_file(trace_path, h.b, h.n);

	char *j = trace_view_json(trace_path, out_path);
	CHECK_EQ(count_lines(j, "\"ph\":\"X\"", "\"pid\":1,", "\"name\":\"G7\"", NULL), 1);
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"G7\"", "\"ts\":0.100,", "\"dur\":1.400", "\"end\":\"end\"", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":1,", "\"name\":\"syscall\"", "\"ts\":0.200,", "\"dur\":1.000", NULL));
	CHECK(!has_line(j, "\"name\":\"G7\"", "syscall blocked", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"G8\"", "syscall blocked", NULL));
	CHECK(has_line(j, "\"pid\":1,\"tid\":2,", "\"name\":\"G8\"", "\"ts\":2.600,", NULL));
	/* M0 holds P0 throughout: one "P0" slice. */
	CHECK_EQ(count_lines(j, "\"ph\":\"X\"", "\"pid\":2,\"tid\":1,", "\"name\":\"P0\"", NULL), 1);
	free(j);

	/* G7: one latency sample, 100 ns (t0 to its start); 1 us in the
	 * call. G8: 100 ns, then 600 ns from its return to its start. */
	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK(has_line(s, "7 ", "G7", "    100ns     100ns     100ns     100ns", "1.0us", NULL));
	CHECK(has_line(s, "8 ", "G8", "    100ns     600ns     600ns     600ns", NULL));
	free(s);

	char *d = go_dump();
	if (d != NULL) {
		CHECK(has_line(d, "GoSysCall", "g=7 ", NULL));
		CHECK(!has_line(d, "GoSysBlock", "g=7 ", NULL));
		CHECK(!has_line(d, "GoSysExit", "g=7 ", NULL));
		CHECK(has_line(d, "GoSysBlock", "g=8 ", NULL));
		CHECK(has_line(d, "GoSysExit", "g=8 ", NULL));
		CHECK_EQ(count_lines(d, "ProcStart", "p=0 ", NULL), 1);
		free(d);
	}
	write_file(trace_path, gen.b, gen.n);
}

/* EvGoWaiting belongs to the snapshot, right after its goroutine's
 * creation. One for G9 after it ran, blocked and was readied (a forged or
 * spliced file) would be a GoWaiting in Go's format that Go's ordering
 * cannot place (it wants the seq of a goroutine never started): the
 * replay ignores it, as it ignores other contradictions. */
static void stray_snapshot_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 400, 0, T0);
	ev(&h, EvProcStart, T0, U(0), U(0));
	ev(&h, EvGoStart, T0 + 100, U(0), U(9), U(1));
	ev(&h, EvGoBlock, T0 + 200, U(0), U(9), U(S_CHANRECV));
	ev(&h, EvGoUnblock, T0 + 300, U(0), U(9), U(2), U(0));
	ev(&h, EvGoWaiting, T0 + 400, U(9), U(3), U(S_CHANRECV));
	ev(&h, EvGoStart, T0 + 500, U(0), U(9), U(3));
	ev(&h, EvGoEnd, T0 + 600, U(0), U(9));
	batch(&h, 0, NOP, T0 + 700);
	str(&h, S_CHANRECV, "chan receive");
	write_file(trace_path, h.b, h.n);

	/* Blocked 100 ns (200 to 300), not also from the stray state on. */
	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK(has_line(s, "9 ", "G9", "chan receive=100ns", NULL));
	free(s);
	char *d = go_dump();
	if (d != NULL) {
		CHECK(!has_line(d, "GoWaiting", NULL));
		CHECK_EQ(count_lines(d, "GoStart", "g=9 ", NULL), 2);
		free(d);
	}
	write_file(trace_path, gen.b, gen.n);
}

/* GOMAXPROCS changed twice during the trace (2, then 4, then 1): the
 * Go file has a Gomaxprocs for the snapshot's value and one for each
 * change, in that order. */
static void resized_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 600, 0, T0);
	ev(&h, EvGomaxprocs, T0, U(2));
	ev(&h, EvProcStart, T0, U(0), U(0));
	ev(&h, EvGoStart, T0 + 100, U(0), U(12), U(1));
	ev(&h, EvGomaxprocs, T0 + 200, U(4));
	ev(&h, EvGomaxprocs, T0 + 300, U(1));
	ev(&h, EvGoEnd, T0 + 400, U(0), U(12));
	ev(&h, EvProcStop, T0 + 500, U(0), U(0));
	batch(&h, 0, NOP, T0 + 600);
	write_file(trace_path, h.b, h.n);

	char *d = go_dump();
	if (d != NULL) {
		CHECK_EQ(count_lines(d, "Gomaxprocs", NULL), 3);
		const char *p2 = strstr(d, "procs=2"), *p4 = strstr(d, "procs=4"),
		           *p1 = strstr(d, "procs=1");
		if (!p2 || !p4 || !p1 || !(p2 < p4 && p4 < p1))
			FAILF("Gomaxprocs 2, 4, 1 not in order:\n%s", d);
		free(d);
	}
	write_file(trace_path, gen.b, gen.n);
}

/* A block for good ("select (no cases)") is Go's GoStop, after which
 * Go's parser takes the goroutine for dead: G10, so blocked in a damaged
 * or forged file and then unblocked and run again, is a GoBlock in the Go
 * file, which Go can order (a GoStop made it "no consistent ordering of
 * events possible"); G11, which never runs again, keeps its GoStop. */
static void stopped_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 500, 0, T0);
	ev(&h, EvProcStart, T0, U(0), U(0));
	ev(&h, EvGoStart, T0 + 100, U(0), U(10), U(1));
	ev(&h, EvGoBlock, T0 + 200, U(0), U(10), U(S_SELECTNONE));
	ev(&h, EvGoStart, T0 + 300, U(0), U(11), U(1));
	ev(&h, EvGoUnblock, T0 + 400, U(0), U(10), U(2), U(11));
	ev(&h, EvGoBlock, T0 + 500, U(0), U(11), U(S_SELECTNONE));
	ev(&h, EvGoStart, T0 + 600, U(0), U(10), U(3));
	ev(&h, EvGoEnd, T0 + 700, U(0), U(10));
	ev(&h, EvProcStop, T0 + 800, U(0), U(0));
	batch(&h, 0, NOP, T0 + 900);
	str(&h, S_SELECTNONE, "select (no cases)");
	write_file(trace_path, h.b, h.n);

	char *d = go_dump();
	if (d != NULL) {
		CHECK(has_line(d, "GoBlock ", "g=10 ", NULL));
		CHECK(!has_line(d, "GoStop", "g=10 ", NULL));
		CHECK(has_line(d, "GoUnblock", "g=10 ", NULL));
		CHECK_EQ(count_lines(d, "GoStart", "g=10 ", NULL), 2);
		CHECK(has_line(d, "GoStop", "g=11 ", NULL));
		free(d);
	}
	write_file(trace_path, gen.b, gen.n);
}

/* Five goroutines of one site wait through a trace of 2^62 ns, as long
 * as the reader takes: each waited 4611686018.426 s, and their site's
 * total, past what an int64 of ns holds, is shown as that most
 * (9223372036.855 s), not wrapped around (4611686018.422 s). */
static void long_waits_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 600, 0, T0);
	for (uint64_t id = 20; id < 25; id++) {
		ev(&h, EvGoCreate, T0, NOP, id, U(0), U(SITE_WAITER));
		ev(&h, EvGoWaiting, T0, id, U(1), U(S_CHANRECV));
	}
	ev(&h, EvGomaxprocs, (U(1) << 62) - 1, U(1));
	batch(&h, 0, NOP, T0);
	str(&h, S_CHANRECV, "chan receive");
	str(&h, S_WAITER, "waiter");
	site(&h, SITE_WAITER, S_WAITER, 0x5000);
	write_file(trace_path, h.b, h.n);

	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK_EQ(count_lines(s, "waiter", "4611686018.426s", "chan receive=4611686018.426s", NULL), 5);
	const char *site = strstr(s, "By creation site:");
	CHECK(site != NULL);
	CHECK(has_line(site, "1 ", "waiter", "     5 ", " 9223372036.855s", NULL));
	free(s);
	write_file(trace_path, gen.b, gen.n);
}

/* G32 waits from the snapshot to the end and G33 is in a syscall as
 * long: never runnable, they have no latency sample, and their latency
 * columns say so ("-"), for them and for their site, rather than a
 * latency of 0 ns they never had. */
static void unsampled_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 800, 0, T0);
	ev(&h, EvGomaxprocs, T0, U(1));
	ev(&h, EvGoCreate, T0, NOP, U(32), U(0), U(SITE_WAITER));
	ev(&h, EvGoWaiting, T0, U(32), U(1), U(S_CHANRECV));
	ev(&h, EvGoCreate, T0, NOP, U(33), U(0), U(SITE_SYSCALLER));
	ev(&h, EvGoInSyscall, T0, U(33), U(1));
	ev(&h, EvGomaxprocs, T0 + 5000, U(1));
	batch(&h, 0, NOP, T0 + 5000);
	str(&h, S_CHANRECV, "chan receive");
	str(&h, S_WAITER, "waiter");
	str(&h, S_SYSCALLER, "syscaller");
	site(&h, SITE_WAITER, S_WAITER, 0x5000);
	site(&h, SITE_SYSCALLER, S_SYSCALLER, 0x3000);
	write_file(trace_path, h.b, h.n);

	char *s = trace_tool_run("stats", trace_path, out_path);
	static const char *const rows[] = {"32 ", "33 "};
	for (int i = 0; i < 2; i++) {
		if (!has_line(s, rows[i], "        -         -         -         -", NULL))
			FAILF("no latency sample, but a latency:\n%s", s);
	}
	CHECK(has_line(s, "32 ", "waiter", "5.0us", "chan receive=5.0us", NULL));
	CHECK(has_line(s, "33 ", "syscaller", "5.0us", NULL));
	const char *site = strstr(s, "By creation site:");
	CHECK(site != NULL);
	CHECK_EQ(count_lines(site, "        -         -         -         -", NULL), 2);
	free(s);
	write_file(trace_path, gen.b, gen.n);
}

/* A generator whose first batch is thread tid's, M0 holding P0 from T0
 * at GOMAXPROCS=1. */
static void gen_one_p(struct gen *h, uint64_t tid)
{
	gen_start(h);
	batch(h, tid, 0, T0);
	ev(h, EvGomaxprocs, T0, U(1));
	ev(h, EvProcStart, T0, U(0), U(0));
}

/* GOMAXPROCS=1: G30 spins on P0 until the trace ends; G31, created just
 * after it started, waits runnable behind it the whole time. Its wait,
 * open at the end, is a latency sample up to the end (as the doc says of
 * every open interval, and as Go counts it in its scheduler wait), not
 * left out: that hid the worst latency of a trace, the starved
 * goroutine's, behind "-". G34, created at the very end, has waited for
 * nothing yet: no sample. */
static void starved_case(void)
{
	struct gen h;
	gen_one_p(&h, 700);
	ev(&h, EvGoCreate, T0, U(0), U(30), U(0), U(SITE_WORKER));
	ev(&h, EvGoStart, T0 + 100, U(0), U(30), U(1));
	ev(&h, EvGoCreate, T0 + 200, U(0), U(31), U(30), U(SITE_WAITER));
	ev(&h, EvGoCreate, T0 + 10200, U(0), U(34), U(30), U(SITE_WAITER));
	ev(&h, EvGomaxprocs, T0 + 10200, U(1));
	batch(&h, 0, NOP, T0 + 10200);
	str(&h, S_WORKER, "spinner");
	str(&h, S_WAITER, "waiter");
	site(&h, SITE_WORKER, S_WORKER, 0x2000);
	site(&h, SITE_WAITER, S_WAITER, 0x5000);
	write_file(trace_path, h.b, h.n);

	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK(has_line(s, "30 ", "spinner", "    100ns     100ns     100ns     100ns", "10.1us", NULL));
	if (!has_line(s, "31 ", "waiter", "   10.0us    10.0us    10.0us    10.0us", NULL))
		FAILF("the starved goroutine's wait is no latency:\n%s", s);
	/* G34, created as the trace ends, waited no time yet: no sample. */
	CHECK(has_line(s, "34 ", "waiter", "        -         -         -         -", NULL));
	free(s);
	write_file(trace_path, gen.b, gen.n);
}

/* Three goroutines of one site: G40 and G41 each wait 1 us on a channel
 * receive, G42 2 us in a sleep. The site's row has its blocked time by
 * reason, the sums of theirs, as each goroutine's row has its own. */
static void site_reasons_case(void)
{
	struct gen h;
	gen_start(&h);
	batch(&h, 900, 0, T0);
	ev(&h, EvGomaxprocs, T0, U(1));
	for (uint64_t id = 40; id < 43; id++) {
		ev(&h, EvGoCreate, T0, NOP, id, U(0), U(SITE_WAITER));
		ev(&h, EvGoWaiting, T0, id, U(1), U(id < 42 ? S_CHANRECV : S_SLEEP));
	}
	ev(&h, EvGoUnblock, T0 + 1000, U(0), U(40), U(2), U(0));
	ev(&h, EvGoUnblock, T0 + 1000, U(0), U(41), U(2), U(0));
	ev(&h, EvGoUnblock, T0 + 2000, U(0), U(42), U(2), U(0));
	ev(&h, EvGomaxprocs, T0 + 2000, U(1));
	batch(&h, 0, NOP, T0 + 2000);
	str(&h, S_CHANRECV, "chan receive");
	str(&h, S_SLEEP, "sleep");
	str(&h, S_WAITER, "waiter");
	site(&h, SITE_WAITER, S_WAITER, 0x5000);
	write_file(trace_path, h.b, h.n);

	char *s = trace_tool_run("stats", trace_path, out_path);
	CHECK_EQ(count_lines(s, "waiter", "chan receive=1.0us", NULL), 2);
	CHECK(has_line(s, "42 ", "waiter", "sleep=2.0us", NULL));
	const char *site = strstr(s, "By creation site:");
	CHECK(site != NULL);
	if (!has_line(site, "1 ", "waiter", "     3 ", "4.0us", "chan receive=2.0us, sleep=2.0us", NULL))
		FAILF("the site's blocked time by reason:\n%s", s);
	free(s);
	write_file(trace_path, gen.b, gen.n);
}

/* G1's name: 63 bytes, then "\xc3\xa9" (U+00E9) across byte 64, then
 * more. view cuts names at 64 bytes in its slices, at the start of that
 * character, and says "..." (a name goes into every slice of its
 * goroutine: long ones of control characters made a small file into
 * hundreds of MB). */
static void long_name_case(void)
{
	char name[200];
	memset(name, 'a', 63);
	memcpy(name + 63, "\xc3\xa9", 2);
	memset(name + 65, 'b', 100);
	name[165] = '\0';
	struct gen h;
	gen_one_p(&h, 700);
	ev(&h, EvGoCreate, T0, U(0), U(1), U(0), U(SITE_WAITER));
	ev(&h, EvGoStart, T0 + 100, U(0), U(1), U(1));
	ev(&h, EvGoEnd, T0 + 1100, U(0), U(1));
	batch(&h, 0, NOP, T0 + 1100);
	str(&h, S_WAITER, name);
	site(&h, SITE_WAITER, S_WAITER, 0x5000);
	write_file(trace_path, h.b, h.n);

	char want[120];
	snprintf(want, sizeof want, "\"name\":\"G1 %.63s...\"", name);
	char *j = trace_view_json(trace_path, out_path);
	if (count_lines(j, want, NULL) != 2 || strstr(j, "aab") != NULL)
		FAILF("G1's slices, want the name cut as %s:\n%.3000s", want, j);
	free(j);
	write_file(trace_path, gen.b, gen.n);
}

/* A varint into b at *n. */
static void putv(unsigned char *b, size_t *n, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		b[(*n)++] = (unsigned char)(0x80 | (v & 0x7f));
	b[(*n)++] = (unsigned char)v;
}

/* stats on a big synthetic file b[0..n) (freed), which must end within
 * the tool's timeout, exit 0, and whose output is returned; what names
 * the file in a failure. */
static char *stats_of_big(unsigned char *b, size_t n, const char *what)
{
	write_file(trace_path, b, n);
	free(b);
	struct child_result res;
	trace_tool_exec("stats", trace_path, out_path, harness_timeout(20), &res);
	if (res.timed_out)
		FAILF("gort-trace stats on %s timed out", what);
	CHECK(res.exited && res.status == 0);
	return slurp(out_path, NULL);
}

/* G1 blocks 1 us at a time on P0: twice with reason "r-first" and
 * "r-second" (string ids 1 and 2), between them 50000 times with a
 * reason id of its own each (no string: "?"), as a damaged or hostile
 * file may have it. stats looked each wait's reason up along a list of
 * those seen: seconds for this 550 KB file in an optimised build, past
 * the tool's timeout under a sanitizer. The two named reasons, found
 * again past the other fifty thousand, add up. */
static void many_reasons_case(void)
{
	enum { N = 50000 };
	size_t cap = TRACE_HEADER_LEN + 256 + (size_t)(N + 4) * 16, n = 0;
	unsigned char *b = malloc(cap);
	CHECK(b != NULL);
	n = put_header(b);
	const unsigned char head[] = {
		EvBatch, 1, 1, 10,                          /* tid 1, M0, ts 10 */
		EvSetP, 1,                                  /* P0 */
		EvGomaxprocs, 1,                            /* 1 */
		EvProcStart, 1, 1,                          /* P0, M0 */
		EvGoCreate, 2, 0,                           /* G1 (+1), no site */
	};
	memcpy(b + n, head, sizeof head);
	n += sizeof head;
	for (uint64_t i = 0; i < N + 4; i++) {
		/* The reasons 1, 2, 1000 ... 1000 + N - 1, 1, 2. */
		uint64_t reason = i < 2 ? i + 1 : i < N + 2 ? 1000 + i - 2 : i - N - 1;
		b[n++] = (unsigned char)(EvGoStart | TRACE_DTC_VARINT << TRACE_DTC_SHIFT);
		putv(b, &n, 1000); /* blocked 1 us since the last block */
		putv(b, &n, 0);    /* G1 again: a GID delta of 0 */
		putv(b, &n, i + 1);
		b[n++] = EvGoBlock; /* dt 0, G1 from the register */
		putv(b, &n, reason);
	}
	b[n++] = (unsigned char)(EvGomaxprocs | TRACE_DTC_VARINT << TRACE_DTC_SHIFT);
	putv(b, &n, 1000); /* the last block lasts 1 us too */
	putv(b, &n, 1);
	const unsigned char strs[] = {EvBatch, 0, 0, 10,
	                              EvString, 1, 7, 'r', '-', 'f', 'i', 'r', 's', 't',
	                              EvString, 2, 8, 'r', '-', 's', 'e', 'c', 'o', 'n', 'd'};
	memcpy(b + n, strs, sizeof strs);
	n += sizeof strs;
	CHECK(n <= cap);
	char *out = stats_of_big(b, n, "a reason for every wait");
	if (!has_line(out, "1 ", "r-first=2.0us, r-second=2.0us, ?=1.0us", NULL))
		FAILF("G1's blocked time by reason:\n%.2000s", out);
	free(out);
	write_file(trace_path, gen.b, gen.n);
}

/* 150000 goroutine ids that all had one slot of the tool's goroutine
 * table when it hashed an id by a fixed multiplier (K, the golden ratio's):
 * j << 41 times K's inverse is j << 41 once multiplied, and the slot was
 * bits 20 and up. Each insertion probed every id before it: about a
 * minute here for this 1.6 MB file. Now well within the tool's timeout. */
static void colliding_ids_case(void)
{
	enum { N = 150000 };
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t inv = k; /* Newton's iteration: k * inv = 1 mod 2^64 */
	for (int i = 0; i < 6; i++)
		inv *= 2 - k * inv;
	CHECK_EQ(k * inv, 1);
	size_t cap = TRACE_HEADER_LEN + 64 + (size_t)N * 12, n = 0;
	unsigned char *b = malloc(cap);
	CHECK(b != NULL);
	n = put_header(b);
	const unsigned char head[] = {EvBatch, 1, 1, 10};
	memcpy(b + n, head, sizeof head);
	n += sizeof head;
	uint64_t last = 0;
	for (uint64_t j = 1; j <= N; j++) {
		uint64_t id = (j << 41) * inv;
		int64_t d = (int64_t)(id - last);
		uint64_t z = ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
		last = id;
		b[n++] = (unsigned char)(EvGoRunnable | 1 << TRACE_DTC_SHIFT);
		for (; z >= 0x80; z >>= 7)
			b[n++] = (unsigned char)(0x80 | (z & 0x7f));
		b[n++] = (unsigned char)z;
	}
	char *out = stats_of_big(b, n, "colliding goroutine ids");
	CHECK(strstr(out, "Goroutines: 150000,") != NULL);
	free(out);
	write_file(trace_path, gen.b, gen.n);
}


/* FNV-1a's low bits depend on the low bits of its state only: from a
 * state, two 4-byte blocks that agree there in the low 18 bits (a
 * birthday search) leave states that agree there too, whatever follows.
 * NB such pairs, one after the other, give 2^NB names of 4 * NB bytes
 * that shared one slot of the site tables (at most 2^18 slots for these
 * names) when they hashed names with plain FNV-1a: each insertion probed
 * all names before it, about 30 s here for this 11 MB file. */
static void colliding_names_case(void)
{
	enum { NB = 17, N = 1 << NB, LEN = 4 * NB, MASK = (1 << 18) - 1 };
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const uint64_t prime = 1099511628211ull;
	uint32_t *seen = calloc(MASK + 1, sizeof *seen);
	CHECK(seen != NULL);
	char pair[NB][2][4];
	uint64_t h = 1469598103934665603ull;
	for (int k = 0; k < NB; k++) {
		memset(seen, 0, (MASK + 1) * sizeof *seen);
		bool found = false;
		for (uint32_t c = 0; c < 62u * 62 * 62 * 62 && !found; c++) {
			char blk[4] = {alpha[c % 62], alpha[c / 62 % 62],
			               alpha[c / 3844 % 62], alpha[c / 238328]};
			uint64_t x = h;
			for (int i = 0; i < 4; i++)
				x = (x ^ (unsigned char)blk[i]) * prime;
			uint32_t *slot = &seen[x & MASK];
			if (*slot != 0) {
				uint32_t o = *slot - 1;
				char other[4] = {alpha[o % 62], alpha[o / 62 % 62],
				                 alpha[o / 3844 % 62], alpha[o / 238328]};
				memcpy(pair[k][0], other, 4);
				memcpy(pair[k][1], blk, 4);
				h = x; /* the low bits go on alike from either */
				found = true;
			} else {
				*slot = c + 1;
			}
		}
		CHECK(found);
	}
	free(seen);

	size_t cap = TRACE_HEADER_LEN + 64 + (size_t)N * (LEN + 40), n = 0;
	unsigned char *b = malloc(cap);
	CHECK(b != NULL);
	n = put_header(b);
	/* Goroutine i + 1 created with site i + 1, named by string i + 1. */
	b[n++] = EvBatch;
	putv(b, &n, 1);
	putv(b, &n, 1);
	putv(b, &n, 10);
	for (uint64_t i = 0; i < N; i++) {
		b[n++] = (unsigned char)(EvGoCreate | 1 << TRACE_DTC_SHIFT);
		putv(b, &n, 2); /* the id's zigzag delta: +1 */
		putv(b, &n, i + 1);
	}
	b[n++] = EvBatch;
	putv(b, &n, 0);
	putv(b, &n, 0);
	putv(b, &n, 0);
	for (uint64_t i = 0; i < N; i++) {
		b[n++] = EvString;
		putv(b, &n, i + 1);
		putv(b, &n, LEN);
		for (int k = 0; k < NB; k++)
			for (int j = 0; j < 4; j++)
				b[n++] = (unsigned char)pair[k][i >> k & 1][j];
		b[n++] = EvSite;
		putv(b, &n, i + 1);
		putv(b, &n, i + 1);
		putv(b, &n, 0x1000 + i);
	}
	char *out = stats_of_big(b, n, "colliding names");
	CHECK(strstr(out, "Goroutines: 131072,") != NULL);
	free(out);
	write_file(trace_path, gen.b, gen.n);
}

int main(void)
{
	if (trace_tool() == NULL) {
		SKIP("trace_tool", "gort-trace not built (GORT_BUILD_TOOLS=OFF)");
		return 0;
	}
	trace_workdir(dir, "t.trace", trace_path, out_path, sizeof trace_path);
	scenario(&gen, true);
	write_file(trace_path, gen.b, gen.n);

	view_case();
	PASS("view");
	stats_case();
	PASS("stats");
	go_case();
	PASS("go");
	bad_input_case();
	PASS("bad_input");
	headless_case();
	PASS("headless");
	ties_case();
	PASS("ties");
	syscall_kept_case();
	PASS("syscall_kept");
	stray_snapshot_case();
	PASS("stray_snapshot");
	stopped_case();
	PASS("stopped");
	resized_case();
	PASS("resized");
	long_waits_case();
	PASS("long_waits");
	unsampled_case();
	PASS("unsampled");
	starved_case();
	PASS("starved");
	site_reasons_case();
	PASS("site_reasons");
	long_name_case();
	PASS("long_name");
	colliding_ids_case();
	PASS("colliding_ids");
	many_reasons_case();
	PASS("many_reasons");
	colliding_names_case();
	PASS("colliding_names");

	char rm[PATH_MAX + 16];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}
