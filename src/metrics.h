/*
 * metrics.h - the metrics endpoint of `flowq run --metrics ADDR:PORT`:
 * Prometheus text at /metrics, /healthz and /readyz over HTTP
 * (libmicrohttpd; why, and what each answers: docs/operations.md,
 * "Metrics").
 *
 * flowq's counters belong to the loop thread (the engine is single
 * threaded), so the HTTP thread never reads them: a /metrics request is
 * suspended, the loop is woken (uv_async_t), renders the text of its own
 * --stats-json into a buffer between two callbacks, and hands it back
 * under a mutex, resuming the request.  /healthz reads a heartbeat the
 * loop writes every second; /readyz a flag the loop sets once its
 * sources are open and clears at the stop.
 */
#ifndef FQ_CLI_METRICS_H
#define FQ_CLI_METRICS_H

#include "fq_out.h"

#include <stddef.h>
#include <uv.h>

#define FQ_METRICS_EXPORTERS 100   /* --metrics-exporters' default */

struct fq_metrics;

/* Writes the --stats-json object to o (on the loop thread). */
typedef void (*fq_metrics_stats_fn)(void *ctx, struct fq_out *o);

/* 0 if `addr` is HOST:PORT, [IPv6]:PORT or :PORT; else -FQ_EINVAL with
 * the reason in why. */
int fq_metrics_check_addr(const char *addr, char *why, size_t why_len);

/* Bind and listen on addr, start the HTTP thread.  0, or -FQ_EIO with
 * the reason (e.g. the port in use) in why. */
int fq_metrics_start(struct fq_metrics **mp, const char *addr,
		     size_t max_exporters, char *why, size_t why_len);

/* Loop thread: from now on /metrics is rendered by `stats` on `loop`;
 * the heartbeat starts.  Its handles do not keep the loop alive. */
void fq_metrics_attach(struct fq_metrics *m, uv_loop_t *loop,
		       fq_metrics_stats_fn stats, void *ctx);
/* Loop thread: ready (1: sources open, queries running) or not. */
void fq_metrics_ready(struct fq_metrics *m, int ready);
/* Loop thread, at the end of input: requests still waiting get 503, the
 * handles are closed; the server answers 503 until it is freed. */
void fq_metrics_detach(struct fq_metrics *m);

/* Stop the HTTP thread and free (NULL is fine). */
void fq_metrics_free(struct fq_metrics *m);

#endif
