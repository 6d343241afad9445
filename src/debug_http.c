/*
 * debug_http.c - the debug HTTP endpoint (gort_debug_serve): the
 * runtime's reports served over HTTP by goroutines of the runtime itself,
 * on its own netpoller, as Go's net/http/pprof and expvar are.
 *
 *   /debug/                  an index of the endpoints below
 *   /debug/sched             gort_schedtrace(detail): the scheddetail report
 *   /debug/goroutines        gort_dump_goroutines: every goroutine's stack
 *   /debug/trace?seconds=N   an execution trace of N seconds (1..60, default
 *                            1), as a download
 *   /debug/vars              gort_read_stats as a JSON object
 *   /metrics                 the same in Prometheus text format 0.0.4
 *
 * Built only with the CMake option GORT_DEBUG_HTTP (the compile definition
 * of the same name); without it gort_debug_serve is -1 ENOSYS.
 *
 * Goroutines: gort_debug_serve listens (gort_listen) and starts one
 * acceptor goroutine; the acceptor starts a goroutine per connection.
 * Every connection carries exactly one request: it is read (request line
 * and headers only: the server ignores every header and never reads a
 * body), answered with Content-Type, Content-Length and "Connection:
 * close", and closed. There is no keep-alive; a client opens one
 * connection per request, which is what curl and Prometheus do anyway
 * for a debug endpoint.
 *
 * Hostile clients are bounded, never trusted:
 *  - the request line and headers must fit in DEBUG_HEADER_MAX bytes
 *    (431 otherwise), must end every line in CR LF and hold no NUL or
 *    other control byte (400), and must arrive within
 *    debug_http_read_timeout, 10 s (else the connection is closed
 *    without an answer);
 *  - only GET and HEAD are served (405 with Allow otherwise; the trace is
 *    GET only); an unknown path is 404 (paths and query parameters are
 *    percent-decoded first); a malformed request line or escape, an
 *    HTTP version other than 1.0 or 1.1, or a bad query is 400;
 *  - at most DEBUG_MAX_CONNS connections are served at once; beyond
 *    that the acceptor hands the connection to a short-lived rejecter
 *    goroutine that answers 503 (at most DEBUG_MAX_REJECTS of those at
 *    once; beyond both limits a connection is closed at once);
 *  - a response must be written within DEBUG_WRITE_TIMEOUT;
 *  - writes use MSG_NOSIGNAL: a client that went away is an EPIPE, never
 *    a SIGPIPE;
 *  - one trace capture at a time: a second gets 409 while the first runs
 *    (the flag `capturing`, and gort_trace_start's own EBUSY when a trace
 *    was started by someone else); a capture ends early when its client
 *    closes or shuts down its side (as Go's ends on the request's
 *    context), so that one that went away holds the tracer no longer.
 * After its response a connection shuts down its side and reads what the
 * client still sends for at most DEBUG_LINGER (Go's closeWriteAndWait), so
 * that unread input does not turn the close into a reset that would
 * destroy the response before the client has read it.
 *
 * Who owns what: the listener and every open connection fd are recorded
 * in this file's tables (the fd + 1, 0 = free) by the goroutine that
 * opened it; the goroutine that serves a connection owns it and, when
 * done, clears its slot and then closes it (a goroutine abandoned between
 * the two leaks the fd rather than having it closed twice). gort_main
 * ending abandons these goroutines where they are parked, so the
 * runtime's teardown calls debug_http_teardown, on M0 once every other M
 * has stopped (nothing else runs then): it stops a trace capture left
 * running, closes the listener and every recorded fd and returns the
 * state to idle, so that a later gort_main can serve again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

#ifdef GORT_DEBUG_HTTP

#define DEBUG_DEFAULT_ADDR "127.0.0.1:6060"
#define DEBUG_HEADER_MAX 8192                  /* request line + headers */
#define DEBUG_MAX_CONNS 64                     /* connections served at once */
#define DEBUG_MAX_REJECTS 64                   /* 503 answers being written at once */
#define DEBUG_WRITE_TIMEOUT (30 * 1000000000LL) /* to send the response */
#define DEBUG_LINGER (500 * 1000000LL)          /* reading after the response */
#define DEBUG_TRACE_DEFAULT 1                  /* seconds, as Go's /debug/pprof/trace */
#define DEBUG_TRACE_MAX 60
/* The stack of every goroutine of this file, whatever default the program
 * set for its own (gort_set_stack_size): a connection's goroutine holds
 * the request (8 KiB), the trace's copy buffer (16 KiB) and the reports'
 * stdio calls at once, more than GORT_STACK_MIN. */
