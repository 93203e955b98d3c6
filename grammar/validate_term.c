/*
 * validate_term.c - one comparison term (`l op r [delta D]`) of any stage:
 * resolves its operands and applies the type rules of SPEC section 3.
 *
 * What a name means depends on where the term stands (struct fq__rctx):
 * a record field in a filter or grouper rule; a group value in a group
 * filter (the four built-ins, the grouper's aggregates, or a record field
 * when the branch has no grouper); `BRANCH.value` in a merger.  Constants
 * are typed here too: numbers (with a duration unit or not), addresses
 * and prefixes, and set literals, which become core's constant sets
 * (fq_cset.h) in the query's arena.
 *
 * The type rules, in the order they are checked (the first that fails
 * is the one reported): two constants never compare; a duration compares
 * with times only; `in`/`notin` need a set on the right whose elements
 * have the left side's type; sets compare with = and != only, and only
 * with sets of their kind; addresses with addresses, and `=` on a prefix
 * is refused (it would be `in`); everything else compares numbers; a
 * delta needs two non-constant numbers or times (times on both sides
 * when it has a unit) and a stage that allows one.
 */
#include <string.h>

#include "validate.h"

/* An operand being resolved: the plan's operand and what typing needs. */
struct fq__vop {
	struct fq_operand o;
	int is_const;
	int is_time;                 /* a time or duration (ms) */
	int has_unit;                /* a constant written with a unit */
	struct fq__span at;
};

const char *const fq__builtin_names[FQ__NBUILTIN] = {
	"stime", "etime", "duration", "records",
};

int
fq__field_is_time(const struct fq_field *f)
{
	return f->type == FQ_T_TIME || f->type == FQ_T_DUR;
}

enum fq_vtype
fq__field_vtype(const struct fq_field *f)
{
	return f->type == FQ_T_IP ? FQ_V_IP : FQ_V_INT;
}

/* An aggregate of a time is a time, unless it counts or collects. */
static int
agg_is_time(const struct fq_agg *a)
{
	return fq_agg_defs[a->fn].keeps_unit && fq__field_is_time(a->field);
}

/* ---- group values ----------------------------------------------------- */

/*
 * The error for a name grouper g does not provide, with the closest name
 * it does provide, or else a hint: a record field must be aggregated
 * first; a name close to nothing gets the list of what there is.
 */
