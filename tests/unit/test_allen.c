/*
 * test_allen.c - unit tests of the Allen relation table (core/fq_allen.h)
 * at the exact bounds of SPEC section 4's table.
 *
 * The expected truth values are derived by hand from the table, one
 * line per relation (quoted above each case), with x = [100, 200]
 * throughout and y moved one millisecond either side of each bound;
 * nothing is computed by the code under test in another form.  "no
 * delta" is delta = -1 (fq_allen_holds' convention).
 *
 * Usage: test-allen CASE   (allen:CASE in meson)
 */
#include "fq_allen.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NONE (-1)

/* One expectation: x = [100, 200], y = [ys, ye], delta d. */
struct row {
	int64_t ys, ye, d;
	int holds;
	const char *why;
};

static void
check_rows(enum fq_allen_rel r, const struct row *rows, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		int got = fq_allen_holds(r, 100, 200, rows[k].ys, rows[k].ye,
					 rows[k].d);
		CHECK(got == rows[k].holds,
		      "[100,200] %s [%lld,%lld] delta %lld: %s", fq_allen_short(r),
		      (long long)rows[k].ys, (long long)rows[k].ye,
		      (long long)rows[k].d, rows[k].why);
	}
}

/* x < y: x.etime < y.stime, and with delta y.stime - x.etime <= delta */
static void
test_before(void)
{
	static const struct row rows[] = {
		{ 201, 300, NONE, 1, "y starts 1 ms after x ends" },
		{ 200, 300, NONE, 0, "y starts as x ends: not strictly after" },
		{ 150, 300, NONE, 0, "y starts inside x" },
		{ 1000000000, 1000000001, NONE, 1, "no delta: any gap" },
		{ 250, 300, 50, 1, "gap 50 = delta" },
		{ 251, 300, 50, 0, "gap 51 = delta + 1" },
		{ 201, 300, 50, 1, "gap 1" },
		{ 200, 300, 50, 0, "gap 0: still strict with a delta" },
		{ 201, 300, 0, 0, "delta 0: gap 1 > 0, and gap 0 is not <" },
	};
	check_rows(FQ_AL_BEFORE, rows, N(rows));
}

/* x > y: y < x, i.e. y.etime < x.stime, gap x.stime - y.etime <= delta */
static void
test_after(void)
{
	static const struct row rows[] = {
		{ 0, 99, NONE, 1, "y ends 1 ms before x starts" },
		{ 0, 100, NONE, 0, "y ends as x starts" },
		{ -1000000000, -999999999, NONE, 1, "no delta: any gap" },
		{ 0, 50, 50, 1, "gap 50 = delta" },
		{ 0, 49, 50, 0, "gap 51" },
		{ 0, 100, 50, 0, "gap 0" },
	};
	check_rows(FQ_AL_AFTER, rows, N(rows));
}

/* x m y: x.etime ~ y.stime (|x.etime - y.stime| <= delta; exact without) */
static void
test_meets(void)
{
	static const struct row rows[] = {
		{ 200, 300, NONE, 1, "y starts as x ends" },
		{ 201, 300, NONE, 0, "1 ms later, no delta" },
		{ 199, 300, NONE, 0, "1 ms earlier, no delta" },
		{ 200, 300, 0, 1, "delta 0 is exact" },
		{ 201, 300, 0, 0, "delta 0 is exact (later)" },
		{ 210, 300, 10, 1, "|200 - 210| = delta" },
		{ 211, 300, 10, 0, "|200 - 211| = delta + 1" },
		{ 190, 300, 10, 1, "|200 - 190| = delta" },
		{ 189, 300, 10, 0, "|200 - 189| = delta + 1" },
	};
	check_rows(FQ_AL_MEETS, rows, N(rows));
}

/* x mi y: y m x, i.e. y.etime ~ x.stime */
static void
test_met_by(void)
{
	static const struct row rows[] = {
		{ 0, 100, NONE, 1, "y ends as x starts" },
		{ 0, 101, NONE, 0, "1 ms later" },
		{ 0, 99, NONE, 0, "1 ms earlier" },
		{ 0, 110, 10, 1, "|110 - 100| = delta" },
		{ 0, 111, 10, 0, "delta + 1" },
		{ 0, 90, 10, 1, "|90 - 100| = delta" },
		{ 0, 89, 10, 0, "delta + 1" },
	};
	check_rows(FQ_AL_MET_BY, rows, N(rows));
}

