/*
 * loadgen - closed-loop TCP echo load generator (one thread, epoll).
 *
 * Measures the request rate and the round-trip latency an echo server
 * sustains when CONNS clients each keep exactly one message in flight. It
 * is the client half of the `echo` benchmark; the server (bench/echo.c for
 * gort, bench/go/echo for Go) prints no result lines, this program does.
 *
 * Written from the peers' definition of the shared load generator, with
 * the same flags, work and output:
 *
 *     loadgen -a HOST:PORT [-c CONNS=100] [-s SIZE=64] [-d SECONDS=5]
 *             [-w WARMUP=1] [-i IMPL] [-x EXTRA_CFG]
 *
 * It opens CONNS connections with blocking connect, then makes each
 * non-blocking with TCP_NODELAY. Every connection has one request in
 * flight: write SIZE bytes (the pattern a..z repeated), read until SIZE
 * bytes are back, compare them byte for byte, record the latency (first
 * write attempt to last byte read) and send the next request at once.
 * Completions in the first WARMUP seconds are not counted; those in the
 * SECONDS that follow are counted and their latencies kept. Output:
 *
 *     bench=echo impl=IMPL cfg=conns=C,size=S,dur=Ds[,EXTRA],metric=rps value=N unit=req/s
 *     ... metric=p50, metric=p99, metric=max (unit=us)
 *
 * rps = completions / SECONDS; percentiles are nearest-rank. Exit status
 * 1 on a connection error, a hang-up or an echo that differs.
 *
 * Flags are parsed as Go's flag package does (bench/common.h), which also
 * accepts the peers' single-letter spelling. The soft RLIMIT_NOFILE is
 * raised to the hard limit first, as a Go program does at start, so that
 * 10,000 connections fit.
 */
#include "common.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct lg_conn {
	int fd;
	bool want_out;   /* EPOLLOUT is in the interest set */
	size_t sent;     /* bytes of the current request written */
	size_t got;      /* bytes of its echo read */
	int64_t start;   /* first write attempt of the current request */
	unsigned char *in;
};

static int lg_ep;
static size_t lg_size;
static unsigned char *lg_msg;

static _Noreturn void lg_fail(const char *what)
{
	bench_die("loadgen: %s: %s", what, strerror(errno));
}

