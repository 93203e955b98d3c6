/*
 * pl.h - internal structures of the query engine.
 *
 * Ownership overview:
 *   struct fq_engine     owns its queries and the stream clock (engine_int.h).
 *   struct pl_query      owns its record pool, branches, merger, ungrouper.
 *   struct pl_rec        a stored record, shared by the groups of one query,
 *                        reference counted (freed when no group holds it).
 *   struct pl_group      owned by its branch's grouper while open, then by
 *                        the merger store (reference counted: store entry,
 *                        pending tuples, the batch match list).
 * Plan pointers (fq_plan and everything under it) are borrowed from the
 * query's struct fq_query and outlive the engine.
 *
 * Every allocation that holds pipeline state is counted in the engine's
 * struct pl_mem when it is made, grown or freed (see "state accounting"
 * below), so that --max-state can be enforced without walking anything.
 */
#ifndef FQ_PL_H
#define FQ_PL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fq_log.h"
#include "fq_record.h"
#include "plan.h"
#include "stage.h"

/* ---- state accounting ------------------------------------------------ */

/*
 * Bytes held by pipeline state: open groups, their records, aggregates
 * and index entries, merger stores and pending tuples, --batch match
 * lists (docs/streaming.md, "Bounded state").  One running total per
 * engine: added on allocation or growth, subtracted on free.
 *
 * A malloc'd block is counted at glibc's chunk size for its request
 * (request + 8, rounded up to 16, at least 32), which is what it really
 * costs.  It is computed, not asked (malloc_usable_size), so that the
 * total -- and every decision the cap makes from it -- is the same with
 * every build and allocator: same input and options, same output.
 */
struct pl_mem {
	size_t bytes;              /* held now */
	size_t peak;               /* largest `bytes` so far */
};

static inline size_t
pl_chunk(size_t n)
{
	if (n == 0)
		return 0;
	n = (n + 8 + 15) & ~(size_t)15;
	return n < 32 ? 32 : n;
}

/* `n` bytes more (raw: slab records, no malloc header of their own). */
static inline void
pl_mem_add(struct pl_mem *m, size_t n)
{
	m->bytes += n;
	if (m->bytes > m->peak)
		m->peak = m->bytes;
}

static inline void
pl_mem_sub(struct pl_mem *m, size_t n)
{
	m->bytes -= n;
}

/* A block of `n` bytes was malloc'd / freed. */
static inline void
pl_mem_alloc(struct pl_mem *m, size_t n)
{
	pl_mem_add(m, pl_chunk(n));
}

static inline void
pl_mem_free(struct pl_mem *m, size_t n)
{
	pl_mem_sub(m, pl_chunk(n));
}

/* A block was realloc'd from `old` to `new` bytes (old may be 0). */
static inline void
pl_mem_realloc(struct pl_mem *m, size_t old, size_t new)
{
	pl_mem_sub(m, pl_chunk(old));
	pl_mem_add(m, pl_chunk(new));
}

/*
 * Double a counted array's capacity (to `first` when it has none) and
 * count the change: the new array, with *cap updated, or NULL with both
 * left as they were.  The buckets of the key and store indexes and of
 * the drop wheel grow this way.
 */
static inline void *
pl_array_grow(void *v, uint32_t *cap, size_t elem, uint32_t first,
	      struct pl_mem *m)
{
	uint32_t n = *cap ? *cap * 2 : first;
	void *p = realloc(v, (size_t)n * elem);
	if (p == NULL)
		return NULL;
	pl_mem_realloc(m, (size_t)*cap * elem, (size_t)n * elem);
	*cap = n;
	return p;
}

/*
 * Records are handed to the engine in batches; it looks this many ahead
 * (engine.c, engine_records): their filters run and their key index
 * slots are fetched into the cache together, so that the misses overlap
 * instead of coming one record at a time.
 */
#define PL_AHEAD 16

/* ---- time ----------------------------------------------------------- */

/* The second a time in ms falls in (floor, also below zero). */
static inline int64_t
pl_sec_of(int64_t t)
{
	return t >= 0 ? t / 1000 : -((-(t + 1)) / 1000) - 1;
}

/* a - b for a duration b >= 0, saturating: -inf and +inf stay, an
 * infinite b gives -inf. */
