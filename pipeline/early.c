/*
 * early.c - early matches (--early; SPEC section 5, "Early matches").
 *
 * A final match comes only when its groups close, deadline + M + L
 * after its first record.  With --early, whenever a record joins or
 * starts a group, the query's pattern is evaluated on the groups as they
 * stand: the group's filter on its current values, then the merger's
 * export module over stored and open groups (pl_merger_early), then its
 * subtracting modules likewise.  A tuple that holds is an early match,
 * numbered E per query, and emitted at once -- once: a tuple is known by
 * its groups' first records (their smallest rec_ids).
 *
 * Every early match is settled exactly once.  When the final evaluation
 * finds the same tuple, the final match names it (pl_early_confirm, from
 * the ungrouper).  Otherwise it is retracted, as soon as that is known:
 *   - the last of its groups that was open has closed and gone through
 *     the group filter and the merger (pl_early_closed), and the merger
 *     neither emitted the tuple nor keeps it pending;
 *   - or the merger let a pending tuple go (a subtracting module
 *     rejected it, or the --max-state cap dropped it).
 * A tuple of closed groups only is the final evaluation's business: its
 * match comes at once, or -- with subtracting modules -- waits for its
 * release time, and then its early match is emitted when it starts to
 * wait (pl_early_pending), since the pattern holds and nothing rejects
 * it yet.  The final matches are those of a run without --early.
 *
 * State: one entry per unsettled early match, and per open group the
 * entries it belongs to; both counted in the state total.
 */
#include "pl.h"
#include "fq_error.h"

#include <stdlib.h>
#include <string.h>

/* An early match not settled yet. */
struct pl_early_ent {
	uint64_t e;                /* its number */
	int64_t time;              /* largest etime when it was emitted */
	uint64_t key;              /* hash of ids */
	uint32_t open_left;        /* its groups still open */
	uint8_t pending;           /* the merger holds it for release */
	uint8_t done;              /* confirmed: freed once open_left is 0 */
	uint64_t ids[];            /* per plan branch: first rec_id, 0 = none */
};

/* The entries an open group belongs to. */
struct pl_early_grp {
	uint64_t id;               /* its first rec_id; 0 = empty slot */
	uint32_t branch;
	uint32_t n, cap;
	struct pl_early_ent **v;   /* owned array of borrowed entries */
};

static size_t
ent_size(const struct pl_early *ea)
{
	return sizeof(struct pl_early_ent) + ea->nb * sizeof(uint64_t);
}

/* ---- the identity table ---------------------------------------------------- */

static uint64_t
ids_hash(const uint64_t *ids, size_t nb)
{
	uint64_t h = 0x5bd1e995;
	for (size_t b = 0; b < nb; b++)
		h = pl_mix(h, ids[b]);
	return h ? h : 1;
}

static struct pl_early_ent **
ent_slot(const struct pl_early *ea, const uint64_t *ids, uint64_t key)
{
	size_t mask = ea->nents_b - 1;
	for (size_t i = key & mask;; i = (i + 1) & mask) {
		struct pl_early_ent *x = ea->ents[i];
		if (x == NULL || (x->key == key &&
				  memcmp(x->ids, ids, ea->nb * sizeof *ids) == 0))
			return &ea->ents[i];
	}
}

static int
ents_grow(struct pl_early *ea)
{
	size_t nb = ea->nents_b ? 2 * ea->nents_b : 256;
	struct pl_early_ent **v = calloc(nb, sizeof *v);
	if (v == NULL)
		return -1;
	pl_mem_realloc(ea->mem, ea->nents_b * sizeof *v, nb * sizeof *v);
	struct pl_early_ent **old = ea->ents;
	size_t oldn = ea->nents_b;
	ea->ents = v;
	ea->nents_b = nb;
	for (size_t i = 0; i < oldn; i++)
		if (old[i])
			*ent_slot(ea, old[i]->ids, old[i]->key) = old[i];
	free(old);
	return 0;
}

/* Take the entry out of the identity table (backward shift). */
static void
ents_del(struct pl_early *ea, struct pl_early_ent *x)
{
	struct pl_early_ent **slot = ent_slot(ea, x->ids, x->key);
	if (*slot != x)
		return;
	size_t mask = ea->nents_b - 1;
	size_t i = (size_t)(slot - ea->ents), j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (ea->ents[j] == NULL)
			break;
		size_t home = ea->ents[j]->key & mask;
		if (!pl_oa_stays(home, i, j)) {
			ea->ents[i] = ea->ents[j];
			i = j;
		}
	}
	ea->ents[i] = NULL;
	ea->nents--;
}

/* The first rec_ids of a tuple's groups, and their hash. */
static uint64_t
tuple_ids(const struct pl_early *ea, struct pl_group *const *g, uint64_t *ids)
{
	for (size_t b = 0; b < ea->nb; b++)
		ids[b] = g[b] ? g[b]->min_rec_id : 0;
	return ids_hash(ids, ea->nb);
}

