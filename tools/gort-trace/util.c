/*
 * util.c - memory, a string-to-index map and a byte buffer, shared by the
 * stages of the tool. Allocation failure ends the tool with status 1: it
 * is a short-lived command, and every stage would otherwise need its own
 * unwinding.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gort_trace.h"

void die_oom(void)
{
	fprintf(stderr, "gort-trace: out of memory\n");
	exit(1);
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		die_oom();
	return q;
}

/*
 * The hash tables' keys (goroutine ids, names) come from the file, so a
 * fixed hash lets a file choose keys that all share one slot, and every
 * insertion then probes all the keys before it: quadratic, minutes for a
 * file of a few MB (ids that are multiples of a multiplicative hash's
 * inverse; names that agree in FNV's low bits, which depend on the low
 * bits of its state only and are easy to make collide). So every hash
 * starts from a key of this run that no file can know in advance (the
 * clock and where the stack, the heap and the code are, ASLR) and ends
 * in splitmix64's finalizer, which takes every bit to every bit of a
 * slot. Only the tables' layout changes from run to run, not the output.
 */
static uint64_t run_key(void)
{
	static uint64_t key;
	if (key == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		void *heap = malloc(1);
		key = ((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30) * 0x9e3779b97f4a7c15ull ^
		      (uint64_t)(uintptr_t)&ts ^ (uint64_t)(uintptr_t)heap << 7 ^
		      (uint64_t)(uintptr_t)run_key << 13;
		free(heap);
		key |= 1; /* never 0: 0 is "not made yet" */
	}
	return key;
}

uint64_t hash_mix(uint64_t x)
{
	uint64_t z = x ^ run_key();
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull ^ run_key();
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)hash_mix(h);
}

static void strmap_grow(struct strmap *m)
{
	size_t cap = m->tabcap ? m->tabcap * 2 : 64;
	size_t *tab = calloc(cap, sizeof(*tab));
	if (tab == NULL)
		die_oom();
	for (size_t i = 0; i < m->n; i++) {
		size_t j = hash_str(m->key[i]) & (cap - 1);
		while (tab[j] != 0)
			j = (j + 1) & (cap - 1);
		tab[j] = i + 1;
	}
	free(m->tab);
	m->tab = tab;
	m->tabcap = cap;
}

size_t strmap_index(struct strmap *m, const char *key, bool *added)
{
	if ((m->n + 1) * 2 > m->tabcap)
		strmap_grow(m);
	size_t j = hash_str(key) & (m->tabcap - 1);
	for (; m->tab[j] != 0; j = (j + 1) & (m->tabcap - 1)) {
		if (strcmp(m->key[m->tab[j] - 1], key) == 0) {
			if (added)
				*added = false;
			return m->tab[j] - 1;
		}
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->key = xrealloc(m->key, m->cap * sizeof(*m->key));
	}
	size_t len = strlen(key);
	m->key[m->n] = memcpy(xrealloc(NULL, len + 1), key, len + 1);
	m->tab[j] = ++m->n;
	if (added)
		*added = true;
	return m->n - 1;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->key[i]);
	free(m->key);
	free(m->tab);
	memset(m, 0, sizeof(*m));
}

void bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (b->cap - b->n < n) {
		while (b->cap - b->n < n)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->b = xrealloc(b->b, b->cap);
	}
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

void bytes_varint(struct bytes *b, uint64_t v)
{
	unsigned char buf[10];
	size_t n = 0;
	for (; v >= 0x80; v >>= 7)
		buf[n++] = (unsigned char)(0x80 | (v & 0x7f));
	buf[n++] = (unsigned char)v;
	bytes_put(b, buf, n);
}
