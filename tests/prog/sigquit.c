/*
 * sigquit: a helper program for dump_test. Main starts a goroutine that
 * blocks in a channel receive, waits until it has parked, prints
 * "sigquit: ready" and sends SIGQUIT to its own process. The runtime must
 * print "SIGQUIT: quit" and every goroutine with its stack, then exit
 * with status 2, as a Go program does. Exit status 0 or 1 means the
 * signal was not handled.
 */
#include "gort_util.h"

#include <signal.h>

static gort_chan *ch;

static __attribute__((noinline)) void sigquit_blocker(void *arg)
{
	(void)arg;
	int v;
	gort_chan_recv(ch, &v);
	__asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
}

static __attribute__((noinline)) int sigquit_main(void *arg)
{
	(void)arg;
	ch = make_chan(sizeof(int), 0);
	int64_t id = gort_go(sigquit_blocker, NULL);
	wait_parked(id, "chan receive");
	fprintf(stderr, "sigquit: ready\n");
	fflush(stderr);
	kill(getpid(), SIGQUIT);
	gort_sleep(10LL * 1000 * 1000 * 1000);
	fprintf(stderr, "sigquit: still alive\n");
	return 1;
}

int main(void)
{
	return gort_main(sigquit_main, NULL) == 0 ? 1 : 1;
}
