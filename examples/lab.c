/*
 * lab - "Schedule Forensics", the week-2 GMP lab, on gort.
 *
 * Spawns N goroutines (default 1,000) that each do W ms of work (default
 * 10) and records each one's completion time, measured from the instant
 * just before its gort_go. One configuration is a GOMAXPROCS value and a
 * mode; each runs in its own gort_main, so that it starts from a fresh
 * runtime. The modes:
 *
 *   preempt    a CPU loop that never calls the runtime; asynchronous
 *              preemption on (sysmon's 10 ms slice, enforced by signal)
 *   nopreempt  the same loop with GODEBUG=asyncpreemptoff=1: the loop
 *              makes no runtime call, so nothing can stop it (Go before
 *              1.14); the runtime still preempts at gort_* calls
 *   gosched    the same loop with gort_gosched() after every 100 µs chunk
 *   sleep      gort_sleep(W) instead of the loop (timers, the netpoller's
 *              path: the goroutine parks and its P runs others)
 *
 * GOMAXPROCS runs over 1, 2 and gort_numcpu() (duplicates skipped), every
 * mode at each. The lab prints one table (p50, p90, p99 and max of the
 * completion times, nearest-rank; the wall time of the configuration and
 * the CPU time the process got meanwhile), writes the CDFs of all
 * configurations as an SVG plot (lab_svg.c), and captures an execution
 * trace of one configuration (GOMAXPROCS=2 with preemption, or 1 on a
 * single CPU) with gort_trace_start/gort_trace_stop. It closes with a
 * note on each mode that ran, which states a shape only where that mode's
 * rows show it. docs/NOTES.md reads the results. The plot and the trace
 * are what the run is for: a path that cannot be created stops the lab
 * before the first configuration, and one that fails anyway (a full disk)
 * makes the exit status 1 once the rest is printed.
 *
 * The CPU work is a calibrated spin kernel: the 64-bit LCG
 * x = x*6364136223846793005 + 1442695040888963407 run n times in a
 * function that is not inlined, its result consumed. Calibration doubles
 * n from 65536 until one call takes at least 20 ms, then takes the fastest
 * of 5 trials at that n as the speed. It times the calling thread's CPU
 * time, not the wall clock: on a busy machine the thread waits for a CPU
 * now and then, and a wall-clock speed would make every goroutine's
 * share of work smaller than W ms of CPU. Every CPU mode runs the same
 * sequence of 100 µs chunks (spin calls), so the modes differ only in
 * what happens between chunks: nothing, or a gort_gosched().
 *
 * Preemption per configuration: the runtime reads GODEBUG when each
 * gort_main starts, so the lab sets GODEBUG before each run to the
 * program's own GODEBUG with its asyncpreemptoff setting replaced.
 *
 * Usage: lab [-quick] [-n N] [-work-ms MS] [-procs LIST] [-modes LIST]
 *            [-svg FILE] [-trace FILE]; -h for help
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gort.h"
#include "lab_svg.h"

#define CHUNK_NS (100 * 1000LL) /* the gosched mode yields this often */
#define MAX_PROCS_LIST 16
#define MAX_N 1000000
#define STR(x) #x
#define XSTR(x) STR(x) /* a macro's value as a string */

enum mode { PREEMPT, NOPREEMPT, GOSCHED, SLEEP, NMODES };

static const char *const mode_name[NMODES] = {"preempt", "nopreempt", "gosched", "sleep"};

/* One configuration and, once run, its results. */
struct config {
	int procs;
	enum mode mode;
	bool traced;
	int64_t *sorted; /* completion times, ns, ascending */
	int64_t wall;    /* ns: the whole gort_main run */
	int64_t cpu;     /* ns of CPU the process used meanwhile */
};

/* The lab's settings, and the state of the run in progress: main()
 * writes them before gort_main; during the run the main goroutine writes
 * spawned[] and trace_err, goroutine i only finished[i]. */
