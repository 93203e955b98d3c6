/*
 * statecap.h - --max-state: the cap on the bytes pipeline state holds
 * (docs/streaming.md, "Bounded state").
 *
 * Every stage counts what it holds in one running total (pl.h, struct
 * pl_mem).  After each record the engine compares the total with the
 * cap; past it, pl_cap_shed() brings it back under seven eighths of the
 * cap by closing the oldest open groups early and evicting the oldest
 * stored merger groups (statecap.c says in which order).  The --batch
 * match list is capped where it grows (ungrouper.c), through
 * pl_cap_reached().
 */
#ifndef FQ_PL_STATECAP_H
#define FQ_PL_STATECAP_H

#include <stddef.h>
#include <stdint.h>

#include "fq_log.h"

struct fq_engine;

struct pl_cap {
	size_t bytes;              /* the cap; 0 = unlimited */
	uint64_t sheds;            /* times the total passed it */
	uint64_t batch_flushed;    /* --batch matches written early */
	struct fq_ratelimit rl;    /* its message: once, then once a minute */
	struct fq_engine *e;       /* borrowed: whose queries it sheds */
};

void pl_cap_init(struct pl_cap *c, size_t bytes, struct fq_engine *e);
/* The total passed the cap: count it and say so (rate-limited). */
void pl_cap_reached(struct pl_cap *c);
/* Bring the total back under 7/8 of the cap. */
void pl_cap_shed(struct pl_cap *c);

/* Totals over every query, for messages and statistics. */
uint64_t pl_cap_closed_early(const struct fq_engine *e);
uint64_t pl_cap_evicted(const struct fq_engine *e);
uint64_t pl_cap_tuples_dropped(const struct fq_engine *e);

/* The --max-state default for this machine, bytes (docs/streaming.md). */
size_t pl_cap_default(void);

#endif