/* x o y: x.stime < y.stime < x.etime < y.etime; ignores delta */
static void
test_overlaps(void)
{
	static const struct row rows[] = {
		{ 101, 201, NONE, 1, "each inequality by 1 ms" },
		{ 199, 300, NONE, 1, "y starts just before x ends" },
		{ 100, 201, NONE, 0, "same start" },
		{ 200, 201, NONE, 0, "y starts as x ends" },
		{ 101, 200, NONE, 0, "same end" },
		{ 101, 201, 1000, 1, "a delta changes nothing (holds)" },
		{ 100, 201, 1000, 0, "a delta does not widen the start" },
		{ 101, 200, 1000, 0, "nor the end" },
		{ 200, 300, 1000, 0, "nor y.stime < x.etime" },
	};
	check_rows(FQ_AL_OVERLAPS, rows, N(rows));
}

/* x oi y: y o x, i.e. y.stime < x.stime < y.etime < x.etime */
static void
test_overlapped_by(void)
{
	static const struct row rows[] = {
		{ 99, 199, NONE, 1, "each inequality by 1 ms" },
		{ 100, 199, NONE, 0, "same start" },
		{ 99, 100, NONE, 0, "y ends as x starts" },
		{ 99, 200, NONE, 0, "same end" },
		{ 100, 199, 1000, 0, "delta ignored" },
		{ 99, 200, 1000, 0, "delta ignored (end)" },
	};
	check_rows(FQ_AL_OVERLAPPED_BY, rows, N(rows));
}

/* x s y: x.stime ~ y.stime and x.etime < y.etime */
static void
test_starts(void)
{
	static const struct row rows[] = {
		{ 100, 201, NONE, 1, "same start, y ends later" },
		{ 100, 200, NONE, 0, "same end" },
		{ 101, 201, NONE, 0, "start 1 ms apart, no delta" },
		{ 99, 201, NONE, 0, "start 1 ms apart, no delta" },
		{ 105, 201, 5, 1, "start |100 - 105| = delta" },
		{ 106, 201, 5, 0, "delta + 1" },
		{ 95, 201, 5, 1, "start |100 - 95| = delta" },
		{ 94, 201, 5, 0, "delta + 1" },
		{ 100, 200, 5, 0, "the end stays strict" },
	};
	check_rows(FQ_AL_STARTS, rows, N(rows));
}

/* x si y: y s x, i.e. y.stime ~ x.stime and y.etime < x.etime */
static void
test_started_by(void)
{
	static const struct row rows[] = {
		{ 100, 199, NONE, 1, "same start, y ends earlier" },
		{ 100, 200, NONE, 0, "same end" },
		{ 101, 199, NONE, 0, "start 1 ms apart" },
		{ 105, 199, 5, 1, "start delta apart" },
		{ 106, 199, 5, 0, "delta + 1" },
		{ 95, 199, 5, 1, "start delta apart (earlier)" },
		{ 94, 199, 5, 0, "delta + 1 (earlier)" },
		{ 100, 200, 5, 0, "the end stays strict" },
	};
	check_rows(FQ_AL_STARTED_BY, rows, N(rows));
}

/* x d y: y.stime < x.stime and x.etime < y.etime; ignores delta */
static void
test_during(void)
{
	static const struct row rows[] = {
		{ 99, 201, NONE, 1, "y around x by 1 ms" },
		{ 100, 201, NONE, 0, "same start" },
		{ 99, 200, NONE, 0, "same end" },
		{ 100, 201, 1000, 0, "delta ignored (start)" },
		{ 99, 200, 1000, 0, "delta ignored (end)" },
		{ 99, 201, 1000, 1, "delta ignored (holds)" },
	};
	check_rows(FQ_AL_DURING, rows, N(rows));
}

/* x di y: y d x, i.e. x.stime < y.stime and y.etime < x.etime */
static void
test_contains(void)
{
	static const struct row rows[] = {
		{ 101, 199, NONE, 1, "x around y by 1 ms" },
		{ 100, 199, NONE, 0, "same start" },
		{ 101, 200, NONE, 0, "same end" },
		{ 100, 199, 1000, 0, "delta ignored (start)" },
		{ 101, 200, 1000, 0, "delta ignored (end)" },
	};
	check_rows(FQ_AL_CONTAINS, rows, N(rows));
}

