/*
 * http_hello - a minimal HTTP/1.1 "Hello, World!" server on gort, enough
 * for load generators such as wrk: one goroutine per connection written
 * as blocking code over gort_listen, gort_accept, gort_read and
 * gort_send, the way Go's net/http serves each connection from its own
 * goroutine.
 *
 * What it does: reads requests into a buffer and parses each request
 * line and its headers; answers every request, whatever its method and
 * target, with "Hello, World!" (text/plain, with Content-Length and
 * Date, as Go's hello server does; HEAD gets the headers only). The
 * connection is kept alive for HTTP/1.1 and closed after the response to
 * a request with "Connection: close" (or an HTTP/1.0 request without
 * "Connection: keep-alive", or one whose body waits for a 100 Continue:
 * "Expect: 100-continue"). Pipelined requests that arrive together in
 * one read are answered in order with one write. A request body of
 * Content-Length bytes is skipped. Malformed requests get 400, chunked
 * bodies (Transfer-Encoding) 501, a header section larger than the
 * buffer 431, each followed by closing the connection. Before closing, it
 * shuts down its side and reads until the client closes (at most 500 ms,
 * Go's rstAvoidanceDelay), so that the client gets the last response
 * instead of a reset. A response that keeps an HTTP/1.0 connection
 * alive says "Connection: keep-alive", as Go's does: without it an
 * HTTP/1.0 client (ApacheBench's ab -k) waits for the close.
 *
 * Usage: http_hello PORT [HOST]
 *   PORT  the TCP port (0: any free port; the one chosen is printed)
 *   HOST  the address to listen on (default: every address)
 * GOMAXPROCS in the environment sets the number of Ps, as in Go.
 *
 * Try it: http_hello 8080 & then curl http://localhost:8080/ or
 * wrk -t2 -c100 -d10s http://127.0.0.1:8080/
 *
 * The connection handler (http_conn) is also used by tests/net_test.c,
 * which includes this file with HTTP_HELLO_NO_MAIN defined.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "gort.h"
#include "serve.h"

#define HTTP_IN 8192         /* request buffer: the largest header section */
#define HTTP_OUT 16384       /* responses gathered for one write */
#define HTTP_RESP_MAX 256    /* the longest response http_response writes */
#define HTTP_LINGER_NS (500 * 1000000LL)

#define HTTP_BODY "Hello, World!"

/* What http_parse found at the front of the buffer. */
enum {
	HTTP_MORE = 0,         /* not a whole request yet */
	HTTP_OK = 1,           /* a request: see struct http_req */
	HTTP_BAD = -1,         /* malformed: 400 */
	HTTP_UNSUPPORTED = -2, /* a chunked body: 501 */
};

struct http_req {
	size_t len;    /* bytes of the request line and headers, blank line included */
	uint64_t body; /* Content-Length: body bytes that follow */
	bool close;    /* close the connection after the response */
	bool keep10;   /* an HTTP/1.0 request that asked to be kept alive */
	bool head;     /* HEAD: headers only */
};

/* RFC 9110 tchar: the characters of a token (method, header name). */
static bool http_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Whether [p, p+n) is token tok, ignoring case. */
static bool http_is(const char *p, size_t n, const char *tok)
{
	return strlen(tok) == n && strncasecmp(p, tok, n) == 0;
}

/* The next line of [p, end): its end without CR LF in *lend, the start
 * of the next in the result; NULL if no LF yet. */
static const char *http_line(const char *p, const char *end, const char **lend)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	if (!lf)
		return NULL;
	*lend = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
	return lf + 1;
}

/* Whether the comma-separated list [v, vend) (a Connection or Expect
 * header's value) has token tok, ignoring case. */
