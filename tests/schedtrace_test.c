/*
 * schedtrace_test proves the scheduler report (gort_schedtrace and
 * GODEBUG=schedtrace), field by field against a known situation:
 *  - GOMAXPROCS=4; three goroutines spin on three Ps while main, on the
 *    fourth, starts one goroutine that blocks in a channel receive and
 *    16 that can only queue: main's P then holds 15 in its ring and one
 *    in runnext. The SCHED line has Go's fields in Go's order,
 *    gomaxprocs=4, idleprocs=0, at least 5 threads (4 Ms and sysmon),
 *    runqueue=0 and a bracket list of 4 lengths, one 15, the others 0
 *    (runnext is not counted). The busy goroutines could be preempted
 *    after a 10 ms slice and take from main's queue, so the situation is
 *    built again (a few times at most) if a report caught that.
 *  - With detail: the global counters, then P0..P3 (status=1, Go's
 *    running, and runqsize summing to 15), one line per M, and a G line
 *    "(chan receive)" with status=4 for the blocked goroutine.
 *  - reports with detail while Ms come and go (goroutines that exit
 *    locked end their threads, and newm reuses and clears their M
 *    structs) read each M without a race that TSan reports;
 *  - GODEBUG=schedtrace=50 in a child program (tests/prog/schedtrace.c):
 *    stderr has "SCHED 0ms:" first, then lines with increasing times;
 *    with scheddetail=1 the P lines too; without GODEBUG, no SCHED line;
 *    a key set twice takes its last valid value ("schedtrace=50,
 *    schedtrace=0" prints nothing), and a value that is not a number
 *    ("50ms") is ignored, as Go's GODEBUG parser.
 */
#include "gort_util.h"

struct schedline {
	long long ms, gomaxprocs, idleprocs, threads, spinning, needspinning, idlethreads, runqueue;
	int nlen;
	long long len[16];
	bool detail;
	long long gcwaiting, nmidlelocked, stopwait, sysmonwait;
};

static bool expect(const char **p, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool number(const char **p, long long *v)
{
	char *end;
	*v = strtoll(*p, &end, 10);
	if (end == *p)
		return false;
	*p = end;
	return true;
}

/* Parse one SCHED line (up to its newline); false with *why on a field
 * that is missing or out of order. */
static bool parse_sched(const char *p, struct schedline *s, const char **why)
{
	static const char *const keys[] = {"ms: gomaxprocs=", " idleprocs=", " threads=",
	                                   " spinningthreads=", " needspinning=",
	                                   " idlethreads=", " runqueue="};
	long long *vals[] = {&s->gomaxprocs, &s->idleprocs, &s->threads, &s->spinning,
	                     &s->needspinning, &s->idlethreads, &s->runqueue};
	memset(s, 0, sizeof *s);
	*why = "SCHED ";
	if (!expect(&p, "SCHED ") || !number(&p, &s->ms))
		return false;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		*why = keys[i];
		if (!expect(&p, keys[i]) || !number(&p, vals[i]))
			return false;
	}
	if (expect(&p, " gcwaiting=")) {
		s->detail = true;
		*why = "detail counters";
		return number(&p, &s->gcwaiting) && expect(&p, " nmidlelocked=") &&
		       number(&p, &s->nmidlelocked) && expect(&p, " stopwait=") &&
		       number(&p, &s->stopwait) && expect(&p, " sysmonwait=") &&
		       number(&p, &s->sysmonwait) && *p == '\n';
	}
	*why = "[";
	if (!expect(&p, " ["))
		return false;
	for (;;) {
		if (s->nlen == 16 || !number(&p, &s->len[s->nlen++]))
			return false;
		if (expect(&p, "]"))
			break;
		*why = "a space between lengths";
		if (!expect(&p, " "))
			return false;
	}
	*why = "end of line";
	return *p == '\n';
}

