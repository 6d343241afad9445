/*
 * view.c - the trace as Chrome Trace Event JSON, for Perfetto
 * (ui.perfetto.dev) and chrome://tracing.
 *
 * Layout:
 *   process 1 "Procs"    one track per P (tid p + 1; tid 0 for events of
 *                        threads without a P): a complete event ("X") per
 *                        goroutine run, "G<id> <name>", with nested
 *                        "syscall" slices and zero-length "unblock G<id>"
 *                        slices; instants ("i") for steals (victim, n),
 *                        preemptions and their requests, syscalls and their
 *                        hand-offs, global queue moves, netpoll wakes and
 *                        timer runs; counters ("C") Goroutines (running,
 *                        runnable, waiting) and Threads (running, parked,
 *                        in syscall).
 *   process 2 "Threads"  one track per M (tid mid + 1): "P<n>" while it
 *                        holds a P, with the goroutines it runs nested,
 *                        and "parked" while it sleeps in stopm.
 *   flows                "s" on each unblock's slice, "f" (bp "e") on the
 *                        run of the goroutine it made runnable, one id per
 *                        pair.
 * Timestamps are microseconds from the trace's first event, printed with
 * three decimals (the ns): exact, and never negative. Every name a user
 * gave goes through json_string, which escapes quotes, backslashes and
 * control characters and replaces bytes that are not UTF-8 with U+FFFD,
 * so the output is valid JSON whatever the names hold. A goroutine's
 * name goes into every slice of its runs (twice: its P's track and its
 * M's), so it is cut at NAME_MAX_VIEW bytes there, with "...": a
 * 1,024-byte name of control characters (six bytes of JSON each) made a
 * file of 134 KB into 317 MB of JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "gort_trace.h"

#define PID_PROCS 1
#define PID_THREADS 2
#define NAME_MAX_VIEW 64

struct mstate {
	bool seen, dead, parked;
	int64_t parked_since;
};

struct pview {
	int64_t run_since;  /* the running goroutine's slice start */
	int64_t sys_since;  /* its syscall's start, or -1 */
	int64_t held_since; /* its M's "P<n>" slice start */
	int32_t mid;        /* the M holding it, -1 none */
	int32_t run_mid;    /* the M the goroutine's slice is on */
};

struct view {
	FILE *f;
	const struct trace *t;
	bool first;
	uint64_t flows;
	struct mstate *m;   /* TOOL_MAX_M */
	struct pview p[TOOL_MAX_P];
	int alive, parked;  /* Ms seen and not stopped; of those, parked */
	int last_counts[6];
	bool have_counts;
};

/* --- JSON output ---------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	unsigned cp = c & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void json_chars(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else {
			size_t k = utf8_len(s + i, n - i);
			if (k == 0) {
				fputs("\\ufffd", f);
				i++;
			} else {
				fwrite(s + i, 1, k, f);
				i += k;
			}
		}
	}
}

static void json_string(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	json_chars(f, s, n);
	fputc('"', f);
}

/* "G<id> <name>", the name cut after NAME_MAX_VIEW bytes (at the start
 * of a UTF-8 character, where there is one within 3 bytes back). */
static void json_gname(FILE *f, const struct gor *g)
{
	fprintf(f, "\"G%llu", (unsigned long long)g->id);
	if (g->name != NULL) {
		fputc(' ', f);
		size_t n = g->namelen;
		if (n > NAME_MAX_VIEW) {
			n = NAME_MAX_VIEW;
			for (size_t k = 0; k < 3 && (g->name[n] & 0xc0) == 0x80; k++)
				n--;
		}
		json_chars(f, g->name, n);
		if (n < g->namelen)
			fputs("...", f);
	}
	fputc('"', f);
}

static void json_ts(FILE *f, const char *key, int64_t ns)
{
	fprintf(f, ",\"%s\":%lld.%03lld", key, (long long)(ns / 1000),
	        (long long)(ns % 1000));
}

