/*
 * grouper.c - the incremental grouper of one branch (SPEC sections 4, 5).
 *
 * Batch meaning: a record joins the oldest open group for which some
 * module has all its rules true; otherwise it starts a group if it passes
 * some module's absolute rules; otherwise it is dropped.  Modules are ORed,
 * so a group is not tied to the module that created it.
 *
 * Speed: each module with key equalities (`srcip = srcip`, no delta) keeps
 * a hash index of the open groups keyed by the first record's values of
 * the left-hand fields (keyindex.c); a record probes it with its
 * right-hand fields and walks one run, which holds groups in creation
 * order, so the first
 * group that passes the remaining rules is that module's oldest.  Modules
 * without keys scan the open list (oldest first).  The answer is the oldest
 * of the modules' answers.
 *
 * Streaming: every group has a deadline, the latest stime a record could
 * have and still join it; groups sit in a deadline queue (dqueue.c: a
 * small heap and a wheel of one-tick buckets) and close when stream time
 * passes deadline + M.  A closed group goes to the branch's group link
 * (stage.h), the group filter.  The groups themselves -- blocks,
 * aggregates, record images -- are group.c's.
 *
 * Memory: every allocation of a group, the queue and the key indexes is
 * counted in the state total (pl_base.h, struct pl_mem); at the
 * --max-state cap the state cap (statecap.c) closes the group at the top
 * of the queue early (pl_grouper_oldest, pl_grouper_close_early).
 */
#include "pl.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

/* ---- rules ---------------------------------------------------------- */

static int
keys_equal(const struct pl_grouper *gr, const struct fq_gmodule *m,
	   const struct pl_group *G, const struct fq_record *r)
{
	for (size_t k = 0; k < m->nkeys; k++) {
		const struct fq_field *a = m->keys[k].a, *b = m->keys[k].b;
		if (a->type == FQ_T_IP || b->type == FQ_T_IP) {
			if (a->type != b->type ||
			    !fq_ip_eq(pl_gip(gr, G, 0, a), fq_field_ip(r, b)))
				return 0;
		} else if (pl_gnum(gr, G, 0, a) != fq_field_num(r, b)) {
			return 0;
		}
	}
	return 1;
}

static int
rel_rule(const struct pl_grouper *gr, const struct fq_grule *ru,
	 const struct pl_group *G, const struct fq_record *r)
{
	int last = ru->ref == FQ_REF_LAST;
	struct pl_val a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.plen = b.plen = 128;
	if (ru->a->type == FQ_T_IP) {
		a.t = FQ_V_IP;
		a.ip = *pl_gip(gr, G, last, ru->a);
	} else {
		a.t = FQ_V_INT;
		a.i = pl_gnum(gr, G, last, ru->a);
	}
	if (ru->b->type == FQ_T_IP) {
		b.t = FQ_V_IP;
		b.ip = *fq_field_ip(r, ru->b);
	} else {
		b.t = FQ_V_INT;
		b.i = fq_field_num(r, ru->b);
	}
	if (a.t == FQ_V_IP)
		a.plen = a.ip.is6 ? 128 : 32;
	if (b.t == FQ_V_IP)
		b.plen = b.ip.is6 ? 128 : 32;
	return pl_compare(ru->op, ru->has_delta, ru->delta, &a, &b);
}

static int
module_accepts(const struct pl_grouper *gr, const struct fq_gmodule *m,
	       const struct pl_group *G, const struct fq_record *r,
	       int check_keys)
{
	if (check_keys && !keys_equal(gr, m, G, r))
		return 0;
	for (size_t k = 0; k < m->nrel; k++)
		if (!rel_rule(gr, &m->rel[k], G, r))
			return 0;
	return 1;
}