#define DEBUG_STACK GORT_STACK_DEFAULT

/* The time a client has to send its request line and headers; a
 * variable so that a test can shorten it. */
int64_t debug_http_read_timeout = 10 * 1000000000LL;

/* Whether a trace capture may use an anonymous memory file; a variable
 * so that a test can make it use TMPDIR. */
bool debug_http_capture_memfd = true;

/* ---- state ---- */

enum { DEBUG_IDLE, DEBUG_STARTING, DEBUG_SERVING };

static _Atomic int state;       /* DEBUG_IDLE -> STARTING -> SERVING -> (teardown) IDLE */
static _Atomic int port = -1;   /* the listener's port while SERVING */
static _Atomic int listen_fd1;  /* listener fd + 1; 0: none */
static _Atomic int conns[DEBUG_MAX_CONNS];     /* fd + 1 of each served connection */
static _Atomic int rejects[DEBUG_MAX_REJECTS]; /* fd + 1 of each 503 being sent */
static _Atomic bool capturing;  /* a trace capture runs (held by one connection) */
static _Atomic int capture_fd1; /* its temporary file's fd + 1 */

/* Record fd in a free slot of tab[0..n); the slot's index, or -1. */
static int slot_claim(_Atomic int *tab, int n, int fd)
{
	for (int i = 0; i < n; i++) {
		int free_ = 0;
		if (atomic_compare_exchange_strong(&tab[i], &free_, fd + 1))
			return i;
	}
	return -1;
}

/* Forget the connection of a slot (first) and close it (then). */
static void slot_close(_Atomic int *slot)
{
	int fd = atomic_exchange(slot, 0) - 1;
	if (fd >= 0)
		gort_close(fd);
}

/* ---- responses ---- */

struct conn {
	int fd;
	bool head;         /* HEAD: the headers only */
	const char *path;  /* the request target up to '?' (not NUL-terminated) */
	size_t pathlen;
	const char *query; /* after '?' (NUL-terminated; "" if none) */
};

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Send all of [p, p+n) without SIGPIPE; false if the client is gone or
 * the write deadline passed. */
static bool send_all(int fd, const void *p, size_t n)
{
	return n == 0 || gort_send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* The status line and headers of a response with a body of blen bytes;
 * extra holds further header lines, each ending in CR LF. */
static bool send_header(int fd, int status, const char *ctype, const char *extra, size_t blen)
{
	char h[512];
	int n = snprintf(h, sizeof h,
	                 "HTTP/1.1 %d %s\r\n"
	                 "Content-Type: %s\r\n"
	                 "Content-Length: %zu\r\n"
	                 "X-Content-Type-Options: nosniff\r\n"
	                 "Connection: close\r\n"
	                 "%s"
	                 "\r\n",
	                 status, reason(status), ctype, blen, extra ? extra : "");
	return n > 0 && (size_t)n < sizeof h && send_all(fd, h, (size_t)n);
}

static bool respond(struct conn *c, int status, const char *ctype, const char *extra,
                    const char *body, size_t blen)
{
	gort_set_deadline(c->fd, GORT_WRITE, gort_nanotime() + DEBUG_WRITE_TIMEOUT);
	return send_header(c->fd, status, ctype, extra, blen) &&
	       (c->head || send_all(c->fd, body, blen));
}

/* An error answer: "<status> <reason>: <detail>" as plain text. */
static void respond_error(struct conn *c, int status, const char *extra, const char *detail)
{
	char body[256];
	int n = snprintf(body, sizeof body, "%d %s%s%s\n", status, reason(status),
	                 detail ? ": " : "", detail ? detail : "");
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof body ? (size_t)n : sizeof body - 1;
	respond(c, status, "text/plain; charset=utf-8", extra, body, len);
}

/* A body printed into memory by fill(f), then sent. */
static void respond_printed(struct conn *c, const char *ctype, void (*fill)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		respond_error(c, 500, NULL, "out of memory");
		return;
	}
	fill(f);
	if (fclose(f) != 0) {
		free(buf);
		respond_error(c, 500, NULL, "out of memory");
		return;
	}
	respond(c, 200, ctype, NULL, buf, len);
	free(buf);
}

