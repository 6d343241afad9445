/*
 * trace_test.c - the execution tracer, the flight recorder and the
 * runtime counters, checked through the files they write.
 *
 * A small reader of its own (nothing shared with the gort-trace tool)
 * parses a trace completely: the header, every batch with its registers,
 * every event with the arguments of its type (the implicit ones filled
 * in, as the v1 format wrote them all), strings and sites; any byte left
 * over or any varint running past the end fails the parse. Known
 * workloads must then produce known events:
 *  - basic: a named goroutine created by main, started, blocked on a
 *    channel receive ("chan receive"), unblocked by main (the sender),
 *    ended, in that time order; main in a syscall (GoSysCall, GoSysExit);
 *    the snapshot (Gomaxprocs, main created and running);
 *  - steal: at GOMAXPROCS=2 main spawns busy goroutines onto its own P
 *    while the other P is idle: a Steal from main's P;
 *  - runend: a trace left running when gort_main returns is complete;
 *  - flight: a workload longer than the ring; the dump parses and is no
 *    larger than the ring + one buffer per thread + the strings;
 *  - flight_dumps: hundreds of dumps, each handing small partial
 *    buffers to the ring, leave it holding about its size;
 *  - flight_resize: a dump begins with the GOMAXPROCS of its oldest
 *    event, not of the dump, and says the change;
 *  - dump_preempted: dumps in a loop beside GOMAXPROCS changes (stops
 *    of the world) and churn never hang, and no hand-off of the dumping
 *    goroutine's P loses its events;
 *  - after every stop (basic, steal, flight) no thread keeps a staging
 *    buffer;
 *  - longname: goroutines of one name longer than TRACE_STRING_MAX share
 *    one string, cut to that length;
 *  - errors: EINVAL, EBUSY, ENOENT, ESRCH;
 *  - stats: the counters move;
 *  - detached: a goroutine that the preemption signal detached from its
 *    P takes one back in gort_read_stats and in each gort_trace_* call;
 *  - handoff: an unlock in starvation mode that hands the mutex over
 *    and yields its P to the waiter (GOMAXPROCS=1) records main's
 *    GoPreempt before the waiter's GoStart, as Go's goyield;
 *  - resize: GOMAXPROCS 2 -> 1 called from P1, which goes away: the
 *    new count is an EvGomaxprocs, and main is descheduled on P1, which
 *    stops, and started again on P0, as Go's procresize traces it;
 *  - flight_syscall: a P retaken from a call made before the flight
 *    recorder started: its GoSysBlock names the caller;
 *  - resize_queue: the goroutines queued on a P that GOMAXPROCS takes
 *    away are counted into the global queue (GlobRunqPut);
 *  - locked_park: the M of a locked goroutine that blocks sleeps
 *    (MPark) and wakes (MUnpark) around its goroutine's wait;
 *  - stw_syscall: a stop of the world that stops a P left in a call
 *    writes the call's GoSysBlock;
 *  - flight_detach: a P handed off from the preemption signal handler
 *    on a thread that has written nothing since a flight dump: its
 *    GoSysCall and ProcStop are in the next dump;
 *  - park_abort: a park that its commit calls off is unblocked by no
 *    goroutine, on gopark's direct path too;
 *  - clock: every event's timestamp lies within 20 µs of the clock read
 *    around it, while the first (clock, ticks) pair of every anchor is
 *    read as if its thread was away for 300 µs between the two reads.
 */
#include "harness.h"

#include <stdatomic.h>
#include <sys/stat.h>

#include "gort_util.h"
#include "runtime.h"
#include "trace.h"

/* ---- the reader ---- */

typedef struct tev {
	uint8_t type;
	int64_t ts;
	uint64_t tid, mid;
	int batch;
	uint64_t a[5];
} tev;

typedef struct tr {
	tev *ev;
	size_t n, cap;
	char *str[4096];
	uint64_t sitename[4096], sitepc[4096];
	int nbatches;
	uint64_t tids[256];
	int ntids;
} tr;

static bool getvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 10; i++) {
		if (*p >= end)
			return false;
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static void tr_add(tr *t, tev e)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->ev = realloc(t->ev, t->cap * sizeof *t->ev);
		CHECK(t->ev != NULL);
	}
	t->ev[t->n++] = e;
}

/* One argument of kind k (trace_format.h); reg: the batch's P, G, L. */
static bool getarg(const uint8_t **p, const uint8_t *end, int k, uint64_t reg[3], uint64_t *v)
{
	uint64_t x = 0;
	if ((k == TA_U || k == TA_ID || k == TA_GID) && !getvarint(p, end, &x))
		return false;
	*v = k == TA_ID    ? x - 1
	     : k == TA_GID ? (reg[2] += (x >> 1) ^ -(x & 1))
	     : k == TA_P   ? reg[0]
	     : k == TA_G   ? reg[1]
	                   : x;
	return true;
}

/* Parse the whole file; false (with a message) if anything is wrong.
 * Timestamps come out in ns; GoCreate's site as a[3] name, a[4] pc. */
static bool tr_parse(const uint8_t *d, size_t len, tr *t)
{
	memset(t, 0, sizeof *t);
	if (len < TRACE_HEADER_LEN || memcmp(d, TRACE_MAGIC, sizeof TRACE_MAGIC - 1) != 0) {
		fprintf(stderr, "bad header\n");
		return false;
	}
	unsigned unit = d[TRACE_HEADER_UNIT];
	const uint8_t *p = d + TRACE_HEADER_LEN, *end = d + len;
	bool inbatch = false;
	tev cur = {0};
	uint64_t ts = 0, reg[3] = {0}; /* units; P, G, L */
	while (p < end) {
		uint8_t type = TRACE_TYPE(*p), dtc = *p >> TRACE_DTC_SHIFT;
		p++;
		if (type == EvBatch) {
			if (!getvarint(&p, end, &cur.tid) || !getvarint(&p, end, &cur.mid) ||
			    !getvarint(&p, end, &ts))
				return fprintf(stderr, "short batch header\n"), false;
			cur.mid--;
			cur.ts = (int64_t)(ts << unit);
			cur.batch = t->nbatches++;
			inbatch = true;
			reg[0] = UINT64_MAX;
			reg[1] = reg[2] = 0;
			bool seen = false;
			for (int i = 0; i < t->ntids; i++)
				seen |= t->tids[i] == cur.tid;
			if (!seen && t->ntids < 256)
				t->tids[t->ntids++] = cur.tid;
			continue;
		}
		if (type == EvString) {
			uint64_t id, n;
			if (!getvarint(&p, end, &id) || !getvarint(&p, end, &n) || id == 0 ||
			    n > TRACE_STRING_MAX || (uint64_t)(end - p) < n)
				return fprintf(stderr, "bad string\n"), false;
			if (id < 4096) {
				if (t->str[id])
					return fprintf(stderr, "string id %d twice\n", (int)id), false;
				t->str[id] = strndup((const char *)p, n);
			}
			p += n;
			continue;
		}
		if (type == EvSite) {
			uint64_t id, name, pc;
			if (!getvarint(&p, end, &id) || !getvarint(&p, end, &name) ||
			    !getvarint(&p, end, &pc) || id == 0)
				return fprintf(stderr, "bad site\n"), false;
			if (id < 4096) {
				t->sitename[id] = name;
				t->sitepc[id] = pc;
			}
			continue;
		}
		if (type == EvNone || !inbatch || (!trace_ev_timed(type) && dtc != 0))
			return fprintf(stderr, "bad event type %d at %zu\n", type,
			               (size_t)(p - 1 - d)), false;
		if (type == EvSetP || type == EvSetG) {
			uint64_t v;
			if (!getarg(&p, end, trace_ev_args[type][0], reg, &v))
				return fprintf(stderr, "short register\n"), false;
			reg[type == EvSetP ? 0 : 1] = v;
			continue;
		}
		uint64_t dt = dtc;
		if (dtc == TRACE_DTC_VARINT && !getvarint(&p, end, &dt))
			return fprintf(stderr, "short event\n"), false;
		ts += dt;
		tev e = cur;
		e.type = type;
		e.ts = cur.ts = (int64_t)(ts << unit);
		for (int i = 0; i < trace_ev_nargs(type); i++)
			if (!getarg(&p, end, trace_ev_args[type][i], reg, &e.a[i]))
				return fprintf(stderr, "short args of %s\n", trace_ev_names[type]), false;
		if (type == EvGoStart)
			reg[1] = e.a[1];
		tr_add(t, e);
	}
	for (size_t i = 0; i < t->n; i++) {
		tev *e = &t->ev[i];
		if (e->type == EvGoCreate) {
			uint64_t site = e->a[3] < 4096 ? e->a[3] : 0;
			e->a[3] = t->sitename[site];
			e->a[4] = t->sitepc[site];
		}
	}
	return true;
}

