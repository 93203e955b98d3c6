/*
 * compile_grouper.c - a grouper's modules and aggregates into its plan
 * (plan.h, struct fq_plan_grouper).
 *
 * A module's rules, one per line, sort into what the engine needs
 * (SPEC section 4): absolute rules (`field op const`, tested on a record
 * alone), key equalities (`a = b` without delta, which the engine
 * hashes), the other relative rules (`a op b [delta|rdelta D]`), and among
 * those the time rules that give an open group its deadline in streaming
 * (SPEC section 5).
 *
 * Aggregates take their names, accepted arguments and result types from
 * core's aggregate table (fq_agg.h); only the naming rules are the
 * language's own: `as NAME`, else the bare field's name or `fn_field`,
 * never one of the four built-in group values, never twice.
 */
#include <string.h>

#include "validate.h"

/* The arrays of a module being built (arena). */
struct gbuild {
	struct fq_clause *abs;
	size_t nabs;
	struct fq_gkey *keys;
	size_t nkeys;
	struct fq_grule *rel;
	size_t nrel;
	struct fq_gtime *tim;
	size_t ntime;
};

/*
 * A checked relative rule tm (written as t): a key equality, or a rule
 * and perhaps a time rule.  0, or -1 when out of memory.
 */
static int
add_relative(struct fq__ctx *c, const struct fq__term *t,
	     const struct fq_term *tm, struct gbuild *gb)
{
	if (tm->op == FQ_OP_EQ && !tm->has_delta) {
		struct fq_gkey *k = fq__push(c, (void **)&gb->keys, &gb->nkeys,
					     sizeof(*k));
		if (k == NULL)
			return -1;
		k->a = tm->l.field;
		k->b = tm->r.field;
		k->line = tm->line;
		return 0;
	}
	struct fq_grule *g = fq__push(c, (void **)&gb->rel, &gb->nrel,
				      sizeof(*g));
	if (g == NULL)
		return -1;
	g->op = tm->op;
	g->a = tm->l.field;
	g->b = tm->r.field;
	g->ref = t->delta_kind == 2 ? FQ_REF_LAST : FQ_REF_FIRST;
	g->has_delta = tm->has_delta;
	g->delta = tm->delta;
	g->line = tm->line;
	/*
	 * r.b <= R.a + D bounds r.stime from above when b is stime, or
	 * etime (stime <= etime): that is a deadline.
	 */
	if (tm->has_delta && g->a->type == FQ_T_TIME &&
	    g->b->type == FQ_T_TIME &&
	    (g->op == FQ_OP_EQ || g->op == FQ_OP_LT || g->op == FQ_OP_LE)) {
		g->is_time = 1;
		struct fq_gtime *tt = fq__push(c, (void **)&gb->tim, &gb->ntime,
					       sizeof(*tt));
		if (tt == NULL)
			return -1;
		tt->a = g->a;
		tt->ref = g->ref;
		tt->delta = g->delta;
	}
	return 0;
}

/*
 * One rule line of a module into gb: 0, 1 after reporting an error, or
 * -1 when out of memory.
 */
static int
gmodule_rule(struct fq__vstate *vs, const struct fq__rctx *rc,
	     const struct fq__line *ln, struct gbuild *gb)
{
	struct fq__ctx *c = vs->c;
	if (ln->n > 1) {
		fq__error(c, ln->at.off, ln->at.len,
			  "write one rule per line; for alternatives use "
			  "another module",
			  "a grouper rule cannot use OR");
		return 1;
	}
	const struct fq__term *t = ln->terms[0];
	struct fq_term tm;
	if (fq__compile_cmp(vs, rc, t, &tm) < 0)
		return 1;
	if (tm.l.kind != FQ_O_FIELD || tm.r.kind != FQ_O_FIELD) {
		/* absolute: a clause of its own */
		struct fq_term *x = fq__alloc(c, sizeof(*x));
		struct fq_clause *cx = fq__push(c, (void **)&gb->abs, &gb->nabs,
						sizeof(*cx));
		if (x == NULL || cx == NULL)
			return -1;
		*x = tm;
		cx->n = 1;
		cx->terms = x;
		return 0;
	}
	if (tm.negate || tm.l.fn != FQ_FN_NONE || tm.r.fn != FQ_FN_NONE ||
	    tm.op == FQ_OP_IN || tm.op == FQ_OP_NOTIN) {
		fq__error(c, t->at.off, t->at.len, NULL,
			  "a relative rule compares two fields with = != < > "
			  "<= >= (no NOT, bitAND, bitOR, in)");
		return 1;
	}
	return add_relative(c, t, &tm, gb);
}

