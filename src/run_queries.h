/*
 * run_queries.h - the query files of a run: read, compiled, named, and
 * kept with the bytes they were compiled from, so that a reload can tell
 * an unchanged query (kept running, its state intact) from a changed one.
 */
#ifndef FQ_CLI_RUN_QUERIES_H
#define FQ_CLI_RUN_QUERIES_H

#include <stddef.h>

#include "query.h"

struct fq_run_query {
	char *path;            /* owned: as the configuration names it */
	char *name;            /* owned: the file name without directory
				  and extension, its label in the output */
	char *text;            /* owned: the bytes compiled */
	size_t len;
	struct fq_query *q;    /* owned */
};

struct fq_run_queries {
	struct fq_run_query *v;   /* owned array */
	size_t n;
};

/*
 * Read and compile each of paths[0..n) into qs (empty before), every
 * diagnostic printed to stderr.  0, or 1 when any has an error (qs then
 * holds those that compiled).
 */
int fq_run_queries_load(struct fq_run_queries *qs, const char *const *paths,
			size_t n);

/* The index in qs of a query with the same path and bytes as q, or -1. */
long fq_run_queries_find(const struct fq_run_queries *qs,
			 const struct fq_run_query *q);

/* Move v[i] to the end of dst (it leaves src, whose order is kept). */
int fq_run_queries_move(struct fq_run_queries *dst,
			struct fq_run_queries *src, size_t i);

void fq_run_queries_fini(struct fq_run_queries *qs);

#endif