static void tr_free(tr *t)
{
	free(t->ev);
	for (int i = 0; i < 4096; i++)
		free(t->str[i]);
}

static size_t read_file(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*out = malloc((size_t)n + 1);
	CHECK(*out != NULL);
	CHECK_EQ(fread(*out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (size_t)n;
}

static void load(const char *path, tr *t)
{
	uint8_t *d;
	size_t n = read_file(path, &d);
	CHECK(tr_parse(d, n, t));
	free(d);
}

/* The earliest event of type ty about goroutine g (argument index gi),
 * at or after time ts; NULL if none. (Batches are in no order.) */
static tev *find(tr *t, uint8_t ty, int gi, uint64_t g, int64_t ts)
{
	tev *best = NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->ev[i].type == ty && (gi < 0 || t->ev[i].a[gi] == g) && t->ev[i].ts >= ts &&
		    (!best || t->ev[i].ts < best->ts))
			best = &t->ev[i];
	return best;
}


static const char *tr_str(tr *t, uint64_t id)
{
	return id < 4096 && t->str[id] ? t->str[id] : "";
}

static char path[256];

static void tmppath(const char *tag)
{
	snprintf(path, sizeof path, "%s/gort_trace_test_%d_%s", P_tmpdir, (int)getpid(), tag);
}

/* Run fn at procs Ps with path named for tag, load the trace it wrote
 * there into *t, and remove the file. */
static void run_and_load(const char *tag, int (*fn)(void *), int procs, tr *t)
{
	tmppath(tag);
	run_main(fn, NULL, procs);
	load(path, t);
	unlink(path);
}

/* ---- basic ---- */

static gort_chan *bc;
static gort_waitgroup bwg;

static void receiver(void *arg)
{
	(void)arg;
	int v = 0;
	CHECK_EQ(gort_chan_recv(bc, &v), 1);
	CHECK_EQ(v, 42);
	gort_wg_done(&bwg);
}

static int64_t rgoid, maingoid;

struct parked_query {
	int64_t goid;
	waitreason reason;
	bool parked;
	bool found;        /* the goroutine still exists */
	uint32_t status;   /* and its status and wait reason, last seen */
	waitreason seen;
};

/* Racy: the goroutine may be parking as we look; a stale wait reason
 * only puts the match off to the next look. */
static RACY void find_waiting(g *gp, void *arg)
{
	struct parked_query *q = arg;
	if (gp->goid != q->goid)
		return;
	q->found = true;
	q->status = readgstatus(gp);
	q->seen = (waitreason)gp->waitreason;
	if (q->status == _Gwaiting && q->seen == q->reason)
		q->parked = true;
}

/* Sleep until goroutine goid is parked for reason. A failure says what
 * the goroutine was doing instead. */
static void wait_parked_for(int64_t goid, waitreason reason)
{
	struct parked_query q;
	for (int i = 0; i < 10000; i++) {
		q = (struct parked_query){.goid = goid, .reason = reason};
		forEachG(find_waiting, &q);
		if (q.parked)
			return;
		gort_sleep(1000 * 1000);
	}
	if (!q.found)
		FAILF("goroutine %lld never parked [%s]: it has ended", (long long)goid,
		      waitreason_strings[reason]);
	FAILF("goroutine %lld never parked [%s]: status %u, wait reason [%s]", (long long)goid,
	      waitreason_strings[reason], q.status, waitreason_strings[q.seen]);
}

/* Sleep until the receiver is parked on the channel. */
static void wait_receiver_parked(void)
{
	wait_parked_for(rgoid, waitReasonChanReceive);
}

static int basic_main(void *arg)
{
	(void)arg;
	maingoid = gort_goid();
	CHECK_EQ(gort_trace_start(path), 0);
	bc = gort_chan_make(sizeof(int), 0);
	gort_wg_add(&bwg, 1);
	gort_attr at = {.name = "receiver"};
	rgoid = gort_go_attr(receiver, NULL, &at);
	CHECK(rgoid > 0);
	gort_sleep(1000 * 1000);
	wait_receiver_parked();
	int v = 42;
	CHECK_EQ(gort_chan_send(bc, &v), 0);
	gort_wg_wait(&bwg);
	gort_entersyscall();
	usleep(2000);
	gort_exitsyscall();
	CHECK_EQ(gort_trace_stop(), 0);
	CHECK_EQ(trace_staged_bytes(), 0); /* no thread keeps its buffer */
	gort_chan_free(bc);
	return 0;
}

static void basic(void)
{
	tr t;
	run_and_load("basic", basic_main, 2, &t);
	CHECK(t.n > 0);
	/* The snapshot: procs, main created and running. */
	tev *e = find(&t, EvGomaxprocs, -1, 0, INT64_MIN);
	CHECK(e != NULL);
	CHECK_EQ(e->a[0], 2);
	tev *mc = find(&t, EvGoCreate, 1, (uint64_t)maingoid, INT64_MIN);
	CHECK(mc != NULL);
	CHECK_EQ(strcmp(tr_str(&t, mc->a[3]), "main"), 0);
	/* ... and running, in the snapshot's batch, right after. */
	CHECK(mc + 1 < t.ev + t.n);
	CHECK_EQ(mc[1].type, EvGoStart);
	CHECK_EQ(mc[1].a[1], (uint64_t)maingoid);
	CHECK_EQ(mc[1].batch, mc->batch);
	/* The receiver's life. */
	tev *c = find(&t, EvGoCreate, 1, (uint64_t)rgoid, INT64_MIN);
	CHECK(c != NULL);
	CHECK_EQ(c->a[2], (uint64_t)maingoid);
	CHECK_EQ(strcmp(tr_str(&t, c->a[3]), "receiver"), 0);
	tev *s = find(&t, EvGoStart, 1, (uint64_t)rgoid, c->ts);
	CHECK(s != NULL);
	tev *b = find(&t, EvGoBlock, 1, (uint64_t)rgoid, s->ts);
	CHECK(b != NULL);
	CHECK_EQ(strcmp(tr_str(&t, b->a[2]), "chan receive"), 0);
	tev *u = find(&t, EvGoUnblock, 1, (uint64_t)rgoid, b->ts);
	CHECK(u != NULL);
	CHECK_EQ(u->a[3], (uint64_t)maingoid);
	CHECK(u->a[2] > s->a[2]); /* seq grows */
	tev *s2 = find(&t, EvGoStart, 1, (uint64_t)rgoid, u->ts);
	CHECK(s2 != NULL);
	CHECK(s2->a[2] > u->a[2]);
	CHECK(find(&t, EvGoEnd, 1, (uint64_t)rgoid, s2->ts) != NULL);
	/* main slept, then made the call. */
	tev *sl = find(&t, EvGoBlock, 1, (uint64_t)maingoid, INT64_MIN);
	CHECK(sl != NULL);
	CHECK_EQ(strcmp(tr_str(&t, sl->a[2]), "sleep"), 0);
	tev *sc = find(&t, EvGoSysCall, 1, (uint64_t)maingoid, u->ts);
	CHECK(sc != NULL);
	CHECK(find(&t, EvGoSysExit, 1, (uint64_t)maingoid, sc->ts) != NULL);
	CHECK(find(&t, EvProcStart, -1, 0, INT64_MIN) != NULL);
	tr_free(&t);
}

/* ---- steal ---- */

static gort_waitgroup swg;

static void busy(void *arg)
{
	(void)arg;
	int64_t t0 = gort_nanotime();
	while (gort_nanotime() - t0 < 2 * 1000 * 1000)
		;
	gort_wg_done(&swg);
}

static int steal_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_start(path), 0);
	enum { N = 32 };
	gort_wg_add(&swg, N);
	for (int i = 0; i < N; i++)
		CHECK(gort_go(busy, NULL) > 0);
	gort_wg_wait(&swg);
	gort_stats st;
	CHECK_EQ(gort_read_stats(&st), 0);
	CHECK(st.steals_won > 0);
	CHECK(st.steals_tried >= st.steals_won);
	CHECK_EQ(gort_trace_stop(), 0);
	CHECK_EQ(trace_staged_bytes(), 0); /* both Ps' threads emitted */
	return 0;
}

