/*
 * streamtime.h - stream time T (SPEC section 5): the clock every query of
 * a run shares.
 *
 * T = min over active exporters of (largest etime seen from it) - L.  An
 * exporter silent for --exporter-idle (arrival time) stops holding T back;
 * a record whose etime lies more than --max-skew past its arrival is
 * "future" and does not move T; T never decreases.  Likewise an exporter
 * whose largest etime lies more than --max-skew behind its own latest
 * arrival (a clock stuck in the past) stops holding T back while it
 * does, and its records are "past": counted, and processed as late.  So
 * no single exporter can stop stream time for the others.  With --batch
 * T stays at INT64_MIN until the end of input.
 *
 * The clock keeps one entry per exporter (address and observation
 * domain) with its largest etime and last arrival.  pl_clock_track() is
 * called for every record, so its common case -- the previous record's
 * exporter, T not moving -- is decided inline here, before any lookup.
 */
#ifndef FQ_PL_STREAMTIME_H
#define FQ_PL_STREAMTIME_H

#include <stddef.h>
#include <stdint.h>

#include "fq_record.h"
#include "stage.h"

/* One exporter as the clock sees it. */
struct pl_exp {
	struct fq_ip addr;
	uint32_t domain;
	int64_t max_etime;         /* INT64_MIN until a non-future record */
	int64_t last_arrival;
};

struct pl_clock {
	int64_t T;                 /* stream time: INT64_MIN at the start,
				      FQ_TIME_INF at the end of input */
	int64_t lateness;          /* L (FQ_TIME_INF in --batch) */
	int64_t exporter_idle;     /* ms of arrival time, or FQ_TIME_INF */
	int64_t skew;              /* --max-skew, ms, or FQ_TIME_INF */
	struct pl_exp *exps;       /* owned, dense */
	size_t nexps, capexps;
	uint32_t *xidx;            /* owned: open-addressing index, slot+1 */
	size_t nxidx;              /* power of two, > 2 * capexps */
	size_t min_x;              /* exporter holding T back, or SIZE_MAX */
	size_t last_x;             /* exporter of the previous record (a
				      hint: checked before use), or SIZE_MAX */
	int64_t now;               /* largest arrival time seen */
	int64_t recheck_at;        /* an exporter turns idle at this arrival */
	uint64_t untracked;        /* records of exporters the full table
				      could not take: they hold T back not */
};

void pl_clock_init(struct pl_clock *c, int64_t lateness, int64_t exporter_idle,
		   int64_t skew);
void pl_clock_fini(struct pl_clock *c);

/* 1 if exporter x has been silent for longer than --exporter-idle. */
static inline int
pl_clock_idle(const struct pl_clock *c, const struct pl_exp *x)
{
	return c->exporter_idle != FQ_TIME_INF &&
	       c->now - x->last_arrival > c->exporter_idle;
}

/* 1 if x's largest etime lies more than --max-skew behind its latest
 * arrival: it does not hold T back. */
static inline int
pl_clock_stuck(const struct pl_clock *c, const struct pl_exp *x)
{
	return c->skew != FQ_TIME_INF && x->max_etime != INT64_MIN &&
	       x->last_arrival - x->max_etime > c->skew;
}

/* The exporter of r if the clock has one for it (no entry is made). */
const struct pl_exp *pl_clock_find(struct pl_clock *c,
				   const struct fq_record *r);

/*
 * Whether record r, arriving at `now`, is "past": its etime and its
 * exporter's largest etime both lie more than --max-skew before now.
 * Decided before the record is tracked, as lateness is.
 */
static inline int
pl_clock_past(struct pl_clock *c, const struct fq_record *r, int64_t now)
{
	if (c->skew == FQ_TIME_INF || now - r->etime <= c->skew)
		return 0;
	const struct pl_exp *x = pl_clock_find(c, r);
	return x == NULL || x->max_etime == INT64_MIN ||
	       now - x->max_etime > c->skew;
}

/* The general case of pl_clock_track(); returns 1 if T moved. */
int pl_clock_track_slow(struct pl_clock *c, const struct fq_record *r,
			int64_t now, int future);

/*
 * Record r arrived at `now` (c->now is already now or later); `future`:
 * its etime is past the skew guard.  Returns 1 if T moved forward, and
 * the caller then closes what T allows.
 */
static inline int
pl_clock_track(struct pl_clock *c, const struct fq_record *r, int64_t now,
	       int future)
{
	if (c->last_x < c->nexps) {
		struct pl_exp *x = &c->exps[c->last_x];
		/* The same as the slow path when x is r's exporter, T cannot
		 * move (x is not the one holding it back, or its max_etime
		 * stays) and nothing is due to be rechecked. */
		/* While another exporter holds T back, x changes nothing
		 * (stuck in the past or not: T is recomputed over all
		 * when the holder moves).  The holder, or any exporter
		 * when none holds T, may move it: with a later etime, or
		 * by getting stuck in the past itself. */
		int other = c->min_x != SIZE_MAX && x != &c->exps[c->min_x];
		if (x->domain == r->domain && fq_ip_eq(&x->addr, &r->exporter) &&
		    c->now < c->recheck_at &&
		    (other || ((future || r->etime <= x->max_etime) &&
			       (x->max_etime == INT64_MIN ||
				now - x->max_etime <= c->skew))) &&
		    !pl_clock_idle(c, x)) {
			if (now > x->last_arrival)
				x->last_arrival = now;
			if (!future && r->etime > x->max_etime)
				x->max_etime = r->etime;
			return 0;
		}
	}
	return pl_clock_track_slow(c, r, now, future);
}

#endif
