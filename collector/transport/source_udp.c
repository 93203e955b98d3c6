/*
 * source_udp.c - live NetFlow v5/v9 and IPFIX over UDP: `udp://ADDR:PORT`.
 *
 * One source is one bound socket (IPv4 or IPv6; give several -s for
 * several).  It is a libuv uv_udp_t created with UV_UDP_RECVMMSG, so the
 * kernel hands over up to 20 datagrams per recvmmsg() call into one
 * receive buffer that the source owns and reuses; each datagram is passed
 * to fq_ingest_datagram() with the sender's address and port, this
 * socket's local_id, and the wall clock as arrival time.
 *
 * The socket asks for a large SO_RCVBUF (32 MiB by default,
 * fq_source_opts.udp_rcvbuf): first SO_RCVBUFFORCE, which succeeds with
 * CAP_NET_ADMIN, then SO_RCVBUF, which the kernel caps at
 * net.core.rmem_max.  The effective size, as getsockopt() reports it
 * (Linux doubles the request for its bookkeeping), is in the counters.
 *
 * Kernel drops: libuv does not pass ancillary data to its callbacks, so
 * SO_RXQ_OVFL would be useless (and costs a cmsg per datagram: it is not
 * enabled); the drop counter is read where the kernel publishes the same
 * per-socket counter (sk_drops): the `drops` column of /proc/net/udp or
 * /proc/net/udp6 on the line of this socket's inode.  It
 * is read when counters are printed and when the socket stops (the value
 * is kept for the counters printed at exit), never on the receive path.  (The
 * alternative, our own recvmmsg() with cmsgs on a uv_poll_t, would have
 * duplicated libuv's receive loop for one counter.)
 *
 * Network-triggered messages are rate limited.
 */
#include "fq_clock.h"
#include "fq_datagram.h"
#include "fq_error.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_source.h"
#include "source_kind.h"
#include "fq_sockaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif

/* libuv's recvmmsg width (20) times its per-datagram slot (64 KiB). */
#define UDP_RECV_SLOT (64u * 1024u)
#define UDP_RECV_SLOTS 20u

struct source_udp {
	struct fq_source base;
	uv_udp_t h;
	struct sockaddr_storage addr;   /* bound address */
	char name[80];                  /* "udp://addr:port" as bound */
	char *buf;                      /* owned receive buffer */
	size_t buf_len;
	int h_init;
	int receiving;
	int mmsg;                       /* recvmmsg in use */
	size_t rcvbuf_req;
	int rcvbuf_eff;                 /* getsockopt(SO_RCVBUF) */
	unsigned long inode;            /* socket inode, for /proc */
	uint64_t datagrams, bytes, errors, truncated;
	int64_t batch_ms;               /* arrival time of this recvmmsg batch,
					   0 = not read yet */
	/* Last values read from /proc, kept once the socket is closed. */
	int have_drops;
	unsigned long long drops;
	unsigned long rxq;
	struct fq_ratelimit rl;
};

static int udp_proc_drops(const struct source_udp *s,
			  unsigned long long *drops, unsigned long *rxq);

/* Refresh the kernel counters while the socket still exists. */
static void
udp_read_drops(struct source_udp *s)
{
	if (!s->h_init || uv_is_closing((uv_handle_t *)&s->h))
		return;
	if (udp_proc_drops(s, &s->drops, &s->rxq) == 0)
		s->have_drops = 1;
}

static void
udp_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct source_udp *s = h->data;
	(void)suggested;
	/* One buffer, reused: libuv hands back each batch before the next
	 * alloc (UV_UDP_MMSG_FREE), and we never keep datagrams. */
	*buf = uv_buf_init(s->buf, (unsigned)s->buf_len);
	/* libuv asks for the buffer right before each recvmmsg(): a new
	 * batch, so its arrival time is read again (lazily, because many of
	 * these calls find the socket empty). */
	s->batch_ms = 0;
}

/*
 * `buf` and `addr` live until this callback returns; the datagram is
 * copied by whoever keeps it (the decoder keeps nothing of it).
 */