static void steal(void)
{
	tr t;
	run_and_load("steal", steal_main, 2, &t);
	tev *e = find(&t, EvSteal, -1, 0, INT64_MIN);
	CHECK(e != NULL);
	CHECK(e->a[0] != e->a[1]);
	CHECK(e->a[2] >= 1);
	tr_free(&t);
}

/* ---- handoff ---- */

static gort_mutex hmu;
static gort_waitgroup hwg;
static atomic_bool handed_ran;
static int64_t hgoid;

static void handed(void *arg)
{
	(void)arg;
	gort_mutex_lock(&hmu);
	atomic_store(&handed_ran, true);
	gort_mutex_unlock(&hmu);
	gort_wg_done(&hwg);
}

/* At GOMAXPROCS=1: the waiter parks on the mutex main holds and waits
 * over 1 ms; main's unlock wakes it, and main locks again before it
 * runs; the waiter then finds the mutex held, turns it starving and
 * parks again. main's next unlock hands the mutex over and yields. */
static int handoff_main(void *arg)
{
	(void)arg;
	maingoid = gort_goid();
	CHECK_EQ(gort_trace_start(path), 0);
	gort_mutex_lock(&hmu);
	gort_wg_add(&hwg, 1);
	hgoid = gort_go(handed, NULL);
	CHECK(hgoid > 0);
	wait_parked_for(hgoid, waitReasonSyncMutexLock);
	gort_sleep(2 * 1000 * 1000);
	/* Not at the end of a time slice (a slow build's, inherited through
	 * runnext): preempted between the two, main would let the waiter
	 * take the mutex and finish. */
	gort_preempt_off();
	gort_mutex_unlock(&hmu);
	gort_mutex_lock(&hmu);
	gort_preempt_on();
	gort_sleep(1000 * 1000);
	wait_parked_for(hgoid, waitReasonSyncMutexLock);
	CHECK(hmu.state & 4); /* starving */
	gort_mutex_unlock(&hmu);
	CHECK(atomic_load(&handed_ran)); /* it ran in our place */
	gort_wg_wait(&hwg);
	CHECK_EQ(gort_trace_stop(), 0);
	return 0;
}

static void handoff(void)
{
	tr t;
	run_and_load("handoff", handoff_main, 1, &t);
	/* The waiter's last unblock, by main's handing unlock. */
	tev *u = NULL;
	for (tev *e = find(&t, EvGoUnblock, 1, (uint64_t)hgoid, INT64_MIN); e;
	     e = find(&t, EvGoUnblock, 1, (uint64_t)hgoid, e->ts + 1))
		u = e;
	CHECK(u != NULL);
	CHECK_EQ(u->a[3], (uint64_t)maingoid);
	tev *s = find(&t, EvGoStart, 1, (uint64_t)hgoid, u->ts);
	CHECK(s != NULL);
	/* main left the P to it, as Go's goyield: a GoPreempt in between,
	 * or the waiter would start on a P still running main. */
	tev *y = find(&t, EvGoPreempt, 1, (uint64_t)maingoid, u->ts);
	CHECK(y != NULL);
	CHECK(y->ts <= s->ts);
	tr_free(&t);
}

/* ---- runend ---- */

static int runend_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_start(path), 0);
	gort_sleep(1000 * 1000);
	return 0; /* still tracing */
}

static void runend(void)
{
	tmppath("runend");
	run_main(runend_main, NULL, 2);
	CHECK_ERRNO(gort_trace_stop(), ENOENT);
	tr t;
	load(path, &t);
	unlink(path);
	CHECK(find(&t, EvGoEnd, -1, 0, INT64_MIN) != NULL);
	CHECK(find(&t, EvMStop, -1, 0, INT64_MIN) != NULL);
	CHECK_EQ(strcmp(tr_str(&t, waitReasonSleep), "sleep"), 0);
	tr_free(&t);
	/* And a second run traces again. */
	tmppath("runend2");
	run_main(runend_main, NULL, 1);
	load(path, &t);
	unlink(path);
	CHECK(find(&t, EvGomaxprocs, -1, 0, INT64_MIN) != NULL);
	tr_free(&t);
}

/* ---- flight ---- */

enum { RING = 256 << 10, TBUF = 32 << 10 };

static void pinger(void *arg)
{
	gort_chan *c = arg;
	int v;
	while (gort_chan_recv(c, &v) == 1 && v >= 0)
		;
}

static void churn(int rounds)
{
	gort_chan *c = gort_chan_make(sizeof(int), 0);
	gort_attr at = {.name = "pinger"};
	CHECK(gort_go_attr(pinger, c, &at) > 0);
	for (int i = 0; i < rounds; i++)
		CHECK_EQ(gort_chan_send(c, &i), 0);
	int stop = -1;
	CHECK_EQ(gort_chan_send(c, &stop), 0);
	gort_chan_free(c);
}

static int flight_main(void *arg)
{
	(void)arg;
	CHECK_FAILS(gort_trace_flight_dump(path), ENOENT);
	CHECK_EQ(gort_trace_flight_start(RING), 0);
	CHECK_FAILS(gort_trace_start(path), EBUSY);
	CHECK_FAILS(gort_trace_flight_start(RING), EBUSY);
	churn(100000); /* 10-20 bytes a round: several rings */
	CHECK_EQ(gort_trace_flight_dump(path), 0);
	churn(100);
	char p2[300];
	snprintf(p2, sizeof p2, "%s.2", path);
	CHECK_EQ(gort_trace_flight_dump(p2), 0); /* it goes on recording */
	CHECK_EQ(gort_trace_flight_stop(), 0);
	CHECK_EQ(trace_staged_bytes(), 0);
	CHECK_FAILS(gort_trace_flight_dump(p2), ENOENT);
	CHECK_FAILS(gort_trace_flight_stop(), ENOENT);
	return 0;
}

