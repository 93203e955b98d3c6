/*
 * pl.h - the query engine's stages put together: branches, the group
 * filter, the ungrouper and the query that wires them (stage.h says how
 * they meet).  Each stage has its own header: filter.h, grouper.h,
 * merger.h; what all of them share is in pl_base.h.
 */
#ifndef FQ_PL_H
#define FQ_PL_H

#include "filter.h"
#include "grouper.h"
#include "merger.h"
#include "pl_base.h"

/* ---- branches and queries ------------------------------------------- */

struct pl_counters {
	uint64_t filter_out;       /* filter_in is pl_query.records */
	uint64_t grouper_dropped;  /* no group and no module's absolute rules */
	uint64_t groups, groups_closed;
	uint64_t gfilter_out;
	uint64_t late, long_recs, late_join;
	uint64_t closed_early;     /* closed by the --max-state cap */
};

/* A JSON member name made once (match.c): `"name":` and the like,
 * escaped, with its length. */
struct pl_jname {
	char *s;                   /* owned */
	size_t n;
};

/* The member names of a query's output, escaped once (match.c). */
struct pl_outnames {
	const struct fq_plan *plan;   /* borrowed */
	const size_t *order;          /* borrowed: branch indexes by name */
	struct pl_jname jhead;        /* `{"query":"name","match":` */
	struct pl_jname jearly;       /* `{"query":"name","early":` */
	struct pl_jname jretract;     /* `{"query":"name","retract":` */
	struct pl_jname *jkey;        /* owned, per branch: `"name":` */
	struct pl_jname **jagg;       /* owned, per branch, per aggregate:
					 `,"name":` (NULL without grouper) */
};

int pl_outnames_init(struct pl_outnames *n, const char *query,
		     const struct fq_plan *plan, const size_t *order);
void pl_outnames_fini(struct pl_outnames *n);

/* The group filter of a branch (groupfilter.c). */
struct pl_gfilter {
	const struct fq_cnf *cnf;  /* borrowed plan; NULL: all pass */
	struct pl_group_link out;  /* the merger or the ungrouper */
};

void pl_gfilter_init(struct pl_gfilter *gf, const struct fq_cnf *cnf,
		     struct pl_group_link out);
/* struct pl_group_link callbacks; `to` is the struct pl_gfilter. */
void pl_gfilter_group(void *to, struct pl_branch *from, struct pl_group *g);
void pl_gfilter_prefetch(void *to, const struct pl_group *g);

struct pl_branch {
	const struct fq_plan_branch *pb;
	size_t index;              /* in the plan */
	const struct pl_params *p; /* borrowed: the run's parameters */
	struct pl_mem *mem;        /* borrowed: the state total */
	struct pl_rec_pool *pool;  /* borrowed: its query's record pool */
	struct pl_group_link out;  /* where closed groups go: its gf */
	struct pl_group_watch watch;  /* --early; NULL callback without */
	uint8_t keep_recs;         /* records are printed: groups keep them */
	struct pl_grouper gr;
	struct pl_gfilter gf;
	struct pl_counters c;
};

/* The k-th aggregate of g (a group of a branch with a grouper). */
static inline union fq_agg_state *
pl_group_agg(const struct pl_group *g, size_t k)
{
	return (union fq_agg_state *)(void *)((char *)(uintptr_t)g +
					 g->br->gr.agg_off[k]);
}

/* The same for a union() aggregate: its set. */
static inline struct fq_vset *
pl_group_set(const struct pl_group *g, size_t k)
{
	return (struct fq_vset *)(void *)((char *)(uintptr_t)g +
					 g->br->gr.agg_off[k]);
}

/* ---- the ungrouper (ungrouper.c) --------------------------------------- */

struct pl_match {
	struct pl_group **g;       /* owned array, per plan branch */
	int64_t time;
	uint64_t early;            /* --early: the early match it settles */
};

struct pl_cap;
struct fq_match_sink;

struct pl_ungrouper {
	const char *name;          /* borrowed: the query's */
	uint32_t qi;               /* the query's index in the run */
	const struct fq_plan *plan;
	size_t *order;             /* owned: plan branch indexes by name */
	struct pl_outnames names;
	const struct pl_params *p; /* borrowed */
	struct pl_mem *mem;        /* borrowed */
	struct pl_cap *cap;        /* borrowed: --max-state (statecap.c) */
	struct fq_match_sink *const *sinks;  /* borrowed: the run's list */
	uint8_t keep_recs;         /* matches carry their records */
	uint8_t counts_only;       /* every sink only counts (--count) */
	uint64_t matches;          /* emitted */
	/* --early: the number of the early match a final one settles */
	uint64_t (*confirm)(void *ctx, struct pl_group *const *g);
	void *confirm_ctx;
	struct pl_match *batch;    /* owned: --batch matches to sort */
	size_t nbatch, capbatch;
};