/* ---- the reports ---- */

static void fill_sched(FILE *f)
{
	gort_schedtrace(f, true);
}

static void fill_goroutines(FILE *f)
{
	gort_dump_goroutines(f);
}

/* Every field of gort_stats, for /debug/vars (its name as in the struct)
 * and /metrics (gort_<name>, with _total for counters). */
static const struct stat_field {
	const char *name;
	size_t off;
	bool counter; /* uint64_t and only grows; else an int64_t gauge */
	const char *help;
} stat_fields[] = {
#define GAUGE(f, h) {#f, offsetof(gort_stats, f), false, h}
#define COUNTER(f, h) {#f, offsetof(gort_stats, f), true, h}
	GAUGE(goroutines, "Goroutines that exist now."),
	GAUGE(threads, "OS threads (Ms) alive now."),
	GAUGE(gomaxprocs, "The number of Ps (GOMAXPROCS)."),
	GAUGE(idleprocs, "Ps with nothing to run."),
	GAUGE(runqueue, "Goroutines in the global run queue."),
	COUNTER(goroutines_created, "Goroutines created."),
	COUNTER(context_switches, "Goroutine starts on an M."),
	COUNTER(steals_tried, "Run queue steal attempts on a victim P."),
	COUNTER(steals_won, "Steal attempts that took goroutines."),
	COUNTER(handoffs, "Ps handed off from a blocked system call."),
	COUNTER(preempt_async, "Preemptions by signal."),
	COUNTER(preempt_coop, "Preemptions at a runtime call."),
	COUNTER(netpoll_wakeups, "Goroutines made ready by the netpoller."),
	COUNTER(timers_fired, "Timers fired."),
	COUNTER(stoptheworld, "Stops of the world (GOMAXPROCS changes, trace starts, dumps)."),
#undef GAUGE
#undef COUNTER
};
/* A field added to gort_stats must be added above too. */
_Static_assert(sizeof stat_fields / sizeof stat_fields[0] == sizeof(gort_stats) / sizeof(int64_t),
               "stat_fields must list every field of gort_stats");

static void print_stat(FILE *f, const gort_stats *s, const struct stat_field *sf)
{
	const char *p = (const char *)s + sf->off;
	if (sf->counter) {
		uint64_t v;
		memcpy(&v, p, sizeof v);
		fprintf(f, "%" PRIu64, v);
	} else {
		int64_t v;
		memcpy(&v, p, sizeof v);
		fprintf(f, "%" PRId64, v);
	}
}

static void fill_vars(FILE *f)
{
	gort_stats s;
	gort_read_stats(&s);
	fputs("{", f);
	for (size_t i = 0; i < sizeof stat_fields / sizeof stat_fields[0]; i++) {
		fprintf(f, "%s\n\"%s\": ", i ? "," : "", stat_fields[i].name);
		print_stat(f, &s, &stat_fields[i]);
	}
	fputs("\n}\n", f);
}

static void fill_metrics(FILE *f)
{
	gort_stats s;
	gort_read_stats(&s);
	for (size_t i = 0; i < sizeof stat_fields / sizeof stat_fields[0]; i++) {
		const struct stat_field *sf = &stat_fields[i];
		const char *suffix = sf->counter ? "_total" : "";
		fprintf(f, "# HELP gort_%s%s %s\n", sf->name, suffix, sf->help);
		fprintf(f, "# TYPE gort_%s%s %s\n", sf->name, suffix,
		        sf->counter ? "counter" : "gauge");
		fprintf(f, "gort_%s%s ", sf->name, suffix);
		print_stat(f, &s, sf);
		fputc('\n', f);
	}
}

