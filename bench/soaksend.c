/*
 * soaksend.c - the sender and the checker of the soak benchmark
 * (bench/soak, issue 18 item 7).
 *
 *   soaksend send [options] UDPPORT TCPPORT    the mixed load, for -t s
 *   soaksend check SUMMARY                     reads `flowq print` text
 *                                              on stdin, then SUMMARY
 *
 * The load, all to 127.0.0.1:
 *
 *   UDP exporters (-e, default 1000) at 127.1.0.1, 127.1.0.2, ...: one
 *   each of NetFlow v5, v9 and IPFIX in turn, sharing -r records/s (default
 *   200000) in datagrams of 20 records, sent round robin from one socket
 *   (IP_PKTINFO gives every datagram its exporter's source address, so
 *   one sendmmsg() carries many exporters).  v9 and IPFIX datagrams carry
 *   their template in the first and every 20th datagram.
 *   Restarting exporters (-R percent, default 10; every -i s, default 60,
 *   staggered): the sequence number starts again at 0, the v5/v9 uptime
 *   drops to half a second, and the template changes layout (same id,
 *   other fields and widths).  The first datagram after a restart carries
 *   data in the new layout *before* the new template, as after a reboot
 *   whose template datagram was overtaken: a collector must not decode it
 *   with the old template (issue 18 item 4); it may count it as
 *   `unknown_template`.  The next datagram carries the template.
 *   Hostile datagrams (-H per mille of datagrams, default 10) from ten
 *   exporters of their own, 127.3.0.1-10, so that their templates and
 *   sequence numbers cannot disturb a valid session: truncated datagrams,
 *   wrong header lengths and counts, set lengths past the end or below 4,
 *   reserved set ids, templates that run past their set or describe no
 *   bytes.  Built once at the start and sent again and again.
 *   TCP exporters (-T, default 100) at 127.2.0.1, ...: IPFIX over TCP,
 *   -c records/s each (default 100) in messages of 20 records, template
 *   first on every connection; each connection is closed after 5-30 s
 *   and a new one opened (churn), alternating the two layouts.
 *   Slowloris connections (-S, default 50) at 127.4.0.1, ...: even ones
 *   send one byte a second of a message that announces 65535 bytes, odd
 *   ones send that 16-byte header and then nothing.  When flowq closes one
 *   it is counted and opened again a second later.
 *
 * Every valid record is unique and checkable from `flowq print`'s text
 * alone: srcip = 10.0.0.0 + L (L the exporter's number: UDP exporters
 * first, then TCP ones), dstip = its sequence k within that exporter (0,
 * 1, ... across restarts and connections), and srcport, dstport, packets
 * and bytes a hash of (L, k).  Hostile datagrams carry srcip 10.255.0.x.
 * `check` marks (L, k) in a bitmap per exporter: a record seen twice is a
 * duplicate, one never seen is lost (or, if it was sent before its
 * template, left to flowq's unknown_template counter), one whose hash does
 * not match (decoded with a wrong template) or whose L or k was never sent
 * is invalid.
 *
 * At the end `send` writes SUMMARY: what every exporter sent, the
 * pre-template and unsent ranges, the TCP and slowloris events.  `check`
 * prints one line per exporter and a totals line (see print_check()).
 *
 * Built by meson (bench/soaksend), or: cc -O2 -pthread -o soaksend
 * bench/soaksend.c.  Only loopback addresses are used.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PER_DG 20               /* records per datagram or TCP message */
#define MAX_BATCH 64
#define DG_MAX 1500
#define N_HOSTILE 10
#define N_HOSTILE_DG 48         /* distinct hostile datagrams */
#define TPL_ID 256
#define DOMAIN 1

enum { P_V5, P_V9, P_IPFIX };
static const char *const proto_name[] = { "v5", "v9", "ipfix", "tcp" };

/* ------------------------------------------------------------ helpers */

static void
wr16(uint8_t *p, unsigned v)
{
	uint16_t n = htons((uint16_t)v);
	memcpy(p, &n, 2);
}

static void
wr32(uint8_t *p, uint32_t v)
{
	uint32_t n = htonl(v);
	memcpy(p, &n, 4);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (p == NULL) {
		perror("calloc");
		exit(1);
	}
	return p;
}

/* splitmix64: the record hash and the sender's randomness. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The checkable fields of record k of exporter L. */
struct fields {
	uint32_t src, dst, pkts, bytes;
	uint16_t sport, dport;
};

static struct fields
fields_of(uint32_t L, uint32_t k)
{
	uint64_t h = mix((uint64_t)L << 32 | k);
	struct fields f = {
		0x0a000000u + L, k, (uint32_t)(h >> 54) + 1,
		(uint32_t)(h >> 32 & 0x3fffff) + 40,
		(uint16_t)h, (uint16_t)(h >> 16),
	};
	return f;
}

/* ------------------------------------------------------------ layouts */

/*
 * Two template layouts per protocol, same template id: a restart (or a
 * new TCP connection) switches between them, so that data decoded with
 * the other one comes out as garbage, not as valid records.
 */
struct ie {
	uint16_t id, len;
};

enum { F_SRC, F_DST, F_SPORT, F_DPORT, F_PROT, F_PKTS, F_BYTES, F_START,
       F_END, F_FLAGS };

struct layout {
	int n;
	struct ie ie[10];
	uint8_t what[10];       /* F_* */
	unsigned reclen;
};

static struct layout lay[2][2];  /* [v9 0 / ipfix 1][layout] */

