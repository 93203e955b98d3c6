/*
 * run_args.h - what `flowq run` is told: the command line and the
 * configuration file (config.h), parsed into one struct.
 *
 * Parsing is apart from running so that `flowq check --config` can check
 * a file with the very code that will run it, and a reload can parse a
 * changed file while the old settings keep running.
 */
#ifndef FQ_CLI_RUN_ARGS_H
#define FQ_CLI_RUN_ARGS_H

#include "config.h"
#include "engine.h"
#include "fq_decoder.h"
#include "loop.h"
#include "opts.h"
#include "run_queries.h"

#include <stdint.h>

#define FQ_RUN_MAX_SINKS 32

struct fq_run_args {
	struct fq_engine_opts eo;
	struct fq_decoder_opts dopts;
	struct fq_cli_common cm;
	struct fq_cli_loop_opts lopts;
	int json;
	const char *out_path;
	const char *sink_arg[FQ_RUN_MAX_SINKS];   /* per registry row */
	uint8_t sink_on[FQ_RUN_MAX_SINKS];
	/* Strings below are borrowed from conf.argv, which holds the
	 * command line's words and owns the configuration file's. */
	const char **specs;        /* owned array */
	const char **spec_origin;  /* owned array: per spec, "FILE:L:C" or
				      NULL (borrowed from conf) */
	size_t n_specs;
	const char **qfiles;       /* owned array */
	size_t n_q;
	int from_query;            /* sources are the queries' endpoints */
	const char *metrics_addr;  /* --metrics, or NULL */
	size_t metrics_exporters;  /* --metrics-exporters */
	struct fq_cli_conf conf;
};

/*
 * Parse argv (argv[0] is "run"), with the file of its --config if there
 * is one, into *a (which fq_run_args_fini() releases in every case).
 * Returns 0; -1 for --help (the usage printed); or the exit status, every
 * problem said (2 bad usage, 1 a problem of the configuration file).
 * After a problem of an option, the query files and the sources that
 * were right are still in *a, for `check` to look at.
 */
int fq_run_args_parse(struct fq_run_args *a, int argc, char **argv);

void fq_run_args_fini(struct fq_run_args *a);

/*
 * Without -s, the sources are the queries' input endpoints (SPEC
 * section 3; borrowed from the plans: qs must outlive a->specs).  0, or
 * the exit status (said).
 */
int fq_run_args_sources_from(struct fq_run_args *a,
			     const struct fq_run_queries *qs);

/*
 * The configuration's sources checked without opening anything: socket
 * addresses parse, files are readable.  Every problem is said, with the
 * configuration file's line; 0 or 1.
 */
int fq_run_args_check_sources(const struct fq_run_args *a);

#endif