/* ---- the trace ---- */

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into out (at most cap bytes; out may be s, the
 * result being no longer), '+' as a space when plus is set (a query, as
 * Go's QueryUnescape). Returns the decoded length, or -1 for a malformed
 * escape or a result longer than cap. */
static ssize_t unescape(const char *s, size_t n, char *out, size_t cap, bool plus)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			ch = h << 4 | l;
			i += 2;
		} else if (ch == '+' && plus) {
			ch = ' ';
		}
		if (k == cap)
			return -1;
		out[k++] = (char)ch;
	}
	return (ssize_t)k;
}

/* The value of the query's "seconds" parameter in *secs (the default if
 * there is none); false if it is not a decimal integer from 1 to
 * DEBUG_TRACE_MAX, or not even a well-formed escape. Keys and values are
 * percent-decoded. Other parameters are ignored, malformed or not; the
 * first "seconds" counts, as Go's FormValue does. */
static bool query_seconds(const char *q, int *secs)
{
	*secs = DEBUG_TRACE_DEFAULT;
	while (*q) {
		const char *end = strchr(q, '&');
		size_t len = end ? (size_t)(end - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t klen = eq ? (size_t)(eq - q) : len;
		char key[8], v[3];
		ssize_t kn = unescape(q, klen, key, sizeof key, true);
		if (kn == 7 && memcmp(key, "seconds", 7) == 0) {
			ssize_t vn = eq ? unescape(eq + 1, len - klen - 1, v, sizeof v - 1, true) : 0;
			if (vn <= 0)
				return false;
			int n = 0;
			for (ssize_t i = 0; i < vn; i++) {
				if (v[i] < '0' || v[i] > '9')
					return false;
				n = n * 10 + (v[i] - '0');
			}
			if (n < 1 || n > DEBUG_TRACE_MAX)
				return false;
			*secs = n;
			return true;
		}
		q += len + (end ? 1 : 0);
	}
	return true;
}

/* A temporary file for the trace, its path in path: an anonymous memory
 * file where the kernel has them, else a file in TMPDIR, which
 * serve_trace unlinks as soon as the tracer has opened it. Either way
 * nothing is left behind however the capture or the process ends.
 * *ondisk says which. Returns the fd or -1. */
static int capture_file(char *path, size_t n, bool *ondisk)
{
	*ondisk = false;
	int fd = debug_http_capture_memfd ? memfd_create("gort-trace", MFD_CLOEXEC) : -1;
	if (fd >= 0) {
		snprintf(path, n, "/proc/self/fd/%d", fd);
		if (access(path, W_OK) == 0)
			return fd;
		close(fd);
	}
	const char *dir = getenv("TMPDIR");
	if ((size_t)snprintf(path, n, "%s/gort-trace-XXXXXX", dir && *dir ? dir : P_tmpdir) >= n)
		return -1; /* the path does not fit */
	fd = mkostemp(path, O_CLOEXEC);
	*ondisk = fd >= 0;
	return fd;
}

static void capture_release(void)
{
	int fd = atomic_exchange(&capture_fd1, 0) - 1;
	if (fd >= 0)
		close(fd);
	atomic_store(&capturing, false);
}

/* Wait until `until` (gort_nanotime), or until the client closes or
 * shuts down its side of the connection, or resets it. Go's
 * /debug/pprof/trace sleeps on the request's context the same way, which
 * its server cancels when the connection reads EOF; the trace so far is
 * then sent all the same (to a client that only shut down its side, a
 * shorter trace; to one that left, nothing arrives). The client should
 * send nothing more; bytes it sends anyway end the watch (as they end
 * Go's background read) and the rest of the time is slept. */
static void capture_wait(int fd, int64_t until)
{
	gort_set_deadline(fd, GORT_READ, 0); /* the request's deadline is over */
	for (;;) {
		if (gort_fd_wait(fd, GORT_READ, until) < 0)
			return; /* the time is up (or fd is gone) */
		char b;
		ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r > 0) {
			int64_t left = until - gort_nanotime();
			if (left > 0)
				gort_sleep(left);
			return;
		}
		if (r == 0)
			return;
		/* geterrno: the goroutine may have parked onto another thread
		 * since errno's address was last taken. */
		int e = geterrno();
		if (e != EAGAIN && e != EINTR)
			return;
	}
}

