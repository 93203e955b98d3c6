/*
 * group.c - the groups of a grouper: their blocks, aggregates and record
 * images (SPEC section 4).
 *
 * A group is one block: struct pl_group, then its aggregates, each in the
 * room its function needs (union fq_agg_state), its key hashes (one per
 * module) and, when no record is printed, the images of its first and
 * last record; only the records array and union() sets' elements live
 * apart, because they grow.  Every byte a group holds is counted in the
 * state total (pl.h, struct pl_mem).
 */
#include "pl.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

/*
 * Group blocks.  Every group of a branch has the same block (pl_group_layout
 * below), so they are carved from slabs of PL_SLAB bytes, 64-byte
 * aligned, and a freed block goes on the branch's free list for the next
 * group; the slabs go back to the system when the query ends.  Groups
 * are made and freed at the same pace, in bursts (a second of stream
 * time closes or drops hundreds), and malloc and free of each block were
 * a tenth of a merger query's time, coalescing and splitting chunks.  A
 * block is counted at what malloc would cost for it (pl_chunk), so the
 * state figures and every decision of the cap are those of an allocator
 * with a header per block: a little more than the slab really holds.
 * The free list keeps the most groups a branch ever held, as malloc's
 * own free lists would.
 *
 * Sanitizer builds malloc each block, so that a use after free still
 * shows.
 */
#if defined(__SANITIZE_ADDRESS__)
#define PL_GROUP_SLABS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PL_GROUP_SLABS 0
#endif
#endif
#ifndef PL_GROUP_SLABS
#define PL_GROUP_SLABS 1
#endif

#define PL_SLAB (1024 * 1024)

static char *
block_get(struct pl_grouper *gr)
{
	size_t size = gr->block_size;
#if PL_GROUP_SLABS
	char *block;
	if (gr->spare) {
		block = (char *)gr->spare;
		gr->spare = gr->spare->next_open;
	} else {
		if (gr->nslabs == 0 || gr->slab_used + size > PL_SLAB) {
			if (gr->nslabs == gr->capslabs) {
				size_t cap = gr->capslabs ? gr->capslabs * 2 : 16;
				char **v = realloc(gr->slabs, cap * sizeof *v);
				if (v == NULL)
					return NULL;
				gr->slabs = v;
				gr->capslabs = cap;
			}
			char *slab = fq_slab_alloc(PL_SLAB);
			if (slab == NULL)
				return NULL;
			gr->slabs[gr->nslabs++] = slab;
			gr->slab_used = 0;
		}
		block = gr->slabs[gr->nslabs - 1] + gr->slab_used;
		gr->slab_used += size;
	}
	memset(block, 0, size);
	return block;
#else
	return calloc(1, size);
#endif
}

static void
block_put(struct pl_grouper *gr, struct pl_group *G)
{
#if PL_GROUP_SLABS
	G->next_open = gr->spare;
	gr->spare = G;
#else
	(void)gr;
	free(G);
#endif
}

/*
 * Record r into G's aggregates: each one's step function of the
 * aggregate table (core/fq_agg.h), with the argument read once here.  A
 * union() set that grows is counted in the state total.
 */
static void
aggs_add(struct pl_group *G, const struct fq_record *r, int first)
{
	const struct pl_grouper *gr = &G->br->gr;
	for (size_t k = 0; k < gr->naops; k++) {
		const struct pl_aggop *op = &gr->aops[k];
		union fq_agg_state *v = pl_group_agg(G, k);
		int64_t x = 0;
		const struct fq_ip *ip = NULL;
		if (op->isip)
			ip = fq_field_ip(r, op->f);
		else if (op->f)
			x = fq_field_num(r, op->f);
		if (!op->set) {
			op->step(v, x, ip, first, NULL);
			continue;
		}
		size_t before = fq_vset_heap(&v->set), grown = 0;
		op->step(v, x, ip, first, &grown);
		if (grown)
			pl_mem_realloc(G->br->mem, before, before + grown);
	}
}

