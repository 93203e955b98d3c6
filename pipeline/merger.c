/*
 * merger.c - the incremental merger: an indexed join of closed groups
 * (SPEC sections 4 and 5; design notes in docs/merger.md).
 *
 * Every group that leaves a branch's group filter arrives here once.  It
 * is first used as a probe: for each module that lists its branch, the
 * join binds it to its slot and then binds the other slots one at a time
 * from the groups already stored, so a tuple is found exactly once, when
 * its last group arrives.  Then it is stored.
 *
 * Candidates for the next slot come from the cheapest index available:
 *   - a hash index on a group attribute, when a single-term clause
 *     `X.a = Y.b` (no delta) links the slot to a bound one;
 *   - a range of the store, which is sorted by stime, when an Allen term
 *     links the slot to a bound one: the relation bounds the candidate's
 *     stime from above (e.g. `x < y delta D`: y.stime <= x.etime + D) and,
 *     through the store's largest group span, from below;
 *   - otherwise the whole store (only for slots with no rule at all to the
 *     bound ones; in streaming the window W bounds that store).
 *
 * Subtracting modules are anti-joins: an export tuple is rejected if
 * another module has a match agreeing with it on their shared branches.
 * Without subtracting modules a tuple is emitted at once; with them it
 * waits until stream time has passed the last moment a rejecting group
 * could arrive, and is dropped if a rejecting match shows up meanwhile.
 *
 * Horizon: a stored group is dropped once T has passed the latest stime a
 * partner could have (from the Allen relations, their deltas, and W along
 * paths of the relation graph) plus W + M, the time by which every such
 * partner must have closed.  So state is bounded by the data inside
 * W + M + L; in --batch nothing is dropped until the end.
 *
 * --max-state (docs/streaming.md, "Bounded state"): every store array,
 * index node and tuple is counted in the engine's state total.  At the
 * cap the engine evicts stored groups oldest first (pl_merger_oldest,
 * pl_merger_evict), passing over those a pending tuple holds, and drops
 * pending tuples only when nothing else is left.  Eviction only ever
 * loses matches, never invents one: a group a pending tuple holds stays
 * findable for the modules that may still reject the tuple, and a new
 * tuple whose rejecting partner might have been evicted is dropped
 * (unsure()).
 */
#include "merger_int.h"
#include "fq_error.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

static int
allen_holds(const struct fq_allen *al, const struct pl_group *x,
	    const struct pl_group *y)
{
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		if (!(al->rels & (1u << r)))
			continue;
		if (fq_allen_holds((enum fq_allen_rel)r, x->stime, x->etime,
				   y->stime, y->etime, pl_term_delta(al, r)))
			return 1;
	}
	return 0;
}

static void
prefetch_slot(struct pl_merger *mg, const struct pl_attr *a,
	      const struct pl_group *g, const struct fq_operand *const *ops,
	      size_t nops)
{
	if (a->nb)
		__builtin_prefetch(&a->b[pl_ops_hash_memo(mg, g, ops, nops) &
					 (a->nb - 1)]);
}

void
pl_merger_prefetch(struct pl_merger *mg, const struct pl_group *g)
{
	struct pl_merger_x *x = (struct pl_merger_x *)mg;
	size_t b = g->br->index;
	const struct pl_store *s = &mg->stores[b];
	for (size_t k = 0; k < s->nattrs; k++)
		prefetch_slot(mg, &s->attrs[k], g, s->attrs[k].ops,
			      s->attrs[k].nops);
	for (size_t i = 0; i < x->nprobes; i++) {
		const struct pl_probe *p = &x->probes[i];
		if (p->branch == b)
			prefetch_slot(mg, &mg->stores[p->store].attrs[p->attr],
				      g, p->ops, p->nops);
	}
}

