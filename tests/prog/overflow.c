/*
 * overflow: a helper program for stack_overflow_test. A goroutine recurses
 * without bound; the runtime must end the process with exit status 2 and
 * "fatal error: stack overflow" naming the goroutine. The goroutine's id
 * is printed first ("overflow goid=N") so the test can look for it.
 *
 * Usage: overflow go|attr|main
 *   go    a goroutine with the default stack
 *   attr  a goroutine with a 64 KiB stack from gort_attr
 *   main  the main goroutine itself
 * Exit status 0 or 1 means the overflow was not caught.
 */
#include "gort_util.h"

static gort_waitgroup never;
static volatile int stop_depth = -1; /* never reached; hides the recursion */

/* recurse keeps a volatile array alive in every frame, and uses the
 * result after the call, so the compiler can neither drop the frames nor
 * turn the recursion into a loop. */
static int recurse(int depth)
{
	volatile char frame[256];
	if (depth == stop_depth)
		return 0;
	frame[0] = (char)depth;
	frame[255] = frame[0];
	return recurse(depth + 1) + frame[255];
}

static void announce(void)
{
	fprintf(stderr, "overflow goid=%lld\n", (long long)gort_goid());
	fflush(stderr);
}

static void overflow_goroutine(void *arg)
{
	(void)arg;
	announce();
	int r = recurse(0);
	fprintf(stderr, "recursion returned %d\n", r);
	gort_wg_done(&never);
}

static int run_go(void *arg)
{
	const gort_attr *attr = arg;
	gort_wg_add(&never, 1);
	if (gort_go_attr(overflow_goroutine, NULL, attr) < 0) {
		perror("gort_go_attr");
		return 1;
	}
	gort_wg_wait(&never); /* the overflow ends the process first */
	fprintf(stderr, "main woke up\n");
	return 1;
}

static int run_in_main(void *arg)
{
	(void)arg;
	announce();
	return recurse(0) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static gort_attr attr = {.stack_size = 64 * 1024, .name = "overflow"};
	static const struct prog_mode modes[] = {
		{"go", run_go, NULL, false},
		{"attr", run_go, &attr, false},
		{"main", run_in_main, NULL, false},
	};
	return run_prog_mode("overflow", argc, argv, modes,
	                     sizeof modes / sizeof *modes);
}
