/*
 * plan.c - plan helpers shared by the compiler and the engine: building
 * constant sets (sorted, merged ranges, so that membership is a binary
 * search), and names.  The Allen relation table is core's (fq_allen.h).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "plan.h"

static int
cmp_int_range(const void *a, const void *b)
{
	const struct fq_int_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

static int
cmp_ip_range(const void *a, const void *b)
{
	const struct fq_ip_range *x = a, *y = b;
	return fq_ip_cmp(&x->lo, &y->lo);
}

/* a + 1 within the same family, saturating; 0 when it overflowed. */
static int
ip_succ(const struct fq_ip *a, struct fq_ip *out)
{
	*out = *a;
	if (!a->is6) {
		if (a->lo >= 0xffffffffu)
			return 0;
		out->lo++;
		return 1;
	}
	if (++out->lo == 0) {
		if (++out->hi == 0)
			return 0;
	}
	return 1;
}

struct fq_set *
fq__set_build(struct fq__ctx *c, enum fq_vtype elem, struct fq_int_range *ir,
	      struct fq_ip_range *pr, size_t n)
{
	struct fq_set *s = fq__alloc(c, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->elem = elem;
	size_t m = 0;
	if (elem == FQ_V_INT) {
		qsort(ir, n, sizeof(*ir), cmp_int_range);
		for (size_t i = 0; i < n; i++) {
			if (m > 0 && (ir[i].lo <= ir[m - 1].hi ||
				      (ir[m - 1].hi < INT64_MAX &&
				       ir[i].lo == ir[m - 1].hi + 1))) {
				if (ir[i].hi > ir[m - 1].hi)
					ir[m - 1].hi = ir[i].hi;
				continue;
			}
			ir[m++] = ir[i];
		}
		s->ints = ir;
	} else {
		qsort(pr, n, sizeof(*pr), cmp_ip_range);
		for (size_t i = 0; i < n; i++) {
			struct fq_ip nx;
			if (m > 0 && pr[i].lo.is6 == pr[m - 1].lo.is6 &&
			    (fq_ip_cmp(&pr[i].lo, &pr[m - 1].hi) <= 0 ||
			     (ip_succ(&pr[m - 1].hi, &nx) &&
			      fq_ip_eq(&nx, &pr[i].lo)))) {
				if (fq_ip_cmp(&pr[i].hi, &pr[m - 1].hi) > 0)
					pr[m - 1].hi = pr[i].hi;
				continue;
			}
			pr[m++] = pr[i];
		}
		s->ips = pr;
	}
	s->n = m;
	return s;
}

int
fq_set_has_int(const struct fq_set *s, int64_t v)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v < s->ints[mid].lo)
			hi = mid;
		else if (v > s->ints[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int
fq_set_has_ip(const struct fq_set *s, const struct fq_ip *v)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fq_ip_cmp(v, &s->ips[mid].lo) < 0)
			hi = mid;
		else if (fq_ip_cmp(v, &s->ips[mid].hi) > 0)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

const char *
fq_op_name(enum fq_op op)
{
	switch (op) {
	case FQ_OP_EQ:     return "=";
	case FQ_OP_NE:     return "!=";
	case FQ_OP_LT:     return "<";
	case FQ_OP_GT:     return ">";
	case FQ_OP_LE:     return "<=";
	case FQ_OP_GE:     return ">=";
	case FQ_OP_IN:     return "in";
	case FQ_OP_NOTIN:  return "notin";
	case FQ_OP_FILTER: return "filter";
	}
	return "?";
}

const char *
fq_vtype_name(enum fq_vtype t)
{
	switch (t) {
	case FQ_V_INT:     return "int";
	case FQ_V_REAL:    return "real";
	case FQ_V_IP:      return "ip";
	case FQ_V_SET_INT: return "set<int>";
	case FQ_V_SET_IP:  return "set<ip>";
	}
	return "?";
}

const char *
fq_agg_fn_name(enum fq_agg_fn f)
{
	switch (f) {
	case FQ_AGG_FIELD:  return "field";
	case FQ_AGG_SUM:    return "sum";
	case FQ_AGG_COUNT:  return "count";
	case FQ_AGG_MIN:    return "min";
	case FQ_AGG_MAX:    return "max";
	case FQ_AGG_AVG:    return "avg";
	case FQ_AGG_UNION:  return "union";
	case FQ_AGG_BITOR:  return "bitOR";
	case FQ_AGG_BITAND: return "bitAND";
	case FQ_AGG_FIRST:  return "first";
	case FQ_AGG_LAST:   return "last";
	}
	return "?";
}
