/*
 * preempt_test proves preemption (Go's sysmon time slice of 10 ms, the
 * check at runtime calls, and asynchronous preemption by SIGURG):
 *  - at GOMAXPROCS=1 a goroutine spinning in a loop without any call
 *    does not keep the main goroutine from running: main yields, gets
 *    the P back, and stops it;
 *  - a loop that only reads the clock (the vDSO's code) is stopped by
 *    the signal too, not only detached from its P;
 *  - with GODEBUG=asyncpreemptoff=1 the same spinner keeps the P: main
 *    runs again only after the spinner stopped by itself (300 ms);
 *  - registers survive preemption: goroutines computing in call-free
 *    loops with doubles, SSE2/NEON vectors, AVX2 and AVX-512 vectors
 *    (where the CPU has them: the upper halves live only in the xsave
 *    state) and integer registers, sharing
 *    one P for seconds and preempted hundreds of times (their run
 *    intervals overlap and they see each other run in between), get
 *    bit-for-bit the results the same code computes on the main thread
 *    before the runtime starts;
 *  - goroutines calling malloc/free and snprintf in loops alongside a
 *    call-free spinner, at GOMAXPROCS=1, never deadlock (they are not
 *    stopped inside the C library) and still share the P;
 *  - gort_preempt_off/on: inside the region a spinning goroutine is not
 *    interleaved with another goroutine of its P for at least the first
 *    20 ms (nesting counted), and after gort_preempt_on it is preempted
 *    again; 255 nested regions are counted, a 256th is a fatal error;
 *    a region begun in a bracketed call, its goroutine coming back on a
 *    P that sat idle for three slices meanwhile, has its two slices too
 *    (not the P's last goroutine's, long over);
 *  - runtime calls are preemption points: with asyncpreemptoff=1 a
 *    goroutine that spins calling gort_go lets main run at GOMAXPROCS=1;
 *  - errno survives stops by signal: goroutines moved between threads
 *    always read back the errno they set, also when its location was
 *    looked up before the signal and loaded through after;
 *  - a plain nanosleep or poll of a goroutine (no syscall hand-off) is
 *    neither cut short nor failed with EINTR by the preemption signal;
 *  - stopping the world (a GOMAXPROCS change) does not wait for
 *    goroutines in plain blocking calls (a read of an empty pipe, a
 *    400 ms nanosleep): their Ps are detached, the read still gets its
 *    byte and the sleep lasts its whole time.
 *
 * Sanitizer builds have no signal preemption: the cases that need it are
 * skipped there; the asyncpreemptoff and cooperative cases still run.
 */
#include "gort_util.h"

#include <sys/auxv.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_SIMD 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#define HAVE_SIMD 1
#else
#define HAVE_SIMD 0
#endif

static bool need_signals(const char *name)
{
	if (HARNESS_SANITIZED) {
		SKIP(name, "no signal preemption in sanitizer builds");
		return false;
	}
	return true;
}

/* The cases of plain blocking calls need signals, and preempt.c's view
 * of a blocked thread (/proc/<tid>/syscall), which under the emulator
 * shows the emulator's own call. */
static bool need_syscall_view(const char *name)
{
	if (!need_signals(name))
		return false;
	if (harness_emulated()) {
		SKIP(name, "the emulator's /proc shows its own system calls");
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * A call-free spinner at GOMAXPROCS=1.
 * ------------------------------------------------------------------- */

static atomic_bool spin_stop;
static atomic_bool spin_started;
static atomic_bool spin_gave_up;
static atomic_bool spin_done;
static int64_t spin_end_ns;
static gort_waitgroup spin_wg;

/* Spins until spin_stop or limit_ns; the clock is read only every 2^20
 * rounds (clock_gettime is a vDSO call, not a runtime call). */
static void spinner(void *arg)
{
	int64_t limit_ns = (int64_t)(intptr_t)arg;
	int64_t t0 = harness_now();
	atomic_store(&spin_started, true);
	for (;;) {
		for (unsigned i = 0; i < (1u << 20); i++)
			if (atomic_load_explicit(&spin_stop, memory_order_relaxed))
				goto out;
		if (harness_now() - t0 > limit_ns) {
			atomic_store(&spin_gave_up, true);
			break;
		}
	}
out:
	spin_end_ns = harness_now();
	atomic_store(&spin_done, true);
	gort_wg_done(&spin_wg);
}

static int tight_loop_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 1);
	CHECK_EQ(gort_wg_add(&spin_wg, 1), 0);
	CHECK(gort_go(spinner, (void *)(intptr_t)5000000000LL) > 1);
	for (int i = 0; i < 5 || !atomic_load(&spin_started); i++) {
		if (i >= 10)
			FAILF("the spinner never started");
		gort_gosched();
	}
	bool was_done = atomic_load(&spin_done);
	atomic_store(&spin_stop, true);
	CHECK_EQ(gort_wg_wait(&spin_wg), 0);
	if (was_done || atomic_load(&spin_gave_up))
		FAILF("main did not run while the spinner spun: it gave up "
		      "after 5 s without being preempted");
	return 0;
}

static void tight_loop_preempted(void)
{
	if (!need_signals("tight_loop_preempted"))
		return;
	gort_gomaxprocs(1);
	int64_t t0 = harness_now();
	CHECK_EQ(gort_main(tight_loop_main, NULL), 0);
	printf("     main ran 5 times beside the spinner in %.3f s\n",
	       (double)(harness_now() - t0) / 1e9);
}

/* A loop that only watches the clock spends its time in the vDSO's
 * clock_gettime, which the handler must count as safe: stopped there by
 * the signal, not only detached from its P by the hand-off. */
static atomic_bool clock_started, clock_stop;

static void clock_watcher(void *arg)
{
	(void)arg;
	atomic_store(&clock_started, true);
	int64_t t0 = harness_now();
	while (!atomic_load_explicit(&clock_stop, memory_order_relaxed) &&
	       harness_now() - t0 < 2000 * MS)
		;
	gort_wg_done(&spin_wg);
}

static int clock_loop_main(void *arg)
{
	(void)arg;
	gort_stats before, after;
	CHECK_EQ(gort_read_stats(&before), 0);
	CHECK_EQ(gort_wg_add(&spin_wg, 1), 0);
	CHECK(gort_go(clock_watcher, NULL) > 1);
	while (!atomic_load(&clock_started))
		gort_gosched();
	for (int i = 0; i < 5; i++)
		gort_gosched();
	atomic_store(&clock_stop, true);
	CHECK_EQ(gort_wg_wait(&spin_wg), 0);
	CHECK_EQ(gort_read_stats(&after), 0);
	uint64_t async = after.preempt_async - before.preempt_async;
	uint64_t handoffs = after.handoffs - before.handoffs;
	printf("     %llu stops by signal, %llu hand-offs\n", (unsigned long long)async,
	       (unsigned long long)handoffs);
	if (async == 0)
		FAILF("a loop reading the clock was never stopped by signal "
		      "(%llu hand-offs)", (unsigned long long)handoffs);
	return 0;
}

static void clock_loop_preempted(void)
{
	if (!need_signals("clock_loop_preempted"))
		return;
	if (getauxval(AT_SYSINFO_EHDR) == 0) {
		SKIP("clock_loop_preempted", "no vDSO: libc reads the clock by a system call");
		return;
	}
	run_main(clock_loop_main, NULL, 1);
}

