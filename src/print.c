/*
 * print.c - the runtime's own printing, and throw/fatal.
 *
 * Everything here writes straight to fd 2 with write(2): no stdio, no
 * malloc, no locks, so it is safe in a signal handler and in a runtime
 * that is already broken. throw (runtime corruption) and fatal (Go's
 * fatal conditions) print Go's "fatal error: <what>" line, then the
 * goroutine that hit it, and exit with status 2.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

const char *const waitreason_strings[waitReasonCount] = {
	[waitReasonZero] = "",
	[waitReasonChanReceiveNilChan] = "chan receive (nil chan)",
	[waitReasonChanSendNilChan] = "chan send (nil chan)",
	[waitReasonSelectNoCases] = "select (no cases)",
	[waitReasonChanReceive] = "chan receive",
	[waitReasonChanSend] = "chan send",
	[waitReasonSelect] = "select",
	[waitReasonSleep] = "sleep",
	[waitReasonSemacquire] = "semacquire",
	[waitReasonSyncCondWait] = "sync.Cond.Wait",
	[waitReasonSyncMutexLock] = "sync.Mutex.Lock",
	[waitReasonSyncRWMutexRLock] = "sync.RWMutex.RLock",
	[waitReasonSyncRWMutexLock] = "sync.RWMutex.Lock",
	[waitReasonIOWait] = "IO wait",
	[waitReasonStopTheWorld] = "stop the world",
	[waitReasonPreempted] = "preempted",
	[waitReasonLockOSThread] = "locked to thread",
};

static void writeall(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void printstr(const char *s)
{
	writeall(s, strlen(s));
}

void printint(int64_t v)
{
	char buf[24];
	int i = sizeof buf;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[--i] = '-';
	writeall(buf + i, sizeof buf - (size_t)i);
}

void printhex(uint64_t v)
{
	char buf[20];
	int i = sizeof buf;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	writeall(buf + i, sizeof buf - (size_t)i);
}

static const char *gstatus_string(uint32_t s)
{
	switch (s) {
	case _Gidle: return "idle";
	case _Grunnable: return "runnable";
	case _Grunning: return "running";
	case _Gsyscall: return "syscall";
	case _Gwaiting: return "waiting";
	case _Gdead: return "dead";
	case _Gpreempted: return "preempted";
	default: return "???";
	}
}

/* "goroutine 18 [running]:" for the goroutine on this thread, if any. */
static void printcurg(void)
{
	m *mp = tls_m;
	g *gp = mp ? mp->curg : NULL;
	if (!gp)
		return;
	printstr("\ngoroutine ");
	printint(gp->goid);
	printstr(" [");
	printstr(gstatus_string(atomic_load_explicit(&gp->atomicstatus, memory_order_relaxed)));
	printstr("]:\n");
	if (gp->gopc) {
		printstr("created by ");
		printhex(gp->gopc);
		printstr("\n");
	}
}

_Noreturn static void dothrow(const char *msg)
{
	printstr("fatal error: ");
	printstr(msg);
	printstr("\n");
	printcurg();
	_exit(2);
}

_Noreturn void throw(const char *msg)
{
	dothrow(msg);
}

_Noreturn void fatal(const char *msg)
{
	dothrow(msg);
}
