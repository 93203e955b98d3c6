/*
 * hostile_send.c - the sender of the hostile-traffic tests (issue 7 item
 * 4): valid NetFlow v5, v9 and IPFIX exports mixed with random bytes and
 * mutated copies of valid datagrams, or a template flood, sent over UDP to
 * a live flowq on 127.0.0.1:PORT.  Everything it sends is determined by
 * the seed (only the ephemeral source ports differ from run to run).
 *
 *   hostile_send traffic --port P [--seed S] [--hostile N] [--valid N]
 *                        [--refused N] [--records FILE] [--queue-limit B]
 *   hostile_send flood   --port P [--seed S] [--templates N] [--valid N]
 *                        [--records FILE] [--queue-limit B]
 *
 * Who sends what (every source address and port is its own exporter
 * session, SPEC section 2):
 *
 *   127.0.0.1, one port per protocol   the valid streams: templates before
 *                                       data, several observation domains;
 *                                       every record they carry is written
 *                                       to --records FILE, one line each;
 *   127.0.0.2, one port per protocol   mutated copies of valid datagrams
 *                                       of that protocol, made by a second
 *                                       instance of the same generator with
 *                                       at most two records per data set
 *                                       (mutations that leave a datagram
 *                                       valid then add few records nobody
 *                                       checks to flowq's output); some are
 *                                       sent intact, so that session has
 *                                       templates its mutated data can use;
 *   127.0.0.2, four more ports         random bytes, bare or behind a
 *                                       plausible v5/v9/IPFIX header;
 *   127.0.0.3                           copies and random bytes from an
 *                                       exporter outside flowq's --allow;
 *   127.0.0.2, one port (flood mode)    the template flood.
 *
 * Why mutated copies never come from the valid stream's own address and
 * port: templates are scoped to the exporter session.  A mutation that
 * keeps a template set well formed (a bit flip in a field type, a field
 * length changed, a different template id) is a legitimate redefinition,
 * and flowq would then be right to decode the valid data that follows
 * differently or not at all; a mutated sequence number legitimately moves
 * the sequence counters.  Only a separate session lets the test demand
 * that every valid record arrives exactly as sent.  The separate source
 * address (not only port) also tells their records apart in flowq's
 * output, which names the exporter address but not its port.
 *
 * Pacing: the kernel drops a datagram when the receiving socket's queue
 * (sk_rmem_alloc, the rx_queue column of /proc/net/udp) would exceed its
 * SO_RCVBUF.  The sender reads that column for flowq's socket and sends
 * only while the queue plus an upper bound of what it sent since (twice
 * the length plus 2 KiB per datagram: the skb's true size on loopback,
 * measured from 832 bytes for an empty datagram to 66339 for 65507 bytes)
 * stays below --queue-limit.  The default, 256 KiB, is below the receive
 * buffer flowq gets whenever its SO_RCVBUF request succeeds (at least
 * twice net.core.rmem_max's usual 212992 bytes); hostile.py passes half
 * the buffer flowq reports, so that the queue is read rarely.  Datagrams
 * still in the loopback backlog are accounted for by sync_backlog().  So
 * the pace follows whatever flowq drains (normal or sanitizer build, a
 * loaded machine) instead of a fixed rate, and the kernel-drop counter
 * flowq reports must stay 0: the test fails if it does not.  If the socket
 * disappears from /proc (flowq died) the sender stops with status 3.
 *
 * Output: a JSON summary on stdout (datagrams and records per class and
 * exporter).  Exit 0, 2 on bad usage or a local error, 3 when the receiver
 * went away.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_DG 65507u           /* largest UDP payload over IPv4 */

static void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void
die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "hostile_send: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(status);
}

/* ---------------------------------------------------------------- rng */

/* splitmix64: small, fast, and the same sequence everywhere. */
struct rng {
	uint64_t s;
};

static uint64_t
rnd64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t
rnd(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)((rnd64(r) >> 32) * n >> 32) : 0;
}

/* Uniform in [lo, hi]. */
static uint32_t
rnd_in(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rnd(r, hi - lo + 1);
}

static void
rnd_fill(struct rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd64(r);
}

/* ------------------------------------------------------------ packets */

struct pkt {
	size_t n;
	uint8_t b[MAX_DG];
};

static void
need(const struct pkt *p, size_t k)
{
	if (p->n + k > sizeof p->b)
		die(2, "internal: datagram overflow");
}

static void
put8(struct pkt *p, unsigned v)
{
	need(p, 1);
	p->b[p->n++] = (uint8_t)v;
}

static void
put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v);
}

static void
put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void
put64(struct pkt *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p, (uint32_t)v);
}

