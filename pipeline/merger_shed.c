/*
 * merger_shed.c - the merger's part of --max-state (statecap.c;
 * docs/streaming.md, "Bounded state"): which stored group to evict first,
 * evicting it, and, when every stored group is held by a pending tuple,
 * dropping the tuple stream time would release first.
 *
 * The state cap works in rounds: pl_merger_shed_round() compacts
 * (freeing what the previous round evicted), then victims are taken one
 * at a time.  An evicted group leaves the indexes at once but is freed
 * by the next compaction, so pl_merger_evict() returns the bytes that
 * will free for the cap to count meanwhile.  Eviction only ever loses
 * matches, never invents one (merger.c, unsure()).
 */
#include "merger_int.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

/*
 * The engine's shed() works in rounds: pl_merger_shed_round() compacts
 * (freeing what the previous round evicted), then victims are taken one
 * at a time.  An evicted group leaves the indexes at once but is freed
 * by the next compaction, so pl_merger_evict() returns the bytes that
 * will free for the engine to count meanwhile.
 */
void
pl_merger_shed_round(struct pl_merger *mg)
{
	for (size_t b = 0; b < mg->plan->nbranches; b++) {
		struct pl_store *s = &mg->stores[b];
		if (s->dead)
			pl_store_compact(s);
		s->evict_from = 0;
	}
	mg->pending_sorted = 0;
}

/*
 * The stored group to evict first: of every branch's oldest (in stime
 * order) that nothing but the store holds, the one the horizon would
 * drop first; in --batch nothing has a horizon and stime decides.  A
 * group a pending tuple holds is passed over: evicting it would free
 * nothing unless the tuple -- a match found, waiting only for its
 * rejection window -- went too (pl_merger_oldest_pending).
 */
struct pl_group *
pl_merger_oldest(struct pl_merger *mg, int64_t *key)
{
	int batch = mg->p->batch;
	struct pl_group *best = NULL;
	for (size_t b = 0; b < mg->plan->nbranches; b++) {
		struct pl_store *s = &mg->stores[b];
		while (s->evict_from < s->n &&
		       (!s->byst[s->evict_from]->stored ||
			s->byst[s->evict_from]->refs > 1))
			s->evict_from++;
		if (s->evict_from == s->n)
			continue;
		struct pl_group *g = s->byst[s->evict_from];
		/* The front trails T by M at least. */
		int64_t k = batch ? g->stime
				  : pl_sat_add(g->drop_at, mg->p->max_duration);
		if (best == NULL || k < *key) {
			best = g;
			*key = k;
		}
	}
	return best;
}

/*
 * Remember g's keys for unsure(): per equality attribute a subtracting
 * module joins on, a fixed table of the largest stime evicted per key
 * hash slot.  Collisions only make it more careful.  Its size is set at
 * the first eviction, as many slots as groups were then stored (what
 * fits under the cap): 8 bytes per group of several hundred, and it
 * never grows.
 */
void
pl_evicted_note(struct pl_store *s, struct pl_group *g, struct pl_mem *mem)
{
	for (size_t k = 0; k < s->nattrs; k++) {
		struct pl_attr *a = &s->attrs[k];
		if (!a->sub_key)
			continue;
		if (a->evicted == NULL) {
			size_t n = 256;
			while (n < s->n - s->dead && n < ((size_t)1 << 24))
				n *= 2;
			a->evicted = malloc(n * sizeof *a->evicted);
			if (a->evicted == NULL)
				continue;   /* unsure() falls back on evicted_stime */
			pl_mem_alloc(mem, n * sizeof *a->evicted);
			a->nevicted = n;
			for (size_t i = 0; i < n; i++)
				a->evicted[i] = INT64_MIN;
		}
		int64_t *w = &a->evicted[pl_ops_hash(g, a->ops, a->nops) &
					 (a->nevicted - 1)];
		if (g->stime > *w)
			*w = g->stime;
	}
}

size_t
pl_merger_evict(struct pl_merger *mg, struct pl_group *g)
{
	struct pl_store *s = &mg->stores[g->br->index];
	pl_evicted_note(s, g, mg->mem);
	pl_wheel_remove(mg->drops, g);
	pl_store_drop(s, g, mg->mem);
	if (g->stime > s->evicted_stime)
		s->evicted_stime = g->stime;
	mg->c.evicted++;
	return pl_group_footprint(g);
}

static int
cmp_tuple_release(const void *a, const void *b)
{
	const struct pl_tuple *x = *(struct pl_tuple *const *)a;
	const struct pl_tuple *y = *(struct pl_tuple *const *)b;
	if (x->release != y->release)
		return x->release < y->release ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The pending tuple the cap drops first, the one stream time would
 * release first, with its key; NULL when none waits.  The list is sorted
 * by release once per round: the engine comes here only when no group
 * is open (none to close early) and none stored is free of tuples, so no
 * tuple is added meanwhile.
 */
struct pl_tuple *
pl_merger_oldest_pending(struct pl_merger *mg, int64_t *key)
{
	if (mg->pending == NULL)
		return NULL;
	if (!mg->pending_sorted && mg->npending > 1) {
		struct pl_tuple **v = malloc(mg->npending * sizeof *v);
		if (v) {
			size_t n = 0;
			for (struct pl_tuple *t = mg->pending; t; t = t->next)
				v[n++] = t;
			qsort(v, n, sizeof *v, cmp_tuple_release);
			for (size_t i = 0; i + 1 < n; i++)
				v[i]->next = v[i + 1];
			v[n - 1]->next = NULL;
			mg->pending = v[0];
			free(v);
		}
	}
	mg->pending_sorted = 1;
	*key = mg->pending->release;
	return mg->pending;
}

/* Drop that tuple; its groups that nothing else holds any more are
 * evicted with it.  Returns the bytes that frees at the next round. */
size_t
pl_merger_drop_oldest_pending(struct pl_merger *mg)
{
	struct pl_tuple *t = mg->pending;
	size_t nb = mg->plan->nbranches;
	mg->pending = t->next;
	mg->npending--;
	mg->c.tuples_dropped++;
	if (mg->watch.dropped)
		mg->watch.dropped(mg->watch.ctx, t->g);
	struct pl_group *g[PL_SLOT_MAX];
	size_t ng = 0;
	for (size_t b = 0; b < nb && ng < PL_SLOT_MAX; b++)
		if (t->g[b] && t->g[b]->refs == 2 && t->g[b]->stored)
			g[ng++] = t->g[b];   /* the tuple's ref and the store's */
	pl_tuple_free(mg, t);
	size_t freed = 0;
	for (size_t i = 0; i < ng; i++)
		freed += pl_merger_evict(mg, g[i]);
	return freed;
}
