/*
 * validate.c - the validator: resolves every name of the AST, checks
 * types and wiring (SPEC section 3, "Validation"), and builds the plan.
 *
 * Checking and building are one pass because every check needs the
 * resolved thing the plan holds (a field, an aggregate slot, a branch
 * slot).  Errors never stop the pass: a stage that fails to compile leaves
 * a NULL behind and the stages that depend on it are still checked as far
 * as they can be, so one run reports every error of the file.
 *
 * Definitions are compiled where they are used: a filter once (record
 * fields do not depend on the branch), a grouper once, but a group filter
 * once per branch, because its names resolve against that branch's
 * aggregates (the seeds' `ggf` serves two branches with different
 * groupers).  Diagnostics that repeat for the second branch are dropped by
 * fq_diag_add().
 */
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "internal.h"

/* ---- name map ---------------------------------------------------------- */

/* Name -> pointer map with open addressing; sized once, never grows. */
struct nmap {
	const char **keys;
	void **vals;
	size_t cap;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int
nmap_init(struct fq__ctx *c, struct nmap *m, size_t n)
{
	m->cap = 16;
	while (m->cap < 2 * n + 1)
		m->cap *= 2;
	m->keys = fq__alloc(c, m->cap * sizeof(*m->keys));
	m->vals = fq__alloc(c, m->cap * sizeof(*m->vals));
	return m->keys && m->vals ? 0 : -1;
}

static void *
nmap_get(const struct nmap *m, const char *k)
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
nmap_put(struct nmap *m, const char *k, void *v)
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

/* ---- validator state --------------------------------------------------- */

struct vbranch {
	const char *name;
	struct fq__span at;
	struct fq__stage *filter, *grouper, *groupfilter, *merger, *ungrouper;
	const struct fq_plan_grouper *g;   /* compiled grouper or NULL */
	int grouper_failed;
};

struct vstate {
	struct fq__ctx *c;
	struct fq__file *f;
	struct nmap stages;
	struct nmap branch_map;            /* name -> vbranch index + 1 */
	struct vbranch *br;
	size_t nbr;
	struct fq__stage *merger;
	struct fq__span merger_at;
	struct fq__stage *ungrouper;
	struct fq_endpoint *inputs, *outputs;
	size_t ninputs, noutputs;
};

static const char *
kind_name(enum fq__stage_kind k)
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

static uint32_t
line_of(const struct vstate *vs, uint32_t off)
{
	return fq__line_of(vs->c, off);
}

/* "did you mean" among the stage names of one kind (or any if kind < 0). */
static const char *
suggest_stage(struct vstate *vs, const char *name, int kind, char *note,
	      size_t notesz)
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

/* ---- operands ---------------------------------------------------------- */

enum rkind { R_REC, R_GROUP, R_MERGER };

struct rctx {
	enum rkind kind;
	int allow_delta;                  /* grouper module or merger */
	/* R_GROUP: */
	const struct fq_plan_grouper *g;
	int has_grouper;
	int grouper_failed;               /* names unknowable: stay quiet */
	const char *branch;
	/* R_MERGER: */
	size_t nslots;
	const char **slot_names;
	const struct vbranch **slot_b;
	const char *merger;
};

struct vop {
	struct fq_operand o;
	int is_const;
	int is_time;
	int has_unit;
	struct fq__span at;
};

static int
field_is_time(const struct fq_field *f)
{
	return f->type == FQ_T_TIME || f->type == FQ_T_DUR;
}

static enum fq_vtype
field_vtype(const struct fq_field *f)
{
	return f->type == FQ_T_IP ? FQ_V_IP : FQ_V_INT;
}

static const char *const builtin_names[] = {
	"stime", "etime", "duration", "records",
};

/* An aggregate of a time is a time, unless it counts or collects. */
static int
agg_is_time(const struct fq_agg *a)
{
	return fq_agg_defs[a->fn].keeps_unit && field_is_time(a->field);
}

/*
 * A group value by name: the four built-ins, then the grouper's
 * aggregates (by the name they are written with), or for a branch without
 * grouper the record's fields.  Returns 0, or -1 after reporting.
 */
static int
group_lookup(struct vstate *vs, const struct rctx *rc, const struct vbranch *b,
	     const char *name, struct fq__span at, struct vop *v)
{
	const struct fq_plan_grouper *g = b ? b->g : rc->g;
	int has_grouper = b ? b->grouper != NULL : rc->has_grouper;
	int failed = b ? b->grouper_failed : rc->grouper_failed;
	const char *bname = b ? b->name : rc->branch;
	v->o.kind = FQ_O_GROUP;
	v->o.vtype = FQ_V_INT;
	for (int i = 0; i < 4; i++)
		if (strcmp(name, builtin_names[i]) == 0) {
			v->o.gval = (enum fq_gval)i;
			v->is_time = i < 3;
			return 0;
		}
	if (!has_grouper) {
		const struct fq_field *f = fq_field_lookup(name, strlen(name));
		if (f != NULL) {
			v->o.gval = FQ_G_FIELD;
			v->o.field = f;
			v->o.vtype = field_vtype(f);
			v->is_time = field_is_time(f);
			return 0;
		}
		char note[80];
		const char *s = fq_field_suggest(name, strlen(name));
		if (s)
			snprintf(note, sizeof(note), "did you mean '%s'?", s);
		fq__error(vs->c, at.off, at.len, s ? note : NULL,
			  "unknown field '%s' (branch '%s' has no grouper, so its "
			  "groups are single records)", name, bname);
		return -1;
	}
	if (g != NULL) {
		for (size_t i = 0; i < g->naggs; i++)
			if (strcmp(g->aggs[i].name, name) == 0) {
				v->o.gval = FQ_G_AGG;
				v->o.agg = (uint16_t)i;
				v->o.vtype = g->aggs[i].vtype;
				v->is_time = agg_is_time(&g->aggs[i]);
				return 0;
			}
	}
	if (failed || g == NULL)
		return -1;
	const char **cands = fq__alloc(vs->c, (g->naggs + 4) * sizeof(char *));
	const char *s = NULL;
	char note[160];
	if (cands != NULL) {
		for (size_t i = 0; i < g->naggs; i++)
			cands[i] = g->aggs[i].name;
		for (size_t i = 0; i < 4; i++)
			cands[g->naggs + i] = builtin_names[i];
		s = fq_suggest(name, strlen(name), cands, g->naggs + 4);
	}
	if (s) {
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	} else if (fq_field_lookup(name, strlen(name)) != NULL) {
		snprintf(note, sizeof(note),
			 "a group has its aggregates and stime, etime, duration, "
			 "records; add '%s' to the aggregate line of grouper '%s'",
			 name, g->name);
	} else {
		/* No close name: list what there is. */
		size_t off = (size_t)snprintf(note, sizeof(note),
					      "grouper '%s' provides", g->name);
		for (size_t i = 0; i < g->naggs && off < sizeof(note); i++)
			off += (size_t)snprintf(note + off, sizeof(note) - off,
						" %s,", g->aggs[i].name);
		if (off < sizeof(note))
			snprintf(note + off, sizeof(note) - off,
				 " stime, etime, duration, records");
	}
	fq__error(vs->c, at.off, at.len, note,
		  "unknown group field '%s' in branch '%s' (grouper '%s')", name,
		  bname ? bname : "?", g->name);
	return -1;
}

static struct fq_set *
build_set(struct vstate *vs, const struct fq__expr *e, int *has_unit)
{
	struct fq__ctx *c = vs->c;
	int have_int = 0, have_ip = 0;
	*has_unit = 0;
	for (size_t i = 0; i < e->nelems; i++) {
		const struct fq__expr *lo = e->elems[i].lo, *hi = e->elems[i].hi;
		int lo_ip = lo->kind == FQ_EX_IP;
		if (hi != NULL && (hi->kind == FQ_EX_IP) != lo_ip) {
			fq__error(c, hi->at.off, hi->at.len, NULL,
				  "a range runs from a number to a number or from "
				  "an address to an address");
			return NULL;
		}
		if (lo_ip)
			have_ip = 1;
		else
			have_int = 1;
		if (!lo_ip && (lo->has_unit || (hi && hi->has_unit)))
			*has_unit = 1;
	}
	if (have_int && have_ip) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "a set holds numbers or addresses, not both");
		return NULL;
	}
	struct fq_int_range *ir = NULL;
	struct fq_ip_range *pr = NULL;
	if (have_int)
		ir = fq__alloc(c, e->nelems * sizeof(*ir));
	else
		pr = fq__alloc(c, e->nelems * sizeof(*pr));
	if (ir == NULL && pr == NULL)
		return NULL;
	for (size_t i = 0; i < e->nelems; i++) {
		const struct fq__expr *lo = e->elems[i].lo, *hi = e->elems[i].hi;
		if (have_int) {
			ir[i].lo = lo->num;
			ir[i].hi = hi ? hi->num : lo->num;
			if (ir[i].hi < ir[i].lo) {
				fq__error(c, lo->at.off, hi->at.off + hi->at.len - lo->at.off,
					  NULL, "empty range: %lld is greater than %lld",
					  (long long)lo->num, (long long)hi->num);
				return NULL;
			}
			continue;
		}
		if (hi != NULL) {
			if (lo->has_plen || hi->has_plen) {
				fq__error(c, lo->at.off, lo->at.len, NULL,
					  "an address range runs between two plain "
					  "addresses");
				return NULL;
			}
			if (lo->ip.is6 != hi->ip.is6) {
				fq__error(c, lo->at.off, hi->at.off + hi->at.len - lo->at.off,
					  NULL, "an address range cannot mix IPv4 and IPv6");
				return NULL;
			}
			if (fq_ip_cmp(&lo->ip, &hi->ip) > 0) {
				fq__error(c, lo->at.off, hi->at.off + hi->at.len - lo->at.off,
					  NULL, "empty address range");
				return NULL;
			}
			pr[i].lo = lo->ip;
			pr[i].hi = hi->ip;
		} else {
			fq_set_prefix_range(&lo->ip, lo->plen, &pr[i]);
			if (!fq_ip_eq(&pr[i].lo, &lo->ip))
				fq__warning(c, lo->at.off, lo->at.len, NULL,
					    "prefix has host bits set; it means the "
					    "whole /%u network", lo->plen);
		}
	}
	return fq__set_build(c, have_int ? FQ_V_INT : FQ_V_IP, ir, pr, e->nelems);
}