/* Send the finished trace in fd: its size, then its bytes. */
static void send_trace(struct conn *c, int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		respond_error(c, 500, NULL, "cannot read the trace");
		return;
	}
	gort_set_deadline(c->fd, GORT_WRITE, gort_nanotime() + DEBUG_WRITE_TIMEOUT);
	if (!send_header(c->fd, 200, "application/octet-stream",
	                 "Content-Disposition: attachment; filename=\"gort.trace\"\r\n",
	                 (size_t)st.st_size))
		return;
	char buf[16384];
	for (off_t off = 0; off < st.st_size;) {
		gort_entersyscall();
		ssize_t r = pread(fd, buf, sizeof buf, off);
		gort_exitsyscall();
		if (r <= 0 || !send_all(c->fd, buf, (size_t)r))
			return; /* the client sees a short body */
		off += r;
	}
}

static void serve_trace(struct conn *c)
{
	int secs;
	if (!query_seconds(c->query, &secs)) {
		respond_error(c, 400, NULL, "seconds must be an integer from 1 to 60");
		return;
	}
	bool idle = false;
	if (!atomic_compare_exchange_strong(&capturing, &idle, true)) {
		respond_error(c, 409, NULL, "a trace capture is already in progress");
		return;
	}
	char path[4096];
	bool ondisk;
	int fd = capture_file(path, sizeof path, &ondisk);
	if (fd < 0) {
		capture_release();
		respond_error(c, 500, NULL, "cannot create a temporary file for the trace");
		return;
	}
	atomic_store(&capture_fd1, fd + 1);
	int started = gort_trace_start(path);
	int e = geterrno();
	if (ondisk)
		unlink(path); /* the tracer and fd hold it open */
	if (started != 0) {
		capture_release();
		char msg[160];
		snprintf(msg, sizeof msg, "gort_trace_start: %s", strerror(e));
		if (e == EBUSY)
			respond_error(c, 409, NULL, "a trace is already running");
		else if (e == ENOSYS)
			respond_error(c, 501, NULL, "the execution tracer is not available in this build");
		else
			respond_error(c, 500, NULL, msg);
		return;
	}
	capture_wait(c->fd, gort_nanotime() + (int64_t)secs * 1000000000LL);
	if (gort_trace_stop() != 0) {
		e = geterrno();
		capture_release();
		char msg[160];
		snprintf(msg, sizeof msg, "gort_trace_stop: %s", strerror(e));
		respond_error(c, 500, NULL, msg);
		return;
	}
	send_trace(c, fd);
	capture_release();
}

/* ---- routing ---- */

static const struct endpoint {
	const char *path;
	const char *ctype;
	void (*fill)(FILE *); /* NULL: the trace, which has its own handler */
	const char *what;
} endpoints[] = {
	{"/debug/sched", "text/plain; charset=utf-8", fill_sched,
	 "scheduler state: SCHED line, every P, M and goroutine"},
	{"/debug/goroutines", "text/plain; charset=utf-8", fill_goroutines,
	 "every goroutine's stack"},
	{"/debug/trace", NULL, NULL,
	 "execution trace of ?seconds=N (1..60, default 1), as a download; GET only"},
	{"/debug/vars", "application/json", fill_vars, "runtime counters as JSON"},
	{"/metrics", "text/plain; version=0.0.4; charset=utf-8", fill_metrics,
	 "runtime counters in Prometheus text format"},
};
#define NENDPOINTS (sizeof endpoints / sizeof endpoints[0])

