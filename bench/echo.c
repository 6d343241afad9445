/*
 * echo - the server half of the `echo` benchmark: a TCP echo server on
 * gort, one goroutine per connection.
 *
 * Measured (by bench/loadgen, which prints the result lines; this program
 * prints none): requests per second and round-trip latency of closed-loop
 * clients, each with one 64-byte message in flight, over loopback.
 *
 * As the peers' Go echo server (and bench/go/echo): listen on -addr
 * (127.0.0.1:0, a port the kernel chooses), print "LISTEN <host:port>" on
 * stdout once listening (the runner finds the port there), then accept
 * forever, one goroutine per accepted connection looping { read up to
 * 4096 bytes; write them back } until the client closes. The process
 * exits by itself after -life (60s), as the Go server's time.AfterFunc
 * does. The I/O is gort's: gort_listen, gort_accept, gort_read,
 * gort_write, gort_close; a goroutine with nothing to read parks on the
 * netpoller.
 *
 *     echo [-procs P] [-addr HOST:PORT] [-life DURATION]
 *
 * The connection handler is examples/echo_server.c's (included without
 * its main); the flags, listening and the accept loop are
 * bench/server.h's.
 */
#include "server.h"

/* The example's connection handler, reading 4096 bytes at a time as the
 * peer does. */
#define ECHO_BUF 4096
#define ECHO_SERVER_NO_MAIN
#include "../examples/echo_server.c"

int main(int argc, char **argv)
{
	static struct bench_server s = {.name = "echo", .conn = echo_conn,
	                                .backoff = 5 * 1000000LL};
	return bench_server_main(argc, argv, &s);
}
