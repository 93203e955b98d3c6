/*
 * fuzz_tpl_state.c - libFuzzer target: a template state file
 * (--state-dir, collector/session/tpl_state.c) decoded and, when it
 * decodes, restored into a decoder -- the path a damaged or foreign file
 * takes at start.  Every entry is taken as coming from the one source
 * "udp://0.0.0.0:2055" with a clock that keeps every template young, so
 * the announcing datagrams all reach the decoders.  The input's last four
 * bytes are set to its checksum first, or nearly every mutation would
 * stop at the CRC and never reach the entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fq_decoder.h"
#include "fq_log.h"
#include "tpl_state.h"

#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
any_source(void *ctx, const char *spec, uint32_t *id)
{
	(void)ctx;
	(void)spec;
	*id = 0;
	return 0;
}

static const char *
one_source(void *ctx, uint32_t local_id)
{
	(void)ctx;
	(void)local_id;
	return "udp://0.0.0.0:2055";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fq_log_set_level(FQ_LOG_ERROR);
	if (size < 4 || size > (1u << 20))
		return 0;
	uint8_t *buf = malloc(size);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	uint32_t crc = (uint32_t)crc32(0, buf, (uInt)(size - 4));
	for (int i = 0; i < 4; i++)
		buf[size - 4 + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
	struct fq_tpl_state st;
	char why[256];
	int rc = fq_tpl_state_decode(&st, buf, size, why, sizeof why);
	free(buf);
	if (rc < 0)
		return 0;
	for (int native = 0; native < 2; native++) {
		struct fq_decoder_opts o;
		memset(&o, 0, sizeof o);
		o.keep_templates = 1;
		o.ipfix = native ? FQ_IPFIX_NATIVE : FQ_IPFIX_LIBFIXBUF;
		struct fq_decoder *d;
		if (fq_decoder_new(&d, &o) < 0)
			break;
		int64_t now = 0;
		for (size_t i = 0; i < st.n; i++)
			if (st.v[i].refreshed_ms > now)
				now = st.v[i].refreshed_ms;
		struct fq_tpl_restore r;
		fq_decoder_templates_restore(d, &st, any_source, NULL, now, &r);
		/* What it restored saves again. */
		struct fq_tpl_state again = { NULL, 0, 0, now };
		fq_decoder_templates_save(d, one_source, NULL, &again);
		fq_tpl_state_fini(&again);
		fq_decoder_free(d);
	}
	fq_tpl_state_fini(&st);
	return 0;
}
