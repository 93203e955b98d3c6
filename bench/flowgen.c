/*
 * flowgen.c - large, realistic, deterministic benchmark inputs in every
 * format flowq reads.
 *
 * Two modes:
 *
 *   flowgen --records N [--seed S] [--format F] [--rate R] [--start T] -o OUT
 *       synthesises N flow records of a campus border (HTTP(S) sessions,
 *       DNS, port scans, background traffic) seen by four exporters and
 *       writes them as the routers would have exported them;
 *
 *   flowgen --stretch IN --times K [--format F] -o OUT
 *       repeats a real flow-tools trace K times, each copy shifted in time
 *       so that the copies follow each other (this replaced bench/ftstretch:
 *       `ftstretch IN OUT -n K [-z]` is `flowgen --stretch IN --times K
 *       [--format ftz] -o OUT`, with the same record bytes).
 *
 * Formats: ft, ftz (flow-tools stream v3, v5 records, plain or zlib), v5,
 * v9, ipfix (export datagrams back to back: flowq reads them as raw:FILE,
 * and an ipfix file also as ipfix:FILE), pcap-v5, pcap-v9, pcap-ipfix (a
 * classic pcap of Ethernet/IPv4/UDP frames carrying those datagrams).
 *
 * Every format carries exactly the same records: the model stays within
 * what NetFlow v5 can express (IPv4, 16-bit interfaces and AS numbers,
 * 32-bit counters, unsampled), and times are encoded so that every decoder
 * gets back the same millisecond.  Only the export header fields differ
 * (datagram boundaries differ between v5, v9 and IPFIX; IPFIX has no
 * uptime) and the exporter address of raw: files, which has none.
 *
 * The output is streamed with constant memory: flows wait in a timing
 * wheel keyed by the millisecond their router exports them (end of flow
 * plus the cache's timeout), then in per-exporter datagram buffers.  The
 * random stream depends only on the seed and the model, never on the
 * format, so the formats of one seed hold the same flows.  docs/benchmarks.md
 * ("Inputs") describes the traffic model and the measured speed.
 *
 * Not installed; built by bench/meson.build, checked by bench/flowgen_test.py.
 */
#include "fq_error.h"
#include "ft_reader.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* ------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded by splitmix64.  Both are public  */
/* domain algorithms by Blackman and Vigna; fast, and identical output  */
/* on every platform for the integers.                                  */

struct fg_rng {
	uint64_t s[4];
};

static uint64_t
fg_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/*
 * A stateless hash: fixed properties of hosts and servers (address, AS,
 * open ports) are functions of their number, so they stay the same every
 * time the model meets them without any table.
 */
static uint64_t
fg_mix(uint64_t x)
{
	return fg_splitmix(&x);
}

static void
fg_rng_seed(struct fg_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = fg_splitmix(&seed);
}

static inline uint64_t
fg_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
fg_next(struct fg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = fg_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = fg_rotl(s[3], 45);
	return out;
}

/* Uniform in (0, 1]: never 0, so log() and negative powers are finite. */
static inline double
fg_u01(struct fg_rng *r)
{
	return (double)((fg_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* Uniform in [0, n) (multiply-shift: bias below 2^-32, irrelevant here). */
static inline uint32_t
fg_below(struct fg_rng *r, uint32_t n)
{
	return (uint32_t)(((fg_next(r) >> 32) * n) >> 32);
}

static inline int
fg_chance(struct fg_rng *r, double p)
{
	return fg_u01(r) <= p;
}

/*
 * log, exp and sin in plain IEEE arithmetic.  libm picks its code by CPU
 * at run time (glibc has FMA variants) and may differ in the last bit
 * between machines; these use only +, -, *, / and exact scaling, and
 * flowgen is built with -ffp-contract=off, so a seed gives the same bytes
 * on any IEEE machine.  Accuracy (about 1e-13 relative) is far beyond
 * what a traffic model needs.
 */
static double
fg_log(double x)
{
	int e;
	double m = frexp(x, &e);                 /* exact: x = m * 2^e */
	if (m < 0.70710678118654752) {
		m *= 2;
		e--;
	}
	double f = m - 1, s = f / (2 + f), z = s * s;
	double p = 1 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 +
		   z * (1.0 / 9 + z * (1.0 / 11 + z * (1.0 / 13))))));
	return e * 0.69314718055994531 + 2 * s * p;
}

static double
fg_exp(double x)
{
	if (x < -700)
		return 0;
	if (x > 700)
		x = 700;
	double k = floor(x * 1.4426950408889634 + 0.5);
	double r = x - k * 0.69314718055994531;  /* |r| <= 0.35 */
	/* Taylor to r^13 / 13!, Horner form (coefficients 1/n!) */
	double p = 1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 +
		   r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 +
		   r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 +
		   r * (1.0 / 39916800 + r * (1.0 / 479001600 +
		   r * (1.0 / 6227020800.0)))))))))))));
	return ldexp(p, (int)k);                 /* exact scaling */
}

static double
fg_sin(double x)
{
	const double pi = 3.14159265358979324;
	x -= 2 * pi * floor(x / (2 * pi) + 0.5);  /* [-pi, pi] */
	double z = x * x, t = x, p = x;
	for (int i = 1; i <= 11; i++) {
		t = -t * z / ((2 * i) * (2 * i + 1));
		p += t;
	}
	return p;
}

static double
fg_expo(struct fg_rng *r)
{
	return -fg_log(fg_u01(r));
}

/* Pareto with minimum xm and shape alpha: the heavy tail of flow sizes. */
static double
fg_pareto(struct fg_rng *r, double xm, double alpha)
{
	return xm * fg_exp(-fg_log(fg_u01(r)) / alpha);
}

/* Log-uniform in [lo, hi]: rates and sizes spread over decades. */
static double
fg_logu(struct fg_rng *r, double lo, double hi)
{
	return lo * fg_exp(fg_log(hi / lo) * fg_u01(r));
}

/* ------------------------------------------------------------------ */
/* Output: a 1 MiB staging buffer, optionally deflated.                 */

#define FG_OUT_BUF (1u << 20)

struct fg_out {
	FILE *f;
	const char *path;
	int zip;
	int err;               /* errno of the first failure; writes stop */
	z_stream zs;
	unsigned char *buf, *zbuf;
	size_t len;
	uint64_t file_bytes;
};

static void
fg_out_write(struct fg_out *o, const unsigned char *p, size_t n)
{
	if (o->err == 0 && n && fwrite(p, 1, n, o->f) != n)
		o->err = errno ? errno : EIO;
	o->file_bytes += n;
}

static void
fg_out_drain(struct fg_out *o, int finish)
{
	if (!o->zip) {
		fg_out_write(o, o->buf, o->len);
		o->len = 0;
		return;
	}
	o->zs.next_in = o->buf;
	o->zs.avail_in = (uInt)o->len;
	int rc;
	do {
		o->zs.next_out = o->zbuf;
		o->zs.avail_out = FG_OUT_BUF;
		rc = deflate(&o->zs, finish ? Z_FINISH : Z_NO_FLUSH);
		fg_out_write(o, o->zbuf, FG_OUT_BUF - o->zs.avail_out);
	} while (o->zs.avail_out == 0 && rc != Z_STREAM_END &&
		 rc != Z_STREAM_ERROR);
	o->len = 0;
}

/* Room for n (< FG_OUT_BUF) bytes; fg_out_commit() says how many were used. */
static inline unsigned char *
fg_out_reserve(struct fg_out *o, size_t n)
{
	if (o->len + n > FG_OUT_BUF)
		fg_out_drain(o, 0);
	return o->buf + o->len;
}

static inline void
fg_out_commit(struct fg_out *o, size_t n)
{
	o->len += n;
}

static void
fg_out_put(struct fg_out *o, const void *p, size_t n)
{
	memcpy(fg_out_reserve(o, n), p, n);
	fg_out_commit(o, n);
}

static int
fg_out_open(struct fg_out *o, const char *path)
{
	memset(o, 0, sizeof *o);
	o->path = path;
	o->buf = malloc(FG_OUT_BUF);
	o->zbuf = malloc(FG_OUT_BUF);
	if (o->buf == NULL || o->zbuf == NULL)
		return -FQ_ENOMEM;
	o->f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (o->f == NULL) {
		o->err = errno;
		return -FQ_EIO;
	}
	return 0;
}

/* From here on everything written is one zlib stream (flow-tools -z). */
static int
fg_out_start_zlib(struct fg_out *o, int level)
{
	fg_out_drain(o, 0);
	if (deflateInit(&o->zs, level) != Z_OK)
		return -FQ_ENOMEM;
	o->zip = 1;
	return 0;
}

static int
fg_out_close(struct fg_out *o)
{
	if (o->f) {
		fg_out_drain(o, 1);
		if (o->zip)
			deflateEnd(&o->zs);
		if (o->f != stdout ? fclose(o->f) != 0 : fflush(o->f) != 0)
			if (o->err == 0)
				o->err = errno ? errno : EIO;
	}
	free(o->buf);
	free(o->zbuf);
	return o->err ? -FQ_EIO : 0;
}

/* ------------------------------------------------------------------ */
/* Byte order.                                                          */

static inline void
fg_be16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void
fg_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void
fg_be64(unsigned char *p, uint64_t v)
{
	fg_be32(p, (uint32_t)(v >> 32));
	fg_be32(p + 4, (uint32_t)v);
}