static int resolve(struct vstate *vs, const struct rctx *rc,
		   const struct fq__expr *e, struct vop *v, int depth);

static int
resolve_call(struct vstate *vs, const struct rctx *rc, const struct fq__expr *e,
	     struct vop *v, int depth)
{
	struct fq__ctx *c = vs->c;
	if (strcmp(e->name, "protocol") == 0) {
		if (e->nargs != 1 || e->args[0]->kind != FQ_EX_STR) {
			fq__error(c, e->at.off, e->at.len, NULL,
				  "protocol() takes one quoted name, as in "
				  "protocol(\"TCP\")");
			return -1;
		}
		int num;
		const char *s = NULL;
		const char *pn = e->args[0]->str ? e->args[0]->str : "";
		if (!fq__protocol_lookup(pn, strlen(pn), &num, &s)) {
			char note[64];
			if (s)
				snprintf(note, sizeof(note), "did you mean '%s'?", s);
			fq__error(c, e->args[0]->at.off, e->args[0]->at.len,
				  s ? note : NULL, "unknown protocol name '%s'", pn);
			return -1;
		}
		v->is_const = 1;
		v->o.kind = FQ_O_INT;
		v->o.vtype = FQ_V_INT;
		v->o.i = num;
		return 0;
	}
	if (strcmp(e->name, "bitAND") == 0 || strcmp(e->name, "bitOR") == 0) {
		if (e->nargs != 2) {
			fq__error(c, e->at.off, e->at.len, NULL,
				  "%s() takes two arguments: a field and a mask",
				  e->name);
			return -1;
		}
		struct vop a, b;
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if (resolve(vs, rc, e->args[0], &a, depth + 1) < 0 ||
		    resolve(vs, rc, e->args[1], &b, depth + 1) < 0)
			return -1;
		if (a.is_const && !b.is_const) {
			struct vop t = a;
			a = b;
			b = t;
		}
		if (a.is_const || !b.is_const || b.o.kind != FQ_O_INT ||
		    a.o.vtype != FQ_V_INT || a.o.fn != FQ_FN_NONE) {
			fq__error(c, e->at.off, e->at.len, NULL,
				  "%s() takes a numeric field and a number, as in "
				  "%s(tcp_flags, 0x12)", e->name, e->name);
			return -1;
		}
		*v = a;
		v->o.fn = e->name[3] == 'A' ? FQ_FN_BITAND : FQ_FN_BITOR;
		v->o.mask = b.o.i;
		v->is_time = 0;
		v->at = e->at;
		return 0;
	}
	static const char *const fns[] = { "bitAND", "bitOR", "protocol" };
	char note[64];
	const char *s = fq_suggest(e->name, strlen(e->name), fns, 3);
	if (s)
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	fq__error(c, e->name_at.off, e->name_at.len, s ? note : NULL,
		  "unknown function '%s'", e->name);
	return -1;
}

static int
resolve(struct vstate *vs, const struct rctx *rc, const struct fq__expr *e,
	struct vop *v, int depth)
{
	struct fq__ctx *c = vs->c;
	memset(v, 0, sizeof(*v));
	v->at = e->at;
	if (depth > 8)
		return -1;
	switch (e->kind) {
	case FQ_EX_NUM:
		v->is_const = 1;
		v->has_unit = e->has_unit;
		v->o.kind = FQ_O_INT;
		v->o.vtype = FQ_V_INT;
		v->o.i = e->num;
		return 0;
	case FQ_EX_IP:
		v->is_const = 1;
		v->o.kind = FQ_O_IP;
		v->o.vtype = FQ_V_IP;
		v->o.ip = e->ip;
		v->o.plen = e->plen;
		return 0;
	case FQ_EX_SET: {
		struct fq_set *s = build_set(vs, e, &v->has_unit);
		if (s == NULL)
			return -1;
		v->is_const = 1;
		v->o.kind = FQ_O_SET;
		v->o.vtype = s->elem == FQ_V_IP ? FQ_V_SET_IP : FQ_V_SET_INT;
		v->o.set = s;
		return 0;
	}
	case FQ_EX_STR:
		fq__error(c, e->at.off, e->at.len, NULL,
			  "a quoted string is only used as a function argument "
			  "(protocol(\"TCP\")) or as an endpoint");
		return -1;
	case FQ_EX_CALL:
		return resolve_call(vs, rc, e, v, depth);
	case FQ_EX_QNAME:
		if (rc->kind != R_MERGER) {
			fq__error(c, e->at.off, e->at.len, NULL,
				  "'%s.%s': BRANCH.field names are only used in a "
				  "merger", e->qual, e->name);
			return -1;
		}
		for (size_t i = 0; i < rc->nslots; i++) {
			if (strcmp(rc->slot_names[i], e->qual) != 0)
				continue;
			if (rc->slot_b[i] == NULL)
				return -1;
			if (group_lookup(vs, rc, rc->slot_b[i], e->name, e->name_at,
					 v) < 0)
				return -1;
			v->o.branch = (uint16_t)i;
			return 0;
		}
		{
			char note[80];
			const char *s = fq_suggest(e->qual, strlen(e->qual),
						    rc->slot_names, rc->nslots);
			if (s)
				snprintf(note, sizeof(note), "did you mean '%s'?", s);
			fq__error(c, e->at.off, (uint32_t)strlen(e->qual), s ? note : NULL,
				  "'%s' is not a branch of this module", e->qual);
		}
		return -1;
	case FQ_EX_NAME:
		break;
	}
	/* A plain name. */
	if (rc->kind == R_MERGER) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "in a merger, name a group field with its branch "
			  "(BRANCH.%s)", e->name);
		return -1;
	}
	if (rc->kind == R_GROUP)
		return group_lookup(vs, rc, NULL, e->name, e->at, v);
	const struct fq_field *f = fq_field_lookup(e->name, strlen(e->name));
	if (f == NULL) {
		char note[80];
		const char *s = fq_field_suggest(e->name, strlen(e->name));
		if (s)
			snprintf(note, sizeof(note), "did you mean '%s'?", s);
		fq__error(c, e->at.off, e->at.len, s ? note : NULL,
			  "unknown field '%s'", e->name);
		return -1;
	}
	v->o.kind = FQ_O_FIELD;
	v->o.field = f;
	v->o.vtype = field_vtype(f);
	v->is_time = field_is_time(f);
	return 0;
}

