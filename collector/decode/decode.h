/*
 * decode.h - what the decoder files share: the decoder itself, the
 * per-datagram context, the record batch, and the format registry.
 *
 * A datagram is decoded by the first format of the registry whose match()
 * accepts its header (formats.c); the format's decode() fills records into
 * the decoder's batch through fq__slot()/fq__commit(), which hand them to
 * emit every FQ__BATCH records, so nothing is allocated per record.
 * Anything wrong with the datagram goes through fq__malformed(), once.
 *
 * Private to the collector (the tests include it); the rest of flowq sees
 * only fq_decoder.h.
 */
#ifndef FQ_DECODE_H
#define FQ_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "exporter.h"
#include "fq_datagram.h"
#include "fq_decoder.h"
#include "fq_ip.h"
#include "fq_log.h"
#include "fq_record.h"
#include "wire.h"

/* Records handed to emit per call; the batch lives in struct fq_decoder. */
#define FQ__BATCH 256

struct fq__dctx;

/*
 * One export format: a row of the registry.  Adding a format is a new
 * file with its match() and decode() and one row in formats.c.
 */
struct fq__format {
	const char *name;               /* "netflow-v5", ... */
	/*
	 * Whether the datagram is of this format, from its own header (a
	 * 16-bit version for NetFlow and IPFIX; a format may read a 32-bit
	 * one, or more).  len >= 4: shorter datagrams are malformed before
	 * any match.  Rows are tried in order; the first match decodes.
	 */
	int (*match)(const uint8_t *p, size_t len);
	/* Decode the whole datagram; problems go to fq__malformed(). */
	void (*decode)(struct fq__dctx *c, const uint8_t *p, size_t len);
};

/* The registry (formats.c): what every decoder recognises. */
extern const struct fq__format fq__formats[];
extern const size_t fq__n_formats;

/* The formats (nf5.c, nf9.c, ipfix.c). */
int fq__nf5_match(const uint8_t *p, size_t len);
void fq__nf5_decode(struct fq__dctx *c, const uint8_t *p, size_t len);
int fq__nf9_match(const uint8_t *p, size_t len);
void fq__nf9_decode(struct fq__dctx *c, const uint8_t *p, size_t len);
int fq__ipfix_match(const uint8_t *p, size_t len);
void fq__ipfix_decode(struct fq__dctx *c, const uint8_t *p, size_t len);

struct fq__ipfix_model;                 /* ipfix_fixbuf.c, opaque */

struct fq_decoder {
	struct fq_decoder_opts opts;    /* allow arrays borrowed */
	struct fq__sessions sessions;   /* exporters, their templates */
	/* The registry this decoder uses: fq__formats unless a test says. */
	const struct fq__format *formats;
	size_t n_formats;

	int64_t clock_ms;               /* largest arrival time seen */
	int64_t expire_ms;              /* last session expiry scan */
	struct fq_ratelimit rl;         /* messages about network input */
	/*
	 * Decode IPFIX data records with flowq's own template engine (the v9
	 * one) instead of libfixbuf: `--ipfix-decoder native`
	 * (fq_decoder_opts.ipfix), and the tests that compare the two record
	 * by record.
	 */
	int ipfix_own;
	struct fq__ipfix_model *ipfix_model;   /* ipfix_fixbuf.c, owned */
	/*
	 * On a cache line (the decoder is allocated aligned): each 192-byte
	 * record then fills exactly three lines, and the 16-byte stores of
	 * fq_record_clear never straddle two.  The offset of the batch used
	 * to decide this by chance, and moving fields around moved it.
	 */
	_Alignas(64) struct fq_record batch[FQ__BATCH];
	/*
	 * IPFIX: the checked copy of a message that libfixbuf gets, and the
	 * template ids withdrawn by it (a message of 65535 bytes holds at
	 * most 16380 four-byte withdrawal records).
	 */
	uint8_t ipfix_out[65536];
	uint16_t withdrawn[16384];
	uint16_t data_sets[16384];      /* offsets of data sets in ipfix_out */
};

