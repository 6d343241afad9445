/*
 * overflow: a helper program for stack_overflow_test. A goroutine recurses
 * without bound; the runtime must end the process with exit status 2 and
 * "fatal error: stack overflow" naming the goroutine. The goroutine's id
 * is printed first ("overflow goid=N") so the test can look for it.
 *
 * Usage: overflow go|attr|main|oldkernel
 *   go         a goroutine with the default stack
 *   attr       a goroutine with a 64 KiB stack from gort_attr
 *   main       the main goroutine itself
 *   oldkernel  as attr, on a kernel without MADV_GUARD_INSTALL (a seccomp
 *              filter refuses it with EINVAL, as kernels before 6.13 do,
 *              so guards are made with mprotect), after more goroutines
 *              with such a stack have come and gone than the runtime
 *              makes mprotect guards for at once (16384); the last
 *              one says "overflow: no guard below the stack" if it has
 *              no guard
 *   sent       a goroutine sends its thread SIGSEGV (raise): no fault,
 *              so the process must die of the signal, as it would
 *              without the runtime; "overflow: survived signal N" and
 *              exit status 1 if it goes on
 *   sentbus    as sent, with SIGBUS sent to the process (kill)
 *   canary     a goroutine with a 64 KiB stack, where neither guard can
 *              be made (MADV_GUARD_INSTALL refused with EINVAL, then
 *              mprotect(PROT_NONE) with ENOMEM, as past the kernel's
 *              mapping limit), so the stack has only its canary: the
 *              goroutine writes a few KiB below its stack, comes back
 *              and yields; "overflow: canary not checked" and exit
 *              status 1 if it goes on. Exit status 3 when no seccomp
 *              filter can be installed (nothing to simulate).
 *   canarypool as canary, with the default stack (carved from a chunk)
 * Exit status 0 or 1 means the overflow was not caught.
 */
#include "gort_util.h"

#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>

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

/* Whether the kernel refuses to read addr (write(2) of it fails with
 * EFAULT): a guard page. */
static bool unreadable(const void *addr)
{
	int fds[2];
	if (pipe(fds) != 0)
		return false;
	bool fault = syscall(SYS_write, fds[1], addr, 1) < 0 && errno == EFAULT;
	close(fds[0]);
	close(fds[1]);
	return fault;
}

static bool probe_guard;

/* A 64 KiB stack's guard lies right below it: its top is the first page
 * boundary at or a few pages above this early frame. */
static void check_guard(void)
{
	volatile char here;
	uintptr_t top = ((uintptr_t)&here + 4095) & ~(uintptr_t)4095;
	for (int k = 0; k < 8; k++) {
		uintptr_t lo = top + (uintptr_t)k * 4096 - 64 * 1024;
		if (unreadable((const void *)(lo - 1)))
			return;
	}
	fprintf(stderr, "overflow: no guard below the stack\n");
	fflush(stderr);
}

static void overflow_goroutine(void *arg)
{
	(void)arg;
	if (probe_guard)
		check_guard();
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

/* A signal sent, not a fault: its default action (death) must be had,
 * whichever thread of the process the kernel picks for it. */
static void send_fault_signal(void *arg)
{
	int sig = *(const int *)arg;
	if (sig == SIGSEGV)
		raise(sig);
	else
		kill(getpid(), sig);
	gort_sleep(100 * MS); /* time for a thread to take the process's signal */
	fprintf(stderr, "overflow: survived signal %d\n", sig);
	fflush(stderr);
	gort_wg_done(&never);
}

static int run_sent(void *arg)
{
	gort_wg_add(&never, 1);
	if (gort_go(send_fault_signal, arg) < 0) {
		perror("gort_go");
		return 1;
	}
	gort_wg_wait(&never);
	return 1;
}

static void noop(void *arg)
{
	gort_wg_done(arg);
}

static gort_attr small = {.stack_size = 64 * 1024, .name = "overflow"};

static int run_oldkernel_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < 17000; i++) {
		gort_waitgroup wg = {0};
		gort_wg_add(&wg, 1);
		if (gort_go_attr(noop, &wg, &small) < 0) {
			perror("gort_go_attr");
			return 1;
		}
		gort_wg_wait(&wg);
	}
	return run_go(&small);
}

