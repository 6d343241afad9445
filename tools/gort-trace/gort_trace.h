/*
 * gort_trace.h - the gort-trace tool: shared types.
 *
 * The tool reads a gort trace file (src/trace_format.h) in three steps:
 *
 *   read.c     parses the file into one array of events sorted by time,
 *              with every argument the file leaves implicit filled in and
 *              every site resolved. All checks of the input happen
 *              here: a file that parses is well formed byte-wise (P and M
 *              ids in range, timestamps that cannot overflow), whatever
 *              its events mean.
 *   state.c    replays the events through a per-G and per-P state machine
 *              (Go's: runnable, running, waiting, in a syscall) and reports
 *              each state change as a transition. The replay repairs what
 *              a trace with gaps implies (a flight recorder dump whose head
 *              is gone, a lost event): a goroutine first seen in another
 *              event than its creation existed since the start; a
 *              goroutine started on a P that runs another first stops that
 *              one. So every consumer sees consistent transitions only.
 *   view.c, stats.c, gotrace.c
 *              consume the transitions (and the raw events): Chrome/Perfetto
 *              JSON, Go's goroutine analysis as a table, Go 1.19's trace
 *              format.
 *
 * Nothing here is shared with the runtime but the file format header.
 */
#ifndef GORT_TRACE_TOOL_H
#define GORT_TRACE_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_format.h"

/* Ids the reader accepts: P ids and M ids in [0, MAX) or -1. */
#define TOOL_MAX_P 4096
#define TOOL_MAX_M 65536
/* Timestamps past this are garbage (and could overflow sums). */
#define TOOL_MAX_TS ((uint64_t)1 << 62)

/* One event of the file. */
struct event {
	int64_t ts;        /* absolute, ns */
	uint8_t type;      /* enum trace_ev */
	int32_t p;         /* the P argument, -1 for none or no P argument */
	int32_t mid;       /* the M argument, else the batch's M (-1: not an M) */
	uint32_t batch;    /* batch index in the file, for a stable order */
	uint32_t index;    /* index within the batch */
	/* As trace_format.h lists them, the implicit ones (p, the current
	 * g) included, -1 ids as UINT64_MAX; GoCreate's site resolved into
	 * args[3] (name string id) and args[4] (pc). */
	uint64_t args[5];
};

struct trace_string {
	uint64_t id; /* first: read.c sorts strings and sites by it alike */
	size_t len;
	char *s;
};

struct trace {
	struct event *ev;
	size_t n;
	struct trace_string *str; /* sorted by id */
	size_t nstr;
	int64_t t0, t1;           /* first and last timestamps */
	int gomaxprocs;           /* from the first EvGomaxprocs, else 0 */
	int maxp;                 /* highest P id seen + 1 */
};

/* read.c */
/* trace_read loads path; on error writes a message into err and returns -1. */
int trace_read(const char *path, struct trace *t, char *err, size_t errlen);
void trace_free(struct trace *t);
/* The string of id, "" when absent; *len receives its length. */
const char *trace_str(const struct trace *t, uint64_t id, size_t *len);

/* state.c */
enum gstate {
	G_UNKNOWN = 0, /* not seen yet */
	G_RUNNABLE,
	G_RUNNING,
	G_WAITING,
	G_SYSCALL,     /* in a syscall, still holding its P */
	G_SYSBLOCKED,  /* in a syscall, its P lost */
	G_DEAD,
	G_NSTATES
};

/* Why a goroutine stopped running (TR_STOP). */
enum stop_why {
	STOP_END,
	STOP_BLOCK,    /* reason: the wait reason string */
	STOP_SCHED,
	STOP_PREEMPT,
	STOP_SYSBLOCK,
};

enum tr_kind {
	TR_PSTART,     /* p acquired by mid */
	TR_PSTOP,      /* p released */
	TR_CREATE,     /* g created (runnable) on p (-1 none) by parent */
	TR_SNAP_WAITING,  /* g, just created, is waiting (start of trace) */
	TR_SNAP_SYSCALL,  /* g, just created, is in a syscall without P */
	TR_START,      /* g runs on p */
	TR_STOP,       /* g stops running on p: why, reason */
	TR_UNBLOCK,    /* g made runnable by `by` (0: not a goroutine), on p */
	TR_SYSCALL,    /* g enters a syscall on p, keeping p */
	TR_SYSEXIT,    /* g leaves a syscall; was blocked (lost its P) or not */
};