/* begin opens one event: {"ph":..,"ts":..,"pid":..,"tid":.. */
static void begin(struct view *v, char ph, int64_t ts, int pid, int64_t tid)
{
	fputs(v->first ? "\n" : ",\n", v->f);
	v->first = false;
	fprintf(v->f, "{\"ph\":\"%c\"", ph);
	json_ts(v->f, "ts", ts - v->t->t0);
	fprintf(v->f, ",\"pid\":%d,\"tid\":%lld", pid, (long long)tid);
}

static int64_t ptid(int32_t p)
{
	return p < 0 ? 0 : (int64_t)p + 1;
}

static void slice_g(struct view *v, int pid, int64_t tid, const struct gor *g,
                    int64_t from, int64_t to, const char *end)
{
	begin(v, 'X', from, pid, tid);
	json_ts(v->f, "dur", to - from);
	fputs(",\"name\":", v->f);
	json_gname(v->f, g);
	fprintf(v->f, ",\"args\":{\"g\":%llu,\"end\":", (unsigned long long)g->id);
	json_string(v->f, end, strlen(end));
	fputs("}}", v->f);
}

static void slice(struct view *v, int pid, int64_t tid, const char *name,
                  int64_t from, int64_t to)
{
	begin(v, 'X', from, pid, tid);
	json_ts(v->f, "dur", to - from);
	fputs(",\"name\":", v->f);
	json_string(v->f, name, strlen(name));
	fputc('}', v->f);
}

static void instant(struct view *v, int64_t ts, int32_t p, const char *name,
                    const char *args)
{
	begin(v, 'i', ts, PID_PROCS, ptid(p));
	fprintf(v->f, ",\"s\":\"t\",\"name\":\"%s\",\"args\":{%s}}", name, args);
}

/* --- transitions ---------------------------------------------------------- */

static const char *stop_text(struct replay *r, const struct tr *tr)
{
	switch (tr->why) {
	case STOP_END: return "end";
	case STOP_BLOCK: return *reason_str(r, tr->reason)
	                        ? reason_str(r, tr->reason) : "block";
	case STOP_SCHED: return "gosched";
	case STOP_PREEMPT: return tr->implied ? "descheduled" : "preempted";
	case STOP_SYSBLOCK: return "syscall blocked";
	}
	return "";
}

static void end_syscall(struct view *v, int32_t p, int64_t ts)
{
	if (v->p[p].sys_since >= 0)
		slice(v, PID_PROCS, ptid(p), "syscall", v->p[p].sys_since, ts);
	v->p[p].sys_since = -1;
}

static void end_run(struct view *v, const struct gor *g, int32_t p, int64_t ts,
                    const char *why)
{
	struct pview *pv = &v->p[p];
	end_syscall(v, p, ts);
	slice_g(v, PID_PROCS, ptid(p), g, pv->run_since, ts, why);
	if (pv->run_mid >= 0)
		slice_g(v, PID_THREADS, (int64_t)pv->run_mid + 1, g, pv->run_since,
		        ts, why);
}

static void on_tr(void *ctx, struct replay *r, const struct tr *tr)
{
	struct view *v = ctx;
	struct gor *g = tr->g;
	char buf[64];
	switch (tr->kind) {
	case TR_PSTART:
		v->p[tr->p].mid = tr->mid;
		v->p[tr->p].held_since = tr->ts;
		break;
	case TR_PSTOP: {
		struct pview *pv = &v->p[tr->p];
		if (pv->mid >= 0) {
			snprintf(buf, sizeof(buf), "P%d", tr->p);
			slice(v, PID_THREADS, (int64_t)pv->mid + 1, buf,
			      pv->held_since, tr->ts);
		}
		pv->mid = -1;
		break;
	}
	case TR_START:
		v->p[tr->p].run_since = tr->ts;
		v->p[tr->p].run_mid = v->p[tr->p].mid;
		v->p[tr->p].sys_since = -1;
		if (g->user[0] != 0) {
			begin(v, 'f', tr->ts, PID_PROCS, ptid(tr->p));
			fprintf(v->f, ",\"bp\":\"e\",\"cat\":\"unblock\","
			        "\"name\":\"unblock\",\"id\":%llu}",
			        (unsigned long long)g->user[0]);
			g->user[0] = 0;
		}
		break;
	case TR_STOP:
		end_run(v, g, tr->p, tr->ts, stop_text(r, tr));
		break;
	case TR_SYSCALL:
		v->p[tr->p].sys_since = tr->ts;
		break;
	case TR_SYSEXIT:
		if (!tr->blocked && g->p >= 0)
			end_syscall(v, g->p, tr->ts);
		break;
	case TR_UNBLOCK:
		if (tr->implied)
			break;
		g->user[0] = ++v->flows;
		begin(v, 'X', tr->ts, PID_PROCS, ptid(tr->p));
		fprintf(v->f, ",\"dur\":0,\"name\":\"unblock G%llu\",\"args\":"
		        "{\"g\":%llu,\"by\":%llu}}", (unsigned long long)g->id,
		        (unsigned long long)g->id, (unsigned long long)tr->by);
		begin(v, 's', tr->ts, PID_PROCS, ptid(tr->p));
		fprintf(v->f, ",\"cat\":\"unblock\",\"name\":\"unblock\","
		        "\"id\":%llu}", (unsigned long long)g->user[0]);
		break;
	default:
		break;
	}
}