/* madvise(..., MADV_GUARD_INSTALL) fails with EINVAL, in this thread and
 * every thread it creates from now on; with mprotect_too, so does
 * mprotect(..., PROT_NONE), with ENOMEM. */
static int refuse_guards(bool mprotect_too)
{
	struct sock_filter code[] = {
		SECCOMP_HEAD,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 102 /* MADV_GUARD_INSTALL */, 0, 5),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_NONE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	if (!mprotect_too) /* the mprotect test becomes "allow" */
		code[8] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return seccomp_refuse(code, sizeof code / sizeof *code);
}

static int refuse_guard_install(void)
{
	return refuse_guards(false);
}

static int run_oldkernel(void *arg)
{
	(void)arg;
	if (refuse_guard_install() != 0) {
		/* Nothing to simulate: behave as the attr mode. */
		fprintf(stderr, "overflow: no seccomp filter, running as attr\n");
		return gort_main(run_go, &small);
	}
	probe_guard = true;
	return gort_main(run_oldkernel_main, NULL);
}

static size_t canary_size;

/* Recurse until a frame lies below bottom, then come back. Every byte of
 * every frame is written, so the word at the stack's lowest address (the
 * canary) is too. */
static int recurse_below(uintptr_t bottom)
{
	volatile char frame[256];
	for (size_t i = 0; i < sizeof frame; i++)
		frame[i] = 1;
	if ((uintptr_t)frame < bottom)
		return frame[0];
	return recurse_below(bottom) + frame[0];
}

static void canary_goroutine(void *arg)
{
	(void)arg;
	volatile char here;
	uintptr_t top = ((uintptr_t)&here + 4095) & ~(uintptr_t)4095;
	announce();
	/* A few KiB below the stack: inside the unguarded guard region. */
	int r = recurse_below(top - canary_size - 4096);
	gort_gosched(); /* a switch: the canary is checked here */
	fprintf(stderr, "overflow: canary not checked (%d)\n", r);
	fflush(stderr);
	gort_wg_done(&never);
}

static int run_canary_main(void *arg)
{
	gort_attr *attr = arg;
	canary_size = attr->stack_size ? attr->stack_size : (size_t)gort_set_stack_size(0);
	gort_wg_add(&never, 1);
	if (gort_go_attr(canary_goroutine, NULL, attr) < 0) {
		perror("gort_go_attr");
		return 1;
	}
	gort_wg_wait(&never);
	return 1;
}

static gort_attr canary_attr;

static int run_canary(void *arg)
{
	canary_attr.stack_size = (size_t)(uintptr_t)arg;
	if (refuse_guards(true) != 0) {
		fprintf(stderr, "overflow: no seccomp filter, nothing to simulate\n");
		return 3;
	}
	return gort_main(run_canary_main, &canary_attr);
}

int main(int argc, char **argv)
{
	static gort_attr attr = {.stack_size = 64 * 1024, .name = "overflow"};
	static int segv = SIGSEGV, bus = SIGBUS;
	static const struct prog_mode modes[] = {
		{"go", run_go, NULL, false},
		{"attr", run_go, &attr, false},
		{"main", run_in_main, NULL, false},
		{"oldkernel", run_oldkernel, NULL, true},
		{"sent", run_sent, &segv, false},
		{"sentbus", run_sent, &bus, false},
		{"canary", run_canary, (void *)(uintptr_t)(64 * 1024), true},
		{"canarypool", run_canary, NULL, true},
	};
	return run_prog_mode("overflow", argc, argv, modes,
	                     sizeof modes / sizeof *modes);
}