static int
merger_init(struct pl_merger_x *x)
{
	struct pl_merger *mg = &x->pub;
	const struct fq_plan_merger *pm = mg->pm;
	size_t nb = mg->plan->nbranches;
	mg->stores = calloc(nb, sizeof *mg->stores);
	if (mg->stores)
		for (size_t b = 0; b < nb; b++)
			mg->stores[b].evicted_stime = INT64_MIN;
	mg->bind = calloc(PL_SLOT_MAX, sizeof *mg->bind);
	x->mods = calloc(pm->nmodules, sizeof *x->mods);
	x->emit = calloc(nb ? nb : 1, sizeof *x->emit);
	if (mg->stores == NULL || mg->bind == NULL || x->mods == NULL ||
	    x->emit == NULL)
		return -1;
	for (size_t i = 0; i < pm->nmodules; i++) {
		if (pm->modules[i].nbranches > PL_SLOT_MAX) {
			fq_error("merger module with more than %d branches", PL_SLOT_MAX);
			return -1;
		}
		if (pl_mod_init(mg, &x->mods[i], &pm->modules[i]) < 0)
			return -1;
	}
	x->has_sub = pm->nmodules > 1;
	pl_mark_sub_keys(mg);
	if (pl_probes_init(x) < 0)
		return -1;
	mg->next_release = FQ_TIME_INF;
	mg->front = INT64_MIN;
	mg->front_sec = INT64_MIN;
	mg->listed = calloc(nb ? nb : 1, 1);
	mg->drops = calloc(1, sizeof *mg->drops);
	if (mg->drops)
		pl_mem_alloc(mg->mem, sizeof *mg->drops);
	if (mg->drops == NULL || mg->listed == NULL)
		return -1;
	for (size_t i = 0; i < pm->nmodules; i++)
		for (size_t s = 0; s < pm->modules[i].nbranches; s++)
			mg->listed[pm->modules[i].branches[s]] = 1;
	return 0;
}

int
pl_merger_new(struct pl_merger **out, const struct fq_plan *plan,
	      const struct pl_params *p, struct pl_mem *mem,
	      struct pl_branch *br, struct pl_tuple_link to)
{
	*out = NULL;
	struct pl_merger_x *x = calloc(1, sizeof *x);
	if (x == NULL)
		return -FQ_ENOMEM;
	struct pl_merger *mg = &x->pub;
	mg->pm = plan->merger;
	mg->plan = plan;
	mg->p = p;
	mg->mem = mem;
	mg->br = br;
	mg->out = to;
	if (merger_init(x) < 0) {
		pl_merger_free(mg);
		return -FQ_ENOMEM;
	}
	*out = mg;
	return 0;
}

void
pl_tuple_free(struct pl_merger *mg, struct pl_tuple *t)
{
	size_t nb = mg->plan->nbranches;
	for (size_t b = 0; b < nb; b++)
		pl_group_unref(t->g[b]);
	pl_mem_free(mg->mem, nb * sizeof *t->g);
	pl_mem_free(mg->mem, sizeof *t);
	free(t->g);
	free(t);
}

void
pl_merger_free(struct pl_merger *mg)
{
	if (mg == NULL)
		return;
	struct pl_merger_x *x = (struct pl_merger_x *)mg;
	struct pl_tuple *t = mg->pending;
	while (t) {
		struct pl_tuple *next = t->next;
		pl_tuple_free(mg, t);
		t = next;
	}
	if (mg->stores) {
		for (size_t b = 0; b < mg->plan->nbranches; b++) {
			struct pl_store *s = &mg->stores[b];
			struct pl_mem *mem = mg->mem;
			for (size_t i = 0; i < s->n; i++) {
				if (s->byst[i]->stored)
					pl_store_drop(s, s->byst[i], mem);
			}
			pl_store_compact(s);
			for (size_t k = 0; k < s->nattrs; k++) {
				if (s->attrs[k].b)
					pl_sbuckets_free(s->attrs[k].b,
						      s->attrs[k].nb, mem);
				pl_mem_free(mem, s->attrs[k].nevicted * sizeof(int64_t));
				free(s->attrs[k].evicted);
			}
			free(s->attrs);
			pl_mem_free(mem, s->cap * sizeof *s->byst);
			fq_table_free(s->byst, s->cap * sizeof *s->byst);
			pl_mem_free(mem, s->cap * sizeof *s->st);
			fq_table_free(s->st, s->cap * sizeof *s->st);
		}
	}
	if (x->mods)
		for (size_t i = 0; i < mg->pm->nmodules; i++) {
			free(x->mods[i].clause_mask);
			free(x->mods[i].dist);
		}
	free(x->mods);
	free(x->emit);
	free(x->probes);
	pl_ostores_free(mg);
	pl_wheel_fini(mg->drops, mg->mem);
	free(mg->listed);
	free(mg->stores);
	free(mg->bind);
	free(x);
}

