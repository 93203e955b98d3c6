/*
 * cmd_run.c - `flowq run QUERY... [-s SOURCE]...`: run queries on a feed.
 *
 * Each query file is compiled (all its diagnostics printed, exit 1 on an
 * error), then every query joins one engine that is the ingest's sink.
 * Sources come from -s; without -s, from the queries' quoted input
 * endpoints (SPEC section 3).  A query is known in the output by its file
 * name without directory and extension.  Matches go to the match sinks:
 * stdout or -o, and every sink of the registry (pipeline/sinks.c) whose
 * option was given; the registry's rows become options here.
 */
#include "commands.h"
#include "engine.h"
#include "fq_error.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_out.h"
#include "loop.h"
#include "match_sink.h"
#include "metrics.h"
#include "opts.h"
#include "query.h"
#include "reload.h"
#include "run_args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything a run holds, for the counters, a reload and the end. */
struct run_ctx {
	struct fq_engine *eng;
	struct fq_match_sink *sinks;   /* owned list, in the engine's order */
	struct fq_run_live live;       /* the queries and sockets running */
	int live_inited;
};

static void
run_stats(void *ctx, struct fq_out *o, int json)
{
	struct run_ctx *rc = ctx;
	int extra = 0;
	for (struct fq_match_sink *s = rc->sinks; s; s = s->next)
		extra |= s->ops->print_stats != NULL;
	if (extra && json) {
		char sep = '{';
		for (struct fq_match_sink *s = rc->sinks; s; s = s->next) {
			if (!s->ops->print_stats)
				continue;
			fq_out_printf(o, "%c\"%s\":", sep, s->ops->name);
			s->ops->print_stats(s, o, 1);
			sep = ',';
		}
		fq_out_str(o, ",\"queries\":");
		fq_engine_print_stats(rc->eng, o, 1);
		if (o->len && o->buf[o->len - 1] == '\n')
			o->len--;
		fq_out_str(o, "}\n");
		return;
	}
	fq_engine_print_stats(rc->eng, o, json);
	for (struct fq_match_sink *s = rc->sinks; s; s = s->next)
		if (s->ops->print_stats)
			s->ops->print_stats(s, o, 0);
}

static void
run_flush(void *ctx)
{
	struct run_ctx *rc = ctx;
	if (rc->eng)
		fq_engine_flush(rc->eng);
}

/* SIGHUP: the configuration again (reload.h), then the files reopened. */
static void
run_reopen(void *ctx)
{
	struct run_ctx *rc = ctx;
	if (rc->live_inited && !rc->live.ing->stopping)
		fq_run_reload(&rc->live);
	if (rc->eng)
		fq_engine_reopen(rc->eng);
}

/* End of input: the sinks let go of their handles on the loop. */
static void
run_at_end(void *ctx)
{
	struct run_ctx *rc = ctx;
	for (struct fq_match_sink *s = rc->sinks; s; s = s->next)
		if (s->ops->close)
			s->ops->close(s);
}

/* Make the sinks the options ask for and give them to the engine; 0 or
 * the exit status. */
static int
make_sinks(const struct fq_run_args *a, uv_loop_t *loop, struct run_ctx *rc)
{
	struct fq_sink_env env = { loop, a->json, a->out_path,
				   fq_cli_grace_ms(&a->lopts) };
	struct fq_match_sink **tail = &rc->sinks;
	char why[512];
	int replaced = 0;
	for (size_t i = 0; fq_sink_defs[i] && i < FQ_RUN_MAX_SINKS; i++)
		replaced |= a->sink_on[i] && fq_sink_defs[i]->replaces_output;
	for (size_t i = 0; i <= FQ_RUN_MAX_SINKS; i++) {
		struct fq_match_sink *s = NULL;
		int rc2;
		if (i == 0) {
			if (replaced)
				continue;
			rc2 = fq_sink_file_create(&env, NULL, &s, why, sizeof why);
		} else if (fq_sink_defs[i - 1] == NULL) {
			break;
		} else if (a->sink_on[i - 1]) {
			rc2 = fq_sink_defs[i - 1]->create(&env, a->sink_arg[i - 1],
							  &s, why, sizeof why);
		} else {
			continue;
		}
		if (rc2 < 0) {
			fq_error("%s", why);
			return 1;
		}
		*tail = s;
		tail = &s->next;
	}
	/* The engine links them in its own list, in this order. */
	for (struct fq_match_sink *s = rc->sinks, *next; s; s = next) {
		next = s->next;
		fq_engine_add_sink(rc->eng, s);
	}
	return 0;
}

