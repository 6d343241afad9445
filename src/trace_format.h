/*
 * trace_format.h - the gort execution trace file format (version 1).
 *
 * Shared by the writer (trace.c, in the runtime) and the reader (the
 * gort-trace tool, tools/gort-trace/). Nothing here is public API; the
 * file format is documented in docs/OBSERVABILITY.md.
 *
 * File:
 *     header    16 bytes: "gort trace 1" padded with NULs
 *     batches   any number, in any order
 *
 * A batch is the content of one thread's buffer: events of that thread
 * only, in the order it emitted them. It starts with
 *     EvBatch  tid mid ts
 * (tid: kernel thread id; mid: the M's id, or -1 written as the varint of
 * UINT64_MAX for a thread that is not an M (sysmon, a foreign thread, the
 * writer); ts: absolute timestamp, ns of gort_nanotime()). Every other
 * event is
 *     type byte, varint dt, then the varint arguments of its type
 * where dt is the time since the previous event of the batch (or since
 * the batch's ts), in ns; dt may be 0. Varints are unsigned LEB128 (at
 * most 10 bytes). Signed ids (p = -1: no P) are written as their uint64
 * value, so -1 is the 10-byte varint of UINT64_MAX.
 *
 * EvString and EvBatch have no dt. EvString: varint id (>= 1), varint len
 * (<= TRACE_STRING_MAX), then len bytes. String ids are unique in a file;
 * a string may appear anywhere in it (the writer puts its string table in
 * a last batch, tid 0 and mid -1, so that a flight recorder dump, whose
 * oldest buffers are gone, still names everything): a reader resolves ids
 * once it has read the whole file. Strings name goroutines (EvGoCreate)
 * and wait reasons (the reason of EvGoBlock and EvGoWaiting is a string
 * id whose text is Go's wait reason, "chan receive", "sleep", ...).
 *
 * Ordering across batches is by timestamp (one monotonic clock for every
 * thread). For events of the same goroutine with equal timestamps the
 * per-G sequence number (seq below, incremented on every GoStart,
 * GoUnblock, GoSysExit and in the start-of-trace snapshot) gives the
 * order, as in Go's format.
 *
 * The first events of a file (written by gort_trace_start, or at the head
 * of a flight recorder dump) are the snapshot: EvGomaxprocs, then for
 * every existing goroutine EvGoCreate (parent 0) followed by its state:
 * EvGoWaiting, EvGoInSyscall, EvGoRunnable, or EvGoStart (on a P that is
 * running it). A reader that meets a goroutine it has not seen created
 * (a flight dump that lost its head) takes it as existing since the
 * start of the file.
 *
 * Arguments of each event, after dt ("p": the P the emitting thread holds,
 * -1 if none; "g": goroutine id; "reason": a string id, see above).
 * A reader skips event types it does not know only if it knows their
 * argument count: new types are added at the end, never renumbered.
 */
#ifndef GORT_TRACE_FORMAT_H
#define GORT_TRACE_FORMAT_H

#define TRACE_MAGIC "gort trace 1"
#define TRACE_HEADER_LEN 16
#define TRACE_STRING_MAX 1024