/* ---- the join --------------------------------------------------------- */

struct join {
	struct pl_merger *mg;
	struct pl_mod *pm;
	struct pl_group *bind[PL_SLOT_MAX];
	uint64_t bound;
	int stop;                  /* 1: stop at the first match */
	int found;
	/* what to do with a match */
	void (*on_match)(struct join *j);
	struct pl_tuple *agree;    /* anti-join: the tuple to agree with */
	/* --early: open groups are candidates too (NULL: stored only) */
	const struct pl_ostore *open;
	void (*early_cb)(void *ctx, struct pl_group *const *g, int64_t time);
	void *early_ctx;
};

/* An empty join of module pm.  Only the module's slots are cleared: no
 * slot is read before its bit in `bound` is set, and clearing all
 * PL_SLOT_MAX of them for every group was most of what the merger spent on
 * a group without partners. */
static void
join_init(struct join *j, struct pl_merger *mg, struct pl_mod *pm)
{
	j->mg = mg;
	j->pm = pm;
	j->bound = 0;
	j->stop = 0;
	j->found = 0;
	j->on_match = NULL;
	j->agree = NULL;
	j->open = NULL;
	memset(j->bind, 0, pm->m->nbranches * sizeof *j->bind);
}

static int
w_ok(const struct join *j, size_t slot, const struct pl_group *g)
{
	const struct pl_params *o = j->mg->p;
	if (o->window == FQ_TIME_INF || j->pm->m->bounded)
		return 1;
	for (size_t s = 0; s < j->pm->m->nbranches; s++) {
		if (!(j->bound & (1ULL << s)) || s == slot)
			continue;
		int64_t d = g->stime - j->bind[s]->stime;
		if (d > o->window || -d > o->window)
			return 0;
	}
	return 1;
}

/* Check every clause and Allen term that the binding of `slot` completes. */
static int
checks_ok(struct join *j, size_t slot)
{
	const struct fq_mmodule *m = j->pm->m;
	uint64_t bit = 1ULL << slot;
	for (size_t c = 0; c < m->rules.n; c++) {
		uint64_t mask = j->pm->clause_mask[c];
		if (!(mask & bit) || (mask & ~j->bound))
			continue;
		const struct fq_clause *cl = &m->rules.clauses[c];
		struct fq_cnf one = { 1, cl };
		if (!pl_cnf_group(&one, j->bind))
			return 0;
	}
	for (size_t i = 0; i < m->nallen; i++) {
		const struct fq_allen *al = &m->allen[i];
		uint64_t mask = (1ULL << al->a) | (1ULL << al->b);
		if (!(mask & bit) || (mask & ~j->bound))
			continue;
		if (!allen_holds(al, j->bind[al->a], j->bind[al->b]))
			return 0;
	}
	return 1;
}

static void join_rec(struct join *j);

static void
try_bind(struct join *j, size_t slot, struct pl_group *g)
{
	for (size_t s = 0; s < j->pm->m->nbranches; s++)
		if ((j->bound & (1ULL << s)) && j->bind[s] == g)
			return;
	if (!w_ok(j, slot, g))
		return;
	j->bind[slot] = g;
	j->bound |= 1ULL << slot;
	if (checks_ok(j, slot))
		join_rec(j);
	j->bound &= ~(1ULL << slot);
	j->bind[slot] = NULL;
}

/*
 * The stimes a group in `slot` can have, from every Allen term between it
 * and a bound slot u: no later than u.etime + (the term's bound), and, by
 * the reverse bound, no earlier than u.stime - (that bound) - (the largest
 * span stored in its branch).  Necessary conditions only: checks_ok()
 * decides.
 */
