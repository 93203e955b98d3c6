/*
 * fuzz_ft.c - libFuzzer target: a whole flow-tools file, read the way
 * source_ft.c reads one.
 *
 * The input is the file: header (stream version 1 or 3, TLVs, byte
 * order), then records, raw or zlib-compressed.  The reader works from
 * memory (fq_ft_reader_open_mem) on a copy of exactly the input, so ASan
 * sees any read past its end; records are read in small batches, as the
 * replay source does, and each is read field by field.  zlib is not
 * instrumented; what this proves is the reader's own header, TLV, record
 * and inflate-boundary handling.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fq_log.h"
#include "ft_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fq_log_set_level(FQ_LOG_ERROR);
	uint8_t *copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	struct fq_ft_reader *r;
	char why[256];
	uint64_t sum = 0;
	if (fq_ft_reader_open_mem(&r, copy, size, "fuzz", why,
				  sizeof why) == 0) {
		struct fq_record recs[7];
		ssize_t n;
		while ((n = fq_ft_reader_read(r, recs, 7)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				sum += recs[i].packets + recs[i].bytes +
				       (uint64_t)recs[i].stime +
				       (uint64_t)recs[i].etime +
				       recs[i].srcip.lo + recs[i].dstip.lo +
				       recs[i].srcport + recs[i].prot +
				       recs[i].domain;
		}
		if (n < 0)
			sum += strlen(fq_ft_reader_error(r));
		sum += fq_ft_reader_count(r);
		fq_ft_reader_free(r);
	}
	free(copy);
	return sum == 42 ? 0 : 0;
}
