/*
 * merger_plan.c - what the merger works out once per query from its
 * modules (SPEC section 4, Merger): per module, which slots each clause
 * names and the all-pairs bounds between slots' stimes that the Allen
 * relations give (struct pl_mod: they bound the join's ranges, the time
 * a tuple waits for a rejecting group and a group's horizon), the hash
 * indexes each store keeps, the keys a subtracting module joins a free
 * slot on (for the --max-state cap's unsure()), and the first probe of
 * each module slot (pl_merger_prefetch).
 */
#include "merger_int.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

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

/* Bound of b's stime from a's etime for Allen term al (a, b slots). */
int64_t
pl_allen_offset(const struct fq_allen *al, int from_a)
{
	int64_t off = INT64_MIN;
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		if (!(al->rels & (1u << r)))
			continue;
		enum fq_allen_rel rr = from_a ? (enum fq_allen_rel)r
					      : fq_allen_inverse((enum fq_allen_rel)r);
		int64_t o = rel_offset(rr, pl_term_delta(al, r));
		if (o > off)
			off = o;
	}
	return off == INT64_MIN ? FQ_TIME_INF : off;
}

static uint64_t
operand_mask(const struct fq_operand *o)
{
	return o->kind == FQ_O_GROUP ? 1ULL << o->branch : 0;
}

int
pl_mod_init(struct pl_merger *mg, struct pl_mod *pm, const struct fq_mmodule *m)
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
		const struct fq_term *t = pl_indexable_term(cl);
		if (t && !m->is_export) {
			const struct fq_operand *l = &t->l, *r = &t->r;
			if (pl_attr_register(&mg->stores[m->branches[t->l.branch]], &l, 1) < 0 ||
			    pl_attr_register(&mg->stores[m->branches[t->r.branch]], &r, 1) < 0)
				return -1;
		}
	}
	/* Every slot gets one on all its equalities to each other slot:
	 * what the join probes (join_rec). */
	for (size_t x = 0; x < k; x++)
		for (size_t y = 0; y < k; y++) {
			const struct fq_operand *mine[PL_ATTR_OPS], *other[PL_ATTR_OPS];
			size_t n = x == y ? 0 : pl_pair_terms(m, x, y, mine, other);
			if (n > 0 && pl_attr_register(&mg->stores[m->branches[y]], mine, n) < 0)
				return -1;
		}
	for (size_t i = 0; i < k * k; i++)
		pm->dist[i] = FQ_TIME_INF;
	for (size_t i = 0; i < k; i++)
		pm->dist[i * k + i] = 0;
	for (size_t i = 0; i < m->nallen; i++) {
		const struct fq_allen *al = &m->allen[i];
		int64_t ab = pl_allen_offset(al, 1), ba = pl_allen_offset(al, 0);
		if (ab < pm->dist[al->a * k + al->b])
			pm->dist[al->a * k + al->b] = ab;
		if (ba < pm->dist[al->b * k + al->a])
			pm->dist[al->b * k + al->a] = ba;
	}
	/* Paths: each intermediate group adds at most W of span. */
	for (size_t v = 0; v < k; v++)
		for (size_t i = 0; i < k; i++)
			for (size_t j = 0; j < k; j++) {
				int64_t d = pl_sat_add(pl_sat_add(pm->dist[i * k + v], W),
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
void
pl_mark_sub_keys(struct pl_merger *mg)
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
				int ai = pl_attr_find(&mg->stores[b], &side[k], 1);
				if (!in_export && ai >= 0)
					mg->stores[b].attrs[ai].sub_key = 1;
			}
		}
	}
}

/*
 * The probes join_rec() makes first for a group that binds slot s of a
 * module: as there, the first indexable equality between s and another
 * slot y, and every such equality between the two, look up y's store.
 */
int
pl_probes_init(struct pl_merger_x *x)
{
	struct pl_merger *mg = &x->pub;
	for (size_t i = 0; i < mg->pm->nmodules; i++) {
		const struct fq_mmodule *m = x->mods[i].m;
		for (size_t sl = 0; sl < m->nbranches; sl++) {
			for (size_t c = 0; c < m->rules.n; c++) {
				const struct fq_term *t =
					pl_indexable_term(&m->rules.clauses[c]);
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
				p.nops = pl_pair_terms(m, sl, y, mine, p.ops);
				p.attr = pl_attr_find(&mg->stores[p.store], mine,
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