static void fill_index(FILE *f)
{
	fputs("<!DOCTYPE html>\n<html><head><title>gort debug</title></head><body>\n"
	      "<h1>gort debug endpoints</h1>\n<ul>\n", f);
	for (size_t i = 0; i < NENDPOINTS; i++)
		fprintf(f, "<li><a href=\"%s\">%s</a>: %s</li>\n", endpoints[i].path,
		        endpoints[i].path, endpoints[i].what);
	fputs("</ul>\n</body></html>\n", f);
}

static bool path_is(const struct conn *c, const char *p)
{
	return strlen(p) == c->pathlen && memcmp(c->path, p, c->pathlen) == 0;
}

static void route(struct conn *c)
{
	if (path_is(c, "/debug/") || path_is(c, "/debug")) {
		respond_printed(c, "text/html; charset=utf-8", fill_index);
		return;
	}
	for (size_t i = 0; i < NENDPOINTS; i++) {
		const struct endpoint *ep = &endpoints[i];
		if (!path_is(c, ep->path))
			continue;
		if (ep->fill)
			respond_printed(c, ep->ctype, ep->fill);
		else if (c->head) /* a capture is too costly to answer with headers only */
			respond_error(c, 405, "Allow: GET\r\n", "a trace is captured by GET only");
		else
			serve_trace(c);
		return;
	}
	respond_error(c, 404, NULL, "no such endpoint; see /debug/");
}

/* ---- reading the request ---- */

/* RFC 9110 tchar: the characters of a method or a header name. */
static bool tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* A byte that may appear in a header value (field-vchar, SP, HTAB). */
static bool vchar(unsigned char ch)
{
	return ch == '\t' || (ch >= ' ' && ch != 0x7f);
}

/* Whether buf[from..n) holds something no request may: NUL, a CR not
 * followed by LF (where the next byte is there), an LF without CR. */
static bool bad_bytes(const char *buf, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		char ch = buf[i];
		if (ch == '\0' || (ch == '\n' && (i == 0 || buf[i - 1] != '\r')) ||
		    (ch == '\r' && i + 1 < n && buf[i + 1] != '\n'))
			return true;
	}
	return false;
}

/* Parse the request line at buf (which ends in CR LF at lend). Returns
 * 0 with c->head, c->path set, or a status. */
static int parse_request_line(char *buf, const char *lend, struct conn *c)
{
	char *p = buf;
	while (p < lend && tchar((unsigned char)*p))
		p++;
	if (p == buf || p == lend || *p != ' ')
		return 400;
	size_t mlen = (size_t)(p - buf);
	bool get = mlen == 3 && memcmp(buf, "GET", 3) == 0; /* methods are case-sensitive */
	bool head = mlen == 4 && memcmp(buf, "HEAD", 4) == 0;
	char *t = ++p;
	while (p < lend && (unsigned char)*p > ' ' && *p != 0x7f)
		p++;
	if (p == t || p == lend || *p != ' ')
		return 400;
	char *tend = p++;
	if (lend - p != 8 || (memcmp(p, "HTTP/1.1", 8) != 0 && memcmp(p, "HTTP/1.0", 8) != 0))
		return 400;
	if (*t != '/')
		return 400; /* only origin-form ("/path?query") */
	*tend = '\0';
	char *q = strchr(t, '?');
	c->path = t;
	c->pathlen = q ? (size_t)(q - t) : (size_t)(tend - t);
	c->query = q ? q + 1 : "";
	/* Routed on the decoded path, as Go's ServeMux (URL.Path). */
	ssize_t plen = unescape(t, c->pathlen, t, c->pathlen, false);
	if (plen < 0)
		return 400;
	c->pathlen = (size_t)plen;
	if (!get && !head)
		return 405;
	c->head = head;
	return 0;
}

/* Check the header lines from p to the blank line at end; the server
 * uses none of them, but a malformed one makes the request malformed. */