/* Streaming deadline of a group: SPEC section 5. */
static int64_t
group_deadline(const struct pl_branch *b, const struct pl_group *G)
{
	const struct pl_params *o = b->p;
	const struct fq_plan_grouper *pg = b->gr.pg;
	int64_t wcap = o->window == FQ_TIME_INF ? FQ_TIME_INF
		       : G->stime + o->window;
	int64_t best = INT64_MIN;
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		int64_t d = FQ_TIME_INF;
		if (m->ntime == 0) {
			d = wcap;
		} else {
			for (size_t k = 0; k < m->ntime; k++) {
				const struct fq_gtime *t = &m->time[k];
				int64_t v = pl_gnum(&b->gr, G, t->ref == FQ_REF_LAST,
						 t->a) + t->delta;
				if (v < d)
					d = v;
			}
		}
		if (d > best)
			best = d;
	}
	return best < wcap ? best : wcap;
}

/* ---- the grouper ---------------------------------------------------- */

int
pl_grouper_init(struct pl_branch *b)
{
	struct pl_grouper *gr = &b->gr;
	gr->pg = b->pb->grouper;
	if (gr->pg && gr->pg->naggs) {
		gr->agg_off = calloc(gr->pg->naggs, sizeof *gr->agg_off);
		if (gr->agg_off == NULL)
			return -1;
	}
	/* The validator's limits (1024 aggregates, 1024 modules) keep a
	 * block well under a slab (PL_SLAB). */
	size_t size = pl_group_layout(gr->pg, gr->agg_off, &gr->khash_at);
	if (gr->pg && pl_group_images_init(b, &size) < 0)
		return -1;
	gr->group_base = pl_chunk(size);
	gr->block_size = (size + 63) & ~(size_t)63;
	if (gr->block_size > PL_SLAB)
		return -1;
	if (gr->pg == NULL)
		return 0;
	const struct fq_plan_grouper *pg = gr->pg;
	if (pl_group_aggops_init(gr) < 0)
		return -1;
	gr->probe_m = SIZE_MAX;
	for (size_t i = pg->nmodules; i-- > 0;)
		if (pg->modules[i].nkeys)
			gr->probe_m = i;
	if (gr->probe_m != SIZE_MAX) {
		const struct fq_gmodule *m = &pg->modules[gr->probe_m];
		gr->probe_sym = 1;
		for (size_t k = 0; k < m->nkeys; k++)
			if (m->keys[k].a != m->keys[k].b)
				gr->probe_sym = 0;
	}
	gr->linked = b->p->batch;
	for (size_t i = 0; i < pg->nmodules; i++)
		if (pg->modules[i].nkeys == 0)
			gr->linked = 1;
	gr->idx = calloc(gr->pg->nmodules, sizeof *gr->idx);
	gr->abs_ok = calloc(gr->pg->nmodules, 1);
	if (gr->idx == NULL || gr->abs_ok == NULL)
		return -1;
	/* A fixed 16 KiB per branch, like the index tables' headers: not
	 * counted as state. */
	if (!b->p->batch) {
		gr->span.cnt = calloc(PL_SPAN_N, sizeof *gr->span.cnt);
		if (gr->span.cnt == NULL)
			return -1;
		gr->span.base = INT64_MIN;
	}
	return 0;
}

/* ---- the span ring (pl.h, struct pl_span) ---------------------------- */

/* Where a group with this stime is counted: its second, kept inside the
 * ring's reach. */
static int64_t
span_second(const struct pl_span *sp, int64_t stime)
{
	int64_t s = pl_sec_of(stime);
	if (s < sp->base)
		return sp->base;
	if (s - sp->base >= PL_SPAN_N)
		return sp->base + (PL_SPAN_N - 1);
	return s;
}

static void
span_add(struct pl_branch *b, struct pl_group *G)
{
	struct pl_span *sp = &b->gr.span;
	if (sp->cnt == NULL)
		return;
	if (sp->n == 0) {
		/*
		 * Nothing is counted: the ring may start anew, at this group
		 * or at T - M, whichever is first (base must stay at or
		 * before the second of T - M, before which no on-time group
		 * can start, and may not go back).  Before there is a stream
		 * time (the first records), half the ring goes before this
		 * group, for the records that come after it but start
		 * earlier.
		 */
		int64_t T = *b->p->T;
		int64_t s = pl_sec_of(G->stime);
		if (T != INT64_MIN) {
			int64_t lim = pl_sec_of(pl_time_sub(T,
						 b->p->max_duration));
			if (lim < s)
				s = lim;
		} else {
			s -= PL_SPAN_N / 2;
		}
		if (s > sp->base)
			sp->base = s;
	}
	int64_t c = span_second(sp, G->stime);
	G->span_i = (uint32_t)((uint64_t)c & (PL_SPAN_N - 1));
	sp->cnt[G->span_i]++;
	sp->n++;
}