static void
layout_add(struct layout *l, unsigned id, unsigned len, int what)
{
	l->ie[l->n].id = (uint16_t)id;
	l->ie[l->n].len = (uint16_t)len;
	l->what[l->n++] = (uint8_t)what;
	l->reclen += len;
}

static void
layouts_init(void)
{
	for (int x = 0; x < 2; x++) {
		/* v9 FIRST/LAST_SWITCHED (22/21), IPFIX flowStart/End ms. */
		unsigned st = x ? 152 : 22, en = x ? 153 : 21, tl = x ? 8 : 4;
		struct layout *a = &lay[x][0], *b = &lay[x][1];
		layout_add(a, 8, 4, F_SRC);
		layout_add(a, 12, 4, F_DST);
		layout_add(a, 7, 2, F_SPORT);
		layout_add(a, 11, 2, F_DPORT);
		layout_add(a, 4, 1, F_PROT);
		layout_add(a, 2, x ? 8 : 4, F_PKTS);
		layout_add(a, 1, x ? 8 : 4, F_BYTES);
		layout_add(a, st, tl, F_START);
		layout_add(a, en, tl, F_END);
		layout_add(b, 1, x ? 4 : 8, F_BYTES);
		layout_add(b, 2, x ? 4 : 8, F_PKTS);
		layout_add(b, en, tl, F_END);
		layout_add(b, st, tl, F_START);
		layout_add(b, 11, 2, F_DPORT);
		layout_add(b, 7, 2, F_SPORT);
		layout_add(b, 4, 1, F_PROT);
		layout_add(b, 6, x ? 2 : 1, F_FLAGS);
		layout_add(b, 12, 4, F_DST);
		layout_add(b, 8, 4, F_SRC);
	}
}

static void
wrn(uint8_t *p, unsigned len, uint64_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> 8 * (len - 1 - i));
}

/* A template set (v9 flowset 0 / IPFIX set 2); returns its length. */
static size_t
put_template(uint8_t *p, int ipfix, const struct layout *l)
{
	size_t n = 8 + 4 * (size_t)l->n;
	wr16(p, ipfix ? 2 : 0);
	wr16(p + 2, (unsigned)n);
	wr16(p + 4, TPL_ID);
	wr16(p + 6, (unsigned)l->n);
	for (int i = 0; i < l->n; i++) {
		wr16(p + 8 + 4 * i, l->ie[i].id);
		wr16(p + 10 + 4 * i, l->ie[i].len);
	}
	return n;
}

/*
 * A data set of records first..first+PER_DG-1 of exporter L; times are
 * v9 uptimes (uptime_at_now given) or IPFIX epoch milliseconds.
 */
static size_t
put_data(uint8_t *p, int ipfix, const struct layout *l, uint32_t L,
	 uint32_t first, int64_t now, uint32_t up)
{
	size_t n = 4 + (size_t)PER_DG * l->reclen;
	wr16(p, TPL_ID);
	wr16(p + 2, (unsigned)n);
	uint8_t *q = p + 4;
	for (uint32_t k = first; k < first + PER_DG; k++) {
		struct fields f = fields_of(L, k);
		int64_t end = now - 100, start = end - (int64_t)(k % 1000);
		for (int i = 0; i < l->n; i++) {
			uint64_t v = 0;
			switch (l->what[i]) {
			case F_SRC: v = f.src; break;
			case F_DST: v = f.dst; break;
			case F_SPORT: v = f.sport; break;
			case F_DPORT: v = f.dport; break;
			case F_PROT: v = 17; break;
			case F_PKTS: v = f.pkts; break;
			case F_BYTES: v = f.bytes; break;
			case F_FLAGS: v = 0; break;
			case F_START:
				v = ipfix ? (uint64_t)start
					  : (uint32_t)(up - (uint32_t)(now - start));
				break;
			case F_END:
				v = ipfix ? (uint64_t)end
					  : (uint32_t)(up - (uint32_t)(now - end));
				break;
			}
			wrn(q, l->ie[i].len, v);
			q += l->ie[i].len;
		}
	}
	return n;
}

/* ------------------------------------------------------ UDP exporters */

struct range {
	uint32_t L, first, count;
};

struct ranges {
	struct range *r;
	size_t n, cap;
};

static void
ranges_add(struct ranges *rs, uint32_t L, uint32_t first, uint32_t count)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 64;
		rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
		if (rs->r == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	rs->r[rs->n++] = (struct range){ L, first, count };
}

struct exporter {
	uint32_t L;             /* record numbering: UDP first, then TCP */
	int proto;
	struct in_addr addr;
	uint32_t next_k;        /* next record number */
	uint32_t seq;           /* export sequence number */
	int64_t boot_ms;        /* wall clock at uptime 0 */
	int layout;
	unsigned since_tpl;     /* datagrams since the template */
	int restarting;
	int pre_template;       /* next datagram: data before template */
	int64_t next_restart;   /* monotonic ms */
	unsigned restarts;
};

struct opts {
	double rate, secs, restart_every, tcp_rate, hostile_pm;
	int n_udp, restart_pct, n_tcp, n_slow;
	uint16_t udp_port, tcp_port;
	const char *summary;
};

static struct opts O = {
	200000, 60, 60, 100, 10, 1000, 10, 100, 50, 0, 0, NULL,
};

static struct exporter *ex;
static struct ranges pre_tpl, unsent;
static atomic_int stopping;

