/*
 * read.c - parse a gort trace file into events sorted by time.
 *
 * The file is untrusted input (it may be truncated, a flight recorder
 * dump, or not a trace at all), so every byte read is bounds-checked and
 * every id the later stages index with is range-checked here: P ids in
 * [-1, TOOL_MAX_P), M ids in [-1, TOOL_MAX_M), timestamps below
 * TOOL_MAX_TS. A file that fails any check is rejected as a whole with a
 * message naming the offset; the later stages may then trust the ranges
 * (but not the meaning: events may contradict each other).
 *
 * Each batch is decoded on its own, from its EvBatch on: its registers
 * (P, G, the last goroutine id) fill in the arguments the file leaves
 * out, so every event comes out with all its arguments, as
 * trace_format.h lists them; a GoCreate's site is resolved, once the
 * whole file is read, into a name (args[3]) and a pc (args[4]).
 * Timestamps come out in ns.
 *
 * Events are sorted by (timestamp, batch, index in batch): one clock for
 * every thread, and the file's own order for ties within a thread. Ties
 * across threads then follow the format's rule: events of one goroutine
 * in the order of their sequence numbers (order_ties).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gort_trace.h"

/* Which argument (index into args) is a P, and which an M, per type. */
static int p_arg(int type)
{
	switch (type) {
	case EvProcStart: case EvProcStop: case EvGoCreate: case EvGoStart:
	case EvGoEnd: case EvGoBlock: case EvGoUnblock: case EvGoSched:
	case EvGoPreempt: case EvGoSysCall: case EvGoSysExit:
	case EvGoSysBlock: case EvSteal: case EvGlobRunqGet:
	case EvGlobRunqPut: case EvNetpollWake: case EvTimerFire:
	case EvPreemptReq:
		return 0;
	default:
		return -1;
	}
}

static int m_arg(int type)
{
	switch (type) {
	case EvProcStart: case EvProcStop:
		return 1;
	case EvMStart: case EvMStop: case EvMPark: case EvMUnpark:
		return 0;
	default:
		return -1;
	}
}

struct reader {
	const unsigned char *b;
	size_t n, off;
	char *err;
	size_t errlen;
};

static int fail(struct reader *rd, const char *fmt, ...)
{
	int k = snprintf(rd->err, rd->errlen, "offset %zu: ", rd->off);
	if (k < 0 || (size_t)k >= rd->errlen)
		k = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rd->err + k, rd->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int read_varint(struct reader *rd, uint64_t *v)
{
	uint64_t x = 0;
	for (int i = 0; i < 10; i++) {
		if (rd->off >= rd->n)
			return fail(rd, "truncated varint");
		unsigned char c = rd->b[rd->off++];
		if (i == 9 && c > 1)
			return fail(rd, "varint overflows 64 bits");
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return fail(rd, "varint longer than 10 bytes");
}

/* An id read as uint64: -1 (UINT64_MAX) or below max. */
static int check_id(struct reader *rd, uint64_t v, uint64_t max,
                    const char *what, int32_t *out)
{
	if (v == UINT64_MAX) {
		*out = -1;
		return 0;
	}
	if (v >= max)
		return fail(rd, "%s id %llu out of range", what,
		            (unsigned long long)v);
	*out = (int32_t)v;
	return 0;
}

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->batch != y->batch)
		return x->batch < y->batch ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Strings and sites: records whose first member is their uint64_t id. */
static uint64_t id_of(const void *rec)
{
	uint64_t id;
	memcpy(&id, rec, sizeof id);
	return id;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = id_of(a), y = id_of(b);
	return x < y ? -1 : x > y;
}

/* Sorts n records of size sz by id; fails on an id defined twice. */
static int sort_ids(struct reader *rd, void *recs, size_t n, size_t sz, const char *what)
{
	if (n == 0)
		return 0;
	qsort(recs, n, sz, cmp_id);
	for (size_t i = 1; i < n; i++) {
		uint64_t id = id_of((char *)recs + i * sz);
		if (id == id_of((char *)recs + (i - 1) * sz))
			return fail(rd, "%s id %llu defined twice", what, (unsigned long long)id);
	}
	return 0;
}

/* The goroutine and seq of an event that has a seq. */
static bool seq_of(const struct event *e, uint64_t *g, uint64_t *seq)
{
	switch (e->type) {
	case EvGoStart: case EvGoUnblock: case EvGoSysExit:
		*g = e->args[1];
		*seq = e->args[2];
		return true;
	case EvGoWaiting: case EvGoInSyscall:
		*g = e->args[0];
		*seq = e->args[1];
		return true;
	default:
		return false;
	}
}

/* Events at or after `from` in [from, end) of other batches than b that
 * carry a seq of g below seq: they must come first. */
static bool seq_waits(const struct event *from, const struct event *end,
                      uint32_t b, uint64_t g, uint64_t seq)
{
	for (const struct event *e = from; e < end; e++) {
		uint64_t g2, s2;
		if (e->batch != b && seq_of(e, &g2, &s2) && g2 == g && s2 < seq)
			return true;
	}
	return false;
}

enum { TIE_MAX = 64 }; /* longer runs of one timestamp keep file order */

/* ev[0..n), one timestamp, sorted by (batch, index): merge the batches
 * so that each keeps its order and, among their next events, one whose
 * goroutine has an event with a lower seq still to come in another batch
 * waits for it (a 16 ns unit makes such ties common enough to matter). */
static void order_run(struct event *ev, size_t n)
{
	struct event out[TIE_MAX];
	size_t head[TIE_MAX], end[TIE_MAX], nb = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || ev[i].batch != ev[i - 1].batch) {
			head[nb] = i;
			nb++;
		}
		end[nb - 1] = i + 1;
	}
	for (size_t k = 0; k < n; k++) {
		size_t pick = nb;
		for (size_t b = 0; b < nb && pick == nb; b++) {
			if (head[b] == end[b])
				continue;
			const struct event *h = &ev[head[b]];
			uint64_t g, seq;
			bool waits = false;
			for (size_t o = 0; o < nb && !waits; o++)
				if (o != b && head[o] < end[o])
					waits = seq_of(h, &g, &seq) &&
					        seq_waits(&ev[head[o]], &ev[end[o]], h->batch, g, seq);
			if (!waits)
				pick = b;
		}
		for (size_t b = 0; b < nb && pick == nb; b++)
			if (head[b] < end[b])
				pick = b; /* every head waits: file order */
		out[k] = ev[head[pick]++];
	}
	memcpy(ev, out, n * sizeof(*ev));
}

