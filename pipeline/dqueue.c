/*
 * dqueue.c - the deadline queue of a streaming grouper: which open group
 * closes next (SPEC section 5: a group closes when stream time passes
 * its deadline + M).
 *
 * Entries carry their key and seq, so that sifting compares within the
 * array and never touches a group: with hundreds of thousands of open
 * groups every group is a cache miss.  (Until 2026-11-24 each group knew
 * its place in the heap, and every entry a sift moved wrote its group:
 * a miss per level.)  Four children a node (PL_DQ_D) halve the levels,
 * and the four sit in two cache lines.
 *
 * The queue is two parts (pl.h, struct pl_heap).  Keys are cut into
 * ticks of 1024 ms.  The near heap holds the entries whose tick is at
 * most `cur`; every later entry waits unordered in the wheel, in the
 * bucket of its tick (PL_DQ_N buckets, a ring).  So the near heap's top
 * is the smallest entry of all, and when the near heap runs empty the
 * next tick's bucket is heaped: only entries about to close are ever
 * sifted, a few hundred a tick where one heap of every open group had
 * twenty levels, most of them cache misses -- a group is open M past its
 * deadline, ten minutes with the defaults, and a heap of all of them was
 * a tenth of the paper's HTTP download query.  A push is an append to a
 * bucket.  An entry more than a turn of the ring ahead shares a bucket
 * with nearer ones and stays in it when that bucket is heaped; after a
 * full turn of empty buckets the near heap jumps to the earliest tick
 * the wheel holds, so a silent hour or a far deadline costs one turn.
 * Closing follows the near heap, which only ever moves forward to the
 * tick of T - M; the --max-state cap asks for the smallest entry of all
 * and may take `cur` further, after which the near heap simply holds
 * more.
 *
 * A group's deadline moves when a record joins it, nearly always later
 * (its last etime grows).  The queue's key trails the deadline: a later
 * deadline only updates the group, and the top is settled (re-keyed, and
 * sifted down or put back into the wheel) when it is looked at, so a
 * record costs no queue work.  An earlier deadline (a record with an
 * earlier etime becoming the last) pushes a second entry with the
 * earlier key; the one left behind is stale and goes when it reaches the
 * top.  Invariant: for every open group, the smallest key of its entries
 * <= its deadline, hence a settled top has the smallest (deadline, seq)
 * of all.  A group counts its entries (hn), and its block is not reused
 * while one is left: a stale entry never points at a freed block
 * (pl_group_unref lets go of everything else as usual, so references and
 * state figures are what they would be without it).  Groups leave from
 * the top (stream time and the --max-state cap close the top); a group
 * closed otherwise leaves its entries stale.
 */
#include "pl.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

