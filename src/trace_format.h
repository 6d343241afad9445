/*
 * trace_format.h - the gort execution trace file format (version 2).
 *
 * Shared by the writer (trace.c, in the runtime) and the reader (the
 * gort-trace tool, tools/gort-trace/). Nothing here is public API; the
 * file format is documented in docs/OBSERVABILITY.md.
 *
 * File:
 *     header    16 bytes: "gort trace 2", three NULs, then one byte u:
 *               timestamps count units of 2^u ns (the writer: u = 4)
 *     batches   any number, in any order
 *
 * Varints are unsigned LEB128 (at most 10 bytes). Arguments are varints
 * of one of these kinds (trace_ev_args below says which, per type):
 *     U    the value.
 *     ID   a P or M id, written plus one: 0 is -1 (no P, not an M).
 *     GID  a goroutine id, written as the zigzag of the difference to the
 *          batch's last GID argument L ((d << 1) ^ (d >> 63)), then L = it.
 *     P    not written: the batch's P register (below).
 *     G    not written: the batch's G register (below).
 *
 * A batch is the content of one thread's buffer: events of that thread
 * only, in the order it emitted them. It starts with
 *     EvBatch  tid mid ts
 * (tid: kernel thread id; mid (ID): the M's id, or -1 for a thread that is
 * not an M (sysmon, a foreign thread, the writer); ts: absolute timestamp,
 * gort_nanotime() in units of 2^u ns), which also sets the batch's
 * registers: P = -1, G = 0, L = 0. So every batch decodes on its own (a
 * flight recorder dump drops its oldest buffers, each a batch).
 *
 * An event begins with one byte: the type in its low 5 bits (TRACE_TYPE),
 * and for types with a time its top 3 bits are dtc: the time since the
 * previous timed event of the batch (or since the batch's ts), in units,
 * is dtc if dtc < 7, else a varint that follows the byte. The arguments
 * of the type follow. EvBatch, EvString, EvSite, EvSetP and EvSetG have
 * no time, and their top 3 bits are 0.
 *     EvSetP p (ID): the batch's P register = p. The P register is the P
 *         the emitting thread holds; the writer sets it before the first
 *         event that needs it and whenever it changes.
 *     EvSetG g (U): the batch's G register = g. The G register is the
 *         goroutine this thread runs: EvGoStart sets it to its g too. The
 *         goroutine of GoEnd, GoBlock, ..., the parent of GoCreate and the
 *         "by" of GoUnblock are G arguments; where one is another
 *         goroutine (0 for none included), an EvSetG comes first.
 *
 * EvString: varint id (>= 1), varint len (<= TRACE_STRING_MAX), then len
 * bytes. EvSite: varint id (>= 1), name string id (0: none), pc (where
 * the goroutine was created). String and site ids are unique in a file;
 * both may appear anywhere in it (the writer puts its tables in a last
 * batch, tid 0 and mid -1, so that a flight recorder dump, whose oldest
 * buffers are gone, still names everything): a reader resolves ids once
 * it has read the whole file. GoCreate names a site (0: none, no name and
 * pc 0); wait reasons are strings (the reason of EvGoBlock and
 * EvGoWaiting is a string id whose text is Go's wait reason, "chan
 * receive", "sleep", ...).
 *
 * Ordering across batches is by timestamp (one monotonic clock for every
 * thread). For events of the same goroutine with equal timestamps the
 * per-G sequence number (seq below, incremented on every GoStart,
 * GoUnblock, GoSysExit and in the start-of-trace snapshot) gives the
 * order, as in Go's format.
 *
 * The first events of a file written by gort_trace_start are the
 * snapshot: EvGomaxprocs, then for every existing goroutine EvGoCreate
 * (parent 0) followed by its state: EvGoWaiting, EvGoInSyscall,
 * EvGoRunnable, or EvGoStart (on a P that is running it). A flight
 * recorder dump begins with EvGomaxprocs only: it has no goroutine
 * snapshot. A reader that meets a goroutine it has not seen created (in
 * a flight dump) takes it as existing since the start of the file.
 *
 * Arguments of each event, in order ("p": the P the emitting thread
 * holds, -1 if none; "g": goroutine id; "reason": a string id, see
 * above), with their kinds in trace_ev_args. The type codes fill the 5
 * bits: a new type needs a new version of the format.
 */
#ifndef GORT_TRACE_FORMAT_H
#define GORT_TRACE_FORMAT_H

#define TRACE_MAGIC "gort trace 2"
#define TRACE_HEADER_LEN 16
#define TRACE_HEADER_UNIT 15   /* the header byte that holds u */
#define TRACE_UNIT_MAX 30      /* the largest u a reader accepts */
#define TRACE_UNIT 4           /* the writer's u: 16 ns */
#define TRACE_STRING_MAX 1024
#define TRACE_TYPE(b) ((b) & 0x1f)
#define TRACE_DTC_SHIFT 5
#define TRACE_DTC_VARINT 7     /* dtc: a varint dt follows */

