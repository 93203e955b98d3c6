/*
 * stats.c - the engine's counters, as text lines or one JSON object
 * (--stats, --stats-json, SIGUSR1; docs/output.md).
 *
 * Three levels: the stream (records, late, long, future, untracked) and
 * the state cap; per query, what its merger and ungrouper counted; per
 * branch, what each stage of its chain let through.
 */
#include "fq_format.h"
#include "engine_int.h"

/* What the query's merger counted (all zero without a merger). */
static const struct pl_merger_counters *
mg_counters(const struct pl_query *q)
{
	static const struct pl_merger_counters none;
	return q->mg ? &q->mg->c : &none;
}

/* The reload counters: "name":N, each followed by a comma (JSON), or
 * one "reload:" line. */
static void
reload_stats(const struct fq_engine *e, struct fq_out *o, int json)
{
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
		{ "reloads", e->reloads }, { "reloads_refused", e->reloads_refused },
		{ "queries_retired", e->queries_retired },
		{ "queries_added", e->queries_added },
		{ "reload_flushed", e->reload_flushed },
	};
	if (!json)
		fq_out_str(o, "reload:");
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
		fq_out_printf(o, json ? "\"%s\":%llu," : " %s %llu", c[i].name,
			      (unsigned long long)c[i].v);
	if (!json)
		fq_out_str(o, "\n");
}

/* How far stream time trails the latest arrival (it includes L), or
 * null while there is no stream time (start, --batch, end of input). */
static void
stream_lag(const struct pl_clock *c, struct fq_out *o)
{
	if (c->T == INT64_MIN || c->T == FQ_TIME_INF || c->now == 0)
		fq_out_str(o, "\"stream_lag_ms\":null,");
	else
		fq_out_printf(o, "\"stream_lag_ms\":%lld,",
			      (long long)(c->now > c->T ? c->now - c->T : 0));
}

static void
engine_stats(struct fq_engine *e, struct fq_out *o, int json)
{
	unsigned long long rec = e->records, late = e->late,
			   lng = e->long_recs, fut = e->future, past = e->past,
			   untr = e->clock.untracked, sheds = e->cap.sheds,
			   early = pl_cap_closed_early(e),
			   evic = pl_cap_evicted(e),
			   drop = pl_cap_tuples_dropped(e),
			   flushed = e->cap.batch_flushed;
	if (json) {
		fq_out_printf(o, "{\"records\":%llu,\"late\":%llu,\"long\":%llu,"
			      "\"future\":%llu,\"past\":%llu,\"untracked\":%llu,",
			      rec, late, lng, fut, past, untr);
		fq_out_printf(o, "\"state_bytes\":%zu,\"state_peak\":%zu,"
			      "\"state_cap\":%zu,\"state_sheds\":%llu,"
			      "\"state_closed_early\":%llu,\"state_evicted\":%llu,"
			      "\"state_tuples_dropped\":%llu,"
			      "\"state_batch_flushed\":%llu,",
			      e->mem.bytes, e->mem.peak, e->cap.bytes, sheds,
			      early, evic, drop, flushed);
		reload_stats(e, o, 1);
		stream_lag(&e->clock, o);
		fq_out_str(o, "\"queries\":[");
	} else {
		fq_out_printf(o, "engine: records %llu late %llu long %llu "
			      "future %llu past %llu untracked %llu\n",
			      rec, late, lng, fut, past, untr);
		fq_out_printf(o, "state: bytes %zu peak %zu cap %zu sheds %llu "
			      "closed_early %llu evicted %llu tuples_dropped %llu "
			      "batch_flushed %llu\n",
			      e->mem.bytes, e->mem.peak, e->cap.bytes, sheds,
			      early, evic, drop, flushed);
		if (e->reloads || e->reloads_refused)
			reload_stats(e, o, 0);
	}
}

