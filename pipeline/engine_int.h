/*
 * engine_int.h - the engine's own state, shared by the files that make up
 * the engine around the stages: engine.c (records in, stream time moved,
 * end of input), statecap.c (--max-state) and stats.c (counters).  The
 * stages never include it.
 */
#ifndef FQ_PL_ENGINE_INT_H
#define FQ_PL_ENGINE_INT_H

#include "engine.h"
#include "match_sink.h"
#include "pl.h"
#include "statecap.h"
#include "streamtime.h"

struct fq_engine {
	struct fq_sink sink;       /* what ingest hands records to */
	struct fq_engine_opts o;
	struct pl_params params;   /* what the stages read; params.T points
				      at clock.T */
	struct pl_clock clock;     /* stream time */
	struct pl_query **q;       /* owned */
	size_t nq;
	uint32_t next_qi;          /* the next query's number (latency
				      histograms, matches): never reused */
	struct fq_query_total *retired;  /* owned array (names owned): the
				      tallies of queries a reload took out */
	size_t nretired;
	/* Reloads (fq_engine_count_reload, fq_engine_retire_query). */
	uint64_t reloads, reloads_refused, queries_retired, queries_added,
		 reload_flushed;
	struct fq_match_sink *sinks;  /* borrowed list, in the order added */
	uint64_t records, late, long_recs, future, past;
	struct pl_mem mem;         /* pipeline state of all queries */
	struct pl_cap cap;         /* --max-state */
	int64_t stamp_ns;          /* monotonic ns when the records now being
				      processed entered (params.stamp_ns) */
	int finished;
};

#endif