/* With signal preemption off, nothing interrupts the spinner. */
static int asyncoff_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&spin_wg, 1), 0);
	CHECK(gort_go(spinner, (void *)(intptr_t)300000000LL) > 1);
	/* The first yield may come straight back (the every-61st-tick look
	 * at the global queue finds this goroutine); once the spinner has
	 * started, this goroutine can run again only after it stopped. */
	int64_t t0, back;
	int yields = 0;
	do {
		t0 = harness_now();
		gort_gosched();
		back = harness_now();
	} while (!atomic_load(&spin_started) && ++yields < 10);
	CHECK(atomic_load(&spin_started));
	if (!atomic_load(&spin_done))
		FAILF("main ran again %.1f ms after yielding, while the "
		      "spinner still spun, with asyncpreemptoff=1",
		      (double)(back - t0) / 1e6);
	CHECK(atomic_load(&spin_gave_up));
	CHECK(back >= spin_end_ns);
	CHECK(back - t0 >= 300000000LL);
	CHECK_EQ(gort_wg_wait(&spin_wg), 0);
	return 0;
}

static void asyncpreemptoff_not_preempted(void)
{
	CHECK_EQ(setenv("GODEBUG", "asyncpreemptoff=1", 1), 0);
	run_main(asyncoff_main, NULL, 1);
}

/* ---------------------------------------------------------------------
 * Registers survive preemption.
 * ------------------------------------------------------------------- */

enum { K_DOUBLE, K_INT, K_SIMD_D, K_SIMD_I, K_AVX2, K_AVX512, NKERNELS };

struct result {
	uint64_t w[8];
};

static atomic_int last_runner = -1;
#define MARK_EVERY (1u << 14)

/* The thread pointer, read without a call (and not hoisted out of a
 * loop, as the address of a __thread variable could be). */
static inline uintptr_t thread_pointer(void)
{
	uintptr_t tp = 0;
#if defined(__x86_64__)
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
#endif
	return tp;
}

struct marks {
	long seen;  /* times it found that another kernel ran meanwhile */
	long moved; /* times it found itself on another thread */
};

/* Each kernel is one call-free loop; every MARK_EVERY rounds it notes
 * whether another kernel ran since its last look, and whether it now
 * runs on another thread. */
#define MARK(me, seen, tp, moved)                                            \
	do {                                                                 \
		if (atomic_load_explicit(&last_runner, memory_order_relaxed) != \
		    (me)) {                                                  \
			atomic_store_explicit(&last_runner, (me),           \
			                      memory_order_relaxed);        \
			(seen)++;                                            \
		}                                                            \
		uintptr_t tp_ = thread_pointer();                            \
		if (tp_ != (tp)) {                                           \
			(tp) = tp_;                                          \
			(moved)++;                                           \
		}                                                            \
	} while (0)

/* The loop of every kernel: n rounds (i) of its call-free body, noting
 * every MARK_EVERY rounds (MARK) what happened meanwhile; the counts go
 * to mk. */
#define KERNEL_LOOP(n, me, mk, ...)                                          \
	do {                                                                 \
		long seen_ = 0, moved_ = 0;                                  \
		uintptr_t tp0_ = thread_pointer();                           \
		for (long i = 0; i < (n); i++) {                             \
			__VA_ARGS__                                          \
			if ((i & (MARK_EVERY - 1)) == 0)                     \
				MARK(me, seen_, tp0_, moved_);               \
		}                                                            \
		(mk)->seen = seen_;                                          \
		(mk)->moved = moved_;                                        \
	} while (0)

__attribute__((noinline)) static void k_double(long n, int me,
                                               struct result *r, struct marks *mk)
{
	double x0 = 1.0, x1 = 2.0, x2 = 3.0, x3 = 4.0, x4 = 5.0, x5 = 6.0;
	KERNEL_LOOP(n, me, mk,
		x0 = x0 * 1.0000001 + 0.5;
		x1 = x1 * 0.9999999 + 0.25;
		x2 = x2 * 1.0000002 - 0.125;
		x3 = x3 * 0.9999998 + x0 * 1e-9;
		x4 = x4 + x1 * 1e-7 - x2 * 1e-8;
		x5 = x5 * 0.5 + x3 * 0.5 + 1.0;
	);
	double out[6] = {x0, x1, x2, x3, x4, x5};
	memcpy(r->w, out, sizeof out);
}

__attribute__((noinline)) static void k_int(long n, int me,
                                            struct result *r, struct marks *mk)
{
	uint64_t a = 0x9e3779b97f4a7c15ull, b = 1, c = 2, d = 3, e = 5, f = 8;
	uint64_t g = 13, h = 21;
	KERNEL_LOOP(n, me, mk,
		a ^= a << 13;
		a ^= a >> 7;
		a ^= a << 17;
		b = b * 6364136223846793005ull + 1442695040888963407ull;
		c += a ^ b;
		d = (d << 5 | d >> 59) ^ c;
		e += d * 3;
		f ^= e + (uint64_t)i;
		g = g * 31 + f;
		h -= g ^ a;
	);
	uint64_t out[8] = {a, b, c, d, e, f, g, h};
	memcpy(r->w, out, sizeof out);
}

#if defined(__x86_64__)
__attribute__((noinline)) static void k_simd_d(long n, int me,
                                               struct result *r, struct marks *mk)
{
	__m128d v0 = _mm_set_pd(1.0, 2.0), v1 = _mm_set_pd(3.0, 4.0);
	__m128d v2 = _mm_set_pd(5.0, 6.0), v3 = _mm_set_pd(7.0, 8.0);
	const __m128d k0 = _mm_set_pd(1.0000001, 0.9999999);
	const __m128d k1 = _mm_set_pd(0.5, 0.25);
	const __m128d k2 = _mm_set_pd(1e-9, 1e-8);
	KERNEL_LOOP(n, me, mk,
		v0 = _mm_add_pd(_mm_mul_pd(v0, k0), k1);
		v1 = _mm_sub_pd(_mm_mul_pd(v1, k0), k1);
		v2 = _mm_add_pd(_mm_mul_pd(v2, k0), _mm_mul_pd(v0, k2));
		v3 = _mm_add_pd(_mm_mul_pd(v3, k1), _mm_add_pd(v1, v2));
	);
	_mm_storeu_pd((double *)&r->w[0], v0);
	_mm_storeu_pd((double *)&r->w[2], v1);
	_mm_storeu_pd((double *)&r->w[4], v2);
	_mm_storeu_pd((double *)&r->w[6], v3);
}

__attribute__((noinline)) static void k_simd_i(long n, int me,
                                               struct result *r, struct marks *mk)
{
	__m128i v0 = _mm_set_epi32(1, 2, 3, 4), v1 = _mm_set_epi32(5, 6, 7, 8);
	__m128i v2 = _mm_set_epi32(9, 10, 11, 12);
	__m128i v3 = _mm_set_epi32(13, 14, 15, 16);
	const __m128i k = _mm_set_epi32(0x9e3779b9, 0x7f4a7c15, 0x85ebca6b,
	                                0xc2b2ae35);
	KERNEL_LOOP(n, me, mk,
		v0 = _mm_add_epi32(v0, k);
		v0 = _mm_xor_si128(v0, _mm_slli_epi32(v0, 3));
		v1 = _mm_add_epi64(v1, _mm_srli_epi64(v0, 7));
		v2 = _mm_xor_si128(v2, _mm_shuffle_epi32(v1, 0x1b));
		v3 = _mm_sub_epi16(v3, _mm_or_si128(v2, v0));
	);
	_mm_storeu_si128((__m128i *)&r->w[0], v0);
	_mm_storeu_si128((__m128i *)&r->w[2], v1);
	_mm_storeu_si128((__m128i *)&r->w[4], v2);
	_mm_storeu_si128((__m128i *)&r->w[6], v3);
}

