/*
 * fq_table.c - memory for large tables read at random (fq_table.h).
 */
#include "fq_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FQ_HUGE ((size_t)2 << 20)

static size_t
mapped_size(size_t size)
{
	return (size + FQ_HUGE - 1) & ~(FQ_HUGE - 1);
}

void *
fq_table_alloc(size_t size)
{
	if (size < FQ_HUGE)
		return calloc(1, size ? size : 1);
	size_t n = mapped_size(size);
	if (n > SIZE_MAX - FQ_HUGE)
		return NULL;
	/* Map one huge page more than needed and cut it to alignment. */
	char *p = mmap(NULL, n + FQ_HUGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + FQ_HUGE - 1) & ~(uintptr_t)(FQ_HUGE - 1);
	char *q = (char *)a;
	if (q > p)
		munmap(p, (size_t)(q - p));
	if (q + n < p + n + FQ_HUGE)
		munmap(q + n, (size_t)(p + n + FQ_HUGE - (q + n)));
#ifdef MADV_HUGEPAGE
	(void)madvise(q, n, MADV_HUGEPAGE);
#endif
	return q;
}

void *
fq_table_grow(void *p, size_t old, size_t size)
{
	void *q = fq_table_alloc(size);
	if (q == NULL)
		return NULL;
	if (p && old)
		memcpy(q, p, old < size ? old : size);
	fq_table_free(p, old);
	return q;
}

void
fq_table_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size < FQ_HUGE)
		free(p);
	else
		munmap(p, mapped_size(size));
}

void *
fq_slab_alloc(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_POPULATE_WRITE
	/* A hint: where the kernel lacks it the pages come one fault at a
	 * time, as before. */
	(void)madvise(p, size, MADV_POPULATE_WRITE);
#endif
	return p;
}

void
fq_slab_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