/* --- raw events: M tracks, instants, counters ---------------------------- */

static void on_m(struct view *v, const struct event *e)
{
	if (e->mid < 0)
		return;
	struct mstate *m = &v->m[e->mid];
	if (!m->seen)
		v->alive++;
	m->seen = true;
	switch (e->type) {
	case EvMStart:
		v->alive += m->dead;
		m->dead = false;
		break;
	case EvMStop:
		v->alive -= !m->dead;
		m->dead = true;
		/* A stopped M is not parked either. */
		/* fall through */
	case EvMUnpark:
		if (m->parked) {
			slice(v, PID_THREADS, (int64_t)e->mid + 1, "parked",
			      m->parked_since, e->ts);
			v->parked--;
		}
		m->parked = false;
		break;
	case EvMPark:
		if (!m->parked) {
			m->parked = true;
			m->parked_since = e->ts;
			v->parked++;
		}
		break;
	default:
		break;
	}
}

static void on_instant(struct view *v, const struct event *e)
{
	char args[96];
	unsigned long long a1 = e->args[1], a2 = e->args[2];
	switch (e->type) {
	case EvSteal:
		snprintf(args, sizeof(args), "\"victim\":%lld,\"n\":%llu",
		         a1 == UINT64_MAX ? -1LL : (long long)a1, a2);
		instant(v, e->ts, e->p, "steal", args);
		break;
	case EvGoPreempt:
	case EvPreemptReq:
		snprintf(args, sizeof(args), "\"g\":%llu,\"kind\":%llu", a1, a2);
		instant(v, e->ts, e->p, e->type == EvGoPreempt ? "preempt"
		                                               : "preempt request",
		        args);
		break;
	case EvGoSysCall:
	case EvGoSysBlock:
	case EvGoSysExit:
		snprintf(args, sizeof(args), "\"g\":%llu", a1);
		instant(v, e->ts, e->p, e->type == EvGoSysCall ? "syscall"
		        : e->type == EvGoSysBlock ? "syscall handoff" : "syscall exit",
		        args);
		break;
	case EvGlobRunqGet:
	case EvGlobRunqPut:
	case EvNetpollWake:
	case EvTimerFire:
		snprintf(args, sizeof(args), "\"n\":%llu", a1);
		instant(v, e->ts, e->p,
		        e->type == EvGlobRunqGet ? "global runq get"
		        : e->type == EvGlobRunqPut ? "global runq put"
		        : e->type == EvNetpollWake ? "netpoll wake" : "timers fired",
		        args);
		break;
	default:
		break;
	}
}