static struct pl_early_ent *
ent_find(struct pl_early *ea, struct pl_group *const *g)
{
	if (ea->nents == 0)
		return NULL;
	uint64_t key = tuple_ids(ea, g, ea->ids);
	return *ent_slot(ea, ea->ids, key);
}

static void
ent_free(struct pl_early *ea, struct pl_early_ent *x)
{
	pl_mem_free(ea->mem, ent_size(ea));
	free(x);
}

/* Settled: out of the table; freed now if no open group names it. */
static void
ent_settle(struct pl_early *ea, struct pl_early_ent *x, int retract)
{
	ents_del(ea, x);
	if (retract) {
		ea->retracted++;
		pl_ungrouper_retract(ea->ug, x->e, x->time);
	} else {
		ea->confirmed++;
	}
	x->done = 1;
	if (x->open_left == 0)
		ent_free(ea, x);
}

/* ---- open groups -> entries ------------------------------------------------- */

static uint64_t
grp_hash(uint32_t branch, uint64_t id)
{
	return pl_mix(id, branch);
}

static struct pl_early_grp *
grp_slot(const struct pl_early *ea, uint32_t branch, uint64_t id)
{
	size_t mask = ea->ngrps_b - 1;
	for (size_t i = grp_hash(branch, id) & mask;; i = (i + 1) & mask) {
		struct pl_early_grp *x = &ea->grps[i];
		if (x->id == 0 || (x->id == id && x->branch == branch))
			return x;
	}
}

static int
grps_grow(struct pl_early *ea)
{
	size_t nb = ea->ngrps_b ? 2 * ea->ngrps_b : 256;
	struct pl_early_grp *v = calloc(nb, sizeof *v);
	if (v == NULL)
		return -1;
	pl_mem_realloc(ea->mem, ea->ngrps_b * sizeof *v, nb * sizeof *v);
	struct pl_early_grp *old = ea->grps;
	size_t oldn = ea->ngrps_b;
	ea->grps = v;
	ea->ngrps_b = nb;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].id)
			*grp_slot(ea, old[i].branch, old[i].id) = old[i];
	free(old);
	return 0;
}

static void
grps_del(struct pl_early *ea, struct pl_early_grp *slot)
{
	size_t mask = ea->ngrps_b - 1;
	size_t i = (size_t)(slot - ea->grps), j = i;
	pl_mem_free(ea->mem, slot->cap * sizeof *slot->v);
	free(slot->v);
	for (;;) {
		j = (j + 1) & mask;
		if (ea->grps[j].id == 0)
			break;
		size_t home = grp_hash(ea->grps[j].branch, ea->grps[j].id) & mask;
		if (!pl_oa_stays(home, i, j)) {
			ea->grps[i] = ea->grps[j];
			i = j;
		}
	}
	memset(&ea->grps[i], 0, sizeof ea->grps[i]);
	ea->ngrps--;
}

