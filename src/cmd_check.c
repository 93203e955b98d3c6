/*
 * cmd_check.c - `flowq check QUERY...`: parse and validate each query
 * file and print its plan (SPEC section 7).
 *
 * Diagnostics (errors and warnings, clang-style) go to stderr, the plans
 * to stdout, so `flowq check q.flw 2>/dev/null` shows only plans.  After
 * each plan, its timing: how late a final match can come with the
 * streaming options given (--window, --max-duration, --lateness, --batch:
 * those of `run`, defaults otherwise) and whether --early alerts sooner.  Every
 * file is checked even after one fails, so one run shows every problem.
 * Exit status: 0 all valid (warnings allowed), 1 any query error or
 * unreadable file, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "engine.h"
#include "fq_error.h"
#include "fq_source.h"
#include "fq_time.h"
#include "query.h"
#include "run_args.h"

static void
usage(FILE *out)
{
	fputs("usage: flowq check [--window D] [--max-duration D] [--lateness D]\n"
	      "                   [--batch] QUERY...\n"
	      "  parse and validate each query file, print its plan and how\n"
	      "  late its final matches can come with these options\n"
	      "       flowq check --config FILE [RUN-OPTION...] [QUERY...]\n"
	      "  check a run's whole configuration: every option, query and\n"
	      "  source, problems said with the file's line and column\n",
	      out);
}

/* A streaming option of `run` (argv[*i], its value argv[*i + 1]): 1 if
 * taken, 0 if not one, -1 on a bad value (said). */
static int
timing_option(int argc, char **argv, int *i, struct fq_engine_opts *o)
{
	static const char *const names[] = { "--window", "--max-duration",
					      "--lateness" };
	int64_t *dst[] = { &o->window, &o->max_duration, &o->lateness };
	if (strcmp(argv[*i], "--batch") == 0) {
		o->batch = 1;
		return 1;
	}
	for (size_t k = 0; k < 3; k++) {
		if (strcmp(argv[*i], names[k]) != 0)
			continue;
		if (*i + 1 >= argc ||
		    fq_time_parse_duration(argv[*i + 1], dst[k]) < 0) {
			fprintf(stderr, "flowq check: %s needs a duration (use ms, "
				"s, min, h or inf, e.g. 90s)\n", names[k]);
			return -1;
		}
		(*i)++;
		return 1;
	}
	return 0;
}

/* The query's own input endpoints (a run without -s reads them); 0 or 1. */
static int
check_inputs(const char *path, const struct fq_plan *p)
{
	int bad = 0;
	for (size_t k = 0; k < p->ninputs; k++) {
		char why[512];
		if (fq_source_check(p->inputs[k].text, why, sizeof why) < 0) {
			fprintf(stderr, "%s: error: %s\n", path, why);
			bad = 1;
		}
	}
	return bad;
}

/* Compile one query file, print its diagnostics, and its plan and timing
 * when it is valid (*printed: plans so far); with `inputs`, check its
 * input endpoints too.  0, or 1 on an error. */
static int
check_query(const char *path, const struct fq_engine_opts *eo, int *printed,
	    int inputs)
{
	struct fq_diag d;
	struct fq_query *q = NULL;
	fq_diag_init(&d);
	int rc = fq_query_compile_file(&q, path, &d);
	fq_diag_print(&d, stderr);
	if (rc == -FQ_ENOMEM)
		fprintf(stderr, "%s: error: out of memory\n", path);
	if (rc < 0 && d.nerrors > 0)
		fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", path,
			d.nerrors, d.nerrors == 1 ? "" : "s", d.nwarnings,
			d.nwarnings == 1 ? "" : "s");
	if (rc == 0) {
		if (d.nwarnings > 0)
			fprintf(stderr, "%s: %zu warning%s\n", path, d.nwarnings,
				d.nwarnings == 1 ? "" : "s");
		if ((*printed)++)
			fputc('\n', stdout);
		fq_plan_print(fq_query_plan(q), stdout);
		fq_engine_print_timing(fq_query_plan(q), eo, stdout);
		if (inputs)
			rc = -check_inputs(path, fq_query_plan(q));
	}
	fq_query_free(q);
	fq_diag_fini(&d);
	return rc < 0;
}

/*
 * `flowq check --config FILE [options] [QUERY...]`: the whole run
 * configuration, read by the code `run` uses (run_args.h) -- every
 * option and its value, every query, every source's spelling.  Every
 * problem is said; "FILE: ok" on stdout when there is none.
 */
static int
check_config(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 1, sizeof *v);
	if (v == NULL)
		return 1;
	v[0] = "run";
	for (int i = 1; i < argc; i++)
		v[i] = argv[i];
	struct fq_run_args a;
	int status = fq_run_args_parse(&a, argc, v);
	if (status == -1) {
		status = 0;   /* --help: run's usage was printed */
	} else if (a.conf.argv) {
		/* The queries and sources too after a wrong option: one
		 * check says every problem. */
		int printed = 0, bad = 0;
		for (size_t i = 0; i < a.n_q; i++)
			bad |= check_query(a.qfiles[i], &a.eo, &printed,
					   a.n_specs == 0);
		bad |= fq_run_args_check_sources(&a);
		if (status == 0)
			status = bad;
		if (status == 0)
			printf("%s%s: ok (%zu quer%s, %zu source%s%s)\n",
			       printed ? "\n" : "", a.conf.path, a.n_q,
			       a.n_q == 1 ? "y" : "ies", a.n_specs,
			       a.n_specs == 1 ? "" : "s",
			       a.n_specs ? "" : ": the queries' own");
	}
	fflush(stdout);
	fq_run_args_fini(&a);
	free(v);
	return status;
}

static int
has_config(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--config") == 0 ||
		    strncmp(argv[i], "--config=", 9) == 0)
			return 1;
	return 0;
}

int
fq_cmd_check(int argc, char **argv)
{
	if (has_config(argc, argv))
		return check_config(argc, argv);
	struct fq_engine_opts eo;
	fq_engine_opts_default(&eo);
	char **files = calloc((size_t)argc + 1, sizeof *files);
	int nfiles = 0, opts_done = 0;
	if (files == NULL)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!opts_done && (strcmp(argv[i], "-h") == 0 ||
				   strcmp(argv[i], "--help") == 0)) {
			usage(stdout);
			free(files);
			return 0;
		}
		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (!opts_done && argv[i][0] == '-' && argv[i][1] != '\0') {
			int k = timing_option(argc, argv, &i, &eo);
			if (k > 0)
				continue;
			if (k == 0)
				fprintf(stderr, "flowq check: unknown option '%s'\n",
					argv[i]);
			free(files);
			return 2;
		}
		files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		fprintf(stderr, "flowq check: no query file given "
			"(usage: flowq check QUERY...)\n");
		free(files);
		return 2;
	}
	int status = 0;
	int printed = 0;
	for (int f = 0; f < nfiles; f++)
		status |= check_query(files[f], &eo, &printed, 0);
	fflush(stdout);
	free(files);
	return status;
}
