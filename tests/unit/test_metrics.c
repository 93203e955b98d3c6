/*
 * test_metrics.c - the --stats-json to Prometheus text translation
 * (src/metrics_render.c) on hand-written JSON: the generic names and
 * types, label escaping, the exporter cap's folding, the histogram's
 * cumulative buckets, and JSON it must refuse.
 *
 *   test-metrics CASE     (types, escape, fold, histogram, corrupt)
 */
#include "check.h"
#include "fq_error.h"
#include "metrics_render.h"

#include <stdlib.h>
#include <string.h>

static char *
render(const char *json, size_t cap)
{
	char *out = NULL;
	size_t len = 0;
	int rc = fq_metrics_render(json, strlen(json), cap, &out, &len);
	CHECK(rc == 0, "render failed (%d) on %s", rc, json);
	CHECK(out == NULL || strlen(out) == len, "length %zu", len);
	return out;
}

/* `line` is a whole line of `text`. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

#define HAS(text, line) CHECK(has_line(text, line), "no line '%s' in:\n%s", \
			      line, text)

static void
case_types(void)
{
	char *t = render("{\"engine\":{\"records\":12,\"new_counter\":3,"
			 "\"stream_lag_ms\":1500,\"state_bytes\":4096,"
			 "\"flag\":true,\"unknown\":null,"
			 "\"big\":18446744073709551615}}\n", 100);
	if (!t)
		return;
	HAS(t, "# TYPE flowq_engine_records_total counter");
	HAS(t, "flowq_engine_records_total 12");
	/* a counter nobody listed: the generic rules, HELP with its path */
	HAS(t, "# HELP flowq_engine_new_counter_total "
	       "(--stats-json engine.new_counter)");
	HAS(t, "flowq_engine_new_counter_total 3");
	HAS(t, "# TYPE flowq_stream_lag_seconds gauge");
	HAS(t, "flowq_stream_lag_seconds 1.5");
	HAS(t, "# TYPE flowq_state_bytes gauge");
	HAS(t, "flowq_state_bytes 4096");
	HAS(t, "# TYPE flowq_engine_flag gauge");
	HAS(t, "flowq_engine_flag 1");
	CHECK(strstr(t, "unknown") == NULL, "null became a sample:\n%s", t);
	HAS(t, "flowq_engine_big_total 18446744073709551615");
	free(t);
}

static void
case_escape(void)
{
	char *t = render("{\"engine\":{\"queries\":[{\"query\":"
			 "\"a\\\"b\\\\c\\nd\",\"matches\":5}]}}", 100);
	if (!t)
		return;
	HAS(t, "flowq_query_matches_total{query=\"a\\\"b\\\\c\\nd\"} 5");
	free(t);
}

static void
case_fold(void)
{
	static const char json[] =
		"{\"ingest\":{\"exporters\":["
		"{\"exporter\":\"192.0.2.1\",\"port\":5,\"socket\":0,"
		" \"records\":10,\"datagrams\":1,"
		" \"malformed_by_reason\":{\"short\":2},"
		" \"by_domain\":[{\"domain\":\"0\",\"records\":10}]},"
		"{\"exporter\":\"2001:db8::1\",\"port\":6,\"socket\":0,"
		" \"records\":40,\"datagrams\":2,\"malformed_by_reason\":{},"
		" \"by_domain\":[{\"domain\":\"1\",\"records\":30},"
		"               {\"domain\":\"2\",\"records\":10}]},"
		"{\"exporter\":\"192.0.2.3\",\"port\":7,\"socket\":0,"
		" \"records\":20,\"datagrams\":4,"
		" \"malformed_by_reason\":{\"short\":1,\"length\":1},"
		" \"by_domain\":[{\"domain\":\"0\",\"records\":20}]},"
		"{\"exporter\":\"192.0.2.4\",\"port\":8,\"socket\":0,"
		" \"records\":5,\"datagrams\":8,\"malformed_by_reason\":{},"
		" \"by_domain\":[{\"domain\":\"0\",\"records\":5}]}]}}";
	char *t = render(json, 2);
	if (!t)
		return;
	/* kept: the two with most records; the rest summed into "other" */
	HAS(t, "flowq_exporter_records_total{exporter=\"[2001:db8::1]:6\","
	       "domain=\"1\"} 30");
	HAS(t, "flowq_exporter_records_total{exporter=\"[2001:db8::1]:6\","
	       "domain=\"2\"} 10");
	HAS(t, "flowq_exporter_records_total{exporter=\"192.0.2.3:7\","
	       "domain=\"0\"} 20");
	HAS(t, "flowq_exporter_records_total{exporter=\"other\","
	       "domain=\"other\"} 15");
	HAS(t, "flowq_exporter_datagrams_total{exporter=\"other\"} 9");
	HAS(t, "flowq_malformed_total{exporter=\"other\",reason=\"short\"} 2");
	HAS(t, "flowq_malformed_total{exporter=\"192.0.2.3:7\","
	       "reason=\"length\"} 1");
	CHECK(strstr(t, "192.0.2.1") == NULL && strstr(t, "192.0.2.4") == NULL,
	      "a folded exporter kept its label:\n%s", t);
	CHECK(strstr(t, "socket") == NULL && strstr(t, "_port") == NULL,
	      "port or socket became a sample:\n%s", t);
	free(t);
	t = render(json, 0);
	if (t)
		HAS(t, "flowq_exporter_datagrams_total{exporter=\"other\"} 15");
	free(t);
}