static struct lab {
	long n;
	double work_ms;
	int procs[MAX_PROCS_LIST];
	int nprocs;
	enum mode modes[NMODES];
	int nmodes;
	const char *svg;
	const char *trace; /* "" for none */
	const char *godebug; /* the program's GODEBUG, or NULL */

	double spin_per_ns;
	uint64_t iters;       /* spin iterations for work_ms */
	uint64_t chunk_iters; /* spin iterations for CHUNK_NS */

	/* the configuration being run */
	enum mode mode;
	bool tracing;
	int trace_err; /* errno of a failed start or stop, else 0 */
	int64_t *spawned;
	int64_t *finished;
	gort_waitgroup wg;
} lab = {.n = 1000, .work_ms = 10, .svg = "lab.svg", .trace = "lab.trace"};

static atomic_uint_fast64_t sink; /* consumes every spin result */

/* spin runs the LCG n times and returns its state. */
__attribute__((noinline)) static uint64_t spin(uint64_t n, uint64_t x)
{
	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* time_spin returns the CPU time one spin(n) takes on this thread. */
static int64_t time_spin(uint64_t n)
{
	int64_t t0 = thread_cpu_ns();
	uint64_t x = spin(n, (uint64_t)t0);
	int64_t t1 = thread_cpu_ns();
	atomic_fetch_add(&sink, x);
	return t1 - t0;
}

/* calibrate returns spin iterations per nanosecond. */
static double calibrate(void)
{
	uint64_t n = 65536;
	while (time_spin(n) < 20 * 1000000LL)
		n *= 2;
	int64_t best = INT64_MAX;
	for (int trial = 0; trial < 5; trial++) {
		int64_t t = time_spin(n);
		if (t < best)
			best = t;
	}
	return (double)n / (double)(best > 0 ? best : 1);
}

/* errno after a gort call, read through a call the compiler cannot fold:
 * a goroutine may come back from the runtime on another thread. */
static __attribute__((noinline)) int lab_errno(void)
{
	return errno;
}

/* The goroutine body: W ms of work, then the completion time. */
static void work(void *arg)
{
	long i = (long)(intptr_t)arg;
	if (lab.mode == SLEEP) {
		gort_sleep((int64_t)(lab.work_ms * 1e6));
	} else {
		uint64_t x = (uint64_t)i;
		for (uint64_t left = lab.iters; left > 0;) {
			uint64_t k = left < lab.chunk_iters ? left : lab.chunk_iters;
			x = spin(k, x);
			left -= k;
			if (lab.mode == GOSCHED)
				gort_gosched();
		}
		atomic_fetch_add(&sink, x);
	}
	lab.finished[i] = gort_nanotime();
	gort_wg_done(&lab.wg);
}

static int lab_main(void *arg)
{
	(void)arg;
	if (lab.tracing && gort_trace_start(lab.trace) != 0) {
		lab.trace_err = lab_errno();
		lab.tracing = false;
	}
	gort_wg_add(&lab.wg, (int)lab.n);
	/* Named, so that traces and dumps say what each goroutine is. */
	gort_attr attr = {.name = "lab.work"};
	for (long i = 0; i < lab.n; i++) {
		lab.spawned[i] = gort_nanotime();
		if (gort_go_attr(work, (void *)(intptr_t)i, &attr) < 0) {
			perror("lab: gort_go");
			exit(1);
		}
	}
	gort_wg_wait(&lab.wg);
	if (lab.tracing && gort_trace_stop() != 0)
		lab.trace_err = lab_errno();
	return 0;
}

/* set_asyncpreemptoff sets GODEBUG for the next gort_main: the program's
 * own settings without any asyncpreemptoff, then asyncpreemptoff=1 when
 * off (a later setting would override an earlier one in Go; gort reads
 * the first: removing the old one is right for both). */
static void set_asyncpreemptoff(bool off)
{
	const char *s = lab.godebug ? lab.godebug : "";
	size_t len = strlen(s) + sizeof(",asyncpreemptoff=1");
	char *buf = malloc(len);
	if (!buf) {
		perror("lab");
		exit(1);
	}
	buf[0] = '\0';
	while (*s) {
		size_t k = strcspn(s, ",");
		if (k > 0 && strncmp(s, "asyncpreemptoff=", 16) != 0) {
			if (buf[0])
				strcat(buf, ",");
			strncat(buf, s, k);
		}
		s += k + (s[k] == ',');
	}
	if (off)
		strcat(buf, buf[0] ? ",asyncpreemptoff=1" : "asyncpreemptoff=1");
	if (buf[0])
		setenv("GODEBUG", buf, 1);
	else
		unsetenv("GODEBUG");
	free(buf);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* nearest_rank returns the pct-th percentile of sorted v[0..n): the
 * value at rank ceil(pct/100 * n), in integers so that no rounding
 * moves it. */
static int64_t nearest_rank(const int64_t *v, long n, int pct)
{
	long rank = (long)(((int64_t)pct * n + 99) / 100);
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

/* cpu_ns returns the CPU time (user and system) of every thread of the
 * process so far. */
static int64_t cpu_ns(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static void run_config(struct config *c)
{
	memset(&lab.wg, 0, sizeof(lab.wg));
	lab.mode = c->mode;
	lab.tracing = c->traced;
	set_asyncpreemptoff(c->mode == NOPREEMPT);
	gort_gomaxprocs(c->procs);
	int64_t cpu0 = cpu_ns();
	int64_t t0 = gort_nanotime();
	if (gort_main(lab_main, NULL) != 0) {
		fprintf(stderr, "lab: gort_main: %s\n", strerror(errno));
		exit(1);
	}
	c->wall = gort_nanotime() - t0;
	c->cpu = cpu_ns() - cpu0;
	c->sorted = malloc((size_t)lab.n * sizeof(int64_t));
	if (!c->sorted) {
		perror("lab");
		exit(1);
	}
	for (long i = 0; i < lab.n; i++)
		c->sorted[i] = lab.finished[i] - lab.spawned[i];
	qsort(c->sorted, (size_t)lab.n, sizeof(int64_t), cmp_i64);
}

static void print_row(const struct config *c)
{
	const int64_t *v = c->sorted;
	printf("%5d  %-9s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f%s\n", c->procs,
	       mode_name[c->mode], (double)nearest_rank(v, lab.n, 50) / 1e6,
	       (double)nearest_rank(v, lab.n, 90) / 1e6,
	       (double)nearest_rank(v, lab.n, 99) / 1e6,
	       (double)v[lab.n - 1] / 1e6, (double)c->wall / 1e6,
	       (double)c->cpu / 1e6, c->traced ? " *" : "");
	fflush(stdout);
}

/* ---- the plot and the trace ---- */

/* write_plot returns false when the plot could not be written. */
static bool write_plot(const struct config *cs, int nc)
{
	struct lab_series *s = calloc((size_t)nc, sizeof(*s));
	char (*labels)[48] = calloc((size_t)nc, sizeof(*labels));
	if (!s || !labels) {
		perror("lab");
		exit(1);
	}
	for (int i = 0; i < nc; i++) {
		int pi = 0;
		while (lab.procs[pi] != cs[i].procs)
			pi++;
		snprintf(labels[i], sizeof(labels[i]), "GOMAXPROCS=%d %s",
		         cs[i].procs, mode_name[cs[i].mode]);
		/* Colour by mode, dash pattern by GOMAXPROCS; preempt wide,
		 * since nopreempt often lies on it. */
		s[i] = (struct lab_series){labels[i], cs[i].sorted, lab.n,
		                           (int)cs[i].mode, pi, cs[i].mode == PREEMPT};
	}
	char title[160];
	snprintf(title, sizeof(title),
	         "Schedule Forensics on gort: %ld goroutines x %g ms, "
	         "completion time CDF", lab.n, lab.work_ms);
	bool ok = lab_svg_write(lab.svg, title, s, nc) == 0;
	if (!ok) {
		fprintf(stderr, "lab: writing %s: %s\n", lab.svg, strerror(errno));
	} else {
		char *abs = realpath(lab.svg, NULL);
		printf("plot: %s (completion-time CDF per configuration)\n",
		       abs ? abs : lab.svg);
		free(abs);
	}
	free(labels);
	free(s);
	return ok;
}

/* report_trace returns false when the trace could not be captured. */
static bool report_trace(const struct config *cs, int nc)
{
	const struct config *t = NULL;
	for (int i = 0; i < nc; i++)
		if (cs[i].traced)
			t = &cs[i];
	if (!t)
		return true;
	if (lab.trace_err) {
		printf("trace: not captured (gort_trace_start/stop: %s)\n",
		       strerror(lab.trace_err));
		return false;
	}
	char *abs = realpath(lab.trace, NULL);
	printf("trace: %s (* GOMAXPROCS=%d %s; read it with gort-trace)\n",
	       abs ? abs : lab.trace, t->procs, mode_name[t->mode]);
	free(abs);
	return true;
}

/* pick_traced marks the configuration to trace: GOMAXPROCS=2 (1 on a
 * single CPU) with preemption if it is run, else the first one. */
static void pick_traced(struct config *cs, int nc)
{
	if (!lab.trace[0] || nc == 0)
		return;
	int want = gort_numcpu() >= 2 ? 2 : 1;
	for (int i = 0; i < nc; i++)
		if (cs[i].procs == want && cs[i].mode == PREEMPT) {
			cs[i].traced = true;
			return;
		}
	cs[0].traced = true;
}

/* check_creatable stops the lab (exit status 1) when path, the value of
 * opt, cannot be written, before the run: a missing directory found only
 * at the end would cost the whole run. It creates no file: one it had to
 * create is removed again, an existing one is opened without truncating,
 * so that an interrupted run leaves the previous plot and trace as they
 * were. */
static void check_creatable(const char *opt, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	bool created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "lab: %s %s: %s\n", opt, path, strerror(errno));
		exit(1);
	}
	close(fd);
	if (created)
		unlink(path);
}

/* ---- options ---- */

/* usage prints the usage to f and exits with status: 2 after a bad
 * command line (on stderr), 0 when it was asked for (on stdout). */
static _Noreturn void usage(FILE *f, int status)
{
	fprintf(f,
	        "usage: lab [-quick] [-n N] [-work-ms MS] [-procs LIST] [-modes LIST]\n"
	        "           [-svg FILE] [-trace FILE]\n"
	        "  -n N          goroutines (default 1000; 100 with -quick)\n"
	        "  -work-ms MS   work per goroutine, ms (default 10; 2 with -quick)\n"
	        "  -procs LIST   GOMAXPROCS values, comma-separated (default 1,2,ncpu)\n"
	        "  -modes LIST   of preempt,nopreempt,gosched,sleep (default all)\n"
	        "  -svg FILE     the CDF plot (default lab.svg)\n"
	        "  -trace FILE   execution trace of GOMAXPROCS=2 (1 on one CPU)\n"
	        "                preempt, else of the first configuration\n"
	        "                (default lab.trace; \"\" for none)\n"
	        "  -quick        100 goroutines x 2 ms\n"
	        "  -h, -help     this message\n");
	exit(status);
}

/* bad_value says which option had a bad value, and what it wants, before
 * the usage. */
static _Noreturn void bad_value(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "lab: %s \"%s\": want %s\n", opt, val, want);
	usage(stderr, 2);
}

/* parse_long parses all of s as a decimal in [lo, hi]: digits only,
 * none of the blanks and sign strtol would skip. */
static bool parse_long(const char *s, long lo, long hi, long *out)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* The lists are split with strsep, not strtok, so that an empty entry
 * ("1,,2", "sleep,", "") is seen, and refused, rather than skipped: each
 * list has at least one entry. */
static void parse_procs(const char *list)
{
	char *copy = strdup(list), *rest = copy;
	if (!copy)
		usage(stderr, 2);
	lab.nprocs = 0;
	for (char *t; (t = strsep(&rest, ",")) != NULL;) {
		long v;
		if (!parse_long(t, 1, GORT_MAX_PROCS, &v))
			bad_value("-procs", list, "GOMAXPROCS values from 1 to "
			          XSTR(GORT_MAX_PROCS) ", comma-separated");
		bool dup = false;
		for (int k = 0; k < lab.nprocs; k++)
			dup |= lab.procs[k] == v;
		if (dup)
			continue;
		if (lab.nprocs == MAX_PROCS_LIST)
			bad_value("-procs", list, "at most " XSTR(MAX_PROCS_LIST)
			          " different values");
		lab.procs[lab.nprocs++] = (int)v;
	}
	free(copy);
}

static void parse_modes(const char *list)
{
	char *copy = strdup(list), *rest = copy;
	if (!copy)
		usage(stderr, 2);
	lab.nmodes = 0;
	for (char *t; (t = strsep(&rest, ",")) != NULL;) {
		int m = 0;
		while (m < NMODES && strcmp(t, mode_name[m]) != 0)
			m++;
		if (m == NMODES)
			bad_value("-modes", list, "modes of preempt, nopreempt, "
			          "gosched and sleep, comma-separated");
		bool dup = false;
		for (int k = 0; k < lab.nmodes; k++)
			dup |= lab.modes[k] == (enum mode)m;
		if (!dup)
			lab.modes[lab.nmodes++] = (enum mode)m;
	}
	free(copy);
}

static void parse_args(int argc, char **argv)
{
	long n = 0;
	double work_ms = 0;
	bool quick = false;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (strcmp(opt, "-quick") == 0) {
			quick = true;
			continue;
		}
		if (strcmp(opt, "-h") == 0 || strcmp(opt, "-help") == 0 ||
		    strcmp(opt, "--help") == 0)
			usage(stdout, 0);
		static const char *const with_value[] = {"-n", "-work-ms", "-procs",
		                                         "-modes", "-svg", "-trace"};
		bool known = false;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			known |= strcmp(opt, with_value[k]) == 0;
		if (!known || i + 1 >= argc) {
			fprintf(stderr, known ? "lab: %s needs a value\n"
			                      : "lab: unknown option %s\n", opt);
			usage(stderr, 2);
		}
		const char *val = argv[++i];
		if (strcmp(opt, "-n") == 0) {
			if (!parse_long(val, 1, MAX_N, &n))
				bad_value(opt, val, "goroutines from 1 to " XSTR(MAX_N));
		} else if (strcmp(opt, "-work-ms") == 0) {
			/* A decimal number: strtod would also take blanks,
			 * hexadecimal, "inf" and "nan". */
			char *end;
			work_ms = strtod(val, &end);
			if (!(isdigit((unsigned char)val[0]) || val[0] == '.') ||
			    val[strspn(val, "0123456789.eE+-")] != '\0' || end == val || *end ||
			    !(work_ms >= 0.001 && work_ms <= 1e6))
				bad_value(opt, val, "ms from 0.001 to 1000000");
		} else if (strcmp(opt, "-procs") == 0) {
			parse_procs(val);
		} else if (strcmp(opt, "-modes") == 0) {
			parse_modes(val);
		} else if (strcmp(opt, "-svg") == 0) {
			if (!val[0])
				bad_value(opt, val, "a file name");
			lab.svg = val;
		} else if (strcmp(opt, "-trace") == 0) {
			lab.trace = val;
		}
	}
	if (quick) {
		lab.n = 100;
		lab.work_ms = 2;
	}
	if (n)
		lab.n = n;
	if (work_ms > 0)
		lab.work_ms = work_ms;
}