/* r's fields into G's image of its first (last = 0) or last record. */
static inline void
img_put(const struct pl_grouper *gr, struct pl_group *G, int last,
	const struct fq_record *r)
{
	for (size_t i = 0; i < gr->img_ncp[last]; i++) {
		const struct pl_imgcp *c = &gr->img_cp[last][i];
		memcpy((char *)G + c->to, (const char *)r + c->from, c->len);
	}
}

/* rec is r as stored (perhaps cut short: pl.h, struct pl_rec). */
void
pl_group_add(struct pl_branch *b, struct pl_group *G, struct pl_rec *rec,
	  const struct fq_record *r)
{
	if (G->n == G->cap) {
		uint32_t cap = G->cap * 2;
		int inl = G->recs == G->rec_in;
		struct pl_rec **p = inl ? malloc(cap * sizeof *p)
				       : realloc(G->recs, cap * sizeof *p);
		if (p == NULL) {
			fq_error("out of memory growing a group");
			return;
		}
		if (inl)
			memcpy(p, G->rec_in, sizeof G->rec_in);
		pl_mem_realloc(b->mem, inl ? 0 : G->cap * sizeof *p,
			       cap * sizeof *p);
		G->recs = p;
		G->cap = cap;
	}
	int first = G->n == 0;
	if (b->gr.img) {
		/* rec is NULL: the fields the rules read go to the images */
		G->ids[G->n++] = r->rec_id;
		if (first)
			img_put(&b->gr, G, 0, r);
		img_put(&b->gr, G, 1, r);
	} else {
		G->recs[G->n++] = rec;
		rec->refs++;
	}
	if (first || r->stime < G->stime)
		G->stime = r->stime;
	if (first || r->etime > G->etime)
		G->etime = r->etime;
	if (first || r->rec_id < G->min_rec_id)
		G->min_rec_id = r->rec_id;
	if (b->gr.pg)
		aggs_add(G, r, first);
}

/*
 * The bytes a group's own blocks are counted at: the struct, its records
 * array, aggregates, union() sets and key hashes (not the records, which
 * the pool counts, nor index buckets, which their index counts).  The
 * same function gives what pl_group_new added and what pl_group_unref takes
 * back, plus the growth pl_group_add and agg_add counted in between.  The
 * blocks whose size never changes are summed once per branch
 * (group_base, pl_grouper_init): this runs for every group.
 */
static size_t
group_bytes(const struct pl_group *G)
{
	const struct pl_grouper *gr = &G->br->gr;
	size_t n = gr->group_base;
	if (G->recs != G->rec_in)
		n += pl_chunk(G->cap * sizeof *G->recs);
	if (gr->has_sets)
		for (size_t k = 0; k < gr->naops; k++)
			if (gr->aops[k].set)
				n += pl_chunk(fq_vset_heap(pl_group_set(G, k)));
	return n;
}

/* The argument type of an aggregate: FQ_V_IP or FQ_V_INT. */
static enum fq_vtype
agg_arg(const struct fq_agg *a)
{
	return a->field && a->field->type == FQ_T_IP ? FQ_V_IP : FQ_V_INT;
}

/* Bytes of an aggregate's state in a block (core/fq_agg.h). */
static size_t
agg_size(const struct fq_agg *a)
{
	return fq_agg_state_size(a->fn, agg_arg(a));
}

/*
 * A group is one block: the struct, then its aggregates, each in the
 * room its function needs (union fq_agg_state), and its key hashes (one per
 * module), so that a record finding its group touches one allocation.
 * Only the records array and the sets' elements live apart, because
 * they grow.  Fills the places of the aggregates (off, when not NULL)
 * and key hashes; returns the size.
 */
/* Whether an aggregate's empty state is all zero bytes: a new group's
 * block is zeroed already, and most need no init() call then. */