static void
udp_recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
	    const struct sockaddr *addr, unsigned flags)
{
	struct source_udp *s = h->data;
	if (flags & UV_UDP_MMSG_FREE)
		return;                 /* our buffer: nothing to free */
	if (nread < 0) {
		s->errors++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: receive error: %s",
			  s->name, uv_strerror((int)nread));
		return;
	}
	if (addr == NULL)
		return;                 /* nothing more to read now */
	if (flags & UV_UDP_PARTIAL) {
		s->truncated++;
		fq_log_rl(&s->rl, FQ_LOG_WARN, "%s: datagram larger than "
			  "%u bytes truncated by the receive buffer, dropped",
			  s->name, UDP_RECV_SLOT);
		return;
	}
	if (s->base.done)
		return;
	struct fq_datagram dg;
	memset(&dg, 0, sizeof dg);
	memcpy(&dg.src, addr, addr->sa_family == AF_INET6
	       ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	fq_sockaddr_norm(&dg.src);
	dg.data = (const uint8_t *)buf->base;
	dg.len = (size_t)nread;
	dg.local_id = s->base.local_id;
	dg.transport = FQ_TRANSPORT_UDP;
	/*
	 * One clock read per recvmmsg() batch, not per datagram: every
	 * datagram of a batch was already queued when the batch was taken
	 * (arrival has millisecond resolution anyway), and at 100,000
	 * datagrams/s the per-datagram clock_gettime() was about 1% of
	 * flowq's CPU time.
	 */
	if (s->batch_ms == 0)
		s->batch_ms = fq_clock_ms(FQ_CLOCK_WALL);
	dg.arrival_ms = s->batch_ms;
	s->datagrams++;
	s->bytes += (size_t)nread;
	/* On a sink error the ingest calls our stop(). */
	(void)fq_ingest_datagram(s->base.ingest, &dg);
}

static void
udp_set_options(struct source_udp *s)
{
	uv_os_fd_t fd;
	if (uv_fileno((uv_handle_t *)&s->h, &fd) != 0)
		return;
	int v = s->rcvbuf_req > (size_t)(1 << 30) ? 1 << 30
						   : (int)s->rcvbuf_req;
	if (v > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v,
				sizeof v) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	socklen_t sl = sizeof s->rcvbuf_eff;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->rcvbuf_eff, &sl) != 0)
		s->rcvbuf_eff = -1;
	/*
	 * SO_RXQ_OVFL is deliberately not enabled: libuv passes no ancillary
	 * data to udp_recv_cb, so the drop count it would attach is thrown
	 * away, yet with it on the kernel builds that cmsg for every datagram
	 * (__sock_recv_cmsgs, 2-3% of flowq's CPU time at 100,000 v5
	 * datagrams/s).  The same counter is read from /proc instead.
	 */
	struct stat st;
	if (fstat(fd, &st) == 0)
		s->inode = (unsigned long)st.st_ino;
	if ((size_t)s->rcvbuf_eff < s->rcvbuf_req && s->rcvbuf_req > 0)
		fq_info("%s: SO_RCVBUF is %d bytes (asked for %zu; raise "
			"net.core.rmem_max for more)", s->name, s->rcvbuf_eff,
			s->rcvbuf_req);
}

static int
udp_start(struct fq_source *src)
{
	struct source_udp *s = (struct source_udp *)src;
	s->buf_len = UDP_RECV_SLOT * UDP_RECV_SLOTS;
	s->buf = malloc(s->buf_len);
	if (s->buf == NULL) {
		fq_error("%s: out of memory", s->base.spec);
		return -FQ_ENOMEM;
	}
	int rc = uv_udp_init_ex(src->ingest->loop, &s->h,
				(unsigned)s->addr.ss_family | UV_UDP_RECVMMSG);
	if (rc != 0) {
		fq_error("%s: cannot create socket: %s", s->base.spec,
			 uv_strerror(rc));
		return -FQ_EIO;
	}
	s->h_init = 1;
	s->h.data = s;
	rc = uv_udp_bind(&s->h, (const struct sockaddr *)&s->addr, 0);
	if (rc != 0) {
		fq_error("%s: cannot bind: %s", s->base.spec, uv_strerror(rc));
		return -FQ_EIO;
	}
	/* Port 0 binds an ephemeral port: name the real one. */
	struct sockaddr_storage bound;
	int blen = sizeof bound;
	if (uv_udp_getsockname(&s->h, (struct sockaddr *)&bound, &blen) == 0)
		s->addr = bound;
	char a[64];
	fq_sockaddr_str(&s->addr, a, sizeof a);
	snprintf(s->name, sizeof s->name, "udp://%s", a);
	udp_set_options(s);
	s->mmsg = uv_udp_using_recvmmsg(&s->h);
	rc = uv_udp_recv_start(&s->h, udp_alloc_cb, udp_recv_cb);
	if (rc != 0) {
		fq_error("%s: cannot receive: %s", s->name, uv_strerror(rc));
		return -FQ_EIO;
	}
	s->receiving = 1;
	fq_info("%s: listening (recvmmsg %s, SO_RCVBUF %d)", s->name,
		s->mmsg ? "on" : "off", s->rcvbuf_eff);
	return 0;
}