/* 256- and 512-bit kernels: their upper lanes are saved only by the
 * trampoline's xsave. Folded to 8 words for the comparison. */
__attribute__((noinline, target("avx2"))) static void k_avx2(long n, int me,
                                               struct result *r, struct marks *mk)
{
	__m256d v0 = _mm256_set_pd(1, 2, 3, 4), v1 = _mm256_set_pd(5, 6, 7, 8);
	__m256d v2 = _mm256_set_pd(9, 10, 11, 12), v3 = _mm256_set_pd(13, 14, 15, 16);
	const __m256d k0 = _mm256_set_pd(1.0000001, 0.9999999, 1.0000002, 0.9999998);
	const __m256d k1 = _mm256_set_pd(0.5, 0.25, 0.125, 0.0625);
	KERNEL_LOOP(n, me, mk,
		v0 = _mm256_add_pd(_mm256_mul_pd(v0, k0), k1);
		v1 = _mm256_sub_pd(_mm256_mul_pd(v1, k0), k1);
		v2 = _mm256_add_pd(_mm256_mul_pd(v2, k1), _mm256_mul_pd(v0, k1));
		v3 = _mm256_add_pd(_mm256_mul_pd(v3, k1), _mm256_add_pd(v1, v2));
	);
	__m256i a = _mm256_xor_si256(_mm256_castpd_si256(v0), _mm256_castpd_si256(v2));
	__m256i b = _mm256_xor_si256(_mm256_castpd_si256(v1), _mm256_castpd_si256(v3));
	_mm256_storeu_si256((__m256i *)&r->w[0], a);
	_mm256_storeu_si256((__m256i *)&r->w[4], b);
}

