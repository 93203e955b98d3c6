/*
 * validate.c - the validation pass: names, wiring, and the order in which
 * the stages are compiled into the plan (SPEC section 3, "Validation").
 *
 * The pass defines every stage name once, follows each wiring line into
 * a branch (splitter -> filter -> grouper -> groupfilter -> merger ->
 * ungrouper, each at most once), then compiles what the branches use.
 * Checking and building go together because every check needs the
 * resolved thing the plan holds (a field, an aggregate slot, a branch
 * slot); the stage-specific parts live in compile_filter.c,
 * compile_grouper.c and compile_merger.c, the terms they all contain in
 * validate_term.c (validate.h says how they fit).
 *
 * Definitions are compiled where they are used: a filter once (record
 * fields do not depend on the branch), a grouper once, but a group filter
 * once per grouper, because its names resolve against that branch's
 * aggregates (the seeds' `ggf` serves two branches with different
 * groupers).  Diagnostics that repeat for the second branch are dropped by
 * fq_diag_add().
 */
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "validate.h"

/* ---- name map --------------------------------------------------------- */

/* FNV-1a. */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Room for n names at most half full. */
static int
nmap_init(struct fq__ctx *c, struct fq__nmap *m, size_t n)
{
	m->cap = 16;
	while (m->cap < 2 * n + 1)
		m->cap *= 2;
	m->keys = fq__alloc(c, m->cap * sizeof(*m->keys));
	m->vals = fq__alloc(c, m->cap * sizeof(*m->vals));
	return m->keys && m->vals ? 0 : -1;
}

void *
fq__nmap_get(const struct fq__nmap *m, const char *k)
{
	if (m->keys == NULL || k == NULL)
		return NULL;
	for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == NULL)
			return NULL;
		if (strcmp(m->keys[i], k) == 0)
			return m->vals[i];
	}
}

/* Inserts unless present; returns the existing value or NULL. */
static void *
nmap_put(struct fq__nmap *m, const char *k, void *v)
{
	if (m->keys == NULL || k == NULL)
		return NULL;
	for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == NULL) {
			m->keys[i] = k;
			m->vals[i] = v;
			return NULL;
		}
		if (strcmp(m->keys[i], k) == 0)
			return m->vals[i];
	}
}

/* ---- stage names ------------------------------------------------------ */

const char *
fq__kind_name(enum fq__stage_kind k)
{
	switch (k) {
	case FQ_ST_SPLITTER:    return "splitter";
	case FQ_ST_FILTER:      return "filter";
	case FQ_ST_GROUPER:     return "grouper";
	case FQ_ST_GROUPFILTER: return "groupfilter";
	case FQ_ST_MERGER:      return "merger";
	case FQ_ST_UNGROUPER:   return "ungrouper";
	}
	return "stage";
}

const char *
fq__suggest_stage(struct fq__vstate *vs, const char *name, int kind,
		  char *note, size_t notesz)
{
	struct fq_suggest sg;
	fq_suggest_init(&sg, name, strlen(name));
	for (size_t i = 0; i < vs->f->nstages; i++) {
		const struct fq__stage *st = vs->f->stages[i];
		if (kind < 0 || (int)st->kind == kind)
			fq_suggest_add(&sg, st->name);
	}
	const char *best = fq_suggest_result(&sg, 0);
	if (best == NULL)
		return NULL;
	snprintf(note, notesz, "did you mean '%s'?", best);
	return note;
}

/* Names are defined once; a redefinition points at the first. */
static void
define_stages(struct fq__vstate *vs)
{
	struct fq__ctx *c = vs->c;
	for (size_t i = 0; i < vs->f->nstages; i++) {
		struct fq__stage *st = vs->f->stages[i];
		struct fq__stage *prev = nmap_put(&vs->stages, st->name, st);
		if (prev == NULL)
			continue;
		char note[80];
		snprintf(note, sizeof(note), "'%s' was first defined on line %u",
			 prev->name, (unsigned)fq__line_of(c, prev->at.off));
		fq__error(c, st->at.off, st->at.len, note,
			  "redefinition of '%s'", st->name);
		st->used = 1;   /* no second "unused" warning */
	}
}

/* ---- wiring ----------------------------------------------------------- */

/* A wiring line being followed. */
struct wiring {
	struct fq__vbranch *b;           /* NULL: a line from the merger */
	struct fq__stage *merger;        /* the merger once reached */
	const struct fq__stage *prev;    /* the last stage placed */
	int rank;                        /* its place in the order */
};

static int
stage_rank(enum fq__stage_kind k)
{
	switch (k) {
	case FQ_ST_SPLITTER:    return 0;
	case FQ_ST_FILTER:      return 1;
	case FQ_ST_GROUPER:     return 2;
	case FQ_ST_GROUPFILTER: return 3;
	case FQ_ST_MERGER:      return 4;
	case FQ_ST_UNGROUPER:   return 5;
	}
	return 0;
}

