/*
 * fuzz_nf5.c - libFuzzer target: one NetFlow v5 datagram.  The version
 * field is forced to 5 so every input reaches the v5 decoder; the input is
 * fed twice (sequence accounting) from a copy of exactly its length.
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
		*sum += r[i].packets + (uint64_t)r[i].stime + r[i].srcip.lo +
			r[i].sampling + r[i].domain;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fq_log_set_level(FQ_LOG_ERROR);
	struct fq_decoder *d;
	if (fq_decoder_new(&d, NULL) < 0)
		return 0;
	uint8_t *dg = malloc(size ? size : 1);
	if (dg == NULL) {
		fq_decoder_free(d);
		return 0;
	}
	memcpy(dg, data, size);
	if (size >= 2) {
		dg[0] = 0;
		dg[1] = 5;
	}
	struct fq_datagram g;
	memset(&g, 0, sizeof g);
	g.data = dg;
	g.len = size;
	g.transport = FQ_TRANSPORT_UDP;
	uint64_t sum = 0;
	fq_decoder_datagram(d, &g, emit, &sum);
	fq_decoder_datagram(d, &g, emit, &sum);
	free(dg);
	fq_decoder_free(d);
	return sum == 42 ? 0 : 0;
}