__attribute__((noinline, target("avx512f"))) static void k_avx512(long n, int me,
                                               struct result *r, struct marks *mk)
{
	__m512d v0 = _mm512_set_pd(1, 2, 3, 4, 5, 6, 7, 8);
	__m512d v1 = _mm512_set_pd(9, 10, 11, 12, 13, 14, 15, 16);
	__m512d v2 = _mm512_set1_pd(17), v3 = _mm512_set1_pd(18);
	const __m512d k0 = _mm512_set_pd(1.0000001, 0.9999999, 1.0000002, 0.9999998,
	                                 1.0000003, 0.9999997, 1.0000004, 0.9999996);
	const __m512d k1 = _mm512_set1_pd(0.5);
	KERNEL_LOOP(n, me, mk,
		v0 = _mm512_add_pd(_mm512_mul_pd(v0, k0), k1);
		v1 = _mm512_sub_pd(_mm512_mul_pd(v1, k0), k1);
		v2 = _mm512_add_pd(_mm512_mul_pd(v2, k1), _mm512_mul_pd(v0, k1));
		v3 = _mm512_add_pd(_mm512_mul_pd(v3, k1), _mm512_add_pd(v1, v2));
	);
	__m512i a = _mm512_xor_si512(_mm512_castpd_si512(v0), _mm512_castpd_si512(v1));
	a = _mm512_xor_si512(a, _mm512_castpd_si512(v2));
	a = _mm512_xor_si512(a, _mm512_castpd_si512(v3));
	_mm512_storeu_si512((void *)&r->w[0], a);
}
#elif defined(__aarch64__)
__attribute__((noinline)) static void k_simd_d(long n, int me,
                                               struct result *r, struct marks *mk)
{
	const double init[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const double kk[6] = {1.0000001, 0.9999999, 0.5, 0.25, 1e-9, 1e-8};
	float64x2_t v0 = vld1q_f64(init), v1 = vld1q_f64(init + 2);
	float64x2_t v2 = vld1q_f64(init + 4), v3 = vld1q_f64(init + 6);
	const float64x2_t k0 = vld1q_f64(kk), k1 = vld1q_f64(kk + 2);
	const float64x2_t k2 = vld1q_f64(kk + 4);
	KERNEL_LOOP(n, me, mk,
		v0 = vaddq_f64(vmulq_f64(v0, k0), k1);
		v1 = vsubq_f64(vmulq_f64(v1, k0), k1);
		v2 = vaddq_f64(vmulq_f64(v2, k0), vmulq_f64(v0, k2));
		v3 = vaddq_f64(vmulq_f64(v3, k1), vaddq_f64(v1, v2));
	);
	vst1q_f64((double *)&r->w[0], v0);
	vst1q_f64((double *)&r->w[2], v1);
	vst1q_f64((double *)&r->w[4], v2);
	vst1q_f64((double *)&r->w[6], v3);
}

__attribute__((noinline)) static void k_simd_i(long n, int me,
                                               struct result *r, struct marks *mk)
{
	const uint32_t init[16] = {1, 2, 3, 4, 5, 6, 7, 8,
	                           9, 10, 11, 12, 13, 14, 15, 16};
	const uint32_t kk[4] = {0x9e3779b9, 0x7f4a7c15, 0x85ebca6b, 0xc2b2ae35};
	uint32x4_t v0 = vld1q_u32(init), v1 = vld1q_u32(init + 4);
	uint32x4_t v2 = vld1q_u32(init + 8), v3 = vld1q_u32(init + 12);
	const uint32x4_t k = vld1q_u32(kk);
	KERNEL_LOOP(n, me, mk,
		v0 = vaddq_u32(v0, k);
		v0 = veorq_u32(v0, vshlq_n_u32(v0, 3));
		v1 = vreinterpretq_u32_u64(vaddq_u64(vreinterpretq_u64_u32(v1),
		        vshrq_n_u64(vreinterpretq_u64_u32(v0), 7)));
		v2 = veorq_u32(v2, vrev64q_u32(v1));
		v3 = vreinterpretq_u32_u16(vsubq_u16(vreinterpretq_u16_u32(v3),
		        vreinterpretq_u16_u32(vorrq_u32(v2, v0))));
	);
	vst1q_u32((uint32_t *)&r->w[0], v0);
	vst1q_u32((uint32_t *)&r->w[2], v1);
	vst1q_u32((uint32_t *)&r->w[4], v2);
	vst1q_u32((uint32_t *)&r->w[6], v3);
}
#endif

typedef void (*kernel_fn)(long, int, struct result *, struct marks *);

static kernel_fn kernel(int k)
{
	switch (k) {
	case K_DOUBLE: return k_double;
	case K_INT: return k_int;
#if HAVE_SIMD
	case K_SIMD_D: return k_simd_d;
	case K_SIMD_I: return k_simd_i;
#endif
#if defined(__x86_64__)
	case K_AVX2: return __builtin_cpu_supports("avx2") ? k_avx2 : NULL;
	case K_AVX512: return __builtin_cpu_supports("avx512f") ? k_avx512 : NULL;
#endif
	default: return NULL;
	}
}

static const char *const kernel_names[NKERNELS] = {"double", "int", "simd-double",
                                                   "simd-int", "avx2", "avx512"};
static long iters[NKERNELS];
static struct result want[NKERNELS], got[NKERNELS];
static struct marks marks[NKERNELS];
static int64_t k_start[NKERNELS], k_end[NKERNELS];
static gort_waitgroup k_wg;
static gort_stats k_stats;

static void kernel_goroutine(void *arg)
{
	int k = (int)(intptr_t)arg;
	k_start[k] = harness_now();
	kernel(k)(iters[k], k, &got[k], &marks[k]);
	k_end[k] = harness_now();
	gort_wg_done(&k_wg);
}

static int kernels_main(void *arg)
{
	CHECK_EQ(gort_gomaxprocs(0), (int)(intptr_t)arg);
	int n = 0;
	for (int k = 0; k < NKERNELS; k++)
		if (kernel(k))
			n++;
	CHECK_EQ(gort_wg_add(&k_wg, n), 0);
	for (int k = 0; k < NKERNELS; k++)
		if (kernel(k))
			CHECK(gort_go(kernel_goroutine, (void *)(intptr_t)k) > 1);
	CHECK_EQ(gort_wg_wait(&k_wg), 0);
	CHECK_EQ(gort_read_stats(&k_stats), 0);
	return 0;
}

/* Size each loop to about ms_each on this machine, from the fastest of
 * a few short calibration runs (one run of a few ms, descheduled once on
 * a loaded machine, made a loop of 15 ms: it ended within its first time
 * slice, and the check below took that for no preemption), then compute
 * the reference on this thread. */
static void kernels_reference(double ms_each)
{
	double total_ms = 0;
	for (int k = 0; k < NKERNELS; k++) {
		if (!kernel(k))
			continue;
		struct result tmp;
		struct marks dummy;
		long n = 1 << 20;
		int64_t dt = INT64_MAX;
		for (int i = 0; i < 5; i++) {
			int64_t t0 = harness_now();
			kernel(k)(n, 100 + k, &tmp, &dummy);
			int64_t d = harness_now() - t0;
			if (d < dt)
				dt = d > 0 ? d : 1;
		}
		double per = (double)dt / (double)n;
		iters[k] = (long)(ms_each * 1e6 / per);
		if (iters[k] < (1L << 22))
			iters[k] = 1L << 22;
		if (iters[k] > (1L << 32))
			iters[k] = 1L << 32;
		int64_t t0 = harness_now();
		kernel(k)(iters[k], 100 + k, &want[k], &dummy);
		total_ms += (double)(harness_now() - t0) / 1e6;
	}
	printf("     reference: %.0f ms on the main thread\n", total_ms);
}

static void kernels_check(int procs)
{
	memset(got, 0, sizeof got);
	memset(marks, 0, sizeof marks);
	atomic_store(&last_runner, -1);
	gort_gomaxprocs(procs);
	int64_t t0 = harness_now();
	CHECK_EQ(gort_main(kernels_main, (void *)(intptr_t)procs), 0);
	printf("     GOMAXPROCS=%d: %.0f ms as goroutines, %llu preemptions by signal, "
	       "%llu at a runtime call, %llu hand-offs\n", procs,
	       (double)(harness_now() - t0) / 1e6, (unsigned long long)k_stats.preempt_async,
	       (unsigned long long)k_stats.preempt_coop, (unsigned long long)k_stats.handoffs);

	long switches = 0, moved = 0;
	for (int k = 0; k < NKERNELS; k++) {
		if (!kernel(k))
			continue;
		printf("     %-11s %ld iterations in %.0f ms, saw others run %ld times, "
		       "changed threads %ld times\n", kernel_names[k], iters[k],
		       (double)(k_end[k] - k_start[k]) / 1e6, marks[k].seen, marks[k].moved);
		switches += marks[k].seen;
		moved += marks[k].moved;
		if (memcmp(&want[k], &got[k], sizeof want[k]) != 0) {
			fprintf(stderr, "%s: result differs after preemption "
			        "(GOMAXPROCS=%d)\n", kernel_names[k], procs);
			for (int i = 0; i < 8; i++)
				fprintf(stderr, "  word %d: want %016llx got %016llx\n",
				        i, (unsigned long long)want[k].w[i],
				        (unsigned long long)got[k].w[i]);
			harness_die();
		}
	}
	/* More kernels than Ps: each started before every other one ended
	 * only if they were preempted. */
	for (int a = 0; a < NKERNELS; a++) {
		for (int b = 0; b < NKERNELS; b++) {
			if (a == b || !kernel(a) || !kernel(b))
				continue;
			if (k_start[a] >= k_end[b])
				FAILF("%s started %.1f ms after %s ended: no "
				      "preemption at GOMAXPROCS=%d",
				      kernel_names[a],
				      (double)(k_start[a] - k_end[b]) / 1e6,
				      kernel_names[b], procs);
		}
	}
	/* About one switch per 10 ms slice; ask for far fewer. */
	if (switches < 20)
		FAILF("only %ld switches between the kernels seen", switches);
	/* With two Ms taking preempted goroutines from the global queue,
	 * they resume on the other thread too: the kernel's saved frame
	 * must come back whole there. */
	if (procs > 1 && moved == 0)
		FAILF("no kernel ever resumed on another thread at "
		      "GOMAXPROCS=%d", procs);
}

static void registers_survive(void)
{
	if (!need_signals("registers_survive"))
		return;
	kernels_reference(300);
	kernels_check(1);
	kernels_check(2);
}

/* ---------------------------------------------------------------------
 * malloc and snprintf beside preemption.
 * ------------------------------------------------------------------- */

#define LIBC_GOROUTINES 3

static atomic_bool libc_stop;
static int64_t libc_first[LIBC_GOROUTINES + 1];
static long libc_iters[LIBC_GOROUTINES];
static gort_waitgroup libc_wg;

static void libc_goroutine(void *arg)
{
	int me = (int)(intptr_t)arg;
	libc_first[me] = harness_now();
	long n = 0;
	unsigned sum = 0;
	do {
		size_t size = 16 + (size_t)(n % 4000);
		char *buf = malloc(size);
		if (buf == NULL)
			FAILF("malloc failed");
		snprintf(buf, size, "%d:%ld:%f:%s", me, n, (double)n * 0.5,
		         "preemption must not stop a goroutine inside libc");
		/* Some work of our own, outside the library. */
		for (size_t i = 0; i < size && buf[i] != '\0'; i++)
			sum = sum * 33 + (unsigned char)buf[i];
		for (int i = 0; i < 2000; i++)
			sum = sum * 1103515245u + 12345u;
		void *more = malloc(64 + (size_t)(n % 200));
		free(buf);
		free(more);
		n++;
	} while (!atomic_load_explicit(&libc_stop, memory_order_relaxed));
	libc_iters[me] = n + (sum == 42);
	gort_wg_done(&libc_wg);
}

static void libc_spinner(void *arg)
{
	int me = (int)(intptr_t)arg;
	libc_first[me] = harness_now();
	while (!atomic_load_explicit(&libc_stop, memory_order_relaxed))
		;
	gort_wg_done(&libc_wg);
}

static int libc_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&libc_wg, LIBC_GOROUTINES + 1), 0);
	int64_t t0 = harness_now();
	for (int i = 0; i < LIBC_GOROUTINES; i++)
		CHECK(gort_go(libc_goroutine, (void *)(intptr_t)i) > 1);
	CHECK(gort_go(libc_spinner, (void *)(intptr_t)LIBC_GOROUTINES) > 1);
	/* A plain thread stops them after 2 s: main may not get the P. */
	int64_t run_ns = HARNESS_SANITIZED ? 500000000LL : 2000000000LL;
	gort_entersyscall();
	harness_sleep_ms((int)(run_ns / 1000000));
	atomic_store(&libc_stop, true);
	gort_exitsyscall();
	CHECK_EQ(gort_wg_wait(&libc_wg), 0);
	for (int i = 0; i < LIBC_GOROUTINES; i++) {
		printf("     libc goroutine %d: %ld rounds, first ran at +%.1f ms\n",
		       i, libc_iters[i], (double)(libc_first[i] - t0) / 1e6);
	}
	if (!HARNESS_SANITIZED && !harness_emulated()) {
		/* Without signal preemption the spinner, run first, would
		 * keep the P until the stop. With it, preempted in their own
		 * code (never inside libc), all four got the P early. */
		for (int i = 0; i <= LIBC_GOROUTINES; i++)
			if (libc_first[i] - t0 > run_ns / 2)
				FAILF("goroutine %d first ran %.1f ms after the "
				      "start: the others were not preempted",
				      i, (double)(libc_first[i] - t0) / 1e6);
	}
	return 0;
}

