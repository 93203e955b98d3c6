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
 * A connection is a slot that a peer can hold without sending anything
 * useful, so every way of holding one is bounded (docs/sources.md,
 * "tcp://"):
 *
 *   - flowq accepts connections itself (accept4() on a uv_poll_t, not
 *     uv_listen()), so that each is judged before it costs more than its
 *     descriptor: a peer outside --allow, a peer at its per-address cap or
 *     a source at FQ_TCP_MAX_CONN is reset at once and counted by reason;
 *     libuv's own accept path would also hide descriptor exhaustion (it
 *     accepts and closes pending connections silently on EMFILE);
 *   - a connection never takes one of the last descriptors of the process
 *     (tcp_fd_ceiling()): /proc reads for counters, output reopening and
 *     the --exec hook need them.  At the ceiling, or on EMFILE/ENFILE,
 *     accepting pauses (new connections wait in the kernel's backlog) and
 *     resumes when a connection closes or, failing that, at the next tick
 *     of the sweep timer once a descriptor below the ceiling is free;
 *   - a sweep timer closes connections that sent no byte for --tcp-idle or
 *     whose message has been incomplete for --tcp-progress (slowloris);
 *   - when a connection closes, its exporter session with its templates is
 *     freed (fq_decoder_forget()): templates live as long as their
 *     connection (RFC 7011 section 10.4), and a session per connection
 *     would otherwise fill the session table for good.
 *
 * A header that is not IPFIX (version != 10, or length < 16) cannot be
 * resynchronised on a byte stream: the connection is counted as a framing
 * error and closed.  A peer that disconnects in the middle of a message
 * leaves a half-sent message: it is counted, never decoded.  TCP keepalive
 * (60 s) reaps dead peers.
 */
#define _GNU_SOURCE             /* accept4() */
#include "fq_clock.h"
#include "fq_datagram.h"
#include "fq_error.h"
#include "wire.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_ip.h"
#include "fq_log.h"
#include "fq_source.h"
#include "source_kind.h"
#include "fq_sockaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_BUF 65536u
#define TCP_BACKLOG 128
/* Connections taken off the backlog per wake-up, so that a connection
 * flood cannot keep the loop from the UDP sockets. */
#define TCP_ACCEPT_BATCH 64
/* Descriptors left to the rest of flowq (a quarter of the limit when the
 * limit is below 128). */
#define TCP_FD_RESERVE 32

/* Why a connection was turned away at accept. */
enum tcp_refusal {
	TCP_REF_ALLOW,          /* peer outside --allow */
	TCP_REF_CONN_LIMIT,     /* FQ_TCP_MAX_CONN open */
	TCP_REF_PEER_LIMIT,     /* --tcp-max-per-peer open from its address */
	TCP_REF_FD_LIMIT,       /* descriptors ran short */
	TCP_REF_NO_MEMORY,
	TCP_REF_COUNT
};

static const char *const refusal_names[TCP_REF_COUNT] = {
	[TCP_REF_ALLOW] = "not_allowed",
	[TCP_REF_CONN_LIMIT] = "connection_limit",
	[TCP_REF_PEER_LIMIT] = "peer_limit",
	[TCP_REF_FD_LIMIT] = "fd_limit",
	[TCP_REF_NO_MEMORY] = "no_memory",
};

struct source_tcp;

struct tcp_conn {
	uv_tcp_t h;
	struct source_tcp *s;           /* borrowed: the owning source */
	struct tcp_conn *prev, *next;   /* the source's list */
	struct sockaddr_storage peer;   /* normalised (IPv4-mapped -> IPv4) */
	char peer_str[64];
	uint8_t *buf;                   /* owned, TCP_BUF bytes */
	size_t fill;                    /* bytes in buf */
	size_t done;                    /* of them, handed over already */
	uint64_t last_ms;               /* loop time of the last byte read */
	uint64_t msg_ms;                /* first byte of the incomplete
					   message in buf (fill > 0) */
	int closing;
};

struct source_tcp {
	struct fq_source base;
	uv_poll_t lpoll;                /* readable: connections to accept */
	uv_timer_t sweep;               /* timeouts; resuming accept */
	int lfd;                        /* listening socket, -1 when none */
	int p_init, t_init;
	int paused;                     /* accepting stopped: fds short */
	int stopping;                   /* sessions stay for the exit stats */
	int fd_ceiling;                 /* first descriptor not to keep */
	struct sockaddr_storage addr;
	char name[80];                  /* "tcp://addr:port" as bound */
	struct tcp_conn *conns;         /* owned list of open connections */
	unsigned n_conns;
	/* Settings (fq_source_opts, defaults applied). */
	uint64_t idle_ms, progress_ms;  /* UINT64_MAX = never */
	unsigned max_per_peer;
	/* Counters. */
	uint64_t accepted, refused[TCP_REF_COUNT], messages, bytes;
	uint64_t half_sent, framing_errors, read_errors, closed;
	uint64_t idle_timeouts, progress_timeouts, pauses;
	uint64_t exporters_closed;      /* sessions freed at close */
	struct fq_ratelimit rl;
};

static void accept_try_resume(struct source_tcp *s);

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
	/*
	 * The exporter's session ends with its connection; at shutdown the
	 * sessions stay so that the exit counters still list them.
	 */
	struct fq_ingest *ing = s->base.ingest;
	if (!s->stopping && ing != NULL && ing->decoder != NULL &&
	    fq_decoder_forget(ing->decoder, &c->peer, s->base.local_id))
		s->exporters_closed++;
	free(c->buf);
	free(c);
	/* A descriptor is free again. */
	accept_try_resume(s);
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

/*
 * Hand over every complete message in the buffer.  Returns how many, or
 * -1 if the connection was closed.
 */
static int
conn_frame(struct tcp_conn *c)
{
	struct source_tcp *s = c->s;
	size_t off = 0;
	int n = 0;
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
		n++;
	}
	if (off > 0) {
		memmove(c->buf, c->buf + off, c->fill - off);
		c->fill -= off;
	}
	c->done = 0;
	return n;
}

