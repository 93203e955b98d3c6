/*
 * ungrouper.c - the last stage: tuples of groups become matches
 * (SPEC sections 4 and 6).
 *
 * A tuple from the merger, or a group that passed its group filter in a
 * query without merger, becomes a match: it is numbered, the records of
 * its groups that this query has not printed yet are gathered in
 * (stime, rec_id) order (each record is printed at most once per query),
 * and it goes to every match sink of the run.
 *
 * In streaming a match goes out the moment it is found.  With --batch
 * the matches are collected and written at the end of input in the
 * order of SPEC section 4: latest group etime, then the groups' smallest
 * rec_ids branch by branch in alphabetical order of branch names.  The
 * collected list is state like any other and counted; past the
 * --max-state cap it is written out early (only its global order is
 * lost, and that is said).
 */
#include "match_sink.h"
#include "pl.h"
#include "statecap.h"

#include <stdlib.h>
#include <string.h>

int
pl_ungrouper_init(struct pl_ungrouper *ug, const char *name, uint32_t qi,
		  const struct fq_plan *plan, const struct pl_params *p,
		  struct pl_mem *mem, struct pl_cap *cap,
		  struct fq_match_sink *const *sinks, int keep_recs)
{
	memset(ug, 0, sizeof *ug);
	ug->name = name;
	ug->qi = qi;
	ug->plan = plan;
	ug->p = p;
	ug->mem = mem;
	ug->cap = cap;
	ug->sinks = sinks;
	ug->keep_recs = (uint8_t)keep_recs;
	ug->counts_only = 1;
	for (const struct fq_match_sink *s = *sinks; s; s = s->next)
		ug->counts_only &= s->counts_only;
	size_t nb = plan->nbranches;
	ug->order = calloc(nb ? nb : 1, sizeof *ug->order);
	if (ug->order == NULL)
		return -1;
	/* Branch indexes by name: an insertion sort, a query has few. */
	for (size_t b = 0; b < nb; b++) {
		size_t k = b;
		while (k > 0 && strcmp(plan->branches[ug->order[k - 1]].name,
				       plan->branches[b].name) > 0) {
			ug->order[k] = ug->order[k - 1];
			k--;
		}
		ug->order[k] = b;
	}
	return pl_outnames_init(&ug->names, name, plan, ug->order);
}

static void
batch_free(struct pl_ungrouper *ug)
{
	size_t nb = ug->plan->nbranches;
	for (size_t i = 0; i < ug->nbatch; i++) {
		for (size_t b = 0; b < nb; b++)
			pl_group_unref(ug->batch[i].g[b]);
		pl_mem_free(ug->mem, nb * sizeof *ug->batch[i].g);
		free(ug->batch[i].g);
	}
	ug->nbatch = 0;
}

void
pl_ungrouper_fini(struct pl_ungrouper *ug)
{
	if (ug->plan == NULL)
		return;
	batch_free(ug);
	pl_mem_free(ug->mem, ug->capbatch * sizeof *ug->batch);
	free(ug->batch);
	pl_outnames_fini(&ug->names);
	free(ug->order);
	memset(ug, 0, sizeof *ug);
}

/* Is r a record of one of the groups before branch b's? */
static int
seen_in(struct pl_group *const *g, size_t b, const struct pl_rec *r)
{
	for (size_t k = 0; k < b; k++)
		for (uint32_t i = 0; g[k] && i < g[k]->n; i++)
			if (g[k]->recs[i] == r)
				return 1;
	return 0;
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct pl_rec *x = *(struct pl_rec *const *)a;
	const struct pl_rec *y = *(struct pl_rec *const *)b;
	if (x->r.stime != y->r.stime)
		return x->r.stime < y->r.stime ? -1 : 1;
	return x->r.rec_id < y->r.rec_id ? -1 : x->r.rec_id > y->r.rec_id;
}

/* The records of a match not printed before (all of them, unmarked,
 * for an early match: `mark` 0), in (stime, rec_id) order: an owned
 * array (NULL when out of memory), its length in *n. */
static struct pl_rec **
match_records(struct pl_ungrouper *ug, struct pl_group *const *g, size_t *n,
	      int mark)
{
	size_t total = 0;
	for (size_t b = 0; b < ug->plan->nbranches; b++)
		if (g[b])
			total += g[b]->n;
	*n = 0;
	struct pl_rec **v = malloc((total ? total : 1) * sizeof *v);
	if (v == NULL)
		return NULL;
	for (size_t b = 0; b < ug->plan->nbranches; b++) {
		if (!g[b])
			continue;
		for (uint32_t i = 0; i < g[b]->n; i++) {
			struct pl_rec *r = g[b]->recs[i];
			if (mark) {
				if (r->printed)
					continue;
				r->printed = 1;   /* also de-duplicates across
						     branches */
			} else if (seen_in(g, b, r)) {
				continue;
			}
			v[(*n)++] = r;
		}
	}
	qsort(v, *n, sizeof *v, cmp_rec);
	return v;
}

/* A match of this kind to every sink; a final one is numbered
 * ++matches, settles early match `early` (0: none); others carry E. */
