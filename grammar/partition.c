/*
 * partition.c - the partition planner (partition.h, docs/parallel.md).
 *
 * Three steps.  (1) Each grouper's partitionable fields: the fields f
 * with a key rule `f = f` in every module (a group's records then all
 * share f).  (2) The merger's links: single-term clauses X.a = Y.b (no
 * delta, no NOT, no bit function) of a module with two or more branches
 * whose both sides read a key field of their branch -- the record field
 * of a grouper-less branch, or an aggregate `aggregate f` of such a field.
 * (3) A search for one field per linked branch such that, in every such
 * module, the links between the chosen fields connect all its branches:
 * then every tuple a module can match has equal hashes on all its groups
 * and lies in one shard.  The search is a small backtracking with a
 * local pruning test and a step budget, since a hostile query could make
 * the choice exponential (the budget counts the work of every run, the
 * explaining ones of explain() included).
 */
#include "partition.h"

#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "plan.h"

/* Work (edges and branches looked at) before the search gives up: a
 * fraction of a second at worst. */
#define PART_BUDGET 20000000L

/* One usable merger equality. */
struct edge {
	size_t module, clause;
	size_t x, y;                 /* plan branch indexes */
	unsigned fx, fy;             /* field ids */
};

struct search {
	const struct fq_plan *p;
	const struct edge *e;
	size_t ne;
	size_t only;                 /* module to consider, SIZE_MAX: all */
	uint64_t *cand;              /* per branch: fields it may take */
	int *chosen;                 /* per branch: field id, -1 unassigned */
	size_t *order;               /* the linked branches, in search order */
	size_t norder;
	size_t *uf;                  /* union-find scratch, per branch */
	long steps;                  /* work so far, all runs together */
};

static uint64_t
grouper_fields(const struct fq_plan_grouper *g)
{
	uint64_t all = ~(uint64_t)0;
	for (size_t m = 0; m < g->nmodules; m++) {
		uint64_t mine = 0;
		for (size_t k = 0; k < g->modules[m].nkeys; k++) {
			const struct fq_gkey *key = &g->modules[m].keys[k];
			if (key->a == key->b)
				mine |= (uint64_t)1 << key->a->id;
		}
		all &= mine;
	}
	return g->nmodules ? all : 0;
}

/* The key field operand o of module mm reads, or -1. */
static int
operand_field(const struct fq_plan *p, const struct fq_plan_partition *part,
	      const struct fq_mmodule *mm, const struct fq_operand *o)
{
	if (o->kind != FQ_O_GROUP || o->fn != FQ_FN_NONE ||
	    o->branch >= mm->nbranches)
		return -1;
	size_t b = mm->branches[o->branch];
	const struct fq_plan_grouper *g = p->branches[b].grouper;
	if (g == NULL)
		return o->gval == FQ_G_FIELD ? (int)o->field->id : -1;
	if (o->gval != FQ_G_AGG || o->agg >= g->naggs ||
	    g->aggs[o->agg].fn != FQ_AGG_FIELD)
		return -1;
	int f = (int)g->aggs[o->agg].field->id;
	return (part->branches[b].grouper >> f) & 1 ? f : -1;
}

static int
usable_edge(const struct fq_plan *p, const struct fq_plan_partition *part,
	    size_t m, size_t c, struct edge *e)
{
	const struct fq_mmodule *mm = &p->merger->modules[m];
	const struct fq_clause *cl = &mm->rules.clauses[c];
	if (cl->n != 1)
		return 0;
	const struct fq_term *t = &cl->terms[0];
	if (t->op != FQ_OP_EQ || t->negate || t->has_delta ||
	    t->l.kind != FQ_O_GROUP || t->r.kind != FQ_O_GROUP ||
	    t->l.branch == t->r.branch)
		return 0;
	int fx = operand_field(p, part, mm, &t->l);
	int fy = operand_field(p, part, mm, &t->r);
	if (fx < 0 || fy < 0)
		return 0;
	*e = (struct edge){ m, c, mm->branches[t->l.branch],
			    mm->branches[t->r.branch], (unsigned)fx,
			    (unsigned)fy };
	return 1;
}

static int
considered(const struct search *s, size_t m)
{
	return (s->only == SIZE_MAX || s->only == m) &&
	       s->p->merger->modules[m].nbranches >= 2;
}

/* Can edge end (b, f) -> (c, g) still be used? */
static int
end_open(const struct search *s, size_t c, unsigned g)
{
	return s->chosen[c] < 0 ? (int)((s->cand[c] >> g) & 1)
				: s->chosen[c] == (int)g;
}

/* Pruning: every assigned branch keeps, in every module it is in, at
 * least one link from its chosen field that can still be used. */
