/*
 * test_core.c - unit tests of the core: addresses, time formatting, the
 * field table, the arena, number formatting and the JSON form of a
 * record.
 *
 * Usage: test-core CASE
 */
#include "fq_arena.h"
#include "fq_field.h"
#include "fq_format.h"
#include "fq_ip.h"
#include "fq_time.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
roundtrip_ip(const char *in, const char *want)
{
	struct fq_ip a = check_ip(in);
	char buf[FQ_IP_STRLEN];
	size_t n = fq_ip_format(&a, buf);
	CHECK(strcmp(buf, want) == 0 && n == strlen(want), "%s -> %s", in, buf);
}

static void
test_ip(void)
{
	roundtrip_ip("0.0.0.0", "0.0.0.0");
	roundtrip_ip("192.0.2.255", "192.0.2.255");
	roundtrip_ip("10.1.20.3", "10.1.20.3");
	roundtrip_ip("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	roundtrip_ip("::", "::");
	roundtrip_ip("::ffff:10.0.0.1", "::ffff:10.0.0.1");
	struct fq_ip a;
	CHECK(fq_ip_parse("300.1.1.1", 9, &a) < 0, "bad v4 accepted");
	CHECK(fq_ip_parse("1.2.3", 5, &a) < 0, "short v4 accepted");
	CHECK(fq_ip_parse("fe80::1::2", 10, &a) < 0, "bad v6 accepted");
	CHECK(fq_ip_parse("", 0, &a) < 0, "empty accepted");

	struct fq_ip v4 = check_ip("10.0.0.1"), v6 = check_ip("::a00:1");
	CHECK(!fq_ip_eq(&v4, &v6), "v4 == v6 with the same bits");
	CHECK(fq_ip_cmp(&v4, &v6) < 0, "v4 must sort before v6");
	struct fq_ip lo = check_ip("10.0.0.1"), hi = check_ip("10.0.1.0");
	CHECK(fq_ip_cmp(&lo, &hi) < 0 && fq_ip_cmp(&hi, &lo) > 0, "v4 order");

	struct fq_ip p = check_ip("192.0.2.0");
	struct fq_ip in = check_ip("192.0.2.77"), out = check_ip("192.0.3.1");
	CHECK(fq_ip_in_prefix(&in, &p, 24), "in /24");
	CHECK(!fq_ip_in_prefix(&out, &p, 24), "out of /24");
	CHECK(fq_ip_in_prefix(&out, &p, 0), "everything in /0");
	CHECK(fq_ip_in_prefix(&in, &in, 32), "host /32");
	struct fq_ip p6 = check_ip("2001:db8::");
	struct fq_ip in6 = check_ip("2001:db8:0:ffff::1"), out6 = check_ip("2001:db9::1");
	CHECK(fq_ip_in_prefix(&in6, &p6, 32), "in v6 /32");
	CHECK(!fq_ip_in_prefix(&out6, &p6, 32), "out of v6 /32");
	struct fq_ip h6 = check_ip("2001:db8::1:2"), h6b = check_ip("2001:db8::1:3");
	CHECK(fq_ip_in_prefix(&h6, &h6, 128) && !fq_ip_in_prefix(&h6b, &h6, 128),
	      "v6 /128");
	CHECK(fq_ip_in_prefix(&h6b, &h6, 126), "v6 /126");
	CHECK(!fq_ip_in_prefix(&v4, &p6, 0), "v4 never in a v6 prefix");
}

static void
test_time(void)
{
	char buf[FQ_TIME_STRLEN];
	fq_time_format(0, buf);
	CHECK(!strcmp(buf, "1970-01-01T00:00:00.000Z"), "%s", buf);
	fq_time_format(1335772141123LL, buf);
	CHECK(!strcmp(buf, "2012-04-30T07:49:01.123Z"), "%s", buf);
	fq_time_format(951782400000LL - 1, buf);   /* 2000-02-29T... -1 ms */
	CHECK(!strcmp(buf, "2000-02-28T23:59:59.999Z"), "%s", buf);
	fq_time_format(951782400000LL, buf);
	CHECK(!strcmp(buf, "2000-02-29T00:00:00.000Z"), "%s", buf);
	fq_time_format(-1, buf);
	CHECK(!strcmp(buf, "1969-12-31T23:59:59.999Z"), "%s", buf);
	fq_time_format(4102444800000LL, buf);
	CHECK(!strcmp(buf, "2100-01-01T00:00:00.000Z"), "%s", buf);
	/* Uptime arithmetic across the 2^32 wrap. */
	CHECK(fq_uptime_to_ms(1000, 500000000, 10, 0xFFFFFFF0u) ==
	      1000 * 1000 + 500 - 26, "wrap");
	CHECK(fq_uptime_to_ms(1000, 0, 5000, 4000) == 1000000 - 1000, "no wrap");
}

static void
test_field(void)
{
	/* Canonical names and aliases of SPEC section 1 resolve. */
	static const struct { const char *name; enum fq_field_id id; } names[] = {
		{ "srcip", FQ_F_SRCIP }, { "srcaddr", FQ_F_SRCIP },
		{ "sourceIPv6Address", FQ_F_SRCIP }, { "dstaddr", FQ_F_DSTIP },
		{ "exaddr", FQ_F_EXPORTER }, { "source_id", FQ_F_DOMAIN },
		{ "observationDomainId", FQ_F_DOMAIN }, { "proto", FQ_F_PROT },
		{ "protocolIdentifier", FQ_F_PROT }, { "dPkts", FQ_F_PACKETS },
		{ "octetDeltaCount", FQ_F_BYTES }, { "First", FQ_F_STIME },
		{ "flowEndMilliseconds", FQ_F_ETIME }, { "td", FQ_F_DURATION },
		{ "tcpControlBits", FQ_F_TCP_FLAGS }, { "ingressInterface", FQ_F_INPUT },
		{ "bgpDestinationAsNumber", FQ_F_DST_AS },
		{ "samplingInterval", FQ_F_SAMPLING }, { "sysUpTime", FQ_F_SYSUPTIME },
		{ "rec_id", FQ_F_REC_ID },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct fq_field *f = fq_field_lookup(names[i].name,
							   strlen(names[i].name));
		CHECK(f && f->id == names[i].id, "%s", names[i].name);
	}
	CHECK(fq_field_lookup("SRCIP", 5) == NULL, "names are case-sensitive");
	CHECK(fq_field_lookup("srcipx", 5) == &fq_fields[FQ_F_SRCIP],
	      "length-bounded lookup");
	CHECK(fq_field_lookup("nosuch", 6) == NULL, "unknown name");
	const char *s = fq_field_suggest("dstprot", 7);
	CHECK(s && !strcmp(s, "dstport"), "suggest dstprot -> %s", s ? s : "-");
	s = fq_field_suggest("byts", 4);
	CHECK(s && !strcmp(s, "bytes"), "suggest byts -> %s", s ? s : "-");
	CHECK(fq_field_suggest("zzzzzzzz", 8) == NULL, "nothing close");
	/* Table is indexed by id and offsets are inside the record. */
	for (int i = 0; i < FQ_F_COUNT; i++) {
		CHECK(fq_fields[i].id == (enum fq_field_id)i, "id %d", i);
		CHECK(fq_fields[i].offset < sizeof(struct fq_record), "offset %d", i);
	}
	struct fq_record r;
	fq_record_clear(&r);
	r.stime = 1000;
	r.etime = 4500;
	r.dstport = 443;
	CHECK(fq_field_num(&r, &fq_fields[FQ_F_DURATION]) == 3500, "duration");
	CHECK(fq_field_num(&r, &fq_fields[FQ_F_DSTPORT]) == 443, "dstport");
	CHECK(fq_field_num(&r, &fq_fields[FQ_F_SAMPLING]) == 1, "sampling=1");
}

static void
test_arena(void)
{
	struct fq_arena a;
	fq_arena_init(&a, 256);
	char *p = fq_arena_alloc(&a, 100);
	CHECK(p && ((uintptr_t)p & 15) == 0, "aligned");
	for (int i = 0; i < 100; i++)
		CHECK(p[i] == 0, "zeroed");
	char *big = fq_arena_alloc(&a, 10000);   /* larger than a block */
	CHECK(big != NULL, "big alloc");
	memset(big, 1, 10000);
	char *s = fq_arena_strndup(&a, "hello world", 5);
	CHECK(s && !strcmp(s, "hello"), "strndup");
	for (int i = 0; i < 1000; i++)
		CHECK(fq_arena_alloc(&a, 33) != NULL, "many");
	fq_arena_fini(&a);
}

/* What fq_out hands to its callback, kept as a C string. */
struct capture {
	char s[256];
	size_t n;
};

static void
capture_cb(void *ctx, const char *p, size_t n)
{
	struct capture *c = ctx;
	if (c->n + n < sizeof c->s) {
		memcpy(c->s + c->n, p, n);
		c->n += n;
		c->s[c->n] = '\0';
	}
}

/*
 * JSON strings: quote and backslash escaped, every control character as
 * \u00XX in lower-case hex (the pipeline's match output escapes the same
 * way), DEL and UTF-8 as they are.
 */
static void
test_json_str(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "", "\"\"" },
		{ "udp://[::1]:2055", "\"udp://[::1]:2055\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "\x01\x1f\n\t", "\"\\u0001\\u001f\\u000a\\u0009\"" },
		{ "\x7f \xc3\xa9", "\"\x7f \xc3\xa9\"" },
		{ "x\x1b", "\"x\\u001b\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct capture c = { "", 0 };
		struct fq_out *o = malloc(sizeof *o);
		if (o == NULL)
			return;
		fq_out_init_cb(o, capture_cb, &c);
		fq_format_json_str(o, cases[i].in);
		fq_out_flush(o);
		free(o);
		CHECK(strcmp(c.s, cases[i].want) == 0, "json_str %zu: got %s "
		      "want %s", i, c.s, cases[i].want);
	}
}

