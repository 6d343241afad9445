/*
 * lab_test runs the scheduling lab (examples/lab, "Schedule Forensics")
 * as a user would and checks what it produces:
 *
 *  - quick: `lab -quick` (100 goroutines x 2 ms; 40 under
 *    ThreadSanitizer) exits 0 and prints one
 *    table row per configuration, GOMAXPROCS 1, 2 and gort_numcpu()
 *    (duplicates skipped) times the four modes, each with
 *    0 < p50 <= p90 <= p99 <= max <= wall; the CPU modes' last
 *    goroutine cannot finish before the work itself (half of n*work/P,
 *    a margin for clock noise), no sleeper before its 2 ms; the SVG is
 *    well-formed XML (a small checker below: nesting, matching end tags,
 *    quoted attributes, entities), its root is <svg>, and it has one
 *    <polyline> per configuration in each of its two panels; the trace
 *    line says where the trace went, and the file is not empty. A
 *    second run's plot draws 1,000 goroutines that finish together
 *    with a few points, not one each.
 *    And the lab's point at GOMAXPROCS=1: without preemption a goroutine
 *    runs to its end once started, so completions spread evenly over
 *    0..n*work and p50 is about half of max; with gort_gosched() every
 *    100 µs the goroutines take turns through the global queue and all
 *    finish in the last round, p50 close to max. The check compares the
 *    two p50/max ratios (about 0.5 and 0.95): a ratio is insensitive to
 *    how fast this machine runs, and a stall of the thread (a loaded CI
 *    machine, a sanitizer) stretches both ends of one run; it would take
 *    a stall as long as the whole run, at the wrong moment, to close a
 *    gap of 0.2. The sleepers wait together: the last one finishes
 *    far sooner than the last CPU-bound goroutine (n*work = 200 ms, what
 *    sleeps taken one after another would also add up to); a loaded
 *    machine delays each wake-up by milliseconds, not by 100 ms (not
 *    checked under ThreadSanitizer, see there).
 *  - preemption: 6 goroutines x 50 ms at GOMAXPROCS=1, preempt and
 *    nopreempt. Without preemption they finish at 50, 100, ... 300 ms
 *    (p50/max = 0.5); with it sysmon stops each one after a 10-20 ms
 *    slice and they take turns, so they finish near the end. Skipped in
 *    sanitizer builds (no signal preemption there) and under an emulator.
 *  - reading: the closing notes read only the modes that ran, and state
 *    a mode's shape only where its rows show it: at GOMAXPROCS = twice
 *    the CPU count, nopreempt cannot finish by n*work/P, and the notes
 *    must say it was slower; two sleepers that finish together at about
 *    one sleep waited together, and the notes must say that.
 *  - usage: bad options get a line naming the option and its value (or
 *    saying it needs one), then the usage message, and exit status 2;
 *    -h, -help and --help get the usage and exit status 0.
 *  - outputs: an SVG or trace path that cannot be created fails the run
 *    at once, before any configuration, with exit status 1.
 *
 * The lab prints its table on stdout; it runs under `sh -c 'exec "$@"
 * >&2'` so that the harness, which captures stderr, sees it.
 */
#include "gort_util.h"

#include <ctype.h>
#include <sys/stat.h>

#ifdef HARNESS_TSAN
#define HARNESS_IS_TSAN 1
#else
#define HARNESS_IS_TSAN 0
#endif

#define LAB_MODES 4
static const char *const modes[LAB_MODES] = {"preempt", "nopreempt", "gosched", "sleep"};

struct row {
	int procs;
	char mode[16];
	double p50, p90, p99, max, wall;
};

static struct child_result res;
static char dir[256]; /* scratch directory for the SVG and the trace */

/* run_lab runs the lab with the NULL-ended args and waits at most
 * timeout_s (scaled) seconds; its stdout and stderr land in res. */
