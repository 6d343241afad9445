/*
 * stats.c - Go's goroutine analysis as a text table.
 *
 * For each goroutine, from the replay's transitions: its scheduler
 * latencies (each RUNNABLE -> RUNNING interval), its time running, its
 * time waiting by wait reason, and its time in syscalls (with or without
 * its P). Intervals still open at the end of the trace end there (a
 * runnable one is a latency sample); those of goroutines that existed
 * before the trace start at its start. Then
 * the same per creation site (the goroutine's name: its gort_attr name,
 * else its entry function's symbol; else the pc it was created at).
 * Columns: id (or site number), name (or site), the pc where gort_go was
 * called (a goroutine's only: a site may have several), count, latency
 * p50/p90/p99/max ("-" without a sample), running, blocked, syscall,
 * blocked time by reason.
 */
#include <stdlib.h>
#include <string.h>

#include "gort_trace.h"

struct reason_time {
	uint64_t reason;
	int64_t ns;
};

/* Blocked time by reason, in the order the reasons came. A valid trace
 * has a few reasons (Go's wait reasons) per goroutine, found by a look
 * along the list; a file may give every wait a reason of its own, so past
 * REASONS_LINEAR of them an open-addressing index (entry + 1; 0 empty,
 * at most half full) finds them instead: a look along 100,000 made
 * stats quadratic (minutes for a file of a few MB). */
enum { REASONS_LINEAR = 16 };

struct reasons {
	struct reason_time *v;
	size_t n, cap;
	uint32_t *idx;
	size_t icap; /* a power of two, or 0: no index yet */
};

struct gstat {
	struct gor *g;
	int64_t *lat;
	size_t nlat, latcap;
	int64_t running, blocked, syscall;
	struct reasons by;
};

struct stats {
	struct gstat *gs;
	size_t n, cap;
};

static struct gstat *gstat_of(struct stats *s, struct gor *g)
{
	if (g->user[1] == 0) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->gs = xrealloc(s->gs, s->cap * sizeof(*s->gs));
		}
		s->gs[s->n] = (struct gstat){.g = g};
		g->user[1] = ++s->n;
	}
	return &s->gs[g->user[1] - 1];
}

static void add_lat(struct gstat *st, int64_t ns)
{
	if (st->nlat == st->latcap) {
		st->latcap = st->latcap ? st->latcap * 2 : 8;
		st->lat = xrealloc(st->lat, st->latcap * sizeof(*st->lat));
	}
	st->lat[st->nlat++] = ns;
}

/* a + b, both durations (>= 0), saturating. One goroutine's times add up
 * to at most the trace's duration, below TOOL_MAX_TS (read.c), but a
 * site's add up those of all its goroutines: a few that wait through a
 * long trace (2^62 ns) overflowed int64. */
static int64_t add_dur(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static size_t reason_slot(const struct reasons *l, uint64_t reason)
{
	size_t mask = l->icap - 1;
	size_t h = (size_t)((reason * 0x9e3779b97f4a7c15ull) >> 32) & mask;
	while (l->idx[h] != 0 && l->v[l->idx[h] - 1].reason != reason)
		h = (h + 1) & mask;
	return h;
}

/* (Re)build l's index with twice the slots its entries need. */
static void reasons_index(struct reasons *l)
{
	size_t icap = 64;
	while (icap < 4 * l->n)
		icap *= 2;
	free(l->idx);
	l->idx = calloc(icap, sizeof(*l->idx));
	if (l->idx == NULL)
		die_oom();
	l->icap = icap;
	for (size_t i = 0; i < l->n; i++)
		l->idx[reason_slot(l, l->v[i].reason)] = (uint32_t)(i + 1);
}

/* add_reason adds ns to reason's entry of l, a new one if none. */
static void add_reason(struct reasons *l, uint64_t reason, int64_t ns)
{
	size_t slot = 0;
	if (l->icap == 0) {
		for (size_t i = 0; i < l->n; i++) {
			if (l->v[i].reason == reason) {
				l->v[i].ns = add_dur(l->v[i].ns, ns);
				return;
			}
		}
	} else {
		slot = reason_slot(l, reason);
		if (l->idx[slot] != 0) {
			struct reason_time *e = &l->v[l->idx[slot] - 1];
			e->ns = add_dur(e->ns, ns);
			return;
		}
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct reason_time){reason, ns};
	if (l->n > REASONS_LINEAR && 2 * l->n > l->icap)
		reasons_index(l); /* the first, or one twice the size */
	else if (l->icap != 0)
		l->idx[slot] = (uint32_t)l->n;
}

static void reasons_free(struct reasons *l)
{
	free(l->v);
	free(l->idx);
}

static void add_blocked(struct gstat *st, uint64_t reason, int64_t ns)
{
	st->blocked += ns;
	add_reason(&st->by, reason, ns);
}

/* account charges the time g spent in state `from` until ts. */
static void account(struct gstat *st, enum gstate from, int64_t since,
                    int64_t ts, uint64_t reason, bool to_running)
{
	int64_t d = ts - since;
	switch (from) {
	case G_RUNNABLE:
		if (to_running)
			add_lat(st, d);
		break;
	case G_RUNNING:
		st->running += d;
		break;
	case G_WAITING:
		add_blocked(st, reason, d);
		break;
	case G_SYSCALL:
	case G_SYSBLOCKED:
		st->syscall += d;
		break;
	default:
		break;
	}
}

static void on_tr(void *ctx, struct replay *r, const struct tr *tr)
{
	(void)r;
	if (tr->g == NULL)
		return;
	struct gstat *st = gstat_of(ctx, tr->g);
	if (tr->kind == TR_CREATE)
		return;
	account(st, tr->from, tr->since, tr->ts, tr->g->reason,
	        tr->kind == TR_START);
}

static void fmt_dur(char *buf, size_t len, int64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%lldns", (long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.3fs", ns / 1e9);
}