static void
test_json(void)
{
	struct fq_record r;
	fq_record_clear(&r);
	r.rec_id = 7;
	r.srcip = check_ip("10.0.0.1");
	r.dstip = check_ip("2001:db8::2");
	r.srcport = 1234;
	r.dstport = 80;
	r.prot = 6;
	r.packets = 18446744073709551615ULL;
	r.bytes = 1500;
	r.stime = 1335772141123LL;
	r.etime = 1335772142000LL;
	char buf[FQ_JSON_RECORD_MAX];
	size_t n = fq_format_json(&r, buf);
	buf[n] = '\0';
	const char *want =
		"{\"rec_id\":7,\"exporter\":\"0.0.0.0\",\"domain\":0,"
		"\"srcip\":\"10.0.0.1\",\"dstip\":\"2001:db8::2\","
		"\"nexthop\":\"0.0.0.0\",\"srcport\":1234,\"dstport\":80,"
		"\"prot\":6,\"tos\":0,\"tcp_flags\":0,"
		"\"packets\":18446744073709551615,\"bytes\":1500,"
		"\"stime\":1335772141123,\"stime_iso\":\"2012-04-30T07:49:01.123Z\","
		"\"etime\":1335772142000,\"etime_iso\":\"2012-04-30T07:49:02.000Z\","
		"\"duration\":877,\"input\":0,\"output\":0,\"src_as\":0,"
		"\"dst_as\":0,\"src_mask\":0,\"dst_mask\":0,\"engine_type\":0,"
		"\"engine_id\":0,\"sampling\":1,\"unix_secs\":0,\"unix_nsecs\":0,"
		"\"sysUpTime\":0}";
	CHECK(strcmp(buf, want) == 0, "\n got %s\nwant %s", buf, want);
	/* Worst case fits the documented bound. */
	memset(&r, 0xff, sizeof r);
	r.srcip = r.dstip = r.nexthop = r.exporter = check_ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	r.stime = r.etime = -9223372036854775807LL;
	n = fq_format_json(&r, buf);
	CHECK(n < FQ_JSON_RECORD_MAX, "worst case %zu", n);
	test_json_str();
}

