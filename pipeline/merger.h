/*
 * merger.h - the merger of a query (SPEC sections 4 and 5): closed groups
 * of every branch in, tuples of groups out through its tuple link
 * (stage.h).  merger.c says how it joins, stores and drops.
 */
#ifndef FQ_PL_MERGER_H
#define FQ_PL_MERGER_H

#include "pl_base.h"

struct pl_branch;

/* An attribute of a branch's groups used as an equality join key. */
/*
 * A hash index of a store on one group value, or on several at once: the
 * values a slot's equality clauses to one other slot compare (`A.srcip =
 * B.dstip` and `A.srcports = B.dstports` make one index on B's dstip and
 * dstports), so that a probe walks only the groups that agree on all of
 * them.  Buckets are arrays (merger.c, sbucket_push).
 */
#define PL_ATTR_OPS 8

struct pl_sent {                 /* a stored group in an index */
	uint64_t hash;             /* of its values of the index's ops */
	int64_t stime;             /* g->stime */
	struct pl_group *g;        /* borrowed: the store holds it */
};

struct pl_sbucket {
	struct pl_sent *v;         /* owned, or in; read from the end */
	uint32_t n, cap;
	struct pl_sent in[2];      /* v while the bucket holds at most two
				      (most do, the table being at most
				      full): no allocation, and a bucket is
				      one cache line */
};

struct pl_attr {
	const struct fq_operand *ops[PL_ATTR_OPS];  /* borrowed plan operands */
	size_t nops;
	struct pl_sbucket *b;      /* owned hash index of stored groups */
	size_t nb, n;
	int64_t *evicted;          /* owned, NULL until the cap evicts: per
				      key hash slot, the largest stime
				      evicted (merger.c, unsure()) */
	size_t nevicted;           /* slots, a power of two */
	uint8_t sub_key;           /* a subtracting module joins a free slot
				      on it: unsure() needs `evicted` */
};

struct pl_store {                /* stored (closed, passed) groups */
	struct pl_group **byst;    /* owned: sorted by (stime, seq), each
				      holding a reference; dead entries
				      (stored == 0) stay until compacted */
	int64_t *st;               /* owned: st[i] = byst[i]->stime, so that
				      searches do not touch the groups */
	size_t n, cap, dead;
	size_t evict_from;         /* --max-state: entries before it are dead
				      or held by a pending tuple */
	int64_t max_span;          /* largest etime - stime stored so far */
	int64_t evicted_stime;     /* largest stime evicted by the cap, or
				      INT64_MIN: see merger.c, unsure() */
	struct pl_attr *attrs;     /* owned */
	size_t nattrs;
};

struct pl_tuple {
	struct pl_group **g;       /* per plan branch (NULL if not in it) */
	int64_t time;              /* largest etime */
	int64_t release;           /* pending: emit once T > release */
	uint64_t seq;              /* discovery order, breaks ties */
	struct pl_tuple *next;
};

struct pl_query;

/*
 * --early (merger_open.c): the open groups of a branch that pass its
 * group filter now, filed like the branch's store.
 */
struct pl_og;
struct pl_ostore {
	struct pl_attr *attrs;     /* owned: the store's indexes, own buckets */
	size_t nattrs;
	struct pl_og **v;          /* owned: every entry, unordered */
	size_t n, cap;
};

struct pl_omap {                 /* group address -> entry */
	struct pl_og **v;          /* owned: open addressing, NULL = empty */
	size_t nb, n;
};

/*
 * --early: what the merger tells the early layer (early.c) of the tuples
 * its final evaluation found: one that waits for its release time (a
 * subtracting module may still reject it), one that will not come out
 * after all (rejected, or dropped by the --max-state cap).  g is per
 * plan branch, borrowed for the call.
 */
struct pl_merger_watch {
	void (*pending)(void *ctx, struct pl_group *const *g, int64_t time);
	void (*dropped)(void *ctx, struct pl_group *const *g);
	void *ctx;
};

/* What the merger counts (pl_query's statistics read them). */
struct pl_merger_counters {
	uint64_t tuples;           /* export tuples found */
	uint64_t rejected;         /* removed by subtracting modules */
	uint64_t dropped_groups;   /* horizon drops */
	uint64_t evicted;          /* stored groups evicted by the cap */
	uint64_t tuples_dropped;   /* pending/new tuples the cap made
				      undecidable */
};