static void lg_interest(struct lg_conn *c, bool out)
{
	struct epoll_event ev;

	if (c->want_out == out)
		return;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(lg_ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		lg_fail("epoll_ctl");
	c->want_out = out;
}

/* Write what is left of the current request; wait for EPOLLOUT if the
 * socket buffer is full. */
static void lg_send(struct lg_conn *c)
{
	while (c->sent < lg_size) {
		ssize_t w = write(c->fd, lg_msg + c->sent, lg_size - c->sent);
		if (w > 0) {
			c->sent += (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			lg_interest(c, true);
			return;
		} else {
			lg_fail("write");
		}
	}
	lg_interest(c, false);
}

static void lg_begin(struct lg_conn *c)
{
	c->sent = 0;
	c->got = 0;
	c->start = bench_now();
	lg_send(c);
}

/* Seconds from a flag: a plain number ("5", "0.5") or a Go duration. */
static double lg_seconds(const char *s, const char *flag)
{
	char *end;
	double v;
	int64_t ns;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 && v >= 0)
		return v;
	if (bench_parse_duration(s, &ns) && ns >= 0)
		return (double)ns / 1e9;
	fprintf(stderr, "invalid value \"%s\" for flag -%s\n", s, flag);
	exit(2);
}

static void lg_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *impl = "unknown", *extra = "";
	const char *dur_s = "5", *warm_s = "1";
	long conns = 100, size = 64;
	struct bench_flag flags[] = {
		{"a", BENCH_FLAG_STR, &addr, "server address HOST:PORT"},
		{"c", BENCH_FLAG_INT, &conns, "connections (default 100)"},
		{"s", BENCH_FLAG_INT, &size, "message size in bytes (default 64)"},
		{"d", BENCH_FLAG_STR, &dur_s, "measured seconds (default 5)"},
		{"w", BENCH_FLAG_STR, &warm_s, "warm-up seconds (default 1)"},
		{"i", BENCH_FLAG_STR, &impl, "impl= of the result lines"},
		{"x", BENCH_FLAG_STR, &extra, "extra cfg keys, K=V,..."},
		BENCH_FLAG_END,
	};
	struct addrinfo hints, *ai;
	struct epoll_event evs[256];
	struct lg_conn *cs;
	char host[256], cfg[512];
	const char *colon;
	double dur, warm, p50, p99, max;
	double *lat;
	size_t nlat = 0, cap = 1 << 20;
	int64_t t_meas, t_end;
	long i;
	int rc;

	if (bench_flags(argc, argv, flags) != argc)
		bench_die("loadgen: unexpected argument");
	dur = lg_seconds(dur_s, "d");
	warm = lg_seconds(warm_s, "w");
	if (!addr || conns <= 0 || size <= 0 || dur <= 0)
		bench_die("loadgen: need -a HOST:PORT, -c > 0, -s > 0, -d > 0");
	lg_size = (size_t)size;
	colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof host)
		bench_die("loadgen: bad address %s", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0)
		bench_die("loadgen: %s: %s", addr, gai_strerror(rc));
	lg_raise_nofile();

	lg_msg = malloc(lg_size);
	cs = calloc((size_t)conns, sizeof *cs);
	lat = malloc(cap * sizeof *lat);
	if (!lg_msg || !cs || !lat)
		bench_die("loadgen: out of memory");
	for (i = 0; i < size; i++)
		lg_msg[i] = (unsigned char)('a' + i % 26);
	lg_ep = epoll_create1(EPOLL_CLOEXEC);
	if (lg_ep < 0)
		lg_fail("epoll_create1");

	for (i = 0; i < conns; i++) {
		struct lg_conn *c = &cs[i];
		struct epoll_event ev;
		int one = 1;

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			lg_fail("socket");
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0)
			lg_fail("connect");
		if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
			lg_fail("setsockopt TCP_NODELAY");
		if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0)
			lg_fail("fcntl O_NONBLOCK");
		c->in = malloc(lg_size);
		if (!c->in)
			bench_die("loadgen: out of memory");
		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(lg_ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			lg_fail("epoll_ctl");
	}
	freeaddrinfo(ai);

	t_meas = bench_now() + (int64_t)(warm * 1e9);
	t_end = t_meas + (int64_t)(dur * 1e9);
	for (i = 0; i < conns; i++)
		lg_begin(&cs[i]);

	while (bench_now() < t_end) {
		int k, n = epoll_wait(lg_ep, evs, (int)(sizeof evs / sizeof evs[0]), 10);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			lg_fail("epoll_wait");
		}
		for (k = 0; k < n; k++) {
			struct lg_conn *c = evs[k].data.ptr;

			if (evs[k].events & (EPOLLERR | EPOLLHUP))
				bench_die("loadgen: connection error or hang-up");
			if (evs[k].events & EPOLLOUT)
				lg_send(c);
			if (!(evs[k].events & EPOLLIN))
				continue;
			for (;;) {
				ssize_t r = read(c->fd, c->in + c->got, lg_size - c->got);
				int64_t now;

				if (r == 0)
					bench_die("loadgen: the server closed a connection");
				if (r < 0) {
					if (errno == EINTR)
						continue;
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					lg_fail("read");
				}
				c->got += (size_t)r;
				if (c->got < lg_size)
					continue;
				now = bench_now();
				if (memcmp(c->in, lg_msg, lg_size) != 0)
					bench_die("loadgen: echo differs from the message sent");
				if (now >= t_meas && now < t_end) {
					if (nlat == cap) {
						cap *= 2;
						lat = realloc(lat, cap * sizeof *lat);
						if (!lat)
							bench_die("loadgen: out of memory");
					}
					lat[nlat++] = bench_us(now - c->start);
				}
				lg_begin(c); /* one request in flight */
				break;
			}
		}
	}
	for (i = 0; i < conns; i++)
		close(cs[i].fd);

	bench_summary(lat, nlat, &p50, &p99, &max);
	snprintf(cfg, sizeof cfg, "conns=%ld,size=%ld,dur=%gs%s%s", conns, size, dur,
	         extra[0] ? "," : "", extra);
	printf("bench=echo impl=%s cfg=%s,metric=rps value=%.3f unit=req/s\n", impl, cfg,
	       (double)nlat / dur);
	printf("bench=echo impl=%s cfg=%s,metric=p50 value=%.3f unit=us\n", impl, cfg,
	       nlat ? p50 : 0.0);
	printf("bench=echo impl=%s cfg=%s,metric=p99 value=%.3f unit=us\n", impl, cfg,
	       nlat ? p99 : 0.0);
	printf("bench=echo impl=%s cfg=%s,metric=max value=%.3f unit=us\n", impl, cfg,
	       nlat ? max : 0.0);
	fflush(stdout);
	return 0;
}