static int check_headers(const char *p, const char *end)
{
	while (p < end) {
		const char *lend = strstr(p, "\r\n"); /* there is one: the request ends in CR LF CR LF */
		const char *name = p;
		while (p < lend && tchar((unsigned char)*p))
			p++;
		if (p == name || p == lend || *p != ':')
			return 400; /* also obsolete line folding */
		for (p++; p < lend; p++)
			if (!vchar((unsigned char)*p))
				return 400;
		p = lend + 2;
	}
	return 0;
}

/* Read and check the request into buf (DEBUG_HEADER_MAX + 1 bytes).
 * Returns 0 with c filled in, a status to answer with, or -1: the client
 * sent nothing (or its deadline passed, or the read failed): close
 * without an answer. */
static int read_request(struct conn *c, char *buf)
{
	size_t have = 0;
	char *lend = NULL; /* the request line's CR LF, once it has come */
	int st = 0;        /* what the request line asks for: 0 or 405 */
	for (;;) {
		ssize_t r = gort_read(c->fd, buf + have, DEBUG_HEADER_MAX - have);
		if (r < 0)
			return -1;
		if (r == 0)
			return have == 0 ? -1 : 400; /* a truncated request */
		size_t from = have > 0 ? have - 1 : 0; /* recheck a CR at the old end */
		have += (size_t)r;
		buf[have] = '\0';
		if (bad_bytes(buf, from, have))
			return 400;
		if (!lend && (lend = strstr(buf, "\r\n")) != NULL) {
			/* A malformed request line is answered without waiting
			 * for the headers. */
			st = parse_request_line(buf, lend, c);
			if (st == 400)
				return st;
		}
		if (lend) {
			/* parse_request_line cut the line with a NUL: search
			 * after it. */
			char *end = strstr(lend, "\r\n\r\n");
			if (end) {
				int hst = check_headers(lend + 2, end + 2);
				return hst ? hst : st;
			}
		}
		if (have == DEBUG_HEADER_MAX)
			return 431;
	}
}

/* Shut down our side and read what the client still sends, for at most
 * DEBUG_LINGER, so that our close does not reset the connection before
 * the client has read the response. */
static void linger_close(_Atomic int *slot, int fd)
{
	char buf[1024];
	shutdown(fd, SHUT_WR);
	gort_set_deadline(fd, GORT_READ, gort_nanotime() + DEBUG_LINGER);
	for (int i = 0; i < 64 && gort_read(fd, buf, sizeof buf) > 0; i++)
		;
	slot_close(slot);
}

static void serve_conn(void *arg)
{
	_Atomic int *slot = &conns[(intptr_t)arg];
	int fd = atomic_load(slot) - 1;
	struct conn c = {.fd = fd, .query = ""};
	char buf[DEBUG_HEADER_MAX + 1];
	gort_set_deadline(fd, GORT_READ, gort_nanotime() + debug_http_read_timeout);
	int st = read_request(&c, buf);
	if (st < 0) {
		slot_close(slot);
		return;
	}
	if (st == 0)
		route(&c);
	else if (st == 405)
		respond_error(&c, 405, "Allow: GET, HEAD\r\n", NULL);
	else
		respond_error(&c, st, NULL,
		              st == 431 ? "the request line and headers exceed 8 KiB" : "malformed request");
	linger_close(slot, fd);
}

/* A connection beyond DEBUG_MAX_CONNS: 503 at once. */
static void reject_conn(void *arg)
{
	_Atomic int *slot = &rejects[(intptr_t)arg];
	int fd = atomic_load(slot) - 1;
	struct conn c = {.fd = fd, .query = ""};
	respond_error(&c, 503, NULL, "too many connections");
	linger_close(slot, fd);
}

/* Start fn on the fd's slot of tab; false if there is no free slot or no
 * goroutine (the slot is then free again). */
static bool start_conn(_Atomic int *tab, int n, int fd, void (*fn)(void *), const char *name)
{
	int i = slot_claim(tab, n, fd);
	if (i < 0)
		return false;
	gort_attr attr = {.stack_size = DEBUG_STACK, .name = name};
	if (gort_go_attr(fn, (void *)(intptr_t)i, &attr) < 0) {
		atomic_store(&tab[i], 0);
		return false;
	}
	return true;
}

