/*
 * debug_http_test proves gort_debug_serve, the debug HTTP endpoint, from
 * clients that are plain threads with blocking sockets (so that the
 * client side owes nothing to the runtime it tests), on loopback only:
 *  - every endpoint answers 200 with Content-Type, a Content-Length equal
 *    to the body and "Connection: close": /debug/ lists the others;
 *    /debug/vars is a JSON object with every gort_stats field and nothing
 *    else; /metrics is Prometheus text (HELP, TYPE, gauges plain,
 *    counters _total) with the same fields; /debug/sched and
 *    /debug/goroutines are text whose first line, when the report is not
 *    empty, is Go's ("SCHED ", "goroutine "); HEAD gets headers only;
 *    once the counters are real (gomaxprocs non-zero), their values are
 *    checked against what the test knows;
 *  - /debug/trace?seconds=1 is a download starting with the trace
 *    format's magic when the tracer works, else a 5xx saying why; with a
 *    working tracer, a second capture during the first gets 409 (skipped,
 *    and said so, without one); bad seconds get 400 before anything is
 *    captured;
 *  - paths and query parameters are percent-decoded (/debug/%76ars is
 *    /debug/vars; ?%73econds=%36%31 is seconds=61, a 400); a malformed
 *    escape is 400;
 *  - 404 for unknown paths, 405 with Allow for other methods, 400 for a
 *    malformed request line, a bad version, a bare LF, a NUL, a bad
 *    header line, a truncated request; 431 for headers beyond 8 KiB;
 *  - port 0 then gort_debug_port; EBUSY while serving; EINVAL for bad
 *    addresses (and serving works after a failure); EAGAIN and ENOENT
 *    outside gort_main; the listener is closed when gort_main returns and
 *    a second run serves again;
 *  - with a working tracer, a capture still running when gort_main
 *    returns is stopped and its connection closed; the next run captures
 *    again;
 *  - a connection that arrives as gort_main returns is refused, answered
 *    or closed, never left open;
 *  - beyond 64 connections at once the extra ones get 503, and a request
 *    gets 200 again once they close;
 *  - every endpoint serves when the program has set the smallest default
 *    stack (gort_set_stack_size) for its goroutines;
 *  - goroutines that read the counters over and over (as the endpoint's
 *    do), preempted anywhere, never keep gort_main from returning;
 *  - a bounded random-input test: 300 hostile requests from 4 threads at
 *    once (random bytes, random methods, huge headers, truncated and
 *    early-closed requests, slow clients, NULs, bad queries), each
 *    followed by a valid request that must get 200; a response, when
 *    there is one, is always well framed with an expected status.
 * Built without GORT_DEBUG_HTTP, it checks ENOSYS only.
 */
#include "gort_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>

#ifdef GORT_DEBUG_HTTP

#define IO_TIMEOUT_S 10 /* a client read or write that takes longer fails the test */

/* ---------------------------------------------------------------------
 * The client: blocking sockets on a plain thread
 * ------------------------------------------------------------------- */

static int dial_port(int port)
{
	return dial_blocking(port, IO_TIMEOUT_S);
}

/* Send what can be sent: the server may close early (400, 431). */
static void send_some(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

struct resp {
	int status;    /* 0: no response (closed or reset first) */
	char *raw;     /* everything read, NUL-terminated */
	size_t len;
	char *body;    /* after the blank line */
	size_t blen;
	bool reset;    /* the read ended in an error rather than EOF */
};

static void resp_free(struct resp *r)
{
	free(r->raw);
	memset(r, 0, sizeof *r);
}

/* Read until EOF (or an error), then parse the status line. */
static void read_resp(int fd, struct resp *r)
{
	size_t cap = 1 << 16;
	memset(r, 0, sizeof *r);
	r->raw = malloc(cap + 1);
	CHECK(r->raw != NULL);
	for (;;) {
		if (r->len == cap) {
			cap *= 2;
			CHECK(cap <= (256u << 20));
			r->raw = realloc(r->raw, cap + 1);
			CHECK(r->raw != NULL);
		}
		ssize_t n = read(fd, r->raw + r->len, cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				FAILF("no answer within %d s", IO_TIMEOUT_S);
			r->reset = true;
			break;
		}
		if (n == 0)
			break;
		r->len += (size_t)n;
	}
	r->raw[r->len] = '\0';
	if (r->len >= 13 && memcmp(r->raw, "HTTP/1.1 ", 9) == 0 && r->raw[12] == ' ')
		r->status = atoi(r->raw + 9);
	char *eoh = strstr(r->raw, "\r\n\r\n");
	if (eoh) {
		r->body = eoh + 4;
		r->blen = r->len - (size_t)(r->body - r->raw);
	}
}

/* One connection: send the request, half-close (or not), read the
 * answer. */
static void exchange_how(int port, const void *req, size_t n, bool halfclose, struct resp *r)
{
	int fd = dial_port(port);
	send_some(fd, req, n);
	if (halfclose)
		shutdown(fd, SHUT_WR);
	read_resp(fd, r);
	close(fd);
}

static void exchange(int port, const void *req, size_t n, struct resp *r)
{
	exchange_how(port, req, n, true, r);
}

static void request_how(int port, const char *method, const char *target, bool halfclose,
                        struct resp *r)
{
	char req[1024];
	int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n",
	                 method, target);
	CHECK(n > 0 && (size_t)n < sizeof req);
	exchange_how(port, req, (size_t)n, halfclose, r);
}