static void flight(void)
{
	tmppath("flight");
	run_main(flight_main, NULL, 2);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	tr t;
	load(path, &t);
	unlink(path);
	size_t strings = 0;
	for (int i = 1; i < 4096; i++)
		strings += t.str[i] ? strlen(t.str[i]) + 8 : 0;
	size_t limit = RING + (size_t)t.ntids * TBUF + strings + 256;
	fprintf(stderr, "flight dump: %lld bytes, %d threads, limit %zu\n",
	        (long long)st.st_size, t.ntids, limit);
	CHECK((size_t)st.st_size <= limit);
	CHECK((size_t)st.st_size >= RING / 2);
	CHECK(find(&t, EvGomaxprocs, -1, 0, INT64_MIN) != NULL);
	CHECK(find(&t, EvGoUnblock, -1, 0, INT64_MIN) != NULL);
	CHECK_EQ(strcmp(tr_str(&t, waitReasonChanReceive), "chan receive"), 0);
	tr_free(&t);
	char p2[300];
	snprintf(p2, sizeof p2, "%s.2", path);
	load(p2, &t);
	unlink(p2);
	bool named = false;
	for (size_t i = 0; i < t.n; i++)
		if (t.ev[i].type == EvGoCreate && strcmp(tr_str(&t, t.ev[i].a[3]), "pinger") == 0)
			named = true;
	CHECK(named);
	tr_free(&t);
}

/* ---- flight_resize ---- */

/* A dump's head gives the count in effect at its oldest event, and the
 * changes after it: here 2 at the start, then 3. It said the count at
 * the dump, so the whole dump ran at 3. */
static int flight_resize_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_flight_start(RING), 0);
	churn(1000);
	CHECK_EQ(gort_gomaxprocs(3), 2);
	churn(1000);
	CHECK_EQ(gort_trace_flight_dump(path), 0);
	CHECK_EQ(gort_trace_flight_stop(), 0);
	return 0;
}

static void flight_resize(void)
{
	tr t;
	run_and_load("flight_resize", flight_resize_main, 2, &t);
	tev *first = NULL, *three = NULL;
	for (size_t i = 0; i < t.n; i++) {
		tev *e = &t.ev[i];
		if (e->type != EvGomaxprocs)
			continue;
		if (!first || e->ts < first->ts)
			first = e;
		if (e->a[0] == 3 && (!three || e->ts < three->ts))
			three = e;
	}
	CHECK(first != NULL && three != NULL);
	if (first->a[0] != 2)
		FAILF("the dump begins at GOMAXPROCS=%llu; it was 2 until the resize",
		      (unsigned long long)first->a[0]);
	CHECK(three->ts >= first->ts);
	/* The pingers of before the resize are in the dump, before it. */
	tev *create = find(&t, EvGoCreate, -1, 0, INT64_MIN);
	CHECK(create != NULL && create->ts < three->ts);
	tr_free(&t);
}

/* ---- dump_preempted ---- */

/* A dump runs on a goroutine and pauses every emitter while it moves
 * the buffers: were it descheduled then, every M that writes an event,
 * the one that would start it again included, would wait for the pause
 * to end. It cannot be (no runtime call inside the pause, and no
 * preemption signal parks a goroutine in the runtime's code, linked from
 * libgort.a as here too: preempt_pc_test), and this holds it to that:
 * one goroutine dumps in a loop for 300 ms while another resizes
 * GOMAXPROCS (each a stop of the world, which preempts every running
 * goroutine) and a third churns. */
static atomic_bool dp_stop;
static gort_waitgroup dp_wg;

static void dp_resizer(void *arg)
{
	(void)arg;
	for (int n = 1; !atomic_load(&dp_stop); n ^= 3)
		gort_gomaxprocs(n);
	gort_gomaxprocs(2);
	gort_wg_done(&dp_wg);
}

static void dp_churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&dp_stop))
		churn(50);
	gort_wg_done(&dp_wg);
}

static int dump_preempted_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_flight_start(64 << 10), 0);
	CHECK_EQ(gort_wg_add(&dp_wg, 2), 0);
	CHECK(gort_go(dp_resizer, NULL) > 0);
	CHECK(gort_go(dp_churner, NULL) > 0);
	uint64_t lost = trace_sig_lost();
	int dumps = 0;
	for (int64_t end = gort_nanotime() + 300 * 1000 * 1000; gort_nanotime() < end; dumps++) {
		CHECK_EQ(gort_trace_flight_dump(path), 0);
		/* A dump makes no runtime call: a stop of the world that
		 * comes meanwhile detaches its P (from the preemption
		 * handler), and this takes one back, so that the next dump
		 * can be detached again. */
		gort_gosched();
	}
	atomic_store(&dp_stop, true);
	CHECK_EQ(gort_wg_wait(&dp_wg), 0);
	CHECK_EQ(gort_trace_flight_stop(), 0);
	fprintf(stderr, "%d dumps beside resizes\n", dumps);
	/* Detached inside a dump's pause, the handler could not write
	 * the detach (GoSysCall, ProcStop): the trace would have the P
	 * running on two Ms. */
	CHECK_EQ(trace_sig_lost(), lost);
	return 0;
}

static void dump_preempted(void)
{
	tmppath("dump_preempted");
	run_main(dump_preempted_main, NULL, 2);
	unlink(path);
}

/* ---- flight_dumps ---- */

/* Every dump hands each thread's partial buffer over to the ring: a few
 * bytes each, which must cost the ring about that, not a 32 KiB buffer
 * apiece (hundreds of dumps with the ring never full held megabytes). */
enum { DUMPRING = 64 << 10, DUMPS = 300 };

static int flight_dumps_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_flight_start(DUMPRING), 0);
	size_t most = 0;
	for (int i = 0; i < DUMPS; i++) {
		churn(2);
		CHECK_EQ(gort_trace_flight_dump(path), 0);
		size_t held = trace_ring_bytes();
		if (held > most)
			most = held;
	}
	CHECK_EQ(gort_trace_flight_stop(), 0);
	CHECK_EQ(trace_ring_bytes(), 0);
	fprintf(stderr, "flight ring after each of %d dumps: at most %zu bytes "
	        "(ring %d)\n", DUMPS, most, DUMPRING);
	/* The ring: about its size and the newest buffer; the free full
	 * buffers: no more than the ring has held. */
	CHECK(most <= 2 * (size_t)DUMPRING + 4 * TBUF);
	return 0;
}

static void flight_dumps(void)
{
	tmppath("flight_dumps");
	run_main(flight_dumps_main, NULL, 2);
	tr t;
	load(path, &t); /* the last dump is a whole trace */
	unlink(path);
	CHECK(find(&t, EvGomaxprocs, -1, 0, INT64_MIN) != NULL);
	CHECK(find(&t, EvGoUnblock, -1, 0, INT64_MIN) != NULL);
	tr_free(&t);
}

/* ---- resize_queue ---- */

/* A P that GOMAXPROCS takes away moves its queued goroutines to the
 * global queue: a trace counts them as put there (GlobRunqPut), as it
 * counts every other move, so that what comes out of the global queue
 * (GlobRunqGet) never exceeds what went in. The trace starts with the
 * global queue empty. */
enum { RQ_SPAWN = 200 };

static void rq_done(void *arg)
{
	gort_wg_done(arg);
}