/* Accept until the listener is closed. A failure for lack of resources
 * (descriptors, memory) backs off, from 5 ms doubling to 1 s, as Go's
 * http.Server does, instead of spinning. An accepted fd is recorded in a
 * slot before the goroutine can be switched away: preempted at the exit
 * of gort_accept (as the end of a run preempts every goroutine) it would
 * be abandoned holding an fd that teardown cannot see, and the client
 * would wait on the open connection for ever. */
static void accept_loop(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	int64_t backoff = 0;
	for (;;) {
		gort_preempt_off();
		int fd = gort_accept(lfd, NULL, NULL);
		if (fd < 0) {
			int e = geterrno();
			gort_preempt_on();
			if (e == EBADF || e == EINVAL || e == ENOTSOCK)
				return;
			backoff = backoff ? backoff * 2 : 5 * 1000000LL;
			if (backoff > 1000000000LL)
				backoff = 1000000000LL;
			gort_sleep(backoff);
			continue;
		}
		backoff = 0;
		if (!start_conn(conns, DEBUG_MAX_CONNS, fd, serve_conn, "debug http conn") &&
		    !start_conn(rejects, DEBUG_MAX_REJECTS, fd, reject_conn, "debug http 503"))
			gort_close(fd);
		gort_preempt_on();
	}
}

/* The port of a bound socket, or -1. */
static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

GORT_API int gort_debug_serve(const char *addr)
{
	if (atomic_load(&runtime_running) != RUNTIME_UP) {
		errno = EAGAIN;
		return -1;
	}
	int idle = DEBUG_IDLE;
	if (!atomic_compare_exchange_strong(&state, &idle, DEBUG_STARTING)) {
		errno = EBUSY;
		return -1;
	}
	int lfd = gort_listen(addr ? addr : DEBUG_DEFAULT_ADDR, 0);
	if (lfd < 0) {
		int e = geterrno();
		atomic_store(&state, DEBUG_IDLE);
		seterrno(e);
		return -1;
	}
	atomic_store(&listen_fd1, lfd + 1);
	int p = port_of(lfd);
	gort_attr attr = {.stack_size = DEBUG_STACK, .name = "debug http accept"};
	if (p < 0 || gort_go_attr(accept_loop, (void *)(intptr_t)lfd, &attr) < 0) {
		int e = p < 0 ? geterrno() : ENOMEM;
		slot_close(&listen_fd1);
		atomic_store(&state, DEBUG_IDLE);
		seterrno(e);
		return -1;
	}
	atomic_store(&port, p);
	atomic_store(&state, DEBUG_SERVING);
	return 0;
}

GORT_API int gort_debug_port(void)
{
	int p = atomic_load(&state) == DEBUG_SERVING ? atomic_load(&port) : -1;
	if (p < 0)
		errno = ENOENT;
	return p;
}

static void close_slot_raw(_Atomic int *slot)
{
	int fd = atomic_exchange(slot, 0) - 1;
	if (fd >= 0)
		close(fd);
}

void debug_http_teardown(void)
{
	if (atomic_load(&state) == DEBUG_IDLE)
		return;
	if (atomic_load(&capturing)) {
		gort_trace_stop();
		capture_release();
	}
	close_slot_raw(&listen_fd1);
	for (int i = 0; i < DEBUG_MAX_CONNS; i++)
		close_slot_raw(&conns[i]);
	for (int i = 0; i < DEBUG_MAX_REJECTS; i++)
		close_slot_raw(&rejects[i]);
	atomic_store(&port, -1);
	atomic_store(&state, DEBUG_IDLE);
}

#else /* !GORT_DEBUG_HTTP */

GORT_API int gort_debug_serve(const char *addr)
{
	(void)addr;
	errno = ENOSYS;
	return -1;
}

GORT_API int gort_debug_port(void)
{
	errno = ENOSYS;
	return -1;
}

void debug_http_teardown(void)
{
}

#endif /* GORT_DEBUG_HTTP */