static void
write_match(struct pl_ungrouper *ug, struct pl_group *const *g, int64_t time,
	    int kind, uint64_t early)
{
	if (ug->counts_only) {
		ug->matches += kind == FQ_MATCH_FINAL;
		return;   /* the sinks only count: nothing to build */
	}
	struct fq_match m = {
		.query = ug->name, .qi = ug->qi,
		.stamp_ns = ug->p->stamp_ns ? *ug->p->stamp_ns : 0,
		.kind = (uint8_t)kind,
		.early = kind == FQ_MATCH_FINAL ? early : 0,
		.names = &ug->names,
		.num = kind == FQ_MATCH_FINAL ? ++ug->matches : early,
		.time = time, .g = g,
		.with_recs = ug->keep_recs && kind != FQ_MATCH_RETRACT,
	};
	struct pl_rec **recs = NULL;
	if (m.with_recs) {
		recs = match_records(ug, g, &m.nrecs, kind == FQ_MATCH_FINAL);
		m.recs = recs;
	}
	for (struct fq_match_sink *s = *ug->sinks; s; s = s->next)
		s->ops->write(s, &m);
	free(recs);
}

void
pl_ungrouper_early(struct pl_ungrouper *ug, struct pl_group *const *g,
		   int64_t time, uint64_t e)
{
	write_match(ug, g, time, FQ_MATCH_EARLY, e);
}

void
pl_ungrouper_retract(struct pl_ungrouper *ug, uint64_t e, int64_t time)
{
	write_match(ug, NULL, time, FQ_MATCH_RETRACT, e);
}

/* The early match a final tuple settles (--early), or 0. */
static uint64_t
settles(struct pl_ungrouper *ug, struct pl_group *const *g)
{
	return ug->confirm ? ug->confirm(ug->confirm_ctx, g) : 0;
}

/* --batch order: latest etime, then smallest rec_ids by branch name. */
static const struct pl_ungrouper *sort_ug;

static int
cmp_match(const void *a, const void *b)
{
	const struct pl_match *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	for (size_t k = 0; k < sort_ug->plan->nbranches; k++) {
		size_t br = sort_ug->order[k];
		uint64_t u = x->g[br] ? x->g[br]->min_rec_id : 0;
		uint64_t v = y->g[br] ? y->g[br]->min_rec_id : 0;
		if (u != v)
			return u < v ? -1 : 1;
	}
	return 0;
}

void
pl_ungrouper_flush(struct pl_ungrouper *ug)
{
	if (ug->nbatch == 0)
		return;
	sort_ug = ug;
	qsort(ug->batch, ug->nbatch, sizeof *ug->batch, cmp_match);
	for (size_t i = 0; i < ug->nbatch; i++)
		write_match(ug, ug->batch[i].g, ug->batch[i].time,
			    FQ_MATCH_FINAL, ug->batch[i].early);
	batch_free(ug);
}

void
pl_ungrouper_flush_early(struct pl_ungrouper *ug)
{
	ug->cap->batch_flushed += ug->nbatch;
	pl_ungrouper_flush(ug);
}

/* --batch: keep the tuple (a reference to each group) for the end. */
static void
batch_add(struct pl_ungrouper *ug, struct pl_group *const *g, int64_t time)
{
	size_t nb = ug->plan->nbranches;
	if (ug->nbatch == ug->capbatch) {
		size_t cap = ug->capbatch ? ug->capbatch * 2 : 64;
		struct pl_match *m = realloc(ug->batch, cap * sizeof *m);
		if (m == NULL) {
			fq_error("out of memory collecting matches");
			return;
		}
		pl_mem_realloc(ug->mem, ug->capbatch * sizeof *m, cap * sizeof *m);
		ug->batch = m;
		ug->capbatch = cap;
	}
	struct pl_match *m = &ug->batch[ug->nbatch];
	m->g = calloc(nb, sizeof *m->g);
	if (m->g == NULL)
		return;
	pl_mem_alloc(ug->mem, nb * sizeof *m->g);
	for (size_t b = 0; b < nb; b++) {
		m->g[b] = g[b];
		if (g[b])
			g[b]->refs++;
	}
	m->time = time;
	m->early = settles(ug, g);
	ug->nbatch++;
	/* The end of input closes every group at once: the match list is
	 * the one state that can still grow then, so it is capped here too.
	 * Every group a match holds is also held by its caller or the merger
	 * store, so writing the list out frees nothing in use. */
	size_t cap = ug->p->max_state_bytes;
	if (cap && ug->mem->bytes > cap) {
		pl_cap_reached(ug->cap);
		pl_ungrouper_flush_early(ug);
	}
}

void
pl_ungrouper_tuple(void *to, struct pl_group **g, int64_t time)
{
	struct pl_ungrouper *ug = to;
	if (ug->p->batch)
		batch_add(ug, g, time);
	else
		write_match(ug, g, time, FQ_MATCH_FINAL, settles(ug, g));
}

void
pl_ungrouper_group(void *to, struct pl_branch *from, struct pl_group *g)
{
	struct pl_ungrouper *ug = to;
	/* pl_ungrouper_tuple() keeps no pointer to v: a query of a few
	 * branches needs no allocation per match. */
	size_t nb = ug->plan->nbranches;
	struct pl_group *sv[8] = { NULL };
	struct pl_group **v = nb <= 8 ? sv : calloc(nb, sizeof *v);
	if (v) {
		v[from->index] = g;
		pl_ungrouper_tuple(ug, v, g->etime);
		if (v != sv)
			free(v);
	}
	pl_group_unref(g);
}
