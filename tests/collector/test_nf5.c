/*
 * test_nf5.c - NetFlow v5 decoder: field mapping, times (including the
 * uptime wrap), sampling, domains, sequence gaps and resets, count/length
 * checks, --allow and --scale-sampled.
 */
#include "dec_test.h"
#include "fq_log.h"

struct v5rec {
	uint32_t src, dst, nh;
	uint16_t in, out;
	uint32_t pkts, octets, first, last;
	uint16_t sport, dport;
	uint8_t flags, prot, tos;
	uint16_t sas, das;
	uint8_t smask, dmask;
};

static void
v5_header(struct buf *b, unsigned count, uint32_t uptime, uint32_t secs,
	  uint32_t nsecs, uint32_t seq, uint8_t et, uint8_t ei, uint16_t samp)
{
	b->n = 0;
	b_u16(b, 5);
	b_u16(b, count);
	b_u32(b, uptime);
	b_u32(b, secs);
	b_u32(b, nsecs);
	b_u32(b, seq);
	b_u8(b, et);
	b_u8(b, ei);
	b_u16(b, samp);
}

static void
v5_rec(struct buf *b, const struct v5rec *r)
{
	b_u32(b, r->src);
	b_u32(b, r->dst);
	b_u32(b, r->nh);
	b_u16(b, r->in);
	b_u16(b, r->out);
	b_u32(b, r->pkts);
	b_u32(b, r->octets);
	b_u32(b, r->first);
	b_u32(b, r->last);
	b_u16(b, r->sport);
	b_u16(b, r->dport);
	b_u8(b, 0);
	b_u8(b, r->flags);
	b_u8(b, r->prot);
	b_u8(b, r->tos);
	b_u16(b, r->sas);
	b_u16(b, r->das);
	b_u8(b, r->smask);
	b_u8(b, r->dmask);
	b_u16(b, 0);
}

static void
test_fields(void)
{
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	struct sink s = { 0 };
	struct buf b;
	struct v5rec r = {
		0x0a000001, 0xc0a80102, 0x0a0000fe, 3, 7, 10, 1500,
		999000, 1000000, 1234, 80, 0x1b, 6, 0x10, 65001, 65002, 24, 16
	};
	v5_header(&b, 2, 1000500, 1700000000, 250000000, 100, 1, 2,
		  0x4000 | 100);
	v5_rec(&b, &r);
	r.first = 0xfffffc18;	/* 2^32 - 1000: started before the wrap */
	r.last = 0x00000064;
	v5_rec(&b, &r);
	CHECK_EQ(feed(d, &b, 2055, 0, &s), 0);
	CHECK_EQ(s.n, 2);
	if (s.n == 2) {
		struct fq_record *x = &s.r[0];
		CHECK_EQ(x->srcip.lo, 0x0a000001);
		CHECK_EQ(x->srcip.is6, 0);
		CHECK_EQ(x->dstip.lo, 0xc0a80102);
		CHECK_EQ(x->nexthop.lo, 0x0a0000fe);
		CHECK_EQ(x->input, 3);
		CHECK_EQ(x->output, 7);
		CHECK_EQ(x->packets, 10);
		CHECK_EQ(x->bytes, 1500);
		/* export at 1700000000250 ms, uptime 1000500 */
		CHECK_EQ(x->stime, 1700000000250LL - (1000500 - 999000));
		CHECK_EQ(x->etime, 1700000000250LL - 500);
		CHECK_EQ(x->srcport, 1234);
		CHECK_EQ(x->dstport, 80);
		CHECK_EQ(x->tcp_flags, 0x1b);
		CHECK_EQ(x->prot, 6);
		CHECK_EQ(x->tos, 0x10);
		CHECK_EQ(x->src_as, 65001);
		CHECK_EQ(x->dst_as, 65002);
		CHECK_EQ(x->src_mask, 24);
		CHECK_EQ(x->dst_mask, 16);
		CHECK_EQ(x->engine_type, 1);
		CHECK_EQ(x->engine_id, 2);
		CHECK_EQ(x->domain, 0x102);
		CHECK_EQ(x->sampling, 100);
		CHECK_EQ(x->unix_secs, 1700000000);
		CHECK_EQ(x->unix_nsecs, 250000000);
		CHECK_EQ(x->sysuptime, 1000500);
		CHECK_EQ(x->exporter.lo, 0xc0000201);
		/*
		 * Uptime wrap: header uptime 1000500 is after the wrap, First
		 * 2^32-1000 before it: (uint32)(1000500 - First) = 1001500.
		 */
		x = &s.r[1];
		CHECK_EQ(x->stime, 1700000000250LL - 1001500);
		CHECK_EQ(x->etime, 1700000000250LL - (1000500 - 100));
	}
	struct fq_exporter *ex = exporter_of(d, 2055);
	CHECK(ex != NULL);
	if (ex) {
		CHECK_EQ(ex->datagrams, 1);
		CHECK_EQ(ex->records, 2);
	}
	free(s.r);
	fq_decoder_free(d);
}

