/*
 * value.c - values, comparisons and filters of the query engine.
 *
 * One comparison function serves filters, grouper rules, group filters and
 * merger rules, so the rules of SPEC sections 3 and 4 are written once:
 * IPv4 and IPv6 never equal and never ordered; the tolerant forms with a
 * delta (`=` holds iff |l - r| <= D, `<`/`<=` iff r <= l + D, `>`/`>=` iff
 * r >= l - D, `!=` iff |l - r| > D); sets compare as sets, `x in S` is
 * membership and `S1 in S2` a subset test.
 */
#include "pl.h"

#include <stdlib.h>
#include <string.h>

/* Number of integers in a constant int set, saturating at limit. */
static uint64_t
cset_size(const struct fq_set *c, uint64_t limit)
{
	uint64_t n = 0;
	for (size_t k = 0; k < c->n && n <= limit; k++) {
		const struct fq_int_range *r = &c->ints[k];
		n += (uint64_t)(r->hi - r->lo) + 1;
	}
	return n;
}

/* A value's membership in a set value (union set or constant set). */
static int
member(const struct pl_val *x, const struct pl_val *s)
{
	if (s->set) {
		if (x->t == FQ_V_IP)
			return s->set->elem == FQ_V_IP && fq_vset_has_ip(s->set, &x->ip);
		if (x->t == FQ_V_INT)
			return s->set->elem == FQ_V_INT && fq_vset_has_int(s->set, x->i);
		return 0;
	}
	if (s->cset) {
		if (x->t == FQ_V_IP)
			return s->cset->elem == FQ_V_IP &&
			       fq_set_has_ip(s->cset, &x->ip);
		if (x->t == FQ_V_INT)
			return s->cset->elem == FQ_V_INT &&
			       fq_set_has_int(s->cset, x->i);
		return 0;
	}
	/* `addr in prefix` with a single address constant. */
	if (s->t == FQ_V_IP && x->t == FQ_V_IP)
		return fq_ip_in_prefix(&x->ip, &s->ip, s->plen);
	if (s->t == FQ_V_INT && x->t == FQ_V_INT)
		return x->i == s->i;
	return 0;
}

/* Is every element of union set a in set value b? */
static int
subset(const struct fq_vset *a, const struct pl_val *b)
{
	for (uint32_t k = 0; k < a->n; k++) {
		struct pl_val x;
		memset(&x, 0, sizeof x);
		if (a->elem == FQ_V_INT) {
			x.t = FQ_V_INT;
			x.i = a->ints[k];
		} else {
			x.t = FQ_V_IP;
			x.ip = a->ips[k];
		}
		if (!member(&x, b))
			return 0;
	}
	return 1;
}

static int
is_set(const struct pl_val *v)
{
	return v->set != NULL || v->cset != NULL;
}

/* Set equality where either side may be a constant set. */
static int
set_eq(const struct pl_val *l, const struct pl_val *r)
{
	if (l->set && r->set)
		return fq_vset_equal(l->set, r->set);
	const struct fq_vset *u = l->set ? l->set : r->set;
	const struct pl_val *c = l->set ? r : l;
	if (u == NULL) {
		/* Two constant sets: equal when each is a subset of the other
		 * as range lists, which after merging means identical lists. */
		const struct fq_set *a = l->cset, *b = r->cset;
		if (a->elem != b->elem || a->n != b->n)
			return 0;
		for (size_t k = 0; k < a->n; k++) {
			if (a->elem == FQ_V_INT
			    ? (a->ints[k].lo != b->ints[k].lo || a->ints[k].hi != b->ints[k].hi)
			    : (!fq_ip_eq(&a->ips[k].lo, &b->ips[k].lo) ||
			       !fq_ip_eq(&a->ips[k].hi, &b->ips[k].hi)))
				return 0;
		}
		return 1;
	}
	if (!subset(u, c))
		return 0;
	/* Every element of the constant set must be in u: sizes decide. */
	if (c->cset == NULL || c->cset->elem != FQ_V_INT)
		return 0;   /* address ranges of unbounded size: not equal */
	return cset_size(c->cset, u->n) == u->n;
}

static double
as_real(const struct pl_val *v)
{
	return v->t == FQ_V_REAL ? v->d : (double)v->i;
}

static inline int compare_int(enum fq_op op, int has_delta, int64_t delta,
			       int64_t a, int64_t b);

/* pl_compare() of two addresses, from their order c (fq_ip_cmp). */
static inline int
ip_order(enum fq_op op, int c)
{
	switch (op) {
	case FQ_OP_EQ: return c == 0;
	case FQ_OP_NE: return c != 0;
	case FQ_OP_LT: return c < 0;
	case FQ_OP_GT: return c > 0;
	case FQ_OP_LE: return c <= 0;
	case FQ_OP_GE: return c >= 0;
	default:       return 0;
	}
}

