/*
 * query.c - one query's stages, wired into a chain (stage.h).
 *
 * Per branch: filter (all branches share one struct pl_filter, so that a
 * term used by several is evaluated once per record) -> grouper -> group
 * filter, then the query's merger, if it has one, and its ungrouper,
 * which hands matches to the run's sinks.  Each stage is given its
 * downstream as a link here; none of them knows who comes next.
 *
 * The record pool is the query's: records that pass some branch are
 * stored once and shared by its groups.  When nothing prints records,
 * only the bytes the grouper rules read are kept (pl.h, struct pl_rec).
 */
#include "pl.h"
#include "fq_error.h"

#include <stdlib.h>
#include <string.h>

/* struct pl_group_link callbacks into the merger: it takes no reference
 * of its own for a group it only probes with. */
static void
merger_link_group(void *to, struct pl_branch *from, struct pl_group *g)
{
	(void)from;
	pl_merger_group(to, g);
	pl_group_unref(g);
}

static void
merger_link_prefetch(void *to, const struct pl_group *g)
{
	pl_merger_prefetch(to, g);
}

/* Bytes of a record the query stores (struct pl_rec_pool.copy). */
static size_t
record_copy(const struct fq_plan *plan, int keep_recs)
{
	/* Records nobody prints are read only by the grouper rules: keep
	 * what those read (a branch without grouper shows its records'
	 * fields, so it keeps them whole). */
	size_t copy = sizeof(struct fq_record);
	if (keep_recs)
		return copy;
	size_t need = 0;
	for (size_t b = 0; b < plan->nbranches; b++) {
		const struct fq_plan_grouper *pg = plan->branches[b].grouper;
		size_t n = pg ? pl_grouper_rec_bytes(pg)
			      : sizeof(struct fq_record);
		if (n > need)
			need = n;
	}
	return need < copy ? need : copy;
}

static int
branches_init(struct pl_query *q, const struct pl_params *p,
	      struct pl_mem *mem)
{
	for (size_t b = 0; b < q->plan->nbranches; b++) {
		struct pl_branch *br = &q->br[b];
		br->pb = &q->plan->branches[b];
		br->index = b;
		br->p = p;
		br->mem = mem;
		br->pool = &q->pool;
		br->keep_recs = q->keep_recs;
		if (pl_grouper_init(br) < 0)
			return -1;
		if (!br->gr.img)
			q->pool_needed = 1;
	}
	return 0;
}

/* grouper -> group filter -> merger or ungrouper, per branch. */
static void
branches_wire(struct pl_query *q)
{
	struct pl_group_link next = { pl_ungrouper_group, NULL, &q->ug };
	if (q->mg)
		next = (struct pl_group_link){ merger_link_group,
					       merger_link_prefetch, q->mg };
	for (size_t b = 0; b < q->plan->nbranches; b++) {
		struct pl_branch *br = &q->br[b];
		pl_gfilter_init(&br->gf, br->pb->groupfilter, next);
		br->out = (struct pl_group_link){ pl_gfilter_group,
						  pl_gfilter_prefetch, &br->gf };
	}
}

/*
 * --early (early.c): between each grouper and its group filter, the
 * early layer, which also watches every group a record joins or starts;
 * the ungrouper asks it which early match a final one settles.
 */
static int
early_wire(struct pl_query *q)
{
	q->early = calloc(1, sizeof *q->early);
	if (q->early == NULL || pl_early_init(q->early, q) < 0)
		return -1;
	for (size_t b = 0; b < q->plan->nbranches; b++) {
		struct pl_branch *br = &q->br[b];
		struct pl_early_link *l = &q->early->links[b];
		l->ea = q->early;
		l->next = br->out;
		br->out = (struct pl_group_link){ pl_early_closed,
						  pl_early_prefetch, l };
		br->watch = (struct pl_group_watch){ pl_early_changed, q->early };
	}
	q->ug.confirm = pl_early_confirm;
	q->ug.confirm_ctx = q->early;
	return 0;
}

int
pl_query_new(struct pl_query **out, const char *name, uint32_t qi,
	     const struct fq_plan *plan, const struct pl_params *p,
	     struct pl_mem *mem, struct pl_cap *cap,
	     struct fq_match_sink *const *sinks, int no_records, int early)
{
	*out = NULL;
	struct pl_query *q = calloc(1, sizeof *q);
	if (q == NULL)
		return -FQ_ENOMEM;
	size_t nb = plan->nbranches;
	q->name = strdup(name);
	q->plan = plan;
	q->pool.mem = mem;
	q->keep_recs = plan->ungrouper != NULL && !no_records;
	q->pool.copy = record_copy(plan, q->keep_recs);
	q->pool.slot = (offsetof(struct pl_rec, r) + q->pool.copy + 15) &
		       ~(size_t)15;
	q->br = calloc(nb ? nb : 1, sizeof *q->br);
	q->ahead_pass = calloc(PL_AHEAD * (nb ? nb : 1), 1);
	q->ahead_hash = calloc(PL_AHEAD * (nb ? nb : 1), sizeof *q->ahead_hash);
	if (q->name == NULL || q->br == NULL || q->ahead_pass == NULL ||
	    q->ahead_hash == NULL)
		goto fail;
	if (branches_init(q, p, mem) < 0)
		goto fail;
	if (pl_ungrouper_init(&q->ug, q->name, qi, plan, p, mem, cap, sinks,
			      q->keep_recs) < 0)
		goto fail;
	if (pl_filter_init(&q->filter, plan) < 0)
		goto fail;
	struct pl_tuple_link to = { pl_ungrouper_tuple, &q->ug };
	if (plan->merger && pl_merger_new(&q->mg, plan, p, mem, q->br, to) < 0)
		goto fail;
	branches_wire(q);
	if (early && early_wire(q) < 0)
		goto fail;
	*out = q;
	return 0;
fail:
	pl_query_free(q);
	return -FQ_ENOMEM;
}

void
pl_query_free(struct pl_query *q)
{
	if (q == NULL)
		return;
	/* The ungrouper's collected matches and the merger first: the groups
	 * they still hold need their branch's grouper (aggregate layout,
	 * counted size) to be freed. */
	pl_ungrouper_fini(&q->ug);
	if (q->early) {
		pl_early_fini(q->early);
		free(q->early);
	}
	pl_merger_free(q->mg);
	if (q->br)
		for (size_t b = 0; b < q->plan->nbranches; b++)
			pl_grouper_fini(&q->br[b]);
	pl_filter_fini(&q->filter);
	pl_rec_pool_fini(&q->pool);
	free(q->br);
	free(q->ahead_pass);
	free(q->ahead_hash);
	free(q->name);
	free(q);
}
