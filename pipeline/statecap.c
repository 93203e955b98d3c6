/*
 * statecap.c - --max-state: keeping pipeline state under its cap
 * (statecap.h; docs/streaming.md, "Bounded state").
 *
 * Past the cap, state is let go in the order stream time would let it go
 * anyway, oldest first across all queries: an open group (at its
 * deadline + M) is closed early -- through group filter and merger, as if
 * its window had ended -- and a stored merger group (at its horizon) is
 * evicted.  So the cap acts like stream time moving forward for the
 * oldest state only.  --batch has no such times; there both are ordered
 * by stime.  Ties go to the store: evicting loses pairings, closing early
 * also splits a group.
 *
 * The default cap is a property of the machine: FQ_DEFAULT_MAX_STATE_MB,
 * or half of the memory flowq may use if that is less.
 */
#include "engine_int.h"

#include <stdio.h>
#include <unistd.h>

/* A cgroup memory limit in bytes, or UINT64_MAX (none, or unreadable). */
static uint64_t
cgroup_limit(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return UINT64_MAX;
	unsigned long long v;
	int ok = fscanf(f, "%llu", &v) == 1;   /* "max" does not parse */
	fclose(f);
	return ok && v > 0 ? (uint64_t)v : UINT64_MAX;
}

/*
 * FQ_DEFAULT_MAX_STATE_MB, or half of the memory flowq may use if that is
 * less: the machine's (sysconf) or its cgroup's limit (v2, then v1), so
 * that a small VM or container is protected too.  Half, because the cap
 * counts pipeline state only: decoder, sockets, output buffers and
 * malloc's own slack come on top.  Whole MiB, at least 16.
 */
size_t
pl_cap_default(void)
{
	uint64_t cap = (uint64_t)FQ_DEFAULT_MAX_STATE_MB << 20;
	uint64_t mem = UINT64_MAX;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages > 0 && psize > 0)
		mem = (uint64_t)pages * (uint64_t)psize;
	uint64_t cg = cgroup_limit("/sys/fs/cgroup/memory.max");
	if (cg == UINT64_MAX)
		cg = cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
	if (cg < mem)
		mem = cg;
	if (mem / 2 < cap)
		cap = mem / 2 & ~(uint64_t)((1 << 20) - 1);
	if (cap < (16u << 20))
		cap = 16u << 20;
	return cap > SIZE_MAX ? SIZE_MAX : (size_t)cap;
}

void
pl_cap_init(struct pl_cap *c, size_t bytes, struct fq_engine *e)
{
	c->bytes = bytes;
	c->sheds = 0;
	c->batch_flushed = 0;
	c->e = e;
	/* The cap message: the first time, then at most once a minute. */
	c->rl = (struct fq_ratelimit)FQ_RATELIMIT_INIT;
	c->rl.burst = 1;
	c->rl.interval_ms = 60000;
}

uint64_t
pl_cap_closed_early(const struct fq_engine *e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nq; i++)
		for (size_t b = 0; b < e->q[i]->plan->nbranches; b++)
			n += e->q[i]->br[b].c.closed_early;
	return n;
}

uint64_t
pl_cap_evicted(const struct fq_engine *e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nq; i++)
		if (e->q[i]->mg)
			n += e->q[i]->mg->c.evicted;
	return n;
}

uint64_t
pl_cap_tuples_dropped(const struct fq_engine *e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < e->nq; i++)
		if (e->q[i]->mg)
			n += e->q[i]->mg->c.tuples_dropped;
	return n;
}

void
pl_cap_reached(struct pl_cap *c)
{
	c->sheds++;
	fq_log_rl(&c->rl, FQ_LOG_WARN,
		  "pipeline state reached the --max-state cap (%zu MiB): closing "
		  "the oldest groups early and evicting the oldest stored groups "
		  "(so far %llu closed early, %llu evicted); matches may differ "
		  "from an uncapped run", c->bytes >> 20,
		  (unsigned long long)pl_cap_closed_early(c->e),
		  (unsigned long long)pl_cap_evicted(c->e));
}