int
pl_compare(enum fq_op op, int has_delta, int64_t delta,
	   const struct pl_val *l, const struct pl_val *r)
{
	if (op == FQ_OP_IN || op == FQ_OP_NOTIN) {
		int in;
		if (l->set)
			in = is_set(r) ? subset(l->set, r) : 0;
		else
			in = member(l, r);
		return op == FQ_OP_IN ? in : !in;
	}
	if (is_set(l) || is_set(r)) {
		if (!(is_set(l) && is_set(r)))
			return op == FQ_OP_NE;
		int eq = set_eq(l, r);
		if (op == FQ_OP_EQ)
			return eq;
		if (op == FQ_OP_NE)
			return !eq;
		return 0;
	}
	if (l->t == FQ_V_IP || r->t == FQ_V_IP) {
		if (l->t != FQ_V_IP || r->t != FQ_V_IP || l->ip.is6 != r->ip.is6)
			return op == FQ_OP_NE;
		int c;
		/* A constant with a prefix length compares as the prefix. */
		if (r->plen < (r->ip.is6 ? 128 : 32) || l->plen < (l->ip.is6 ? 128 : 32)) {
			int in = r->plen < (r->ip.is6 ? 128 : 32)
				 ? fq_ip_in_prefix(&l->ip, &r->ip, r->plen)
				 : fq_ip_in_prefix(&r->ip, &l->ip, l->plen);
			if (op == FQ_OP_EQ)
				return in;
			if (op == FQ_OP_NE)
				return !in;
		}
		c = fq_ip_cmp(&l->ip, &r->ip);
		return ip_order(op, c);
	}
	if (l->t == FQ_V_REAL || r->t == FQ_V_REAL) {
		double a = as_real(l), b = as_real(r), D = (double)delta;
		if (has_delta) {
			switch (op) {
			case FQ_OP_EQ: return (a > b ? a - b : b - a) <= D;
			case FQ_OP_NE: return (a > b ? a - b : b - a) > D;
			case FQ_OP_LT: case FQ_OP_LE: return b <= a + D;
			case FQ_OP_GT: case FQ_OP_GE: return b >= a - D;
			default: return 0;
			}
		}
		switch (op) {
		case FQ_OP_EQ: return a == b;
		case FQ_OP_NE: return a != b;
		case FQ_OP_LT: return a < b;
		case FQ_OP_GT: return a > b;
		case FQ_OP_LE: return a <= b;
		case FQ_OP_GE: return a >= b;
		default: return 0;
		}
	}
	return compare_int(op, has_delta, delta, l->i, r->i);
}

/* pl_compare() of two whole numbers. */
static inline int
compare_int(enum fq_op op, int has_delta, int64_t delta, int64_t a,
	    int64_t b)
{
	if (has_delta) {
		/* |a - b| without overflow for the values records carry. */
		uint64_t dist = a > b ? (uint64_t)a - (uint64_t)b
				      : (uint64_t)b - (uint64_t)a;
		uint64_t D = delta < 0 ? 0 : (uint64_t)delta;
		switch (op) {
		case FQ_OP_EQ: return dist <= D;
		case FQ_OP_NE: return dist > D;
		case FQ_OP_LT: case FQ_OP_LE: return b <= a || dist <= D;
		case FQ_OP_GT: case FQ_OP_GE: return b >= a || dist <= D;
		default: return 0;
		}
	}
	switch (op) {
	case FQ_OP_EQ: return a == b;
	case FQ_OP_NE: return a != b;
	case FQ_OP_LT: return a < b;
	case FQ_OP_GT: return a > b;
	case FQ_OP_LE: return a <= b;
	case FQ_OP_GE: return a >= b;
	default: return 0;
	}
}

uint64_t
pl_val_hash(const struct pl_val *v)
{
	if (v->set)
		return fq_vset_hash(v->set) ^ 0x5bd1e995;
	if (v->t == FQ_V_IP)
		return pl_mix(pl_mix(v->ip.hi, v->ip.lo), v->ip.is6 + 1);
	if (v->t == FQ_V_REAL) {
		uint64_t bits;
		memcpy(&bits, &v->d, sizeof bits);
		return pl_mix(bits, 3);
	}
	return pl_mix((uint64_t)v->i, 7);
}

int
pl_val_key_eq(const struct pl_val *a, const struct pl_val *b)
{
	struct pl_val x = *a, y = *b;
	return pl_compare(FQ_OP_EQ, 0, 0, &x, &y);
}

static void
apply_fn(const struct fq_operand *o, struct pl_val *v)
{
	if (v->t != FQ_V_INT)
		return;
	if (o->fn == FQ_FN_BITAND)
		v->i &= o->mask;
	else if (o->fn == FQ_FN_BITOR)
		v->i |= o->mask;
}

