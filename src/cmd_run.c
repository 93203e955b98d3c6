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
#include "opts.h"
#include "query.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_JSON = 256, OPT_NO_RECORDS, OPT_BATCH, OPT_WINDOW, OPT_LATENESS,
	OPT_MAX_DURATION, OPT_MAX_SKEW, OPT_EXPORTER_IDLE, OPT_SCALE_SAMPLED,
	OPT_MAX_STATE, OPT_EARLY,
	OPT_SINK = 512,            /* + the registry row's index */
};

#define MAX_SINK_DEFS 32

/* What the command line says; pointers borrowed from argv. */
struct run_args {
	struct fq_engine_opts eo;
	struct fq_decoder_opts dopts;
	struct fq_cli_common cm;
	struct fq_cli_loop_opts lopts;
	int json;
	const char *out_path;
	const char *sink_arg[MAX_SINK_DEFS];   /* per registry row */
	uint8_t sink_on[MAX_SINK_DEFS];
	const char **specs;        /* owned array */
	size_t n_specs;
	const char **qfiles;       /* owned array */
	size_t n_q;
	int from_query;            /* sources are the queries' endpoints */
};

/* Everything a run holds, for the counters and the end. */
struct run_ctx {
	struct fq_engine *eng;
	struct fq_match_sink *sinks;   /* owned list, in the engine's order */
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

static void
run_reopen(void *ctx)
{
	struct run_ctx *rc = ctx;
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

/* "dir/http-download.flw" -> "http-download" */
static char *
query_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	const char *dot = strrchr(b, '.');
	size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, b, n);
		s[n] = '\0';
	}
	return s;
}