static void
span_del(struct pl_grouper *gr, struct pl_group *G)
{
	struct pl_span *sp = &gr->span;
	if (sp->cnt == NULL)
		return;
	sp->cnt[G->span_i]--;
	sp->n--;
}

int64_t
pl_grouper_front(struct pl_branch *b, int64_t T)
{
	const struct pl_params *o = b->p;
	int64_t front = pl_time_sub(T, o->max_duration);
	struct pl_span *sp = &b->gr.span;
	if (sp->cnt == NULL || front == INT64_MIN)
		return front;
	int64_t lim = pl_sec_of(front);
	if (sp->n == 0) {
		if (lim > sp->base)
			sp->base = lim;
		return front;
	}
	/* Some counter in [base, base + PL_SPAN_N) is not zero: the walk
	 * ends, and over a run it takes one step per second. */
	while (sp->base < lim &&
	       sp->cnt[(uint64_t)sp->base & (PL_SPAN_N - 1)] == 0)
		sp->base++;
	if (sp->cnt[(uint64_t)sp->base & (PL_SPAN_N - 1)] != 0) {
		/* An open group starts in second base (or later: see
		 * struct pl_span). */
		int64_t oldest = sp->base < INT64_MIN / 1000 + 1
				 ? INT64_MIN : sp->base * 1000;
		int64_t floor = pl_time_sub(front, o->window);
		if (oldest < floor)
			oldest = floor;
		if (oldest < front)
			front = oldest;
	}
	return front;
}

static void
open_unlink(struct pl_branch *b, struct pl_group *G)
{
	struct pl_grouper *gr = &b->gr;
	gr->nopen--;
	span_del(gr, G);
	G->open = 0;
	if (gr->closing_all)
		return;   /* close_all() empties list, heap and indexes after */
	if (gr->linked) {
		if (G->prev_open)
			G->prev_open->next_open = G->next_open;
		else
			gr->open_head = G->next_open;
		if (G->next_open)
			G->next_open->prev_open = G->prev_open;
		else
			gr->open_tail = G->prev_open;
	}
	for (size_t i = 0; i < gr->pg->nmodules; i++)
		if (gr->pg->modules[i].nkeys)
			pl_kindex_del(&gr->idx[i], G, G->khash[i]);
	if (!b->p->batch && gr->heap.n > 0 && gr->heap.a[0].g == G) {
		/* It closes from the top (see "deadline queue"); the caller
		 * holds it. */
		pl_dq_pop(&gr->heap);
		pl_group_hent_release(G);
	}
}

/* An entry of the queue at the end: its group goes if still open. */
static void
fini_entry(struct pl_group *G)
{
	if (G->open) {
		G->open = 0;
		pl_group_unref(G);
	}
	pl_group_hent_release(G);
}

void
pl_grouper_fini(struct pl_branch *b)
{
	struct pl_grouper *gr = &b->gr;
	if (gr->linked) {
		struct pl_group *G = gr->open_head;
		while (G) {
			struct pl_group *next = G->next_open;
			G->open = 0;
			pl_group_unref(G);
			G = next;
		}
	}
	/* Streaming: every open group is in the queue, some twice, and
	 * closed groups may have stale entries left. */
	struct pl_mem *mem = b->mem;
	pl_dq_fini(&gr->heap, mem, fini_entry);
	if (gr->idx)
		for (size_t i = 0; i < gr->pg->nmodules; i++) {
			pl_mem_free(mem, gr->idx[i].nb * sizeof *gr->idx[i].v);
			fq_table_free(gr->idx[i].v,
				      gr->idx[i].nb * sizeof *gr->idx[i].v);
		}
	free(gr->idx);
	free(gr->abs_ok);
	free(gr->agg_off);
	free(gr->aops);
	free(gr->due);
	free(gr->span.cnt);
	free(gr->img_off);
	free(gr->img_cp[0]);
	for (size_t i = 0; i < gr->nslabs; i++)
		fq_slab_free(gr->slabs[i], PL_SLAB);
	free(gr->slabs);
	memset(gr, 0, sizeof *gr);
}