static void
exporters_init(int64_t mono0)
{
	ex = xcalloc((size_t)O.n_udp, sizeof *ex);
	int64_t w = wall_ms();
	for (int e = 0; e < O.n_udp; e++) {
		struct exporter *x = &ex[e];
		uint64_t h = mix(0x5eed0000u + (uint64_t)e);
		x->L = (uint32_t)e;
		x->proto = e % 3;
		x->addr.s_addr = htonl(0x7f010001u + (uint32_t)e);
		x->seq = (uint32_t)h;
		x->boot_ms = w - 3600000 - (int64_t)(h >> 40) % 864000000;
		/* 10% of 1000: every tenth, across the three protocols. */
		x->restarting = O.restart_pct > 0 &&
			(e * O.restart_pct) / 100 !=
			((e + 1) * O.restart_pct) / 100;
		x->next_restart = mono0 + (int64_t)(O.restart_every * 1000) +
			(int64_t)((h >> 8) % (uint64_t)(O.restart_every * 1000));
	}
}

static void
restart(struct exporter *x, int64_t now_wall)
{
	x->seq = 0;
	x->boot_ms = now_wall - 500;
	x->layout ^= 1;
	x->restarts++;
	x->pre_template = x->proto != P_V5;
	x->since_tpl = 0;
}

/* One valid datagram of exporter x into d; returns its length. */
static size_t
build_udp(struct exporter *x, uint8_t *d, int64_t now)
{
	uint32_t up = (uint32_t)(now - x->boot_ms);
	uint32_t first = x->next_k;
	x->next_k += PER_DG;
	if (x->proto == P_V5) {
		memset(d, 0, 24 + PER_DG * 48);
		wr16(d, 5);
		wr16(d + 2, PER_DG);
		wr32(d + 4, up);
		wr32(d + 8, (uint32_t)(now / 1000));
		wr32(d + 12, (uint32_t)(now % 1000) * 1000000u);
		wr32(d + 16, x->seq);
		x->seq += PER_DG;
		for (uint32_t i = 0; i < PER_DG; i++) {
			uint8_t *r = d + 24 + 48 * i;
			struct fields f = fields_of(x->L, first + i);
			int64_t end = now - 100, start = end - (first + i) % 1000;
			wr32(r, f.src);
			wr32(r + 4, f.dst);
			wr32(r + 16, f.pkts);
			wr32(r + 20, f.bytes);
			wr32(r + 24, up - (uint32_t)(now - start));
			wr32(r + 28, up - (uint32_t)(now - end));
			wr16(r + 32, f.sport);
			wr16(r + 34, f.dport);
			r[38] = 17;
		}
		return 24 + PER_DG * 48;
	}
	int ipfix = x->proto == P_IPFIX;
	const struct layout *l = &lay[ipfix][x->layout];
	size_t n = ipfix ? 16 : 20;
	int tpl = !x->pre_template && x->since_tpl % 20 == 0;
	if (x->pre_template)            /* the template comes next */
		ranges_add(&pre_tpl, x->L, first, PER_DG);
	else
		x->since_tpl++;
	x->pre_template = 0;
	if (tpl)
		n += put_template(d + n, ipfix, l);
	n += put_data(d + n, ipfix, l, x->L, first, now, up);
	if (ipfix) {
		wr16(d, 10);
		wr16(d + 2, (unsigned)n);
		wr32(d + 4, (uint32_t)(now / 1000));
		wr32(d + 8, x->seq);
		wr32(d + 12, DOMAIN);
		x->seq += PER_DG;
	} else {
		wr16(d, 9);
		wr16(d + 2, PER_DG + (unsigned)tpl);
		wr32(d + 4, up);
		wr32(d + 8, (uint32_t)(now / 1000));
		wr32(d + 12, x->seq++);
		wr32(d + 16, DOMAIN);
	}
	return n;
}

/* --------------------------------------------------- hostile datagrams */

struct hostile {
	uint8_t d[DG_MAX];
	size_t len;
};

static struct hostile hdg[N_HOSTILE_DG];

/*
 * Malformed datagrams, each malformed in one way docs/decoders.md names a
 * reason for.  Their records (when a template would make them decodable)
 * carry srcip 10.255.0.x, so a hostile record that flowq decodes anyway is
 * told apart from valid ones.  Templates of hostile exporters are never
 * sent whole, so their data sets are of unknown templates.
 */
static void
hostile_init(void)
{
	for (int i = 0; i < N_HOSTILE_DG; i++) {
		uint8_t *d = hdg[i].d;
		int kind = i % 12, ipfix = kind >= 6;
		uint64_t h = mix(0xbad0000u + (uint64_t)i);
		size_t n = ipfix ? 16 : 20;
		int64_t now = wall_ms();
		const struct layout *l = &lay[ipfix][i & 1];
		memset(d, 0, DG_MAX);
		if (kind < 2) {                 /* v5 */
			wr16(d, 5);
			wr16(d + 2, kind ? 31 + (unsigned)(h % 100) : 0);
			n = 24 + 48 * (size_t)(h % 10 + 1);
			if (kind == 0)          /* count 0 */
				n = 24 + 48 * 3;
			for (size_t k = 24; k + 48 <= n; k += 48)
				wr32(d + k, 0x0aff0000u + (uint32_t)i);
			hdg[i].len = n;
			continue;
		}
		/* v9/IPFIX: a template and a data set, then broken. */
		size_t ts = n;
		n += put_template(d + n, ipfix, l);
		size_t ds = n;
		n += put_data(d + n, ipfix, l, 0x00ff0000u + (uint32_t)i, 0, now,
			      1000);
		wr16(d, ipfix ? 10 : 9);
		wr16(d + 2, ipfix ? (unsigned)n : 1 + PER_DG);
		wr32(d + 4, ipfix ? (uint32_t)(now / 1000) : 1000);
		wr32(d + 8, (uint32_t)(now / 1000) * !ipfix);
		wr32(d + (ipfix ? 12 : 16), DOMAIN);
		switch (kind % 6) {
		case 2:                 /* truncated inside the data set */
			n = ds + 4 + (size_t)(h % (PER_DG * l->reclen - 1));
			break;
		case 3:                 /* set length past the end */
			wr16(d + ds + 2, (unsigned)(n - ds + 1 + h % 200));
			break;
		case 4:                 /* reserved set id */
			wr16(d + ds, ipfix ? 1 + (h % 2) * (3 + (unsigned)(h % 250))
					   : 2 + (unsigned)(h % 254));
			break;
		case 5:                 /* set length below 4, or template cut */
			if (h & 1)
				wr16(d + ds + 2, (unsigned)(h % 4));
			else
				wr16(d + ts + 6, 200);  /* field count */
			break;
		case 0:                 /* IPFIX header length wrong */
			wr16(d + 2, (unsigned)(n + 1 + h % 100));
			break;
		case 1:                 /* zero-length template record */
			for (int f = 0; f < l->n; f++)
				wr16(d + ts + 10 + 4 * f, 0);
			break;
		}
		hdg[i].len = n;
	}
}