static void
putn(struct pkt *p, const void *d, size_t n)
{
	need(p, n);
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
set16(struct pkt *p, size_t at, unsigned v)
{
	p->b[at] = (uint8_t)(v >> 8);
	p->b[at + 1] = (uint8_t)v;
}

static unsigned
get16(const uint8_t *b)
{
	return (unsigned)b[0] << 8 | b[1];
}

/* ------------------------------------------------------------ sending */

struct stream {
	const char *role;
	const char *addr;
	int fd;
	unsigned port;          /* local (source) port */
	uint64_t datagrams;
	uint64_t bytes;
};

struct pacer {
	unsigned port;          /* flowq's port on 127.0.0.1 */
	int marker;             /* socket connected to itself, see pace() */
	size_t limit;           /* queue bytes we allow */
	size_t budget;          /* what may still be sent before a check */
	uint64_t checks, waits;
	unsigned long max_queue;
};

/*
 * rx_queue of flowq's socket (local 127.0.0.1:port, not connected) from
 * /proc/net/udp.  Returns 0, or -1 when the socket is not there.
 */
static int
queue_bytes(const struct pacer *pc, unsigned long *q)
{
	FILE *f = fopen("/proc/net/udp", "r");
	if (f == NULL)
		die(2, "/proc/net/udp: %s (needed for pacing)", strerror(errno));
	char line[512];
	int found = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long laddr, lport, raddr, rport, tx, rx;
		if (sscanf(line, " %*s %lx:%lx %lx:%lx %*s %lx:%lx", &laddr,
			   &lport, &raddr, &rport, &tx, &rx) != 6)
			continue;
		/* /proc shows the address in host order of a be32. */
		if (lport == pc->port && raddr == 0 && rport == 0 &&
		    laddr == 0x0100007fUL) {
			*q = rx;
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * On loopback a sent datagram first waits in the sending CPU's backlog
 * and reaches the socket when that backlog is processed, normally before
 * send() returns but later when softirq work has been deferred to
 * ksoftirqd (a loaded machine).  Datagrams in the backlog are not in
 * rx_queue yet, so before reading it the sender sends one byte to its own
 * marker socket through the same backlog and waits for it: what was sent
 * before it has then been delivered (or dropped) too.  Without this the
 * queue overshot the limit by 140 KiB in a test run on a loaded machine.
 */
static void
sync_backlog(struct pacer *pc)
{
	char b = 0;
	if (send(pc->marker, &b, 1, 0) != 1)
		die(2, "marker send: %s", strerror(errno));
	/* SO_RCVTIMEO bounds the wait should the marker itself be lost. */
	while (recv(pc->marker, &b, 1, 0) < 0 && errno == EINTR)
		;
}

static void
pace(struct pacer *pc, size_t len)
{
	/* Upper bound of the skb's true size for this datagram on loopback. */
	size_t cost = 2 * len + 2048;
	while (pc->budget < cost) {
		unsigned long q;
		pc->checks++;
		sync_backlog(pc);
		if (queue_bytes(pc, &q) < 0)
			die(3, "flowq's socket 127.0.0.1:%u is gone", pc->port);
		if (q > pc->max_queue)
			pc->max_queue = q;
		pc->budget = q < pc->limit ? pc->limit - q : 0;
		if (pc->budget < cost) {
			pc->waits++;
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	pc->budget -= cost;
}

/* Waits until flowq has read everything we sent. */
static void
drain(struct pacer *pc)
{
	for (;;) {
		unsigned long q;
		sync_backlog(pc);
		if (queue_bytes(pc, &q) < 0)
			die(3, "flowq's socket 127.0.0.1:%u is gone", pc->port);
		if (q == 0)
			return;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

static void
stream_open(struct stream *s, const char *role, const char *addr,
	    unsigned port)
{
	memset(s, 0, sizeof *s);
	s->role = role;
	s->addr = addr;
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (s->fd < 0)
		die(2, "socket: %s", strerror(errno));
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &a.sin_addr);
	if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0)
		die(2, "bind %s: %s", addr, strerror(errno));
	socklen_t al = sizeof a;
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	a.sin_port = htons((uint16_t)port);
	if (connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0)
		die(2, "connect: %s", strerror(errno));
}

static int
marker_open(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die(2, "socket: %s", strerror(errno));
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	socklen_t al = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die(2, "marker socket: %s", strerror(errno));
	struct timeval tv = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

static void
send_dg(struct pacer *pc, struct stream *s, const uint8_t *d, size_t n)
{
	pace(pc, n);
	for (;;) {
		ssize_t w = send(s->fd, d, n, 0);
		if (w == (ssize_t)n)
			break;
		if (w < 0 && (errno == EINTR || errno == ENOBUFS ||
			      errno == EAGAIN))
			continue;
		if (w < 0 && errno == ECONNREFUSED)
			die(3, "127.0.0.1:%u refused a datagram (flowq gone?)",
			    pc->port);
		die(2, "send %zu bytes: %s", n, w < 0 ? strerror(errno)
							: "short write");
	}
	s->datagrams++;
	s->bytes += n;
}

/* ------------------------------------------------------ valid exports */

/*
 * One valid exporter: its clock, sequence numbers, and which domains have
 * been told their templates.  Records get consecutive serial numbers,
 * which make their source addresses unique (10.0.0.0 + serial, or
 * 2001:db8::serial for IPv6): the driver matches them one to one.
 */
#define NDOM 2

struct gen {
	int version;
	uint32_t domains[NDOM];
	uint32_t seq[NDOM];
	unsigned since_tpl[NDOM];       /* datagrams since templates */
	int have_tpl[NDOM];
	uint32_t secs, boot;            /* export time, boot time (s) */
	unsigned maxrec;                /* records per data set, at most */
	int quiet;                      /* records not written to --records */
	uint64_t datagrams, records;
};

struct world {
	struct rng r;
	struct pacer pc;
	FILE *recs;                     /* expected records, or NULL */
	int quiet;                      /* the current generator's g->quiet */
	uint32_t serial;
};

struct rec {
	int v6;
	uint8_t src[16], dst[16];
	unsigned sport, dport, prot, flags;
	uint64_t pkts, bytes;
	int64_t stime, etime;
	uint32_t first, last;           /* uptimes (v5/v9) */
	uint32_t start_s, end_s;        /* IPFIX seconds */
};

static void
new_rec(struct world *w, struct rec *x, int v6)
{
	memset(x, 0, sizeof *x);
	uint32_t n = w->serial++;
	x->v6 = v6;
	if (v6) {
		static const uint8_t pfx[8] = { 0x20, 0x01, 0x0d, 0xb8 };
		memcpy(x->src, pfx, 8);
		for (int i = 0; i < 4; i++)
			x->src[12 + i] = (uint8_t)(n >> (24 - 8 * i));
		memcpy(x->dst, pfx, 8);
		x->dst[8] = 0xff;
		rnd_fill(&w->r, x->dst + 12, 4);
	} else {
		uint32_t s = 0x0a000000u + n, d = 0xc0a80000u | rnd(&w->r, 65536);
		for (int i = 0; i < 4; i++) {
			x->src[i] = (uint8_t)(s >> (24 - 8 * i));
			x->dst[i] = (uint8_t)(d >> (24 - 8 * i));
		}
	}
	static const unsigned prots[] = { 6, 17, 1, 47, 6, 17 };
	x->prot = prots[rnd(&w->r, 6)];
	x->sport = rnd_in(&w->r, 1, 65535);
	x->dport = rnd_in(&w->r, 1, 65535);
	x->flags = x->prot == 6 ? rnd(&w->r, 64) : 0;
	x->pkts = rnd_in(&w->r, 1, 1000000);
	x->bytes = x->pkts * rnd_in(&w->r, 40, 1500);
}

static void
write_rec(struct world *w, uint32_t domain, const struct rec *x)
{
	if (w->recs == NULL || w->quiet)
		return;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	inet_ntop(x->v6 ? AF_INET6 : AF_INET, x->src, s, sizeof s);
	inet_ntop(x->v6 ? AF_INET6 : AF_INET, x->dst, d, sizeof d);
	fprintf(w->recs, "127.0.0.1 %" PRIu32 " %s %s %u %u %u %" PRIu64
		" %" PRIu64 " %" PRId64 " %" PRId64 "\n", domain, s, d,
		x->sport, x->dport, x->prot, x->pkts, x->bytes, x->stime,
		x->etime);
}

/* Record counts: mostly small datagrams, now and then a full one. */
static unsigned
nrecords(struct rng *r, unsigned max)
{
	unsigned k = rnd(r, 10);
	if (k < 6)
		return rnd_in(r, 1, 3 < max ? 3 : max);
	if (k < 9)
		return rnd_in(r, 1, 10 < max ? 10 : max);
	return rnd_in(r, 1, max);
}

/* Uptime times of a flow seen up to `uptime` ms after boot. */
static void
uptimes(struct rng *r, struct rec *x, uint32_t uptime)
{
	x->first = uptime - rnd_in(r, 1000, 300000);
	x->last = x->first + rnd(r, uptime - x->first + 1);
}

static void
v5_datagram(struct world *w, struct gen *g, struct pkt *p)
{
	struct rng *r = &w->r;
	unsigned count = nrecords(r, g->maxrec < 30 ? g->maxrec : 30);
	if (g->datagrams % 7 == 0)
		g->secs++;
	uint32_t uptime = (g->secs - g->boot) * 1000 + rnd(r, 1000);
	uint32_t nsecs = rnd(r, 1000000000);
	uint32_t dom = g->domains[0];
	p->n = 0;
	put16(p, 5);
	put16(p, count);
	put32(p, uptime);
	put32(p, g->secs);
	put32(p, nsecs);
	put32(p, g->seq[0]);
	put8(p, dom >> 8);
	put8(p, dom & 0xff);
	put16(p, 0);
	g->seq[0] += count;
	for (unsigned i = 0; i < count; i++) {
		struct rec x;
		new_rec(w, &x, 0);
		x.pkts &= 0xffffffffu;
		x.bytes &= 0xffffffffu;
		uptimes(r, &x, uptime);
		x.stime = (int64_t)g->secs * 1000 + nsecs / 1000000 -
			  (int64_t)(uptime - x.first);
		x.etime = (int64_t)g->secs * 1000 + nsecs / 1000000 -
			  (int64_t)(uptime - x.last);
		putn(p, x.src, 4);
		putn(p, x.dst, 4);
		put32(p, 0xc0000201);           /* nexthop */
		put16(p, rnd(r, 100));          /* input */
		put16(p, rnd(r, 100));          /* output */
		put32(p, (uint32_t)x.pkts);
		put32(p, (uint32_t)x.bytes);
		put32(p, x.first);
		put32(p, x.last);
		put16(p, x.sport);
		put16(p, x.dport);
		put8(p, 0);
		put8(p, x.flags);
		put8(p, x.prot);
		put8(p, 0);                     /* tos */
		put16(p, rnd(r, 65536));        /* src_as */
		put16(p, rnd(r, 65536));
		put8(p, rnd(r, 33));
		put8(p, rnd(r, 33));
		put16(p, 0);
		write_rec(w, dom, &x);
	}
	g->datagrams++;
	g->records += count;
}

/* v9 templates of the valid stream (field type, length). */
static const uint16_t v9_t256[][2] = {
	{ 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 6, 1 },
	{ 2, 4 }, { 1, 8 }, { 22, 4 }, { 21, 4 }, { 10, 2 }, { 14, 2 },
	{ 40000, 3 },                   /* vendor field: skipped */
};
static const uint16_t v9_t257[][2] = {
	{ 27, 16 }, { 28, 16 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 2, 8 },
	{ 1, 4 }, { 22, 4 }, { 21, 4 },
};
#define NF(a) (sizeof a / sizeof a[0])

static void
v9_template(struct pkt *p, unsigned id, const uint16_t (*f)[2], size_t n)
{
	put16(p, id);
	put16(p, (unsigned)n);
	for (size_t i = 0; i < n; i++) {
		put16(p, f[i][0]);
		put16(p, f[i][1]);
	}
}

static void
pad4(struct pkt *p, size_t set_at)
{
	while ((p->n - set_at) % 4)
		put8(p, 0);
	set16(p, set_at + 2, (unsigned)(p->n - set_at));
}

static void
v9_data(struct world *w, struct gen *g, struct pkt *p, int v6, uint32_t dom,
	uint32_t uptime, unsigned n)
{
	size_t at = p->n;
	put16(p, v6 ? 257 : 256);
	put16(p, 0);
	for (unsigned i = 0; i < n; i++) {
		struct rec x;
		new_rec(w, &x, v6);
		uptimes(&w->r, &x, uptime);
		x.stime = (int64_t)g->secs * 1000 - (int64_t)(uptime - x.first);
		x.etime = (int64_t)g->secs * 1000 - (int64_t)(uptime - x.last);
		if (v6) {
			x.bytes &= 0xffffffffu;
			putn(p, x.src, 16);
			putn(p, x.dst, 16);
			put16(p, x.sport);
			put16(p, x.dport);
			put8(p, x.prot);
			put64(p, x.pkts);
			put32(p, (uint32_t)x.bytes);
			put32(p, x.first);
			put32(p, x.last);
		} else {
			x.pkts &= 0xffffffffu;
			putn(p, x.src, 4);
			putn(p, x.dst, 4);
			put16(p, x.sport);
			put16(p, x.dport);
			put8(p, x.prot);
			put8(p, x.flags);
			put32(p, (uint32_t)x.pkts);
			put64(p, x.bytes);
			put32(p, x.first);
			put32(p, x.last);
			put16(p, rnd(&w->r, 100));
			put16(p, rnd(&w->r, 100));
			put8(p, 0xaa);
			put16(p, 0xbbcc);
		}
		write_rec(w, dom, &x);
	}
	pad4(p, at);
	g->records += n;
}

static void
v9_datagram(struct world *w, struct gen *g, struct pkt *p)
{
	struct rng *r = &w->r;
	unsigned di = rnd(r, NDOM);
	uint32_t dom = g->domains[di];
	if (g->datagrams % 5 == 0)
		g->secs++;
	uint32_t uptime = (g->secs - g->boot) * 1000 + rnd(r, 1000);
	unsigned count = 0;
	p->n = 0;
	put16(p, 9);
	put16(p, 0);                    /* count, set below */
	put32(p, uptime);
	put32(p, g->secs);
	put32(p, g->seq[di]++);
	put32(p, dom);
	if (!g->have_tpl[di] || ++g->since_tpl[di] >= 20) {
		g->have_tpl[di] = 1;
		g->since_tpl[di] = 0;
		size_t at = p->n;
		put16(p, 0);
		put16(p, 0);
		v9_template(p, 256, v9_t256, NF(v9_t256));
		v9_template(p, 257, v9_t257, NF(v9_t257));
		pad4(p, at);
		/* Options template 258: scope System (4), SAMPLING_INTERVAL. */
		at = p->n;
		put16(p, 1);
		put16(p, 0);
		put16(p, 258);
		put16(p, 4);
		put16(p, 4);
		put16(p, 1);
		put16(p, 4);
		put16(p, 34);
		put16(p, 4);
		pad4(p, at);
		at = p->n;
		put16(p, 258);
		put16(p, 0);
		put32(p, 0);
		put32(p, 1);
		pad4(p, at);
		count += 4;
	}
	unsigned n4 = rnd(r, 3) ? nrecords(r, g->maxrec < 20 ? g->maxrec : 20) : 0;
	unsigned n6 = n4 == 0 || rnd(r, 3) == 0 ?
		nrecords(r, g->maxrec < 12 ? g->maxrec : 12) : 0;
	if (n4)
		v9_data(w, g, p, 0, dom, uptime, n4);
	if (n6)
		v9_data(w, g, p, 1, dom, uptime, n6);
	set16(p, 2, count + n4 + n6);
	g->datagrams++;
}

/* IPFIX templates: (element id | 0x8000 for enterprise, length, PEN). */
static const uint32_t ipfix_t256[][3] = {
	{ 152, 8, 0 }, { 153, 8, 0 }, { 8, 4, 0 }, { 12, 4, 0 }, { 7, 2, 0 },
	{ 11, 2, 0 }, { 4, 1, 0 }, { 6, 1, 0 }, { 2, 8, 0 }, { 1, 8, 0 },
	{ 10, 4, 0 }, { 14, 4, 0 },
};
static const uint32_t ipfix_t257[][3] = {
	{ 27, 16, 0 }, { 28, 16, 0 }, { 7, 2, 0 }, { 11, 2, 0 }, { 4, 1, 0 },
	{ 150, 4, 0 }, { 151, 4, 0 }, { 2, 4, 0 }, { 1, 4, 0 },
	{ 82, 65535, 0 },               /* interfaceName, variable length */
	{ 0x8005, 4, 32473 },           /* an enterprise element */
};

static void
ipfix_template(struct pkt *p, unsigned id, const uint32_t (*f)[3], size_t n)
{
	put16(p, id);
	put16(p, (unsigned)n);
	for (size_t i = 0; i < n; i++) {
		put16(p, f[i][0]);
		put16(p, f[i][1]);
		if (f[i][0] & 0x8000)
			put32(p, f[i][2]);
	}
}

static unsigned
ipfix_data(struct world *w, struct pkt *p, int v6, uint32_t dom,
	   uint32_t secs, unsigned n)
{
	struct rng *r = &w->r;
	size_t at = p->n;
	put16(p, v6 ? 257 : 256);
	put16(p, 0);
	for (unsigned i = 0; i < n; i++) {
		struct rec x;
		new_rec(w, &x, v6);
		if (v6) {
			x.pkts &= 0xffffffffu;
			x.bytes &= 0xffffffffu;
			x.start_s = secs - rnd_in(r, 1, 300);
			x.end_s = x.start_s + rnd(r, secs - x.start_s + 1);
			x.stime = (int64_t)x.start_s * 1000;
			x.etime = (int64_t)x.end_s * 1000;
			putn(p, x.src, 16);
			putn(p, x.dst, 16);
			put16(p, x.sport);
			put16(p, x.dport);
			put8(p, x.prot);
			put32(p, x.start_s);
			put32(p, x.end_s);
			put32(p, (uint32_t)x.pkts);
			put32(p, (uint32_t)x.bytes);
			/* interfaceName: 1-byte or 3-byte length form. */
			unsigned nl = rnd(r, 8) ? rnd(r, 20) : rnd_in(r, 255, 400);
			if (nl < 255) {
				put8(p, nl);
			} else {
				put8(p, 255);
				put16(p, nl);
			}
			for (unsigned k = 0; k < nl; k++)
				put8(p, 'a' + rnd(r, 26));
			put32(p, rnd64(r) & 0xffffffffu);
		} else {
			x.stime = (int64_t)secs * 1000 - rnd_in(r, 1, 300000);
			x.etime = x.stime + rnd(r, (uint32_t)((int64_t)secs *
						1000 - x.stime + 1));
			put64(p, (uint64_t)x.stime);
			put64(p, (uint64_t)x.etime);
			putn(p, x.src, 4);
			putn(p, x.dst, 4);
			put16(p, x.sport);
			put16(p, x.dport);
			put8(p, x.prot);
			put8(p, x.flags);
			put64(p, x.pkts);
			put64(p, x.bytes);
			put32(p, rnd(r, 100));
			put32(p, rnd(r, 100));
		}
		write_rec(w, dom, &x);
	}
	set16(p, at + 2, (unsigned)(p->n - at));
	return n;
}

static void
ipfix_datagram(struct world *w, struct gen *g, struct pkt *p)
{
	struct rng *r = &w->r;
	unsigned di = rnd(r, NDOM);
	uint32_t dom = g->domains[di];
	if (g->datagrams % 5 == 0)
		g->secs++;
	p->n = 0;
	put16(p, 10);
	put16(p, 0);                    /* length, set below */
	put32(p, g->secs);
	put32(p, g->seq[di]);
	put32(p, dom);
	unsigned nrec = 0;
	if (!g->have_tpl[di] || ++g->since_tpl[di] >= 20) {
		g->have_tpl[di] = 1;
		g->since_tpl[di] = 0;
		size_t at = p->n;
		put16(p, 2);
		put16(p, 0);
		ipfix_template(p, 256, ipfix_t256, NF(ipfix_t256));
		ipfix_template(p, 257, ipfix_t257, NF(ipfix_t257));
		set16(p, at + 2, (unsigned)(p->n - at));
		/* Options template 258: scope observationDomainId, then
		 * samplingInterval; one options record (interval 1). */
		at = p->n;
		put16(p, 3);
		put16(p, 0);
		put16(p, 258);
		put16(p, 2);
		put16(p, 1);
		put16(p, 149);
		put16(p, 4);
		put16(p, 34);
		put16(p, 4);
		set16(p, at + 2, (unsigned)(p->n - at));
		put16(p, 258);
		put16(p, 12);
		put32(p, dom);
		put32(p, 1);
		nrec++;
	}
	unsigned n4 = rnd(r, 3) ? nrecords(r, g->maxrec < 20 ? g->maxrec : 20) : 0;
	unsigned n6 = n4 == 0 || rnd(r, 3) == 0 ?
		nrecords(r, g->maxrec < 8 ? g->maxrec : 8) : 0;
	if (n4)
		ipfix_data(w, p, 0, dom, g->secs, n4);
	if (n6)
		ipfix_data(w, p, 1, dom, g->secs, n6);
	g->records += n4 + n6;
	g->seq[di] += nrec + n4 + n6;
	set16(p, 2, (unsigned)p->n);
	g->datagrams++;
}

static void
gen_init(struct gen *g, int version)
{
	memset(g, 0, sizeof *g);
	g->version = version;
	g->boot = 1700000000u;
	g->secs = g->boot + 3600;
	if (version == 5) {
		g->domains[0] = 1 << 8 | 2;     /* engine type 1, id 2 */
	} else if (version == 9) {
		g->domains[0] = 1;
		g->domains[1] = 77;
	} else {
		g->domains[0] = 0;
		g->domains[1] = 4096;
	}
	g->seq[0] = 1000;
	g->seq[1] = 0xfffffff0u;        /* wraps during the run */
	g->maxrec = 30;
}

static void
valid_datagram(struct world *w, struct gen *g, struct pkt *p)
{
	w->quiet = g->quiet;
	if (g->version == 5)
		v5_datagram(w, g, p);
	else if (g->version == 9)
		v9_datagram(w, g, p);
	else
		ipfix_datagram(w, g, p);
}

/* ---------------------------------------------------------- mutations */

/* Where things are in a v9/IPFIX datagram: sets and template records. */
#define MAXLOC 256

struct layout {
	unsigned nsets;
	size_t set_at[MAXLOC];
	unsigned ntpl;
	size_t tpl_at[MAXLOC];          /* template record (its id) */
	size_t tpl_end[MAXLOC];
	int tpl_ipfix[MAXLOC];
};

static void
find_layout(const struct pkt *p, struct layout *l)
{
	l->nsets = l->ntpl = 0;
	if (p->n < 4)
		return;
	unsigned ver = get16(p->b);
	size_t off = ver == 9 ? 20 : ver == 10 ? 16 : p->n;
	while (off + 4 <= p->n && l->nsets < MAXLOC) {
		unsigned id = get16(p->b + off), len = get16(p->b + off + 2);
		if (len < 4 || off + len > p->n)
			break;
		l->set_at[l->nsets++] = off;
		int tset = ver == 9 ? id == 0 : id == 2;
		int oset = ver == 9 ? id == 1 : id == 3;
		size_t q = off + 4, end = off + len;
		while ((tset || oset) && q + 4 <= end && l->ntpl < MAXLOC) {
			unsigned nf = get16(p->b + q + 2);
			size_t fq = q + 4;
			if (ver == 9 && oset) {
				nf = (get16(p->b + q + 2) + get16(p->b + q + 4)) / 4;
				fq = q + 6;
			} else if (oset) {
				fq = q + 6;
			}
			if (nf == 0)
				break;
			size_t e = fq;
			for (unsigned i = 0; i < nf && e + 4 <= end; i++) {
				int ent = ver == 10 && (p->b[e] & 0x80);
				e += ent ? 8 : 4;
			}
			if (e > end)
				break;
			l->tpl_at[l->ntpl] = q;
			l->tpl_end[l->ntpl] = e;
			l->tpl_ipfix[l->ntpl] = ver == 10;
			l->ntpl++;
			q = e;
		}
		off += len;
	}
}

enum mut {
	MUT_INTACT, MUT_BITFLIP, MUT_TRUNCATE, MUT_EXTEND, MUT_VERSION,
	MUT_HDR_LENGTH, MUT_COUNT, MUT_SET_LENGTH, MUT_SET_ID,
	MUT_TPL_FIELD_COUNT, MUT_TPL_FIELD_LEN, MUT_TPL_ZERO_LEN,
	MUT_TPL_ID, MUT_BYTE_RUN, MUT_SPLICE, MUT_SWAP_SETS, MUT_N
};

static const char *const mut_names[MUT_N] = {
	"intact", "bitflip", "truncate", "extend", "version", "hdr_length",
	"count", "set_length", "set_id", "tpl_field_count", "tpl_field_len",
	"tpl_zero_len", "tpl_id", "byte_run", "splice", "swap_sets",
};

/* Weights: structure-breaking mutations dominate (bit flips mostly keep a
 * datagram valid, and then just decode into records nobody checks). */
static const unsigned mut_weight[MUT_N] = {
	[MUT_INTACT] = 4, [MUT_BITFLIP] = 8, [MUT_TRUNCATE] = 8,
	[MUT_EXTEND] = 5, [MUT_VERSION] = 5, [MUT_HDR_LENGTH] = 6,
	[MUT_COUNT] = 6, [MUT_SET_LENGTH] = 10, [MUT_SET_ID] = 6,
	[MUT_TPL_FIELD_COUNT] = 10, [MUT_TPL_FIELD_LEN] = 8,
	[MUT_TPL_ZERO_LEN] = 5, [MUT_TPL_ID] = 5, [MUT_BYTE_RUN] = 6,
	[MUT_SPLICE] = 4, [MUT_SWAP_SETS] = 4,
};

static uint16_t
odd16(struct rng *r, unsigned cur)
{
	static const unsigned v[] = { 0, 1, 2, 3, 4, 5, 255, 256, 0x7fff,
				      0x8000, 0xfffe, 0xffff };
	switch (rnd(r, 4)) {
	case 0:
		return (uint16_t)v[rnd(r, sizeof v / sizeof v[0])];
	case 1:
		return (uint16_t)(cur + 1);
	case 2:
		return (uint16_t)(cur - 1);
	default:
		return (uint16_t)rnd(r, 65536);
	}
}

/* Mutates p in place; returns the mutation applied. */
static enum mut
mutate(struct rng *r, struct pkt *p, const struct pkt *other)
{
	unsigned total = 0;
	for (int i = 0; i < MUT_N; i++)
		total += mut_weight[i];
	unsigned pick = rnd(r, total);
	enum mut m = MUT_INTACT;
	for (int i = 0; i < MUT_N; i++) {
		if (pick < mut_weight[i]) {
			m = (enum mut)i;
			break;
		}
		pick -= mut_weight[i];
	}
	struct layout l;
	find_layout(p, &l);
	unsigned ver = p->n >= 2 ? get16(p->b) : 0;
	/* Mutations that need sets or templates the datagram does not have
	 * (v5, data-only datagrams) become one that works on any. */
	static const enum mut any[] = { MUT_BITFLIP, MUT_TRUNCATE, MUT_EXTEND,
					MUT_VERSION, MUT_COUNT, MUT_BYTE_RUN };
	if (((m == MUT_SET_LENGTH || m == MUT_SET_ID || m == MUT_SWAP_SETS) &&
	     l.nsets < (m == MUT_SWAP_SETS ? 2u : 1u)) ||
	    ((m == MUT_TPL_FIELD_COUNT || m == MUT_TPL_FIELD_LEN ||
	      m == MUT_TPL_ZERO_LEN || m == MUT_TPL_ID) && l.ntpl == 0))
		m = any[rnd(r, sizeof any / sizeof any[0])];
	if (p->n < 4)
		m = MUT_EXTEND;
	switch (m) {
	case MUT_INTACT:
		break;
	case MUT_BITFLIP: {
		unsigned k = rnd_in(r, 1, 8);
		for (unsigned i = 0; i < k; i++) {
			size_t at = rnd(r, (uint32_t)p->n);
			p->b[at] ^= (uint8_t)(1u << rnd(r, 8));
		}
		break;
	}
	case MUT_TRUNCATE:
		p->n = rnd(r, (uint32_t)p->n);
		break;
	case MUT_EXTEND: {
		size_t k = rnd_in(r, 1, 64);
		if (p->n + k > MAX_DG)
			k = MAX_DG - p->n;
		rnd_fill(r, p->b + p->n, k);
		p->n += k;
		break;
	}
	case MUT_VERSION: {
		static const unsigned v[] = { 0, 1, 5, 7, 8, 9, 10, 11, 0xffff };
		unsigned nv = v[rnd(r, sizeof v / sizeof v[0])];
		set16(p, 0, nv == ver ? nv + 1 : nv);
		break;
	}
	case MUT_HDR_LENGTH:
	case MUT_COUNT:
		/* Offset 2 is the v5/v9 count and the IPFIX length. */
		set16(p, 2, odd16(r, get16(p->b + 2)));
		break;
	case MUT_SET_LENGTH: {
		size_t at = l.set_at[rnd(r, l.nsets)];
		set16(p, at + 2, odd16(r, get16(p->b + at + 2)));
		break;
	}
	case MUT_SET_ID: {
		size_t at = l.set_at[rnd(r, l.nsets)];
		static const unsigned v[] = { 0, 1, 2, 3, 4, 9, 10, 255, 256,
					      257, 258, 259, 0xffff };
		set16(p, at, v[rnd(r, sizeof v / sizeof v[0])]);
		break;
	}
	case MUT_TPL_FIELD_COUNT: {
		unsigned i = rnd(r, l.ntpl);
		size_t at = l.tpl_at[i] + 2;
		/* v9 options templates: the scope or option length instead. */
		if (ver == 9 && l.tpl_end[i] > at + 2 && rnd(r, 2))
			at += 2;
		set16(p, at, odd16(r, get16(p->b + at)));
		break;
	}
	case MUT_TPL_FIELD_LEN:
	case MUT_TPL_ZERO_LEN: {
		unsigned i = rnd(r, l.ntpl);
		/* Field specifiers start after a 4-byte (or options: 6-byte)
		 * header; walk them and change lengths. */
		size_t f = l.tpl_at[i] + 4;
		size_t end = l.tpl_end[i];
		if ((end - f) % 4 == 2)
			f += 2;         /* options template header */
		while (f + 4 <= end) {
			int ent = l.tpl_ipfix[i] && (p->b[f] & 0x80);
			if (m == MUT_TPL_ZERO_LEN || rnd(r, 3) == 0) {
				static const unsigned v[] = { 0, 1, 3, 16, 17,
							      255, 0xfffe,
							      0xffff };
				set16(p, f + 2, m == MUT_TPL_ZERO_LEN ? 0
					: v[rnd(r, sizeof v / sizeof v[0])]);
			}
			f += ent ? 8 : 4;
		}
		break;
	}
	case MUT_TPL_ID: {
		static const unsigned v[] = { 0, 2, 3, 255, 256, 257, 258, 259,
					      0xffff };
		size_t at = l.tpl_at[rnd(r, l.ntpl)];
		set16(p, at, v[rnd(r, sizeof v / sizeof v[0])]);
		break;
	}
	case MUT_BYTE_RUN: {
		size_t at = rnd(r, (uint32_t)p->n);
		size_t k = rnd_in(r, 1, 16);
		uint8_t v = rnd(r, 2) ? 0xff : 0x00;
		for (size_t i = at; i < p->n && i < at + k; i++)
			p->b[i] = v;
		break;
	}
	case MUT_SPLICE: {
		size_t cut = rnd(r, (uint32_t)p->n);
		size_t from = other->n ? rnd(r, (uint32_t)other->n) : 0;
		size_t k = other->n - from;
		if (cut + k > MAX_DG)
			k = MAX_DG - cut;
		memcpy(p->b + cut, other->b + from, k);
		p->n = cut + k;
		break;
	}
	case MUT_SWAP_SETS: {
		/* Sets in another order: templates after their data. */
		unsigned i = rnd(r, l.nsets - 1);
		size_t a = l.set_at[i], b = l.set_at[i + 1];
		size_t la = b - a, lb = get16(p->b + b + 2);
		uint8_t tmp[MAX_DG];
		memcpy(tmp, p->b + a, la);
		memmove(p->b + a, p->b + b, lb);
		memcpy(p->b + a + lb, tmp, la);
		break;
	}
	case MUT_N:
		break;
	}
	return m;
}

/* Random bytes, bare or behind a plausible export header. */
enum rand_kind { RND_BARE, RND_V5, RND_V9, RND_IPFIX, RND_N };

static const char *const rnd_names[RND_N] = { "bare", "v5_header",
					      "v9_header", "ipfix_header" };

static enum rand_kind
random_datagram(struct rng *r, struct pkt *p)
{
	enum rand_kind k = (enum rand_kind)rnd(r, RND_N);
	unsigned sz = rnd(r, 10);
	size_t n = sz < 3 ? rnd(r, 40) : sz < 9 ? rnd(r, 1500)
				       : rnd(r, 9000);
	if (rnd(r, 2000) == 0)
		n = rnd_in(r, 9000, MAX_DG);
	p->n = n;
	rnd_fill(r, p->b, n);
	if (k == RND_V5 && n >= 4) {
		set16(p, 0, 5);
		/* A small count, and half the time the length that fits it:
		 * then the random records decode (into unchecked output). */
		unsigned c = rnd(r, 5);
		set16(p, 2, c);
		if (rnd(r, 2) && c > 0) {
			p->n = 24 + 48 * (size_t)c;
			rnd_fill(r, p->b + 4, p->n - 4);
		}
	} else if ((k == RND_V9 || k == RND_IPFIX) && n >= 24) {
		int ipfix = k == RND_IPFIX;
		size_t hdr = ipfix ? 16 : 20;
		set16(p, 0, ipfix ? 10 : 9);
		set16(p, 2, ipfix ? (unsigned)n : rnd(r, 40));
		/* Plausible sets with consistent lengths, random insides. */
		size_t off = hdr;
		while (off + 4 <= n) {
			size_t len = rnd_in(r, 4, 600);
			if (len > n - off || rnd(r, 8) == 0)
				len = n - off;
			static const unsigned ids9[] = { 0, 1, 256, 257, 258,
							 300 };
			static const unsigned ids10[] = { 2, 3, 256, 257, 258,
							  300 };
			set16(p, off, ipfix ? ids10[rnd(r, 6)] : ids9[rnd(r, 6)]);
			set16(p, off + 2, (unsigned)len);
			if (len >= 8 && rnd(r, 2)) {
				/* A template id >= 256, a small field count. */
				set16(p, off + 4, rnd_in(r, 256, 300));
				set16(p, off + 6, rnd_in(r, 1, 12));
			}
			off += len;
		}
	}
	return k;
}

/* ------------------------------------------------------- the two modes */

struct opts {
	const char *mode;
	unsigned port;
	uint64_t seed;
	unsigned long hostile, valid, refused, templates;
	const char *records;
	size_t queue_limit;
};

static void
json_streams(const struct stream *s, size_t n)
{
	printf("\"exporters\":[");
	for (size_t i = 0; i < n; i++)
		printf("%s{\"role\":\"%s\",\"addr\":\"%s\",\"port\":%u,"
		       "\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
		       i ? "," : "", s[i].role, s[i].addr, s[i].port,
		       s[i].datagrams, s[i].bytes);
	printf("]");
}

static void
json_valid(const struct gen *g)
{
	static const char *const names[] = { "v5", "v9", "ipfix" };
	printf("\"valid\":{");
	for (int i = 0; i < 3; i++)
		printf("%s\"%s\":{\"datagrams\":%" PRIu64 ",\"records\":%"
		       PRIu64 "}", i ? "," : "", names[i], g[i].datagrams,
		       g[i].records);
	printf("}");
}

static void
json_pacer(const struct pacer *pc)
{
	printf("\"pacing\":{\"queue_limit\":%zu,\"checks\":%" PRIu64
	       ",\"waits\":%" PRIu64 ",\"max_queue\":%lu}", pc->limit,
	       pc->checks, pc->waits, pc->max_queue);
}

/* A ring of recent valid datagrams per protocol: the mutation bases. */
#define RING 8

struct ring {
	struct pkt *slot[RING];
	struct pkt *tpl;                /* the last one carrying templates */
	unsigned n, next;
};

static void
ring_put(struct ring *rg, const struct pkt *p)
{
	if (rg->slot[rg->next] == NULL) {
		rg->slot[rg->next] = malloc(sizeof(struct pkt));
		if (rg->slot[rg->next] == NULL)
			die(2, "out of memory");
		rg->n++;
	}
	struct pkt *d = rg->slot[rg->next];
	d->n = p->n;
	memcpy(d->b, p->b, p->n);
	rg->next = (rg->next + 1) % RING;
	struct layout l;
	find_layout(p, &l);
	if (l.ntpl > 0) {
		if (rg->tpl == NULL && (rg->tpl = malloc(sizeof(struct pkt))) ==
		    NULL)
			die(2, "out of memory");
		rg->tpl->n = p->n;
		memcpy(rg->tpl->b, p->b, p->n);
	}
}

static const struct pkt *
ring_pick(struct rng *r, const struct ring *rg)
{
	if (rg->tpl && rnd(r, 4) == 0)
		return rg->tpl;
	return rg->n ? rg->slot[rnd(r, rg->n)] : NULL;
}

static void
ring_free(struct ring *rg)
{
	for (int i = 0; i < RING; i++)
		free(rg->slot[i]);
	free(rg->tpl);
}

enum {
	S_V5, S_V9, S_IPFIX,            /* valid, 127.0.0.1 */
	S_M5, S_M9, S_MIPFIX,           /* mutated copies, 127.0.0.2 */
	S_R0, S_R1, S_R2, S_R3,         /* random, 127.0.0.2 */
	S_REFUSED,                      /* 127.0.0.3 */
	S_FLOOD,                        /* 127.0.0.2 */
	S_N
};

static const char *const s_role[S_N] = {
	"valid-v5", "valid-v9", "valid-ipfix", "mutated-v5", "mutated-v9",
	"mutated-ipfix", "random", "random", "random", "random", "refused",
	"flood",
};

static const char *
s_addr(int i)
{
	return i <= S_IPFIX ? "127.0.0.1" : i == S_REFUSED ? "127.0.0.3"
							     : "127.0.0.2";
}

static int
mode_traffic(struct world *w, const struct opts *o)
{
	struct rng *r = &w->r;
	struct stream s[S_FLOOD];
	for (int i = 0; i < S_FLOOD; i++)
		stream_open(&s[i], s_role[i], s_addr(i), o->port);
	struct gen g[3], gm[3];
	for (int i = 0; i < 3; i++) {
		gen_init(&g[i], i == 0 ? 5 : i == 1 ? 9 : 10);
		/* The twin generators of the mutation bases: small data
		 * sets, records not expected anywhere. */
		gen_init(&gm[i], i == 0 ? 5 : i == 1 ? 9 : 10);
		gm[i].maxrec = 2;
		gm[i].quiet = 1;
	}
	struct ring ring[3];
	memset(ring, 0, sizeof ring);
	struct pkt *p = malloc(sizeof *p), *q = malloc(sizeof *q);
	if (p == NULL || q == NULL)
		die(2, "out of memory");
	uint64_t muts[MUT_N] = { 0 }, rnds[RND_N] = { 0 };
	uint64_t mutated = 0, random = 0, refused = 0;
	unsigned long left_v = o->valid, left_h = o->hostile,
		      left_r = o->refused;
	/* Random merge of the three classes, in proportion to what is left. */
	while (left_v + left_h + left_r > 0) {
		uint64_t pick = rnd64(r) % (left_v + left_h + left_r);
		if (pick < left_v) {
			left_v--;
			unsigned k = rnd(r, 3);
			valid_datagram(w, &g[k], p);
			send_dg(&w->pc, &s[S_V5 + k], p->b, p->n);
		} else if (pick < left_v + left_h) {
			left_h--;
			unsigned k = rnd(r, 10);
			if (k < 7) {
				/* A fresh valid datagram, or now and then the
				 * last one that carried templates, mutated. */
				k %= 3;
				valid_datagram(w, &gm[k], q);
				ring_put(&ring[k], q);
				const struct pkt *base = q;
				if (ring[k].tpl && rnd(r, 4) == 0)
					base = ring[k].tpl;
				p->n = base->n;
				memcpy(p->b, base->b, base->n);
				const struct pkt *o2 = ring_pick(r,
							 &ring[rnd(r, 3)]);
				muts[mutate(r, p, o2 ? o2 : base)]++;
				send_dg(&w->pc, &s[S_M5 + k], p->b, p->n);
				mutated++;
			} else {
				rnds[random_datagram(r, p)]++;
				send_dg(&w->pc, &s[S_R0 + rnd(r, 4)], p->b,
					p->n);
				random++;
			}
		} else {
			left_r--;
			const struct pkt *base = ring_pick(r, &ring[rnd(r, 3)]);
			if (base && rnd(r, 2)) {
				send_dg(&w->pc, &s[S_REFUSED], base->b,
					base->n);
			} else {
				random_datagram(r, q);
				send_dg(&w->pc, &s[S_REFUSED], q->b, q->n);
			}
			refused++;
		}
	}
	drain(&w->pc);
	uint64_t total = 0, valid_dg = 0;
	for (int i = 0; i < S_FLOOD; i++)
		total += s[i].datagrams;
	for (int i = 0; i < 3; i++)
		valid_dg += g[i].datagrams;
	printf("{\"mode\":\"traffic\",\"seed\":%" PRIu64 ",\"port\":%u,"
	       "\"datagrams\":%" PRIu64 ",", o->seed, o->port, total);
	json_valid(g);
	printf(",\"valid_datagrams\":%" PRIu64 ",\"valid_records\":%" PRIu64
	       ",\"garbage\":{\"datagrams\":%" PRIu64 ",\"mutated\":%" PRIu64
	       ",\"random\":%" PRIu64 ",\"mutations\":{", valid_dg,
	       g[0].records + g[1].records + g[2].records, mutated + random,
	       mutated, random);
	for (int i = 0; i < MUT_N; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", mut_names[i],
		       muts[i]);
	printf("},\"random_kinds\":{");
	for (int i = 0; i < RND_N; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", rnd_names[i],
		       rnds[i]);
	printf("}},\"refused\":%" PRIu64 ",", refused);
	json_streams(s, S_FLOOD);
	printf(",");
	json_pacer(&w->pc);
	printf("}\n");
	for (int i = 0; i < 3; i++)
		ring_free(&ring[i]);
	for (int i = 0; i < S_FLOOD; i++)
		close(s[i].fd);
	free(p);
	free(q);
	return 0;
}

/*
 * The template flood: one exporter (127.0.0.2, one port) sends template
 * records until `templates` have been sent, over FLOOD_DOMAINS IPFIX
 * observation domains and FLOOD_DOMAINS / 2 v9 source ids, each drawing
 * its ids from a pool of FLOOD_IDS, so the same ids are redefined over and
 * over with other field lists while far more (domain, id) pairs are used
 * than the per-exporter cap allows.  It opens with a run of the largest
 * templates a datagram can carry (each alone in its message), enough to
 * fill the cap by count, because that is the worst case for memory; later
 * some 2% of templates are large.  Mixed in: withdrawals, options
 * templates, zero-length, variable-length and enterprise fields, and data
 * sets for the pool's ids.  Valid streams run alongside.
 */
#define FLOOD_DOMAINS 16
#define FLOOD_IDS 512
#define FLOOD_HUGE_FIRST 600

struct flood {
	uint64_t datagrams, ipfix, v9, template_records, huge, withdrawals,
		 options, data_sets, max_fields, fields;
};

/*
 * One template record with nf fields of random elements.  Field lengths
 * shrink (to 1-3 bytes, or 0) in large templates, so that the record stays
 * below 65535 bytes and the template is valid; a template whose fields
 * all came out zero-length gets a 1-byte last field for the same reason.
 */
static void
flood_template(struct rng *r, struct pkt *p, int ipfix, unsigned id,
	       unsigned nf, int options)
{
	put16(p, id);
	if (!ipfix && options) {
		unsigned sc = rnd_in(r, 1, nf > 4 ? 4 : nf);
		put16(p, sc * 4);
		put16(p, (nf - sc) * 4);
	} else {
		put16(p, nf);
		if (options)
			put16(p, rnd_in(r, 1, nf > 4 ? 4 : nf));
	}
	unsigned reclen = 0;
	size_t last_len_at = 0;
	for (unsigned i = 0; i < nf; i++) {
		unsigned ie = rnd(r, 4) ? rnd_in(r, 1, 240) : rnd_in(r, 1, 600);
		unsigned len, k = rnd(r, 20);
		if (nf > 200)
			len = rnd(r, 5) ? rnd_in(r, 1, 3) : 0;
		else if (k == 0)
			len = 0;
		else if (k == 1)
			len = 65535;
		else
			len = rnd_in(r, 1, 16);
		if (len != 65535 && reclen + len > 60000)
			len = 0;
		reclen += len == 65535 ? 1 : len;
		int ent = ipfix && nf <= 200 && rnd(r, 10) == 0;
		put16(p, ie | (ent ? 0x8000u : 0));
		last_len_at = p->n;
		put16(p, len);
		if (ent)
			put32(p, rnd_in(r, 1, 40000));
	}
	if (reclen == 0)
		set16(p, last_len_at, 1);
}

static void
flood_header(struct pkt *p, int ipfix, uint32_t dom, uint32_t seq)
{
	p->n = 0;
	put16(p, ipfix ? 10 : 9);
	put16(p, 0);                    /* length / count, set at the end */
	if (!ipfix)
		put32(p, 1000);         /* sysUptime */
	put32(p, 1700000000u);
	put32(p, seq);
	put32(p, dom);
}

static void
mode_flood(struct world *w, const struct opts *o)
{
	struct rng *r = &w->r;
	struct stream s[S_N];
	int used[] = { S_V5, S_V9, S_IPFIX, S_FLOOD };
	for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
		stream_open(&s[used[i]], s_role[used[i]], s_addr(used[i]),
			    o->port);
	struct gen g[3];
	gen_init(&g[0], 5);
	gen_init(&g[1], 9);
	gen_init(&g[2], 10);
	struct pkt *p = malloc(sizeof *p);
	if (p == NULL)
		die(2, "out of memory");
	struct flood f;
	memset(&f, 0, sizeof f);
	uint32_t seq9[FLOOD_DOMAINS] = { 0 };
	unsigned long valid_left = o->valid;
	/* About one valid datagram per `every` flood template records. */
	uint64_t every = o->valid ? o->templates / o->valid + 1 : 0;
	uint64_t next_valid = 0;
	while (f.template_records < o->templates || valid_left > 0) {
		if (valid_left > 0 && (f.template_records >= next_valid ||
				       f.template_records >= o->templates)) {
			valid_left--;
			next_valid += every;
			unsigned k = rnd(r, 3);
			valid_datagram(w, &g[k], p);
			send_dg(&w->pc, &s[S_V5 + k], p->b, p->n);
			continue;
		}
		int opening = f.template_records < FLOOD_HUGE_FIRST;
		int huge = opening || rnd(r, 1000) < 3;
		int ipfix = opening || rnd(r, 10) < 7;
		unsigned di = rnd(r, ipfix ? FLOOD_DOMAINS : FLOOD_DOMAINS / 2);
		if (opening)
			di = (unsigned)(f.template_records / FLOOD_IDS);
		uint32_t dom = 1000 + di;
		flood_header(p, ipfix, dom, ipfix ? 0 : seq9[di]++);
		unsigned records = 0;
		int options = !huge && rnd(r, 30) == 0;
		size_t at = p->n;
		put16(p, ipfix ? (options ? 3 : 2) : (options ? 1 : 0));
		put16(p, 0);
		if (huge) {
			/* As many fields as the datagram can carry, or
			 * somewhat fewer; the opening run uses distinct ids,
			 * one domain after the other, to reach the cap by
			 * count with the largest templates. */
			unsigned room = (unsigned)(MAX_DG - p->n - 4) / 4;
			unsigned nf = opening || rnd(r, 2) ? room
							   : rnd_in(r, 1000, room);
			unsigned id = opening
				? 256 + (unsigned)(f.template_records % FLOOD_IDS)
				: rnd_in(r, 256, 256 + FLOOD_IDS - 1);
			flood_template(r, p, ipfix, id, nf, 0);
			f.huge++;
			f.template_records++;
			f.fields += nf;
			if (nf > f.max_fields)
				f.max_fields = nf;
			records++;
		} else {
			unsigned k = rnd_in(r, 1, 40);
			for (unsigned i = 0; i < k && p->n <= 1400; i++) {
				unsigned id = rnd_in(r, 256,
						     256 + FLOOD_IDS - 1);
				if (ipfix && !options && rnd(r, 20) == 0) {
					/* Withdrawal: one id, or all (2). */
					put16(p, rnd(r, 10) ? id : 2);
					put16(p, 0);
					f.withdrawals++;
				} else {
					unsigned nf = rnd_in(r, 1, 60);
					flood_template(r, p, ipfix, id, nf,
						       options);
					f.fields += nf;
					if (options)
						f.options++;
				}
				f.template_records++;
				records++;
			}
		}
		set16(p, at + 2, (unsigned)(p->n - at));
		if (!huge && rnd(r, 10) == 0) {
			/* A data set for an id of the pool: random records. */
			size_t ds = p->n;
			put16(p, rnd_in(r, 256, 256 + FLOOD_IDS - 1));
			put16(p, 0);
			size_t k = rnd_in(r, 1, 200);
			need(p, k);
			rnd_fill(r, p->b + p->n, k);
			p->n += k;
			set16(p, ds + 2, (unsigned)(p->n - ds));
			f.data_sets++;
			records++;
		}
		set16(p, 2, ipfix ? (unsigned)p->n : records);
		if (ipfix)
			f.ipfix++;
		else
			f.v9++;
		f.datagrams++;
		send_dg(&w->pc, &s[S_FLOOD], p->b, p->n);
	}
	drain(&w->pc);
	uint64_t total = 0, valid_dg = 0;
	for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
		total += s[used[i]].datagrams;
	for (int i = 0; i < 3; i++)
		valid_dg += g[i].datagrams;
	printf("{\"mode\":\"flood\",\"seed\":%" PRIu64 ",\"port\":%u,"
	       "\"datagrams\":%" PRIu64 ",", o->seed, o->port, total);
	json_valid(g);
	printf(",\"valid_datagrams\":%" PRIu64 ",\"valid_records\":%" PRIu64
	       ",\"flood\":{\"datagrams\":%" PRIu64 ",\"ipfix\":%" PRIu64
	       ",\"v9\":%" PRIu64 ",\"template_records\":%" PRIu64
	       ",\"huge_templates\":%" PRIu64 ",\"withdrawals\":%" PRIu64
	       ",\"options_templates\":%" PRIu64 ",\"data_sets\":%" PRIu64
	       ",\"max_fields\":%" PRIu64 ",\"fields\":%" PRIu64
	       ",\"ipfix_domains\":%d,\"v9_domains\":%d,\"ids_per_domain\":%d"
	       ",\"addr\":\"%s\",\"port\":%u},",
	       valid_dg, g[0].records + g[1].records + g[2].records,
	       f.datagrams, f.ipfix, f.v9, f.template_records, f.huge,
	       f.withdrawals, f.options, f.data_sets, f.max_fields, f.fields,
	       FLOOD_DOMAINS, FLOOD_DOMAINS / 2, FLOOD_IDS, s[S_FLOOD].addr,
	       s[S_FLOOD].port);
	struct stream out[4];
	for (size_t i = 0; i < 4; i++)
		out[i] = s[used[i]];
	json_streams(out, 4);
	printf(",");
	json_pacer(&w->pc);
	printf("}\n");
	for (size_t i = 0; i < 4; i++)
		close(out[i].fd);
	free(p);
}

static unsigned long
num(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 0);
	if (errno || *end || end == v)
		die(2, "%s: not a number: %s", opt, v);
	return (unsigned long)n;
}

int
main(int argc, char **argv)
{
	struct opts o = {
		.seed = 1, .hostile = 1000000, .valid = 30000, .refused = 10000,
		.templates = 100000, .queue_limit = 256 * 1024,
	};
	if (argc < 2)
		die(2, "usage: hostile_send traffic|flood --port P [options]");
	o.mode = argv[1];
	int valid_set = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			die(2, "%s needs a value", a);
		const char *v = argv[++i];
		if (strcmp(a, "--port") == 0)
			o.port = (unsigned)num(a, v);
		else if (strcmp(a, "--seed") == 0)
			o.seed = num(a, v);
		else if (strcmp(a, "--hostile") == 0)
			o.hostile = num(a, v);
		else if (strcmp(a, "--valid") == 0)
			o.valid = num(a, v), valid_set = 1;
		else if (strcmp(a, "--refused") == 0)
			o.refused = num(a, v);
		else if (strcmp(a, "--templates") == 0)
			o.templates = num(a, v);
		else if (strcmp(a, "--records") == 0)
			o.records = v;
		else if (strcmp(a, "--queue-limit") == 0)
			o.queue_limit = num(a, v);
		else
			die(2, "unknown option %s", a);
	}
	if (o.port == 0 || o.port > 65535)
		die(2, "--port is required");
	if (o.queue_limit < 160 * 1024)
		die(2, "--queue-limit must be at least 160 KiB (one 64 KiB "
		    "datagram costs up to 130 KiB)");
	struct world w;
	memset(&w, 0, sizeof w);
	w.r.s = o.seed;
	w.pc.port = o.port;
	w.pc.limit = o.queue_limit;
	w.pc.marker = marker_open();
	if (o.records) {
		w.recs = fopen(o.records, "w");
		if (w.recs == NULL)
			die(2, "%s: %s", o.records, strerror(errno));
	}
	if (strcmp(o.mode, "traffic") == 0) {
		mode_traffic(&w, &o);
	} else if (strcmp(o.mode, "flood") == 0) {
		if (!valid_set)
			o.valid = 3000;
		mode_flood(&w, &o);
	} else {
		die(2, "mode must be traffic or flood");
	}
	if (w.recs && fclose(w.recs) != 0)
		die(2, "%s: %s", o.records, strerror(errno));
	return fflush(stdout) == 0 ? 0 : 2;
}
