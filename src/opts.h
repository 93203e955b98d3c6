/*
 * opts.h - option values shared by the subcommands.
 */
#ifndef FQ_CLI_OPTS_H
#define FQ_CLI_OPTS_H

#include <stdint.h>

#include "fq_decoder.h"
#include "fq_ip.h"
#include "fq_source.h"
#include "fq_store.h"
#include "loop.h"

/* Owned storage behind fq_decoder_opts.allow/allow_len. */
struct fq_cli_allow {
	struct fq_ip *ips;
	uint8_t *lens;
	size_t n;
};

/* Parse "ADDR" or "ADDR/LEN" and append it; 0 or -FQ_EINVAL/-FQ_ENOMEM. */
int fq_cli_allow_add(struct fq_cli_allow *a, const char *arg);
void fq_cli_allow_fini(struct fq_cli_allow *a);

/*
 * A duration with a unit: "500ms", "90s", "90sec", "5min", "1h", "0" or
 * "inf" (INT64_MAX).  Bare numbers other than 0 are refused: on a command
 * line "900" is as likely meant in seconds as in milliseconds.
 */
int fq_cli_parse_duration(const char *s, int64_t *ms);

/*
 * A size in MiB, a plain decimal number from 1 to FQ_CLI_MIB_MAX (16 TiB:
 * far beyond any machine, and bytes still fit a size_t): "--max-state
 * 512".  Sets *bytes; 0 or -FQ_EINVAL (0, a sign, a unit, garbage).
 */
#define FQ_CLI_MIB_MAX (16ULL << 20)
int fq_cli_parse_mib(const char *s, size_t *bytes);

/*
 * Options `print` and `run` share.  Put FQ_CLI_COMMON_LONGOPTS in the
 * getopt_long() table and hand every option to fq_cli_common_option()
 * before the command's own switch.
 */
enum {
	FQ_CLI_OPT_STATS = 0x1000, FQ_CLI_OPT_STATS_JSON,
	FQ_CLI_OPT_STATS_INTERVAL, FQ_CLI_OPT_ALLOW, FQ_CLI_OPT_RECORD,
	FQ_CLI_OPT_RCVBUF, FQ_CLI_OPT_SPEED, FQ_CLI_OPT_IPFIX_DECODER,
	FQ_CLI_OPT_SESSION_IDLE, FQ_CLI_OPT_MAX_SESSIONS,
	FQ_CLI_OPT_MAX_SESSION_MEM,
	FQ_CLI_OPT_GRACE, FQ_CLI_OPT_STORE, FQ_CLI_OPT_STORE_ROTATE,
	FQ_CLI_OPT_STORE_MAX_AGE, FQ_CLI_OPT_STORE_MAX_SIZE, FQ_CLI_OPT_SINCE,
	FQ_CLI_OPT_UNTIL, FQ_CLI_OPT_STATE_DIR, FQ_CLI_OPT_TCP_IDLE,
	FQ_CLI_OPT_TCP_PROGRESS, FQ_CLI_OPT_TCP_MAX_PER_PEER,
};

/* --max-sessions at most: far more exporters than any network has. */
#define FQ_CLI_MAX_SESSIONS_MAX (1u << 24)

#define FQ_CLI_COMMON_LONGOPTS \
	{ "stats", no_argument, NULL, FQ_CLI_OPT_STATS }, \
	{ "stats-json", no_argument, NULL, FQ_CLI_OPT_STATS_JSON }, \
	{ "stats-interval", required_argument, NULL, FQ_CLI_OPT_STATS_INTERVAL }, \
	{ "allow", required_argument, NULL, FQ_CLI_OPT_ALLOW }, \
	{ "record", required_argument, NULL, FQ_CLI_OPT_RECORD }, \
	{ "rcvbuf", required_argument, NULL, FQ_CLI_OPT_RCVBUF }, \
	{ "speed", required_argument, NULL, FQ_CLI_OPT_SPEED }, \
	{ "ipfix-decoder", required_argument, NULL, FQ_CLI_OPT_IPFIX_DECODER }, \
	{ "session-idle", required_argument, NULL, FQ_CLI_OPT_SESSION_IDLE }, \
	{ "max-sessions", required_argument, NULL, FQ_CLI_OPT_MAX_SESSIONS }, \
	{ "max-session-mem", required_argument, NULL, \
	  FQ_CLI_OPT_MAX_SESSION_MEM }, \
	{ "grace", required_argument, NULL, FQ_CLI_OPT_GRACE }, \
	{ "store", required_argument, NULL, FQ_CLI_OPT_STORE }, \
	{ "state-dir", required_argument, NULL, FQ_CLI_OPT_STATE_DIR }, \
	{ "store-rotate", required_argument, NULL, FQ_CLI_OPT_STORE_ROTATE }, \
	{ "store-max-age", required_argument, NULL, FQ_CLI_OPT_STORE_MAX_AGE }, \
	{ "store-max-size", required_argument, NULL, FQ_CLI_OPT_STORE_MAX_SIZE }, \
	{ "since", required_argument, NULL, FQ_CLI_OPT_SINCE }, \
	{ "until", required_argument, NULL, FQ_CLI_OPT_UNTIL }, \
	{ "tcp-idle", required_argument, NULL, FQ_CLI_OPT_TCP_IDLE }, \
	{ "tcp-progress", required_argument, NULL, FQ_CLI_OPT_TCP_PROGRESS }, \
	{ "tcp-max-per-peer", required_argument, NULL, \
	  FQ_CLI_OPT_TCP_MAX_PER_PEER }

struct fq_cli_common {
	struct fq_cli_allow allow;     /* --allow */
	const char *record_path;       /* --record, borrowed from argv */
	/* --rcvbuf, --speed, --since, --until, --tcp-* */
	struct fq_source_opts source;
	struct fq_store_opts store;    /* --store, --store-* */
	enum fq_ipfix_decoder ipfix;   /* --ipfix-decoder */
	/* Exporter sessions; 0 = the decoder's default. */
	int64_t session_idle_ms;       /* --session-idle */
	size_t max_sessions;           /* --max-sessions */
	size_t max_session_bytes;      /* --max-session-mem */
};

/*
 * Returns 1 if `c` was a common option and is applied (to *cm or *lo), 0
 * if it is not one, -1 on a bad value with a one-line reason in `reason`.
 */
int fq_cli_common_option(int c, const char *arg, struct fq_cli_common *cm,
			 struct fq_cli_loop_opts *lo, char *reason,
			 size_t reason_len);

/*
 * The decoder options of *cm (--allow, --ipfix-decoder, --session-idle,
 * --max-sessions, --max-session-mem) into *o.
 */
void fq_cli_decoder_apply(const struct fq_cli_common *cm,
			  struct fq_decoder_opts *o);

/*
 * Add the sources to `ing`, with the source options of *cm, and open the
 * --record capture and the --store directory.  Returns 0, or
 * the exit status after reporting why: 2 for a bad spelling (or, with
 * `from_query`, a query endpoint flowq cannot read: the user must give -s),
 * 1 for a source or capture that cannot be opened.
 */
int fq_cli_add_sources(struct fq_ingest *ing, const char *const *specs,
		       size_t n, const struct fq_cli_common *cm, int from_query);

#endif
