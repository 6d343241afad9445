/*
 * harness.h - the tiny header-only test harness of gort's tests.
 *
 * Assertions: CHECK(cond), CHECK_EQ(a, b) (both operands printed) and
 * CHECK_ERRNO(call, err) (the call must return -1 with errno err). A
 * failure prints "file:line: expression" on stderr and exits the process
 * with status 1 at once (_exit, so that no other thread of the runtime
 * runs atexit work while the process dies).
 *
 * Children: run_child_fn() forks and runs a function in the child;
 * run_child_prog() spawns a helper program from GORT_TEST_PROG_DIR;
 * run_self() runs this program again. All capture the child's stderr,
 * wait with a timeout (SIGKILL when it passes) and return its exit status
 * and output; harness_deadlocked() and must_deadlock() check a child for
 * Go's deadlock report. run_case() runs one test case in a forked child
 * with a timeout, so that a hang is reported by name instead of stalling
 * the whole file; GORT_TEST_CASES="a b" in the environment runs only the
 * cases it names.
 *
 * Scale: SCALE(n) is n in a normal build and n/10 (at least 1) when
 * GORT_TEST_SANITIZED is defined, because sanitizer builds run 5-20x
 * slower (n/100 under TSan, see below). Timeouts are multiplied by GORT_TEST_TIMEOUT_MULTIPLIER from the
 * environment when it is set.
 */
#ifndef GORT_TEST_HARNESS_H
#define GORT_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------------
 * Scale
 * ------------------------------------------------------------------- */

/*
 * Under TSan, SCALE divides by 100 instead: measured on this runtime, a
 * goroutine costs about 1-2 ms to create there (each is a TSan fiber),
 * and TSan dies once more than 8128 threads and fibers exist at once.
 */
#if defined(__SANITIZE_THREAD__)
#define HARNESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HARNESS_TSAN 1
#endif
#endif

#ifdef GORT_TEST_SANITIZED
#ifdef HARNESS_TSAN
#define HARNESS_DIVISOR 100
#else
#define HARNESS_DIVISOR 10
#endif
#define SCALE(n) ((n) / HARNESS_DIVISOR > 0 ? (n) / HARNESS_DIVISOR : 1)
#define HARNESS_SANITIZED 1
#else
#define SCALE(n) (n)
#define HARNESS_SANITIZED 0
#endif

/* ---------------------------------------------------------------------
 * Assertions
 * ------------------------------------------------------------------- */

static inline _Noreturn void harness_die(void)
{
	fflush(stdout);
	fflush(stderr);
	_exit(1);
}

static inline _Noreturn void harness_fail(const char *file, int line,
                                          const char *expr)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
	harness_die();
}

static inline _Noreturn void harness_fail_eq(const char *file, int line,
                                             const char *expr, long long a,
                                             long long b)
{
	fprintf(stderr, "%s:%d: check failed: %s (%lld vs %lld)\n", file, line,
	        expr, a, b);
	harness_die();
}

static inline _Noreturn void harness_fail_errno(const char *file, int line,
                                                const char *expr, long long r,
                                                int got, int want)
{
	fprintf(stderr,
	        "%s:%d: check failed: %s == -1 with errno %d (%s); "
	        "got %lld with errno %d (%s)\n",
	        file, line, expr, want, strerror(want), r, got, strerror(got));
	harness_die();
}

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond))                                             \
			harness_fail(__FILE__, __LINE__, #cond);         \
	} while (0)

#define CHECK_EQ(a, b)                                                   \
	do {                                                             \
		long long harness_a_ = (long long)(a);                   \
		long long harness_b_ = (long long)(b);                   \
		if (harness_a_ != harness_b_)                            \
			harness_fail_eq(__FILE__, __LINE__, #a " == " #b, \
			                harness_a_, harness_b_);         \
	} while (0)

/* call must return -1 (of any integer type) and set errno to err. */
#define CHECK_ERRNO(call, err)                                           \
	do {                                                             \
		errno = 0;                                               \
		long long harness_r_ = (long long)(call);                \
		int harness_e_ = errno;                                  \
		if (harness_r_ != -1 || harness_e_ != (err))             \
			harness_fail_errno(__FILE__, __LINE__, #call,     \
			                   harness_r_, harness_e_, (err)); \
	} while (0)

