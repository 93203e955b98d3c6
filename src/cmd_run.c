/*
 * cmd_run.c - `flowq run QUERY... [-s SOURCE]...`: run queries on a feed.
 *
 * Each query file is compiled (all its diagnostics printed, exit 1 on an
 * error), then every query joins one engine that is the ingest's sink.
 * Sources come from -s; without -s, from the queries' quoted input
 * endpoints (SPEC section 3).  A query is known in the output by its file
 * name without directory and extension.
 */
#include "commands.h"
#include "engine.h"
#include "fq_error.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_out.h"
#include "exec_hook.h"
#include "loop.h"
#include "opts.h"
#include "query.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	OPT_JSON = 256, OPT_NO_RECORDS, OPT_BATCH, OPT_WINDOW, OPT_LATENESS,
	OPT_MAX_DURATION, OPT_MAX_SKEW, OPT_EXPORTER_IDLE, OPT_SCALE_SAMPLED,
	OPT_EXEC, OPT_MAX_STATE, OPT_COUNT,
};

struct run_ctx {
	struct fq_engine *eng;
	struct fq_exec_hook *hook;   /* NULL without --exec */
};

static void
run_stats(void *ctx, struct fq_out *o, int json)
{
	struct run_ctx *rc = ctx;
	if (rc->hook && json) {
		fq_out_str(o, "{\"exec\":");
		fq_exec_hook_print_stats(rc->hook, o, 1);
		fq_out_str(o, ",\"queries\":");
		fq_engine_print_stats(rc->eng, o, 1);
		if (o->len && o->buf[o->len - 1] == '\n')
			o->len--;
		fq_out_str(o, "}\n");
		return;
	}
	fq_engine_print_stats(rc->eng, o, json);
	if (rc->hook)
		fq_exec_hook_print_stats(rc->hook, o, 0);
}