MAIN_CASE(malloc_snprintf_no_deadlock, libc_main, 1)

/* ---------------------------------------------------------------------
 * gort_preempt_off / gort_preempt_on.
 * ------------------------------------------------------------------- */

static atomic_long other_count;
static atomic_bool other_stop;
static gort_waitgroup off_wg;
static int64_t off_first_interleave_ns; /* from region start; -1: none */
static int64_t on_wait_ns;
static bool on_preempted;

static void other_spinner(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&other_stop, memory_order_relaxed))
		atomic_fetch_add_explicit(&other_count, 1, memory_order_relaxed);
	gort_wg_done(&off_wg);
}

static void off_goroutine(void *arg)
{
	(void)arg;
	/* The region is timed from before the slice starts (the hand-off
	 * comes two slices after sysmon first sees it, however long this
	 * thread then waits for a CPU before the region begins). */
	int64_t t0 = harness_now();
	/* Start a fresh time slice, then let the other one be runnable. */
	gort_gosched();
	CHECK(gort_go(other_spinner, NULL) > 1);
	gort_preempt_off();
	gort_preempt_off();
	gort_preempt_on(); /* nested: still off */
	long c0 = atomic_load(&other_count);
	off_first_interleave_ns = -1;
	for (;;) {
		int64_t now = harness_now();
		if (off_first_interleave_ns < 0 &&
		    atomic_load_explicit(&other_count, memory_order_relaxed) != c0)
			off_first_interleave_ns = now - t0;
		if (now - t0 > 50000000LL)
			break;
	}
	gort_preempt_on();
	/* Preemptible again: at GOMAXPROCS=1 the other goroutine can count
	 * only if this loop is preempted. */
	long c1 = atomic_load(&other_count);
	int64_t t1 = harness_now();
	int64_t limit = (int64_t)(harness_timeout(5) * 1e9);
	on_preempted = false;
	for (;;) {
		for (int i = 0; i < (1 << 16); i++)
			if (atomic_load_explicit(&other_count,
			                         memory_order_relaxed) != c1) {
				on_preempted = true;
				break;
			}
		if (on_preempted || harness_now() - t1 > limit)
			break;
	}
	on_wait_ns = harness_now() - t1;
	atomic_store(&other_stop, true);
	gort_wg_done(&off_wg);
}

static int off_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&off_wg, 2), 0);
	CHECK(gort_go(off_goroutine, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&off_wg), 0);
	return 0;
}

static void preempt_off_region(void)
{
	if (!need_signals("preempt_off_region"))
		return;
	run_main(off_main, NULL, 1);
	if (off_first_interleave_ns < 0)
		printf("     region: the other goroutine never ran in 50 ms\n");
	else
		printf("     region: the other goroutine first ran %.1f ms in\n",
		       (double)off_first_interleave_ns / 1e6);
	printf("     after preempt_on: preempted in %.1f ms\n",
	       (double)on_wait_ns / 1e6);
	/* The slice began a few microseconds before the region (the
	 * gort_gosched at its top), and a hand-off can come only after two
	 * slices of it: 19 ms leaves room for that. */
	if (off_first_interleave_ns >= 0 && off_first_interleave_ns < 19000000LL)
		FAILF("another goroutine ran %.1f ms into a preempt_off region "
		      "at GOMAXPROCS=1", (double)off_first_interleave_ns / 1e6);
	if (!on_preempted)
		FAILF("after gort_preempt_on a call-free loop was not preempted "
		      "within 5 s");
}

/* A region begun inside a bracketed call, whose goroutine comes back
 * from the call on a P that sat idle meanwhile: the P's last time slice
 * is long over, and it is not the goroutine's. The region has its two
 * slices from there: the goroutine readied in it (runnable on the same
 * P, at GOMAXPROCS=1) runs only once the P is handed off. */
static gort_chan *fresh_c;
static int64_t fresh_t0;
static int64_t fresh_first_ns; /* when it ran, from the region's start */

static void fresh_receiver(void *arg)
{
	(void)arg;
	int v;
	CHECK_EQ(gort_chan_recv(fresh_c, &v), 1);
	fresh_first_ns = harness_now() - fresh_t0;
	gort_wg_done(&off_wg);
}

static void fresh_region(void *arg)
{
	(void)arg;
	/* Run long enough for sysmon to see this slice, then leave the P
	 * idle (nothing else is runnable) for three slices. */
	int64_t t = harness_now() + 2000000LL;
	while (harness_now() < t)
		;
	gort_entersyscall();
	harness_sleep_ms(60);
	fresh_t0 = harness_now();
	gort_preempt_off();
	gort_exitsyscall();
	int v = 1;
	CHECK_EQ(gort_chan_send(fresh_c, &v), 0); /* buffered: no switch */
	while (harness_now() - fresh_t0 < 50000000LL)
		;
	gort_preempt_on();
	gort_wg_done(&off_wg);
}

static int fresh_main(void *arg)
{
	(void)arg;
	fresh_c = make_chan(sizeof(int), 1);
	fresh_first_ns = -1;
	CHECK_EQ(gort_wg_add(&off_wg, 2), 0);
	CHECK(gort_go(fresh_receiver, NULL) > 1);
	settle(); /* it parks in its receive */
	CHECK(gort_go(fresh_region, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&off_wg), 0);
	gort_chan_free(fresh_c);
	return 0;
}

static void preempt_off_after_idle_p(void)
{
	if (!need_signals("preempt_off_after_idle_p"))
		return;
	run_main(fresh_main, NULL, 1);
	printf("     the goroutine readied in the region ran %.1f ms in\n",
	       (double)fresh_first_ns / 1e6);
	if (fresh_first_ns < 19000000LL)
		FAILF("a goroutine readied in a preempt_off region ran %.1f ms "
		      "into it at GOMAXPROCS=1: the region, begun on a P back "
		      "from the idle list, was handed off before its two time "
		      "slices", (double)fresh_first_ns / 1e6);
}

/* Outside a goroutine both are no-ops. */
static void preempt_off_outside(void)
{
	gort_preempt_off();
	gort_preempt_on();
	gort_preempt_on();
	gort_preempt_off();
	gort_preempt_off();
}

/* 255 nested regions are counted; a 256th is a fatal error, not a count
 * that stops (and a region that would end one gort_preempt_on early). */
static int nest_main(void *arg)
{
	int depth = *(int *)arg;
	for (int i = 0; i < depth; i++)
		gort_preempt_off();
	for (int i = 0; i < depth; i++)
		gort_preempt_on();
	return 0;
}

static void preempt_off_nesting(void)
{
	int depth = 255;
	run_main(nest_main, &depth, 1);
	static struct child_result res;
	char *argv[] = {NULL, (char *)"--nest256", NULL};
	run_self(argv, harness_timeout(10), &res);
	if (!res.exited || res.status != 2 ||
	    !strstr(res.output, "fatal error: gort_preempt_off: nested more than 255 deep")) {
		harness_describe("256 nested gort_preempt_off", &res);
		FAILF("want exit status 2 and the fatal error");
	}
}

