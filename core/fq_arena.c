/*
 * fq_arena.c - the per-query bump allocator.
 */
#include "fq_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fq_arena_block {
	struct fq_arena_block *prev;  /* owned: older block */
	size_t size;                  /* usable bytes in data[] */
	size_t used;
	_Alignas(16) unsigned char data[];
};

void
fq_arena_init(struct fq_arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
	a->total = 0;
}

void
fq_arena_fini(struct fq_arena *a)
{
	struct fq_arena_block *b = a->head;
	while (b) {
		struct fq_arena_block *prev = b->prev;
		free(b);
		b = prev;
	}
	a->head = NULL;
	a->total = 0;
}

void *
fq_arena_alloc(struct fq_arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	struct fq_arena_block *b = a->head;
	if (b == NULL || b->size - b->used < size) {
		size_t bs = size > a->block_size ? size : a->block_size;
		if (bs > SIZE_MAX - sizeof *b)
			return NULL;
		b = malloc(sizeof *b + bs);
		if (b == NULL)
			return NULL;
		b->size = bs;
		b->used = 0;
		b->prev = a->head;
		a->head = b;
		a->total += sizeof *b + bs;
	}
	void *p = b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *
fq_arena_strndup(struct fq_arena *a, const char *s, size_t len)
{
	char *p = fq_arena_alloc(a, len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