static int
is_set(enum fq_vtype t)
{
	return t == FQ_V_SET_INT || t == FQ_V_SET_IP;
}

static int
is_num(enum fq_vtype t)
{
	return t == FQ_V_INT || t == FQ_V_REAL;
}

static enum fq_op
flip(enum fq_op op)
{
	switch (op) {
	case FQ_OP_LT: return FQ_OP_GT;
	case FQ_OP_GT: return FQ_OP_LT;
	case FQ_OP_LE: return FQ_OP_GE;
	case FQ_OP_GE: return FQ_OP_LE;
	default:       return op;
	}
}

static const char *
vdesc(const struct vop *v)
{
	if (v->is_const) {
		switch (v->o.kind) {
		case FQ_O_IP:  return "an address";
		case FQ_O_SET: return "a set";
		default:       return "a number";
		}
	}
	switch (v->o.vtype) {
	case FQ_V_IP:      return "an address";
	case FQ_V_SET_INT:
	case FQ_V_SET_IP:  return "a set";
	default:           return "a number";
	}
}

/*
 * Check and build one comparison term.  `allow_delta`: the context has
 * two sides that are both non-constant (grouper relative rules, merger).
 */
static int
compile_cmp(struct vstate *vs, const struct rctx *rc, const struct fq__term *t,
	    struct fq_term *out)
{
	struct fq__ctx *c = vs->c;
	struct vop l, r;
	int bad = 0;
	memset(out, 0, sizeof(*out));
	if (resolve(vs, rc, t->l, &l, 0) < 0)
		bad = 1;
	if (resolve(vs, rc, t->r, &r, 0) < 0)
		bad = 1;
	if (bad)
		return -1;
	enum fq_op op = t->op;
	struct fq__span whole = t->at;
	if (op != FQ_OP_IN && op != FQ_OP_NOTIN && l.is_const && !r.is_const) {
		struct vop tmp = l;
		l = r;
		r = tmp;
		op = flip(op);
	}
	if (l.is_const && r.is_const) {
		fq__error(c, whole.off, whole.len, NULL,
			  "comparison between two constants");
		return -1;
	}
	/* Units: a duration is compared with times only. */
	if ((l.has_unit && !r.is_time && !r.is_const) ||
	    (r.has_unit && !l.is_time && !l.is_const)) {
		const struct vop *u = l.has_unit ? &l : &r;
		fq__error(c, u->at.off, u->at.len, NULL,
			  "a duration is compared with a time (stime, etime, "
			  "duration), not with %s", vdesc(l.has_unit ? &r : &l));
		return -1;
	}
	if (op == FQ_OP_IN || op == FQ_OP_NOTIN) {
		/* `x in 192.0.2.0/24` and `x in 80`: a set of one. */
		if (r.is_const && (r.o.kind == FQ_O_IP || r.o.kind == FQ_O_INT)) {
			struct fq_int_range *ir = NULL;
			struct fq_ip_range *pr = NULL;
			if (r.o.kind == FQ_O_IP) {
				pr = fq__alloc(c, sizeof(*pr));
				if (pr == NULL)
					return -1;
				fq_set_prefix_range(&r.o.ip, r.o.plen, pr);
			} else {
				ir = fq__alloc(c, sizeof(*ir));
				if (ir == NULL)
					return -1;
				ir->lo = ir->hi = r.o.i;
			}
			struct fq_set *s = fq__set_build(c, pr ? FQ_V_IP : FQ_V_INT,
							 ir, pr, 1);
			if (s == NULL)
				return -1;
			r.o.kind = FQ_O_SET;
			r.o.vtype = pr ? FQ_V_SET_IP : FQ_V_SET_INT;
			r.o.set = s;
		}
		if (!is_set(r.o.vtype)) {
			fq__error(c, t->r->at.off, t->r->at.len, NULL,
				  "'%s' needs a set on its right: a list [80, 443], "
				  "a range [1024..65535], a prefix or a union() "
				  "aggregate", fq_op_name(op));
			return -1;
		}
		enum fq_vtype el = r.o.vtype == FQ_V_SET_IP ? FQ_V_IP : FQ_V_INT;
		enum fq_vtype lt = l.o.vtype;
		if (is_set(lt))
			lt = lt == FQ_V_SET_IP ? FQ_V_IP : FQ_V_INT;
		if (lt == FQ_V_REAL || lt != el) {
			fq__error(c, whole.off, whole.len, NULL,
				  "cannot test %s for membership in a set of %s",
				  vdesc(&l), el == FQ_V_IP ? "addresses" : "numbers");
			return -1;
		}
	} else {
		if (is_set(l.o.vtype) || is_set(r.o.vtype)) {
			if (!(is_set(l.o.vtype) && is_set(r.o.vtype))) {
				fq__error(c, t->op_at.off, t->op_at.len,
					  r.is_const && r.o.kind == FQ_O_SET
					  ? "use 'in' or 'notin' to test membership"
					  : NULL,
					  "cannot compare %s with %s", vdesc(&l), vdesc(&r));
				return -1;
			}
			if (op != FQ_OP_EQ && op != FQ_OP_NE) {
				fq__error(c, t->op_at.off, t->op_at.len,
					  "sets compare with = != in notin",
					  "'%s' is not defined on sets", fq_op_name(op));
				return -1;
			}
			if (l.o.vtype != r.o.vtype) {
				fq__error(c, whole.off, whole.len, NULL,
					  "a set of addresses never equals a set of "
					  "numbers");
				return -1;
			}
		} else if (l.o.vtype == FQ_V_IP || r.o.vtype == FQ_V_IP) {
			if (l.o.vtype != r.o.vtype) {
				fq__error(c, whole.off, whole.len, NULL,
					  "cannot compare %s with %s", vdesc(&l), vdesc(&r));
				return -1;
			}
			if (r.is_const && r.o.plen < (r.o.ip.is6 ? 128 : 32)) {
				fq__error(c, t->r->at.off, t->r->at.len,
					  "use 'in' to test whether an address lies in a "
					  "prefix",
					  "'%s' compares single addresses, not prefixes",
					  fq_op_name(op));
				return -1;
			}
		} else if (!is_num(l.o.vtype) || !is_num(r.o.vtype)) {
			fq__error(c, whole.off, whole.len, NULL,
				  "cannot compare %s with %s", vdesc(&l), vdesc(&r));
			return -1;
		}
	}
	out->op = op;
	out->negate = t->negate;
	out->l = l.o;
	out->r = r.o;
	out->line = line_of(vs, t->at.off);
	if (t->delta_kind) {
		const struct fq__expr *d = t->delta;
		if (!rc->allow_delta) {
			fq__error(c, d->at.off, d->at.len, NULL,
				  "'%s' is only used in grouper and merger rules, "
				  "between two records or two groups",
				  t->delta_kind == 1 ? "delta" : "rdelta");
			return -1;
		}
		if (rc->kind != R_MERGER && (l.is_const || r.is_const)) {
			fq__error(c, d->at.off, d->at.len, NULL,
				  "'%s' compares two records (grouper) or two groups "
				  "(merger); it has no meaning against a constant",
				  t->delta_kind == 1 ? "delta" : "rdelta");
			return -1;
		}
		if (op == FQ_OP_IN || op == FQ_OP_NOTIN || l.o.vtype == FQ_V_IP ||
		    is_set(l.o.vtype) || l.is_const || r.is_const) {
			fq__error(c, d->at.off, d->at.len, NULL,
				  "delta needs two numbers or times to compare");
			return -1;
		}
		if (d->has_unit && !(l.is_time && r.is_time)) {
			fq__error(c, d->at.off, d->at.len, NULL,
				  "a duration delta needs times on both sides");
			return -1;
		}
		out->has_delta = 1;
		out->delta = d->num;
	}
	return 0;
}