static void
allen_range(const struct join *j, size_t slot, const struct pl_store *s,
	    int64_t *lo, int64_t *hi)
{
	const struct fq_mmodule *m = j->pm->m;
	*lo = INT64_MIN;
	*hi = FQ_TIME_INF;
	for (size_t i = 0; i < m->nallen; i++) {
		const struct fq_allen *al = &m->allen[i];
		size_t other;
		if (al->a == slot && al->b != slot && (j->bound & (1ULL << al->b)))
			other = al->b;
		else if (al->b == slot && al->a != slot &&
			 (j->bound & (1ULL << al->a)))
			other = al->a;
		else
			continue;
		const struct pl_group *u = j->bind[other];
		int64_t up = pl_allen_offset(al, other == al->a);
		int64_t down = pl_allen_offset(al, other != al->a);
		int64_t h = pl_sat_add(u->etime, up);
		int64_t l = down == FQ_TIME_INF ? INT64_MIN
			    : pl_sat_add(pl_sat_add(u->stime, -down), -s->max_span);
		if (h < *hi)
			*hi = h;
		if (l > *lo)
			*lo = l;
	}
}

/* True when the join has found what it was asked for. */
static int
join_done(const struct join *j)
{
	return j->stop && j->found;
}

/* --early: the open candidates for `slot` in index `ai` with hash h, or
 * (ai < 0) every one whose stime is at most hi. */
static void
try_open(struct join *j, size_t slot, int ai, uint64_t h, int64_t hi)
{
	const struct pl_ostore *o = &j->open[j->pm->m->branches[slot]];
	if (ai >= 0) {
		const struct pl_attr *a = &o->attrs[ai];
		if (a->nb == 0)
			return;
		const struct pl_sbucket *bk = &a->b[h & (a->nb - 1)];
		for (uint32_t i = bk->n; i-- > 0 && !join_done(j);)
			if (bk->v[i].hash == h && bk->v[i].stime <= hi)
				try_bind(j, slot, bk->v[i].g);
		return;
	}
	for (size_t i = 0; i < o->n && !join_done(j); i++) {
		struct pl_group *g = pl_ostore_at(o, i);
		if (g->stime <= hi)
			try_bind(j, slot, g);
	}
}

/* 1. an equality clause to a bound slot x: probe slot y's index on every
 * equality between the two.  0 when the clause has no index. */
static int
join_by_index(struct join *j, size_t x, size_t y)
{
	const struct fq_mmodule *m = j->pm->m;
	const struct fq_operand *mine[PL_ATTR_OPS], *other[PL_ATTR_OPS];
	size_t nops = pl_pair_terms(m, x, y, mine, other);
	struct pl_store *s = &j->mg->stores[m->branches[y]];
	int ai = pl_attr_find(s, mine, nops);
	if (ai < 0)
		return 0;
	struct pl_attr *a = &s->attrs[ai];
	if (a->nb == 0 && j->open == NULL)
		return 1;   /* nothing stored: no candidate at all */
	uint64_t h = pl_ops_hash_memo(j->mg, j->bind[x], other, nops);
	int64_t lo, hi;
	allen_range(j, y, s, &lo, &hi);
	if (a->nb) {
		const struct pl_sbucket *bk = &a->b[h & (a->nb - 1)];
		for (uint32_t i = bk->n; i-- > 0;) {
			const struct pl_sent *e = &bk->v[i];
			if (e->hash == h && e->stime >= lo && e->stime <= hi)
				try_bind(j, y, e->g);
			if (join_done(j))
				return 1;
		}
	}
	if (j->open)
		try_open(j, y, ai, h, hi);
	return 1;
}

/* 2. an Allen term to a bound slot: a range of the stime-sorted store. */
static void
join_by_range(struct join *j, const struct fq_allen *al, size_t slot,
	      size_t other)
{
	const struct fq_mmodule *m = j->pm->m;
	const struct pl_group *u = j->bind[other];
	struct pl_store *s = &j->mg->stores[m->branches[slot]];
	int64_t up = pl_allen_offset(al, other == al->a);
	int64_t down = pl_allen_offset(al, other != al->a);
	int64_t hi = pl_sat_add(u->etime, up);
	int64_t lo = down == FQ_TIME_INF ? INT64_MIN
		     : pl_sat_add(pl_sat_add(u->stime, -down), -s->max_span);
	for (size_t x = pl_store_lower(s, lo); x < s->n; x++) {
		struct pl_group *g = s->byst[x];
		if (g->stime > hi)
			break;
		if (g->stored)
			try_bind(j, slot, g);
		if (join_done(j))
			return;
	}
	if (j->open)
		try_open(j, slot, -1, 0, hi);
}

