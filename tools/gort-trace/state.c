/*
 * state.c - replay a trace through Go's goroutine and P state machine.
 *
 * The replay owns one struct gor per goroutine id and one struct pstate
 * per P, and turns each event into transitions (struct tr) that move them
 * between states. The invariants every consumer may rely on, whatever the
 * file says:
 *
 *   - a P runs at most one goroutine, and only while started (TR_PSTART
 *     before, TR_PSTOP after, never twice in a row);
 *   - a goroutine is created once, before any other transition of it;
 *   - TR_START only of a RUNNABLE goroutine; TR_STOP, TR_SYSCALL only of
 *     one running on that P; TR_UNBLOCK only of a WAITING one; TR_SYSEXIT
 *     only of one in a syscall;
 *   - ts never decreases.
 *
 * Where the file breaks them (a flight recorder dump that lost its head,
 * events lost or ordered oddly by equal timestamps) the replay adds the
 * missing transitions, marked implied, or drops the event. A goroutine
 * first seen in another event than EvGoCreate existed before the trace:
 * a first pass over the events finds such goroutines and the state their
 * first event implies, and the replay creates them at the first
 * timestamp, as the writer's own start-of-trace snapshot does.
 *
 * Syscalls: the writer's M gives up its P at every syscall entry
 * (EvGoSysCall, then EvProcStop by the same M), and takes it back on the
 * way out when nobody took it meanwhile (EvProcStart by the same M, then
 * EvGoSysExit on that P). That is Go's _Psyscall, which Go's own trace
 * does not show as a stop: the P stays started here, with the goroutine
 * in its syscall (pstate.insyscall), until the goroutine loses it
 * (EvGoSysBlock, another M starting the P, the call returning on another
 * P or on none), when the P stops. So a syscall that kept its P stays a
 * syscall on a running goroutine, not a hand-off.
 */
#include <stdlib.h>
#include <string.h>

#include "gort_trace.h"

/* --- the goroutine table ------------------------------------------------ */

/* Goroutine ids come from the file: with a fixed hash, a file of ids
 * chosen to share a slot (for a multiplicative hash, multiples of its
 * inverse) makes every insertion probe all the others, minutes for a
 * file of a few MB. hash_mix (util.c) is keyed per run: the table's
 * layout changes from run to run, the output does not (it follows gall,
 * the order of appearance). */
static size_t slot_of(uint64_t id, size_t cap)
{
	return (size_t)hash_mix(id) & (cap - 1);
}

static struct gor *gfind(struct replay *r, uint64_t id)
{
	if (r->gcap == 0)
		return NULL;
	for (size_t i = slot_of(id, r->gcap);; i = (i + 1) & (r->gcap - 1)) {
		if (r->gtab[i] == NULL)
			return NULL;
		if (r->gtab[i]->id == id)
			return r->gtab[i];
	}
}

static void ginsert(struct gor **tab, size_t cap, struct gor *g)
{
	size_t i = slot_of(g->id, cap);
	while (tab[i] != NULL)
		i = (i + 1) & (cap - 1);
	tab[i] = g;
}

