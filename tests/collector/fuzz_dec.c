/*
 * fuzz_dec.c - libFuzzer target: NetFlow v9 and IPFIX as a sequence of
 * datagrams from one exporter, so templates defined by one datagram are
 * used, redefined, withdrawn and expired by the next ones.
 *
 * Input: a 1-byte header (bit 0: IPFIX over TCP instead of UDP; the other
 * bits: milliseconds added to the arrival clock per datagram, times 1000,
 * so UDP template expiry is reached), then datagrams, each prefixed by its
 * 16-bit big-endian length.  A small template cap and lifetime make the
 * limits reachable.  Every record that comes out is read in full, so
 * sanitizers see uninitialised or out-of-bounds fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fq_decoder.h"
#include "fq_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
emit(void *ctx, struct fq_record *r, size_t n)
{
	uint64_t *sum = ctx;
	for (size_t i = 0; i < n; i++)
		*sum += r[i].packets + r[i].bytes + (uint64_t)r[i].stime +
			(uint64_t)r[i].etime + r[i].srcip.lo + r[i].dstip.hi +
			r[i].srcport + r[i].prot + r[i].sampling;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fq_log_set_level(FQ_LOG_ERROR);
	if (size < 1)
		return 0;
	struct fq_decoder_opts o = { 0 };
	o.max_templates = 8;
	o.template_timeout_ms = 60000;
	o.exporter_idle_ms = 600000;
	struct fq_decoder *d;
	if (fq_decoder_new(&d, &o) < 0)
		return 0;
	unsigned step = (data[0] >> 1) * 1000u;
	enum fq_transport tr = (data[0] & 1) ? FQ_TRANSPORT_TCP
					     : FQ_TRANSPORT_UDP;
	size_t off = 1;
	int64_t now = 1700000000000LL;
	uint64_t sum = 0;
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
		fq_decoder_datagram(d, &g, emit, &sum);
		free(dg);
		off += n;
		now += step;
	}
	fq_decoder_expire(d, now + 3600000);
	fq_decoder_free(d);
	return sum == 42 ? 0 : 0;
}
