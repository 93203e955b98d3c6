/*
 * grouper.h - the grouper of a branch (SPEC sections 4 and 5): records
 * in, closed groups out through the branch's group link (stage.h).
 *
 * grouper.c is the stage; its parts are the groups themselves (group.c:
 * blocks, aggregates, record images), the key index of each keyed module
 * (keyindex.c) and the deadline queue that says which group closes next
 * (dqueue.c).
 */
#ifndef FQ_PL_GROUPER_H
#define FQ_PL_GROUPER_H

#include <string.h>

#include "pl_base.h"

struct pl_branch;

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

/* One aggregate as the record path runs it (group.c, aggs_add). */
struct pl_aggop {
	fq_agg_step_fn *step;      /* its row's step (core/fq_agg.h) */
	const struct fq_field *f;  /* its argument, NULL for none */
	uint8_t isip;              /* f is an address */
	uint8_t set;               /* a union() set: its growth is counted */
	uint8_t init;              /* its empty state is not all zero bytes */
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
	struct pl_aggop *aops;     /* owned, per aggregate */
	size_t naops;
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


/* ---- the parts of a grouper --------------------------------------------- */

/* Four children a node of the near heap (dqueue.c). */
#define PL_DQ_D 4
/* Bytes of a slab of group blocks (group.c). */
#define PL_SLAB (1024 * 1024)

/* dqueue.c: the deadline queue (see there). */
int pl_dq_push(struct pl_heap *h, struct pl_group *g, struct pl_mem *mem);
/* The open group with the smallest (deadline, seq) whose key is due by
 * `upto`, or NULL. */
struct pl_group *pl_dq_top(struct pl_heap *h, int64_t upto,
			   struct pl_mem *mem);
/* Take the top entry out (then pl_group_hent_release() its group). */
void pl_dq_pop(struct pl_heap *h);
/* Every entry of the wheel into the near heap's array, unordered. */
int pl_dq_gather(struct pl_heap *h, struct pl_mem *mem);
/* Entries in seq order (a stable radix sort). */
void pl_dq_sort_seq(struct pl_hent *a, size_t n);
/* Free the queue; `each` is called for every entry still in it. */
void pl_dq_fini(struct pl_heap *h, struct pl_mem *mem,
		void (*each)(struct pl_group *g));

/* g's deadline changed: an earlier one needs an entry of its own. */
static inline int
pl_dq_rekey(struct pl_heap *h, struct pl_group *g, struct pl_mem *mem)
{
	if (g->deadline < g->hkey)
		return pl_dq_push(h, g, mem);
	return 0;
}

/* keyindex.c: a module's open groups by key hash. */
/* Twice the slots (256 at first), the entries re-inserted; 0 or -1. */
int pl_kindex_grow(struct pl_gindex *ix, struct pl_mem *mem);
struct pl_kent *pl_kindex_find(struct pl_gindex *ix, const struct pl_group *G,
			       uint64_t hash);
void pl_kindex_del(struct pl_gindex *ix, const struct pl_group *G,
		   uint64_t hash);

/* group.c: groups, their blocks and record images. */
struct pl_group *pl_group_new(struct pl_branch *b);
/* rec is r as stored (perhaps cut short: struct pl_rec), or NULL when
 * the group keeps images. */
void pl_group_add(struct pl_branch *b, struct pl_group *G,
		  struct pl_rec *rec, const struct fq_record *r);
/* The block of a group of pg: fills the places of the aggregates (off,
 * when not NULL) and of the key hashes; returns its size. */
size_t pl_group_layout(const struct fq_plan_grouper *pg, uint32_t *off,
		       size_t *khash_at);
/* The grouper's aggregates as the record path runs them (gr->aops). */
int pl_group_aggops_init(struct pl_grouper *gr);
/* Record images for b's groups when no record is printed; they go after
 * the `*size` bytes of the block.  0 or -1 (out of memory). */
int pl_group_images_init(struct pl_branch *b, size_t *size);
/* An entry of g left the deadline queue: its block goes once nothing
 * holds it. */
void pl_group_hent_release(struct pl_group *g);

/* ---- inline helpers of the record path ---------------------------------- */

/* Entry e into the first free slot of its run (keyindex.c says why). */
static inline void
pl_kindex_put(struct pl_kent *v, size_t nb, struct pl_kent e)
{
	size_t i = e.hash & (nb - 1);
	while (v[i].g)
		i = (i + 1) & (nb - 1);
	v[i] = e;
}

/* A new open group G under key hash `hash`, kept at most half full. */
static inline int
pl_kindex_add(struct pl_gindex *ix, struct pl_group *G, uint64_t hash,
	      struct pl_mem *mem)
{
	if ((ix->n + 1) * 2 > ix->nb && pl_kindex_grow(ix, mem) < 0)
		return -1;
	pl_kindex_put(ix->v, ix->nb,
		      (struct pl_kent){ hash, G->deadline, G->seq, G });
	ix->n++;
	return 0;
}

static inline uint64_t
pl_key_hash(const struct fq_gmodule *m, const struct fq_record *r, int left)
{
	uint64_t h = 0x12345;
	for (size_t k = 0; k < m->nkeys; k++) {
		const struct fq_field *f = left ? m->keys[k].a : m->keys[k].b;
		if (f->type == FQ_T_IP) {
			const struct fq_ip *ip = fq_field_ip(r, f);
			h = pl_mix(pl_mix(h, ip->hi), ip->lo ^ ((uint64_t)ip->is6 << 63));
		} else {
			h = pl_mix(h, (uint64_t)fq_field_num(r, f));
		}
	}
	return h;
}

/* Bytes a field of type t takes in struct fq_record. */
static inline size_t
pl_type_len(enum fq_type t)
{
	switch (t) {
	case FQ_T_U8:   return 1;
	case FQ_T_U16:  return 2;
	case FQ_T_U32:  return 4;
	case FQ_T_IP:   return sizeof(struct fq_ip);
	default:        return 8;
	}
}

/* Where a rule reads field f of G's first (last = 0) or last record. */
static inline const char *
pl_grec_at(const struct pl_grouper *gr, const struct pl_group *G, int last,
	const struct fq_field *f)
{
	if (gr->img)
		return (const char *)G + gr->img_off[last][f->id];
	const struct fq_record *R = &G->recs[last ? G->n - 1 : 0]->r;
	return (const char *)R + f->offset;
}

/* fq_field_num() of G's first or last record (FQ_T_DUR fields have no
 * image: img_init keeps whole records for them). */
static inline int64_t
pl_gnum(const struct pl_grouper *gr, const struct pl_group *G, int last,
     const struct fq_field *f)
{
	if (!gr->img)
		return fq_field_num(&G->recs[last ? G->n - 1 : 0]->r, f);
	return fq_num_at(pl_grec_at(gr, G, last, f), f->type);
}

static inline const struct fq_ip *
pl_gip(const struct pl_grouper *gr, const struct pl_group *G, int last,
    const struct fq_field *f)
{
	return (const struct fq_ip *)(const void *)pl_grec_at(gr, G, last, f);
}

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

#endif