static void run_lab(const char *const args[], double timeout_s)
{
#ifndef GORT_TEST_LAB
	(void)args;
	(void)timeout_s;
	FAILF("GORT_TEST_LAB not defined");
#else
	char emu[512];
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)"sh";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"exec \"$@\" >&2";
	argv[n++] = (char *)"sh";
	/* A cross build's programs run under GORT_TEST_EMULATOR. */
	const char *e = getenv("GORT_TEST_EMULATOR");
	if (e && *e) {
		snprintf(emu, sizeof(emu), "%s", e);
		for (char *w = strtok(emu, " "); w && n < 24; w = strtok(NULL, " "))
			argv[n++] = w;
	}
	argv[n++] = (char *)GORT_TEST_LAB;
	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	harness_result_init(&res);
	harness_spawn(argv, harness_timeout(timeout_s), &res);
#endif
}

static void must_succeed(const char *what)
{
	if (res.timed_out || !res.exited || res.status != 0) {
		harness_describe(what, &res);
		FAILF("%s: want exit status 0", what);
	}
}

/* parse_rows finds the table rows in the output: "procs mode p50 p90 p99
 * max wall", mode one of the four. Returns how many (at most max). */
static int parse_rows(struct row *rows, int max)
{
	int n = 0;
	char *save = NULL;
	static char copy[HARNESS_OUTPUT_MAX];
	memcpy(copy, res.output, res.len + 1);
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct row r;
		if (sscanf(line, "%d %15s %lf %lf %lf %lf %lf", &r.procs, r.mode,
		           &r.p50, &r.p90, &r.p99, &r.max, &r.wall) != 7)
			continue;
		bool known = false;
		for (int m = 0; m < LAB_MODES; m++)
			known |= strcmp(r.mode, modes[m]) == 0;
		if (!known)
			continue;
		if (n == max)
			FAILF("more than %d table rows", max);
		rows[n++] = r;
	}
	return n;
}

static const struct row *find_row(const struct row *rows, int n, int procs,
                                  const char *mode)
{
	for (int i = 0; i < n; i++)
		if (rows[i].procs == procs && strcmp(rows[i].mode, mode) == 0)
			return &rows[i];
	harness_describe("lab", &res);
	FAILF("no table row for GOMAXPROCS=%d %s", procs, mode);
}

/* ---- a small XML well-formedness check ---- */

struct xml {
	const char *p;
	const char *err;
	const char *count; /* element name to count */
	int counted;
	char root[32];
};

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool name_char(char c)
{
	return name_start(c) || isdigit((unsigned char)c) || c == '-' || c == '.';
}

/* xml_name reads a name into buf (truncated to size). */
static bool xml_name(struct xml *x, char *buf, size_t size)
{
	if (!name_start(*x->p))
		return false;
	size_t n = 0;
	while (name_char(*x->p)) {
		if (n + 1 < size)
			buf[n++] = *x->p;
		x->p++;
	}
	buf[n] = '\0';
	return true;
}

static void skip_space(struct xml *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
		x->p++;
}

/* xml_entity checks the reference at x->p ('&'): a predefined entity or
 * a character reference. */
static bool xml_entity(struct xml *x)
{
	static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
		if (strncmp(x->p, ents[i], strlen(ents[i])) == 0) {
			x->p += strlen(ents[i]);
			return true;
		}
	const char *q = x->p + 1;
	if (*q++ != '#')
		return false;
	bool hex = *q == 'x';
	q += hex;
	const char *d = q;
	while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))
		q++;
	if (q == d || *q != ';')
		return false;
	x->p = q + 1;
	return true;
}

/* skip_past moves past the first occurrence of end. */
static bool skip_past(struct xml *x, const char *end)
{
	const char *q = strstr(x->p, end);
	if (!q)
		return false;
	x->p = q + strlen(end);
	return true;
}

