/*
 * reload.h - SIGHUP: `flowq run` reads its configuration again (the
 * configuration file and the query files) and applies it without a
 * restart.
 *
 * Queries whose file did not change keep running with their state (an
 * open group that spans the reload still matches); changed and removed
 * ones end as at the end of input (their open groups close, their
 * matches go out, counted) and changed and new ones start afresh.  Live
 * sources (sockets) new in the configuration are bound, removed ones
 * closed.  A configuration that does not check -- an option, a query, a
 * source -- is refused with its problems said, and the running one
 * stays.  Options other than sources and queries are fixed at start: a
 * changed one is said to need a restart.  docs/operations.md, "Reload".
 */
#ifndef FQ_CLI_RELOAD_H
#define FQ_CLI_RELOAD_H

#include "engine.h"
#include "fq_ingest.h"
#include "run_args.h"
#include "run_queries.h"

struct fq_run_live {
	const struct fq_run_args *boot;  /* borrowed: the configuration at
					    start; its fixed options hold */
	int argc;
	char **argv;                     /* borrowed: the command line */
	struct fq_engine *eng;           /* borrowed */
	struct fq_ingest *ing;           /* borrowed */
	struct fq_run_queries qs;        /* the queries running, in the
					    engine's order */
	char **specs;                    /* owned (strings too): the live
					    sources running */
	size_t nspecs;
};

/* l->boot, argc, argv, eng, ing and qs set: note the live sources. */
int fq_run_live_init(struct fq_run_live *l);
void fq_run_live_fini(struct fq_run_live *l);

/* Read the configuration again and apply it (see above). */
void fq_run_reload(struct fq_run_live *l);

#endif