int pl_ungrouper_init(struct pl_ungrouper *ug, const char *name, uint32_t qi,
		      const struct fq_plan *plan, const struct pl_params *p,
		      struct pl_mem *mem, struct pl_cap *cap,
		      struct fq_match_sink *const *sinks, int keep_recs);
void pl_ungrouper_fini(struct pl_ungrouper *ug);
/* struct pl_tuple_link / pl_group_link callbacks (`to`: the ungrouper). */
void pl_ungrouper_tuple(void *to, struct pl_group **g, int64_t time);
void pl_ungrouper_group(void *to, struct pl_branch *from, struct pl_group *g);
/* --batch: write the collected matches in SPEC order (end of input). */
void pl_ungrouper_flush(struct pl_ungrouper *ug);
/* The same before the end, past the --max-state cap (counted). */
void pl_ungrouper_flush_early(struct pl_ungrouper *ug);

/* The ungrouper's early output (--early, early.c): an early match E of
 * tuple g, and the retraction of E; data time `time`. */
void pl_ungrouper_early(struct pl_ungrouper *ug, struct pl_group *const *g,
			int64_t time, uint64_t e);
void pl_ungrouper_retract(struct pl_ungrouper *ug, uint64_t e, int64_t time);

/* ---- early matches (early.c) -------------------------------------------- */

struct pl_early;

/* Between a branch's grouper and its group filter (--early). */
struct pl_early_link {
	struct pl_early *ea;
	struct pl_group_link next; /* the group filter */
};

struct pl_early_ent;
struct pl_early_grp;

struct pl_early {
	size_t nb;                 /* plan branches */
	struct pl_mem *mem;        /* borrowed */
	struct pl_merger *mg;      /* borrowed, NULL without merger */
	struct pl_ungrouper *ug;   /* borrowed: where early matches go */
	struct pl_early_link *links;  /* owned, per branch */
	uint64_t next_e;           /* numbers given so far */
	struct pl_early_ent **ents;   /* owned: unsettled, by tuple */
	size_t nents, nents_b;
	struct pl_early_grp *grps; /* owned: open group -> its entries */
	size_t ngrps, ngrps_b;
	uint64_t *ids;             /* owned scratch, per branch */
	struct pl_group **tuple;   /* owned scratch, per branch */
	uint64_t emitted, confirmed, retracted;
};

int pl_early_init(struct pl_early *ea, struct pl_query *q);
void pl_early_fini(struct pl_early *ea);
/* A branch's watch (stage.h): a record joined or started g. */
void pl_early_changed(void *to, struct pl_branch *from, struct pl_group *g);
/* Group link callbacks (`to`: a struct pl_early_link). */
void pl_early_closed(void *to, struct pl_branch *from, struct pl_group *g);
void pl_early_prefetch(void *to, const struct pl_group *g);
/* The ungrouper's question before a final match of tuple g: the number
 * of the early match it settles, or 0. */
uint64_t pl_early_confirm(void *ctx, struct pl_group *const *g);

/* ---- queries (query.c) ------------------------------------------------- */

struct pl_query {
	char *name;                /* owned */
	const struct fq_plan *plan;
	struct pl_branch *br;      /* owned, plan->nbranches */
	struct pl_merger *mg;      /* owned, NULL without merger */
	struct pl_ungrouper ug;
	struct pl_early *early;    /* owned, NULL without --early */
	struct pl_rec_pool pool;
	uint64_t records;          /* seen: every branch's filter_in */
	/* The records engine_records() has looked ahead at (PL_AHEAD): per
	 * record, whether any branch passed it (bit j of ahead_hit), and per
	 * record and branch its filter result and probe hash
	 * (pl_grouper_probe_hash). */
	uint32_t ahead_hit;
	uint8_t *ahead_pass;       /* owned, PL_AHEAD * nbranches */
	uint64_t *ahead_hash;      /* owned, PL_AHEAD * nbranches */
	uint8_t keep_recs;         /* records are printed: closed groups keep
				      them (else only their rec_ids) */
	uint8_t pool_needed;       /* some branch stores records (one
				      without grouper, or one whose groups
				      keep records: grouper.c, "record
				      images") */
	struct pl_filter filter;   /* all branches' filters, shared terms */
};

/*
 * A query of plan (borrowed, must outlive it) named `name` (copied): its
 * branches' stages wired into a chain that ends in the sinks of *sinks.
 * Returns 0 or -FQ_ENOMEM (*out NULL).
 */
int pl_query_new(struct pl_query **out, const char *name, uint32_t qi,
		 const struct fq_plan *plan, const struct pl_params *p,
		 struct pl_mem *mem, struct pl_cap *cap,
		 struct fq_match_sink *const *sinks, int no_records, int early);
void pl_query_free(struct pl_query *q);

#endif
