/*
 * trace_snapshot_test proves that a trace start's snapshot is not raced
 * by the threads that stopping the world does not stop: those without a
 * P. While the main goroutine starts and stops traces over and over,
 *  - goroutines leave blocking syscalls (gort_entersyscall_block) and,
 *    finding no idle P, make themselves runnable with no P held
 *    (exitsyscall0);
 *  - plain threads ready goroutines parked in a channel receive (goready
 *    without a P) and create goroutines (newproc without a P).
 * Each of those changes a goroutine's state and writes its event (and
 * the goroutine's trace seq) while the snapshot may be reading that state
 * and setting that seq. They now hold the lock the snapshot holds
 * (tracesnap_lock); before, ThreadSanitizer reported the race on
 * g->traceseq within a second (snapshot_g against traceGoSysExit), and a
 * trace could hold an event of a goroutine before the snapshot's
 * creation of it. In other builds the case shows that the starts
 * succeed and nothing deadlocks on the new lock.
 */
#include "gort_util.h"

#include <pthread.h>

static atomic_bool stop;
static gort_chan *ch;

static void syscall_loop(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		gort_entersyscall_block();
		usleep(20);
		gort_exitsyscall();
	}
}

static void recv_loop(void *arg)
{
	(void)arg;
	int v;
	while (gort_chan_recv(ch, &v) == 0)
		;
}

static void nop(void *arg)
{
	(void)arg;
}

/* Readies receivers and creates goroutines, holding no P; ends when the
 * channel is closed. */
static void *sender(void *arg)
{
	(void)arg;
	int v = 1;
	while (gort_chan_send(ch, &v) == 0)
		CHECK(gort_go(nop, NULL) > 0);
	return NULL;
}

static int snapshot_main(void *arg)
{
	(void)arg;
	ch = gort_chan_make(sizeof(int), 0);
	CHECK(ch != NULL);
	for (int i = 0; i < 8; i++)
		CHECK(gort_go(syscall_loop, NULL) > 0);
	for (int i = 0; i < 4; i++)
		CHECK(gort_go(recv_loop, NULL) > 0);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, sender, NULL), 0);
	for (int i = 0; i < SCALE(300) + 100; i++) {
		CHECK_EQ(gort_trace_start("/dev/null"), 0);
		gort_sleep(1000000);
		CHECK_EQ(gort_trace_stop(), 0);
	}
	atomic_store(&stop, true);
	gort_chan_close(ch);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	return 0;
}

static void case_snapshot(void)
{
	run_main(snapshot_main, NULL, 2);
}

int main(void)
{
	run_case("snapshot", case_snapshot, 60);
	return 0;
}