static struct fq__stage *
wire_stage(struct fq__vstate *vs, const struct fq__wire_item *it)
{
	struct fq__stage *st = fq__nmap_get(&vs->stages, it->text);
	if (st == NULL) {
		char note[80];
		const char *s = fq__suggest_stage(vs, it->text, -1, note,
						  sizeof(note));
		fq__error(vs->c, it->at.off, it->at.len, s,
			  "unknown stage '%s'", it->text);
		return NULL;
	}
	st->used = 1;
	return st;
}

static void
set_ungrouper(struct fq__vstate *vs, struct fq__stage *st,
	      const struct fq__wire_item *it)
{
	if (vs->ungrouper != NULL && vs->ungrouper != st)
		fq__error(vs->c, it->at.off, it->at.len, NULL,
			  "a query has one output: ungrouper '%s' is already "
			  "wired", vs->ungrouper->name);
	else
		vs->ungrouper = st;
}

static void
add_endpoint(struct fq__vstate *vs, int input, const struct fq__wire_item *it)
{
	struct fq_endpoint *e = input
		? fq__push(vs->c, (void **)&vs->inputs, &vs->ninputs, sizeof(*e))
		: fq__push(vs->c, (void **)&vs->outputs, &vs->noutputs,
			   sizeof(*e));
	if (e == NULL)
		return;
	e->text = it->text ? it->text : "";
	e->line = fq__line_of(vs->c, it->at.off);
}

/*
 * The stage a wiring line starts at, after an optional input endpoint
 * (*i is its item); NULL when the line is done (reported, or nothing).
 */
static struct fq__stage *
wire_start(struct fq__vstate *vs, const struct fq__wire *w, size_t *i)
{
	struct fq__ctx *c = vs->c;
	const struct fq__wire_item *it = w->items;
	*i = 0;
	if (w->n == 0)
		return NULL;
	if (it[0].is_str) {
		if (w->n == 1) {
			fq__error(c, it[0].at.off, it[0].at.len,
				  "write \"ENDPOINT\" -> SPLITTER",
				  "an endpoint alone does nothing");
			return NULL;
		}
		add_endpoint(vs, 1, &it[0]);
		*i = 1;
	}
	if (it[*i].is_str) {
		fq__error(c, it[*i].at.off, it[*i].at.len, NULL,
			  "an endpoint is wired to a stage, not to an endpoint");
		return NULL;
	}
	struct fq__stage *head = wire_stage(vs, &it[*i]);
	if (head == NULL)
		return NULL;
	if (*i == 1 && head->kind != FQ_ST_SPLITTER) {
		fq__error(c, it[*i].at.off, it[*i].at.len, NULL,
			  "an input endpoint feeds the splitter, not %s '%s'",
			  fq__kind_name(head->kind), head->name);
		return NULL;
	}
	return head;
}

/*
 * From the head: `S branch NAME` defines a branch, a merger continues
 * to the ungrouper.  -1 when the line is done.
 */
static int
wire_head(struct fq__vstate *vs, const struct fq__wire *w, size_t i,
	  struct fq__stage *head, struct wiring *ws)
{
	struct fq__ctx *c = vs->c;
	const struct fq__wire_item *it = &w->items[i];
	if (head->kind == FQ_ST_MERGER) {
		if (it->branch != NULL) {
			fq__error(c, it->branch_at.off, it->branch_at.len, NULL,
				  "branches start at the splitter");
			return -1;
		}
		ws->rank = 4;
		ws->merger = head;
		return 0;
	}
	if (head->kind != FQ_ST_SPLITTER) {
		fq__error(c, it->at.off, it->at.len,
			  "a branch starts at the splitter: 'S branch A -> ...'",
			  "wiring cannot start at %s '%s'",
			  fq__kind_name(head->kind), head->name);
		return -1;
	}
	if (it->branch == NULL) {
		if (i + 1 < w->n)
			fq__error(c, it->at.off, it->at.len,
				  "write 'S branch NAME -> ...'",
				  "wiring from splitter '%s' needs a branch name",
				  head->name);
		return -1;
	}
	if (fq__nmap_get(&vs->branch_map, it->branch) != NULL) {
		fq__error(c, it->branch_at.off, it->branch_at.len, NULL,
			  "branch '%s' is wired twice", it->branch);
		return -1;
	}
	struct fq__vbranch *b = fq__push(c, (void **)&vs->br, &vs->nbr,
					 sizeof(*b));
	if (b == NULL)
		return -1;
	b->name = it->branch;
	b->at = it->branch_at;
	nmap_put(&vs->branch_map, b->name, (void *)(uintptr_t)vs->nbr);
	ws->b = b;
	ws->rank = 0;
	return 0;
}