/* Print a formatted failure message and exit 1. */
#define FAILF(...)                                                       \
	do {                                                             \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);          \
		fprintf(stderr, __VA_ARGS__);                            \
		fputc('\n', stderr);                                     \
		harness_die();                                           \
	} while (0)

static inline void harness_pass(const char *name)
{
	printf("PASS %s\n", name);
	fflush(stdout);
}

static inline void harness_skip(const char *name, const char *why)
{
	printf("SKIP %s: %s\n", name, why);
	fflush(stdout);
}

#define PASS(name) harness_pass(name)
#define SKIP(name, why) harness_skip(name, why)

/* ---------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds, independent of the runtime. */
static inline int64_t harness_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep the calling thread (not only the goroutine) for ms. */
static inline void harness_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		; /* EINTR: the remaining time is in ts */
}

/* Whether the tests run under an emulator (a cross build's qemu-user):
 * timings there say nothing about the runtime. */
static inline bool harness_emulated(void)
{
	const char *e = getenv("GORT_TEST_EMULATOR");
	return e != NULL && *e != '\0';
}

/* A timeout in seconds scaled by GORT_TEST_TIMEOUT_MULTIPLIER (the build
 * sets it per sanitizer and for an emulator), else doubled in a
 * sanitizer build. */
static inline double harness_timeout(double seconds)
{
	const char *mult = getenv("GORT_TEST_TIMEOUT_MULTIPLIER");
	if (mult != NULL && atof(mult) > 0)
		return seconds * atof(mult);
	return HARNESS_SANITIZED ? seconds * 2 : seconds;
}

/* ---------------------------------------------------------------------
 * Children
 * ------------------------------------------------------------------- */

#define HARNESS_OUTPUT_MAX (64 * 1024)

struct child_result {
	bool exited;       /* exited normally; status holds the code */
	int status;        /* exit status, or -1 */
	int signal;        /* terminating signal, or 0 */
	bool timed_out;    /* killed by the harness after the timeout */
	size_t len;        /* bytes of output captured */
	char output[HARNESS_OUTPUT_MAX]; /* stderr of the child, NUL-ended */
};

/* Read fd until EOF or deadline; returns false on timeout. */
static inline bool harness_drain(int fd, struct child_result *res,
                                 int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - harness_now();
		if (left <= 0)
			return false;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ms = (int)(left / 1000000) + 1;
		int r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue; /* a signal; poll again with what is left */
		if (r <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return true;
		size_t room = sizeof(res->output) - 1 - res->len;
		size_t take = (size_t)n < room ? (size_t)n : room;
		memcpy(res->output + res->len, buf, take);
		res->len += take;
		res->output[res->len] = '\0';
	}
}

