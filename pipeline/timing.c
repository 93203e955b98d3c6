/*
 * timing.c - how late a query's final matches may come, for `flowq check`
 * (SPEC section 5), so that an operator sees the trade-off before
 * deploying.
 *
 * A group closes when stream time passes its deadline + M, and stream
 * time trails the newest flow end by L; the deadline lies at most the
 * tightest time rule's delta after the end of the group's last record
 * (rdelta: after its last record; delta: after its first, so no later
 * than after the last), or W after its start for a module without one.
 * So a final match comes at most (that slack) + M + L after the end of
 * the last record of its pattern, while stream time keeps moving; with a
 * subtracting module it then waits until no rejecting group can still
 * arrive, up to W + M more past its groups' bound.  A branch without
 * grouper closes its groups of one at once.  With --early a match is
 * announced with the record that completes the pattern.
 */
#include "engine.h"

#include <stdio.h>

/* "11min31s", "1h", "250ms", "inf": the spelling durations are given in. */
static void
print_dur(FILE *out, int64_t ms)
{
	if (ms == FQ_TIME_INF) {
		fputs("inf", out);
		return;
	}
	static const struct { const char *unit; int64_t ms; } u[] = {
		{ "h", 3600000 }, { "min", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	if (ms == 0) {
		fputs("0s", out);
		return;
	}
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		if (ms >= u[i].ms) {
			fprintf(out, "%lld%s", (long long)(ms / u[i].ms), u[i].unit);
			ms %= u[i].ms;
		}
	}
}

static int64_t
sat(int64_t a, int64_t b)
{
	return a == FQ_TIME_INF || b == FQ_TIME_INF || a > FQ_TIME_INF - b
	       ? FQ_TIME_INF : a + b;
}

/* The most a group's deadline lies after the end of its last record. */
static int64_t
grouper_slack(const struct fq_plan_grouper *pg, int64_t W)
{
	int64_t worst = 0;
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		int64_t d = W;
		for (size_t k = 0; k < m->ntime; k++)
			if (m->time[k].delta < d)
				d = m->time[k].delta;
		if (d > worst)
			worst = d;
	}
	return worst < W ? worst : W;
}

void
fq_engine_print_timing(const struct fq_plan *p, const struct fq_engine_opts *o,
		       FILE *out)
{
	int64_t W = o->batch ? FQ_TIME_INF : o->window;
	int64_t L = o->batch ? FQ_TIME_INF : o->lateness, M = o->max_duration;
	fputs("timing (W ", out);
	print_dur(out, W);
	fputs(", M ", out);
	print_dur(out, M);
	fputs(", L ", out);
	print_dur(out, L);
	fputs("):\n", out);
	if (o->batch) {
		fputs("  --batch: every match comes at the end of the input\n",
		      out);
		return;
	}
	int64_t latest = 0;
	for (size_t b = 0; b < p->nbranches; b++) {
		const struct fq_plan_branch *pb = &p->branches[b];
		fprintf(out, "  branch %s: ", pb->name);
		if (pb->grouper == NULL) {
			fputs("groups of one close at once\n", out);
			continue;
		}
		int64_t slack = grouper_slack(pb->grouper, W);
		int64_t close = sat(sat(slack, M), L);
		fputs("a group closes at most ", out);
		print_dur(out, close);
		fputs(" after its last record ends (deadline ", out);
		print_dur(out, slack);
		fputs(" after it, then M + L)\n", out);
		if (close > latest)
			latest = close;
	}
	fputs("  final matches: at most ", out);
	print_dur(out, latest);
	fputs(" after the last record of their pattern ends, while stream "
	      "time moves\n", out);
	int sub = p->merger && p->merger->nmodules > 1;
	if (sub) {
		fputs("  with subtracting modules a match then waits until no "
		      "rejecting group can come: up to W + M = ", out);
		print_dur(out, sat(W, M));
		fputs(" more, past the modules' own time bounds\n", out);
	}
	if (latest > 0 || sub)
		fputs("  --early: a match is announced with the record that "
		      "completes it, and settled later\n", out);
	else
		fputs("  --early: no sooner (every group closes at once)\n", out);
}