/* `buf` points into the connection's own buffer (see conn_alloc_cb). */
static void
conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct tcp_conn *c = st->data;
	struct source_tcp *s = c->s;
	(void)buf;
	if (nread > 0) {
		uint64_t now = uv_now(st->loop);
		int had_part = c->fill > 0;
		c->last_ms = now;
		c->fill += (size_t)nread;
		int n = conn_frame(c);
		/* The progress clock runs from the first byte of the message
		 * still incomplete, whichever read brought it. */
		if (n > 0 || !had_part)
			c->msg_ms = now;
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

/* ------------------------------------------------------------------ */
/* Accepting. */

/*
 * The first descriptor number a connection may not keep: the soft limit
 * less TCP_FD_RESERVE.  Descriptors are handed out lowest first, so an
 * accepted descriptor at or above it means fewer than the reserve are
 * left.
 */
static int
tcp_fd_ceiling(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX)
		return INT_MAX;
	rlim_t reserve = rl.rlim_cur / 4 < TCP_FD_RESERVE ? rl.rlim_cur / 4
							  : TCP_FD_RESERVE;
	return (int)(rl.rlim_cur - reserve);
}

/* Whether the lowest free descriptor lies below the ceiling. */
static int
fd_headroom(struct source_tcp *s)
{
	s->fd_ceiling = tcp_fd_ceiling();
	int probe = fcntl(s->lfd, F_DUPFD_CLOEXEC, 0);
	if (probe < 0)
		return 0;
	close(probe);
	return probe < s->fd_ceiling;
}

