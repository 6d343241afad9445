/*
 * stack_overflow_test proves that a goroutine overflowing its stack is a
 * fatal error, as in Go: the helper program tests/prog/overflow.c recurses
 * without bound in a goroutine with the default stack, in one with a
 * 64 KiB gort_attr stack, and in the main goroutine; each time the process
 * must exit with status 2 (not die by a signal), and its stderr must
 * contain "fatal error: stack overflow" and "goroutine N" with the id of
 * the goroutine that overflowed. The 64 KiB case is run again as on a
 * kernel without MADV_GUARD_INSTALL (guards made with mprotect, up to a
 * budget), after 17,000 such goroutines have exited: their guards must
 * have gone back to the budget with their stacks.
 *
 * A SIGSEGV or SIGBUS that was sent (raise, kill), not caused by a fault,
 * must still kill the process, as it does without the runtime: returning
 * from the handler does not bring it back as it brings a fault back.
 *
 * Skipped under sanitizers, which own SIGSEGV.
 */
#include "harness.h"

static struct child_result res;

static long long announced_goid(const char *out)
{
	const char *p = strstr(out, "overflow goid=");
	if (p == NULL)
		return -1;
	return strtoll(p + strlen("overflow goid="), NULL, 10);
}

static void check_overflow(const char *mode)
{
	char arg[16];
	snprintf(arg, sizeof(arg), "%s", mode);
	char *argv[] = {NULL, arg, NULL};
	run_child_prog("overflow", argv, harness_timeout(20), &res);
	long long goid = announced_goid(res.output);
	bool ok = !res.timed_out && res.exited && res.status == 2 &&
	          strstr(res.output, "fatal error: stack overflow") != NULL &&
	          goid > 0 && harness_has_goroutine(res.output, goid) &&
	          strstr(res.output, "no guard below the stack") == NULL;
	if (!ok) {
		harness_describe(mode, &res);
		FAILF("overflow %s: want exit status 2, \"fatal error: stack "
		      "overflow\" and \"goroutine %lld\" on stderr, and a "
		      "guard below the stack",
		      mode, goid);
	}
	if (strcmp(mode, "main") == 0)
		CHECK_EQ(goid, 1);
	else
		CHECK(goid > 1);
	printf("ok   overflow %s (goroutine %lld)\n", mode, goid);
}

/* The helper sends itself sig in mode; it must die of it. */
static void check_sent(const char *mode, int sig)
{
	char arg[16];
	snprintf(arg, sizeof(arg), "%s", mode);
	char *argv[] = {NULL, arg, NULL};
	run_child_prog("overflow", argv, harness_timeout(20), &res);
	if (res.timed_out || res.exited || res.signal != sig) {
		harness_describe(mode, &res);
		FAILF("%s: want death by signal %d", mode, sig);
	}
	printf("ok   %s (signal %d)\n", mode, sig);
}

int main(void)
{
	if (HARNESS_SANITIZED) {
		SKIP("stack_overflow_test", "sanitizers own SIGSEGV");
		return 0;
	}
	check_overflow("go");
	check_overflow("attr");
	check_overflow("main");
	check_overflow("oldkernel");
	check_sent("sent", SIGSEGV);
	check_sent("sentbus", SIGBUS);
	PASS("stack_overflow_test");
	return 0;
}