static inline void
fg_le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void
fg_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* ------------------------------------------------------------------ */
/* Flows, exporters, export headers.                                    */

/* One flow record, limited to what NetFlow v5 can carry. */
struct fg_flow {
	int64_t stime, etime;          /* ms since the epoch */
	uint32_t src, dst, nexthop;    /* IPv4, host order */
	uint32_t packets, bytes;
	uint16_t sport, dport, input, output, src_as, dst_as;
	uint8_t prot, tos, flags, src_mask, dst_mask;
	uint8_t exp;                   /* index of the exporter that sees it */
	uint32_t next;                 /* timing wheel link */
};

/* The export header of one datagram, in v5 / flow-tools terms. */
struct fg_hdr {
	int64_t ms;                    /* export time, ms since the epoch */
	uint32_t secs, nsecs, uptime;
};

/* Records of one datagram: v5's maximum; v9 and IPFIX fill fewer. */
#define FG_BATCH 30

/*
 * An exporter: a router's export process for one engine (v5 engine pair,
 * v9 source id, IPFIX observation domain; flowq's `domain` is
 * engine_type << 8 | engine_id in all three, so the records agree).
 */
struct fg_exporter {
	uint32_t addr;
	uint16_t port;                 /* UDP source port in captures */
	uint8_t engine_type, engine_id;
	int64_t boot_ms;               /* uptime = export time - boot_ms */
	uint32_t seq_v5;               /* flows sent (v5 flow_sequence) */
	uint32_t seq_v9;               /* datagrams sent (v9 package sequence) */
	uint32_t seq_ipfix;            /* data records sent (IPFIX) */
	uint32_t ndgram;               /* templates ride on every 20th */
	uint16_t ip_id;
	unsigned latency_us;           /* router to capture point */
	int64_t first_ms;              /* when the oldest buffered flow came */
	unsigned n;                    /* buffered flows */
	struct fg_flow buf[FG_BATCH];
};

static uint32_t
fg_domain(const struct fg_exporter *e)
{
	return (uint32_t)e->engine_type << 8 | e->engine_id;
}

/* A flow time as router uptime against an export header (SPEC 1, reversed). */
static inline uint32_t
fg_uptime_at(const struct fg_hdr *h, int64_t t)
{
	return h->uptime - (uint32_t)(h->ms - t);
}

/* ------------------------------------------------------------------ */
/* Encoders.                                                            */

enum fg_proto {
	FG_P_FT,
	FG_P_V5,
	FG_P_V9,
	FG_P_IPFIX,
};

static const struct fg_format {
	const char *name;
	enum fg_proto proto;
	int zip, pcap;
} fg_formats[] = {
	{ "ft", FG_P_FT, 0, 0 },
	{ "ftz", FG_P_FT, 1, 0 },
	{ "v5", FG_P_V5, 0, 0 },
	{ "v9", FG_P_V9, 0, 0 },
	{ "ipfix", FG_P_IPFIX, 0, 0 },
	{ "pcap-v5", FG_P_V5, 0, 1 },
	{ "pcap-v9", FG_P_V9, 0, 1 },
	{ "pcap-ipfix", FG_P_IPFIX, 0, 1 },
};

/*
 * Templates: the fields of a v5 record, plus engine type/id (so that the
 * record's engine fields match v5's header).  v9 uses v5's widths as
 * Cisco's templates do; IPFIX uses the elements' full widths and absolute
 * millisecond times, as most IPFIX exporters do.
 */
static const uint16_t fg_v9_fields[][2] = {
	{ 8, 4 }, { 12, 4 }, { 15, 4 }, { 10, 2 }, { 14, 2 }, { 2, 4 },
	{ 1, 4 }, { 22, 4 }, { 21, 4 }, { 7, 2 }, { 11, 2 }, { 6, 1 },
	{ 4, 1 }, { 5, 1 }, { 16, 2 }, { 17, 2 }, { 9, 1 }, { 13, 1 },
	{ 38, 1 }, { 39, 1 },
};
static const uint16_t fg_ipfix_fields[][2] = {
	{ 8, 4 }, { 12, 4 }, { 15, 4 }, { 10, 4 }, { 14, 4 }, { 2, 8 },
	{ 1, 8 }, { 152, 8 }, { 153, 8 }, { 7, 2 }, { 11, 2 }, { 6, 2 },
	{ 4, 1 }, { 5, 1 }, { 16, 4 }, { 17, 4 }, { 9, 1 }, { 13, 1 },
	{ 38, 1 }, { 39, 1 },
};
#define FG_NFIELDS 20
#define FG_V9_REC 47
#define FG_IPFIX_REC 72
#define FG_TSET (8 + 4 * FG_NFIELDS)   /* set header, template header, fields */
#define FG_TEMPLATE_EVERY 20           /* datagrams */
#define FG_PAYLOAD 1400                /* datagram size exporters aim at */
/* Records per datagram, without and with the template set (v9 pads to 4). */
#define FG_V9_CAP ((FG_PAYLOAD - 20 - 4 - 3) / FG_V9_REC)
#define FG_V9_CAP_T ((FG_PAYLOAD - 20 - FG_TSET - 4 - 3) / FG_V9_REC)
#define FG_IPFIX_CAP ((FG_PAYLOAD - 16 - 4) / FG_IPFIX_REC)
#define FG_IPFIX_CAP_T ((FG_PAYLOAD - 16 - FG_TSET - 4) / FG_IPFIX_REC)
#define FG_FRAME_HDR 42                /* Ethernet + IPv4 + UDP */

struct fg_writer {
	const struct fg_format *fmt;
	struct fg_out out;
	int64_t pcap_last_us;
	uint64_t datagrams, records;
	unsigned char frame[FG_FRAME_HDR + 65536];
};

static unsigned
fg_capacity(const struct fg_writer *w, const struct fg_exporter *e)
{
	int t = e->ndgram % FG_TEMPLATE_EVERY == 0;
	switch (w->fmt->proto) {
	case FG_P_V9:
		return t ? FG_V9_CAP_T : FG_V9_CAP;
	case FG_P_IPFIX:
		return t ? FG_IPFIX_CAP_T : FG_IPFIX_CAP;
	default:
		return FG_BATCH;   /* flow-tools records keep v5's datagrams */
	}
}

/* fts3rec_v5: the 64-byte little-endian record of flow-tools. */
static void
fg_enc_ft(unsigned char *p, const struct fg_hdr *h,
	  const struct fg_exporter *e, const struct fg_flow *f)
{
	fg_le32(p + 0, h->secs);
	fg_le32(p + 4, h->nsecs);
	fg_le32(p + 8, h->uptime);
	fg_le32(p + 12, e->addr);
	fg_le32(p + 16, f->src);
	fg_le32(p + 20, f->dst);
	fg_le32(p + 24, f->nexthop);
	fg_le16(p + 28, f->input);
	fg_le16(p + 30, f->output);
	fg_le32(p + 32, f->packets);
	fg_le32(p + 36, f->bytes);
	fg_le32(p + 40, fg_uptime_at(h, f->stime));
	fg_le32(p + 44, fg_uptime_at(h, f->etime));
	fg_le16(p + 48, f->sport);
	fg_le16(p + 50, f->dport);
	p[52] = f->prot;
	p[53] = f->tos;
	p[54] = f->flags;
	p[55] = 0;
	p[56] = e->engine_type;
	p[57] = e->engine_id;
	p[58] = f->src_mask;
	p[59] = f->dst_mask;
	fg_le16(p + 60, f->src_as);
	fg_le16(p + 62, f->dst_as);
}

static size_t
fg_enc_v5(unsigned char *p, struct fg_exporter *e, const struct fg_hdr *h,
	  const struct fg_flow *f, unsigned n)
{
	fg_be16(p, 5);
	fg_be16(p + 2, n);
	fg_be32(p + 4, h->uptime);
	fg_be32(p + 8, h->secs);
	fg_be32(p + 12, h->nsecs);
	fg_be32(p + 16, e->seq_v5);
	p[20] = e->engine_type;
	p[21] = e->engine_id;
	fg_be16(p + 22, 0);                /* unsampled */
	e->seq_v5 += n;
	unsigned char *q = p + 24;
	for (unsigned i = 0; i < n; i++, f++, q += 48) {
		fg_be32(q, f->src);
		fg_be32(q + 4, f->dst);
		fg_be32(q + 8, f->nexthop);
		fg_be16(q + 12, f->input);
		fg_be16(q + 14, f->output);
		fg_be32(q + 16, f->packets);
		fg_be32(q + 20, f->bytes);
		fg_be32(q + 24, fg_uptime_at(h, f->stime));
		fg_be32(q + 28, fg_uptime_at(h, f->etime));
		fg_be16(q + 32, f->sport);
		fg_be16(q + 34, f->dport);
		q[36] = 0;
		q[37] = f->flags;
		q[38] = f->prot;
		q[39] = f->tos;
		fg_be16(q + 40, f->src_as);
		fg_be16(q + 42, f->dst_as);
		q[44] = f->src_mask;
		q[45] = f->dst_mask;
		fg_be16(q + 46, 0);
	}
	return 24 + 48 * (size_t)n;
}

