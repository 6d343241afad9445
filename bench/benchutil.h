/*
 * benchutil.h - what every benchmark program of this directory shares,
 * whatever runtime it measures: gort's programs (common.h), the Boost.Fiber
 * peers (boost/common.hpp), the pthread peers and the machine probe.
 *
 * The includer defines BENCH_IMPL (the impl= of its result lines) before
 * including this header. Plain C11 that also compiles as C++ (the Boost
 * peers use the same flag parser and the same output routine).
 *
 * Every program prints its results on stdout, one line per configuration
 * and metric:
 *
 *     bench=NAME impl=IMPL cfg=K=V,... value=N unit=U
 *
 * with the value printed with 3 decimals. Rows of different implementations
 * are matched by the exact cfg string, so the keys must come in the same
 * order in every implementation. Percentiles are nearest-rank.
 */
#ifndef GORT_BENCH_UTIL_H
#define GORT_BENCH_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#ifndef BENCH_IMPL
#error "define BENCH_IMPL (the impl= of the result lines) first"
#endif

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double bench_ms(int64_t ns) { return (double)ns / 1e6; }
static inline double bench_us(int64_t ns) { return (double)ns / 1e3; }

/* ---------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------- */

/* Print a message on stderr and exit with status 1. */
__attribute__((noreturn)) static inline void bench_die(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Print one result line; cfg is a printf format for the K=V,... list.
 * The line is flushed at once so that it survives a later crash. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
static inline void bench_emit(const char *bench, double value,
                              const char *unit, const char *cfgfmt, ...)
{
	char cfg[512];
	va_list ap;
	va_start(ap, cfgfmt);
	vsnprintf(cfg, sizeof cfg, cfgfmt, ap);
	va_end(ap);
	printf("bench=%s impl=%s cfg=%s value=%.3f unit=%s\n", bench,
	       BENCH_IMPL, cfg, value, unit);
	fflush(stdout);
}

/* ---------------------------------------------------------------------
 * Command-line flags, spelled as Go's flag package accepts them:
 * -name value, -name=value, --name value, --name=value; a bool flag alone
 * (-name) means true. Parsing stops at "--" or at the first argument that
 * is not a flag. -h / -help prints the flags and exits with status 0; an
 * unknown flag or a bad value prints the usage and exits with status 2.
 * ------------------------------------------------------------------- */

enum bench_flag_kind {
	BENCH_FLAG_INT,  /* long */
	BENCH_FLAG_I64,  /* int64_t */
	BENCH_FLAG_DUR,  /* int64_t nanoseconds; Go syntax: 1ms, 1.5s, 2m... */
	BENCH_FLAG_BOOL, /* bool */
	BENCH_FLAG_STR,  /* const char * (points into argv) */
};

struct bench_flag {
	const char *name;
	enum bench_flag_kind kind;
	void *ptr;
	const char *help;
};

#define BENCH_FLAG_END {NULL, BENCH_FLAG_INT, NULL, NULL}

/* Parse a Go duration: a sequence of decimal numbers with units
 * ns, us, ms, s, m, h (e.g. "300ms", "1.5s", "1m30s"); "0" alone is 0. */
static inline bool bench_parse_duration(const char *s, int64_t *out)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{"ns", 1.0},  {"us", 1e3},    {"\xc2\xb5s", 1e3},
		{"ms", 1e6},  {"s", 1e9},     {"m", 60e9},
		{"h", 3600e9},
	};
	double total = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return true;
	}
	if (*s == '\0')
		return false;
	while (*s) {
		char *end;
		size_t best = 0, i, len;
		double ns = 0;
		double v;

		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return false;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno)
			return false;
		s = end;
		/* longest unit that matches ("ms" before "m") */
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			len = strlen(units[i].unit);
			if (len > best && strncmp(s, units[i].unit, len) == 0) {
				best = len;
				ns = units[i].ns;
			}
		}
		if (best == 0)
			return false;
		s += best;
		total += v * ns;
	}
	if (total > 9.2e18)
		return false;
	*out = (int64_t)llround(neg ? -total : total);
	return true;
}

static inline void bench_usage(FILE *f, const char *prog,
                               const struct bench_flag *flags)
{
	const struct bench_flag *fl;
	fprintf(f, "usage: %s [flags]\n", prog);
	for (fl = flags; fl->name; fl++) {
		static const char *kinds[] = {"int", "int", "duration", "",
		                              "string"};
		fprintf(f, "  -%s %s\n    \t%s\n", fl->name, kinds[fl->kind],
		        fl->help ? fl->help : "");
	}
}

