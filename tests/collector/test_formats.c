/*
 * test_formats.c - the decoder registry (decode/formats.c): a datagram
 * goes to the first row whose match() accepts its own header, and a format
 * whose version is 32 bits wide can be registered beside the 16-bit
 * NetFlow/IPFIX versions without touching the dispatch.
 *
 * The format under test is shaped like sFlow v5 (a 32-bit version 5, then
 * a 32-bit agent address type, 1 = IPv4 or 2 = IPv6, then the agent
 * address); it is not sFlow: its decode() makes one record carrying the
 * agent address, enough to see the row was chosen and can use the same
 * batch and accounting as the built-in formats.
 */
#include "dec_test.h"
#include "fq_log.h"

/* A 32-bit version 5 and address type 1 or 2: never NetFlow v5 (0x0005). */
static int
sflowish_match(const uint8_t *p, size_t len)
{
	if (len < 8 || fq__be32(p) != 5)
		return 0;
	uint32_t at = fq__be32(p + 4);
	return at == 1 || at == 2;
}

static void
sflowish_decode(struct fq__dctx *c, const uint8_t *p, size_t len)
{
	if (fq__be32(p + 4) != 1 || len < 12) {
		fq__malformed(c, FQ__MAL_SHORT, "test format: IPv4 only");
		return;
	}
	struct fq_record *r = fq__slot(c);
	fq_ip_set4(&r->srcip, fq__be32(p + 8));
	fq__commit(c, r);
}

/* The built-in rows, then the format under test. */
static struct fq__format with_test[8];
static size_t n_with_test;

static void
registry_init(void)
{
	CHECK(fq__n_formats + 1 <= sizeof with_test / sizeof with_test[0]);
	for (size_t i = 0; i < fq__n_formats; i++)
		with_test[n_with_test++] = fq__formats[i];
	with_test[n_with_test++] = (struct fq__format){
		"sflow-like-test", sflowish_match, sflowish_decode,
	};
}

/* 32-bit version, address type, agent address 198.51.100.7. */
static void
sflowish(struct buf *b, uint32_t addr_type)
{
	b->n = 0;
	b_u32(b, 5);
	b_u32(b, addr_type);
	b_u32(b, 0xc6336407);
	b_u32(b, 0);                    /* sub-agent id */
}

/* NetFlow v5, one record from 10.0.0.1. */
static void
nf5(struct buf *b)
{
	b->n = 0;
	b_u16(b, 5);
	b_u16(b, 1);
	b_u32(b, 1000);                 /* sysUptime */
	b_u32(b, 1700000000);
	b_u32(b, 0);
	b_u32(b, 0);                    /* flow_sequence */
	b_u32(b, 0);                    /* engine, sampling */
	b_u32(b, 0x0a000001);
	b_zero(b, 44);
}

static void
test_builtin_rows(void)
{
	static const char *const want[] = { "netflow-v5", "netflow-v9",
					    "ipfix" };
	CHECK_EQ(fq__n_formats, 3);
	for (size_t i = 0; i < 3 && i < fq__n_formats; i++)
		CHECK(strcmp(fq__formats[i].name, want[i]) == 0);
	/* The 16-bit versions each match their own row only. */
	static const uint8_t v5[4] = { 0, 5, 0, 1 }, v9[4] = { 0, 9, 0, 1 },
			     v10[4] = { 0, 10, 0, 16 };
	CHECK(fq__nf5_match(v5, 4) && !fq__nf9_match(v5, 4) &&
	      !fq__ipfix_match(v5, 4));
	CHECK(!fq__nf5_match(v9, 4) && fq__nf9_match(v9, 4) &&
	      !fq__ipfix_match(v9, 4));
	CHECK(!fq__nf5_match(v10, 4) && !fq__nf9_match(v10, 4) &&
	      fq__ipfix_match(v10, 4));
}

static void
test_32bit_version(void)
{
	struct sink s = { 0 };
	struct buf b;

	/* Without the row: a 32-bit version 5 reads as version 0. */
	struct fq_decoder *d = NULL;
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	if (d == NULL)
		return;
	sflowish(&b, 1);
	feed(d, &b, 6343, 0, &s);
	struct fq_exporter *ex = exporter_of(d, 6343);
	CHECK(ex != NULL);
	if (ex)
		CHECK_EQ(ex->malformed[FQ__MAL_VERSION], 1);
	CHECK_EQ(s.n, 0);
	fq_decoder_free(d);

	/* With it: decoded by the test row, NetFlow v5 still by its own. */
	CHECK_EQ(fq_decoder_new(&d, NULL), 0);
	if (d == NULL)
		return;
	fq__decoder_set_formats(d, with_test, n_with_test);
	sink_reset(&s);
	feed(d, &b, 6343, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1)
		CHECK_EQ(s.r[0].srcip.lo, 0xc6336407);
	nf5(&b);
	sink_reset(&s);
	feed(d, &b, 6343, 0, &s);
	CHECK_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_EQ(s.r[0].srcip.lo, 0x0a000001);
		CHECK_EQ(s.r[0].unix_secs, 1700000000);
	}
	/* Address type 3: no row matches, malformed 'version' as always. */
	sflowish(&b, 3);
	sink_reset(&s);
	feed(d, &b, 6343, 0, &s);
	CHECK_EQ(s.n, 0);
	/* A row can report a malformed datagram like the built-in ones. */
	sflowish(&b, 2);
	feed(d, &b, 6343, 0, &s);
	CHECK_EQ(s.n, 0);
	ex = exporter_of(d, 6343);
	CHECK(ex != NULL);
	if (ex) {
		CHECK_EQ(ex->datagrams, 4);
		CHECK_EQ(ex->decoded, 2);
		CHECK_EQ(ex->records, 2);
		CHECK_EQ(ex->malformed[FQ__MAL_VERSION], 1);
		CHECK_EQ(ex->malformed[FQ__MAL_SHORT], 1);
	}
	free(s.r);
	fq_decoder_free(d);
}

int
main(void)
{
	fq_log_set_level(getenv("T_DEBUG") ? FQ_LOG_DEBUG : FQ_LOG_ERROR);
	registry_init();
	test_builtin_rows();
	test_32bit_version();
	if (t_failures)
		fprintf(stderr, "%d failures\n", t_failures);
	return t_failures ? 1 : 0;
}
