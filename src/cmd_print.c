/*
 * cmd_print.c - `flowq print`: decode sources and print their records.
 *
 * The printer is just another sink on the ingest path, so what `print`
 * shows is exactly what the query pipeline of `flowq run` receives, with
 * the same rec_ids.
 */
#include "commands.h"
#include "fq_error.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_ip.h"
#include "fq_log.h"
#include "fq_out.h"
#include "loop.h"
#include "opts.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum print_mode { MODE_TEXT, MODE_JSON, MODE_COUNT };

struct print_sink {
	struct fq_sink base;
	enum print_mode mode;
	uint64_t count;
	int header_done;
	struct fq_out *out;   /* owned (heap: it holds a large buffer) */
};

static int
out_status(struct print_sink *ps)
{
	return ps->out->err ? -FQ_EIO : 0;
}

static int
print_records(struct fq_sink *sink, const struct fq_record *recs, size_t n)
{
	struct print_sink *ps = (struct print_sink *)sink;
	ps->count += n;
	switch (ps->mode) {
	case MODE_COUNT:
		return 0;
	case MODE_JSON:
		for (size_t i = 0; i < n; i++)
			fq_format_json_line(ps->out, &recs[i]);
		break;
	case MODE_TEXT:
		if (!ps->header_done) {
			fq_format_text_header(ps->out);
			ps->header_done = 1;
		}
		for (size_t i = 0; i < n; i++)
			fq_format_text_line(ps->out, &recs[i], "");
		break;
	}
	return out_status(ps);
}

static int
print_finish(struct fq_sink *sink)
{
	struct print_sink *ps = (struct print_sink *)sink;
	if (ps->mode == MODE_COUNT)
		fq_out_printf(ps->out, "%llu\n", (unsigned long long)ps->count);
	fq_out_flush(ps->out);
	return out_status(ps);
}

/* Delivery (SPEC section 6): the loop hands printed records to the
 * operating system when it goes idle and every FQ_CLI_FLUSH_MS. */
static void
print_flush(void *ctx)
{
	struct print_sink *ps = ctx;
	if (ps->out && ps->out->len)
		fq_out_flush(ps->out);
}

enum { OPT_JSON = 256, OPT_COUNT };

int
fq_cmd_print(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "count", no_argument, NULL, OPT_COUNT },
		FQ_CLI_COMMON_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct print_sink ps = {
		.base = { print_records, print_finish },
		.mode = MODE_TEXT,
	};
	struct fq_cli_loop_opts lopts = { .flush = print_flush, .out_ctx = &ps };
	const char **specs = calloc((size_t)argc, sizeof *specs);
	size_t n_specs = 0;
	struct fq_cli_common cm;
	memset(&cm, 0, sizeof cm);
	struct fq_decoder_opts dopts;
	memset(&dopts, 0, sizeof dopts);
	int status = 2;
	char reason[512];
	uv_loop_t loop;
	int loop_inited = 0;
	struct fq_ingest ing;
	int ing_inited = 0;

	if (specs == NULL) {
		fq_error("out of memory");
		return 1;
	}
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":s:h", longopts, NULL)) != -1) {
		int k = fq_cli_common_option(c, optarg, &cm, &lopts, reason,
					     sizeof reason);
		if (k < 0) {
			status = fq_cli_bad_usage(reason);
			goto out;
		}
		if (k > 0)
			continue;
		switch (c) {
		case 's':
			specs[n_specs++] = optarg;
			break;
		case OPT_JSON:
			ps.mode = MODE_JSON;
			break;
		case OPT_COUNT:
			ps.mode = MODE_COUNT;
			break;
		case 'h':
			fq_cli_usage(stdout);
			status = 0;
			goto out;
		case ':':
			snprintf(reason, sizeof reason,
				 "print: option '%s' needs an argument",
				 argv[optind - 1]);
			status = fq_cli_bad_usage(reason);
			goto out;
		default:
			snprintf(reason, sizeof reason,
				 "print: unknown option '%s'", argv[optind - 1]);
			status = fq_cli_bad_usage(reason);
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		specs[n_specs++] = argv[i];
	if (n_specs == 0) {
		status = fq_cli_bad_usage("print: no source given");
		goto out;
	}

	ps.out = malloc(sizeof *ps.out);
	if (ps.out == NULL) {
		fq_error("out of memory");
		status = 1;
		goto out;
	}
	fq_out_init(ps.out, STDOUT_FILENO);
	uv_loop_init(&loop);
	loop_inited = 1;
	fq_ingest_init(&ing, &loop, &ps.base);
	fq_cli_decoder_apply(&cm, &dopts);
	ing.decoder_opts = dopts;
	ing_inited = 1;
	status = fq_cli_add_sources(&ing, specs, n_specs, &cm, 0);
	if (status != 0)
		goto out;
	status = fq_cli_loop_run(&loop, &ing, &lopts);
	if (ps.out->err) {
		fq_error("cannot write output: %s", fq_out_strerror(ps.out->err));
		status = 1;
	}
out:
	if (ing_inited)
		fq_ingest_fini(&ing);
	if (loop_inited) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (uv_loop_close(&loop) != 0)
			fq_debug("event loop still had handles at exit");
	}
	free(ps.out);
	fq_cli_allow_fini(&cm.allow);
	free(specs);
	return status;
}