static void
const_operand(const struct fq_operand *o, struct pl_val *out)
{
	switch (o->kind) {
	case FQ_O_INT:
		out->t = FQ_V_INT;
		out->i = o->i;
		break;
	case FQ_O_IP:
		out->t = FQ_V_IP;
		out->ip = o->ip;
		out->plen = o->plen;
		break;
	case FQ_O_SET:
		out->t = o->set->elem == FQ_V_IP ? FQ_V_SET_IP : FQ_V_SET_INT;
		out->cset = o->set;
		break;
	default:
		break;
	}
}

static void
field_value(const struct fq_record *r, const struct fq_field *f,
	    struct pl_val *out)
{
	if (f->type == FQ_T_IP) {
		out->t = FQ_V_IP;
		out->ip = *fq_field_ip(r, f);
		out->plen = out->ip.is6 ? 128 : 32;
	} else {
		out->t = FQ_V_INT;
		out->i = fq_field_num(r, f);
	}
}

void
pl_record_operand(const struct fq_record *r, const struct fq_operand *o,
		  struct pl_val *out)
{
	memset(out, 0, sizeof *out);
	out->plen = 128;
	if (o->kind == FQ_O_FIELD || (o->kind == FQ_O_GROUP && o->field)) {
		field_value(r, o->field, out);
		apply_fn(o, out);
		return;
	}
	const_operand(o, out);
}

int
pl_term_record(const struct fq_term *t, const struct fq_record *r)
{
	int v;
	if (t->op == FQ_OP_FILTER) {
		v = t->sub ? pl_cnf_record(t->sub, r) : 1;
	} else {
		struct pl_val l, rv;
		pl_record_operand(r, &t->l, &l);
		pl_record_operand(r, &t->r, &rv);
		v = pl_compare(t->op, t->has_delta, t->delta, &l, &rv);
	}
	return t->negate ? !v : v;
}

int
pl_cnf_record(const struct fq_cnf *cnf, const struct fq_record *r)
{
	if (cnf == NULL)
		return 1;   /* no filter: every record passes */
	for (size_t i = 0; i < cnf->n; i++) {
		const struct fq_clause *c = &cnf->clauses[i];
		int ok = 0;
		for (size_t k = 0; k < c->n && !ok; k++)
			ok = pl_term_record(&c->terms[k], r);
		if (!ok)
			return 0;
	}
	return 1;
}

/* ---- group values --------------------------------------------------- */

void
pl_group_value(const struct pl_group *g, const struct fq_operand *o,
	       struct pl_val *out)
{
	memset(out, 0, sizeof *out);
	out->plen = 128;
	if (o->kind != FQ_O_GROUP) {
		const_operand(o, out);
		return;
	}
	out->t = FQ_V_INT;
	switch (o->gval) {
	case FQ_G_STIME:
		out->i = g->stime;
		break;
	case FQ_G_ETIME:
		out->i = g->etime;
		break;
	case FQ_G_DURATION:
		out->i = g->etime - g->stime;
		break;
	case FQ_G_RECORDS:
		out->i = g->n;
		break;
	case FQ_G_FIELD:
		field_value(&g->recs[0]->r, o->field, out);
		break;
	case FQ_G_AGG: {
		/* what the aggregate table's final() gives (core/fq_agg.h) */
		const struct fq_agg *a = &g->br->gr.pg->aggs[o->agg];
		struct fq_agg_value v;
		fq_agg_final(a->fn, pl_group_agg(g, o->agg),
			     g->br->gr.aops[o->agg].isip ? FQ_V_IP : FQ_V_INT, &v);
		out->t = v.t;
		out->i = v.i;
		out->d = v.d;
		out->set = v.set;
		if (v.t == FQ_V_IP) {
			out->ip = v.ip;
			out->plen = v.ip.is6 ? 128 : 32;
		}
		break;
	}
	}
	apply_fn(o, out);
}

/*
 * Shortcuts of pl_group_value() for the commonest operands of group
 * filters and mergers, with no struct pl_val to clear and fill (that was
 * a tenth of a merger query's instructions): group_int() gives a whole
 * number -- a constant, a time, a count, an aggregate that is a number,
 * with bitAND/bitOR applied as apply_fn() does -- and returns 1, else 0;
 * group_ip() gives an address aggregate (always a full-length address),
 * else NULL; group_set() (below) a union() set.  Anything else takes the
 * general way.
 */