/* ------------------------------------------------------------ UDP loop */

struct udp_stats {
	long long datagrams, records, hostile, errors, batches;
	long long per_hostile[N_HOSTILE];
};

static struct udp_stats U;

static void
udp_loop(int fd, int64_t mono0)
{
	static uint8_t buf[MAX_BATCH][DG_MAX];
	static struct mmsghdr mm[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	/* Control buffers aligned as struct cmsghdr (its size_t length). */
	static _Alignas(size_t) char cm[MAX_BATCH]
		[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in to = { .sin_family = AF_INET };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(O.udp_port);
	/* Slots: valid datagrams round robin, every (1000/H)th one hostile. */
	double slot_rate = O.rate / PER_DG * (1 + O.hostile_pm / 1000);
	long long hostile_every = O.hostile_pm > 0 ?
		(long long)(1000 / O.hostile_pm + 0.5) : 0;
	long long slot = 0;
	int next_e = 0;
	int min_batch = (int)(slot_rate / 1000) + 1;
	if (min_batch > MAX_BATCH)
		min_batch = MAX_BATCH;
	int64_t end = mono0 + (int64_t)(O.secs * 1000);
	for (;;) {
		int64_t now = mono_ms();
		if (now >= end)
			break;
		long long due = (long long)((double)(now - mono0) / 1000 *
					    slot_rate);
		if (due - slot < min_batch) {
			sleep_ms(1);
			continue;
		}
		int64_t w = wall_ms();
		int n = 0;
		int owner[MAX_BATCH];   /* exporter index, -1 - hostile */
		uint32_t firsts[MAX_BATCH];
		for (; n < MAX_BATCH && slot < due; n++, slot++) {
			struct in_pktinfo pi;
			memset(&pi, 0, sizeof pi);
			if (hostile_every && slot % hostile_every ==
			    hostile_every - 1) {
				int h = (int)(slot / hostile_every % N_HOSTILE);
				const struct hostile *hd =
					&hdg[slot / hostile_every / N_HOSTILE %
					     N_HOSTILE_DG];
				memcpy(buf[n], hd->d, hd->len);
				iov[n].iov_len = hd->len;
				pi.ipi_spec_dst.s_addr = htonl(0x7f030001u +
							       (uint32_t)h);
				owner[n] = -1 - h;
			} else {
				struct exporter *x = &ex[next_e];
				next_e = (next_e + 1) % O.n_udp;
				if (x->restarting && now >= x->next_restart) {
					restart(x, w);
					x->next_restart += (int64_t)
						(O.restart_every * 1000);
				}
				firsts[n] = x->next_k;
				iov[n].iov_len = build_udp(x, buf[n], w);
				pi.ipi_spec_dst = x->addr;
				owner[n] = (int)(x - ex);
			}
			iov[n].iov_base = buf[n];
			mm[n].msg_hdr.msg_name = &to;
			mm[n].msg_hdr.msg_namelen = sizeof to;
			mm[n].msg_hdr.msg_iov = &iov[n];
			mm[n].msg_hdr.msg_iovlen = 1;
			mm[n].msg_hdr.msg_control = cm[n];
			mm[n].msg_hdr.msg_controllen = sizeof cm[n];
			struct cmsghdr *c = CMSG_FIRSTHDR(&mm[n].msg_hdr);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof pi);
			memcpy(CMSG_DATA(c), &pi, sizeof pi);
		}
		int done = 0;
		while (done < n) {
			int r = sendmmsg(fd, mm + done, (unsigned)(n - done), 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (U.errors == 0)
					perror("soaksend: sendmmsg");
				/* This one is not sent: its records neither. */
				U.errors++;
				if (owner[done] >= 0)
					ranges_add(&unsent,
						   ex[owner[done]].L,
						   firsts[done], PER_DG);
				done++;
				continue;
			}
			for (int i = done; i < done + r; i++) {
				U.datagrams++;
				if (owner[i] >= 0) {
					U.records += PER_DG;
				} else {
					U.hostile++;
					U.per_hostile[-1 - owner[i]]++;
				}
			}
			done += r;
		}
		U.batches++;
	}
}

/* ------------------------------------------------------ TCP exporters */

enum { C_DOWN, C_CONNECTING, C_UP };

struct conn {
	int fd, state;
	struct in_addr addr;
	int64_t since;          /* state change, monotonic ms */
	int64_t retry_at, close_at;
	/* legitimate exporters */
	uint32_t L, next_k, seq, layout;
	int64_t t_base;
	uint8_t out[DG_MAX];
	size_t out_len, out_off;
	uint32_t out_first;     /* its records, when a data message */
	int out_records;
	/* slowloris */
	int stall;
	size_t dripped;
};

struct tcp_stats {
	long long opened, churned, closed_by_flowq, connect_failed,
		connect_timeout, messages, records, lost_messages;
	long long slow_opened, slow_closed_by_flowq, slow_connect_failed,
		slow_connect_timeout, slow_bytes;
	double slow_life_sum, slow_life_max;
	int slow_open_at_end;
};

static struct tcp_stats T;
static struct conn *tc, *sc;

static int
conn_open(struct conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		perror("soaksend: socket");
		return -1;
	}
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr = c->addr };
	struct sockaddr_in to = { .sin_family = AF_INET };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(O.tcp_port);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(c->fd, (struct sockaddr *)&me, sizeof me) != 0 ||
	    (connect(c->fd, (struct sockaddr *)&to, sizeof to) != 0 &&
	     errno != EINPROGRESS)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->state = C_CONNECTING;
	c->since = mono_ms();
	return 0;
}

