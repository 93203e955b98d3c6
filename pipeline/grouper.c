/*
 * grouper.c - the incremental grouper of one branch (SPEC sections 4, 5).
 *
 * Batch meaning: a record joins the oldest open group for which some
 * module has all its rules true; otherwise it starts a group if it passes
 * some module's absolute rules; otherwise it is dropped.  Modules are ORed,
 * so a group is not tied to the module that created it.
 *
 * Speed: each module with key equalities (`srcip = srcip`, no delta) keeps
 * a hash index of the open groups keyed by the first record's values of
 * the left-hand fields; a record probes it with its right-hand fields and
 * walks one bucket, which holds groups in creation order, so the first
 * group that passes the remaining rules is that module's oldest.  Modules
 * without keys scan the open list (oldest first).  The answer is the oldest
 * of the modules' answers.
 *
 * Streaming: every group has a deadline, the latest stime a record could
 * have and still join it; groups sit in a deadline queue (a small heap
 * and a wheel of one-tick buckets, "deadline queue" below) and close
 * when stream time passes deadline + M.
 *
 * Memory: every allocation of a group, the queue and the key indexes is
 * counted in the engine's state total (pl.h, struct pl_mem); at the
 * --max-state cap the engine closes the group at the top of the queue
 * early (pl_grouper_oldest, pl_grouper_close_early).
 */
#include "pl.h"
#include "fq_log.h"
#include "fq_table.h"

#include <stdlib.h>
#include <string.h>

/* ---- deadline queue ------------------------------------------------- */

/*
 * Entries carry their key and seq, so that sifting compares within the
 * array and never touches a group: with hundreds of thousands of open
 * groups every group is a cache miss.  (Until 2026-11-24 each group knew
 * its place in the heap, and every entry a sift moved wrote its group:
 * a miss per level.)  Four children a node (HEAP_D) halve the levels,
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
#define HEAP_D 4
_Static_assert(HEAP_D <= sizeof(((struct pl_grouper *)0)->pf_kids) /
			 sizeof(((struct pl_grouper *)0)->pf_kids[0]),
	       "prefetch_next keeps the root's children");
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
		size_t p = (i - 1) / HEAP_D;
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
		size_t c = HEAP_D * i + 1, m = c;
		if (c >= h->n)
			break;
		size_t end = c + HEAP_D < h->n ? c + HEAP_D : h->n;
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
static int
heap_push(struct pl_heap *h, struct pl_group *g, struct pl_mem *mem)
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
			for (size_t i = h->n > 1 ? (h->n - 2) / HEAP_D + 1 : 0;
			     i-- > 0;)
				heap_down(h, i);
		}
		h->cur = next;
		empty = h->n ? 0 : empty + 1;
	}
	return h->n > 0;
}

static void block_put(struct pl_grouper *gr, struct pl_group *G);

/* An entry of g left the queue: its block goes once nothing holds it. */
static void
hent_release(struct pl_group *g)
{
	if (--g->hn == 0 && g->refs == 0)
		block_put(&g->br->gr, g);
}

/* Take the top entry out (then hent_release() its group). */
static void
heap_pop(struct pl_heap *h)
{
	h->a[0] = h->a[--h->n];
	if (h->n > 0)
		heap_down(h, 0);
}

/* g's deadline changed: an earlier one needs an entry of its own. */
static int
heap_rekey(struct pl_heap *h, struct pl_group *g, struct pl_mem *mem)
{
	if (g->deadline < g->hkey)
		return heap_push(h, g, mem);
	return 0;
}

/*
 * The open group with the smallest (deadline, seq), or NULL; the wheel
 * is only looked into up to the tick of `upto` (the latest key the
 * caller wants), so NULL may also mean "none due by then".
 */