/* Close G: it leaves the grouper and goes on to the group filter. */
static void
close_group(struct pl_branch *b, struct pl_group *G)
{
	open_unlink(b, G);
	b->c.groups_closed++;
	b->out.group(b->out.to, b, G);
}

uint64_t
pl_grouper_probe_hash(struct pl_branch *b, const struct fq_record *r)
{
	const struct pl_grouper *gr = &b->gr;
	if (gr->pg == NULL || gr->probe_m == SIZE_MAX)
		return 0;
	uint64_t h = pl_key_hash(&gr->pg->modules[gr->probe_m], r, 0);
	const struct pl_gindex *ix = &gr->idx[gr->probe_m];
	if (ix->nb)
		__builtin_prefetch(&ix->v[h & (ix->nb - 1)]);
	return h;
}

static size_t
field_end(const struct fq_field *f)
{
	if (f->type == FQ_T_DUR)   /* derived from the times */
		return offsetof(struct fq_record, etime) + sizeof(int64_t);
	return f->offset + pl_type_len(f->type);
}

size_t
pl_grouper_rec_bytes(const struct fq_plan_grouper *pg)
{
	/* rec_id (pl_query_group_closed) and the times, always */
	size_t n = offsetof(struct fq_record, etime) + sizeof(int64_t);
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		for (size_t k = 0; k < m->nkeys; k++)
			if (field_end(m->keys[k].a) > n)
				n = field_end(m->keys[k].a);
		for (size_t k = 0; k < m->nrel; k++)
			if (field_end(m->rel[k].a) > n)
				n = field_end(m->rel[k].a);
		for (size_t k = 0; k < m->ntime; k++)
			if (field_end(m->time[k].a) > n)
				n = field_end(m->time[k].a);
	}
	return n;
}