static int
locally_ok(struct search *s)
{
	const struct fq_plan_merger *mg = s->p->merger;
	for (size_t m = 0; m < mg->nmodules; m++) {
		if (!considered(s, m))
			continue;
		const struct fq_mmodule *mm = &mg->modules[m];
		for (size_t k = 0; k < mm->nbranches; k++) {
			size_t b = mm->branches[k];
			if (s->chosen[b] < 0)
				continue;
			int ok = 0;
			s->steps += (long)s->ne;
			for (size_t i = 0; i < s->ne && !ok; i++) {
				const struct edge *e = &s->e[i];
				if (e->module != m)
					continue;
				if (e->x == b && s->chosen[b] == (int)e->fx)
					ok = end_open(s, e->y, e->fy);
				else if (e->y == b && s->chosen[b] == (int)e->fy)
					ok = end_open(s, e->x, e->fx);
			}
			if (!ok)
				return 0;
		}
	}
	return 1;
}

static size_t
uf_find(size_t *uf, size_t x)
{
	while (uf[x] != x)
		x = uf[x] = uf[uf[x]];
	return x;
}

/* All assigned: do the chosen links connect every module's branches? */
static int
connected(struct search *s)
{
	const struct fq_plan_merger *mg = s->p->merger;
	for (size_t m = 0; m < mg->nmodules; m++) {
		if (!considered(s, m))
			continue;
		const struct fq_mmodule *mm = &mg->modules[m];
		s->steps += (long)(s->ne + mm->nbranches);
		for (size_t k = 0; k < mm->nbranches; k++)
			s->uf[mm->branches[k]] = mm->branches[k];
		for (size_t i = 0; i < s->ne; i++) {
			const struct edge *e = &s->e[i];
			if (e->module == m && s->chosen[e->x] == (int)e->fx &&
			    s->chosen[e->y] == (int)e->fy)
				s->uf[uf_find(s->uf, e->x)] = uf_find(s->uf, e->y);
		}
		size_t root = uf_find(s->uf, mm->branches[0]);
		for (size_t k = 1; k < mm->nbranches; k++)
			if (uf_find(s->uf, mm->branches[k]) != root)
				return 0;
	}
	return 1;
}

/* Do module m's links, whatever fields are chosen, connect its branches?
 * SIZE_MAX if so, else a branch they leave apart from the first.  Cheap,
 * and it spares the search the modules it could never satisfy (with
 * independent parts, 2^parts choices). */
static size_t
link_graph_apart(struct search *s, size_t m)
{
	const struct fq_mmodule *mm = &s->p->merger->modules[m];
	for (size_t k = 0; k < mm->nbranches; k++)
		s->uf[mm->branches[k]] = mm->branches[k];
	for (size_t i = 0; i < s->ne; i++)
		if (s->e[i].module == m)
			s->uf[uf_find(s->uf, s->e[i].x)] =
				uf_find(s->uf, s->e[i].y);
	size_t root = uf_find(s->uf, mm->branches[0]);
	for (size_t k = 1; k < mm->nbranches; k++)
		if (uf_find(s->uf, mm->branches[k]) != root)
			return mm->branches[k];
	return SIZE_MAX;
}

/* 1 found, 0 none, -1 budget exhausted.  Fields are tried lowest id
 * first, so the choice is deterministic. */
static int
search(struct search *s, size_t depth)
{
	if (++s->steps > PART_BUDGET)
		return -1;
	if (depth == s->norder)
		return connected(s);
	size_t b = s->order[depth];
	for (unsigned f = 0; f < 64; f++) {
		if (!((s->cand[b] >> f) & 1))
			continue;
		s->chosen[b] = (int)f;
		if (locally_ok(s)) {
			int r = search(s, depth + 1);
			if (r != 0)
				return r;
		}
	}
	s->chosen[b] = -1;
	return 0;
}

/* Set up candidates and order for modules `only` (SIZE_MAX: all) and run
 * the search.  1 found (s->chosen set), 0 none, -1 budget; *apart: a
 * branch of a considered module with no candidate, else SIZE_MAX. */
static int
run_search(struct search *s, size_t only, size_t *apart)
{
	const struct fq_plan *p = s->p;
	s->only = only;
	s->norder = 0;
	*apart = SIZE_MAX;
	for (size_t b = 0; b < p->nbranches; b++) {
		s->cand[b] = 0;
		s->chosen[b] = -1;
	}
	for (size_t i = 0; i < s->ne; i++) {
		if (!considered(s, s->e[i].module))
			continue;
		s->cand[s->e[i].x] |= (uint64_t)1 << s->e[i].fx;
		s->cand[s->e[i].y] |= (uint64_t)1 << s->e[i].fy;
	}
	uint8_t *in = calloc(p->nbranches, 1);
	if (in == NULL)
		return -2;
	for (size_t m = 0; m < p->merger->nmodules; m++) {
		if (!considered(s, m))
			continue;
		const struct fq_mmodule *mm = &p->merger->modules[m];
		for (size_t k = 0; k < mm->nbranches; k++) {
			size_t b = mm->branches[k];
			if (s->cand[b] == 0 && *apart == SIZE_MAX)
				*apart = b;
			in[b] = 1;
		}
		if (*apart == SIZE_MAX)
			*apart = link_graph_apart(s, m);
	}
	for (size_t b = 0; b < p->nbranches; b++)
		if (in[b])
			s->order[s->norder++] = b;
	free(in);
	if (*apart != SIZE_MAX)
		return 0;
	return search(s, 0);
}

