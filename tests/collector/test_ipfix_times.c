/*
 * test_ipfix_times.c - every time representation SPEC section 1 lists,
 * decoded to stime/etime, against values worked out by hand.
 *
 * IPFIX: flowStart/EndSeconds, Milliseconds, Microseconds and Nanoseconds
 * (NTP format, RFC 7011 section 6.1.9, and the plain Unix-epoch integers
 * some exporters send instead), flowStart/EndSysUpTime with
 * systemInitTimeMilliseconds (from an options record, and in the record
 * itself), flowStart/EndDeltaMicroseconds (before the export time), and
 * flowDurationMilliseconds/Microseconds completing a missing end or start.
 * Each case is decoded by both IPFIX readers, libfixbuf and the native
 * template engine.  NetFlow v9: FIRST/LAST_SWITCHED against the header's
 * uptime, across the 2^32 ms wrap.
 *
 * The expected times are constants computed from the wire values by hand
 * (the arithmetic is in the comments), never with the decoder's helpers:
 * checks that compare the two IPFIX readers share those helpers, so a
 * wrong divisor in them (micro- for nanoseconds) passed them all.
 */
#include "dec_test.h"
#include "fq_log.h"

/* Export time of every message: 2023-11-14T22:13:20Z. */
#define EXPORT 1700000000u
/* Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
#define NTP_UNIX 2208988800ULL

/* One IPFIX data record: its template fields and wire values. */
struct tcase {
	const char *name;
	unsigned n;
	unsigned f[3][2];               /* {element id, length} */
	uint64_t v[3];                  /* value of each field */
	int64_t stime, etime;           /* expected, ms since the epoch */
};

static const struct tcase cases[] = {
	/* 1700000100 s * 1000, 1700000160 s * 1000. */
	{ "seconds", 2, { { 150, 4 }, { 151, 4 } },
	  { 1700000100, 1700000160 }, 1700000100000LL, 1700000160000LL },
	{ "milliseconds", 2, { { 152, 8 }, { 153, 8 } },
	  { 1700000000123ULL, 1700000000456ULL },
	  1700000000123LL, 1700000000456LL },
	/*
	 * NTP: seconds since 1900 in the high 32 bits, the fraction of a
	 * second in 2^-32 units in the low 32.  1700000100 + 2208988800 =
	 * 3908988900.  Start: fraction 0x80000000 = 1/2 s = 500 ms.  End:
	 * 3908988901 (1700000101), fraction 0x10000000 = 1/16 s = 62.5 ms,
	 * truncated to 62.
	 */
	{ "microseconds (NTP)", 2, { { 154, 8 }, { 155, 8 } },
	  { 3908988900ULL << 32 | 0x80000000u,
	    3908988901ULL << 32 | 0x10000000u },
	  1700000100500LL, 1700000101062LL },
	/*
	 * Start: 3908988900 (1700000100), 0x40000000 = 1/4 s = 250 ms.  End:
	 * 3908988902 (1700000102), 0xC0000000 = 3/4 s = 750 ms.
	 */
	{ "nanoseconds (NTP)", 2, { { 156, 8 }, { 157, 8 } },
	  { 3908988900ULL << 32 | 0x40000000u,
	    3908988902ULL << 32 | 0xC0000000u },
	  1700000100250LL, 1700000102750LL },
	/*
	 * Plain Unix-epoch microseconds (the high 32 bits, 395812, are far
	 * below the NTP seconds of 1970): 1700000100123456 us / 1000 =
	 * 1700000100123 ms; 1700000100999999 us -> 1700000100999 ms.
	 */
	{ "microseconds (Unix)", 2, { { 154, 8 }, { 155, 8 } },
	  { 1700000100123456ULL, 1700000100999999ULL },
	  1700000100123LL, 1700000100999LL },
	/*
	 * Plain Unix-epoch nanoseconds: 1700000100123456789 ns / 10^6 =
	 * 1700000100123 ms; 1700000100987654321 ns -> 1700000100987 ms.
	 */
	{ "nanoseconds (Unix)", 2, { { 156, 8 }, { 157, 8 } },
	  { 1700000100123456789ULL, 1700000100987654321ULL },
	  1700000100123LL, 1700000100987LL },
	/*
	 * Uptime with systemInitTimeMilliseconds in the same record:
	 * 1699998000000 + 5000 and + 6000 (the domain's own value, from the
	 * options record sent before, is not used).
	 */
	{ "sysUpTime, sysinit in the record", 3,
	  { { 160, 8 }, { 22, 4 }, { 21, 4 } },
	  { 1699998000000ULL, 5000, 6000 },
	  1699998005000LL, 1699998006000LL },
	/*
	 * Uptime with the domain's systemInitTimeMilliseconds from the
	 * options record (SYSINIT below): 1699999000000 + 10000 and + 70000.
	 */
	{ "sysUpTime, sysinit from options", 2, { { 22, 4 }, { 21, 4 } },
	  { 10000, 70000 }, 1699999010000LL, 1699999070000LL },
	/*
	 * Deltas before the export time, 1700000000000 ms: 5000000 us =
	 * 5000 ms -> 1699999995000; 1234567 us = 1234 ms (truncated) ->
	 * 1699999998766.
	 */
	{ "delta microseconds", 2, { { 158, 4 }, { 159, 4 } },
	  { 5000000, 1234567 }, 1699999995000LL, 1699999998766LL },
	/* Start 1700000100000 ms, end = start + 2500 ms. */
	{ "seconds + duration ms", 2, { { 150, 4 }, { 161, 4 } },
	  { 1700000100, 2500 }, 1700000100000LL, 1700000102500LL },
	/* End 1700000000900 ms, start = end - 400 ms. */
	{ "end ms + duration ms", 2, { { 153, 8 }, { 161, 4 } },
	  { 1700000000900ULL, 400 }, 1700000000500LL, 1700000000900LL },
	/* Start 1700000000000 ms, + 1234567 us = 1234 ms (truncated). */
	{ "ms + duration us", 2, { { 152, 8 }, { 162, 4 } },
	  { 1700000000000ULL, 1234567 }, 1700000000000LL, 1700000001234LL },
	/* End 1700000200 s = 1700000200000 ms, - 2500000 us = 2500 ms. */
	{ "end seconds + duration us", 2, { { 151, 4 }, { 162, 4 } },
	  { 1700000200, 2500000 }, 1700000197500LL, 1700000200000LL },
};

