/*
 * gotrace.c - write Go 1.19's execution trace format, for `go tool trace`.
 *
 * Go's parser (internal/trace/parser.go and order.go of Go 1.19) takes
 * per-P batches, merges them by timestamp under per-goroutine sequence
 * numbers, and then checks a state machine that is the replay's own
 * (state.c): so each transition maps to one Go event, in the batch of the
 * P it happened on, and whatever the replay repaired is valid here too.
 *
 *   TR_PSTART/TR_PSTOP   ProcStart (thread = M id) / ProcStop
 *   TR_CREATE            GoCreate, new stack = the goroutine's site
 *   TR_SNAP_WAITING/SYSCALL  GoWaiting / GoInSyscall
 *   TR_START             GoStart g seq
 *   TR_STOP              GoEnd, GoBlock* / GoSleep / GoStop by the wait
 *                        reason (GoStop only as the goroutine's last
 *                        event: stop_revive), GoSched, GoPreempt,
 *                        GoSysBlock
 *   TR_UNBLOCK           GoUnblock g seq
 *   TR_SYSCALL           GoSysCall
 *   TR_SYSEXIT           GoSysExit g seq, only after a GoSysBlock (a
 *                        syscall that kept its P has none in Go either)
 *
 * Go attributes an event to the goroutine that last started in its batch,
 * which is the goroutine the replay has on that P; events with no P go to
 * the batch of P -1, which never runs a goroutine (Go's g0). Sequence
 * numbers: a per-goroutine counter, 0 at creation, incremented by every
 * event that carries one (GoStart, GoUnblock, GoSysExit) and by
 * GoWaiting/GoInSyscall; the event carries the incremented value, which
 * is what order.go expects. Output timestamps are the trace's, made
 * strictly increasing (by at most a few ns) so that every batch's deltas
 * are positive and Go's merge by time agrees with the replay's order.
 * Gomaxprocs follows the start-of-trace snapshot, as in Go's runtime,
 * and each later change (procresize) is one more Gomaxprocs at its time.
 * Stacks: one single-frame stack per creation site (gor_site), named by
 * it; a goroutine's own events carry its site, GoCreate and GoUnblock that
 * of the goroutine that did them ("runtime" if none), so that Go's
 * goroutine analysis groups by site and its profiles have samples.
 * Steals, M parking, netpoll and timer events have no Go equivalent and
 * are dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "gort_trace.h"

/* Go 1.19's event types (runtime/trace.go). */
enum {
	GoEvBatch = 1, GoEvFrequency = 2, GoEvStack = 3, GoEvGomaxprocs = 4,
	GoEvProcStart = 5, GoEvProcStop = 6, GoEvGoCreate = 13,
	GoEvGoStart = 14, GoEvGoEnd = 15, GoEvGoStop = 16, GoEvGoSched = 17,
	GoEvGoPreempt = 18, GoEvGoSleep = 19, GoEvGoBlock = 20,
	GoEvGoUnblock = 21, GoEvGoBlockSend = 22, GoEvGoBlockRecv = 23,
	GoEvGoBlockSelect = 24, GoEvGoBlockSync = 25, GoEvGoBlockCond = 26,
	GoEvGoBlockNet = 27, GoEvGoSysCall = 28, GoEvGoSysExit = 29,
	GoEvGoSysBlock = 30, GoEvGoWaiting = 31, GoEvGoInSyscall = 32,
	GoEvString = 37,
};

#define GO_HEADER "go 1.19 trace\0\0\0"
#define NBATCH (TOOL_MAX_P + 1) /* index p + 1; 0 is P -1 */

struct gow {
	const struct trace *t;
	struct bytes batch[NBATCH];
	int64_t first[NBATCH], last[NBATCH];
	int64_t now;             /* last output timestamp */
	bool gomaxprocs_done;
	bool gomaxprocs_seen;    /* the first EvGomaxprocs, the snapshot's */
	struct strmap sites;     /* site name -> stack id - 1 */
};

/* ev appends an event to batch p: vals[0] is the timestamp (absolute;
 * written as the delta), then the arguments. */
static void ev(struct gow *w, int32_t p, int type, int64_t ts,
               const uint64_t *args, int nargs)
{
	int i = p + 1;
	struct bytes *b = &w->batch[i];
	if (b->n == 0)
		w->first[i] = w->last[i] = ts;
	struct bytes vals = {0};
	bytes_varint(&vals, (uint64_t)(ts - w->last[i]));
	w->last[i] = ts;
	for (int k = 0; k < nargs; k++)
		bytes_varint(&vals, args[k]);
	int narg = nargs < 3 ? nargs : 3;
	unsigned char tb = (unsigned char)(type | narg << 6);
	bytes_put(b, &tb, 1);
	if (narg == 3)
		bytes_varint(b, vals.n);
	bytes_put(b, vals.b, vals.n);
	free(vals.b);
}

/* stamp makes ts strictly later than every earlier output event. */
static int64_t stamp(struct gow *w, int64_t ts)
{
	int64_t t = ts - w->t->t0 + 1;
	if (t <= w->now)
		t = w->now + 1;
	w->now = t;
	return t;
}

