/*
 * source_tcp.c - live IPFIX over TCP (RFC 7011 section 10.4):
 * `tcp://ADDR:PORT`.
 *
 * The source listens on one address and accepts many exporters at once.
 * Each connection owns one 64 KiB buffer: an IPFIX message is at most
 * 65535 bytes, so the stream is framed by the 16-bit length in each
 * message header and complete messages are handed to fq_ingest_datagram()
 * in place, with the peer's address and port as exporter and transport
 * FQ_TRANSPORT_TCP (templates never expire on TCP).
 *
 * Bounds: at most FQ_TCP_MAX_CONN connections (more are accepted and
 * closed at once, counted as refused), one buffer each, so memory stays
 * below FQ_TCP_MAX_CONN * 64 KiB whatever peers send.  A header that is not
 * IPFIX (version != 10, or length < 16) cannot be resynchronised on a byte
 * stream: the connection is counted as a framing error and closed.  A peer
 * that disconnects in the middle of a message leaves a half-sent message:
 * it is counted, never decoded.  TCP keepalive (60 s) reaps dead peers.
 */
#include "fq_clock.h"
#include "fq_datagram.h"
#include "fq_error.h"
#include "wire.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_source.h"
#include "source_kind.h"
#include "fq_sockaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FQ_TCP_MAX_CONN 512
#define TCP_BUF 65536u

struct source_tcp;

struct tcp_conn {
	uv_tcp_t h;
	struct source_tcp *s;           /* borrowed: the owning source */
	struct tcp_conn *prev, *next;   /* the source's list */
	struct sockaddr_storage peer;
	char peer_str[64];
	uint8_t *buf;                   /* owned, TCP_BUF bytes */
	size_t fill;                    /* bytes in buf */
	size_t done;                    /* of them, handed over already */
	int closing;
};

struct source_tcp {
	struct fq_source base;
	uv_tcp_t listener;
	struct sockaddr_storage addr;
	char name[80];                  /* "tcp://addr:port" as bound */
	int l_init;
	struct tcp_conn *conns;         /* owned list of open connections */
	unsigned n_conns;
	/* Counters. */
	uint64_t accepted, refused, messages, bytes, half_sent;
	uint64_t framing_errors, read_errors, closed;
	struct fq_ratelimit rl;
};

/* The handle is gone: unlink and free the connection. */
static void
conn_close_cb(uv_handle_t *h)
{
	struct tcp_conn *c = h->data;
	struct source_tcp *s = c->s;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	s->closed++;
	free(c->buf);
	free(c);
}

static void
conn_close(struct tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->h, conn_close_cb);
}

static void
conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tcp_conn *c = h->data;
	(void)suggested;
	/* After framing, fill < 65535 < TCP_BUF: there is always room. */
	*buf = uv_buf_init((char *)c->buf + c->fill,
			   (unsigned)(TCP_BUF - c->fill));
}

/* Hand over every complete message in the buffer; 0, or -1 if closed. */
static int
conn_frame(struct tcp_conn *c)
{
	struct source_tcp *s = c->s;
	size_t off = 0;
	while (c->fill - off >= 4) {
		const uint8_t *m = c->buf + off;
		uint16_t ver = fq__be16(m), len = fq__be16(m + 2);
		if (ver != 10 || len < 16) {
			s->framing_errors++;
			fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: peer %s: not an "
				  "IPFIX message header (version %u, length "
				  "%u); closing the connection", s->name,
				  c->peer_str, ver, len);
			conn_close(c);
			return -1;
		}
		if (c->fill - off < len)
			break;
		struct fq_datagram dg;
		memset(&dg, 0, sizeof dg);
		dg.data = m;
		dg.len = len;
		dg.src = c->peer;
		dg.local_id = s->base.local_id;
		dg.transport = FQ_TRANSPORT_TCP;
		dg.arrival_ms = fq_clock_ms(FQ_CLOCK_WALL);
		s->messages++;
		s->bytes += len;
		c->done = off + len;
		(void)fq_ingest_datagram(s->base.ingest, &dg);
		/* A sink error stops the ingest, which closes us. */
		if (c->closing)
			return -1;
		off += len;
	}
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->fill - off);
		c->fill -= off;
	}
	c->done = 0;
	return 0;
}

/* `buf` points into the connection's own buffer (see conn_alloc_cb). */
static void
conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = st->data;
	struct source_tcp *s = c->s;
	(void)buf;
	if (nread > 0) {
		c->fill += (size_t)nread;
		(void)conn_frame(c);
		return;
	}
	if (nread == 0)
		return;
	if (nread != UV_EOF) {
		s->read_errors++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: peer %s: %s", s->name,
			  c->peer_str, uv_strerror((int)nread));
	}
	if (c->fill > 0) {
		s->half_sent++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: peer %s disconnected in "
			  "the middle of a message (%zu bytes received); not "
			  "decoded", s->name, c->peer_str, c->fill);
	}
	conn_close(c);
}

static void
refused_close_cb(uv_handle_t *h)
{
	free(h);
}

