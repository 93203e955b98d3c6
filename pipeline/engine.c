/*
 * engine.c - records in: the engine as the sink of the ingest path.
 *
 * Per record the engine (1) decides whether the record is late, long or
 * future against stream time T, (2) runs every query's branch filters and
 * hands the record to the groupers of the branches it passed, (3) moves
 * T (streamtime.c), and when T moved lets every query's stages close and
 * release what T allows.  Everything happens per record, never per batch,
 * so the result does not depend on how the input was cut into batches:
 * the same records give byte-identical output live or replayed.
 *
 * After each record, when the state total is over --max-state, the state
 * cap (statecap.c) sheds the oldest state.  At the end of input T becomes
 * +infinity, every stage flushes and the sinks get their final word.
 *
 * The stages themselves (filter.c, grouper.c, groupfilter.c, merger.c,
 * ungrouper.c) are wired into one chain per query by query.c; the engine
 * only feeds the chain's head and moves time.
 */
#include "engine_int.h"
#include "fq_error.h"
#include "fq_log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fq_engine_opts_default(struct fq_engine_opts *o)
{
	memset(o, 0, sizeof *o);
	o->window = FQ_DEFAULT_WINDOW;
	o->lateness = FQ_DEFAULT_LATENESS;
	o->max_duration = FQ_DEFAULT_MAX_DURATION;
	o->max_skew = FQ_DEFAULT_MAX_SKEW;
	o->exporter_idle = FQ_DEFAULT_EXPORTER_IDLE;
	o->max_state_bytes = fq_engine_default_max_state();
}

size_t
fq_engine_default_max_state(void)
{
	return pl_cap_default();
}

/* T moved: every stage closes and releases what it allows. */
static void
advance(struct fq_engine *e, int end)
{
	int64_t T = e->clock.T;
	for (size_t i = 0; i < e->nq; i++) {
		struct pl_query *q = e->q[i];
		for (size_t b = 0; b < q->plan->nbranches; b++)
			pl_grouper_close_until(&q->br[b], T, end);
		if (q->mg)
			pl_merger_advance(q->mg, T, end);
	}
}

/*
 * The filters of the next m (<= PL_AHEAD) records, and for each branch a
 * record passes, its probe hash, with the key index slot it will probe
 * prefetched (pl.h, PL_AHEAD).  Filters and hashes depend on the record
 * alone, so running them early changes nothing but when memory is read.
 * Returns the records that passed some branch, bit j for the j-th.
 */
static uint32_t
query_ahead(struct pl_query *q, const struct fq_record *recs, size_t m)
{
	size_t nb = q->plan->nbranches;
	uint32_t hit = pl_filter_records(&q->filter, recs, m, q->ahead_pass);
	q->ahead_hit = hit;
	for (uint32_t left = hit; left; left &= left - 1) {
		size_t j = (size_t)__builtin_ctz(left);
		const uint8_t *pass = &q->ahead_pass[j * nb];
		for (size_t b = 0; b < nb; b++)
			if (pass[b])
				q->ahead_hash[j * nb + b] =
					pl_grouper_probe_hash(&q->br[b], &recs[j]);
	}
	return hit;
}

/* Record r, the j-th of those query_ahead() saw, which passed the filter
 * of at least one branch.  (Every branch's filter sees every record:
 * filter_in is counted once, in the query: pl_query.records.) */
static void
query_record(struct pl_query *q, const struct fq_record *r, size_t j,
	     int late, int lng)
{
	const struct fq_plan *p = q->plan;
	const uint8_t *pass = &q->ahead_pass[j * p->nbranches];
	const uint64_t *hash = &q->ahead_hash[j * p->nbranches];
	for (size_t b = 0; b < p->nbranches; b++) {
		struct pl_branch *br = &q->br[b];
		if (pass[b]) {
			br->c.filter_out++;
			if (late)
				br->c.late++;
			if (lng)
				br->c.long_recs++;
		}
	}
	/* Branches whose groups hold record images take no record. */
	struct pl_rec *rec = NULL;
	if (q->pool_needed) {
		rec = pl_rec_new(&q->pool, r);
		if (rec == NULL) {
			fq_error("out of memory storing a record");
			return;
		}
		rec->refs = 1;   /* held while we hand it to the branches */
	}
	for (size_t b = 0; b < p->nbranches; b++)
		if (pass[b])
			pl_grouper_record(&q->br[b], rec, r, late || lng, hash[b]);
	if (rec)
		pl_rec_unref(&q->pool, rec);
}

/* -FQ_EIO once a sink failed in a way that stops the run. */
static int
sinks_status(const struct fq_engine *e)
{
	for (const struct fq_match_sink *s = e->sinks; s; s = s->next)
		if (s->err)
			return -FQ_EIO;
	return 0;
}

