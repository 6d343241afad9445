/*
 * http_hello - the server of the `http_hello` benchmark: gort's HTTP/1.1
 * "Hello, World!" server with keep-alive, against which wrk runs
 * (bench/wrk.sh turns wrk's figures into the result lines: requests/s and
 * the p50/p99/max latency; this program prints none).
 *
 * The peer is Go 1.19's net/http hello server (bench/go/http_hello): one
 * goroutine per connection, every request answered with "Hello, World!"
 * as text/plain with Date and Content-Length. The connection handler is
 * the one of examples/http_hello.c (included here, without its main), so
 * that the benchmark measures the example as shipped; this file adds the
 * flags and the start-up line shared with the echo servers:
 *
 *     http_hello [-procs P] [-addr HOST:PORT] [-life DURATION]
 *
 * listens on -addr (127.0.0.1:0, a port the kernel chooses), prints
 * "LISTEN <host:port>" on stdout, accepts forever with one goroutine per
 * connection, and exits by itself after -life (60s).
 */
#include "server.h"

#define HTTP_HELLO_NO_MAIN
#include "../examples/http_hello.c"

int main(int argc, char **argv)
{
	/* Out of fds, back off 10 ms as Go's http.Server does. */
	static struct bench_server s = {.name = "http_hello", .conn = http_conn,
	                                .backoff = 10 * 1000000LL};
	return bench_server_main(argc, argv, &s);
}