static void
tcp_connection_cb(uv_stream_t *server, int status)
{
	struct source_tcp *s = server->data;
	if (status < 0) {
		s->read_errors++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: accept: %s", s->name,
			  uv_strerror(status));
		return;
	}
	if (s->base.done)
		return;
	if (s->n_conns >= FQ_TCP_MAX_CONN) {
		uv_tcp_t *t = malloc(sizeof *t);
		if (t == NULL)
			return;
		uv_tcp_init(server->loop, t);
		(void)uv_accept(server, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, refused_close_cb);
		s->refused++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: %d connections open; "
			  "refusing another", s->name, FQ_TCP_MAX_CONN);
		return;
	}
	struct tcp_conn *c = calloc(1, sizeof *c);
	uint8_t *b = malloc(TCP_BUF);
	if (c == NULL || b == NULL) {
		free(c);
		free(b);
		uv_tcp_t *t = malloc(sizeof *t);
		if (t == NULL)
			return;
		uv_tcp_init(server->loop, t);
		(void)uv_accept(server, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, refused_close_cb);
		s->refused++;
		return;
	}
	c->s = s;
	c->buf = b;
	uv_tcp_init(server->loop, &c->h);
	c->h.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->h) != 0) {
		s->read_errors++;
		conn_close(c);
		return;
	}
	s->accepted++;
	int len = sizeof c->peer;
	if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len) == 0)
		fq_sockaddr_norm(&c->peer);
	fq_sockaddr_str(&c->peer, c->peer_str, sizeof c->peer_str);
	(void)uv_tcp_keepalive(&c->h, 1, 60);
	int rc = uv_read_start((uv_stream_t *)&c->h, conn_alloc_cb,
			       conn_read_cb);
	if (rc != 0) {
		s->read_errors++;
		conn_close(c);
	}
}

static int
tcp_start(struct fq_source *src)
{
	struct source_tcp *s = (struct source_tcp *)src;
	int rc = uv_tcp_init(src->ingest->loop, &s->listener);
	if (rc != 0) {
		fq_error("%s: %s", s->base.spec, uv_strerror(rc));
		return -FQ_EIO;
	}
	s->l_init = 1;
	s->listener.data = s;
	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&s->addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 128,
			       tcp_connection_cb);
	if (rc != 0) {
		fq_error("%s: cannot listen: %s", s->base.spec,
			 uv_strerror(rc));
		return -FQ_EIO;
	}
	struct sockaddr_storage bound;
	int blen = sizeof bound;
	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound,
			       &blen) == 0)
		s->addr = bound;
	char a[64];
	fq_sockaddr_str(&s->addr, a, sizeof a);
	snprintf(s->name, sizeof s->name, "tcp://%s", a);
	fq_info("%s: listening", s->name);
	return 0;
}

static void
tcp_close_all(struct source_tcp *s)
{
	for (struct tcp_conn *c = s->conns; c; c = c->next) {
		/* Stopped (possibly from inside conn_frame): a message is
		 * half-sent only if bytes beyond the delivered ones wait. */
		if (!c->closing && c->fill > c->done)
			s->half_sent++;
		conn_close(c);
	}
	if (s->l_init && !uv_is_closing((uv_handle_t *)&s->listener))
		uv_close((uv_handle_t *)&s->listener, NULL);
}

static void
tcp_stop(struct fq_source *src)
{
	struct source_tcp *s = (struct source_tcp *)src;
	tcp_close_all(s);
	fq_source_done(src, 0);
}

static void
tcp_close(struct fq_source *src)
{
	tcp_close_all((struct source_tcp *)src);
}

static void
tcp_free(struct fq_source *src)
{
	struct source_tcp *s = (struct source_tcp *)src;
	/* All connection handles have run their close callbacks by now;
	 * anything left (loop never run) is freed without its handle. */
	struct tcp_conn *c = s->conns;
	while (c) {
		struct tcp_conn *n = c->next;
		free(c->buf);
		free(c);
		c = n;
	}
	free(s);
}

static void
tcp_print_stats(struct fq_source *src, struct fq_out *o, int json)
{
	struct source_tcp *s = (struct source_tcp *)src;
	const char *name = s->name[0] ? s->name : s->base.spec;
	if (json) {
		fq_out_str(o, "{\"source\":");
		fq_format_json_str(o, name);
		fq_out_printf(o, ",\"kind\":\"tcp\",\"connections\":%llu,"
			      "\"open\":%u,\"refused\":%llu,\"messages\":%llu,"
			      "\"bytes\":%llu,\"half_sent\":%llu,"
			      "\"framing_errors\":%llu,\"errors\":%llu}",
			      (unsigned long long)s->accepted, s->n_conns,
			      (unsigned long long)s->refused,
			      (unsigned long long)s->messages,
			      (unsigned long long)s->bytes,
			      (unsigned long long)s->half_sent,
			      (unsigned long long)s->framing_errors,
			      (unsigned long long)s->read_errors);
		return;
	}
	fq_out_printf(o, "source %s: connections %llu open %u refused %llu "
		      "messages %llu bytes %llu half_sent %llu "
		      "framing_errors %llu errors %llu\n", name,
		      (unsigned long long)s->accepted, s->n_conns,
		      (unsigned long long)s->refused,
		      (unsigned long long)s->messages,
		      (unsigned long long)s->bytes,
		      (unsigned long long)s->half_sent,
		      (unsigned long long)s->framing_errors,
		      (unsigned long long)s->read_errors);
}

static const struct fq_source_ops tcp_ops = {
	.kind = "tcp",
	.start = tcp_start,
	.stop = tcp_stop,
	.close = tcp_close,
	.free = tcp_free,
	.print_stats = tcp_print_stats,
};

int
fq__source_tcp_new(const char *addr, const struct fq_source_opts *opts,
		   struct fq_source **out, char *why, size_t why_len)
{
	(void)opts;             /* nothing to set for TCP yet */
	struct sockaddr_storage ss;
	char w[200];
	if (fq_sockaddr_parse(addr, &ss, w, sizeof w) < 0) {
		snprintf(why, why_len, "tcp://%s", w);
		return -FQ_EINVAL;
	}
	struct source_tcp *s = fq__source_alloc(sizeof *s, &tcp_ops, 1, "tcp://",
					       addr, why, why_len);
	if (s == NULL)
		return -FQ_ENOMEM;
	s->addr = ss;
	s->rl.burst = 5;
	*out = &s->base;
	return 0;
}