/* The getopt table: the command's options and the registry's sinks. */
static void
build_longopts(struct option *lo)
{
	static const struct option fixed[] = {
		{ "source", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-records", no_argument, NULL, OPT_NO_RECORDS },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "early", no_argument, NULL, OPT_EARLY },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "lateness", required_argument, NULL, OPT_LATENESS },
		{ "max-duration", required_argument, NULL, OPT_MAX_DURATION },
		{ "max-skew", required_argument, NULL, OPT_MAX_SKEW },
		{ "exporter-idle", required_argument, NULL, OPT_EXPORTER_IDLE },
		{ "scale-sampled", no_argument, NULL, OPT_SCALE_SAMPLED },
		{ "max-state", required_argument, NULL, OPT_MAX_STATE },
		FQ_CLI_COMMON_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
	};
	size_t n = sizeof fixed / sizeof fixed[0];
	memcpy(lo, fixed, sizeof fixed);
	for (size_t i = 0; fq_sink_defs[i] && i < MAX_SINK_DEFS; i++) {
		const struct fq_sink_def *d = fq_sink_defs[i];
		lo[n++] = (struct option){ d->option,
			!d->arg ? no_argument : d->arg_ok ? optional_argument
			: required_argument, NULL, OPT_SINK + (int)i };
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* One of the run's own options; 0, or the exit status (2, or 0 for
 * --help) with the reason reported. */
static int
run_option(struct run_args *a, int c, int argc, char **argv)
{
	char reason[512];
	int64_t *dur = NULL;
	switch (c) {
	case 's': a->specs[a->n_specs++] = optarg; return 0;
	case 'o': a->out_path = optarg; return 0;
	case OPT_JSON: a->json = 1; return 0;
	case OPT_NO_RECORDS: a->eo.no_records = 1; return 0;
	case OPT_BATCH: a->eo.batch = 1; return 0;
	case OPT_EARLY: a->eo.early = 1; return 0;
	case OPT_WINDOW: dur = &a->eo.window; break;
	case OPT_LATENESS: dur = &a->eo.lateness; break;
	case OPT_MAX_DURATION: dur = &a->eo.max_duration; break;
	case OPT_MAX_SKEW: dur = &a->eo.max_skew; break;
	case OPT_EXPORTER_IDLE: dur = &a->eo.exporter_idle; break;
	case OPT_SCALE_SAMPLED: a->dopts.scale_sampled = 1; return 0;
	case OPT_MAX_STATE:
		if (fq_cli_parse_mib(optarg, &a->eo.max_state_bytes) == 0)
			return 0;
		snprintf(reason, sizeof reason,
			 "run: --max-state: '%s' is not a number of MiB "
			 "(1 to %llu, e.g. 512)", optarg, FQ_CLI_MIB_MAX);
		return fq_cli_bad_usage(reason);
	case 'h':
		fq_cli_usage(stdout);
		return -1;
	case ':':
		snprintf(reason, sizeof reason,
			 "run: option '%s' needs an argument", argv[optind - 1]);
		return fq_cli_bad_usage(reason);
	default:
		if (c >= OPT_SINK && c < OPT_SINK + MAX_SINK_DEFS) {
			const struct fq_sink_def *d = fq_sink_defs[c - OPT_SINK];
			const char *arg = optarg;
			/* `--syslog local0` as well as `--syslog=local0` */
			if (arg == NULL && d->arg_ok && optind < argc &&
			    d->arg_ok(argv[optind]))
				arg = argv[optind++];
			a->sink_on[c - OPT_SINK] = 1;
			a->sink_arg[c - OPT_SINK] = arg;
			return 0;
		}
		snprintf(reason, sizeof reason, "run: unknown option '%s'",
			 argv[optind - 1]);
		return fq_cli_bad_usage(reason);
	}
	if (fq_cli_parse_duration(optarg, dur) < 0) {
		snprintf(reason, sizeof reason,
			 "run: '%s' is not a duration (use ms, s, min, h or inf, e.g. 90s)",
			 optarg);
		return fq_cli_bad_usage(reason);
	}
	return 0;
}

/* Parse argv into *a; 0, or the exit status (-1: --help, exit 0). */
static int
parse_args(struct run_args *a, int argc, char **argv)
{
	struct option longopts[64];
	build_longopts(longopts);
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s:o:h", longopts, NULL)) != -1) {
		char reason[512];
		int k = fq_cli_common_option(c, optarg, &a->cm, &a->lopts, reason,
					     sizeof reason);
		if (k < 0)
			return fq_cli_bad_usage(reason);
		if (k > 0)
			continue;
		int st = run_option(a, c, argc, argv);
		if (st != 0)
			return st;
	}
	for (int i = optind; i < argc; i++)
		a->qfiles[a->n_q++] = argv[i];
	if (a->n_q == 0)
		return fq_cli_bad_usage("run: no query file given");
	return 0;
}

/* Compile every query; report all their diagnostics.  1 on an error. */
static int
compile_queries(const struct run_args *a, struct fq_query **queries)
{
	int errors = 0;
	for (size_t i = 0; i < a->n_q; i++) {
		struct fq_diag d;
		fq_diag_init(&d);
		int rc = fq_query_compile_file(&queries[i], a->qfiles[i], &d);
		fq_diag_print(&d, stderr);
		fq_diag_fini(&d);
		if (rc < 0)
			errors++;
	}
	return errors ? 1 : 0;
}

/* Without -s, the queries' input endpoints; 0 or the exit status. */
static int
default_sources(struct run_args *a, struct fq_query **queries)
{
	if (a->n_specs)
		return 0;
	a->from_query = 1;
	for (size_t i = 0; i < a->n_q; i++) {
		const struct fq_plan *p = fq_query_plan(queries[i]);
		for (size_t k = 0; k < p->ninputs; k++) {
			const char **v = realloc(a->specs,
						 (a->n_specs + 2) * sizeof *v);
			if (v == NULL)
				return 1;
			a->specs = v;
			a->specs[a->n_specs++] = p->inputs[k].text;
		}
	}
	if (a->n_specs == 0)
		return fq_cli_bad_usage("run: no source: give one with -s");
	return 0;
}

/* Make the sinks the options ask for and give them to the engine; 0 or
 * the exit status. */
static int
make_sinks(const struct run_args *a, uv_loop_t *loop, struct run_ctx *rc)
{
	struct fq_sink_env env = { loop, a->json, a->out_path,
				   fq_cli_grace_ms(&a->lopts) };
	struct fq_match_sink **tail = &rc->sinks;
	char why[512];
	int replaced = 0;
	for (size_t i = 0; fq_sink_defs[i] && i < MAX_SINK_DEFS; i++)
		replaced |= a->sink_on[i] && fq_sink_defs[i]->replaces_output;
	for (size_t i = 0; i <= MAX_SINK_DEFS; i++) {
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
add_queries(const struct run_args *a, struct fq_engine *eng,
	    struct fq_query **queries, char **names)
{
	for (size_t i = 0; i < a->n_q; i++) {
		names[i] = query_name(a->qfiles[i]);
		if (names[i] == NULL ||
		    fq_engine_add_query(eng, names[i], fq_query_plan(queries[i])) < 0) {
			fq_error("out of memory");
			return 1;
		}
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

int
fq_cmd_run(int argc, char **argv)
{
	struct run_args a;
	memset(&a, 0, sizeof a);
	fq_engine_opts_default(&a.eo);
	struct run_ctx rctx = { NULL, NULL };
	a.lopts = (struct fq_cli_loop_opts){
		.extra_stats = run_stats, .extra_ctx = &rctx,
		.at_end = run_at_end, .at_end_ctx = &rctx,
		.flush = run_flush, .reopen = run_reopen, .out_ctx = &rctx,
	};
	a.specs = calloc((size_t)argc + 1, sizeof *a.specs);
	a.qfiles = calloc((size_t)argc + 1, sizeof *a.qfiles);
	struct fq_query **queries = calloc((size_t)argc + 1, sizeof *queries);
	char **names = calloc((size_t)argc + 1, sizeof *names);
	struct fq_ingest ing;
	int ing_inited = 0, loop_inited = 0;
	uv_loop_t loop;
	int status = 1;

	if (!a.specs || !a.qfiles || !queries || !names) {
		fq_error("out of memory");
		goto out;
	}
	status = parse_args(&a, argc, argv);
	if (status == 0)
		status = compile_queries(&a, queries);
	if (status == 0)
		status = default_sources(&a, queries);
	if (status != 0) {
		if (status == -1)
			status = 0;   /* --help */
		goto out;
	}
	status = 1;
	uv_loop_init(&loop);
	loop_inited = 1;
	if (fq_engine_new(&rctx.eng, &a.eo) < 0)
		goto out;
	if (make_sinks(&a, &loop, &rctx) != 0 ||
	    add_queries(&a, rctx.eng, queries, names) != 0)
		goto out;

	fq_ingest_init(&ing, &loop, fq_engine_sink(rctx.eng));
	fq_cli_decoder_apply(&a.cm, &a.dopts);
	ing.decoder_opts = a.dopts;
	ing_inited = 1;
	status = fq_cli_add_sources(&ing, a.specs, a.n_specs, &a.cm,
				    a.from_query);
	if (status != 0)
		goto out;
	status = fq_cli_loop_run(&loop, &ing, &a.lopts);
	if (report_sink_errors(&rctx))
		status = 1;
out:
	if (ing_inited)
		fq_ingest_fini(&ing);
	sinks_free(&rctx, &loop, loop_inited);
	if (loop_inited) {
		uv_run(&loop, UV_RUN_NOWAIT);
		uv_loop_close(&loop);
	}
	fq_engine_free(rctx.eng);
	for (size_t i = 0; queries && i < a.n_q; i++)
		fq_query_free(queries[i]);
	for (size_t i = 0; names && i < a.n_q; i++)
		free(names[i]);
	free(names);
	free(queries);
	free(a.qfiles);
	free(a.specs);
	fq_cli_allow_fini(&a.cm.allow);
	return status;
}
