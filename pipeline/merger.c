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
#include "fq_table.h"
#include "pl.h"
#include "fq_error.h"
#include "fq_log.h"

#include <stdlib.h>
#include <string.h>

#define SLOT_MAX 64

static int64_t
sat_add(int64_t a, int64_t b)
{
	if (a == FQ_TIME_INF || b == FQ_TIME_INF)
		return FQ_TIME_INF;
	if (a == INT64_MIN || b == INT64_MIN)
		return INT64_MIN;
	if (b > 0 && a > FQ_TIME_INF - b)
		return FQ_TIME_INF;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/*
 * For x r y with tolerance D: an upper bound of y.stime in terms of
 * x.etime (y.stime <= x.etime + off); FQ_TIME_INF when r gives none.
 */
static int64_t
rel_offset(enum fq_allen_rel r, int64_t D)
{
	switch (r) {
	case FQ_AL_BEFORE:
		return D < 0 ? FQ_TIME_INF : D;
	case FQ_AL_MEETS: case FQ_AL_MET_BY: case FQ_AL_STARTS:
	case FQ_AL_STARTED_BY: case FQ_AL_FINISHED_BY: case FQ_AL_EQUALS:
		return D < 0 ? 0 : D;
	case FQ_AL_AFTER: case FQ_AL_OVERLAPS: case FQ_AL_OVERLAPPED_BY:
	case FQ_AL_DURING: case FQ_AL_CONTAINS: case FQ_AL_FINISHES:
		return 0;
	case FQ_AL_COUNT:
		break;
	}
	return FQ_TIME_INF;
}

static int64_t
term_delta(const struct fq_allen *al, int r)
{
	return (al->has_delta & (1u << r)) ? al->delta[r] : -1;
}

/* Bound of b's stime from a's etime for Allen term al (a, b slots). */
static int64_t
allen_offset(const struct fq_allen *al, int from_a)
{
	int64_t off = INT64_MIN;
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		if (!(al->rels & (1u << r)))
			continue;
		enum fq_allen_rel rr = from_a ? (enum fq_allen_rel)r
					      : fq_allen_inverse((enum fq_allen_rel)r);
		int64_t o = rel_offset(rr, term_delta(al, r));
		if (o > off)
			off = o;
	}
	return off == INT64_MIN ? FQ_TIME_INF : off;
}

static int
allen_holds(const struct fq_allen *al, const struct pl_group *x,
	    const struct pl_group *y)
{
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		if (!(al->rels & (1u << r)))
			continue;
		if (fq_allen_holds((enum fq_allen_rel)r, x->stime, x->etime,
				   y->stime, y->etime, term_delta(al, r)))
			return 1;
	}
	return 0;
}

/* ---- store ----------------------------------------------------------- */

static int
same_operand(const struct fq_operand *a, const struct fq_operand *b)
{
	return a->kind == b->kind && a->gval == b->gval && a->agg == b->agg &&
	       a->field == b->field && a->fn == b->fn && a->mask == b->mask;
}

static int
attr_find(const struct pl_store *s, const struct fq_operand *const *ops,
	  size_t n)
{
	for (size_t i = 0; i < s->nattrs; i++) {
		const struct pl_attr *a = &s->attrs[i];
		if (a->nops != n)
			continue;
		size_t k = 0;
		while (k < n && same_operand(a->ops[k], ops[k]))
			k++;
		if (k == n)
			return (int)i;
	}
	return -1;
}

static int
attr_register(struct pl_store *s, const struct fq_operand *const *ops,
	      size_t n)
{
	if (n == 0 || n > PL_ATTR_OPS || attr_find(s, ops, n) >= 0)
		return 0;
	struct pl_attr *a = realloc(s->attrs, (s->nattrs + 1) * sizeof *a);
	if (a == NULL)
		return -1;
	s->attrs = a;
	memset(&a[s->nattrs], 0, sizeof a[0]);
	for (size_t k = 0; k < n; k++)
		a[s->nattrs].ops[k] = ops[k];
	a[s->nattrs].nops = n;
	s->nattrs++;
	return 0;
}

/*
 * The hash of a group's values of ops: what an index files it under and
 * what a probe with the partner's values of the same clauses looks up.
 * One value hashes as itself (the table of evicted keys relies on it).
 */
static uint64_t
ops_hash(const struct pl_group *g, const struct fq_operand *const *ops,
	 size_t n)
{
	uint64_t h = pl_group_value_hash(g, ops[0]);
	for (size_t k = 1; k < n; k++)
		h = pl_mix(h, pl_group_value_hash(g, ops[k]));
	return h;
}

/*
 * ops_hash() through a small table of the latest answers.  A group's
 * hashes are wanted two or three times in a row -- its bucket is fetched
 * a few groups before it closes (pl_merger_prefetch), then it is filed
 * under the same hash and probes with it -- and hashing a union() set
 * and an address each time was a twentieth of a merger query's
 * instructions.  An answer is kept for the group (pointer and seq: a
 * freed block may come back as another group), its number of records
 * (a record joining it before it closes changes its values) and the
 * operands themselves.
 */