static void
test_malformed_and_sequence(void)
{
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	struct sink s = { 0 };
	struct buf b;
	struct v5rec r = { 0 };
	r.src = 1;

	/* count 0, count 31, short header */
	v5_header(&b, 0, 1, 1, 0, 0, 0, 0, 0);
	feed(d, &b, 9, 0, &s);
	v5_header(&b, 31, 1, 1, 0, 0, 0, 0, 0);
	for (int i = 0; i < 31; i++)
		v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	b.n = 20;
	feed(d, &b, 9, 0, &s);
	b.n = 2;
	feed(d, &b, 9, 0, &s);
	CHECK_EQ(s.n, 0);
	struct fq_exporter *ex = exporter_of(d, 9);
	CHECK(ex != NULL);
	if (ex == NULL)
		goto out;
	CHECK_EQ(ex->malformed[FQ__MAL_V5_COUNT], 2);
	CHECK_EQ(ex->malformed[FQ__MAL_SHORT], 2);
	CHECK_EQ(ex->datagrams, 4);

	/*
	 * A count/length mismatch decodes the whole records both have and
	 * counts the anomaly (exporter 8, apart from the sequences below).
	 */
	v5_header(&b, 3, 1, 1, 0, 0, 0, 0, 0);
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 8, 0, &s);		/* 2 records, count says 3: 2 */
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 8, 0, &s);		/* 4 records, count says 3: 3 */
	b.n = 24 + 47;
	feed(d, &b, 8, 0, &s);		/* not one whole record */
	CHECK_EQ(s.n, 5);
	struct fq_exporter *ex8 = exporter_of(d, 8);
	CHECK(ex8 != NULL);
	if (ex8 == NULL)
		goto out;
	CHECK_EQ(ex8->malformed[FQ__MAL_V5_LENGTH], 1);
	CHECK_EQ(ex8->anomalies[FQ__ANOM_V5_COUNT], 2);
	CHECK_EQ(ex8->records, 5);
	s.n = 0;

	/* Sequence: 100 (+2) -> 102 ok -> 110 (lost 8) -> 5 (reset) */
	v5_header(&b, 2, 1, 1, 0, 100, 0, 0, 0);
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	v5_header(&b, 2, 1, 1, 0, 102, 0, 0, 0);
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	CHECK_EQ(ex->seq_lost, 0);
	v5_header(&b, 2, 1, 1, 0, 112, 0, 0, 0);
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	CHECK_EQ(ex->seq_lost, 8);
	v5_header(&b, 2, 1, 1, 0, 5, 0, 0, 0);
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	CHECK_EQ(ex->seq_resets, 1);
	CHECK_EQ(ex->seq_lost, 8);
	/* wrap of the 32-bit sequence is not a loss */
	v5_header(&b, 2, 1, 1, 0, 7, 0, 0, 0);
	v5_rec(&b, &r);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	v5_header(&b, 1, 1, 1, 0, 0xffffffffu, 0, 0, 0);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);		/* reset (backwards/huge) */
	v5_header(&b, 1, 1, 1, 0, 0, 0, 0, 0);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);		/* 0xffffffff + 1 = 0: in order */
	CHECK_EQ(ex->seq_resets, 2);
	CHECK_EQ(ex->seq_lost, 8);
	/* another engine on the same exporter keeps its own sequence */
	v5_header(&b, 1, 1, 1, 0, 5000, 0, 1, 0);
	v5_rec(&b, &r);
	feed(d, &b, 9, 0, &s);
	CHECK_EQ(ex->seq_lost, 8);
	CHECK_EQ(ex->seq_resets, 2);
	CHECK_EQ(ex->n_domains, 2);
	CHECK_EQ(s.n, 13);
	/* a good datagram after malformed ones decodes */
	CHECK_EQ(ex->records, 13);
