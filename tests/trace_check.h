/*
 * trace_check.h - helpers for the tests of the gort-trace tool
 * (trace_tool_test: synthetic traces; trace_e2e_test: a traced program):
 * running the tool with its output in a file, a strict JSON syntax check,
 * searching the tool's line-per-event output, and `go tool trace -d`.
 */
#ifndef GORT_TEST_TRACE_CHECK_H
#define GORT_TEST_TRACE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* The gort-trace binary the build made, or NULL when tools are off. */
const char *trace_tool(void);

/* A fresh directory (mkdtemp of tmpl, which it rewrites) holding the
 * test's files: trace_path gets tmpl/trace_name, out_path tmpl/out (n
 * bytes each). */
void trace_workdir(char *tmpl, const char *trace_name, char *trace_path, char *out_path,
                   size_t n);

/* run_tool runs argv (NULL-ended; argv[0] a path or a name in PATH) with
 * stdout into out_path (NULL: /dev/null) and stderr into res, at most
 * timeout_s seconds. */
void run_tool(char *const argv[], const char *out_path, double timeout_s,
              struct child_result *res);

/* slurp reads a whole file, NUL-ended; FAILs if it cannot. */
char *slurp(const char *path, size_t *len);

/* json_check: s[0..n) is one JSON value (RFC 8259, UTF-8); else false
 * with a message in err. */
bool json_check(const char *s, size_t n, char *err, size_t errlen);

/* has_line: some line of text holds every one of the NULL-ended
 * substrings. */
bool has_line(const char *text, ...);

/* count_lines: how many lines hold every one of the substrings. */
int count_lines(const char *text, ...);

/* go_tool_path: the go command if one is in PATH, else NULL. */
const char *go_tool_path(void);

/* trace_tool_exec runs `gort-trace cmd trace out` (through
 * $GORT_TEST_EMULATOR in a cross build), stderr into res. */
void trace_tool_exec(const char *cmd, const char *trace, const char *out,
                     double timeout_s, struct child_result *res);

/* trace_tool_run runs `gort-trace cmd trace out`, FAILs unless it exits
 * 0, and returns the output file's content (malloc'd). */
char *trace_tool_run(const char *cmd, const char *trace, const char *out);

/* trace_view_json runs `gort-trace view` and FAILs unless the output is
 * well-formed JSON with a traceEvents array; returns it. */
char *trace_view_json(const char *trace, const char *out);

/* go_trace_dump converts trace with `gort-trace go` into gofile and
 * returns what `go tool trace -d gofile` prints (FAILs if it fails), or
 * NULL, having printed "skipped", when no go is in PATH. dump: a file
 * for its output. */
char *go_trace_dump(const char *trace, const char *gofile, const char *dump);

#endif /* GORT_TEST_TRACE_CHECK_H */
