/*
 * fq_allen.c - the Allen relation table (fq_allen.h).
 *
 * Each `holds` is one line of SPEC section 4's table, written as the
 * table reads, so that the code can be checked against it by eye; an
 * inverse relation is its partner with the intervals swapped, as the
 * table defines it (`x > y` iff `y < x`), except where the direct form is
 * as short and saves a call.  The engine calls these per candidate pair
 * of groups.
 */
#include "fq_allen.h"

#include <string.h>

/* a ~ b: |a - b| <= delta, exact without delta (delta < 0). */
static int
approx(int64_t a, int64_t b, int64_t delta)
{
	int64_t d = a > b ? a - b : b - a;
	return d <= (delta < 0 ? 0 : delta);
}

/* x < y: x.etime < y.stime, and with delta y.stime - x.etime <= delta. */
static int
before(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	(void)xs;
	(void)ye;
	return xe < ys && (delta < 0 || ys - xe <= delta);
}

static int
after(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return before(ys, ye, xs, xe, delta);
}

/* x m y: x.etime ~ y.stime */
static int
meets(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	(void)xs;
	(void)ye;
	return approx(xe, ys, delta);
}

static int
met_by(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return meets(ys, ye, xs, xe, delta);
}

/* x o y: x.stime < y.stime < x.etime < y.etime (no delta) */
static int
overlaps(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	(void)delta;
	return xs < ys && ys < xe && xe < ye;
}

static int
overlapped_by(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return overlaps(ys, ye, xs, xe, delta);
}

/* x s y: x.stime ~ y.stime and x.etime < y.etime */
static int
starts(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return approx(xs, ys, delta) && xe < ye;
}

static int
started_by(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return starts(ys, ye, xs, xe, delta);
}

/* x d y: y.stime < x.stime and x.etime < y.etime (no delta) */
static int
during(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	(void)delta;
	return ys < xs && xe < ye;
}

static int
contains(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return during(ys, ye, xs, xe, delta);
}

/* x f y: x.etime ~ y.etime and x.stime > y.stime */
static int
finishes(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return approx(xe, ye, delta) && xs > ys;
}

static int
finished_by(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return finishes(ys, ye, xs, xe, delta);
}

/* x = y: x.stime ~ y.stime and x.etime ~ y.etime */
static int
equals(int64_t xs, int64_t xe, int64_t ys, int64_t ye, int64_t delta)
{
	return approx(xs, ys, delta) && approx(xe, ye, delta);
}

const struct fq_allen_def fq_allen_defs[FQ_AL_COUNT] = {
	[FQ_AL_BEFORE] = { "<", "before", FQ_AL_AFTER,
			   FQ_AL_DELTA_GAP, before },
	[FQ_AL_AFTER] = { ">", "after", FQ_AL_BEFORE,
			  FQ_AL_DELTA_GAP, after },
	[FQ_AL_MEETS] = { "m", "meets", FQ_AL_MET_BY,
			  FQ_AL_DELTA_APPROX, meets },
	[FQ_AL_MET_BY] = { "mi", "met-by", FQ_AL_MEETS,
			   FQ_AL_DELTA_APPROX, met_by },
	[FQ_AL_OVERLAPS] = { "o", "overlaps", FQ_AL_OVERLAPPED_BY,
			     FQ_AL_DELTA_NONE, overlaps },
	[FQ_AL_OVERLAPPED_BY] = { "oi", "overlapped-by", FQ_AL_OVERLAPS,
				  FQ_AL_DELTA_NONE, overlapped_by },
	[FQ_AL_STARTS] = { "s", "starts", FQ_AL_STARTED_BY,
			   FQ_AL_DELTA_APPROX, starts },
	[FQ_AL_STARTED_BY] = { "si", "started-by", FQ_AL_STARTS,
			       FQ_AL_DELTA_APPROX, started_by },
	[FQ_AL_DURING] = { "d", "during", FQ_AL_CONTAINS,
			   FQ_AL_DELTA_NONE, during },
	[FQ_AL_CONTAINS] = { "di", "contains", FQ_AL_DURING,
			     FQ_AL_DELTA_NONE, contains },
	[FQ_AL_FINISHES] = { "f", "finishes", FQ_AL_FINISHED_BY,
			     FQ_AL_DELTA_APPROX, finishes },
	[FQ_AL_FINISHED_BY] = { "fi", "finished-by", FQ_AL_FINISHES,
				FQ_AL_DELTA_APPROX, finished_by },
	[FQ_AL_EQUALS] = { "=", "equals", FQ_AL_EQUALS,
			   FQ_AL_DELTA_APPROX, equals },
};

const char *
fq_allen_short(enum fq_allen_rel r)
{
	return (unsigned)r < FQ_AL_COUNT ? fq_allen_defs[r].short_name : "?";
}

const char *
fq_allen_long(enum fq_allen_rel r)
{
	return (unsigned)r < FQ_AL_COUNT ? fq_allen_defs[r].long_name : "?";
}

enum fq_allen_rel
fq_allen_inverse(enum fq_allen_rel r)
{
	return (unsigned)r < FQ_AL_COUNT ? fq_allen_defs[r].inverse : r;
}

int
fq_allen_holds(enum fq_allen_rel r, int64_t xs, int64_t xe, int64_t ys,
	       int64_t ye, int64_t delta)
{
	if ((unsigned)r >= FQ_AL_COUNT)
		return 0;
	return fq_allen_defs[r].holds(xs, xe, ys, ye, delta);
}

int
fq_allen_bounded(enum fq_allen_rel r, int has_delta)
{
	return fq_allen_defs[r].delta != FQ_AL_DELTA_GAP || has_delta;
}

int
fq_allen_lookup(const char *s, size_t len, enum fq_allen_rel *out)
{
	for (int r = 0; r < FQ_AL_COUNT; r++) {
		const struct fq_allen_def *d = &fq_allen_defs[r];
		if ((strlen(d->short_name) == len &&
		     memcmp(d->short_name, s, len) == 0) ||
		    (strlen(d->long_name) == len &&
		     memcmp(d->long_name, s, len) == 0)) {
			*out = (enum fq_allen_rel)r;
			return 1;
		}
	}
	return 0;
}
