/*
 * symtab.c - from a code address to a function name, for tracebacks.
 *
 * gort is usually linked statically into the program (libgort.a), whose
 * functions are in no dynamic symbol table, so dladdr cannot name them.
 * Instead this file reads ELF symbol tables itself:
 *  - the mapping that holds a pc is found in /proc/self/maps (its file,
 *    and the file offset the pc corresponds to);
 *  - that file is mapped read-only, its .symtab (or, when stripped, its
 *    .dynsym) located, and the function symbols sorted by address into
 *    an index, once per file (up to MAXMODS files);
 *  - the pc's file offset is turned into a link-time address through the
 *    file's PT_LOAD headers, and the index searched.
 * Only open, read, mmap, munmap and close are used, no malloc and no
 * stdio: all async-signal-safe, so the SIGQUIT dump symbolises too.
 *
 * One lock (a flag taken by test-and-set) guards the module table. A
 * thread that cannot take it in a bounded number of tries (another
 * thread is symbolising, or a signal handler interrupted this very
 * thread while it held the flag) gets no name, never a deadlock. Module
 * entries, once built, stay until the process ends: the mapped files are
 * the running program's own, so they are few and small next to it.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

enum { MAXMODS = 16, MAXRANGES = 4, PATHMAX = 256 };

typedef struct symrange {
	uintptr_t lo, hi, off;
} symrange;

typedef struct symmod {
	char path[PATHMAX];
	/* Executable mappings of this file: [lo, hi) maps file offset off. */
	symrange range[MAXRANGES];
	int nrange;
	const char *file;      /* the whole file, mapped; NULL if unreadable */
	size_t filesize;
	const Elf64_Phdr *phdr;
	int phnum;
	const Elf64_Sym *syms;
	const char *strs;
	size_t strsize;
	uint32_t *index;       /* function symbols sorted by st_value */
	size_t nindex;
	size_t indexbytes;
} symmod;

static struct {
	atomic_flag busy;
	int nmod;
	symmod mod[MAXMODS];
} symtab = {.busy = ATOMIC_FLAG_INIT};

static bool symtab_trylock(void)
{
	for (int i = 0; i < 1000; i++) {
		if (!atomic_flag_test_and_set_explicit(&symtab.busy, memory_order_acquire))
			return true;
		osyield();
	}
	return false;
}

static void symtab_unlock(void)
{
	atomic_flag_clear_explicit(&symtab.busy, memory_order_release);
}

static uintptr_t parsehex(const char **s)
{
	uintptr_t v = 0;
	for (;; (*s)++) {
		char c = **s;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v << 4 | (uintptr_t)d;
	}
}

/* One line of /proc/self/maps: "lo-hi perms off dev inode   path". */
typedef struct mapline {
	uintptr_t lo, hi, off;
	bool exec;
	const char *path; /* NUL-terminated inside the line buffer, or "" */
} mapline;

static bool parse_mapline(char *line, mapline *ml)
{
	const char *s = line;
	ml->lo = parsehex(&s);
	if (*s++ != '-')
		return false;
	ml->hi = parsehex(&s);
	if (*s++ != ' ' || strlen(s) < 5)
		return false;
	ml->exec = s[2] == 'x';
	s += 5;
	ml->off = parsehex(&s);
	/* skip " dev inode", then spaces up to the path */
	for (int field = 0; field < 2; field++) {
		while (*s == ' ')
			s++;
		while (*s && *s != ' ')
			s++;
	}
	while (*s == ' ')
		s++;
	ml->path = s;
	return true;
}

/*
 * Call fn on every line of /proc/self/maps until it returns true; read in
 * fixed-size pieces on the caller's stack (a signal stack has 64 KiB).
 */
