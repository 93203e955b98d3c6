/*
 * streamtime.c - the exporter table behind stream time (streamtime.h).
 *
 * Exporters are found through a small open-addressing index, and T is
 * recomputed over all of them only when it can change: when the exporter
 * that holds it back moves forward, when an exporter appears or comes back
 * from idleness, or when arrival time passes the moment the next exporter
 * turns idle.  So a record costs O(1) however many exporters there are.
 * The table is capped: when it is full, idle exporters are forgotten;
 * records of exporters that still do not fit are counted as `untracked`
 * and do not hold T back.
 */
#include "streamtime.h"
#include "pl.h"

#include <stdlib.h>
#include <string.h>

#define MAX_EXPORTERS 65536

void
pl_clock_init(struct pl_clock *c, int64_t lateness, int64_t exporter_idle,
	      int64_t skew)
{
	memset(c, 0, sizeof *c);
	c->T = INT64_MIN;
	c->lateness = lateness;
	c->exporter_idle = exporter_idle;
	c->skew = skew;
	c->now = INT64_MIN;
	c->min_x = SIZE_MAX;
	c->last_x = SIZE_MAX;
	c->recheck_at = FQ_TIME_INF;
}

void
pl_clock_fini(struct pl_clock *c)
{
	free(c->exps);
	free(c->xidx);
	c->exps = NULL;
	c->xidx = NULL;
}

static uint64_t
exp_hash(const struct fq_ip *a, uint32_t domain)
{
	return pl_mix(pl_mix(a->hi, a->lo ^ ((uint64_t)a->is6 << 63)), domain);
}

/* Put every exporter into an index of at least 2 * capexps slots. */
static void
exp_index_all(struct pl_clock *c)
{
	for (size_t i = 0; i < c->nexps; i++) {
		size_t h = exp_hash(&c->exps[i].addr, c->exps[i].domain) &
			   (c->nxidx - 1);
		while (c->xidx[h])
			h = (h + 1) & (c->nxidx - 1);
		c->xidx[h] = (uint32_t)i + 1;
	}
}

static int
exp_reindex(struct pl_clock *c)
{
	size_t n = 16;
	while (n <= 2 * c->capexps)
		n *= 2;
	uint32_t *ix = calloc(n, sizeof *ix);
	if (ix == NULL)
		return -1;
	free(c->xidx);
	c->xidx = ix;
	c->nxidx = n;
	exp_index_all(c);
	return 0;
}

/* Forget idle exporters (table full); returns how many went. */
static size_t
exp_evict_idle(struct pl_clock *c)
{
	size_t w = 0;
	for (size_t i = 0; i < c->nexps; i++)
		if (!pl_clock_idle(c, &c->exps[i]))
			c->exps[w++] = c->exps[i];
	size_t gone = c->nexps - w;
	c->nexps = w;
	c->min_x = SIZE_MAX;
	if (gone) {
		/* Rebuild in place: the table only shrank, no allocation. */
		memset(c->xidx, 0, c->nxidx * sizeof *c->xidx);
		exp_index_all(c);
	}
	return gone;
}

/* The entry of r's exporter, if it has one. */
static struct pl_exp *
exp_find(struct pl_clock *c, const struct fq_record *r);

const struct pl_exp *
pl_clock_find(struct pl_clock *c, const struct fq_record *r)
{
	return exp_find(c, r);
}

static struct pl_exp *
exp_find(struct pl_clock *c, const struct fq_record *r)
{
	/*
	 * Records come in runs from one exporter (a datagram, a file), so
	 * the previous record's exporter is tried before the hash: a
	 * measurable share of a filter-only query's time otherwise.
	 */
	if (c->last_x < c->nexps) {
		struct pl_exp *x = &c->exps[c->last_x];
		if (x->domain == r->domain && fq_ip_eq(&x->addr, &r->exporter))
			return x;
	}
	if (c->nxidx == 0)
		return NULL;
	size_t h = exp_hash(&r->exporter, r->domain) & (c->nxidx - 1);
	for (; c->xidx[h]; h = (h + 1) & (c->nxidx - 1)) {
		struct pl_exp *x = &c->exps[c->xidx[h] - 1];
		if (x->domain == r->domain && fq_ip_eq(&x->addr, &r->exporter)) {
			c->last_x = c->xidx[h] - 1;
			return x;
		}
	}
	return NULL;
}