/* Why the whole search failed: the first module that fails alone, else
 * a conflict between modules. */
static void
explain(struct search *s, struct fq_plan_partition *part, int r)
{
	if (r == -1) {
		part->why = FQ_PART_TOO_BIG;
		return;
	}
	part->why = FQ_PART_CONFLICT;
	for (size_t m = 0; m < s->p->merger->nmodules; m++) {
		if (s->p->merger->modules[m].nbranches < 2)
			continue;
		size_t apart;
		int rm = run_search(s, m, &apart);
		if (rm < 0) {
			part->why = rm == -1 ? FQ_PART_TOO_BIG : FQ_PART_NOMEM;
			return;
		}
		if (rm == 0) {
			part->why = FQ_PART_MODULE;
			part->module = m;
			part->branch = apart;
			return;
		}
	}
}

/* Record the chosen keys and the links they rely on. */
static int
keep_choice(const struct search *s, struct fq_plan_partition *part)
{
	part->links = calloc(s->ne ? s->ne : 1, sizeof(*part->links));
	if (part->links == NULL)
		return -FQ_ENOMEM;
	for (size_t k = 0; k < s->norder; k++) {
		size_t b = s->order[k];
		part->branches[b].key = (uint64_t)1 << s->chosen[b];
	}
	for (size_t i = 0; i < s->ne; i++) {
		const struct edge *e = &s->e[i];
		if (s->p->merger->modules[e->module].nbranches >= 2 &&
		    s->chosen[e->x] == (int)e->fx && s->chosen[e->y] == (int)e->fy)
			part->links[part->nlinks++] =
				(struct fq_part_link){ e->module, e->clause };
	}
	return 0;
}

static int
plan_merger(const struct fq_plan *p, struct fq_plan_partition *part)
{
	const struct fq_plan_merger *mg = p->merger;
	size_t n = 0;
	for (size_t m = 0; m < mg->nmodules; m++)
		n += mg->modules[m].rules.n;
	struct search s = { .p = p };
	struct edge *e = calloc(n ? n : 1, sizeof(*e));
	s.cand = calloc(p->nbranches, sizeof(*s.cand));
	s.chosen = calloc(p->nbranches, sizeof(*s.chosen));
	s.order = calloc(p->nbranches, sizeof(*s.order));
	s.uf = calloc(p->nbranches, sizeof(*s.uf));
	int rc = -FQ_ENOMEM;
	if (e == NULL || s.cand == NULL || s.chosen == NULL || s.order == NULL ||
	    s.uf == NULL)
		goto out;
	for (size_t m = 0; m < mg->nmodules; m++)
		for (size_t c = 0; c < mg->modules[m].rules.n; c++)
			s.ne += usable_edge(p, part, m, c, &e[s.ne]);
	s.e = e;
	size_t apart;
	int r = run_search(&s, SIZE_MAX, &apart);
	if (r == -2)
		goto out;
	rc = 0;
	if (r == 1)
		rc = keep_choice(&s, part);
	else
		explain(&s, part, r);
out:
	free(e);
	free(s.cand);
	free(s.chosen);
	free(s.order);
	free(s.uf);
	return rc;
}

int
fq_plan_partition(const struct fq_plan *p, struct fq_plan_partition *out)
{
	memset(out, 0, sizeof(*out));
	out->branch = SIZE_MAX;
	out->branches = calloc(p->nbranches ? p->nbranches : 1,
			       sizeof(*out->branches));
	if (out->branches == NULL) {
		out->why = FQ_PART_NOMEM;
		return -FQ_ENOMEM;
	}
	out->nbranches = p->nbranches;
	/* A branch outside every linking module keeps all its key fields
	 * (the finer the key, the better the shards balance). */
	for (size_t b = 0; b < p->nbranches; b++) {
		const struct fq_plan_grouper *g = p->branches[b].grouper;
		out->branches[b].grouper = g ? grouper_fields(g) : ~(uint64_t)0;
		out->branches[b].key = g ? out->branches[b].grouper : 0;
		if (g && out->branches[b].grouper == 0 &&
		    out->why == FQ_PART_OK) {
			out->why = FQ_PART_GROUPER;
			out->branch = b;
		}
	}
	if (out->why != FQ_PART_OK || p->merger == NULL)
		return 0;
	int rc = plan_merger(p, out);
	if (rc < 0)
		out->why = FQ_PART_NOMEM;
	return rc;
}

void
fq_plan_partition_fini(struct fq_plan_partition *part)
{
	free(part->branches);
	free(part->links);
	memset(part, 0, sizeof(*part));
}