static void
group_unknown(struct fq__vstate *vs, const struct fq_plan_grouper *g,
	      const char *name, struct fq__span at, const char *bname)
{
	const char **cands = fq__alloc(vs->c, (g->naggs + FQ__NBUILTIN) *
					      sizeof(char *));
	const char *s = NULL;
	char note[160];
	if (cands != NULL) {
		for (size_t i = 0; i < g->naggs; i++)
			cands[i] = g->aggs[i].name;
		for (size_t i = 0; i < FQ__NBUILTIN; i++)
			cands[g->naggs + i] = fq__builtin_names[i];
		s = fq_suggest(name, strlen(name), cands,
			       g->naggs + FQ__NBUILTIN);
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
}

/* A record field as the value of a group of one (branch without grouper). */
static int
group_field(struct fq__vstate *vs, const char *name, struct fq__span at,
	    const char *bname, struct fq__vop *v)
{
	const struct fq_field *f = fq_field_lookup(name, strlen(name));
	if (f != NULL) {
		v->o.gval = FQ_G_FIELD;
		v->o.field = f;
		v->o.vtype = fq__field_vtype(f);
		v->is_time = fq__field_is_time(f);
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

/*
 * A group value by name: the four built-ins, then the grouper's
 * aggregates (by the name they are written with), or for a branch without
 * grouper the record's fields.  b is the merger slot's branch, or NULL in
 * a group filter (rc says which branch).  Returns 0, or -1 after
 * reporting (quietly when the grouper failed: its names are unknowable).
 */
static int
group_lookup(struct fq__vstate *vs, const struct fq__rctx *rc,
	     const struct fq__vbranch *b, const char *name, struct fq__span at,
	     struct fq__vop *v)
{
	const struct fq_plan_grouper *g = b ? b->g : rc->g;
	int has_grouper = b ? b->grouper != NULL : rc->has_grouper;
	int failed = b ? b->grouper_failed : rc->grouper_failed;
	const char *bname = b ? b->name : rc->branch;
	v->o.kind = FQ_O_GROUP;
	v->o.vtype = FQ_V_INT;
	for (int i = 0; i < FQ__NBUILTIN; i++)
		if (strcmp(name, fq__builtin_names[i]) == 0) {
			v->o.gval = (enum fq_gval)i;
			v->is_time = i < 3;
			return 0;
		}
	if (!has_grouper)
		return group_field(vs, name, at, bname, v);
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
	group_unknown(vs, g, name, at, bname);
	return -1;
}

/* ---- set literals ----------------------------------------------------- */

/*
 * What a set literal holds: numbers (*is_ip = 0) or addresses (1), never
 * both, each range from one kind to the same; *has_unit when a number
 * carries a duration unit.  Returns 0, or -1 after reporting.
 */
static int
set_kind(struct fq__ctx *c, const struct fq__expr *e, int *is_ip,
	 int *has_unit)
{
	int have_int = 0, have_ip = 0;
	*has_unit = 0;
	for (size_t i = 0; i < e->nelems; i++) {
		const struct fq__expr *lo = e->elems[i].lo, *hi = e->elems[i].hi;
		int lo_ip = lo->kind == FQ_EX_IP;
		if (hi != NULL && (hi->kind == FQ_EX_IP) != lo_ip) {
			fq__error(c, hi->at.off, hi->at.len, NULL,
				  "a range runs from a number to a number or from "
				  "an address to an address");
			return -1;
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
		return -1;
	}
	*is_ip = !have_int;
	return 0;
}

/* One number or range lo..hi (hi NULL: a number) into *r. */
static int
set_int_range(struct fq__ctx *c, const struct fq__expr *lo,
	      const struct fq__expr *hi, struct fq_int_range *r)
{
	r->lo = lo->num;
	r->hi = hi ? hi->num : lo->num;
	if (r->hi < r->lo) {
		fq__error(c, lo->at.off, hi->at.off + hi->at.len - lo->at.off,
			  NULL, "empty range: %lld is greater than %lld",
			  (long long)lo->num, (long long)hi->num);
		return -1;
	}
	return 0;
}

/* One address, prefix or address range lo..hi into *r. */
static int
set_ip_range(struct fq__ctx *c, const struct fq__expr *lo,
	     const struct fq__expr *hi, struct fq_ip_range *r)
{
	if (hi == NULL) {
		fq_set_prefix_range(&lo->ip, lo->plen, r);
		if (!fq_ip_eq(&r->lo, &lo->ip))
			fq__warning(c, lo->at.off, lo->at.len, NULL,
				    "prefix has host bits set; it means the "
				    "whole /%u network", lo->plen);
		return 0;
	}
	if (lo->has_plen || hi->has_plen) {
		fq__error(c, lo->at.off, lo->at.len, NULL,
			  "an address range runs between two plain addresses");
		return -1;
	}
	if (lo->ip.is6 != hi->ip.is6) {
		fq__error(c, lo->at.off, hi->at.off + hi->at.len - lo->at.off,
			  NULL, "an address range cannot mix IPv4 and IPv6");
		return -1;
	}
	if (fq_ip_cmp(&lo->ip, &hi->ip) > 0) {
		fq__error(c, lo->at.off, hi->at.off + hi->at.len - lo->at.off,
			  NULL, "empty address range");
		return -1;
	}
	r->lo = lo->ip;
	r->hi = hi->ip;
	return 0;
}

/* A set literal as a constant set; NULL after reporting. */
static struct fq_set *
build_set(struct fq__vstate *vs, const struct fq__expr *e, int *has_unit)
{
	struct fq__ctx *c = vs->c;
	int is_ip;
	if (set_kind(c, e, &is_ip, has_unit) < 0)
		return NULL;
	struct fq_int_range *ir = NULL;
	struct fq_ip_range *pr = NULL;
	if (!is_ip)
		ir = fq__alloc(c, e->nelems * sizeof(*ir));
	else
		pr = fq__alloc(c, e->nelems * sizeof(*pr));
	if (ir == NULL && pr == NULL)
		return NULL;
	for (size_t i = 0; i < e->nelems; i++) {
		const struct fq__expr *lo = e->elems[i].lo, *hi = e->elems[i].hi;
		if (!is_ip ? set_int_range(c, lo, hi, &ir[i]) < 0
			   : set_ip_range(c, lo, hi, &pr[i]) < 0)
			return NULL;
	}
	return fq__set_build(c, is_ip ? FQ_V_IP : FQ_V_INT, ir, pr, e->nelems);
}

/* ---- operands --------------------------------------------------------- */

static int resolve(struct fq__vstate *vs, const struct fq__rctx *rc,
		   const struct fq__expr *e, struct fq__vop *v, int depth);

/* protocol("TCP"): the protocol's number, a constant. */
static int
resolve_protocol(struct fq__ctx *c, const struct fq__expr *e,
		 struct fq__vop *v)
{
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

/* bitAND(field, mask) / bitOR(field, mask), arguments in either order. */
static int
resolve_bitfn(struct fq__vstate *vs, const struct fq__rctx *rc,
	      const struct fq__expr *e, struct fq__vop *v, int depth)
{
	struct fq__ctx *c = vs->c;
	if (e->nargs != 2) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "%s() takes two arguments: a field and a mask",
			  e->name);
		return -1;
	}
	struct fq__vop a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (resolve(vs, rc, e->args[0], &a, depth + 1) < 0 ||
	    resolve(vs, rc, e->args[1], &b, depth + 1) < 0)
		return -1;
	if (a.is_const && !b.is_const) {
		struct fq__vop t = a;
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

static int
resolve_call(struct fq__vstate *vs, const struct fq__rctx *rc,
	     const struct fq__expr *e, struct fq__vop *v, int depth)
{
	if (strcmp(e->name, "protocol") == 0)
		return resolve_protocol(vs->c, e, v);
	if (strcmp(e->name, "bitAND") == 0 || strcmp(e->name, "bitOR") == 0)
		return resolve_bitfn(vs, rc, e, v, depth);
	static const char *const fns[] = { "bitAND", "bitOR", "protocol" };
	char note[64];
	const char *s = fq_suggest(e->name, strlen(e->name), fns, 3);
	if (s)
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	fq__error(vs->c, e->name_at.off, e->name_at.len, s ? note : NULL,
		  "unknown function '%s'", e->name);
	return -1;
}

/* BRANCH.name: a group value of one of the merger module's branches. */
static int
resolve_qname(struct fq__vstate *vs, const struct fq__rctx *rc,
	      const struct fq__expr *e, struct fq__vop *v)
{
	struct fq__ctx *c = vs->c;
	if (rc->kind != FQ__R_MERGER) {
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
	char note[80];
	const char *s = fq_suggest(e->qual, strlen(e->qual), rc->slot_names,
				   rc->nslots);
	if (s)
		snprintf(note, sizeof(note), "did you mean '%s'?", s);
	fq__error(c, e->at.off, (uint32_t)strlen(e->qual), s ? note : NULL,
		  "'%s' is not a branch of this module", e->qual);
	return -1;
}

/* A plain name: a record field, or a group value in a group filter. */
static int
resolve_name(struct fq__vstate *vs, const struct fq__rctx *rc,
	     const struct fq__expr *e, struct fq__vop *v)
{
	struct fq__ctx *c = vs->c;
	if (rc->kind == FQ__R_MERGER) {
		fq__error(c, e->at.off, e->at.len, NULL,
			  "in a merger, name a group field with its branch "
			  "(BRANCH.%s)", e->name);
		return -1;
	}
	if (rc->kind == FQ__R_GROUP)
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
	v->o.vtype = fq__field_vtype(f);
	v->is_time = fq__field_is_time(f);
	return 0;
}

/* An operand; depth bounds function nesting.  0, or -1 after reporting. */
static int
resolve(struct fq__vstate *vs, const struct fq__rctx *rc,
	const struct fq__expr *e, struct fq__vop *v, int depth)
{
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
		fq__error(vs->c, e->at.off, e->at.len, NULL,
			  "a quoted string is only used as a function argument "
			  "(protocol(\"TCP\")) or as an endpoint");
		return -1;
	case FQ_EX_CALL:
		return resolve_call(vs, rc, e, v, depth);
	case FQ_EX_QNAME:
		return resolve_qname(vs, rc, e, v);
	case FQ_EX_NAME:
		break;
	}
	return resolve_name(vs, rc, e, v);
}

/* ---- type rules ------------------------------------------------------- */

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

/* "a number", "an address", "a set": an operand in a message. */
static const char *
vdesc(const struct fq__vop *v)
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

/* `x in 192.0.2.0/24` and `x in 80`: the constant r as a set of one. */
static int
single_set(struct fq__ctx *c, struct fq__vop *r)
{
	struct fq_int_range *ir = NULL;
	struct fq_ip_range *pr = NULL;
	if (r->o.kind == FQ_O_IP) {
		pr = fq__alloc(c, sizeof(*pr));
		if (pr == NULL)
			return -1;
		fq_set_prefix_range(&r->o.ip, r->o.plen, pr);
	} else {
		ir = fq__alloc(c, sizeof(*ir));
		if (ir == NULL)
			return -1;
		ir->lo = ir->hi = r->o.i;
	}
	struct fq_set *s = fq__set_build(c, pr ? FQ_V_IP : FQ_V_INT, ir, pr, 1);
	if (s == NULL)
		return -1;
	r->o.kind = FQ_O_SET;
	r->o.vtype = pr ? FQ_V_SET_IP : FQ_V_SET_INT;
	r->o.set = s;
	return 0;
}

/* `l in r` / `l notin r`: membership, or subset for two sets. */
static int
check_membership(struct fq__ctx *c, const struct fq__term *t, enum fq_op op,
		 const struct fq__vop *l, struct fq__vop *r)
{
	if (r->is_const && (r->o.kind == FQ_O_IP || r->o.kind == FQ_O_INT) &&
	    single_set(c, r) < 0)
		return -1;
	if (!is_set(r->o.vtype)) {
		fq__error(c, t->r->at.off, t->r->at.len, NULL,
			  "'%s' needs a set on its right: a list [80, 443], "
			  "a range [1024..65535], a prefix or a union() "
			  "aggregate", fq_op_name(op));
		return -1;
	}
	enum fq_vtype el = r->o.vtype == FQ_V_SET_IP ? FQ_V_IP : FQ_V_INT;
	enum fq_vtype lt = l->o.vtype;
	if (is_set(lt))
		lt = lt == FQ_V_SET_IP ? FQ_V_IP : FQ_V_INT;
	if (lt == FQ_V_REAL || lt != el) {
		fq__error(c, t->at.off, t->at.len, NULL,
			  "cannot test %s for membership in a set of %s",
			  vdesc(l), el == FQ_V_IP ? "addresses" : "numbers");
		return -1;
	}
	return 0;
}

/* `l op r` for op = != < > <= >=: sets, addresses or numbers. */
static int
check_comparison(struct fq__ctx *c, const struct fq__term *t, enum fq_op op,
		 const struct fq__vop *l, const struct fq__vop *r)
{
	enum fq_vtype lt = l->o.vtype, rt = r->o.vtype;
	if (is_set(lt) || is_set(rt)) {
		if (!(is_set(lt) && is_set(rt))) {
			fq__error(c, t->op_at.off, t->op_at.len,
				  r->is_const && r->o.kind == FQ_O_SET
				  ? "use 'in' or 'notin' to test membership"
				  : NULL,
				  "cannot compare %s with %s", vdesc(l), vdesc(r));
			return -1;
		}
		if (op != FQ_OP_EQ && op != FQ_OP_NE) {
			fq__error(c, t->op_at.off, t->op_at.len,
				  "sets compare with = != in notin",
				  "'%s' is not defined on sets", fq_op_name(op));
			return -1;
		}
		if (lt != rt) {
			fq__error(c, t->at.off, t->at.len, NULL,
				  "a set of addresses never equals a set of "
				  "numbers");
			return -1;
		}
		return 0;
	}
	if (lt == FQ_V_IP || rt == FQ_V_IP) {
		if (lt != rt) {
			fq__error(c, t->at.off, t->at.len, NULL,
				  "cannot compare %s with %s", vdesc(l), vdesc(r));
			return -1;
		}
		if (r->is_const && r->o.plen < (r->o.ip.is6 ? 128 : 32)) {
			fq__error(c, t->r->at.off, t->r->at.len,
				  "use 'in' to test whether an address lies in a "
				  "prefix",
				  "'%s' compares single addresses, not prefixes",
				  fq_op_name(op));
			return -1;
		}
		return 0;
	}
	if (!is_num(lt) || !is_num(rt)) {
		fq__error(c, t->at.off, t->at.len, NULL,
			  "cannot compare %s with %s", vdesc(l), vdesc(r));
		return -1;
	}
	return 0;
}

/* `delta D` / `rdelta D` of a checked term into out. */
static int
check_delta(struct fq__ctx *c, const struct fq__rctx *rc,
	    const struct fq__term *t, enum fq_op op, const struct fq__vop *l,
	    const struct fq__vop *r, struct fq_term *out)
{
	const struct fq__expr *d = t->delta;
	const char *word = t->delta_kind == 1 ? "delta" : "rdelta";
	if (!rc->allow_delta) {
		fq__error(c, d->at.off, d->at.len, NULL,
			  "'%s' is only used in grouper and merger rules, "
			  "between two records or two groups", word);
		return -1;
	}
	if (rc->kind != FQ__R_MERGER && (l->is_const || r->is_const)) {
		fq__error(c, d->at.off, d->at.len, NULL,
			  "'%s' compares two records (grouper) or two groups "
			  "(merger); it has no meaning against a constant", word);
		return -1;
	}
	if (op == FQ_OP_IN || op == FQ_OP_NOTIN || l->o.vtype == FQ_V_IP ||
	    is_set(l->o.vtype) || l->is_const || r->is_const) {
		fq__error(c, d->at.off, d->at.len, NULL,
			  "delta needs two numbers or times to compare");
		return -1;
	}
	if (d->has_unit && !(l->is_time && r->is_time)) {
		fq__error(c, d->at.off, d->at.len, NULL,
			  "a duration delta needs times on both sides");
		return -1;
	}
	out->has_delta = 1;
	out->delta = d->num;
	return 0;
}

int
fq__compile_cmp(struct fq__vstate *vs, const struct fq__rctx *rc,
		const struct fq__term *t, struct fq_term *out)
{
	struct fq__ctx *c = vs->c;
	struct fq__vop l, r;
	int bad = 0;
	memset(out, 0, sizeof(*out));
	if (resolve(vs, rc, t->l, &l, 0) < 0)
		bad = 1;
	if (resolve(vs, rc, t->r, &r, 0) < 0)
		bad = 1;
	if (bad)
		return -1;
	/* A constant goes right: `80 = dstport` is `dstport = 80`. */
	enum fq_op op = t->op;
	if (op != FQ_OP_IN && op != FQ_OP_NOTIN && l.is_const && !r.is_const) {
		struct fq__vop tmp = l;
		l = r;
		r = tmp;
		op = flip(op);
	}
	if (l.is_const && r.is_const) {
		fq__error(c, t->at.off, t->at.len, NULL,
			  "comparison between two constants");
		return -1;
	}
	/* Units: a duration is compared with times only. */
	if ((l.has_unit && !r.is_time && !r.is_const) ||
	    (r.has_unit && !l.is_time && !l.is_const)) {
		const struct fq__vop *u = l.has_unit ? &l : &r;
		fq__error(c, u->at.off, u->at.len, NULL,
			  "a duration is compared with a time (stime, etime, "
			  "duration), not with %s", vdesc(l.has_unit ? &r : &l));
		return -1;
	}
	if (op == FQ_OP_IN || op == FQ_OP_NOTIN
	    ? check_membership(c, t, op, &l, &r) < 0
	    : check_comparison(c, t, op, &l, &r) < 0)
		return -1;
	out->op = op;
	out->negate = t->negate;
	out->l = l.o;
	out->r = r.o;
	out->line = fq__line_of(c, t->at.off);
	if (t->delta_kind)
		return check_delta(c, rc, t, op, &l, &r, out);
	return 0;
}
