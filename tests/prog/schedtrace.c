/*
 * schedtrace: a helper program for schedtrace_test. It runs for about
 * 400 ms (two goroutines taking turns on a channel, then sleeping) and
 * exits with status 0; with GODEBUG=schedtrace=N the runtime prints its
 * scheduler report to stderr every N ms meanwhile.
 */
#include "gort_util.h"

static gort_chan *ch;

static void echo(void *arg)
{
	(void)arg;
	int v;
	while (gort_chan_recv(ch, &v) == 1 && v >= 0)
		;
}

static int schedtrace_main(void *arg)
{
	(void)arg;
	ch = make_chan(sizeof(int), 0);
	gort_go(echo, NULL);
	int64_t end = gort_nanotime() + 200LL * 1000 * 1000;
	for (int v = 0; gort_nanotime() < end; v++)
		gort_chan_send(ch, &v);
	int stop = -1;
	gort_chan_send(ch, &stop);
	gort_sleep(200LL * 1000 * 1000);
	return 0;
}

int main(void)
{
	return gort_main(schedtrace_main, NULL) == 0 ? 0 : 1;
}