static void
conn_close(struct conn *c, int64_t now, int64_t retry_after)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_DOWN;
	c->retry_at = now + retry_after;
	c->out_len = c->out_off = 0;
}

/* An IPFIX message of the connection's next records (or its template). */
static void
tcp_message(struct conn *c, int tpl)
{
	const struct layout *l = &lay[1][c->layout];
	uint8_t *d = c->out;
	int64_t now = wall_ms();
	size_t n = 16;
	c->out_records = 0;
	if (tpl) {
		n += put_template(d + n, 1, l);
	} else {
		c->out_first = c->next_k;
		c->out_records = PER_DG;
		c->next_k += PER_DG;
		n += put_data(d + n, 1, l, c->L, c->out_first, now, 0);
	}
	wr16(d, 10);
	wr16(d + 2, (unsigned)n);
	wr32(d + 4, (uint32_t)(now / 1000));
	wr32(d + 8, c->seq);
	wr32(d + 12, DOMAIN);
	c->seq += (uint32_t)c->out_records;
	c->out_len = n;
	c->out_off = 0;
}

/*
 * The peer closed or reset: a message not written whole never reached
 * flowq as a message, so its record numbers are given back; one written
 * whole counts as sent (if flowq dropped it unread, that is a loss).
 */
static void
tcp_lost(struct conn *c, int64_t now)
{
	if (c->out_len && c->out_off < c->out_len && c->out_records) {
		c->next_k = c->out_first;
		T.lost_messages++;
	}
	conn_close(c, now, 1000);
}

static void
tcp_flush(struct conn *c, int64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				T.closed_by_flowq++;
				tcp_lost(c, now);
			}
			return;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_len) {
		T.messages++;
		T.records += c->out_records;
		c->out_len = c->out_off = 0;
	}
}

/* Did the peer close it?  (Readable with 0 bytes, or an error.) */
static int
peer_closed(int fd)
{
	char b[64];
	ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

static int
connect_done(struct conn *c, int64_t now, long long *failed,
	     long long *timeouts)
{
	struct pollfd p = { c->fd, POLLOUT, 0 };
	if (poll(&p, 1, 0) <= 0) {
		if (now - c->since > 5000) {
			(*timeouts)++;
			conn_close(c, now, 1000);
		}
		return 0;
	}
	int err = 0;
	socklen_t el = sizeof err;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		(*failed)++;
		conn_close(c, now, 1000);
		return 0;
	}
	c->state = C_UP;
	c->since = now;
	return 1;
}

static void
tcp_step(struct conn *c, int64_t now, int ending)
{
	if (c->state == C_DOWN) {
		if (ending || now < c->retry_at)
			return;
		if (conn_open(c) != 0) {
			T.connect_failed++;
			c->retry_at = now + 1000;
		}
		return;
	}
	if (c->state == C_CONNECTING) {
		if (!connect_done(c, now, &T.connect_failed,
				  &T.connect_timeout))
			return;
		T.opened++;
		c->seq = 0;
		c->layout = (uint32_t)(T.opened & 1);
		c->close_at = now + 5000 +
			(int64_t)(mix((uint64_t)now ^ c->L) % 25000);
		tcp_message(c, 1);
	}
	if (c->out_len) {
		tcp_flush(c, now);
		return;
	}
	if (peer_closed(c->fd)) {
		T.closed_by_flowq++;
		tcp_lost(c, now);
		return;
	}
	if (ending || now >= c->close_at) {
		if (!ending)
			T.churned++;
		shutdown(c->fd, SHUT_WR);
		conn_close(c, now, 0);
		return;
	}
	/* Messages due so far at -c records/s, counted over the run. */
	double due = (double)(now - c->t_base) / 1000 * O.tcp_rate / PER_DG;
	if ((double)(c->next_k / PER_DG) < due) {
		tcp_message(c, 0);
		tcp_flush(c, now);
	}
}

static const uint8_t slow_hdr[16] = { 0, 10, 0xff, 0xff, 0, 0, 0, 0,
				      0, 0, 0, 0, 0, 0, 0, 1 };