/* ---------------------------------------------------------------------
 * Cooperative: runtime calls are preemption points.
 * ------------------------------------------------------------------- */

static atomic_bool coop_stop;
static atomic_bool coop_gave_up;
static atomic_bool coop_started;
static atomic_long coop_spawned;
static gort_waitgroup coop_wg;

static void nop(void *arg)
{
	(void)arg;
}

static void spawn_spinner(void *arg)
{
	(void)arg;
	int64_t t0 = harness_now();
	long limit = SCALE(1000000);
	atomic_store(&coop_started, true);
	long n = 0;
	while (!atomic_load_explicit(&coop_stop, memory_order_relaxed)) {
		if (gort_go(nop, NULL) < 0)
			FAILF("gort_go: %s", strerror(errno));
		n++;
		if (n >= limit || harness_now() - t0 > 5000000000LL) {
			atomic_store(&coop_gave_up, true);
			break;
		}
	}
	atomic_store(&coop_spawned, n);
	gort_wg_done(&coop_wg);
}

static int coop_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 1);
	CHECK_EQ(gort_wg_add(&coop_wg, 1), 0);
	CHECK(gort_go(spawn_spinner, NULL) > 1);
	for (int i = 0; i < 3 || !atomic_load(&coop_started); i++) {
		if (i >= 10)
			FAILF("the spinner never started");
		gort_gosched();
	}
	atomic_store(&coop_stop, true);
	CHECK_EQ(gort_wg_wait(&coop_wg), 0);
	if (atomic_load(&coop_gave_up))
		FAILF("main did not run while a goroutine kept calling gort_go "
		      "(%ld spawned): runtime calls are no preemption points",
		      atomic_load(&coop_spawned));
	return 0;
}

static void cooperative_runtime_calls(void)
{
	CHECK_EQ(setenv("GODEBUG", "asyncpreemptoff=1", 1), 0);
	run_main(coop_main, NULL, 1);
	printf("     %ld goroutines spawned before main stopped the spinner\n",
	       atomic_load(&coop_spawned));
}

/* ---------------------------------------------------------------------
 * sysmon sleeps deeply while every P is idle only until the next timer
 * (Go's timeSleepUntil): a goroutine that a timer readies then, and that
 * spins, is still preempted, so the goroutine of the next timer runs.
 * ------------------------------------------------------------------- */

static atomic_bool idle_stop;
static atomic_bool idle_gave_up;
static int64_t idle_spun_ns;
static gort_waitgroup idle_wg;

/* Spin until idle_stop (spin_until_stop); past harness_timeout(3) nobody
 * preempted it. */
static void idle_spin(void)
{
	double limit = harness_timeout(3);
	idle_spun_ns = spin_until_stop(&idle_stop, limit);
	if (idle_spun_ns < 0) {
		atomic_store(&idle_gave_up, true);
		idle_spun_ns = (int64_t)(limit * 1e9);
	}
}

static void idle_spinner(void *arg)
{
	(void)arg;
	gort_sleep(50 * MS);
	idle_spin();
	gort_wg_done(&idle_wg);
}

static void idle_stopper(void *arg)
{
	(void)arg;
	gort_sleep(80 * MS);
	atomic_store(&idle_stop, true);
	gort_wg_done(&idle_wg);
}

static int back_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_gomaxprocs(0), 1);
	CHECK_EQ(gort_wg_add(&idle_wg, 2), 0);
	CHECK(gort_go(idle_spinner, NULL) > 1);
	CHECK(gort_go(idle_stopper, NULL) > 1);
	/* Every P idle until the spinner's timer: sysmon sleeps deeply. */
	CHECK_EQ(gort_wg_wait(&idle_wg), 0);
	if (atomic_load(&idle_gave_up))
		FAILF("a goroutine readied by a timer while every P was idle "
		      "spun %.1f s without being preempted (sysmon slept past "
		      "the timers)", (double)idle_spun_ns / 1e9);
	return 0;
}

static void preempted_after_idle_timer(void)
{
	run_main(back_main, NULL, 1);
	printf("     the spinner ran %.1f ms before the other timer's goroutine stopped it\n",
	       (double)idle_spun_ns / MS);
}

/* The same for a goroutine the network readies while every P is idle:
 * the M blocked in the netpoller takes an idle P for it without startm,
 * and must wake sysmon, or the spinner keeps the only P and the
 * stopper, whose byte comes later, is never polled for (no timer is
 * pending: sysmon would sleep a minute). */
static int idle_net_a[2], idle_net_b[2];

static void idle_net_spinner(void *arg)
{
	char c;
	(void)arg;
	CHECK_EQ(gort_read(idle_net_a[0], &c, 1), 1);
	idle_spin();
	gort_wg_done(&idle_wg);
}

static void idle_net_stopper(void *arg)
{
	(void)arg;
	char c;
	CHECK_EQ(gort_read(idle_net_b[0], &c, 1), 1);
	atomic_store(&idle_stop, true);
	gort_wg_done(&idle_wg);
}

static void *idle_net_writer(void *arg)
{
	(void)arg;
	harness_sleep_ms(50);
	CHECK_EQ(write(idle_net_a[1], "a", 1), 1);
	harness_sleep_ms(30);
	CHECK_EQ(write(idle_net_b[1], "b", 1), 1);
	return NULL;
}

static int idle_net_main(void *arg)
{
	(void)arg;
	atomic_store(&idle_stop, false);
	atomic_store(&idle_gave_up, false);
	CHECK_EQ(pipe(idle_net_a), 0);
	CHECK_EQ(pipe(idle_net_b), 0);
	CHECK_EQ(gort_wg_add(&idle_wg, 2), 0);
	CHECK(gort_go(idle_net_spinner, NULL) > 1);
	CHECK(gort_go(idle_net_stopper, NULL) > 1);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, idle_net_writer, NULL), 0);
	CHECK_EQ(gort_wg_wait(&idle_wg), 0);
	join_thread(th);
	if (atomic_load(&idle_gave_up))
		FAILF("a goroutine readied by the network while every P was idle "
		      "spun %.1f s without being preempted (sysmon slept on)",
		      (double)idle_spun_ns / 1e9);
	for (int i = 0; i < 2; i++) {
		gort_close(idle_net_a[i]);
		gort_close(idle_net_b[i]);
	}
	return 0;
}

static void preempted_after_idle_netpoll(void)
{
	run_main(idle_net_main, NULL, 1);
	printf("     the spinner ran %.1f ms before the other reader stopped it\n",
	       (double)idle_spun_ns / MS);
}

/* ---------------------------------------------------------------------
 * A signal handler of the program, running on a goroutine's stack, is
 * never preempted: it must finish on the thread it interrupted.
 * ------------------------------------------------------------------- */

static atomic_long handler_other;
static atomic_bool handler_stop;
static long handler_seen;      /* other goroutine's progress during it */
static bool handler_moved;     /* its thread changed */
static gort_waitgroup handler_wg;

static void handler_counter(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&handler_stop, memory_order_relaxed))
		atomic_fetch_add_explicit(&handler_other, 1, memory_order_relaxed);
	gort_wg_done(&handler_wg);
}

/* Spins 15 ms: past the 10 ms slice (sysmon asks for preemption), short
 * of the second slice (when sysmon detaches the P instead, and the
 * other goroutine rightly runs on another thread). */