/* xml_tag reads a start tag (x->p past '<'); *empty for "/>". */
static bool xml_tag(struct xml *x, char *name, size_t size, bool *empty)
{
	if (!xml_name(x, name, size))
		return false;
	for (;;) {
		bool space = *x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r';
		skip_space(x);
		if (x->p[0] == '/' && x->p[1] == '>') {
			x->p += 2;
			*empty = true;
			return true;
		}
		if (*x->p == '>') {
			x->p++;
			*empty = false;
			return true;
		}
		char attr[64];
		if (!space || !xml_name(x, attr, sizeof(attr)))
			return false;
		skip_space(x);
		if (*x->p++ != '=')
			return false;
		skip_space(x);
		char quote = *x->p++;
		if (quote != '"' && quote != '\'')
			return false;
		while (*x->p != quote) {
			if (*x->p == '\0' || *x->p == '<')
				return false;
			if (*x->p != '&')
				x->p++;
			else if (!xml_entity(x))
				return false;
		}
		x->p++;
	}
}

/* xml_wellformed: prolog (declaration, comments, processing
 * instructions, a doctype without internal subset), exactly one root
 * element with everything nested and closed, then only comments, PIs and
 * white space. Sets x->err on failure. */
static bool xml_wellformed(struct xml *x)
{
	char stack[64][32];
	int depth = 0;
	bool root_done = false, root_seen = false;
	while (*x->p) {
		if (*x->p != '<') {
			if (*x->p == '&') {
				if (!xml_entity(x))
					return x->err = "bad entity reference", false;
				if (depth == 0)
					return x->err = "text outside the root", false;
				continue;
			}
			if (depth == 0 && !isspace((unsigned char)*x->p))
				return x->err = "text outside the root", false;
			x->p++;
			continue;
		}
		if (strncmp(x->p, "<?", 2) == 0) {
			if (!skip_past(x, "?>"))
				return x->err = "unterminated <?", false;
		} else if (strncmp(x->p, "<!--", 4) == 0) {
			if (!skip_past(x, "-->"))
				return x->err = "unterminated comment", false;
		} else if (strncmp(x->p, "<![CDATA[", 9) == 0) {
			if (depth == 0 || !skip_past(x, "]]>"))
				return x->err = "bad CDATA section", false;
		} else if (strncmp(x->p, "<!DOCTYPE", 9) == 0) {
			if (root_seen || !skip_past(x, ">"))
				return x->err = "bad doctype", false;
		} else if (x->p[1] == '/') {
			char name[32];
			x->p += 2;
			if (!xml_name(x, name, sizeof(name)))
				return x->err = "bad end tag", false;
			skip_space(x);
			if (*x->p++ != '>')
				return x->err = "bad end tag", false;
			if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
				return x->err = "end tag does not match", false;
			if (--depth == 0)
				root_done = true;
		} else {
			char name[32];
			bool empty;
			x->p++;
			if (root_done)
				return x->err = "a second root element", false;
			if (!xml_tag(x, name, sizeof(name), &empty))
				return x->err = "bad start tag", false;
			if (!root_seen)
				snprintf(x->root, sizeof(x->root), "%s", name);
			root_seen = true;
			if (strcmp(name, x->count) == 0)
				x->counted++;
			if (empty) {
				if (depth == 0)
					root_done = true;
			} else {
				if (depth == 64)
					return x->err = "nested too deep", false;
				snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
			}
		}
	}
	if (!root_done)
		return x->err = root_seen ? "unclosed elements" : "no root element", false;
	return true;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		FAILF("open %s: %s", path, strerror(errno));
	static char buf[4 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n == sizeof(buf) - 1)
		FAILF("%s: larger than 4 MiB", path);
	buf[n] = '\0';
	return buf;
}

/* The checker must reject what it is meant to catch. */
static void xml_checker_self_test(void)
{
	static const char *const bad[] = {
		"<a><b></a></b>", "<a>", "<a x=1/>", "<a x=\"<\"/>", "<a>&nbsp;</a>",
		"<a/><b/>", "text<a/>", "<a></b>", "<a x=\"1\"y=\"2\"/>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xml x = {.p = bad[i], .count = "polyline"};
		if (xml_wellformed(&x))
			FAILF("the XML check accepted %s", bad[i]);
	}
	struct xml ok = {.p = "<?xml version=\"1.0\"?>\n<!-- c --><a x='1' y=\"&amp;&#38;&#x26;\">"
	                      "t &lt; <polyline/><b>&gt;</b></a>\n",
	                 .count = "polyline"};
	if (!xml_wellformed(&ok) || ok.counted != 1 || strcmp(ok.root, "a") != 0)
		FAILF("the XML check rejected a good document: %s", ok.err ? ok.err : "");
}

