/*
 * main.c - gort-trace: read a gort execution trace.
 *
 *   gort-trace view FILE [OUT]    Chrome Trace Event JSON (Perfetto,
 *                                 chrome://tracing), to OUT or stdout
 *   gort-trace stats FILE [OUT]   goroutine analysis as a text table
 *   gort-trace go FILE OUT        Go 1.19 trace format, for go tool trace
 *
 * Exit status: 0 done, 1 the trace cannot be read (with a message on
 * stderr), 2 usage.
 */
#include <errno.h>
#include <string.h>

#include "gort_trace.h"

static int usage(void)
{
	fputs("usage: gort-trace view FILE [OUT.json]\n"
	      "       gort-trace stats FILE [OUT.txt]\n"
	      "       gort-trace go FILE OUT\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4)
		return usage();
	int (*cmd)(const struct trace *, FILE *);
	const char *mode = "w";
	if (strcmp(argv[1], "view") == 0)
		cmd = cmd_view;
	else if (strcmp(argv[1], "stats") == 0)
		cmd = cmd_stats;
	else if (strcmp(argv[1], "go") == 0 && argc == 4)
		cmd = cmd_go, mode = "wb";
	else
		return usage();

	struct trace t;
	char err[256];
	if (trace_read(argv[2], &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "gort-trace: %s: %s\n", argv[2], err);
		return 1;
	}
	FILE *out = stdout;
	if (argc == 4 && (out = fopen(argv[3], mode)) == NULL) {
		fprintf(stderr, "gort-trace: %s: %s\n", argv[3], strerror(errno));
		trace_free(&t);
		return 1;
	}
	int rc = cmd(&t, out);
	if (fflush(out) != 0 || (out != stdout && fclose(out) != 0))
		rc = 1;
	if (rc != 0)
		fprintf(stderr, "gort-trace: writing the output failed\n");
	trace_free(&t);
	return rc;
}
