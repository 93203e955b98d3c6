/*
 * fq_arena.h - bump allocator; one arena per query.
 *
 * Everything a query's front end builds (tokens, AST, plan) is allocated
 * from the query's arena and freed at once with fq_arena_fini(): no
 * individual frees, no ownership bookkeeping inside the AST.  Allocations
 * are 16-byte aligned and zeroed.  A single allocation larger than the
 * block size gets a block of its own.
 */
#ifndef FQ_ARENA_H
#define FQ_ARENA_H

#include <stddef.h>

struct fq_arena_block;

struct fq_arena {
	struct fq_arena_block *head;  /* owned: current block, linked to older */
	size_t block_size;            /* default size of new blocks */
	size_t total;                 /* bytes obtained from malloc */
};

void fq_arena_init(struct fq_arena *a, size_t block_size);
void fq_arena_fini(struct fq_arena *a);

/* Zeroed memory that lives until fq_arena_fini(); NULL on exhaustion. */
void *fq_arena_alloc(struct fq_arena *a, size_t size);
/* NUL-terminated copy of len bytes of s. */
char *fq_arena_strndup(struct fq_arena *a, const char *s, size_t len);

#endif
