/*
 * print.c - the runtime's own printing, and throw/fatal.
 *
 * Everything here writes straight to fd 2 with write(2): no stdio, no
 * malloc, no locks, so it is safe in a signal handler and in a runtime
 * that is already broken. throw (runtime corruption) and fatal (Go's
 * fatal conditions) print Go's "fatal error: <what>" line, then the
 * goroutine that hit it (with its stack, traceback.c), and exit with
 * status 2.
 *
 * One report per process: the first thread to end the process (throw,
 * fatal, checkdead's deadlock, SIGQUIT) claims it (fatal_claim) and the
 * others, which may hit the same misuse at the same moment on other Ps,
 * stop there and wait for its _exit, as Go's dopanic_m makes later
 * panickers wait: otherwise their lines interleave byte by byte in one
 * unreadable report. A thread that fails again while it reports (a fault
 * in its traceback) exits at once rather than waiting for itself.
 *
 * dumpout is the one output of the longer reports (goroutine dumps,
 * schedtrace): a buffer of its own, flushed to a file descriptor with
 * write(2) (signal-safe: the SIGQUIT and fatal paths) or to a stdio FILE
 * (gort_dump_goroutines, gort_schedtrace), so that one printer serves
 * both.
 */
#include <stdatomic.h>
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

/* Decimal and 0x-hex renderings into the end of a 24-byte buffer;
 * each returns where its text begins. */
static char *fmtint(char buf[24], int64_t v)
{
	char *p = buf + 24;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return p;
}

static char *fmthex(char buf[24], uint64_t v)
{
	char *p = buf + 24;
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	return p;
}

void printstr(const char *s)
{
	writeall(s, strlen(s));
}

void printint(int64_t v)
{
	char buf[24];
	char *p = fmtint(buf, v);
	writeall(p, (size_t)(buf + sizeof buf - p));
}

void printhex(uint64_t v)
{
	char buf[24];
	char *p = fmthex(buf, v);
	writeall(p, (size_t)(buf + sizeof buf - p));
}

void out_init_fd(dumpout *o, int fd)
{
	o->fd = fd;
	o->f = NULL;
	o->n = 0;
}

void out_init_file(dumpout *o, FILE *f)
{
	o->fd = -1;
	o->f = f;
	o->n = 0;
}

void out_flush(dumpout *o)
{
	if (o->n == 0)
		return;
	if (o->f) {
		fwrite(o->buf, 1, o->n, o->f);
	} else {
		const char *s = o->buf;
		size_t n = o->n;
		while (n > 0) {
			ssize_t w = write(o->fd, s, n);
			if (w <= 0)
				break;
			s += w;
			n -= (size_t)w;
		}
	}
	o->n = 0;
}

static void out_write(dumpout *o, const char *s, size_t n)
{
	while (n > 0) {
		if (o->n == sizeof o->buf)
			out_flush(o);
		size_t k = sizeof o->buf - o->n;
		if (k > n)
			k = n;
		memcpy(o->buf + o->n, s, k);
		o->n += (uint32_t)k;
		s += k;
		n -= k;
	}
}

void out_str(dumpout *o, const char *s)
{
	out_write(o, s, strlen(s));
}

/* s as text that stays on its line: a control byte (a newline that
 * would forge a line of the report, an escape sequence) and the
 * backslash are written as \xNN. */
void out_quoted(dumpout *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (const char *run = s;; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch != 0x7f && ch != '\\')
			continue;
		out_write(o, run, (size_t)(s - run));
		if (ch == 0)
			return;
		char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
		out_write(o, esc, sizeof esc);
		run = s + 1;
	}
}

void out_int(dumpout *o, int64_t v)
{
	char buf[24];
	char *p = fmtint(buf, v);
	out_write(o, p, (size_t)(buf + sizeof buf - p));
}

void out_hex(dumpout *o, uint64_t v)
{
	char buf[24];
	char *p = fmthex(buf, v);
	out_write(o, p, (size_t)(buf + sizeof buf - p));
}

/* The kernel id of the thread that reports, 0 until one does. */
static _Atomic int fatal_tid;

void fatal_claim(void)
{
	int self = gettid_();
	int none = 0;
	if (atomic_compare_exchange_strong(&fatal_tid, &none, self))
		return;
	if (none == self)
		_exit(2);
	for (;;)
		pause();
}

_Noreturn static void dothrow(const char *msg)
{
	fatal_claim();
	printstr("fatal error: ");
	printstr(msg);
	printstr("\n");
	dumpout o;
	out_init_fd(&o, 2);
	schedtrace_fatal(&o);
	out_flush(&o);
	tracebackcurg();
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