static void
udp_stop(struct fq_source *src)
{
	struct source_udp *s = (struct source_udp *)src;
	udp_read_drops(s);
	if (s->receiving) {
		uv_udp_recv_stop(&s->h);
		s->receiving = 0;
	}
	fq_source_done(src, 0);
}

static void
udp_close(struct fq_source *src)
{
	struct source_udp *s = (struct source_udp *)src;
	udp_read_drops(s);
	if (s->h_init && !uv_is_closing((uv_handle_t *)&s->h))
		uv_close((uv_handle_t *)&s->h, NULL);
}

static void
udp_free(struct fq_source *src)
{
	struct source_udp *s = (struct source_udp *)src;
	free(s->buf);
	free(s);
}

/*
 * The kernel's per-socket drop counter and receive queue from
 * /proc/net/udp{,6}.  Returns 0 when the socket's line was found.
 */
static int
udp_proc_drops(const struct source_udp *s, unsigned long long *drops,
	       unsigned long *rxq)
{
	if (s->inode == 0)
		return -1;
	const char *path = s->addr.ss_family == AF_INET6 ? "/proc/net/udp6"
							 : "/proc/net/udp";
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char line[512];
	int found = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long tx, rx, inode;
		unsigned long long d;
		/* sl local rem st tx:rx tr:when retr uid timeout inode ref
		 * pointer drops */
		if (sscanf(line, " %*s %*s %*s %*s %lx:%lx %*s %*s %*s %*s "
			   "%lu %*s %*s %llu", &tx, &rx, &inode, &d) != 4)
			continue;
		if (inode == s->inode) {
			*drops = d;
			*rxq = rx;
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static void
udp_print_stats(struct fq_source *src, struct fq_out *o, int json)
{
	struct source_udp *s = (struct source_udp *)src;
	udp_read_drops(s);
	unsigned long long drops = s->drops;
	unsigned long rxq = s->rxq;
	int have = s->have_drops;
	const char *name = s->name[0] ? s->name : s->base.spec;
	if (json) {
		fq_out_str(o, "{\"source\":");
		fq_format_json_str(o, name);
		fq_out_printf(o, ",\"kind\":\"udp\",\"datagrams\":%llu,"
			      "\"bytes\":%llu,\"errors\":%llu,"
			      "\"truncated\":%llu,\"rcvbuf\":%d,"
			      "\"rcvbuf_requested\":%zu,\"recvmmsg\":%s",
			      (unsigned long long)s->datagrams,
			      (unsigned long long)s->bytes,
			      (unsigned long long)s->errors,
			      (unsigned long long)s->truncated,
			      s->rcvbuf_eff, s->rcvbuf_req,
			      s->mmsg ? "true" : "false");
		if (have)
			fq_out_printf(o, ",\"kernel_drops\":%llu,"
				      "\"rx_queue\":%lu}", drops, rxq);
		else
			fq_out_str(o, ",\"kernel_drops\":null}");
		return;
	}
	fq_out_printf(o, "source %s: datagrams %llu bytes %llu errors %llu "
		      "truncated %llu", name,
		      (unsigned long long)s->datagrams,
		      (unsigned long long)s->bytes,
		      (unsigned long long)s->errors,
		      (unsigned long long)s->truncated);
	if (have)
		fq_out_printf(o, " kernel_drops %llu rx_queue %lu", drops, rxq);
	else
		fq_out_str(o, " kernel_drops unknown");
	fq_out_printf(o, " rcvbuf %d (requested %zu) recvmmsg %s\n",
		      s->rcvbuf_eff, s->rcvbuf_req, s->mmsg ? "on" : "off");
}

static const struct fq_source_ops udp_ops = {
	.kind = "udp",
	.start = udp_start,
	.stop = udp_stop,
	.close = udp_close,
	.free = udp_free,
	.print_stats = udp_print_stats,
};

int
fq__source_udp_new(const char *addr, const struct fq_source_opts *opts,
		   struct fq_source **out, char *why, size_t why_len)
{
	struct sockaddr_storage ss;
	char w[200];
	if (fq_sockaddr_parse(addr, &ss, w, sizeof w) < 0) {
		snprintf(why, why_len, "udp://%s", w);
		return -FQ_EINVAL;
	}
	struct source_udp *s = fq__source_alloc(sizeof *s, &udp_ops, 1,
						"udp://", addr, why, why_len);
	if (s == NULL)
		return -FQ_ENOMEM;
	s->addr = ss;
	s->rcvbuf_req = opts->udp_rcvbuf ? opts->udp_rcvbuf
					 : FQ_UDP_RCVBUF_DEFAULT;
	s->rl.burst = 5;
	*out = &s->base;
	return 0;
}
