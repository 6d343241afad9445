/*
 * trace_check.c - see trace_check.h.
 */
#include "trace_check.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trace_workdir(char *tmpl, const char *trace_name, char *trace_path, char *out_path,
                   size_t n)
{
	if (mkdtemp(tmpl) == NULL)
		FAILF("mkdtemp: %s", strerror(errno));
	snprintf(trace_path, n, "%s/%s", tmpl, trace_name);
	snprintf(out_path, n, "%s/out", tmpl);
}

const char *trace_tool(void)
{
	const char *env = getenv("GORT_TRACE_TOOL");
	if (env != NULL && *env)
		return env;
#ifdef GORT_TRACE_TOOL
	return GORT_TRACE_TOOL;
#else
	return NULL;
#endif
}

void run_tool(char *const argv[], const char *out_path, double timeout_s,
              struct child_result *res)
{
	harness_result_init(res);
	int out = open(out_path ? out_path : "/dev/null",
	               O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		FAILF("open %s: %s", out_path, strerror(errno));
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		FAILF("pipe2: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	close(out);
	if (err != 0)
		FAILF("posix_spawn %s: %s", argv[0], strerror(err));
	/* Not harness_collect: its polling wait costs milliseconds a run, and
	 * the damaged-input test runs the tool a thousand times. Once the
	 * child's stderr is at EOF it has exited (or is about to). */
	int64_t deadline = harness_now() + (int64_t)(harness_timeout(timeout_s) * 1e9);
	bool eof = harness_drain(fds[0], res, deadline);
	close(fds[0]);
	if (!eof) {
		res->timed_out = true;
		kill(pid, SIGKILL);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			FAILF("waitpid: %s", strerror(errno));
	res->exited = WIFEXITED(st);
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		FAILF("open %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (b == NULL)
			FAILF("out of memory");
		size_t k = fread(b + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
		if (cap - n - 1 == 0)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	b[n] = '\0';
	if (len)
		*len = n;
	return b;
}

/* --- a strict JSON syntax check ------------------------------------------ */

struct json {
	const unsigned char *s;
	size_t n, i;
	char *err;
	size_t errlen;
	int depth;
};

static bool jfail(struct json *j, const char *what)
{
	snprintf(j->err, j->errlen, "%s at byte %zu", what, j->i);
	return false;
}

static void jspace(struct json *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' ||
	                       j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

static bool jlit(struct json *j, const char *lit)
{
	size_t k = strlen(lit);
	if (j->n - j->i < k || memcmp(j->s + j->i, lit, k) != 0)
		return jfail(j, "bad literal");
	j->i += k;
	return true;
}

static bool jdigits(struct json *j)
{
	size_t start = j->i;
	while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
		j->i++;
	return j->i > start ? true : jfail(j, "digit expected");
}

static bool jnumber(struct json *j)
{
	if (j->s[j->i] == '-')
		j->i++;
	if (j->i < j->n && j->s[j->i] == '0')
		j->i++;
	else if (!jdigits(j))
		return false;
	if (j->i < j->n && j->s[j->i] == '.') {
		j->i++;
		if (!jdigits(j))
			return false;
	}
	if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		j->i++;
		if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
			j->i++;
		if (!jdigits(j))
			return false;
	}
	return true;
}

static bool jstring(struct json *j)
{
	j->i++; /* the quote */
	while (j->i < j->n) {
		unsigned c = j->s[j->i];
		if (c == '"') {
			j->i++;
			return true;
		}
		if (c < 0x20)
			return jfail(j, "control character in string");
		if (c == '\\') {
			if (++j->i >= j->n)
				break;
			c = j->s[j->i];
			if (c == 'u') {
				for (size_t k = 1; k <= 4; k++)
					if (j->i + k >= j->n || !isxdigit(j->s[j->i + k]))
						return jfail(j, "bad \\u escape");
				j->i += 5;
			} else if (c && strchr("\"\\/bfnrt", (int)c)) {
				j->i++;
			} else {
				return jfail(j, "bad escape");
			}
			continue;
		}
		if (c < 0x80) {
			j->i++;
			continue;
		}
		/* UTF-8: a lead byte and its continuation bytes. */
		size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
		if (len == 0 || c > 0xf4 || j->n - j->i < len)
			return jfail(j, "bad UTF-8");
		for (size_t k = 1; k < len; k++)
			if ((j->s[j->i + k] & 0xc0) != 0x80)
				return jfail(j, "bad UTF-8");
		j->i += len;
	}
	return jfail(j, "unterminated string");
}

static bool jvalue(struct json *j);

static bool jcontainer(struct json *j, char close, bool object)
{
	if (++j->depth > 64)
		return jfail(j, "nested too deep");
	j->i++;
	jspace(j);
	if (j->i < j->n && j->s[j->i] == (unsigned char)close) {
		j->i++;
		j->depth--;
		return true;
	}
	for (;;) {
		jspace(j);
		if (object) {
			if (j->i >= j->n || j->s[j->i] != '"')
				return jfail(j, "key expected");
			if (!jstring(j))
				return false;
			jspace(j);
			if (j->i >= j->n || j->s[j->i] != ':')
				return jfail(j, "':' expected");
			j->i++;
		}
		if (!jvalue(j))
			return false;
		jspace(j);
		if (j->i < j->n && j->s[j->i] == ',') {
			j->i++;
			continue;
		}
		if (j->i < j->n && j->s[j->i] == (unsigned char)close) {
			j->i++;
			j->depth--;
			return true;
		}
		return jfail(j, "',' or end expected");
	}
}

static bool jvalue(struct json *j)
{
	jspace(j);
	if (j->i >= j->n)
		return jfail(j, "value expected");
	switch (j->s[j->i]) {
	case '{': return jcontainer(j, '}', true);
	case '[': return jcontainer(j, ']', false);
	case '"': return jstring(j);
	case 't': return jlit(j, "true");
	case 'f': return jlit(j, "false");
	case 'n': return jlit(j, "null");
	default:
		if (j->s[j->i] == '-' || (j->s[j->i] >= '0' && j->s[j->i] <= '9'))
			return jnumber(j);
		return jfail(j, "unexpected character");
	}
}

bool json_check(const char *s, size_t n, char *err, size_t errlen)
{
	struct json j = {(const unsigned char *)s, n, 0, err, errlen, 0};
	if (!jvalue(&j))
		return false;
	jspace(&j);
	return j.i == n ? true : jfail(&j, "trailing data");
}

/* --- searching output ------------------------------------------------------ */

static bool line_has(const char *line, size_t len, va_list ap)
{
	for (const char *sub; (sub = va_arg(ap, const char *)) != NULL;) {
		size_t k = strlen(sub);
		bool found = false;
		for (size_t i = 0; i + k <= len && !found; i++)
			found = memcmp(line + i, sub, k) == 0;
		if (!found)
			return false;
	}
	return true;
}

static int count_va(const char *text, va_list ap)
{
	int n = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		va_list aq;
		va_copy(aq, ap);
		n += line_has(p, len, aq);
		va_end(aq);
		p += len + (nl != NULL);
	}
	return n;
}

bool has_line(const char *text, ...)
{
	va_list ap;
	va_start(ap, text);
	int n = count_va(text, ap);
	va_end(ap);
	return n > 0;
}

int count_lines(const char *text, ...)
{
	va_list ap;
	va_start(ap, text);
	int n = count_va(text, ap);
	va_end(ap);
	return n;
}

const char *go_tool_path(void)
{
	static char found[PATH_MAX];
	const char *path = getenv("PATH");
	if (path == NULL)
		return NULL;
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(found, sizeof(found), "%s/go", *d ? d : ".");
		if (access(found, X_OK) == 0)
			return found;
	}
	return NULL;
}

/* --- the tool's commands ----------------------------------------------------- */

void trace_tool_exec(const char *cmd, const char *trace, const char *out,
                     double timeout_s, struct child_result *res)
{
	char emu[PATH_MAX];
	char *argv[24];
	int n = 0;
	const char *e = getenv("GORT_TEST_EMULATOR");
	if (e && *e) {
		snprintf(emu, sizeof(emu), "%s", e);
		char *save;
		for (char *w = strtok_r(emu, " ", &save); w && n < 16;
		     w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
	}
	argv[n++] = (char *)trace_tool();
	argv[n++] = (char *)cmd;
	argv[n++] = (char *)trace;
	argv[n++] = (char *)out;
	argv[n] = NULL;
	run_tool(argv, NULL, timeout_s, res);
}

char *trace_tool_run(const char *cmd, const char *trace, const char *out)
{
	struct child_result res;
	trace_tool_exec(cmd, trace, out, 60, &res);
	if (!res.exited || res.status != 0)
		FAILF("gort-trace %s %s: status %d signal %d%s: %s", cmd, trace,
		      res.status, res.signal, res.timed_out ? " (timed out)" : "",
		      res.output);
	return slurp(out, NULL);
}

char *trace_view_json(const char *trace, const char *out)
{
	size_t n;
	char *j = trace_tool_run("view", trace, out);
	n = strlen(j);
	char err[128];
	if (!json_check(j, n, err, sizeof(err)))
		FAILF("gort-trace view: invalid JSON: %s", err);
	if (strstr(j, "\"traceEvents\":[") == NULL)
		FAILF("gort-trace view: no traceEvents");
	return j;
}

char *go_trace_dump(const char *trace, const char *gofile, const char *dump)
{
	free(trace_tool_run("go", trace, gofile));
	const char *go = go_tool_path();
	if (go == NULL) {
		printf("go tool trace: skipped (no go in PATH)\n");
		return NULL;
	}
	char *argv[] = {(char *)go, "tool", "trace", "-d", (char *)gofile, NULL};
	struct child_result res;
	run_tool(argv, dump, 120, &res);
	char *d = slurp(dump, NULL);
	if (!res.exited || res.status != 0)
		FAILF("go tool trace -d: status %d: %s%s", res.status, res.output, d);
	return d;
}