static struct pl_group *
heap_top(struct pl_heap *h, int64_t upto, struct pl_mem *mem)
{
	while (h->n > 0 || dq_advance(h, upto, mem)) {
		struct pl_hent *e = &h->a[0];
		struct pl_group *g = e->g;
		if (!g->open) {
			/* stale: its group closed through another entry */
			heap_pop(h);
			hent_release(g);
		} else if (e->key < g->deadline) {
			/* No entry of g is below its deadline now, or this
			 * was not the smallest: either way, an earlier
			 * deadline from here on needs a new entry. */
			g->hkey = g->deadline;
			struct pl_hent x = *e;
			x.key = g->deadline;
			if (dq_tick(x.key) > h->cur &&
			    wheel_put(h, x, mem) == 0) {
				heap_pop(h);
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

/* ---- key index ------------------------------------------------------ */

static uint64_t
key_hash_rec(const struct fq_gmodule *m, const struct fq_record *r, int left)
{
	uint64_t h = 0x12345;
	for (size_t k = 0; k < m->nkeys; k++) {
		const struct fq_field *f = left ? m->keys[k].a : m->keys[k].b;
		if (f->type == FQ_T_IP) {
			const struct fq_ip *ip = fq_field_ip(r, f);
			h = pl_mix(pl_mix(h, ip->hi), ip->lo ^ ((uint64_t)ip->is6 << 63));
		} else {
			h = pl_mix(h, (uint64_t)fq_field_num(r, f));
		}
	}
	return h;
}

/*
 * Record images.  When no record is printed, a group's rules are all
 * that read its records -- its first record's key fields and the fields
 * its relative and time rules read of its first or last -- and its
 * rec_ids all that is output of them.  Such a group holds rec_ids from
 * the start and, in its block, an image of each of those two records:
 * the fields read, each in an 8-byte aligned place (img_off).  A first
 * record's field that the group keeps anyway as a bare-field or first()
 * aggregate of its own (addresses, times and 64-bit counters, stored
 * alike) is read from there.  A record joining a group is then not
 * stored at all: no copy into the record pool, no slot of it held for
 * minutes (a record was 144 bytes of the paper's HTTP download query's
 * 700 a group; its images are the last record's etime, 8 bytes, in
 * room the block had).  A rule on `duration`, which is not stored but
 * computed from the record's times, keeps whole records the old way.
 */
static size_t
type_len(enum fq_type t)
{
	switch (t) {
	case FQ_T_U8:   return 1;
	case FQ_T_U16:  return 2;
	case FQ_T_U32:  return 4;
	case FQ_T_IP:   return sizeof(struct fq_ip);
	default:        return 8;
	}
}

/* Where a rule reads field f of G's first (last = 0) or last record. */
static inline const char *
grec_at(const struct pl_grouper *gr, const struct pl_group *G, int last,
	const struct fq_field *f)
{
	if (gr->img)
		return (const char *)G + gr->img_off[last][f->id];
	const struct fq_record *R = &G->recs[last ? G->n - 1 : 0]->r;
	return (const char *)R + f->offset;
}

/* fq_field_num() of G's first or last record (FQ_T_DUR fields have no
 * image: img_init keeps whole records for them). */
static inline int64_t
gnum(const struct pl_grouper *gr, const struct pl_group *G, int last,
     const struct fq_field *f)
{
	if (!gr->img)
		return fq_field_num(&G->recs[last ? G->n - 1 : 0]->r, f);
	return fq_num_at(grec_at(gr, G, last, f), f->type);
}

static inline const struct fq_ip *
gip(const struct pl_grouper *gr, const struct pl_group *G, int last,
    const struct fq_field *f)
{
	return (const struct fq_ip *)(const void *)grec_at(gr, G, last, f);
}

/* r's fields into G's image of its first (last = 0) or last record. */
static inline void
img_put(const struct pl_grouper *gr, struct pl_group *G, int last,
	const struct fq_record *r)
{
	for (size_t i = 0; i < gr->img_ncp[last]; i++) {
		const struct pl_imgcp *c = &gr->img_cp[last][i];
		memcpy((char *)G + c->to, (const char *)r + c->from, c->len);
	}
}

static int
keys_equal(const struct pl_grouper *gr, const struct fq_gmodule *m,
	   const struct pl_group *G, const struct fq_record *r)
{
	for (size_t k = 0; k < m->nkeys; k++) {
		const struct fq_field *a = m->keys[k].a, *b = m->keys[k].b;
		if (a->type == FQ_T_IP || b->type == FQ_T_IP) {
			if (a->type != b->type ||
			    !fq_ip_eq(gip(gr, G, 0, a), fq_field_ip(r, b)))
				return 0;
		} else if (gnum(gr, G, 0, a) != fq_field_num(r, b)) {
			return 0;
		}
	}
	return 1;
}

/*
 * A key index is an open-addressing hash table of entries (key hash,
 * deadline, seq, group), probed linearly and kept at most half full: a
 * record walks the entries from its key's home slot to the first empty
 * one, reading contiguous memory, and touches a group only when the key
 * hash matches and the group's deadline still admits the record's stime.
 * Entries of one hash keep their creation order along the run: a new
 * entry goes to the run's first free slot, removal shifts the entries
 * behind it back (never past one of the same home), and growth re-inserts
 * starting after an empty slot, so that no run is cut at the table's end.
 * A busy key (a client's DNS lookups, each a group under a 1 s gap rule)
 * keeps every group of the last M minutes open: its run is read in order
 * and the first group that accepts the record is the oldest.
 *
 * Until 2026-11-24 the buckets were arrays, each malloc'd when its first
 * entry came and freed when its last left: most keys come and go, and
 * that was an allocation and a free per group.
 */
static void
kput(struct pl_kent *v, size_t nb, struct pl_kent e)
{
	size_t i = e.hash & (nb - 1);
	while (v[i].g)
		i = (i + 1) & (nb - 1);
	v[i] = e;
}

static int
index_grow(struct pl_gindex *ix, struct pl_mem *mem)
{
	size_t nb = ix->nb ? ix->nb * 2 : 256;
	struct pl_kent *v = fq_table_alloc(nb * sizeof *v);
	if (v == NULL)
		return -1;
	pl_mem_realloc(mem, ix->nb * sizeof *v, nb * sizeof *v);
	if (ix->nb) {
		size_t mask = ix->nb - 1, start = 0;
		while (ix->v[start].g)   /* at most half full: one is empty */
			start++;
		for (size_t k = 1; k <= ix->nb; k++) {
			const struct pl_kent *e = &ix->v[(start + k) & mask];
			if (e->g)
				kput(v, nb, *e);
		}
	}
	fq_table_free(ix->v, ix->nb * sizeof *ix->v);
	ix->v = v;
	ix->nb = nb;
	return 0;
}

static int
index_add(struct pl_gindex *ix, struct pl_group *G, uint64_t hash,
	  struct pl_mem *mem)
{
	if ((ix->n + 1) * 2 > ix->nb && index_grow(ix, mem) < 0)
		return -1;
	kput(ix->v, ix->nb, (struct pl_kent){ hash, G->deadline, G->seq, G });
	ix->n++;
	return 0;
}

static struct pl_kent *
index_find(struct pl_gindex *ix, const struct pl_group *G, uint64_t hash)
{
	size_t mask = ix->nb - 1;
	for (size_t i = hash & mask; ix->v[i].g; i = (i + 1) & mask)
		if (ix->v[i].g == G)
			return &ix->v[i];
	return NULL;
}

static void
index_del(struct pl_gindex *ix, const struct pl_group *G, uint64_t hash)
{
	struct pl_kent *e = index_find(ix, G, hash);
	if (e == NULL)
		return;
	size_t mask = ix->nb - 1;
	size_t i = (size_t)(e - ix->v), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (ix->v[j].g == NULL)
			break;
		/* The entry at j may fill the hole at i unless its home lies
		 * cyclically in (i, j]. */
		size_t home = ix->v[j].hash & mask;
		int stays = i <= j ? (home > i && home <= j)
				   : (home > i || home <= j);
		if (!stays) {
			ix->v[i] = ix->v[j];
			i = j;
		}
	}
	ix->v[i].g = NULL;
	ix->n--;
}

/* ---- rules ---------------------------------------------------------- */

static int
rel_rule(const struct pl_grouper *gr, const struct fq_grule *ru,
	 const struct pl_group *G, const struct fq_record *r)
{
	int last = ru->ref == FQ_REF_LAST;
	struct pl_val a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.plen = b.plen = 128;
	if (ru->a->type == FQ_T_IP) {
		a.t = FQ_V_IP;
		a.ip = *gip(gr, G, last, ru->a);
	} else {
		a.t = FQ_V_INT;
		a.i = gnum(gr, G, last, ru->a);
	}
	if (ru->b->type == FQ_T_IP) {
		b.t = FQ_V_IP;
		b.ip = *fq_field_ip(r, ru->b);
	} else {
		b.t = FQ_V_INT;
		b.i = fq_field_num(r, ru->b);
	}
	if (a.t == FQ_V_IP)
		a.plen = a.ip.is6 ? 128 : 32;
	if (b.t == FQ_V_IP)
		b.plen = b.ip.is6 ? 128 : 32;
	return pl_compare(ru->op, ru->has_delta, ru->delta, &a, &b);
}

static int
module_accepts(const struct pl_grouper *gr, const struct fq_gmodule *m,
	       const struct pl_group *G, const struct fq_record *r,
	       int check_keys)
{
	if (check_keys && !keys_equal(gr, m, G, r))
		return 0;
	for (size_t k = 0; k < m->nrel; k++)
		if (!rel_rule(gr, &m->rel[k], G, r))
			return 0;
	return 1;
}

/* Streaming deadline of a group: SPEC section 5. */
static int64_t
group_deadline(const struct pl_branch *b, const struct pl_group *G)
{
	const struct pl_params *o = b->p;
	const struct fq_plan_grouper *pg = b->gr.pg;
	int64_t wcap = o->window == FQ_TIME_INF ? FQ_TIME_INF
		       : G->stime + o->window;
	int64_t best = INT64_MIN;
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		int64_t d = FQ_TIME_INF;
		if (m->ntime == 0) {
			d = wcap;
		} else {
			for (size_t k = 0; k < m->ntime; k++) {
				const struct fq_gtime *t = &m->time[k];
				int64_t v = gnum(&b->gr, G, t->ref == FQ_REF_LAST,
						 t->a) + t->delta;
				if (v < d)
					d = v;
			}
		}
		if (d > best)
			best = d;
	}
	return best < wcap ? best : wcap;
}

/* ---- groups --------------------------------------------------------- */

static void
agg_add(struct pl_group *G, size_t k, const struct fq_agg *a,
	const struct fq_record *r, int first)
{
	struct pl_agg *v = a->fn == FQ_AGG_UNION ? NULL : pl_group_agg(G, k);
	const struct fq_field *f = a->field;
	int isip = f && f->type == FQ_T_IP;
	int64_t x = (f && !isip) ? fq_field_num(r, f) : 0;
	const struct fq_ip *ip = isip ? fq_field_ip(r, f) : NULL;
	switch (a->fn) {
	case FQ_AGG_FIELD:
	case FQ_AGG_FIRST:
		if (first) {
			v->i = x;
			if (ip)
				v->ip = *ip;
		}
		break;
	case FQ_AGG_LAST:
		v->i = x;
		if (ip)
			v->ip = *ip;
		break;
	case FQ_AGG_SUM:
		v->i += x;
		break;
	case FQ_AGG_AVG:
		v->i += x;
		v->cnt++;
		break;
	case FQ_AGG_COUNT:
		v->cnt++;
		break;
	case FQ_AGG_MIN:
		if (ip) {
			if (first || fq_ip_cmp(ip, &v->ip) < 0)
				v->ip = *ip;
		} else if (first || x < v->i) {
			v->i = x;
		}
		break;
	case FQ_AGG_MAX:
		if (ip) {
			if (first || fq_ip_cmp(ip, &v->ip) > 0)
				v->ip = *ip;
		} else if (first || x > v->i) {
			v->i = x;
		}
		break;
	case FQ_AGG_BITOR:
		v->i = first ? x : (v->i | x);
		break;
	case FQ_AGG_BITAND:
		v->i = first ? x : (v->i & x);
		break;
	case FQ_AGG_UNION: {
		struct pl_set *set = pl_group_set(G, k);
		size_t before = pl_set_heap(set);
		if (ip)
			pl_set_add_ip(set, ip);
		else
			pl_set_add_int(set, x);
		size_t after = pl_set_heap(set);
		if (after != before)
			pl_mem_realloc(G->br->mem, before, after);
		break;
	}
	}
}

/* rec is r as stored (perhaps cut short: pl.h, struct pl_rec). */
static void
group_add(struct pl_branch *b, struct pl_group *G, struct pl_rec *rec,
	  const struct fq_record *r)
{
	if (G->n == G->cap) {
		uint32_t cap = G->cap * 2;
		int inl = G->recs == G->rec_in;
		struct pl_rec **p = inl ? malloc(cap * sizeof *p)
				       : realloc(G->recs, cap * sizeof *p);
		if (p == NULL) {
			fq_error("out of memory growing a group");
			return;
		}
		if (inl)
			memcpy(p, G->rec_in, sizeof G->rec_in);
		pl_mem_realloc(b->mem, inl ? 0 : G->cap * sizeof *p,
			       cap * sizeof *p);
		G->recs = p;
		G->cap = cap;
	}
	int first = G->n == 0;
	if (b->gr.img) {
		/* rec is NULL: the fields the rules read go to the images */
		G->ids[G->n++] = r->rec_id;
		if (first)
			img_put(&b->gr, G, 0, r);
		img_put(&b->gr, G, 1, r);
	} else {
		G->recs[G->n++] = rec;
		rec->refs++;
	}
	if (first || r->stime < G->stime)
		G->stime = r->stime;
	if (first || r->etime > G->etime)
		G->etime = r->etime;
	if (first || r->rec_id < G->min_rec_id)
		G->min_rec_id = r->rec_id;
	if (b->gr.pg)
		for (size_t k = 0; k < b->gr.pg->naggs; k++)
			agg_add(G, k, &b->gr.pg->aggs[k], r, first);
}

/*
 * The bytes a group's own blocks are counted at: the struct, its records
 * array, aggregates, union() sets and key hashes (not the records, which
 * the pool counts, nor index buckets, which their index counts).  The
 * same function gives what group_new added and what pl_group_unref takes
 * back, plus the growth group_add and agg_add counted in between.  The
 * blocks whose size never changes are summed once per branch
 * (group_base, pl_grouper_init): this runs for every group.
 */
static size_t
group_bytes(const struct pl_group *G)
{
	const struct pl_grouper *gr = &G->br->gr;
	size_t n = gr->group_base;
	if (G->recs != G->rec_in)
		n += pl_chunk(G->cap * sizeof *G->recs);
	if (gr->has_sets)
		for (size_t k = 0; k < gr->pg->naggs; k++)
			if (gr->pg->aggs[k].fn == FQ_AGG_UNION)
				n += pl_chunk(pl_set_heap(pl_group_set(G, k)));
	return n;
}

/*
 * Group blocks.  Every group of a branch has the same block (group_block
 * below), so they are carved from slabs of PL_SLAB bytes, 64-byte
 * aligned, and a freed block goes on the branch's free list for the next
 * group; the slabs go back to the system when the query ends.  Groups
 * are made and freed at the same pace, in bursts (a second of stream
 * time closes or drops hundreds), and malloc and free of each block were
 * a tenth of a merger query's time, coalescing and splitting chunks.  A
 * block is counted at what malloc would cost for it (pl_chunk), so the
 * state figures and every decision of the cap are those of an allocator
 * with a header per block: a little more than the slab really holds.
 * The free list keeps the most groups a branch ever held, as malloc's
 * own free lists would.
 *
 * Sanitizer builds malloc each block, so that a use after free still
 * shows.
 */
#if defined(__SANITIZE_ADDRESS__)
#define PL_GROUP_SLABS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PL_GROUP_SLABS 0
#endif
#endif
#ifndef PL_GROUP_SLABS
#define PL_GROUP_SLABS 1
#endif

#define PL_SLAB (1024 * 1024)

static char *
block_get(struct pl_grouper *gr)
{
	size_t size = gr->block_size;
#if PL_GROUP_SLABS
	char *block;
	if (gr->spare) {
		block = (char *)gr->spare;
		gr->spare = gr->spare->next_open;
	} else {
		if (gr->nslabs == 0 || gr->slab_used + size > PL_SLAB) {
			if (gr->nslabs == gr->capslabs) {
				size_t cap = gr->capslabs ? gr->capslabs * 2 : 16;
				char **v = realloc(gr->slabs, cap * sizeof *v);
				if (v == NULL)
					return NULL;
				gr->slabs = v;
				gr->capslabs = cap;
			}
			char *slab = fq_slab_alloc(PL_SLAB);
			if (slab == NULL)
				return NULL;
			gr->slabs[gr->nslabs++] = slab;
			gr->slab_used = 0;
		}
		block = gr->slabs[gr->nslabs - 1] + gr->slab_used;
		gr->slab_used += size;
	}
	memset(block, 0, size);
	return block;
#else
	return calloc(1, size);
#endif
}

static void
block_put(struct pl_grouper *gr, struct pl_group *G)
{
#if PL_GROUP_SLABS
	G->next_open = gr->spare;
	gr->spare = G;
#else
	(void)gr;
	free(G);
#endif
}

/* Bytes of an aggregate in a block (struct pl_agg). */
static size_t
agg_size(const struct fq_agg *a)
{
	switch (a->fn) {
	case FQ_AGG_UNION:
		return sizeof(struct pl_set);
	case FQ_AGG_COUNT:
	case FQ_AGG_AVG:
		return 2 * sizeof(int64_t);
	default:
		/* agg_add() writes an address field's value whole */
		return a->field && a->field->type == FQ_T_IP
		       ? sizeof(struct fq_ip) : sizeof(int64_t);
	}
}

/*
 * A group is one block: the struct, then its aggregates, each in the
 * room its function needs (struct pl_agg), and its key hashes (one per
 * module), so that a record finding its group touches one allocation.
 * Only the records array and the sets' elements live apart, because
 * they grow.  Fills the places of the aggregates (off, when not NULL)
 * and key hashes; returns the size.
 */
static size_t
group_block(const struct fq_plan_grouper *pg, uint32_t *off, size_t *khash_at)
{
	size_t n = sizeof(struct pl_group);
	*khash_at = n;
	if (pg == NULL)
		return n;
	for (size_t k = 0; k < pg->naggs; k++) {
		if (off)
			off[k] = (uint32_t)n;
		n += agg_size(&pg->aggs[k]);
	}
	*khash_at = n;
	n += pg->nmodules * sizeof(uint64_t);
	return n;
}

static struct pl_group *
group_new(struct pl_branch *b)
{
	const struct fq_plan_grouper *pg = b->gr.pg;
	char *block = block_get(&b->gr);
	if (block == NULL)
		return NULL;
	struct pl_group *G = (struct pl_group *)(void *)block;
	G->br = b;
	G->recs = G->rec_in;
	G->cap = 2;
	G->seq = b->gr.next_seq++;
	G->refs = 1;
	G->has_ids = b->gr.img;   /* its array holds rec_ids from the start */
	if (pg) {
		G->khash = (uint64_t *)(void *)(block + b->gr.khash_at);
		for (size_t k = 0; k < pg->naggs; k++)
			if (pg->aggs[k].fn == FQ_AGG_UNION)
				pl_group_set(G, k)->elem =
					pg->aggs[k].field->type == FQ_T_IP
					? FQ_V_IP : FQ_V_INT;
	}
	pl_mem_add(b->mem, group_bytes(G));
	b->c.groups++;
	return G;
}

void
pl_group_unref(struct pl_group *G)
{
	if (G == NULL || --G->refs > 0)
		return;
	pl_mem_sub(G->br->mem, group_bytes(G));
	if (!G->has_ids)
		for (uint32_t i = 0; i < G->n; i++)
			pl_rec_unref(G->br->pool, G->recs[i]);
	if (G->br->gr.has_sets)
		for (size_t k = 0; k < G->br->gr.pg->naggs; k++)
			if (G->br->gr.pg->aggs[k].fn == FQ_AGG_UNION)
				pl_set_fini(pl_group_set(G, k));
	if (G->recs != G->rec_in)
		free(G->recs);
	if (G->hn == 0)   /* else the last heap entry out frees it */
		block_put(&G->br->gr, G);
}

/* ---- the grouper ---------------------------------------------------- */

/* A field a rule reads of the first or last record: its place in the
 * block, `*size` long so far. */
static int
img_need(struct pl_grouper *gr, int last, const struct fq_field *f,
	 size_t *size)
{
	const struct fq_plan_grouper *pg = gr->pg;
	if (f->type == FQ_T_DUR)
		return -1;
	uint32_t *off = &gr->img_off[last][f->id];
	if (*off != UINT32_MAX)
		return 0;
	if (!last && (f->type == FQ_T_IP || f->type == FQ_T_TIME ||
		      f->type == FQ_T_U64)) {
		/* the first record's value, kept whole by agg_add */
		for (size_t k = 0; k < pg->naggs; k++) {
			const struct fq_agg *a = &pg->aggs[k];
			if ((a->fn == FQ_AGG_FIELD || a->fn == FQ_AGG_FIRST) &&
			    a->field && a->field->id == f->id) {
				*off = gr->agg_off[k];
				return 0;
			}
		}
	}
	*size = (*size + 7) & ~(size_t)7;
	*off = (uint32_t)*size;
	gr->img_cp[last][gr->img_ncp[last]++] = (struct pl_imgcp){
		*off, f->offset, (uint16_t)type_len(f->type) };
	*size += type_len(f->type);
	return 0;
}

/* Record images (above) when no record is printed and no rule reads
 * `duration` of a group's record; they go after the `*size` bytes of
 * the block. */
static int
img_init(struct pl_branch *b, size_t *size)
{
	struct pl_grouper *gr = &b->gr;
	const struct fq_plan_grouper *pg = gr->pg;
	if (b->keep_recs)
		return 0;
	gr->img_off = malloc(2 * sizeof *gr->img_off);
	gr->img_cp[0] = malloc(2 * FQ_F_COUNT * sizeof *gr->img_cp[0]);
	if (gr->img_off == NULL || gr->img_cp[0] == NULL)
		return -1;
	gr->img_cp[1] = gr->img_cp[0] + FQ_F_COUNT;
	memset(gr->img_off, 0xff, 2 * sizeof *gr->img_off);
	size_t n = *size;
	int ok = 0;
	for (size_t i = 0; i < pg->nmodules && ok == 0; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		for (size_t k = 0; k < m->nkeys && ok == 0; k++)
			ok = img_need(gr, 0, m->keys[k].a, &n);
		for (size_t k = 0; k < m->nrel && ok == 0; k++)
			ok = img_need(gr, m->rel[k].ref == FQ_REF_LAST,
				      m->rel[k].a, &n);
		for (size_t k = 0; k < m->ntime && ok == 0; k++)
			ok = img_need(gr, m->time[k].ref == FQ_REF_LAST,
				      m->time[k].a, &n);
	}
	if (ok < 0) {
		gr->img_ncp[0] = gr->img_ncp[1] = 0;
		return 0;
	}
	gr->img = 1;
	*size = n;
	return 0;
}

int
pl_grouper_init(struct pl_branch *b)
{
	struct pl_grouper *gr = &b->gr;
	gr->pg = b->pb->grouper;
	if (gr->pg && gr->pg->naggs) {
		gr->agg_off = calloc(gr->pg->naggs, sizeof *gr->agg_off);
		if (gr->agg_off == NULL)
			return -1;
	}
	/* The validator's limits (1024 aggregates, 1024 modules) keep a
	 * block well under a slab (PL_SLAB). */
	size_t size = group_block(gr->pg, gr->agg_off, &gr->khash_at);
	if (gr->pg && img_init(b, &size) < 0)
		return -1;
	gr->group_base = pl_chunk(size);
	gr->block_size = (size + 63) & ~(size_t)63;
	if (gr->block_size > PL_SLAB)
		return -1;
	if (gr->pg == NULL)
		return 0;
	const struct fq_plan_grouper *pg = gr->pg;
	for (size_t k = 0; k < pg->naggs; k++)
		if (pg->aggs[k].fn == FQ_AGG_UNION)
			gr->has_sets = 1;
	gr->probe_m = SIZE_MAX;
	for (size_t i = pg->nmodules; i-- > 0;)
		if (pg->modules[i].nkeys)
			gr->probe_m = i;
	if (gr->probe_m != SIZE_MAX) {
		const struct fq_gmodule *m = &pg->modules[gr->probe_m];
		gr->probe_sym = 1;
		for (size_t k = 0; k < m->nkeys; k++)
			if (m->keys[k].a != m->keys[k].b)
				gr->probe_sym = 0;
	}
	gr->linked = b->p->batch;
	for (size_t i = 0; i < pg->nmodules; i++)
		if (pg->modules[i].nkeys == 0)
			gr->linked = 1;
	gr->idx = calloc(gr->pg->nmodules, sizeof *gr->idx);
	gr->abs_ok = calloc(gr->pg->nmodules, 1);
	if (gr->idx == NULL || gr->abs_ok == NULL)
		return -1;
	/* A fixed 16 KiB per branch, like the index tables' headers: not
	 * counted as state. */
	if (!b->p->batch) {
		gr->span.cnt = calloc(PL_SPAN_N, sizeof *gr->span.cnt);
		if (gr->span.cnt == NULL)
			return -1;
		gr->span.base = INT64_MIN;
	}
	return 0;
}

/* ---- the span ring (pl.h, struct pl_span) ---------------------------- */

/* Where a group with this stime is counted: its second, kept inside the
 * ring's reach. */
static int64_t
span_second(const struct pl_span *sp, int64_t stime)
{
	int64_t s = pl_sec_of(stime);
	if (s < sp->base)
		return sp->base;
	if (s - sp->base >= PL_SPAN_N)
		return sp->base + (PL_SPAN_N - 1);
	return s;
}

static void
span_add(struct pl_branch *b, struct pl_group *G)
{
	struct pl_span *sp = &b->gr.span;
	if (sp->cnt == NULL)
		return;
	if (sp->n == 0) {
		/*
		 * Nothing is counted: the ring may start anew, at this group
		 * or at T - M, whichever is first (base must stay at or
		 * before the second of T - M, before which no on-time group
		 * can start, and may not go back).  Before there is a stream
		 * time (the first records), half the ring goes before this
		 * group, for the records that come after it but start
		 * earlier.
		 */
		int64_t T = *b->p->T;
		int64_t s = pl_sec_of(G->stime);
		if (T != INT64_MIN) {
			int64_t lim = pl_sec_of(pl_time_sub(T,
						 b->p->max_duration));
			if (lim < s)
				s = lim;
		} else {
			s -= PL_SPAN_N / 2;
		}
		if (s > sp->base)
			sp->base = s;
	}
	int64_t c = span_second(sp, G->stime);
	G->span_i = (uint32_t)((uint64_t)c & (PL_SPAN_N - 1));
	sp->cnt[G->span_i]++;
	sp->n++;
}

static void
span_del(struct pl_grouper *gr, struct pl_group *G)
{
	struct pl_span *sp = &gr->span;
	if (sp->cnt == NULL)
		return;
	sp->cnt[G->span_i]--;
	sp->n--;
}

int64_t
pl_grouper_front(struct pl_branch *b, int64_t T)
{
	const struct pl_params *o = b->p;
	int64_t front = pl_time_sub(T, o->max_duration);
	struct pl_span *sp = &b->gr.span;
	if (sp->cnt == NULL || front == INT64_MIN)
		return front;
	int64_t lim = pl_sec_of(front);
	if (sp->n == 0) {
		if (lim > sp->base)
			sp->base = lim;
		return front;
	}
	/* Some counter in [base, base + PL_SPAN_N) is not zero: the walk
	 * ends, and over a run it takes one step per second. */
	while (sp->base < lim &&
	       sp->cnt[(uint64_t)sp->base & (PL_SPAN_N - 1)] == 0)
		sp->base++;
	if (sp->cnt[(uint64_t)sp->base & (PL_SPAN_N - 1)] != 0) {
		/* An open group starts in second base (or later: see
		 * struct pl_span). */
		int64_t oldest = sp->base < INT64_MIN / 1000 + 1
				 ? INT64_MIN : sp->base * 1000;
		int64_t floor = pl_time_sub(front, o->window);
		if (oldest < floor)
			oldest = floor;
		if (oldest < front)
			front = oldest;
	}
	return front;
}

static void
open_unlink(struct pl_branch *b, struct pl_group *G)
{
	struct pl_grouper *gr = &b->gr;
	gr->nopen--;
	span_del(gr, G);
	G->open = 0;
	if (gr->closing_all)
		return;   /* close_all() empties list, heap and indexes after */
	if (gr->linked) {
		if (G->prev_open)
			G->prev_open->next_open = G->next_open;
		else
			gr->open_head = G->next_open;
		if (G->next_open)
			G->next_open->prev_open = G->prev_open;
		else
			gr->open_tail = G->prev_open;
	}
	for (size_t i = 0; i < gr->pg->nmodules; i++)
		if (gr->pg->modules[i].nkeys)
			index_del(&gr->idx[i], G, G->khash[i]);
	if (!b->p->batch && gr->heap.n > 0 && gr->heap.a[0].g == G) {
		/* It closes from the top (see "deadline queue"); the caller
		 * holds it. */
		heap_pop(&gr->heap);
		hent_release(G);
	}
}

/* An entry of the queue at the end: its group goes if still open. */
static void
fini_entry(struct pl_group *G)
{
	if (G->open) {
		G->open = 0;
		pl_group_unref(G);
	}
	hent_release(G);
}

void
pl_grouper_fini(struct pl_branch *b)
{
	struct pl_grouper *gr = &b->gr;
	if (gr->linked) {
		struct pl_group *G = gr->open_head;
		while (G) {
			struct pl_group *next = G->next_open;
			G->open = 0;
			pl_group_unref(G);
			G = next;
		}
	}
	/* Streaming: every open group is in the queue, some twice, and
	 * closed groups may have stale entries left. */
	struct pl_mem *mem = b->mem;
	struct pl_heap *h = &gr->heap;
	for (size_t i = 0; i < h->n; i++)
		fini_entry(h->a[i].g);
	for (size_t i = 0; h->w && i < PL_DQ_N; i++)
		for (uint32_t k = 0; k < h->w[i].n; k++)
			fini_entry(h->w[i].a[k].g);
	h->n = 0;
	h->nw = 0;
	if (h->w) {
		for (size_t i = 0; i < PL_DQ_N; i++)
			bucket_free(&h->w[i], mem);
		pl_mem_free(mem, PL_DQ_N * sizeof *h->w);
		free(h->w);
	}
	if (gr->idx)
		for (size_t i = 0; i < gr->pg->nmodules; i++) {
			pl_mem_free(mem, gr->idx[i].nb * sizeof *gr->idx[i].v);
			fq_table_free(gr->idx[i].v,
				      gr->idx[i].nb * sizeof *gr->idx[i].v);
		}
	free(gr->idx);
	free(gr->abs_ok);
	free(gr->agg_off);
	free(gr->due);
	pl_mem_free(mem, gr->heap.cap * sizeof *gr->heap.a);
	fq_table_free(gr->heap.a, gr->heap.cap * sizeof *gr->heap.a);
	free(gr->span.cnt);
	free(gr->img_off);
	free(gr->img_cp[0]);
	for (size_t i = 0; i < gr->nslabs; i++)
		fq_slab_free(gr->slabs[i], PL_SLAB);
	free(gr->slabs);
	memset(gr, 0, sizeof *gr);
}

/* Close G: it leaves the grouper and goes on to the group filter. */
static void
close_group(struct pl_branch *b, struct pl_group *G)
{
	open_unlink(b, G);
	b->c.groups_closed++;
	b->out.group(b->out.to, b, G);
}

uint64_t
pl_grouper_probe_hash(struct pl_branch *b, const struct fq_record *r)
{
	const struct pl_grouper *gr = &b->gr;
	if (gr->pg == NULL || gr->probe_m == SIZE_MAX)
		return 0;
	uint64_t h = key_hash_rec(&gr->pg->modules[gr->probe_m], r, 0);
	const struct pl_gindex *ix = &gr->idx[gr->probe_m];
	if (ix->nb)
		__builtin_prefetch(&ix->v[h & (ix->nb - 1)]);
	return h;
}

static size_t
field_end(const struct fq_field *f)
{
	if (f->type == FQ_T_DUR)   /* derived from the times */
		return offsetof(struct fq_record, etime) + sizeof(int64_t);
	return f->offset + type_len(f->type);
}

size_t
pl_grouper_rec_bytes(const struct fq_plan_grouper *pg)
{
	/* rec_id (pl_query_group_closed) and the times, always */
	size_t n = offsetof(struct fq_record, etime) + sizeof(int64_t);
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		for (size_t k = 0; k < m->nkeys; k++)
			if (field_end(m->keys[k].a) > n)
				n = field_end(m->keys[k].a);
		for (size_t k = 0; k < m->nrel; k++)
			if (field_end(m->rel[k].a) > n)
				n = field_end(m->rel[k].a);
		for (size_t k = 0; k < m->ntime; k++)
			if (field_end(m->time[k].a) > n)
				n = field_end(m->time[k].a);
	}
	return n;
}

/* rec holds r, perhaps cut short: r is read, rec only stored. */
int
pl_grouper_record(struct pl_branch *b, struct pl_rec *rec,
		  const struct fq_record *r, int late, uint64_t probe)
{
	struct pl_grouper *gr = &b->gr;
	const struct pl_params *o = b->p;

	if (gr->pg == NULL) {
		/* No grouper: the record is a closed group of one. */
		struct pl_group *G = group_new(b);
		if (G == NULL)
			return -1;
		group_add(b, G, rec, r);
		b->c.groups_closed++;
		b->out.group(b->out.to, b, G);
		return 0;
	}

	const struct fq_plan_grouper *pg = gr->pg;
	int any_abs = 0;
	for (size_t i = 0; i < pg->nmodules; i++) {
		gr->abs_ok[i] = (uint8_t)pl_cnf_record(&pg->modules[i].abs, r);
		any_abs |= gr->abs_ok[i];
	}
	if (!any_abs) {
		b->c.grouper_dropped++;
		return 0;
	}

	struct pl_group *best = NULL;
	struct pl_kent *best_e = NULL;   /* best's entry in module best_m's
					    index, if found through one */
	size_t best_m = 0;
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		if (!gr->abs_ok[i])
			continue;
		if (m->nkeys) {
			struct pl_gindex *ix = &gr->idx[i];
			if (ix->nb == 0)
				continue;
			uint64_t h = i == gr->probe_m ? probe
						      : key_hash_rec(m, r, 0);
			size_t mask = ix->nb - 1;
			for (size_t k = h & mask; ix->v[k].g; k = (k + 1) & mask) {
				struct pl_kent *e = &ix->v[k];
				if (e->hash != h)
					continue;
				/* Entries of one hash are in creation order. */
				if (best && e->seq > best->seq)
					break;
				/* The deadline is the latest stime any module
				 * could accept (SPEC section 5; a time rule on
				 * r.etime bounds r.stime only if stime <= etime,
				 * which network input need not keep). */
				if (r->stime > e->deadline && r->stime <= r->etime)
					continue;
				struct pl_group *G = e->g;
				if (o->window != FQ_TIME_INF &&
				    r->stime - G->stime > o->window)
					continue;
				if (module_accepts(gr, m, G, r, 1)) {
					best = G;
					best_e = e;
					best_m = i;
					break;
				}
			}
		} else {
			for (struct pl_group *G = gr->open_head; G; G = G->next_open) {
				if (best && G->seq > best->seq)
					break;
				if (o->window != FQ_TIME_INF &&
				    r->stime - G->stime > o->window)
					continue;
				if (module_accepts(gr, m, G, r, 0)) {
					best = G;
					best_e = NULL;
					break;
				}
			}
		}
	}

	if (best) {
		int64_t old_stime = best->stime;
		group_add(b, best, rec, r);
		if (best->stime < old_stime && gr->span.cnt) {
			/* An earlier stime: count it there. */
			span_del(gr, best);
			span_add(b, best);
		}
		best->deadline = group_deadline(b, best);
		for (size_t i = 0; i < pg->nmodules; i++) {
			if (!pg->modules[i].nkeys)
				continue;
			struct pl_kent *e = best_e && i == best_m
					    ? best_e
					    : index_find(&gr->idx[i], best,
							 best->khash[i]);
			if (e)
				e->deadline = best->deadline;
		}
		if (!o->batch && heap_rekey(&gr->heap, best, b->mem) < 0)
			return -1;
		return 0;
	}

	struct pl_group *G = group_new(b);
	if (G == NULL)
		return -1;
	group_add(b, G, rec, r);
	if (late)
		b->c.late_join++;
	G->open = 1;
	if (gr->linked) {
		G->prev_open = gr->open_tail;
		if (gr->open_tail)
			gr->open_tail->next_open = G;
		else
			gr->open_head = G;
		gr->open_tail = G;
	}
	gr->nopen++;
	span_add(b, G);
	G->deadline = group_deadline(b, G);
	for (size_t i = 0; i < pg->nmodules; i++) {
		const struct fq_gmodule *m = &pg->modules[i];
		if (!m->nkeys)
			continue;
		G->khash[i] = i == gr->probe_m && gr->probe_sym
			      ? probe : key_hash_rec(m, r, 1);
		if (index_add(&gr->idx[i], G, G->khash[i], b->mem) < 0)
			return -1;
	}
	if (!o->batch && heap_push(&gr->heap, G, b->mem) < 0)
		return -1;
	return 0;
}