static uint64_t
ops_hash_memo(struct pl_merger *mg, const struct pl_group *g,
	      const struct fq_operand *const *ops, size_t n)
{
	size_t i = (size_t)(((uintptr_t)g >> 6) ^ ((uintptr_t)ops[0] >> 4) ^
			    n) & (sizeof mg->memo / sizeof mg->memo[0] - 1);
	struct pl_hmemo *m = &mg->memo[i];
	int hit = m->g == g && m->seq == g->seq && m->n == g->n &&
		  m->nops == n;
	for (size_t k = 0; hit && k < n; k++)
		hit = m->ops[k] == ops[k];
	if (hit)
		return m->h;
	m->h = ops_hash(g, ops, n);
	m->g = g;
	m->seq = g->seq;
	m->n = g->n;
	m->nops = (uint32_t)n;
	for (size_t k = 0; k < n; k++)
		m->ops[k] = ops[k];
	return m->h;
}

/*
 * A bucket is an array of (hash, stime, group) entries: a probe reads it
 * contiguously and touches a group only when the hash matches and its
 * stime is inside the range the Allen terms allow (join_rec), where a
 * linked chain was a cache miss per stored group of the key.  The array
 * is read from its end: the newest entry first, and a bucket split by
 * growth reverses its order, exactly as the chains did whose order the
 * output has kept since (a probe's matches come out in this order).
 */
static int
sbucket_push(struct pl_sbucket *k, struct pl_sent e, struct pl_mem *mem)
{
	if (k->cap == 0) {
		k->v = k->in;
		k->cap = 2;
	} else if (k->n == k->cap) {
		struct pl_sent *v;
		if (k->v == k->in) {
			v = malloc(4 * sizeof *v);
			if (v == NULL)
				return -1;
			pl_mem_alloc(mem, 4 * sizeof *v);
			v[0] = k->in[0];
			v[1] = k->in[1];
			k->cap = 4;
		} else {
			v = pl_array_grow(k->v, &k->cap, sizeof *v, 4, mem);
			if (v == NULL)
				return -1;
		}
		k->v = v;
	}
	k->v[k->n++] = e;
	return 0;
}

static void
sbucket_fini(struct pl_sbucket *k, struct pl_mem *mem)
{
	if (k->v != k->in) {
		pl_mem_free(mem, k->cap * sizeof *k->v);
		free(k->v);
	}
	k->v = NULL;
	k->n = k->cap = 0;
}

static void
sbuckets_free(struct pl_sbucket *b, size_t nb, struct pl_mem *mem)
{
	for (size_t i = 0; i < nb; i++)
		sbucket_fini(&b[i], mem);
	pl_mem_free(mem, nb * sizeof *b);
	fq_table_free(b, nb * sizeof *b);
}

static int
attr_grow(struct pl_attr *a, struct pl_mem *mem)
{
	size_t nb = a->nb ? a->nb * 2 : 256;
	struct pl_sbucket *b = fq_table_alloc(nb * sizeof *b);
	if (b == NULL)
		return -1;
	pl_mem_alloc(mem, nb * sizeof *b);
	for (size_t i = 0; i < a->nb; i++) {
		const struct pl_sbucket *o = &a->b[i];
		for (uint32_t k = o->n; k-- > 0;)
			if (sbucket_push(&b[o->v[k].hash & (nb - 1)], o->v[k],
					 mem) < 0) {
				sbuckets_free(b, nb, mem);
				return -1;
			}
	}
	if (a->b)
		sbuckets_free(a->b, a->nb, mem);
	a->b = b;
	a->nb = nb;
	return 0;
}

/* File g under index a, with its hash h of a's values. */
static int
attr_insert(struct pl_attr *a, struct pl_group *g, uint64_t h,
	    struct pl_mem *mem)
{
	if (a->n + 1 > a->nb && attr_grow(a, mem) < 0)
		return -1;
	struct pl_sent e = { h, g->stime, g };
	if (sbucket_push(&a->b[h & (a->nb - 1)], e, mem) < 0)
		return -1;
	a->n++;
	return 0;
}

static void
attr_remove(struct pl_attr *a, struct pl_group *g, uint64_t h,
	    struct pl_mem *mem)
{
	struct pl_sbucket *k = &a->b[h & (a->nb - 1)];
	for (uint32_t i = 0; i < k->n; i++) {
		if (k->v[i].g != g)
			continue;
		memmove(&k->v[i], &k->v[i + 1], (k->n - i - 1) * sizeof *k->v);
		k->n--;
		a->n--;
		break;
	}
	if (k->n == 0 && k->v)
		sbucket_fini(k, mem);
}

