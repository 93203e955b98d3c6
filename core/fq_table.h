/*
 * fq_table.h - memory for large tables read at random.
 *
 * The hash indexes and heaps of the pipeline are tens of megabytes read
 * at random places, one place per record or group: with 4 KiB pages
 * nearly every read also misses the TLB, and the page walk is a cache
 * miss of its own (a prefetch waits for it too).  A table of 2 MiB or
 * more is therefore mapped on its own, 2 MiB-aligned and marked for
 * transparent huge pages (madvise MADV_HUGEPAGE; a hint the kernel may
 * ignore), so that it is a few TLB entries; the kernel hands it out
 * zeroed, so it is not cleared a second time.  Smaller tables come from
 * calloc.
 */
#ifndef FQ_TABLE_H
#define FQ_TABLE_H

#include <stddef.h>

/* `size` zeroed bytes, or NULL; free with fq_table_free(p, size). */
void *fq_table_alloc(size_t size);
/* A table of `old` bytes (p may be NULL) grown to `size` bytes: the old
 * contents, the rest zeroed; NULL (p untouched) when out of memory. */
void *fq_table_grow(void *p, size_t old, size_t size);
/* Free a table of `size` bytes (the size it was allocated with). */
void fq_table_free(void *p, size_t size);

/*
 * A slab: `size` bytes (a multiple of the page size) that will be filled
 * front to back soon, mapped with its pages already in place
 * (MADV_POPULATE_WRITE) -- one system call where touching them would
 * take a page fault per 4 KiB.  NULL when out of memory; free with
 * fq_slab_free(p, size).
 */
void *fq_slab_alloc(size_t size);
void fq_slab_free(void *p, size_t size);

#endif