static void
slow_step(struct conn *c, int64_t now, int ending)
{
	if (c->state == C_DOWN) {
		if (!ending && now >= c->retry_at && conn_open(c) != 0) {
			T.slow_connect_failed++;
			c->retry_at = now + 1000;
		}
		return;
	}
	if (c->state == C_CONNECTING) {
		if (!connect_done(c, now, &T.slow_connect_failed,
				  &T.slow_connect_timeout))
			return;
		T.slow_opened++;
		c->dripped = 0;
		c->retry_at = now;      /* next drip */
	}
	if (peer_closed(c->fd)) {
		double life = (double)(now - c->since) / 1000;
		T.slow_closed_by_flowq++;
		T.slow_life_sum += life;
		if (life > T.slow_life_max)
			T.slow_life_max = life;
		conn_close(c, now, 1000);
		return;
	}
	if (ending) {
		T.slow_open_at_end++;
		conn_close(c, now, 0);
		return;
	}
	if (now < c->retry_at || (c->stall && c->dripped >= 16))
		return;
	/* stall: the header at once; drip: one byte a second. */
	size_t want = c->stall ? 16 : 1;
	uint8_t b[16];
	for (size_t i = 0; i < want; i++)
		b[i] = c->dripped + i < 16 ? slow_hdr[c->dripped + i] : 0;
	ssize_t w = send(c->fd, b, want, MSG_NOSIGNAL);
	if (w > 0) {
		c->dripped += (size_t)w;
		T.slow_bytes += w;
	}
	c->retry_at = now + 1000;
}

static void *
tcp_thread(void *arg)
{
	int64_t t0 = *(int64_t *)arg;
	for (int i = 0; i < O.n_tcp; i++) {
		tc[i].fd = -1;
		tc[i].L = (uint32_t)(O.n_udp + i);
		tc[i].addr.s_addr = htonl(0x7f020001u + (uint32_t)i);
		tc[i].t_base = t0;
		tc[i].retry_at = t0 + (int64_t)i * 10;
	}
	for (int i = 0; i < O.n_slow; i++) {
		sc[i].fd = -1;
		sc[i].addr.s_addr = htonl(0x7f040001u + (uint32_t)i);
		sc[i].stall = i & 1;
		sc[i].retry_at = t0 + (int64_t)i * 20;
	}
	while (!atomic_load(&stopping)) {
		int64_t now = mono_ms();
		for (int i = 0; i < O.n_tcp; i++)
			tcp_step(&tc[i], now, 0);
		for (int i = 0; i < O.n_slow; i++)
			slow_step(&sc[i], now, 0);
		sleep_ms(5);
	}
	/* Flush what is pending (5 s at most), then close everything. */
	int64_t end = mono_ms() + 5000;
	for (int pending = 1; pending && mono_ms() < end;) {
		pending = 0;
		for (int i = 0; i < O.n_tcp; i++) {
			if (tc[i].state == C_UP && tc[i].out_len) {
				tcp_flush(&tc[i], mono_ms());
				pending |= tc[i].out_len != 0;
			}
		}
		if (pending)
			sleep_ms(5);
	}
	for (int i = 0; i < O.n_tcp; i++) {
		if (tc[i].state == C_UP && tc[i].out_len)
			tcp_lost(&tc[i], mono_ms());  /* never written */
		tcp_step(&tc[i], mono_ms(), 1);
		if (tc[i].state != C_DOWN)
			conn_close(&tc[i], mono_ms(), 0);
	}
	for (int i = 0; i < O.n_slow; i++)
		slow_step(&sc[i], mono_ms(), 1);
	return NULL;
}

/* ------------------------------------------------------------ summary */

static void
write_summary(FILE *f, double took)
{
	fprintf(f, "took %.3f\n", took);
	fprintf(f, "udp datagrams %lld records %lld hostile %lld errors %lld "
		"batches %lld\n", U.datagrams, U.records, U.hostile, U.errors,
		U.batches);
	for (int e = 0; e < O.n_udp; e++) {
		const struct exporter *x = &ex[e];
		fprintf(f, "exporter %u %s %s %u restarts %u\n", x->L,
			proto_name[x->proto], inet_ntoa(x->addr), x->next_k,
			x->restarts);
	}
	for (int i = 0; i < O.n_tcp; i++)
		fprintf(f, "exporter %u tcp %s %u restarts 0\n", tc[i].L,
			inet_ntoa(tc[i].addr), tc[i].next_k);
	for (int h = 0; h < N_HOSTILE; h++) {
		struct in_addr a = { htonl(0x7f030001u + (uint32_t)h) };
		fprintf(f, "hostile %s %lld\n", inet_ntoa(a), U.per_hostile[h]);
	}
	for (size_t i = 0; i < pre_tpl.n; i++)
		fprintf(f, "pretemplate %u %u %u\n", pre_tpl.r[i].L,
			pre_tpl.r[i].first, pre_tpl.r[i].count);
	for (size_t i = 0; i < unsent.n; i++)
		fprintf(f, "unsent %u %u %u\n", unsent.r[i].L,
			unsent.r[i].first, unsent.r[i].count);
	fprintf(f, "tcp opened %lld churned %lld closed_by_flowq %lld "
		"connect_failed %lld connect_timeout %lld messages %lld "
		"records %lld lost_messages %lld\n", T.opened, T.churned,
		T.closed_by_flowq, T.connect_failed, T.connect_timeout,
		T.messages, T.records, T.lost_messages);
	fprintf(f, "slowloris opened %lld closed_by_flowq %lld "
		"connect_failed %lld connect_timeout %lld bytes %lld "
		"life_mean %.1f life_max %.1f open_at_end %d\n", T.slow_opened,
		T.slow_closed_by_flowq, T.slow_connect_failed,
		T.slow_connect_timeout, T.slow_bytes,
		T.slow_closed_by_flowq ? T.slow_life_sum /
		(double)T.slow_closed_by_flowq : 0.0, T.slow_life_max,
		T.slow_open_at_end);
}

