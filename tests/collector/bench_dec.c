/*
 * bench_dec.c - decode throughput on one core: NetFlow v5 (30 records per
 * datagram), v9 and IPFIX (a typical 18-field IPv4 template, 25 records per
 * datagram), records per second through fq_decoder_datagram() with an
 * emit that only touches the records.  `meson test --benchmark` runs it.
 */
#include "dec_test.h"
#include "fq_log.h"

#include <time.h>

static int
count_emit(void *ctx, struct fq_record *r, size_t n)
{
	uint64_t *sum = ctx;
	for (size_t i = 0; i < n; i++)
		*sum += r[i].bytes;
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 18 fields: the usual IPv4 flow template. */
static const unsigned F[][2] = {
	{ 8, 4 }, { 12, 4 }, { 15, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 },
	{ 5, 1 }, { 6, 1 }, { 10, 4 }, { 14, 4 }, { 16, 4 }, { 17, 4 },
	{ 9, 1 }, { 13, 1 }, { 1, 8 }, { 2, 8 }, { 152, 8 }, { 153, 8 },
};
#define NF (sizeof F / sizeof F[0])
#define NREC 25

static void
fill_record(struct buf *b, unsigned i, int v9)
{
	for (unsigned f = 0; f < NF; f++) {
		unsigned len = F[f][1];
		uint64_t v = 0x0a000000u + i * 7 + f;
		if (v9 && (F[f][0] == 152 || F[f][0] == 153))
			continue;
		for (unsigned k = len; k-- > 0;)
			b_u8(b, (unsigned)(v >> (8 * k)));
	}
	if (v9) {
		b_u32(b, 1000 + i);     /* FIRST_SWITCHED */
		b_u32(b, 2000 + i);     /* LAST_SWITCHED */
	}
}

static void
build_v9(struct buf *t, struct buf *d)
{
	t->n = 0;
	b_u16(t, 9); b_u16(t, 1); b_u32(t, 5000); b_u32(t, 1700000000);
	b_u32(t, 0); b_u32(t, 1);
	b_u16(t, 0); b_u16(t, 8 + 4 * NF);
	b_u16(t, 256); b_u16(t, NF);
	for (unsigned f = 0; f < NF; f++) {
		unsigned id = F[f][0] == 152 ? 22 : F[f][0] == 153 ? 21 : F[f][0];
		b_u16(t, id);
		b_u16(t, id == 21 || id == 22 ? 4 : F[f][1]);
	}
	d->n = 0;
	b_u16(d, 9); b_u16(d, NREC); b_u32(d, 5000); b_u32(d, 1700000000);
	b_u32(d, 1); b_u32(d, 1);
	size_t at = d->n + 2;
	b_u16(d, 256); b_u16(d, 0);
	for (unsigned i = 0; i < NREC; i++)
		fill_record(d, i, 1);
	b_put16(d, at, (unsigned)(d->n - at + 2));
}

static void
build_ipfix(struct buf *t, struct buf *d)
{
	t->n = 0;
	b_u16(t, 10); b_u16(t, 0); b_u32(t, 1700000000); b_u32(t, 0);
	b_u32(t, 1);
	b_u16(t, 2); b_u16(t, 8 + 4 * NF);
	b_u16(t, 256); b_u16(t, NF);
	for (unsigned f = 0; f < NF; f++) {
		b_u16(t, F[f][0]);
		b_u16(t, F[f][1]);
	}
	b_put16(t, 2, (unsigned)t->n);
	d->n = 0;
	b_u16(d, 10); b_u16(d, 0); b_u32(d, 1700000000); b_u32(d, 0);
	b_u32(d, 1);
	size_t at = d->n + 2;
	b_u16(d, 256); b_u16(d, 0);
	for (unsigned i = 0; i < NREC; i++)
		fill_record(d, i, 0);
	b_put16(d, at, (unsigned)(d->n - at + 2));
	b_put16(d, 2, (unsigned)d->n);
}

static void
build_v5(struct buf *d)
{
	d->n = 0;
	b_u16(d, 5); b_u16(d, 30); b_u32(d, 5000); b_u32(d, 1700000000);
	b_u32(d, 0); b_u32(d, 0); b_u8(d, 0); b_u8(d, 0); b_u16(d, 0);
	for (unsigned i = 0; i < 30; i++) {
		b_u32(d, 0x0a000001 + i); b_u32(d, 0xc0a80001); b_u32(d, 0);
		b_u16(d, 1); b_u16(d, 2); b_u32(d, 10); b_u32(d, 1000);
		b_u32(d, 1000); b_u32(d, 2000); b_u16(d, 1234); b_u16(d, 80);
		b_u8(d, 0); b_u8(d, 0x1b); b_u8(d, 6); b_u8(d, 0);
		b_u16(d, 1); b_u16(d, 2); b_u8(d, 24); b_u8(d, 24);
		b_u16(d, 0);
	}
}

static void
run(const char *name, struct buf *tpl, struct buf *data, unsigned per,
    double secs)
{
	/* "ipfix-own": IPFIX data through flowq's own engine. */
	struct fq_decoder_opts o = { 0 };
	if (strcmp(name, "ipfix-own") == 0)
		o.ipfix = FQ_IPFIX_NATIVE;
	struct fq_decoder *d;
	if (fq_decoder_new(&d, &o) < 0)
		return;
	uint64_t sum = 0;
	struct fq_datagram dg;
	if (tpl) {
		dg_init(&dg, tpl, 1, 0);
		fq_decoder_datagram(d, &dg, count_emit, &sum);
	}
	dg_init(&dg, data, 1, 0);
	uint64_t n = 0;
	double t0 = now_s(), t1;
	do {
		for (int i = 0; i < 1000; i++)
			fq_decoder_datagram(d, &dg, count_emit, &sum);
		n += 1000;
		t1 = now_s();
	} while (t1 - t0 < secs);
	struct fq_exporter *ex = d->sessions.head;
	printf("%-9s %12.0f records/s (%llu records, %llu malformed)\n", name,
	       (double)(n * per) / (t1 - t0),
	       (unsigned long long)(ex ? ex->records : 0),
	       (unsigned long long)(ex ? mal_total(ex) : 0));
	fq_decoder_free(d);
}

int
main(int argc, char **argv)
{
	fq_log_set_level(FQ_LOG_ERROR);
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	const char *only = argc > 2 ? argv[2] : "";  /* v5, v9 or ipfix */
	static struct buf t, b;
	if (!*only || strcmp(only, "v5") == 0) {
		build_v5(&b);
		run("v5", NULL, &b, 30, secs);
	}
	if (!*only || strcmp(only, "v9") == 0) {
		build_v9(&t, &b);
		run("v9", &t, &b, NREC, secs);
	}
	if (!*only || strcmp(only, "ipfix") == 0) {
		build_ipfix(&t, &b);
		run("ipfix", &t, &b, NREC, secs);
	}
	if (!*only || strcmp(only, "ipfix-own") == 0) {
		build_ipfix(&t, &b);
		run("ipfix-own", &t, &b, NREC, secs);
	}
	return 0;
}
