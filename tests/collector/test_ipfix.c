/*
 * test_ipfix.c - IPFIX through the checker and libfixbuf: templates before
 * and after data, redefinition, withdrawal (one and all), two observation
 * domains with the same template id, options records (sampling,
 * systemInitTimeMilliseconds), every time representation of SPEC 1,
 * variable-length fields, padding, enterprise and list elements,
 * reduced-size encoding, v4/v6 selection, sequence gaps, malformed
 * messages, the template cap and UDP template expiry, huge templates (the
 * merged copy libfixbuf gets), the variable-length field limit, the
 * per-datagram accounting, and 64-bit times out of range.
 */
#include "dec_test.h"
#include "fq_log.h"
#include "ipfix_fixbuf.h"

#define EXPORT 1700000000u

static void
msg_begin(struct buf *b, uint32_t seq, uint32_t domain)
{
	b->n = 0;
	b_u16(b, 10);
	b_u16(b, 0);
	b_u32(b, EXPORT);
	b_u32(b, seq);
	b_u32(b, domain);
}

static void
msg_end(struct buf *b)
{
	b_put16(b, 2, (unsigned)b->n);
}

static size_t
set_open(struct buf *b, unsigned id)
{
	b_u16(b, id);
	size_t at = b->n;
	b_u16(b, 0);
	return at;
}

static void
set_close(struct buf *b, size_t at)
{
	b_put16(b, at, (unsigned)(b->n - (at - 2)));
}

/* A template record: fields as {ie, len} pairs (ie | 0x8000 takes a pen). */
static void
tpl(struct buf *b, unsigned tid, const unsigned (*f)[2], unsigned n)
{
	b_u16(b, tid);
	b_u16(b, n);
	for (unsigned i = 0; i < n; i++) {
		b_u16(b, f[i][0]);
		b_u16(b, f[i][1]);
		if (f[i][0] & 0x8000)
			b_u32(b, 6871);
	}
}

static const unsigned T300[][2] = {
	{ 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 1, 8 },
	{ 2, 4 }, { 152, 8 }, { 153, 8 }, { 6, 1 },
};

static void
rec300(struct buf *b, uint32_t src, uint64_t start)
{
	b_u32(b, src);
	b_u32(b, 0xc0a80001);
	b_u16(b, 40000);
	b_u16(b, 80);
	b_u8(b, 6);
	b_u64(b, 1500);
	b_u32(b, 3);	/* packetDeltaCount reduced to 4 bytes */
	b_u64(b, start);
	b_u64(b, start + 250);
	b_u8(b, 0x1b);
}

static struct fq_decoder *
new_dec(const struct fq_decoder_opts *o)
{
	struct fq_decoder *d = NULL;
	CHECK_EQ(fq_decoder_new(&d, o), 0);
	return d;
}