/* fq_fmt_u64/i64 against printf: 0, every power of ten and its
 * neighbours, every length, both ends of the range, and a pseudo-random
 * sweep. */
static void
check_num(uint64_t v)
{
	char got[32], want[32];
	size_t n = fq_fmt_u64(got, v);
	got[n] = '\0';
	snprintf(want, sizeof want, "%llu", (unsigned long long)v);
	CHECK(strcmp(got, want) == 0 && n == strlen(want), "u64 %s: got %s (%zu)",
	      want, got, n);
	int64_t s = (int64_t)v;
	n = fq_fmt_i64(got, s);
	got[n] = '\0';
	snprintf(want, sizeof want, "%lld", (long long)s);
	CHECK(strcmp(got, want) == 0 && n == strlen(want), "i64 %s: got %s (%zu)",
	      want, got, n);
}

static void
test_num(void)
{
	check_num(0);
	check_num(UINT64_MAX);
	check_num((uint64_t)INT64_MAX);
	check_num((uint64_t)INT64_MIN);
	uint64_t p = 1;
	for (int k = 0; k < 20; k++) {
		for (uint64_t d = 0; d < 3; d++) {
			check_num(p + d);
			check_num(p - d);
			check_num(p * 5 + d);
		}
		if (k < 19)
			p *= 10;
	}
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_num(x >> (i % 64));   /* every length */
	}
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const char *c = argv[1];
	if (!strcmp(c, "ip"))
		test_ip();
	else if (!strcmp(c, "time"))
		test_time();
	else if (!strcmp(c, "field"))
		test_field();
	else if (!strcmp(c, "arena"))
		test_arena();
	else if (!strcmp(c, "json"))
		test_json();
	else if (!strcmp(c, "num"))
		test_num();
	else
		return 2;
	return failures ? 1 : 0;
}
