/*
 * recpool.c - the record pool of a query: records its groups hold.
 *
 * A record that passes some branch's filter and is held by a group (or
 * printed with a match later) is copied once into the pool and shared by
 * reference count among the groups of the query.  Records come from
 * slabs of SLAB_RECS, each mapped with its pages in place
 * (fq_slab_alloc), and freed ones go on a free list: records are made and
 * let go at the pace of the input, and malloc per record was a tenth of a
 * grouper query's time.  When nothing prints the records, only the first
 * `copy` bytes -- the fields the grouper rules read -- are kept (pl.h,
 * struct pl_rec).
 */
#include "fq_table.h"
#include "pl.h"

#include <stdlib.h>
#include <string.h>

#define SLAB_RECS 1024

/* One slab more on the free list; 0 or -1 (out of memory). */
static int
pool_grow(struct pl_rec_pool *p)
{
	char *slab = fq_slab_alloc(SLAB_RECS * p->slot);
	if (slab == NULL)
		return -1;
	if (p->nslabs == p->cap_slabs) {
		size_t cap = p->cap_slabs ? p->cap_slabs * 2 : 16;
		void **s = realloc(p->slabs, cap * sizeof *s);
		if (s == NULL) {
			fq_slab_free(slab, SLAB_RECS * p->slot);
			return -1;
		}
		p->slabs = s;
		p->cap_slabs = cap;
	}
	p->slabs[p->nslabs++] = slab;
	for (size_t i = 0; i < SLAB_RECS; i++) {
		struct pl_rec *x = (struct pl_rec *)(void *)(slab + i * p->slot);
		x->next_free = p->free;
		p->free = x;
	}
	return 0;
}

struct pl_rec *
pl_rec_new(struct pl_rec_pool *p, const struct fq_record *r)
{
	if (p->free == NULL && pool_grow(p) < 0)
		return NULL;
	struct pl_rec *rec = p->free;
	p->free = rec->next_free;
	memcpy(&rec->r, r, p->copy);
	rec->refs = 0;
	rec->printed = 0;
	rec->next_free = NULL;
	p->live++;
	/* Live records, not slabs: slabs are never given back, but a freed
	 * record is reused before a new slab is taken, so the slabs stay
	 * within one slab of the most records ever live at once. */
	pl_mem_add(p->mem, p->slot);
	return rec;
}

void
pl_rec_unref(struct pl_rec_pool *p, struct pl_rec *rec)
{
	if (--rec->refs > 0)
		return;
	rec->next_free = p->free;
	p->free = rec;
	p->live--;
	pl_mem_sub(p->mem, p->slot);
}

void
pl_rec_pool_fini(struct pl_rec_pool *p)
{
	for (size_t i = 0; i < p->nslabs; i++)
		fq_slab_free(p->slabs[i], SLAB_RECS * p->slot);
	free(p->slabs);
	memset(p, 0, sizeof *p);
}