struct gor {
	uint64_t id;
	enum gstate state;
	int32_t p;            /* the P it runs on (RUNNING, SYSCALL) */
	int32_t mid;          /* the M it runs on, when known */
	uint64_t parent;
	const char *name;     /* NULL: unnamed */
	size_t namelen;
	uint64_t pc;          /* entry pc, 0 unknown */
	bool implicit;        /* existed before the trace's first event */
	int64_t created;      /* ts of creation (t0 for implicit ones) */
	int64_t since;        /* ts it entered its state */
	uint64_t reason;      /* wait reason string id while WAITING */
	uint32_t ntr;         /* its transitions so far (1: just created) */
	uint64_t user[2];     /* for the consumers (view: flow id) */
};

struct tr {
	enum tr_kind kind;
	int64_t ts;
	struct gor *g;        /* NULL for TR_PSTART, TR_PSTOP */
	int32_t p;
	int32_t mid;
	enum gstate from;     /* g's state before */
	int64_t since;        /* when g entered `from` */
	enum stop_why why;    /* TR_STOP */
	uint64_t reason;      /* TR_STOP STOP_BLOCK, TR_SNAP_WAITING */
	uint64_t by;          /* TR_UNBLOCK */
	bool blocked;         /* TR_SYSEXIT: from G_SYSBLOCKED */
	bool implied;         /* made up by the replay, not in the file */
};

struct pstate {
	bool running;
	bool insyscall;       /* released by its M at a syscall entry (state.c) */
	int32_t mid;
	struct gor *g;
};

struct replay;

/* A consumer: on_tr for each transition, on_event for each event after
 * its transitions. Either may be NULL. */
struct consumer {
	void *ctx;
	void (*on_tr)(void *ctx, struct replay *r, const struct tr *tr);
	void (*on_event)(void *ctx, struct replay *r, const struct event *ev);
};

struct replay {
	const struct trace *t;
	struct consumer c;
	struct gor **gtab;    /* open addressing by id */
	size_t gcap, ng;
	struct gor **gall;    /* in order of appearance */
	size_t nall, allcap;
	struct pstate p[TOOL_MAX_P];
	int counts[G_NSTATES];
	bool snapshot;        /* still in the start-of-trace snapshot */
};

/* replay_run replays t, calling c; r stays valid (goroutines, counts)
 * until replay_free. */
void replay_run(struct replay *r, const struct trace *t, struct consumer c);
void replay_free(struct replay *r);
/* The goroutine of id, NULL if never seen. */
struct gor *replay_g(struct replay *r, uint64_t id);
/* The creation site of g: its name, else the pc it was created at, else
 * G<id>. */
void gor_site(const struct gor *g, char *buf, size_t len);
/* A wait reason as text ("" for none). */
const char *reason_str(const struct replay *r, uint64_t reason);

/* The subcommands; each returns the exit status. */
int cmd_view(const struct trace *t, FILE *out);
int cmd_stats(const struct trace *t, FILE *out);
int cmd_go(const struct trace *t, FILE *out);

/* util.c: helpers shared by the stages. */
void *xrealloc(void *p, size_t n);
void die_oom(void);
/* hash_mix: x mixed with a key of this run, for the hash tables. */
uint64_t hash_mix(uint64_t x);

/* strmap: strings (copied) to an index 0, 1, ... in order of insertion. */
struct strmap {
	char **key;
	size_t n, cap;
	size_t *tab; /* open addressing: index + 1, 0 empty */
	size_t tabcap;
};
/* strmap_index returns key's index, adding it when new (*added set). */
size_t strmap_index(struct strmap *m, const char *key, bool *added);
void strmap_free(struct strmap *m);

/* bytes: a growable buffer. */
struct bytes {
	unsigned char *b;
	size_t n, cap;
};
void bytes_put(struct bytes *b, const void *p, size_t n);
void bytes_varint(struct bytes *b, uint64_t v);

#endif /* GORT_TRACE_TOOL_H */