static void
query_stats(const struct pl_query *q, struct fq_out *o, int json)
{
	const struct pl_merger_counters *c = mg_counters(q);
	if (json) {
		fq_out_str(o, "{\"query\":");
		fq_format_json_str(o, q->name);
		fq_out_printf(o, ",\"matches\":%llu,\"tuples\":%llu,"
			      "\"rejected\":%llu,\"merger_dropped\":%llu,"
			      "\"pending\":%zu,\"evicted\":%llu,"
			      "\"tuples_dropped\":%llu,\"branches\":{",
			      (unsigned long long)q->ug.matches,
			      (unsigned long long)c->tuples,
			      (unsigned long long)c->rejected,
			      (unsigned long long)c->dropped_groups,
			      q->mg ? q->mg->npending : (size_t)0,
			      (unsigned long long)c->evicted,
			      (unsigned long long)c->tuples_dropped);
	} else {
		fq_out_printf(o, "query %s: matches %llu tuples %llu rejected %llu "
			      "evicted %llu tuples_dropped %llu\n",
			      q->name, (unsigned long long)q->ug.matches,
			      (unsigned long long)c->tuples,
			      (unsigned long long)c->rejected,
			      (unsigned long long)c->evicted,
			      (unsigned long long)c->tuples_dropped);
	}
}

static void
branch_stats(const struct pl_query *q, size_t b, struct fq_out *o, int json)
{
	const struct pl_counters *c = &q->br[b].c;
	const char *bn = q->plan->branches[b].name;
	if (json) {
		if (b)
			fq_out_str(o, ",");
		fq_format_json_str(o, bn);
		fq_out_printf(o, ":{\"filter_in\":%llu,\"filter_out\":%llu,"
			      "\"grouper_dropped\":%llu,\"groups\":%llu,"
			      "\"groups_closed\":%llu,\"groupfilter_out\":%llu,"
			      "\"late\":%llu,\"long\":%llu,\"late_join\":%llu,"
			      "\"closed_early\":%llu,\"open_groups\":%zu}",
			      (unsigned long long)q->records,
			      (unsigned long long)c->filter_out,
			      (unsigned long long)c->grouper_dropped,
			      (unsigned long long)c->groups,
			      (unsigned long long)c->groups_closed,
			      (unsigned long long)c->gfilter_out,
			      (unsigned long long)c->late,
			      (unsigned long long)c->long_recs,
			      (unsigned long long)c->late_join,
			      (unsigned long long)c->closed_early,
			      q->br[b].gr.nopen);
	} else {
		fq_out_printf(o, "  branch %s: filter %llu/%llu grouper_dropped %llu "
			      "groups %llu closed %llu groupfilter_out %llu "
			      "late %llu long %llu late_join %llu "
			      "closed_early %llu\n", bn,
			      (unsigned long long)c->filter_out,
			      (unsigned long long)q->records,
			      (unsigned long long)c->grouper_dropped,
			      (unsigned long long)c->groups,
			      (unsigned long long)c->groups_closed,
			      (unsigned long long)c->gfilter_out,
			      (unsigned long long)c->late,
			      (unsigned long long)c->long_recs,
			      (unsigned long long)c->late_join,
			      (unsigned long long)c->closed_early);
	}
}

/* The delivery latency of query qi's matches through every sink. */
static void
latency_stats(const struct fq_engine *e, uint32_t qi, struct fq_out *o,
	      int json)
{
	static const char *const kinds[2] = { "final", "early" };
	static const struct fq_latency none;
	if (json)
		fq_out_str(o, ",\"latency\":{");
	for (const struct fq_match_sink *s = e->sinks; s; s = s->next) {
		if (json)
			fq_out_printf(o, "%s\"%s\":{", s == e->sinks ? "" : ",",
				      s->ops->name);
		for (int k = 0; k < 2; k++) {
			const struct fq_latency *l = fq_match_sink_latency(s, qi, k);
			if (json) {
				fq_out_printf(o, "%s\"%s\":", k ? "," : "", kinds[k]);
				fq_latency_print(l ? l : &none, o, 1);
			} else if (l && l->n) {
				fq_out_printf(o, "  latency %s %s: ", s->ops->name,
					      kinds[k]);
				fq_latency_print(l, o, 0);
				fq_out_str(o, "\n");
			}
		}
		if (json)
			fq_out_str(o, "}");
	}
	if (json)
		fq_out_str(o, "}");
}

void
fq_engine_print_stats(struct fq_engine *e, struct fq_out *o, int json)
{
	engine_stats(e, o, json);
	for (size_t i = 0; i < e->nq; i++) {
		const struct pl_query *q = e->q[i];
		if (json && i)
			fq_out_str(o, ",");
		query_stats(q, o, json);
		for (size_t b = 0; b < q->plan->nbranches; b++)
			branch_stats(q, b, o, json);
		if (json)
			fq_out_str(o, "}");
		latency_stats(e, e->q[i]->ug.qi, o, json);
		if (json)
			fq_out_str(o, "}");
	}
	if (json)
		fq_out_str(o, "]}\n");
}
