/*
 * merger_horizon.c - when the merger lets a stored group go (SPEC section
 * 5): once T has passed the latest stime a partner could have -- from
 * the Allen relations, their deltas, and W along paths of the relation
 * graph (pl_drop_time) -- the front of every branch (pl_grouper_front)
 * has passed it too, and every partner it will ever have is in.  State
 * is so bounded by the data inside W + M + L; in --batch nothing is
 * dropped until the end.
 *
 * Stored groups wait for their horizon (drop_at) in a timing wheel of
 * one-second buckets: a group goes into the bucket of its drop second,
 * and as stream time passes a second its bucket is emptied, so dropping
 * costs O(1) per group however large the store is (a sweep of the whole
 * store, as before, made a long stream's cost grow with its state).  A
 * group due more than PL_WHEEL_N seconds ahead shares a bucket with nearer
 * ones and is put back when that bucket comes round.  A group leaving
 * the store otherwise (--max-state eviction) is taken out of its bucket
 * at once: the wheel never holds a group the store does not.
 */
#include "merger_int.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

int
pl_wheel_add(struct pl_wheel *w, struct pl_group *g, struct pl_mem *mem)
{
	int64_t sec = pl_sec_of(g->drop_at);
	if (!w->started) {
		w->cur = sec;
		w->started = 1;
	}
	if (sec < w->cur)
		sec = w->cur;
	struct pl_wbucket *b = &w->b[(uint64_t)sec & (PL_WHEEL_N - 1)];
	if (b->n == b->cap) {
		struct pl_group **a = pl_array_grow(b->g, &b->cap, sizeof *a,
						    16, mem);
		if (a == NULL)
			return -1;
		b->g = a;
	}
	g->wb = (uint32_t)(b - w->b);
	g->wi = b->n;
	b->g[b->n++] = g;
	w->n++;
	return 0;
}

void
pl_wheel_remove(struct pl_wheel *w, struct pl_group *g)
{
	struct pl_wbucket *b = &w->b[g->wb];
	struct pl_group *last = b->g[--b->n];
	b->g[g->wi] = last;
	last->wi = g->wi;
	w->n--;
}

void
pl_wheel_fini(struct pl_wheel *w, struct pl_mem *mem)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < PL_WHEEL_N; i++) {
		pl_mem_free(mem, w->b[i].cap * sizeof *w->b[i].g);
		free(w->b[i].g);
	}
	pl_mem_free(mem, sizeof *w);
	free(w);
}

/* Latest time a partner of g (stored in branch b) can arrive. */
int64_t
pl_drop_time(struct pl_merger *mg, struct pl_group *g, size_t b)
{
	const struct pl_params *o = mg->p;
	struct pl_mod *mods = pl_mods_of(mg);
	int64_t latest = INT64_MIN;
	int used = 0;
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		const struct fq_mmodule *m = mods[i].m;
		size_t k = m->nbranches;
		for (size_t s = 0; s < k; s++) {
			if (m->branches[s] != b)
				continue;
			used = 1;
			for (size_t t = 0; t < k; t++) {
				if (t == s)
					continue;
				int64_t d = mods[i].dist[s * k + t];
				int64_t v = d == FQ_TIME_INF
					    ? pl_sat_add(g->stime, o->window)
					    : pl_sat_add(g->etime, d);
				if (v > latest)
					latest = v;
			}
		}
	}
	if (!used)
		return INT64_MIN;   /* no module needs this branch */
	return latest;
}

/*
 * End of input: every stored group is dropped.  The indexes go whole,
 * not group by group, and the stores are walked in order, fetching the
 * groups a few ahead: at the end of a long stream they hold the groups
 * of the last quarter hour or so.
 */