static void request(int port, const char *method, const char *target, struct resp *r)
{
	request_how(port, method, target, true, r);
}

/* A trace capture, its side of the connection kept open meanwhile, as
 * curl does: a client that shuts it down ends the capture early. */
static void capture(int port, const char *target, struct resp *r)
{
	request_how(port, "GET", target, false, r);
}

/* The value of header name in r (copied into v), or false. */
static bool header(const struct resp *r, const char *name, char *v, size_t vn)
{
	size_t nl = strlen(name);
	const char *end = r->body ? r->body : r->raw + r->len;
	for (const char *p = strstr(r->raw, "\r\n"); p && p + 2 < end; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *s = line + nl + 1;
			while (*s == ' ')
				s++;
			const char *e = strstr(s, "\r\n");
			size_t len = (size_t)(e - s) < vn - 1 ? (size_t)(e - s) : vn - 1;
			memcpy(v, s, len);
			v[len] = '\0';
			return true;
		}
	}
	return false;
}

/* What every response promises: a status line, Content-Type,
 * Content-Length equal to the body (0 body bytes for HEAD), Connection:
 * close. */
static void check_framing(const struct resp *r, bool head)
{
	char v[256];
	if (r->status < 100 || !r->body)
		FAILF("not an HTTP/1.1 response: \"%.200s\"", r->raw);
	CHECK(header(r, "Content-Type", v, sizeof v));
	CHECK(header(r, "Content-Length", v, sizeof v));
	if (head)
		CHECK_EQ(r->blen, 0);
	else
		CHECK_EQ(strtoull(v, NULL, 10), r->blen);
	CHECK(header(r, "Connection", v, sizeof v));
	CHECK(strcmp(v, "close") == 0);
}

/* request + check_framing + the status. */
static void expect(int port, const char *method, const char *target, int status, struct resp *r)
{
	request(port, method, target, r);
	if (r->status != status)
		FAILF("%s %s: want %d, got \"%.300s\"", method, target, status, r->raw);
	check_framing(r, strcmp(method, "HEAD") == 0);
}

static void expect_raw(int port, const char *req, size_t n, int status)
{
	struct resp r;
	exchange(port, req, n, &r);
	if (r.status != status)
		FAILF("request \"%.60s\": want %d, got \"%.300s\"", req, status, r.raw);
	check_framing(&r, false);
	resp_free(&r);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* GET target: 200, check_framing, and a Content-Type that starts with
 * ctype. */
static void expect_get(int port, const char *target, const char *ctype, struct resp *r)
{
	expect(port, "GET", target, 200, r);
	char v[256];
	CHECK(header(r, "Content-Type", v, sizeof v) && starts(v, ctype));
}

#define EXPECT_RAW(port, lit, status) expect_raw(port, lit, sizeof(lit) - 1, status)

/* ---------------------------------------------------------------------
 * The server side: serving from the main goroutine
 * ------------------------------------------------------------------- */

/* Every field of gort_stats: the test's own list, so that a name the
 * server drops or misspells is caught. */
static const char *const gauges[] = {"goroutines", "threads", "gomaxprocs", "idleprocs",
                                     "runqueue"};
static const char *const counters[] = {"goroutines_created", "context_switches",
                                       "steals_tried", "steals_won", "handoffs",
                                       "preempt_async", "preempt_coop", "netpoll_wakeups",
                                       "timers_fired", "stoptheworld"};
#define NGAUGES (sizeof gauges / sizeof gauges[0])
#define NCOUNTERS (sizeof counters / sizeof counters[0])

/* A client thread run beside the serving main goroutine. */
struct client {
	int port;
	void (*fn)(struct client *);
	int id;
	unsigned seed;
};

static void *client_thread(void *arg)
{
	struct client *c = arg;
	c->fn(c);
	return NULL;
}

/* Serve on 127.0.0.1:0 and run fn on n client threads at once. */
static void serve_and_run(void (*fn)(struct client *), int n, unsigned seed)
{
	CHECK_ERRNO(gort_debug_port(), ENOENT);
	CHECK_EQ(gort_debug_serve("127.0.0.1:0"), 0);
	int port = gort_debug_port();
	CHECK(port > 0 && port < 65536);
	CHECK_FAILS(gort_debug_serve("127.0.0.1:0"), EBUSY);
	CHECK_FAILS(gort_debug_serve(NULL), EBUSY);
	CHECK_EQ(gort_debug_port(), port);
	struct client cl[8];
	pthread_t th[8];
	CHECK(n <= 8);
	for (int i = 0; i < n; i++) {
		cl[i] = (struct client){.port = port, .fn = fn, .id = i, .seed = seed + (unsigned)i};
		CHECK_EQ(pthread_create(&th[i], NULL, client_thread, &cl[i]), 0);
	}
	for (int i = 0; i < n; i++)
		join_thread(th[i]);
}

/* ---------------------------------------------------------------------
 * The endpoints
 * ------------------------------------------------------------------- */

/* "name": N in a JSON object: N's value, or fail. */
static long long json_value(const char *body, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "\"%s\":", name);
	const char *p = strstr(body, key);
	if (!p)
		FAILF("/debug/vars has no %s: %s", key, body);
	p += strlen(key);
	while (*p == ' ' || *p == '\n')
		p++;
	char *end;
	long long v = strtoll(p, &end, 10);
	if (end == p || (*end != ',' && *end != '\n' && *end != '}' && *end != ' '))
		FAILF("/debug/vars: %s is not a number", name);
	return v;
}