static void counters(struct view *v, struct replay *r, int64_t ts)
{
	int ms = v->alive, parked = v->parked;
	int sys = r->counts[G_SYSCALL] + r->counts[G_SYSBLOCKED];
	int run = ms - parked - sys;
	int c[6] = {r->counts[G_RUNNING] + r->counts[G_SYSCALL],
	            r->counts[G_RUNNABLE], r->counts[G_WAITING],
	            run > 0 ? run : 0, parked, sys};
	if (v->have_counts && memcmp(c, v->last_counts, sizeof(c)) == 0)
		return;
	if (!v->have_counts || memcmp(c, v->last_counts, 3 * sizeof(int)) != 0) {
		begin(v, 'C', ts, PID_PROCS, 0);
		fprintf(v->f, ",\"name\":\"Goroutines\",\"args\":{\"running\":%d,"
		        "\"runnable\":%d,\"waiting\":%d}}", c[0], c[1], c[2]);
	}
	if (!v->have_counts || memcmp(c + 3, v->last_counts + 3, 3 * sizeof(int)) != 0) {
		begin(v, 'C', ts, PID_PROCS, 0);
		fprintf(v->f, ",\"name\":\"Threads\",\"args\":{\"running\":%d,"
		        "\"parked\":%d,\"syscall\":%d}}", c[3], c[4], c[5]);
	}
	memcpy(v->last_counts, c, sizeof(c));
	v->have_counts = true;
}

static void on_event(void *ctx, struct replay *r, const struct event *e)
{
	struct view *v = ctx;
	on_m(v, e);
	on_instant(v, e);
	counters(v, r, e->ts);
}

/* --- the whole file ------------------------------------------------------- */

static void meta(struct view *v, int pid, int64_t tid, const char *what,
                 const char *name, int64_t sort)
{
	begin(v, 'M', v->t->t0, pid, tid);
	fprintf(v->f, ",\"name\":\"%s_name\",\"args\":{\"name\":\"%s\"}}", what, name);
	begin(v, 'M', v->t->t0, pid, tid);
	fprintf(v->f, ",\"name\":\"%s_sort_index\",\"args\":{\"sort_index\":%lld}}",
	        what, (long long)sort);
}

static void finish(struct view *v, struct replay *r)
{
	int64_t t1 = v->t->t1;
	for (int p = 0; p < TOOL_MAX_P; p++) {
		struct gor *g = r->p[p].g;
		if (g != NULL)
			end_run(v, g, p, t1, "end of trace");
		if (r->p[p].running && v->p[p].mid >= 0) {
			char buf[32];
			snprintf(buf, sizeof(buf), "P%d", p);
			slice(v, PID_THREADS, (int64_t)v->p[p].mid + 1, buf,
			      v->p[p].held_since, t1);
		}
	}
	char buf[32];
	meta(v, PID_PROCS, 0, "process", "Procs", 1);
	meta(v, PID_THREADS, 0, "process", "Threads", 2);
	meta(v, PID_PROCS, 0, "thread", "no P", 0);
	meta(v, PID_THREADS, 0, "thread", "not an M", 0);
	int np = v->t->maxp > v->t->gomaxprocs ? v->t->maxp : v->t->gomaxprocs;
	for (int p = 0; p < np; p++) {
		snprintf(buf, sizeof(buf), "P%d", p);
		meta(v, PID_PROCS, p + 1, "thread", buf, p + 1);
	}
	for (int i = 0; i < TOOL_MAX_M; i++) {
		if (!v->m[i].seen)
			continue;
		if (v->m[i].parked)
			slice(v, PID_THREADS, (int64_t)i + 1, "parked",
			      v->m[i].parked_since, t1);
		snprintf(buf, sizeof(buf), "M%d", i);
		meta(v, PID_THREADS, (int64_t)i + 1, "thread", buf, i + 1);
	}
}

int cmd_view(const struct trace *t, FILE *f)
{
	struct view *v = calloc(1, sizeof(*v));
	struct replay *r = calloc(1, sizeof(*r));
	if (v == NULL || r == NULL)
		die_oom();
	v->m = calloc(TOOL_MAX_M, sizeof(*v->m));
	if (v->m == NULL)
		die_oom();
	v->f = f;
	v->t = t;
	v->first = true;
	for (int p = 0; p < TOOL_MAX_P; p++)
		v->p[p] = (struct pview){.sys_since = -1, .mid = -1, .run_mid = -1};
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", f);
	replay_run(r, t, (struct consumer){.ctx = v, .on_tr = on_tr,
	                                   .on_event = on_event});
	finish(v, r);
	fputs("\n]}\n", f);
	replay_free(r);
	free(r);
	free(v->m);
	free(v);
	return ferror(f) ? 1 : 0;
}