/* A stage out of order: one of a kind per branch, in pipeline order. */
static void
wire_order_error(struct fq__vstate *vs, const struct fq__wire_item *it,
		 const struct fq__stage *st, const struct wiring *ws)
{
	const char *kind = fq__kind_name(st->kind);
	const char *pkind = fq__kind_name(ws->prev->kind);
	if (stage_rank(st->kind) == ws->rank && st->kind != FQ_ST_SPLITTER)
		fq__error(vs->c, it->at.off, it->at.len,
			  st->kind == FQ_ST_FILTER
			  ? "combine filters in one: a filter's line "
			    "may name another filter" : NULL,
			  "a branch has one %s; '%s' follows %s '%s'",
			  kind, st->name, pkind, ws->prev->name);
	else
		fq__error(vs->c, it->at.off, it->at.len,
			  "the order is splitter -> filter -> grouper -> "
			  "groupfilter -> merger -> ungrouper",
			  "%s '%s' cannot come after %s '%s'",
			  kind, st->name, pkind, ws->prev->name);
}

/* Stage st, in order, becomes the branch's (and the query's) own. */
static void
wire_place(struct fq__vstate *vs, const struct fq__wire_item *it,
	   struct fq__stage *st, struct wiring *ws)
{
	struct fq__vbranch *b = ws->b;
	switch (st->kind) {
	case FQ_ST_FILTER:      b->filter = st; break;
	case FQ_ST_GROUPER:     b->grouper = st; break;
	case FQ_ST_GROUPFILTER: b->groupfilter = st; break;
	case FQ_ST_MERGER:
		b->merger = st;
		ws->merger = st;
		if (vs->merger != NULL && vs->merger != st)
			fq__error(vs->c, it->at.off, it->at.len, NULL,
				  "a query has one merger; merger '%s' is "
				  "already wired", vs->merger->name);
		else if (vs->merger == NULL) {
			vs->merger = st;
			vs->merger_at = it->at;
		}
		break;
	case FQ_ST_UNGROUPER:
		set_ungrouper(vs, st, it);
		if (b != NULL)
			b->ungrouper = st;
		break;
	case FQ_ST_SPLITTER:
		break;
	}
}

/*
 * Item i after the head: an output endpoint ends the line (returns 1),
 * a stage is placed in order.  A bad item is reported and skipped; the
 * rest of the line still wires the branch, so one mistake gives one
 * error.
 */
static int
wire_item(struct fq__vstate *vs, const struct fq__wire *w, size_t i,
	  struct wiring *ws)
{
	struct fq__ctx *c = vs->c;
	const struct fq__wire_item *it = &w->items[i];
	if (it->is_str) {
		if (i + 1 != w->n) {
			fq__error(c, it->at.off, it->at.len, NULL,
				  "an output endpoint ends a wiring line");
			return 1;
		}
		if (ws->b != NULL && ws->merger == NULL && w->n == 2) {
			fq__error(c, it->at.off, it->at.len, NULL,
				  "branch '%s' has no stages", ws->b->name);
			return 1;
		}
		add_endpoint(vs, 0, it);
		return 1;
	}
	if (it->branch != NULL) {
		fq__error(c, it->branch_at.off, it->branch_at.len, NULL,
			  "'branch' follows the splitter only");
		return 1;
	}
	struct fq__stage *st = wire_stage(vs, it);
	if (st == NULL)
		return 0;
	int r = stage_rank(st->kind);
	if (st->kind == FQ_ST_SPLITTER || r <= ws->rank) {
		wire_order_error(vs, it, st, ws);
		return 0;
	}
	ws->rank = r;
	ws->prev = st;
	wire_place(vs, it, st, ws);
	return 0;
}

static void
check_wire(struct fq__vstate *vs, const struct fq__wire *w)
{
	size_t i;
	struct fq__stage *head = wire_start(vs, w, &i);
	if (head == NULL)
		return;
	struct wiring ws;
	memset(&ws, 0, sizeof(ws));
	if (wire_head(vs, w, i, head, &ws) < 0)
		return;
	ws.prev = head;
	for (i++; i < w->n; i++)
		if (wire_item(vs, w, i, &ws) > 0)
			return;
	if (head->kind == FQ_ST_MERGER && w->n - (w->items[0].is_str ? 1 : 0) == 1)
		fq__warning(vs->c, w->items[0].at.off, w->items[0].at.len, NULL,
			    "wiring line with a single stage does nothing");
}

/* ---- the pass --------------------------------------------------------- */

/*
 * What the branches need before their stages compile: at least one, not
 * too many, each wired to the merger when there are several.  0 when the
 * pass goes on.
 */