static int
empty_is_zero(const struct fq_agg *a)
{
	union fq_agg_state s;
	memset(&s, 0, sizeof s);
	fq_agg_init(a->fn, &s, agg_arg(a));
	const unsigned char *p = (const unsigned char *)&s;
	for (size_t i = 0; i < sizeof s; i++)
		if (p[i])
			return 0;
	return 1;
}

int
pl_group_aggops_init(struct pl_grouper *gr)
{
	const struct fq_plan_grouper *pg = gr->pg;
	gr->aops = calloc(pg->naggs ? pg->naggs : 1, sizeof *gr->aops);
	if (gr->aops == NULL)
		return -1;
	gr->naops = pg->naggs;
	for (size_t k = 0; k < pg->naggs; k++) {
		const struct fq_agg *a = &pg->aggs[k];
		const struct fq_agg_def *d = &fq_agg_defs[a->fn];
		gr->aops[k] = (struct pl_aggop){
			.step = d->step, .f = a->field,
			.isip = agg_arg(a) == FQ_V_IP,
			.set = d->result == FQ_AGG_RES_SET,
			.init = !empty_is_zero(a),
		};
		if (gr->aops[k].set)
			gr->has_sets = 1;
	}
	return 0;
}

size_t
pl_group_layout(const struct fq_plan_grouper *pg, uint32_t *off, size_t *khash_at)
{
	size_t n = sizeof(struct pl_group);
	*khash_at = n;
	if (pg == NULL)
		return n;
	for (size_t k = 0; k < pg->naggs; k++) {
		if (off)
			off[k] = (uint32_t)n;
		n += agg_size(&pg->aggs[k]);
	}
	*khash_at = n;
	n += pg->nmodules * sizeof(uint64_t);
	return n;
}

struct pl_group *
pl_group_new(struct pl_branch *b)
{
	const struct fq_plan_grouper *pg = b->gr.pg;
	char *block = block_get(&b->gr);
	if (block == NULL)
		return NULL;
	struct pl_group *G = (struct pl_group *)(void *)block;
	G->br = b;
	G->recs = G->rec_in;
	G->cap = 2;
	G->seq = b->gr.next_seq++;
	G->refs = 1;
	G->has_ids = b->gr.img;   /* its array holds rec_ids from the start */
	if (pg) {
		G->khash = (uint64_t *)(void *)(block + b->gr.khash_at);
		for (size_t k = 0; k < pg->naggs; k++)
			if (b->gr.aops[k].init)
				fq_agg_init(pg->aggs[k].fn, pl_group_agg(G, k),
					    agg_arg(&pg->aggs[k]));
	}
	pl_mem_add(b->mem, group_bytes(G));
	b->c.groups++;
	return G;
}

void
pl_group_unref(struct pl_group *G)
{
	if (G == NULL || --G->refs > 0)
		return;
	pl_mem_sub(G->br->mem, group_bytes(G));
	if (!G->has_ids)
		for (uint32_t i = 0; i < G->n; i++)
			pl_rec_unref(G->br->pool, G->recs[i]);
	if (G->br->gr.has_sets)
		for (size_t k = 0; k < G->br->gr.naops; k++)
			if (G->br->gr.aops[k].set)
				fq_agg_fini(G->br->gr.pg->aggs[k].fn,
					    pl_group_agg(G, k));
	if (G->recs != G->rec_in)
		free(G->recs);
	if (G->hn == 0)   /* else the last heap entry out frees it */
		block_put(&G->br->gr, G);
}

/*
 * Record images.  When no record is printed, a group's rules are all
 * that read its records -- its first record's key fields and the fields
 * its relative and time rules read of its first or last -- and its
 * rec_ids all that is output of them.  Such a group holds rec_ids from
 * the start and, in its block, an image of each of those two records:
 * the fields read, each in an 8-byte aligned place (img_off).  A first
 * record's field that the group keeps anyway as a bare-field or first()
 * aggregate of its own (addresses, times and 64-bit counters, stored
 * alike) is read from there.  A record joining a group is then not
 * stored at all: no copy into the record pool, no slot of it held for
 * minutes (a record was 144 bytes of the paper's HTTP download query's
 * 700 a group; its images are the last record's etime, 8 bytes, in
 * room the block had).  A rule on `duration`, which is not stored but
 * computed from the record's times, keeps whole records the old way.
 */
