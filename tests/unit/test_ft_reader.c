/*
 * test_ft_reader.c - unit tests of the flow-tools reader.
 *
 * Files come from the test writer (ftwriter.c) in every stream version,
 * byte order, compression and record version the reader claims, with
 * enough records to cross the reader's internal buffer boundaries; each
 * record read back is compared field by field with what was written.
 * Damaged files must give every record before the damage, then an error
 * naming the file and byte offset.
 *
 * Usage: test-ft-reader CASE TMPDIR
 */
#include "ft_reader.h"
#include "ftwriter.h"
#include "fq_error.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t
expect_ms(const struct ftw_rec *w, uint32_t t, unsigned s_version)
{
	if (s_version == 1)
		return (int64_t)w->unix_secs * 1000 + w->unix_msecs -
		       (int64_t)(uint32_t)(0u - t);
	return (int64_t)w->unix_secs * 1000 + w->unix_nsecs / 1000000 -
	       (int64_t)(uint32_t)(w->sysuptime - t);
}

static void
compare(const struct ftw_rec *w, const struct fq_record *r,
	const struct ftw_opts *o, size_t i)
{
	int has_eng = o->s_version == 3 && o->d_version != 1;
	int has_as = has_eng || (o->s_version == 1 && o->d_version == 5);
	CHECK(r->srcip.lo == w->srcaddr && !r->srcip.is6, "rec %zu srcip", i);
	CHECK(r->dstip.lo == w->dstaddr, "rec %zu dstip", i);
	CHECK(r->nexthop.lo == w->nexthop, "rec %zu nexthop", i);
	CHECK(r->input == w->input && r->output == w->output, "rec %zu if", i);
	CHECK(r->packets == w->dpkts, "rec %zu packets", i);
	CHECK(r->bytes == w->doctets, "rec %zu bytes", i);
	CHECK(r->srcport == w->srcport && r->dstport == w->dstport,
	      "rec %zu ports", i);
	CHECK(r->prot == w->prot && r->tos == w->tos, "rec %zu prot/tos", i);
	CHECK(r->tcp_flags == w->tcp_flags, "rec %zu flags", i);
	CHECK(r->sampling == 1, "rec %zu sampling", i);
	CHECK(r->stime == expect_ms(w, w->first, o->s_version),
	      "rec %zu stime %lld", i, (long long)r->stime);
	CHECK(r->etime == expect_ms(w, w->last, o->s_version),
	      "rec %zu etime %lld", i, (long long)r->etime);
	if (o->s_version == 3) {
		CHECK(r->exporter.lo == w->exaddr, "rec %zu exporter", i);
		CHECK(r->unix_secs == w->unix_secs && r->unix_nsecs == w->unix_nsecs &&
		      r->sysuptime == w->sysuptime, "rec %zu header fields", i);
	}
	if (has_eng) {
		CHECK(r->engine_type == w->engine_type && r->engine_id == w->engine_id,
		      "rec %zu engine", i);
		CHECK(r->domain == ((uint32_t)w->engine_type << 8 | w->engine_id),
		      "rec %zu domain", i);
	} else {
		CHECK(r->engine_type == 0 && r->domain == 0, "rec %zu no engine", i);
	}
	if (has_as) {
		CHECK(r->src_as == w->src_as && r->dst_as == w->dst_as, "rec %zu as", i);
		CHECK(r->src_mask == w->src_mask && r->dst_mask == w->dst_mask,
		      "rec %zu masks", i);
	} else {
		CHECK(r->src_as == 0 && r->src_mask == 0, "rec %zu no as", i);
	}
}

#define NREC 10007   /* crosses the 256 KiB raw buffer several times */

static struct ftw_rec *
make_recs(size_t n)
{
	struct ftw_rec *w = calloc(n, sizeof *w);
	for (size_t i = 0; i < n; i++)
		ftw_make_rec(&w[i], i);
	return w;
}