static bool http_has_token(const char *v, const char *vend, const char *tok)
{
	while (v < vend) {
		while (v < vend && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		const char *t = v;
		while (v < vend && *v != ',' && *v != ' ' && *v != '\t')
			v++;
		if (http_is(t, (size_t)(v - t), tok))
			return true;
	}
	return false;
}

/* Parse the request at the front of [buf, buf+n). */
static int http_parse(const char *buf, size_t n, struct http_req *rq)
{
	const char *p = buf, *end = buf + n, *lend, *next;
	/* Empty lines before a request line are ignored (RFC 9112 2.2). */
	for (;;) {
		if (!(next = http_line(p, end, &lend)))
			return HTTP_MORE;
		if (lend != p)
			break;
		p = next;
	}

	/* Request line: method SP target SP HTTP/1.x */
	const char *m = p;
	while (p < lend && http_tchar((unsigned char)*p))
		p++;
	if (p == m || p == lend || *p != ' ')
		return HTTP_BAD;
	rq->head = p - m == 4 && memcmp(m, "HEAD", 4) == 0; /* methods are case-sensitive */
	const char *t = ++p;
	while (p < lend && *p != ' ' && (unsigned char)*p > ' ' && *p != 0x7f)
		p++;
	if (p == t || p == lend || *p != ' ')
		return HTTP_BAD;
	p++;
	if (lend - p != 8 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9')
		return HTTP_BAD;
	bool http10 = p[7] == '0';

	/* Header fields until the blank line. */
	bool close = false, keep = false, expect = false, have_len = false;
	uint64_t len = 0;
	for (;;) {
		p = next;
		if (!(next = http_line(p, end, &lend)))
			return HTTP_MORE;
		if (lend == p)
			break;
		const char *name = p;
		while (p < lend && http_tchar((unsigned char)*p))
			p++;
		if (p == name || p == lend || *p != ':')
			return HTTP_BAD; /* also obsolete line folding */
		size_t nlen = (size_t)(p - name);
		const char *v = p + 1, *vend = lend;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (http_is(name, nlen, "Connection")) {
			close |= http_has_token(v, vend, "close");
			keep |= http_has_token(v, vend, "keep-alive");
		} else if (http_is(name, nlen, "Expect")) {
			expect |= http_has_token(v, vend, "100-continue");
		} else if (http_is(name, nlen, "Content-Length")) {
			if (v == vend)
				return HTTP_BAD;
			uint64_t x = 0;
			for (const char *c = v; c < vend; c++) {
				if (*c < '0' || *c > '9' || x > (UINT64_MAX - 9) / 10)
					return HTTP_BAD;
				x = x * 10 + (uint64_t)(*c - '0');
			}
			if (have_len && x != len)
				return HTTP_BAD;
			have_len = true;
			len = x;
		} else if (http_is(name, nlen, "Transfer-Encoding")) {
			return HTTP_UNSUPPORTED;
		}
	}
	rq->len = (size_t)(next - buf);
	rq->body = len;
	/* A client that asked "Expect: 100-continue" waits for a 100
	 * before it sends the body, which this server never asks for; if
	 * it then sees the final answer first it may send the body late
	 * (after a timer) or not at all, and the bytes that follow on the
	 * connection may be the body or the next request: close after the
	 * answer, as Go's server does when a handler did not read such a
	 * body (Go issue 11549). HTTP/1.0 has no 100 (Go ignores it
	 * there too). */
	rq->close = close || (http10 && !keep) || (expect && !http10 && len > 0);
	rq->keep10 = http10 && !rq->close;
	return HTTP_OK;
}

/* The Date header's value, formatted once a second per connection. */
struct http_clock {
	time_t sec;
	char text[40];
};

static const char *http_date(struct http_clock *c)
{
	time_t now = time(NULL);
	if (now != c->sec || !c->text[0]) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(c->text, sizeof c->text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		c->sec = now;
	}
	return c->text;
}

/* Append a response to out (room for HTTP_RESP_MAX); returns its length.
 * close: the connection closes after it; keep10: it stays open for an
 * HTTP/1.0 client, which must be told so. */
static size_t http_response(char *out, int status, bool close, bool keep10, bool head,
                            const char *date)
{
	const char *reason = status == 200   ? "OK"
	                     : status == 400 ? "Bad Request"
	                     : status == 431 ? "Request Header Fields Too Large"
	                                     : "Not Implemented";
	const char *body = status == 200 ? HTTP_BODY : "";
	size_t blen = strlen(body);
	int n = snprintf(out, HTTP_RESP_MAX,
	                 "HTTP/1.1 %d %s\r\n"
	                 "Date: %s\r\n"
	                 "Content-Length: %zu\r\n"
	                 "Content-Type: text/plain; charset=utf-8\r\n"
	                 "%s"
	                 "\r\n"
	                 "%s",
	                 status, reason, date, blen,
	                 close    ? "Connection: close\r\n"
	                 : keep10 ? "Connection: keep-alive\r\n"
	                          : "",
	                 head ? "" : body);
	return n < 0 ? 0 : (size_t)n;
}

/* Send all of out, false if the client is gone. MSG_NOSIGNAL: a write
 * after the client reset the connection (it closed without reading the
 * answers to requests it had sent) is EPIPE, which ends this connection,
 * where write(2) would also raise SIGPIPE, whose default action ends the
 * whole server. */
static bool http_send_all(int fd, const char *out, size_t n)
{
	return gort_send(fd, out, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* Serve one connection (the fd, as an intptr_t) until either side closes
 * it. */
static void http_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char in[HTTP_IN], out[HTTP_OUT];
	size_t have = 0;   /* bytes in `in` */
	uint64_t skip = 0; /* body bytes of the last request not yet read */
	bool closing = false, linger = false;
	struct http_clock clk = {0};
	while (!closing) {
		ssize_t r = gort_read(fd, in + have, sizeof in - have);
		if (r <= 0)
			break; /* the client closed, or an error */
		have += (size_t)r;
		size_t off = 0, outlen = 0;
		const char *date = NULL;
		while (!closing) {
			if (skip > 0) {
				size_t k = have - off < skip ? have - off : (size_t)skip;
				off += k;
				skip -= k;
				if (skip > 0)
					break;
			}
			struct http_req rq = {0};
			int st = http_parse(in + off, have - off, &rq);
			int status = 200;
			if (st == HTTP_MORE) {
				if (off > 0 || have < sizeof in)
					break; /* read the rest */
				status = 431;
			} else if (st == HTTP_BAD) {
				status = 400;
			} else if (st == HTTP_UNSUPPORTED) {
				status = 501;
			}
			if (outlen + HTTP_RESP_MAX > sizeof out) {
				if (!http_send_all(fd, out, outlen))
					goto done;
				outlen = 0;
			}
			if (!date)
				date = http_date(&clk);
			bool close = status != 200 || rq.close;
			outlen += http_response(out + outlen, status, close, rq.keep10,
			                        status == 200 && rq.head, date);
			if (close) {
				closing = linger = true;
				break;
			}
			off += rq.len;
			skip = rq.body;
		}
		if (outlen > 0 && !http_send_all(fd, out, outlen))
			goto done;
		memmove(in, in + off, have - off);
		have -= off;
	}
	if (linger) {
		/* Go's closeWriteAndWait: let the client read the last
		 * response before a close with unread input resets it. */
		shutdown(fd, SHUT_WR);
		gort_set_deadline(fd, GORT_READ, gort_nanotime() + HTTP_LINGER_NS);
		while (gort_read(fd, in, sizeof in) > 0)
			;
	}
done:
	gort_close(fd);
}

#ifndef HTTP_HELLO_NO_MAIN

/* The main goroutine: listen, print the port, then accept forever, a
 * goroutine for each connection (serve.h). */
static int http_serve(void *arg)
{
	const char *addr = arg;
	int lfd = serve_listen("http_hello", addr);
	if (lfd < 0)
		return 1;
	serve_print_port("http_hello", lfd);
	return serve_accept("http_hello", lfd, http_conn, 10 * 1000000LL);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [HOST]\n", argv[0]);
		return 2;
	}
	static char addr[300];
	snprintf(addr, sizeof addr, "%s:%s", argc > 2 ? argv[2] : "", argv[1]);
	return gort_main(http_serve, addr);
}

#endif /* HTTP_HELLO_NO_MAIN */