static int
hent_less(const struct pl_hent *a, const struct pl_hent *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

/* The tick of a key: floor(key / 1024), for keys of any sign. */
static inline int64_t
dq_tick(int64_t key)
{
	return key >= 0 ? key / 1024 : -((-(key + 1)) / 1024) - 1;
}

static inline struct pl_hbucket *
dq_bucket(const struct pl_heap *h, int64_t tick)
{
	return &h->w[(uint64_t)tick & (PL_DQ_N - 1)];
}

static void
heap_up(struct pl_heap *h, size_t i)
{
	struct pl_hent e = h->a[i];
	while (i > 0) {
		size_t p = (i - 1) / PL_DQ_D;
		if (!hent_less(&e, &h->a[p]))
			break;
		h->a[i] = h->a[p];
		i = p;
	}
	h->a[i] = e;
}

static void
heap_down(struct pl_heap *h, size_t i)
{
	struct pl_hent e = h->a[i];
	for (;;) {
		size_t c = PL_DQ_D * i + 1, m = c;
		if (c >= h->n)
			break;
		size_t end = c + PL_DQ_D < h->n ? c + PL_DQ_D : h->n;
		for (size_t k = c + 1; k < end; k++)
			if (hent_less(&h->a[k], &h->a[m]))
				m = k;
		if (!hent_less(&h->a[m], &e))
			break;
		h->a[i] = h->a[m];
		i = m;
	}
	h->a[i] = e;
}

/* Room for `need` entries in the near heap. */
static int
near_reserve(struct pl_heap *h, size_t need, struct pl_mem *mem)
{
	if (need <= h->cap)
		return 0;
	size_t cap = h->cap ? h->cap : 64;
	while (cap < need)
		cap *= 2;
	struct pl_hent *a = fq_table_grow(h->a, h->cap * sizeof *a,
					  cap * sizeof *a);
	if (a == NULL)
		return -1;
	pl_mem_realloc(mem, h->cap * sizeof *a, cap * sizeof *a);
	h->a = a;
	h->cap = cap;
	return 0;
}

/* e into the bucket of its tick, which is later than cur. */
static int
wheel_put(struct pl_heap *h, struct pl_hent e, struct pl_mem *mem)
{
	if (h->w == NULL) {
		h->w = calloc(PL_DQ_N, sizeof *h->w);
		if (h->w == NULL)
			return -1;
		pl_mem_alloc(mem, PL_DQ_N * sizeof *h->w);
	}
	struct pl_hbucket *bk = dq_bucket(h, dq_tick(e.key));
	if (bk->n == bk->cap) {
		struct pl_hent *a = pl_array_grow(bk->a, &bk->cap, sizeof *a,
						  16, mem);
		if (a == NULL)
			return -1;
		bk->a = a;
	}
	bk->a[bk->n++] = e;
	h->nw++;
	return 0;
}

static void
bucket_free(struct pl_hbucket *bk, struct pl_mem *mem)
{
	pl_mem_free(mem, (size_t)bk->cap * sizeof *bk->a);
	free(bk->a);
	bk->a = NULL;
	bk->n = bk->cap = 0;
}

/* A new entry for g, keyed by its deadline. */
int
pl_dq_push(struct pl_heap *h, struct pl_group *g, struct pl_mem *mem)
{
	struct pl_hent e = { g->deadline, g->seq, g };
	int64_t t = dq_tick(e.key);
	if (h->n == 0 && h->nw == 0)
		h->cur = t;   /* an empty queue starts anywhere */
	if (t <= h->cur) {
		if (near_reserve(h, h->n + 1, mem) < 0)
			return -1;
		h->a[h->n] = e;
		heap_up(h, h->n++);
	} else if (wheel_put(h, e, mem) < 0) {
		return -1;
	}
	g->hkey = g->deadline;
	g->hn++;
	return 0;
}

/*
 * While the near heap is empty, move it on a tick at a time, to the
 * tick of `upto` at most, heaping each tick's bucket; 1 when it has an
 * entry then.  Out of memory it stays where it is (the groups close
 * later, none is lost).
 */
static int
dq_advance(struct pl_heap *h, int64_t upto, struct pl_mem *mem)
{
	int64_t last = dq_tick(upto);
	size_t empty = 0;
	while (h->n == 0 && h->nw > 0 && h->cur < last) {
		if (empty == PL_DQ_N) {
			/* A turn of empty buckets: on to the wheel's earliest. */
			int64_t t = INT64_MAX;
			for (size_t i = 0; i < PL_DQ_N; i++)
				for (uint32_t k = 0; k < h->w[i].n; k++)
					if (dq_tick(h->w[i].a[k].key) < t)
						t = dq_tick(h->w[i].a[k].key);
			h->cur = t - 1 < last ? t - 1 : last;
			empty = 0;
			continue;
		}
		int64_t next = h->cur + 1;
		struct pl_hbucket *bk = dq_bucket(h, next);
		if (bk->n) {
			if (near_reserve(h, bk->n, mem) < 0)
				return 0;
			uint32_t keep = 0;
			for (uint32_t k = 0; k < bk->n; k++) {
				if (dq_tick(bk->a[k].key) == next)
					h->a[h->n++] = bk->a[k];
				else
					bk->a[keep++] = bk->a[k];
			}
			h->nw -= bk->n - keep;
			bk->n = keep;
			/* Its next use is most of a turn away. */
			if (keep == 0)
				bucket_free(bk, mem);
			for (size_t i = h->n > 1 ? (h->n - 2) / PL_DQ_D + 1 : 0;
			     i-- > 0;)
				heap_down(h, i);
		}
		h->cur = next;
		empty = h->n ? 0 : empty + 1;
	}
	return h->n > 0;
}

/* Take the top entry out (then pl_group_hent_release() its group). */
void
pl_dq_pop(struct pl_heap *h)
{
	h->a[0] = h->a[--h->n];
	if (h->n > 0)
		heap_down(h, 0);
}

/*
 * The open group with the smallest (deadline, seq), or NULL; the wheel
 * is only looked into up to the tick of `upto` (the latest key the
 * caller wants), so NULL may also mean "none due by then".
 */
struct pl_group *
pl_dq_top(struct pl_heap *h, int64_t upto, struct pl_mem *mem)
{
	while (h->n > 0 || dq_advance(h, upto, mem)) {
		struct pl_hent *e = &h->a[0];
		struct pl_group *g = e->g;
		if (!g->open) {
			/* stale: its group closed through another entry */
			pl_dq_pop(h);
			pl_group_hent_release(g);
		} else if (e->key < g->deadline) {
			/* No entry of g is below its deadline now, or this
			 * was not the smallest: either way, an earlier
			 * deadline from here on needs a new entry. */
			g->hkey = g->deadline;
			struct pl_hent x = *e;
			x.key = g->deadline;
			if (dq_tick(x.key) > h->cur &&
			    wheel_put(h, x, mem) == 0) {
				pl_dq_pop(h);
			} else {
				/* Out of memory the entry stays here, a
				 * tick ahead of its place: it may close
				 * after groups with earlier deadlines
				 * still in the wheel, never before its
				 * own. */
				e->key = x.key;
				heap_down(h, 0);
			}
		} else {
			return g;
		}
	}
	return NULL;
}

static int
hent_seq_cmp(const void *x, const void *y)
{
	const struct pl_hent *a = x, *b = y;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Heap entries in seq order, for close_all(): a radix sort, 11 bits of
 * (seq - the least seq) per pass, as many passes as the span of seqs
 * needs -- two or three where qsort's comparisons through a function
 * pointer were a twentieth of a merger query's instructions (callgrind).
 * Stable, like any order of a group's two entries would be.  Falls back
 * to qsort when the scratch array cannot be had.
 */
void
pl_dq_sort_seq(struct pl_hent *a, size_t n)
{
	if (n < 64) {
		qsort(a, n, sizeof *a, hent_seq_cmp);
		return;
	}
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i].seq < lo)
			lo = a[i].seq;
		if (a[i].seq > hi)
			hi = a[i].seq;
	}
	struct pl_hent *tmp = malloc(n * sizeof *tmp);
	if (tmp == NULL) {
		qsort(a, n, sizeof *a, hent_seq_cmp);
		return;
	}
	struct pl_hent *src = a, *dst = tmp;
	uint64_t span = hi - lo;
	for (unsigned shift = 0; shift < 64 && (span >> shift) != 0;
	     shift += 11) {
		size_t count[2048] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[((src[i].seq - lo) >> shift) & 2047]++;
		size_t sum = 0;
		for (size_t d = 0; d < 2048; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[((src[i].seq - lo) >> shift) & 2047]++] = src[i];
		struct pl_hent *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
	free(tmp);
}