/* Read a whole file in batches of odd size; returns count, sets *err. */
static size_t
read_all(const char *path, struct fq_record *out, size_t cap, int *err,
	 char *msg, size_t msg_len)
{
	struct fq_ft_reader *r;
	*err = fq_ft_reader_open(&r, path, msg, msg_len);
	if (*err < 0)
		return 0;
	size_t n = 0;
	for (;;) {
		size_t want = cap - n < 333 ? cap - n : 333;
		ssize_t k = fq_ft_reader_read(r, out + n, want);
		if (k < 0) {
			*err = (int)k;
			snprintf(msg, msg_len, "%s", fq_ft_reader_error(r));
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	fq_ft_reader_free(r);
	return n;
}

static void
roundtrip(const char *dir, const struct ftw_opts *o)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/ft-s%u-v%u-%s-%s", dir, o->s_version,
		 o->d_version, o->big_endian ? "be" : "le",
		 o->compressed ? "z" : "raw");
	struct ftw_rec *w = make_recs(NREC);
	CHECK(ftw_write(path, o, w, NREC, NULL, NULL) == 0, "write %s", path);
	struct fq_record *recs = calloc(NREC + 10, sizeof *recs);
	int err;
	char msg[512] = "";
	size_t n = read_all(path, recs, NREC + 10, &err, msg, sizeof msg);
	CHECK(err == 0, "%s: %s", path, msg);
	CHECK(n == NREC, "%s: read %zu records", path, n);
	for (size_t i = 0; i < n && i < NREC; i++)
		compare(&w[i], &recs[i], o, i);

	/* One concrete wrap case: record 3 was written across the wrap. */
	if (n > 3 && o->s_version == 3) {
		/* sysuptime 5003, first 0xFFFFF000 + 3: 4096 - 3 + 5003 ms
		 * before the export time. */
		int64_t export_ms = (int64_t)w[3].unix_secs * 1000 +
				    w[3].unix_nsecs / 1000000;
		CHECK(recs[3].stime == export_ms - (4096 - 3 + 5003),
		      "uptime wrap: stime %lld", (long long)recs[3].stime);
		CHECK(recs[3].etime == export_ms - (5003 - 1003),
		      "uptime wrap: etime %lld", (long long)recs[3].etime);
	}
	free(recs);
	free(w);
	unlink(path);
}

static void
test_formats(const char *dir, unsigned s_version)
{
	static const unsigned v3[] = { 1, 5, 6, 7, 1005 };
	static const unsigned v1[] = { 1, 5 };
	const unsigned *dv = s_version == 3 ? v3 : v1;
	size_t ndv = s_version == 3 ? 5 : 2;
	for (size_t d = 0; d < ndv; d++)
		for (int be = 0; be < 2; be++)
			for (int z = 0; z < 2; z++) {
				struct ftw_opts o = { s_version, dv[d], be, z };
				roundtrip(dir, &o);
			}
}

static long last_hdr;   /* header length of the last damaged() file */

/* Write a good file, then cut or damage it, and read it back. */
static void
damaged(const char *dir, int compressed, long cut_from_end, long extra,
	int flip_at, size_t compare_max, size_t *got, int *err, char *msg,
	size_t msg_len)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/ft-damaged", dir);
	struct ftw_rec *w = make_recs(NREC);
	struct ftw_opts o = { 3, 5, 0, compressed };
	long size, hdr;
	ftw_write(path, &o, w, NREC, &size, &hdr);
	last_hdr = hdr;
	FILE *f = fopen(path, "r+b");
	if (cut_from_end > 0 && truncate(path, size - cut_from_end) != 0)
		failures++;
	if (extra > 0) {
		fseek(f, 0, SEEK_END);
		for (long i = 0; i < extra; i++)
			fputc(0x55, f);
	}
	if (flip_at >= 0) {
		/* Overwrite a run of compressed bytes in the middle. */
		fseek(f, hdr + flip_at, SEEK_SET);
		for (int i = 0; i < 64; i++)
			fputc(0xff, f);
	}
	fclose(f);
	struct fq_record *recs = calloc(NREC + 10, sizeof *recs);
	*got = read_all(path, recs, NREC + 10, err, msg, msg_len);
	for (size_t i = 0; i < *got && i < NREC && i < compare_max; i++)
		compare(&w[i], &recs[i], &o, i);
	free(recs);
	free(w);
	unlink(path);
}

static void
test_short_record(const char *dir)
{
	size_t got;
	int err;
	char msg[512];
	damaged(dir, 0, 0, 10, -1, NREC, &got, &err, msg, sizeof msg);
	CHECK(got == NREC, "records before the damage: %zu", got);
	CHECK(err == -FQ_ETRUNC, "err %d", err);
	CHECK(strstr(msg, "ft-damaged") && strstr(msg, "short record"), "%s", msg);
	/* The partial record starts right after the last whole one. */
	char want[64];
	snprintf(want, sizeof want, "byte %ld: short record", last_hdr + NREC * 64L);
	CHECK(strstr(msg, want) != NULL, "%s (want %s)", msg, want);
	/* Also cut a record in the middle. */
	damaged(dir, 0, 20, 0, -1, NREC, &got, &err, msg, sizeof msg);
	CHECK(got == NREC - 1, "records before the cut: %zu", got);
	CHECK(err == -FQ_ETRUNC, "err %d", err);
}

