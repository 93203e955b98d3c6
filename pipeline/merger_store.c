/*
 * merger_store.c - the merger's store: every closed group that passed its
 * group filter and may still find partners, per branch, sorted by stime
 * (so that an Allen term's range of stimes is a slice of it), with hash
 * indexes on the group values equality clauses compare (struct pl_attr),
 * so that a probe walks only the groups that agree.  A group leaves it at
 * its horizon (merger_horizon.c) or when the --max-state cap evicts it
 * (merger_shed.c); a dropped entry stays, marked, until the array is
 * compacted.
 */
#include "merger_int.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

static int
same_operand(const struct fq_operand *a, const struct fq_operand *b)
{
	return a->kind == b->kind && a->gval == b->gval && a->agg == b->agg &&
	       a->field == b->field && a->fn == b->fn && a->mask == b->mask;
}

int
pl_attr_find(const struct pl_store *s, const struct fq_operand *const *ops,
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

int
pl_attr_register(struct pl_store *s, const struct fq_operand *const *ops,
	      size_t n)
{
	if (n == 0 || n > PL_ATTR_OPS || pl_attr_find(s, ops, n) >= 0)
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
uint64_t
pl_ops_hash(const struct pl_group *g, const struct fq_operand *const *ops,
	 size_t n)
{
	uint64_t h = pl_group_value_hash(g, ops[0]);
	for (size_t k = 1; k < n; k++)
		h = pl_mix(h, pl_group_value_hash(g, ops[k]));
	return h;
}

/*
 * pl_ops_hash() through a small table of the latest answers.  A group's
 * hashes are wanted two or three times in a row -- its bucket is fetched
 * a few groups before it closes (pl_merger_prefetch), then it is filed
 * under the same hash and probes with it -- and hashing a union() set
 * and an address each time was a twentieth of a merger query's
 * instructions.  An answer is kept for the group (pointer and seq: a
 * freed block may come back as another group), its number of records
 * (a record joining it before it closes changes its values) and the
 * operands themselves.
 */
uint64_t
pl_ops_hash_memo(struct pl_merger *mg, const struct pl_group *g,
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
	m->h = pl_ops_hash(g, ops, n);
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

void
pl_sbuckets_free(struct pl_sbucket *b, size_t nb, struct pl_mem *mem)
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
				pl_sbuckets_free(b, nb, mem);
				return -1;
			}
	}
	if (a->b)
		pl_sbuckets_free(a->b, a->nb, mem);
	a->b = b;
	a->nb = nb;
	return 0;
}

/* File g under index a, with its hash h of a's values. */
int
pl_attr_insert(struct pl_attr *a, struct pl_group *g, uint64_t h,
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

void
pl_attr_remove(struct pl_attr *a, struct pl_group *g, uint64_t h,
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
 * The indexable equalities between slots x and y of module m, in clause
 * order: y's operands into mine[], x's into other[].  Returns how many
 * (at most PL_ATTR_OPS; further ones are only checked, not indexed).
 */
size_t
pl_pair_terms(const struct fq_mmodule *m, size_t x, size_t y,
	   const struct fq_operand **mine, const struct fq_operand **other)
{
	size_t n = 0;
	for (size_t c = 0; c < m->rules.n && n < PL_ATTR_OPS; c++) {
		const struct fq_term *t = pl_indexable_term(&m->rules.clauses[c]);
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
size_t
pl_store_lower(const struct pl_store *s, int64_t t)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		/* Dead slots keep their group's stime order: we never clear
		 * the pointer of a slot without compacting, see pl_store_drop. */
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

int
pl_store_insert(struct pl_merger *mg, struct pl_store *s, struct pl_group *g,
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
		hs[k] = pl_ops_hash_memo(mg, g, s->attrs[k].ops,
				      s->attrs[k].nops);
		if (pl_attr_insert(&s->attrs[k], g, hs[k], mem) < 0) {
			while (k-- > 0)
				pl_attr_remove(&s->attrs[k], g, hs[k], mem);
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

/* Remove dropped groups (stored == 0) from the sorted array. */
void
pl_store_compact(struct pl_store *s)
{
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (i + 8 < s->n)
			pl_prefetch_head(s->byst[i + 8]);
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

/* What pl_store_drop() will read for g, if it is stored. */
void
pl_store_prefetch_drop(const struct pl_store *s, const struct pl_group *g)
{
	if (!g->shash)
		return;
	for (size_t k = 0; k < s->nattrs; k++) {
		const struct pl_attr *a = &s->attrs[k];
		if (a->nb)
			__builtin_prefetch(&a->b[g->shash[k] & (a->nb - 1)]);
	}
}

void
pl_store_drop(struct pl_store *s, struct pl_group *g, struct pl_mem *mem)
{
	if (g->shash) {
		for (size_t k = 0; k < s->nattrs; k++)
			pl_attr_remove(&s->attrs[k], g, g->shash[k], mem);
		if (g->shash != g->shash_in) {
			pl_mem_free(mem, s->nattrs * sizeof *g->shash);
			free(g->shash);
		}
		g->shash = NULL;
	}
	g->stored = 0;
	s->dead++;
}