static size_t
fg_enc_template(unsigned char *p, unsigned set_id, const uint16_t (*fields)[2])
{
	fg_be16(p, set_id);
	fg_be16(p + 2, FG_TSET);
	fg_be16(p + 4, 256);
	fg_be16(p + 6, FG_NFIELDS);
	for (unsigned i = 0; i < FG_NFIELDS; i++) {
		fg_be16(p + 8 + 4 * i, fields[i][0]);
		fg_be16(p + 10 + 4 * i, fields[i][1]);
	}
	return FG_TSET;
}

/*
 * v9 headers carry whole seconds only, and a decoder computes
 * unix_secs*1000 - (sysUptime - FIRST).  The exporter therefore stamps the
 * datagram at the next whole second with the uptime of that instant, which
 * keeps every record's millisecond exact (and never in the future).
 */
static uint32_t
fg_whole_secs(int64_t ms)
{
	return (uint32_t)((ms + 999) / 1000);
}

static size_t
fg_enc_v9(unsigned char *p, struct fg_exporter *e, const struct fg_hdr *h,
	  const struct fg_flow *f, unsigned n, int with_template)
{
	uint32_t secs = fg_whole_secs(h->ms);
	uint32_t up = h->uptime + (uint32_t)((int64_t)secs * 1000 - h->ms);
	fg_be16(p, 9);
	fg_be16(p + 2, n + (with_template ? 1 : 0));  /* records of all flowsets */
	fg_be32(p + 4, up);
	fg_be32(p + 8, secs);
	fg_be32(p + 12, e->seq_v9++);
	fg_be32(p + 16, fg_domain(e));
	size_t off = 20;
	if (with_template)
		off += fg_enc_template(p + off, 0, fg_v9_fields);
	size_t body = 4 + (size_t)n * FG_V9_REC, pad = (4 - body % 4) % 4;
	fg_be16(p + off, 256);
	fg_be16(p + off + 2, (unsigned)(body + pad));
	unsigned char *q = p + off + 4;
	for (unsigned i = 0; i < n; i++, f++, q += FG_V9_REC) {
		fg_be32(q, f->src);
		fg_be32(q + 4, f->dst);
		fg_be32(q + 8, f->nexthop);
		fg_be16(q + 12, f->input);
		fg_be16(q + 14, f->output);
		fg_be32(q + 16, f->packets);
		fg_be32(q + 20, f->bytes);
		fg_be32(q + 24, fg_uptime_at(h, f->stime));
		fg_be32(q + 28, fg_uptime_at(h, f->etime));
		fg_be16(q + 32, f->sport);
		fg_be16(q + 34, f->dport);
		q[36] = f->flags;
		q[37] = f->prot;
		q[38] = f->tos;
		fg_be16(q + 39, f->src_as);
		fg_be16(q + 41, f->dst_as);
		q[43] = f->src_mask;
		q[44] = f->dst_mask;
		q[45] = e->engine_type;
		q[46] = e->engine_id;
	}
	memset(q, 0, pad);
	return off + body + pad;
}

static size_t
fg_enc_ipfix(unsigned char *p, struct fg_exporter *e, const struct fg_hdr *h,
	     const struct fg_flow *f, unsigned n, int with_template)
{
	size_t off = 16;
	if (with_template)
		off += fg_enc_template(p + off, 2, fg_ipfix_fields);
	size_t body = 4 + (size_t)n * FG_IPFIX_REC;
	fg_be16(p + off, 256);
	fg_be16(p + off + 2, (unsigned)body);
	unsigned char *q = p + off + 4;
	for (unsigned i = 0; i < n; i++, f++, q += FG_IPFIX_REC) {
		fg_be32(q, f->src);
		fg_be32(q + 4, f->dst);
		fg_be32(q + 8, f->nexthop);
		fg_be32(q + 12, f->input);
		fg_be32(q + 16, f->output);
		fg_be64(q + 20, f->packets);
		fg_be64(q + 28, f->bytes);
		fg_be64(q + 36, (uint64_t)f->stime);
		fg_be64(q + 44, (uint64_t)f->etime);
		fg_be16(q + 52, f->sport);
		fg_be16(q + 54, f->dport);
		fg_be16(q + 56, f->flags);
		q[58] = f->prot;
		q[59] = f->tos;
		fg_be32(q + 60, f->src_as);
		fg_be32(q + 64, f->dst_as);
		q[68] = f->src_mask;
		q[69] = f->dst_mask;
		q[70] = e->engine_type;
		q[71] = e->engine_id;
	}
	size_t len = off + body;
	fg_be16(p, 10);
	fg_be16(p + 2, (unsigned)len);
	fg_be32(p + 4, fg_whole_secs(h->ms));  /* export time, as v9 */
	fg_be32(p + 8, e->seq_ipfix);
	fg_be32(p + 12, fg_domain(e));
	e->seq_ipfix += n;
	return len;
}

/*
 * Wrap the datagram at frame + FG_FRAME_HDR into Ethernet/IPv4/UDP and
 * write it as one pcap packet, stamped when it reaches the collector.
 */
static void
fg_pcap_packet(struct fg_writer *w, struct fg_exporter *e, int64_t sent_ms,
	       size_t len)
{
	unsigned char *p = w->frame;
	static const unsigned char mac[12] = {
		0x02, 0, 0, 0, 0, 0xfe,     /* collector */
		0x02, 0, 0, 0, 0, 0x01,     /* routers (last byte: address) */
	};
	memcpy(p, mac, 12);
	p[11] = (unsigned char)e->addr;
	fg_be16(p + 12, 0x0800);
	unsigned char *ip = p + 14;
	ip[0] = 0x45;
	ip[1] = 0;
	fg_be16(ip + 2, (unsigned)(28 + len));
	fg_be16(ip + 4, e->ip_id++);
	fg_be16(ip + 6, 0x4000);           /* DF */
	ip[8] = 64;
	ip[9] = 17;
	fg_be16(ip + 10, 0);
	fg_be32(ip + 12, e->addr);
	fg_be32(ip + 16, 0xC00002FAu);      /* collector 192.0.2.250 */
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	fg_be16(ip + 10, ~sum & 0xffff);
	unsigned char *udp = ip + 20;
	fg_be16(udp, e->port);
	fg_be16(udp + 2, w->fmt->proto == FG_P_IPFIX ? 4739 : 2055);
	fg_be16(udp + 4, (unsigned)(8 + len));
	fg_be16(udp + 6, 0);               /* no checksum (allowed over IPv4) */

	/* Capture time: monotonic, as a capture on one interface is. */
	int64_t us = sent_ms * 1000 + e->latency_us;
	if (us < w->pcap_last_us)
		us = w->pcap_last_us;
	w->pcap_last_us = us;
	unsigned char rh[16];
	size_t caplen = FG_FRAME_HDR + len;
	fg_le32(rh, (uint32_t)(us / 1000000));
	fg_le32(rh + 4, (uint32_t)(us % 1000000));
	fg_le32(rh + 8, (uint32_t)caplen);
	fg_le32(rh + 12, (uint32_t)caplen);
	fg_out_put(&w->out, rh, 16);
	fg_out_put(&w->out, p, caplen);
}

/* Export the exporter's buffered flows as one datagram with header h. */
static void
fg_flush(struct fg_writer *w, struct fg_exporter *e, const struct fg_hdr *h)
{
	unsigned n = e->n;
	if (n == 0)
		return;
	e->n = 0;
	w->records += n;
	w->datagrams++;
	if (w->fmt->proto == FG_P_FT) {
		unsigned char *p = fg_out_reserve(&w->out, 64 * (size_t)n);
		for (unsigned i = 0; i < n; i++)
			fg_enc_ft(p + 64 * (size_t)i, h, e, &e->buf[i]);
		fg_out_commit(&w->out, 64 * (size_t)n);
		return;
	}
	unsigned char *p = w->frame + FG_FRAME_HDR;
	int with_template = e->ndgram % FG_TEMPLATE_EVERY == 0;
	size_t len;
	int64_t sent = (int64_t)fg_whole_secs(h->ms) * 1000;
	switch (w->fmt->proto) {
	case FG_P_V5:
		len = fg_enc_v5(p, e, h, e->buf, n);
		sent = h->ms;
		break;
	case FG_P_V9:
		len = fg_enc_v9(p, e, h, e->buf, n, with_template);
		break;
	default:
		len = fg_enc_ipfix(p, e, h, e->buf, n, with_template);
		break;
	}
	e->ndgram++;
	if (w->fmt->pcap)
		fg_pcap_packet(w, e, sent, len);
	else
		fg_out_put(&w->out, p, len);
}

/* A flow-tools TLV (little-endian, as the stream header says). */
static size_t
fg_tlv(unsigned char *p, unsigned type, const void *v, size_t len)
{
	fg_le16(p, type);
	fg_le16(p + 2, (unsigned)len);
	memcpy(p + 4, v, len);
	return 4 + len;
}

/*
 * Open the output and write the file header: flow-tools stream v3
 * (little-endian, record version 5; the compression flag, and the zlib
 * stream right after the header for ftz), or the pcap global header.
 */