static int
usage(void)
{
	fprintf(stderr,
		"usage: soaksend send [-t SECONDS] [-r RECORDS/S] [-e UDP_EXPORTERS]\n"
		"         [-R RESTART_PERCENT] [-i RESTART_EVERY_S] [-T TCP_EXPORTERS]\n"
		"         [-c TCP_RECORDS/S_EACH] [-H HOSTILE_PER_MILLE]\n"
		"         [-S SLOWLORIS] [-o SUMMARY] UDPPORT TCPPORT\n"
		"       soaksend check SUMMARY < flowq-print-text\n");
	return 2;
}

static int
cmd_send(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "t:r:e:R:i:T:c:H:S:o:")) != -1) {
		switch (c) {
		case 't': O.secs = atof(optarg); break;
		case 'r': O.rate = atof(optarg); break;
		case 'e': O.n_udp = atoi(optarg); break;
		case 'R': O.restart_pct = atoi(optarg); break;
		case 'i': O.restart_every = atof(optarg); break;
		case 'T': O.n_tcp = atoi(optarg); break;
		case 'c': O.tcp_rate = atof(optarg); break;
		case 'H': O.hostile_pm = atof(optarg); break;
		case 'S': O.n_slow = atoi(optarg); break;
		case 'o': O.summary = optarg; break;
		default: return usage();
		}
	}
	if (argc - optind != 2 || O.n_udp < 1 || O.n_udp > 60000 ||
	    O.n_tcp < 0 || O.n_tcp > 250 || O.n_slow < 0 || O.n_slow > 250 ||
	    O.rate < PER_DG || O.restart_every < 1 || O.hostile_pm < 0 ||
	    O.hostile_pm > 500 || O.restart_pct < 0 || O.restart_pct > 100)
		return usage();
	O.udp_port = (uint16_t)atoi(argv[optind]);
	O.tcp_port = (uint16_t)atoi(argv[optind + 1]);
	layouts_init();
	hostile_init();
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	int sndbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	(void)prctl(PR_SET_TIMERSLACK, 50000UL, 0UL, 0UL, 0UL);
	tc = xcalloc((size_t)O.n_tcp, sizeof *tc);
	sc = xcalloc((size_t)O.n_slow, sizeof *sc);
	int64_t t0 = mono_ms();
	exporters_init(t0);
	pthread_t th;
	if (pthread_create(&th, NULL, tcp_thread, &t0) != 0) {
		perror("pthread_create");
		return 1;
	}
	udp_loop(fd, t0);
	atomic_store(&stopping, 1);
	pthread_join(th, NULL);
	double took = (double)(mono_ms() - t0) / 1000;
	close(fd);
	FILE *f = O.summary ? fopen(O.summary, "w") : stdout;
	if (f == NULL) {
		perror(O.summary);
		return 1;
	}
	write_summary(f, took);
	if (f != stdout)
		fclose(f);
	printf("sent %lld UDP datagrams (%lld hostile) %lld records, %lld TCP "
	       "records, in %.1f s: %.0f records/s, %lld send errors\n",
	       U.datagrams, U.hostile, U.records, T.records, took,
	       (double)(U.records + T.records) / took, U.errors);
	return 0;
}

/* ------------------------------------------------------------ checker */

struct seen {
	uint8_t *bits;
	size_t nbytes;
	long long recs, dups;
};

static struct seen *seen;
static uint32_t n_seen;
static long long lines, hostile_lines, invalid, headers;

static void
mark(uint32_t L, uint32_t k)
{
	if (L >= n_seen) {
		uint32_t n = L + 1 > 2 * n_seen ? L + 1 : 2 * n_seen;
		seen = realloc(seen, n * sizeof *seen);
		if (seen == NULL) {
			perror("realloc");
			exit(1);
		}
		memset(seen + n_seen, 0, (n - n_seen) * sizeof *seen);
		n_seen = n;
	}
	struct seen *s = &seen[L];
	size_t byte = k / 8;
	if (byte >= s->nbytes) {
		size_t n = byte + 1 > 2 * s->nbytes ? byte + 4096 : 2 * s->nbytes;
		s->bits = realloc(s->bits, n);
		if (s->bits == NULL) {
			perror("realloc");
			exit(1);
		}
		memset(s->bits + s->nbytes, 0, n - s->nbytes);
		s->nbytes = n;
	}
	uint8_t bit = (uint8_t)(1u << (k % 8));
	if (s->bits[byte] & bit)
		s->dups++;
	else
		s->recs++;
	s->bits[byte] |= bit;
}

static int
is_seen(uint32_t L, uint32_t k)
{
	return L < n_seen && k / 8 < seen[L].nbytes &&
	       (seen[L].bits[k / 8] >> (k % 8) & 1);
}

/* Parses "a.b.c.d" at *p; 0 on anything else. */
static int
parse_ip(const char **p, uint32_t *ip)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char *e;
		unsigned long o = strtoul(*p, &e, 10);
		if (e == *p || o > 255 || (i < 3 && *e != '.'))
			return 0;
		v = v << 8 | (uint32_t)o;
		*p = e + (i < 3);
	}
	*ip = v;
	return 1;
}

static int
parse_num(const char **p, unsigned long long *v)
{
	char *e;
	*v = strtoull(*p, &e, 10);
	if (e == *p)
		return 0;
	*p = e;
	return 1;
}

/*
 * One line of `flowq print`'s text: start dur srcip sport -> dstip dport
 * prot packets bytes flags.  Returns 0 for a line of another shape.
 */