/* ---- main ---- */

static void print_header(void)
{
	printf("Schedule Forensics: %ld goroutines x %g ms each, %d CPUs "
	       "(spin: %.3f iterations/ns)\n",
	       lab.n, lab.work_ms, gort_numcpu(), lab.spin_per_ns);
	printf("modes: preempt   = CPU loop, asynchronous preemption on\n"
	       "       nopreempt = the same loop, GODEBUG=asyncpreemptoff=1\n"
	       "       gosched   = the loop with gort_gosched() every 100 us\n"
	       "       sleep     = gort_sleep(%g ms) instead of the loop\n",
	       lab.work_ms);
	printf("completion time from spawn, ms (nearest-rank); wall: the "
	       "whole configuration;\ncpu: the CPU time the process got "
	       "meanwhile (all threads; cpu/wall < GOMAXPROCS\nfor a CPU mode "
	       "means other processes had the CPUs)\n\n");
	printf("%5s  %-9s %9s %9s %9s %9s %9s %9s\n", "procs", "mode", "p50", "p90",
	       "p99", "max", "wall", "cpu");
	fflush(stdout);
}

/* p50_of_max returns c's p50 over its max: about 0.5 for completions
 * spread evenly (each goroutine run to its end in turn), near 1 for all
 * finishing in the last round. */
