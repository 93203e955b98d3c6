/*
 * merger_open.c - with --early, the open groups the merger may pair with
 * (SPEC section 5, "Early matches").
 *
 * Early matches hold on groups as they stand, open ones included, so the
 * join must find partners among the groups still open in the other
 * branches' groupers, not only among the stored (closed) ones.  Per
 * branch, this index holds the open groups that pass the branch's group
 * filter as they stand, filed like the branch's store (struct pl_attr:
 * the same hash indexes on the same group values) and in a dense list
 * for the joins that scan.  A record that joins a group may change its
 * values, its stime or whether it passes: the early layer (early.c)
 * calls pl_merger_open_put() after every such change, and the group is
 * filed anew where its hashes moved.  It leaves the index when it closes
 * (pl_merger_open_del), before the final evaluation sees it.
 *
 * Groups are found by address through a small open-addressing table; a
 * group's block is not reused while it is open, and it is taken out
 * before it closes, so an address never names two groups here.
 */
#include "merger_int.h"

#include <stdlib.h>
#include <string.h>

/* The entry of an open group (the index's own, not the grouper's). */
struct pl_og {
	struct pl_group *g;        /* borrowed: its grouper holds it */
	int64_t stime;             /* as filed */
	size_t at;                 /* its place in the dense list */
	uint64_t h[];              /* per attribute: the hash it is filed under */
};

static size_t
og_size(const struct pl_ostore *o)
{
	return sizeof(struct pl_og) + o->nattrs * sizeof(uint64_t);
}

static uint64_t
ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	return x ^ (x >> 29);
}

/* ---- address -> entry ---------------------------------------------------- */

static struct pl_og **
map_slot(const struct pl_omap *m, const struct pl_group *g)
{
	size_t mask = m->nb - 1;
	for (size_t i = ptr_hash(g) & mask;; i = (i + 1) & mask)
		if (m->v[i] == NULL || m->v[i]->g == g)
			return &m->v[i];
}

static int
map_grow(struct pl_omap *m, struct pl_mem *mem)
{
	size_t nb = m->nb ? m->nb * 2 : 256;
	struct pl_og **v = calloc(nb, sizeof *v);
	if (v == NULL)
		return -1;
	pl_mem_realloc(mem, m->nb * sizeof *v, nb * sizeof *v);
	struct pl_omap n = { v, nb, m->n };
	for (size_t i = 0; i < m->nb; i++)
		if (m->v[i])
			*map_slot(&n, m->v[i]->g) = m->v[i];
	free(m->v);
	*m = n;
	return 0;
}

/* Remove the entry at slot i, shifting back the entries behind it. */
static void
map_del(struct pl_omap *m, struct pl_og **slot)
{
	size_t mask = m->nb - 1;
	size_t i = (size_t)(slot - m->v), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (m->v[j] == NULL)
			break;
		size_t home = ptr_hash(m->v[j]->g) & mask;
		if (!pl_oa_stays(home, i, j)) {
			m->v[i] = m->v[j];
			i = j;
		}
	}
	m->v[i] = NULL;
	m->n--;
}

/* ---- the index ------------------------------------------------------------ */

int
pl_ostores_init(struct pl_merger *mg)
{
	size_t nb = mg->plan->nbranches;
	mg->ostores = calloc(nb ? nb : 1, sizeof *mg->ostores);
	if (mg->ostores == NULL)
		return -1;
	for (size_t b = 0; b < nb; b++) {
		const struct pl_store *s = &mg->stores[b];
		struct pl_ostore *o = &mg->ostores[b];
		o->nattrs = s->nattrs;
		if (s->nattrs == 0)
			continue;
		o->attrs = calloc(s->nattrs, sizeof *o->attrs);
		if (o->attrs == NULL)
			return -1;
		for (size_t k = 0; k < s->nattrs; k++) {
			memcpy(o->attrs[k].ops, s->attrs[k].ops,
			       sizeof o->attrs[k].ops);
			o->attrs[k].nops = s->attrs[k].nops;
		}
	}
	return 0;
}