static char *capture(bool detail)
{
	/* open_memstream's buffer and size live on the heap: they are
	 * written at fclose, after this frame would matter to the compiler. */
	struct { char *buf; size_t len; } *m = calloc(1, sizeof *m);
	CHECK(m != NULL);
	FILE *f = open_memstream(&m->buf, &m->len);
	CHECK(f != NULL);
	gort_schedtrace(f, detail);
	fclose(f);
	char *buf = m->buf;
	free(m);
	return buf;
}

static void fail_report(const char *report, const char *what)
{
	fprintf(stderr, "--- report ---\n%s--- end ---\n", report);
	FAILF("schedtrace: %s", what);
}

static atomic_int running;
static atomic_bool stop;
static gort_chan *ch;

static void busy(void *arg)
{
	(void)arg;
	atomic_fetch_add(&running, 1);
	while (!atomic_load(&stop))
		__asm__ volatile("" ::: "memory");
}

static void queued(void *arg)
{
	(void)arg;
}

static void receiver(void *arg)
{
	(void)arg;
	int v;
	gort_chan_recv(ch, &v);
}

/* The lengths: one 15 (main's P), the others 0. */
static bool queues_as_built(const struct schedline *s)
{
	int fifteen = 0;
	long long sum = 0;
	for (int i = 0; i < s->nlen; i++) {
		sum += s->len[i];
		fifteen += s->len[i] == 15;
	}
	return s->nlen == 4 && fifteen == 1 && sum == 15;
}

/* The detail report shows the queues as built too: every P running, 15
 * Gs in their rings, runnable G lines. */
static bool detail_as_built(const char *rep)
{
	long long runq = 0;
	for (int i = 0; i < 4; i++) {
		char key[32];
		snprintf(key, sizeof key, "\n  P%d: status=1 ", i);
		const char *p = strstr(rep, key);
		long long rq;
		if (!p || !(p = strstr(p, " runqsize=")))
			return false;
		p += strlen(" runqsize=");
		if (!number(&p, &rq))
			return false;
		runq += rq;
	}
	return runq == 15 && strstr(rep, ": status=1(") != NULL;
}

static void wait_goroutines(int64_t n)
{
	int64_t deadline = gort_nanotime() + 10LL * 1000 * 1000 * 1000;
	while (gort_numgoroutine() > n) {
		CHECK(gort_nanotime() < deadline);
		gort_sleep(1000000);
	}
}

static void check_detail(const char *rep)
{
	struct schedline s;
	const char *why;
	if (!parse_sched(rep, &s, &why) || !s.detail)
		fail_report(rep, why);
	CHECK_EQ(s.gcwaiting, 0);
	CHECK_EQ(s.stopwait, 0);
	long long runq = 0;
	for (int i = 0; i < 4; i++) {
		char key[16];
		snprintf(key, sizeof key, "\n  P%d: ", i);
		const char *p = strstr(rep, key);
		if (!p)
			fail_report(rep, key + 1);
		p += strlen(key);
		long long status = -1, tick, stick, mid = -1, rq = 0, gfree, timers;
		if (!(expect(&p, "status=") && number(&p, &status) && expect(&p, " schedtick=") &&
		      number(&p, &tick) && expect(&p, " syscalltick=") && number(&p, &stick) &&
		      expect(&p, " m=") && number(&p, &mid) && expect(&p, " runqsize=") &&
		      number(&p, &rq) && expect(&p, " gfreecnt=") && number(&p, &gfree) &&
		      expect(&p, " timerslen=") && number(&p, &timers) && *p == '\n'))
			fail_report(rep, "P line fields");
		if (status != 1 || mid < 0)
			fail_report(rep, "every P running, with an M");
		runq += rq;
	}
	CHECK_EQ(runq, 15);
	CHECK(strstr(rep, "\n  P4: ") == NULL);
	int ms = 0;
	for (const char *p = strstr(rep, "\n  M"); p; p = strstr(p + 1, "\n  M")) {
		ms++;
		const char *q = p + 4;
		long long id, pid, curg, lockedg = -1;
		if (!(number(&q, &id) && expect(&q, ": p=") && number(&q, &pid) &&
		      expect(&q, " curg=") && number(&q, &curg) &&
		      expect(&q, " mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=") &&
		      (expect(&q, "true") || expect(&q, "false")) && expect(&q, " blocked=") &&
		      (expect(&q, "true") || expect(&q, "false")) && expect(&q, " lockedg=") &&
		      number(&q, &lockedg) && *q == '\n'))
			fail_report(rep, "M line fields");
	}
	if (ms < 4)
		fail_report(rep, "an M line per running M");
	/* the receiver: waiting (4) on a channel, no M */
	const char *g = strstr(rep, "(chan receive) m=-1 lockedm=-1\n");
	if (!g)
		fail_report(rep, "a G line (chan receive)");
	const char *line = g;
	while (line > rep && line[-1] != '\n')
		line--;
	if (strncmp(line, "  G", 3) != 0 || !strstr(line, ": status=4("))
		fail_report(rep, "G line: status=4(chan receive)");
	if (!strstr(rep, ": status=2(") || !strstr(rep, ": status=1("))
		fail_report(rep, "running (2) and runnable (1) G lines");
}

