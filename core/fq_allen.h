/*
 * fq_allen.h - the thirteen Allen relations between two time intervals
 * (SPEC section 4), as one table.
 *
 * A merger line `A oi B delta 5s` relates the interval [stime, etime] of
 * a group of branch A to one of branch B.  Everything the front end and
 * the engine need to know about a relation is a column of its row: how
 * it is spelt (short "oi", long "overlapped-by"), its inverse (x r y iff
 * y r' x: the compiler stores every term with its branches in slot
 * order), what a `delta` does to it, and whether it holds for two
 * intervals.  Adding nothing here means the language has no other
 * relation; the enum values are the rows.
 */
#ifndef FQ_ALLEN_H
#define FQ_ALLEN_H

#include <stddef.h>
#include <stdint.h>

/* The relations; bit (1u << rel) in a merger term's set of them.
 * Inverse pairs sit at even/odd positions. */
enum fq_allen_rel {
	FQ_AL_BEFORE, FQ_AL_AFTER, FQ_AL_MEETS, FQ_AL_MET_BY,
	FQ_AL_OVERLAPS, FQ_AL_OVERLAPPED_BY, FQ_AL_STARTS, FQ_AL_STARTED_BY,
	FQ_AL_DURING, FQ_AL_CONTAINS, FQ_AL_FINISHES, FQ_AL_FINISHED_BY,
	FQ_AL_EQUALS,
	FQ_AL_COUNT
};

/* What `delta D` does to a relation (SPEC section 4). */
enum fq_allen_delta {
	FQ_AL_DELTA_GAP,     /* bounds the gap between the intervals (< >);
				without it the relation bounds no time */
	FQ_AL_DELTA_APPROX,  /* widens its approximate endpoints to
				|a - b| <= D (m mi s si f fi =) */
	FQ_AL_DELTA_NONE,    /* ignored (o oi d di) */
};

/*
 * Whether x r y holds for x = [xs, xe], y = [ys, ye] (ms) with tolerance
 * delta; delta = -1 when the term has none: `<`/`>` are then unbounded
 * and the approximate endpoints exact.
 */
typedef int fq_allen_holds_fn(int64_t xs, int64_t xe, int64_t ys,
			      int64_t ye, int64_t delta);

struct fq_allen_def {
	const char *short_name;      /* "oi" */
	const char *long_name;       /* "overlapped-by" */
	enum fq_allen_rel inverse;
	enum fq_allen_delta delta;
	fq_allen_holds_fn *holds;
};

/* The table, indexed by enum fq_allen_rel. */
extern const struct fq_allen_def fq_allen_defs[FQ_AL_COUNT];

/* Short ("oi") and long ("overlapped-by") spelling; "?" if out of range. */
const char *fq_allen_short(enum fq_allen_rel r);
const char *fq_allen_long(enum fq_allen_rel r);
/* The relation r' with x r y <=> y r' x. */
enum fq_allen_rel fq_allen_inverse(enum fq_allen_rel r);

/* fq_allen_defs[r].holds(...); 0 for r out of range. */
int fq_allen_holds(enum fq_allen_rel r, int64_t xs, int64_t xe,
		   int64_t ys, int64_t ye, int64_t delta);

/*
 * 1 if a term r, with or without a delta, bounds y's time from x's (and
 * back): every relation but `<` and `>` without delta.  A merger module
 * whose branches such terms do not connect pairs groups by the window
 * alone.
 */
int fq_allen_bounded(enum fq_allen_rel r, int has_delta);

/*
 * The relation `len` bytes of s spell, short or long ("oi",
 * "overlapped-by"; case-sensitive): 1 and *out set, or 0.
 */
int fq_allen_lookup(const char *s, size_t len, enum fq_allen_rel *out);

#endif