/*
 * Tests: decode with another registry (a borrowed table that outlives the
 * decoder), e.g. the built-in rows plus a format under test.
 */
void fq__decoder_set_formats(struct fq_decoder *d,
			     const struct fq__format *formats, size_t n);

/* Per-datagram decoding context: the batch and where it goes. */
struct fq__dctx {
	struct fq_decoder *d;
	struct fq_exporter *ex;
	struct fq__domain *dom;         /* the datagram's, once known */
	const struct fq_datagram *dg;
	fq_emit_fn emit;
	void *emit_ctx;
	int rc;                         /* first emit error */
	size_t n;                       /* records pending in d->batch */
	int64_t now_ms;                 /* arrival time (0 = unknown) */
	int malformed;                  /* counted as malformed already */
	int anomaly_logged;             /* one anomaly message per datagram */
};

/* Sends the pending batch to emit (once emit failed, records are dropped). */
void fq__flush(struct fq__dctx *c);

/*
 * Counts a malformed datagram and logs it (rate-limited); a datagram is
 * counted once, under the first reason found for it.
 */
void fq__malformed(struct fq__dctx *c, enum fq__mal why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Counts the datagram as malformed for `why` (fq__domain_get); NULL. */
struct fq__domain *fq__dctx_no_domain(struct fq__dctx *c, enum fq__mal why,
				      uint32_t id);

/*
 * The datagram's observation domain (fq__domain_get), or NULL when the
 * session cannot have one: then the datagram is counted as malformed.
 * Inline: it runs once per datagram.
 */
static inline struct fq__domain *
fq__dctx_domain(struct fq__dctx *c, uint8_t version, uint32_t id)
{
	enum fq__mal why;
	struct fq__domain *dom = fq__domain_get(c->ex, version, id, &why);
	c->dom = dom;
	return dom ? dom : fq__dctx_no_domain(c, why, id);
}

/*
 * Counts an anomaly of the datagram or record under its exporter and logs
 * it (rate-limited); nothing is dropped for it (sanity.c).
 */
void fq__anomaly(struct fq__dctx *c, enum fq__anom why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Decoded times, in Unix ms.  FQ__TIME_MAX is the end of year 9999: 64-bit
 * wire times can say anything up to 2^64, and taken as they are they made
 * `etime - stime` overflow.  FQ__TIME_MIN is 1990-01-01: no flow exporter
 * predates it, so an earlier time is a clock or an encoding gone wrong.
 */
#define FQ__TIME_MAX 253402300799999LL
#define FQ__TIME_MIN 631152000000LL
/* A time past arrival + this is in the future (as `run --max-skew`). */
#define FQ__DEFAULT_MAX_SKEW_MS (10 * 60 * 1000LL)

/*
 * Whether a decoded time is sane: -1 when it is, else the anomaly
 * (FQ__ANOM_TIME_INVALID outside [0, FQ__TIME_MAX], _PAST before 1990,
 * _FUTURE past the arrival time plus the max skew).
 */
int fq__time_check(const struct fq__dctx *c, int64_t t);

/*
 * A record's times before commit: out-of-window times counted and kept as
 * they are, times that are no time (negative) counted and replaced by the
 * other time or `fallback` (the export time, >= 0), a negative duration
 * counted and etime set to stime (docs/decoders.md, "Times").
 */
void fq__times_settle(struct fq__dctx *c, struct fq_record *r,
		      int64_t fallback);

/* Next free record slot of the batch, cleared; commit with fq__commit(). */
static inline struct fq_record *
fq__slot(struct fq__dctx *c)
{
	if (c->n == FQ__BATCH)
		fq__flush(c);
	struct fq_record *r = &c->d->batch[c->n];
	fq_record_clear(r);
	return r;
}

static inline void
fq__commit(struct fq__dctx *c, struct fq_record *r)
{
	fq_ip_set(&r->exporter, &c->ex->ip);
	if (c->d->opts.scale_sampled && r->sampling > 1) {
		r->packets *= r->sampling;
		r->bytes *= r->sampling;
	}
	c->n++;
	c->ex->records++;
	if (c->dom)
		c->dom->records++;
}

#endif
