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
 * have gone back to the budget with their stacks. Where neither guard
 * can be made (mprotect refused as well, as past the kernel's mapping
 * limit), a stack has only its canary: a goroutine that wrote below its
 * 64 KiB stack, or below a default stack carved from a chunk, and came
 * back must be reported the same way at its next switch.
 *
 * A SIGSEGV or SIGBUS that was sent (raise, kill), not caused by a fault,
 * must still kill the process, as it does without the runtime: returning
 * from the handler does not bring it back as it brings a fault back.
 *
 * A handler for SIGSEGV, SIGBUS or SIGQUIT that the program installs
 * while gort_main runs is still in place when gort_main returns: the
 * runtime puts back the handlers it found only where its own are still
 * installed.
 *
 * The overflow and signal cases are skipped under sanitizers, which own
 * SIGSEGV.
 */
#include "gort_util.h"

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
	if (!res.timed_out && res.exited && res.status == 3 &&
	    strstr(res.output, "nothing to simulate") != NULL) {
		printf("skip overflow %s (no seccomp filter)\n", mode);
		return;
	}
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

/* SIGURG: the preemption signal (preempt.c). */
static const int kept_sigs[] = {SIGSEGV, SIGBUS, SIGQUIT, SIGURG};

static void program_handler(int sig)
{
	(void)sig;
}

static int install_handlers(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sizeof kept_sigs / sizeof *kept_sigs; i++)
		CHECK(signal(kept_sigs[i], program_handler) != SIG_ERR);
	return 0;
}

/* In a child: the handlers installed by the main goroutine outlive the
 * run. */
static int handlers_kept_child(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_main(install_handlers, NULL), 0);
	for (size_t i = 0; i < sizeof kept_sigs / sizeof *kept_sigs; i++) {
		struct sigaction sa;
		CHECK_EQ(sigaction(kept_sigs[i], NULL, &sa), 0);
		if ((sa.sa_flags & SA_SIGINFO) || sa.sa_handler != program_handler)
			FAILF("signal %d: the program's handler is gone after gort_main",
			      kept_sigs[i]);
	}
	return 0;
}

static void check_handlers_kept(void)
{
	run_child_fn(handlers_kept_child, NULL, harness_timeout(20), &res);
	if (res.timed_out || !res.exited || res.status != 0) {
		harness_describe("handlers_kept", &res);
		FAILF("handlers_kept: want the program's handlers kept");
	}
	printf("ok   handlers_kept\n");
}

int main(void)
{
	check_handlers_kept();
	if (HARNESS_SANITIZED) {
		SKIP("stack_overflow_test", "sanitizers own SIGSEGV");
		return 0;
	}
	check_overflow("go");
	check_overflow("attr");
	check_overflow("main");
	check_overflow("oldkernel");
	check_overflow("canary");
	check_overflow("canarypool");
	check_sent("sent", SIGSEGV);
	check_sent("sentbus", SIGBUS);
	PASS("stack_overflow_test");
	return 0;
}