static void check_vars(int port)
{
	struct resp r;
	expect_get(port, "/debug/vars", "application/json", &r);
	/* An object of exactly the struct's fields. */
	CHECK(r.blen >= 2 && r.body[0] == '{');
	CHECK(strcmp(r.body + r.blen - 2, "}\n") == 0);
	size_t keys = 0;
	for (const char *p = r.body; (p = strchr(p, ':')) != NULL; p++)
		keys++;
	CHECK_EQ(keys, NGAUGES + NCOUNTERS);
	for (size_t i = 0; i < NGAUGES; i++)
		json_value(r.body, gauges[i]);
	for (size_t i = 0; i < NCOUNTERS; i++)
		CHECK(json_value(r.body, counters[i]) >= 0);
	if (json_value(r.body, "gomaxprocs") != 0) {
		/* The counters are real: main, the acceptor and this
		 * connection's goroutine exist; GOMAXPROCS is 2. */
		CHECK_EQ(json_value(r.body, "gomaxprocs"), 2);
		CHECK(json_value(r.body, "goroutines") >= 3);
		CHECK(json_value(r.body, "threads") >= 1);
		CHECK(json_value(r.body, "goroutines_created") >= 3);
		CHECK(json_value(r.body, "context_switches") >= 3);
		CHECK(json_value(r.body, "steals_won") <= json_value(r.body, "steals_tried"));
	} else {
		printf("     /debug/vars: counters are zero (no statistics in this build)\n");
	}
	resp_free(&r);
}

