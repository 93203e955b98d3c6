/*
 * compile_filter.c - filters and group filters into CNF (plan.h, struct
 * fq_cnf): a stage's lines are ANDed clauses, the terms of a line ORed.
 *
 * A filter's line may name another filter (a composite filter, SPEC
 * section 3).  A line that is only such a name, not negated, splices the
 * named filter's clauses in place, so that the engine sees one flat CNF;
 * a name among other terms or under NOT stays a term that evaluates the
 * named filter (FQ_OP_FILTER).  Filters are compiled once, when first
 * used, and a filter reached again while it is being compiled includes
 * itself.
 *
 * A group filter has no references; its names are the group values of
 * the branch it serves, so the pass compiles it once per grouper
 * (validate.c).
 */
#include <string.h>

#include "validate.h"

/* A CNF of the ncl clauses cl; NULL when out of memory. */
static const struct fq_cnf *
cnf_new(struct fq__ctx *c, const struct fq_clause *cl, size_t ncl)
{
	struct fq_cnf *cnf = fq__alloc(c, sizeof(*cnf));
	if (cnf == NULL)
		return NULL;
	cnf->n = ncl;
	cnf->clauses = cl;
	return cnf;
}

/*
 * The error for a name that is not a filter: a field alone is not a
 * condition; else the closest filter name, or the closest field (a
 * condition missing its operator).
 */
static void
unknown_ref(struct fq__vstate *vs, const struct fq__expr *e)
{
	struct fq__ctx *c = vs->c;
	char note[80];
	if (fq_field_lookup(e->name, strlen(e->name)) != NULL) {
		fq__error(c, e->at.off, e->at.len,
			  "a line is a condition (dstport = 80) or the name "
			  "of a filter",
			  "field '%s' alone is not a condition", e->name);
		return;
	}
	const char *s = fq__suggest_stage(vs, e->name, FQ_ST_FILTER, note,
					  sizeof(note));
	if (s == NULL) {
		const char *fs = fq_field_suggest(e->name, strlen(e->name));
		if (fs != NULL) {
			snprintf(note, sizeof(note),
				 "did you mean the field '%s'? (a condition "
				 "needs an operator)", fs);
			s = note;
		}
	}
	fq__error(c, e->at.off, e->at.len, s, "unknown filter '%s'", e->name);
}

/* The filter a line names, compiled; NULL after reporting. */
static const struct fq_cnf *
resolve_ref(struct fq__vstate *vs, const struct fq__expr *e, int depth)
{
	struct fq__ctx *c = vs->c;
	struct fq__stage *st = fq__nmap_get(&vs->stages, e->name);
	if (st == NULL) {
		unknown_ref(vs, e);
		return NULL;
	}
	if (st->kind != FQ_ST_FILTER) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "'%s' is a %s; only a filter can be used in a filter",
			  e->name, fq__kind_name(st->kind));
		return NULL;
	}
	st->used = 1;
	if (st->visiting) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "filter '%s' includes itself", e->name);
		return NULL;
	}
	return fq__compile_filter(vs, st, depth + 1);
}

/*
 * One line of a filter, appended to the clauses (*cl, *ncl); *bad set
 * after an error in it.  Returns -1 only when out of memory.
 */
static int
filter_line(struct fq__vstate *vs, const struct fq__rctx *rc,
	    const struct fq__line *ln, int depth, struct fq_clause **cl,
	    size_t *ncl, int *bad)
{
	struct fq__ctx *c = vs->c;
	if (ln->n == 1 && ln->terms[0]->kind == FQ_TERM_REF &&
	    !ln->terms[0]->negate) {
		/* A lone reference: its lines are ANDed in place. */
		const struct fq_cnf *sub = resolve_ref(vs, ln->terms[0]->l, depth);
		if (sub == NULL) {
			*bad = 1;
			return 0;
		}
		for (size_t k = 0; k < sub->n; k++) {
			struct fq_clause *x = fq__push(c, (void **)cl, ncl,
						       sizeof(*x));
			if (x == NULL)
				return -1;
			*x = sub->clauses[k];
		}
		return 0;
	}
	struct fq_term *terms = fq__alloc(c, ln->n * sizeof(*terms));
	if (terms == NULL)
		return -1;
	for (size_t k = 0; k < ln->n; k++) {
		const struct fq__term *t = ln->terms[k];
		if (t->kind != FQ_TERM_REF) {
			if (fq__compile_cmp(vs, rc, t, &terms[k]) < 0)
				*bad = 1;
			continue;
		}
		const struct fq_cnf *sub = resolve_ref(vs, t->l, depth);
		if (sub == NULL) {
			*bad = 1;
			continue;
		}
		terms[k].op = FQ_OP_FILTER;
		terms[k].negate = t->negate;
		terms[k].sub = sub;
		terms[k].line = fq__line_of(c, t->at.off);
	}
	struct fq_clause *x = fq__push(c, (void **)cl, ncl, sizeof(*x));
	if (x == NULL)
		return -1;
	x->n = ln->n;
	x->terms = terms;
	return 0;
}

const struct fq_cnf *
fq__compile_filter(struct fq__vstate *vs, struct fq__stage *st, int depth)
{
	struct fq__ctx *c = vs->c;
	if (st->compiled_done)
		return st->compiled;
	if (depth > FQ__MAX_FILTER_DEPTH) {
		fq__error(c, st->at.off, st->at.len, NULL,
			  "filters nested too deeply");
		return NULL;
	}
	st->visiting = 1;
	struct fq__rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = FQ__R_REC;
	struct fq_clause *cl = NULL;
	size_t ncl = 0;
	int bad = 0;
	for (size_t i = 0; i < st->nlines; i++)
		if (filter_line(vs, &rc, st->lines[i], depth, &cl, &ncl,
				&bad) < 0)
			return NULL;
	st->visiting = 0;
	st->compiled_done = 1;
	if (bad)
		return NULL;
	const struct fq_cnf *cnf = cnf_new(c, cl, ncl);
	if (cnf != NULL)
		st->compiled = cnf;
	return cnf;
}

const struct fq_cnf *
fq__compile_groupfilter(struct fq__vstate *vs, struct fq__stage *st,
			const struct fq__vbranch *b)
{
	struct fq__ctx *c = vs->c;
	struct fq__rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = FQ__R_GROUP;
	rc.g = b->g;
	rc.has_grouper = b->grouper != NULL;
	rc.grouper_failed = b->grouper_failed;
	rc.branch = b->name;
	struct fq_clause *cl = NULL;
	size_t ncl = 0;
	int bad = 0;
	for (size_t i = 0; i < st->nlines; i++) {
		const struct fq__line *ln = st->lines[i];
		struct fq_term *terms = fq__alloc(c, ln->n * sizeof(*terms));
		if (terms == NULL)
			return NULL;
		for (size_t k = 0; k < ln->n; k++)
			if (fq__compile_cmp(vs, &rc, ln->terms[k], &terms[k]) < 0)
				bad = 1;
		struct fq_clause *x = fq__push(c, (void **)&cl, &ncl, sizeof(*x));
		if (x == NULL)
			return NULL;
		x->n = ln->n;
		x->terms = terms;
	}
	if (bad)
		return NULL;
	return cnf_new(c, cl, ncl);
}
