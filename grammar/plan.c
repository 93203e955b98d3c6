/*
 * plan.c - small plan helpers: constant sets in the query's arena (the
 * set itself is core's, fq_cset.h) and the names of operators and value
 * types for printing (aggregate functions: fq_agg.h).  The run-time helpers the
 * engine calls per record or group (Allen relations, set membership)
 * live in core (fq_allen.h, fq_cset.h).
 */

#include "internal.h"
#include "plan.h"

struct fq_set *
fq__set_build(struct fq__ctx *c, enum fq_vtype elem, struct fq_int_range *ir,
	      struct fq_ip_range *pr, size_t n)
{
	struct fq_set *s = fq__alloc(c, sizeof(*s));
	if (s == NULL)
		return NULL;
	fq_set_build(s, elem, ir, pr, n);
	return s;
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