static double p50_of_max(const struct config *c)
{
	int64_t max = c->sorted[lab.n - 1];
	return max > 0 ? (double)nearest_rank(c->sorted, lab.n, 50) / (double)max : 1;
}

/* shape says what c's rows show: all near the end, an even spread, or
 * neither. */
static const char *shape(const struct config *c)
{
	double r = p50_of_max(c);
	if (r >= 0.9)
		return "all finished near the end";
	if (r >= 0.35 && r <= 0.65)
		return "spread out, p50 about half of max";
	return "neither spread out nor all near the end";
}

/* print_reading explains each mode that ran, then what its rows show at
 * each GOMAXPROCS: a shape is stated only where the figures have it. */
static void print_reading(const struct config *cs, int nc)
{
	printf("\n");
	for (int k = 0; k < lab.nmodes; k++) {
		enum mode m = lab.modes[k];
		switch (m) {
		case NOPREEMPT:
			printf("nopreempt: a goroutine, once started, runs to the end: with a "
			       "CPU for each P the\n  completions spread evenly up to "
			       "n*work/P, p50 half of it, and the last waits\n  for all "
			       "(the tail).\n");
			break;
		case PREEMPT:
			printf("preempt: sysmon preempts a goroutine that kept its P for 10 ms "
			       "(wall-clock): on an\n  idle machine work no longer than that "
			       "is rarely caught and it looks like\n  nopreempt; on a busy "
			       "one, or with longer work, they take turns as with gosched.\n");
			break;
		case GOSCHED:
			printf("gosched: each yield sends the goroutine to the back of the "
			       "global queue: taking\n  turns, they all finish in the last "
			       "round unless something holds some back.\n");
			break;
		case SLEEP:
			printf("sleep: the goroutines wait on timers together, not on the CPU: "
			       "each finishes after\n  the sleep plus its wait to start and "
			       "to wake, whatever GOMAXPROCS.\n");
			break;
		default:
			break;
		}
		for (int i = 0; i < nc; i++) {
			const struct config *c = &cs[i];
			if (c->mode != m)
				continue;
			double max = (double)c->sorted[lab.n - 1] / 1e6;
			if (m == SLEEP) {
				/* Sleeps taken together end near one sleep, one
				 * after another near n of them: the middle tells
				 * them apart for any n (half of n sleeps, for n =
				 * 2, is one sleep, which no sleeper beats). */
				double mid = (double)(lab.n + 1) / 2 * lab.work_ms;
				printf("  GOMAXPROCS=%d: p50 %.1f ms, max %.1f ms for a %g ms "
				       "sleep: %s\n", c->procs,
				       (double)nearest_rank(c->sorted, lab.n, 50) / 1e6, max,
				       lab.work_ms,
				       max < mid ? "they waited together"
				                        : "not far below sleeps one after another");
				continue;
			}
			printf("  GOMAXPROCS=%d: p50/max %.2f", c->procs, p50_of_max(c));
			if (m != NOPREEMPT) {
				printf(": %s\n", shape(c));
				continue;
			}
			/* Run to completion on P CPUs, the last of ceil(n/P) in a
			 * row; the process had cpu/wall CPUs. */
			double even = (double)((lab.n + c->procs - 1) / c->procs) * lab.work_ms;
			double got = c->wall > 0 ? (double)c->cpu / (double)c->wall : 0;
			if (max > 1.25 * even)
				printf(", max %.1f ms: slower than ceil(n/P)*work\n    = %.1f ms "
				       "(the process got %.2f CPUs)\n", max, even, got);
			else
				printf(", max %.1f ms: %s\n    (ceil(n/P)*work = %.1f ms)\n",
				       max, shape(c), even);
		}
	}
	printf("docs/NOTES.md reads a full run.\n");
}

