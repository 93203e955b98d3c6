/*
 * dec_test.h - helpers for the decoder tests: a datagram builder (big-endian
 * writes into a fixed buffer), a record collector used as the emit callback,
 * and check macros that count failures instead of aborting so one run shows
 * every broken case.
 */
#ifndef FQ_DEC_TEST_H
#define FQ_DEC_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "fq_error.h"
#include "fq_decoder.h"
#include "fq_record.h"

static int t_failures __attribute__((unused));

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			__LINE__, #cond); \
		t_failures++; \
	} \
} while (0)

#define CHECK_EQ(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { \
		fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
			__FILE__, __LINE__, #a, a_, #b, b_); \
		t_failures++; \
	} \
} while (0)

/* Datagram builder. */
struct buf {
	uint8_t b[65536];
	size_t n;
};

static inline void b_u8(struct buf *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static inline void b_u16(struct buf *b, unsigned v)
{
	b_u8(b, v >> 8);
	b_u8(b, v);
}
static inline void b_u32(struct buf *b, uint32_t v)
{
	b_u16(b, v >> 16);
	b_u16(b, v & 0xffff);
}
static inline void b_u64(struct buf *b, uint64_t v)
{
	b_u32(b, (uint32_t)(v >> 32));
	b_u32(b, (uint32_t)v);
}
static inline void b_bytes(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static inline void b_zero(struct buf *b, size_t n)
{
	memset(b->b + b->n, 0, n);
	b->n += n;
}
/* Patch a 16-bit value at offset off. */
static inline void b_put16(struct buf *b, size_t off, unsigned v)
{
	b->b[off] = (uint8_t)(v >> 8);
	b->b[off + 1] = (uint8_t)v;
}

/* Collected records. */
struct sink {
	struct fq_record *r;
	size_t n, cap;
	size_t calls;
};

static int
sink_emit(void *ctx, struct fq_record *recs, size_t n)
{
	struct sink *s = ctx;
	s->calls++;
	if (s->n + n > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		while (cap < s->n + n)
			cap *= 2;
		struct fq_record *nr = realloc(s->r, cap * sizeof *nr);
		if (nr == NULL)
			abort();
		s->r = nr;
		s->cap = cap;
	}
	memcpy(s->r + s->n, recs, n * sizeof *recs);
	s->n += n;
	return 0;
}

static inline void
sink_reset(struct sink *s)
{
	s->n = 0;
	s->calls = 0;
}

/* Datagram from 192.0.2.1:port on socket 0 (UDP), arrival `ms`. */
static inline void
dg_init(struct fq_datagram *dg, const struct buf *b, uint16_t port,
	int64_t ms)
{
	memset(dg, 0, sizeof *dg);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&dg->src;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	s4->sin_addr.s_addr = htonl(0xc0000201);
	dg->data = b->b;
	dg->len = b->n;
	dg->transport = FQ_TRANSPORT_UDP;
	dg->arrival_ms = ms;
}

/*
 * With FQ_CORPUS_DIR set, every datagram a test builds is also written as
 * a fuzz seed: v5 datagrams one per file (target collector-v5), v9/IPFIX
 * ones as length-prefixed sequences of up to 6 (target collector-v9-ipfix).
 */
static inline void
corpus_dump(const struct buf *b)
{
	static unsigned n5, nseq, inseq;
	static FILE *seq;
	const char *dir = getenv("FQ_CORPUS_DIR");
	if (dir == NULL || b->n < 2)
		return;
	char path[4096];
	if (b->b[0] == 0 && b->b[1] == 5) {
		snprintf(path, sizeof path, "%s/v5-%d-%u", dir, (int)getpid(),
			 n5++);
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(b->b, 1, b->n, f);
			fclose(f);
		}
		return;
	}
	if (seq == NULL || inseq == 6) {
		if (seq)
			fclose(seq);
		snprintf(path, sizeof path, "%s/seq-%d-%u", dir, (int)getpid(),
			 nseq++);
		seq = fopen(path, "wb");
		inseq = 0;
		if (seq)
			fputc(nseq % 3 == 0 ? 121 : 0, seq);
	}
	if (seq) {
		fputc((int)(b->n >> 8), seq);
		fputc((int)(b->n & 0xff), seq);
		fwrite(b->b, 1, b->n, seq);
		fflush(seq);
		inseq++;
	}
}

static inline int
feed(struct fq_decoder *d, const struct buf *b, uint16_t port, int64_t ms,
     struct sink *s)
{
	corpus_dump(b);
	struct fq_datagram dg;
	dg_init(&dg, b, port, ms);
	return fq_decoder_datagram(d, &dg, sink_emit, s);
}

/* The session of 192.0.2.1:port (first match in the list). */
static inline struct fq_exporter *
exporter_of(struct fq_decoder *d, uint16_t port)
{
	for (struct fq_exporter *ex = d->sessions.head; ex; ex = ex->next)
		if (ex->port == port)
			return ex;
	return NULL;
}

static inline uint64_t
mal_total(const struct fq_exporter *ex)
{
	uint64_t n = 0;
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		n += ex->malformed[i];
	return n;
}

#endif