/* Wait for pid until deadline, killing it when the deadline passes. */
static inline void harness_reap(pid_t pid, struct child_result *res,
                                int64_t deadline)
{
	int st = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			FAILF("waitpid: %s", strerror(errno));
		if (harness_now() >= deadline) {
			res->timed_out = true;
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		harness_sleep_ms(5);
	}
	res->exited = WIFEXITED(st);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static inline void harness_collect(pid_t pid, int fd, double timeout_s,
                                   struct child_result *res)
{
	int64_t deadline = harness_now() + (int64_t)(timeout_s * 1e9);
	if (!harness_drain(fd, res, deadline))
		res->timed_out = true;
	close(fd);
	harness_reap(pid, res, res->timed_out ? harness_now() : deadline);
}

static inline void harness_result_init(struct child_result *res)
{
	memset(res, 0, sizeof(*res));
	res->status = -1;
}

/*
 * run_child_fn forks; the child runs fn(arg) with its stderr captured and
 * exits with fn's result. Waits at most timeout_s seconds. Call it only
 * while no runtime is running in this process (fork copies one thread).
 */
static inline void run_child_fn(int (*fn)(void *), void *arg,
                                double timeout_s, struct child_result *res)
{
	harness_result_init(res);
	fflush(stdout);
	fflush(stderr);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		FAILF("pipe2: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		FAILF("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		int rc = fn(arg);
		/* exit, not _exit: the sanitizers' end-of-process checks
		 * (LeakSanitizer above all) must run in the child too, and a
		 * leak then fails the case. */
		exit(rc);
	}
	close(fds[1]);
	harness_collect(pid, fds[0], timeout_s, res);
}

/*
 * harness_prog_path writes the path of helper program name into buf:
 * $GORT_TEST_PROG_DIR if set, else the GORT_TEST_PROG_DIR the build gave,
 * else a "prog" directory beside this executable.
 */
static inline void harness_prog_path(const char *name, char *buf,
                                     size_t size)
{
	const char *dir = getenv("GORT_TEST_PROG_DIR");
#ifdef GORT_TEST_PROG_DIR
	if (dir == NULL)
		dir = GORT_TEST_PROG_DIR;
#endif
	if (dir != NULL) {
		if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
			FAILF("helper program path too long");
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		FAILF("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	if (snprintf(buf, size, "%s/prog/%s", self, name) >= (int)size)
		FAILF("helper program path too long");
}

/*
 * harness_spawn spawns the NULL-ended argv (argv[0] is the program: a path
 * with a slash, else looked up in PATH) with its stderr captured, and
 * waits at most timeout_s seconds. res must be initialised.
 */
static inline void harness_spawn(char *const argv[], double timeout_s,
                                 struct child_result *res)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		FAILF("pipe2: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err != 0)
		FAILF("posix_spawn %s: %s", argv[0], strerror(err));
	harness_collect(pid, fds[0], timeout_s, res);
}

/* Spawn argv as harness_spawn does, under GORT_TEST_EMULATOR when a cross
 * build's programs need one (for example "qemu-aarch64 -L
 * /usr/aarch64-linux-gnu"), in front of argv. */
static inline void harness_spawn_emulated(char *argv[], double timeout_s,
                                          struct child_result *res)
{
	char emu[PATH_MAX];
	char *full[64];
	int nfull = 0;
	const char *e = getenv("GORT_TEST_EMULATOR");
	if (e && *e) {
		snprintf(emu, sizeof(emu), "%s", e);
		for (char *w = strtok(emu, " "); w && nfull < 16; w = strtok(NULL, " "))
			full[nfull++] = w;
	}
	for (int i = 0; argv[i] && nfull < 63; i++)
		full[nfull++] = argv[i];
	full[nfull] = NULL;
	harness_spawn(full, timeout_s, res);
}

/*
 * run_child_prog spawns helper program name with the NULL-ended argv
 * (argv[0] is overwritten with the program's path) and its stderr
 * captured, and waits at most timeout_s seconds.
 */
static inline void run_child_prog(const char *name, char *argv[],
                                  double timeout_s, struct child_result *res)
{
	harness_result_init(res);
	char path[PATH_MAX];
	harness_prog_path(name, path, sizeof(path));
	if (access(path, X_OK) != 0)
		FAILF("helper program %s: %s", path, strerror(errno));
	argv[0] = path;
	harness_spawn_emulated(argv, timeout_s, res);
}

/*
 * run_self runs this program again (under the emulator in a cross
 * build) with the NULL-ended argv (argv[0] is overwritten with its path)
 * and its stderr captured, and waits at most
 * timeout_s seconds: a fresh process, as a user's program is (a runtime
 * in a child forked from a forked child is not, and ThreadSanitizer
 * refuses new threads there).
 */
static inline void run_self(char *argv[], double timeout_s,
                            struct child_result *res)
{
	harness_result_init(res);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		FAILF("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	argv[0] = self;
	harness_spawn_emulated(argv, timeout_s, res);
}

/* Print what a child did, for failure messages. */
static inline void harness_describe(const char *what,
                                    const struct child_result *res)
{
	fprintf(stderr, "%s: exited=%d status=%d signal=%d timed_out=%d\n",
	        what, res->exited, res->status, res->signal, res->timed_out);
	if (res->len > 0)
		fprintf(stderr, "--- its stderr ---\n%s%s------------------\n",
		        res->output,
		        res->output[res->len - 1] == '\n' ? "" : "\n");
}

/*
 * harness_deadlocked says whether a child ended as Go's deadlock does:
 * exit status 2, "fatal error: all goroutines are asleep - deadlock!" and,
 * in the goroutine dump, the main goroutine waiting for reason wait
 * ("goroutine 1 [wait").
 */
static inline bool harness_deadlocked(const struct child_result *res,
                                      const char *wait)
{
	char header[128];
	snprintf(header, sizeof(header), "goroutine 1 [%s", wait);
	return !res->timed_out && res->exited && res->status == 2 &&
	       strstr(res->output, "fatal error: all goroutines are asleep - "
	                           "deadlock!") != NULL &&
	       strstr(res->output, header) != NULL;
}

/*
 * must_deadlock runs this program again as "<self> --deadlock MODE" (its
 * main() then runs a main goroutine that blocks forever) and fails unless
 * it ends as Go's deadlock with the main goroutine waiting for reason wait;
 * what says where main blocked, for the failure message.
 */
static inline void must_deadlock(const char *mode, const char *wait,
                                 const char *what)
{
	static struct child_result res;
	char *argv[] = {NULL, (char *)"--deadlock", (char *)mode, NULL};
	run_self(argv, harness_timeout(10), &res);
	if (!harness_deadlocked(&res, wait)) {
		harness_describe(what, &res);
		FAILF("main blocked forever in %s: want exit status 2, Go's "
		      "deadlock message and \"goroutine 1 [%s\" in the dump",
		      what, wait);
	}
}

/* ---------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------- */

/* harness_case_trampoline runs a void(void) case as a child function. */
static inline int harness_case_trampoline(void *fn)
{
	void (*body)(void);
	memcpy(&body, &fn, sizeof(body));
	body();
	return 0;
}

/* Whether the case name is to run: GORT_TEST_CASES, when set, names the
 * cases to run (separated by spaces or commas); the others are skipped,
 * so that one case can be run again and again on its own. */
static inline bool harness_case_wanted(const char *name)
{
	const char *list = getenv("GORT_TEST_CASES");
	if (!list || !*list)
		return true;
	size_t len = strlen(name);
	for (const char *s = list; *s;) {
		size_t n = strcspn(s, " ,");
		if (n == len && strncmp(s, name, len) == 0)
			return true;
		s += n + (s[n] != 0);
	}
	return false;
}

/*
 * run_case runs fn() in a forked child with a timeout of timeout_s
 * seconds (scaled by harness_timeout). The child's stderr is replayed.
 * Exits 1 if the case fails, crashes or hangs. Call it only while no
 * runtime runs in this process. A case GORT_TEST_CASES leaves out
 * is skipped.
 */
static inline void run_case(const char *name, void (*fn)(void),
                            double timeout_s)
{
	static struct child_result res;
	if (!harness_case_wanted(name))
		return;
	void *arg;
	memcpy(&arg, &fn, sizeof(arg));
	double limit = harness_timeout(timeout_s);
	int64_t t0 = harness_now();
	run_child_fn(harness_case_trampoline, arg, limit, &res);
	double secs = (double)(harness_now() - t0) / 1e9;
	fputs(res.output, stderr);
	if (res.timed_out)
		FAILF("case %s: timed out after %.1f s", name, limit);
	if (!res.exited || res.status != 0)
		FAILF("case %s: failed (status %d, signal %d)", name,
		      res.status, res.signal);
	printf("ok   %s (%.2f s)\n", name, secs);
	fflush(stdout);
}

#define RUN_CASE(fn, timeout_s) run_case(#fn, fn, timeout_s)

/* A named case, for run_named: with arguments, a test runs only the
 * cases named on its command line. */
struct harness_case {
	const char *name;
	void (*fn)(void);
};

static inline void run_named(int argc, char **argv, const struct harness_case *cases,
                             size_t n, double timeout_s)
{
	for (size_t i = 0; i < n; i++) {
		bool want = argc < 2;
		for (int a = 1; a < argc; a++)
			want |= strcmp(argv[a], cases[i].name) == 0;
		if (want)
			run_case(cases[i].name, cases[i].fn, timeout_s);
	}
}

/* ---------------------------------------------------------------------
 * Misc
 * ------------------------------------------------------------------- */

/* strstr for a "goroutine N" header: N followed by a non-digit. */
static inline bool harness_has_goroutine(const char *out, long long id)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "goroutine %lld", id);
	size_t n = strlen(pat);
	for (const char *p = strstr(out, pat); p != NULL;
	     p = strstr(p + 1, pat)) {
		if (p[n] < '0' || p[n] > '9')
			return true;
	}
	return false;
}

#endif /* GORT_TEST_HARNESS_H */