/* 3. no link: scan the slot's store. */
static void
join_scan(struct join *j, size_t slot)
{
	struct pl_store *s = &j->mg->stores[j->pm->m->branches[slot]];
	for (size_t x = 0; x < s->n; x++) {
		if (s->byst[x]->stored)
			try_bind(j, slot, s->byst[x]);
		if (join_done(j))
			return;
	}
	if (j->open)
		try_open(j, slot, -1, 0, FQ_TIME_INF);
}

/* Choose the next slot and how to find its candidates. */
static void
join_rec(struct join *j)
{
	const struct fq_mmodule *m = j->pm->m;
	size_t k = m->nbranches;
	if (join_done(j))
		return;
	if (j->bound == (k == 64 ? ~0ULL : (1ULL << k) - 1)) {
		j->found++;
		if (j->on_match)
			j->on_match(j);
		return;
	}
	for (size_t c = 0; c < m->rules.n; c++) {
		const struct fq_term *t = pl_indexable_term(&m->rules.clauses[c]);
		if (t == NULL)
			continue;
		uint64_t lb = 1ULL << t->l.branch, rb = 1ULL << t->r.branch;
		if (!(j->bound & lb) && (j->bound & rb) &&
		    join_by_index(j, t->r.branch, t->l.branch))
			return;
		if (!(j->bound & rb) && (j->bound & lb) &&
		    join_by_index(j, t->l.branch, t->r.branch))
			return;
	}
	for (size_t i = 0; i < m->nallen; i++) {
		const struct fq_allen *al = &m->allen[i];
		uint64_t ab = 1ULL << al->a, bb = 1ULL << al->b;
		if (!(j->bound & ab) && (j->bound & bb)) {
			join_by_range(j, al, al->a, al->b);
			return;
		}
		if (!(j->bound & bb) && (j->bound & ab)) {
			join_by_range(j, al, al->b, al->a);
			return;
		}
	}
	for (size_t slot = 0; slot < k; slot++) {
		if (!(j->bound & (1ULL << slot))) {
			join_scan(j, slot);
			return;
		}
	}
}

/* ---- tuples and subtraction ------------------------------------------- */

static struct pl_tuple *
tuple_make(struct pl_merger *mg, struct join *j)
{
	struct pl_tuple *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->g = calloc(mg->plan->nbranches, sizeof *t->g);
	if (t->g == NULL) {
		free(t);
		return NULL;
	}
	pl_mem_alloc(mg->mem, sizeof *t);
	pl_mem_alloc(mg->mem, mg->plan->nbranches * sizeof *t->g);
	t->time = INT64_MIN;
	t->seq = mg->next_seq++;
	for (size_t s = 0; s < j->pm->m->nbranches; s++) {
		struct pl_group *g = j->bind[s];
		t->g[j->pm->m->branches[s]] = g;
		g->refs++;
		if (g->etime > t->time)
			t->time = g->etime;
	}
	return t;
}

/* Does module pm have a match agreeing with t on their shared branches? */
static int
rejected_with(struct pl_merger *mg, struct pl_mod *pm,
	      const struct pl_tuple *t, const struct pl_ostore *open)
{
	struct join j;
	join_init(&j, mg, pm);
	j.stop = 1;
	j.open = open;
	for (size_t s = 0; s < pm->m->nbranches; s++) {
		struct pl_group *g = t->g[pm->m->branches[s]];
		if (g == NULL)
			continue;
		j.bind[s] = g;
		j.bound |= 1ULL << s;
	}
	/* Clauses among the shared slots alone are checked up front. */
	for (size_t s = 0; s < pm->m->nbranches; s++)
		if ((j.bound & (1ULL << s)) && !checks_ok(&j, s))
			return 0;
	join_rec(&j);
	return j.found > 0;
}

/* Does module pm have a match agreeing with t among the stored groups? */
static int
rejected(struct pl_merger *mg, struct pl_mod *pm, const struct pl_tuple *t)
{
	return rejected_with(mg, pm, t, NULL);
}

/* --early: ... among the stored and the open groups, as they stand? */
static int
rejected_as_stand(struct pl_merger *mg, struct pl_mod *pm,
		  const struct pl_tuple *t)
{
	return rejected_with(mg, pm, t, mg->ostores);
}