static bool each_mapline(bool (*fn)(const mapline *, void *), void *arg)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[2048];
	size_t have = 0;
	bool found = false;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		char *line = buf;
		for (char *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
			*nl = 0;
			mapline ml;
			if (parse_mapline(line, &ml) && fn(&ml, arg)) {
				found = true;
				goto out;
			}
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (have == sizeof buf - 1)
			have = 0; /* a line longer than the buffer: drop it */
	}
out:
	close(fd);
	return found;
}

static bool sym_isfunc(const Elf64_Sym *s)
{
	return (ELF64_ST_TYPE(s->st_info) == STT_FUNC || ELF64_ST_TYPE(s->st_info) == STT_GNU_IFUNC) &&
	       s->st_shndx != SHN_UNDEF && s->st_value != 0;
}

/* Heapsort of the index by symbol address: no recursion, no memory. */
static void index_sift(symmod *md, size_t root, size_t n)
{
	uint32_t *a = md->index;
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && md->syms[a[child + 1]].st_value > md->syms[a[child]].st_value)
			child++;
		if (md->syms[a[root]].st_value >= md->syms[a[child]].st_value)
			return;
		uint32_t t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void index_sort(symmod *md)
{
	size_t n = md->nindex;
	for (size_t i = n / 2; i-- > 0;)
		index_sift(md, i, n);
	for (size_t end = n; end > 1; end--) {
		uint32_t t = md->index[0];
		md->index[0] = md->index[end - 1];
		md->index[end - 1] = t;
		index_sift(md, 0, end - 1);
	}
}

/* Find a symbol table (SHT_SYMTAB, else SHT_DYNSYM) and index it. */
static void module_load(symmod *md)
{
	int fd = open(md->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	void *f = MAP_FAILED;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(Elf64_Ehdr))
		f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return;
	size_t size = (size_t)st.st_size;
	const Elf64_Ehdr *eh = f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size ||
	    eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr) > size) {
		munmap(f, size);
		return;
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)f + eh->e_shoff);
	const Elf64_Shdr *symsh = NULL;
	for (int want = SHT_SYMTAB; want >= 0 && !symsh; want = want == SHT_SYMTAB ? SHT_DYNSYM : -1)
		for (int i = 0; i < eh->e_shnum; i++)
			if (sh[i].sh_type == (Elf64_Word)want && sh[i].sh_link < eh->e_shnum) {
				symsh = &sh[i];
				break;
			}
	if (!symsh || symsh->sh_offset + symsh->sh_size > size ||
	    sh[symsh->sh_link].sh_offset + sh[symsh->sh_link].sh_size > size) {
		munmap(f, size);
		return;
	}
	md->file = f;
	md->filesize = size;
	md->phdr = (const Elf64_Phdr *)((const char *)f + eh->e_phoff);
	md->phnum = eh->e_phnum;
	md->syms = (const Elf64_Sym *)((const char *)f + symsh->sh_offset);
	md->strs = (const char *)f + sh[symsh->sh_link].sh_offset;
	md->strsize = sh[symsh->sh_link].sh_size;
	size_t nsyms = symsh->sh_size / sizeof(Elf64_Sym);
	size_t nfunc = 0;
	for (size_t i = 0; i < nsyms; i++)
		nfunc += sym_isfunc(&md->syms[i]);
	if (nfunc == 0 || nsyms > UINT32_MAX)
		return;
	size_t bytes = nfunc * sizeof(uint32_t);
	void *idx = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (idx == MAP_FAILED)
		return;
	md->index = idx;
	md->indexbytes = bytes;
	for (size_t i = 0; i < nsyms; i++)
		if (sym_isfunc(&md->syms[i]))
			md->index[md->nindex++] = (uint32_t)i;
	index_sort(md);
}

/* The module whose executable mapping holds pc, known already. */
static symmod *module_cached(uintptr_t pc)
{
	for (int i = 0; i < symtab.nmod; i++)
		for (int r = 0; r < symtab.mod[i].nrange; r++)
			if (pc >= symtab.mod[i].range[r].lo && pc < symtab.mod[i].range[r].hi)
				return &symtab.mod[i];
	return NULL;
}

