/*
 * counters.c - the per-exporter counters as `flowq` prints them (text
 * lines or JSON), and the decoder-wide totals the accounting identity of
 * docs/decoders.md is checked on.
 */
#include "exporter.h"
#include "fq_out.h"

const char *const fq__mal_names[FQ__MAL_COUNT] = {
	[FQ__MAL_SHORT] = "short",
	[FQ__MAL_VERSION] = "version",
	[FQ__MAL_V5_COUNT] = "v5_count",
	[FQ__MAL_V5_LENGTH] = "v5_length",
	[FQ__MAL_LENGTH] = "length",
	[FQ__MAL_SET_LENGTH] = "set_length",
	[FQ__MAL_SET_ID] = "set_id",
	[FQ__MAL_TEMPLATE] = "template",
	[FQ__MAL_RECORD] = "record",
	[FQ__MAL_DOMAIN_LIMIT] = "domain_limit",
	[FQ__MAL_LIBFIXBUF] = "libfixbuf",
	[FQ__MAL_NO_MEMORY] = "no_memory",
};

const char *const fq__anom_names[FQ__ANOM_COUNT] = {
	[FQ__ANOM_V5_COUNT] = "v5_count_mismatch",
	[FQ__ANOM_V9_COUNT] = "v9_count_mismatch",
	[FQ__ANOM_LENGTH] = "length_mismatch",
	[FQ__ANOM_TIME_INVALID] = "time_invalid",
	[FQ__ANOM_TIME_PAST] = "time_before_1990",
	[FQ__ANOM_TIME_FUTURE] = "time_future",
	[FQ__ANOM_NEG_DURATION] = "negative_duration",
};

/* The anomalies: JSON `"anomalies":N,"anomalies_by_reason":{...}`, text
 * ` anomalies N a=n ...`. */
static void
print_anomalies(const struct fq_exporter *ex, struct fq_out *o, int json)
{
	uint64_t n = 0;
	for (int i = 0; i < FQ__ANOM_COUNT; i++)
		n += ex->anomalies[i];
	fq_out_printf(o, json ? ",\"anomalies\":%llu,\"anomalies_by_reason\":{"
			      : " anomalies %llu", (unsigned long long)n);
	int first = 1;
	for (int i = 0; i < FQ__ANOM_COUNT; i++) {
		if (ex->anomalies[i] == 0)
			continue;
		fq_out_printf(o, json ? "%s\"%s\":%llu" : "%s%s=%llu",
			      json ? (first ? "" : ",") : " ",
			      fq__anom_names[i],
			      (unsigned long long)ex->anomalies[i]);
		first = 0;
	}
	fq_out_printf(o, json ? "},\"exporter_restarts\":%llu"
			      : " exporter_restarts %llu",
		      (unsigned long long)ex->restarts);
}

static void
print_one(const struct fq_exporter *ex, struct fq_out *o, int json)
{
	char ip[FQ_IP_STRLEN];
	fq_ip_format(&ex->ip, ip);
	uint64_t mal = 0;
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		mal += ex->malformed[i];
	if (json) {
		fq_out_printf(o,
			"{\"exporter\":\"%s\",\"port\":%u,\"socket\":%u,"
			"\"datagrams\":%llu,\"decoded\":%llu,"
			"\"records\":%llu,"
			"\"options_records\":%llu,\"malformed\":%llu,"
			"\"malformed_by_reason\":{",
			ip, ex->port, ex->local_id,
			(unsigned long long)ex->datagrams,
			(unsigned long long)ex->decoded,
			(unsigned long long)ex->records,
			(unsigned long long)ex->options_records,
			(unsigned long long)mal);
		int first = 1;
		for (int i = 0; i < FQ__MAL_COUNT; i++) {
			if (ex->malformed[i] == 0)
				continue;
			fq_out_printf(o, "%s\"%s\":%llu", first ? "" : ",",
				      fq__mal_names[i],
				      (unsigned long long)ex->malformed[i]);
			first = 0;
		}
		fq_out_printf(o,
			"},\"unknown_template_records\":%llu,"
			"\"unknown_template_sets\":%llu,"
			"\"sequence_lost\":%llu,\"sequence_resets\":%llu,"
			"\"templates_active\":%u,\"templates_refused\":%llu,"
			"\"templates_expired\":%llu,"
			"\"templates_withdrawn\":%llu,\"domains\":%u",
			(unsigned long long)ex->unknown_tpl_records,
			(unsigned long long)ex->unknown_tpl_sets,
			(unsigned long long)ex->seq_lost,
			(unsigned long long)ex->seq_resets,
			ex->n_templates,
			(unsigned long long)ex->templates_refused,
			(unsigned long long)ex->templates_expired,
			(unsigned long long)ex->templates_withdrawn,
			ex->n_domains);
		print_anomalies(ex, o, 1);
		fq_out_str(o, ",\"by_domain\":[");
		for (const struct fq__domain *d = ex->domains; d; d = d->next)
			fq_out_printf(o, "{\"domain\":\"%u\",\"records\":%llu}%s",
				      d->id, (unsigned long long)d->records,
				      d->next ? "," : "");
		fq_out_str(o, "]}");
		return;
	}
	fq_out_printf(o,
		"exporter %s port %u socket %u: datagrams %llu decoded %llu "
		"records %llu options %llu malformed %llu",
		ip, ex->port, ex->local_id,
		(unsigned long long)ex->datagrams,
		(unsigned long long)ex->decoded,
		(unsigned long long)ex->records,
		(unsigned long long)ex->options_records,
		(unsigned long long)mal);
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		if (ex->malformed[i])
			fq_out_printf(o, " %s=%llu", fq__mal_names[i],
				      (unsigned long long)ex->malformed[i]);
	fq_out_printf(o,
		" unknown_template_records %llu sequence_lost %llu "
		"sequence_resets %llu templates %u refused %llu expired %llu "
		"withdrawn %llu",
		(unsigned long long)ex->unknown_tpl_records,
		(unsigned long long)ex->seq_lost,
		(unsigned long long)ex->seq_resets, ex->n_templates,
		(unsigned long long)ex->templates_refused,
		(unsigned long long)ex->templates_expired,
		(unsigned long long)ex->templates_withdrawn);
	print_anomalies(ex, o, 0);
	fq_out_str(o, "\n");
}