static inline bool bench_set_flag(const struct bench_flag *fl, const char *v)
{
	char *end;
	long long x;

	switch (fl->kind) {
	case BENCH_FLAG_INT:
	case BENCH_FLAG_I64:
		errno = 0;
		x = strtoll(v, &end, 0);
		if (*v == '\0' || *end != '\0' || errno)
			return false;
		if (fl->kind == BENCH_FLAG_INT)
			*(long *)fl->ptr = (long)x;
		else
			*(int64_t *)fl->ptr = (int64_t)x;
		return true;
	case BENCH_FLAG_DUR:
		return bench_parse_duration(v, (int64_t *)fl->ptr);
	case BENCH_FLAG_BOOL:
		if (!strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "true") ||
		    !strcmp(v, "T") || !strcmp(v, "TRUE") || !strcmp(v, "True"))
			*(bool *)fl->ptr = true;
		else if (!strcmp(v, "0") || !strcmp(v, "f") ||
		         !strcmp(v, "false") || !strcmp(v, "F") ||
		         !strcmp(v, "FALSE") || !strcmp(v, "False"))
			*(bool *)fl->ptr = false;
		else
			return false;
		return true;
	case BENCH_FLAG_STR:
		*(const char **)fl->ptr = v;
		return true;
	}
	return false;
}

/* Parse argv against flags (terminated by BENCH_FLAG_END). Returns the
 * index of the first argument that is not a flag. */
static inline int bench_flags(int argc, char **argv,
                              const struct bench_flag *flags)
{
	const char *prog = argc > 0 ? argv[0] : "bench";
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		const struct bench_flag *fl;
		size_t len;

		if (a[0] != '-' || a[1] == '\0')
			break;
		a++;
		if (*a == '-') {
			a++;
			if (*a == '\0')
				return i + 1; /* "--" ends the flags */
		}
		if (!strcmp(a, "h") || !strcmp(a, "help")) {
			bench_usage(stdout, prog, flags);
			exit(0);
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		for (fl = flags; fl->name; fl++)
			if (strlen(fl->name) == len && !strncmp(fl->name, a, len))
				break;
		if (!fl->name) {
			fprintf(stderr, "flag provided but not defined: -%.*s\n",
			        (int)len, a);
			bench_usage(stderr, prog, flags);
			exit(2);
		}
		if (eq)
			val = eq + 1;
		else if (fl->kind == BENCH_FLAG_BOOL)
			val = "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, "flag needs an argument: -%s\n", fl->name);
			bench_usage(stderr, prog, flags);
			exit(2);
		}
		if (!bench_set_flag(fl, val)) {
			fprintf(stderr, "invalid value \"%s\" for flag -%s\n", val,
			        fl->name);
			bench_usage(stderr, prog, flags);
			exit(2);
		}
	}
	return i;
}

/* -procs must name 1 to maxprocs Ps (or threads). */
static inline void bench_check_procs(long procs, long maxprocs)
{
	if (procs < 1 || procs > maxprocs)
		bench_die("-procs must be in [1, %ld]", maxprocs);
}

/* The flags of a benchmark whose only flags are -procs and -n (n counts
 * `what`), parsed and checked: procs in [1, maxprocs], n in [1, 2^31-1]. */
static inline void bench_procs_n(int argc, char **argv, long *procs, long *n,
                                 const char *what, long maxprocs)
{
	const struct bench_flag flags[] = {
		{"procs", BENCH_FLAG_INT, procs, "Ps (GOMAXPROCS) or scheduler threads"},
		{"n", BENCH_FLAG_INT, n, what},
		BENCH_FLAG_END,
	};
	bench_flags(argc, argv, flags);
	bench_check_procs(*procs, maxprocs);
	if (*n < 1 || *n > 0x7fffffffL)
		bench_die("-n must be in [1, 2^31-1]");
}

/* ---------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------- */

static inline int bench_cmp_f64(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline void bench_sort(double *xs, size_t n)
{
	qsort(xs, n, sizeof *xs, bench_cmp_f64);
}

/* Nearest-rank q-quantile (0 < q <= 1) of xs sorted ascending:
 * xs[ceil(q*n)-1], the index clamped to [0, n-1]; NaN when n is 0. */
static inline double bench_rank(const double *xs, size_t n, double q)
{
	long i;
	if (n == 0)
		return NAN;
	i = (long)ceil(q * (double)n) - 1;
	if (i < 0)
		i = 0;
	if ((size_t)i > n - 1)
		i = (long)n - 1;
	return xs[i];
}

/* Sort xs and return its p50, p99 and maximum. */
static inline void bench_summary(double *xs, size_t n, double *p50,
                                 double *p99, double *max)
{
	bench_sort(xs, n);
	*p50 = bench_rank(xs, n, 0.50);
	*p99 = bench_rank(xs, n, 0.99);
	*max = n ? xs[n - 1] : NAN;
}

/* ---------------------------------------------------------------------
 * Process facts
 * ------------------------------------------------------------------- */

/* VmRSS of this process in bytes (from /proc/self/status), or -1. */
static inline int64_t bench_rss_bytes(void)
{
	char line[256];
	int64_t kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %" SCNd64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

#endif /* GORT_BENCH_UTIL_H */