/*
 * G is the next group to close: while stream time gets there, fetch
 * what closing it will read, in two steps -- the group's block first,
 * then, once that is in, its key index slots, its records and the
 * merger's index slots for it (those addresses are in the block).
 * Closing a group cold took five or six cache misses one after the
 * other; this overlaps them with the records before.  The blocks of the
 * top's children are fetched too: the next group to close is one of
 * them, and when it becomes the top its block is in, so the second step
 * can follow at once.  Runs when the top changes and once more; the
 * pointers kept are only compared, never followed.
 */
static void
prefetch_lines(const struct pl_grouper *gr, const struct pl_group *g)
{
	for (size_t l = 0; l < gr->block_size; l += 64)
		__builtin_prefetch((const char *)g + l);
}

static void
prefetch_deep(struct pl_branch *b, const struct pl_group *G)
{
	struct pl_grouper *gr = &b->gr;
	gr->pf_done = G;
	/* close_all() empties the indexes whole: nothing to fetch there */
	for (size_t i = 0; i < gr->pg->nmodules && !gr->closing_all; i++) {
		const struct pl_gindex *ix = &gr->idx[i];
		if (gr->pg->modules[i].nkeys && ix->nb)
			__builtin_prefetch(&ix->v[G->khash[i] & (ix->nb - 1)]);
	}
	if (!G->has_ids && G->n) {
		__builtin_prefetch(G->recs[0]);
		__builtin_prefetch(G->recs[G->n - 1]);
	}
	if (b->out.prefetch)
		b->out.prefetch(b->out.to, G);
}