static int resize_queue_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_start(path), 0);
	/* Until this goroutine runs on P1, the P the resize takes away. */
	bool moved = false;
	for (int i = 0; i < 100000 && !moved; i++) {
		if (getm()->p->id != 1) {
			gort_sleep(100 * 1000);
			continue;
		}
		gort_waitgroup wg = {0};
		gort_wg_add(&wg, RQ_SPAWN);
		for (int k = 0; k < RQ_SPAWN; k++)
			CHECK(gort_go(rq_done, &wg) > 0);
		CHECK_EQ(gort_gomaxprocs(1), 2);
		gort_wg_wait(&wg);
		moved = true;
	}
	CHECK(moved);
	CHECK_EQ(gort_trace_stop(), 0);
	return 0;
}

static void resize_queue(void)
{
	tmppath("resize_queue");
	for (int round = 0;; round++) {
		run_main(resize_queue_main, NULL, 2);
		tr t;
		load(path, &t);
		unlink(path);
		uint64_t put = 0, got = 0;
		for (size_t i = 0; i < t.n; i++) {
			if (t.ev[i].type == EvGlobRunqPut)
				put += t.ev[i].a[1];
			else if (t.ev[i].type == EvGlobRunqGet)
				got += t.ev[i].a[1];
		}
		tr_free(&t);
		if (got > put)
			FAILF("%llu goroutines taken from the global queue, %llu put there",
			      (unsigned long long)got, (unsigned long long)put);
		/* A round where thieves had run every goroutine before the
		 * resize shows nothing: try again. */
		if (got > 0 || round == 20)
			break;
	}
}

/* ---- flight_syscall ---- */

/* The flight recorder starts without stopping the world: a goroutine
 * may be in a call already, its P left in _Psyscall, when it starts. A
 * retake of that P (sysmon) names the goroutine that made the call. */
static atomic_int fsys_state; /* 1: in the call; 2: may leave it */
static int64_t fsys_goid;

static void fsys_caller(void *arg)
{
	(void)arg;
	gort_entersyscall();
	atomic_store(&fsys_state, 1);
	while (atomic_load(&fsys_state) != 2)
		usleep(1000);
	gort_exitsyscall();
	gort_wg_done(&swg);
}

static uint64_t handoffs_now(void)
{
	gort_stats st;
	CHECK_EQ(gort_read_stats(&st), 0);
	return st.handoffs;
}

/* One try: false if sysmon took the caller's P before the recorder
 * started (the retake then is no part of the dump). */
static bool flight_syscall_try(void)
{
	atomic_store(&fsys_state, 0);
	uint64_t h0 = handoffs_now();
	gort_wg_add(&swg, 1);
	fsys_goid = gort_go(fsys_caller, NULL);
	CHECK(fsys_goid > 0);
	/* Spin, keeping this P: the caller runs on another one, and a
	 * third stays idle, so that sysmon leaves the caller's P to it for
	 * 10 ms before taking it. */
	while (atomic_load(&fsys_state) != 1)
		;
	CHECK_EQ(gort_trace_flight_start(1 << 20), 0);
	bool before = handoffs_now() != h0;
	int64_t deadline = gort_nanotime() + (int64_t)(harness_timeout(10) * 1e9);
	while (!before && handoffs_now() == h0 && gort_nanotime() < deadline)
		gort_sleep(1000 * 1000);
	CHECK(handoffs_now() != h0);
	atomic_store(&fsys_state, 2);
	gort_wg_wait(&swg);
	CHECK_EQ(gort_trace_flight_dump(path), 0);
	CHECK_EQ(gort_trace_flight_stop(), 0);
	return !before;
}

static int flight_syscall_main(void *arg)
{
	(void)arg;
	/* The main goroutine, in code it cannot be preempted in (the
	 * recorder's start, a runtime call on its way in only) for two
	 * slices on a slow machine, would have its own P handed off, and
	 * that retake named too. Only the caller's call
	 * is meant here: sysmon still retakes Ps from calls. */
	atomic_store(&debug_nopreempt, true);
	for (int i = 0; i < 20; i++) {
		if (flight_syscall_try()) {
			atomic_store(&debug_nopreempt, false);
			return 0;
		}
	}
	FAILF("sysmon took the caller's P before every start");
}

static void flight_syscall(void)
{
	tr t;
	run_and_load("flight_syscall", flight_syscall_main, 3, &t);
	CHECK(find(&t, EvGoSysBlock, -1, 0, INT64_MIN) != NULL);
	for (size_t i = 0; i < t.n; i++)
		if (t.ev[i].type == EvGoSysBlock && t.ev[i].a[1] != (uint64_t)fsys_goid)
			FAILF("GoSysBlock of P%lld names goroutine %llu, not the caller %lld",
			      (long long)t.ev[i].a[0], (unsigned long long)t.ev[i].a[1],
			      (long long)fsys_goid);
	CHECK(find(&t, EvGoSysExit, 1, (uint64_t)fsys_goid, INT64_MIN) != NULL);
	tr_free(&t);
}

/* ---- locked_park ---- */

/* A goroutine locked to its thread blocks: its M gives its P away and
 * sleeps in stoplockedm until the goroutine is readied, as an idle M
 * sleeps in stopm. A trace says both sleeps alike (MPark, MUnpark). */
static gort_chan *lpc;
static int64_t lpgoid;

static void locked_receiver(void *arg)
{
	(void)arg;
	gort_lock_os_thread();
	int v;
	CHECK_EQ(gort_chan_recv(lpc, &v), 1);
	gort_unlock_os_thread();
	gort_wg_done(&swg);
}

static int locked_park_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_start(path), 0);
	lpc = gort_chan_make(sizeof(int), 0);
	gort_wg_add(&swg, 1);
	lpgoid = gort_go(locked_receiver, NULL);
	CHECK(lpgoid > 0);
	wait_parked_for(lpgoid, waitReasonChanReceive);
	int v = 1;
	CHECK_EQ(gort_chan_send(lpc, &v), 0);
	gort_wg_wait(&swg);
	CHECK_EQ(gort_trace_stop(), 0);
	gort_chan_free(lpc);
	return 0;
}

static void locked_park(void)
{
	tr t;
	run_and_load("locked_park", locked_park_main, 2, &t);
	tev *b = find(&t, EvGoBlock, 1, (uint64_t)lpgoid, INT64_MIN);
	CHECK(b != NULL);
	tev *park = find(&t, EvMPark, 0, b->mid, b->ts);
	CHECK(park != NULL);
	tev *start = find(&t, EvGoStart, 1, (uint64_t)lpgoid, b->ts);
	CHECK(start != NULL);
	CHECK_EQ(start->mid, b->mid);
	tev *unpark = find(&t, EvMUnpark, 0, b->mid, park->ts);
	CHECK(unpark != NULL);
	CHECK(park->ts <= unpark->ts && unpark->ts <= start->ts);
	tr_free(&t);
}

/* ---- stw_syscall ---- */

/* Stopping the world (here for GOMAXPROCS) stops a P left in a call,
 * which the call's goroutine then has lost as to a retake: the trace
 * says so with a GoSysBlock, as Go's stopTheWorldWithSema does. */
