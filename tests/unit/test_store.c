/*
 * test_store.c - unit tests of the store's file format and directory
 * (collector/store/).
 *
 *   roundtrip  records with random values in every field, every one of the
 *              16 combinations of address families, extreme values, go
 *              through the encoder and the decoder and come back byte for
 *              byte (rec_id aside, which the ingest gives)
 *   truncated  a file cut inside a message gives the records before the
 *              cut and then an error, every cut point
 *   names      file names of intervals, the listing's order, names that
 *              are not a store's ignored
 *   time       --since/--until's RFC 3339 and epoch forms, and refusals
 *
 * Usage: test-store CASE TMPDIR
 */
#include "fq_error.h"
#include "fq_store.h"
#include "store_ipfix.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
rnd_ip(struct fq_ip *a, int is6)
{
	if (is6) {
		a->hi = rnd();
		a->lo = rnd();
		a->is6 = 1;
	} else {
		a->lo = (uint32_t)rnd();
	}
}

static void
make(struct fq_record *r, unsigned i)
{
	fq_record_clear(r);
	unsigned combo = i % 16;
	rnd_ip(&r->exporter, combo & 1);
	rnd_ip(&r->srcip, combo >> 1 & 1);
	rnd_ip(&r->dstip, combo >> 2 & 1);
	rnd_ip(&r->nexthop, combo >> 3 & 1);
	r->stime = i == 1 ? INT64_MIN : (int64_t)(rnd() >> 20) - (1LL << 40);
	r->etime = i == 1 ? INT64_MAX : (int64_t)(rnd() >> 20);
	r->packets = i == 2 ? UINT64_MAX : rnd();
	r->bytes = rnd();
	r->arrival = (int64_t)(rnd() >> 1);
	r->domain = (uint32_t)rnd();
	r->input = (uint32_t)rnd();
	r->output = (uint32_t)rnd();
	r->src_as = (uint32_t)rnd();
	r->dst_as = (uint32_t)rnd();
	r->sampling = (uint32_t)rnd();
	r->unix_secs = (uint32_t)rnd();
	r->unix_nsecs = (uint32_t)rnd();
	r->sysuptime = (uint32_t)rnd();
	r->srcport = (uint16_t)rnd();
	r->dstport = (uint16_t)rnd();
	r->tcp_flags = (uint16_t)rnd();
	r->prot = (uint8_t)rnd();
	r->tos = (uint8_t)rnd();
	r->src_mask = (uint8_t)rnd();
	r->dst_mask = (uint8_t)rnd();
	r->engine_type = (uint8_t)rnd();
	r->engine_id = (uint8_t)rnd();
}

static int
put_file(void *ctx, const void *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : -FQ_EIO;
}

#define N 5000

/* Write recs to path; its size. */
static long
write_file(const char *path, const struct fq_record *recs, size_t n)
{
	FILE *f = fopen(path, "wb");
	struct fq__store_enc *e;
	char why[256];
	CHECK(fq__store_enc_new(put_file, f, &e, why, sizeof why) == 0, "%s",
	      why);
	for (size_t i = 0; i < n; i++)
		CHECK(fq__store_enc_append(e, &recs[i]) == 0, "append %zu", i);
	CHECK(fq__store_enc_emit(e) == 0, "emit");
	fq__store_enc_free(e);
	long size = ftell(f);
	fclose(f);
	return size;
}

/* Read path; how many records, *status the last read's. */
static size_t
read_file(const char *path, struct fq_record *out, size_t cap, int *status)
{
	struct fq__store_dec *d;
	char why[256];
	*status = fq__store_dec_open(path, &d, why, sizeof why);
	if (*status < 0)
		return 0;
	size_t n = 0;
	ssize_t k;
	while ((k = fq__store_dec_read(d, out + n, cap - n < 100 ? cap - n
				       : 100)) > 0)
		n += (size_t)k;
	*status = (int)k;
	fq__store_dec_free(d);
	return n;
}

static void
test_roundtrip(const char *dir)
{
	static struct fq_record in[N], out[N + 1];
	for (unsigned i = 0; i < N; i++)
		make(&in[i], i);
	char path[4200];
	snprintf(path, sizeof path, "%s/rt.ipfix", dir);
	long size = write_file(path, in, N);
	int st;
	size_t n = read_file(path, out, N + 1, &st);
	CHECK(st == 0 && n == N, "read %zu of %d, status %d", n, N, st);
	for (size_t i = 0; i < n && i < N; i++)
		CHECK(memcmp(&in[i], &out[i], sizeof in[i]) == 0,
		      "record %zu (families %zu) differs", i, i % 16);
	printf("%d records, %ld bytes: %.1f bytes per record\n", N, size,
	       (double)size / N);
}