struct findmap {
	uintptr_t pc;
	mapline ml;
	char path[PATHMAX];
};

static bool findmap_fn(const mapline *ml, void *arg)
{
	struct findmap *fm = arg;
	if (!ml->exec || fm->pc < ml->lo || fm->pc >= ml->hi)
		return false;
	fm->ml = *ml;
	size_t n = strlen(ml->path);
	if (n >= PATHMAX)
		n = PATHMAX - 1;
	memcpy(fm->path, ml->path, n);
	fm->path[n] = 0;
	return true;
}

/* Find or add the module of pc. symtab lock held. */
static symmod *module_of(uintptr_t pc)
{
	symmod *md = module_cached(pc);
	if (md)
		return md;
	struct findmap fm = {.pc = pc};
	if (!each_mapline(findmap_fn, &fm) || fm.path[0] != '/')
		return NULL;
	for (int i = 0; i < symtab.nmod; i++) {
		md = &symtab.mod[i];
		if (strcmp(md->path, fm.path) == 0) {
			if (md->nrange < MAXRANGES)
				md->range[md->nrange++] = (symrange){fm.ml.lo, fm.ml.hi, fm.ml.off};
			return md;
		}
	}
	if (symtab.nmod == MAXMODS)
		return NULL;
	md = &symtab.mod[symtab.nmod++];
	memcpy(md->path, fm.path, sizeof md->path);
	md->range[0] = (symrange){fm.ml.lo, fm.ml.hi, fm.ml.off};
	md->nrange = 1;
	module_load(md);
	return md;
}

/* The link-time address of pc in md, through its PT_LOAD headers. */
static bool module_vaddr(const symmod *md, uintptr_t pc, uintptr_t *vaddr)
{
	uintptr_t foff = 0;
	bool inrange = false;
	for (int r = 0; r < md->nrange && !inrange; r++)
		if (pc >= md->range[r].lo && pc < md->range[r].hi) {
			foff = pc - md->range[r].lo + md->range[r].off;
			inrange = true;
		}
	if (!inrange || !md->phdr)
		return false;
	for (int i = 0; i < md->phnum; i++) {
		const Elf64_Phdr *ph = &md->phdr[i];
		if (ph->p_type == PT_LOAD && foff >= ph->p_offset && foff < ph->p_offset + ph->p_filesz) {
			*vaddr = foff - ph->p_offset + ph->p_vaddr;
			return true;
		}
	}
	return false;
}

static bool module_lookup(const symmod *md, uintptr_t vaddr, symbol *out)
{
	if (md->nindex == 0)
		return false;
	/* the last symbol starting at or below vaddr */
	size_t lo = 0, hi = md->nindex;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (md->syms[md->index[mid]].st_value <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	/* Among aliases at one address, any with a size that covers vaddr. */
	for (size_t i = lo + 1; i-- > 0;) {
		const Elf64_Sym *s = &md->syms[md->index[i]];
		if (s->st_value > vaddr)
			continue;
		if (i < lo && s->st_value != md->syms[md->index[lo]].st_value)
			break;
		if (vaddr < s->st_value + (s->st_size ? s->st_size : 1) && s->st_name < md->strsize) {
			out->name = md->strs + s->st_name;
			out->offset = vaddr - s->st_value;
			return true;
		}
	}
	return false;
}

bool symbolize(uintptr_t pc, symbol *out)
{
	out->name = NULL;
	out->offset = 0;
	out->module = NULL;
	if (!symtab_trylock())
		return false;
	symmod *md = module_of(pc);
	uintptr_t vaddr;
	bool ok = false;
	if (md) {
		out->module = md->path;
		ok = module_vaddr(md, pc, &vaddr) && module_lookup(md, vaddr, out);
	}
	symtab_unlock();
	return ok;
}