/* x f y: x.etime ~ y.etime and x.stime > y.stime */
static void
test_finishes(void)
{
	static const struct row rows[] = {
		{ 99, 200, NONE, 1, "same end, y starts earlier" },
		{ 100, 200, NONE, 0, "same start" },
		{ 99, 201, NONE, 0, "end 1 ms apart" },
		{ 99, 199, NONE, 0, "end 1 ms apart (earlier)" },
		{ 99, 205, 5, 1, "end |200 - 205| = delta" },
		{ 99, 206, 5, 0, "delta + 1" },
		{ 99, 195, 5, 1, "end |200 - 195| = delta" },
		{ 99, 194, 5, 0, "delta + 1" },
		{ 100, 200, 5, 0, "the start stays strict" },
	};
	check_rows(FQ_AL_FINISHES, rows, N(rows));
}

/* x fi y: y f x, i.e. y.etime ~ x.etime and y.stime > x.stime */
static void
test_finished_by(void)
{
	static const struct row rows[] = {
		{ 101, 200, NONE, 1, "same end, y starts later" },
		{ 100, 200, NONE, 0, "same start" },
		{ 101, 201, NONE, 0, "end 1 ms apart" },
		{ 101, 205, 5, 1, "end delta apart" },
		{ 101, 206, 5, 0, "delta + 1" },
		{ 101, 195, 5, 1, "end delta apart (earlier)" },
		{ 101, 194, 5, 0, "delta + 1 (earlier)" },
		{ 100, 200, 5, 0, "the start stays strict" },
	};
	check_rows(FQ_AL_FINISHED_BY, rows, N(rows));
}

/* x = y: x.stime ~ y.stime and x.etime ~ y.etime */
static void
test_equals(void)
{
	static const struct row rows[] = {
		{ 100, 200, NONE, 1, "identical" },
		{ 101, 200, NONE, 0, "start 1 ms apart" },
		{ 100, 201, NONE, 0, "end 1 ms apart" },
		{ 100, 200, 0, 1, "delta 0: identical" },
		{ 105, 195, 5, 1, "both ends delta apart" },
		{ 95, 205, 5, 1, "both ends delta apart (outside)" },
		{ 106, 200, 5, 0, "start delta + 1 apart" },
		{ 94, 200, 5, 0, "start delta + 1 apart (earlier)" },
		{ 100, 206, 5, 0, "end delta + 1 apart" },
		{ 100, 194, 5, 0, "end delta + 1 apart (earlier)" },
	};
	check_rows(FQ_AL_EQUALS, rows, N(rows));
}

/* ---- the other columns ------------------------------------------------ */

static const struct {
	enum fq_allen_rel r;
	const char *s, *l;
	enum fq_allen_rel inv;
	enum fq_allen_delta delta;
} spec[] = {
	{ FQ_AL_BEFORE, "<", "before", FQ_AL_AFTER, FQ_AL_DELTA_GAP },
	{ FQ_AL_AFTER, ">", "after", FQ_AL_BEFORE, FQ_AL_DELTA_GAP },
	{ FQ_AL_MEETS, "m", "meets", FQ_AL_MET_BY, FQ_AL_DELTA_APPROX },
	{ FQ_AL_MET_BY, "mi", "met-by", FQ_AL_MEETS, FQ_AL_DELTA_APPROX },
	{ FQ_AL_OVERLAPS, "o", "overlaps", FQ_AL_OVERLAPPED_BY,
	  FQ_AL_DELTA_NONE },
	{ FQ_AL_OVERLAPPED_BY, "oi", "overlapped-by", FQ_AL_OVERLAPS,
	  FQ_AL_DELTA_NONE },
	{ FQ_AL_STARTS, "s", "starts", FQ_AL_STARTED_BY, FQ_AL_DELTA_APPROX },
	{ FQ_AL_STARTED_BY, "si", "started-by", FQ_AL_STARTS,
	  FQ_AL_DELTA_APPROX },
	{ FQ_AL_DURING, "d", "during", FQ_AL_CONTAINS, FQ_AL_DELTA_NONE },
	{ FQ_AL_CONTAINS, "di", "contains", FQ_AL_DURING, FQ_AL_DELTA_NONE },
	{ FQ_AL_FINISHES, "f", "finishes", FQ_AL_FINISHED_BY,
	  FQ_AL_DELTA_APPROX },
	{ FQ_AL_FINISHED_BY, "fi", "finished-by", FQ_AL_FINISHES,
	  FQ_AL_DELTA_APPROX },
	{ FQ_AL_EQUALS, "=", "equals", FQ_AL_EQUALS, FQ_AL_DELTA_APPROX },
};