static void
case_histogram(void)
{
	char *t = render(
		"{\"engine\":{\"queries\":[{\"query\":\"q\",\"latency\":{"
		"\"file\":{\"final\":{\"count\":6,\"sum_ms\":2.5,\"p50_ms\":0.1,"
		"\"p99_ms\":2,\"max_ms\":1.9,\"buckets\":[[0.079,2],[0.127,1],"
		"[0.255,1],[1.791,1],[null,1]]},"
		"\"early\":{\"count\":0,\"sum_ms\":0,\"p50_ms\":0,\"p99_ms\":0,"
		"\"max_ms\":0,\"buckets\":[]}}}}]}}", 100);
	if (!t)
		return;
	HAS(t, "# TYPE flowq_alert_latency_seconds histogram");
	HAS(t, "flowq_alert_latency_seconds_bucket{query=\"q\",sink=\"file\","
	       "kind=\"final\",le=\"0.000127\"} 3");
	HAS(t, "flowq_alert_latency_seconds_bucket{query=\"q\",sink=\"file\","
	       "kind=\"final\",le=\"0.000255\"} 4");
	HAS(t, "flowq_alert_latency_seconds_bucket{query=\"q\",sink=\"file\","
	       "kind=\"final\",le=\"0.001023\"} 4");
	HAS(t, "flowq_alert_latency_seconds_bucket{query=\"q\",sink=\"file\","
	       "kind=\"final\",le=\"0.002047\"} 5");
	HAS(t, "flowq_alert_latency_seconds_bucket{query=\"q\",sink=\"file\","
	       "kind=\"final\",le=\"8589.934591\"} 5");
	HAS(t, "flowq_alert_latency_seconds_bucket{query=\"q\",sink=\"file\","
	       "kind=\"final\",le=\"+Inf\"} 6");
	HAS(t, "flowq_alert_latency_seconds_sum{query=\"q\",sink=\"file\","
	       "kind=\"final\"} 0.0025");
	HAS(t, "flowq_alert_latency_seconds_count{query=\"q\",sink=\"file\","
	       "kind=\"early\"} 0");
	HAS(t, "flowq_alert_latency_max_seconds{query=\"q\",sink=\"file\","
	       "kind=\"final\"} 0.0019");
	CHECK(strstr(t, "p50") == NULL, "a quantile became a sample:\n%s", t);
	free(t);
}

static void
case_corrupt(void)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\":1,}", "[1 2]", "{\"a\":\"x}",
		"{\"a\":tru}", "{\"a\":1} x", "{\"a\":\"\\u12\"}", "{1:2}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *out = (char *)1;
		size_t len = 1;
		int rc = fq_metrics_render(bad[i], strlen(bad[i]), 10, &out, &len);
		CHECK(rc == -FQ_ECORRUPT && out == NULL && len == 0,
		      "'%s' not refused: %d", bad[i], rc);
	}
	/* Nesting beyond the reader's depth is refused, not recursed into. */
	char deep[4096];
	size_t n = 0;
	for (int i = 0; i < 1000; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	char *out;
	size_t len;
	CHECK(fq_metrics_render(deep, n, 10, &out, &len) == -FQ_ECORRUPT,
	      "deep nesting not refused");
}

int
main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } cases[] = {
		{ "types", case_types }, { "escape", case_escape },
		{ "fold", case_fold }, { "histogram", case_histogram },
		{ "corrupt", case_corrupt },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (argc > 1 && strcmp(argv[1], cases[i].name) == 0) {
			cases[i].fn();
			return failures != 0;
		}
	fprintf(stderr, "usage: test-metrics CASE\n");
	return 2;
}