/*
 * The term of a clause that is a plain equality between two group values
 * (`A.x = B.y`, no delta, not negated), or NULL: what the join can look up
 * in a store's hash index instead of scanning.
 */
static const struct fq_term *
group_eq_term(const struct fq_clause *cl)
{
	if (cl->n != 1)
		return NULL;
	const struct fq_term *t = &cl->terms[0];
	if (t->op != FQ_OP_EQ || t->has_delta || t->negate ||
	    t->l.kind != FQ_O_GROUP || t->r.kind != FQ_O_GROUP)
		return NULL;
	return t;
}

/*
 * An equality the store indexes: group_eq_term() between two different
 * slots of values of one type that hashes by value (not real numbers,
 * whose equal values can differ in bits, e.g. 0.0 and -0.0).
 */
static const struct fq_term *
indexable_term(const struct fq_clause *cl)
{
	const struct fq_term *t = group_eq_term(cl);
	if (t == NULL || t->l.branch == t->r.branch ||
	    t->l.vtype != t->r.vtype || t->l.vtype == FQ_V_REAL)
		return NULL;
	return t;
}

/*
 * The indexable equalities between slots x and y of module m, in clause
 * order: y's operands into mine[], x's into other[].  Returns how many
 * (at most PL_ATTR_OPS; further ones are only checked, not indexed).
 */
static size_t
pair_terms(const struct fq_mmodule *m, size_t x, size_t y,
	   const struct fq_operand **mine, const struct fq_operand **other)
{
	size_t n = 0;
	for (size_t c = 0; c < m->rules.n && n < PL_ATTR_OPS; c++) {
		const struct fq_term *t = indexable_term(&m->rules.clauses[c]);
		if (t == NULL)
			continue;
		if (t->l.branch == y && t->r.branch == x) {
			mine[n] = &t->l;
			other[n++] = &t->r;
		} else if (t->r.branch == y && t->l.branch == x) {
			mine[n] = &t->r;
			other[n++] = &t->l;
		}
	}
	return n;
}

/* First index with stime >= t. */
static size_t
store_lower(const struct pl_store *s, int64_t t)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		/* Dead slots keep their group's stime order: we never clear
		 * the pointer of a slot without compacting, see store_drop. */
		if (s->st[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First index with stime > t, searched from the end: steps of 1, 2, 4,
 * ... back until an stime <= t, then a binary search in the last step. */
static size_t
store_upper_near_end(const struct pl_store *s, int64_t t)
{
	size_t hi = s->n, step = 1;
	while (hi > 0 && s->st[hi - 1] > t) {
		size_t lo = hi > step ? hi - step : 0;
		if (s->st[lo] <= t) {
			/* st[lo] <= t < st[hi - 1]: the answer is in (lo, hi). */
			size_t a = lo + 1, b = hi - 1;
			while (a < b) {
				size_t mid = a + (b - a) / 2;
				if (s->st[mid] <= t)
					a = mid + 1;
				else
					b = mid;
			}
			return a;
		}
		hi = lo;
		step *= 2;
	}
	return hi;
}

static int
store_insert(struct pl_merger *mg, struct pl_store *s, struct pl_group *g,
	     struct pl_mem *mem)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct pl_group **p = fq_table_alloc(cap * sizeof *p);
		int64_t *st = fq_table_alloc(cap * sizeof *st);
		if (p == NULL || st == NULL) {
			fq_table_free(p, cap * sizeof *p);
			fq_table_free(st, cap * sizeof *st);
			return -1;
		}
		if (s->n) {
			memcpy(p, s->byst, s->n * sizeof *p);
			memcpy(st, s->st, s->n * sizeof *st);
		}
		fq_table_free(s->byst, s->cap * sizeof *s->byst);
		fq_table_free(s->st, s->cap * sizeof *s->st);
		s->byst = p;
		s->st = st;
		pl_mem_realloc(mem, s->cap * sizeof *p, cap * sizeof *p);
		pl_mem_realloc(mem, s->cap * sizeof *st, cap * sizeof *st);
		s->cap = cap;
	}
	uint64_t *hs = NULL;
	if (s->nattrs > 2) {
		hs = malloc(s->nattrs * sizeof *hs);
		if (hs == NULL)
			return -1;
		pl_mem_alloc(mem, s->nattrs * sizeof *hs);
	} else if (s->nattrs) {
		hs = g->shash_in;   /* in the group's block */
	}
	/*
	 * Groups arrive in the order they close, which is not quite stime
	 * order: search on the stimes alone, then step back over equal
	 * stimes of later groups (seq breaks ties).  The place is near the
	 * end, so the search gallops back from it (a plain binary search
	 * missed the cache on its last steps, for every group).
	 */
	size_t i = store_upper_near_end(s, g->stime);
	while (i > 0 && s->st[i - 1] == g->stime && s->byst[i - 1]->seq > g->seq)
		i--;
	memmove(s->byst + i + 1, s->byst + i, (s->n - i) * sizeof *s->byst);
	memmove(s->st + i + 1, s->st + i, (s->n - i) * sizeof *s->st);
	s->byst[i] = g;
	s->st[i] = g->stime;
	s->n++;
	if (g->etime - g->stime > s->max_span)
		s->max_span = g->etime - g->stime;
	g->shash = hs;
	for (size_t k = 0; k < s->nattrs; k++) {
		hs[k] = ops_hash_memo(mg, g, s->attrs[k].ops,
				      s->attrs[k].nops);
		if (attr_insert(&s->attrs[k], g, hs[k], mem) < 0) {
			while (k-- > 0)
				attr_remove(&s->attrs[k], g, hs[k], mem);
			g->shash = NULL;
			if (hs != g->shash_in) {
				pl_mem_free(mem, s->nattrs * sizeof *hs);
				free(hs);
			}
			s->n--;
			memmove(s->byst + i, s->byst + i + 1,
				(s->n - i) * sizeof *s->byst);
			memmove(s->st + i, s->st + i + 1,
				(s->n - i) * sizeof *s->st);
			return -1;
		}
	}
	g->stored = 1;
	g->refs++;
	return 0;
}