/* gget returns g's entry, making an UNKNOWN one when new. */
static struct gor *gget(struct replay *r, uint64_t id)
{
	struct gor *g = gfind(r, id);
	if (g != NULL)
		return g;
	if ((r->ng + 1) * 2 > r->gcap) {
		size_t cap = r->gcap ? r->gcap * 2 : 256;
		struct gor **tab = calloc(cap, sizeof(*tab));
		if (tab == NULL)
			die_oom();
		for (size_t i = 0; i < r->gcap; i++)
			if (r->gtab[i] != NULL)
				ginsert(tab, cap, r->gtab[i]);
		free(r->gtab);
		r->gtab = tab;
		r->gcap = cap;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		die_oom();
	g->id = id;
	g->p = -1;
	g->mid = -1;
	ginsert(r->gtab, r->gcap, g);
	r->ng++;
	if (r->nall == r->allcap) {
		r->allcap = r->allcap ? r->allcap * 2 : 256;
		r->gall = xrealloc(r->gall, r->allcap * sizeof(*r->gall));
	}
	r->gall[r->nall++] = g;
	return g;
}

/* --- transitions ---------------------------------------------------------- */

static void set_state(struct replay *r, struct gor *g, enum gstate s,
                      int64_t ts)
{
	r->counts[g->state]--;
	r->counts[s]++;
	g->state = s;
	g->since = ts;
}

/* emit reports tr (its from/since taken from g before the change) and
 * then moves g to state s. */
static void emit(struct replay *r, struct tr *tr, enum gstate s)
{
	if (tr->g != NULL) {
		tr->from = tr->g->state;
		tr->since = tr->g->since;
	}
	if (r->c.on_tr)
		r->c.on_tr(r->c.ctx, r, tr);
	if (tr->g != NULL) {
		set_state(r, tr->g, s, tr->ts);
		if (tr->g->ntr < UINT32_MAX)
			tr->g->ntr++;
	}
}

static void pstart(struct replay *r, int32_t p, int32_t mid, int64_t ts,
                   bool implied)
{
	struct tr tr = {.kind = TR_PSTART, .ts = ts, .p = p, .mid = mid,
	                .implied = implied};
	emit(r, &tr, 0);
	r->p[p] = (struct pstate){.running = true, .mid = mid};
}

static void pstop(struct replay *r, int32_t p, int64_t ts, bool implied)
{
	struct tr tr = {.kind = TR_PSTOP, .ts = ts, .p = p, .mid = r->p[p].mid,
	                .implied = implied};
	emit(r, &tr, 0);
	r->p[p].running = false;
	r->p[p].insyscall = false;
}

static void create(struct replay *r, struct gor *g, int32_t p,
                   uint64_t parent, int64_t ts, bool implied)
{
	g->parent = parent;
	g->created = ts;
	g->implicit = implied;
	struct tr tr = {.kind = TR_CREATE, .ts = ts, .g = g, .p = p,
	                .by = parent, .implied = implied};
	emit(r, &tr, G_RUNNABLE);
}

/* stop_g stops g, running (or in a syscall) on its P. */
static void stop_g(struct replay *r, struct gor *g, int64_t ts,
                   enum stop_why why, uint64_t reason, bool implied)
{
	if (g->state == G_SYSCALL && why != STOP_SYSBLOCK) {
		struct tr x = {.kind = TR_SYSEXIT, .ts = ts, .g = g, .p = g->p,
		               .mid = g->mid, .implied = true};
		emit(r, &x, G_RUNNING);
	}
	if (g->state == G_RUNNING && why == STOP_SYSBLOCK) {
		struct tr x = {.kind = TR_SYSCALL, .ts = ts, .g = g, .p = g->p,
		               .mid = g->mid, .implied = true};
		emit(r, &x, G_SYSCALL);
	}
	static const enum gstate to[] = {
		[STOP_END] = G_DEAD, [STOP_BLOCK] = G_WAITING,
		[STOP_SCHED] = G_RUNNABLE, [STOP_PREEMPT] = G_RUNNABLE,
		[STOP_SYSBLOCK] = G_SYSBLOCKED,
	};
	struct tr tr = {.kind = TR_STOP, .ts = ts, .g = g, .p = g->p,
	                .mid = g->mid, .why = why, .reason = reason,
	                .implied = implied};
	int32_t p = g->p;
	r->p[p].g = NULL;
	emit(r, &tr, to[why]);
	g->reason = why == STOP_BLOCK ? reason : 0;
	g->p = -1;
	/* The P its M released at the syscall entry stops with it. */
	if (r->p[p].insyscall)
		pstop(r, p, ts, false);
}

/* vacate stops whatever runs on p: a P changes hands or goes idle. */
static void vacate(struct replay *r, int32_t p, int64_t ts)
{
	struct gor *g = r->p[p].g;
	if (g != NULL)
		stop_g(r, g, ts, g->state == G_SYSCALL ? STOP_SYSBLOCK : STOP_PREEMPT,
		       0, true);
}

static void start_g(struct replay *r, struct gor *g, int32_t p, int32_t mid,
                    int64_t ts, bool implied)
{
	vacate(r, p, ts);
	if (!r->p[p].running)
		pstart(r, p, mid, ts, true);
	struct tr tr = {.kind = TR_START, .ts = ts, .g = g, .p = p,
	                .mid = r->p[p].mid, .implied = implied};
	g->p = p;
	g->mid = r->p[p].mid;
	r->p[p].g = g;
	emit(r, &tr, G_RUNNING);
}

/* make_runnable brings g to RUNNABLE from any live state; false if dead. */
static bool make_runnable(struct replay *r, struct gor *g, int64_t ts)
{
	struct tr tr = {.ts = ts, .g = g, .p = -1, .mid = -1, .implied = true};
	switch (g->state) {
	case G_UNKNOWN:
		create(r, g, -1, 0, ts, true);
		return true;
	case G_RUNNABLE:
		return true;
	case G_RUNNING:
	case G_SYSCALL:
		stop_g(r, g, ts, STOP_PREEMPT, 0, true);
		return true;
	case G_WAITING:
		tr.kind = TR_UNBLOCK;
		emit(r, &tr, G_RUNNABLE);
		return true;
	case G_SYSBLOCKED:
		tr.kind = TR_SYSEXIT;
		tr.blocked = true;
		emit(r, &tr, G_RUNNABLE);
		return true;
	default:
		return false;
	}
}

/* ensure_running brings g to running on p; false (drop the event) if it
 * cannot: g is dead or p is none. */
static bool ensure_running(struct replay *r, struct gor *g, int32_t p,
                           int32_t mid, int64_t ts, bool implied)
{
	if (g->state == G_DEAD || p < 0)
		return false;
	if ((g->state == G_RUNNING || g->state == G_SYSCALL) && g->p == p)
		return true;
	if (!make_runnable(r, g, ts))
		return false;
	start_g(r, g, p, mid, ts, implied);
	return true;
}

/* --- the first pass: goroutines that existed before the trace ----------- */

/* The goroutine an event is about, 0 if none. */
static uint64_t subject(const struct event *e)
{
	switch (e->type) {
	case EvGoCreate: case EvGoStart: case EvGoEnd: case EvGoBlock:
	case EvGoUnblock: case EvGoSched: case EvGoPreempt:
	case EvGoSysCall: case EvGoSysExit: case EvGoSysBlock:
		return e->args[1];
	case EvGoWaiting: case EvGoInSyscall: case EvGoRunnable:
		return e->args[0];
	default:
		return 0;
	}
}

static void implicit_head(struct replay *r)
{
	const struct trace *t = r->t;
	int64_t t0 = t->t0;
	for (size_t i = 0; i < t->n; i++) {
		const struct event *e = &t->ev[i];
		uint64_t id = subject(e);
		if (id == 0 || gfind(r, id) != NULL)
			continue;
		struct gor *g = gget(r, id);
		if (e->type == EvGoCreate)
			continue; /* created in the trace: the main pass does it */
		create(r, g, -1, 0, t0, true);
		switch (e->type) {
		case EvGoUnblock:
		case EvGoWaiting: {
			struct tr tr = {.kind = TR_SNAP_WAITING, .ts = t0, .g = g,
			                .p = -1, .mid = -1, .implied = true};
			emit(r, &tr, G_WAITING);
			break;
		}
		case EvGoSysExit:
		case EvGoInSyscall: {
			struct tr tr = {.kind = TR_SNAP_SYSCALL, .ts = t0, .g = g,
			                .p = -1, .mid = -1, .implied = true};
			emit(r, &tr, G_SYSBLOCKED);
			break;
		}
		case EvGoEnd: case EvGoBlock: case EvGoSched: case EvGoPreempt:
		case EvGoSysCall: case EvGoSysBlock:
			if (e->p >= 0)
				start_g(r, g, e->p, e->mid, t0, true);
			break;
		default:
			break; /* runnable */
		}
	}
}

/* --- the main pass ------------------------------------------------------ */

static void on_proc(struct replay *r, const struct event *e)
{
	int32_t p = e->p;
	if (p < 0)
		return;
	struct pstate *ps = &r->p[p];
	if (e->type == EvProcStart) {
		if (ps->running && ps->mid == e->mid) {
			ps->insyscall = false; /* back from a syscall */
			return;
		}
		if (ps->running) {
			vacate(r, p, e->ts); /* stops a P released in a syscall */
			if (ps->running)
				pstop(r, p, e->ts, true);
		}
		pstart(r, p, e->mid, e->ts, false);
		return;
	}
	if (!ps->running)
		return;
	if (ps->g != NULL && ps->g->state == G_SYSCALL && ps->mid == e->mid) {
		ps->insyscall = true; /* a syscall entry: Go's _Psyscall */
		return;
	}
	vacate(r, p, e->ts);
	if (ps->running)
		pstop(r, p, e->ts, false);
}

static void on_sysexit(struct replay *r, struct gor *g, const struct event *e)
{
	if (g->state == G_SYSCALL) {
		if (e->p == g->p) {
			struct tr tr = {.kind = TR_SYSEXIT, .ts = e->ts, .g = g,
			                .p = g->p, .mid = e->mid};
			r->p[g->p].insyscall = false;
			emit(r, &tr, G_RUNNING);
			return;
		}
		/* Back on another P, or on none (the writer's exit without a
		 * P, the goroutine queued): the syscall lost its P unseen. */
		stop_g(r, g, e->ts, STOP_SYSBLOCK, 0, true);
	}
	if (g->state != G_SYSBLOCKED)
		return;
	struct tr tr = {.kind = TR_SYSEXIT, .ts = e->ts, .g = g, .p = e->p,
	                .mid = e->mid, .blocked = true};
	emit(r, &tr, G_RUNNABLE);
	if (e->p >= 0)
		start_g(r, g, e->p, e->mid, e->ts, true);
}

static void on_goroutine(struct replay *r, const struct event *e)
{
	uint64_t id = subject(e);
	if (id == 0)
		return;
	struct gor *g = gget(r, id);
	int64_t ts = e->ts;
	switch (e->type) {
	case EvGoCreate: {
		if (g->state != G_UNKNOWN)
			return; /* already known: a duplicate */
		size_t len;
		const char *name = trace_str(r->t, e->args[3], &len);
		if (e->args[3] != 0 && len > 0) {
			g->name = name;
			g->namelen = len;
		}
		g->pc = e->args[4];
		create(r, g, e->p, e->args[2], ts, false);
		return;
	}
	case EvGoStart:
		ensure_running(r, g, e->p, e->mid, ts, false);
		return;
	case EvGoEnd:
	case EvGoBlock:
	case EvGoSched:
	case EvGoPreempt: {
		static const enum stop_why why[] = {
			[EvGoEnd] = STOP_END, [EvGoBlock] = STOP_BLOCK,
			[EvGoSched] = STOP_SCHED, [EvGoPreempt] = STOP_PREEMPT,
		};
		if (ensure_running(r, g, e->p, e->mid, ts, true))
			stop_g(r, g, ts, why[e->type],
			       e->type == EvGoBlock ? e->args[2] : 0, false);
		return;
	}
	case EvGoUnblock: {
		if (g->state == G_UNKNOWN)
			create(r, g, -1, 0, ts, true);
		if (g->state != G_WAITING)
			return; /* not parked (a duplicate or a lost block) */
		struct tr tr = {.kind = TR_UNBLOCK, .ts = ts, .g = g, .p = e->p,
		                .mid = e->mid, .by = e->args[3]};
		emit(r, &tr, G_RUNNABLE);
		return;
	}
	case EvGoSysCall: {
		if (g->state == G_SYSCALL ||
		    !ensure_running(r, g, e->p, e->mid, ts, true))
			return;
		struct tr tr = {.kind = TR_SYSCALL, .ts = ts, .g = g, .p = g->p,
		                .mid = e->mid};
		emit(r, &tr, G_SYSCALL);
		return;
	}
	case EvGoSysBlock:
		if (g->state == G_SYSCALL ||
		    (g->state == G_RUNNING && g->p == e->p))
			stop_g(r, g, ts, STOP_SYSBLOCK, 0, false);
		return;
	case EvGoSysExit:
		on_sysexit(r, g, e);
		return;
	case EvGoWaiting:
	case EvGoInSyscall: {
		/* A snapshot state follows the creation: for a goroutine that
		 * has moved since (a duplicate, a forged file), Go's format
		 * has no way to say it. */
		if (g->state != G_RUNNABLE || g->ntr != 1)
			return;
		bool w = e->type == EvGoWaiting;
		struct tr tr = {.kind = w ? TR_SNAP_WAITING : TR_SNAP_SYSCALL,
		                .ts = ts, .g = g, .p = -1, .mid = -1,
		                .reason = w ? e->args[2] : 0};
		emit(r, &tr, w ? G_WAITING : G_SYSBLOCKED);
		g->reason = tr.reason;
		return;
	}
	default:
		if (g->state == G_UNKNOWN)
			create(r, g, -1, 0, ts, true);
		return;
	}
}

void replay_run(struct replay *r, const struct trace *t, struct consumer c)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->c = c;
	implicit_head(r);
	for (size_t i = 0; i < t->n; i++) {
		const struct event *e = &t->ev[i];
		if (e->type == EvProcStart || e->type == EvProcStop)
			on_proc(r, e);
		else
			on_goroutine(r, e);
		if (c.on_event)
			c.on_event(c.ctx, r, e);
	}
}

void replay_free(struct replay *r)
{
	for (size_t i = 0; i < r->nall; i++)
		free(r->gall[i]);
	free(r->gall);
	free(r->gtab);
	memset(r, 0, sizeof(*r));
}

struct gor *replay_g(struct replay *r, uint64_t id)
{
	return gfind(r, id);
}

void gor_site(const struct gor *g, char *buf, size_t len)
{
	if (g->name != NULL)
		snprintf(buf, len, "%.*s", (int)g->namelen, g->name);
	else if (g->pc != 0)
		snprintf(buf, len, "pc=0x%llx", (unsigned long long)g->pc);
	else
		snprintf(buf, len, "G%llu", (unsigned long long)g->id);
}

const char *reason_str(const struct replay *r, uint64_t reason)
{
	return reason ? trace_str(r->t, reason, NULL) : "";
}