/* rec holds r, perhaps cut short: r is read, rec only stored. */
int
pl_grouper_record(struct pl_branch *b, struct pl_rec *rec,
		  const struct fq_record *r, int late, uint64_t probe)
{
	struct pl_grouper *gr = &b->gr;
	const struct pl_params *o = b->p;

	if (gr->pg == NULL) {
		/* No grouper: the record is a closed group of one. */
		struct pl_group *G = pl_group_new(b);
		if (G == NULL)
			return -1;
		pl_group_add(b, G, rec, r);
		if (b->watch.changed)
			b->watch.changed(b->watch.to, b, G);
		b->c.groups_closed++;
		b->out.group(b->out.to, b, G);
		return 0;
	}

	const struct fq_plan_grouper *pg = gr->pg;
	int any_abs = 0;
	for (size_t i = 0; i < pg->nmodules; i++) {
		gr->abs_ok[i] = (uint8_t)pl_cnf_record(&pg->modules[i].abs, r);
		any_abs |= gr->abs_ok[i];
	}
	if (!any_abs) {
		b->c.grouper_dropped++;
		return 0;
	}

	struct pl_group *best = NULL;
	struct pl_kent *best_e = NULL;   /* best's entry in module best_m's
					    index, if found through one */
	size_t best_m = 0;
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		if (!gr->abs_ok[i])
			continue;
		if (m->nkeys) {
			struct pl_gindex *ix = &gr->idx[i];
			if (ix->nb == 0)
				continue;
			uint64_t h = i == gr->probe_m ? probe
						      : pl_key_hash(m, r, 0);
			size_t mask = ix->nb - 1;
			for (size_t k = h & mask; ix->v[k].g; k = (k + 1) & mask) {
				struct pl_kent *e = &ix->v[k];
				if (e->hash != h)
					continue;
				/* Entries of one hash are in creation order. */
				if (best && e->seq > best->seq)
					break;
				/* The deadline is the latest stime any module
				 * could accept (SPEC section 5; a time rule on
				 * r.etime bounds r.stime only if stime <= etime,
				 * which network input need not keep). */
				if (r->stime > e->deadline && r->stime <= r->etime)
					continue;
				struct pl_group *G = e->g;
				if (o->window != FQ_TIME_INF &&
				    r->stime - G->stime > o->window)
					continue;
				if (module_accepts(gr, m, G, r, 1)) {
					best = G;
					best_e = e;
					best_m = i;
					break;
				}
			}
		} else {
			for (struct pl_group *G = gr->open_head; G; G = G->next_open) {
				if (best && G->seq > best->seq)
					break;
				if (o->window != FQ_TIME_INF &&
				    r->stime - G->stime > o->window)
					continue;
				if (module_accepts(gr, m, G, r, 0)) {
					best = G;
					best_e = NULL;
					break;
				}
			}
		}
	}

	if (best) {
		int64_t old_stime = best->stime;
		pl_group_add(b, best, rec, r);
		if (best->stime < old_stime && gr->span.cnt) {
			/* An earlier stime: count it there. */
			span_del(gr, best);
			span_add(b, best);
		}
		best->deadline = group_deadline(b, best);
		for (size_t i = 0; i < pg->nmodules; i++) {
			if (!pg->modules[i].nkeys)
				continue;
			struct pl_kent *e = best_e && i == best_m
					    ? best_e
					    : pl_kindex_find(&gr->idx[i], best,
							 best->khash[i]);
			if (e)
				e->deadline = best->deadline;
		}
		if (!o->batch && pl_dq_rekey(&gr->heap, best, b->mem) < 0)
			return -1;
		if (b->watch.changed)
			b->watch.changed(b->watch.to, b, best);
		return 0;
	}

	struct pl_group *G = pl_group_new(b);
	if (G == NULL)
		return -1;
	pl_group_add(b, G, rec, r);
	if (late)
		b->c.late_join++;
	G->open = 1;
	if (gr->linked) {
		G->prev_open = gr->open_tail;
		if (gr->open_tail)
			gr->open_tail->next_open = G;
		else
			gr->open_head = G;
		gr->open_tail = G;
	}
	gr->nopen++;
	span_add(b, G);
	G->deadline = group_deadline(b, G);
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		if (!m->nkeys)
			continue;
		G->khash[i] = i == gr->probe_m && gr->probe_sym
			      ? probe : pl_key_hash(m, r, 1);
		if (pl_kindex_add(&gr->idx[i], G, G->khash[i], b->mem) < 0)
			return -1;
	}
	if (!o->batch && pl_dq_push(&gr->heap, G, b->mem) < 0)
		return -1;
	if (b->watch.changed)
		b->watch.changed(b->watch.to, b, G);
	return 0;
}

/*
 * G is the next group to close: while stream time gets there, fetch
 * what closing it will read, in two steps -- the group's block first,
 * then, once that is in, its key index slots, its records and the
 * merger's index slots for it (those addresses are in the block).
 * Closing a group cold took five or six cache misses one after the
 * other; this overlaps them with the records before.  The blocks of the
 * top's children are fetched too: the next group to close is one of
 * them, and when it becomes the top its block is in, so the second step
 * can follow at once.  Runs when the top changes and once more; the
 * pointers kept are only compared, never followed.
 */
static void
prefetch_lines(const struct pl_grouper *gr, const struct pl_group *g)
{
	for (size_t l = 0; l < gr->block_size; l += 64)
		__builtin_prefetch((const char *)g + l);
}

static void
prefetch_deep(struct pl_branch *b, const struct pl_group *G)
{
	struct pl_grouper *gr = &b->gr;
	gr->pf_done = G;
	/* close_all() empties the indexes whole: nothing to fetch there */
	for (size_t i = 0; i < gr->pg->nmodules && !gr->closing_all; i++) {
		const struct pl_gindex *ix = &gr->idx[i];
		if (gr->pg->modules[i].nkeys && ix->nb)
			__builtin_prefetch(&ix->v[G->khash[i] & (ix->nb - 1)]);
	}
	if (!G->has_ids && G->n) {
		__builtin_prefetch(G->recs[0]);
		__builtin_prefetch(G->recs[G->n - 1]);
	}
	if (b->out.prefetch)
		b->out.prefetch(b->out.to, G);
}

