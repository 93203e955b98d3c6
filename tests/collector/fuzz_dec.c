/*
 * fuzz_dec.c - libFuzzer target: NetFlow v9 and IPFIX as a sequence of
 * datagrams from one exporter, so templates defined by one datagram are
 * used, redefined, withdrawn and expired by the next ones.
 *
 * Input: a 1-byte header (bit 0: IPFIX over TCP instead of UDP; the other
 * bits: seconds added to the arrival clock per datagram, so UDP template
 * expiry is reached), then datagrams, each prefixed by its 16-bit
 * big-endian length.  A small template cap and lifetime make the limits
 * reachable.  Every record that comes out is read in full, so sanitizers
 * see uninitialised or out-of-bounds fields.
 *
 * Differential check: the sequence is decoded twice, IPFIX data records
 * once through libfixbuf and once through flowq's own template engine
 * (fq_decoder_opts.ipfix); when no datagram was malformed, both must give
 * byte-identical records, or the target aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fq_decoder.h"
#include "fq_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct recs {
	struct fq_record *r;
	size_t n, cap;
};

static int
emit(void *ctx, struct fq_record *r, size_t n)
{
	struct recs *rs = ctx;
	if (rs->n + n > rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		while (cap < rs->n + n)
			cap *= 2;
		struct fq_record *nr = realloc(rs->r, cap * sizeof *nr);
		if (nr == NULL)
			return -1;
		rs->r = nr;
		rs->cap = cap;
	}
	memcpy(rs->r + rs->n, r, n * sizeof *r);
	rs->n += n;
	return 0;
}

/* Decodes the whole sequence; returns the number of malformed datagrams. */
static uint64_t
decode(const uint8_t *data, size_t size, int own, struct recs *rs)
{
	struct fq_decoder_opts o = { 0 };
	o.max_templates = 8;
	o.template_timeout_ms = 60000;
	o.exporter_idle_ms = 600000;
	o.ipfix = own ? FQ_IPFIX_NATIVE : FQ_IPFIX_LIBFIXBUF;
	struct fq_decoder *d;
	if (fq_decoder_new(&d, &o) < 0)
		return 1;
	unsigned step = (data[0] >> 1) * 1000u;
	enum fq_transport tr = (data[0] & 1) ? FQ_TRANSPORT_TCP
					     : FQ_TRANSPORT_UDP;
	size_t off = 1;
	int64_t now = 1700000000000LL;
	while (size - off >= 2) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		/* A copy of exactly n bytes, so ASan sees any overread. */
		uint8_t *dg = malloc(n ? n : 1);
		if (dg == NULL)
			break;
		memcpy(dg, data + off, n);
		struct fq_datagram g;
		memset(&g, 0, sizeof g);
		g.data = dg;
		g.len = n;
		g.transport = tr;
		g.arrival_ms = now;
		fq_decoder_datagram(d, &g, emit, rs);
		free(dg);
		off += n;
		now += step;
	}
	fq_decoder_expire(d, now + 3600000);
	/* Expired sessions leave their counts in gone_malformed. */
	uint64_t mal = d->sessions.gone_malformed;
	for (struct fq_exporter *ex = d->sessions.head; ex; ex = ex->next)
		for (int i = 0; i < FQ__MAL_COUNT; i++)
			mal += ex->malformed[i];
	fq_decoder_free(d);
	return mal;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fq_log_set_level(FQ_LOG_ERROR);
	if (size < 1)
		return 0;
	struct recs a = { 0 }, b = { 0 };
	uint64_t ma = decode(data, size, 0, &a);
	uint64_t mb = decode(data, size, 1, &b);
	if (ma == 0 && mb == 0 &&
	    (a.n != b.n || (a.n && memcmp(a.r, b.r, a.n * sizeof *a.r))))
		abort();        /* libfixbuf and the own engine disagree */
	free(a.r);
	free(b.r);
	return 0;
}
