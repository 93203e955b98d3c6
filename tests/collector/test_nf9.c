/*
 * test_nf9.c - NetFlow v9 decoder: templates before and after data,
 * redefinition with another layout, withdrawal, two source ids with the
 * same template id, options (sampling), FIRST/LAST_SWITCHED against the
 * header uptime with wrap, IPv4/IPv6 selection, IN/OUT counters, vendor
 * field ids >= 32768, zero-length and 65535 variable-length fields,
 * padding, truncated flowsets, sequence gaps, the template caps, and the
 * allocation of a compiled template matching what the byte cap counts.
 */
#include "dec_test.h"
#include "fq_log.h"

#include <malloc.h>

#define SECS 1700000000u
#define UPTIME 5000000u

static void
v9_header(struct buf *b, unsigned count, uint32_t uptime, uint32_t seq,
	  uint32_t srcid)
{
	b->n = 0;
	b_u16(b, 9);
	b_u16(b, count);
	b_u32(b, uptime);
	b_u32(b, SECS);
	b_u32(b, seq);
	b_u32(b, srcid);
}

/* Open a flowset; returns the offset of its length to patch. */
static size_t
fs_open(struct buf *b, unsigned id)
{
	b_u16(b, id);
	size_t at = b->n;
	b_u16(b, 0);
	return at;
}

static void
fs_close(struct buf *b, size_t at, int pad4)
{
	if (pad4)
		while ((b->n - (at - 2)) % 4)
			b_u8(b, 0);
	b_put16(b, at, (unsigned)(b->n - (at - 2)));
}

/* Template 256: src4 dst4 sport dport prot pkts bytes first last. */
static void
tpl_256(struct buf *b)
{
	size_t at = fs_open(b, 0);
	b_u16(b, 256);
	b_u16(b, 9);
	unsigned f[][2] = { { 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 },
			    { 4, 1 }, { 2, 4 }, { 1, 4 }, { 22, 4 }, { 21, 4 } };
	for (unsigned i = 0; i < 9; i++) {
		b_u16(b, f[i][0]);
		b_u16(b, f[i][1]);
	}
	fs_close(b, at, 0);
}

static void
rec_256(struct buf *b, uint32_t src, uint16_t sport, uint32_t first,
	uint32_t last)
{
	b_u32(b, src);
	b_u32(b, 0x0a000002);
	b_u16(b, sport);
	b_u16(b, 443);
	b_u8(b, 6);
	b_u32(b, 5);
	b_u32(b, 700);
	b_u32(b, first);
	b_u32(b, last);
}