static void
prefetch_next(struct pl_branch *b, const struct pl_group *G)
{
	struct pl_grouper *gr = &b->gr;
	if (G == gr->pf_top) {
		if (gr->pf_done != G)
			prefetch_deep(b, G);
		return;
	}
	int seen = 0;
	for (size_t k = 0; k < gr->npf_kids; k++)
		seen |= gr->pf_kids[k] == G;
	gr->pf_top = G;
	if (seen)
		prefetch_deep(b, G);
	else
		prefetch_lines(gr, G);
	const struct pl_heap *h = &gr->heap;
	size_t n = h->n - 1 < HEAP_D ? h->n - 1 : HEAP_D;
	for (size_t k = 0; k < n; k++) {
		gr->pf_kids[k] = h->a[1 + k].g;
		prefetch_lines(gr, h->a[1 + k].g);
	}
	gr->npf_kids = n;
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
static void
sort_hent_seq(struct pl_hent *a, size_t n)
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
static int
dq_gather(struct pl_heap *h, struct pl_mem *mem)
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

/*
 * End of input: close every open group, in creation order.  The open
 * list (--batch, or a module without keys) or else the heap sorted by
 * seq gives them as an array, which is closed with each group's memory
 * fetched a few groups ahead; list, heap and indexes are emptied at once
 * after, not one group at a time -- at the end of a long stream that is
 * most of the groups of the last M minutes, and in --batch all of them.
 */
static void
close_all(struct pl_branch *b)
{
	struct pl_grouper *gr = &b->gr;
	struct pl_heap *h = &gr->heap;
	if (dq_gather(h, b->mem) < 0) {
		/* Out of memory: in deadline order, as far as it goes. */
		struct pl_group *G;
		while ((G = heap_top(h, INT64_MAX, b->mem)) != NULL) {
			heap_pop(h);
			close_group(b, G);
			hent_release(G);
		}
	}
	size_t n = 0, nheap = h->n;
	struct pl_group **v = NULL;
	if (gr->linked) {
		if (gr->nopen > gr->ndue_cap) {
			struct pl_group **d = realloc(gr->due,
						      gr->nopen * sizeof *d);
			if (d == NULL) {
				/* one at a time, as the list goes */
				while (gr->open_head)
					close_group(b, gr->open_head);
				for (size_t i = 0; i < h->n; i++)
					hent_release(h->a[i].g);   /* stale */
				h->n = 0;
				return;
			}
			gr->due = d;
			gr->ndue_cap = gr->nopen;
		}
		for (struct pl_group *G = gr->open_head; G; G = G->next_open)
			gr->due[n++] = G;
		v = gr->due;
	} else {
		n = nheap;
		if (n > 1)
			sort_hent_seq(h->a, n);
	}
	gr->closing_all = 1;
	/* Nothing below reads the heap: no record comes after the end, and
	 * the --max-state cap is not checked within it (engine.c). */
	h->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 8 < n)
			prefetch_lines(gr, v ? v[i + 8] : h->a[i + 8].g);
		if (i + 4 < n)
			prefetch_deep(b, v ? v[i + 4] : h->a[i + 4].g);
		/* Without the list a group with two entries has them side by
		 * side. */
		struct pl_group *G = v ? v[i] : h->a[i].g;
		if (G->open)
			close_group(b, G);
		if (!v)
			hent_release(G);
	}
	gr->closing_all = 0;
	if (v) {
		gr->open_head = gr->open_tail = NULL;
		for (size_t i = 0; i < nheap; i++)
			hent_release(h->a[i].g);   /* stale now */
	}
	for (size_t i = 0; i < gr->pg->nmodules; i++) {
		struct pl_gindex *ix = &gr->idx[i];
		if (ix->nb)
			memset(ix->v, 0, ix->nb * sizeof *ix->v);
		ix->n = 0;
	}
}