/* When no rejecting group can arrive any more for t (stream time). */
static int64_t
release_time(struct pl_merger *mg, struct pl_tuple *t)
{
	const struct pl_params *o = mg->p;
	struct pl_mod *mods = pl_mods_of(mg);
	int64_t rel = INT64_MIN;
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		struct pl_mod *pm = &mods[i];
		if (pm->is_export)
			continue;
		size_t k = pm->m->nbranches;
		for (size_t f = 0; f < k; f++) {
			if (t->g[pm->m->branches[f]])
				continue;   /* shared slot */
			int64_t best = FQ_TIME_INF;
			int64_t maxst = INT64_MIN;
			for (size_t s = 0; s < k; s++) {
				struct pl_group *g = t->g[pm->m->branches[s]];
				if (g == NULL)
					continue;
				if (g->stime > maxst)
					maxst = g->stime;
				int64_t b = pl_sat_add(g->etime, pm->dist[s * k + f]);
				if (b < best)
					best = b;
			}
			if (best == FQ_TIME_INF)
				best = pl_sat_add(maxst, o->window);
			if (best > rel)
				rel = best;
		}
	}
	return pl_sat_add(pl_sat_add(rel, o->window), o->max_duration);
}

/*
 * --max-state: could a group the cap evicted have rejected t?  For every
 * free slot f of a subtracting module whose branch lost groups to the
 * cap, a partner must start no earlier than what the module's relations
 * allow from t's groups in the shared slots: s.stime <= f.etime +
 * dist[f][s] and f.etime <= f.stime + (largest span stored), or, for a
 * module without time bounds, the window.  If an evicted group that late
 * may exist, the rejection cannot be decided any more and t is dropped
 * rather than emitted: the cap loses matches, it never adds one.
 *
 * "May exist": the latest stime evicted from f's branch, or -- when an
 * equality clause `F.a = S.b` ties f to a shared slot -- the latest stime
 * evicted among groups whose key hashes like S.b (evicted_max()), which
 * tells the evicted groups of other hosts apart from this one's.
 */
static int64_t
evicted_max(const struct pl_merger *mg, const struct pl_mod *pm, size_t f,
	    const struct pl_tuple *t, int64_t watermark)
{
	const struct fq_mmodule *m = pm->m;
	const struct pl_store *sf = &mg->stores[m->branches[f]];
	int64_t best = watermark;
	for (size_t c = 0; c < m->rules.n; c++) {
		const struct fq_term *term =
			pl_group_eq_term(&m->rules.clauses[c]);
		if (term == NULL)
			continue;
		const struct fq_operand *mine, *other;
		if (term->l.branch == f && term->r.branch != f) {
			mine = &term->l;
			other = &term->r;
		} else if (term->r.branch == f && term->l.branch != f) {
			mine = &term->r;
			other = &term->l;
		} else {
			continue;
		}
		const struct pl_group *g = t->g[m->branches[other->branch]];
		int ai = pl_attr_find(sf, &mine, 1);
		if (g == NULL || ai < 0 || sf->attrs[ai].evicted == NULL)
			continue;
		const struct pl_attr *a = &sf->attrs[ai];
		int64_t w = a->evicted[pl_group_value_hash(g, other) &
				       (a->nevicted - 1)];
		if (w < best)
			best = w;
	}
	return best;
}

static int
unsure(struct pl_merger *mg, const struct pl_tuple *t)
{
	const struct pl_params *o = mg->p;
	struct pl_mod *mods = pl_mods_of(mg);
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		struct pl_mod *pm = &mods[i];
		if (pm->is_export)
			continue;
		size_t k = pm->m->nbranches;
		for (size_t f = 0; f < k; f++) {
			const struct pl_store *sf = &mg->stores[pm->m->branches[f]];
			if (t->g[pm->m->branches[f]] || sf->evicted_stime == INT64_MIN)
				continue;
			int64_t lb = INT64_MIN;
			for (size_t s = 0; s < k; s++) {
				const struct pl_group *g = t->g[pm->m->branches[s]];
				if (g == NULL)
					continue;
				int64_t d = pm->dist[f * k + s];
				if (d != FQ_TIME_INF) {
					int64_t v = pl_sat_add(pl_sat_add(g->stime, -d),
							    -sf->max_span);
					if (v > lb)
						lb = v;
				}
				if (!pm->m->bounded && o->window != FQ_TIME_INF) {
					int64_t v = pl_sat_add(g->stime, -o->window);
					if (v > lb)
						lb = v;
				}
			}
			if (evicted_max(mg, pm, f, t, sf->evicted_stime) >= lb)
				return 1;
		}
	}
	return 0;
}