struct pl_merger {
	const struct fq_plan_merger *pm;
	const struct fq_plan *plan;
	const struct pl_params *p; /* borrowed */
	struct pl_mem *mem;        /* borrowed: the state total */
	struct pl_branch *br;      /* borrowed: the query's branches, for
				      their fronts (pl_grouper_front) */
	struct pl_tuple_link out;  /* where tuples go */
	struct pl_merger_counters c;
	/* --early (NULL / empty without): open groups by branch, and who is
	 * told of pending and dropped tuples */
	struct pl_ostore *ostores; /* owned, per plan branch */
	struct pl_omap omap;
	struct pl_merger_watch watch;
	struct pl_store *stores;   /* owned, per plan branch */
	int64_t *off;              /* owned: per module, per slot pair: bound */
	struct pl_tuple *pending;  /* owned list: export tuples awaiting T */
	uint64_t next_seq;
	int64_t next_release;      /* min release of the pending tuples */
	struct pl_wheel *drops;    /* owned: stored groups by drop_at
				      (merger.c, "the drop wheel") */
	int64_t front;             /* streaming: no group still to come to
				      a branch a module lists starts before
				      it (pl_grouper_front); never falls */
	int64_t front_sec;         /* the second of T it was computed in */
	uint8_t *listed;           /* owned, per plan branch: some module
				      lists it */
	size_t npending;
	int pending_sorted;        /* --max-state: by release, this round */
	/* join scratch */
	struct pl_group **bind;    /* per slot */
	/* Hashes of groups' values lately computed (merger.c, ops_hash) */
	struct pl_hmemo {
		const struct pl_group *g;    /* only compared */
		uint64_t seq;
		uint32_t n;                  /* g->n then: a record since
						changes the values */
		uint32_t nops;
		const struct fq_operand *ops[PL_ATTR_OPS];
		uint64_t h;
	} memo[32];
};

/* merger.c */
/*
 * A merger for plan->merger (borrowed, like p, mem and the branches
 * array br, which must outlive it), handing its tuples to `to`.  Returns
 * 0 or -FQ_ENOMEM (with *out NULL).
 */
int pl_merger_new(struct pl_merger **out, const struct fq_plan *plan,
		  const struct pl_params *p, struct pl_mem *mem,
		  struct pl_branch *br, struct pl_tuple_link to);
void pl_merger_free(struct pl_merger *mg);
/* --early: keep open groups for early joins and tell `w` of pending and
 * dropped tuples.  0 or -FQ_ENOMEM. */
int pl_merger_early_init(struct pl_merger *mg, struct pl_merger_watch w);
/* --early: open group g as it stands passes its group filter or not. */
void pl_merger_open_put(struct pl_merger *mg, struct pl_group *g, int passes);
/* --early: g is closing; it is no longer an open partner. */
void pl_merger_open_del(struct pl_merger *mg, struct pl_group *g);
/*
 * --early: every tuple of the export module that holds with g (in its
 * branch's slot) as the groups stand, open ones included, and that no
 * subtracting module rejects as they stand: cb(ctx, g per plan branch,
 * largest etime) for each; g and the array are borrowed for the call.
 */
void pl_merger_early(struct pl_merger *mg, struct pl_group *g,
		     void (*cb)(void *ctx, struct pl_group *const *g,
				int64_t time),
		     void *ctx);
void pl_merger_group(struct pl_merger *m, struct pl_group *g);
/* g will come to pl_merger_group() soon: fetch the index slots it will
 * be filed under and probe first into the cache (a hint; changes
 * nothing else). */
void pl_merger_prefetch(struct pl_merger *m, const struct pl_group *g);
void pl_merger_advance(struct pl_merger *m, int64_t T, int end);
/*
 * --max-state (docs/streaming.md, "Bounded state"), in rounds: a round
 * begins by compacting the stores, which frees the groups the previous
 * one evicted.
 */
void pl_merger_shed_round(struct pl_merger *m);
/* Oldest stored group that only the store holds, and its key (drop
 * time; --batch: stime); NULL if none. */
struct pl_group *pl_merger_oldest(struct pl_merger *m, int64_t *key);
/* Evict it; returns the bytes the next round frees for it. */
size_t pl_merger_evict(struct pl_merger *m, struct pl_group *g);
/* Pending tuple stream time would release first, and its key. */
struct pl_tuple *pl_merger_oldest_pending(struct pl_merger *m, int64_t *key);
/* Drop it (and evict its groups nothing else holds); bytes as above. */
size_t pl_merger_drop_oldest_pending(struct pl_merger *m);


#endif
