/*
 * run_args.c - parsing `flowq run`'s command line and configuration file
 * (run_args.h).
 *
 * The getopt table is the run's own options, the options `print` shares
 * (opts.h) and one per row of the sink registry (pipeline/sinks.c); the
 * configuration file's keys are the same table's names (config.h).
 */
#include "run_args.h"
#include "commands.h"
#include "fq_error.h"
#include "fq_log.h"
#include "fq_source.h"
#include "match_sink.h"
#include "metrics.h"
#include "service.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_JSON = 256, OPT_NO_RECORDS, OPT_BATCH, OPT_WINDOW, OPT_LATENESS,
	OPT_MAX_DURATION, OPT_MAX_SKEW, OPT_EXPORTER_IDLE, OPT_SCALE_SAMPLED,
	OPT_MAX_STATE, OPT_EARLY, OPT_USER, OPT_METRICS, OPT_METRICS_EXPORTERS,
	OPT_SINK = 512,            /* + the registry row's index */
};

#define RUN_SHORTOPTS ":s:o:h"
/* Room in the getopt table: the fixed options and the registry's sinks. */
#define RUN_MAX_OPTS 128

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
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "metrics-exporters", required_argument, NULL,
		  OPT_METRICS_EXPORTERS },
		{ "user", required_argument, NULL, OPT_USER },
		FQ_CLI_COMMON_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
	};
	size_t n = sizeof fixed / sizeof fixed[0];
	_Static_assert(sizeof fixed / sizeof fixed[0] + FQ_RUN_MAX_SINKS <
		       RUN_MAX_OPTS, "the getopt table has room for every option");
	memcpy(lo, fixed, sizeof fixed);
	for (size_t i = 0; fq_sink_defs[i] && i < FQ_RUN_MAX_SINKS; i++) {
		const struct fq_sink_def *d = fq_sink_defs[i];
		lo[n++] = (struct option){ d->option,
			!d->arg ? no_argument : d->arg_ok ? optional_argument
			: required_argument, NULL, OPT_SINK + (int)i };
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* --metrics ADDR:PORT, --metrics-exporters N (metrics.h). */
static int
metrics_option(struct fq_run_args *a, int c)
{
	char reason[512], why[400], *end;
	if (c == OPT_METRICS) {
		a->metrics_addr = optarg;
		if (fq_metrics_check_addr(optarg, why, sizeof why) == 0)
			return 0;
		snprintf(reason, sizeof reason, "run: %s", why);
		return fq_cli_bad_usage(reason);
	}
	unsigned long long n = strtoull(optarg, &end, 10);
	if (*optarg >= '0' && *optarg <= '9' && *end == '\0' && n <= 1000000) {
		a->metrics_exporters = (size_t)n;
		return 0;
	}
	snprintf(reason, sizeof reason, "run: --metrics-exporters: '%s' is "
		 "not a number of exporters (0 to 1000000)", optarg);
	return fq_cli_bad_usage(reason);
}

/* One of the run's own options; 0, or the exit status (2, or 0 for
 * --help) with the reason reported. */
static int
run_option(struct fq_run_args *a, int c, int argc, char **argv)
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
	case OPT_USER:
		a->lopts.user = optarg;
		if (fq_service_user_check(optarg) == 0)
			return 0;
		snprintf(reason, sizeof reason, "run: --user: no user '%s'",
			 optarg);
		return fq_cli_bad_usage(reason);
	case OPT_MAX_STATE:
		if (fq_cli_parse_mib(optarg, &a->eo.max_state_bytes) == 0)
			return 0;
		snprintf(reason, sizeof reason,
			 "run: --max-state: '%s' is not a number of MiB "
			 "(1 to %llu, e.g. 512)", optarg, FQ_CLI_MIB_MAX);
		return fq_cli_bad_usage(reason);
	case OPT_METRICS:
	case OPT_METRICS_EXPORTERS:
		return metrics_option(a, c);
	case 'h':
		fq_cli_usage(stdout);
		return -1;
	case ':':
		snprintf(reason, sizeof reason,
			 "run: option '%s' needs an argument", argv[optind - 1]);
		return fq_cli_bad_usage(reason);
	default:
		if (c >= OPT_SINK && c < OPT_SINK + FQ_RUN_MAX_SINKS) {
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

/* Parse argv into *a; 0, or the exit status (-1: --help, exit 0).  A
 * word from the configuration file has its place in the file said with
 * any complaint about it (fq_cli_set_origin()). */
static int
parse_args(struct fq_run_args *a, int argc, char **argv)
{
	struct option longopts[RUN_MAX_OPTS];
	build_longopts(longopts);
	optind = 0;
	opterr = 0;
	int c, st = 0;
	/* Every word is looked at, so one check says every problem; the
	 * status is the first problem's (2 the command line, 1 the file). */
	while (st != -1 &&
	       (c = getopt_long(argc, argv, RUN_SHORTOPTS, longopts, NULL)) != -1) {
		const char *origin = fq_cli_conf_origin(&a->conf, optind - 1);
		fq_cli_set_origin(origin);
		char reason[512];
		int k = fq_cli_common_option(c, optarg, &a->cm, &a->lopts, reason,
					     sizeof reason);
		int r = k < 0 ? fq_cli_bad_usage(reason)
			: k == 0 ? run_option(a, c, argc, argv) : 0;
		if (c == 's' && r == 0)
			a->spec_origin[a->n_specs - 1] = origin;
		if (r == 2 && origin)
			r = 1;   /* the file's content, like a query error */
		if (st == 0 || r == -1)
			st = r;
	}
	fq_cli_set_origin(NULL);
	if (st == 0 && a->conf.errors)
		st = 1;
	for (int i = optind; st != -1 && i < argc; i++)
		a->qfiles[a->n_q++] = argv[i];
	if (st != 0)
		return st;
	if (a->n_q == 0)
		return fq_cli_bad_usage("run: no query file given");
	return 0;
}

/* argv with its --config file's words in front, into a->conf. */
static int
load_conf(struct fq_run_args *a, int argc, char **argv)
{
	const char *path;
	char **rest;
	int n;
	if (fq_cli_conf_find(argc, argv, &path, &rest, &n) < 0) {
		free(rest);
		return fq_cli_bad_usage("run: --config needs a file name");
	}
	struct option longopts[RUN_MAX_OPTS];
	build_longopts(longopts);
	static const char *const lists[] = { "source", "allow", NULL };
	int rc = fq_cli_conf_load(&a->conf, path, longopts, lists,
				  RUN_SHORTOPTS, n, rest, stderr);
	free(rest);
	return rc < 0 ? 1 : 0;
}

int
fq_run_args_parse(struct fq_run_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof *a);
	fq_engine_opts_default(&a->eo);
	a->metrics_exporters = FQ_METRICS_EXPORTERS;
	int st = load_conf(a, argc, argv);
	if (st != 0)
		return st;
	size_t n = (size_t)a->conf.argc + 1;
	a->specs = calloc(n, sizeof *a->specs);
	a->spec_origin = calloc(n, sizeof *a->spec_origin);
	a->qfiles = calloc(n, sizeof *a->qfiles);
	if (!a->specs || !a->spec_origin || !a->qfiles) {
		fq_error("out of memory");
		return 1;
	}
	return parse_args(a, a->conf.argc, a->conf.argv);
}

void
fq_run_args_fini(struct fq_run_args *a)
{
	free(a->qfiles);
	free(a->specs);
	free(a->spec_origin);
	fq_cli_allow_fini(&a->cm.allow);
	fq_cli_conf_fini(&a->conf);
	memset(a, 0, sizeof *a);
}

int
fq_run_args_check_sources(const struct fq_run_args *a)
{
	int bad = 0;
	for (size_t i = 0; i < a->n_specs; i++) {
		char why[512];
		if (fq_source_check(a->specs[i], why, sizeof why) == 0)
			continue;
		if (a->spec_origin[i])
			fprintf(stderr, "%s: error: %s\n", a->spec_origin[i], why);
		else
			fq_error("%s", why);
		bad = 1;
	}
	return bad;
}

int
fq_run_args_sources_from(struct fq_run_args *a,
			 const struct fq_run_queries *qs)
{
	if (a->n_specs)
		return 0;
	a->from_query = 1;
	for (size_t i = 0; i < qs->n; i++) {
		const struct fq_plan *p = fq_query_plan(qs->v[i].q);
		for (size_t k = 0; k < p->ninputs; k++) {
			size_t n = a->n_specs + 2;
			const char **v = realloc(a->specs, n * sizeof *v);
			if (v)
				a->specs = v;
			const char **o = realloc(a->spec_origin, n * sizeof *o);
			if (o)
				a->spec_origin = o;
			if (v == NULL || o == NULL) {
				fq_error("out of memory");
				return 1;
			}
			a->spec_origin[a->n_specs] = NULL;
			a->specs[a->n_specs++] = p->inputs[k].text;
		}
	}
	if (a->n_specs == 0)
		return fq_cli_bad_usage("run: no source: give one with -s");
	return 0;
}