static void
test_template_order(void)
{
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	struct sink s = { 0 };
	struct buf b;
	size_t at;

	/* data before its template: unknown, nothing emitted */
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 256);
	rec_256(&b, 0x0a000001, 1000, UPTIME - 100, UPTIME - 50);
	fs_close(&b, at, 1);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(s.n, 0);
	struct fq_exporter *ex = exporter_of(d, 2055);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(ex->unknown_tpl_sets, 1);
	CHECK_EQ(ex->unknown_tpl_records, 1);

	/* template and data in one datagram, data padded to 4 */
	v9_header(&b, 3, UPTIME, 1, 1);
	tpl_256(&b);
	at = fs_open(&b, 256);
	rec_256(&b, 0x0a000001, 1000, UPTIME - 100, UPTIME - 50);
	rec_256(&b, 0x0a000003, 1001, 0xffffff00u, 10);	/* uptime wrap */
	fs_close(&b, at, 1);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(s.n, 2);
	if (s.n == 2) {
		CHECK_EQ(s.r[0].srcip.lo, 0x0a000001);
		CHECK_EQ(s.r[0].dstport, 443);
		CHECK_EQ(s.r[0].prot, 6);
		CHECK_EQ(s.r[0].packets, 5);
		CHECK_EQ(s.r[0].bytes, 700);
		CHECK_EQ(s.r[0].stime, (int64_t)SECS * 1000 - 100);
		CHECK_EQ(s.r[0].etime, (int64_t)SECS * 1000 - 50);
		CHECK_EQ(s.r[0].domain, 1);
		CHECK_EQ(s.r[0].sampling, 1);
		CHECK_EQ(s.r[0].sysuptime, UPTIME);
		CHECK_EQ(s.r[1].stime,
			 (int64_t)SECS * 1000 - (UPTIME + 0x100));
		CHECK_EQ(s.r[1].etime, (int64_t)SECS * 1000 - (UPTIME - 10));
	}
	CHECK_EQ(ex->n_templates, 1);

	/* another source id uses template 256 with another layout */
	v9_header(&b, 2, UPTIME, 0, 2);
	at = fs_open(&b, 0);
	b_u16(&b, 256);
	b_u16(&b, 2);
	b_u16(&b, 27);	/* IPv6 src */
	b_u16(&b, 16);
	b_u16(&b, 1);	/* bytes, 8 */
	b_u16(&b, 8);
	fs_close(&b, at, 0);
	at = fs_open(&b, 256);
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	b_bytes(&b, a6, 16);
	b_u64(&b, 1ULL << 40);
	fs_close(&b, at, 1);
	sink_reset(&s);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_EQ(s.r[0].srcip.is6, 1);
		CHECK_EQ(s.r[0].bytes, 1ULL << 40);
		CHECK_EQ(s.r[0].domain, 2);
		/* no time fields: export time */
		CHECK_EQ(s.r[0].stime, (int64_t)SECS * 1000);
	}
	CHECK_EQ(ex->n_templates, 2);
	CHECK_EQ(ex->n_domains, 2);

	/* source id 1 still decodes with its own layout */
	v9_header(&b, 1, UPTIME, 2, 1);
	at = fs_open(&b, 256);
	rec_256(&b, 0x0a000009, 1, UPTIME, UPTIME);
	fs_close(&b, at, 1);
	sink_reset(&s);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1)
		CHECK_EQ(s.r[0].srcip.lo, 0x0a000009);

	/* redefinition of 256 in source 1: now just prot + bytes */
	v9_header(&b, 2, UPTIME, 3, 1);
	at = fs_open(&b, 0);
	b_u16(&b, 256);
	b_u16(&b, 2);
	b_u16(&b, 4);
	b_u16(&b, 1);
	b_u16(&b, 1);
	b_u16(&b, 4);
	fs_close(&b, at, 0);
	at = fs_open(&b, 256);
	b_u8(&b, 17);
	b_u32(&b, 99);
	fs_close(&b, at, 1);	/* 5-byte record + 3 padding */
	sink_reset(&s);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_EQ(s.r[0].prot, 17);
		CHECK_EQ(s.r[0].bytes, 99);
		CHECK_EQ(s.r[0].srcip.lo, 0);
	}
	CHECK_EQ(ex->n_templates, 2);
	CHECK_EQ(ex->seq_lost, 0);

	/* sequence gap: 3 -> 7 loses 3 packets */
	v9_header(&b, 1, UPTIME, 7, 1);
	at = fs_open(&b, 256);
	b_u8(&b, 6);
	b_u32(&b, 1);
	fs_close(&b, at, 1);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(ex->seq_lost, 3);

	/* withdrawal (field count 0) */
	v9_header(&b, 1, UPTIME, 8, 1);
	at = fs_open(&b, 0);
	b_u16(&b, 256);
	b_u16(&b, 0);
	fs_close(&b, at, 0);
	feed(d, &b, 2055, 0, &s);
	CHECK_EQ(ex->n_templates, 1);
	CHECK_EQ(mal_total(ex), 0);
	free(s.r);
	fq_decoder_free(d);
}

