/*
 * fuzz_query.c - libFuzzer target for the query front end: lexer, parser,
 * validator and plan printer on arbitrary bytes.  Whatever the input, the
 * compiler must return (no crash, hang or unbounded allocation) and leave
 * nothing allocated; a compiled plan is also printed, to exercise every
 * pointer the engine would follow.
 */
#include <stdint.h>
#include <stdio.h>

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fq_diag d;
	struct fq_query *q = NULL;
	fq_diag_init(&d);
	if (fq_query_compile(&q, "fuzz.flw", (const char *)data, size, &d) == 0) {
		FILE *devnull = fopen("/dev/null", "w");
		if (devnull != NULL) {
			fq_plan_print(fq_query_plan(q), devnull);
			fclose(devnull);
		}
		fq_query_free(q);
	}
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull != NULL) {
		fq_diag_print(&d, devnull);
		fclose(devnull);
	}
	fq_diag_fini(&d);
	return 0;
}