/* Close the groups taken off the heap (pl_grouper_close_until). */
static void
close_due(struct pl_branch *b, struct pl_group **due, size_t n)
{
	const struct pl_grouper *gr = &b->gr;
	for (size_t i = 0; i < n && i < 6; i++)
		prefetch_lines(gr, due[i]);
	for (size_t i = 0; i < n; i++) {
		if (i + 6 < n)
			prefetch_lines(gr, due[i + 6]);
		if (i + 3 < n)
			prefetch_deep(b, due[i + 3]);
		struct pl_group *G = due[i];
		G->open = 1;   /* for open_unlink */
		close_group(b, G);
		hent_release(G);
	}
}

void
pl_grouper_close_until(struct pl_branch *b, int64_t T, int all)
{
	struct pl_grouper *gr = &b->gr;
	if (gr->pg == NULL)
		return;
	if (all) {
		close_all(b);
		return;
	}
	int64_t M = b->p->max_duration;
	struct pl_group *G;
	/*
	 * Stream time moves in steps, and a step often makes several groups
	 * due at once: they are taken off the heap first, in order, then
	 * closed in that order with their memory fetched a few groups
	 * ahead (prefetch_next).  Closing one group changes neither the
	 * heap nor any other group; a taken group counts as closed for
	 * heap_top, which drops its other entries if it meets them.
	 */
	size_t n = 0;
	/* The latest deadline T closes: T > deadline + M. */
	int64_t upto = T < INT64_MIN + M + 1 ? INT64_MIN : T - M - 1;
	while ((G = heap_top(&gr->heap, upto, b->mem)) != NULL) {
		/* T passes deadline + M (saturating). */
		int64_t limit = G->deadline > FQ_TIME_INF - M ? FQ_TIME_INF
							     : G->deadline + M;
		if (!(T > limit))
			break;
		if (n == gr->ndue_cap) {
			size_t cap = gr->ndue_cap ? gr->ndue_cap * 2 : 64;
			struct pl_group **v = realloc(gr->due, cap * sizeof *v);
			if (v == NULL) {
				/* close it now, the way a batch of one would */
				close_due(b, gr->due, n);
				n = 0;
				heap_pop(&gr->heap);
				G->open = 0;
				close_group(b, G);
				hent_release(G);
				continue;
			}
			gr->due = v;
			gr->ndue_cap = cap;
		}
		heap_pop(&gr->heap);
		G->open = 0;
		gr->due[n++] = G;
	}
	close_due(b, gr->due, n);
	if (G)
		prefetch_next(b, G);
}

