/*
 * merger_int.h - the merger's parts and what they share: merger.c (the
 * join, tuples and subtraction), merger_plan.c (what the modules give
 * once), merger_store.c (stored groups and their indexes),
 * merger_horizon.c (when a stored group goes) and merger_shed.c (the
 * --max-state cap).  Nothing outside the merger includes it.
 */
#ifndef FQ_PL_MERGER_INT_H
#define FQ_PL_MERGER_INT_H

#include "pl.h"

/* Most slots (branches) a module may list: a slot is a bit of a mask. */
#define PL_SLOT_MAX 64

static inline int64_t
pl_sat_add(int64_t a, int64_t b)
{
	if (a == FQ_TIME_INF || b == FQ_TIME_INF)
		return FQ_TIME_INF;
	if (a == INT64_MIN || b == INT64_MIN)
		return INT64_MIN;
	if (b > 0 && a > FQ_TIME_INF - b)
		return FQ_TIME_INF;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static inline int64_t
pl_term_delta(const struct fq_allen *al, int r)
{
	return (al->has_delta & (1u << r)) ? al->delta[r] : -1;
}

/* Per module: slot masks of clauses and all-pairs stime bounds. */
struct pl_mod {
	const struct fq_mmodule *m;
	uint64_t *clause_mask;     /* owned, per clause */
	int64_t *dist;             /* owned, nslots^2: y.stime <= x.etime + d */
	int is_export;
};

struct pl_merger_x {
	struct pl_merger pub;
	struct pl_mod *mods;       /* owned, per module */
	int has_sub;
	struct pl_group **emit;    /* owned scratch, per plan branch: a
				      match emitted at once (no tuple) */
	struct pl_probe *probes;   /* owned: the first probe of each module
				      slot (pl_merger_prefetch) */
	size_t nprobes;
};

/* Where join_rec() looks first for partners of a new group of `branch`
 * in one module slot: index `attr` of the store of `store`, with the
 * group's values of ops. */
struct pl_probe {
	size_t branch, store;
	int attr;
	const struct fq_operand *ops[PL_ATTR_OPS];
	size_t nops;
};

static inline struct pl_mod *
pl_mods_of(struct pl_merger *mg)
{
	return ((struct pl_merger_x *)mg)->mods;
}

#define PL_WHEEL_N 4096   /* buckets: a power of two, 68 min of seconds */

struct pl_wbucket {
	struct pl_group **g;       /* owned array of borrowed groups */
	uint32_t n, cap;
};

struct pl_wheel {
	struct pl_wbucket b[PL_WHEEL_N];
	int64_t cur;               /* next second to empty */
	size_t n;                  /* groups in the wheel */
	int started;
};

/*
 * The first two cache lines of a stored group: refs, then what dropping
 * it reads (stored, drop_at, wi, shash; pl.h, struct pl_group).  Walks
 * over groups far apart in memory fetch them a few groups ahead.
 */
static inline void
pl_prefetch_head(const struct pl_group *g)
{
	__builtin_prefetch(g);
	__builtin_prefetch((const char *)g + 64);
}

/*
 * The term of a clause that is a plain equality between two group values
 * (`A.x = B.y`, no delta, not negated), or NULL: what the join can look up
 * in a store's hash index instead of scanning.
 */
static inline const struct fq_term *
pl_group_eq_term(const struct fq_clause *cl)
{
	if (cl->n != 1)
		return NULL;
	const struct fq_term *t = &cl->terms[0];
	if (t->op != FQ_OP_EQ || t->has_delta || t->negate ||
	    t->l.kind != FQ_O_GROUP || t->r.kind != FQ_O_GROUP)
		return NULL;
	return t;
}

/*
 * An equality the store indexes: pl_group_eq_term() between two different
 * slots of values of one type that hashes by value (not real numbers,
 * whose equal values can differ in bits, e.g. 0.0 and -0.0).
 */
static inline const struct fq_term *
pl_indexable_term(const struct fq_clause *cl)
{
	const struct fq_term *t = pl_group_eq_term(cl);
	if (t == NULL || t->l.branch == t->r.branch ||
	    t->l.vtype != t->r.vtype || t->l.vtype == FQ_V_REAL)
		return NULL;
	return t;
}

/* ---- merger_plan.c ------------------------------------------------------ */

/* Bound of b's stime from a's etime for Allen term al (a, b slots):
 * y.stime <= x.etime + bound; FQ_TIME_INF when there is none. */
int64_t pl_allen_offset(const struct fq_allen *al, int from_a);
int pl_mod_init(struct pl_merger *mg, struct pl_mod *pm,
	     const struct fq_mmodule *m);
/* The keys by which a subtracting module joins a branch the export
 * module does not list (what unsure() looks up). */
void pl_mark_sub_keys(struct pl_merger *mg);
/* The first probe of every module slot, for pl_merger_prefetch. */
int pl_probes_init(struct pl_merger_x *x);

/* ---- merger_store.c ----------------------------------------------------- */

/* Index of the store's attribute on exactly ops, or -1. */
int pl_attr_find(const struct pl_store *s, const struct fq_operand *const *ops,
	      size_t n);
/* An index on ops, unless the store has one; 0 or -1. */
int pl_attr_register(struct pl_store *s, const struct fq_operand *const *ops,
		  size_t n);
/* The hash of g's values of ops (what an index files it under). */
uint64_t pl_ops_hash(const struct pl_group *g, const struct fq_operand *const *ops,
		  size_t n);
/* The same through the merger's memo of latest answers. */
uint64_t pl_ops_hash_memo(struct pl_merger *mg, const struct pl_group *g,
		       const struct fq_operand *const *ops, size_t n);
void pl_sbuckets_free(struct pl_sbucket *b, size_t nb, struct pl_mem *mem);
/* The indexable equalities between slots x and y: y's operands into
 * mine[], x's into other[]; how many (at most PL_ATTR_OPS). */
size_t pl_pair_terms(const struct fq_mmodule *m, size_t x, size_t y,
		  const struct fq_operand **mine,
		  const struct fq_operand **other);
/* First index with stime >= t. */
size_t pl_store_lower(const struct pl_store *s, int64_t t);
/* File g in store s (a reference taken); 0 or -1. */
int pl_store_insert(struct pl_merger *mg, struct pl_store *s, struct pl_group *g,
		 struct pl_mem *mem);
/* File g under index a with hash h; 0 or -1.  Take it out again. */
int pl_attr_insert(struct pl_attr *a, struct pl_group *g, uint64_t h,
		   struct pl_mem *mem);
void pl_attr_remove(struct pl_attr *a, struct pl_group *g, uint64_t h,
		    struct pl_mem *mem);
/* Remove dropped groups (stored == 0) from the sorted array. */
void pl_store_compact(struct pl_store *s);
/* What pl_store_drop() will read for g, fetched. */
void pl_store_prefetch_drop(const struct pl_store *s, const struct pl_group *g);
/* g leaves the indexes now and the array at the next compaction. */
void pl_store_drop(struct pl_store *s, struct pl_group *g, struct pl_mem *mem);

/* ---- merger_horizon.c --------------------------------------------------- */

int pl_wheel_add(struct pl_wheel *w, struct pl_group *g, struct pl_mem *mem);
void pl_wheel_remove(struct pl_wheel *w, struct pl_group *g);
void pl_wheel_fini(struct pl_wheel *w, struct pl_mem *mem);
/* Latest time a partner of g (stored in branch b) can arrive, or
 * INT64_MIN when no module lists b. */
int64_t pl_drop_time(struct pl_merger *mg, struct pl_group *g, size_t b);
/* Stream time is T (end: the end of input): drop what the front passed. */
void pl_merger_horizon(struct pl_merger *mg, int64_t T, int end);

/* ---- merger_open.c (--early) -------------------------------------------- */

int pl_ostores_init(struct pl_merger *mg);
void pl_ostores_free(struct pl_merger *mg);
/* The i-th open group of an index (i < o->n). */
struct pl_group *pl_ostore_at(const struct pl_ostore *o, size_t i);

/* ---- merger.c / merger_shed.c ------------------------------------------- */

void pl_tuple_free(struct pl_merger *mg, struct pl_tuple *t);
/* Remember g's keys for unsure() before it is evicted. */
void pl_evicted_note(struct pl_store *s, struct pl_group *g, struct pl_mem *mem);

#endif