/* A field a rule reads of the first or last record: its place in the
 * block, `*size` long so far. */
static int
img_need(struct pl_grouper *gr, int last, const struct fq_field *f,
	 size_t *size)
{
	const struct fq_plan_grouper *pg = gr->pg;
	if (f->type == FQ_T_DUR)
		return -1;
	uint32_t *off = &gr->img_off[last][f->id];
	if (*off != UINT32_MAX)
		return 0;
	if (!last && (f->type == FQ_T_IP || f->type == FQ_T_TIME ||
		      f->type == FQ_T_U64)) {
		/* the first record's value, kept whole by agg_add */
		for (size_t k = 0; k < pg->naggs; k++) {
			const struct fq_agg *a = &pg->aggs[k];
			if ((a->fn == FQ_AGG_FIELD || a->fn == FQ_AGG_FIRST) &&
			    a->field && a->field->id == f->id) {
				*off = gr->agg_off[k];
				return 0;
			}
		}
	}
	*size = (*size + 7) & ~(size_t)7;
	*off = (uint32_t)*size;
	gr->img_cp[last][gr->img_ncp[last]++] = (struct pl_imgcp){
		*off, f->offset, (uint16_t)pl_type_len(f->type) };
	*size += pl_type_len(f->type);
	return 0;
}

/* Record images (above) when no record is printed and no rule reads
 * `duration` of a group's record; they go after the `*size` bytes of
 * the block. */
int
pl_group_images_init(struct pl_branch *b, size_t *size)
{
	struct pl_grouper *gr = &b->gr;
	const struct fq_plan_grouper *pg = gr->pg;
	if (b->keep_recs)
		return 0;
	gr->img_off = malloc(2 * sizeof *gr->img_off);
	gr->img_cp[0] = malloc(2 * FQ_F_COUNT * sizeof *gr->img_cp[0]);
	if (gr->img_off == NULL || gr->img_cp[0] == NULL)
		return -1;
	gr->img_cp[1] = gr->img_cp[0] + FQ_F_COUNT;
	memset(gr->img_off, 0xff, 2 * sizeof *gr->img_off);
	size_t n = *size;
	int ok = 0;
	for (size_t i = 0; i < pg->nmodules && ok == 0; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		for (size_t k = 0; k < m->nkeys && ok == 0; k++)
			ok = img_need(gr, 0, m->keys[k].a, &n);
		for (size_t k = 0; k < m->nrel && ok == 0; k++)
			ok = img_need(gr, m->rel[k].ref == FQ_REF_LAST,
				      m->rel[k].a, &n);
		for (size_t k = 0; k < m->ntime && ok == 0; k++)
			ok = img_need(gr, m->time[k].ref == FQ_REF_LAST,
				      m->time[k].a, &n);
	}
	if (ok < 0) {
		gr->img_ncp[0] = gr->img_ncp[1] = 0;
		return 0;
	}
	gr->img = 1;
	*size = n;
	return 0;
}

/* An entry of g left the queue: its block goes once nothing holds it. */
void
pl_group_hent_release(struct pl_group *g)
{
	if (--g->hn == 0 && g->refs == 0)
		block_put(&g->br->gr, g);
}

size_t
pl_group_footprint(const struct pl_group *g)
{
	size_t n = group_bytes(g);
	if (g->has_ids)
		return n;
	for (uint32_t i = 0; i < g->n; i++)
		if (g->recs[i]->refs == 1)
			n += g->br->pool->slot;
	return n;
}