static bool stw_syscall_try(void)
{
	atomic_store(&fsys_state, 0);
	uint64_t h0 = handoffs_now();
	gort_wg_add(&swg, 1);
	fsys_goid = gort_go(fsys_caller, NULL);
	CHECK(fsys_goid > 0);
	while (atomic_load(&fsys_state) != 1) /* see flight_syscall_try */
		;
	CHECK_EQ(gort_gomaxprocs(4), 3); /* the value it has stops nothing */
	bool retaken = handoffs_now() != h0;
	atomic_store(&fsys_state, 2);
	gort_wg_wait(&swg);
	CHECK_EQ(gort_gomaxprocs(3), 4);
	return !retaken;
}

static int stw_syscall_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_start(path), 0);
	bool ok = false;
	for (int i = 0; i < 20 && !ok; i++)
		ok = stw_syscall_try();
	CHECK_EQ(gort_trace_stop(), 0);
	if (!ok)
		FAILF("sysmon took the caller's P before every stop of the world");
	return 0;
}

static void stw_syscall(void)
{
	tr t;
	run_and_load("stw_syscall", stw_syscall_main, 3, &t);
	tev *call = find(&t, EvGoSysCall, 1, (uint64_t)fsys_goid, INT64_MIN);
	CHECK(call != NULL);
	tev *exit = find(&t, EvGoSysExit, 1, (uint64_t)fsys_goid, call->ts);
	CHECK(exit != NULL);
	tev *block = find(&t, EvGoSysBlock, 1, (uint64_t)fsys_goid, call->ts);
	if (!block || block->ts > exit->ts)
		FAILF("goroutine %lld lost its P in a call to a stop of the world: "
		      "no GoSysBlock", (long long)fsys_goid);
	tr_free(&t);
}

/* ---- flight_detach ---- */

/* A goroutine that runs on in a gort_preempt_off region past two slices
 * has its P handed off from the preemption signal handler (entersyscall,
 * SYSCALL_DETACHED), whose events (GoSysCall, ProcStop) may not
 * allocate. A flight dump hands every thread's staging buffer over: a
 * thread that has emitted nothing since still has the buffer, and the
 * handler's events go into it. */
static atomic_int fd_state; /* 1: spinning; 2: may stop */
static int64_t fd_goid;

static void fd_spinner(void *arg)
{
	(void)arg;
	gort_preempt_off();
	atomic_store(&fd_state, 1);
	while (atomic_load(&fd_state) != 2)
		;
	gort_preempt_on();
	gort_wg_done(&swg);
}

static int flight_detach_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_flight_start(1 << 20), 0);
	gort_wg_add(&swg, 1);
	fd_goid = gort_go(fd_spinner, NULL);
	CHECK(fd_goid > 0);
	while (atomic_load(&fd_state) != 1)
		gort_sleep(1000 * 1000);
	/* The spinner's thread has written its GoStart: the dump hands it
	 * over, and the thread writes nothing more until the hand-off. */
	CHECK_EQ(gort_trace_flight_dump(path), 0);
	gort_stats st;
	int64_t deadline = gort_nanotime() + (int64_t)(harness_timeout(10) * 1e9);
	do {
		gort_sleep(1000 * 1000);
		CHECK_EQ(gort_read_stats(&st), 0);
	} while (st.handoffs == 0 && gort_nanotime() < deadline);
	CHECK(st.handoffs != 0);
	atomic_store(&fd_state, 2);
	gort_wg_wait(&swg);
	CHECK_EQ(gort_trace_flight_dump(path), 0);
	CHECK_EQ(gort_trace_flight_stop(), 0);
	return 0;
}

static void flight_detach(void)
{
	if (HARNESS_SANITIZED) {
		SKIP("flight_detach", "no signal preemption in sanitizer builds");
		return;
	}
	tr t;
	run_and_load("flight_detach", flight_detach_main, 2, &t);
	tev *block = find(&t, EvGoSysBlock, 1, (uint64_t)fd_goid, INT64_MIN);
	CHECK(block != NULL);
	tev *call = find(&t, EvGoSysCall, 1, (uint64_t)fd_goid, INT64_MIN);
	if (!call || call->ts > block->ts)
		FAILF("goroutine %lld: a GoSysBlock with no GoSysCall before it",
		      (long long)fd_goid);
	tev *stop = find(&t, EvProcStop, -1, 0, call->ts);
	CHECK(stop != NULL && stop->mid == call->mid);
	tr_free(&t);
}

/* ---- park_abort ---- */

/* A park whose commit says not to park after all (netpollblockcommit,
 * when the fd became ready meanwhile) makes the goroutine runnable
 * again: nobody unblocked it. gopark's direct path runs that commit on
 * the next goroutine, which must not be named as the unblocker. */
static gort_chan *pac;
static int64_t pa_main, pa_other;

static bool pa_no_park(g *gp, void *arg)
{
	(void)gp, (void)arg;
	return false;
}

static void pa_receiver(void *arg)
{
	(void)arg;
	int v;
	CHECK_EQ(gort_chan_recv(pac, &v), 1);
	gort_wg_done(&swg);
}

static int park_abort_main(void *arg)
{
	(void)arg;
	pa_main = gort_goid();
	pac = gort_chan_make(sizeof(int), 0);
	CHECK_EQ(gort_trace_start(path), 0);
	gort_wg_add(&swg, 1);
	pa_other = gort_go(pa_receiver, NULL);
	CHECK(pa_other > 0);
	wait_parked_for(pa_other, waitReasonChanReceive);
	int v = 1;
	CHECK_EQ(gort_chan_send(pac, &v), 0); /* readies it: it runs next */
	g *gp = rt_enter();
	gopark(pa_no_park, NULL, waitReasonIOWait);
	rt_exit(gp);
	gort_wg_wait(&swg);
	CHECK_EQ(gort_trace_stop(), 0);
	gort_chan_free(pac);
	return 0;
}

static void park_abort(void)
{
	tr t;
	run_and_load("park_abort", park_abort_main, 1, &t);
	tev *b = NULL;
	for (size_t i = 0; i < t.n; i++)
		if (t.ev[i].type == EvGoBlock && t.ev[i].a[1] == (uint64_t)pa_main &&
		    t.ev[i].a[2] == waitReasonIOWait)
			b = &t.ev[i];
	CHECK(b != NULL);
	tev *u = find(&t, EvGoUnblock, 1, (uint64_t)pa_main, b->ts);
	CHECK(u != NULL);
	if (u->a[3] != 0)
		FAILF("main's aborted park is unblocked by goroutine %llu (the "
		      "receiver is %lld)", (unsigned long long)u->a[3], (long long)pa_other);
	tr_free(&t);
}

/* ---- errors ---- */

static int errors_main(void *arg)
{
	(void)arg;
	CHECK_FAILS(gort_trace_start(NULL), EINVAL);
	CHECK_FAILS(gort_trace_stop(), ENOENT);
	CHECK_FAILS(gort_trace_start("/nonexistent-dir/x/trace.out"), ENOENT);
	CHECK_FAILS(gort_trace_flight_start(0), EINVAL);
	CHECK_FAILS(gort_trace_flight_dump(NULL), EINVAL);
	CHECK_FAILS(gort_trace_flight_stop(), ENOENT);
	CHECK_EQ(gort_trace_start(path), 0);
	CHECK_FAILS(gort_trace_start(path), EBUSY);
	CHECK_FAILS(gort_trace_flight_start(1 << 20), EBUSY);
	CHECK_FAILS(gort_trace_flight_stop(), ENOENT);
	CHECK_EQ(gort_trace_stop(), 0);
	CHECK_FAILS(gort_trace_stop(), ENOENT);
	CHECK_FAILS(gort_read_stats(NULL), EINVAL);
	return 0;
}

static void *thread_start_trace(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_trace_start(path), 0);
	CHECK_EQ(gort_trace_stop(), 0);
	return NULL;
}

