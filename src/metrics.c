/*
 * metrics.c - the metrics endpoint (metrics.h): libmicrohttpd's own
 * thread serves HTTP; the libuv loop thread renders the text.
 *
 * A /metrics request is suspended (MHD_ALLOW_SUSPEND_RESUME) and queued
 * under the mutex, and the loop is woken with uv_async_send(), the one
 * libuv call that is safe from another thread.  Between two of its own
 * callbacks the loop writes its --stats-json into a buffer, turns it into
 * Prometheus text (metrics_render.c) and, under the mutex again, gives
 * each waiting request its copy and resumes it; the HTTP thread then
 * answers with the buffer.  So ingest never waits for a client (a slow
 * reader is the HTTP thread's business) and the HTTP thread never touches
 * a counter while the loop changes it.  Several scrapes waiting at once
 * share one rendering.
 *
 * The HTTP thread blocks every signal: SIGALRM must interrupt the loop
 * thread's blocked write() at the end of --grace (loop.c), not this one.
 */
#include "metrics.h"
#include "metrics_render.h"
#include "fq_error.h"
#include "fq_log.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BEAT_MS 1000        /* the loop's heartbeat */
#define STALE_MS 10000      /* /healthz fails after this long without one */

/* One /metrics request waiting for the loop. */
struct mreq {
	struct mreq *next;
	struct MHD_Connection *conn;
	int done;                  /* body and status set, resumed */
	unsigned status;
	char *body;                /* owned until handed to MHD */
	size_t len;
};

struct fq_metrics {
	struct MHD_Daemon *mhd;
	size_t max_exporters;
	pthread_mutex_t mu;
	struct mreq *pending;      /* under mu */
	int attached;              /* under mu: the loop renders */
	atomic_llong beat_ms;      /* the loop's last heartbeat */
	atomic_int ready;
	/* The loop thread's. */
	uv_async_t wake;
	uv_timer_t beat;
	fq_metrics_stats_fn stats;
	void *stats_ctx;
	struct fq_out *json;       /* 256 KiB: allocated once */
	char *jbuf;
	size_t jlen, jcap;
	int jerr;
};

static long long
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Split "HOST:PORT", "[V6]:PORT" or ":PORT" (HOST empty: every address). */
static int
split_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');
		if (end == NULL || end[1] != ':')
			return -FQ_EINVAL;
		snprintf(host, hlen, "%.*s", (int)(end - addr - 1), addr + 1);
		colon = end + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL || memchr(addr, ':', (size_t)(colon - addr)))
			return -FQ_EINVAL;
		snprintf(host, hlen, "%.*s", (int)(colon - addr), addr);
	}
	snprintf(port, plen, "%s", colon + 1);
	char *e;
	long p = strtol(port, &e, 10);
	return *port && !*e && p > 0 && p < 65536 ? 0 : -FQ_EINVAL;
}

int
fq_metrics_check_addr(const char *addr, char *why, size_t why_len)
{
	char host[256], port[16];
	if (split_addr(addr, host, sizeof host, port, sizeof port) == 0)
		return 0;
	snprintf(why, why_len, "--metrics: '%s' is not ADDR:PORT (e.g. "
		 "127.0.0.1:9100, [::1]:9100, :9100)", addr);
	return -FQ_EINVAL;
}