/* The oldest state across every query: an open group (*open_in its
 * branch) or a stored one (*open_in NULL); NULL when there is none. */
static struct pl_group *
oldest_state(struct fq_engine *e, struct pl_branch **open_in,
	     struct pl_query **vq)
{
	struct pl_group *victim = NULL;
	int64_t vkey = 0, key;
	*open_in = NULL;
	for (size_t i = 0; i < e->nq; i++) {
		struct pl_query *q = e->q[i];
		struct pl_group *g;
		if (q->mg && (g = pl_merger_oldest(q->mg, &key)) &&
		    (victim == NULL || key < vkey)) {
			victim = g;
			vkey = key;
			*vq = q;
			*open_in = NULL;
		}
		for (size_t b = 0; b < q->plan->nbranches; b++) {
			g = pl_grouper_oldest(&q->br[b], &key);
			if (g && (victim == NULL || key < vkey)) {
				victim = g;
				vkey = key;
				*vq = q;
				*open_in = &q->br[b];
			}
		}
	}
	return victim;
}

/* Nothing open, every stored group held by a pending tuple: drop the
 * oldest tuple.  Returns the bytes the next round frees, or 0 with *none
 * set when no tuple is left either. */
static size_t
drop_oldest_tuple(struct fq_engine *e, int *none)
{
	struct pl_query *vq = NULL;
	int64_t vkey = 0, key;
	for (size_t i = 0; i < e->nq; i++) {
		struct pl_query *q = e->q[i];
		if (q->mg && pl_merger_oldest_pending(q->mg, &key) &&
		    (vq == NULL || key < vkey)) {
			vq = q;
			vkey = key;
		}
	}
	*none = vq == NULL;
	return vq ? pl_merger_drop_oldest_pending(vq->mg) : 0;
}

static void
shed_round(struct fq_engine *e)
{
	for (size_t i = 0; i < e->nq; i++)
		if (e->q[i]->mg)
			pl_merger_shed_round(e->q[i]->mg);
}

/*
 * First what costs nothing: merger store entries the horizon already
 * dropped but no compaction has freed yet; in --batch, the matches found
 * so far (written out: only their global order is lost).  Then, one at a
 * time, the oldest state (oldest_state).
 *
 * Stored groups that a pending tuple holds are passed over (a match is
 * found there, waiting only for its rejection window); only when nothing
 * else is left are pending tuples dropped, the earliest release first.
 *
 * An evicted group is freed when its store is compacted, so this works in
 * rounds: `est` counts what the round's evictions will free, and each
 * round starts with the compaction that frees the previous one's.
 */
void
pl_cap_shed(struct pl_cap *c)
{
	struct fq_engine *e = c->e;
	size_t low = c->bytes - c->bytes / 8;
	pl_cap_reached(c);
	shed_round(e);
	if (e->o.batch && e->mem.bytes > low)
		for (size_t i = 0; i < e->nq; i++)
			pl_ungrouper_flush_early(&e->q[i]->ug);
	for (;;) {
		size_t est = 0;
		int did = 0, none = 0;
		while (e->mem.bytes > low + est && !none) {
			struct pl_branch *open_in;
			struct pl_query *vq = NULL;
			struct pl_group *victim = oldest_state(e, &open_in, &vq);
			if (open_in) {
				pl_grouper_close_early(open_in, victim);
				/* in --batch its matches would hold it */
				if (e->o.batch)
					pl_ungrouper_flush_early(&vq->ug);
			} else if (victim) {
				est += pl_merger_evict(vq->mg, victim);
			} else {
				est += drop_oldest_tuple(e, &none);
				if (none)
					break;   /* only arrays left */
			}
			did = 1;
		}
		shed_round(e);
		if (!did || e->mem.bytes <= low)
			break;
	}
}
