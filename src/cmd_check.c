/*
 * cmd_check.c - `flowq check QUERY...`: parse and validate each query
 * file and print its plan (SPEC section 7).
 *
 * Diagnostics (errors and warnings, clang-style) go to stderr, the plans
 * to stdout, so `flowq check q.flw 2>/dev/null` shows only plans.  Every
 * file is checked even after one fails, so one run shows every problem.
 * Exit status: 0 all valid (warnings allowed), 1 any query error or
 * unreadable file, 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "fq_error.h"
#include "query.h"

static void
usage(FILE *out)
{
	fputs("usage: flowq check QUERY...\n"
	      "  parse and validate each query file and print its plan\n",
	      out);
}

int
fq_cmd_check(int argc, char **argv)
{
	int first = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--") == 0) {
			first = i + 1;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "flowq check: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (first >= argc) {
		fprintf(stderr, "flowq check: no query file given "
			"(usage: flowq check QUERY...)\n");
		return 2;
	}
	int status = 0;
	int printed = 0;
	for (int i = first; i < argc; i++) {
		if (first == 1 && strcmp(argv[i], "--") == 0)
			continue;
		struct fq_diag d;
		struct fq_query *q = NULL;
		fq_diag_init(&d);
		int rc = fq_query_compile_file(&q, argv[i], &d);
		fq_diag_print(&d, stderr);
		if (rc == -FQ_ENOMEM)
			fprintf(stderr, "%s: error: out of memory\n", argv[i]);
		if (rc < 0) {
			if (d.nerrors > 0)
				fprintf(stderr, "%s: %zu error%s, %zu warning%s\n",
					argv[i], d.nerrors, d.nerrors == 1 ? "" : "s",
					d.nwarnings, d.nwarnings == 1 ? "" : "s");
			status = 1;
		} else {
			if (d.nwarnings > 0)
				fprintf(stderr, "%s: %zu warning%s\n", argv[i],
					d.nwarnings, d.nwarnings == 1 ? "" : "s");
			if (printed++)
				fputc('\n', stdout);
			fq_plan_print(fq_query_plan(q), stdout);
		}
		fq_query_free(q);
		fq_diag_fini(&d);
	}
	fflush(stdout);
	return status;
}