/* Entry x names open group (branch, id); 0 or -1. */
static int
grp_add(struct pl_early *ea, uint32_t branch, uint64_t id,
	struct pl_early_ent *x)
{
	if ((ea->ngrps + 1) * 2 > ea->ngrps_b && grps_grow(ea) < 0)
		return -1;
	struct pl_early_grp *s = grp_slot(ea, branch, id);
	if (s->id == 0) {
		s->id = id;
		s->branch = branch;
		ea->ngrps++;
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 4;
		struct pl_early_ent **v = realloc(s->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		pl_mem_realloc(ea->mem, s->cap * sizeof *v, cap * sizeof *v);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	return 0;
}

/* ---- events ----------------------------------------------------------------- */

/* A new early match of tuple g (per plan branch): number, remember,
 * emit.  `open` groups of it are still open. */
static void
emit_early(struct pl_early *ea, struct pl_group *const *g, int64_t time,
	   int pending)
{
	if ((ea->nents + 1) * 2 > ea->nents_b && ents_grow(ea) < 0)
		return;
	struct pl_early_ent *x = calloc(1, ent_size(ea));
	if (x == NULL)
		return;
	pl_mem_alloc(ea->mem, ent_size(ea));
	x->key = tuple_ids(ea, g, x->ids);
	x->e = ++ea->next_e;
	x->time = time;
	x->pending = (uint8_t)pending;
	for (size_t b = 0; b < ea->nb; b++)
		if (g[b] && g[b]->open && grp_add(ea, (uint32_t)b, x->ids[b], x) == 0)
			x->open_left++;
	*ent_slot(ea, x->ids, x->key) = x;
	ea->nents++;
	ea->emitted++;
	pl_ungrouper_early(ea->ug, g, time, x->e);
}

/* pl_merger_early's callback, and the single-branch case: tuple g holds
 * as the groups stand. */
static void
found(void *ctx, struct pl_group *const *g, int64_t time)
{
	struct pl_early *ea = ctx;
	uint32_t open = 0;
	for (size_t b = 0; b < ea->nb; b++)
		open += g[b] && g[b]->open;
	/* Closed groups only: the final evaluation decides now, or at its
	 * release time (pl_early_pending). */
	if (open == 0 || ent_find(ea, g))
		return;
	emit_early(ea, g, time, 0);
}

void
pl_early_changed(void *to, struct pl_branch *from, struct pl_group *g)
{
	struct pl_early *ea = to;
	int passes = 1;
	if (from->pb->groupfilter) {
		struct pl_group *slot[1] = { g };
		passes = pl_cnf_group(from->pb->groupfilter, slot);
	}
	if (ea->mg) {
		if (g->open)
			pl_merger_open_put(ea->mg, g, passes);
		if (passes)
			pl_merger_early(ea->mg, g, found, ea);
		return;
	}
	if (passes && g->open) {
		memset(ea->tuple, 0, ea->nb * sizeof *ea->tuple);
		ea->tuple[from->index] = g;
		found(ea, ea->tuple, g->etime);
	}
}

/* The group (branch, id) has closed and gone all the way through. */
static void
settle_group(struct pl_early *ea, uint32_t branch, uint64_t id)
{
	if (ea->ngrps == 0)
		return;
	struct pl_early_grp *s = grp_slot(ea, branch, id);
	if (s->id == 0)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		struct pl_early_ent *x = s->v[i];
		if (--x->open_left > 0)
			continue;
		if (x->done)
			ent_free(ea, x);
		else if (!x->pending)
			ent_settle(ea, x, 1);
	}
	grps_del(ea, s);
}

void
pl_early_closed(void *to, struct pl_branch *from, struct pl_group *g)
{
	struct pl_early_link *l = to;
	struct pl_early *ea = l->ea;
	if (ea->mg)
		pl_merger_open_del(ea->mg, g);
	uint64_t id = g->min_rec_id;
	l->next.group(l->next.to, from, g);   /* takes our reference */
	settle_group(ea, (uint32_t)from->index, id);
}

void
pl_early_prefetch(void *to, const struct pl_group *g)
{
	struct pl_early_link *l = to;
	if (l->next.prefetch)
		l->next.prefetch(l->next.to, g);
}

static void
on_pending(void *ctx, struct pl_group *const *g, int64_t time)
{
	struct pl_early *ea = ctx;
	struct pl_early_ent *x = ent_find(ea, g);
	if (x)
		x->pending = 1;
	else
		emit_early(ea, g, time, 1);
}

static void
on_dropped(void *ctx, struct pl_group *const *g)
{
	struct pl_early *ea = ctx;
	struct pl_early_ent *x = ent_find(ea, g);
	if (x) {
		x->pending = 0;
		ent_settle(ea, x, 1);
	}
}

uint64_t
pl_early_confirm(void *ctx, struct pl_group *const *g)
{
	struct pl_early *ea = ctx;
	struct pl_early_ent *x = ent_find(ea, g);
	if (x == NULL)
		return 0;
	uint64_t e = x->e;
	ent_settle(ea, x, 0);
	return e;
}

int
pl_early_init(struct pl_early *ea, struct pl_query *q)
{
	memset(ea, 0, sizeof *ea);
	ea->nb = q->plan->nbranches;
	ea->mem = q->pool.mem;
	ea->mg = q->mg;
	ea->ug = &q->ug;
	size_t n = ea->nb ? ea->nb : 1;
	ea->links = calloc(n, sizeof *ea->links);
	ea->ids = calloc(n, sizeof *ea->ids);
	ea->tuple = calloc(n, sizeof *ea->tuple);
	if (ea->links == NULL || ea->ids == NULL || ea->tuple == NULL)
		return -FQ_ENOMEM;
	if (ea->mg) {
		struct pl_merger_watch w = { on_pending, on_dropped, ea };
		if (pl_merger_early_init(ea->mg, w) < 0)
			return -FQ_ENOMEM;
	}
	return 0;
}

void
pl_early_fini(struct pl_early *ea)
{
	for (size_t i = 0; i < ea->nents_b; i++)
		if (ea->ents[i] && ea->ents[i]->open_left == 0)
			ent_free(ea, ea->ents[i]);
	/* entries still named by an open group are freed through it */
	for (size_t i = 0; i < ea->ngrps_b; i++) {
		struct pl_early_grp *s = &ea->grps[i];
		if (s->id == 0)
			continue;
		for (uint32_t k = 0; k < s->n; k++)
			if (--s->v[k]->open_left == 0)
				ent_free(ea, s->v[k]);
		pl_mem_free(ea->mem, s->cap * sizeof *s->v);
		free(s->v);
	}
	pl_mem_free(ea->mem, ea->nents_b * sizeof *ea->ents);
	pl_mem_free(ea->mem, ea->ngrps_b * sizeof *ea->grps);
	free(ea->ents);
	free(ea->grps);
	free(ea->links);
	free(ea->ids);
	free(ea->tuple);
	memset(ea, 0, sizeof *ea);
}