static int block_event(const char *reason)
{
	static const struct {
		const char *reason;
		int ev;
	} map[] = {
		{"chan receive (nil chan)", GoEvGoStop},
		{"chan send (nil chan)", GoEvGoStop},
		{"select (no cases)", GoEvGoStop},
		{"chan receive", GoEvGoBlockRecv},
		{"chan send", GoEvGoBlockSend},
		{"select", GoEvGoBlockSelect},
		{"sync.Cond.Wait", GoEvGoBlockCond},
		{"semacquire", GoEvGoBlockSync},
		{"IO wait", GoEvGoBlockNet},
		{"sleep", GoEvGoSleep},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(reason, map[i].reason) == 0)
			return map[i].ev;
	if (strncmp(reason, "sync.", 5) == 0)
		return GoEvGoBlockSync;
	return GoEvGoBlock;
}

static uint64_t site_stack(struct gow *w, const struct gor *g)
{
	char site[TRACE_STRING_MAX + 32];
	gor_site(g, site, sizeof(site));
	return strmap_index(&w->sites, site, NULL) + 1;
}

/* The stack of an event done by goroutine id (0: none, the runtime):
 * Go's profiles (-pprof=sched, sync, syscall) count only events with one. */
static uint64_t by_stack(struct gow *w, struct replay *r, uint64_t id)
{
	struct gor *g = id ? replay_g(r, id) : NULL;
	if (g != NULL)
		return site_stack(w, g);
	return strmap_index(&w->sites, "runtime", NULL) + 1;
}

static uint64_t next_seq(struct gor *g)
{
	return ++g->user[0];
}

static bool in_snapshot(const struct tr *tr)
{
	switch (tr->kind) {
	case TR_CREATE:
		return tr->by == 0;
	case TR_SNAP_WAITING: case TR_SNAP_SYSCALL: case TR_PSTART:
	case TR_START:
		return true;
	default:
		return false;
	}
}

static void gomaxprocs(struct gow *w, int64_t ts)
{
	int procs = w->t->gomaxprocs > 0 ? w->t->gomaxprocs : w->t->maxp;
	uint64_t a[2] = {(uint64_t)(procs > 0 ? procs : 1), 0};
	ev(w, -1, GoEvGomaxprocs, ts, a, 2);
	w->gomaxprocs_done = true;
}

/*
 * GoStop is Go's block for good (a nil channel, an empty select): Go's
 * parser takes the goroutine for dead and its ordering for still
 * running, so no later event of it can be placed ("no consistent
 * ordering"). The replay keeps such a goroutine waiting like any other,
 * and a damaged or forged file may unblock it. So a GoStop is written
 * with the place of its type byte kept in the goroutine (user[1]: the
 * offset + 1 above STOP_BATCH_BITS, the batch below), and becomes a
 * plain GoBlock, the same bytes but the type, when the goroutine has
 * another transition: only a GoStop that stays the last word is written.
 */
enum { STOP_BATCH_BITS = 13 };
_Static_assert(NBATCH < 1 << STOP_BATCH_BITS, "a batch index fits");

static void stop_revive(struct gow *w, struct gor *g)
{
	if (g->user[1] == 0)
		return;
	size_t i = (size_t)(g->user[1] & ((1u << STOP_BATCH_BITS) - 1));
	size_t at = (size_t)(g->user[1] >> STOP_BATCH_BITS) - 1;
	unsigned char *b = &w->batch[i].b[at];
	*b = (unsigned char)((*b & 0xc0) | GoEvGoBlock); /* narg << 6 stays */
	g->user[1] = 0;
}

static void stop_event(struct gow *w, struct replay *r, const struct tr *tr,
                       int64_t ts)
{
	static const int plain[] = {
		[STOP_END] = GoEvGoEnd, [STOP_SCHED] = GoEvGoSched,
		[STOP_PREEMPT] = GoEvGoPreempt, [STOP_SYSBLOCK] = GoEvGoSysBlock,
	};
	uint64_t stk = site_stack(w, tr->g);
	if (tr->why == STOP_BLOCK) {
		int type = block_event(reason_str(r, tr->reason));
		if (type == GoEvGoStop)
			tr->g->user[1] = (uint64_t)(w->batch[tr->p + 1].n + 1) << STOP_BATCH_BITS |
			                 (uint64_t)(tr->p + 1);
		ev(w, tr->p, type, ts, &stk, 1);
	} else if (tr->why == STOP_END || tr->why == STOP_SYSBLOCK)
		ev(w, tr->p, plain[tr->why], ts, NULL, 0);
	else
		ev(w, tr->p, plain[tr->why], ts, &stk, 1);
}