static void
test_basic(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	size_t at;

	/* data before template */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 300);
	rec300(&b, 0x0a000001, 1700000000000ULL);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(s.n, 0);
	struct fq_exporter *ex = exporter_of(d, 4739);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(ex->unknown_tpl_sets, 1);

	/* template then two data records, with 3 bytes of set padding */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	tpl(&b, 300, T300, 10);
	set_close(&b, at);
	at = set_open(&b, 300);
	rec300(&b, 0x0a000001, 1700000000000ULL);
	rec300(&b, 0x0a000002, 1700000001000ULL);
	b_zero(&b, 3);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(mal_total(ex), 0);
	CHECK_EQ(s.n, 2);
	if (s.n == 2) {
		struct fq_record *r = &s.r[0];
		CHECK_EQ(r->srcip.lo, 0x0a000001);
		CHECK_EQ(r->dstip.lo, 0xc0a80001);
		CHECK_EQ(r->srcport, 40000);
		CHECK_EQ(r->dstport, 80);
		CHECK_EQ(r->prot, 6);
		CHECK_EQ(r->bytes, 1500);
		CHECK_EQ(r->packets, 3);
		CHECK_EQ(r->stime, 1700000000000LL);
		CHECK_EQ(r->etime, 1700000000250LL);
		CHECK_EQ(r->tcp_flags, 0x1b);
		CHECK_EQ(r->domain, 1);
		CHECK_EQ(r->sampling, 1);
		CHECK_EQ(s.r[1].srcip.lo, 0x0a000002);
	}
	CHECK_EQ(ex->n_templates, 1);

	/* domain 2 uses template id 300 with another layout */
	msg_begin(&b, 0, 2);
	at = set_open(&b, 2);
	static const unsigned T300b[][2] = { { 27, 16 }, { 2, 8 } };
	tpl(&b, 300, T300b, 2);
	set_close(&b, at);
	at = set_open(&b, 300);
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };
	b_bytes(&b, a6, 16);
	b_u64(&b, 42);
	set_close(&b, at);
	msg_end(&b);
	sink_reset(&s);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_EQ(s.r[0].srcip.is6, 1);
		CHECK_EQ(s.r[0].srcip.lo, 7);
		CHECK_EQ(s.r[0].packets, 42);
		CHECK_EQ(s.r[0].domain, 2);
		CHECK_EQ(s.r[0].stime, (int64_t)EXPORT * 1000);
	}
	/* domain 1 unaffected; sequence 2 follows the 2 records of seq 0 */
	msg_begin(&b, 2, 1);
	at = set_open(&b, 300);
	rec300(&b, 0x0a000003, 1700000000000ULL);
	set_close(&b, at);
	msg_end(&b);
	sink_reset(&s);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1)
		CHECK_EQ(s.r[0].srcip.lo, 0x0a000003);
	CHECK_EQ(ex->seq_lost, 0);
	/* gap: expected 3, got 10 */
	msg_begin(&b, 10, 1);
	at = set_open(&b, 300);
	rec300(&b, 0x0a000004, 1700000000000ULL);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(ex->seq_lost, 7);

	/* redefinition in domain 1, then withdrawal of it */
	msg_begin(&b, 11, 1);
	at = set_open(&b, 2);
	static const unsigned T300c[][2] = { { 4, 1 }, { 85, 8 } };
	tpl(&b, 300, T300c, 2);
	set_close(&b, at);
	at = set_open(&b, 300);
	b_u8(&b, 17);
	b_u64(&b, 999);
	set_close(&b, at);
	at = set_open(&b, 2);
	b_u16(&b, 300);
	b_u16(&b, 0);
	set_close(&b, at);
	at = set_open(&b, 300);	/* after the withdrawal: unknown */
	b_u8(&b, 1);
	b_u64(&b, 1);
	set_close(&b, at);
	msg_end(&b);
	sink_reset(&s);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(mal_total(ex), 0);
	CHECK_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_EQ(s.r[0].prot, 17);
		CHECK_EQ(s.r[0].bytes, 999);	/* total count, no delta */
	}
	CHECK_EQ(ex->templates_withdrawn, 1);
	CHECK_EQ(ex->n_templates, 1);	/* domain 2's 300 stays */
	/* libfixbuf forgot it too: data of 300 in domain 1 is unknown */
	msg_begin(&b, 12, 1);
	at = set_open(&b, 300);
	b_u8(&b, 1);
	b_u64(&b, 1);
	set_close(&b, at);
	msg_end(&b);
	sink_reset(&s);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(s.n, 0);
	/* withdraw all data templates of domain 2 */
	msg_begin(&b, 1, 2);
	at = set_open(&b, 2);
	b_u16(&b, 2);
	b_u16(&b, 0);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(ex->n_templates, 0);
	CHECK_EQ(mal_total(ex), 0);
	free(s.r);
	fq_decoder_free(d);
}