/* One metric of the exposition: its HELP and TYPE lines and a sample. */
static void check_metric(const char *body, const char *name, const char *type)
{
	char want[160];
	snprintf(want, sizeof want, "# HELP %s ", name);
	if (!strstr(body, want))
		FAILF("/metrics has no \"%s\"", want);
	snprintf(want, sizeof want, "# TYPE %s %s\n", name, type);
	if (!strstr(body, want))
		FAILF("/metrics has no \"%s\"", want);
	snprintf(want, sizeof want, "\n%s ", name);
	const char *p = strstr(body, want);
	if (!p)
		FAILF("/metrics has no sample of %s", name);
	p += strlen(want);
	CHECK(*p >= '0' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		p++;
	CHECK(*p == '\n');
}

static void check_metrics(int port)
{
	struct resp r;
	expect_get(port, "/metrics", "text/plain; version=0.0.4", &r);
	for (size_t i = 0; i < NGAUGES; i++) {
		char name[64];
		snprintf(name, sizeof name, "gort_%s", gauges[i]);
		check_metric(r.body, name, "gauge");
	}
	for (size_t i = 0; i < NCOUNTERS; i++) {
		char name[64];
		snprintf(name, sizeof name, "gort_%s_total", counters[i]);
		check_metric(r.body, name, "counter");
	}
	/* Every line is a comment or a sample "gort_<name> <value>". */
	size_t samples = 0;
	for (char *line = r.body; *line; line = strchr(line, '\n') + 1) {
		CHECK(strchr(line, '\n') != NULL);
		if (line[0] == '#')
			continue;
		CHECK(starts(line, "gort_"));
		samples++;
	}
	CHECK_EQ(samples, NGAUGES + NCOUNTERS);
	resp_free(&r);
}

static void check_reports(int port)
{
	struct resp r;
	expect_get(port, "/debug/sched", "text/plain", &r);
	if (r.blen > 0)
		CHECK(starts(r.body, "SCHED "));
	else
		printf("     /debug/sched: empty report (no schedtrace in this build)\n");
	resp_free(&r);

	expect_get(port, "/debug/goroutines", "text/plain", &r);
	if (r.blen > 0) {
		CHECK(starts(r.body, "goroutine "));
		CHECK(strstr(r.body, "goroutine 1 [") != NULL); /* main, serving */
	} else {
		printf("     /debug/goroutines: empty dump (no dump in this build)\n");
	}
	resp_free(&r);

	expect_get(port, "/debug/", "text/html", &r);
	const char *paths[] = {"/debug/sched", "/debug/goroutines", "/debug/trace",
	                       "/debug/vars", "/metrics"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		CHECK(strstr(r.body, paths[i]) != NULL);
	resp_free(&r);
	expect(port, "GET", "/debug", 200, &r);
	resp_free(&r);

	/* HEAD: the same headers, no body. */
	char v[256];
	expect(port, "HEAD", "/debug/vars", 200, &r);
	CHECK(header(&r, "Content-Length", v, sizeof v));
	CHECK(atoi(v) > 0);
	resp_free(&r);
	/* HTTP/1.0 is served too. */
	EXPECT_RAW(port, "GET /metrics HTTP/1.0\r\n\r\n", 200);
}

/* A capture of long_secs from another thread, for the 409 check. */
static int long_secs;

static void *long_capture(void *arg)
{
	struct client *c = arg;
	struct resp r;
	char t[64];
	snprintf(t, sizeof t, "/debug/trace?seconds=%d", long_secs);
	capture(c->port, t, &r);
	CHECK_EQ(r.status, 200);
	CHECK(r.blen >= 12 && memcmp(r.body, "gort trace 2", 12) == 0);
	resp_free(&r);
	return NULL;
}

static void check_trace(int port)
{
	struct resp r;
	char v[256];
	/* Bad seconds: 400 before anything is captured. */
	const char *bad[] = {"?seconds=0", "?seconds=61", "?seconds=abc", "?seconds=-1",
	                     "?seconds=", "?seconds=1x", "?seconds=999999999999",
	                     "?seconds=%", "?seconds=%3", "?seconds=%zz", "?seconds=%31%30%30",
	                     "?%73econds=%36%31"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char t[64];
		snprintf(t, sizeof t, "/debug/trace%s", bad[i]);
		expect(port, "GET", t, 400, &r);
		resp_free(&r);
	}
	expect(port, "HEAD", "/debug/trace", 405, &r);
	CHECK(header(&r, "Allow", v, sizeof v) && strcmp(v, "GET") == 0);
	resp_free(&r);

	capture(port, "/debug/trace?seconds=1&other=x", &r);
	check_framing(&r, false);
	if (r.status != 200) {
		/* No tracer: a server error that says so. */
		CHECK(r.status >= 500);
		CHECK(strstr(r.body, "trac") != NULL);
		printf("     /debug/trace: %d (%.*s); 409 check skipped: no working tracer\n",
		       r.status, (int)(r.blen > 0 ? r.blen - 1 : 0), r.body);
		resp_free(&r);
		return;
	}
	CHECK(header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/octet-stream") == 0);
	CHECK(header(&r, "Content-Disposition", v, sizeof v) && starts(v, "attachment"));
	CHECK(r.blen >= 16 && memcmp(r.body, "gort trace 2", 12) == 0);
	resp_free(&r);

	/* A second capture while one runs: 409. The first must have begun,
	 * and not ended, when the second comes: margins that scale. */
	struct client c = {.port = port};
	pthread_t th;
	long_secs = (int)harness_timeout(2);
	CHECK_EQ(pthread_create(&th, NULL, long_capture, &c), 0);
	harness_sleep_ms((int)(harness_timeout(0.5) * 1000));
	expect(port, "GET", "/debug/trace?seconds=1", 409, &r);
	resp_free(&r);
	CHECK_EQ(pthread_join(th, NULL), 0);
}

static void check_errors(int port)
{
	struct resp r;
	char v[256];
	const char *missing[] = {"/", "/nope", "/debug/nope", "/debug/vars/", "/metricsx",
	                         "/debug/sched/../vars"};
	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		expect(port, "GET", missing[i], 404, &r);
		resp_free(&r);
	}
	/* Paths are percent-decoded before routing; a malformed escape is
	 * 400, a decoded NUL no path. */
	expect(port, "GET", "/debug/%76ars", 200, &r);
	resp_free(&r);
	expect(port, "GET", "/debug/vars%00", 404, &r);
	resp_free(&r);
	const char *badesc[] = {"/debug/%zz", "/debug/vars%", "/debug/vars%7"};
	for (size_t i = 0; i < sizeof badesc / sizeof badesc[0]; i++) {
		expect(port, "GET", badesc[i], 400, &r);
		resp_free(&r);
	}
	const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "get", "PATCH"};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		expect(port, methods[i], "/debug/vars", 405, &r);
		CHECK(header(&r, "Allow", v, sizeof v) && strstr(v, "GET") != NULL);
		resp_free(&r);
	}
	EXPECT_RAW(port, "GET /debug/vars HTTP/2.0\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1 \r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars\r\n\r\n", 400);
	EXPECT_RAW(port, "GET  /debug/vars HTTP/1.1\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\n\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nHost: a\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/\0vars HTTP/1.1\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nNo colon\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nA: \x01\r\n\r\n", 400);
	EXPECT_RAW(port, "GET http://a/debug/vars HTTP/1.1\r\n\r\n", 400);
	EXPECT_RAW(port, "GET /debug/vars HTTP/1.1\r\nHost: a\r\n", 400); /* then EOF */
	EXPECT_RAW(port, "GET /debug/va", 400);
	EXPECT_RAW(port, "\r\n", 400);
	/* A bad header makes a bad request even with a bad method. */
	EXPECT_RAW(port, "POST /debug/vars HTTP/1.1\r\nNo colon\r\n\r\n", 400);

	/* Headers beyond 8 KiB: 431, also when they end right after. */
	size_t n = 9000;
	char *big = malloc(n + 64);
	CHECK(big != NULL);
	int h = sprintf(big, "GET /debug/vars HTTP/1.1\r\nX-Big: ");
	memset(big + h, 'x', n - (size_t)h);
	memcpy(big + n, "\r\n\r\n", 4);
	expect_raw(port, big, n + 4, 431);
	/* Just under the limit: served. */
	size_t under = 8192 - 4;
	memcpy(big + under, "\r\n\r\n", 4);
	expect_raw(port, big, under + 4, 200);
	free(big);

	/* A client that sends nothing and closes: no answer, no harm. */
	int fd = dial_port(port);
	shutdown(fd, SHUT_WR);
	read_resp(fd, &r);
	CHECK_EQ(r.len, 0);
	resp_free(&r);
	close(fd);
}