void
fq__print_stats(const struct fq__sessions *s, struct fq_out *o, int json)
{
	if (json) {
		fq_out_str(o, "[");
		const struct fq_exporter *ex;
		for (ex = s->head; ex; ex = ex->next) {
			print_one(ex, o, 1);
			if (ex->next)
				fq_out_str(o, ",");
		}
		fq_out_str(o, "]");
		return;
	}
	for (const struct fq_exporter *ex = s->head; ex; ex = ex->next)
		print_one(ex, o, 0);
	fq_out_printf(o,
		"exporters: %zu active, %llu expired (datagrams %llu records "
		"%llu malformed %llu), refused datagrams %llu, dropped by "
		"session limit %llu, dropped for lack of memory %llu\n",
		s->n_sessions, (unsigned long long)s->expired_sessions,
		(unsigned long long)s->gone_datagrams,
		(unsigned long long)s->gone_records,
		(unsigned long long)s->gone_malformed,
		(unsigned long long)s->refused,
		(unsigned long long)s->session_limit,
		(unsigned long long)s->no_memory);
}

/*
 * Decoder-wide totals, expired sessions included, as one JSON object.
 * decoded, malformed, refused, session_limit and no_memory are counted
 * where they happen, independently of `datagrams`, so that their sum
 * equalling `datagrams` is a real check (docs/decoders.md, "Accounting").
 */
void
fq__print_totals(const struct fq__sessions *s, struct fq_out *o)
{
	if (s == NULL) {
		/* No datagram yet: the decoder is created with the first. */
		fq_out_str(o, "{\"datagrams\":0,\"decoded\":0,\"malformed\":0,"
			   "\"refused\":0,\"session_limit\":0,"
			   "\"no_memory\":0,\"records\":0,"
			   "\"exporters_active\":0,\"exporters_expired\":0}");
		return;
	}
	uint64_t decoded = s->gone_decoded, malformed = s->gone_malformed;
	uint64_t records = s->gone_records;
	for (const struct fq_exporter *ex = s->head; ex; ex = ex->next) {
		decoded += ex->decoded;
		records += ex->records;
		for (int i = 0; i < FQ__MAL_COUNT; i++)
			malformed += ex->malformed[i];
	}
	fq_out_printf(o,
		"{\"datagrams\":%llu,\"decoded\":%llu,\"malformed\":%llu,"
		"\"refused\":%llu,\"session_limit\":%llu,"
		"\"no_memory\":%llu,\"records\":%llu,"
		"\"exporters_active\":%zu,\"exporters_expired\":%llu}",
		(unsigned long long)s->datagrams,
		(unsigned long long)decoded,
		(unsigned long long)malformed,
		(unsigned long long)s->refused,
		(unsigned long long)s->session_limit,
		(unsigned long long)s->no_memory,
		(unsigned long long)records,
		s->n_sessions,
		(unsigned long long)s->expired_sessions);
}
