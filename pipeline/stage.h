/*
 * stage.h - how the stages of a query meet (SPEC sections 4 and 5).
 *
 * A query is a chain, one per branch up to the merger:
 *
 *   records -> filter -> grouper -> group filter -> merger -> ungrouper
 *                                                \-----------^ (no merger)
 *
 * and every stage hands its output to the next through a link set up
 * when the query is wired (query.c), never by calling a neighbour by
 * name: a stage knows what it receives and what it produces, not who
 * comes next.  Records go into a branch (filter.c, grouper.c); closed
 * groups leave the grouper through the branch's group link; the merger
 * hands tuples of groups to a tuple link; the ungrouper turns a tuple
 * into a match for the match sinks (match_sink.h).
 *
 * What every stage reads of the run -- the windows and bounds of SPEC
 * section 5 and the current stream time -- is one struct pl_params,
 * borrowed: the engine owns it (engine.c), a unit test may own one of
 * its own and drive a stage alone.
 */
#ifndef FQ_PL_STAGE_H
#define FQ_PL_STAGE_H

#include <stddef.h>
#include <stdint.h>

/* Infinite time: a window, lateness or bound that never ends. */
#define FQ_TIME_INF INT64_MAX

struct pl_group;
struct pl_branch;

/*
 * The streaming parameters of a run (SPEC section 5), milliseconds.  In
 * --batch, window and lateness are FQ_TIME_INF and T stays at INT64_MIN
 * until the end of input.
 */
struct pl_params {
	int batch;                 /* --batch: section 4 exactly */
	int64_t window;            /* W */
	int64_t lateness;          /* L */
	int64_t max_duration;      /* M */
	size_t max_state_bytes;    /* --max-state, 0 = unlimited */
	const int64_t *T;          /* borrowed: stream time, which only the
				      clock moves (streamtime.c) */
	const int64_t *stamp_ns;   /* borrowed: monotonic ns at which the
				      records now in the pipeline entered
				      it (delivery latency, match_sink.h) */
};

/*
 * Where a branch's groups go once they close: the group filter, then
 * the merger or (without one) the ungrouper.  `group` is handed one
 * reference to g, which it keeps or gives back with pl_group_unref().
 * `prefetch` (may be NULL) is a hint that g will come soon: the next
 * stage may fetch what it will read of it into the cache.
 */
struct pl_group_link {
	void (*group)(void *to, struct pl_branch *from, struct pl_group *g);
	void (*prefetch)(void *to, const struct pl_group *g);
	void *to;
};

/*
 * Who is told when a record joins or starts a group of a branch (--early:
 * early.c evaluates the pattern on the groups as they stand).  g is
 * borrowed for the call; it may be open or, for a branch without
 * grouper, a group of one about to close.
 */
struct pl_group_watch {
	void (*changed)(void *to, struct pl_branch *from, struct pl_group *g);
	void *to;
};

/*
 * Where the merger's tuples go: g has one group per plan branch (NULL
 * for branches not in the tuple), borrowed for the call; `time` is the
 * largest etime among them.
 */
struct pl_tuple_link {
	void (*tuple)(void *to, struct pl_group **g, int64_t time);
	void *to;
};

#endif