static void busy_handler(int sig)
{
	(void)sig;
	long c0 = atomic_load(&handler_other);
	pid_t tid = gettid();
	int64_t t0 = harness_now();
	while (harness_now() - t0 < 15000000LL)
		if (gettid() != tid)
			handler_moved = true;
	handler_seen = atomic_load(&handler_other) - c0;
}

static void handler_goroutine(void *arg)
{
	(void)arg;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = busy_handler; /* no SA_ONSTACK: on this stack */
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	CHECK(gort_go(handler_counter, NULL) > 1);
	gort_gosched(); /* the counter runs; then a fresh slice here */
	CHECK_EQ(raise(SIGUSR1), 0);
	CHECK_EQ(sigaction(SIGUSR1, &old, NULL), 0);
	atomic_store(&handler_stop, true);
	gort_wg_done(&handler_wg);
}

static int handler_main(void *arg)
{
	(void)arg;
	CHECK_EQ(gort_wg_add(&handler_wg, 2), 0);
	CHECK(gort_go(handler_goroutine, NULL) > 1);
	CHECK_EQ(gort_wg_wait(&handler_wg), 0);
	return 0;
}

static void signal_handler_not_preempted(void)
{
	if (!need_signals("signal_handler_not_preempted"))
		return;
	for (int round = 0; round < 3; round++) {
		handler_stop = false;
		run_main(handler_main, NULL, 1);
		if (handler_moved)
			FAILF("a signal handler resumed on another thread");
		if (handler_seen != 0)
			FAILF("a signal handler was preempted at GOMAXPROCS=1: "
			      "another goroutine counted %ld meanwhile", handler_seen);
	}
}

/* ---------------------------------------------------------------------
 * errno across a stop: goroutines that set their errno and read it back
 * in a loop, preempted hundreds of times and moved between threads,
 * always read their own value. The read looks errno's location up, works
 * a little, then loads through it, as compiled code may: a signal landing
 * between the lookup and the load must not move the goroutine, or the
 * load reads the old thread's errno, by then another goroutine's.
 * Every 50 ms a spinner yields: a slice it spent mostly inside the
 * lookup (runtime code) or the read has its P handed off, and a yield
 * brings it back to a P, where the next slices preempt it again.
 * ------------------------------------------------------------------- */

enum { ERRNO_SPINNERS = 4 };
static atomic_bool errno_stop;
static atomic_long errno_wrong, errno_moves;
static uint64_t errno_async;

/* Work between the errno calls, through a pointer: it returns a value
 * in the register that held errno's location after write_errno. */
static int spin_some(int n)
{
	for (int i = 0; i < n; i++)
		__asm__ volatile("" : "+r"(n));
	return n;
}
static int (*volatile spin_fn)(int) = spin_some;

/* errno read late: its location is looked up, kept in one register for
 * a short loop, then loaded through, the load overwriting that register
 * so that no copy is left once the read is over. */
static int read_errno_late(void)
{
	uintptr_t r = (uintptr_t)gort_errno_location();
#if defined(__x86_64__)
	__asm__ volatile("mov $64, %%ecx\n"
	                 "1: dec %%ecx\n"
	                 "jnz 1b\n"
	                 "movl (%0), %k0"
	                 : "+r"(r) : : "rcx", "cc", "memory");
#elif defined(__aarch64__)
	__asm__ volatile("mov w9, #64\n"
	                 "1: subs w9, w9, #1\n"
	                 "b.ne 1b\n"
	                 "ldr %w0, [%0]"
	                 : "+r"(r) : : "x9", "cc", "memory");
#else
	r = (uintptr_t)*(int *)r;
#endif
	return (int)r;
}

static void errno_spinner(void *arg)
{
	int mine = 3000 + (int)(intptr_t)arg;
	long wrong = 0, moves = 0;
	long thread = syscall(SYS_gettid);
	int64_t yielded = harness_now();
	while (!atomic_load_explicit(&errno_stop, memory_order_relaxed)) {
		for (int k = 0; k < 1024; k++) {
			write_errno(mine);
			spin_fn(8);
			wrong += read_errno_late() != mine;
		}
		long now = syscall(SYS_gettid);
		moves += now != thread;
		thread = now;
		if (harness_now() - yielded > 50 * MS) {
			gort_gosched();
			yielded = harness_now();
		}
	}
	atomic_fetch_add(&errno_wrong, wrong);
	atomic_fetch_add(&errno_moves, moves);
	gort_wg_done(&helpers_wg);
}

static int errno_main(void *arg)
{
	(void)arg;
	gort_stats before, after;
	CHECK_EQ(gort_read_stats(&before), 0);
	for (int i = 0; i < ERRNO_SPINNERS; i++)
		start_helper(errno_spinner, (void *)(intptr_t)i);
	gort_sleep(1000 * MS);
	atomic_store(&errno_stop, true);
	CHECK_EQ(gort_wg_wait(&helpers_wg), 0);
	CHECK_EQ(gort_read_stats(&after), 0);
	errno_async = after.preempt_async - before.preempt_async;
	return 0;
}

static void errno_survives_moves(void)
{
	if (!need_signals("errno_survives_moves"))
		return;
	run_main(errno_main, NULL, 2);
	long wrong = atomic_load(&errno_wrong), moves = atomic_load(&errno_moves);
	printf("     %ld moves between threads, %llu stops by signal, %ld wrong "
	       "errno reads\n", moves, (unsigned long long)errno_async, wrong);
	if (wrong != 0)
		FAILF("a goroutine read another's errno %ld times in %ld moves",
		      wrong, moves);
	/* Without moves and stops the case proves nothing. */
	CHECK(moves >= 10);
	CHECK(errno_async >= 1);
}

/* ---------------------------------------------------------------------
 * A plain blocking call is not broken by the preemption signal: a
 * goroutine in nanosleep/poll without the syscall hand-off (allowed: it
 * only holds its P until sysmon hands it off) gets neither EINTR nor a
 * short sleep, while the main goroutine still runs at GOMAXPROCS=1.
 * ------------------------------------------------------------------- */

static atomic_bool plain_started, plain_done;
static int plain_rc[2], plain_err[2];
static int64_t plain_ns[2];

static void plain_sleeper(void *arg)
{
	(void)arg;
	atomic_store(&plain_started, true);
	struct timespec ts = {0, 300 * MS};
	int64_t t0 = harness_now();
	plain_rc[0] = nanosleep(&ts, NULL);
	plain_err[0] = read_errno();
	plain_ns[0] = harness_now() - t0;
	t0 = harness_now();
	plain_rc[1] = poll(NULL, 0, 300);
	plain_err[1] = read_errno();
	plain_ns[1] = harness_now() - t0;
	atomic_store(&plain_done, true);
}

static int plain_main(void *arg)
{
	(void)arg;
	CHECK(gort_go(plain_sleeper, NULL) > 1);
	while (!atomic_load(&plain_started))
		gort_gosched();
	/* The P comes back to main through sysmon's hand-off. */
	gort_sleep(1 * MS);
	while (!atomic_load(&plain_done))
		gort_sleep(5 * MS);
	return 0;
}

static void plain_syscall_not_interrupted(void)
{
	if (!need_syscall_view("plain_syscall_not_interrupted"))
		return;
	atomic_store(&plain_started, false);
	atomic_store(&plain_done, false);
	run_main(plain_main, NULL, 1);
	for (int i = 0; i < 2; i++) {
		if (plain_rc[i] != 0)
			FAILF("%s: returned %d, errno %d", i ? "poll" : "nanosleep",
			      plain_rc[i], plain_err[i]);
		if (plain_ns[i] < 300 * MS)
			FAILF("%s: 300 ms lasted %lld ms", i ? "poll" : "nanosleep",
			      (long long)(plain_ns[i] / MS));
	}
}

