/*
 * waitsince_test.c - how long a goroutine has waited, in a dump's header
 * ("goroutine 7 [chan receive, 3 minutes]:"), as Go's goroutineheader:
 * for a goroutine parked (gopark) and for one in a system call
 * (entersyscall), both of which note when they began (g->waitsince, from
 * sysmon's coarse clock).
 *
 * A goroutine parks on a channel receive and another enters a bracketed
 * call and blocks in a read; main checks that each noted a time within
 * the last seconds, moves it three minutes back (as if they had waited
 * that long), dumps, and wants both headers with ", 3 minutes".
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gort_util.h"
#include "runtime.h"

#define MINUTE (60LL * 1000 * 1000 * 1000)

static gort_chan *never;
static int pipefd[2];
static gort_waitgroup done;
static int64_t receiver_id, caller_id;

static void receiver(void *arg)
{
	(void)arg;
	int64_t v;
	CHECK_EQ(gort_chan_recv(never, &v), 0); /* closed at the end */
	gort_wg_done(&done);
}

static void caller(void *arg)
{
	(void)arg;
	char b;
	gort_entersyscall();
	CHECK_EQ(read(pipefd[0], &b, 1), 1);
	gort_exitsyscall();
	gort_wg_done(&done);
}

struct find {
	int64_t goid;
	g *gp;
};

static void find_visit(g *gp, void *arg)
{
	struct find *f = arg;
	if (gp->goid == f->goid)
		f->gp = gp;
}

/* The G of goid, once a dump shows it waiting for reason. */
static g *waiting_g(int64_t goid, const char *reason)
{
	wait_parked(goid, reason);
	struct find f = {goid, NULL};
	forEachG(find_visit, &f);
	CHECK(f.gp != NULL);
	return f.gp;
}

/* gp noted when it began waiting, a moment ago; make that 3 minutes. */
static void age(g *gp, const char *what)
{
	int64_t now = nanotime();
	if (gp->waitsince == 0 || gp->waitsince > now || now - gp->waitsince > 5000000000LL)
		FAILF("%s: waitsince %lld, now %lld: not the time it began waiting", what,
		      (long long)gp->waitsince, (long long)now);
	gp->waitsince -= 3 * MINUTE;
}

static void want_header(const char *dump, int64_t goid, const char *state)
{
	char want[96];
	snprintf(want, sizeof want, "goroutine %lld [%s, 3 minutes]:", (long long)goid, state);
	if (strstr(dump, want) == NULL)
		FAILF("the dump has no \"%s\":\n%s", want, dump);
}

static int waitsince_main(void *arg)
{
	(void)arg;
	never = gort_chan_make(sizeof(int64_t), 0);
	CHECK(never != NULL);
	CHECK_EQ(pipe(pipefd), 0);
	CHECK_EQ(gort_wg_add(&done, 2), 0);
	receiver_id = gort_go(receiver, NULL);
	caller_id = gort_go(caller, NULL);
	CHECK(receiver_id > 1 && caller_id > 1);
	age(waiting_g(receiver_id, "chan receive"), "parked");
	age(waiting_g(caller_id, "syscall"), "in a system call");

	char *dump = dump_to_string();
	want_header(dump, receiver_id, "chan receive");
	want_header(dump, caller_id, "syscall");
	free(dump);

	CHECK_EQ(write(pipefd[1], "x", 1), 1);
	CHECK_EQ(gort_chan_close(never), 0);
	CHECK_EQ(gort_wg_wait(&done), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	gort_chan_free(never);
	return 0;
}

MAIN_CASE(minutes, waitsince_main, 2)

int main(void)
{
	RUN_CASE(minutes, 30);
	PASS("waitsince_test");
	return 0;
}
