/*
 * loop.h - the libuv loop shared by `flowq print` and `flowq run`:
 * signals (SIGINT/SIGTERM stop and flush, SIGUSR1 prints counters) and the
 * final status of a run.
 */
#ifndef FQ_CLI_LOOP_H
#define FQ_CLI_LOOP_H

#include "fq_ingest.h"

struct fq_cli_loop_opts {
	int stats;        /* print counters to stderr at exit */
	int stats_json;   /* ... as one JSON object */
	uint64_t stats_interval_ms;  /* also every so often (0: never) */
	/*
	 * Optional: counters beyond the ingest's (the engine's).  With JSON
	 * the output is {"ingest": ..., "engine": ...}.
	 */
	void (*extra_stats)(void *ctx, struct fq_out *o, int json);
	void *extra_ctx;
	/* Optional: called once when input has ended (all flushed). */
	void (*at_end)(void *ctx);
	void *at_end_ctx;
	/*
	 * Optional, for outputs (ctx out_ctx): `flush` hands what they hold
	 * to the operating system -- called when the loop is about to wait
	 * and every FQ_CLI_FLUSH_MS -- and `reopen` reopens their files on
	 * SIGHUP.
	 */
	void (*flush)(void *ctx);
	void (*reopen)(void *ctx);
	void *out_ctx;
	/* --grace: after SIGINT/SIGTERM, how long flushing may take before
	 * blocked output and the --exec hook are given up (INT64_MAX: no
	 * limit); read it with fq_cli_grace_ms(), which knows the default */
	int64_t grace_ms;
	int grace_set;
	/* --state-dir: the exporters' templates are restored from and
	 * saved to DIR/templates (NULL: not kept) */
	const char *state_dir;
	/* --user: who to become once the sources are bound (NULL: stay) */
	const char *user;
	/* Optional: the --metrics endpoint (metrics.h), rendered on the loop */
	struct fq_metrics *metrics;
};

/* --grace, or FQ_CLI_GRACE_MS when not given. */
int64_t fq_cli_grace_ms(const struct fq_cli_loop_opts *opts);

#define FQ_CLI_GRACE_MS 5000

/* --state-dir: how often changed templates are saved. */
#define FQ_CLI_TPL_SAVE_MS 10000

/* Most time output may wait in a buffer while the loop is busy. */
#define FQ_CLI_FLUSH_MS 50

/*
 * Start `ing` (already holding its sources) on `loop` and run until input
 * ends.  Once the sources are bound: opts->user is become, and a service
 * manager is told we are ready (service.h).  Returns the exit status of
 * SPEC section 7 (0 or 1).
 */
int fq_cli_loop_run(uv_loop_t *loop, struct fq_ingest *ing,
		    const struct fq_cli_loop_opts *opts);

/* Print the counters to stderr. */
void fq_cli_print_stats(struct fq_ingest *ing,
			const struct fq_cli_loop_opts *opts);
/* ... to o, as text or as the --stats-json object. */
void fq_cli_write_stats(struct fq_ingest *ing,
			const struct fq_cli_loop_opts *opts, struct fq_out *o,
			int json);

#endif