_Static_assert(PL_DQ_D <= sizeof(((struct pl_grouper *)0)->pf_kids) /
			  sizeof(((struct pl_grouper *)0)->pf_kids[0]),
	       "prefetch_next keeps the root's children");

static void
prefetch_next(struct pl_branch *b, const struct pl_group *G)
{
	struct pl_grouper *gr = &b->gr;
	if (G == gr->pf_top) {
		if (gr->pf_done != G)
			prefetch_deep(b, G);
		return;
	}
	int seen = 0;
	for (size_t k = 0; k < gr->npf_kids; k++)
		seen |= gr->pf_kids[k] == G;
	gr->pf_top = G;
	if (seen)
		prefetch_deep(b, G);
	else
		prefetch_lines(gr, G);
	const struct pl_heap *h = &gr->heap;
	size_t n = h->n - 1 < PL_DQ_D ? h->n - 1 : PL_DQ_D;
	for (size_t k = 0; k < n; k++) {
		gr->pf_kids[k] = h->a[1 + k].g;
		prefetch_lines(gr, h->a[1 + k].g);
	}
	gr->npf_kids = n;
}

/*
 * End of input: close every open group, in creation order.  The open
 * list (--batch, or a module without keys) or else the heap sorted by
 * seq gives them as an array, which is closed with each group's memory
 * fetched a few groups ahead; list, heap and indexes are emptied at once
 * after, not one group at a time -- at the end of a long stream that is
 * most of the groups of the last M minutes, and in --batch all of them.
 */
static void
close_all(struct pl_branch *b)
{
	struct pl_grouper *gr = &b->gr;
	struct pl_heap *h = &gr->heap;
	if (pl_dq_gather(h, b->mem) < 0) {
		/* Out of memory: in deadline order, as far as it goes. */
		struct pl_group *G;
		while ((G = pl_dq_top(h, INT64_MAX, b->mem)) != NULL) {
			pl_dq_pop(h);
			close_group(b, G);
			pl_group_hent_release(G);
		}
	}
	size_t n = 0, nheap = h->n;
	struct pl_group **v = NULL;
	if (gr->linked) {
		if (gr->nopen > gr->ndue_cap) {
			struct pl_group **d = realloc(gr->due,
						      gr->nopen * sizeof *d);
			if (d == NULL) {
				/* one at a time, as the list goes */
				while (gr->open_head)
					close_group(b, gr->open_head);
				for (size_t i = 0; i < h->n; i++)
					pl_group_hent_release(h->a[i].g);   /* stale */
				h->n = 0;
				return;
			}
			gr->due = d;
			gr->ndue_cap = gr->nopen;
		}
		for (struct pl_group *G = gr->open_head; G; G = G->next_open)
			gr->due[n++] = G;
		v = gr->due;
	} else {
		n = nheap;
		if (n > 1)
			pl_dq_sort_seq(h->a, n);
	}
	gr->closing_all = 1;
	/* Nothing below reads the heap: no record comes after the end, and
	 * the --max-state cap is not checked within it (engine.c). */
	h->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 8 < n)
			prefetch_lines(gr, v ? v[i + 8] : h->a[i + 8].g);
		if (i + 4 < n)
			prefetch_deep(b, v ? v[i + 4] : h->a[i + 4].g);
		/* Without the list a group with two entries has them side by
		 * side. */
		struct pl_group *G = v ? v[i] : h->a[i].g;
		if (G->open)
			close_group(b, G);
		if (!v)
			pl_group_hent_release(G);
	}
	gr->closing_all = 0;
	if (v) {
		gr->open_head = gr->open_tail = NULL;
		for (size_t i = 0; i < nheap; i++)
			pl_group_hent_release(h->a[i].g);   /* stale now */
	}
	for (size_t i = 0; i < gr->pg->nmodules; i++) {
		struct pl_gindex *ix = &gr->idx[i];
		if (ix->nb)
			memset(ix->v, 0, ix->nb * sizeof *ix->v);
		ix->n = 0;
	}
}