static int
check_branches(struct fq__vstate *vs)
{
	struct fq__ctx *c = vs->c;
	if (vs->nbr == 0) {
		if (c->nerrors == 0)
			fq__error(c, (uint32_t)c->len, 0,
				  "wire one: S branch A -> FILTER ...",
				  "the query has no branch");
		return -1;
	}
	if (vs->nbr > FQ__MAX_SLOTS) {
		const struct fq__vbranch *b = &vs->br[FQ__MAX_SLOTS];
		fq__error(c, b->at.off, b->at.len, NULL,
			  "too many branches (the limit is %u)",
			  (unsigned)FQ__MAX_SLOTS);
		return -1;
	}
	for (size_t j = 0; j < vs->nbr; j++) {
		if (vs->nbr > 1 && vs->br[j].merger == NULL)
			fq__error(c, vs->br[j].at.off, vs->br[j].at.len,
				  "end each branch's wiring at the merger",
				  "branch '%s' is not wired to a merger; a query with "
				  "several branches merges them", vs->br[j].name);
	}
	return 0;
}

/* Each branch's filter and grouper. */
static void
compile_branches(struct fq__vstate *vs, struct fq_plan_branch *pb)
{
	for (size_t j = 0; j < vs->nbr; j++) {
		struct fq__vbranch *b = &vs->br[j];
		pb[j].name = b->name;
		if (b->filter != NULL) {
			pb[j].filter_name = b->filter->name;
			pb[j].filter = fq__compile_filter(vs, b->filter, 0);
		}
		if (b->grouper != NULL) {
			b->g = fq__compile_grouper(vs, b->grouper);
			if (b->g == NULL || b->grouper->compile_failed) {
				b->grouper_failed = 1;
				b->g = b->grouper->compiled;
			}
			pb[j].grouper = b->g;
		}
	}
}

/*
 * Each branch's group filter, after every grouper: names resolve against
 * the grouper, so branches with the same grouper (or none) share one
 * compiled copy.  -1 when out of memory.
 */
static int
compile_groupfilters(struct fq__vstate *vs, struct fq_plan_branch *pb)
{
	for (size_t j = 0; j < vs->nbr; j++) {
		struct fq__vbranch *b = &vs->br[j];
		struct fq__stage *gf = b->groupfilter;
		if (gf == NULL)
			continue;
		struct fq__gf_memo *mm;
		for (mm = gf->memo; mm != NULL; mm = mm->next)
			if (mm->grouper == b->grouper)
				break;
		if (mm == NULL) {
			mm = fq__alloc(vs->c, sizeof(*mm));
			if (mm == NULL)
				return -1;
			mm->grouper = b->grouper;
			mm->cnf = fq__compile_groupfilter(vs, gf, b);
			mm->next = gf->memo;
			gf->memo = mm;
		}
		pb[j].groupfilter_name = gf->name;
		pb[j].groupfilter = mm->cnf;
	}
	return 0;
}

static void
warn_unused(struct fq__vstate *vs)
{
	for (size_t i = 0; i < vs->f->nstages; i++) {
		struct fq__stage *st = vs->f->stages[i];
		if (!st->used)
			fq__warning(vs->c, st->at.off, st->at.len, NULL,
				    "%s '%s' is defined but not used",
				    fq__kind_name(st->kind), st->name);
	}
}

int
fq__validate(struct fq__ctx *c, struct fq__file *f, struct fq_plan *plan)
{
	struct fq__vstate vs;
	memset(&vs, 0, sizeof(vs));
	memset(plan, 0, sizeof(*plan));
	vs.c = c;
	vs.f = f;
	/* At most one branch per wiring line. */
	if (nmap_init(c, &vs.stages, f->nstages) < 0 ||
	    nmap_init(c, &vs.branch_map, f->nwires) < 0)
		return -FQ_ENOMEM;
	define_stages(&vs);
	for (size_t i = 0; i < f->nwires; i++)
		check_wire(&vs, f->wires[i]);
	if (c->oom)
		return -FQ_ENOMEM;
	if (check_branches(&vs) < 0)
		return 0;
	struct fq_plan_branch *pb = fq__alloc(c, vs.nbr * sizeof(*pb));
	if (pb == NULL)
		return -FQ_ENOMEM;
	compile_branches(&vs, pb);
	if (compile_groupfilters(&vs, pb) < 0)
		return -FQ_ENOMEM;
	plan->nbranches = vs.nbr;
	plan->branches = pb;
	if (vs.merger != NULL)
		plan->merger = fq__compile_merger(&vs, vs.merger);
	plan->ungrouper = vs.ungrouper ? vs.ungrouper->name : NULL;
	plan->ninputs = vs.ninputs;
	plan->inputs = vs.inputs;
	plan->noutputs = vs.noutputs;
	plan->outputs = vs.outputs;
	warn_unused(&vs);
	return c->oom ? -FQ_ENOMEM : 0;
}