#define N_CASES (sizeof cases / sizeof cases[0])
#define SYSINIT 1699999000000ULL

static void
msg_begin(struct buf *b, uint32_t seq)
{
	b->n = 0;
	b_u16(b, 10);
	b_u16(b, 0);
	b_u32(b, EXPORT);
	b_u32(b, seq);
	b_u32(b, 1);                    /* observation domain */
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

/* v, big-endian, in `len` bytes. */
static void
b_uint(struct buf *b, uint64_t v, unsigned len)
{
	for (unsigned i = len; i-- > 0;)
		b_u8(b, (unsigned)(v >> (8 * i)) & 0xff);
}

/*
 * An options template (scope observationDomainId, then
 * systemInitTimeMilliseconds) and its record: the domain's sysinit.
 */
static void
options_msg(struct buf *b)
{
	msg_begin(b, 0);
	size_t at = set_open(b, 3);
	b_u16(b, 400);
	b_u16(b, 2);
	b_u16(b, 1);
	b_u16(b, 149);
	b_u16(b, 4);
	b_u16(b, 160);
	b_u16(b, 8);
	set_close(b, at);
	at = set_open(b, 400);
	b_u32(b, 1);
	b_u64(b, SYSINIT);
	set_close(b, at);
	msg_end(b);
}

/* Case i as template 500 + i and one data record of it. */
static void
case_msg(struct buf *b, size_t i)
{
	const struct tcase *tc = &cases[i];
	msg_begin(b, 0);
	size_t at = set_open(b, 2);
	b_u16(b, 500 + (unsigned)i);
	b_u16(b, tc->n);
	for (unsigned k = 0; k < tc->n; k++) {
		b_u16(b, tc->f[k][0]);
		b_u16(b, tc->f[k][1]);
	}
	set_close(b, at);
	at = set_open(b, 500 + (unsigned)i);
	for (unsigned k = 0; k < tc->n; k++)
		b_uint(b, tc->v[k], tc->f[k][1]);
	set_close(b, at);
	msg_end(b);
}

static void
test_ipfix(enum fq_ipfix_decoder which, const char *label)
{
	struct fq_decoder_opts o = { 0 };
	o.ipfix = which;
	struct fq_decoder *d = NULL;
	CHECK_EQ(fq_decoder_new(&d, &o), 0);
	if (d == NULL)
		return;
	struct sink s = { 0 };
	struct buf b;
	options_msg(&b);
	feed(d, &b, 4739, 0, &s);
	CHECK_EQ(s.n, 0);
	for (size_t i = 0; i < N_CASES; i++) {
		sink_reset(&s);
		case_msg(&b, i);
		feed(d, &b, 4739, 0, &s);
		const struct tcase *tc = &cases[i];
		if (s.n != 1) {
			fprintf(stderr, "%s, %s: %zu records\n", label,
				tc->name, s.n);
			t_failures++;
			continue;
		}
		if (s.r[0].stime != tc->stime || s.r[0].etime != tc->etime) {
			fprintf(stderr, "%s, %s: stime %lld etime %lld, "
				"expected %lld %lld\n", label, tc->name,
				(long long)s.r[0].stime,
				(long long)s.r[0].etime,
				(long long)tc->stime, (long long)tc->etime);
			t_failures++;
		}
	}
	struct fq_exporter *ex = exporter_of(d, 4739);
	CHECK(ex != NULL);
	if (ex) {
		CHECK_EQ(mal_total(ex), 0);
		CHECK_EQ(ex->options_records, 1);
	}
	free(s.r);
	fq_decoder_free(d);
}

/*
 * v9 FIRST/LAST_SWITCHED: router uptime (ms) at the flow's first and last
 * packet, against the header's sysUptime and unix_secs (SPEC 1):
 * ms = unix_secs * 1000 - (uint32)(sysUptime - t).
 */
static void
v9_msg(struct buf *b, uint32_t uptime, uint32_t first, uint32_t last,
       uint32_t seq)
{
	b->n = 0;
	b_u16(b, 9);
	b_u16(b, 2);                    /* template + data record */
	b_u32(b, uptime);
	b_u32(b, EXPORT);
	b_u32(b, seq);
	b_u32(b, 7);                    /* source id */
	size_t at = set_open(b, 0);
	b_u16(b, 256);
	b_u16(b, 2);
	b_u16(b, 22);                   /* FIRST_SWITCHED */
	b_u16(b, 4);
	b_u16(b, 21);                   /* LAST_SWITCHED */
	b_u16(b, 4);
	set_close(b, at);
	at = set_open(b, 256);
	b_u32(b, first);
	b_u32(b, last);
	set_close(b, at);
}

static void
test_v9(void)
{
	static const struct {
		const char *name;
		uint32_t uptime, first, last;
		int64_t stime, etime;
	} v9[] = {
		/*
		 * One hour up: 3600000 - 3500000 = 100000 ms before the
		 * export, 3600000 - 3590000 = 10000 ms before it.
		 */
		{ "no wrap", 3600000, 3500000, 3590000,
		  1699999900000LL, 1699999990000LL },
		/*
		 * The uptime counter wrapped after the flow started: now 5000,
		 * first 0xFFFFF000 = 4294963200.  (uint32)(5000 - 4294963200)
		 * = 5000 + 2^32 - 4294963200 = 9096 ms before the export;
		 * last 1000: 4000 ms before it.
		 */
		{ "uptime wrap", 5000, 0xFFFFF000u, 1000,
		  1699999990904LL, 1699999996000LL },
		/* Right at the wrap: 0xFFFFFFFF is 1 ms before 0. */
		{ "last at 2^32 - 1", 0, 0xFFFFFFFEu, 0xFFFFFFFFu,
		  1699999999998LL, 1699999999999LL },
	};
	for (size_t i = 0; i < sizeof v9 / sizeof v9[0]; i++) {
		struct fq_decoder *d = NULL;
		CHECK_EQ(fq_decoder_new(&d, NULL), 0);
		if (d == NULL)
			return;
		struct sink s = { 0 };
		struct buf b;
		v9_msg(&b, v9[i].uptime, v9[i].first, v9[i].last, 0);
		feed(d, &b, 2055, 0, &s);
		if (s.n != 1 || s.r[0].stime != v9[i].stime ||
		    s.r[0].etime != v9[i].etime) {
			fprintf(stderr, "v9, %s: %zu records, stime %lld etime "
				"%lld, expected %lld %lld\n", v9[i].name, s.n,
				s.n ? (long long)s.r[0].stime : 0LL,
				s.n ? (long long)s.r[0].etime : 0LL,
				(long long)v9[i].stime, (long long)v9[i].etime);
			t_failures++;
		}
		free(s.r);
		fq_decoder_free(d);
	}
}

int
main(void)
{
	fq_log_set_level(getenv("T_DEBUG") ? FQ_LOG_DEBUG : FQ_LOG_ERROR);
	test_ipfix(FQ_IPFIX_LIBFIXBUF, "libfixbuf");
	test_ipfix(FQ_IPFIX_NATIVE, "native");
	test_v9();
	if (t_failures)
		fprintf(stderr, "%d failures\n", t_failures);
	return t_failures ? 1 : 0;
}
