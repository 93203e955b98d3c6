/*
 * query.h - the public API of the query front end.
 *
 * fq_query_compile() takes the text of a query file (SPEC section 3),
 * lexes, parses and validates it, and on success returns a query that owns
 * one arena holding the AST and the plan (plan.h) the engine executes.
 * Errors and warnings are appended to a caller-owned struct fq_diag
 * (diag.h); nothing is printed.
 *
 *	struct fq_diag d;
 *	struct fq_query *q;
 *	fq_diag_init(&d);
 *	int rc = fq_query_compile_file(&q, "q.flw", &d);
 *	fq_diag_print(&d, stderr);          // errors and warnings
 *	if (rc == 0) {
 *		const struct fq_plan *p = fq_query_plan(q);
 *		...                          // valid until fq_query_free(q)
 *		fq_query_free(q);
 *	}
 *	fq_diag_fini(&d);
 */
#ifndef FQ_QUERY_H
#define FQ_QUERY_H

#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "plan.h"

struct fq_query;

/*
 * Compile `len` bytes of `text` (need not be NUL-terminated; copied).
 * `filename` names the file in diagnostics and in the plan.
 * Returns 0 and sets *out (owned by the caller, free with fq_query_free)
 * when there is no error (warnings allowed); -FQ_EPARSE with *out = NULL
 * when the file has errors (all of them are in *diag); -FQ_ENOMEM.
 */
int fq_query_compile(struct fq_query **out, const char *filename,
		     const char *text, size_t len, struct fq_diag *diag);

/* Read the file and compile it; -FQ_EIO (reported in *diag) if unreadable. */
int fq_query_compile_file(struct fq_query **out, const char *path,
			  struct fq_diag *diag);

/* The plan; owned by the query, valid until fq_query_free(). */
const struct fq_plan *fq_query_plan(const struct fq_query *q);

/* Frees the query, its arena, AST and plan.  NULL is accepted. */
void fq_query_free(struct fq_query *q);

/* Print the plan for a person (`flowq check`). */
void fq_plan_print(const struct fq_plan *plan, FILE *out);

#endif