/*
 * The first two cache lines of a stored group: refs, then what dropping
 * it reads (stored, drop_at, wi, shash; pl.h, struct pl_group).  Walks
 * over groups far apart in memory fetch them a few groups ahead.
 */
static inline void
prefetch_head(const struct pl_group *g)
{
	__builtin_prefetch(g);
	__builtin_prefetch((const char *)g + 64);
}

/* Remove dropped groups (stored == 0) from the sorted array. */
static void
store_compact(struct pl_store *s)
{
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (i + 8 < s->n)
			prefetch_head(s->byst[i + 8]);
		struct pl_group *g = s->byst[i];
		if (g->stored) {
			s->st[w] = s->st[i];
			s->byst[w++] = g;
		} else {
			pl_group_unref(g);
		}
	}
	s->n = w;
	s->dead = 0;
	s->evict_from = 0;
}

/* What store_drop() will read for g, if it is stored. */
static void
prefetch_drop(const struct pl_store *s, const struct pl_group *g)
{
	if (!g->shash)
		return;
	for (size_t k = 0; k < s->nattrs; k++) {
		const struct pl_attr *a = &s->attrs[k];
		if (a->nb)
			__builtin_prefetch(&a->b[g->shash[k] & (a->nb - 1)]);
	}
}

static void
store_drop(struct pl_store *s, struct pl_group *g, struct pl_mem *mem)
{
	if (g->shash) {
		for (size_t k = 0; k < s->nattrs; k++)
			attr_remove(&s->attrs[k], g, g->shash[k], mem);
		if (g->shash != g->shash_in) {
			pl_mem_free(mem, s->nattrs * sizeof *g->shash);
			free(g->shash);
		}
		g->shash = NULL;
	}
	g->stored = 0;
	s->dead++;
}

/* ---- module analysis -------------------------------------------------- */

/* Per module: slot masks of clauses and all-pairs stime bounds. */
struct pl_mod {
	const struct fq_mmodule *m;
	uint64_t *clause_mask;     /* owned, per clause */
	int64_t *dist;             /* owned, nslots^2: y.stime <= x.etime + d */
	int is_export;
};

static struct pl_mod *mods_of(struct pl_merger *mg);

struct pl_merger_x {
	struct pl_merger pub;
	struct pl_mod *mods;       /* owned, per module */
	int has_sub;
	struct pl_group **emit;    /* owned scratch, per plan branch: a
				      match emitted at once (no tuple) */
	struct pl_probe *probes;   /* owned: the first probe of each module
				      slot (pl_merger_prefetch) */
	size_t nprobes;
};

/* Where join_rec() looks first for partners of a new group of `branch`
 * in one module slot: index `attr` of the store of `store`, with the
 * group's values of ops. */
struct pl_probe {
	size_t branch, store;
	int attr;
	const struct fq_operand *ops[PL_ATTR_OPS];
	size_t nops;
};

static struct pl_mod *
mods_of(struct pl_merger *mg)
{
	return ((struct pl_merger_x *)mg)->mods;
}

static uint64_t
operand_mask(const struct fq_operand *o)
{
	return o->kind == FQ_O_GROUP ? 1ULL << o->branch : 0;
}