static void order_ties(struct trace *t)
{
	for (size_t i = 0; i < t->n;) {
		size_t j = i + 1;
		while (j < t->n && t->ev[j].ts == t->ev[i].ts)
			j++;
		if (j - i > 1 && j - i <= TIE_MAX && t->ev[i].batch != t->ev[j - 1].batch)
			order_run(t->ev + i, j - i);
		i = j;
	}
}

struct site {
	uint64_t id; /* first: see id_of */
	uint64_t name, pc;
};

struct sites {
	struct site *s;
	size_t n, cap;
};

static int read_site(struct reader *rd, struct sites *st)
{
	struct site s;
	if (read_varint(rd, &s.id) < 0 || read_varint(rd, &s.name) < 0 ||
	    read_varint(rd, &s.pc) < 0)
		return -1;
	if (s.id == 0)
		return fail(rd, "site id 0");
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->s = xrealloc(st->s, st->cap * sizeof(*st->s));
	}
	st->s[st->n++] = s;
	return 0;
}

/* GoCreate's site id (args[3]) becomes the site's name and pc; an
 * unknown site (a file cut short) names nothing. */
static int resolve_sites(struct reader *rd, struct trace *t, struct sites *st)
{
	if (sort_ids(rd, st->s, st->n, sizeof(*st->s), "site") < 0)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		struct event *e = &t->ev[i];
		if (e->type != EvGoCreate)
			continue;
		struct site key = {.id = e->args[3]};
		const struct site *s = e->args[3] == 0 || st->n == 0 ? NULL
		        : bsearch(&key, st->s, st->n, sizeof(*st->s), cmp_id);
		e->args[3] = s ? s->name : 0;
		e->args[4] = s ? s->pc : 0;
	}
	return 0;
}

static int read_string(struct reader *rd, struct trace *t, size_t *cap)
{
	uint64_t id, len;
	if (read_varint(rd, &id) < 0 || read_varint(rd, &len) < 0)
		return -1;
	if (id == 0)
		return fail(rd, "string id 0");
	if (len > TRACE_STRING_MAX)
		return fail(rd, "string of %llu bytes", (unsigned long long)len);
	if (len > rd->n - rd->off)
		return fail(rd, "truncated string");
	if (t->nstr == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		t->str = xrealloc(t->str, *cap * sizeof(*t->str));
	}
	char *s = xrealloc(NULL, len + 1);
	memcpy(s, rd->b + rd->off, len);
	s[len] = '\0';
	rd->off += len;
	t->str[t->nstr++] = (struct trace_string){id, len, s};
	return 0;
}