/* ---- filters ----------------------------------------------------------- */

static const struct fq_cnf *compile_filter(struct vstate *vs,
					   struct fq__stage *st, int depth);

static const struct fq_cnf *
resolve_ref(struct vstate *vs, const struct fq__expr *e, int depth)
{
	struct fq__ctx *c = vs->c;
	struct fq__stage *st = nmap_get(&vs->stages, e->name);
	if (st == NULL) {
		char note[80];
		if (fq_field_lookup(e->name, strlen(e->name)) != NULL) {
			fq__error(c, e->at.off, e->at.len,
				  "a line is a condition (dstport = 80) or the name "
				  "of a filter",
				  "field '%s' alone is not a condition", e->name);
			return NULL;
		}
		const char *s = suggest_stage(vs, e->name, FQ_ST_FILTER, note,
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
		return NULL;
	}
	if (st->kind != FQ_ST_FILTER) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "'%s' is a %s; only a filter can be used in a filter",
			  e->name, kind_name(st->kind));
		return NULL;
	}
	st->used = 1;
	if (st->visiting) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "filter '%s' includes itself", e->name);
		return NULL;
	}
	return compile_filter(vs, st, depth + 1);
}

static const struct fq_cnf *
compile_filter(struct vstate *vs, struct fq__stage *st, int depth)
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
	struct rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = R_REC;
	struct fq_clause *cl = NULL;
	size_t ncl = 0;
	int bad = 0;
	for (size_t i = 0; i < st->nlines; i++) {
		const struct fq__line *ln = st->lines[i];
		if (ln->n == 1 && ln->terms[0]->kind == FQ_TERM_REF &&
		    !ln->terms[0]->negate) {
			/* A lone reference: its lines are ANDed in place. */
			const struct fq_cnf *sub = resolve_ref(vs, ln->terms[0]->l, depth);
			if (sub == NULL) {
				bad = 1;
				continue;
			}
			for (size_t k = 0; k < sub->n; k++) {
				struct fq_clause *x = fq__push(c, (void **)&cl, &ncl, sizeof(*x));
				if (x == NULL)
					return NULL;
				*x = sub->clauses[k];
			}
			continue;
		}
		struct fq_term *terms = fq__alloc(c, ln->n * sizeof(*terms));
		if (terms == NULL)
			return NULL;
		for (size_t k = 0; k < ln->n; k++) {
			const struct fq__term *t = ln->terms[k];
			if (t->kind == FQ_TERM_REF) {
				const struct fq_cnf *sub = resolve_ref(vs, t->l, depth);
				if (sub == NULL) {
					bad = 1;
					continue;
				}
				terms[k].op = FQ_OP_FILTER;
				terms[k].negate = t->negate;
				terms[k].sub = sub;
				terms[k].line = line_of(vs, t->at.off);
			} else if (compile_cmp(vs, &rc, t, &terms[k]) < 0) {
				bad = 1;
			}
		}
		struct fq_clause *x = fq__push(c, (void **)&cl, &ncl, sizeof(*x));
		if (x == NULL)
			return NULL;
		x->n = ln->n;
		x->terms = terms;
	}
	st->visiting = 0;
	st->compiled_done = 1;
	if (bad)
		return NULL;
	struct fq_cnf *cnf = fq__alloc(c, sizeof(*cnf));
	if (cnf == NULL)
		return NULL;
	cnf->n = ncl;
	cnf->clauses = cl;
	st->compiled = cnf;
	return cnf;
}

static const struct fq_cnf *
compile_groupfilter(struct vstate *vs, struct fq__stage *st,
		    const struct vbranch *b)
{
	struct fq__ctx *c = vs->c;
	struct rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = R_GROUP;
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
			if (compile_cmp(vs, &rc, ln->terms[k], &terms[k]) < 0)
				bad = 1;
		struct fq_clause *x = fq__push(c, (void **)&cl, &ncl, sizeof(*x));
		if (x == NULL)
			return NULL;
		x->n = ln->n;
		x->terms = terms;
	}
	if (bad)
		return NULL;
	struct fq_cnf *cnf = fq__alloc(c, sizeof(*cnf));
	if (cnf == NULL)
		return NULL;
	cnf->n = ncl;
	cnf->clauses = cl;
	return cnf;
}

/* ---- grouper ----------------------------------------------------------- */

static int
compile_gmodule(struct vstate *vs, const struct fq__module *m,
		struct fq_gmodule *out)
{
	struct fq__ctx *c = vs->c;
	struct rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = R_REC;
	rc.allow_delta = 1;
	int bad = 0;
	struct fq_clause *abs = NULL;
	size_t nabs = 0;
	struct fq_gkey *keys = NULL;
	struct fq_grule *rel = NULL;
	struct fq_gtime *tim = NULL;
	size_t nkeys = 0, nrel = 0, ntime = 0;
	out->name = m->name;
	for (size_t i = 0; i < m->nlines; i++) {
		const struct fq__line *ln = m->lines[i];
		if (ln->n > 1) {
			fq__error(c, ln->at.off, ln->at.len,
				  "write one rule per line; for alternatives use "
				  "another module",
				  "a grouper rule cannot use OR");
			bad = 1;
			continue;
		}
		const struct fq__term *t = ln->terms[0];
		struct fq_term tm;
		if (compile_cmp(vs, &rc, t, &tm) < 0) {
			bad = 1;
			continue;
		}
		int relative = tm.l.kind == FQ_O_FIELD && tm.r.kind == FQ_O_FIELD;
		if (!relative) {
			struct fq_term *x = fq__alloc(c, sizeof(*x));
			struct fq_clause *cx = fq__push(c, (void **)&abs, &nabs, sizeof(*cx));
			if (x == NULL || cx == NULL)
				return -1;
			*x = tm;
			cx->n = 1;
			cx->terms = x;
			continue;
		}
		if (tm.negate || tm.l.fn != FQ_FN_NONE || tm.r.fn != FQ_FN_NONE ||
		    tm.op == FQ_OP_IN || tm.op == FQ_OP_NOTIN) {
			fq__error(c, t->at.off, t->at.len, NULL,
				  "a relative rule compares two fields with = != < > "
				  "<= >= (no NOT, bitAND, bitOR, in)");
			bad = 1;
			continue;
		}
		if (tm.op == FQ_OP_EQ && !tm.has_delta) {
			struct fq_gkey *k = fq__push(c, (void **)&keys, &nkeys, sizeof(*k));
			if (k == NULL)
				return -1;
			k->a = tm.l.field;
			k->b = tm.r.field;
			k->line = tm.line;
			continue;
		}
		struct fq_grule *g = fq__push(c, (void **)&rel, &nrel, sizeof(*g));
		if (g == NULL)
			return -1;
		g->op = tm.op;
		g->a = tm.l.field;
		g->b = tm.r.field;
		g->ref = t->delta_kind == 2 ? FQ_REF_LAST : FQ_REF_FIRST;
		g->has_delta = tm.has_delta;
		g->delta = tm.delta;
		g->line = tm.line;
		/*
		 * r.b <= R.a + D bounds r.stime from above when b is stime,
		 * or etime (stime <= etime): that is a deadline.
		 */
		if (tm.has_delta && g->a->type == FQ_T_TIME &&
		    g->b->type == FQ_T_TIME &&
		    (g->op == FQ_OP_EQ || g->op == FQ_OP_LT || g->op == FQ_OP_LE)) {
			g->is_time = 1;
			struct fq_gtime *tt = fq__push(c, (void **)&tim, &ntime, sizeof(*tt));
			if (tt == NULL)
				return -1;
			tt->a = g->a;
			tt->ref = g->ref;
			tt->delta = g->delta;
		}
	}
	out->abs.n = nabs;
	out->abs.clauses = abs;
	out->nkeys = nkeys;
	out->keys = keys;
	out->nrel = nrel;
	out->rel = rel;
	out->ntime = ntime;
	out->time = tim;
	return bad ? -1 : 0;
}