/* A name for a text column: printable ASCII only, at most max bytes. */
static void printable(char *dst, const char *src, size_t max)
{
	size_t i = 0;
	for (; src[i] && i < max; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v. */
static int64_t pct(const int64_t *v, size_t n, int p)
{
	if (n == 0)
		return 0;
	size_t k = (n * (size_t)p + 99) / 100;
	return v[k ? k - 1 : 0];
}

struct row {
	char id[24], name[40], created[24]; /* created: the creation pc */
	size_t count;
	int64_t *lat;
	size_t nlat, latcap; /* latcap: a site's, which grows (cmd_stats) */
	int64_t running, blocked, syscall;
	struct reasons rt; /* a site's blocked time by reason */
	char by[160];
};

static void print_header(FILE *f, const char *first)
{
	fprintf(f, "%-9s %-32s %-14s %6s %9s %9s %9s %9s %10s %10s %10s  %s\n",
	        first, "NAME", "CREATED AT", "COUNT", "LAT p50", "LAT p90", "LAT p99", "LAT max",
	        "RUNNING", "BLOCKED", "SYSCALL", "BLOCKED BY");
}

static void print_row(FILE *f, struct row *rw)
{
	if (rw->nlat > 1)
		qsort(rw->lat, rw->nlat, sizeof(*rw->lat), cmp_i64);
	char d[7][24];
	/* No sample (never runnable in the trace): no latency, not 0 ns. */
	if (rw->nlat == 0) {
		for (int i = 0; i < 4; i++)
			snprintf(d[i], 24, "-");
	} else {
		fmt_dur(d[0], 24, pct(rw->lat, rw->nlat, 50));
		fmt_dur(d[1], 24, pct(rw->lat, rw->nlat, 90));
		fmt_dur(d[2], 24, pct(rw->lat, rw->nlat, 99));
		fmt_dur(d[3], 24, rw->lat[rw->nlat - 1]);
	}
	fmt_dur(d[4], 24, rw->running);
	fmt_dur(d[5], 24, rw->blocked);
	fmt_dur(d[6], 24, rw->syscall);
	fprintf(f, "%-9s %-32s %-14s %6zu %9s %9s %9s %9s %10s %10s %10s%s%s\n",
	        rw->id, rw->name, rw->created[0] ? rw->created : "-", rw->count,
	        d[0], d[1], d[2], d[3], d[4], d[5], d[6], rw->by[0] ? "  " : "",
	        rw->by);
}

static void reasons(struct replay *r, const struct reasons *l, char *buf, size_t len)
{
	const struct reason_time *by = l->v;
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n && k + 1 < len; i++) {
		char d[24], why[40];
		fmt_dur(d, sizeof(d), by[i].ns);
		const char *s = reason_str(r, by[i].reason);
		printable(why, *s ? s : "?", sizeof(why) - 1);
		int w = snprintf(buf + k, len - k, "%s%s=%s", k ? ", " : "", why, d);
		if (w < 0 || (size_t)w >= len - k)
			break;
		k += (size_t)w;
	}
}

int cmd_stats(const struct trace *t, FILE *f)
{
	struct stats s = {0};
	struct replay *r = calloc(1, sizeof(*r));
	if (r == NULL)
		die_oom();
	replay_run(r, t, (struct consumer){.ctx = &s, .on_tr = on_tr});
	/* A wait still runnable at the end is a latency sample up to the
	 * end, as Go counts it in its scheduler wait: it is a lower bound,
	 * but without it a goroutine starved until the trace stopped (the
	 * worst latency there is) showed none. One that began at the end
	 * bounds nothing: it is no sample of 0 ns. */
	for (size_t i = 0; i < s.n; i++) {
		struct gor *g = s.gs[i].g;
		account(&s.gs[i], g->state, g->since, t->t1, g->reason,
		        g->since < t->t1);
	}

	char d[24];
	fmt_dur(d, sizeof(d), t->t1 - t->t0);
	fprintf(f, "Goroutines: %zu, trace duration %s\n\n", s.n, d);
	print_header(f, "GOROUTINE");
	char site[TRACE_STRING_MAX + 32];
	struct strmap sites = {0};
	/* Grown by doubling, as every table here: a file may hold a new
	 * site for every goroutine, or many goroutines for one site, and a
	 * realloc that copies (a sanitizer's, another libc's) made one
	 * element more at a time quadratic (minutes for 150000). */
	struct row *agg = NULL;
	size_t aggcap = 0;
	for (size_t i = 0; i < s.n; i++) {
		struct gstat *st = &s.gs[i];
		struct row rw = {.count = 1, .lat = st->lat, .nlat = st->nlat,
		                 .running = st->running, .blocked = st->blocked,
		                 .syscall = st->syscall};
		snprintf(rw.id, sizeof(rw.id), "%llu", (unsigned long long)st->g->id);
		gor_site(st->g, site, sizeof(site));
		printable(rw.name, site, sizeof(rw.name) - 1);
		if (st->g->pc != 0)
			snprintf(rw.created, sizeof(rw.created), "0x%llx",
			         (unsigned long long)st->g->pc);
		reasons(r, &st->by, rw.by, sizeof(rw.by));
		print_row(f, &rw);

		bool added;
		size_t k = strmap_index(&sites, site, &added);
		if (added) {
			if (sites.n > aggcap) {
				aggcap = aggcap ? aggcap * 2 : 64;
				agg = xrealloc(agg, aggcap * sizeof(*agg));
			}
			agg[k] = (struct row){0};
			snprintf(agg[k].id, sizeof(agg[k].id), "%zu", k + 1);
			memcpy(agg[k].name, rw.name, sizeof(rw.name));
		}
		struct row *a = &agg[k];
		a->count++;
		if (st->nlat > 0) {
			if (a->nlat + st->nlat > a->latcap) {
				a->latcap = a->latcap ? a->latcap * 2 : 8;
				if (a->latcap < a->nlat + st->nlat)
					a->latcap = a->nlat + st->nlat;
				a->lat = xrealloc(a->lat, a->latcap * sizeof(*a->lat));
			}
			memcpy(a->lat + a->nlat, st->lat, st->nlat * sizeof(*a->lat));
			a->nlat += st->nlat;
		}
		a->running = add_dur(a->running, st->running);
		a->blocked = add_dur(a->blocked, st->blocked);
		a->syscall = add_dur(a->syscall, st->syscall);
		for (size_t j = 0; j < st->by.n; j++)
			add_reason(&a->rt, st->by.v[j].reason, st->by.v[j].ns);
	}
	fprintf(f, "\nBy creation site:\n");
	print_header(f, "SITE");
	for (size_t k = 0; k < sites.n; k++) {
		reasons(r, &agg[k].rt, agg[k].by, sizeof(agg[k].by));
		print_row(f, &agg[k]);
		free(agg[k].lat);
		reasons_free(&agg[k].rt);
	}
	free(agg);
	strmap_free(&sites);
	for (size_t i = 0; i < s.n; i++) {
		free(s.gs[i].lat);
		reasons_free(&s.gs[i].by);
	}
	free(s.gs);
	replay_free(r);
	free(r);
	return 0;
}
