/*
 * metrics_render.h - flowq's --stats-json object as Prometheus text
 * (exposition format 0.0.4), for the metrics endpoint (metrics.h).
 *
 * The translation is generic, so that a counter added to --stats-json
 * appears at /metrics with no second list to keep: a number becomes a
 * sample named after its path (`flowq_` + the keys, an array's elements
 * named by the array in the singular), a string member of an array's
 * element becomes a label, a number counter `_total`, a key ending in
 * `_ms` a gauge in `_seconds`, true/false a gauge 0/1, null nothing.  A
 * small table (metrics_render.c) names what Prometheus conventions or the
 * issue name otherwise, says which numbers are gauges, and which objects
 * are maps whose keys are label values (malformed reasons, branches,
 * latency sinks) or histograms (the alert latency).
 */
#ifndef FQ_METRICS_RENDER_H
#define FQ_METRICS_RENDER_H

#include <stddef.h>

/*
 * Render json[0..len) into *out (malloc'd, NUL-terminated, *out_len
 * bytes).  Exporter sessions beyond the `max_exporters` with the most
 * records are folded into exporter="other" (their domains into
 * domain="other").  0, or -FQ_ECORRUPT (not flowq's JSON) / -FQ_ENOMEM.
 */
int fq_metrics_render(const char *json, size_t len, size_t max_exporters,
		      char **out, size_t *out_len);

#endif