/*
 * Records are taken PL_AHEAD at a time: the filters of all of them first
 * (query_ahead), then each in order through the branches it passed and
 * stream time.  Counters that only the statistics read are summed per
 * call; a chunk no filter passed costs only its stream time.
 */
static int
engine_records(struct fq_sink *sink, const struct fq_record *recs, size_t n)
{
	struct fq_engine *e = (struct fq_engine *)sink;
	const int batch = e->o.batch;
	const int64_t maxdur = e->o.max_duration, skew = e->o.max_skew;
	uint64_t nlate = 0, nlong = 0, nfuture = 0, npast = 0;
	e->stamp_ns = fq_latency_now_ns();
	e->records += n;
	for (size_t k = 0; k < e->nq; k++)
		e->q[k]->records += n;
	for (size_t i = 0; i < n; i += PL_AHEAD) {
		const struct fq_record *c = &recs[i];
		size_t m = n - i < PL_AHEAD ? n - i : PL_AHEAD;
		uint32_t hit = 0;
		for (size_t k = 0; k < e->nq; k++)
			hit |= query_ahead(e->q[k], c, m);
		for (size_t j = 0; j < m; j++) {
			const struct fq_record *r = &c[j];
			int late = 0, lng = 0, future = 0;
			int64_t arr = 0;
			if (!batch) {
				/* FQ_TIME_INF is INT64_MAX: no duration or skew
				 * is over an infinite limit, without a test. */
				late = r->etime < e->clock.T;
				lng = r->etime - r->stime > maxdur;
				arr = r->arrival ? r->arrival : r->etime;
				future = r->etime - arr > skew;
				if (arr - r->etime > skew &&
				    pl_clock_past(&e->clock, r, arr)) {
					npast++;
					late = 1;   /* processed as late */
				}
				nlate += (uint64_t)late;
				nlong += (uint64_t)lng;
				nfuture += (uint64_t)future;
			}
			if (hit >> j & 1)
				for (size_t k = 0; k < e->nq; k++)
					if (e->q[k]->ahead_hit >> j & 1)
						query_record(e->q[k], r, j, late,
							     lng);
			if (!batch) {
				if (arr > e->clock.now)
					e->clock.now = arr;
				if (pl_clock_track(&e->clock, r, arr, future))
					advance(e, 0);
			}
			if (e->mem.bytes > e->cap.bytes && e->cap.bytes)
				pl_cap_shed(&e->cap);
		}
	}
	e->late += nlate;
	e->long_recs += nlong;
	e->future += nfuture;
	e->past += npast;
	return sinks_status(e);
}

static int
engine_finish(struct fq_sink *sink)
{
	struct fq_engine *e = (struct fq_engine *)sink;
	if (e->finished)
		return 0;
	e->finished = 1;
	e->stamp_ns = fq_latency_now_ns();
	e->clock.T = FQ_TIME_INF;
	advance(e, 1);
	for (size_t i = 0; i < e->nq; i++)
		pl_ungrouper_flush(&e->q[i]->ug);
	if (e->cap.sheds) {
		char early[96] = "";
		if (e->o.batch)
			snprintf(early, sizeof early, ", %llu matches written "
				 "before the end of input: the --batch result is "
				 "not exact", (unsigned long long)e->cap.batch_flushed);
		fq_warn("the --max-state cap (%zu MiB) was reached %llu times: "
			"%llu groups closed early, %llu stored groups evicted, "
			"%llu tuples dropped%s; raise --max-state for the full "
			"result", e->cap.bytes >> 20,
			(unsigned long long)e->cap.sheds,
			(unsigned long long)pl_cap_closed_early(e),
			(unsigned long long)pl_cap_evicted(e),
			(unsigned long long)pl_cap_tuples_dropped(e), early);
	}
	/* The tallies: queries a reload took out first, then the rest. */
	size_t nt = e->nretired + e->nq;
	struct fq_query_total *t = calloc(nt ? nt : 1, sizeof *t);
	if (t && e->nretired)
		memcpy(t, e->retired, e->nretired * sizeof *t);
	for (size_t i = 0; t && i < e->nq; i++) {
		t[e->nretired + i].name = e->q[i]->name;
		t[e->nretired + i].matches = e->q[i]->ug.matches;
	}
	for (struct fq_match_sink *s = e->sinks; s; s = s->next) {
		if (s->ops->finish && t)
			s->ops->finish(s, t, nt);
		s->ops->flush(s);
	}
	free(t);
	return sinks_status(e);
}

