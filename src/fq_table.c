/*
 * fq_table.c - memory for large tables read at random (fq_table.h).
 */
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FQ_HUGE ((size_t)2 << 20)

void *
fq_table_alloc(size_t size)
{
	if (size < FQ_HUGE)
		return calloc(1, size ? size : 1);
	/* aligned_alloc wants a multiple of the alignment */
	size_t n = (size + FQ_HUGE - 1) & ~(FQ_HUGE - 1);
	void *p = aligned_alloc(FQ_HUGE, n);
	if (p == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE);
#endif
	memset(p, 0, size);
	return p;
}

void *
fq_table_grow(void *p, size_t old, size_t size)
{
	void *q = fq_table_alloc(size);
	if (q == NULL)
		return NULL;
	if (p && old)
		memcpy(q, p, old < size ? old : size);
	free(p);
	return q;
}

void
fq_table_free(void *p)
{
	free(p);
}