int main(int argc, char **argv)
{
	lab.procs[0] = 1;
	lab.procs[1] = 2;
	lab.procs[2] = gort_numcpu();
	lab.nprocs = 3;
	for (int m = 0; m < NMODES; m++)
		lab.modes[m] = (enum mode)m;
	lab.nmodes = NMODES;
	parse_args(argc, argv);
	/* The default list may hold duplicates (ncpu = 1 or 2). */
	int np = 0;
	for (int i = 0; i < lab.nprocs; i++) {
		bool dup = false;
		for (int k = 0; k < np; k++)
			dup |= lab.procs[k] == lab.procs[i];
		if (!dup)
			lab.procs[np++] = lab.procs[i];
	}
	lab.nprocs = np;
	check_creatable("-svg", lab.svg);
	if (lab.trace[0])
		check_creatable("-trace", lab.trace);
	lab.godebug = getenv("GODEBUG") ? strdup(getenv("GODEBUG")) : NULL;

	lab.spin_per_ns = calibrate();
	lab.iters = (uint64_t)(lab.spin_per_ns * lab.work_ms * 1e6);
	lab.chunk_iters = (uint64_t)(lab.spin_per_ns * (double)CHUNK_NS);
	if (lab.iters < 1)
		lab.iters = 1;
	if (lab.chunk_iters < 1)
		lab.chunk_iters = 1;
	lab.spawned = calloc((size_t)lab.n, sizeof(int64_t));
	lab.finished = calloc((size_t)lab.n, sizeof(int64_t));
	int nc = lab.nprocs * lab.nmodes;
	struct config *cs = calloc((size_t)nc, sizeof(*cs));
	if (!lab.spawned || !lab.finished || !cs) {
		perror("lab");
		return 1;
	}
	for (int i = 0; i < nc; i++)
		cs[i] = (struct config){.procs = lab.procs[i / lab.nmodes],
		                        .mode = lab.modes[i % lab.nmodes]};
	pick_traced(cs, nc);

	print_header();
	for (int i = 0; i < nc; i++) {
		run_config(&cs[i]);
		print_row(&cs[i]);
	}
	printf("\n");
	bool ok = write_plot(cs, nc);
	if (!report_trace(cs, nc))
		ok = false;
	print_reading(cs, nc);

	for (int i = 0; i < nc; i++)
		free(cs[i].sorted);
	free(cs);
	free(lab.spawned);
	free(lab.finished);
	if (atomic_load(&sink) == 42) /* consume the results */
		printf("\n");
	return ok ? 0 : 1;
}