/* The batch being decoded: where it is and its registers. */
struct batch {
	bool in;
	uint32_t n, index;
	uint64_t ts;        /* units */
	int32_t mid;
	uint64_t p, g, lastgid;
};

/* One argument of kind k into *v. */
static int read_arg(struct reader *rd, struct batch *b, int k, uint64_t *v)
{
	uint64_t x = 0;
	if ((k == TA_U || k == TA_ID || k == TA_GID) && read_varint(rd, &x) < 0)
		return -1;
	switch (k) {
	case TA_ID:
		*v = x - 1; /* 0: -1 */
		break;
	case TA_GID:
		b->lastgid += (x >> 1) ^ -(x & 1);
		*v = b->lastgid;
		break;
	case TA_P:
		*v = b->p;
		break;
	case TA_G:
		*v = b->g;
		break;
	default:
		*v = x;
		break;
	}
	return 0;
}

/* The header, the first rd->n bytes of the file (all of them, or the
 * first TRACE_HEADER_LEN: read_file checks it before it reads on). */
static int check_header(struct reader *rd)
{
	if (rd->n < TRACE_HEADER_LEN ||
	    memcmp(rd->b, TRACE_MAGIC, sizeof(TRACE_MAGIC) - 1) != 0)
		return fail(rd, "not a gort trace (bad header)");
	for (size_t i = sizeof(TRACE_MAGIC) - 1; i < TRACE_HEADER_UNIT; i++)
		if (rd->b[i] != 0)
			return fail(rd, "not a gort trace (bad header padding)");
	if (rd->b[TRACE_HEADER_UNIT] > TRACE_UNIT_MAX)
		return fail(rd, "time unit 2^%u ns out of range", rd->b[TRACE_HEADER_UNIT]);
	return 0;
}