static inline int64_t
pl_time_sub(int64_t a, int64_t b)
{
	if (a == INT64_MIN || b == FQ_TIME_INF)
		return INT64_MIN;
	if (a == FQ_TIME_INF)
		return FQ_TIME_INF;
	return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* ---- values --------------------------------------------------------- */

/*
 * A union() accumulator: sorted, unique.  Its first elements (three
 * numbers or one address: most groups' sets are that small) live in the
 * header, which a group keeps in its own block: no allocation until the
 * set outgrows it.
 */
struct pl_set {
	enum fq_vtype elem;        /* FQ_V_INT or FQ_V_IP */
	uint32_t n, cap;
	int64_t *ints;             /* owned or in.i, when elem == FQ_V_INT */
	struct fq_ip *ips;         /* owned or in.ip, when elem == FQ_V_IP */
	union {
		int64_t i[3];
		struct fq_ip ip[1];
	} in;
};

/* Bytes of a set's elements outside its header (what is malloc'd). */
static inline size_t
pl_set_heap(const struct pl_set *s)
{
	if (s->cap == 0 || s->ints == s->in.i || s->ips == s->in.ip)
		return 0;
	return s->cap * (s->elem == FQ_V_INT ? sizeof *s->ints
					     : sizeof *s->ips);
}

struct pl_val {
	enum fq_vtype t;
	int64_t i;
	double d;
	struct fq_ip ip;
	uint8_t plen;              /* prefix length of a constant address */
	const struct pl_set *set;  /* union() value */
	const struct fq_set *cset; /* constant set */
};

int pl_set_add_int(struct pl_set *s, int64_t v);
int pl_set_add_ip(struct pl_set *s, const struct fq_ip *v);
void pl_set_fini(struct pl_set *s);
uint64_t pl_set_hash(const struct pl_set *s);
int pl_set_equal(const struct pl_set *a, const struct pl_set *b);

/*
 * The comparisons of SPEC sections 3 and 4: `l op r`, with the tolerant
 * forms when has_delta.  Returns 1 or 0.
 */
int pl_compare(enum fq_op op, int has_delta, int64_t delta,
	       const struct pl_val *l, const struct pl_val *r);

/* Hash and equality of a value usable as a join/group key. */
uint64_t pl_val_hash(const struct pl_val *v);
int pl_val_key_eq(const struct pl_val *a, const struct pl_val *b);

static inline uint64_t
pl_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/* Value of a record field operand (FQ_O_FIELD or constant). */
void pl_record_operand(const struct fq_record *r, const struct fq_operand *o,
		       struct pl_val *out);

/* One filter term (NOT applied) on one record. */
int pl_term_record(const struct fq_term *t, const struct fq_record *r);
/* A filter (CNF) on one record; NULL passes everything. */
int pl_cnf_record(const struct fq_cnf *cnf, const struct fq_record *r);

/* ---- the branch filters of a query (filter.c) ----------------------- */

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

/* ---- records -------------------------------------------------------- */

/*
 * A stored record.  When a query prints no record, only the first
 * `copy` bytes of the record are kept (struct pl_rec_pool): the fields
 * its grouper rules read from a group's records, which the field table
 * puts first (rec_id, times, addresses), and nothing past them may be
 * read.  The header comes first so that the record can end short.
 */
struct pl_rec {
	uint32_t refs;             /* groups holding it */
	uint8_t printed;           /* already output by this query */
	struct pl_rec *next_free;
	struct fq_record r;        /* its first pool->copy bytes */
};

struct pl_rec_pool {
	struct pl_rec *free;       /* free list */
	void **slabs;              /* owned slabs */
	size_t nslabs, cap_slabs;
	size_t live;               /* records held */
	size_t copy;               /* bytes of struct fq_record kept */
	size_t slot;               /* bytes of a stored record */
	struct pl_mem *mem;        /* borrowed: the engine's; live records
				      count as `slot` bytes each */
};

struct pl_rec *pl_rec_new(struct pl_rec_pool *p, const struct fq_record *r);
void pl_rec_unref(struct pl_rec_pool *p, struct pl_rec *rec);
void pl_rec_pool_fini(struct pl_rec_pool *p);

/* ---- groups --------------------------------------------------------- */

/*
 * One aggregate of a group, in the group's block (grouper.c,
 * group_block).  Each function uses one member and has only the room
 * that member needs: `ip` for the address results of field, first,
 * last, min and max (24 bytes), `i` and `cnt` for count and avg (16),
 * `i` for the other numbers (8); a union() is a struct pl_set in place
 * (pl_group_set).  A group holds one per aggregate for minutes.
 */
struct pl_agg {
	union {
		struct {
			int64_t i;         /* ints, sums, bit ops, first/last */
			uint64_t cnt;      /* count, avg denominator */
		};
		struct fq_ip ip;       /* address results */
	};
};

struct pl_branch;

/*
 * Fields that only an open or only a stored group uses share their
 * place: a group is open (in its grouper), then closed and perhaps
 * stored (in the merger), never both, and the block of a freed group is
 * only linked into its branch's free list.  The block (grouper.c) is
 * this struct followed by the aggregates, key hashes and set headers,
 * rounded up to whole cache lines.  The order keeps what dropping a
 * stored group reads (drop_at to shash_in) in one cache line.
 */
struct pl_group {
	struct pl_branch *br;      /* borrowed */
	union {
		struct pl_rec **recs;  /* owned array; records referenced */
		uint64_t *ids;         /* the same array once has_ids is set */
	};
	uint32_t n, cap;
	int64_t stime, etime;
	uint64_t seq;              /* creation order in its branch */
	uint32_t refs;
	uint32_t hn;               /* entries in the grouper's deadline heap
				      (grouper.c): the block stays while any */
	int64_t deadline;          /* streaming: latest stime of a joiner */
	uint8_t open;
	uint8_t stored;            /* in the merger store */
	uint8_t has_ids;           /* closed and its records let go: the
				      array holds their rec_ids (engine.c,
				      pl_query_group_closed) */
	union {
		uint32_t span_i;       /* open (streaming): its counter in the
					  grouper's span ring */
		uint32_t wb;           /* stored: bucket in the merger's drop
					  wheel */
	};
	uint32_t wi;               /* stored: place in that bucket */
	union {
		int64_t hkey;          /* open (streaming): the key of its
					  newest deadline heap entry */
		int64_t drop_at;       /* stored: the latest stime a partner
					  can have; dropped once the front
					  passes */
	};
	uint64_t *shash;           /* owned or shash_in while stored: its
				      hash in each index of its merger store
				      (attrs) */
	union {
		struct {
			/* open, in a grouper that keeps the open list; or
			 * freed: next_open links the free list */
			struct pl_group *prev_open, *next_open;
		};
		uint64_t shash_in[2];  /* stored: shash while the store has at
					  most two indexes */
	};
	struct pl_rec *rec_in[2];  /* recs while it fits: most groups hold
				      one or two records */
	uint64_t min_rec_id;
	uint64_t *khash;           /* in the group's block, per module: the
				      key hash it is indexed under */
};

void pl_group_value(const struct pl_group *g, const struct fq_operand *o,
		    struct pl_val *out);
/* pl_val_hash() of pl_group_value(g, o), without building the value for
 * numbers and addresses. */
uint64_t pl_group_value_hash(const struct pl_group *g,
			     const struct fq_operand *o);
int pl_cnf_group(const struct fq_cnf *cnf, struct pl_group *const *slots);
void pl_group_unref(struct pl_group *g);

/* ---- grouper -------------------------------------------------------- */


struct pl_kent {                 /* an open group in a key index */
	uint64_t hash;             /* of its key */
	int64_t deadline;          /* = g->deadline */
	uint64_t seq;              /* = g->seq */
	struct pl_group *g;        /* borrowed; NULL: an empty slot */
};

struct pl_gindex {               /* one per grouper module with keys */
	struct pl_kent *v;         /* owned: open addressing, linear probing
				      (grouper.c, "key index") */
	size_t nb, n;              /* slots (a power of two, or 0), entries */
};

struct pl_hent {                 /* a deadline heap entry */
	int64_t key;               /* see grouper.c, "deadline heap" */
	uint64_t seq;              /* g->seq: ties close in creation order */
	struct pl_group *g;        /* a reference */
};

/*
 * The deadline queue of a streaming grouper (grouper.c, "deadline
 * queue"): a small heap of the entries whose key falls in a tick (1024
 * ms) up to `cur`, and a wheel of PL_DQ_N one-tick buckets of the later
 * ones, unordered, each sorted into the heap when its tick comes.
 */
#define PL_DQ_N 4096             /* a power of two: 70 minutes of ticks */

struct pl_hbucket {
	struct pl_hent *a;         /* owned, malloc'd; NULL when empty */
	uint32_t n, cap;
};

struct pl_heap {
	struct pl_hent *a;         /* owned: the near heap, ticks <= cur */
	size_t n, cap;
	struct pl_hbucket *w;      /* owned: PL_DQ_N buckets, from the first
				      entry on; ticks > cur */
	size_t nw;                 /* entries in the wheel */
	int64_t cur;               /* tick the near heap reaches */
};

/*
 * Streaming: the open groups of a grouper counted by the second of their
 * stime, in a ring of PL_SPAN_N seconds, so that the oldest stime an open
 * group has -- which bounds the stime of every group the branch will
 * still close -- is known without a walk (grouper.c, pl_grouper_front).
 * A group is counted at the second of its stime or, when that lies
 * outside [base, base + PL_SPAN_N), at the nearest end of the ring: at
 * worst an earlier second than its own, which only makes the front more
 * careful (the late records that give a group an stime before base are
 * outside the streaming guarantee anyway).
 */
#define PL_SPAN_N 4096           /* a power of two: 68 minutes */

struct pl_span {
	uint32_t *cnt;             /* owned: PL_SPAN_N counters, or NULL
				      (--batch, or a branch without grouper) */
	int64_t base;              /* second: nothing is counted before it */
	size_t n;                  /* groups counted */
};

struct pl_grouper {
	struct pl_span span;
	const struct fq_plan_grouper *pg;   /* NULL: groups of one */
	struct pl_gindex *idx;     /* owned, per module */
	struct pl_group *open_head, *open_tail;   /* only when `linked` */
	size_t nopen;
	struct pl_heap heap;
	uint64_t next_seq;
	uint8_t *abs_ok;           /* owned scratch, per module */
	size_t group_base;         /* counted bytes of a group's fixed blocks */
	/* Group blocks (grouper.c, "group blocks"): carved from slabs,
	 * freed ones kept on a list for the next group. */
	char **slabs;              /* owned slabs of PL_SLAB bytes */
	size_t nslabs, capslabs;
	size_t slab_used;          /* bytes carved from the last slab */
	size_t block_size;         /* a group's block, a multiple of 64 */
	struct pl_group *spare;    /* free blocks, linked through next_open
				      (in the slabs: not owned apart) */
	uint8_t has_sets;          /* some aggregate is a union() set */
	size_t probe_m;            /* the first module with keys, or SIZE_MAX */
	uint8_t probe_sym;         /* its keys compare a field with itself
				      (`srcip = srcip`): a record's probe
				      hash is also its group's key hash */
	uint32_t *agg_off;         /* owned, per aggregate: its place in a
				      group's block (pl_group_agg) */
	size_t khash_at;           /* place of the key hashes in a block */
	/* grouper.c, prefetch_next: only compared, never followed */
	const struct pl_group *pf_top, *pf_done, *pf_kids[4];
	size_t npf_kids;
	struct pl_group **due;     /* owned scratch: groups being closed
				      (pl_grouper_close_until) */
	size_t ndue_cap;
	uint8_t linked;            /* open groups are kept in the open list
				      (open_head..open_tail): --batch, or a
				      module without keys scans it */
	uint8_t closing_all;       /* end of input: open groups leave the
				      heap and indexes all at once */
	/* Record images (grouper.c): when no record is printed, a group
	 * holds rec_ids from the start and, in its block, the fields its
	 * rules read of its first and of its last record. */
	uint8_t img;
	uint32_t (*img_off)[FQ_F_COUNT];  /* owned, [2]: a field's place in
				      the block, or UINT32_MAX */
	struct pl_imgcp {          /* a field copied into an image */
		uint32_t to;       /* block offset */
		uint16_t from, len;   /* record offset, bytes */
	} *img_cp[2];              /* owned (one array): per image */
	size_t img_ncp[2];
};

/* ---- merger --------------------------------------------------------- */

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
	uint8_t keep_recs;         /* records are printed: groups keep them */
	struct pl_grouper gr;
	struct pl_gfilter gf;
	struct pl_counters c;
};