static void
test_fields_and_options(void)
{
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	struct sink s = { 0 };
	struct buf b;
	size_t at;

	v9_header(&b, 5, UPTIME, 0, 7);
	/* options template 300: scope system(1) len 4; interval 34, algo 35 */
	at = fs_open(&b, 1);
	b_u16(&b, 300);
	b_u16(&b, 4);
	b_u16(&b, 8);
	b_u16(&b, 1);
	b_u16(&b, 4);
	b_u16(&b, 34);
	b_u16(&b, 4);
	b_u16(&b, 35);
	b_u16(&b, 1);
	fs_close(&b, at, 1);
	at = fs_open(&b, 300);
	b_u32(&b, 0);
	b_u32(&b, 64);
	b_u8(&b, 2);
	fs_close(&b, at, 1);
	/*
	 * Data template 301: vendor 40001 (skip), src4 (zero), src6,
	 * zero-length dst4, dst6, varlen 65535 field (skipped), IN_PKTS 8,
	 * OUT_BYTES, IN_BYTES 2 (reduced), tcp flags 2 bytes, input 2,
	 * output 4, src_as 2, dst_as 4, src mask, dst6 mask, nexthop6,
	 * tos, engine ids.
	 */
	at = fs_open(&b, 0);
	b_u16(&b, 301);
	unsigned f[][2] = {
		{ 40001, 4 }, { 8, 4 }, { 27, 16 }, { 12, 0 }, { 28, 16 },
		{ 95, 65535 }, { 2, 8 }, { 23, 4 }, { 1, 2 }, { 6, 2 },
		{ 10, 2 }, { 14, 4 }, { 16, 2 }, { 17, 4 }, { 9, 1 },
		{ 30, 1 }, { 62, 16 }, { 5, 1 }, { 38, 1 }, { 39, 1 },
		{ 7, 2 }, { 11, 2 }, { 4, 1 },
	};
	unsigned nf = sizeof f / sizeof f[0];
	b_u16(&b, nf);
	for (unsigned i = 0; i < nf; i++) {
		b_u16(&b, f[i][0]);
		b_u16(&b, f[i][1]);
	}
	fs_close(&b, at, 0);
	at = fs_open(&b, 301);
	uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
	uint8_t d6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 6 };
	uint8_t n6[16] = { 0xfe, 0x80, [15] = 1 };
	for (int k = 0; k < 2; k++) {
		b_u32(&b, 0xdeadbeef);
		b_u32(&b, 0);
		b_bytes(&b, s6, 16);
		b_bytes(&b, d6, 16);
		if (k == 0) {
			b_u8(&b, 3);
			b_bytes(&b, "abc", 3);
		} else {
			b_u8(&b, 255);	/* long form */
			b_u16(&b, 300);
			b_zero(&b, 300);
		}
		b_u64(&b, 12);
		b_u32(&b, 77);
		b_u16(&b, 1200);
		b_u16(&b, 0x12);
		b_u16(&b, 5);
		b_u32(&b, 6);
		b_u16(&b, 100);
		b_u32(&b, 4200000000u);
		b_u8(&b, 24);
		b_u8(&b, 64);
		b_bytes(&b, n6, 16);
		b_u8(&b, 0xb8);
		b_u8(&b, 1);
		b_u8(&b, 9);
		b_u16(&b, 53);
		b_u16(&b, 0);
		b_u8(&b, 58);
	}
	fs_close(&b, at, 1);
	feed(d, &b, 2055, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 2055);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(mal_total(ex), 0);
	CHECK_EQ(ex->options_records, 1);
	CHECK_EQ(s.n, 2);
	for (size_t k = 0; k < s.n; k++) {
		struct fq_record *r = &s.r[k];
		CHECK_EQ(r->srcip.is6, 1);	/* v4 zero: the v6 one */
		CHECK_EQ(r->srcip.lo, 5);
		CHECK_EQ(r->dstip.is6, 1);
		CHECK_EQ(r->nexthop.is6, 1);
		CHECK_EQ(r->packets, 12);
		CHECK_EQ(r->bytes, 1200);	/* IN_BYTES over OUT_BYTES */
		CHECK_EQ(r->tcp_flags, 0x12);
		CHECK_EQ(r->input, 5);
		CHECK_EQ(r->output, 6);
		CHECK_EQ(r->src_as, 100);
		CHECK_EQ(r->dst_as, 4200000000u);
		CHECK_EQ(r->src_mask, 0);	/* v4 mask 24 but src is v6 */
		CHECK_EQ(r->dst_mask, 64);
		CHECK_EQ(r->tos, 0xb8);
		CHECK_EQ(r->engine_type, 1);
		CHECK_EQ(r->engine_id, 9);
		CHECK_EQ(r->sampling, 64);	/* from the options record */
		CHECK_EQ(r->srcport, 53);
		CHECK_EQ(r->prot, 58);
	}
	free(s.r);
	fq_decoder_free(d);
}