static int
add_queries(const struct fq_run_queries *qs, struct fq_engine *eng)
{
	for (size_t i = 0; i < qs->n; i++)
		if (fq_engine_add_query(eng, qs->v[i].name,
					fq_query_plan(qs->v[i].q)) < 0) {
			fq_error("out of memory");
			return 1;
		}
	return 0;
}

/* Close what is still open, let the loop run the close callbacks, free
 * the sinks.  Sinks are normally closed at the end of input. */
static void
sinks_free(struct run_ctx *rc, uv_loop_t *loop, int loop_inited)
{
	if (rc->sinks && loop_inited) {
		run_at_end(rc);
		uv_run(loop, UV_RUN_DEFAULT);
	}
	for (struct fq_match_sink *s = rc->sinks, *next; s; s = next) {
		next = s->next;
		s->ops->free(s);
	}
	rc->sinks = NULL;
}

static int
report_sink_errors(const struct run_ctx *rc)
{
	int status = 0;
	for (const struct fq_match_sink *s = rc->sinks; s; s = s->next)
		if (s->err) {
			fq_error("cannot write output: %s", fq_out_strerror(s->err));
			status = 1;
		}
	return status;
}

/* --metrics: a port that cannot be bound is an error at start. */
static int
start_metrics(struct fq_run_args *a, struct fq_metrics **m)
{
	char why[512];
	if (fq_metrics_start(m, a->metrics_addr, a->metrics_exporters, why,
			     sizeof why) < 0) {
		fq_error("%s", why);
		return 1;
	}
	a->lopts.metrics = *m;
	return 0;
}

int
fq_cmd_run(int argc, char **argv)
{
	struct fq_run_args a;
	struct run_ctx rctx;
	struct fq_ingest ing;
	struct fq_metrics *metrics = NULL;
	int ing_inited = 0, loop_inited = 0;
	uv_loop_t loop;

	memset(&rctx, 0, sizeof rctx);
	struct fq_run_live *live = &rctx.live;
	int status = fq_run_args_parse(&a, argc, argv);
	if (status == 0)
		status = fq_run_queries_load(&live->qs, a.qfiles, a.n_q);
	if (status == 0)
		status = fq_run_args_sources_from(&a, &live->qs);
	if (status != 0) {
		if (status == -1)
			status = 0;   /* --help */
		goto out;
	}
	a.lopts.extra_stats = run_stats;
	a.lopts.extra_ctx = &rctx;
	a.lopts.at_end = run_at_end;
	a.lopts.at_end_ctx = &rctx;
	a.lopts.flush = run_flush;
	a.lopts.reopen = run_reopen;
	a.lopts.out_ctx = &rctx;
	status = 1;
	uv_loop_init(&loop);
	loop_inited = 1;
	if (fq_engine_new(&rctx.eng, &a.eo) < 0)
		goto out;
	if (make_sinks(&a, &loop, &rctx) != 0 ||
	    add_queries(&live->qs, rctx.eng) != 0)
		goto out;

	fq_ingest_init(&ing, &loop, fq_engine_sink(rctx.eng));
	fq_cli_decoder_apply(&a.cm, &a.dopts);
	a.dopts.max_skew_ms = a.eo.max_skew;
	ing.decoder_opts = a.dopts;
	ing_inited = 1;
	status = fq_cli_add_sources(&ing, a.specs, a.n_specs, &a.cm,
				    a.from_query);
	if (status == 0 && a.metrics_addr)
		status = start_metrics(&a, &metrics);
	if (status != 0)
		goto out;
	*live = (struct fq_run_live){ &a, argc, argv, rctx.eng, &ing,
				      live->qs, NULL, 0 };
	if (fq_run_live_init(live) < 0) {
		fq_error("out of memory");
		status = 1;
		goto out;
	}
	rctx.live_inited = 1;
	status = fq_cli_loop_run(&loop, &ing, &a.lopts);
	if (report_sink_errors(&rctx))
		status = 1;
out:
	if (ing_inited)
		fq_ingest_fini(&ing);
	fq_metrics_free(metrics);
	sinks_free(&rctx, &loop, loop_inited);
	if (loop_inited) {
		uv_run(&loop, UV_RUN_NOWAIT);
		uv_loop_close(&loop);
	}
	fq_engine_free(rctx.eng);
	fq_run_live_fini(live);
	fq_run_args_fini(&a);
	return status;
}