static int
mod_init(struct pl_merger *mg, struct pl_mod *pm, const struct fq_mmodule *m)
{
	size_t k = m->nbranches;
	int64_t W = mg->p->window;
	pm->m = m;
	pm->clause_mask = calloc(m->rules.n ? m->rules.n : 1, sizeof(uint64_t));
	pm->dist = malloc(k * k * sizeof(int64_t));
	if (pm->clause_mask == NULL || pm->dist == NULL)
		return -1;
	for (size_t c = 0; c < m->rules.n; c++) {
		const struct fq_clause *cl = &m->rules.clauses[c];
		uint64_t mask = 0;
		for (size_t t = 0; t < cl->n; t++)
			mask |= operand_mask(&cl->terms[t].l) |
				operand_mask(&cl->terms[t].r);
		pm->clause_mask[c] = mask;
		/* A subtracting module's equalities get a hash index on each
		 * side: the table of evicted keys (unsure()) works on these
		 * single values. */
		const struct fq_term *t = indexable_term(cl);
		if (t && !m->is_export) {
			const struct fq_operand *l = &t->l, *r = &t->r;
			if (attr_register(&mg->stores[m->branches[t->l.branch]], &l, 1) < 0 ||
			    attr_register(&mg->stores[m->branches[t->r.branch]], &r, 1) < 0)
				return -1;
		}
	}
	/* Every slot gets one on all its equalities to each other slot:
	 * what the join probes (join_rec). */
	for (size_t x = 0; x < k; x++)
		for (size_t y = 0; y < k; y++) {
			const struct fq_operand *mine[PL_ATTR_OPS], *other[PL_ATTR_OPS];
			size_t n = x == y ? 0 : pair_terms(m, x, y, mine, other);
			if (n > 0 && attr_register(&mg->stores[m->branches[y]], mine, n) < 0)
				return -1;
		}
	for (size_t i = 0; i < k * k; i++)
		pm->dist[i] = FQ_TIME_INF;
	for (size_t i = 0; i < k; i++)
		pm->dist[i * k + i] = 0;
	for (size_t i = 0; i < m->nallen; i++) {
		const struct fq_allen *al = &m->allen[i];
		int64_t ab = allen_offset(al, 1), ba = allen_offset(al, 0);
		if (ab < pm->dist[al->a * k + al->b])
			pm->dist[al->a * k + al->b] = ab;
		if (ba < pm->dist[al->b * k + al->a])
			pm->dist[al->b * k + al->a] = ba;
	}
	/* Paths: each intermediate group adds at most W of span. */
	for (size_t v = 0; v < k; v++)
		for (size_t i = 0; i < k; i++)
			for (size_t j = 0; j < k; j++) {
				int64_t d = sat_add(sat_add(pm->dist[i * k + v], W),
						    pm->dist[v * k + j]);
				if (d < pm->dist[i * k + j])
					pm->dist[i * k + j] = d;
			}
	pm->is_export = m->is_export;
	return 0;
}

/*
 * The attributes unsure() looks up: equality keys by which a subtracting
 * module joins a branch that the export module does not list (a slot
 * that is always free there).  Only they keep a table of evicted keys.
 */
static void
mark_sub_keys(struct pl_merger *mg)
{
	const struct fq_plan_merger *pm = mg->pm;
	const struct fq_mmodule *ex = &pm->modules[pm->export_idx];
	for (size_t i = 0; i < pm->nmodules; i++) {
		const struct fq_mmodule *m = &pm->modules[i];
		if (m->is_export)
			continue;
		for (size_t c = 0; c < m->rules.n; c++) {
			const struct fq_clause *cl = &m->rules.clauses[c];
			if (cl->n != 1)
				continue;
			const struct fq_term *t = &cl->terms[0];
			const struct fq_operand *side[2] = { &t->l, &t->r };
			for (int k = 0; k < 2; k++) {
				if (side[k]->kind != FQ_O_GROUP)
					continue;
				size_t b = m->branches[side[k]->branch];
				int in_export = 0;
				for (size_t s = 0; s < ex->nbranches; s++)
					in_export |= ex->branches[s] == b;
				int ai = attr_find(&mg->stores[b], &side[k], 1);
				if (!in_export && ai >= 0)
					mg->stores[b].attrs[ai].sub_key = 1;
			}
		}
	}
}

/* ---- the drop wheel ---------------------------------------------------- */

/*
 * Stored groups wait for their horizon (drop_at) in a timing wheel of
 * one-second buckets: a group goes into the bucket of its drop second,
 * and as stream time passes a second its bucket is emptied, so dropping
 * costs O(1) per group however large the store is (a sweep of the whole
 * store, as before, made a long stream's cost grow with its state).  A
 * group due more than WHEEL_N seconds ahead shares a bucket with nearer
 * ones and is put back when that bucket comes round.  A group leaving
 * the store otherwise (--max-state eviction) is taken out of its bucket
 * at once: the wheel never holds a group the store does not.
 */
#define WHEEL_N 4096   /* buckets: a power of two, 68 min of seconds */

struct pl_wbucket {
	struct pl_group **g;       /* owned array of borrowed groups */
	uint32_t n, cap;
};

struct pl_wheel {
	struct pl_wbucket b[WHEEL_N];
	int64_t cur;               /* next second to empty */
	size_t n;                  /* groups in the wheel */
	int started;
};