out:
	free(s.r);
	fq_decoder_free(d);
}

static void
test_allow_and_scale(void)
{
	struct fq_ip allow = fq_ip_v4(0xc6336400);	/* 198.51.100.0/24 */
	uint8_t alen = 24;
	struct fq_decoder_opts o = { 0 };
	o.allow = &allow;
	o.allow_len = &alen;
	o.n_allow = 1;
	o.scale_sampled = 1;
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, &o), 0);
	struct sink s = { 0 };
	struct buf b;
	struct v5rec r = { 0 };
	r.pkts = 3;
	r.octets = 300;
	v5_header(&b, 1, 1, 1, 0, 0, 0, 0, 0x8000 | 10);
	v5_rec(&b, &r);
	feed(d, &b, 1, 0, &s);		/* 192.0.2.1: refused */
	CHECK_EQ(s.n, 0);
	CHECK_EQ(d->sessions.refused, 1);
	CHECK(d->sessions.head == NULL);
	struct fq_datagram dg;
	dg_init(&dg, &b, 1, 0);
	((struct sockaddr_in *)&dg.src)->sin_addr.s_addr = htonl(0xc6336407);
	fq_decoder_datagram(d, &dg, sink_emit, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_EQ(s.r[0].sampling, 10);
		CHECK_EQ(s.r[0].packets, 30);
		CHECK_EQ(s.r[0].bytes, 3000);
	}
	free(s.r);
	fq_decoder_free(d);
}

static int
stop_emit(void *ctx, struct fq_record *recs, size_t n)
{
	(void)recs;
	*(size_t *)ctx += n;
	return -FQ_ESTOP;
}

static void
test_expiry_and_emit_error(void)
{
	struct fq_decoder *d;
	struct fq_decoder_opts o = { 0 };
	o.exporter_idle_ms = 60000;
	CHECK_EQ(fq_decoder_new(&d, &o), 0);
	struct buf b;
	struct v5rec r = { 0 };
	v5_header(&b, 1, 1, 1, 0, 0, 0, 0, 0);
	v5_rec(&b, &r);
	size_t got = 0;
	struct fq_datagram dg;
	dg_init(&dg, &b, 1, 1000000);
	CHECK_EQ(fq_decoder_datagram(d, &dg, stop_emit, &got), -FQ_ESTOP);
	CHECK_EQ(got, 1);
	dg_init(&dg, &b, 2, 1000000 + 30000);
	fq_decoder_datagram(d, &dg, stop_emit, &got);
	CHECK_EQ(d->sessions.n_sessions, 2);
	fq_decoder_expire(d, 1000000 + 70000);
	CHECK_EQ(d->sessions.n_sessions, 1);
	CHECK_EQ(d->sessions.expired_sessions, 1);
	fq_decoder_expire(d, 1000000 + 100000);
	CHECK_EQ(d->sessions.n_sessions, 0);
	fq_decoder_free(d);
}

int
main(void)
{
	fq_log_set_level(FQ_LOG_ERROR);
	test_fields();
	test_malformed_and_sequence();
	test_allow_and_scale();
	test_expiry_and_emit_error();
	if (t_failures)
		fprintf(stderr, "%d failures\n", t_failures);
	return t_failures ? 1 : 0;
}