enum trace_ev {
	EvNone = 0,
	EvBatch,         /* tid, mid, ts (no dt) */
	EvString,        /* id, len, bytes (no dt) */
	EvGomaxprocs,    /* procs */
	EvProcStart,     /* p, mid: mid acquired p */
	EvProcStop,      /* p, mid: mid released p */
	EvMStart,        /* mid, tid: a new M began running */
	EvMStop,         /* mid: its thread ends */
	EvMPark,         /* mid: stopm, the M sleeps with no P */
	EvMUnpark,       /* mid: woken with a P (after EvMPark) */
	EvGoCreate,      /* p, g, parent g (0: none), name string id (0: none), entry pc */
	EvGoStart,       /* p, g, seq */
	EvGoEnd,         /* p, g */
	EvGoBlock,       /* p, g, reason */
	EvGoUnblock,     /* p, g, seq, by g (0: not a goroutine: netpoll, timer, thread) */
	EvGoSched,       /* p, g: gort_gosched */
	EvGoPreempt,     /* p, g, kind (0 cooperative, 1 signal) */
	EvGoSysCall,     /* p, g: entersyscall */
	EvGoSysExit,     /* p, g, seq: exitsyscall (p: the P it got back or took, -1 none) */
	EvGoSysBlock,    /* p, g: the syscall lost its P (handoffp or retake) */
	EvGoWaiting,     /* g, seq, reason: snapshot, parked when tracing began */
	EvGoInSyscall,   /* g, seq: snapshot, in a syscall when tracing began */
	EvGoRunnable,    /* g: snapshot, on a run queue when tracing began */
	EvSteal,         /* p (thief), victim p, n: n goroutines stolen */
	EvGlobRunqGet,   /* p, n: n goroutines taken from the global queue */
	EvGlobRunqPut,   /* p, n: n goroutines moved to the global queue */
	EvNetpollWake,   /* p, n: n goroutines made ready by the netpoller */
	EvTimerFire,     /* p, n: n timers fired by checktimers */
	EvPreemptReq,    /* p, g, kind (0 flag, 1 signal sent): sysmon asked */
	EvCount
};

/* Argument counts after dt (EvBatch: 3 without dt; EvString: special). */
static const unsigned char trace_ev_nargs[EvCount] = {
	[EvBatch] = 3,        [EvGomaxprocs] = 1,  [EvProcStart] = 2,
	[EvProcStop] = 2,     [EvMStart] = 2,      [EvMStop] = 1,
	[EvMPark] = 1,        [EvMUnpark] = 1,     [EvGoCreate] = 5,
	[EvGoStart] = 3,      [EvGoEnd] = 2,       [EvGoBlock] = 3,
	[EvGoUnblock] = 4,    [EvGoSched] = 2,     [EvGoPreempt] = 3,
	[EvGoSysCall] = 2,    [EvGoSysExit] = 3,   [EvGoSysBlock] = 2,
	[EvGoWaiting] = 3,    [EvGoInSyscall] = 2, [EvGoRunnable] = 1,
	[EvSteal] = 3,        [EvGlobRunqGet] = 2, [EvGlobRunqPut] = 2,
	[EvNetpollWake] = 2,  [EvTimerFire] = 2,   [EvPreemptReq] = 3,
};

static const char *const trace_ev_names[EvCount] = {
	[EvNone] = "None",             [EvBatch] = "Batch",
	[EvString] = "String",         [EvGomaxprocs] = "Gomaxprocs",
	[EvProcStart] = "ProcStart",   [EvProcStop] = "ProcStop",
	[EvMStart] = "MStart",         [EvMStop] = "MStop",
	[EvMPark] = "MPark",           [EvMUnpark] = "MUnpark",
	[EvGoCreate] = "GoCreate",     [EvGoStart] = "GoStart",
	[EvGoEnd] = "GoEnd",           [EvGoBlock] = "GoBlock",
	[EvGoUnblock] = "GoUnblock",   [EvGoSched] = "GoSched",
	[EvGoPreempt] = "GoPreempt",   [EvGoSysCall] = "GoSysCall",
	[EvGoSysExit] = "GoSysExit",   [EvGoSysBlock] = "GoSysBlock",
	[EvGoWaiting] = "GoWaiting",   [EvGoInSyscall] = "GoInSyscall",
	[EvGoRunnable] = "GoRunnable", [EvSteal] = "Steal",
	[EvGlobRunqGet] = "GlobRunqGet", [EvGlobRunqPut] = "GlobRunqPut",
	[EvNetpollWake] = "NetpollWake", [EvTimerFire] = "TimerFire",
	[EvPreemptReq] = "PreemptReq",
};

#endif /* GORT_TRACE_FORMAT_H */