/* ---- cases ---- */

static void check_svg(const char *path, int want_lines)
{
	struct xml x = {.p = read_file(path), .count = "polyline"};
	if (!xml_wellformed(&x))
		FAILF("%s is not well-formed XML: %s near \"%.40s\"", path, x.err, x.p);
	if (strcmp(x.root, "svg") != 0)
		FAILF("%s: root element <%s>, want <svg>", path, x.root);
	if (!strstr(read_file(path), "xmlns=\"http://www.w3.org/2000/svg\""))
		FAILF("%s: no SVG namespace", path);
	/* Two panels (linear and log time), one line per configuration in
	 * each. */
	if (x.counted != 2 * want_lines)
		FAILF("%s: %d polylines, want one per configuration (%d) in each "
		      "of the two panels", path, x.counted, want_lines);
}

static void check_trace(const char *trace_path)
{
	if (!strstr(res.output, "trace: "))
		FAILF("no trace line in the output");
	struct stat st;
	if (stat(trace_path, &st) != 0 || st.st_size == 0)
		FAILF("trace %s: missing or empty", trace_path);
}

static void test_quick(void)
{
	char svg[300], trace[300];
	snprintf(svg, sizeof(svg), "%s/lab.svg", dir);
	snprintf(trace, sizeof(trace), "%s/lab.trace", dir);
	/* ThreadSanitizer's goroutine creation is slow (see below): fewer. */
	const char *n_tsan = HARNESS_IS_TSAN ? "40" : "100";
	const char *args[] = {"-quick", "-n", n_tsan, "-svg", svg, "-trace", trace, NULL};
	run_lab(args, 60);
	must_succeed("lab -quick");

	int procs[3] = {1, 2, gort_numcpu()}, np = 0;
	for (int i = 0; i < 3; i++) {
		bool dup = false;
		for (int k = 0; k < np; k++)
			dup |= procs[k] == procs[i];
		if (!dup)
			procs[np++] = procs[i];
	}
	struct row rows[32];
	int n = parse_rows(rows, 32);
	CHECK_EQ(n, np * LAB_MODES);
	const double work = 2, goroutines = atof(n_tsan); /* -quick */
	for (int i = 0; i < np; i++)
		for (int m = 0; m < LAB_MODES; m++) {
			const struct row *r = find_row(rows, n, procs[i], modes[m]);
			if (!(r->p50 > 0 && r->p50 <= r->p90 && r->p90 <= r->p99 &&
			      r->p99 <= r->max && r->max <= r->wall))
				FAILF("GOMAXPROCS=%d %s: want 0 < p50 <= p90 <= p99 <= "
				      "max <= wall, got %.1f %.1f %.1f %.1f %.1f",
				      r->procs, r->mode, r->p50, r->p90, r->p99, r->max, r->wall);
			double least = strcmp(r->mode, "sleep") == 0
			               ? work
			               : 0.5 * goroutines * work / procs[i];
			if (r->max < least)
				FAILF("GOMAXPROCS=%d %s: max %.1f ms, below the %.1f ms the "
				      "work takes", r->procs, r->mode, r->max, least);
			if (strcmp(r->mode, "sleep") == 0 && r->p50 < work)
				FAILF("GOMAXPROCS=%d sleep: p50 %.1f ms < the %.0f ms sleep",
				      r->procs, r->p50, work);
		}
	check_svg(svg, np * LAB_MODES);
	check_trace(trace);

	if (harness_emulated()) {
		printf("quick: timings not checked under an emulator\n");
		return;
	}
	const struct row *nop = find_row(rows, n, 1, "nopreempt");
	const struct row *gs = find_row(rows, n, 1, "gosched");
	const struct row *sl = find_row(rows, n, 1, "sleep");
	double r_nop = nop->p50 / nop->max, r_gs = gs->p50 / gs->max;
	printf("GOMAXPROCS=1: p50/max nopreempt %.2f, gosched %.2f; sleep max "
	       "%.1f ms\n", r_nop, r_gs, sl->max);
	if (!(r_gs >= r_nop + 0.2))
		FAILF("GOMAXPROCS=1: gosched p50/max %.2f is not well above "
		      "nopreempt's %.2f: the goroutines did not take turns", r_gs, r_nop);
	/* Under ThreadSanitizer creating a goroutine costs milliseconds of
	 * CPU (about 5 ms measured), and at GOMAXPROCS=1 a sleeper starts
	 * only once main has spawned them all: the spawning, not the sleep,
	 * sets the sleepers' times there. */
	if (!HARNESS_IS_TSAN && !(sl->max < nop->max / 2))
		FAILF("GOMAXPROCS=1: sleep max %.1f ms, not far below nopreempt's "
		      "%.1f ms: the sleepers did not wait together", sl->max, nop->max);
	unlink(svg);
	unlink(trace);
}