/* The k-th aggregate of g (a group of a branch with a grouper). */
static inline struct pl_agg *
pl_group_agg(const struct pl_group *g, size_t k)
{
	return (struct pl_agg *)(void *)((char *)(uintptr_t)g +
					 g->br->gr.agg_off[k]);
}

/* The same for a union() aggregate: its set. */
static inline struct pl_set *
pl_group_set(const struct pl_group *g, size_t k)
{
	return (struct pl_set *)(void *)((char *)(uintptr_t)g +
					 g->br->gr.agg_off[k]);
}

/* ---- the ungrouper (ungrouper.c) --------------------------------------- */

struct pl_match {
	struct pl_group **g;       /* owned array, per plan branch */
	int64_t time;
};

struct pl_cap;
struct fq_match_sink;

struct pl_ungrouper {
	const char *name;          /* borrowed: the query's */
	const struct fq_plan *plan;
	size_t *order;             /* owned: plan branch indexes by name */
	struct pl_outnames names;
	const struct pl_params *p; /* borrowed */
	struct pl_mem *mem;        /* borrowed */
	struct pl_cap *cap;        /* borrowed: --max-state (statecap.c) */
	struct fq_match_sink *const *sinks;  /* borrowed: the run's list */
	uint8_t keep_recs;         /* matches carry their records */
	uint64_t matches;          /* emitted */
	struct pl_match *batch;    /* owned: --batch matches to sort */
	size_t nbatch, capbatch;
};