enum trace_ev {
	EvNone = 0,
	EvBatch,         /* tid, mid, ts (no time) */
	EvString,        /* id, len, bytes (no time) */
	EvSite,          /* id, name string id, pc (no time) */
	EvSetP,          /* p (no time): the batch's P register */
	EvSetG,          /* g (no time): the batch's G register */
	EvGomaxprocs,    /* procs: the snapshot's, then at every change */
	EvProcStart,     /* p, mid: mid acquired p */
	EvProcStop,      /* p, mid: mid released p */
	EvMStart,        /* mid, tid: a new M began running */
	EvMStop,         /* mid: its thread ends */
	EvMPark,         /* mid: stopm or stoplockedm, the M sleeps with no P */
	EvMUnpark,       /* mid: woken with a P (after EvMPark) */
	EvGoCreate,      /* p, g, parent g (0: none), site (0: none) */
	EvGoStart,       /* p, g, seq; the G register = g */
	EvGoEnd,         /* p, g */
	EvGoBlock,       /* p, g, reason */
	EvGoUnblock,     /* p, g, seq, by g (0: not a goroutine: netpoll, timer, thread) */
	EvGoSched,       /* p, g: gort_gosched */
	EvGoPreempt,     /* p, g, kind (0 cooperative, 1 signal) */
	EvGoSysCall,     /* p, g: entersyscall */
	EvGoSysExit,     /* p, g, seq: exitsyscall (p: the P it got back or took, -1 none) */
	EvGoSysBlock,    /* p, g: p, left in g's syscall, was taken (handoffp, retake, STW) */
	EvGoWaiting,     /* g, seq, reason: snapshot, parked when tracing began */
	EvGoInSyscall,   /* g, seq: snapshot, in a syscall when tracing began */
	EvGoRunnable,    /* g: snapshot, on a run queue when tracing began */
	EvSteal,         /* p (thief), victim p, n: n goroutines stolen */
	EvGlobRunqGet,   /* p, n: n goroutines taken from the global queue */
	EvGlobRunqPut,   /* p, n: n goroutines moved to the global queue */
	EvNetpollWake,   /* p, n: n goroutines made ready by the netpoller */
	EvTimerFire,     /* p, n: n timers fired by checktimers */
	EvPreemptReq,    /* p, g (0), kind (0 flag, 1 signal sent): sysmon asked */
	EvCount
};

/* Argument kinds (see the top); 0 ends a type's list. */
enum trace_arg { TA_END = 0, TA_U, TA_ID, TA_GID, TA_P, TA_G };
#define TRACE_MAX_ARGS 4

/* Per type, the kind of each argument, in order. EvString: special. */
static const unsigned char trace_ev_args[EvCount][TRACE_MAX_ARGS] = {
	[EvBatch] = {TA_U, TA_ID, TA_U},
	[EvSite] = {TA_U, TA_U, TA_U},
	[EvSetP] = {TA_ID},
	[EvSetG] = {TA_U},
	[EvGomaxprocs] = {TA_U},
	[EvProcStart] = {TA_ID, TA_ID},
	[EvProcStop] = {TA_ID, TA_ID},
	[EvMStart] = {TA_ID, TA_U},
	[EvMStop] = {TA_ID},
	[EvMPark] = {TA_ID},
	[EvMUnpark] = {TA_ID},
	[EvGoCreate] = {TA_P, TA_GID, TA_G, TA_U},
	[EvGoStart] = {TA_P, TA_GID, TA_U},
	[EvGoEnd] = {TA_P, TA_G},
	[EvGoBlock] = {TA_P, TA_G, TA_U},
	[EvGoUnblock] = {TA_P, TA_GID, TA_U, TA_G},
	[EvGoSched] = {TA_P, TA_G},
	[EvGoPreempt] = {TA_P, TA_G, TA_U},
	[EvGoSysCall] = {TA_P, TA_G},
	[EvGoSysExit] = {TA_P, TA_G, TA_U},
	[EvGoSysBlock] = {TA_ID, TA_GID},
	[EvGoWaiting] = {TA_GID, TA_U, TA_U},
	[EvGoInSyscall] = {TA_GID, TA_U},
	[EvGoRunnable] = {TA_GID},
	[EvSteal] = {TA_P, TA_ID, TA_U},
	[EvGlobRunqGet] = {TA_P, TA_U},
	[EvGlobRunqPut] = {TA_P, TA_U},
	[EvNetpollWake] = {TA_P, TA_U},
	[EvTimerFire] = {TA_P, TA_U},
	[EvPreemptReq] = {TA_ID, TA_U, TA_U},
};

/* The number of arguments of type. */
static inline int trace_ev_nargs(int type)
{
	int n = 0;
	while (n < TRACE_MAX_ARGS && trace_ev_args[type][n] != TA_END)
		n++;
	return n;
}

/* Types without a time (their top 3 bits are 0). */
static inline int trace_ev_timed(int type)
{
	return type > EvSetG;
}

static const char *const trace_ev_names[EvCount] = {
	[EvNone] = "None",             [EvBatch] = "Batch",
	[EvString] = "String",         [EvSite] = "Site",
	[EvSetP] = "SetP",             [EvSetG] = "SetG",
	[EvGomaxprocs] = "Gomaxprocs", [EvProcStart] = "ProcStart",
	[EvProcStop] = "ProcStop",     [EvMStart] = "MStart",
	[EvMStop] = "MStop",           [EvMPark] = "MPark",
	[EvMUnpark] = "MUnpark",       [EvGoCreate] = "GoCreate",
	[EvGoStart] = "GoStart",       [EvGoEnd] = "GoEnd",
	[EvGoBlock] = "GoBlock",       [EvGoUnblock] = "GoUnblock",
	[EvGoSched] = "GoSched",       [EvGoPreempt] = "GoPreempt",
	[EvGoSysCall] = "GoSysCall",   [EvGoSysExit] = "GoSysExit",
	[EvGoSysBlock] = "GoSysBlock", [EvGoWaiting] = "GoWaiting",
	[EvGoInSyscall] = "GoInSyscall", [EvGoRunnable] = "GoRunnable",
	[EvSteal] = "Steal",           [EvGlobRunqGet] = "GlobRunqGet",
	[EvGlobRunqPut] = "GlobRunqPut", [EvNetpollWake] = "NetpollWake",
	[EvTimerFire] = "TimerFire",   [EvPreemptReq] = "PreemptReq",
};

_Static_assert(EvCount <= 32, "event types are 5 bits");

#endif /* GORT_TRACE_FORMAT_H */
