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
MODE_CASE(timeo, 60)
MODE_CASE(recvpoll, 60)
MODE_CASE(first, 60)
MODE_CASE(spawn, 60)

/* "inherited" runs with a pipe's read end (a byte in it) at fd 40 and
 * another's write end at fd 41, as a shell passes them on; afterwards
 * the write came through, and both ends are blocking here too. */
static void run_inherited(const char *prog, bool preload)
{
	int in[2], out[2];
	CHECK(pipe(in) == 0 && pipe(out) == 0);
	CHECK(write(in[1], "i", 1) == 1);
	CHECK(dup2(in[0], 40) == 40 && dup2(out[1], 41) == 41);
	run_mode(prog, "inherited", preload, 60);
	close(40);
	close(41);
	char c = 0;
	CHECK(read(out[0], &c, 1) == 1 && c == 'o');
	CHECK((fcntl(in[0], F_GETFL) & O_NONBLOCK) == 0);
	CHECK((fcntl(out[1], F_GETFL) & O_NONBLOCK) == 0);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

static void mode_inherited(void)
{
	if (!emulated())
		run_inherited("hook", true);
	run_inherited("hook_linked", false);
}

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
	RUN_CASE(mode_timeo, 150);
	RUN_CASE(mode_inherited, 150);
	RUN_CASE(mode_recvpoll, 150);
	RUN_CASE(mode_first, 150);
	RUN_CASE(mode_spawn, 150);
	printf("hook_test: ok\n");
	return 0;
}