static void endpoints_client(struct client *c)
{
	check_reports(c->port);
	check_vars(c->port);
	check_metrics(c->port);
	check_errors(c->port);
	check_trace(c->port);
	check_vars(c->port); /* still serving */
}

static int endpoints_main(void *arg)
{
	(void)arg;
	serve_and_run(endpoints_client, 1, 0);
	return 0;
}
MAIN_CASE(endpoints, endpoints_main, 2)

/* ---------------------------------------------------------------------
 * Addresses, EBUSY, and a second run
 * ------------------------------------------------------------------- */

static int last_port;

static void vars_client(struct client *c)
{
	check_vars(c->port);
}

static int rerun_main(void *arg)
{
	(void)arg;
	CHECK_FAILS(gort_debug_serve("nonsense"), EINVAL);
	CHECK_FAILS(gort_debug_serve("127.0.0.1:99999"), EINVAL);
	CHECK_FAILS(gort_debug_serve("::1:80"), EINVAL);
	CHECK_FAILS(gort_debug_port(), ENOENT);
	serve_and_run(vars_client, 1, 0);
	last_port = gort_debug_port();
	return 0;
}

static void serve_again(void)
{
	CHECK_FAILS(gort_debug_serve(NULL), EAGAIN);
	CHECK_FAILS(gort_debug_port(), ENOENT);
	run_main(rerun_main, NULL, 2);
	/* The run is over: its listener is closed, nothing is served. */
	CHECK_FAILS(gort_debug_port(), ENOENT);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)last_port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_ERRNO(connect(fd, (struct sockaddr *)&sa, sizeof sa), ECONNREFUSED);
	close(fd);
	/* A second run serves again. */
	run_main(rerun_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * A capture cut short by the end of the run
 * ------------------------------------------------------------------- */

static bool tracer_works;
static pthread_t capture_th;

static void *cut_capture(void *arg)
{
	struct resp r;
	capture((int)(intptr_t)arg, "/debug/trace?seconds=30", &r);
	CHECK_EQ(r.status, 0); /* the run ended: closed unanswered */
	resp_free(&r);
	return NULL;
}

static void probe_trace(struct client *c)
{
	struct resp r;
	capture(c->port, "/debug/trace?seconds=1", &r);
	tracer_works = r.status == 200;
	resp_free(&r);
}

static int cut_main(void *arg)
{
	bool first = arg != NULL;
	serve_and_run(probe_trace, 1, 0);
	if (tracer_works && first) {
		/* Leave a capture running when main returns. */
		int port = gort_debug_port();
		CHECK_EQ(pthread_create(&capture_th, NULL, cut_capture, (void *)(intptr_t)port), 0);
		gort_sleep(300 * MS);
	}
	return 0;
}

static void capture_cut(void)
{
	run_main(cut_main, (void *)1, 2);
	if (!tracer_works) {
		printf("     skipped: no working tracer\n");
		return;
	}
	CHECK_EQ(pthread_join(capture_th, NULL), 0);
	/* The next run captures again: the cut capture was stopped. */
	run_main(cut_main, NULL, 2);
	CHECK(tracer_works);
}

/* ---------------------------------------------------------------------
 * A connection that arrives as the run ends
 * ------------------------------------------------------------------- */

/* Refused, answered or closed: never left open. The accept goroutine,
 * preempted at the exit of gort_accept by the end of the run, was
 * abandoned holding the fd it had not yet recorded, and the connection
 * stayed open. */
#define END_RUNS 20

static pthread_t end_th;
static int end_port;
static int64_t end_delay;

static void *end_client(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct timeval tv = {.tv_sec = (time_t)harness_timeout(IO_TIMEOUT_S)};
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)end_port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		send_some(fd, "GET /debug/vars HTTP/1.1\r\n\r\n", 28);
		struct resp r;
		read_resp(fd, &r); /* fails on a connection left open */
		resp_free(&r);
	} else {
		/* No listener, or one closed with the connection still in
		 * its backlog (a reset during the handshake). */
		CHECK(errno == ECONNREFUSED || errno == ECONNRESET);
	}
	close(fd);
	return NULL;
}

