/*
 * plan.h - the compiled form of a query, what the engine executes.
 *
 * The front end (query.h) turns a query file into this plan once; nothing
 * in it needs a string lookup at run time.  Fields are resolved to
 * `const struct fq_field *` (offset + type, fq_field.h), group values to a
 * slot (aggregate index or one of the four built-in group values),
 * constants are typed (int64, address with prefix length, sorted and merged
 * range sets), comparison operators are enums, Allen relations a bit set.
 *
 * Shape: a plan has branches (in the order their wiring appears), each with
 * its own instance of filter, grouper and group filter (a definition wired
 * into several branches is compiled once per branch, because a group
 * filter's names resolve against that branch's aggregates), then at most
 * one merger and the ungrouper flag.
 *
 * Ownership: every pointer in a plan points into the arena of the struct
 * fq_query that produced it and lives until fq_query_free().  Names are
 * NUL-terminated and for printing only.
 */
#ifndef FQ_PLAN_H
#define FQ_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "fq_agg.h"
#include "fq_allen.h"
#include "fq_cset.h"
#include "fq_field.h"
#include "fq_ip.h"
#include "fq_vtype.h"

/* Comparison operators (filter terms, grouper and merger rules). */
enum fq_op {
	FQ_OP_EQ, FQ_OP_NE, FQ_OP_LT, FQ_OP_GT, FQ_OP_LE, FQ_OP_GE,
	FQ_OP_IN,      /* membership, or subset when both sides are sets */
	FQ_OP_NOTIN,   /* negation of FQ_OP_IN */
	FQ_OP_FILTER,  /* term is another filter (composite filter) */
};

/* Built-in group values and where a group-level operand reads from. */
enum fq_gval {
	FQ_G_STIME,     /* min stime of the group's records */
	FQ_G_ETIME,     /* max etime */
	FQ_G_DURATION,  /* etime - stime */
	FQ_G_RECORDS,   /* number of records */
	FQ_G_AGG,       /* aggregate number `agg` of the branch's grouper */
	FQ_G_FIELD,     /* branch without grouper: the record's `field` */
};

enum fq_operand_kind {
	FQ_O_FIELD,     /* record field (filter, grouper rules) */
	FQ_O_GROUP,     /* group value (group filter, merger) */
	FQ_O_INT,       /* constant */
	FQ_O_IP,        /* constant address, prefix length `plen` */
	FQ_O_SET,       /* constant set */
};

enum fq_fn {
	FQ_FN_NONE,
	FQ_FN_BITAND,   /* value & mask */
	FQ_FN_BITOR,    /* value | mask */
};

struct fq_operand {
	enum fq_operand_kind kind;
	enum fq_vtype vtype;
	enum fq_fn fn;               /* applied to FIELD/GROUP int values */
	int64_t mask;                /* argument of fn */
	const struct fq_field *field;  /* FQ_O_FIELD; FQ_O_GROUP with FQ_G_FIELD */
	enum fq_gval gval;           /* FQ_O_GROUP */
	uint16_t agg;                /* FQ_O_GROUP with FQ_G_AGG */
	uint16_t branch;             /* FQ_O_GROUP in a merger: module slot */
	int64_t i;                   /* FQ_O_INT */
	struct fq_ip ip;             /* FQ_O_IP */
	uint8_t plen;                /* FQ_O_IP: 32/128 for a plain address */
	const struct fq_set *set;    /* FQ_O_SET */
	const char *text;            /* as written, for printing */
};

struct fq_cnf;
struct fq_plan_partition;

/*
 * One term: `l op r`, negated when `negate` (NOT).  With `has_delta` the
 * comparison is the tolerant one of SPEC section 4 (|l - r| <= delta for
 * `=`, ...).  For FQ_OP_FILTER, `sub` is the referenced filter's CNF.
 */
struct fq_term {
	enum fq_op op;
	uint8_t negate;
	uint8_t has_delta;
	int64_t delta;
	struct fq_operand l, r;
	const struct fq_cnf *sub;
	uint32_t line;               /* source line, for messages */
};

/* A clause (one source line): its terms are ORed. */
struct fq_clause {
	size_t n;
	const struct fq_term *terms;
};

/* A filter: its clauses are ANDed.  n == 0 passes everything. */
struct fq_cnf {
	size_t n;
	const struct fq_clause *clauses;
};

/* ---- grouper ---------------------------------------------------------- */

enum fq_gref { FQ_REF_FIRST, FQ_REF_LAST };

/*
 * Relative rule `a op b [delta|rdelta D]`: op(R.a, r.b) where R is the
 * group's first record (no delta, or delta) or last record (rdelta).
 */