static void
run_at_end(void *ctx)
{
	struct run_ctx *rc = ctx;
	if (rc->hook)
		fq_exec_hook_close(rc->hook);
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

int
fq_cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "no-records", no_argument, NULL, OPT_NO_RECORDS },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "lateness", required_argument, NULL, OPT_LATENESS },
		{ "max-duration", required_argument, NULL, OPT_MAX_DURATION },
		{ "max-skew", required_argument, NULL, OPT_MAX_SKEW },
		{ "exporter-idle", required_argument, NULL, OPT_EXPORTER_IDLE },

		{ "scale-sampled", no_argument, NULL, OPT_SCALE_SAMPLED },
		{ "max-state", required_argument, NULL, OPT_MAX_STATE },
		FQ_CLI_COMMON_LONGOPTS,
		{ "exec", required_argument, NULL, OPT_EXEC },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fq_engine_opts eo;
	fq_engine_opts_default(&eo);
	struct run_ctx rctx = { NULL, NULL };
	struct fq_cli_loop_opts lopts = { 0, 0, 0, run_stats, &rctx, run_at_end, &rctx };
	const char *exec_cmd = NULL;
	struct fq_decoder_opts dopts;
	memset(&dopts, 0, sizeof dopts);
	struct fq_cli_common cm;
	memset(&cm, 0, sizeof cm);
	const char **specs = calloc((size_t)argc + 1, sizeof *specs);
	const char **qfiles = calloc((size_t)argc + 1, sizeof *qfiles);
	struct fq_query **queries = calloc((size_t)argc + 1, sizeof *queries);
	char **names = calloc((size_t)argc + 1, sizeof *names);
	size_t n_specs = 0, n_q = 0;
	const char *out_path = NULL;
	struct fq_out *out = NULL;
	struct fq_engine *eng = NULL;
	struct fq_ingest ing;
	int ing_inited = 0, loop_inited = 0, out_fd = -1;
	uv_loop_t loop;
	char reason[512];
	int status = 2;

	if (!specs || !qfiles || !queries || !names) {
		fq_error("out of memory");
		status = 1;
		goto out;
	}
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s:o:h", longopts, NULL)) != -1) {
		int64_t *dur = NULL;
		int k = fq_cli_common_option(c, optarg, &cm, &lopts, reason,
					     sizeof reason);
		if (k < 0) {
			status = fq_cli_bad_usage(reason);
			goto out;
		}
		if (k > 0)
			continue;
		switch (c) {
		case 's': specs[n_specs++] = optarg; break;
		case 'o': out_path = optarg; break;
		case OPT_JSON: eo.json = 1; break;
		case OPT_NO_RECORDS: eo.no_records = 1; break;
		case OPT_COUNT: eo.count = 1; break;
		case OPT_BATCH: eo.batch = 1; break;
		case OPT_WINDOW: dur = &eo.window; break;
		case OPT_LATENESS: dur = &eo.lateness; break;
		case OPT_MAX_DURATION: dur = &eo.max_duration; break;
		case OPT_MAX_SKEW: dur = &eo.max_skew; break;
		case OPT_EXPORTER_IDLE: dur = &eo.exporter_idle; break;
		case OPT_EXEC: exec_cmd = optarg; break;
		case OPT_SCALE_SAMPLED: dopts.scale_sampled = 1; break;
		case OPT_MAX_STATE:
			if (fq_cli_parse_mib(optarg, &eo.max_state_bytes) < 0) {
				snprintf(reason, sizeof reason,
					 "run: --max-state: '%s' is not a number of MiB "
					 "(1 to %llu, e.g. 512)", optarg, FQ_CLI_MIB_MAX);
				status = fq_cli_bad_usage(reason);
				goto out;
			}
			break;
		case 'h':
			fq_cli_usage(stdout);
			status = 0;
			goto out;
		case ':':
			snprintf(reason, sizeof reason,
				 "run: option '%s' needs an argument", argv[optind - 1]);
			status = fq_cli_bad_usage(reason);
			goto out;
		default:
			snprintf(reason, sizeof reason, "run: unknown option '%s'",
				 argv[optind - 1]);
			status = fq_cli_bad_usage(reason);
			goto out;
		}
		if (dur && fq_cli_parse_duration(optarg, dur) < 0) {
			snprintf(reason, sizeof reason,
				 "run: '%s' is not a duration (use ms, s, min, h or inf, e.g. 90s)",
				 optarg);
			status = fq_cli_bad_usage(reason);
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		qfiles[n_q++] = argv[i];
	if (n_q == 0) {
		status = fq_cli_bad_usage("run: no query file given");
		goto out;
	}

	/* Compile every query; report all their diagnostics. */
	int errors = 0;
	for (size_t i = 0; i < n_q; i++) {
		struct fq_diag d;
		fq_diag_init(&d);
		int rc = fq_query_compile_file(&queries[i], qfiles[i], &d);
		fq_diag_print(&d, stderr);
		fq_diag_fini(&d);
		if (rc < 0)
			errors++;
	}
	if (errors) {
		status = 1;
		goto out;
	}

	/* Sources: -s, else the queries' input endpoints. */
	int from_query = n_specs == 0;
	if (n_specs == 0) {
		for (size_t i = 0; i < n_q; i++) {
			const struct fq_plan *p = fq_query_plan(queries[i]);
			for (size_t k = 0; k < p->ninputs; k++) {
				specs = realloc(specs, (n_specs + 2) * sizeof *specs);
				if (specs == NULL) {
					status = 1;
					goto out;
				}
				specs[n_specs++] = p->inputs[k].text;
			}
		}
		if (n_specs == 0) {
			status = fq_cli_bad_usage("run: no source: give one with -s");
			goto out;
		}
	}

	if (out_path) {
		out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			fq_error("%s: cannot open for writing", out_path);
			status = 1;
			goto out;
		}
	}
	out = malloc(sizeof *out);
	if (out == NULL) {
		status = 1;
		goto out;
	}
	fq_out_init(out, out_fd >= 0 ? out_fd : STDOUT_FILENO);
	eo.out = out;
	uv_loop_init(&loop);
	loop_inited = 1;
	if (exec_cmd) {
		if (fq_exec_hook_new(&rctx.hook, &loop, exec_cmd) < 0) {
			fq_error("--exec: out of memory");
			status = 1;
			goto out;
		}
		eo.exec_out = fq_exec_hook_out(rctx.hook);
	}
	if (fq_engine_new(&eng, &eo) < 0) {
		status = 1;
		goto out;
	}
	for (size_t i = 0; i < n_q; i++) {
		names[i] = query_name(qfiles[i]);
		if (names[i] == NULL ||
		    fq_engine_add_query(eng, names[i], fq_query_plan(queries[i])) < 0) {
			fq_error("out of memory");
			status = 1;
			goto out;
		}
	}
	rctx.eng = eng;

	fq_ingest_init(&ing, &loop, fq_engine_sink(eng));
	fq_cli_decoder_apply(&cm, &dopts);
	ing.decoder_opts = dopts;
	ing_inited = 1;
	status = fq_cli_add_sources(&ing, specs, n_specs, &cm, from_query);
	if (status != 0)
		goto out;
	status = fq_cli_loop_run(&loop, &ing, &lopts);
	if (out->err) {
		fq_error("cannot write output: %s", strerror(out->err));
		status = 1;
	}
out:
	if (ing_inited)
		fq_ingest_fini(&ing);
	if (rctx.hook) {
		/* Normally closed at the end of input; after an early error
		 * close it here and let the child see EOF. */
		fq_exec_hook_close(rctx.hook);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	if (loop_inited) {
		uv_run(&loop, UV_RUN_NOWAIT);
		uv_loop_close(&loop);
	}
	fq_exec_hook_free(rctx.hook);
	fq_engine_free(eng);
	if (queries)
		for (size_t i = 0; i < n_q; i++)
			fq_query_free(queries[i]);
	if (names)
		for (size_t i = 0; i < n_q; i++)
			free(names[i]);
	free(names);
	free(queries);
	free(qfiles);
	free(specs);
	free(out);
	if (out_fd >= 0)
		close(out_fd);
	fq_cli_allow_fini(&cm.allow);
	return status;
}