static const struct fq_plan_grouper *
compile_grouper(struct vstate *vs, struct fq__stage *st)
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
	size_t nm = st->nmodules ? st->nmodules : 1;
	struct fq_gmodule *mods = fq__alloc(c, nm * sizeof(*mods));
	if (mods == NULL)
		return NULL;
	if (st->nmodules == 0) {
		fq__warning(c, st->at.off, st->at.len, NULL,
			    "grouper '%s' has no module: all its records form "
			    "one group", st->name);
		mods[0].name = "(none)";
	}
	for (size_t i = 0; i < st->nmodules; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcmp(st->modules[j]->name, st->modules[i]->name) == 0) {
				fq__error(c, st->modules[i]->at.off,
					  st->modules[i]->at.len, NULL,
					  "module '%s' is defined twice in grouper '%s'",
					  st->modules[i]->name, st->name);
				bad = 1;
				break;
			}
		if (compile_gmodule(vs, st->modules[i], &mods[i]) < 0)
			bad = 1;
	}
	g->nmodules = nm;
	g->modules = mods;

	struct fq_agg *aggs = fq__alloc(c, (st->naggs ? st->naggs : 1) *
					sizeof(*aggs));
	if (aggs == NULL)
		return NULL;
	size_t na = 0;
	for (size_t i = 0; i < st->naggs; i++) {
		const struct fq__agg *a = &st->aggs[i];
		struct fq_agg *o = &aggs[na];
		if (a->field == NULL) {
			bad = 1;   /* syntax error, already reported */
			continue;
		}
		o->fn = FQ_AGG_FIELD;
		if (a->fn != NULL &&
		    !fq_agg_lookup(a->fn, strlen(a->fn), &o->fn)) {
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
			bad = 1;
			continue;
		}
		o->field = fq_field_lookup(a->field, strlen(a->field));
		if (o->field == NULL) {
			char note[64];
			const char *s = fq_field_suggest(a->field, strlen(a->field));
			if (s)
				snprintf(note, sizeof(note), "did you mean '%s'?", s);
			fq__error(c, a->field_at.off, a->field_at.len, s ? note : NULL,
				  "unknown field '%s'", a->field);
			bad = 1;
			continue;
		}
		enum fq_vtype arg = field_vtype(o->field);
		if (!fq_agg_accepts(o->fn, arg)) {
			fq__error(c, a->field_at.off, a->field_at.len, NULL,
				  arg == FQ_V_IP
				  ? "%s() needs a numeric field; '%s' is an address"
				  : "%s() needs an address field; '%s' is a number",
				  a->fn, a->field);
			bad = 1;
			continue;
		}
		o->vtype = fq_agg_result_type(o->fn, arg);
		struct fq__span nat = a->as ? a->as_at : a->field_at;
		if (a->as != NULL)
			o->name = a->as;
		else if (a->fn == NULL)
			o->name = a->field;
		else {
			size_t l = strlen(a->fn) + strlen(a->field) + 2;
			char *nm2 = fq__alloc(c, l);
			if (nm2 == NULL)
				return NULL;
			snprintf(nm2, l, "%s_%s", a->fn, a->field);
			o->name = nm2;
		}
		int reserved = 0;
		for (int k = 0; k < 4; k++)
			if (strcmp(o->name, builtin_names[k]) == 0)
				reserved = 1;
		if (reserved) {
			fq__error(c, nat.off, nat.len,
				  "every group has stime, etime, duration and "
				  "records; choose another name with 'as'",
				  "'%s' is a built-in group field and cannot name an "
				  "aggregate", o->name);
			bad = 1;
			continue;
		}
		int dup = 0;
		for (size_t k = 0; k < na; k++)
			if (strcmp(aggs[k].name, o->name) == 0)
				dup = 1;
		if (dup) {
			fq__error(c, nat.off, nat.len, NULL,
				  "aggregate '%s' is defined twice in grouper '%s'",
				  o->name, st->name);
			bad = 1;
			continue;
		}
		na++;
	}
	g->naggs = na;
	g->aggs = aggs;
	if (bad) {
		/*
		 * Keep the aggregates that did compile, so that the group
		 * filter and merger are still checked, but mark failure.
		 */
		st->compiled = g;
		st->compile_failed = 1;
		return NULL;
	}
	st->compiled = g;
	return g;
}

/* ---- merger ------------------------------------------------------------ */