static int
compile_gmodule(struct fq__vstate *vs, const struct fq__module *m,
		struct fq_gmodule *out)
{
	struct fq__rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = FQ__R_REC;
	rc.allow_delta = 1;
	struct gbuild gb;
	memset(&gb, 0, sizeof(gb));
	int bad = 0;
	out->name = m->name;
	for (size_t i = 0; i < m->nlines; i++) {
		int rc_line = gmodule_rule(vs, &rc, m->lines[i], &gb);
		if (rc_line < 0)
			return -1;
		if (rc_line > 0)
			bad = 1;
	}
	out->abs.n = gb.nabs;
	out->abs.clauses = gb.abs;
	out->nkeys = gb.nkeys;
	out->keys = gb.keys;
	out->nrel = gb.nrel;
	out->rel = gb.rel;
	out->ntime = gb.ntime;
	out->time = gb.tim;
	return bad ? -1 : 0;
}

/* The modules (one unnamed module when there is none); *bad on errors. */
static struct fq_gmodule *
grouper_modules(struct fq__vstate *vs, struct fq__stage *st, size_t *nm,
		int *bad)
{
	struct fq__ctx *c = vs->c;
	*nm = st->nmodules ? st->nmodules : 1;
	struct fq_gmodule *mods = fq__alloc(c, *nm * sizeof(*mods));
	if (mods == NULL)
		return NULL;
	if (st->nmodules == 0) {
		fq__warning(c, st->at.off, st->at.len, NULL,
			    "grouper '%s' has no module: all its records form "
			    "one group", st->name);
		mods[0].name = "(none)";
	}
	for (size_t i = 0; i < st->nmodules; i++) {
		const struct fq__module *m = st->modules[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(st->modules[j]->name, m->name) == 0) {
				fq__error(c, m->at.off, m->at.len, NULL,
					  "module '%s' is defined twice in grouper '%s'",
					  m->name, st->name);
				*bad = 1;
				break;
			}
		if (compile_gmodule(vs, m, &mods[i]) < 0)
			*bad = 1;
	}
	return mods;
}

/* ---- aggregates ------------------------------------------------------- */

/* The function a names (the bare field: FQ_AGG_FIELD); -1 if unknown. */
static int
agg_fn(struct fq__ctx *c, const struct fq__agg *a, enum fq_agg_fn *fn)
{
	*fn = FQ_AGG_FIELD;
	if (a->fn == NULL || fq_agg_lookup(a->fn, strlen(a->fn), fn))
		return 0;
	const char *names[FQ_AGG_NFN];
	size_t nf = 0;
	for (size_t k = 0; k < FQ_AGG_NFN; k++)
		if (fq_agg_defs[k].named)
			names[nf++] = fq_agg_defs[k].name;
	char note[64];
	const char *s = fq_suggest(a->fn, strlen(a->fn), names, nf);
	if (s)
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	fq__error(c, a->fn_at.off, a->fn_at.len, s ? note : NULL,
		  "unknown aggregate function '%s'", a->fn);
	return -1;
}

/* The argument of a, which o->fn must accept; sets o->field, o->vtype. */
static int
agg_arg(struct fq__ctx *c, const struct fq__agg *a, struct fq_agg *o)
{
	o->field = fq_field_lookup(a->field, strlen(a->field));
	if (o->field == NULL) {
		char note[64];
		const char *s = fq_field_suggest(a->field, strlen(a->field));
		if (s)
			snprintf(note, sizeof(note), "did you mean '%s'?", s);
		fq__error(c, a->field_at.off, a->field_at.len, s ? note : NULL,
			  "unknown field '%s'", a->field);
		return -1;
	}
	enum fq_vtype arg = fq__field_vtype(o->field);
	if (!fq_agg_accepts(o->fn, arg)) {
		fq__error(c, a->field_at.off, a->field_at.len, NULL,
			  arg == FQ_V_IP
			  ? "%s() needs a numeric field; '%s' is an address"
			  : "%s() needs an address field; '%s' is a number",
			  a->fn, a->field);
		return -1;
	}
	o->vtype = fq_agg_result_type(o->fn, arg);
	return 0;
}