static int end_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_debug_serve("127.0.0.1:0"), 0);
	end_port = gort_debug_port();
	CHECK_EQ(pthread_create(&end_th, NULL, end_client, NULL), 0);
	gort_sleep(end_delay);
	return 0;
}

static void conn_at_exit(void)
{
	for (int i = 0; i < END_RUNS; i++) {
		end_delay = (int64_t)(i * 20) * US; /* around the connect */
		run_main(end_main, NULL, 2);
		CHECK_EQ(pthread_join(end_th, NULL), 0);
	}
}

/* ---------------------------------------------------------------------
 * The connection limit
 * ------------------------------------------------------------------- */

#define HELD 64    /* the server's limit */
#define EXTRA 16

static void limit_client(struct client *c)
{
	int fds[HELD + EXTRA];
	for (int i = 0; i < HELD + EXTRA; i++)
		fds[i] = dial_port(c->port);
	/* The ones beyond the limit get 503 and are closed. */
	int refused = 0;
	for (int i = HELD; i < HELD + EXTRA; i++) {
		struct resp r;
		read_resp(fds[i], &r);
		if (r.status != 503)
			FAILF("connection %d of %d: want 503, got \"%.200s\"", i + 1, HELD + EXTRA, r.raw);
		check_framing(&r, false);
		refused++;
		resp_free(&r);
		close(fds[i]);
	}
	CHECK_EQ(refused, EXTRA);
	/* The ones within it are still open, waiting for a request: the first
	 * gets its answer. */
	send_some(fds[0], "GET /debug/vars HTTP/1.1\r\n\r\n", 28);
	struct resp r;
	read_resp(fds[0], &r);
	CHECK_EQ(r.status, 200);
	resp_free(&r);
	for (int i = 0; i < HELD; i++)
		close(fds[i]);
	/* Once they are closed, requests are served again. */
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(5) * 1e9);
	for (;;) {
		request(c->port, "GET", "/debug/vars", &r);
		if (r.status == 200)
			break;
		CHECK_EQ(r.status, 503);
		CHECK(harness_now() < deadline);
		resp_free(&r);
		harness_sleep_ms(10);
	}
	resp_free(&r);
}

static int limit_main(void *arg)
{
	(void)arg;
	serve_and_run(limit_client, 1, 0);
	return 0;
}
MAIN_CASE(conn_limit, limit_main, 2)

/* ---------------------------------------------------------------------
 * A program whose goroutines have the smallest stacks
 * ------------------------------------------------------------------- */

static void small_client(struct client *c)
{
	check_reports(c->port);
	check_vars(c->port);
	check_metrics(c->port);
	check_errors(c->port);
	struct resp r;
	capture(c->port, "/debug/trace?seconds=1", &r);
	check_framing(&r, false);
	CHECK(r.status == 200 || r.status >= 500);
	resp_free(&r);
}

/* The program's default stack is its own goroutines': the endpoint's
 * keep the one they need (with 16 KiB, the first request overflowed). */
static int small_main(void *arg)
{
	(void)arg;
	CHECK(gort_set_stack_size(GORT_STACK_MIN) > 0);
	serve_and_run(small_client, 1, 0);
	return 0;
}
MAIN_CASE(small_stacks, small_main, 2)

/* ---------------------------------------------------------------------
 * The counters read by goroutines
 * ------------------------------------------------------------------- */

/* /debug/vars and /metrics read the counters on a goroutine of the
 * runtime, as a program's own goroutines may: goroutines that do nothing
 * else, preempted anywhere in gort_read_stats (the try_recv keeps them
 * attached to a P, so that the next slice's preemption comes), must not
 * keep gort_main from returning. Before, a reader preempted inside went
 * on on another thread, leaving a lock taken by its first thread that
 * the teardown then waited for for ever. */