static size_t
uf_find(size_t *p, size_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

static int
compile_mmodule(struct vstate *vs, struct fq__stage *mst,
		const struct fq__module *m, struct fq_mmodule *out,
		struct fq_plan *plan)
{
	struct fq__ctx *c = vs->c;
	int bad = 0;
	out->name = m->name;
	if (!m->has_branches) {
		fq__error(c, m->at.off, m->at.len,
			  "list them first: branches A, B",
			  "module '%s' does not say which branches it merges",
			  m->name);
		return -1;
	}
	size_t ns = m->branches.n;
	if (ns > FQ__MAX_SLOTS) {
		fq__error(c, m->branches_at.off, m->branches_at.len, NULL,
			  "module '%s' lists %zu branches (the limit is %u)",
			  m->name, ns, (unsigned)FQ__MAX_SLOTS);
		return -1;
	}
	uint16_t *slots = fq__alloc(c, ns * sizeof(*slots));
	const struct vbranch **sb = fq__alloc(c, ns * sizeof(*sb));
	if (slots == NULL || sb == NULL)
		return -1;
	for (size_t i = 0; i < ns; i++) {
		const char *bn = m->branches.v[i];
		struct fq__span at = m->branches.at[i];
		size_t idx = (size_t)(uintptr_t)nmap_get(&vs->branch_map, bn);
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->branches.v[j], bn) == 0) {
				fq__error(c, at.off, at.len, NULL,
					  "branch '%s' is listed twice", bn);
				bad = 1;
			}
		if (idx == 0 || vs->br[idx - 1].merger != mst) {
			char note[80];
			const char *s = NULL;
			const char **names = fq__alloc(c, (vs->nbr + 1) * sizeof(char *));
			if (names != NULL) {
				size_t k = 0;
				for (size_t j = 0; j < vs->nbr; j++)
					if (vs->br[j].merger == mst)
						names[k++] = vs->br[j].name;
				s = fq_suggest(bn, strlen(bn), names, k);
			}
			if (s)
				snprintf(note, sizeof(note), "did you mean '%s'?", s);
			if (idx == 0)
				fq__error(c, at.off, at.len, s ? note : NULL,
					  "unknown branch '%s'", bn);
			else
				fq__error(c, at.off, at.len, NULL,
					  "branch '%s' is not wired to merger '%s'", bn,
					  mst->name);
			bad = 1;
			sb[i] = NULL;
			continue;
		}
		slots[i] = (uint16_t)(idx - 1);
		sb[i] = &vs->br[idx - 1];
	}
	out->nbranches = ns;
	out->branches = slots;

	struct rctx rc;
	memset(&rc, 0, sizeof(rc));
	rc.kind = R_MERGER;
	rc.allow_delta = 1;
	rc.nslots = ns;
	rc.slot_names = m->branches.v;
	rc.slot_b = sb;
	rc.merger = mst->name;
	struct fq_clause *cl = NULL;
	size_t ncl = 0;
	struct fq_allen *al = NULL;
	size_t nal = 0;
	for (size_t i = 0; i < m->nlines; i++) {
		const struct fq__line *ln = m->lines[i];
		int nallen = 0;
		for (size_t k = 0; k < ln->n; k++)
			nallen += ln->terms[k]->kind == FQ_TERM_ALLEN;
		if (nallen == 0) {
			struct fq_term *terms = fq__alloc(c, ln->n * sizeof(*terms));
			if (terms == NULL)
				return -1;
			int lbad = 0;
			for (size_t k = 0; k < ln->n; k++)
				if (compile_cmp(vs, &rc, ln->terms[k], &terms[k]) < 0)
					lbad = 1;
			if (lbad) {
				bad = 1;
				continue;
			}
			struct fq_clause *x = fq__push(c, (void **)&cl, &ncl, sizeof(*x));
			if (x == NULL)
				return -1;
			x->n = ln->n;
			x->terms = terms;
			continue;
		}
		if ((size_t)nallen != ln->n) {
			fq__error(c, ln->at.off, ln->at.len, NULL,
				  "Allen relations and comparisons cannot be ORed on "
				  "one line");
			bad = 1;
			continue;
		}
		struct fq_allen a;
		memset(&a, 0, sizeof(a));
		int lbad = 0;
		size_t pa = 0, pb = 0;
		for (size_t k = 0; k < ln->n; k++) {
			const struct fq__term *t = ln->terms[k];
			size_t sa = ns, sbi = ns;
			for (size_t j = 0; j < ns; j++) {
				if (strcmp(m->branches.v[j], t->l->name) == 0)
					sa = j;
				if (strcmp(m->branches.v[j], t->r->name) == 0)
					sbi = j;
			}
			const struct fq__expr *unk = sa == ns ? t->l : sbi == ns ? t->r : NULL;
			if (unk != NULL) {
				char note[80];
				const char *s = fq_suggest(unk->name, strlen(unk->name),
							    m->branches.v, ns);
				if (s)
					snprintf(note, sizeof(note), "did you mean '%s'?", s);
				fq__error(c, unk->at.off, unk->at.len, s ? note : NULL,
					  "'%s' is not a branch of module '%s'", unk->name,
					  m->name);
				lbad = 1;
				continue;
			}
			if (t->negate) {
				fq__error(c, t->at.off, t->at.len,
					  "write the relations that may hold instead",
					  "NOT cannot be applied to an Allen relation");
				lbad = 1;
				continue;
			}
			if (sa == sbi) {
				fq__error(c, t->at.off, t->at.len, NULL,
					  "an Allen relation relates two different "
					  "branches");
				lbad = 1;
				continue;
			}
			enum fq_allen_rel rel = t->rel;
			size_t x = sa, y = sbi;
			if (x > y) {
				size_t tmp = x;
				x = y;
				y = tmp;
				rel = fq_allen_inverse(rel);
			}
			if (k == 0) {
				pa = x;
				pb = y;
			} else if (x != pa || y != pb) {
				fq__error(c, t->at.off, t->at.len, NULL,
					  "all Allen relations of one line must relate "
					  "the same two branches");
				lbad = 1;
				continue;
			}
			if (t->delta_kind) {
				if (fq_allen_defs[rel].delta == FQ_AL_DELTA_NONE)
					fq__warning(c, t->delta->at.off, t->delta->at.len,
						    NULL, "delta has no effect on '%s'",
						    fq_allen_short(t->rel));
				a.has_delta |= (uint16_t)(1u << rel);
				a.delta[rel] = t->delta->num;
			}
			a.rels |= (uint16_t)(1u << rel);
		}
		if (lbad) {
			bad = 1;
			continue;
		}
		a.a = (uint16_t)pa;
		a.b = (uint16_t)pb;
		a.line = line_of(vs, ln->at.off);
		a.bounded = 1;
		for (int r = 0; r < FQ_AL_COUNT; r++)
			if ((a.rels & (1u << r)) &&
			    !fq_allen_bounded((enum fq_allen_rel)r, (a.has_delta >> r) & 1))
				a.bounded = 0;
		int dup = 0;
		for (size_t j = 0; j < nal; j++)
			if (al[j].a == a.a && al[j].b == a.b) {
				char note[96];
				snprintf(note, sizeof(note),
					 "the first relation between them is on line %u",
					 (unsigned)al[j].line);
				fq__error(c, ln->at.off, ln->at.len, note,
					  "all Allen relations between '%s' and '%s' must "
					  "stand on one line, joined by OR",
					  m->branches.v[pa], m->branches.v[pb]);
				dup = 1;
			}
		if (dup) {
			bad = 1;
			continue;
		}
		struct fq_allen *x = fq__push(c, (void **)&al, &nal, sizeof(*x));
		if (x == NULL)
			return -1;
		*x = a;
	}
	out->rules.n = ncl;
	out->rules.clauses = cl;
	out->nallen = nal;
	out->allen = al;

	/* Bounded iff bounded relations connect every slot. */
	size_t *uf = fq__alloc(c, (ns ? ns : 1) * sizeof(*uf));
	if (uf == NULL)
		return -1;
	for (size_t i = 0; i < ns; i++)
		uf[i] = i;
	for (size_t i = 0; i < nal; i++)
		if (al[i].bounded)
			uf[uf_find(uf, al[i].a)] = uf_find(uf, al[i].b);
	size_t ncomp = 0;
	for (size_t i = 0; i < ns; i++)
		if (uf_find(uf, i) == i)
			ncomp++;
	out->bounded = ncomp <= 1;
	if (!out->bounded && !bad) {
		char list[200];
		size_t off = 0;
		list[0] = '\0';
		size_t r0 = uf_find(uf, 0);
		for (size_t i = 0; i < ns && off < sizeof(list) - 40; i++)
			if (uf_find(uf, i) != r0)
				off += (size_t)snprintf(list + off, sizeof(list) - off,
							"%s'%s'", off ? ", " : "",
							m->branches.v[i]);
		fq__warning(c, m->at.off, m->at.len,
			    "in streaming, --window is then its only time bound "
			    "(groups further apart never pair); with --batch it is "
			    "the full cross product",
			    nal == 0 ? "%s%s%s has no Allen relation between its "
				       "branches%.0s%.0s"
				     : "%s%s%s: no time-bounding Allen relation "
				       "links %s to '%s'",
			    mst->implicit ? "merger '" : "merger module '",
			    mst->implicit ? mst->name : m->name, "'",
			    list, m->branches.v[0]);
	}
	(void)plan;
	return bad ? -1 : 0;
}