static void
test_options_and_times(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	size_t at;

	msg_begin(&b, 0, 5);
	/* options template 400: scope observationDomainId; sysinit, interval */
	at = set_open(&b, 3);
	b_u16(&b, 400);
	b_u16(&b, 3);
	b_u16(&b, 1);
	b_u32(&b, (149u << 16) | 4);
	b_u32(&b, (160u << 16) | 8);
	b_u32(&b, (305u << 16) | 4);
	set_close(&b, at);
	/* uptime template 401, seconds 402, micro 403, nano 404, delta 405 */
	at = set_open(&b, 2);
	static const unsigned T401[][2] = { { 22, 4 }, { 21, 4 } };
	static const unsigned T402[][2] = { { 150, 4 }, { 161, 4 } };
	static const unsigned T403[][2] = { { 154, 8 }, { 155, 8 } };
	static const unsigned T404[][2] = { { 157, 8 }, { 162, 4 } };
	static const unsigned T405[][2] = { { 158, 4 }, { 159, 4 } };
	tpl(&b, 401, T401, 2);
	tpl(&b, 402, T402, 2);
	tpl(&b, 403, T403, 2);
	tpl(&b, 404, T404, 2);
	tpl(&b, 405, T405, 2);
	set_close(&b, at);
	at = set_open(&b, 400);
	b_u32(&b, 5);
	b_u64(&b, 1699990000000ULL);
	b_u32(&b, 1);	/* interval 1 ... */
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(mal_total(ex), 0);
	CHECK_EQ(ex->options_records, 1);
	CHECK_EQ(s.n, 0);

	/* samplingPacketSpace 99 with interval 1: 1 in 100 (new options) */
	msg_begin(&b, 1, 5);
	at = set_open(&b, 3);
	b_u16(&b, 406);
	b_u16(&b, 3);
	b_u16(&b, 1);
	b_u32(&b, (149u << 16) | 4);
	b_u32(&b, (305u << 16) | 4);
	b_u32(&b, (306u << 16) | 4);
	set_close(&b, at);
	at = set_open(&b, 406);
	b_u32(&b, 5);
	b_u32(&b, 1);
	b_u32(&b, 99);
	set_close(&b, at);
	at = set_open(&b, 401);
	b_u32(&b, 10000);
	b_u32(&b, 12000);
	set_close(&b, at);
	at = set_open(&b, 402);
	b_u32(&b, 1700000100);
	b_u32(&b, 1500);
	set_close(&b, at);
	at = set_open(&b, 403);
	/* NTP: 1970 + 1700000200 s and half a second */
	b_u64(&b, ((uint64_t)(1700000200u + 2208988800u) << 32) | 0x80000000u);
	b_u64(&b, ((uint64_t)(1700000201u + 2208988800u) << 32));
	set_close(&b, at);
	at = set_open(&b, 404);
	b_u64(&b, ((uint64_t)(1700000300u + 2208988800u) << 32) | 0x40000000u);
	b_u32(&b, 2000000);	/* 2 s in microseconds */
	set_close(&b, at);
	at = set_open(&b, 405);
	b_u32(&b, 5000000);
	b_u32(&b, 1000000);
	set_close(&b, at);
	msg_end(&b);
	sink_reset(&s);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(mal_total(ex), 0);
	CHECK_EQ(s.n, 5);
	if (s.n == 5) {
		CHECK_EQ(s.r[0].stime, 1699990000000LL + 10000);
		CHECK_EQ(s.r[0].etime, 1699990000000LL + 12000);
		CHECK_EQ(s.r[0].sampling, 100);
		CHECK_EQ(s.r[1].stime, 1700000100000LL);
		CHECK_EQ(s.r[1].etime, 1700000101500LL);
		CHECK_EQ(s.r[2].stime, 1700000200500LL);
		CHECK_EQ(s.r[2].etime, 1700000201000LL);
		CHECK_EQ(s.r[3].etime, 1700000300250LL);
		CHECK_EQ(s.r[3].stime, 1700000298250LL);
		CHECK_EQ(s.r[4].stime, (int64_t)EXPORT * 1000 - 5000);
		CHECK_EQ(s.r[4].etime, (int64_t)EXPORT * 1000 - 1000);
	}
	free(s.r);
	fq_decoder_free(d);
}