/* Returns false when skipped. The shape wants a machine whose load is
 * about even over the run: in nopreempt, a goroutine kept from its CPU
 * early on pushes the later ones' ends toward the last one (p50/max 0.75
 * seen with five test programs at once on two CPUs, about 0.6 unloaded),
 * so a run whose modes are not well apart is run once more before the
 * verdict. */
static bool test_preemption(void)
{
	if (HARNESS_SANITIZED || harness_emulated())
		return false;
	char svg[300];
	snprintf(svg, sizeof(svg), "%s/preempt.svg", dir);
	const char *args[] = {"-n", "6", "-work-ms", "50", "-procs", "1", "-modes",
	                      "preempt,nopreempt", "-svg", svg, "-trace", "", NULL};
	for (int attempt = 1;; attempt++) {
		run_lab(args, 60);
		must_succeed("lab -n 6 -work-ms 50");
		struct row rows[4];
		int n = parse_rows(rows, 4);
		CHECK_EQ(n, 2);
		const struct row *pre = find_row(rows, n, 1, "preempt");
		const struct row *nop = find_row(rows, n, 1, "nopreempt");
		double r_pre = pre->p50 / pre->max, r_nop = nop->p50 / nop->max;
		printf("GOMAXPROCS=1, 6 x 50 ms: p50/max preempt %.2f, nopreempt %.2f\n",
		       r_pre, r_nop);
		if (r_pre >= r_nop + 0.2)
			break;
		if (attempt == 2)
			FAILF("preempt p50/max %.2f is not well above nopreempt's %.2f: "
			      "sysmon did not make the goroutines take turns", r_pre, r_nop);
	}
	unlink(svg);
	return true;
}

/* The closing notes state a mode's shape only where its rows show it,
 * and speak of no mode that did not run. At twice as many Ps as CPUs,
 * running each goroutine to its end cannot finish by n*work/P: the CPUs
 * do at most half that work in that time, whatever the machine's speed
 * or load, so the even spread up to n*work/P must not be claimed. */
