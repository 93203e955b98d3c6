/*
 * opts.c - parsing of option values shared by `print` and `run`.
 */
#include "opts.h"
#include "fq_decoder.h"
#include "fq_error.h"
#include "fq_time.h"

#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_source.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fq_cli_allow_add(struct fq_cli_allow *a, const char *arg)
{
	const char *slash = strchr(arg, '/');
	size_t alen = slash ? (size_t)(slash - arg) : strlen(arg);
	struct fq_ip ip;
	if (fq_ip_parse(arg, alen, &ip) < 0)
		return -FQ_EINVAL;
	unsigned len = ip.is6 ? 128 : 32;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0' || v > len)
			return -FQ_EINVAL;
		len = (unsigned)v;
	}
	struct fq_ip *ni = realloc(a->ips, (a->n + 1) * sizeof *ni);
	if (ni == NULL)
		return -FQ_ENOMEM;
	a->ips = ni;
	uint8_t *nl = realloc(a->lens, a->n + 1);
	if (nl == NULL)
		return -FQ_ENOMEM;
	a->lens = nl;
	ni[a->n] = ip;
	nl[a->n] = (uint8_t)len;
	a->n++;
	return 0;
}

void
fq_cli_decoder_apply(const struct fq_cli_common *cm,
		     struct fq_decoder_opts *o)
{
	o->allow = cm->allow.ips;
	o->allow_len = cm->allow.lens;
	o->n_allow = cm->allow.n;
	o->ipfix = cm->ipfix;
	o->exporter_idle_ms = cm->session_idle_ms;
	o->max_sessions = cm->max_sessions;
	o->max_session_bytes = cm->max_session_bytes;
}

void
fq_cli_allow_fini(struct fq_cli_allow *a)
{
	free(a->ips);
	free(a->lens);
	memset(a, 0, sizeof *a);
}

int
fq_cli_parse_duration(const char *s, int64_t *ms)
{
	return fq_time_parse_duration(s, ms);
}

int
fq_cli_parse_mib(const char *s, size_t *bytes)
{
	/* strtoull would take " 5", "+5" and "-5" (as a huge number). */
	if (*s < '0' || *s > '9')
		return -FQ_EINVAL;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0' || v == 0 || v > FQ_CLI_MIB_MAX ||
	    v > (unsigned long long)(SIZE_MAX >> 20))
		return -FQ_EINVAL;
	*bytes = (size_t)v << 20;
	return 0;
}

