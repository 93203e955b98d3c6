/*
 * engine.h - the stream query engine: runs compiled queries (plan.h) over
 * records as they arrive and emits matches (SPEC sections 4, 5, 6).
 *
 * The engine is a sink (fq_sink.h): the ingest path hands it records in
 * rec_id order; it maintains stream time, feeds every query's branches
 * (filter -> grouper -> group filter -> merger -> ungrouper, stage.h) and
 * hands every match to its match sinks (match_sink.h).  Several queries
 * share one engine and one stream time; each de-duplicates its own
 * records.
 */
#ifndef FQ_ENGINE_H
#define FQ_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fq_out.h"
#include "fq_sink.h"
#include "plan.h"
#include "stage.h"

struct fq_match_sink;

struct fq_engine_opts {
	int batch;                 /* --batch: window and lateness infinite */
	int64_t window;            /* W, ms (FQ_TIME_INF = inf) */
	int64_t lateness;          /* L, ms */
	int64_t max_duration;      /* M, ms */
	int64_t max_skew;          /* ms */
	int64_t exporter_idle;     /* ms */
	int no_records;            /* matches without their records */
	int early;                 /* --early: early matches and retractions
				      (SPEC section 5) */
	size_t max_state_bytes;    /* --max-state: cap of the bytes held by
				      pipeline state; 0 = unlimited */
};

/* SPEC section 5 defaults (see docs/streaming.md for their derivation). */
#define FQ_DEFAULT_WINDOW        (15 * 60 * 1000LL)
#define FQ_DEFAULT_LATENESS      (90 * 1000LL)
#define FQ_DEFAULT_MAX_DURATION  (10 * 60 * 1000LL)
#define FQ_DEFAULT_MAX_SKEW      (10 * 60 * 1000LL)
#define FQ_DEFAULT_EXPORTER_IDLE (5 * 60 * 1000LL)
/* --max-state default, MiB; less on a machine or cgroup with under twice
 * that much memory (fq_engine_default_max_state). */
#define FQ_DEFAULT_MAX_STATE_MB  1024

struct fq_engine;

void fq_engine_opts_default(struct fq_engine_opts *o);
/* The --max-state default for this machine, bytes (docs/streaming.md). */
size_t fq_engine_default_max_state(void);

int fq_engine_new(struct fq_engine **out, const struct fq_engine_opts *o);
void fq_engine_free(struct fq_engine *e);

/*
 * Add a match sink (borrowed: it must outlive the engine).  Every match
 * goes to every sink, in the order they were added.  Sinks are added
 * before the queries: a sink that never reads records (--count) makes
 * the queries keep none.
 */
void fq_engine_add_sink(struct fq_engine *e, struct fq_match_sink *s);

/*
 * Add a query, before input or while it runs (a reload).  `name` (copied)
 * labels its output; `plan` is borrowed and must outlive the query (the
 * engine, or fq_engine_retire_query()).  Returns 0 or -FQ_ENOMEM.
 */
int fq_engine_add_query(struct fq_engine *e, const char *name,
			const struct fq_plan *plan);

/*
 * Take the running engine's query i out (a reload changed or removed
 * it): its open groups close as at the end of input and their matches
 * go out; its tally stays for the end-of-input totals; it is freed (its
 * plan may go after this).  Returns the matches its closing produced.
 */
uint64_t fq_engine_retire_query(struct fq_engine *e, size_t i);
/* Count a reload (refused: the configuration had errors) that added
 * `added` queries; its retirements count themselves. */
void fq_engine_count_reload(struct fq_engine *e, int refused, size_t added);
/* The queries now running, in the order added (after retirements). */
size_t fq_engine_nqueries(const struct fq_engine *e);
const char *fq_engine_query_name(const struct fq_engine *e, size_t i);

/*
 * Hand every match the sinks hold to the operating system (SPEC section
 * 6, Delivery): the loop calls it when it goes idle and on a short timer.
 */
void fq_engine_flush(struct fq_engine *e);
/* SIGHUP: the sinks reopen their files (logrotate's convention). */
void fq_engine_reopen(struct fq_engine *e);

/* The engine as a sink for fq_ingest.  Owned by the engine. */
struct fq_sink *fq_engine_sink(struct fq_engine *e);

/*
 * `flowq check`: how late a final match of plan p can come with these
 * options, and whether --early can alert sooner (timing.c).
 */
void fq_engine_print_timing(const struct fq_plan *p,
			    const struct fq_engine_opts *o, FILE *out);

/* Stream and per-stage counters, as text or one JSON object. */
void fq_engine_print_stats(struct fq_engine *e, struct fq_out *o, int json);

#endif