void
pl_ostores_free(struct pl_merger *mg)
{
	if (mg->ostores == NULL)
		return;
	for (size_t b = 0; b < mg->plan->nbranches; b++) {
		struct pl_ostore *o = &mg->ostores[b];
		for (size_t i = 0; i < o->n; i++) {
			pl_mem_free(mg->mem, og_size(o));
			free(o->v[i]);
		}
		pl_mem_free(mg->mem, o->cap * sizeof *o->v);
		free(o->v);
		for (size_t k = 0; k < o->nattrs; k++)
			if (o->attrs[k].b)
				pl_sbuckets_free(o->attrs[k].b, o->attrs[k].nb,
						 mg->mem);
		free(o->attrs);
	}
	pl_mem_free(mg->mem, mg->omap.nb * sizeof *mg->omap.v);
	free(mg->omap.v);
	free(mg->ostores);
	mg->ostores = NULL;
}

static void
og_unfile(struct pl_merger *mg, struct pl_ostore *o, struct pl_og *e)
{
	for (size_t k = 0; k < o->nattrs; k++)
		pl_attr_remove(&o->attrs[k], e->g, e->h[k], mg->mem);
}

static int
og_file(struct pl_merger *mg, struct pl_ostore *o, struct pl_og *e)
{
	e->stime = e->g->stime;
	for (size_t k = 0; k < o->nattrs; k++) {
		e->h[k] = pl_ops_hash_memo(mg, e->g, o->attrs[k].ops,
					   o->attrs[k].nops);
		if (pl_attr_insert(&o->attrs[k], e->g, e->h[k], mg->mem) < 0) {
			while (k-- > 0)
				pl_attr_remove(&o->attrs[k], e->g, e->h[k], mg->mem);
			return -1;
		}
	}
	return 0;
}

/* Out of the dense list and the map, and freed (unfiled already). */
static void
og_drop(struct pl_merger *mg, struct pl_ostore *o, struct pl_og **slot)
{
	struct pl_og *e = *slot;
	struct pl_og *last = o->v[--o->n];
	o->v[e->at] = last;
	last->at = e->at;
	map_del(&mg->omap, slot);
	pl_mem_free(mg->mem, og_size(o));
	free(e);
}

static struct pl_og *
og_new(struct pl_merger *mg, struct pl_ostore *o, struct pl_group *g)
{
	if ((mg->omap.n + 1) * 2 > mg->omap.nb && map_grow(&mg->omap, mg->mem) < 0)
		return NULL;
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		struct pl_og **v = realloc(o->v, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		pl_mem_realloc(mg->mem, o->cap * sizeof *v, cap * sizeof *v);
		o->v = v;
		o->cap = cap;
	}
	struct pl_og *e = malloc(og_size(o));
	if (e == NULL)
		return NULL;
	pl_mem_alloc(mg->mem, og_size(o));
	e->g = g;
	e->at = o->n;
	o->v[o->n++] = e;
	*map_slot(&mg->omap, g) = e;
	mg->omap.n++;
	return e;
}

void
pl_merger_open_put(struct pl_merger *mg, struct pl_group *g, int passes)
{
	struct pl_ostore *o = &mg->ostores[g->br->index];
	struct pl_og **slot = mg->omap.nb ? map_slot(&mg->omap, g) : NULL;
	struct pl_og *e = slot ? *slot : NULL;
	if (!passes) {
		if (e) {
			og_unfile(mg, o, e);
			og_drop(mg, o, slot);
		}
		return;
	}
	if (e == NULL) {
		e = og_new(mg, o, g);
		if (e == NULL)
			return;   /* out of memory: it only misses early matches */
		if (og_file(mg, o, e) < 0)
			og_drop(mg, o, map_slot(&mg->omap, g));
		return;
	}
	/* Filed anew only where a hash (or, for the ranges, stime) moved. */
	int moved = e->stime != g->stime;
	for (size_t k = 0; k < o->nattrs && !moved; k++)
		moved = e->h[k] != pl_ops_hash_memo(mg, g, o->attrs[k].ops,
						    o->attrs[k].nops);
	if (!moved)
		return;
	og_unfile(mg, o, e);
	if (og_file(mg, o, e) < 0)
		og_drop(mg, o, map_slot(&mg->omap, g));
}

void
pl_merger_open_del(struct pl_merger *mg, struct pl_group *g)
{
	if (mg->omap.nb == 0)
		return;
	struct pl_og **slot = map_slot(&mg->omap, g);
	if (*slot == NULL)
		return;
	struct pl_ostore *o = &mg->ostores[g->br->index];
	og_unfile(mg, o, *slot);
	og_drop(mg, o, slot);
}

struct pl_group *
pl_ostore_at(const struct pl_ostore *o, size_t i)
{
	return o->v[i]->g;
}
