/*
 * filter.h - the filters of a query's branches (SPEC section 4, Filter):
 * records in, per branch passed or not.  All branches of a query share
 * one struct pl_filter, so that a term several branches use is evaluated
 * once per record (filter.c).
 */
#ifndef FQ_PL_FILTER_H
#define FQ_PL_FILTER_H

#include "pl_base.h"


struct pl_fclause {
	size_t n;
	uint32_t *terms;           /* owned: indexes into pl_filter.terms */
};

/* One `field op integer` comparison of the straight-line form. */
struct pl_fcmp {
	int64_t c;
	uint32_t off;              /* of the field in struct fq_record */
	uint8_t width;             /* 1, 2, 4 or 8 bytes (8: as int64) */
	uint8_t mask;              /* results by (x < c, x == c, x > c) */
};

struct pl_fbranch {
	size_t nclauses;           /* 0: every record passes */
	struct pl_fclause *clauses;  /* owned */
	/* The straight-line form, when each clause is one `field op
	 * integer` on a stored field (filter.c, compile_conj): the
	 * comparisons, all evaluated, no branch on their results. */
	struct pl_fcmp conj[8];
	uint8_t nconj;
};

struct pl_filter {
	const struct fq_term **terms;  /* owned array of borrowed plan terms */
	size_t nterms;
	uint32_t *memo;            /* owned: gen << 1 | result, per term */
	uint32_t gen;
	struct pl_fbranch *br;     /* owned, per branch */
	size_t nbranches;
	struct pl_fterm *fast;     /* owned, per term (filter.c) */
	uint8_t straight;          /* every branch has the straight-line
				      form */
};

int pl_filter_init(struct pl_filter *f, const struct fq_plan *p);
void pl_filter_fini(struct pl_filter *f);
/* Sets pass[b] for every branch; returns 1 if any branch passed. */
int pl_filter_record(struct pl_filter *f, const struct fq_record *r,
		     uint8_t *pass);
/* The same for records recs[0..m), m <= PL_AHEAD: pass[j * nbranches +
 * b] for record j; returns a mask with bit j set if record j passed some
 * branch. */
uint32_t pl_filter_records(struct pl_filter *f, const struct fq_record *recs,
			   size_t m, uint8_t *pass);

#endif