int pl_ungrouper_init(struct pl_ungrouper *ug, const char *name,
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

/* ---- queries (query.c) ------------------------------------------------- */

struct pl_query {
	char *name;                /* owned */
	const struct fq_plan *plan;
	struct pl_branch *br;      /* owned, plan->nbranches */
	struct pl_merger *mg;      /* owned, NULL without merger */
	struct pl_ungrouper ug;
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
int pl_query_new(struct pl_query **out, const char *name,
		 const struct fq_plan *plan, const struct pl_params *p,
		 struct pl_mem *mem, struct pl_cap *cap,
		 struct fq_match_sink *const *sinks, int no_records);
void pl_query_free(struct pl_query *q);

/* grouper.c */
int pl_grouper_init(struct pl_branch *b);
void pl_grouper_fini(struct pl_branch *b);
/*
 * The hash a record probes its grouper's first keyed module with, its
 * slot of that module's key index prefetched; 0 when there is none.
 * Pure: the record may be grouped any time later (pl_grouper_record).
 */
uint64_t pl_grouper_probe_hash(struct pl_branch *b, const struct fq_record *r);
/* `probe` is what pl_grouper_probe_hash() gave for the record. */
int pl_grouper_record(struct pl_branch *b, struct pl_rec *rec,
		      const struct fq_record *r, int late, uint64_t probe);
/* Bytes of a record the grouper reads from a group's records. */
size_t pl_grouper_rec_bytes(const struct fq_plan_grouper *pg);
void pl_grouper_close_until(struct pl_branch *b, int64_t T, int all);
/*
 * Streaming, after pl_grouper_close_until(b, T): a lower bound on the
 * stime of every group b will still close, as far as its records are on
 * time and last at most M: the oldest stime among its open groups, T - M
 * for groups not opened yet (SPEC section 5), and never less than
 * T - W - M, the static bound.  It may fall back by less than a second
 * (the ring counts whole seconds): the merger keeps the largest it saw.
 */
int64_t pl_grouper_front(struct pl_branch *b, int64_t T);
/*
 * --max-state: the open group the cap closes first and its key (when
 * stream time would have closed it: deadline + M; in --batch, where
 * nothing has a deadline, its stime).  Returns NULL when none is open.
 */
struct pl_group *pl_grouper_oldest(struct pl_branch *b, int64_t *key);
/* Close it early: group filter and merger see it as if it had ended. */
void pl_grouper_close_early(struct pl_branch *b, struct pl_group *g);
/* What freeing g would give back: its own blocks and the records only it
 * holds. */
size_t pl_group_footprint(const struct pl_group *g);

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
