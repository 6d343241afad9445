/*
 * hook_test: libgort_hook.so, the interposition library that routes a
 * goroutine's plain libc calls through the runtime. Runs each mode of the
 * helper program tests/prog/hook.c (see there for what each checks) twice:
 * as "hook", linked with libgort.so only and started with the hook
 * library in LD_PRELOAD, and as "hook_linked", linked with it.
 *
 * Skipped in sanitizer builds: AddressSanitizer and ThreadSanitizer
 * interpose read, write, poll, ... themselves, in front of the hook
 * library, so the hook cannot tell the runtime's own calls from a
 * goroutine's and stays a plain pass-through (see src/hook.c); ASan also
 * refuses to run with a library preloaded ahead of its runtime. Under an
 * emulator (GORT_TEST_EMULATOR), LD_PRELOAD would reach the emulator,
 * not the program: only the linked program runs there.
 */
#include "harness.h"

#ifndef GORT_TEST_HOOK_LIB
#error "GORT_TEST_HOOK_LIB (the path of libgort_hook.so) must be defined"
#endif

static void run_mode(const char *prog, const char *mode, bool preload, double timeout_s)
{
	struct child_result res;
	char *argv[] = {NULL, (char *)mode, NULL};
	if (preload)
		CHECK(setenv("LD_PRELOAD", GORT_TEST_HOOK_LIB, 1) == 0);
	int64_t t0 = harness_now();
	run_child_prog(prog, argv, harness_timeout(timeout_s), &res);
	if (preload)
		unsetenv("LD_PRELOAD");
	if (res.timed_out || !res.exited || res.status != 0) {
		harness_describe(prog, &res);
		FAILF("%s %s%s: want exit status 0", prog, mode, preload ? " (LD_PRELOAD)" : "");
	}
	fprintf(stderr, "  %s %s%s: %.0f ms\n%s", prog, mode, preload ? " (LD_PRELOAD)" : "",
	        (double)(harness_now() - t0) / 1e6, res.output);
}

static bool emulated(void)
{
	const char *e = getenv("GORT_TEST_EMULATOR");
	return e && *e;
}

#define MODE_CASE(name, timeout_s)                                        \
	static void mode_##name(void)                                     \
	{                                                                 \
		if (!emulated())                                          \
			run_mode("hook", #name, true, timeout_s);         \
		run_mode("hook_linked", #name, false, timeout_s);         \
	}

MODE_CASE(sleep, 60)
MODE_CASE(read, 60)
MODE_CASE(calls, 60)
MODE_CASE(thread, 60)
MODE_CASE(fdops, 60)
MODE_CASE(fork, 60)
MODE_CASE(signal, 60)
MODE_CASE(stdio, 60)

int main(void)
{
	if (HARNESS_SANITIZED) {
		printf("hook_test: skipped in a sanitizer build (the sanitizer's own "
		       "interceptors of read, poll, ... come before the hook library)\n");
		return 0;
	}
	RUN_CASE(mode_sleep, 150);
	RUN_CASE(mode_read, 150);
	RUN_CASE(mode_calls, 150);
	RUN_CASE(mode_thread, 150);
	RUN_CASE(mode_fdops, 150);
	RUN_CASE(mode_fork, 150);
	RUN_CASE(mode_signal, 150);
	RUN_CASE(mode_stdio, 150);
	printf("hook_test: ok\n");
	return 0;
}