/* The exporter of r; *fresh = 1 if it was just added.  NULL: untracked. */
static struct pl_exp *
exporter_of(struct pl_clock *c, const struct fq_record *r, int *fresh)
{
	*fresh = 0;
	struct pl_exp *x = exp_find(c, r);
	if (x)
		return x;
	if (c->nexps == MAX_EXPORTERS && exp_evict_idle(c) == 0)
		return NULL;
	if (c->nexps == c->capexps) {
		size_t cap = c->capexps ? c->capexps * 2 : 8;
		struct pl_exp *v = realloc(c->exps, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		c->exps = v;
		c->capexps = cap;
	}
	x = &c->exps[c->nexps++];
	x->addr = r->exporter;
	x->domain = r->domain;
	x->max_etime = INT64_MIN;
	x->last_arrival = r->arrival ? r->arrival : r->etime;
	if (2 * c->capexps >= c->nxidx) {
		if (exp_reindex(c) < 0) {
			c->nexps--;
			return NULL;
		}
	} else {
		size_t h = exp_hash(&x->addr, x->domain) & (c->nxidx - 1);
		while (c->xidx[h])
			h = (h + 1) & (c->nxidx - 1);
		c->xidx[h] = (uint32_t)c->nexps;
	}
	*fresh = 1;
	c->last_x = c->nexps - 1;
	return x;
}

/* Recompute T from all active exporters; returns 1 if it moved forward. */
static int
update_T(struct pl_clock *c)
{
	int64_t m = FQ_TIME_INF;
	c->min_x = SIZE_MAX;
	c->recheck_at = FQ_TIME_INF;
	for (size_t i = 0; i < c->nexps; i++) {
		struct pl_exp *x = &c->exps[i];
		if (x->max_etime == INT64_MIN || pl_clock_idle(c, x) ||
		    pl_clock_stuck(c, x))
			continue;   /* idle or stuck: stops holding T back */
		int64_t idle_at = c->exporter_idle == FQ_TIME_INF ? FQ_TIME_INF
				  : x->last_arrival + c->exporter_idle + 1;
		if (idle_at < c->recheck_at)
			c->recheck_at = idle_at;
		if (x->max_etime < m) {
			m = x->max_etime;
			c->min_x = i;
		}
	}
	if (c->min_x == SIZE_MAX)
		return 0;
	int64_t T = c->lateness == FQ_TIME_INF ? INT64_MIN : m - c->lateness;
	if (T > c->T) {
		c->T = T;
		return 1;
	}
	return 0;
}

int
pl_clock_track_slow(struct pl_clock *c, const struct fq_record *r,
		    int64_t now, int future)
{
	int fresh;
	struct pl_exp *x = exporter_of(c, r, &fresh);
	if (x == NULL) {
		c->untracked++;
		return 0;
	}
	/* Decide before updating x whether T may change. */
	int recompute = fresh || pl_clock_idle(c, x) || c->now >= c->recheck_at;
	int stuck = pl_clock_stuck(c, x);
	if (now > x->last_arrival)
		x->last_arrival = now;
	if (!future && r->etime > x->max_etime) {
		x->max_etime = r->etime;
		if (c->min_x == SIZE_MAX || x == &c->exps[c->min_x])
			recompute = 1;
	}
	/* It got stuck in the past, or came back from it. */
	if (stuck != pl_clock_stuck(c, x))
		recompute = 1;
	return recompute && update_T(c);
}