static void test_reading(void)
{
	int procs = 2 * gort_numcpu();
	if (procs > GORT_MAX_PROCS)
		procs = GORT_MAX_PROCS;
	char p[16], n[16], svg[300];
	snprintf(p, sizeof(p), "%d", procs);
	snprintf(n, sizeof(n), "%d", procs < 10 ? 40 : 4 * procs);
	snprintf(svg, sizeof(svg), "%s/reading.svg", dir);
	const char *args[] = {"-n", n, "-work-ms", "1", "-procs", p, "-modes",
	                      "nopreempt", "-svg", svg, "-trace", "", NULL};
	run_lab(args, 60);
	must_succeed("lab -modes nopreempt");
	static const char *const others[] = {"\npreempt:", "\ngosched:", "\nsleep:"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (strstr(res.output, others[i])) {
			harness_describe("lab", &res);
			FAILF("the notes read %s, a mode that did not run", others[i] + 1);
		}
	char line[64];
	snprintf(line, sizeof(line), "\n  GOMAXPROCS=%d: p50/max ", procs);
	const char *l = strstr(res.output, line);
	if (!l) {
		harness_describe("lab", &res);
		FAILF("the notes give no reading of GOMAXPROCS=%d nopreempt", procs);
	}
	const char *end = strchr(l + 1, '\n');
	int len = end ? (int)(end - l - 1) : (int)strlen(l + 1);
	if (!memmem(l, (size_t)len + 1, "slower than", 11)) {
		harness_describe("lab", &res);
		FAILF("GOMAXPROCS=%d on %d CPUs: the notes read \"%.*s\", want "
		      "\"slower than\" the even spread up to n*work/P", procs,
		      gort_numcpu(), len, l + 1);
	}
	unlink(svg);
}

/* Two sleepers of 100 ms that finish together, near 100 ms, waited
 * together: the notes must not call them "not far below sleeps one after
 * another" (200 ms). Whether sleeps overlapped is read against the
 * middle between one sleep and n of them, which a start-up delay of
 * tens of milliseconds (a sanitizer's spawn) does not reach. */
static void test_reading_sleep(void)
{
	char svg[300];
	snprintf(svg, sizeof(svg), "%s/sleep.svg", dir);
	const char *args[] = {"-n", "2", "-work-ms", "100", "-procs", "1", "-modes",
	                      "sleep", "-svg", svg, "-trace", "", NULL};
	run_lab(args, 20);
	must_succeed("lab -n 2 -modes sleep");
	struct row rows[2];
	CHECK_EQ(parse_rows(rows, 2), 1);
	if (rows[0].max < 150 && !strstr(res.output, "they waited together")) {
		harness_describe("lab", &res);
		FAILF("2 sleepers of 100 ms, max %.1f ms: the notes do not say "
		      "they waited together", rows[0].max);
	}
	unlink(svg);
}

static void test_usage(void)
{
	static const char *const bad[][4] = {
		{"-procs", "0"}, {"-procs", "1,x"}, {"-modes", "fast"}, {"-n"},
		{"-n", "0"}, {"-work-ms", "-1"}, {"-svg", ""}, {"-bogus"},
		{"-procs", "2000"}, {"-n", "2000000"}, {"-work-ms", "0.0001"},
		{"-procs", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"},
		{"-modes", "sleep,"}, {"-n", " 5"}, {"-work-ms", "0x2"},
		{"-procs", "1,,2"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_lab(bad[i], 20);
		if (!res.exited || res.status != 2 || !strstr(res.output, "usage: lab")) {
			harness_describe(bad[i][0], &res);
			FAILF("lab %s %s: want the usage message and exit status 2",
			      bad[i][0], bad[i][1] ? bad[i][1] : "");
		}
		/* Before it, a line that names the option and its value. */
		const char *nl = strchr(res.output, '\n');
		int len = nl ? (int)(nl - res.output) : (int)res.len;
		char first[256];
		snprintf(first, sizeof(first), "%.*s", len, res.output);
		if (strncmp(first, "lab: ", 5) != 0 || !strstr(first, bad[i][0]) ||
		    (bad[i][1] && !strstr(first, bad[i][1]))) {
			harness_describe(bad[i][0], &res);
			FAILF("lab %s %s: the first line is \"%s\", want one that "
			      "says what is wrong with it", bad[i][0],
			      bad[i][1] ? bad[i][1] : "", first);
		}
	}
}

/* The plot leaves out points that the eye cannot tell from their
 * neighbours: 1,000 goroutines that finish together, a vertical step,
 * need a few points, not one each (a goroutine is 0.4 units of the
 * plot's height there, so a test on both coordinates keeps them all).
 * With one chunk of work and a yield each, they all finish within a
 * fraction of a millisecond of each other after about 100 ms. */
static void test_plot_points(void)
{
	char svg[300];
	snprintf(svg, sizeof(svg), "%s/points.svg", dir);
	const char *args[] = {"-n", "1000", "-work-ms", "0.1", "-procs", "1", "-modes",
	                      "gosched", "-svg", svg, "-trace", "", NULL};
	run_lab(args, 60);
	must_succeed("lab -n 1000 -work-ms 0.1 -modes gosched");
	check_svg(svg, 1);
	const char *pts = strstr(read_file(svg), "points=\"");
	if (!pts)
		FAILF("%s: no polyline points", svg);
	int points = 1;
	for (const char *c = pts + 8; *c && *c != '"'; c++)
		points += *c == ' ';
	struct row rows[1];
	CHECK_EQ(parse_rows(rows, 1), 1);
	printf("plot points: %d for 1000 goroutines, p50 %.1f ms, max %.1f ms\n",
	       points, rows[0].p50, rows[0].max);
	if (rows[0].p50 >= 0.9 * rows[0].max && points >= 500)
		FAILF("%s: %d points in the linear panel for 1000 goroutines that "
		      "finished together (p50 %.1f, max %.1f ms)", svg, points,
		      rows[0].p50, rows[0].max);
	unlink(svg);
}

/* -h, -help and --help ask for the usage: it is printed and the lab
 * exits with status 0, as a Go program's flag package does, instead of
 * calling them unknown options. */
static void test_help(void)
{
	static const char *const asks[] = {"-h", "-help", "--help"};
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		const char *args[] = {asks[i], NULL};
		run_lab(args, 20);
		if (!res.exited || res.status != 0 || !strstr(res.output, "usage: lab") ||
		    strstr(res.output, "unknown option")) {
			harness_describe(asks[i], &res);
			FAILF("lab %s: want the usage message and exit status 0", asks[i]);
		}
	}
}

/* An SVG or trace file that cannot be created is an error of the run:
 * the lab says so before it spends its minute on the configurations, and
 * exits with status 1 (not 2: the command line itself is fine). A path
 * that can be created is left as it was: the lab creates it only at the
 * end of the run. */
static void test_outputs(void)
{
	char missing[300], svg[300];
	snprintf(missing, sizeof(missing), "%s/no/such/dir/out", dir);
	snprintf(svg, sizeof(svg), "%s/outputs.svg", dir);
	const char *const cases[][2] = {{"-svg", missing}, {"-trace", missing}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = {"-n", "2", "-work-ms", "1", "-procs", "1", "-modes",
		                      "sleep", "-svg", svg, "-trace", "", cases[i][0],
		                      cases[i][1], NULL};
		run_lab(args, 20);
		struct row rows[4];
		if (!res.exited || res.status != 1 || !strstr(res.output, missing) ||
		    !strstr(res.output, cases[i][0]) || parse_rows(rows, 4) != 0) {
			harness_describe(cases[i][0], &res);
			FAILF("lab %s %s: want a line that names the file and the "
			      "option, before any configuration runs, and exit "
			      "status 1", cases[i][0], cases[i][1]);
		}
		struct stat st;
		if (stat(svg, &st) == 0)
			FAILF("lab %s %s: it created %s before failing", cases[i][0],
			      cases[i][1], svg);
	}
}

int main(void)
{
#ifndef GORT_TEST_LAB
	SKIP("lab_test", "the examples are not built");
	return 0;
#endif
	xml_checker_self_test();
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/lab_test.XXXXXX", tmp && *tmp ? tmp : ".");
	if (!mkdtemp(dir))
		FAILF("mkdtemp %s: %s", dir, strerror(errno));
	test_usage();
	PASS("usage");
	test_help();
	PASS("help");
	test_outputs();
	PASS("outputs");
	test_quick();
	test_plot_points();
	PASS("quick");
	test_reading();
	test_reading_sleep();
	PASS("reading");
	if (test_preemption())
		PASS("preemption");
	else
		SKIP("preemption", "no signal preemption in sanitizer builds, "
		                   "no timings under an emulator");
	rmdir(dir);
	return 0;
}
