/*
 * ftstretch.c - stretch a flow-tools trace: N copies, each shifted in time.
 *
 * Usage: ftstretch IN OUT [-n COPIES] [-z]
 *
 * Copy k (0-based) of every record has its export header time moved
 * forward by k x (the trace's span, rounded up to a second, plus one
 * second); uptimes are kept, so stime and etime move by exactly the same
 * amount and the copies follow each other in time without overlapping.
 * The output is a stream-v3, little-endian flow-tools file with NetFlow v5
 * records, zlib-compressed with -z.  It streams: constant memory.
 *
 * Used for long-replay memory measurements (a day of traffic replayed for
 * weeks of stream time) and by bench/run.
 */
#include "ft_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BATCH 4096

static FILE *out;
static z_stream zs;
static int zip;
static unsigned char zbuf[1 << 16];

static void
emit(const void *p, size_t n)
{
	if (!zip) {
		if (fwrite(p, 1, n, out) != n) {
			perror("write");
			exit(1);
		}
		return;
	}
	zs.next_in = (unsigned char *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	while (zs.avail_in) {
		zs.next_out = zbuf;
		zs.avail_out = sizeof zbuf;
		deflate(&zs, Z_NO_FLUSH);
		fwrite(zbuf, 1, sizeof zbuf - zs.avail_out, out);
	}
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

/* A canonical record back into the 64-byte v5 layout, shifted. */
static void
encode(const struct fq_record *r, int64_t shift_s, unsigned char *p)
{
	uint32_t secs = (uint32_t)((int64_t)r->unix_secs + shift_s);
	int64_t export_ms = (int64_t)r->unix_secs * 1000 + r->unix_nsecs / 1000000;
	uint32_t first = r->sysuptime - (uint32_t)(export_ms - r->stime);
	uint32_t last = r->sysuptime - (uint32_t)(export_ms - r->etime);
	memset(p, 0, 64);
	put32(p + 0, secs);
	put32(p + 4, r->unix_nsecs);
	put32(p + 8, r->sysuptime);
	put32(p + 12, (uint32_t)r->exporter.lo);
	put32(p + 16, (uint32_t)r->srcip.lo);
	put32(p + 20, (uint32_t)r->dstip.lo);
	put32(p + 24, (uint32_t)r->nexthop.lo);
	put16(p + 28, r->input);
	put16(p + 30, r->output);
	put32(p + 32, (uint32_t)r->packets);
	put32(p + 36, (uint32_t)r->bytes);
	put32(p + 40, first);
	put32(p + 44, last);
	put16(p + 48, r->srcport);
	put16(p + 50, r->dstport);
	p[52] = r->prot;
	p[53] = r->tos;
	p[54] = (unsigned char)r->tcp_flags;
	p[56] = r->engine_type;
	p[57] = r->engine_id;
	p[58] = r->src_mask;
	p[59] = r->dst_mask;
	put16(p + 60, (unsigned)r->src_as);
	put16(p + 62, (unsigned)r->dst_as);
}

int
main(int argc, char **argv)
{
	int copies = 20, c;
	while ((c = getopt(argc, argv, "n:z")) != -1) {
		if (c == 'n')
			copies = atoi(optarg);
		else if (c == 'z')
			zip = 1;
		else
			goto usage;
	}
	if (optind != argc - 2 || copies < 1)
		goto usage;
	const char *in = argv[optind], *outp = argv[optind + 1];
	struct fq_record *recs = malloc(BATCH * sizeof *recs);
	char why[512];
	struct fq_ft_reader *r;

	/* Pass 1: the span. */
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	if (fq_ft_reader_open(&r, in, why, sizeof why) < 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	ssize_t n;
	while ((n = fq_ft_reader_read(r, recs, BATCH)) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (recs[i].stime < lo)
				lo = recs[i].stime;
			if (recs[i].etime > hi)
				hi = recs[i].etime;
		}
	fq_ft_reader_free(r);
	if (n < 0 || lo > hi) {
		fprintf(stderr, "%s: unreadable or empty\n", in);
		return 1;
	}
	int64_t span_s = (hi - lo + 999) / 1000 + 1;

	out = fopen(outp, "wb");
	if (out == NULL) {
		perror(outp);
		return 1;
	}
	unsigned char hdr[24] = { 0xCF, 0x10, 1, 3 };
	put32(hdr + 4, 24);
	put16(hdr + 8, 2);   /* TLV: record version 5 */
	put16(hdr + 10, 2);
	put16(hdr + 12, 5);
	put16(hdr + 14, 8);  /* TLV: flags */
	put16(hdr + 16, 4);
	put32(hdr + 18, zip ? 0x2 : 0);
	/* hdr[22..23] padding to a multiple of 4 */
	fwrite(hdr, 1, sizeof hdr, out);
	if (zip && deflateInit(&zs, 6) != Z_OK)
		return 1;

	unsigned char buf[BATCH * 64];
	uint64_t total = 0;
	for (int k = 0; k < copies; k++) {
		if (fq_ft_reader_open(&r, in, why, sizeof why) < 0) {
			fprintf(stderr, "%s\n", why);
			return 1;
		}
		while ((n = fq_ft_reader_read(r, recs, BATCH)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				encode(&recs[i], (int64_t)k * span_s, buf + i * 64);
			emit(buf, (size_t)n * 64);
			total += (uint64_t)n;
		}
		fq_ft_reader_free(r);
	}
	if (zip) {
		int zr;
		do {
			zs.next_out = zbuf;
			zs.avail_out = sizeof zbuf;
			zr = deflate(&zs, Z_FINISH);
			fwrite(zbuf, 1, sizeof zbuf - zs.avail_out, out);
		} while (zr == Z_OK);
		deflateEnd(&zs);
	}
	if (fclose(out) != 0) {
		perror(outp);
		return 1;
	}
	fprintf(stderr, "%llu records, %d copies, shift %lld s each\n",
		(unsigned long long)total, copies, (long long)span_s);
	free(recs);
	return 0;
usage:
	fprintf(stderr, "usage: ftstretch IN OUT [-n COPIES] [-z]\n");
	return 2;
}