static void
merger_teardown(struct pl_merger *mg)
{
	struct pl_mem *mem = mg->mem;
	for (size_t b = 0; b < mg->plan->nbranches; b++) {
		struct pl_store *s = &mg->stores[b];
		for (size_t k = 0; k < s->nattrs; k++) {
			struct pl_attr *a = &s->attrs[k];
			if (a->b)
				pl_sbuckets_free(a->b, a->nb, mem);
			a->b = NULL;
			a->nb = a->n = 0;
		}
		for (size_t i = 0; i < s->n; i++) {
			if (i + 8 < s->n)
				pl_prefetch_head(s->byst[i + 8]);
			struct pl_group *g = s->byst[i];
			if (g->stored) {
				if (g->shash && g->shash != g->shash_in) {
					pl_mem_free(mem, s->nattrs * sizeof *g->shash);
					free(g->shash);
				}
				g->shash = NULL;
				g->stored = 0;
				mg->c.dropped_groups++;
			}
			pl_group_unref(g);
		}
		s->n = s->dead = s->evict_from = 0;
	}
	struct pl_wheel *w = mg->drops;
	for (size_t i = 0; i < PL_WHEEL_N; i++)
		w->b[i].n = 0;
	w->n = 0;
}

/* Stream time is T: bring the front up and drop what it passed. */
void
pl_merger_horizon(struct pl_merger *mg, int64_t T, int end)
{
	/*
	 * Drop stored groups past their horizon: the front (docs/merger.md)
	 * is the earliest stime a group still to come to any listed branch
	 * can have; a stored group whose partners all start by drop_at has
	 * met every one it will meet once the front has passed drop_at.
	 * Empty the wheel's buckets of every second the front has passed.
	 */
	if (end) {
		merger_teardown(mg);
		return;
	}
	/*
	 * Stream time moves on with nearly every record; the front, and
	 * with it the drop wheel, is brought up once per second of it.  A
	 * front up to a second behind is still a lower bound: a group it
	 * lets into the store goes a second later, nothing else changes.
	 */
	int64_t sec = pl_sec_of(T);
	if (sec == mg->front_sec)
		return;
	mg->front_sec = sec;
	{
		int64_t f = FQ_TIME_INF;
		for (size_t b = 0; b < mg->plan->nbranches; b++) {
			if (!mg->listed[b])
				continue;
			int64_t v = pl_grouper_front(&mg->br[b], T);
			if (v < f)
				f = v;
		}
		if (f != FQ_TIME_INF && f > mg->front)
			mg->front = f;
	}
	int64_t F = mg->front;
	struct pl_wheel *w = mg->drops;
	/* The seconds done. */
	int64_t last = pl_sec_of(F) - 1;
	size_t dropped = 0;
	while (w->n > 0 && w->cur <= last) {
		if (w->cur <= last - PL_WHEEL_N)
			w->cur = last - (PL_WHEEL_N - 1);  /* one full turn is all */
		struct pl_wbucket *bk = &w->b[(uint64_t)w->cur & (PL_WHEEL_N - 1)];
		w->cur++;
		/* The bucket is compacted in one pass: a group due a turn or
		 * more later moves down, and only it learns its new place
		 * (pl_wheel_remove() would move the last group of the bucket
		 * into the hole, a cache miss per dropped group). */
		uint32_t k = 0;
		for (uint32_t i = 0; i < bk->n; i++) {
			/* The groups of a bucket are far apart: fetch them a
			 * few ahead, then the index slots they leave. */
			if (i + 8 < bk->n)
				pl_prefetch_head(bk->g[i + 8]);
			if (i + 4 < bk->n)
				pl_store_prefetch_drop(&mg->stores[bk->g[i + 4]->br->index],
					      bk->g[i + 4]);
			struct pl_group *g = bk->g[i];
			if (F > g->drop_at) {
				pl_store_drop(&mg->stores[g->br->index], g, mg->mem);
				mg->c.dropped_groups++;
				dropped++;
				w->n--;
			} else {
				g->wi = k;
				bk->g[k++] = g;
			}
		}
		bk->n = k;
	}
	if (w->n == 0 && w->cur <= last)
		w->cur = last + 1;
	if (!dropped)
		return;
	for (size_t b = 0; b < mg->plan->nbranches; b++) {
		struct pl_store *s = &mg->stores[b];
		if (s->dead && s->dead * 2 > s->n)
			pl_store_compact(s);
	}
}