static int foreign_main(void *arg)
{
	(void)arg;
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, thread_start_trace, NULL), 0);
	join_thread(th);
	return 0;
}

/* A thread that is not a goroutine starts a trace as the run ends: the
 * goroutine it asks to begin the trace may be abandoned (at GOMAXPROCS=1
 * main holds the only P and returns as soon as that goroutine exists).
 * The run must still end, and the call return: 0 (the end of the run
 * then stopped the trace) or ESRCH. */
static atomic_int late_go;
static int late_rc, late_errno;

static void *thread_start_late(void *arg)
{
	(void)arg;
	while (!atomic_load(&late_go))
		sched_yield();
	late_rc = gort_trace_start(path);
	late_errno = errno;
	return NULL;
}

/* Returns once the goroutine exists: counted as created, for it may
 * also have run and exited already (sysmon preempts this loop). */
static int late_main(void *arg)
{
	(void)arg;
	gort_stats st;
	CHECK_EQ(gort_read_stats(&st), 0);
	uint64_t n0 = st.goroutines_created;
	atomic_store(&late_go, 1);
	int64_t deadline = gort_nanotime() + 10LL * 1000000000;
	do
		CHECK_EQ(gort_read_stats(&st), 0);
	while (st.goroutines_created == n0 && gort_nanotime() < deadline);
	CHECK(st.goroutines_created != n0);
	return 0;
}

static void errors(void)
{
	tmppath("errors");
	CHECK_ERRNO(gort_trace_start(path), ESRCH);
	CHECK_ERRNO(gort_trace_flight_start(1 << 20), ESRCH);
	gort_stats st;
	CHECK_EQ(gort_read_stats(&st), 0);
	CHECK_EQ(st.goroutines, 0);
	run_main(errors_main, NULL, 2);
	tr t;
	load(path, &t);
	tr_free(&t);
	/* From a thread that is not a goroutine. */
	run_main(foreign_main, NULL, 2);
	load(path, &t);
	unlink(path);
	CHECK(find(&t, EvGomaxprocs, -1, 0, INT64_MIN) != NULL);
	tr_free(&t);
	/* ... as the run ends. */
	for (int i = 0; i < 5; i++) {
		atomic_store(&late_go, 0);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, thread_start_late, NULL), 0);
		run_main(late_main, NULL, 1);
		CHECK_EQ(pthread_join(th, NULL), 0);
		CHECK(late_rc == 0 || late_errno == ESRCH);
		CHECK_ERRNO(gort_trace_stop(), ENOENT);
	}
	unlink(path);
}

/* ---- stats ---- */

static void nop(void *arg)
{
	gort_wg_done(arg);
}

enum { NSLEEPERS = 64 };

typedef struct {
	int64_t when;
	gort_waitgroup *done;
} sleeper;

static sleeper sleepers[NSLEEPERS];

static void sleep_and_count(void *arg)
{
	sleeper *s = arg;
	gort_stats a, b;
	CHECK_EQ(gort_read_stats(&a), 0);
	int64_t ns = s->when - gort_nanotime();
	if (ns > 0) { /* else no timer: a slow build came late */
		gort_sleep(ns);
		CHECK_EQ(gort_read_stats(&b), 0);
		CHECK(b.timers_fired > a.timers_fired);
	}
	gort_wg_done(s->done);
}

static int stats_main(void *arg)
{
	(void)arg;
	gort_stats a, b;
	CHECK_EQ(gort_read_stats(&a), 0);
	gort_waitgroup wg = {0};
	gort_wg_add(&wg, 100);
	for (int i = 0; i < 100; i++)
		CHECK(gort_go(nop, &wg) > 0);
	gort_wg_wait(&wg);
	gort_sleep(1000 * 1000);
	CHECK_EQ(gort_read_stats(&b), 0);
	CHECK(b.goroutines_created >= a.goroutines_created + 100);
	CHECK(b.context_switches >= a.context_switches + 100);
	CHECK(b.timers_fired >= a.timers_fired + 1);
	CHECK_EQ(b.gomaxprocs, 2);
	CHECK(b.threads >= 1);
	CHECK(b.goroutines >= 1);
	CHECK(b.idleprocs >= 0 && b.idleprocs <= 2);
	/* A timer is counted before the goroutine it wakes can look, even
	 * while the P that fires it still has more to fire: many sleepers
	 * share one deadline, and each checks the count once awake. */
	for (int round = 0; round < 20; round++) {
		gort_waitgroup done = {0};
		gort_wg_add(&done, NSLEEPERS);
		int64_t when = gort_nanotime() + 2 * 1000 * 1000;
		for (int i = 0; i < NSLEEPERS; i++) {
			sleepers[i] = (sleeper){.when = when, .done = &done};
			CHECK(gort_go(sleep_and_count, &sleepers[i]) > 0);
		}
		gort_wg_wait(&done);
	}
	return 0;
}

static void stats(void)
{
	run_main(stats_main, NULL, 2);
}

/* ---- detached ---- */

/* A goroutine whose P the preemption signal handed off (two slices in
 * code it could not be preempted in: SYSCALL_DETACHED) takes a P back at
 * its next runtime call, and the tracer's calls and gort_read_stats are
 * runtime calls too: after each, main runs on a P again. Main detaches
 * itself as the handler does it (entersyscall, inside the runtime
 * meanwhile); no slice of its ends otherwise (debug_nopreempt). */
static void detach_self(void)
{
	g *gp = getg();
	inruntime_raise(gp);
	entersyscall(getm(), gp, SYSCALL_DETACHED);
	inruntime_lower(gp);
}

static int read_stats_call(void)
{
	gort_stats st;
	return gort_read_stats(&st);
}

static int trace_start_call(void)
{
	return gort_trace_start(path);
}

static int flight_start_call(void)
{
	return gort_trace_flight_start(1 << 20);
}

static int flight_dump_call(void)
{
	return gort_trace_flight_dump(path);
}

static const struct {
	const char *name;
	int (*fn)(void);
} detached_calls[] = {
	{"gort_read_stats", read_stats_call},
	{"gort_trace_start", trace_start_call},
	{"gort_trace_stop", gort_trace_stop},
	{"gort_trace_flight_start", flight_start_call},
	{"gort_trace_flight_dump", flight_dump_call},
	{"gort_trace_flight_stop", gort_trace_flight_stop},
};

static int detached_main(void *arg)
{
	(void)arg;
	atomic_store(&debug_nopreempt, true);
	size_t n = sizeof detached_calls / sizeof detached_calls[0], still = 0;
	for (size_t i = 0; i < n; i++) {
		detach_self();
		CHECK_EQ(detached_calls[i].fn(), 0);
		if (getg()->syscallstate == SYSCALL_NONE && getm()->p != NULL)
			continue;
		fprintf(stderr, "%s: main still detached from its P\n", detached_calls[i].name);
		still++;
		gort_gosched(); /* takes one back */
	}
	atomic_store(&debug_nopreempt, false);
	if (still > 0)
		FAILF("%zu of %zu calls returned detached", still, n);
	return 0;
}

static void detached(void)
{
	tmppath("detached");
	run_main(detached_main, NULL, 2);
	unlink(path);
}

/* ---- longname ---- */

static char longname[TRACE_STRING_MAX + 100];