int
fq_engine_new(struct fq_engine **out, const struct fq_engine_opts *o)
{
	struct fq_engine *e = calloc(1, sizeof *e);
	if (e == NULL)
		return -FQ_ENOMEM;
	e->sink.records = engine_records;
	e->sink.finish = engine_finish;
	e->o = *o;
	if (e->o.batch) {
		e->o.window = FQ_TIME_INF;
		e->o.lateness = FQ_TIME_INF;
	}
	pl_clock_init(&e->clock, e->o.lateness, e->o.exporter_idle,
		      e->o.max_skew);
	e->params = (struct pl_params){
		.batch = e->o.batch, .window = e->o.window,
		.lateness = e->o.lateness, .max_duration = e->o.max_duration,
		.max_state_bytes = e->o.max_state_bytes, .T = &e->clock.T,
		.stamp_ns = &e->stamp_ns,
	};
	pl_cap_init(&e->cap, e->o.max_state_bytes, e);
	*out = e;
	return 0;
}

void
fq_engine_add_sink(struct fq_engine *e, struct fq_match_sink *s)
{
	struct fq_match_sink **pp = &e->sinks;
	while (*pp)
		pp = &(*pp)->next;
	s->next = NULL;
	*pp = s;
}

int
fq_engine_add_query(struct fq_engine *e, const char *name,
		    const struct fq_plan *plan)
{
	int no_records = e->o.no_records;
	for (const struct fq_match_sink *s = e->sinks; s; s = s->next)
		if (!s->wants_records)
			no_records = 1;
	struct pl_query **v = realloc(e->q, (e->nq + 1) * sizeof *v);
	if (v == NULL)
		return -FQ_ENOMEM;
	e->q = v;
	int rc = pl_query_new(&e->q[e->nq], name, e->next_qi, plan,
			      &e->params, &e->mem,
			      &e->cap, &e->sinks, no_records, e->o.early);
	if (rc < 0)
		return rc;
	e->nq++;
	e->next_qi++;
	return 0;
}

uint64_t
fq_engine_retire_query(struct fq_engine *e, size_t i)
{
	struct pl_query *q = e->q[i];
	uint64_t before = q->ug.matches;
	/* Its own end of input: every open group closes, pairs and
	 * matches go out, as engine_finish() does for all. */
	int64_t stamp = e->stamp_ns;
	e->stamp_ns = fq_latency_now_ns();
	for (size_t b = 0; b < q->plan->nbranches; b++)
		pl_grouper_close_until(&q->br[b], FQ_TIME_INF, 1);
	if (q->mg)
		pl_merger_advance(q->mg, FQ_TIME_INF, 1);
	pl_ungrouper_flush(&q->ug);
	e->stamp_ns = stamp;
	uint64_t flushed = q->ug.matches - before;
	e->queries_retired++;
	e->reload_flushed += flushed;
	struct fq_query_total *v = realloc(e->retired,
					   (e->nretired + 1) * sizeof *v);
	char *name = strdup(q->name);
	if (v != NULL)
		e->retired = v;
	if (v != NULL && name != NULL)
		e->retired[e->nretired++] = (struct fq_query_total){
			name, q->ug.matches };
	else
		free(name);   /* its tally is lost, nothing else */
	pl_query_free(q);
	memmove(&e->q[i], &e->q[i + 1], (e->nq - i - 1) * sizeof *e->q);
	e->nq--;
	return flushed;
}

void
fq_engine_count_reload(struct fq_engine *e, int refused, size_t added)
{
	if (refused)
		e->reloads_refused++;
	else
		e->reloads++;
	e->queries_added += added;
}

size_t
fq_engine_nqueries(const struct fq_engine *e)
{
	return e->nq;
}

const char *
fq_engine_query_name(const struct fq_engine *e, size_t i)
{
	return e->q[i]->name;
}

void
fq_engine_flush(struct fq_engine *e)
{
	for (struct fq_match_sink *s = e->sinks; s; s = s->next)
		s->ops->flush(s);
}

void
fq_engine_reopen(struct fq_engine *e)
{
	for (struct fq_match_sink *s = e->sinks; s; s = s->next)
		if (s->ops->reopen)
			s->ops->reopen(s);
}

struct fq_sink *
fq_engine_sink(struct fq_engine *e)
{
	return &e->sink;
}

void
fq_engine_free(struct fq_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->nq; i++)
		pl_query_free(e->q[i]);
	for (size_t i = 0; i < e->nretired; i++)
		free((char *)e->retired[i].name);
	free(e->retired);
	/* Every stage gave back what it counted: the total the cap trusts
	 * is balanced (checked in every test run, not in release builds). */
	assert(e->mem.bytes == 0);
	free(e->q);
	pl_clock_fini(&e->clock);
	free(e);
}