static void
test_malformed(void)
{
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	struct sink s = { 0 };
	struct buf b;
	size_t at;

	/* flowset length past the end */
	v9_header(&b, 1, UPTIME, 0, 1);
	tpl_256(&b);
	at = fs_open(&b, 256);
	rec_256(&b, 1, 1, 1, 1);
	fs_close(&b, at, 1);
	b.n -= 8;	/* truncated */
	feed(d, &b, 1, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(ex->malformed[FQ__MAL_SET_LENGTH], 1);
	CHECK_EQ(ex->n_templates, 0);	/* nothing of it was used */

	/* flowset length 2 */
	v9_header(&b, 1, UPTIME, 0, 1);
	b_u16(&b, 256);
	b_u16(&b, 2);
	b_u32(&b, 1);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SET_LENGTH], 2);

	/* template with fields past its flowset */
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 0);
	b_u16(&b, 256);
	b_u16(&b, 40);
	b_u32(&b, 0x00080004);
	fs_close(&b, at, 0);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_TEMPLATE], 1);

	/* template of only zero-length fields */
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 0);
	b_u16(&b, 256);
	b_u16(&b, 2);
	b_u32(&b, 0x00080000);
	b_u32(&b, 0x000c0000);
	fs_close(&b, at, 0);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_TEMPLATE], 2);

	/* template id below 256 */
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 0);
	b_u16(&b, 255);
	b_u16(&b, 1);
	b_u32(&b, 0x00080004);
	fs_close(&b, at, 0);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_TEMPLATE], 3);

	/* reserved flowset id */
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 7);
	b_u32(&b, 0);
	fs_close(&b, at, 0);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SET_ID], 1);

	/* variable-length record running past its flowset */
	v9_header(&b, 2, UPTIME, 0, 1);
	at = fs_open(&b, 0);
	b_u16(&b, 260);
	b_u16(&b, 2);
	b_u32(&b, 0x00040001);
	b_u32(&b, 0x005fffff);
	fs_close(&b, at, 0);
	at = fs_open(&b, 260);
	b_u8(&b, 6);
	b_u8(&b, 0);	/* empty varlen: a good record */
	b_u8(&b, 17);
	b_u8(&b, 200);	/* 200 bytes announced, 1 present */
	b_u8(&b, 1);
	fs_close(&b, at, 0);
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_RECORD], 1);
	CHECK_EQ(s.n, 1);
	if (s.n == 1)
		CHECK_EQ(s.r[0].prot, 6);

	/* count below the number of flowsets */
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 260);
	b_u8(&b, 1);
	b_u8(&b, 0);
	fs_close(&b, at, 0);
	at = fs_open(&b, 260);
	b_u8(&b, 1);
	b_u8(&b, 0);
	fs_close(&b, at, 0);
	feed(d, &b, 1, 0, &s);
	/* Advisory: counted, both flowsets decoded (softflowd sends it). */
	CHECK_EQ(ex->anomalies[FQ__ANOM_V9_COUNT], 1);
	CHECK_EQ(s.n, 3);

	/* short header; then a good datagram still decodes */
	b.n = 10;
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(ex->malformed[FQ__MAL_SHORT], 1);
	v9_header(&b, 1, UPTIME, 0, 1);
	at = fs_open(&b, 260);
	b_u8(&b, 1);
	b_u8(&b, 0);
	fs_close(&b, at, 0);
	b_zero(&b, 3);	/* trailing zero padding after the last flowset */
	feed(d, &b, 1, 0, &s);
	CHECK_EQ(s.n, 4);
	CHECK_EQ(ex->malformed[FQ__MAL_SET_LENGTH], 2);
	free(s.r);
	fq_decoder_free(d);
}