/*
 * The name of a (aggs[0..na) compiled before it) into o->name: 0, 1
 * after reporting a reserved or repeated name, -1 out of memory.
 */
static int
agg_name(struct fq__vstate *vs, const struct fq__stage *st,
	 const struct fq__agg *a, const struct fq_agg *aggs, size_t na,
	 struct fq_agg *o)
{
	struct fq__ctx *c = vs->c;
	struct fq__span nat = a->as ? a->as_at : a->field_at;
	if (a->as != NULL) {
		o->name = a->as;
	} else if (a->fn == NULL) {
		o->name = a->field;
	} else {
		size_t l = strlen(a->fn) + strlen(a->field) + 2;
		char *nm = fq__alloc(c, l);
		if (nm == NULL)
			return -1;
		snprintf(nm, l, "%s_%s", a->fn, a->field);
		o->name = nm;
	}
	for (int k = 0; k < FQ__NBUILTIN; k++)
		if (strcmp(o->name, fq__builtin_names[k]) == 0) {
			fq__error(c, nat.off, nat.len,
				  "every group has stime, etime, duration and "
				  "records; choose another name with 'as'",
				  "'%s' is a built-in group field and cannot name "
				  "an aggregate", o->name);
			return 1;
		}
	for (size_t k = 0; k < na; k++)
		if (strcmp(aggs[k].name, o->name) == 0) {
			fq__error(c, nat.off, nat.len, NULL,
				  "aggregate '%s' is defined twice in grouper '%s'",
				  o->name, st->name);
			return 1;
		}
	return 0;
}

/*
 * The aggregates that compile, in order, into aggs (*na of them); *bad
 * when one does not.  -1 when out of memory.
 */
static int
grouper_aggs(struct fq__vstate *vs, const struct fq__stage *st,
	     struct fq_agg *aggs, size_t *na, int *bad)
{
	for (size_t i = 0; i < st->naggs; i++) {
		const struct fq__agg *a = &st->aggs[i];
		struct fq_agg *o = &aggs[*na];
		if (a->field == NULL) {
			*bad = 1;   /* syntax error, already reported */
			continue;
		}
		if (agg_fn(vs->c, a, &o->fn) < 0 || agg_arg(vs->c, a, o) < 0) {
			*bad = 1;
			continue;
		}
		int r = agg_name(vs, st, a, aggs, *na, o);
		if (r < 0)
			return -1;
		if (r > 0) {
			*bad = 1;
			continue;
		}
		(*na)++;
	}
	return 0;
}

const struct fq_plan_grouper *
fq__compile_grouper(struct fq__vstate *vs, struct fq__stage *st)
{
	struct fq__ctx *c = vs->c;
	if (st->compiled_done)
		return st->compiled;
	st->compiled_done = 1;
	if (st->nmodules > FQ__MAX_ITEMS || st->naggs > FQ__MAX_ITEMS) {
		fq__error(c, st->at.off, st->at.len, NULL,
			  "grouper '%s' has too many modules or aggregates (the "
			  "limit is %u)", st->name, (unsigned)FQ__MAX_ITEMS);
		st->compile_failed = 1;
		return NULL;
	}
	struct fq_plan_grouper *g = fq__alloc(c, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->name = st->name;
	int bad = 0;
	struct fq_gmodule *mods = grouper_modules(vs, st, &g->nmodules, &bad);
	if (mods == NULL)
		return NULL;
	g->modules = mods;
	struct fq_agg *aggs = fq__alloc(c, (st->naggs ? st->naggs : 1) *
					sizeof(*aggs));
	if (aggs == NULL)
		return NULL;
	size_t na = 0;
	if (grouper_aggs(vs, st, aggs, &na, &bad) < 0)
		return NULL;
	g->naggs = na;
	g->aggs = aggs;
	/*
	 * After an error keep the aggregates that did compile, so that the
	 * group filter and merger are still checked, but mark failure.
	 */
	st->compiled = g;
	if (bad) {
		st->compile_failed = 1;
		return NULL;
	}
	return g;
}