static void
emit_tuple(struct pl_merger *mg, struct pl_tuple *t)
{
	mg->out.tuple(mg->out.to, t->g, t->time);
}

static void
on_export_match(struct join *j)
{
	struct pl_merger *mg = j->mg;
	struct pl_merger_x *x = (struct pl_merger_x *)mg;
	mg->c.tuples++;
	if (!x->has_sub) {
		/* Nothing can reject it: out at once, no tuple kept.  Its
		 * groups are held by the store or the caller meanwhile. */
		const struct fq_mmodule *m = j->pm->m;
		int64_t time = INT64_MIN;
		for (size_t s = 0; s < m->nbranches; s++) {
			struct pl_group *g = j->bind[s];
			x->emit[m->branches[s]] = g;
			if (g->etime > time)
				time = g->etime;
		}
		mg->out.tuple(mg->out.to, x->emit, time);
		for (size_t s = 0; s < m->nbranches; s++)
			x->emit[m->branches[s]] = NULL;
		return;
	}
	struct pl_tuple *t = tuple_make(mg, j);
	if (t == NULL) {
		fq_error("out of memory in the merger");
		return;
	}
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		if (x->mods[i].is_export)
			continue;
		if (rejected(mg, &x->mods[i], t)) {
			mg->c.rejected++;
			pl_tuple_free(mg, t);
			return;
		}
	}
	/* Between records shed() keeps state under --max-state; within one
	 * (a group completing a tuple with every group stored, or the end of
	 * input closing every group at once) only pending tuples can pile
	 * up, so they are refused past an eighth over the cap. */
	size_t cap = mg->p->max_state_bytes;
	if (unsure(mg, t) || (cap && mg->mem->bytes > cap + cap / 8)) {
		mg->c.tuples_dropped++;
		pl_tuple_free(mg, t);
		return;
	}
	t->release = release_time(mg, t);
	if (t->release < mg->next_release)
		mg->next_release = t->release;
	t->next = mg->pending;
	mg->pending = t;
	mg->npending++;
	if (mg->watch.pending)
		mg->watch.pending(mg->watch.ctx, t->g, t->time);
}

/* A new match of a subtracting module rejects agreeing pending tuples. */
static void
on_sub_match(struct join *j)
{
	struct pl_merger *mg = j->mg;
	const struct fq_mmodule *m = j->pm->m;
	struct pl_tuple **pp = &mg->pending;
	while (*pp) {
		struct pl_tuple *t = *pp;
		int agree = 1;
		for (size_t s = 0; s < m->nbranches && agree; s++) {
			struct pl_group *tg = t->g[m->branches[s]];
			if (tg && tg != j->bind[s])
				agree = 0;
		}
		if (agree) {
			*pp = t->next;
			mg->npending--;
			mg->c.rejected++;
			if (mg->watch.dropped)
				mg->watch.dropped(mg->watch.ctx, t->g);
			pl_tuple_free(mg, t);
		} else {
			pp = &t->next;
		}
	}
}

void
pl_merger_group(struct pl_merger *mg, struct pl_group *g)
{
	struct pl_merger_x *x = (struct pl_merger_x *)mg;
	size_t b = g->br->index;
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		struct pl_mod *pm = &x->mods[i];
		const struct fq_mmodule *m = pm->m;
		for (size_t s = 0; s < m->nbranches; s++) {
			if (m->branches[s] != b)
				continue;
			struct join j;
			join_init(&j, mg, pm);
			j.bind[s] = g;
			j.bound = 1ULL << s;
			j.on_match = pm->is_export ? on_export_match : on_sub_match;
			if (checks_ok(&j, s))
				join_rec(&j);
		}
	}
	g->drop_at = pl_drop_time(mg, g, b);
	if (g->drop_at == INT64_MIN)
		return;
	if (mg->front > g->drop_at) {
		/* Every partner it could have is in already. */
		mg->c.dropped_groups++;
		return;
	}
	if (pl_store_insert(mg, &mg->stores[b], g, mg->mem) < 0) {
		fq_error("out of memory in the merger store");
		return;
	}
	if (pl_wheel_add(mg->drops, g, mg->mem) < 0) {
		fq_error("out of memory in the merger store");
		pl_store_drop(&mg->stores[b], g, mg->mem);
	}
}