static void
test_template_cap_and_expiry(void)
{
	struct fq_decoder_opts o = { 0 };
	o.max_templates = 3;
	o.template_timeout_ms = 10000;
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, &o), 0);
	struct sink s = { 0 };
	struct buf b;
	v9_header(&b, 5, UPTIME, 0, 1);
	size_t at = fs_open(&b, 0);
	for (unsigned t = 0; t < 5; t++) {
		b_u16(&b, 256 + t);
		b_u16(&b, 1);
		b_u32(&b, 0x00040001);
	}
	fs_close(&b, at, 0);
	feed(d, &b, 1, 1000000, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	CHECK_EQ(ex->n_templates, 3);
	CHECK_EQ(ex->templates_refused, 2);
	/* refresh of an existing one is not refused */
	feed(d, &b, 1, 1005000, &s);
	CHECK_EQ(ex->n_templates, 3);
	/* 12 s later without refresh: expired */
	v9_header(&b, 0, UPTIME, 2, 1);
	feed(d, &b, 1, 1017000, &s);
	CHECK_EQ(ex->n_templates, 0);
	CHECK_EQ(ex->templates_expired, 3);
	free(s.r);
	fq_decoder_free(d);
}

static void
test_template_bytes_cap(void)
{
	struct fq_decoder_opts o = { 0 };
	o.max_templates = 100000;
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, &o), 0);
	struct sink s = { 0 };
	struct buf b;
	/* 1100 templates of 1000 fields, each its own op: ~4 KB each. */
	for (unsigned t = 0; t < 1100; t++) {
		v9_header(&b, 1, UPTIME, t, 1);
		size_t at = fs_open(&b, 0);
		b_u16(&b, 256 + t);
		b_u16(&b, 1000);
		for (unsigned f = 0; f < 1000; f++) {
			/* variable-length fields are never merged: 1000 ops */
			b_u16(&b, 96);
			b_u16(&b, 65535);
		}
		fs_close(&b, at, 0);
		feed(d, &b, 1, 0, &s);
	}
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	if (ex) {
		CHECK(ex->templates_refused > 0);
		CHECK(ex->tpl_bytes <= FQ__MAX_TEMPLATE_BYTES);
		CHECK_EQ(ex->n_templates + ex->templates_refused, 1100);
	}
	free(s.r);
	fq_decoder_free(d);
}

/*
 * A template of 16,000 fields flowq does not read compiles to a single op,
 * and its allocation shrinks to that: the byte cap counts compiled ops, so
 * an allocation sized by wire fields (64 KiB here) went uncounted.
 */
static void
test_template_shrinks(void)
{
	struct fq_decoder *d;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	struct sink s = { 0 };
	struct buf *b = malloc(sizeof *b);
	if (b == NULL)
		abort();
	v9_header(b, 1, UPTIME, 0, 1);
	size_t at = fs_open(b, 0);
	b_u16(b, 256);
	b_u16(b, 16000);
	for (unsigned f = 0; f < 16000; f++) {
		b_u16(b, 100 + f % 20);
		b_u16(b, 1);
	}
	fs_close(b, at, 0);
	feed(d, b, 1, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 1);
	CHECK(ex != NULL);
	struct fq__tpl *t = NULL;
	if (ex && ex->domains)
		t = fq__tpl_find(ex->domains, 256);
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ(t->n_ops, 1);
		CHECK(malloc_usable_size(t) < sizeof *t + 64);
		CHECK_EQ(ex->tpl_bytes, sizeof *t + sizeof t->ops[0]);
	}
	free(b);
	free(s.r);
	fq_decoder_free(d);
}

int
main(void)
{
	fq_log_set_level(FQ_LOG_ERROR);
	test_template_order();
	test_fields_and_options();
	test_malformed();
	test_template_cap_and_expiry();
	test_template_bytes_cap();
	test_template_shrinks();
	if (t_failures)
		fprintf(stderr, "%d failures\n", t_failures);
	return t_failures ? 1 : 0;
}