struct fq_grule {
	enum fq_op op;
	const struct fq_field *a;    /* read from R (the group's record) */
	const struct fq_field *b;    /* read from r (the new record) */
	enum fq_gref ref;
	uint8_t has_delta;
	int64_t delta;
	uint8_t is_time;             /* bounds the group's deadline (below) */
	uint32_t line;
};

/*
 * Key equality `a = b` with no delta: R.a == r.b.  The engine can hash the
 * tuple (R.a...) of each open group and probe with (r.b...); a new group
 * started by r gets key (r.a...).
 */
struct fq_gkey {
	const struct fq_field *a;
	const struct fq_field *b;
	uint32_t line;
};

/*
 * A time rule: a relative rule on stime/etime whose operator bounds r.stime
 * from above (`=`, `<`, `<=` with delta/rdelta, r.b being stime or etime):
 * the group's deadline (SPEC section 5) is min over them of R.a + delta.
 */
struct fq_gtime {
	const struct fq_field *a;    /* stime or etime of R */
	enum fq_gref ref;            /* R = first (delta) or last (rdelta) */
	int64_t delta;               /* ms */
};

struct fq_gmodule {
	const char *name;
	struct fq_cnf abs;           /* absolute rules, one per clause */
	size_t nkeys;
	const struct fq_gkey *keys;
	size_t nrel;                 /* relative rules (time rules included) */
	const struct fq_grule *rel;
	size_t ntime;
	const struct fq_gtime *time; /* ntime == 0: deadline is G.stime + W */
};

/* One aggregate: function (fq_agg.h), its argument, result type, name. */
struct fq_agg {
	enum fq_agg_fn fn;
	const struct fq_field *field;
	enum fq_vtype vtype;         /* type of the result */
	const char *name;            /* output and reference name */
};

struct fq_plan_grouper {
	const char *name;
	size_t nmodules;
	const struct fq_gmodule *modules;
	size_t naggs;
	const struct fq_agg *aggs;
};

/* ---- merger ----------------------------------------------------------- */

/*
 * The Allen terms between one pair of branches (module slots a < b), an
 * OR-set: the pair matches if x = group of a, y = group of b satisfy
 * some relation r in rels with tolerance delta[r] (0 when not given;
 * has_delta bit r says whether it was written).  Terms written as `b r a`
 * are stored inverted.
 */
struct fq_allen {
	uint16_t a, b;
	uint16_t rels;
	uint16_t has_delta;
	int64_t delta[FQ_AL_COUNT];
	uint8_t bounded;             /* every relation bounds y's time from x's */
	uint32_t line;
};

struct fq_mmodule {
	const char *name;            /* "(implicit)" for the implicit module */
	size_t nbranches;
	const uint16_t *branches;    /* slot -> index into fq_plan.branches */
	struct fq_cnf rules;         /* operands FQ_O_GROUP with .branch slots */
	size_t nallen;
	const struct fq_allen *allen;
	uint8_t is_export;
	uint8_t bounded;             /* Allen graph connects all slots with
	                                bounded relations */
};

struct fq_plan_merger {
	const char *name;
	size_t nmodules;
	const struct fq_mmodule *modules;
	size_t export_idx;           /* index into modules */
};

/* ---- query ------------------------------------------------------------ */

struct fq_plan_branch {
	const char *name;
	const char *filter_name;           /* NULL if none */
	const struct fq_cnf *filter;       /* NULL: every record passes */
	const struct fq_plan_grouper *grouper;  /* NULL: groups of one */
	const char *groupfilter_name;
	const struct fq_cnf *groupfilter;  /* NULL: every group passes */
};

struct fq_endpoint {
	const char *text;            /* unquoted */
	uint32_t line;
};

struct fq_plan {
	const char *file;
	size_t nbranches;
	const struct fq_plan_branch *branches;
	const struct fq_plan_merger *merger;  /* NULL: single branch */
	const char *ungrouper;       /* name, NULL: no ungrouper */
	size_t ninputs;
	const struct fq_endpoint *inputs;     /* default sources */
	size_t noutputs;
	const struct fq_endpoint *outputs;    /* accepted, ignored */
	/* The partition planner's answer (partition.h), set by
	 * fq_query_compile(); NULL in a plan built otherwise. */
	const struct fq_plan_partition *partition;
};

/* ---- names, for printing (plan.c) ------------------------------------- */

/* "=", "!=", ..., "in", "notin". */
const char *fq_op_name(enum fq_op op);
const char *fq_vtype_name(enum fq_vtype t);

#endif