/* Every entry of the wheel into the near heap's array, unordered (for
 * close_all, which sorts it). */
int
pl_dq_gather(struct pl_heap *h, struct pl_mem *mem)
{
	if (h->nw == 0)
		return 0;
	if (near_reserve(h, h->n + h->nw, mem) < 0)
		return -1;
	for (size_t i = 0; i < PL_DQ_N; i++) {
		struct pl_hbucket *bk = &h->w[i];
		if (bk->n == 0)
			continue;
		memcpy(h->a + h->n, bk->a, bk->n * sizeof *bk->a);
		h->n += bk->n;
		bucket_free(bk, mem);
	}
	h->nw = 0;
	return 0;
}

void
pl_dq_fini(struct pl_heap *h, struct pl_mem *mem,
	   void (*each)(struct pl_group *g))
{
	for (size_t i = 0; i < h->n; i++)
		each(h->a[i].g);
	for (size_t i = 0; h->w && i < PL_DQ_N; i++)
		for (uint32_t k = 0; k < h->w[i].n; k++)
			each(h->w[i].a[k].g);
	h->n = 0;
	h->nw = 0;
	if (h->w) {
		for (size_t i = 0; i < PL_DQ_N; i++)
			bucket_free(&h->w[i], mem);
		pl_mem_free(mem, PL_DQ_N * sizeof *h->w);
		free(h->w);
	}
	pl_mem_free(mem, h->cap * sizeof *h->a);
	fq_table_free(h->a, h->cap * sizeof *h->a);
	memset(h, 0, sizeof *h);
}