static void
test_varlen_and_odd_fields(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	size_t at;

	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	/*
	 * enterprise field, src4 + src6 (both, v4 non-zero), varlen string,
	 * dst4 zero + dst6 non-zero, a basicList (varlen), octetDeltaCount
	 * reduced to 2 bytes, sourceIPv4Address of 16 bytes given as
	 * ipNextHop (invalid length: ignored), icmpTypeCodeIPv4.
	 */
	static const unsigned T500[][2] = {
		{ 0x8000 | 100, 4 }, { 8, 4 }, { 27, 16 }, { 96, 65535 },
		{ 12, 4 }, { 28, 16 }, { 291, 65535 }, { 1, 2 }, { 15, 16 },
		{ 32, 2 }, { 4, 1 },
	};
	tpl(&b, 500, T500, 11);
	set_close(&b, at);
	at = set_open(&b, 500);
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	for (int k = 0; k < 2; k++) {
		b_u32(&b, 0xffffffff);
		b_u32(&b, 0x0a0a0a0a);
		b_bytes(&b, v6, 16);
		if (k == 0) {
			b_u8(&b, 4);
			b_bytes(&b, "http", 4);
		} else {
			b_u8(&b, 255);
			b_u16(&b, 260);
			b_zero(&b, 260);
		}
		b_u32(&b, 0);
		b_bytes(&b, v6, 16);
		/* basicList: semantic, field id, length, then 2 ports */
		b_u8(&b, 9);
		b_u8(&b, 0xff);
		b_u16(&b, 7);
		b_u16(&b, 2);
		b_u16(&b, 80);
		b_u16(&b, 443);
		b_u16(&b, 777);
		b_zero(&b, 16);
		b_u16(&b, 0x0303);
		b_u8(&b, 1);
	}
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(mal_total(ex), 0);
	CHECK_EQ(s.n, 2);
	for (size_t k = 0; k < s.n; k++) {
		CHECK_EQ(s.r[k].srcip.is6, 0);
		CHECK_EQ(s.r[k].srcip.lo, 0x0a0a0a0a);
		CHECK_EQ(s.r[k].dstip.is6, 1);
		CHECK_EQ(s.r[k].dstip.lo, 9);
		CHECK_EQ(s.r[k].bytes, 777);
		CHECK_EQ(s.r[k].dstport, 0x0303);
		CHECK_EQ(s.r[k].prot, 1);
		CHECK_EQ(s.r[k].nexthop.lo, 0);
	}
	free(s.r);
	fq_decoder_free(d);
}

static void
test_malformed(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	size_t at;
	struct fq_exporter *ex;

	/* message length != datagram */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	tpl(&b, 300, T300, 10);
	set_close(&b, at);
	msg_end(&b);
	b_put16(&b, 2, (unsigned)b.n + 4);
	feed(d, &b, 1, 0, &s);
	ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	/* The sets tile the datagram: decoded, the length counted. */
	CHECK_EQ(ex->anomalies[FQ__ANOM_LENGTH], 1);
	CHECK_EQ(ex->malformed[FQ__MAL_LENGTH], 0);
	CHECK_EQ(ex->n_templates, 1);
	/* A length below the header is malformed; withdraw 300 again. */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	b_u16(&b, 300);
	b_u16(&b, 0);
	set_close(&b, at);
	msg_end(&b);
	b_put16(&b, 2, 12);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_LENGTH], 1);
	b_put16(&b, 2, (unsigned)b.n);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->n_templates, 0);
	/* set length past the message */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	tpl(&b, 300, T300, 10);
	set_close(&b, at);
	b_put16(&b, at, 200);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SET_LENGTH], 1);
	/* truncated template record (field count too big) */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	tpl(&b, 300, T300, 10);
	b_put16(&b, at + 4, 11);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_TEMPLATE], 1);
	/* options template with scope count 0, and scope > count */
	for (unsigned sc = 0; sc <= 5; sc += 5) {
		msg_begin(&b, 0, 1);
		at = set_open(&b, 3);
		b_u16(&b, 400);
		b_u16(&b, 1);
		b_u16(&b, sc);
		b_u32(&b, (34u << 16) | 4);
		set_close(&b, at);
		msg_end(&b);
		feed(d, &b, 1, 0, &s);
	}
	CHECK_EQ(ex->malformed[FQ__MAL_TEMPLATE], 3);
	/* enterprise field cut off */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	b_u16(&b, 300);
	b_u16(&b, 1);
	b_u16(&b, 0x8001);
	b_u16(&b, 4);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_TEMPLATE], 4);
	/* reserved set id */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 1);
	b_u32(&b, 0);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SET_ID], 1);
	/* varlen overrun: nothing of the message is emitted */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	static const unsigned T600[][2] = { { 4, 1 }, { 96, 65535 } };
	tpl(&b, 600, T600, 2);
	set_close(&b, at);
	at = set_open(&b, 600);
	b_u8(&b, 6);
	b_u8(&b, 0);
	b_u8(&b, 17);
	b_u8(&b, 100);
	b_u8(&b, 'x');
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_RECORD], 1);
	CHECK_EQ(s.n, 0);
	/* stray bytes after the last set; short message */
	msg_begin(&b, 0, 1);
	b_u16(&b, 0);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SET_LENGTH], 2);
	b.n = 12;
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SHORT], 1);
	/* decoding continues: template 600 (kept) decodes */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 600);
	b_u8(&b, 6);
	b_u8(&b, 2);
	b_u16(&b, 0);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(s.n, 1);
	free(s.r);
	fq_decoder_free(d);
}