/*
 * --max-state.  The group stream time would close first goes first: the
 * top of the deadline heap, keyed by deadline + M, the moment T would
 * close it.  In --batch nothing closes before the end and no heap is
 * kept; the oldest group there is the first created (the open list is in
 * creation order), keyed by its stime so that it compares with the
 * merger store's oldest on the same axis.
 */
struct pl_group *
pl_grouper_oldest(struct pl_branch *b, int64_t *key)
{
	struct pl_grouper *gr = &b->gr;
	if (gr->pg == NULL || gr->nopen == 0)
		return NULL;
	if (b->p->batch) {
		*key = gr->open_head->stime;
		return gr->open_head;
	}
	struct pl_group *G = heap_top(&gr->heap, INT64_MAX, b->mem);
	if (G == NULL)
		return NULL;   /* close_all() is emptying it */
	int64_t M = b->p->max_duration;
	*key = G->deadline > FQ_TIME_INF - M ? FQ_TIME_INF : G->deadline + M;
	return G;
}

size_t
pl_group_footprint(const struct pl_group *g)
{
	size_t n = group_bytes(g);
	if (g->has_ids)
		return n;
	for (uint32_t i = 0; i < g->n; i++)
		if (g->recs[i]->refs == 1)
			n += g->br->pool->slot;
	return n;
}

void
pl_grouper_close_early(struct pl_branch *b, struct pl_group *g)
{
	b->c.closed_early++;
	close_group(b, g);
}