#define STATS_RUNS 10
#define STATS_READERS 4
static atomic_bool stats_stop;
static gort_chan *stats_idle;
static gort_waitgroup stats_wg;

static void stats_reader(void *arg)
{
	(void)arg;
	gort_stats st;
	int v;
	while (!atomic_load_explicit(&stats_stop, memory_order_relaxed)) {
		CHECK_EQ(gort_read_stats(&st), 0);
		CHECK(st.gomaxprocs == 2);
		gort_chan_try_recv(stats_idle, &v);
	}
	gort_wg_done(&stats_wg);
}

static int stats_main(void *arg)
{
	(void)arg;
	atomic_store(&stats_stop, false);
	stats_idle = make_chan(sizeof(int), 0);
	CHECK_EQ(gort_wg_add(&stats_wg, STATS_READERS), 0);
	for (int i = 0; i < STATS_READERS; i++)
		CHECK(gort_go(stats_reader, NULL) > 0);
	gort_sleep(200 * 1000000LL); /* twenty time slices */
	atomic_store(&stats_stop, true);
	CHECK_EQ(gort_wg_wait(&stats_wg), 0);
	gort_chan_free(stats_idle);
	return 0;
}

static void stats_readers(void)
{
	for (int i = 0; i < STATS_RUNS; i++)
		run_main(stats_main, NULL, 2);
}

/* ---------------------------------------------------------------------
 * Random hostile input
 * ------------------------------------------------------------------- */

/* 300 rounds; a fifth under TSan, where each of the thousands of
 * connection goroutines is a TSan fiber (about 50 s for 300 there). */
#if defined(HARNESS_TSAN) && HARNESS_SANITIZED
#define FUZZ_ROUNDS 60
#else
#define FUZZ_ROUNDS 300
#endif
#define FUZZ_THREADS 4

static unsigned fuzz_seed;

static unsigned rnd(unsigned *s, unsigned n)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffffff) % n;
}

static const char *const fuzz_paths[] = {"/debug/vars", "/metrics", "/debug/sched",
                                         "/debug/goroutines", "/debug/", "/", "/x",
                                         "/debug/trace?seconds=0", "/debug/trace?seconds=x",
                                         "/debug/vars?a=b", "*", "%", "/\x7f", ""};
static const char *const fuzz_methods[] = {"GET", "HEAD", "POST", "PUT", "G E T", "",
                                           "\xff\xfe", "GET\t", "CONNECT", "TRACE"};
static const char *const fuzz_versions[] = {"HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2",
                                            "http/1.1", "HTTP/1.1 ", "", "HTTP/1.1\r\nA"};

/* A response's status must be one the server can give for junk; head:
 * the request may have been a HEAD (then the body may be missing). */
static void fuzz_check(const struct resp *r, const char *kind, bool head)
{
	if (r->status == 0) {
		if (r->len != 0)
			FAILF("fuzz (%s, seed %u): not a response: \"%.200s\"", kind, fuzz_seed, r->raw);
		return;
	}
	switch (r->status) {
	case 200: case 400: case 404: case 405: case 431: case 503:
		break;
	default:
		FAILF("fuzz (%s, seed %u): status %d", kind, fuzz_seed, r->status);
	}
	check_framing(r, head && r->blen == 0);
}