/* Spellings, inverses, delta kinds, bounded, lookup (SPEC section 3). */
static void
test_table(void)
{
	CHECK(N(spec) == FQ_AL_COUNT, "13 relations");
	/* the values the pipeline was compiled against */
	CHECK(FQ_AL_BEFORE == 0 && FQ_AL_MET_BY == 3 && FQ_AL_DURING == 8 &&
	      FQ_AL_EQUALS == 12 && FQ_AL_COUNT == 13, "enum values");
	for (size_t k = 0; k < N(spec); k++) {
		enum fq_allen_rel r = spec[k].r, got = FQ_AL_COUNT;
		CHECK(strcmp(fq_allen_short(r), spec[k].s) == 0, "short %s",
		      spec[k].s);
		CHECK(strcmp(fq_allen_long(r), spec[k].l) == 0, "long %s",
		      spec[k].l);
		CHECK(fq_allen_inverse(r) == spec[k].inv, "inverse of %s",
		      spec[k].s);
		CHECK(fq_allen_defs[r].delta == spec[k].delta, "delta of %s",
		      spec[k].s);
		CHECK(fq_allen_lookup(spec[k].s, strlen(spec[k].s), &got) &&
		      got == r, "lookup %s", spec[k].s);
		got = FQ_AL_COUNT;
		CHECK(fq_allen_lookup(spec[k].l, strlen(spec[k].l), &got) &&
		      got == r, "lookup %s", spec[k].l);
		/* bounded: all but < and > without a delta */
		int gap = r == FQ_AL_BEFORE || r == FQ_AL_AFTER;
		CHECK(fq_allen_bounded(r, 0) == !gap, "bounded %s", spec[k].s);
		CHECK(fq_allen_bounded(r, 1) == 1, "bounded %s delta", spec[k].s);
	}
	enum fq_allen_rel got;
	CHECK(!fq_allen_lookup("M", 1, &got), "case-sensitive");
	CHECK(!fq_allen_lookup("meet", 4, &got), "no prefixes");
	CHECK(!fq_allen_lookup("before-", 7, &got), "no extensions");
	CHECK(fq_allen_lookup("oix", 2, &got) && got == FQ_AL_OVERLAPPED_BY,
	      "length-bounded");
	CHECK(strcmp(fq_allen_short(FQ_AL_COUNT), "?") == 0, "out of range");
	CHECK(!fq_allen_holds(FQ_AL_COUNT, 0, 1, 0, 1, NONE), "out of range");
}

/*
 * The inverse column against the relations: x r y iff y r' x, r' from
 * the hand-written list above, over every pair of intervals with ends
 * in 0..5 and delta none, 0, 1 and 2.
 */
static void
check_inverse(size_t k, int64_t xs, int64_t xe, int64_t ys, int64_t ye,
	      int64_t d)
{
	CHECK(fq_allen_holds(spec[k].r, xs, xe, ys, ye, d) ==
	      fq_allen_holds(spec[k].inv, ys, ye, xs, xe, d),
	      "%s: [%lld,%lld] [%lld,%lld] delta %lld", spec[k].s,
	      (long long)xs, (long long)xe, (long long)ys, (long long)ye,
	      (long long)d);
}

static void
test_inverse(void)
{
	static const int64_t ds[] = { NONE, 0, 1, 2 };
	int64_t iv[21][2];
	size_t n = 0;
	for (int64_t s0 = 0; s0 <= 5; s0++)
		for (int64_t e0 = s0; e0 <= 5; e0++) {
			iv[n][0] = s0;
			iv[n][1] = e0;
			n++;
		}
	for (size_t k = 0; k < N(spec); k++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				for (size_t d = 0; d < N(ds); d++)
					check_inverse(k, iv[i][0], iv[i][1],
						      iv[j][0], iv[j][1], ds[d]);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "before", test_before }, { "after", test_after },
		{ "meets", test_meets }, { "met-by", test_met_by },
		{ "overlaps", test_overlaps },
		{ "overlapped-by", test_overlapped_by },
		{ "starts", test_starts }, { "started-by", test_started_by },
		{ "during", test_during }, { "contains", test_contains },
		{ "finishes", test_finishes }, { "finished-by", test_finished_by },
		{ "equals", test_equals }, { "table", test_table },
		{ "inverse", test_inverse },
	};
	if (argc != 2)
		return 2;
	for (size_t k = 0; k < N(cases); k++)
		if (strcmp(argv[1], cases[k].name) == 0) {
			cases[k].fn();
			return failures ? 1 : 0;
		}
	return 2;
}