/* ---------------------------------------------------------------------
 * A relative sleep that the hand-off signal broke goes on for the time it
 * had left, not its whole request again. Each of SLEEPS plain 100 ms
 * sleeps (glibc's nanosleep and clock_nanosleep, and the raw nanosleep
 * system call, each with a rem argument) holds the P at GOMAXPROCS=1
 * until sysmon hands it off, 20-30 ms into the sleep; restarted with
 * its request, each would last 120-130 ms. The bound, half of that
 * excess over all the sleeps, leaves each sleep 10 ms of wake-up noise.
 * ------------------------------------------------------------------- */

enum { SLEEPS = 6, SLEEP_MS = 100 };
static int64_t rem_ns[SLEEPS];
static int rem_rc[SLEEPS];
static atomic_bool rem_done;
static uint64_t rem_handoffs;

static int sleep_with_rem(int form, const struct timespec *ts, struct timespec *rem)
{
	switch (form) {
	case 0:
		return nanosleep(ts, rem);
	case 1: {
		int e = clock_nanosleep(CLOCK_MONOTONIC, 0, ts, rem);
		return e == 0 ? 0 : -1;
	}
	default:
		return (int)syscall(SYS_nanosleep, ts, rem);
	}
}

static void rem_sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < SLEEPS; i++) {
		struct timespec ts = {0, SLEEP_MS * MS}, rem = {0, 0};
		int64_t t0 = harness_now();
		rem_rc[i] = sleep_with_rem(i % 3, &ts, &rem);
		rem_ns[i] = harness_now() - t0;
		/* Back on a P: a goroutine whose P was handed off runs
		 * detached until its next runtime call. */
		gort_gosched();
	}
	atomic_store(&rem_done, true);
}

static int rem_main(void *arg)
{
	(void)arg;
	gort_stats st;
	CHECK_EQ(gort_read_stats(&st), 0);
	uint64_t before = st.handoffs;
	CHECK(gort_go(rem_sleeper, NULL) > 1);
	while (!atomic_load(&rem_done))
		gort_sleep(5 * MS);
	CHECK_EQ(gort_read_stats(&st), 0);
	rem_handoffs = st.handoffs - before;
	return 0;
}

static void restarted_sleep_keeps_time(void)
{
	if (!need_syscall_view("restarted_sleep_keeps_time"))
		return;
	atomic_store(&rem_done, false);
	run_main(rem_main, NULL, 1);
	int64_t over = 0;
	for (int i = 0; i < SLEEPS; i++) {
		printf("     sleep %d (form %d): %.1f ms, returned %d\n", i, i % 3,
		       (double)rem_ns[i] / MS, rem_rc[i]);
		over += rem_ns[i] - SLEEP_MS * MS;
	}
	printf("     %llu hand-offs\n", (unsigned long long)rem_handoffs);
	/* Otherwise no sleep was broken, and the bound proves nothing. */
	if (rem_handoffs < SLEEPS)
		FAILF("%llu hand-offs for %d sleeps", (unsigned long long)rem_handoffs, SLEEPS);
	for (int i = 0; i < SLEEPS; i++) {
		if (rem_rc[i] != 0)
			FAILF("sleep %d: returned %d", i, rem_rc[i]);
		if (rem_ns[i] < SLEEP_MS * MS)
			FAILF("sleep %d: %d ms lasted %.1f ms", i, SLEEP_MS, (double)rem_ns[i] / MS);
	}
	if (over > SLEEPS * 10 * MS)
		FAILF("%d sleeps of %d ms overslept %.1f ms in all: restarted with "
		      "their whole request", SLEEPS, SLEEP_MS, (double)over / MS);
}

/* ---------------------------------------------------------------------
 * Stopping the world does not wait for a plain blocking call: a
 * goroutine blocked in read(2) on a pipe nobody writes yet, and one in
 * nanosleep, have their Ps detached; gort_gomaxprocs returns at once,
 * the read still gets its bytes and the sleep lasts its whole time.
 * ------------------------------------------------------------------- */

static int stw_pipe[2];
static atomic_int stw_blocked;
static ssize_t stw_read;
static int stw_sleep_rc;
static int64_t stw_sleep_ns;
static atomic_bool stw_slept;

static void stw_reader(void *arg)
{
	(void)arg;
	char b[8];
	atomic_fetch_add(&stw_blocked, 1);
	stw_read = read(stw_pipe[0], b, sizeof b);
	gort_wg_done(&helpers_wg);
}

static void stw_sleeper(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 400 * MS};
	atomic_fetch_add(&stw_blocked, 1);
	int64_t t0 = harness_now();
	stw_sleep_rc = nanosleep(&ts, NULL);
	stw_sleep_ns = harness_now() - t0;
	atomic_store(&stw_slept, true);
	gort_wg_done(&helpers_wg);
}

static int stw_main(void *arg)
{
	(void)arg;
	CHECK_EQ(pipe2(stw_pipe, O_CLOEXEC), 0);
	start_helper(stw_reader, NULL);
	start_helper(stw_sleeper, NULL);
	while (atomic_load(&stw_blocked) < 2)
		gort_sleep(1 * MS);
	gort_sleep(20 * MS); /* both in their calls, on their Ps */
	int64_t t0 = harness_now();
	CHECK_EQ(gort_gomaxprocs(4), 3);
	int64_t took = harness_now() - t0;
	printf("     gort_gomaxprocs beside two blocked calls: %.1f ms\n", (double)took / MS);
	/* Not after the sleep's 400 ms (nor the read's forever): exact,
	 * where a bound on the time would not hold under an emulator. */
	CHECK(!atomic_load(&stw_slept));
	CHECK_EQ(write(stw_pipe[1], "x", 1), 1);
	gort_wg_wait(&helpers_wg);
	CHECK_EQ(stw_read, 1);
	CHECK_EQ(stw_sleep_rc, 0);
	CHECK(stw_sleep_ns >= 400 * MS);
	close(stw_pipe[0]);
	close(stw_pipe[1]);
	return 0;
}

static void stw_plain_syscall(void)
{
	if (!need_syscall_view("stw_plain_syscall"))
		return;
	atomic_store(&stw_blocked, 0);
	run_main(stw_main, NULL, 3);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--nest256") == 0) {
		int depth = 256;
		return gort_main(nest_main, &depth);
	}
	RUN_CASE(tight_loop_preempted, 20);
	RUN_CASE(clock_loop_preempted, 20);
	RUN_CASE(asyncpreemptoff_not_preempted, 20);
	RUN_CASE(registers_survive, 40);
	RUN_CASE(malloc_snprintf_no_deadlock, 30);
	RUN_CASE(preempt_off_region, 20);
	RUN_CASE(preempt_off_after_idle_p, 20);
	RUN_CASE(preempt_off_outside, 10);
	RUN_CASE(preempt_off_nesting, 20);
	RUN_CASE(signal_handler_not_preempted, 20);
	RUN_CASE(errno_survives_moves, 20);
	RUN_CASE(cooperative_runtime_calls, 30);
	RUN_CASE(preempted_after_idle_timer, 20);
	RUN_CASE(preempted_after_idle_netpoll, 20);
	RUN_CASE(plain_syscall_not_interrupted, 20);
	RUN_CASE(restarted_sleep_keeps_time, 20);
	RUN_CASE(stw_plain_syscall, 20);
	PASS("preempt_test");
	return 0;
}