static int
fg_writer_open(struct fg_writer *w, const struct fg_format *fmt,
	       const char *path, int zlevel, uint32_t cap_start,
	       const char *comment)
{
	memset(w, 0, sizeof *w);
	w->fmt = fmt;
	int rc = fg_out_open(&w->out, path);
	if (rc < 0)
		return rc;
	if (fmt->proto == FG_P_FT) {
		unsigned char h[512], v[4];
		size_t n = 8;
		h[0] = 0xCF;
		h[1] = 0x10;
		h[2] = 1;                  /* little-endian */
		h[3] = 3;                  /* stream version 3 */
		v[0] = 1;
		n += fg_tlv(h + n, 1, v, 1);            /* vendor: Cisco */
		fg_le16(v, 5);
		n += fg_tlv(h + n, 2, v, 2);            /* record version 5 */
		if (cap_start) {
			fg_le32(v, cap_start);
			n += fg_tlv(h + n, 6, v, 4);    /* capture start */
		}
		fg_le32(v, fmt->zip ? 0x2 : 0);
		n += fg_tlv(h + n, 8, v, 4);            /* header flags */
		n += fg_tlv(h + n, 15, "flowgen", 8);   /* capture host */
		size_t cl = strlen(comment) + 1;
		if (cl > 400)
			cl = 400;
		n += fg_tlv(h + n, 16, comment, cl);    /* comments */
		h[n - 1] = 0;
		while (n % 4)
			h[n++] = 0;
		fg_le32(h + 4, (uint32_t)n);
		fg_out_put(&w->out, h, n);
		if (fmt->zip)
			return fg_out_start_zlib(&w->out, zlevel);
	} else if (fmt->pcap) {
		unsigned char h[24];
		fg_le32(h, 0xa1b2c3d4u);           /* microsecond stamps */
		fg_le16(h + 4, 2);
		fg_le16(h + 6, 4);
		fg_le32(h + 8, 0);
		fg_le32(h + 12, 0);
		fg_le32(h + 16, 65535);
		fg_le32(h + 20, 1);                /* LINKTYPE_ETHERNET */
		fg_out_put(&w->out, h, 24);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The generator: timing wheel and datagram assembly.                   */

#define FG_WHEEL_BITS 20              /* 17.5 min of export times */
#define FG_WHEEL (1u << FG_WHEEL_BITS)
#define FG_NIL UINT32_MAX
#define FG_MAX_DUR 300000             /* ms: the routers' active timeout */
#define FG_INACTIVE 15000             /* ms: the routers' inactive timeout */
#define FG_FLUSH_MS 1000              /* a partial datagram leaves after 1 s */

enum fg_class {
	FG_C_HTTP,
	FG_C_DNS,
	FG_C_SCAN,
	FG_C_BG,
	FG_NCLASS,
};
static const char *const fg_class_names[FG_NCLASS] = {
	"http", "dns", "scan", "background",
};

/* The four export processes of the modelled campus (see docs). */
#define FG_NEXP 4
static const struct {
	uint32_t addr;
	uint16_t port;
	uint8_t engine_type, engine_id;
	int64_t uptime0;               /* uptime at the trace's start, ms */
} fg_routers[FG_NEXP] = {
	{ 0xC0000201u, 50001, 0, 1, 1036800000 },    /* 192.0.2.1, up 12 d */
	{ 0xC0000202u, 50002, 0, 2, 10800000 },      /* 192.0.2.2, up 3 h */
	/* 192.0.2.3, two line cards; uptime wraps 2^32 ms 2 s in */
	{ 0xC0000203u, 50003, 1, 1, 4294965296 },
	{ 0xC0000203u, 50003, 1, 2, 4294965296 },
};

struct fg_gen {
	struct fg_rng rng;
	struct fg_writer *w;
	struct fg_exporter ex[FG_NEXP];
	int64_t start_ms;
	int64_t clock_us;              /* session arrivals, since start */
	int64_t cursor;                /* next wheel millisecond to drain */
	double rate;                   /* mean flows per second */
	uint64_t left;                 /* flows still to create */
	uint64_t made, sessions;
	uint64_t by_class[FG_NCLASS];
	uint32_t *head, *tail;         /* wheel buckets */
	struct fg_flow *pool;
	uint32_t pool_len, pool_cap, free_list;
	uint64_t in_flight;
	unsigned pending;              /* exporters with buffered flows */
	uint16_t *eph;                 /* next ephemeral port per host */
	int64_t max_offset;            /* largest export - session start seen */
};

/* Queue a flow for export when its router's cache lets it go. */
static void
fg_put(struct fg_gen *g, struct fg_flow *f, enum fg_class cls)
{
	if (g->left == 0)
		return;
	g->left--;
	g->made++;
	g->by_class[cls]++;
	if (f->etime < f->stime)
		f->etime = f->stime;
	if (f->etime - f->stime > FG_MAX_DUR)
		f->etime = f->stime + FG_MAX_DUR;
	/*
	 * A TCP flow that saw FIN or RST leaves at the next cache scan; any
	 * other flow when it has been idle for the inactive timeout.  This is
	 * the export disorder: records come roughly by end time, UDP and
	 * half-open flows up to 16 s behind.
	 */
	int64_t x = f->etime + fg_below(&g->rng, 1000);
	if (!(f->prot == 6 && (f->flags & 0x05)))
		x += FG_INACTIVE;
	if (x - g->cursor > g->max_offset)
		g->max_offset = x - g->cursor;
	if (x - g->cursor >= (int64_t)FG_WHEEL) {
		/* The model keeps sessions far shorter; this is a bug. */
		fprintf(stderr, "flowgen: internal error: export %" PRId64
			" ms ahead\n", x - g->cursor);
		abort();
	}
	uint32_t i;
	if (g->free_list != FG_NIL) {
		i = g->free_list;
		g->free_list = g->pool[i].next;
	} else {
		if (g->pool_len == g->pool_cap) {
			uint32_t cap = g->pool_cap ? g->pool_cap * 2 : 65536;
			struct fg_flow *p = realloc(g->pool, cap * sizeof *p);
			if (p == NULL) {
				fprintf(stderr, "flowgen: out of memory\n");
				exit(1);
			}
			g->pool = p;
			g->pool_cap = cap;
		}
		i = g->pool_len++;
	}
	struct fg_flow *slot = &g->pool[i];
	*slot = *f;
	slot->next = FG_NIL;
	uint32_t b = (uint32_t)x & (FG_WHEEL - 1);
	if (g->head[b] == FG_NIL)
		g->head[b] = i;
	else
		g->pool[g->tail[b]].next = i;
	g->tail[b] = i;
	g->in_flight++;
}

static void
fg_gen_flush(struct fg_gen *g, struct fg_exporter *e, int64_t ms)
{
	struct fg_hdr h;
	h.ms = ms;
	h.secs = (uint32_t)(ms / 1000);
	h.nsecs = (uint32_t)(ms % 1000) * 1000000u;
	h.uptime = (uint32_t)(ms - e->boot_ms);
	fg_flush(g->w, e, &h);
	g->pending--;
}

/*
 * Hand every flow whose export time is before `until` to its exporter, in
 * export-time order; an exporter sends a datagram when it is full or when
 * its oldest flow has waited FG_FLUSH_MS.
 */
static void
fg_drain(struct fg_gen *g, int64_t until)
{
	while (g->cursor < until) {
		if (g->in_flight == 0 && g->pending == 0) {
			g->cursor = until;
			return;
		}
		int64_t m = g->cursor++;
		if (g->pending)
			for (unsigned k = 0; k < FG_NEXP; k++) {
				struct fg_exporter *e = &g->ex[k];
				if (e->n && m >= e->first_ms + FG_FLUSH_MS)
					fg_gen_flush(g, e, m);
			}
		uint32_t b = (uint32_t)m & (FG_WHEEL - 1);
		uint32_t i = g->head[b];
		g->head[b] = FG_NIL;
		while (i != FG_NIL) {
			struct fg_flow *f = &g->pool[i];
			uint32_t next = f->next;
			struct fg_exporter *e = &g->ex[f->exp];
			if (e->n == 0) {
				e->first_ms = m;
				g->pending++;
			}
			e->buf[e->n++] = *f;
			f->next = g->free_list;
			g->free_list = i;
			g->in_flight--;
			if (e->n >= fg_capacity(g->w, e))
				fg_gen_flush(g, e, m);
			i = next;
		}
	}
}

/* ------------------------------------------------------------------ */
/* The network: hosts, servers, endpoints.                              */

/*
 * Inside: 256 client subnets 10.1.0.0/24 .. 10.4.63.0/24 of 254 hosts;
 * subnet s is routed by exporter s % 4 on LAN interface 1 + s % 16.
 * Two resolvers, 10.0.0.53 and 10.0.1.53, on the server LAN (interface 20).
 * Outside: addresses, prefix lengths and AS numbers are hashes of a
 * server's number, reached over uplink 101 or 102 (next hop 198.51.100.1
 * or .2).
 */
#define FG_HOSTS (256 * 254)
#define FG_WEB_SERVERS 200000

/* Keys of outside address spaces (hashed into addresses). */
#define FG_K_WEB (1ull << 40)
#define FG_K_AUTH (2ull << 40)
#define FG_K_SCANNER (3ull << 40)
#define FG_K_PEER (4ull << 40)
#define FG_K_RESOLVER (5ull << 40)
#define FG_K_NTP (6ull << 40)

struct fg_end {
	uint32_t addr;
	uint32_t gw;          /* next hop towards it; 0: directly connected */
	uint16_t ifx;         /* its interface on the router */
	uint16_t as;
	uint8_t mask;
	uint8_t inside;
	uint8_t exp;          /* the exporter that sees an inside end */
};

static struct fg_end
fg_inside(uint32_t h)
{
	uint32_t s = h / 254;
	struct fg_end e = {
		0x0A000000u | (1 + s / 64) << 16 | (s % 64) << 8 | (1 + h % 254),
		0, (uint16_t)(1 + s % 16), 0, 24, 1, (uint8_t)(s % FG_NEXP),
	};
	return e;
}

static struct fg_end
fg_resolver(unsigned k)
{
	struct fg_end e = {
		0x0A000035u | (k & 1) << 8, 0, 20, 0, 24, 1,
		(uint8_t)((k & 1) * 2),
	};
	return e;
}

static struct fg_end
fg_outside(uint64_t key)
{
	uint64_t x = fg_mix(key);
	unsigned o = 11 + (unsigned)(x >> 56) % 212;   /* 11 .. 222 */
	if (o == 100 || o == 127 || o == 169 || o == 172 || o == 192 ||
	    o == 198 || o == 203)
		o++;                       /* shared, loopback, private, docs */
	unsigned up = (unsigned)(x >> 20) & 1;
	struct fg_end e = {
		(uint32_t)o << 24 | ((uint32_t)x & 0xffff00) |
			(1 + (unsigned)(x >> 24) % 254),
		0xC6336401u + up,          /* 198.51.100.1 / .2 */
		(uint16_t)(101 + up),
		(uint16_t)(1 + (x >> 32) % 64511),
		(uint8_t)(16 + (x >> 48) % 9),
		0, 0,
	};
	return e;
}

static void
fg_link(struct fg_flow *f, const struct fg_end *a, const struct fg_end *b)
{
	memset(f, 0, sizeof *f);
	f->src = a->addr;
	f->dst = b->addr;
	f->nexthop = b->gw;
	f->input = a->ifx;
	f->output = b->ifx;
	f->src_as = a->as;
	f->dst_as = b->as;
	f->src_mask = a->mask;
	f->dst_mask = b->mask;
	f->exp = a->inside ? a->exp : b->exp;
}

/* Busy hosts are few: a skewed pick, scattered over the subnets. */
static uint32_t
fg_client(struct fg_gen *g)
{
	double u = fg_u01(&g->rng);
	uint32_t i = (uint32_t)(FG_HOSTS * u * u) % FG_HOSTS;
	return (uint32_t)(((uint64_t)i * 40503u + 7919u) % FG_HOSTS);
}

/* The next ephemeral port of a host (Linux range 32768-60999). */
static uint16_t
fg_eph(struct fg_gen *g, uint32_t h)
{
	uint16_t p = g->eph[h];
	g->eph[h] = p >= 60999 ? 32768 : (uint16_t)(p + 1);
	return p;
}

static uint32_t
fg_u32(double x)
{
	if (!(x >= 1))
		return 1;
	if (x > 4e9)
		return 4000000000u;
	return (uint32_t)x;
}

/* ------------------------------------------------------------------ */
/* The traffic model.                                                   */

#define FG_TCP_FIN 0x01
#define FG_TCP_SYN 0x02
#define FG_TCP_RST 0x04
#define FG_TCP_PSH 0x08
#define FG_TCP_ACK 0x10
#define FG_TCP_FULL (FG_TCP_SYN | FG_TCP_ACK | FG_TCP_PSH | FG_TCP_FIN)

/*
 * A DNS lookup of host h: query and answer (one packet each) through a
 * resolver; on a cache miss (30%) the resolver asks an authoritative
 * server first; 2% of queries are lost and repeated after a second.
 * Returns when the answer reached the client.
 */
static int64_t
fg_dns(struct fg_gen *g, uint32_t h, int64_t t)
{
	struct fg_rng *r = &g->rng;
	struct fg_end cli = fg_inside(h), res;
	int external = fg_chance(r, 0.1);
	if (external)
		res = fg_outside(FG_K_RESOLVER | fg_below(r, 4));
	else
		res = fg_resolver(h & 1);
	uint16_t sport = fg_eph(g, h);
	int64_t rtt = external ? 4 + fg_below(r, 40) : 1 + fg_below(r, 2);
	struct fg_flow q, a;
	fg_link(&q, &cli, &res);
	q.sport = sport;
	q.dport = 53;
	q.prot = 17;
	q.packets = 1;
	q.bytes = 45 + fg_below(r, 40);
	q.stime = q.etime = t;
	if (!external && fg_chance(r, 0.3)) {
		double u = fg_u01(r);
		struct fg_end auth = fg_outside(FG_K_AUTH |
					(uint32_t)(50000 * u * u * u));
		struct fg_flow aq, aa;
		int64_t art = 8 + (int64_t)fmin(fg_pareto(r, 10, 1.3), 400);
		fg_link(&aq, &res, &auth);
		aq.sport = (uint16_t)(1024 + fg_below(r, 64512));
		aq.dport = 53;
		aq.prot = 17;
		aq.packets = 1;
		aq.bytes = q.bytes + 11;       /* + EDNS */
		aq.stime = aq.etime = t + 1;
		fg_link(&aa, &auth, &res);
		aa.sport = 53;
		aa.dport = aq.sport;
		aa.prot = 17;
		aa.packets = 1;
		aa.bytes = 90 + fg_below(r, 400);
		aa.stime = aa.etime = t + 1 + art;
		fg_put(g, &aq, FG_C_DNS);
		fg_put(g, &aa, FG_C_DNS);
		rtt = art + 2;
	}
	if (fg_chance(r, 0.02)) {
		q.packets = 2;
		q.bytes *= 2;
		q.etime = t + 1000;
		rtt += 1000;
	}
	fg_put(g, &q, FG_C_DNS);
	fg_link(&a, &res, &cli);
	a.sport = 53;
	a.dport = sport;
	a.prot = 17;
	a.packets = 1;
	a.bytes = 80 + fg_below(r, 420);
	a.stime = a.etime = t + rtt;
	fg_put(g, &a, FG_C_DNS);
	return t + rtt;
}

/*
 * One TCP connection from inside host h to srv:dport as the router sees
 * it: the client's flow and the server's.  The server's flow starts one
 * round trip after the SYN and ends before the client's last ACK, so it
 * lies inside the client's (the "B d A" of the Flowy download query).
 * Transfer time follows from the size and the path's throughput, capped
 * by the active timeout.  Returns the connection's end.
 */
static int64_t
fg_tcp(struct fg_gen *g, uint32_t h, const struct fg_end *srv,
       uint16_t dport, int64_t t, int64_t rtt, double bps, double req,
       double resp, enum fg_class cls)
{
	struct fg_end cli = fg_inside(h);
	uint16_t sport = fg_eph(g, h);
	int64_t dur = 3 * rtt + (int64_t)(resp * 8000.0 / bps) +
		      fg_below(&g->rng, 20);
	if (dur > FG_MAX_DUR) {
		dur = FG_MAX_DUR;
		resp = (double)(dur - 3 * rtt) * bps / 8000.0;
	}
	double bp = 2 + ceil(resp / 1448), ap = 3 + ceil(req / 1448) + bp / 2;
	struct fg_flow a, b;
	fg_link(&a, &cli, srv);
	a.sport = sport;
	a.dport = dport;
	a.prot = 6;
	a.flags = FG_TCP_FULL;
	a.stime = t;
	a.etime = t + dur;
	a.packets = fg_u32(ap);
	a.bytes = fg_u32(req + 52 * ap);
	fg_link(&b, srv, &cli);
	b.sport = dport;
	b.dport = sport;
	b.prot = 6;
	b.flags = FG_TCP_FULL;
	b.stime = t + rtt;
	b.etime = t + dur - rtt / 2;
	b.packets = fg_u32(bp);
	b.bytes = fg_u32(resp + 52 * bp);
	fg_put(g, &a, cls);
	fg_put(g, &b, cls);
	return t + dur;
}

/* A connection that fails: SYNs unanswered, or refused with a RST. */
static void
fg_tcp_fail(struct fg_gen *g, uint32_t h, const struct fg_end *srv,
	    uint16_t dport, int64_t t, int64_t rtt)
{
	struct fg_end cli = fg_inside(h);
	struct fg_flow a, b;
	fg_link(&a, &cli, srv);
	a.sport = fg_eph(g, h);
	a.dport = dport;
	a.prot = 6;
	a.flags = FG_TCP_SYN;
	a.stime = t;
	if (fg_chance(&g->rng, 0.5)) {     /* retransmitted at 1 s and 3 s */
		a.packets = 3;
		a.bytes = 180;
		a.etime = t + 3000;
		fg_put(g, &a, FG_C_HTTP);
		return;
	}
	a.packets = 1;
	a.bytes = 60;
	a.etime = t;
	fg_link(&b, srv, &cli);
	b.sport = dport;
	b.dport = a.sport;
	b.prot = 6;
	b.flags = FG_TCP_RST | FG_TCP_ACK;
	b.packets = 1;
	b.bytes = 40;
	b.stime = b.etime = t + rtt;
	fg_put(g, &a, FG_C_HTTP);
	fg_put(g, &b, FG_C_HTTP);
}

/*
 * A web visit: often a DNS lookup first, then one to three page views on
 * one server (port 80 or 443, by server).  A page view is a main
 * connection (8% of first views are a large download, Pareto sizes from
 * 1 MB) and parallel connections for the page's objects, started while
 * the main one runs; think time between views.
 */
static void
fg_http(struct fg_gen *g, int64_t t0)
{
	struct fg_rng *r = &g->rng;
	uint32_t h = fg_client(g);
	double u = fg_u01(r);
	uint32_t s = (uint32_t)(FG_WEB_SERVERS * u * u * u) % FG_WEB_SERVERS;
	struct fg_end srv = fg_outside(FG_K_WEB | s);
	unsigned kind = (unsigned)(fg_mix(FG_K_WEB ^ s) % 10);
	uint16_t port = kind < 4 ? 80 : kind < 8 ? 443 :
			(fg_chance(r, 0.5) ? 80 : 443);
	int64_t t = t0;
	if (fg_chance(r, 0.6))
		t = fg_dns(g, h, t) + 1 + fg_below(r, 20);
	int64_t rtt = 2 + (int64_t)fmin(fg_pareto(r, 8, 1.5), 600);
	double bps = fg_logu(r, 1e6, 2e8);
	/* One random draw per statement: C leaves the order of operands
	 * unspecified, and the output must not depend on the compiler. */
	int views = 1 + fg_chance(r, 0.3);
	views += fg_chance(r, 0.1);
	for (int v = 0; v < views && t - t0 < 60000; v++) {
		if (fg_chance(r, 0.02)) {
			fg_tcp_fail(g, h, &srv, port, t, rtt);
			return;
		}
		double body = v == 0 && fg_chance(r, 0.08) ?
			      fmin(fg_pareto(r, 1e6, 1.1), 2e9) :
			      fmin(fg_pareto(r, 6000, 1.3), 5e7);
		double req = 250 + fg_below(r, 900);
		int64_t end = fg_tcp(g, h, &srv, port, t, rtt, bps, req, body,
				     FG_C_HTTP);
		int64_t last = end, span = end - t;
		if (span > 20000)
			span = 20000;
		int extra = 0;
		while (extra < 6 && fg_chance(r, 0.45))
			extra++;
		for (int k = 0; k < extra; k++) {
			int64_t st = t + 2 * rtt +
				     fg_below(r, (uint32_t)span + 800);
			double oreq = 200 + fg_below(r, 600);
			double obj = fmin(fg_pareto(r, 2000, 1.2), 2e7);
			int64_t e = fg_tcp(g, h, &srv, port, st, rtt, bps, oreq,
					   obj, FG_C_HTTP);
			if (e > last)
				last = e;
		}
		t = last + (int64_t)fmin(fg_pareto(r, 1500, 1.2), 30000);
	}
}

/* A DNS-only session: one lookup, or two (A and AAAA) back to back. */
static void
fg_dns_session(struct fg_gen *g, int64_t t)
{
	uint32_t h = fg_client(g);
	fg_dns(g, h, t);
	if (fg_chance(&g->rng, 0.4))
		fg_dns(g, h, t + fg_below(&g->rng, 3));
}

/* Fixed facts of the inside network, the same in every scan. */
static int
fg_alive(uint32_t h)
{
	return fg_mix(h ^ 0xa11fe) % 100 < 30;
}

static int
fg_open(uint32_t h, uint16_t port)
{
	static const uint16_t common[] = { 22, 80, 443, 445, 3389 };
	for (unsigned i = 0; i < sizeof common / sizeof common[0]; i++)
		if (port == common[i])
			return fg_mix((uint64_t)h << 16 | port) % 4 == 0;
	return 0;
}

/* A scan probe and, unless filtered, the target's answer. */
static void
fg_probe(struct fg_gen *g, const struct fg_end *sc, uint32_t h,
	 uint16_t sport, uint16_t dport, uint8_t prot, int64_t t,
	 int64_t rtt, int answer)
{
	struct fg_end tgt = fg_inside(h);
	struct fg_flow p, a;
	fg_link(&p, sc, &tgt);
	p.sport = sport;
	p.dport = dport;
	p.prot = prot;
	p.packets = 1;
	p.bytes = prot == 1 ? 28 : 44;
	p.flags = prot == 6 ? FG_TCP_SYN : 0;
	p.stime = p.etime = t;
	fg_put(g, &p, FG_C_SCAN);
	if (!answer)
		return;
	fg_link(&a, &tgt, sc);
	a.prot = prot;
	a.packets = 1;
	a.stime = a.etime = t + rtt;
	if (prot == 1) {
		a.dport = 0;               /* echo reply */
		a.bytes = 28;
	} else {
		int open = fg_open(h, dport);
		a.sport = dport;
		a.dport = sport;
		a.flags = open ? FG_TCP_SYN | FG_TCP_ACK :
				 FG_TCP_RST | FG_TCP_ACK;
		a.bytes = open ? 44 : 40;
	}
	fg_put(g, &a, FG_C_SCAN);
}

/*
 * A scan from one of 4096 outside scanners: vertical (one host, 100 to
 * 2000 ports, sequential or random), horizontal (one service port over one
 * to four /24s) or a ping sweep.  One tiny flow per probe, answers from
 * live hosts unless a firewall drops them; at most a minute long.
 */
static void
fg_scan(struct fg_gen *g, int64_t t)
{
	static const uint16_t ports[] = { 22, 23, 80, 443, 445, 1433, 3389,
					  5900 };
	struct fg_rng *r = &g->rng;
	struct fg_end sc = fg_outside(FG_K_SCANNER | fg_below(r, 4096));
	uint16_t sport = (uint16_t)(32768 + fg_below(r, 28000));
	int filtered = fg_chance(r, 0.3);
	int64_t rtt = 1 + fg_below(r, 60);
	double u = fg_u01(r);
	if (u < 0.45) {
		uint32_t h = fg_below(r, FG_HOSTS);
		int n = 100 + (int)fmin(fg_pareto(r, 40, 1.0), 1900);
		int seq = fg_chance(r, 0.5);
		uint32_t p0 = 1 + fg_below(r, 1024);
		int64_t gap = 1 + fg_below(r, 8);
		if (gap * n > 60000)
			gap = 60000 / n;
		for (int i = 0; i < n; i++) {
			uint16_t port = seq ? (uint16_t)(1 + (p0 + i - 1) % 65535) :
				(uint16_t)(1 + fg_below(r, 65535));
			fg_probe(g, &sc, h, sport, port, 6, t + i * gap, rtt,
				 !filtered && fg_alive(h));
		}
		return;
	}
	uint8_t prot = u < 0.9 ? 6 : 1;
	uint16_t dport = prot == 1 ? 0x0800 : ports[fg_below(r, 8)];
	uint32_t s = fg_below(r, 256), nsub = 1 + fg_below(r, 4);
	int64_t gap = 2 + fg_below(r, 20);
	if (gap * 254 * nsub > 60000)
		gap = 60000 / (254 * nsub);
	for (uint32_t k = 0; k < 254 * nsub; k++) {
		uint32_t h = ((s + k / 254) % 256) * 254 + k % 254;
		int ans = !filtered && fg_alive(h);
		fg_probe(g, &sc, h, prot == 1 ? 0 : sport, dport, prot,
			 t + k * gap, rtt, ans);
	}
}

/*
 * Background traffic between a random inside host and a random outside
 * peer: TCP services and peer-to-peer ports, NTP, QUIC, RTP, other UDP,
 * ICMP, GRE/ESP tunnels.  Packet counts are Pareto (alpha 1.1), packet
 * sizes and gaps log-uniform; most flows have a reverse flow.
 */
static void
fg_background(struct fg_gen *g, int64_t t)
{
	static const uint16_t svc[] = { 22, 25, 110, 143, 465, 587, 993, 995,
					1935, 3306, 3389, 5222, 5228, 8080,
					8443, 6881 };
	struct fg_rng *r = &g->rng;
	uint32_t h = fg_client(g);
	struct fg_end in = fg_inside(h);
	struct fg_end out = fg_outside(FG_K_PEER | fg_below(r, 1u << 22));
	const struct fg_end *from = &in, *to = &out;
	struct fg_flow a, b;
	double u = fg_u01(r);
	int64_t rtt = 2 + fg_below(r, 150);
	int reverse = 1, refused = 0;
	uint16_t sport = 0, dport = 0;
	uint8_t prot, flags = 0, tos = 0;
	double pk, size, gap;

	if (u < 0.55) {                        /* TCP */
		prot = 6;
		if (fg_chance(r, 0.2)) {       /* inbound */
			from = &out;
			to = &in;
			sport = (uint16_t)(1024 + fg_below(r, 64512));
		} else {
			sport = fg_eph(g, h);
		}
		dport = fg_chance(r, 0.7) ? svc[fg_below(r, 16)] :
			(uint16_t)(1024 + fg_below(r, 64512));
		double v = fg_u01(r);
		pk = fmin(fg_pareto(r, 1, 1.1), 2e6);
		size = fg_logu(r, 40, 1400);
		gap = fg_logu(r, 0.5, 500);
		if (v < 0.70) {
			flags = FG_TCP_FULL;
			pk += 3;
		} else if (v < 0.85) {         /* long-lived, mid-connection */
			flags = FG_TCP_ACK | FG_TCP_PSH;
		} else {                       /* unanswered or refused SYN */
			flags = FG_TCP_SYN;
			pk = 1 + fg_below(r, 3);
			size = 60;
			gap = 1000;
			refused = v >= 0.95;
			reverse = refused;
		}
	} else if (u < 0.85) {                 /* UDP */
		double v = fg_u01(r);
		prot = 17;
		sport = fg_eph(g, h);
		pk = fmin(fg_pareto(r, 1, 1.1), 1e6);
		size = fg_logu(r, 60, 1350);
		gap = fg_logu(r, 1, 300);
		if (v < 0.3) {                     /* NTP */
			out = fg_outside(FG_K_NTP | fg_below(r, 16));
			sport = dport = 123;
			pk = 1;
			size = 76;
		} else if (v < 0.6) {              /* QUIC */
			dport = 443;
			pk += 4;
		} else if (v < 0.75) {             /* RTP: 50 packets/s */
			sport = (uint16_t)(16384 + 2 * fg_below(r, 8192));
			dport = (uint16_t)(16384 + 2 * fg_below(r, 8192));
			tos = 0xb8;
			gap = 20;
			pk = fg_logu(r, 5000, FG_MAX_DUR) / gap;
			size = 172 + fg_below(r, 40);
		} else {                           /* peer-to-peer, games */
			dport = (uint16_t)(1024 + fg_below(r, 64512));
			reverse = fg_chance(r, 0.7);
		}
	} else if (u < 0.95) {                 /* ICMP: type << 8 | code */
		double v = fg_u01(r);
		prot = 1;
		pk = 1 + fg_below(r, 10);
		size = 84;
		gap = 1000;
		if (v < 0.6) {
			dport = 0x0800;            /* echo request */
		} else {
			dport = v < 0.9 ? 0x0303 : 0x0b00;  /* unreachable, */
			if (v >= 0.9) {                     /* time exceeded */
				from = &out;
				to = &in;
			}
			size = 96;
			pk = 1;
			reverse = 0;
		}
	} else {                               /* tunnels */
		prot = fg_chance(r, 0.5) ? 47 : 50;
		pk = fmin(fg_pareto(r, 20, 1.2), 2e6);
		size = fg_logu(r, 100, 1400);
		gap = fg_logu(r, 1, 100);
	}
	if (tos == 0 && fg_chance(r, 0.05))
		tos = fg_chance(r, 0.5) ? 0x10 : 0x28;
	fg_link(&a, from, to);
	a.prot = prot;
	a.sport = sport;
	a.dport = dport;
	a.flags = flags;
	a.tos = tos;
	a.packets = fg_u32(pk);
	a.bytes = fg_u32(a.packets * size);
	a.stime = t;
	a.etime = t + (int64_t)fmin((a.packets - 1) * gap, FG_MAX_DUR);
	fg_put(g, &a, FG_C_BG);
	if (!reverse)
		return;
	fg_link(&b, to, from);
	b.prot = prot;
	b.sport = dport;
	b.dport = sport;
	b.flags = flags;
	b.tos = tos;
	if (prot == 1)
		b.sport = b.dport = 0;         /* echo reply */
	b.stime = t + rtt;
	if (refused) {
		b.flags = FG_TCP_RST | FG_TCP_ACK;
		b.packets = 1;
		b.bytes = 40;
		b.etime = b.stime;
	} else {
		double bp = a.packets * fg_logu(r, 0.3, 3);
		if (flags == FG_TCP_FULL && bp < 3)
			bp = 3;            /* SYN-ACK, ACK, FIN at least */
		b.packets = fg_u32(bp);
		b.bytes = fg_u32(b.packets * fg_logu(r, 40, 1400));
		b.etime = b.stime +
			  (int64_t)fmin((b.packets - 1) * gap, FG_MAX_DUR);
	}
	fg_put(g, &b, FG_C_BG);
}

/* Traffic follows the day: +-40% around the mean, peak at 14:00 UTC. */
static double
fg_diurnal(int64_t ms)
{
	double day = (double)(ms % 86400000) / 86400000.0;
	return 1.0 + 0.4 * fg_sin(2 * 3.14159265358979324 * (day - 8.0 / 24));
}

static int
fg_generate(struct fg_gen *g)
{
	struct fg_rng *r = &g->rng;
	g->cursor = g->start_ms;
	while (g->left) {
		/*
		 * Sessions arrive as a Poisson process whose rate gives
		 * --rate flows/s, with the flows per session measured so far
		 * (a prior of 5 for the first ones).
		 */
		double per = ((double)g->made + 50.0) / ((double)g->sessions + 10);
		int64_t now = g->start_ms + g->clock_us / 1000;
		g->clock_us += (int64_t)(fg_expo(r) * per * 1e6 /
					 (g->rate * fg_diurnal(now)));
		now = g->start_ms + g->clock_us / 1000;
		fg_drain(g, now);
		if (g->w->out.err)
			return -FQ_EIO;
		/*
		 * Session mix, calibrated on the flows each kind makes (HTTP
		 * 5.0 plus 1.6 of DNS, DNS 3.6, scan 630, background 1.9) for
		 * records of about 45% HTTP, 20% DNS, 4% scans and 31%
		 * background.
		 */
		double u = fg_u01(r);
		if (u < 0.3315)
			fg_http(g, now);
		else if (u < 0.3919)
			fg_dns_session(g, now);
		else if (u < 0.39213)
			fg_scan(g, now);
		else
			fg_background(g, now);
		g->sessions++;
	}
	while (g->in_flight || g->pending)
		fg_drain(g, g->cursor + 1);
	return g->w->out.err ? -FQ_EIO : 0;
}

static int
fg_gen_init(struct fg_gen *g, struct fg_writer *w, uint64_t seed,
	    uint64_t records, double rate, int64_t start_ms)
{
	memset(g, 0, sizeof *g);
	fg_rng_seed(&g->rng, seed);
	g->w = w;
	g->left = records;
	g->rate = rate;
	g->start_ms = start_ms;
	g->free_list = FG_NIL;
	g->head = malloc(FG_WHEEL * sizeof *g->head);
	g->tail = malloc(FG_WHEEL * sizeof *g->tail);
	g->eph = malloc(FG_HOSTS * sizeof *g->eph);
	if (g->head == NULL || g->tail == NULL || g->eph == NULL)
		return -FQ_ENOMEM;
	memset(g->head, 0xff, FG_WHEEL * sizeof *g->head);
	for (uint32_t h = 0; h < FG_HOSTS; h++)
		g->eph[h] = (uint16_t)(32768 + fg_mix(seed ^ (0xe9ull << 32 | h)) %
				       28232);
	for (unsigned k = 0; k < FG_NEXP; k++) {
		struct fg_exporter *e = &g->ex[k];
		e->addr = fg_routers[k].addr;
		e->port = fg_routers[k].port;
		e->engine_type = fg_routers[k].engine_type;
		e->engine_id = fg_routers[k].engine_id;
		e->boot_ms = start_ms - fg_routers[k].uptime0;
		e->latency_us = 300 + 170 * k;
		/* sequence numbers start where a running router would be */
		e->seq_v5 = (uint32_t)fg_mix(seed + k);
		e->seq_v9 = e->seq_v5 >> 8;
		e->seq_ipfix = e->seq_v5 >> 1;
		e->ip_id = (uint16_t)e->seq_v5;
	}
	return 0;
}

static void
fg_gen_free(struct fg_gen *g)
{
	free(g->head);
	free(g->tail);
	free(g->eph);
	free(g->pool);
}

/* ------------------------------------------------------------------ */
/* Stretch: a real flow-tools trace, K copies one after another.         */

#define FG_STRETCH_READ 4096
#define FG_STRETCH_EXPORTERS 1024

static struct fg_exporter *
fg_stretch_exporter(struct fg_exporter *ex, unsigned *nex,
		    const struct fq_record *rc)
{
	uint32_t addr = (uint32_t)rc->exporter.lo;
	for (unsigned i = *nex; i-- > 0;)
		if (ex[i].addr == addr && ex[i].engine_type == rc->engine_type &&
		    ex[i].engine_id == rc->engine_id)
			return &ex[i];
	if (*nex == FG_STRETCH_EXPORTERS)
		return NULL;
	struct fg_exporter *e = &ex[(*nex)++];
	memset(e, 0, sizeof *e);
	e->addr = addr;
	e->port = (uint16_t)(50000 + *nex);
	e->engine_type = rc->engine_type;
	e->engine_id = rc->engine_id;
	e->latency_us = 300;
	return e;
}

/*
 * Copy k moves every time (export header, start, end) forward by
 * k x (the trace's span, rounded up to a second, plus a second); uptimes
 * stay, so the copies follow each other without overlapping.  Records of
 * one export datagram (consecutive, same exporter and header) stay one
 * datagram, in file order: stretching to v5 rebuilds the original
 * datagrams.  Two passes over the input, constant memory.
 */
static int
fg_stretch(struct fg_writer *w, const char *in, unsigned times,
	   uint64_t *span_s_out)
{
	struct fq_record *recs = malloc(FG_STRETCH_READ * sizeof *recs);
	struct fg_exporter *ex = malloc(FG_STRETCH_EXPORTERS * sizeof *ex);
	struct fq_ft_reader *rd = NULL;
	char why[512];
	int rc = 0;
	unsigned nex = 0;
	ssize_t n;
	if (recs == NULL || ex == NULL) {
		rc = -FQ_ENOMEM;
		goto out;
	}

	int64_t lo = INT64_MAX, hi = INT64_MIN;
	if ((rc = fq_ft_reader_open(&rd, in, why, sizeof why)) < 0)
		goto bad;
	while ((n = fq_ft_reader_read(rd, recs, FG_STRETCH_READ)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (recs[i].stime < lo)
				lo = recs[i].stime;
			if (recs[i].etime > hi)
				hi = recs[i].etime;
		}
	if (n < 0) {
		snprintf(why, sizeof why, "%s", fq_ft_reader_error(rd));
		rc = (int)n;
		goto bad;
	}
	fq_ft_reader_free(rd);
	rd = NULL;
	if (lo > hi) {
		fprintf(stderr, "flowgen: %s: no records\n", in);
		rc = -FQ_EINVAL;
		goto out;
	}
	int64_t span_s = (hi - lo + 999) / 1000 + 1;
	*span_s_out = (uint64_t)span_s;

	struct fg_exporter *cur = NULL;
	struct fg_hdr curh = { 0, 0, 0, 0 };
	for (unsigned k = 0; k < times; k++) {
		int64_t shift_s = (int64_t)k * span_s;
		if ((rc = fq_ft_reader_open(&rd, in, why, sizeof why)) < 0)
			goto bad;
		while ((n = fq_ft_reader_read(rd, recs, FG_STRETCH_READ)) > 0) {
			for (ssize_t i = 0; i < n; i++) {
				const struct fq_record *q = &recs[i];
				struct fg_hdr h;
				h.secs = (uint32_t)(q->unix_secs + shift_s);
				h.nsecs = q->unix_nsecs;
				h.uptime = q->sysuptime;
				h.ms = (int64_t)h.secs * 1000 + h.nsecs / 1000000;
				struct fg_exporter *e =
					fg_stretch_exporter(ex, &nex, q);
				if (e == NULL) {
					fprintf(stderr, "flowgen: %s: more than "
						"%d exporters\n", in,
						FG_STRETCH_EXPORTERS);
					rc = -FQ_ELIMIT;
					goto out;
				}
				if (cur && (cur != e || cur->n >= fg_capacity(w, cur) ||
					    h.ms != curh.ms ||
					    h.uptime != curh.uptime))
					fg_flush(w, cur, &curh);
				cur = e;
				curh = h;
				struct fg_flow *f = &e->buf[e->n++];
				memset(f, 0, sizeof *f);
				f->stime = q->stime + shift_s * 1000;
				f->etime = q->etime + shift_s * 1000;
				f->src = (uint32_t)q->srcip.lo;
				f->dst = (uint32_t)q->dstip.lo;
				f->nexthop = (uint32_t)q->nexthop.lo;
				f->packets = (uint32_t)q->packets;
				f->bytes = (uint32_t)q->bytes;
				f->sport = q->srcport;
				f->dport = q->dstport;
				f->input = (uint16_t)q->input;
				f->output = (uint16_t)q->output;
				f->src_as = (uint16_t)q->src_as;
				f->dst_as = (uint16_t)q->dst_as;
				f->prot = q->prot;
				f->tos = q->tos;
				f->flags = (uint8_t)q->tcp_flags;
				f->src_mask = q->src_mask;
				f->dst_mask = q->dst_mask;
			}
			if (w->out.err) {
				rc = -FQ_EIO;
				goto out;
			}
		}
		if (n < 0) {
			snprintf(why, sizeof why, "%s", fq_ft_reader_error(rd));
			rc = (int)n;
			goto bad;
		}
		fq_ft_reader_free(rd);
		rd = NULL;
	}
	if (cur)
		fg_flush(w, cur, &curh);
	goto out;
bad:
	fprintf(stderr, "flowgen: %s\n", why);
out:
	if (rd)
		fq_ft_reader_free(rd);
	free(recs);
	free(ex);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Command line.                                                        */

static void
fg_usage(FILE *f)
{
	fprintf(f,
"usage: flowgen --records N [--seed S] [--format F] [--rate FLOWS_PER_S]\n"
"               [--start UNIX_SECS] [--zlevel 1-9] [--quiet] -o FILE\n"
"       flowgen --stretch IN.ft [--times K] [--format F] [--zlevel 1-9]\n"
"               [--quiet] -o FILE\n"
"formats: ft ftz v5 v9 ipfix pcap-v5 pcap-v9 pcap-ipfix (default ft);\n"
"v5, v9 and ipfix are raw datagram files (flowq: raw:FILE); -o - is stdout\n");
}

/* An unsigned integer in [lo, hi] (no sign, no suffix). */
static int
fg_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return -FQ_EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -FQ_EINVAL;
	*out = v;
	return 0;
}

static double
fg_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'r' },
		{ "start", required_argument, NULL, 'S' },
		{ "zlevel", required_argument, NULL, 'z' },
		{ "stretch", required_argument, NULL, 'x' },
		{ "times", required_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t records = 0, seed = 1, start = 1335772800, zlevel = 1;
	uint64_t times = 2;
	double rate = 5000;
	const char *fmt_name = "ft", *outp = NULL, *stretch = NULL;
	const struct fg_format *fmt = NULL;
	int quiet = 0, have_records = 0, c, li;
	while ((c = getopt_long(argc, argv, "n:s:f:o:r:qh", opts, &li)) != -1) {
		int bad = 0;
		char *end;
		switch (c) {
		case 'n':
			bad = fg_uint(optarg, 0, UINT64_C(1) << 40, &records);
			have_records = 1;
			break;
		case 's': bad = fg_uint(optarg, 0, UINT64_MAX, &seed); break;
		case 'f': fmt_name = optarg; break;
		case 'o': outp = optarg; break;
		case 'r':
			rate = strtod(optarg, &end);
			bad = end == optarg || *end || !(rate >= 1 && rate <= 1e8);
			break;
		case 'S': bad = fg_uint(optarg, 86400, UINT32_MAX - 86400 * 365,
					&start); break;
		case 'z': bad = fg_uint(optarg, 1, 9, &zlevel); break;
		case 'x': stretch = optarg; break;
		case 'k': bad = fg_uint(optarg, 1, 1000000, &times); break;
		case 'q': quiet = 1; break;
		case 'h': fg_usage(stdout); return 0;
		default: fg_usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "flowgen: bad value '%s'\n", optarg);
			return 2;
		}
	}
	for (size_t i = 0; i < sizeof fg_formats / sizeof fg_formats[0]; i++)
		if (strcmp(fmt_name, fg_formats[i].name) == 0)
			fmt = &fg_formats[i];
	if (fmt == NULL) {
		fprintf(stderr, "flowgen: unknown format %s\n", fmt_name);
		return 2;
	}
	if (optind != argc || outp == NULL || (stretch != NULL) == have_records) {
		fg_usage(stderr);
		return 2;
	}

	char comment[600];
	if (stretch)
		snprintf(comment, sizeof comment, "flowgen --stretch %s --times %"
			 PRIu64, stretch, times);
	else
		snprintf(comment, sizeof comment, "flowgen --records %" PRIu64
			 " --seed %" PRIu64 " --rate %g --start %" PRIu64,
			 records, seed, rate, start);

	static struct fg_writer w;
	int rc = fg_writer_open(&w, fmt, outp, (int)zlevel,
				stretch ? 0 : (uint32_t)start, comment);
	double t0 = fg_now();
	struct fg_gen *g = NULL;
	uint64_t span_s = 0;
	if (rc == 0 && stretch) {
		rc = fg_stretch(&w, stretch, (unsigned)times, &span_s);
	} else if (rc == 0) {
		g = malloc(sizeof *g);
		rc = g ? fg_gen_init(g, &w, seed, records, rate,
				     (int64_t)start * 1000) : -FQ_ENOMEM;
		if (rc == 0)
			rc = fg_generate(g);
	}
	int crc = fg_out_close(&w.out);
	if (rc == 0)
		rc = crc;
	double el = fg_now() - t0;
	if (rc == -FQ_EIO || w.out.err)
		fprintf(stderr, "flowgen: %s: %s\n", outp,
			strerror(w.out.err ? w.out.err : EIO));
	else if (rc < 0 && rc != -FQ_EINVAL && rc != -FQ_ELIMIT && !stretch)
		fprintf(stderr, "flowgen: %s\n", fq_strerror(rc));
	if (rc == 0 && !quiet) {
		fprintf(stderr, "flowgen: %" PRIu64 " records in %" PRIu64
			" %s, %.1f MB, %.2f s (%.2f M records/s)\n",
			w.records, w.datagrams,
			fmt->proto == FG_P_FT ? "export groups" : "datagrams",
			(double)w.out.file_bytes / 1e6, el,
			el > 0 ? (double)w.records / el / 1e6 : 0.0);
		if (stretch) {
			fprintf(stderr, "flowgen: %" PRIu64 " copies, shifted by %"
				PRIu64 " s each\n", times, span_s);
		} else {
			double span = (double)g->clock_us / 1e6;
			fprintf(stderr, "flowgen: %" PRIu64 " sessions over %.0f s"
				" (%.0f flows/s); records:", g->sessions, span,
				span > 0 ? (double)g->made / span : 0.0);
			for (int k = 0; k < FG_NCLASS; k++)
				fprintf(stderr, " %s %.1f%%", fg_class_names[k],
					100.0 * (double)g->by_class[k] /
					(double)(g->made ? g->made : 1));
			fprintf(stderr, "; wheel horizon used %.0f s\n",
				(double)g->max_offset / 1000);
		}
	}
	if (g) {
		fg_gen_free(g);
		free(g);
	}
	return rc == 0 ? 0 : 1;
}