static const struct fq_plan_merger *
compile_merger(struct vstate *vs, struct fq__stage *st, struct fq_plan *plan)
{
	struct fq__ctx *c = vs->c;
	int bad = 0;
	struct fq_plan_merger *pm = fq__alloc(c, sizeof(*pm));
	if (pm == NULL)
		return NULL;
	pm->name = st->name;
	if (st->implicit != NULL && st->nmodules > 0) {
		struct fq__span at = st->implicit->has_branches
			? st->implicit->branches_at
			: st->implicit->nlines ? st->implicit->lines[0]->at : st->at;
		fq__error(c, at.off, at.len,
			  "put these lines into a module, or drop the modules",
			  "merger '%s' has modules and also rules outside them",
			  st->name);
		return NULL;
	}
	size_t nm = st->implicit ? 1 : st->nmodules;
	if (nm > FQ__MAX_ITEMS) {
		fq__error(c, st->at.off, st->at.len, NULL,
			  "merger '%s' has too many modules (the limit is %u)",
			  st->name, (unsigned)FQ__MAX_ITEMS);
		return NULL;
	}
	struct fq__module *const *mods = st->implicit ? &st->implicit : st->modules;
	if (nm == 0) {
		fq__error(c, st->at.off, st->at.len,
			  "give it 'branches A, B' and rules, in a module or directly",
			  "merger '%s' is empty", st->name);
		return NULL;
	}
	struct fq_mmodule *mm = fq__alloc(c, nm * sizeof(*mm));
	if (mm == NULL)
		return NULL;
	for (size_t i = 0; i < nm; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcmp(mods[j]->name, mods[i]->name) == 0) {
				fq__error(c, mods[i]->at.off, mods[i]->at.len, NULL,
					  "module '%s' is defined twice in merger '%s'",
					  mods[i]->name, st->name);
				bad = 1;
			}
		if (compile_mmodule(vs, st, mods[i], &mm[i], plan) < 0)
			bad = 1;
	}
	pm->nmodules = nm;
	pm->modules = mm;
	size_t ex = 0;
	if (st->export_name != NULL) {
		if (st->implicit != NULL) {
			fq__error(c, st->export_at.off, st->export_at.len, NULL,
				  "'export' names a module, and merger '%s' has none",
				  st->name);
			return NULL;
		}
		for (ex = 0; ex < nm; ex++)
			if (strcmp(mods[ex]->name, st->export_name) == 0)
				break;
		if (ex == nm) {
			const char **names = fq__alloc(c, nm * sizeof(char *));
			const char *s = NULL;
			char note[80];
			if (names != NULL) {
				for (size_t i = 0; i < nm; i++)
					names[i] = mods[i]->name;
				s = fq_suggest(st->export_name, strlen(st->export_name),
						names, nm);
			}
			if (s)
				snprintf(note, sizeof(note), "did you mean '%s'?", s);
			fq__error(c, st->export_at.off, st->export_at.len, s ? note : NULL,
				  "merger '%s' has no module '%s' to export", st->name,
				  st->export_name);
			return NULL;
		}
	} else if (nm > 1) {
		fq__error(c, st->at.off, st->at.len,
			  "add 'export MODULE'; the other modules are subtracted "
			  "from it", "merger '%s' has %zu modules but no export",
			  st->name, nm);
		return NULL;
	}
	pm->export_idx = ex;
	mm[ex].is_export = 1;
	/* Every other module subtracts: it must share a branch with export. */
	for (size_t i = 0; i < nm && !bad; i++) {
		if (i == ex)
			continue;
		int share = 0;
		for (size_t a = 0; a < mm[i].nbranches; a++)
			for (size_t b = 0; b < mm[ex].nbranches; b++)
				if (mm[i].branches[a] == mm[ex].branches[b])
					share = 1;
		if (!share) {
			fq__error(c, mods[i]->at.off, mods[i]->at.len,
				  "a module other than the export is subtracted from "
				  "it, which needs a common branch",
				  "module '%s' shares no branch with the exported "
				  "module '%s'", mods[i]->name, mods[ex]->name);
			bad = 1;
		}
	}
	/* A branch wired here that no module lists does nothing. */
	for (size_t j = 0; j < vs->nbr && !bad; j++) {
		if (vs->br[j].merger != st)
			continue;
		int listed = 0;
		for (size_t i = 0; i < nm; i++)
			for (size_t a = 0; a < mm[i].nbranches; a++)
				if (mm[i].branches[a] == j)
					listed = 1;
		if (!listed)
			fq__warning(c, vs->br[j].at.off, vs->br[j].at.len, NULL,
				    "branch '%s' is wired to merger '%s' but no "
				    "module lists it", vs->br[j].name, st->name);
	}
	return bad ? NULL : pm;
}

/* ---- wiring ------------------------------------------------------------ */

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
wire_stage(struct vstate *vs, const struct fq__wire_item *it)
{
	struct fq__stage *st = nmap_get(&vs->stages, it->text);
	if (st == NULL) {
		char note[80];
		const char *s = suggest_stage(vs, it->text, -1, note, sizeof(note));
		fq__error(vs->c, it->at.off, it->at.len, s,
			  "unknown stage '%s'", it->text);
		return NULL;
	}
	st->used = 1;
	return st;
}