static void on_tr(void *ctx, struct replay *r, const struct tr *tr)
{
	struct gow *w = ctx;
	if (!w->gomaxprocs_done && !in_snapshot(tr))
		gomaxprocs(w, ++w->now); /* just after the snapshot */
	int64_t ts = stamp(w, tr->ts);
	struct gor *g = tr->g;
	if (g != NULL)
		stop_revive(w, g);
	uint64_t a[4] = {0};
	switch (tr->kind) {
	case TR_PSTART:
		a[0] = tr->mid < 0 ? 0 : (uint64_t)tr->mid;
		ev(w, tr->p, GoEvProcStart, ts, a, 1);
		break;
	case TR_PSTOP:
		ev(w, tr->p, GoEvProcStop, ts, NULL, 0);
		break;
	case TR_CREATE:
		g->user[0] = 0;
		a[0] = g->id;
		a[1] = site_stack(w, g);
		a[2] = by_stack(w, r, tr->by);
		ev(w, tr->p, GoEvGoCreate, ts, a, 3);
		break;
	case TR_SNAP_WAITING:
	case TR_SNAP_SYSCALL:
		next_seq(g);
		a[0] = g->id;
		ev(w, -1, tr->kind == TR_SNAP_WAITING ? GoEvGoWaiting
		                                     : GoEvGoInSyscall, ts, a, 1);
		break;
	case TR_START:
		a[0] = g->id;
		a[1] = next_seq(g);
		ev(w, tr->p, GoEvGoStart, ts, a, 2);
		break;
	case TR_STOP:
		stop_event(w, r, tr, ts);
		break;
	case TR_UNBLOCK:
		a[0] = g->id;
		a[1] = next_seq(g);
		a[2] = by_stack(w, r, tr->by);
		ev(w, tr->p, GoEvGoUnblock, ts, a, 3);
		break;
	case TR_SYSCALL:
		a[0] = site_stack(w, g);
		ev(w, tr->p, GoEvGoSysCall, ts, a, 1);
		break;
	case TR_SYSEXIT:
		if (!tr->blocked)
			break;
		a[0] = g->id;
		a[1] = next_seq(g);
		ev(w, tr->p, GoEvGoSysExit, ts, a, 3);
		break;
	}
}

static void put_string(struct bytes *out, uint64_t id, const char *s)
{
	unsigned char t = GoEvString;
	size_t len = strlen(s);
	bytes_put(out, &t, 1);
	bytes_varint(out, id);
	bytes_varint(out, len);
	bytes_put(out, s, len);
}

/* The footer: Frequency, the strings, one single-frame stack per site. */
static void footer(struct gow *w, struct bytes *out)
{
	unsigned char t = GoEvFrequency;
	bytes_put(out, &t, 1);
	bytes_varint(out, 1000000000);
	put_string(out, 1, "gort");
	for (size_t i = 0; i < w->sites.n; i++)
		put_string(out, i + 2, w->sites.key[i][0] ? w->sites.key[i] : "?");
	for (size_t i = 0; i < w->sites.n; i++) {
		struct bytes v = {0};
		bytes_varint(&v, i + 1);            /* stack id */
		bytes_varint(&v, 1);                /* frames */
		bytes_varint(&v, 0x400000 + i * 16); /* pc: one per site */
		bytes_varint(&v, i + 2);            /* function */
		bytes_varint(&v, 1);                /* file */
		bytes_varint(&v, 0);                /* line */
		t = GoEvStack | 3 << 6;
		bytes_put(out, &t, 1);
		bytes_varint(out, v.n);
		bytes_put(out, v.b, v.n);
		free(v.b);
	}
}

/* A change of GOMAXPROCS after the first: the snapshot's value is
 * written by gomaxprocs, from the trace's header fields. */
static void on_event(void *ctx, struct replay *r, const struct event *e)
{
	(void)r;
	struct gow *w = ctx;
	if (e->type != EvGomaxprocs)
		return;
	if (!w->gomaxprocs_seen) {
		w->gomaxprocs_seen = true;
		return;
	}
	if (!w->gomaxprocs_done)
		gomaxprocs(w, ++w->now);
	uint64_t a[2] = {e->args[0] > 0 ? e->args[0] : 1, 0};
	ev(w, -1, GoEvGomaxprocs, stamp(w, e->ts), a, 2);
}

int cmd_go(const struct trace *t, FILE *f)
{
	struct gow *w = calloc(1, sizeof(*w));
	struct replay *r = calloc(1, sizeof(*r));
	if (w == NULL || r == NULL)
		die_oom();
	w->t = t;
	replay_run(r, t, (struct consumer){.ctx = w, .on_tr = on_tr, .on_event = on_event});
	if (!w->gomaxprocs_done)
		gomaxprocs(w, ++w->now);

	struct bytes out = {0};
	bytes_put(&out, GO_HEADER, 16);
	for (int i = 0; i < NBATCH; i++) {
		if (w->batch[i].n == 0)
			continue;
		unsigned char tb = GoEvBatch | 1 << 6;
		bytes_put(&out, &tb, 1);
		bytes_varint(&out, (uint64_t)(int64_t)(i - 1));
		bytes_varint(&out, (uint64_t)w->first[i]);
		bytes_put(&out, w->batch[i].b, w->batch[i].n);
		free(w->batch[i].b);
	}
	footer(w, &out);
	int rc = fwrite(out.b, 1, out.n, f) == out.n ? 0 : 1;
	free(out.b);
	strmap_free(&w->sites);
	replay_free(r);
	free(r);
	free(w);
	return rc;
}