/* One hostile request of a random kind. */
static void fuzz_one(int port, unsigned *s)
{
	char buf[20000];
	size_t n = 0;
	struct resp r;
	bool head = false;
	unsigned kind = rnd(s, 9);
	switch (kind) {
	case 0: /* random bytes */
		n = rnd(s, 600);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)rnd(s, 256);
		break;
	case 1: { /* a random request line from pieces */
		const char *m = fuzz_methods[rnd(s, sizeof fuzz_methods / sizeof *fuzz_methods)];
		head = strcmp(m, "HEAD") == 0;
		n = (size_t)snprintf(buf, sizeof buf, "%s %s %s\r\n\r\n", m,
		                     fuzz_paths[rnd(s, sizeof fuzz_paths / sizeof *fuzz_paths)],
		                     fuzz_versions[rnd(s, sizeof fuzz_versions / sizeof *fuzz_versions)]);
		break;
	}
	case 2: { /* huge header section, maybe never finished */
		n = (size_t)sprintf(buf, "GET /debug/vars HTTP/1.1\r\n");
		size_t want = 4000 + rnd(s, 15000);
		while (n + 40 < want)
			n += (size_t)sprintf(buf + n, "X-%u: %u\r\n", rnd(s, 100000), rnd(s, 1u << 20));
		if (rnd(s, 2))
			n += (size_t)sprintf(buf + n, "\r\n");
		break;
	}
	case 3: /* a valid request mutated in one byte */
		n = (size_t)sprintf(buf, "GET /debug/vars HTTP/1.1\r\nHost: a\r\n\r\n");
		buf[rnd(s, (unsigned)n)] = (char)rnd(s, 256);
		break;
	case 4: /* truncated */
		n = (size_t)sprintf(buf, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
		n = rnd(s, (unsigned)n);
		break;
	case 5: { /* closed early: no half-close, no reading */
		int fd = dial_port(port);
		const char *req = "GET /debug/goroutines HTTP/1.1\r\n\r\n";
		send_some(fd, req, strlen(req) - rnd(s, 20));
		if (rnd(s, 2))
			harness_sleep_ms((int)rnd(s, 3));
		close(fd);
		return;
	}
	case 6: { /* a slow client: the request in pieces */
		int fd = dial_port(port);
		const char *req = "GET /debug/vars HTTP/1.1\r\nHost: a\r\n\r\n";
		for (const char *p = req; *p;) {
			size_t k = 1 + rnd(s, 8);
			if (k > strlen(p))
				k = strlen(p);
			send_some(fd, p, k);
			p += k;
			harness_sleep_ms((int)rnd(s, 2));
		}
		read_resp(fd, &r);
		close(fd);
		if (r.status != 200 && r.status != 503 && r.len != 0) /* 0: beyond every limit */
			FAILF("fuzz (slow, seed %u): \"%.300s\"", fuzz_seed, r.raw);
		fuzz_check(&r, "slow", false);
		resp_free(&r);
		return;
	}
	case 7: { /* a burst beyond the connection limit, closed unanswered */
		int fds[HELD + 8];
		for (int i = 0; i < HELD + 8; i++)
			fds[i] = dial_port(port);
		for (int i = 0; i < HELD + 8; i++)
			close(fds[i]);
		return;
	}
	default: /* bad queries (never a capture: seconds out of range) and NULs */
		n = (size_t)snprintf(buf, sizeof buf, "GET /debug/trace?seconds=%d%s HTTP/1.1\r\n\r\n",
		                     rnd(s, 2) ? -(int)rnd(s, 100) : 61 + (int)rnd(s, 100),
		                     rnd(s, 2) ? "\x01" : "");
		if (rnd(s, 2))
			buf[rnd(s, (unsigned)n)] = '\0';
		break;
	}
	exchange(port, buf, n, &r);
	fuzz_check(&r, "request", head);
	resp_free(&r);
}

static void fuzz_client(struct client *c)
{
	unsigned s = c->seed;
	for (int i = 0; i < FUZZ_ROUNDS / FUZZ_THREADS; i++) {
		fuzz_one(c->port, &s);
		/* Still serving: a valid request gets 200 (or, while the
		 * other threads' bursts hold every slot, 503 or a close
		 * without an answer: then again). */
		struct resp r;
		for (int tries = 0;; tries++) {
			request(c->port, "GET", "/debug/vars", &r);
			if (r.status == 200 || tries == 100)
				break;
			CHECK(r.status == 503 || r.len == 0);
			resp_free(&r);
			harness_sleep_ms(5);
		}
		if (r.status != 200)
			FAILF("fuzz (seed %u): not served after a hostile request", fuzz_seed);
		check_framing(&r, false);
		resp_free(&r);
	}
}

static int fuzz_main(void *arg)
{
	(void)arg;
	serve_and_run(fuzz_client, FUZZ_THREADS, fuzz_seed);
	return 0;
}

static void fuzz(void)
{
	const char *env = getenv("GORT_TEST_SEED");
	fuzz_seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	printf("     fuzz seed %u (GORT_TEST_SEED=%u repeats it)\n", fuzz_seed, fuzz_seed);
	fflush(stdout);
	run_main(fuzz_main, NULL, 2);
}

int main(int argc, char **argv)
{
	const struct harness_case cases[] = {
		{"endpoints", endpoints},
		{"serve_again", serve_again},
		{"capture_cut", capture_cut},
		{"conn_at_exit", conn_at_exit},
		{"conn_limit", conn_limit},
		{"small_stacks", small_stacks},
		{"stats_readers", stats_readers},
		{"fuzz", fuzz},
	};
	run_named(argc, argv, cases, sizeof cases / sizeof cases[0], 60);
	PASS("debug_http_test");
	return 0;
}

#else /* !GORT_DEBUG_HTTP */

static int nosys_main(void *arg)
{
	(void)arg;
	CHECK_FAILS(gort_debug_serve(NULL), ENOSYS);
	CHECK_FAILS(gort_debug_port(), ENOSYS);
	return 0;
}

int main(void)
{
	run_main(nosys_main, NULL, 1);
	PASS("debug_http_test (built without GORT_DEBUG_HTTP: ENOSYS)");
	return 0;
}

#endif /* GORT_DEBUG_HTTP */