static int
wheel_add(struct pl_wheel *w, struct pl_group *g, struct pl_mem *mem)
{
	int64_t sec = pl_sec_of(g->drop_at);
	if (!w->started) {
		w->cur = sec;
		w->started = 1;
	}
	if (sec < w->cur)
		sec = w->cur;
	struct pl_wbucket *b = &w->b[(uint64_t)sec & (WHEEL_N - 1)];
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

static void
wheel_remove(struct pl_wheel *w, struct pl_group *g)
{
	struct pl_wbucket *b = &w->b[g->wb];
	struct pl_group *last = b->g[--b->n];
	b->g[g->wi] = last;
	last->wi = g->wi;
	w->n--;
}

static void
wheel_fini(struct pl_wheel *w, struct pl_mem *mem)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < WHEEL_N; i++) {
		pl_mem_free(mem, w->b[i].cap * sizeof *w->b[i].g);
		free(w->b[i].g);
	}
	pl_mem_free(mem, sizeof *w);
	free(w);
}

/*
 * The probes join_rec() makes first for a group that binds slot s of a
 * module: as there, the first indexable equality between s and another
 * slot y, and every such equality between the two, look up y's store.
 */
static int
probes_init(struct pl_merger_x *x)
{
	struct pl_merger *mg = &x->pub;
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		const struct fq_mmodule *m = x->mods[i].m;
		for (size_t sl = 0; sl < m->nbranches; sl++) {
			for (size_t c = 0; c < m->rules.n; c++) {
				const struct fq_term *t =
					indexable_term(&m->rules.clauses[c]);
				if (t == NULL || (t->l.branch != sl &&
						  t->r.branch != sl))
					continue;
				size_t y = t->l.branch == sl ? t->r.branch
							     : t->l.branch;
				struct pl_probe p;
				const struct fq_operand *mine[PL_ATTR_OPS];
				memset(&p, 0, sizeof p);
				p.branch = m->branches[sl];
				p.store = m->branches[y];
				p.nops = pair_terms(m, sl, y, mine, p.ops);
				p.attr = attr_find(&mg->stores[p.store], mine,
						   p.nops);
				if (p.attr >= 0) {
					struct pl_probe *v = realloc(x->probes,
						(x->nprobes + 1) * sizeof *v);
					if (v == NULL)
						return -1;
					x->probes = v;
					x->probes[x->nprobes++] = p;
				}
				break;
			}
		}
	}
	return 0;
}

