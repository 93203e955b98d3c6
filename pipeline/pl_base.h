/*
 * pl_base.h - what every stage of the query engine shares: state
 * accounting, time arithmetic, values, stored records and groups.
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
#ifndef FQ_PL_BASE_H
#define FQ_PL_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fq_agg.h"
#include "fq_log.h"
#include "fq_vset.h"
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

/*
 * Open addressing with linear probing, deletion by backward shift (the
 * key index, the early layer's tables, merger_open.c's map): after the
 * hole at i, the entry at j (whose home slot is `home`) may move into
 * the hole unless its home lies cyclically in (i, j] -- then it must
 * stay, or a probe from its home would stop at the hole.
 */
static inline int
pl_oa_stays(size_t home, size_t i, size_t j)
{
	return i <= j ? (home > i && home <= j) : (home > i || home <= j);
}

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

struct pl_val {
	enum fq_vtype t;
	int64_t i;
	double d;
	struct fq_ip ip;
	uint8_t plen;              /* prefix length of a constant address */
	const struct fq_vset *set; /* union() value */
	const struct fq_set *cset; /* constant set */
};


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
 * A group's aggregates are states of the aggregate table (core/fq_agg.h:
 * union fq_agg_state), each in its group's block (group.c) with only the
 * room its function needs (fq_agg_state_size): a group holds one per
 * aggregate for minutes.
 */

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

#endif