static int parse(struct reader *rd, struct trace *t, struct sites *st)
{
	if (check_header(rd) < 0)
		return -1;
	unsigned unit = rd->b[TRACE_HEADER_UNIT];
	uint64_t maxts = TOOL_MAX_TS >> unit;
	rd->off = TRACE_HEADER_LEN;

	size_t cap = 0, scap = 0;
	struct batch b = {0};
	while (rd->off < rd->n) {
		size_t at = rd->off;
		unsigned byte = rd->b[rd->off++];
		int type = TRACE_TYPE(byte);
		unsigned dtc = byte >> TRACE_DTC_SHIFT;
		if (type == EvNone || (!trace_ev_timed(type) && dtc != 0)) {
			rd->off = at;
			return fail(rd, "unknown event type byte 0x%02x", byte);
		}
		if (type == EvString) {
			if (read_string(rd, t, &scap) < 0)
				return -1;
			continue;
		}
		if (type == EvSite) {
			if (read_site(rd, st) < 0)
				return -1;
			continue;
		}
		if (type == EvBatch) {
			uint64_t tid, mid;
			if (read_varint(rd, &tid) < 0 || read_varint(rd, &mid) < 0 ||
			    read_varint(rd, &b.ts) < 0)
				return -1;
			if (check_id(rd, mid - 1, TOOL_MAX_M, "M", &b.mid) < 0)
				return -1;
			if (b.ts >= maxts)
				return fail(rd, "batch timestamp out of range");
			b.in = true;
			b.n++;
			b.index = 0;
			b.p = UINT64_MAX;
			b.g = 0;
			b.lastgid = 0;
			continue;
		}
		if (!b.in)
			return fail(rd, "event before the first batch");
		if (type == EvSetP || type == EvSetG) {
			uint64_t v;
			int32_t p;
			if (read_arg(rd, &b, trace_ev_args[type][0], &v) < 0)
				return -1;
			if (type == EvSetG)
				b.g = v;
			else if (check_id(rd, v, TOOL_MAX_P, "P", &p) < 0)
				return -1;
			else
				b.p = v;
			continue;
		}
		uint64_t dt = dtc;
		if (dtc == TRACE_DTC_VARINT && read_varint(rd, &dt) < 0)
			return -1;
		if (dt >= maxts - b.ts)
			return fail(rd, "timestamp out of range");
		b.ts += dt;
		struct event e = {.ts = (int64_t)(b.ts << unit), .type = (uint8_t)type,
		                  .p = -1, .mid = b.mid, .batch = b.n,
		                  .index = b.index++};
		for (int i = 0; i < trace_ev_nargs(type); i++)
			if (read_arg(rd, &b, trace_ev_args[type][i], &e.args[i]) < 0)
				return -1;
		if (type == EvGoStart)
			b.g = e.args[1];
		int pa = p_arg(type), ma = m_arg(type);
		if (pa >= 0 && check_id(rd, e.args[pa], TOOL_MAX_P, "P", &e.p) < 0)
			return -1;
		if (ma >= 0 && check_id(rd, e.args[ma], TOOL_MAX_M, "M", &e.mid) < 0)
			return -1;
		int32_t victim;
		if (type == EvSteal &&
		    check_id(rd, e.args[1], TOOL_MAX_P, "victim P", &victim) < 0)
			return -1;
		if (type == EvGomaxprocs && e.args[0] > TOOL_MAX_P)
			return fail(rd, "GOMAXPROCS %llu out of range",
			            (unsigned long long)e.args[0]);
		if (t->n == cap) {
			cap = cap ? cap * 2 : 1024;
			t->ev = xrealloc(t->ev, cap * sizeof(*t->ev));
		}
		t->ev[t->n++] = e;
	}
	if (t->n == 0)
		return fail(rd, "no events");
	if (resolve_sites(rd, t, st) < 0)
		return -1;
	qsort(t->ev, t->n, sizeof(*t->ev), cmp_event);
	order_ties(t);
	if (sort_ids(rd, t->str, t->nstr, sizeof(*t->str), "string") < 0)
		return -1;
	t->t0 = t->ev[0].ts;
	t->t1 = t->ev[t->n - 1].ts;
	for (size_t i = 0; i < t->n; i++) {
		const struct event *e = &t->ev[i];
		if (e->type == EvGomaxprocs && t->gomaxprocs == 0)
			t->gomaxprocs = (int)e->args[0];
		if (e->p >= t->maxp)
			t->maxp = e->p + 1;
		if (e->type == EvSteal && (int64_t)e->args[1] >= t->maxp &&
		    e->args[1] != UINT64_MAX)
			t->maxp = (int)e->args[1] + 1;
	}
	return 0;
}

/* Reads the whole file, once its header has been found to be a trace's:
 * a file that is not one (/dev/zero, a pipe that does not end, a core
 * file named by mistake) is rejected by its first bytes, not read whole
 * into memory, or waited on, first. */
static int read_file(const char *path, unsigned char **buf, size_t *len,
                     char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	errno = 0;
	size_t cap = 1 << 16;
	unsigned char *b = xrealloc(NULL, cap);
	/* The header alone: fread waits for all it asks for. */
	size_t n = fread(b, 1, TRACE_HEADER_LEN, f);
	struct reader rd = {.b = b, .n = n, .err = err, .errlen = errlen};
	int r = ferror(f) ? 0 : check_header(&rd);
	while (r == 0 && !ferror(f)) {
		if (n == cap) {
			cap *= 2;
			b = xrealloc(b, cap);
		}
		size_t k = fread(b + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	if (r == 0 && ferror(f)) {
		/* Why: a directory, an I/O error. */
		snprintf(err, errlen, "%s", errno ? strerror(errno) : "read error");
		r = -1;
	}
	fclose(f);
	if (r < 0) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

int trace_read(const char *path, struct trace *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	unsigned char *b;
	size_t n;
	if (read_file(path, &b, &n, err, errlen) < 0)
		return -1;
	struct reader rd = {.b = b, .n = n, .err = err, .errlen = errlen};
	struct sites st = {0};
	int r = parse(&rd, t, &st);
	free(st.s);
	free(b);
	if (r < 0)
		trace_free(t);
	return r;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nstr; i++)
		free(t->str[i].s);
	free(t->str);
	free(t->ev);
	memset(t, 0, sizeof(*t));
}

const char *trace_str(const struct trace *t, uint64_t id, size_t *len)
{
	size_t lo = 0, hi = t->nstr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->str[mid].id == id) {
			if (len)
				*len = t->str[mid].len;
			return t->str[mid].s;
		}
		if (t->str[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (len)
		*len = 0;
	return "";
}