/* Close the groups taken off the heap (pl_grouper_close_until). */
static void
close_due(struct pl_branch *b, struct pl_group **due, size_t n)
{
	const struct pl_grouper *gr = &b->gr;
	for (size_t i = 0; i < n && i < 6; i++)
		prefetch_lines(gr, due[i]);
	for (size_t i = 0; i < n; i++) {
		if (i + 6 < n)
			prefetch_lines(gr, due[i + 6]);
		if (i + 3 < n)
			prefetch_deep(b, due[i + 3]);
		struct pl_group *G = due[i];
		G->open = 1;   /* for open_unlink */
		close_group(b, G);
		pl_group_hent_release(G);
	}
}

void
pl_grouper_close_until(struct pl_branch *b, int64_t T, int all)
{
	struct pl_grouper *gr = &b->gr;
	if (gr->pg == NULL)
		return;
	if (all) {
		close_all(b);
		return;
	}
	int64_t M = b->p->max_duration;
	struct pl_group *G;
	/*
	 * Stream time moves in steps, and a step often makes several groups
	 * due at once: they are taken off the heap first, in order, then
	 * closed in that order with their memory fetched a few groups
	 * ahead (prefetch_next).  Closing one group changes neither the
	 * heap nor any other group; a taken group counts as closed for
	 * pl_dq_top, which drops its other entries if it meets them.
	 */
	size_t n = 0;
	/* The latest deadline T closes: T > deadline + M. */
	int64_t upto = T < INT64_MIN + M + 1 ? INT64_MIN : T - M - 1;
	while ((G = pl_dq_top(&gr->heap, upto, b->mem)) != NULL) {
		/* T passes deadline + M (saturating). */
		int64_t limit = G->deadline > FQ_TIME_INF - M ? FQ_TIME_INF
							     : G->deadline + M;
		if (!(T > limit))
			break;
		if (n == gr->ndue_cap) {
			size_t cap = gr->ndue_cap ? gr->ndue_cap * 2 : 64;
			struct pl_group **v = realloc(gr->due, cap * sizeof *v);
			if (v == NULL) {
				/* close it now, the way a batch of one would */
				close_due(b, gr->due, n);
				n = 0;
				pl_dq_pop(&gr->heap);
				G->open = 0;
				close_group(b, G);
				pl_group_hent_release(G);
				continue;
			}
			gr->due = v;
			gr->ndue_cap = cap;
		}
		pl_dq_pop(&gr->heap);
		G->open = 0;
		gr->due[n++] = G;
	}
	close_due(b, gr->due, n);
	if (G)
		prefetch_next(b, G);
}

/*
 * --max-state.  The group stream time would close first goes first: the
 * top of the deadline heap, keyed by deadline + M, the moment T would
 * close it.  In --batch nothing closes before the end and no heap is
 * kept; the oldest group there is the first created (the open list is in
 * creation order), keyed by its stime so that it compares with the
 * merger store's oldest on the same axis.
 */
struct pl_group *
pl_grouper_oldest(struct pl_branch *b, int64_t *key)
{
	struct pl_grouper *gr = &b->gr;
	if (gr->pg == NULL || gr->nopen == 0)
		return NULL;
	if (b->p->batch) {
		*key = gr->open_head->stime;
		return gr->open_head;
	}
	struct pl_group *G = pl_dq_top(&gr->heap, INT64_MAX, b->mem);
	if (G == NULL)
		return NULL;   /* close_all() is emptying it */
	int64_t M = b->p->max_duration;
	*key = G->deadline > FQ_TIME_INF - M ? FQ_TIME_INF : G->deadline + M;
	return G;
}

void
pl_grouper_close_early(struct pl_branch *b, struct pl_group *g)
{
	b->c.closed_early++;
	close_group(b, g);
}