static void
set_ungrouper(struct vstate *vs, struct fq__stage *st,
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
add_endpoint(struct vstate *vs, int input, const struct fq__wire_item *it)
{
	struct fq_endpoint *e = input
		? fq__push(vs->c, (void **)&vs->inputs, &vs->ninputs, sizeof(*e))
		: fq__push(vs->c, (void **)&vs->outputs, &vs->noutputs, sizeof(*e));
	if (e == NULL)
		return;
	e->text = it->text ? it->text : "";
	e->line = line_of(vs, it->at.off);
}

static void
check_wire(struct vstate *vs, const struct fq__wire *w)
{
	struct fq__ctx *c = vs->c;
	size_t i = 0;
	const struct fq__wire_item *it = w->items;
	if (w->n == 0)
		return;
	if (it[0].is_str) {
		if (w->n == 1) {
			fq__error(c, it[0].at.off, it[0].at.len,
				  "write \"ENDPOINT\" -> SPLITTER",
				  "an endpoint alone does nothing");
			return;
		}
		add_endpoint(vs, 1, &it[0]);
		i = 1;
	}
	struct fq__stage *head = it[i].is_str ? NULL : wire_stage(vs, &it[i]);
	if (it[i].is_str) {
		fq__error(c, it[i].at.off, it[i].at.len, NULL,
			  "an endpoint is wired to a stage, not to an endpoint");
		return;
	}
	if (head == NULL)
		return;
	if (i == 1 && head->kind != FQ_ST_SPLITTER) {
		fq__error(c, it[i].at.off, it[i].at.len, NULL,
			  "an input endpoint feeds the splitter, not %s '%s'",
			  kind_name(head->kind), head->name);
		return;
	}
	struct vbranch *b = NULL;
	int rank;
	if (head->kind == FQ_ST_SPLITTER) {
		if (it[i].branch == NULL) {
			if (i + 1 < w->n)
				fq__error(c, it[i].at.off, it[i].at.len,
					  "write 'S branch NAME -> ...'",
					  "wiring from splitter '%s' needs a branch name",
					  head->name);
			return;
		}
		size_t idx = (size_t)(uintptr_t)nmap_get(&vs->branch_map,
							 it[i].branch);
		if (idx != 0) {
			fq__error(c, it[i].branch_at.off, it[i].branch_at.len, NULL,
				  "branch '%s' is wired twice", it[i].branch);
			return;
		}
		b = fq__push(c, (void **)&vs->br, &vs->nbr, sizeof(*b));
		if (b == NULL)
			return;
		b->name = it[i].branch;
		b->at = it[i].branch_at;
		nmap_put(&vs->branch_map, b->name, (void *)(uintptr_t)vs->nbr);
		rank = 0;
	} else if (head->kind == FQ_ST_MERGER) {
		if (it[i].branch != NULL) {
			fq__error(c, it[i].branch_at.off, it[i].branch_at.len, NULL,
				  "branches start at the splitter");
			return;
		}
		rank = 4;
	} else {
		fq__error(c, it[i].at.off, it[i].at.len,
			  "a branch starts at the splitter: 'S branch A -> ...'",
			  "wiring cannot start at %s '%s'", kind_name(head->kind),
			  head->name);
		return;
	}
	struct fq__stage *merger = head->kind == FQ_ST_MERGER ? head : NULL;
	const struct fq__stage *prev = head;
	for (i++; i < w->n; i++) {
		if (it[i].is_str) {
			if (i + 1 != w->n) {
				fq__error(c, it[i].at.off, it[i].at.len, NULL,
					  "an output endpoint ends a wiring line");
				return;
			}
			if (b != NULL && merger == NULL && w->n == 2) {
				fq__error(c, it[i].at.off, it[i].at.len, NULL,
					  "branch '%s' has no stages", b->name);
				return;
			}
			add_endpoint(vs, 0, &it[i]);
			return;
		}
		if (it[i].branch != NULL) {
			fq__error(c, it[i].branch_at.off, it[i].branch_at.len, NULL,
				  "'branch' follows the splitter only");
			return;
		}
		/*
		 * A bad item is reported and skipped; the rest of the line
		 * still wires the branch, so one mistake gives one error.
		 */
		struct fq__stage *st = wire_stage(vs, &it[i]);
		if (st == NULL)
			continue;
		int r = stage_rank(st->kind);
		if (st->kind == FQ_ST_SPLITTER || r <= rank) {
			if (r == rank && st->kind != FQ_ST_SPLITTER)
				fq__error(c, it[i].at.off, it[i].at.len,
					  st->kind == FQ_ST_FILTER
					  ? "combine filters in one: a filter's line "
					    "may name another filter" : NULL,
					  "a branch has one %s; '%s' follows %s '%s'",
					  kind_name(st->kind), st->name,
					  kind_name(prev->kind), prev->name);
			else
				fq__error(c, it[i].at.off, it[i].at.len,
					  "the order is splitter -> filter -> grouper -> "
					  "groupfilter -> merger -> ungrouper",
					  "%s '%s' cannot come after %s '%s'",
					  kind_name(st->kind), st->name,
					  kind_name(prev->kind), prev->name);
			continue;
		}
		rank = r;
		prev = st;
		switch (st->kind) {
		case FQ_ST_FILTER:      b->filter = st; break;
		case FQ_ST_GROUPER:     b->grouper = st; break;
		case FQ_ST_GROUPFILTER: b->groupfilter = st; break;
		case FQ_ST_MERGER:
			b->merger = st;
			merger = st;
			if (vs->merger != NULL && vs->merger != st)
				fq__error(c, it[i].at.off, it[i].at.len, NULL,
					  "a query has one merger; merger '%s' is "
					  "already wired", vs->merger->name);
			else if (vs->merger == NULL) {
				vs->merger = st;
				vs->merger_at = it[i].at;
			}
			break;
		case FQ_ST_UNGROUPER:
			set_ungrouper(vs, st, &it[i]);
			if (b != NULL)
				b->ungrouper = st;
			break;
		case FQ_ST_SPLITTER:
			break;
		}
	}
	if (head->kind == FQ_ST_MERGER && w->n - (it[0].is_str ? 1 : 0) == 1)
		fq__warning(c, it[0].at.off, it[0].at.len, NULL,
			    "wiring line with a single stage does nothing");
}

/* ---- the pass ---------------------------------------------------------- */

int
fq__validate(struct fq__ctx *c, struct fq__file *f, struct fq_plan *plan)
{
	struct vstate vs;
	memset(&vs, 0, sizeof(vs));
	memset(plan, 0, sizeof(*plan));
	vs.c = c;
	vs.f = f;
	if (nmap_init(c, &vs.stages, f->nstages) < 0)
		return -FQ_ENOMEM;
	size_t nbr_max = 0;
	for (size_t i = 0; i < f->nwires; i++)
		nbr_max++;
	if (nmap_init(c, &vs.branch_map, nbr_max) < 0)
		return -FQ_ENOMEM;

	/* Names are defined once. */
	for (size_t i = 0; i < f->nstages; i++) {
		struct fq__stage *st = f->stages[i];
		struct fq__stage *prev = nmap_put(&vs.stages, st->name, st);
		if (prev != NULL) {
			char note[80];
			snprintf(note, sizeof(note), "'%s' was first defined on line %u",
				 prev->name, (unsigned)line_of(&vs, prev->at.off));
			fq__error(c, st->at.off, st->at.len, note,
				  "redefinition of '%s'", st->name);
			st->used = 1;   /* no second "unused" warning */
		}
	}

	for (size_t i = 0; i < f->nwires; i++)
		check_wire(&vs, f->wires[i]);
	if (c->oom)
		return -FQ_ENOMEM;

	if (vs.nbr == 0) {
		if (c->nerrors == 0)
			fq__error(c, (uint32_t)c->len, 0,
				  "wire one: S branch A -> FILTER ...",
				  "the query has no branch");
		return 0;
	}
	if (vs.nbr > FQ__MAX_SLOTS) {
		fq__error(c, vs.br[FQ__MAX_SLOTS].at.off, vs.br[FQ__MAX_SLOTS].at.len,
			  NULL, "too many branches (the limit is %u)",
			  (unsigned)FQ__MAX_SLOTS);
		return 0;
	}
	for (size_t j = 0; j < vs.nbr; j++) {
		if (vs.nbr > 1 && vs.br[j].merger == NULL)
			fq__error(c, vs.br[j].at.off, vs.br[j].at.len,
				  "end each branch's wiring at the merger",
				  "branch '%s' is not wired to a merger; a query with "
				  "several branches merges them", vs.br[j].name);
	}

	/* Compile the branches' stages. */
	struct fq_plan_branch *pb = fq__alloc(c, vs.nbr * sizeof(*pb));
	if (pb == NULL)
		return -FQ_ENOMEM;
	for (size_t j = 0; j < vs.nbr; j++) {
		struct vbranch *b = &vs.br[j];
		pb[j].name = b->name;
		if (b->filter != NULL) {
			pb[j].filter_name = b->filter->name;
			pb[j].filter = compile_filter(&vs, b->filter, 0);
		}
		if (b->grouper != NULL) {
			b->g = compile_grouper(&vs, b->grouper);
			if (b->g == NULL || b->grouper->compile_failed) {
				b->grouper_failed = 1;
				b->g = b->grouper->compiled;
			}
			pb[j].grouper = b->g;
		}
	}
	for (size_t j = 0; j < vs.nbr; j++) {
		struct vbranch *b = &vs.br[j];
		if (b->groupfilter != NULL) {
			/*
			 * Names resolve against the grouper: branches with
			 * the same grouper (or none) share one compiled copy.
			 */
			struct fq__stage *gf = b->groupfilter;
			struct fq__gf_memo *mm;
			for (mm = gf->memo; mm != NULL; mm = mm->next)
				if (mm->grouper == b->grouper)
					break;
			if (mm == NULL) {
				mm = fq__alloc(c, sizeof(*mm));
				if (mm == NULL)
					return -FQ_ENOMEM;
				mm->grouper = b->grouper;
				mm->cnf = compile_groupfilter(&vs, gf, b);
				mm->next = gf->memo;
				gf->memo = mm;
			}
			pb[j].groupfilter_name = gf->name;
			pb[j].groupfilter = mm->cnf;
		}
	}
	plan->nbranches = vs.nbr;
	plan->branches = pb;
	if (vs.merger != NULL)
		plan->merger = compile_merger(&vs, vs.merger, plan);
	plan->ungrouper = vs.ungrouper ? vs.ungrouper->name : NULL;
	plan->ninputs = vs.ninputs;
	plan->inputs = vs.inputs;
	plan->noutputs = vs.noutputs;
	plan->outputs = vs.outputs;

	for (size_t i = 0; i < f->nstages; i++) {
		struct fq__stage *st = f->stages[i];
		if (!st->used)
			fq__warning(c, st->at.off, st->at.len, NULL,
				    "%s '%s' is defined but not used",
				    kind_name(st->kind), st->name);
	}
	return c->oom ? -FQ_ENOMEM : 0;
}