static int
cmp_tuple_time(const void *a, const void *b)
{
	const struct pl_tuple *x = *(struct pl_tuple *const *)a;
	const struct pl_tuple *y = *(struct pl_tuple *const *)b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
pl_merger_advance(struct pl_merger *mg, int64_t T, int end)
{
	/* Release pending tuples whose time has come: by time, then in
	 * discovery order. */
	if (end || T > mg->next_release) {
		size_t n = 0;
		for (struct pl_tuple *t = mg->pending; t; t = t->next)
			if (end || T > t->release)
				n++;
		struct pl_tuple **ready = n ? malloc(n * sizeof *ready) : NULL;
		if (n && ready == NULL) {
			fq_error("out of memory releasing matches");
			return;
		}
		size_t k = 0;
		int64_t next = FQ_TIME_INF;
		struct pl_tuple **pp = &mg->pending;
		while (*pp) {
			struct pl_tuple *t = *pp;
			if (end || T > t->release) {
				*pp = t->next;
				ready[k++] = t;
				mg->npending--;
			} else {
				if (t->release < next)
					next = t->release;
				pp = &t->next;
			}
		}
		mg->next_release = next;
		if (k)
			qsort(ready, k, sizeof *ready, cmp_tuple_time);
		for (size_t i = 0; i < k; i++) {
			emit_tuple(mg, ready[i]);
			pl_tuple_free(mg, ready[i]);
		}
		free(ready);
	}
	pl_merger_horizon(mg, T, end);
}

/* ---- early matches (--early) --------------------------------------------- */

int
pl_merger_early_init(struct pl_merger *mg, struct pl_merger_watch w)
{
	mg->watch = w;
	return pl_ostores_init(mg) < 0 ? -FQ_ENOMEM : 0;
}

/* A tuple of the export module holds as the groups stand: unless a
 * subtracting module rejects it as they stand, it is an early match. */
static void
on_early_match(struct join *j)
{
	struct pl_merger *mg = j->mg;
	struct pl_merger_x *x = (struct pl_merger_x *)mg;
	const struct fq_mmodule *m = j->pm->m;
	struct pl_tuple t = { .g = x->emit, .time = INT64_MIN };
	for (size_t s = 0; s < m->nbranches; s++) {
		struct pl_group *g = j->bind[s];
		x->emit[m->branches[s]] = g;
		if (g->etime > t.time)
			t.time = g->etime;
	}
	int reject = 0;
	for (size_t i = 0; i < mg->pm->nmodules && !reject; i++)
		if (!x->mods[i].is_export)
			reject = rejected_as_stand(mg, &x->mods[i], &t);
	if (!reject)
		j->early_cb(j->early_ctx, x->emit, t.time);
	for (size_t s = 0; s < m->nbranches; s++)
		x->emit[m->branches[s]] = NULL;
}

void
pl_merger_early(struct pl_merger *mg, struct pl_group *g,
		void (*cb)(void *ctx, struct pl_group *const *g, int64_t time),
		void *ctx)
{
	struct pl_merger_x *x = (struct pl_merger_x *)mg;
	struct pl_mod *pm = &x->mods[mg->pm->export_idx];
	const struct fq_mmodule *m = pm->m;
	size_t b = g->br->index;
	for (size_t s = 0; s < m->nbranches; s++) {
		if (m->branches[s] != b)
			continue;
		struct join j;
		join_init(&j, mg, pm);
		j.open = mg->ostores;
		j.early_cb = cb;
		j.early_ctx = ctx;
		j.bind[s] = g;
		j.bound = 1ULL << s;
		j.on_match = on_early_match;
		if (checks_ok(&j, s))
			join_rec(&j);
	}
}