static void
test_truncated(const char *dir)
{
	static struct fq_record in[300], out[301];
	for (unsigned i = 0; i < 300; i++)
		make(&in[i], i);
	char path[4200], cut[4300];
	snprintf(path, sizeof path, "%s/full.ipfix", dir);
	snprintf(cut, sizeof cut, "%s/cut.ipfix", dir);
	long size = write_file(path, in, 300);
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc((size_t)size);
	CHECK(fread(b, 1, (size_t)size, f) == (size_t)size, "read back");
	fclose(f);
	for (long at = 0; at < size; at += 7) {
		FILE *g = fopen(cut, "wb");
		fwrite(b, 1, (size_t)at, g);
		fclose(g);
		int st;
		size_t n = read_file(cut, out, 301, &st);
		CHECK(n <= 300, "cut at %ld: %zu records", at, n);
		for (size_t i = 0; i < n && i < 300; i++)
			CHECK(memcmp(&in[i], &out[i], sizeof in[i]) == 0,
			      "cut at %ld: record %zu differs", at, i);
	}
	free(b);
}

static void
touch(const char *dir, const char *sub, const char *name)
{
	char p[4300];
	snprintf(p, sizeof p, "%s/%s", dir, sub);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(p, "wb");
	fputs("x", f);
	fclose(f);
}

static void
test_names(const char *dir)
{
	char buf[64];
	fq__store_name(1765141200000LL, 0, buf, sizeof buf);
	CHECK(strcmp(buf, "flowq.202512072100") == 0, "%s", buf);
	fq__store_name(1765141205000LL, 1, buf, sizeof buf);
	CHECK(strcmp(buf, "flowq.20251207210005") == 0, "%s", buf);
	touch(dir, "a", "flowq.202512072105.ipfix");
	touch(dir, "a", "flowq.202512072100.1.ipfix");
	touch(dir, "a", "flowq.202512072100.ipfix");
	touch(dir, "a", "flowq.20251207210500.ipfix.current");
	touch(dir, "a", "flowq.202512072100.ipfix.tmp");
	touch(dir, "a", "flowq.2025120721.ipfix");
	touch(dir, "a", "notes.txt");
	struct fq_store_file *v;
	size_t n;
	char why[256];
	CHECK(fq_store_list(dir, &v, &n, why, sizeof why) == 0, "%s", why);
	const char *want[] = { "flowq.202512072100.ipfix",
			       "flowq.202512072100.1.ipfix",
			       "flowq.202512072105.ipfix",
			       "flowq.20251207210500.ipfix.current" };
	CHECK(n == 4, "%zu files listed", n);
	for (size_t i = 0; i < n && i < 4; i++)
		CHECK(strcmp(strrchr(v[i].path, '/') + 1, want[i]) == 0,
		      "%zu: %s", i, v[i].path);
	CHECK(n == 4 && v[3].current && v[2].start_ms == 1765141500000LL &&
	      v[1].seq == 1, "fields");
	fq_store_list_free(v, n);
}

static void
test_time(void)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{ "1765141200", 1765141200000LL },
		{ "1765141200.25", 1765141200250LL },
		{ "2025-12-07T21:00:00Z", 1765141200000LL },
		{ "2025-12-07 21:00:00.5Z", 1765141200500LL },
		{ "2025-12-07T22:00:00+01:00", 1765141200000LL },
		{ "2025-12-07T20:30:00.123456-00:30", 1765141200123LL },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t ms = 0;
		CHECK(fq_store_parse_time(ok[i].s, &ms) == 0 &&
		      ms == ok[i].ms, "%s -> %lld", ok[i].s, (long long)ms);
	}
	static const char *const bad[] = { "", "yesterday", "12ab",
		"2025-13-07T21:00:00Z", "2025-12-07T21:00:00", "2025-12-07",
		"2025-12-07T21:00:00+1", "1765141200.", "-5" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms;
		CHECK(fq_store_parse_time(bad[i], &ms) < 0, "'%s' taken",
		      bad[i]);
	}
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CASE TMPDIR\n", argv[0]);
		return 2;
	}
	const char *c = argv[1];
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/store-%s-XXXXXX", argv[2], c);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	if (!strcmp(c, "roundtrip"))
		test_roundtrip(dir);
	else if (!strcmp(c, "truncated"))
		test_truncated(dir);
	else if (!strcmp(c, "names"))
		test_names(dir);
	else if (!strcmp(c, "time"))
		test_time();
	else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	return failures ? 1 : 0;
}