/* The exporter session options (part of fq_cli_common_option). */
static int
session_option(int c, const char *arg, struct fq_cli_common *cm,
	       char *reason, size_t reason_len)
{
	char *end;
	switch (c) {
	case FQ_CLI_OPT_SESSION_IDLE:
		if (fq_cli_parse_duration(arg, &cm->session_idle_ms) < 0 ||
		    cm->session_idle_ms <= 0) {
			snprintf(reason, reason_len, "--session-idle: '%s' is not "
				 "a duration above 0 (e.g. 30min, 90s, inf)", arg);
			return -1;
		}
		return 1;
	case FQ_CLI_OPT_MAX_SESSIONS: {
		unsigned long long v = strtoull(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || v == 0 ||
		    v > FQ_CLI_MAX_SESSIONS_MAX) {
			snprintf(reason, reason_len, "--max-sessions: '%s' is not "
				 "a number of sessions (1 to %u)", arg,
				 FQ_CLI_MAX_SESSIONS_MAX);
			return -1;
		}
		cm->max_sessions = (size_t)v;
		return 1;
	}
	case FQ_CLI_OPT_MAX_SESSION_MEM:
		if (fq_cli_parse_mib(arg, &cm->max_session_bytes) < 0) {
			snprintf(reason, reason_len, "--max-session-mem: '%s' is "
				 "not a size in MiB (1 to %llu)", arg,
				 (unsigned long long)FQ_CLI_MIB_MAX);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* --store and its settings, --since and --until (collector/store/). */
static int
store_option(int c, const char *arg, struct fq_cli_common *cm, char *reason,
	     size_t reason_len)
{
	struct fq_store_opts *so = &cm->store;
	struct fq_source_opts *src = &cm->source;
	size_t mib;
	int64_t d;
	switch (c) {
	case FQ_CLI_OPT_STORE:
		so->dir = arg;
		return 1;
	case FQ_CLI_OPT_STORE_ROTATE:
		if (fq_time_parse_duration(arg, &d) < 0 || d < 1000 ||
		    d % 1000 != 0 || d > 86400000) {
			snprintf(reason, reason_len, "--store-rotate: '%s' is not "
				 "whole seconds from 1s to 24h (e.g. 5min)", arg);
			return -1;
		}
		so->rotate_ms = d;
		return 1;
	case FQ_CLI_OPT_STORE_MAX_AGE:
		if (fq_time_parse_duration(arg, &d) < 0 || d <= 0) {
			snprintf(reason, reason_len, "--store-max-age: '%s' is not "
				 "a duration (e.g. 168h, 30min)", arg);
			return -1;
		}
		so->max_age_ms = d == INT64_MAX ? 0 : d;
		return 1;
	case FQ_CLI_OPT_STORE_MAX_SIZE:
		if (fq_cli_parse_mib(arg, &mib) < 0) {
			snprintf(reason, reason_len, "--store-max-size: '%s' is not "
				 "a number of MiB (1 to %llu)", arg, FQ_CLI_MIB_MAX);
			return -1;
		}
		so->max_bytes = mib;
		return 1;
	}
	int64_t *t = c == FQ_CLI_OPT_SINCE ? &src->since_ms : &src->until_ms;
	if (fq_store_parse_time(arg, t) < 0) {
		snprintf(reason, reason_len, "--%s: '%s' is not a time (RFC 3339, "
			 "e.g. 2026-12-07T21:00:00Z, or seconds since the epoch)",
			 c == FQ_CLI_OPT_SINCE ? "since" : "until", arg);
		return -1;
	}
	*(c == FQ_CLI_OPT_SINCE ? &src->has_since : &src->has_until) = 1;
	return 1;
}

/* The options of tcp:// sources (collector/transport/source_tcp.c). */
static int
tcp_option(int c, const char *arg, struct fq_cli_common *cm, char *reason,
	   size_t reason_len)
{
	char *end;
	if (c != FQ_CLI_OPT_TCP_MAX_PER_PEER) {
		int64_t ms;
		const char *name = c == FQ_CLI_OPT_TCP_IDLE ? "--tcp-idle"
							    : "--tcp-progress";
		if (fq_cli_parse_duration(arg, &ms) < 0) {
			snprintf(reason, reason_len, "%s: '%s' is not a duration "
				 "(e.g. 90s, 10min; 0 or inf: never)", name, arg);
			return -1;
		}
		/* In the source options 0 means "the default". */
		if (ms == 0)
			ms = FQ_TCP_NEVER;
		if (c == FQ_CLI_OPT_TCP_IDLE)
			cm->source.tcp_idle_ms = ms;
		else
			cm->source.tcp_progress_ms = ms;
		return 1;
	}
	unsigned long v = strtoul(arg, &end, 10);
	if (*end != '\0' || end == arg || arg[0] < '0' || arg[0] > '9' ||
	    v == 0 || v > FQ_TCP_MAX_CONN) {
		snprintf(reason, reason_len, "--tcp-max-per-peer: '%s' is "
			 "not a number of connections (1 to %d)", arg,
			 FQ_TCP_MAX_CONN);
		return -1;
	}
	cm->source.tcp_max_per_peer = (unsigned)v;
	return 1;
}

int
fq_cli_common_option(int c, const char *arg, struct fq_cli_common *cm,
		     struct fq_cli_loop_opts *lo, char *reason,
		     size_t reason_len)
{
	char *end;
	switch (c) {
	case FQ_CLI_OPT_STATS:
		lo->stats = 1;
		return 1;
	case FQ_CLI_OPT_STATS_JSON:
		lo->stats = 1;
		lo->stats_json = 1;
		return 1;
	case FQ_CLI_OPT_STATS_INTERVAL: {
		unsigned long v = strtoul(arg, &end, 10);
		if (*end != '\0' || end == arg || v == 0 || v > 86400) {
			snprintf(reason, reason_len, "--stats-interval: '%s' is "
				 "not a number of seconds (1 to 86400)", arg);
			return -1;
		}
		lo->stats_interval_ms = (uint64_t)v * 1000;
		return 1;
	}
	case FQ_CLI_OPT_ALLOW:
		if (fq_cli_allow_add(&cm->allow, arg) < 0) {
			snprintf(reason, reason_len,
				 "--allow: '%s' is not an address or prefix", arg);
			return -1;
		}
		return 1;
	case FQ_CLI_OPT_RECORD:
		cm->record_path = arg;
		return 1;
	case FQ_CLI_OPT_RCVBUF: {
		unsigned long long v = strtoull(arg, &end, 10);
		if (*end != '\0' || end == arg || v == 0 || v > (1ULL << 31)) {
			snprintf(reason, reason_len, "--rcvbuf: '%s' is not a size "
				 "in bytes (1 to 2147483648)", arg);
			return -1;
		}
		cm->source.udp_rcvbuf = (size_t)v;
		return 1;
	}
	case FQ_CLI_OPT_SPEED: {
		double x = strtod(arg, &end);
		if (*end != '\0' || end == arg || !(x >= 0) || x > 1e9) {
			snprintf(reason, reason_len, "--speed: '%s' is not a factor "
				 "(e.g. 1, 10, 0.5; 0 = as fast as possible)", arg);
			return -1;
		}
		cm->source.replay_speed = x;
		return 1;
	}
	case FQ_CLI_OPT_TCP_IDLE:
	case FQ_CLI_OPT_TCP_PROGRESS:
	case FQ_CLI_OPT_TCP_MAX_PER_PEER:
		return tcp_option(c, arg, cm, reason, reason_len);
	case FQ_CLI_OPT_STATE_DIR:
		if (*arg == '\0') {
			snprintf(reason, reason_len, "--state-dir needs a "
				 "directory");
			return -1;
		}
		lo->state_dir = arg;
		return 1;
	case FQ_CLI_OPT_GRACE:
		if (fq_time_parse_duration(arg, &lo->grace_ms) < 0) {
			snprintf(reason, reason_len, "--grace: '%s' is not a "
				 "duration (use ms, s, min, h or inf, e.g. 5s)", arg);
			return -1;
		}
		lo->grace_set = 1;
		return 1;
	case FQ_CLI_OPT_STORE:
	case FQ_CLI_OPT_STORE_ROTATE:
	case FQ_CLI_OPT_STORE_MAX_AGE:
	case FQ_CLI_OPT_STORE_MAX_SIZE:
	case FQ_CLI_OPT_SINCE:
	case FQ_CLI_OPT_UNTIL:
		return store_option(c, arg, cm, reason, reason_len);
	case FQ_CLI_OPT_IPFIX_DECODER:
		if (strcmp(arg, "libfixbuf") == 0) {
			cm->ipfix = FQ_IPFIX_LIBFIXBUF;
		} else if (strcmp(arg, "native") == 0) {
			cm->ipfix = FQ_IPFIX_NATIVE;
		} else {
			snprintf(reason, reason_len, "--ipfix-decoder: '%s' is "
				 "not libfixbuf or native", arg);
			return -1;
		}
		return 1;
	}
	return session_option(c, arg, cm, reason, reason_len);
}

int
fq_cli_add_sources(struct fq_ingest *ing, const char *const *specs, size_t n,
		   const struct fq_cli_common *cm, int from_query)
{
	char reason[512];
	for (size_t i = 0; i < n; i++) {
		int rc = fq_ingest_add(ing, specs[i], &cm->source, reason,
				       sizeof reason);
		if (rc < 0 && from_query) {
			/* The Flowy files name HDF5 files as their input. */
			fprintf(stderr, "flowq: the query's input \"%s\" cannot be "
				"read (%s); give the sources with -s\n", specs[i],
				reason);
			return 2;
		}
		if (rc == -FQ_EINVAL || rc == -FQ_EUNSUP)
			return fq_cli_bad_usage(reason);
		if (rc < 0) {
			fq_error("%s", reason);
			return 1;
		}
	}
	if (cm->record_path &&
	    fq_ingest_record_to(ing, cm->record_path, reason, sizeof reason) < 0) {
		fq_error("%s", reason);
		return 1;
	}
	if (cm->store.dir &&
	    fq_ingest_store_to(ing, &cm->store, reason, sizeof reason) < 0) {
		fq_error("%s", reason);
		return 1;
	}
	return 0;
}