static void
prefetch_slot(struct pl_merger *mg, const struct pl_attr *a,
	      const struct pl_group *g, const struct fq_operand *const *ops,
	      size_t nops)
{
	if (a->nb)
		__builtin_prefetch(&a->b[ops_hash_memo(mg, g, ops, nops) &
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
	mg->bind = calloc(SLOT_MAX, sizeof *mg->bind);
	x->mods = calloc(pm->nmodules, sizeof *x->mods);
	x->emit = calloc(nb ? nb : 1, sizeof *x->emit);
	if (mg->stores == NULL || mg->bind == NULL || x->mods == NULL ||
	    x->emit == NULL)
		return -1;
	for (size_t i = 0; i < pm->nmodules; i++) {
		if (pm->modules[i].nbranches > SLOT_MAX) {
			fq_error("merger module with more than %d branches", SLOT_MAX);
			return -1;
		}
		if (mod_init(mg, &x->mods[i], &pm->modules[i]) < 0)
			return -1;
	}
	x->has_sub = pm->nmodules > 1;
	mark_sub_keys(mg);
	if (probes_init(x) < 0)
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

static void
tuple_free(struct pl_merger *mg, struct pl_tuple *t)
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
		tuple_free(mg, t);
		t = next;
	}
	if (mg->stores) {
		for (size_t b = 0; b < mg->plan->nbranches; b++) {
			struct pl_store *s = &mg->stores[b];
			struct pl_mem *mem = mg->mem;
			for (size_t i = 0; i < s->n; i++) {
				if (s->byst[i]->stored)
					store_drop(s, s->byst[i], mem);
			}
			store_compact(s);
			for (size_t k = 0; k < s->nattrs; k++) {
				if (s->attrs[k].b)
					sbuckets_free(s->attrs[k].b,
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
	wheel_fini(mg->drops, mg->mem);
	free(mg->listed);
	free(mg->stores);
	free(mg->bind);
	free(x);
}

/* ---- the join --------------------------------------------------------- */

struct join {
	struct pl_merger *mg;
	struct pl_mod *pm;
	struct pl_group *bind[SLOT_MAX];
	uint64_t bound;
	int stop;                  /* 1: stop at the first match */
	int found;
	/* what to do with a match */
	void (*on_match)(struct join *j);
	struct pl_tuple *agree;    /* anti-join: the tuple to agree with */
};

/* An empty join of module pm.  Only the module's slots are cleared: no
 * slot is read before its bit in `bound` is set, and clearing all
 * SLOT_MAX of them for every group was most of what the merger spent on
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
		int64_t up = allen_offset(al, other == al->a);
		int64_t down = allen_offset(al, other != al->a);
		int64_t h = sat_add(u->etime, up);
		int64_t l = down == FQ_TIME_INF ? INT64_MIN
			    : sat_add(sat_add(u->stime, -down), -s->max_span);
		if (h < *hi)
			*hi = h;
		if (l > *lo)
			*lo = l;
	}
}

/* Choose the next slot and how to find its candidates. */
static void
join_rec(struct join *j)
{
	const struct fq_mmodule *m = j->pm->m;
	size_t k = m->nbranches;
	if (j->stop && j->found)
		return;
	if (j->bound == (k == 64 ? ~0ULL : (1ULL << k) - 1)) {
		j->found++;
		if (j->on_match)
			j->on_match(j);
		return;
	}
	/* 1. an equality clause to a bound slot: probe the index on every
	 * equality between the two */
	for (size_t c = 0; c < m->rules.n; c++) {
		const struct fq_term *t = indexable_term(&m->rules.clauses[c]);
		if (t == NULL)
			continue;
		size_t y, x;
		if (!(j->bound & (1ULL << t->l.branch)) &&
		    (j->bound & (1ULL << t->r.branch))) {
			y = t->l.branch;
			x = t->r.branch;
		} else if (!(j->bound & (1ULL << t->r.branch)) &&
			   (j->bound & (1ULL << t->l.branch))) {
			y = t->r.branch;
			x = t->l.branch;
		} else {
			continue;
		}
		const struct fq_operand *mine[PL_ATTR_OPS], *other[PL_ATTR_OPS];
		size_t nops = pair_terms(m, x, y, mine, other);
		struct pl_store *s = &j->mg->stores[m->branches[y]];
		int ai = attr_find(s, mine, nops);
		if (ai < 0)
			continue;
		struct pl_attr *a = &s->attrs[ai];
		if (a->nb == 0)
			return;   /* nothing stored: no candidate at all */
		uint64_t h = ops_hash_memo(j->mg, j->bind[x], other, nops);
		int64_t lo, hi;
		allen_range(j, y, s, &lo, &hi);
		const struct pl_sbucket *bk = &a->b[h & (a->nb - 1)];
		for (uint32_t i = bk->n; i-- > 0;) {
			const struct pl_sent *e = &bk->v[i];
			if (e->hash == h && e->stime >= lo && e->stime <= hi)
				try_bind(j, y, e->g);
			if (j->stop && j->found)
				return;
		}
		return;
	}
	/* 2. an Allen term to a bound slot: a range of the stime-sorted store */
	for (size_t i = 0; i < m->nallen; i++) {
		const struct fq_allen *al = &m->allen[i];
		size_t slot, other;
		if (!(j->bound & (1ULL << al->a)) && (j->bound & (1ULL << al->b))) {
			slot = al->a;
			other = al->b;
		} else if (!(j->bound & (1ULL << al->b)) && (j->bound & (1ULL << al->a))) {
			slot = al->b;
			other = al->a;
		} else {
			continue;
		}
		const struct pl_group *u = j->bind[other];
		struct pl_store *s = &j->mg->stores[m->branches[slot]];
		int64_t up = allen_offset(al, other == al->a);
		int64_t down = allen_offset(al, other != al->a);
		int64_t hi = sat_add(u->etime, up);
		int64_t lo = down == FQ_TIME_INF ? INT64_MIN
			     : sat_add(sat_add(u->stime, -down), -s->max_span);
		for (size_t x = store_lower(s, lo); x < s->n; x++) {
			struct pl_group *g = s->byst[x];
			if (g->stime > hi)
				break;
			if (g->stored)
				try_bind(j, slot, g);
			if (j->stop && j->found)
				return;
		}
		return;
	}
	/* 3. no link: scan the first unbound slot's store */
	for (size_t slot = 0; slot < k; slot++) {
		if (j->bound & (1ULL << slot))
			continue;
		struct pl_store *s = &j->mg->stores[m->branches[slot]];
		for (size_t x = 0; x < s->n; x++) {
			if (s->byst[x]->stored)
				try_bind(j, slot, s->byst[x]);
			if (j->stop && j->found)
				return;
		}
		return;
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
rejected(struct pl_merger *mg, struct pl_mod *pm, struct pl_tuple *t)
{
	struct join j;
	join_init(&j, mg, pm);
	j.stop = 1;
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

/* When no rejecting group can arrive any more for t (stream time). */
static int64_t
release_time(struct pl_merger *mg, struct pl_tuple *t)
{
	const struct pl_params *o = mg->p;
	struct pl_mod *mods = mods_of(mg);
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
				int64_t b = sat_add(g->etime, pm->dist[s * k + f]);
				if (b < best)
					best = b;
			}
			if (best == FQ_TIME_INF)
				best = sat_add(maxst, o->window);
			if (best > rel)
				rel = best;
		}
	}
	return sat_add(sat_add(rel, o->window), o->max_duration);
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
			group_eq_term(&m->rules.clauses[c]);
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
		int ai = attr_find(sf, &mine, 1);
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
	struct pl_mod *mods = mods_of(mg);
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
					int64_t v = sat_add(sat_add(g->stime, -d),
							    -sf->max_span);
					if (v > lb)
						lb = v;
				}
				if (!pm->m->bounded && o->window != FQ_TIME_INF) {
					int64_t v = sat_add(g->stime, -o->window);
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
			tuple_free(mg, t);
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
		tuple_free(mg, t);
		return;
	}
	t->release = release_time(mg, t);
	if (t->release < mg->next_release)
		mg->next_release = t->release;
	t->next = mg->pending;
	mg->pending = t;
	mg->npending++;
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
			tuple_free(mg, t);
		} else {
			pp = &t->next;
		}
	}
}

/* Latest time a partner of g (stored in branch b) can arrive. */
static int64_t
drop_time(struct pl_merger *mg, struct pl_group *g, size_t b)
{
	const struct pl_params *o = mg->p;
	struct pl_mod *mods = mods_of(mg);
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
					    ? sat_add(g->stime, o->window)
					    : sat_add(g->etime, d);
				if (v > latest)
					latest = v;
			}
		}
	}
	if (!used)
		return INT64_MIN;   /* no module needs this branch */
	return latest;
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
	g->drop_at = drop_time(mg, g, b);
	if (g->drop_at == INT64_MIN)
		return;
	if (mg->front > g->drop_at) {
		/* Every partner it could have is in already. */
		mg->c.dropped_groups++;
		return;
	}
	if (store_insert(mg, &mg->stores[b], g, mg->mem) < 0) {
		fq_error("out of memory in the merger store");
		return;
	}
	if (wheel_add(mg->drops, g, mg->mem) < 0) {
		fq_error("out of memory in the merger store");
		store_drop(&mg->stores[b], g, mg->mem);
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
				sbuckets_free(a->b, a->nb, mem);
			a->b = NULL;
			a->nb = a->n = 0;
		}
		for (size_t i = 0; i < s->n; i++) {
			if (i + 8 < s->n)
				prefetch_head(s->byst[i + 8]);
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
	for (size_t i = 0; i < WHEEL_N; i++)
		w->b[i].n = 0;
	w->n = 0;
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
			tuple_free(mg, ready[i]);
		}
		free(ready);
	}
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
		if (w->cur <= last - WHEEL_N)
			w->cur = last - (WHEEL_N - 1);  /* one full turn is all */
		struct pl_wbucket *bk = &w->b[(uint64_t)w->cur & (WHEEL_N - 1)];
		w->cur++;
		/* The bucket is compacted in one pass: a group due a turn or
		 * more later moves down, and only it learns its new place
		 * (wheel_remove() would move the last group of the bucket
		 * into the hole, a cache miss per dropped group). */
		uint32_t k = 0;
		for (uint32_t i = 0; i < bk->n; i++) {
			/* The groups of a bucket are far apart: fetch them a
			 * few ahead, then the index slots they leave. */
			if (i + 8 < bk->n)
				prefetch_head(bk->g[i + 8]);
			if (i + 4 < bk->n)
				prefetch_drop(&mg->stores[bk->g[i + 4]->br->index],
					      bk->g[i + 4]);
			struct pl_group *g = bk->g[i];
			if (F > g->drop_at) {
				store_drop(&mg->stores[g->br->index], g, mg->mem);
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
			store_compact(s);
	}
}

/* ---- --max-state ------------------------------------------------------ */

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
			store_compact(s);
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
				  : sat_add(g->drop_at, mg->p->max_duration);
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
static void
evicted_note(struct pl_store *s, struct pl_group *g, struct pl_mem *mem)
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
		int64_t *w = &a->evicted[ops_hash(g, a->ops, a->nops) &
					 (a->nevicted - 1)];
		if (g->stime > *w)
			*w = g->stime;
	}
}

size_t
pl_merger_evict(struct pl_merger *mg, struct pl_group *g)
{
	struct pl_store *s = &mg->stores[g->br->index];
	evicted_note(s, g, mg->mem);
	wheel_remove(mg->drops, g);
	store_drop(s, g, mg->mem);
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
	struct pl_group *g[SLOT_MAX];
	size_t ng = 0;
	for (size_t b = 0; b < nb && ng < SLOT_MAX; b++)
		if (t->g[b] && t->g[b]->refs == 2 && t->g[b]->stored)
			g[ng++] = t->g[b];   /* the tuple's ref and the store's */
	tuple_free(mg, t);
	size_t freed = 0;
	for (size_t i = 0; i < ng; i++)
		freed += pl_merger_evict(mg, g[i]);
	return freed;
}