static void
test_cap_and_expiry(void)
{
	struct fq_decoder_opts o = { 0 };
	o.max_templates = 2;
	o.template_timeout_ms = 60000;
	struct fq_decoder *d = new_dec(&o);
	struct sink s = { 0 };
	struct buf b;
	size_t at;
	msg_begin(&b, 0, 1);
	at = set_open(&b, 2);
	static const unsigned T1[][2] = { { 4, 1 } };
	tpl(&b, 300, T1, 1);
	tpl(&b, 301, T1, 1);
	tpl(&b, 302, T1, 1);
	set_close(&b, at);
	for (unsigned t = 300; t <= 302; t++) {
		at = set_open(&b, t);
		b_u8(&b, t - 290);
		set_close(&b, at);
	}
	msg_end(&b);
	feed(d, &b, 1, 1000000, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(ex->n_templates, 2);
	CHECK_EQ(ex->templates_refused, 1);
	CHECK_EQ(s.n, 2);
	CHECK_EQ(ex->unknown_tpl_sets, 1);
	/* 61 s later: expired in the mirror and in libfixbuf */
	msg_begin(&b, 0, 1);
	at = set_open(&b, 300);
	b_u8(&b, 1);
	set_close(&b, at);
	msg_end(&b);
	sink_reset(&s);
	feed(d, &b, 1, 1061001, &s);
	CHECK_EQ(ex->n_templates, 0);
	CHECK_EQ(ex->templates_expired, 2);
	CHECK_EQ(s.n, 0);
	free(s.r);
	fq_decoder_free(d);
}

/*
 * 63 templates, one per non-empty subset of six elements: the first 32
 * element sets get their own internal template in libfixbuf, the rest use
 * the full one; both must give the same values.
 */
static void
test_many_element_sets(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	static const unsigned E[6][2] = {
		{ 4, 1 }, { 7, 2 }, { 11, 2 }, { 1, 8 }, { 2, 8 }, { 8, 4 },
	};
	for (unsigned m = 1; m < 64; m++) {
		msg_begin(&b, 0, 9);
		size_t at = set_open(&b, 2);
		unsigned f[6][2], n = 0;
		for (unsigned k = 0; k < 6; k++)
			if (m & (1u << k)) {
				f[n][0] = E[k][0];
				f[n][1] = E[k][1];
				n++;
			}
		tpl(&b, 300 + m, (const unsigned (*)[2])f, n);
		set_close(&b, at);
		at = set_open(&b, 300 + m);
		for (unsigned k = 0; k < 6; k++) {
			if (!(m & (1u << k)))
				continue;
			switch (k) {
			case 0: b_u8(&b, 17); break;
			case 1: b_u16(&b, 1000 + m); break;
			case 2: b_u16(&b, 53); break;
			case 3: b_u64(&b, 100000 + m); break;
			case 4: b_u64(&b, 7); break;
			case 5: b_u32(&b, 0x0a000000 + m); break;
			}
		}
		set_close(&b, at);
		msg_end(&b);
		sink_reset(&s);
		feed(d, &b, 1, 0, &s);
		CHECK_EQ(s.n, 1);
		if (s.n != 1)
			continue;
		struct fq_record *r = &s.r[0];
		CHECK_EQ(r->prot, (m & 1) ? 17 : 0);
		CHECK_EQ(r->srcport, (m & 2) ? 1000 + m : 0);
		CHECK_EQ(r->dstport, (m & 4) ? 53 : 0);
		CHECK_EQ(r->bytes, (m & 8) ? 100000 + m : 0);
		CHECK_EQ(r->packets, (m & 16) ? 7 : 0);
		CHECK_EQ(r->srcip.lo, (m & 32) ? 0x0a000000u + m : 0);
	}
	free(s.r);
	fq_decoder_free(d);
}

/* IPFIX over TCP (and ipfix: files): templates never expire. */
static void
test_tcp_no_expiry(void)
{
	struct fq_decoder_opts o = { 0 };
	o.template_timeout_ms = 1000;
	o.exporter_idle_ms = 1000;
	struct fq_decoder *d = new_dec(&o);
	struct sink s = { 0 };
	struct buf b;
	msg_begin(&b, 0, 1);
	size_t at = set_open(&b, 2);
	static const unsigned T1[][2] = { { 4, 1 } };
	tpl(&b, 300, T1, 1);
	set_close(&b, at);
	msg_end(&b);
	struct fq_datagram dg;
	dg_init(&dg, &b, 7, 1000000);
	dg.transport = FQ_TRANSPORT_TCP;
	fq_decoder_datagram(d, &dg, sink_emit, &s);
	msg_begin(&b, 0, 1);
	at = set_open(&b, 300);
	b_u8(&b, 6);
	set_close(&b, at);
	msg_end(&b);
	dg_init(&dg, &b, 7, 1000000 + 3600000);
	dg.transport = FQ_TRANSPORT_TCP;
	fq_decoder_expire(d, 1000000 + 3600000);
	fq_decoder_datagram(d, &dg, sink_emit, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(d->sessions.n_sessions, 1);
	free(s.r);
	fq_decoder_free(d);
}

/*
 * 64-bit times out of any calendar (a hostile flowStartMilliseconds, a
 * systemInitTimeMilliseconds near 2^63) are ignored like fields of the
 * wrong length: the next representation is used, else the export time.
 * Taken as they were, `etime - stime` and `start + duration` overflowed.
 */
static void
test_times_out_of_range(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	msg_begin(&b, 0, 1);
	size_t at = set_open(&b, 2);
	/* ms start/end, seconds start, a duration; uptimes with sysinit */
	static const unsigned T730[][2] = {
		{ 152, 8 }, { 153, 8 }, { 150, 4 }, { 161, 4 },
	};
	static const unsigned T731[][2] = {
		{ 160, 8 }, { 22, 4 }, { 21, 4 },
	};
	tpl(&b, 730, T730, 4);
	tpl(&b, 731, T731, 3);
	set_close(&b, at);
	at = set_open(&b, 730);
	b_u64(&b, 0x8000000000000010ULL);
	b_u64(&b, 0x7fffffffffffffffULL);
	b_u32(&b, 1700000100);
	b_u32(&b, 0xffffffffu);
	set_close(&b, at);
	at = set_open(&b, 731);
	b_u64(&b, 0x7fffffffffffffffULL);
	b_u32(&b, 0xffffffffu);
	b_u32(&b, 0xffffffffu);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(s.n, 2);
	if (s.n == 2) {
		/* start from the seconds, end = start + duration */
		CHECK_EQ(s.r[0].stime, 1700000100000LL);
		CHECK_EQ(s.r[0].etime, 1700000100000LL + 0xffffffffLL);
		/* no usable time: the export time */
		CHECK_EQ(s.r[1].stime, (int64_t)EXPORT * 1000);
		CHECK_EQ(s.r[1].etime, (int64_t)EXPORT * 1000);
	}
	free(s.r);
	fq_decoder_free(d);
}

/*
 * A template of 16,000 fields, five of which flowq reads: libfixbuf gets a
 * copy with every run of other fields merged into one paddingOctets (ten
 * fields instead of 16,000: libfixbuf's cost per template field made such
 * templates take seconds and megabytes each), and decodes the same record
 * as flowq's own engine.
 */
static void
huge_template_msgs(struct buf *t, struct buf *r)
{
	msg_begin(t, 0, 1);
	size_t at = set_open(t, 2);
	b_u16(t, 700);
	b_u16(t, 16000);
	for (unsigned i = 0; i < 16000; i++) {
		unsigned ie = 100 + i % 30, len = i % 1000 == 999 ? 0 : 1;
		if (i == 100 || i == 200)
			ie = 8, len = 4;        /* the second one is skipped */
		else if (i == 5000)
			ie = 12, len = 4;
		else if (i == 9000)
			ie = 7, len = 2;
		else if (i == 12000)
			ie = 1, len = 8;
		else if (i == 15999)
			ie = 4, len = 1;
		b_u16(t, ie);
		b_u16(t, len);
	}
	set_close(t, at);
	msg_end(t);
	msg_begin(r, 1, 1);
	at = set_open(r, 700);
	for (unsigned i = 0; i < 16000; i++) {
		if (i == 100)
			b_u32(r, 0x0a000001);
		else if (i == 200)
			b_u32(r, 0x0b000001);
		else if (i == 5000)
			b_u32(r, 0xc0a80001);
		else if (i == 9000)
			b_u16(r, 4321);
		else if (i == 12000)
			b_u64(r, 123456789);
		else if (i == 15999)
			b_u8(r, 17);
		else if (i % 1000 != 999)
			b_u8(r, (uint8_t)i);
	}
	set_close(r, at);
	msg_end(r);
}

static void
test_huge_template(void)
{
	struct buf *t = malloc(sizeof *t), *r = malloc(sizeof *r);
	if (t == NULL || r == NULL)
		abort();
	huge_template_msgs(t, r);
	struct fq_record got[2];
	for (int own = 0; own < 2; own++) {
		struct fq_decoder_opts o = { 0 };
		o.ipfix = own ? FQ_IPFIX_NATIVE : FQ_IPFIX_LIBFIXBUF;
		struct fq_decoder *d = new_dec(&o);
		struct sink s = { 0 };
		feed(d, t, 1, 0, &s);
		feed(d, r, 1, 0, &s);
		struct fq_exporter *ex = exporter_of(d, 1);
		CHECK(ex != NULL);
		CHECK_EQ(s.n, 1);
		if (ex == NULL || s.n != 1) {
			free(s.r);
			fq_decoder_free(d);
			continue;
		}
		CHECK_EQ(mal_total(ex), 0);
		CHECK_EQ(ex->n_templates, 1);
		if (!own)
			CHECK_EQ(fq__ipfix_template_fields(ex->ipfix, 1, 700),
				 10);
		got[own] = s.r[0];
		CHECK_EQ(s.r[0].srcip.lo, 0x0a000001);
		CHECK_EQ(s.r[0].dstip.lo, 0xc0a80001);
		CHECK_EQ(s.r[0].srcport, 4321);
		CHECK_EQ(s.r[0].bytes, 123456789);
		CHECK_EQ(s.r[0].prot, 17);
		free(s.r);
		fq_decoder_free(d);
	}
	CHECK(memcmp(&got[0], &got[1], sizeof got[0]) == 0);
	free(t);
	free(r);
}

/*
 * Options template whose scope fields flowq does not read: they merge into
 * one scope field (scope count 2 -> 1); samplingInterval still reaches the
 * domain.
 */
static void
test_options_scope_merge(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	msg_begin(&b, 0, 3);
	size_t at = set_open(&b, 3);
	b_u16(&b, 710);
	b_u16(&b, 4);
	b_u16(&b, 2);
	b_u32(&b, (149u << 16) | 4);    /* observationDomainId */
	b_u32(&b, (144u << 16) | 4);    /* exportingProcessId */
	b_u32(&b, (34u << 16) | 4);     /* samplingInterval */
	b_u32(&b, (136u << 16) | 2);    /* flowEndReason, 2 bytes */
	set_close(&b, at);
	at = set_open(&b, 2);
	tpl(&b, 300, T300, 10);
	set_close(&b, at);
	at = set_open(&b, 710);
	b_u32(&b, 3);
	b_u32(&b, 1);
	b_u32(&b, 100);
	b_u16(&b, 0);
	set_close(&b, at);
	at = set_open(&b, 300);
	rec300(&b, 0x0a000001, 1700000000000ULL);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	CHECK_EQ(s.n, 1);
	if (ex && s.n == 1) {
		CHECK_EQ(ex->options_records, 1);
		CHECK_EQ(s.r[0].sampling, 100);
		CHECK_EQ(fq__ipfix_template_fields(ex->ipfix, 3, 710), 3);
	}
	free(s.r);
	fq_decoder_free(d);
}

/*
 * Variable-length fields cannot be merged: a template that would still
 * give libfixbuf more than FQ__MAX_FIXBUF_FIELDS fields is refused like a
 * template over the cap, one just below the limit decodes.
 */
static void
test_varlen_field_limit(void)
{
	struct fq_decoder *d = new_dec(NULL);
	struct sink s = { 0 };
	struct buf b;
	for (unsigned k = 0; k < 2; k++) {
		unsigned nv = k ? FQ__MAX_FIXBUF_FIELDS - 1
				: FQ__MAX_FIXBUF_FIELDS;
		msg_begin(&b, k, 1);
		size_t at = set_open(&b, 2);
		b_u16(&b, 720 + k);
		b_u16(&b, nv + 1);
		for (unsigned i = 0; i < nv; i++)
			b_u32(&b, (82u << 16) | 65535);  /* interfaceName */
		b_u32(&b, (4u << 16) | 1);
		set_close(&b, at);
		at = set_open(&b, 720 + k);
		b_zero(&b, nv);
		b_u8(&b, 6);
		set_close(&b, at);
		msg_end(&b);
		feed(d, &b, 1, 0, &s);
	}
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex) {
		CHECK_EQ(ex->templates_refused, 1);
		CHECK_EQ(ex->n_templates, 1);
		CHECK_EQ(ex->unknown_tpl_sets, 1);
		CHECK_EQ(mal_total(ex), 0);
		CHECK_EQ(fq__ipfix_template_fields(ex->ipfix, 1, 720), -1);
		CHECK_EQ(fq__ipfix_template_fields(ex->ipfix, 1, 721),
			 FQ__MAX_FIXBUF_FIELDS);
	}
	CHECK_EQ(s.n, 1);
	if (s.n == 1)
		CHECK_EQ(s.r[0].prot, 6);
	free(s.r);
	fq_decoder_free(d);
}

/*
 * Every datagram lands in exactly one bucket: per exporter datagrams =
 * decoded + malformed (a second reason found for the same datagram is not
 * counted), and on the decoder datagrams = decoded + malformed + refused +
 * session_limit + no_memory.
 */
static void
test_accounting(void)
{
	struct fq_ip allow = fq_ip_v4(0xc0000201);
	uint8_t allow_len = 32;
	struct fq_decoder_opts o = { 0 };
	o.allow = &allow;
	o.allow_len = &allow_len;
	o.n_allow = 1;
	struct fq_decoder *d = new_dec(&o);
	struct sink s = { 0 };
	struct buf b;
	msg_begin(&b, 0, 1);
	size_t at = set_open(&b, 2);
	tpl(&b, 300, T300, 10);
	set_close(&b, at);
	msg_end(&b);
	feed(d, &b, 1, 0, &s);                  /* decoded */
	b.n = 10;
	feed(d, &b, 1, 0, &s);                  /* short */
	b.b[1] = 7;
	feed(d, &b, 1, 0, &s);                  /* version */
	struct fq_datagram dg;
	dg_init(&dg, &b, 1, 0);
	((struct sockaddr_in *)&dg.src)->sin_addr.s_addr = htonl(0xc0000202);
	fq_decoder_datagram(d, &dg, sink_emit, &s);     /* refused */
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex) {
		/* Two reasons for one datagram: only the first counts. */
		struct fq__dctx c = { .d = d, .ex = ex };
		fq__malformed(&c, FQ__MAL_RECORD, "first");
		fq__malformed(&c, FQ__MAL_LIBFIXBUF, "second");
		CHECK_EQ(ex->malformed[FQ__MAL_RECORD], 1);
		CHECK_EQ(ex->malformed[FQ__MAL_LIBFIXBUF], 0);
		ex->malformed[FQ__MAL_RECORD] = 0;
		CHECK_EQ(ex->datagrams, 3);
		CHECK_EQ(ex->decoded, 1);
		CHECK_EQ(mal_total(ex), 2);
		CHECK_EQ(ex->datagrams, ex->decoded + mal_total(ex));
	}
	CHECK_EQ(d->sessions.datagrams, 4);
	CHECK_EQ(d->sessions.refused, 1);
	CHECK_EQ(d->sessions.datagrams, (ex ? ex->decoded + mal_total(ex) : 0) +
		 d->sessions.refused + d->sessions.session_limit + d->sessions.no_memory);
	free(s.r);
	fq_decoder_free(d);
}

int
main(void)
{
	fq_log_set_level(getenv("T_DEBUG") ? FQ_LOG_DEBUG : FQ_LOG_ERROR);
	test_basic();
	test_options_and_times();
	test_varlen_and_odd_fields();
	test_malformed();
	test_cap_and_expiry();
	test_tcp_no_expiry();
	test_many_element_sets();
	test_huge_template();
	test_options_scope_merge();
	test_varlen_field_limit();
	test_accounting();
	test_times_out_of_range();
	if (t_failures)
		fprintf(stderr, "%d failures\n", t_failures);
	return t_failures ? 1 : 0;
}
