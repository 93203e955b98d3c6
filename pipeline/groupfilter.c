/*
 * groupfilter.c - the group filter of a branch (SPEC section 4): closed
 * groups in, the groups that pass out, to the merger or the ungrouper.
 *
 * A group passes when every line of the branch's group filter holds on
 * its values (aggregates, stime, etime, duration, records; for a branch
 * without grouper, the record's fields); a branch without group filter
 * passes every group.
 *
 * It is also where a passing group lets its records go when no record
 * is printed: nothing downstream reads the records of a closed group of
 * a grouper then (its values are its aggregates), so it keeps their
 * rec_ids, in the same array, and the records return to the pool.  In
 * the merger store a group then costs its aggregates alone, and the
 * store holds groups for minutes.
 */
#include "pl.h"

void
pl_gfilter_init(struct pl_gfilter *gf, const struct fq_cnf *cnf,
		struct pl_group_link out)
{
	gf->cnf = cnf;
	gf->out = out;
}

/* Keep g's rec_ids instead of its records. */
static void
let_records_go(struct pl_branch *b, struct pl_group *g)
{
	for (uint32_t i = 0; i < g->n; i++) {
		struct pl_rec *r = g->recs[i];
		uint64_t id = r->r.rec_id;
		pl_rec_unref(b->pool, r);
		g->ids[i] = id;
	}
	g->has_ids = 1;
}

void
pl_gfilter_group(void *to, struct pl_branch *from, struct pl_group *g)
{
	struct pl_gfilter *gf = to;
	if (gf->cnf) {
		struct pl_group *slot[1] = { g };
		if (!pl_cnf_group(gf->cnf, slot)) {
			pl_group_unref(g);
			return;
		}
	}
	from->c.gfilter_out++;
	if (!from->keep_recs && from->gr.pg && !g->has_ids)
		let_records_go(from, g);
	gf->out.group(gf->out.to, from, g);
}

void
pl_gfilter_prefetch(void *to, const struct pl_group *g)
{
	struct pl_gfilter *gf = to;
	if (gf->out.prefetch)
		gf->out.prefetch(gf->out.to, g);
}