static int longname_main(void *arg)
{
	(void)arg;
	memset(longname, 'x', sizeof longname - 1);
	CHECK_EQ(gort_trace_start(path), 0);
	gort_waitgroup wg = {0};
	gort_wg_add(&wg, 100);
	gort_attr attr = {.name = longname};
	for (int i = 0; i < 100; i++)
		CHECK(gort_go_attr(nop, &wg, &attr) > 0);
	gort_wg_wait(&wg);
	CHECK_EQ(gort_trace_stop(), 0);
	return 0;
}

static void longname_case(void)
{
	tr t;
	run_and_load("longname", longname_main, 2, &t);
	int n = 0;
	for (int i = 1; i < 4096; i++)
		if (t.str[i] && t.str[i][0] == 'x') {
			CHECK_EQ(strlen(t.str[i]), (size_t)TRACE_STRING_MAX);
			n++;
		}
	CHECK_EQ(n, 1);
	tr_free(&t);
}

/* ---- resize ---- */

static atomic_bool resize_stop;

static void resize_spinner(void *arg)
{
	(void)arg;
	int64_t end = gort_nanotime() + 20 * 1000 * 1000;
	while (!atomic_load(&resize_stop) && gort_nanotime() < end)
		;
}

static int resize_main(void *arg)
{
	(void)arg;
	maingoid = gort_goid();
	CHECK_EQ(gort_trace_start(path), 0);
	/* main onto P1: a spinner takes P0's runnext and main yields to the
	 * global queue, where P1's M, woken for the spinner, finds it (a
	 * few rounds at most, as a rule). Then the resize, from P1, which
	 * preemption cannot move main off in between. */
	bool onp1 = false;
	for (int i = 0; i < 1000 && !onp1; i++) {
		gort_preempt_off();
		onp1 = getm()->p->id == 1;
		if (onp1)
			CHECK_EQ(gort_gomaxprocs(1), 2);
		gort_preempt_on();
		if (!onp1) {
			atomic_store(&resize_stop, false);
			CHECK(gort_go(resize_spinner, NULL) > 0);
			gort_gosched();
			atomic_store(&resize_stop, true);
		}
	}
	CHECK(onp1);
	gort_sleep(1000 * 1000); /* main's events on P0 */
	CHECK_EQ(gort_trace_stop(), 0);
	return 0;
}

static void resize(void)
{
	tr t;
	run_and_load("resize", resize_main, 2, &t);
	/* The snapshot's count, then the new one, by main's M. */
	tev *snap = find(&t, EvGomaxprocs, 0, 2, INT64_MIN);
	CHECK(snap != NULL);
	tev *r = find(&t, EvGomaxprocs, 0, 1, INT64_MIN);
	if (r == NULL)
		FAILF("no EvGomaxprocs 1 for the resize");
	CHECK(r->ts >= snap->ts);
	/* main ran on P1 up to the resize: it is descheduled there, P1
	 * stops, P0 starts on the same M and main starts on it. */
	tev *sched = find(&t, EvGoSched, 1, (uint64_t)maingoid, r->ts);
	if (sched == NULL || sched->a[0] != 1)
		FAILF("main is not descheduled on P1 at the resize");
	CHECK_EQ(sched->mid, r->mid);
	tev *stop = find(&t, EvProcStop, 0, 1, r->ts);
	if (stop == NULL || stop->mid != r->mid)
		FAILF("P1 does not stop at the resize");
	tev *pstart = find(&t, EvProcStart, 0, 0, stop->ts);
	CHECK(pstart != NULL);
	CHECK_EQ(pstart->mid, r->mid);
	tev *start = find(&t, EvGoStart, 1, (uint64_t)maingoid, r->ts);
	if (start == NULL || start->a[0] != 0 || start->mid != r->mid)
		FAILF("main does not start on P0 after the resize");
	CHECK(sched->ts <= stop->ts && stop->ts <= pstart->ts && pstart->ts <= start->ts);
	/* Its next event after that start is on P0 too (its sleep). */
	tev *b = find(&t, EvGoBlock, 1, (uint64_t)maingoid, start->ts);
	CHECK(b != NULL);
	CHECK_EQ(b->a[0], 0);
	tr_free(&t);
}

/* ---- clock ---- */

enum { CLK_G = 3, CLK_CALLS = 200, CLK_AWAY_NS = 300000, CLK_TOL_NS = 20000 };

static struct {
	int64_t t0, t1;
} clk_rec[CLK_G][CLK_CALLS];
static int64_t clk_goid[CLK_G];
static gort_waitgroup cwg;
static __thread unsigned clk_pairs;

static void spin_ns(int64_t ns)
{
	int64_t t = gort_nanotime();
	while (gort_nanotime() - t < ns)
		;
}

/* The first pair of every anchor (every other pair a thread reads) is
 * read as if the thread lost its CPU for 300 µs between the clock and
 * the ticks. */
static void clock_away(void)
{
	if (clk_pairs++ % 2 == 0)
		spin_ns(CLK_AWAY_NS);
}

static void clk_worker(void *arg)
{
	int k = (int)(intptr_t)arg;
	clk_goid[k] = gort_goid();
	for (int i = 0; i < CLK_CALLS; i++) {
		clk_rec[k][i].t0 = gort_nanotime();
		gort_entersyscall();
		gort_exitsyscall();
		clk_rec[k][i].t1 = gort_nanotime();
		spin_ns(20000);
	}
	gort_wg_done(&cwg);
}

static int clock_main(void *arg)
{
	(void)arg;
	atomic_store(&trace_clock_hook, clock_away);
	CHECK_EQ(gort_trace_start(path), 0);
	gort_wg_add(&cwg, CLK_G);
	for (int k = 0; k < CLK_G; k++)
		CHECK(gort_go(clk_worker, (void *)(intptr_t)k) > 0);
	gort_wg_wait(&cwg);
	CHECK_EQ(gort_trace_stop(), 0);
	atomic_store(&trace_clock_hook, NULL);
	return 0;
}

static void clock_case(void)
{
	tr t;
	run_and_load("clock", clock_main, 2, &t);
	int miss = 0;
	for (int k = 0; k < CLK_G; k++) {
		for (int i = 0; i < CLK_CALLS; i++) {
			int64_t t0 = clk_rec[k][i].t0, t1 = clk_rec[k][i].t1;
			tev *e = find(&t, EvGoSysCall, 1, (uint64_t)clk_goid[k], t0 - CLK_TOL_NS);
			if (e && e->ts <= t1 + CLK_TOL_NS)
				continue;
			if (miss++ == 0)
				fprintf(stderr, "goroutine %lld, call %d, between %lld and %lld ns: "
				        "its GoSysCall is at %lld\n", (long long)clk_goid[k], i,
				        (long long)t0, (long long)t1, e ? (long long)e->ts : -1LL);
		}
	}
	if (miss)
		FAILF("%d of %d calls have no GoSysCall within %d µs of the clock around them",
		      miss, CLK_G * CLK_CALLS, CLK_TOL_NS / 1000);
	tr_free(&t);
}

int main(int argc, char **argv)
{
	static const struct harness_case cases[] = {
		{"basic", basic}, {"steal", steal}, {"runend", runend},
		{"flight", flight}, {"flight_dumps", flight_dumps},
		{"flight_resize", flight_resize}, {"dump_preempted", dump_preempted},
		{"errors", errors}, {"stats", stats}, {"detached", detached},
		{"longname", longname_case}, {"handoff", handoff},
		{"resize", resize}, {"flight_syscall", flight_syscall},
		{"resize_queue", resize_queue}, {"locked_park", locked_park},
		{"stw_syscall", stw_syscall}, {"flight_detach", flight_detach},
		{"park_abort", park_abort}, {"clock", clock_case},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	return 0;
}