static void
test_truncated_zlib(const char *dir)
{
	size_t got;
	int err;
	char msg[512];
	damaged(dir, 1, 5000, 0, -1, NREC, &got, &err, msg, sizeof msg);
	CHECK(err == -FQ_ETRUNC, "err %d (%s)", err, msg);
	CHECK(got > 0 && got < NREC, "records before the damage: %zu", got);
	CHECK(strstr(msg, "truncated compressed stream") && strstr(msg, "byte "),
	      "%s", msg);
}

static void
test_corrupt_zlib(const char *dir)
{
	size_t got;
	int err;
	char msg[512];
	/*
	 * Deflate has no per-block check: garbage after the damaged bytes
	 * may inflate "successfully" for a while before zlib notices.  Only
	 * records inflated from bytes before the damage are known good; at
	 * this file's compression ratio that is well over the first 500.
	 */
	damaged(dir, 1, 0, 0, 20000, 500, &got, &err, msg, sizeof msg);
	CHECK(err == -FQ_ECORRUPT, "err %d (%s)", err, msg);
	CHECK(got < NREC, "records before the damage: %zu", got);
	CHECK(strstr(msg, "corrupt compressed data"), "%s", msg);
}

static void
write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

static void
test_bad_headers(const char *dir)
{
	char path[4200], msg[512];
	struct fq_ft_reader *r;
	snprintf(path, sizeof path, "%s/ft-bad", dir);

	write_bytes(path, "\xcf\x10\x01\x03\x18\x00", 6);
	int rc = fq_ft_reader_open(&r, path, msg, sizeof msg);
	CHECK(rc == -FQ_ETRUNC && strstr(msg, "truncated flow-tools header"),
	      "truncated header: %d %s", rc, msg);

	write_bytes(path, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x00", 10);
	rc = fq_ft_reader_open(&r, path, msg, sizeof msg);
	CHECK(rc == -FQ_ECORRUPT && strstr(msg, "bad magic") &&
	      strstr(msg, "ft-bad: byte 0"), "bad magic: %d %s", rc, msg);

	write_bytes(path, "\xcf\x10\x01\x07\x00\x00\x00\x00", 8);
	rc = fq_ft_reader_open(&r, path, msg, sizeof msg);
	CHECK(rc == -FQ_EUNSUP && strstr(msg, "stream version 7"), "%s", msg);

	/* A TLV claiming more bytes than the header holds. */
	write_bytes(path, "\xcf\x10\x01\x03\x10\x00\x00\x00"
			  "\x02\x00\xff\x00\x05\x00\x00\x00", 16);
	rc = fq_ft_reader_open(&r, path, msg, sizeof msg);
	CHECK(rc == -FQ_ECORRUPT && strstr(msg, "TLV"), "%s", msg);

	/* Record version 8 (aggregated) is refused, not misread. */
	write_bytes(path, "\xcf\x10\x01\x03\x10\x00\x00\x00"
			  "\x02\x00\x02\x00\x08\x00\x00\x00", 16);
	rc = fq_ft_reader_open(&r, path, msg, sizeof msg);
	CHECK(rc == -FQ_EUNSUP && strstr(msg, "record version 8"), "%s", msg);

	/* Empty but valid file: zero records, no error. */
	struct ftw_opts o = { 3, 5, 1, 1 };
	ftw_write(path, &o, NULL, 0, NULL, NULL);
	struct fq_record rec;
	rc = fq_ft_reader_open(&r, path, msg, sizeof msg);
	CHECK(rc == 0, "empty file: %s", msg);
	if (rc == 0) {
		CHECK(fq_ft_reader_read(r, &rec, 1) == 0, "empty file read");
		fq_ft_reader_free(r);
	}
	unlink(path);
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
	snprintf(dir, sizeof dir, "%s/ft-reader-%s-XXXXXX", argv[2], c);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	if (!strcmp(c, "stream3"))
		test_formats(dir, 3);
	else if (!strcmp(c, "stream1"))
		test_formats(dir, 1);
	else if (!strcmp(c, "short-record"))
		test_short_record(dir);
	else if (!strcmp(c, "truncated-zlib"))
		test_truncated_zlib(dir);
	else if (!strcmp(c, "corrupt-zlib"))
		test_corrupt_zlib(dir);
	else if (!strcmp(c, "bad-headers"))
		test_bad_headers(dir);
	else {
		fprintf(stderr, "unknown case %s\n", c);
		return 2;
	}
	rmdir(dir);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