/* Connections waiting in the kernel's accept queue, or -1 if unknown. */
static long
tcp_backlog(const struct source_tcp *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (s->lfd < 0 ||
	    getsockopt(s->lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return -1;
	/* On a listening socket Linux reports its accept queue here. */
	return (long)ti.tcpi_unacked;
}

static void listen_cb(uv_poll_t *p, int status, int events);

static void
accept_pause(struct source_tcp *s, const char *why)
{
	if (!s->paused) {
		s->paused = 1;
		s->pauses++;
		uv_poll_stop(&s->lpoll);
		/* With the listener stopped, the timer that resumes it must
		 * keep the loop alive (there may be no connection left). */
		if (s->t_init)
			uv_ref((uv_handle_t *)&s->sweep);
	}
	fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: %s; accepting paused until a "
		  "descriptor is free (%u connections open, %ld waiting)",
		  s->name, why, s->n_conns, tcp_backlog(s));
}

static void
accept_try_resume(struct source_tcp *s)
{
	if (!s->paused || s->base.done || s->stopping || !s->p_init ||
	    !fd_headroom(s))
		return;
	if (uv_poll_start(&s->lpoll, UV_READABLE, listen_cb) != 0)
		return;
	s->paused = 0;
	if (s->t_init)
		uv_unref((uv_handle_t *)&s->sweep);
	fq_log_rl(&s->rl, FQ_LOG_INFO, "%s: accepting again", s->name);
}

/* Close an accepted socket with a reset, counted under `why`. */
static void
refuse(struct source_tcp *s, int fd, enum tcp_refusal why,
       const struct sockaddr_storage *peer)
{
	/* A reset tells the peer at once and leaves no TIME_WAIT here. */
	struct linger lg = { 1, 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	s->refused[why]++;
	char p[64];
	fq_sockaddr_str(peer, p, sizeof p);
	fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: connection from %s refused (%s)",
		  s->name, p, refusal_names[why]);
}

/* --allow, applied to the connection before it holds a slot. */
static int
peer_allowed(const struct source_tcp *s, const struct sockaddr_storage *ss)
{
	const struct fq_decoder_opts *o = &s->base.ingest->decoder_opts;
	if (o->n_allow == 0)
		return 1;
	struct fq_ip ip;
	if (ss->ss_family == AF_INET6) {
		ip = fq_ip_v6(((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		ip = fq_ip_v4(ntohl(a->sin_addr.s_addr));
	} else {
		return 0;
	}
	for (size_t i = 0; i < o->n_allow; i++)
		if (o->allow[i].is6 == ip.is6 &&
		    fq_ip_in_prefix(&ip, &o->allow[i], o->allow_len[i]))
			return 1;
	return 0;
}

static int
same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      16) == 0;
	return 0;
}

/* Open connections from the peer's address (at most FQ_TCP_MAX_CONN). */
static unsigned
peer_conns(const struct source_tcp *s, const struct sockaddr_storage *peer)
{
	unsigned n = 0;
	for (const struct tcp_conn *c = s->conns; c; c = c->next)
		if (!c->closing && same_host(&c->peer, peer))
			n++;
	return n;
}

/* Judge an accepted socket; keep it as a connection or refuse it. */
static void
accept_one(struct source_tcp *s, int fd, struct sockaddr_storage *peer)
{
	fq_sockaddr_norm(peer);
	if (!peer_allowed(s, peer)) {
		refuse(s, fd, TCP_REF_ALLOW, peer);
		return;
	}
	if (fd >= s->fd_ceiling) {
		refuse(s, fd, TCP_REF_FD_LIMIT, peer);
		accept_pause(s, "descriptors are running short");
		return;
	}
	if (s->n_conns >= FQ_TCP_MAX_CONN) {
		refuse(s, fd, TCP_REF_CONN_LIMIT, peer);
		return;
	}
	if (peer_conns(s, peer) >= s->max_per_peer) {
		refuse(s, fd, TCP_REF_PEER_LIMIT, peer);
		return;
	}
	struct tcp_conn *c = calloc(1, sizeof *c);
	uint8_t *b = malloc(TCP_BUF);
	if (c == NULL || b == NULL) {
		free(c);
		free(b);
		refuse(s, fd, TCP_REF_NO_MEMORY, peer);
		return;
	}
	uv_loop_t *loop = s->base.ingest->loop;
	c->s = s;
	c->buf = b;
	c->peer = *peer;
	c->last_ms = uv_now(loop);
	fq_sockaddr_str(&c->peer, c->peer_str, sizeof c->peer_str);
	uv_tcp_init(loop, &c->h);
	c->h.data = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (uv_tcp_open(&c->h, fd) != 0) {
		close(fd);
		s->read_errors++;
		conn_close(c);
		return;
	}
	s->accepted++;
	(void)uv_tcp_keepalive(&c->h, 1, 60);
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc_cb,
			  conn_read_cb) != 0) {
		s->read_errors++;
		conn_close(c);
	}
}