static int report_main(void *arg)
{
	(void)arg;
	ch = make_chan(sizeof(int), 0);
	gort_go(receiver, NULL);
	settle();
	for (int attempt = 0;; attempt++) {
		atomic_store(&running, 0);
		atomic_store(&stop, false);
		for (int i = 0; i < 3; i++)
			gort_go(busy, NULL);
		int64_t deadline = gort_nanotime() + 10LL * 1000 * 1000 * 1000;
		while (atomic_load(&running) < 3) {
			CHECK(gort_nanotime() < deadline);
			gort_gosched();
		}
		/* Until both reports are taken main must keep its P: preempted
		 * (gort_schedtrace is no bracketed runtime call, so even in the
		 * middle of a report) it would let its P run the 16 queued Gs. */
		gort_preempt_off();
		for (int i = 0; i < 16; i++)
			gort_go(queued, NULL);
		char *plain = capture(false);
		char *detail = capture(true);
		gort_preempt_on();
		atomic_store(&stop, true);

		struct schedline s;
		const char *why;
		if (!parse_sched(plain, &s, &why) || s.detail)
			fail_report(plain, why);
		if (strchr(plain, '\n')[1] != 0)
			fail_report(plain, "one line");
		if (!queues_as_built(&s) || s.idleprocs != 0 || s.runqueue != 0 ||
		    !detail_as_built(detail)) {
			/* a busy goroutine's slice ended (it went to the global
			 * queue) and its P took work, or the busy ones were not
			 * all on their own Ps yet, or main's P was handed off
			 * after a second slice between or during the reports */
			fprintf(stderr, "schedtrace: attempt %d disturbed: %s", attempt, plain);
			free(plain);
			free(detail);
			wait_goroutines(2); /* main and the receiver */
			if (attempt == 4)
				FAILF("schedtrace: the queues never held still");
			continue;
		}
		CHECK_EQ(s.gomaxprocs, 4);
		CHECK_EQ(s.needspinning, 0);
		CHECK(s.threads >= 5);
		CHECK(s.spinning >= 0 && s.spinning <= 4);
		CHECK(s.idlethreads >= 0 && s.idlethreads < s.threads);
		check_detail(detail);
		free(plain);
		free(detail);
		break;
	}
	int v = 1;
	gort_chan_send(ch, &v);
	return 0;
}

static void case_report(void)
{
	run_main(report_main, NULL, 4);
}

/*
 * Reports while Ms come and go: goroutines that exit locked to their
 * thread end it, and newm reuses their M structs (clearing them) while
 * a goroutine reports with detail, which reads every M as it is.
 */
