/*
 * os_linux.c - what the runtime needs from Linux: futexes, the monotonic
 * clock, thread ids, raw memory, and the number of usable CPUs (the
 * affinity mask, capped by a cgroup CPU quota as Go 1.25 does, but
 * without Go's floor of 2).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

/* The clock is read in the vDSO, where the preemption signal may stop a
 * goroutine (preempt.c, "Safe points"). The read counts as a runtime
 * lock held: runtime code that reads the clock outside a gort_* bracket,
 * holding a lock of its own (the flight recorder's dump holds the
 * tracer's), must not be parked there. */
int64_t nanotime(void)
{
	struct timespec ts;
	mlocks_raise();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	mlocks_lower();
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep while *addr == val, at most ns nanoseconds (ns < 0: no limit).
 * Spurious wake-ups are fine: every caller re-checks its condition. */
void futexsleep(_Atomic uint32_t *addr, uint32_t val, int64_t ns)
{
	struct timespec ts, *tsp = NULL;
	if (ns >= 0) {
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		tsp = &ts;
	}
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, tsp, NULL, 0);
}

void futexwakeup(_Atomic uint32_t *addr, uint32_t cnt)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, cnt, NULL, NULL, 0);
}

/* The kernel's page size: 4 KiB on x86-64, 4, 16 or 64 KiB on arm64.
 * Stack sizes are rounded to it, so that every guard and every range
 * given to madvise starts on a page boundary. */
size_t physpagesize(void)
{
	static size_t cached;
	size_t n = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (n == 0) {
		long v = sysconf(_SC_PAGESIZE);
		n = v > 0 ? (size_t)v : 4096;
		__atomic_store_n(&cached, n, __ATOMIC_RELAXED);
	}
	return n;
}

void osyield(void)
{
	sched_yield();
}

void usleep_ns(int64_t ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* errno through a call the compiler cannot see into: its address is
 * per thread, and a goroutine may resume on another thread after any
 * switch, while the compiler assumes __errno_location() never changes
 * within a function. */
__attribute__((noinline)) int geterrno(void)
{
	__asm__ volatile("" ::: "memory");
	return errno;
}

__attribute__((noinline)) void seterrno(int v)
{
	__asm__ volatile("" ::: "memory");
	errno = v;
}

/* gort.h's errno. The empty asm hides where p comes from, so that even
 * a compiler that sees this body (link-time optimisation) looks errno
 * up again at each use. */
GORT_API int *gort_errno_location(void)
{
	int *p = &errno;
	__asm__ volatile("" : "+r"(p));
	return p;
}

int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

void *sysalloc(size_t n)
{
	void *v = mmap(NULL, n, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return v == MAP_FAILED ? NULL : v;
}

void sysfree(void *v, size_t n)
{
	if (v)
		munmap(v, n);
}

static int32_t affinity_count(void)
{
	for (size_t ncpu = 1024; ncpu <= 1u << 20; ncpu *= 2) {
		cpu_set_t *set = CPU_ALLOC(ncpu);
		if (!set)
			return 1;
		size_t sz = CPU_ALLOC_SIZE(ncpu);
		if (sched_getaffinity(0, sz, set) == 0) {
			int32_t n = CPU_COUNT_S(sz, set);
			CPU_FREE(set);
			return n > 0 ? n : 1;
		}
		CPU_FREE(set);
		if (errno != EINVAL)
			break;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int32_t)n : 1;
}

/* CPUs a cgroup quota allows, rounded up: quota/period in cgroup v2's
 * "cpu.max" ("max" = none) or v1's cfs files. 0 = no limit found. */
static int32_t quota_cpus(long long quota, long long period)
{
	if (quota <= 0 || period <= 0)
		return 0;
	long long n = (quota + period - 1) / period;
	return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

static int32_t cgroup_v2_limit(const char *dir)
{
	char path[2 * PATH_MAX];
	int32_t best = 0;
	/* Every ancestor's limit applies; take the smallest. */
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "%s", dir);
	for (;;) {
		snprintf(path, sizeof path, "/sys/fs/cgroup%s/cpu.max",
		         strcmp(rel, "/") == 0 ? "" : rel);
		FILE *f = fopen(path, "r");
		if (f) {
			char q[32] = "";
			long long period = 0;
			if (fscanf(f, "%31s %lld", q, &period) == 2 && strcmp(q, "max") != 0) {
				int32_t n = quota_cpus(atoll(q), period);
				if (n > 0 && (best == 0 || n < best))
					best = n;
			}
			fclose(f);
		}
		char *slash = strrchr(rel, '/');
		if (!slash || slash == rel) {
			if (strcmp(rel, "/") == 0)
				break;
			snprintf(rel, sizeof rel, "/");
			continue;
		}
		*slash = '\0';
	}
	return best;
}

static long long read_ll(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -1;
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int32_t cgroup_v1_limit(const char *dir)
{
	static const char *const roots[] = {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"};
	char qp[2 * PATH_MAX + 64], pp[2 * PATH_MAX + 64];
	for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
		snprintf(qp, sizeof qp, "%s%s/cpu.cfs_quota_us", roots[i], dir);
		snprintf(pp, sizeof pp, "%s%s/cpu.cfs_period_us", roots[i], dir);
		int32_t n = quota_cpus(read_ll(qp), read_ll(pp));
		if (n > 0)
			return n;
	}
	return 0;
}

static int32_t cgroup_limit(void)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return 0;
	char line[PATH_MAX + 64];
	int32_t limit = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		/* "hierarchy-id:controllers:path" */
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrl = c1 + 1, *dir = c2 + 1;
		int32_t n = 0;
		if (strncmp(line, "0", 1) == 0 && *ctrl == '\0')
			n = cgroup_v2_limit(dir);
		else if (strstr(ctrl, "cpu") && !strstr(ctrl, "cpuset"))
			n = cgroup_v1_limit(dir);
		if (n > 0 && (limit == 0 || n < limit))
			limit = n;
	}
	fclose(f);
	return limit;
}

int32_t getproccount(void)
{
	int32_t n = affinity_count();
	int32_t q = cgroup_limit();
	if (q > 0 && q < n)
		n = q;
	return n < 1 ? 1 : n;
}