static void
listen_cb(uv_poll_t *p, int status, int events)
{
	struct source_tcp *s = p->data;
	(void)events;
	if (status < 0) {
		s->read_errors++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: listening socket: %s",
			  s->name, uv_strerror(status));
		return;
	}
	for (int i = 0; i < TCP_ACCEPT_BATCH; i++) {
		if (s->paused || s->base.done)
			return;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof peer;
		memset(&peer, 0, sizeof peer);
		int fd = accept4(s->lfd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			accept_one(s, fd, &peer);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		char why[96];
		snprintf(why, sizeof why, "accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* Nothing refused yet: the connection waits. */
			accept_pause(s, why);
			return;
		}
		s->read_errors++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: %s", s->name, why);
		return;
	}
}

/* ------------------------------------------------------------------ */
/* Timeouts. */

/* Bytes the kernel holds for the connection that flowq has not read. */
static int
conn_unread(struct tcp_conn *c)
{
	uv_os_fd_t fd;
	int n = 0;
	if (uv_fileno((uv_handle_t *)&c->h, &fd) != 0 ||
	    ioctl(fd, FIONREAD, &n) != 0)
		return 0;
	return n;
}

static void
conn_sweep(struct source_tcp *s, struct tcp_conn *c, uint64_t now)
{
	int progress = c->fill > 0 && now - c->msg_ms >= s->progress_ms;
	int idle = now - c->last_ms >= s->idle_ms;
	/*
	 * Bytes still in the kernel mean the loop was busy, not the peer
	 * slow: they are read in this iteration and judged at the next
	 * tick (a peer that really stalls gains one tick at most).
	 */
	if ((!progress && !idle) || conn_unread(c) > 0)
		return;
	if (progress) {
		s->progress_timeouts++;
		uint16_t want = c->fill >= 4 ? fq__be16(c->buf + 2) : 0;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: peer %s: message "
			  "incomplete for %llu ms (%zu of %u bytes); closing "
			  "the connection", s->name, c->peer_str,
			  (unsigned long long)(now - c->msg_ms), c->fill,
			  want);
	} else {
		s->idle_timeouts++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: peer %s: no byte for %llu "
			  "ms; closing the connection", s->name, c->peer_str,
			  (unsigned long long)(now - c->last_ms));
	}
	conn_close(c);
}

static void
sweep_cb(uv_timer_t *t)
{
	struct source_tcp *s = t->data;
	uint64_t now = uv_now(t->loop);
	/* conn_close() unlinks nothing until its callback: safe to walk. */
	for (struct tcp_conn *c = s->conns; c; c = c->next)
		if (!c->closing)
			conn_sweep(s, c, now);
	accept_try_resume(s);
}

/* A tick a quarter of the shorter timeout, between 50 ms and 1 s. */
static uint64_t
sweep_tick(const struct source_tcp *s)
{
	uint64_t m = s->idle_ms < s->progress_ms ? s->idle_ms
						 : s->progress_ms;
	m /= 4;
	return m < 50 ? 50 : m > 1000 ? 1000 : m;
}

/* ------------------------------------------------------------------ */
/* Life of the source. */