/* A listening socket on addr, or -1 with the reason. */
static int
listen_on(const char *addr, int *family, char *why, size_t why_len)
{
	char host[256], port[16];
	if (fq_metrics_check_addr(addr, why, why_len) < 0)
		return -1;
	split_addr(addr, host, sizeof host, port, sizeof port);
	struct addrinfo hints = { .ai_flags = AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(why, why_len, "--metrics %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	*family = ai->ai_family;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 64) < 0) {
		snprintf(why, why_len, "--metrics: cannot listen on %s: %s",
			 addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
       enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
answer_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return answer(conn, status, (char *)text, strlen(text),
		      MHD_RESPMEM_PERSISTENT, "text/plain; charset=utf-8");
}

/* /metrics, first call: queue the request for the loop and suspend it;
 * later call: answer with what the loop gave. */
static enum MHD_Result
serve_metrics(struct fq_metrics *m, struct MHD_Connection *conn,
	      void **req_cls)
{
	struct mreq *r = *req_cls;
	if (r == NULL) {
		r = calloc(1, sizeof *r);
		if (r == NULL)
			return MHD_NO;
		r->conn = conn;
		*req_cls = r;
		pthread_mutex_lock(&m->mu);
		int attached = m->attached;
		if (attached) {
			r->next = m->pending;
			m->pending = r;
			MHD_suspend_connection(conn);
			uv_async_send(&m->wake);
		}
		pthread_mutex_unlock(&m->mu);
		return attached ? MHD_YES
			: answer_text(conn, 503, "flowq is not running\n");
	}
	pthread_mutex_lock(&m->mu);
	int done = r->done;
	char *body = r->body;
	r->body = NULL;
	pthread_mutex_unlock(&m->mu);
	if (!done)
		return MHD_YES;
	if (r->status != 200)
		return answer(conn, r->status, body, r->len, MHD_RESPMEM_MUST_FREE,
			      "text/plain; charset=utf-8");
	return answer(conn, 200, body, r->len, MHD_RESPMEM_MUST_FREE,
		      "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_size, void **req_cls)
{
	struct fq_metrics *m = cls;
	(void)version;
	(void)upload;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer_text(conn, 405, "only GET\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(m, conn, req_cls);
	if (strcmp(url, "/healthz") == 0) {
		long long beat = atomic_load(&m->beat_ms);
		int alive = beat && mono_ms() - beat < STALE_MS;
		return alive ? answer_text(conn, 200, "ok\n")
			: answer_text(conn, 503, "the loop is not running\n");
	}
	if (strcmp(url, "/readyz") == 0)
		return atomic_load(&m->ready)
			? answer_text(conn, 200, "ready\n")
			: answer_text(conn, 503, "not ready\n");
	return answer_text(conn, 404, "not found: /metrics, /healthz, "
			   "/readyz\n");
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
	     enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)conn;
	(void)code;
	struct mreq *r = *req_cls;
	if (r) {
		free(r->body);
		free(r);
		*req_cls = NULL;
	}
}

int
fq_metrics_start(struct fq_metrics **mp, const char *addr,
		 size_t max_exporters, char *why, size_t why_len)
{
	*mp = NULL;
	int family = AF_INET;
	int fd = listen_on(addr, &family, why, why_len);
	if (fd < 0)
		return -FQ_EIO;
	struct fq_metrics *m = calloc(1, sizeof *m);
	if (m == NULL || (m->json = malloc(sizeof *m->json)) == NULL) {
		free(m);
		close(fd);
		snprintf(why, why_len, "--metrics: out of memory");
		return -FQ_ENOMEM;
	}
	m->max_exporters = max_exporters;
	pthread_mutex_init(&m->mu, NULL);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);   /* the thread inherits it */
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				  MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
				  (family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, on_request, m,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
				  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				  MHD_OPTION_CONNECTION_LIMIT, 64u,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (m->mhd == NULL) {
		snprintf(why, why_len, "--metrics %s: the HTTP server did not "
			 "start", addr);
		close(fd);
		fq_metrics_free(m);
		return -FQ_EIO;
	}
	*mp = m;
	return 0;
}

static void
json_append(void *ctx, const char *p, size_t n)
{
	struct fq_metrics *m = ctx;
	if (m->jerr)
		return;
	if (m->jlen + n > m->jcap) {
		size_t nc = m->jcap ? m->jcap : 64 * 1024;
		while (nc < m->jlen + n)
			nc *= 2;
		char *b = realloc(m->jbuf, nc);
		if (b == NULL) {
			m->jerr = 1;
			return;
		}
		m->jbuf = b;
		m->jcap = nc;
	}
	memcpy(m->jbuf + m->jlen, p, n);
	m->jlen += n;
}

/* Loop thread: the Prometheus text of the counters as they are now. */
static int
render(struct fq_metrics *m, char **text, size_t *len)
{
	m->jlen = 0;
	m->jerr = 0;
	fq_out_init_cb(m->json, json_append, m);
	m->stats(m->stats_ctx, m->json);
	fq_out_flush(m->json);
	if (m->jerr)
		return -FQ_ENOMEM;
	long long t = mono_us();
	int rc = fq_metrics_render(m->jbuf, m->jlen, m->max_exporters, text, len);
	fq_debug("metrics: %zu bytes of JSON turned into text in %lld us",
		 m->jlen, mono_us() - t);
	return rc;
}

/* Under mu: hand r its answer and resume it. */
static void
give(struct mreq *r, unsigned status, const char *body, size_t len)
{
	r->body = malloc(len + 1);
	r->len = r->body ? len : 0;
	r->status = r->body ? status : 500;
	if (r->body)
		memcpy(r->body, body, len);
	r->done = 1;
	MHD_resume_connection(r->conn);
}

static void
on_wake(uv_async_t *h)
{
	struct fq_metrics *m = h->data;
	atomic_store(&m->beat_ms, mono_ms());
	pthread_mutex_lock(&m->mu);
	struct mreq *list = m->pending;
	m->pending = NULL;
	pthread_mutex_unlock(&m->mu);
	if (list == NULL)
		return;
	char *text = NULL;
	size_t len = 0;
	long long t0 = mono_us();
	int rc = render(m, &text, &len);
	if (rc < 0)
		fq_warn("metrics: cannot render the counters (%d)", rc);
	else
		fq_debug("metrics: %zu bytes rendered in %lld us", len,
			 mono_us() - t0);
	pthread_mutex_lock(&m->mu);
	for (struct mreq *r = list, *next; r; r = next) {
		next = r->next;
		if (rc < 0)
			give(r, 500, "cannot render the counters\n", 27);
		else
			give(r, 200, text, len);
	}
	pthread_mutex_unlock(&m->mu);
	free(text);
}

static void
on_beat(uv_timer_t *t)
{
	struct fq_metrics *m = t->data;
	atomic_store(&m->beat_ms, mono_ms());
}

void
fq_metrics_attach(struct fq_metrics *m, uv_loop_t *loop,
		  fq_metrics_stats_fn stats, void *ctx)
{
	m->stats = stats;
	m->stats_ctx = ctx;
	uv_async_init(loop, &m->wake, on_wake);
	uv_timer_init(loop, &m->beat);
	m->wake.data = m->beat.data = m;
	uv_timer_start(&m->beat, on_beat, BEAT_MS, BEAT_MS);
	/* Neither keeps flowq running by itself. */
	uv_unref((uv_handle_t *)&m->wake);
	uv_unref((uv_handle_t *)&m->beat);
	atomic_store(&m->beat_ms, mono_ms());
	pthread_mutex_lock(&m->mu);
	m->attached = 1;
	pthread_mutex_unlock(&m->mu);
}

void
fq_metrics_ready(struct fq_metrics *m, int ready)
{
	if (m)
		atomic_store(&m->ready, ready);
}

void
fq_metrics_detach(struct fq_metrics *m)
{
	if (m == NULL || !m->stats)
		return;
	atomic_store(&m->ready, 0);
	atomic_store(&m->beat_ms, 0);
	pthread_mutex_lock(&m->mu);
	m->attached = 0;
	for (struct mreq *r = m->pending, *next; r; r = next) {
		next = r->next;
		give(r, 503, "flowq is stopping\n", 18);
	}
	m->pending = NULL;
	pthread_mutex_unlock(&m->mu);
	uv_close((uv_handle_t *)&m->wake, NULL);
	uv_close((uv_handle_t *)&m->beat, NULL);
	m->stats = NULL;
}

void
fq_metrics_free(struct fq_metrics *m)
{
	if (m == NULL)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	pthread_mutex_destroy(&m->mu);
	free(m->jbuf);
	free(m->json);
	free(m);
}