static inline int
group_int(const struct pl_group *g, const struct fq_operand *o, int64_t *out)
{
	int64_t v;
	if (o->kind == FQ_O_INT) {
		*out = o->i;   /* constants take no function */
		return 1;
	}
	if (o->kind != FQ_O_GROUP)
		return 0;
	switch (o->gval) {
	case FQ_G_STIME:
		v = g->stime;
		break;
	case FQ_G_ETIME:
		v = g->etime;
		break;
	case FQ_G_DURATION:
		v = g->etime - g->stime;
		break;
	case FQ_G_RECORDS:
		v = g->n;
		break;
	case FQ_G_AGG: {
		/* a number the state holds as it is (fq_agg_def.at) */
		const struct fq_agg *a = &g->br->gr.pg->aggs[o->agg];
		const union fq_agg_state *x = pl_group_agg(g, o->agg);
		enum fq_agg_at at = fq_agg_defs[a->fn].at;
		if (at == FQ_AGG_AT_CNT)
			v = (int64_t)x->cnt;
		else if (at == FQ_AGG_AT_I && a->vtype == FQ_V_INT)
			v = x->i;
		else
			return 0;
		break;
	}
	default:
		return 0;
	}
	if (o->fn == FQ_FN_BITAND)
		v &= o->mask;
	else if (o->fn == FQ_FN_BITOR)
		v |= o->mask;
	*out = v;
	return 1;
}

static inline const struct fq_ip *
group_ip(const struct pl_group *g, const struct fq_operand *o)
{
	if (o->kind != FQ_O_GROUP || o->gval != FQ_G_AGG)
		return NULL;
	const struct fq_agg *a = &g->br->gr.pg->aggs[o->agg];
	if (fq_agg_defs[a->fn].at != FQ_AGG_AT_I || a->vtype != FQ_V_IP)
		return NULL;
	return &pl_group_agg(g, o->agg)->ip;
}

/* group_set(): a union() aggregate, else NULL. */
static inline const struct fq_vset *
group_set(const struct pl_group *g, const struct fq_operand *o)
{
	if (o->kind != FQ_O_GROUP || o->gval != FQ_G_AGG ||
	    !g->br->gr.aops[o->agg].set)
		return NULL;
	return pl_group_set(g, o->agg);
}

uint64_t
pl_group_value_hash(const struct pl_group *g, const struct fq_operand *o)
{
	int64_t i;
	const struct fq_ip *ip;
	const struct fq_vset *set;
	/* pl_val_hash()'s formulas */
	if (group_int(g, o, &i))
		return pl_mix((uint64_t)i, 7);
	if ((ip = group_ip(g, o)) != NULL)
		return pl_mix(pl_mix(ip->hi, ip->lo), ip->is6 + 1);
	if ((set = group_set(g, o)) != NULL)
		return fq_vset_hash(set) ^ 0x5bd1e995;
	struct pl_val v;
	pl_group_value(g, o, &v);
	return pl_val_hash(&v);
}

static int
term_group(const struct fq_term *t, struct pl_group *const *slots)
{
	const struct pl_group *gl = t->l.kind == FQ_O_GROUP ? slots[t->l.branch] : NULL;
	const struct pl_group *gr = t->r.kind == FQ_O_GROUP ? slots[t->r.branch] : NULL;
	int v;
	int64_t a, b;
	const struct fq_ip *x, *y;
	const struct fq_vset *u, *w;
	int cmp = t->op <= FQ_OP_GE;   /* =, !=, <, >, <=, >= */
	if (cmp && group_int(gl, &t->l, &a) && group_int(gr, &t->r, &b)) {
		v = compare_int(t->op, t->has_delta, t->delta, a, b);
	} else if (cmp && (x = group_ip(gl, &t->l)) != NULL &&
		   (y = group_ip(gr, &t->r)) != NULL) {
		/* pl_compare() of two full-length addresses */
		v = x->is6 != y->is6 ? t->op == FQ_OP_NE
				     : ip_order(t->op, fq_ip_cmp(x, y));
	} else if (cmp && (u = group_set(gl, &t->l)) != NULL &&
		   (w = group_set(gr, &t->r)) != NULL) {
		/* pl_compare() of two union() sets: only = and != hold */
		int eq = fq_vset_equal(u, w);
		v = t->op == FQ_OP_EQ ? eq : t->op == FQ_OP_NE ? !eq : 0;
	} else {
		struct pl_val l, r;
		pl_group_value(gl, &t->l, &l);
		pl_group_value(gr, &t->r, &r);
		v = pl_compare(t->op, t->has_delta, t->delta, &l, &r);
	}
	return t->negate ? !v : v;
}

int
pl_cnf_group(const struct fq_cnf *cnf, struct pl_group *const *slots)
{
	for (size_t i = 0; i < cnf->n; i++) {
		const struct fq_clause *c = &cnf->clauses[i];
		int ok = 0;
		for (size_t k = 0; k < c->n && !ok; k++)
			ok = term_group(&c->terms[k], slots);
		if (!ok)
			return 0;
	}
	return 1;
}