/* socket(), bind(), listen(); the descriptor, or -1 with errno set. */
static int
listen_socket(const struct sockaddr_storage *a)
{
	int fd = socket(a->ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int on = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	socklen_t alen = a->ss_family == AF_INET6
		? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (bind(fd, (const struct sockaddr *)a, alen) != 0 ||
	    listen(fd, TCP_BACKLOG) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
tcp_start(struct fq_source *src)
{
	struct source_tcp *s = (struct source_tcp *)src;
	uv_loop_t *loop = src->ingest->loop;
	s->lfd = listen_socket(&s->addr);
	if (s->lfd < 0) {
		fq_error("%s: cannot listen: %s", s->base.spec,
			 strerror(errno));
		return -FQ_EIO;
	}
	int rc = uv_poll_init_socket(loop, &s->lpoll, s->lfd);
	if (rc == 0) {
		s->p_init = 1;
		s->lpoll.data = s;
		rc = uv_poll_start(&s->lpoll, UV_READABLE, listen_cb);
	}
	if (rc == 0 && (rc = uv_timer_init(loop, &s->sweep)) == 0) {
		s->t_init = 1;
		s->sweep.data = s;
		uint64_t tick = sweep_tick(s);
		rc = uv_timer_start(&s->sweep, sweep_cb, tick, tick);
		/* The listener keeps the loop alive, not the timer. */
		uv_unref((uv_handle_t *)&s->sweep);
	}
	if (rc != 0) {
		fq_error("%s: %s", s->base.spec, uv_strerror(rc));
		return -FQ_EIO;
	}
	s->fd_ceiling = tcp_fd_ceiling();
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	if (getsockname(s->lfd, (struct sockaddr *)&bound, &blen) == 0)
		s->addr = bound;
	char a[64];
	fq_sockaddr_str(&s->addr, a, sizeof a);
	snprintf(s->name, sizeof s->name, "tcp://%s", a);
	fq_info("%s: listening", s->name);
	return 0;
}

/* The poll handle no longer watches the socket: it may close. */
static void
lpoll_close_cb(uv_handle_t *h)
{
	struct source_tcp *s = h->data;
	if (s->lfd >= 0)
		close(s->lfd);
	s->lfd = -1;
}

static void
tcp_close_all(struct source_tcp *s)
{
	s->stopping = 1;
	for (struct tcp_conn *c = s->conns; c; c = c->next) {
		/* Stopped (possibly from inside conn_frame): a message is
		 * half-sent only if bytes beyond the delivered ones wait. */
		if (!c->closing && c->fill > c->done)
			s->half_sent++;
		conn_close(c);
	}
	if (s->t_init && !uv_is_closing((uv_handle_t *)&s->sweep))
		uv_close((uv_handle_t *)&s->sweep, NULL);
	if (s->p_init && !uv_is_closing((uv_handle_t *)&s->lpoll))
		uv_close((uv_handle_t *)&s->lpoll, lpoll_close_cb);
	else if (!s->p_init && s->lfd >= 0) {
		close(s->lfd);
		s->lfd = -1;
	}
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
	if (s->lfd >= 0)
		close(s->lfd);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Counters. */

static uint64_t
refused_total(const struct source_tcp *s)
{
	uint64_t n = 0;
	for (int i = 0; i < TCP_REF_COUNT; i++)
		n += s->refused[i];
	return n;
}

static void
tcp_stats_json(struct source_tcp *s, struct fq_out *o, const char *name,
	       long backlog)
{
	fq_out_str(o, "{\"source\":");
	fq_format_json_str(o, name);
	fq_out_printf(o, ",\"kind\":\"tcp\",\"connections\":%llu,"
		      "\"open\":%u,\"closed\":%llu,\"refused\":%llu,"
		      "\"refused_by_reason\":{",
		      (unsigned long long)s->accepted, s->n_conns,
		      (unsigned long long)s->closed,
		      (unsigned long long)refused_total(s));
	for (int i = 0; i < TCP_REF_COUNT; i++)
		fq_out_printf(o, "%s\"%s\":%llu", i ? "," : "",
			      refusal_names[i],
			      (unsigned long long)s->refused[i]);
	fq_out_printf(o, "},\"idle_timeouts\":%llu,"
		      "\"progress_timeouts\":%llu,\"accept_paused\":%s,"
		      "\"accept_pauses\":%llu,",
		      (unsigned long long)s->idle_timeouts,
		      (unsigned long long)s->progress_timeouts,
		      s->paused ? "true" : "false",
		      (unsigned long long)s->pauses);
	if (backlog >= 0)
		fq_out_printf(o, "\"backlog\":%ld,", backlog);
	else
		fq_out_str(o, "\"backlog\":null,");
	fq_out_printf(o, "\"messages\":%llu,\"bytes\":%llu,"
		      "\"half_sent\":%llu,\"framing_errors\":%llu,"
		      "\"errors\":%llu,\"exporters_closed\":%llu}",
		      (unsigned long long)s->messages,
		      (unsigned long long)s->bytes,
		      (unsigned long long)s->half_sent,
		      (unsigned long long)s->framing_errors,
		      (unsigned long long)s->read_errors,
		      (unsigned long long)s->exporters_closed);
}

static void
tcp_print_stats(struct fq_source *src, struct fq_out *o, int json)
{
	struct source_tcp *s = (struct source_tcp *)src;
	const char *name = s->name[0] ? s->name : s->base.spec;
	long backlog = tcp_backlog(s);
	if (json) {
		tcp_stats_json(s, o, name, backlog);
		return;
	}
	fq_out_printf(o, "source %s: connections %llu open %u closed %llu "
		      "refused %llu", name, (unsigned long long)s->accepted,
		      s->n_conns, (unsigned long long)s->closed,
		      (unsigned long long)refused_total(s));
	for (int i = 0; i < TCP_REF_COUNT; i++)
		if (s->refused[i])
			fq_out_printf(o, " %s=%llu", refusal_names[i],
				      (unsigned long long)s->refused[i]);
	fq_out_printf(o, " idle_timeouts %llu progress_timeouts %llu "
		      "accept_pauses %llu%s",
		      (unsigned long long)s->idle_timeouts,
		      (unsigned long long)s->progress_timeouts,
		      (unsigned long long)s->pauses,
		      s->paused ? " (paused now)" : "");
	if (backlog >= 0)
		fq_out_printf(o, " backlog %ld", backlog);
	fq_out_printf(o, " messages %llu bytes %llu half_sent %llu "
		      "framing_errors %llu errors %llu exporters_closed %llu\n",
		      (unsigned long long)s->messages,
		      (unsigned long long)s->bytes,
		      (unsigned long long)s->half_sent,
		      (unsigned long long)s->framing_errors,
		      (unsigned long long)s->read_errors,
		      (unsigned long long)s->exporters_closed);
}

static const struct fq_source_ops tcp_ops = {
	.kind = "tcp",
	.start = tcp_start,
	.stop = tcp_stop,
	.close = tcp_close,
	.free = tcp_free,
	.print_stats = tcp_print_stats,
};

/* A timeout option: 0 = the default, FQ_TCP_NEVER = never. */
static uint64_t
timeout_of(int64_t v, int64_t dflt)
{
	if (v <= 0)
		v = dflt;
	return v == FQ_TCP_NEVER ? UINT64_MAX : (uint64_t)v;
}

int
fq__source_tcp_new(const char *addr, const struct fq_source_opts *opts,
		   struct fq_source **out, char *why, size_t why_len)
{
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
	s->lfd = -1;
	s->rl.burst = 5;
	s->idle_ms = timeout_of(opts->tcp_idle_ms, FQ_TCP_IDLE_DEFAULT_MS);
	s->progress_ms = timeout_of(opts->tcp_progress_ms,
				    FQ_TCP_PROGRESS_DEFAULT_MS);
	s->max_per_peer = opts->tcp_max_per_peer
		? opts->tcp_max_per_peer : FQ_TCP_MAX_PER_PEER_DEFAULT;
	*out = &s->base;
	return 0;
}