static atomic_bool churn_stop;

static void locked_exit(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	gort_wg_done(&helpers_wg);
}

static void churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		CHECK_EQ(gort_wg_add(&helpers_wg, 1), 0);
		CHECK(gort_go(locked_exit, NULL) > 0);
		gort_sleep(100 * US);
	}
	gort_wg_done(&helpers_wg);
}

static int churn_main(void *arg)
{
	(void)arg;
	FILE *f = fopen("/dev/null", "w");
	CHECK(f != NULL);
	start_helper(churner, NULL);
	start_helper(churner, NULL);
	for (int64_t t0 = harness_now(); harness_now() - t0 < 1000 * MS;) {
		gort_schedtrace(f, true);
		gort_gosched();
	}
	atomic_store(&churn_stop, true);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	fclose(f);
	return 0;
}

static void case_m_churn(void)
{
	run_main(churn_main, NULL, 2);
}

static void run_prog(const char *godebug, struct child_result *res)
{
	if (godebug)
		CHECK_EQ(setenv("GODEBUG", godebug, 1), 0);
	else
		unsetenv("GODEBUG");
	char *argv[] = {NULL, NULL};
	run_child_prog("schedtrace", argv, harness_timeout(20), res);
	unsetenv("GODEBUG");
	if (!res->exited || res->status != 0) {
		harness_describe("schedtrace", res);
		FAILF("schedtrace program: want exit status 0");
	}
}

static void case_godebug(void)
{
	struct child_result res;
	run_prog("schedtrace=50", &res);
	const char *p = res.output;
	if (strncmp(p, "SCHED 0ms: gomaxprocs=", 22) != 0) {
		harness_describe("schedtrace", &res);
		FAILF("the first line is \"SCHED 0ms: gomaxprocs=...\"");
	}
	int lines = 0;
	long long last = -1;
	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "SCHED ", 6) != 0)
			continue;
		struct schedline s;
		const char *why;
		if (!parse_sched(p, &s, &why)) {
			harness_describe("schedtrace", &res);
			FAILF("schedtrace line: %s", why);
		}
		CHECK(s.ms > last);
		CHECK(s.nlen == s.gomaxprocs);
		last = s.ms;
		lines++;
	}
	/* 400 ms at one report per 50 ms: about 8 */
	if (lines < 3) {
		harness_describe("schedtrace", &res);
		FAILF("want several SCHED lines, got %d", lines);
	}

	run_prog("asyncpreemptoff=0,schedtrace=50,scheddetail=1", &res);
	if (!strstr(res.output, "SCHED 0ms: ") || !strstr(res.output, " gcwaiting=") ||
	    !strstr(res.output, "\n  P0: status=") || !strstr(res.output, "\n  M0: p=")) {
		harness_describe("schedtrace detail", &res);
		FAILF("scheddetail=1: want the detail lines");
	}

	run_prog(NULL, &res);
	CHECK(strstr(res.output, "SCHED ") == NULL);

	/* As Go's parsedebugvars: the last valid setting of a key wins, and
	 * a value that is not a decimal int32 is ignored. */
	static const struct {
		const char *godebug;
		bool lines;
	} settings[] = {
		{"schedtrace=50,schedtrace=0", false},
		{"schedtrace=0,schedtrace=50", true},
		{"schedtrace=50,schedtrace=5x", true},
		{"schedtrace=50ms", false},
	};
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
		run_prog(settings[i].godebug, &res);
		if ((strstr(res.output, "SCHED 0ms: ") != NULL) != settings[i].lines) {
			harness_describe("schedtrace", &res);
			FAILF("GODEBUG=%s: want %s", settings[i].godebug,
			      settings[i].lines ? "SCHED lines" : "no SCHED line");
		}
	}
}

int main(void)
{
	run_case("report", case_report, 30);
	run_case("m_churn", case_m_churn, 30);
	run_case("godebug", case_godebug, 60);
	return 0;
}