static int
check_line(const char *p)
{
	unsigned long long dur, sport, dport, prot, pkts, bytes;
	uint32_t src, dst;
	while (*p && *p != ' ')
		p++;            /* start time */
	if (!parse_num(&p, &dur))
		return 0;
	p += strspn(p, " ");
	if (!parse_ip(&p, &src) || !parse_num(&p, &sport))
		return 0;
	p += strspn(p, " ");
	if (strncmp(p, "->", 2) != 0)
		return 0;
	p += 2 + strspn(p + 2, " ");
	if (!parse_ip(&p, &dst) || !parse_num(&p, &dport) ||
	    !parse_num(&p, &prot) || !parse_num(&p, &pkts) ||
	    !parse_num(&p, &bytes))
		return 0;
	lines++;
	if ((src & 0xffff0000u) == 0x0aff0000u) {
		hostile_lines++;
		return 1;
	}
	uint32_t L = src - 0x0a000000u;
	struct fields f = fields_of(L, dst);
	if ((src & 0xff000000u) != 0x0a000000u || L > 1000000 ||
	    f.sport != sport || f.dport != dport || f.pkts != pkts ||
	    f.bytes != bytes || prot != 17) {
		invalid++;
		return 1;
	}
	mark(L, dst);
	return 1;
}

struct sent {
	uint32_t n, pre, unsent_n;
	char proto[8], addr[20];
	struct range *pre_r, *uns_r;
	size_t n_pre, n_uns;
};

static int
cmd_check(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	static char line[4096];
	while (fgets(line, sizeof line, stdin))
		if (!check_line(line))
			headers++;
	FILE *f = fopen(argv[1], "r");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	/* Exporters and ranges, as the sender wrote them. */
	struct sent *s = NULL;
	uint32_t n_s = 0;
	struct ranges pre = { 0 }, uns = { 0 };
	while (fgets(line, sizeof line, f)) {
		unsigned L, a, b;
		char proto[8], addr[20];
		if (sscanf(line, "exporter %u %7s %19s %u", &L, proto, addr,
			   &a) == 4) {
			if (L >= n_s) {
				s = realloc(s, (L + 1) * sizeof *s);
				if (s == NULL)
					return 1;
				memset(s + n_s, 0, (L + 1 - n_s) * sizeof *s);
				n_s = L + 1;
			}
			s[L].n = a;
			memcpy(s[L].proto, proto, sizeof proto);
			memcpy(s[L].addr, addr, sizeof addr);
		} else if (sscanf(line, "pretemplate %u %u %u", &L, &a, &b) == 3)
			ranges_add(&pre, L, a, b);
		else if (sscanf(line, "unsent %u %u %u", &L, &a, &b) == 3)
			ranges_add(&uns, L, a, b);
	}
	fclose(f);
	/*
	 * Per exporter: received (once), dups, lost (never seen, sent after
	 * its template), pre_missing (never seen, sent before its template:
	 * flowq's unknown_template_records should count them), unexpected
	 * (seen but never sent whole).
	 */
	long long t_recv = 0, t_dups = 0, t_lost = 0, t_pre = 0, t_unexp = 0,
		  t_sent = 0;
	uint8_t *flag = NULL;   /* per record: 1 pre-template, 2 unsent */
	for (uint32_t L = 0; L < n_s; L++) {
		uint32_t n = s[L].n;
		flag = realloc(flag, n ? n : 1);
		if (flag == NULL)
			return 1;
		memset(flag, 0, n);
		for (size_t i = 0; i < pre.n; i++)
			if (pre.r[i].L == L)
				for (uint32_t k = 0; k < pre.r[i].count &&
				     pre.r[i].first + k < n; k++)
					flag[pre.r[i].first + k] = 1;
		for (size_t i = 0; i < uns.n; i++)
			if (uns.r[i].L == L)
				for (uint32_t k = 0; k < uns.r[i].count &&
				     uns.r[i].first + k < n; k++)
					flag[uns.r[i].first + k] = 2;
		long long lost = 0, pmiss = 0, unexp = 0, sent = 0;
		for (uint32_t k = 0; k < n; k++) {
			int got = is_seen(L, k);
			if (flag[k] == 2) {
				unexp += got;
				continue;
			}
			sent++;
			if (!got)
				flag[k] == 1 ? pmiss++ : lost++;
		}
		long long recs = L < n_seen ? seen[L].recs : 0;
		long long dups = L < n_seen ? seen[L].dups : 0;
		/* Seen with a number never given out. */
		if (L < n_seen)
			for (size_t b = n / 8; b < seen[L].nbytes; b++)
				for (int i = 0; i < 8; i++)
					if ((uint64_t)b * 8 + (unsigned)i >= n &&
					    (seen[L].bits[b] >> i & 1))
						unexp++;
		printf("check %u %s %s sent %lld received %lld dups %lld "
		       "lost %lld pre_missing %lld unexpected %lld\n", L,
		       s[L].proto, s[L].addr, sent, recs - unexp, dups, lost,
		       pmiss, unexp);
		t_sent += sent;
		t_recv += recs - unexp;
		t_dups += dups;
		t_lost += lost;
		t_pre += pmiss;
		t_unexp += unexp;
	}
	for (uint32_t L = n_s; L < n_seen; L++)
		t_unexp += seen[L].recs;
	printf("total lines %lld other_lines %lld sent %lld received %lld "
	       "dups %lld lost %lld pre_missing %lld unexpected %lld invalid "
	       "%lld hostile_lines %lld\n", lines, headers, t_sent, t_recv,
	       t_dups, t_lost, t_pre, t_unexp, invalid, hostile_lines);
	free(flag);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		layouts_init();
		return cmd_check(argc - 1, argv + 1);
	}
	return usage();
}
