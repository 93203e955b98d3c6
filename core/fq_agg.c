/*
 * fq_agg.c - the aggregate function table (fq_agg.h) and its code.
 *
 * Each step function is the per-record rule of one function, each merge
 * the same rule between two partial states; final turns a state into a
 * value.  Sums wrap around in two's complement (they add in uint64_t):
 * byte counters near 2^63 are not real, but a signed overflow would be
 * undefined behaviour, and this is what the engine's adds always gave.
 * Every function writes only the member its state size covers.
 */
#include "fq_agg.h"

#include <string.h>

#include "fq_error.h"

static int64_t
wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* ---- init, fini, final ------------------------------------------------ */

static void
init_zero(union fq_agg_state *s, enum fq_vtype arg)
{
	/* Only the state's own bytes: the next state may follow them. */
	memset(s, 0, arg == FQ_V_IP ? sizeof(s->ip) : sizeof(s->i));
}

static void
init_counted(union fq_agg_state *s, enum fq_vtype arg)
{
	(void)arg;
	s->i = 0;
	s->cnt = 0;
}

static void
init_set(union fq_agg_state *s, enum fq_vtype arg)
{
	fq_vset_init(&s->set, arg == FQ_V_IP ? FQ_V_IP : FQ_V_INT);
}

static void
fini_set(union fq_agg_state *s)
{
	fq_vset_fini(&s->set);
}

/* A value of the argument's type, or a number. */
static void
final_value(const union fq_agg_state *s, enum fq_vtype arg,
	    struct fq_agg_value *out)
{
	memset(out, 0, sizeof(*out));
	if (arg == FQ_V_IP) {
		out->t = FQ_V_IP;
		out->ip = s->ip;
	} else {
		out->t = FQ_V_INT;
		out->i = s->i;
	}
}

static void
final_count(const union fq_agg_state *s, enum fq_vtype arg,
	    struct fq_agg_value *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->t = FQ_V_INT;
	out->i = (int64_t)s->cnt;
}

static void
final_avg(const union fq_agg_state *s, enum fq_vtype arg,
	  struct fq_agg_value *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->t = FQ_V_REAL;
	out->d = s->cnt ? (double)s->i / (double)s->cnt : 0.0;
}

static void
final_set(const union fq_agg_state *s, enum fq_vtype arg,
	  struct fq_agg_value *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->t = s->set.elem == FQ_V_IP ? FQ_V_SET_IP : FQ_V_SET_INT;
	out->set = &s->set;
}

/* ---- step ------------------------------------------------------------- */

/* The value of x or *ip into the state. */
static void
put(union fq_agg_state *s, int64_t x, const struct fq_ip *ip)
{
	if (ip)
		s->ip = *ip;
	else
		s->i = x;
}

/* Bare field and first(): the first record's value. */
static int
step_first(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	   int first, size_t *grown)
{
	(void)grown;
	if (first)
		put(s, x, ip);
	return 0;
}

static int
step_last(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	  int first, size_t *grown)
{
	(void)first;
	(void)grown;
	put(s, x, ip);
	return 0;
}

static int
step_sum(union fq_agg_state *s, int64_t x, const struct fq_ip *ip, int first,
	 size_t *grown)
{
	(void)ip;
	(void)first;
	(void)grown;
	s->i = wrap_add(s->i, x);
	return 0;
}

static int
step_avg(union fq_agg_state *s, int64_t x, const struct fq_ip *ip, int first,
	 size_t *grown)
{
	(void)ip;
	(void)first;
	(void)grown;
	s->i = wrap_add(s->i, x);
	s->cnt++;
	return 0;
}

static int
step_count(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	   int first, size_t *grown)
{
	(void)x;
	(void)ip;
	(void)first;
	(void)grown;
	s->cnt++;
	return 0;
}

static int
step_min(union fq_agg_state *s, int64_t x, const struct fq_ip *ip, int first,
	 size_t *grown)
{
	(void)grown;
	if (ip) {
		if (first || fq_ip_cmp(ip, &s->ip) < 0)
			s->ip = *ip;
	} else if (first || x < s->i) {
		s->i = x;
	}
	return 0;
}

static int
step_max(union fq_agg_state *s, int64_t x, const struct fq_ip *ip, int first,
	 size_t *grown)
{
	(void)grown;
	if (ip) {
		if (first || fq_ip_cmp(ip, &s->ip) > 0)
			s->ip = *ip;
	} else if (first || x > s->i) {
		s->i = x;
	}
	return 0;
}

static int
step_bitor(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	   int first, size_t *grown)
{
	(void)ip;
	(void)grown;
	s->i = first ? x : (s->i | x);
	return 0;
}

static int
step_bitand(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	    int first, size_t *grown)
{
	(void)ip;
	(void)grown;
	s->i = first ? x : (s->i & x);
	return 0;
}

static int
step_union(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	   int first, size_t *grown)
{
	(void)first;
	size_t before = fq_vset_heap(&s->set);
	int rc = ip ? fq_vset_add_ip(&s->set, ip) : fq_vset_add_int(&s->set, x);
	if (grown)
		*grown += fq_vset_heap(&s->set) - before;
	return rc;
}

/* ---- merge: a holds the earlier records, b the later ------------------ */

static int
merge_keep(union fq_agg_state *a, const union fq_agg_state *b,
	   enum fq_vtype arg, size_t *grown)
{
	(void)a;
	(void)b;
	(void)arg;
	(void)grown;
	return 0;
}

static int
merge_later(union fq_agg_state *a, const union fq_agg_state *b,
	    enum fq_vtype arg, size_t *grown)
{
	(void)grown;
	if (arg == FQ_V_IP)
		a->ip = b->ip;
	else
		a->i = b->i;
	return 0;
}

static int
merge_sum(union fq_agg_state *a, const union fq_agg_state *b,
	  enum fq_vtype arg, size_t *grown)
{
	(void)arg;
	(void)grown;
	a->i = wrap_add(a->i, b->i);
	return 0;
}

static int
merge_counted(union fq_agg_state *a, const union fq_agg_state *b,
	      enum fq_vtype arg, size_t *grown)
{
	(void)arg;
	(void)grown;
	a->i = wrap_add(a->i, b->i);
	a->cnt += b->cnt;
	return 0;
}

static int
merge_min(union fq_agg_state *a, const union fq_agg_state *b,
	  enum fq_vtype arg, size_t *grown)
{
	(void)grown;
	if (arg == FQ_V_IP) {
		if (fq_ip_cmp(&b->ip, &a->ip) < 0)
			a->ip = b->ip;
	} else if (b->i < a->i) {
		a->i = b->i;
	}
	return 0;
}

static int
merge_max(union fq_agg_state *a, const union fq_agg_state *b,
	  enum fq_vtype arg, size_t *grown)
{
	(void)grown;
	if (arg == FQ_V_IP) {
		if (fq_ip_cmp(&b->ip, &a->ip) > 0)
			a->ip = b->ip;
	} else if (b->i > a->i) {
		a->i = b->i;
	}
	return 0;
}

static int
merge_bitor(union fq_agg_state *a, const union fq_agg_state *b,
	    enum fq_vtype arg, size_t *grown)
{
	(void)arg;
	(void)grown;
	a->i |= b->i;
	return 0;
}

static int
merge_bitand(union fq_agg_state *a, const union fq_agg_state *b,
	     enum fq_vtype arg, size_t *grown)
{
	(void)arg;
	(void)grown;
	a->i &= b->i;
	return 0;
}

static int
merge_union(union fq_agg_state *a, const union fq_agg_state *b,
	    enum fq_vtype arg, size_t *grown)
{
	(void)arg;
	size_t before = fq_vset_heap(&a->set);
	int rc = fq_vset_add_all(&a->set, &b->set);
	if (grown)
		*grown += fq_vset_heap(&a->set) - before;
	return rc;
}

/* range(x): the largest minus the smallest value, in i (min) and cnt
 * (max, as the same 64 bits). */
static int
step_range(union fq_agg_state *s, int64_t x, const struct fq_ip *ip,
	   int first, size_t *grown)
{
	(void)ip;
	(void)grown;
	if (first || x < s->i)
		s->i = x;
	if (first || x > (int64_t)s->cnt)
		s->cnt = (uint64_t)x;
	return 0;
}

static int
merge_range(union fq_agg_state *a, const union fq_agg_state *b,
	    enum fq_vtype arg, size_t *grown)
{
	(void)arg;
	(void)grown;
	if (b->i < a->i)
		a->i = b->i;
	if ((int64_t)b->cnt > (int64_t)a->cnt)
		a->cnt = b->cnt;
	return 0;
}

static void
final_range(const union fq_agg_state *s, enum fq_vtype arg,
	    struct fq_agg_value *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->t = FQ_V_INT;
	out->i = (int64_t)(s->cnt - (uint64_t)s->i);
}

/* ---- the table -------------------------------------------------------- */

#define NUM FQ_AGG_ARG_NUM
#define IP FQ_AGG_ARG_IP
#define S_I ((uint16_t)sizeof(int64_t))
#define S_IC ((uint16_t)(2 * sizeof(int64_t)))
#define S_IP ((uint16_t)sizeof(struct fq_ip))
#define S_SET ((uint16_t)sizeof(struct fq_vset))

const struct fq_agg_def fq_agg_defs[FQ_AGG_NFN] = {
	[FQ_AGG_FIELD] = { "field", 0, NUM | IP, FQ_AGG_RES_ARG, 1, S_I, S_IP,
			   init_zero, step_first, merge_keep, final_value,
			   NULL, FQ_AGG_AT_I },
	[FQ_AGG_SUM] = { "sum", 1, NUM, FQ_AGG_RES_INT, 1, S_I, 0,
			 init_zero, step_sum, merge_sum, final_value, NULL, FQ_AGG_AT_I },
	[FQ_AGG_COUNT] = { "count", 1, NUM | IP, FQ_AGG_RES_INT, 0, S_IC, S_IC,
			   init_counted, step_count, merge_counted,
			   final_count, NULL, FQ_AGG_AT_CNT },
	[FQ_AGG_MIN] = { "min", 1, NUM | IP, FQ_AGG_RES_ARG, 1, S_I, S_IP,
			 init_zero, step_min, merge_min, final_value, NULL, FQ_AGG_AT_I },
	[FQ_AGG_MAX] = { "max", 1, NUM | IP, FQ_AGG_RES_ARG, 1, S_I, S_IP,
			 init_zero, step_max, merge_max, final_value, NULL, FQ_AGG_AT_I },
	[FQ_AGG_AVG] = { "avg", 1, NUM, FQ_AGG_RES_REAL, 1, S_IC, 0,
			 init_counted, step_avg, merge_counted, final_avg,
			 NULL, FQ_AGG_AT_FINAL },
	[FQ_AGG_UNION] = { "union", 1, NUM | IP, FQ_AGG_RES_SET, 0, S_SET,
			   S_SET, init_set, step_union, merge_union, final_set,
			   fini_set, FQ_AGG_AT_FINAL },
	[FQ_AGG_BITOR] = { "bitOR", 1, NUM, FQ_AGG_RES_INT, 0, S_I, 0,
			   init_zero, step_bitor, merge_bitor, final_value,
			   NULL, FQ_AGG_AT_I },
	[FQ_AGG_BITAND] = { "bitAND", 1, NUM, FQ_AGG_RES_INT, 0, S_I, 0,
			    init_zero, step_bitand, merge_bitand, final_value,
			    NULL, FQ_AGG_AT_I },
	[FQ_AGG_FIRST] = { "first", 1, NUM | IP, FQ_AGG_RES_ARG, 1, S_I, S_IP,
			   init_zero, step_first, merge_keep, final_value,
			   NULL, FQ_AGG_AT_I },
	[FQ_AGG_RANGE] = { "range", 1, NUM, FQ_AGG_RES_INT, 0, S_IC, 0,
			   init_counted, step_range, merge_range, final_range,
			   NULL, FQ_AGG_AT_FINAL },
	[FQ_AGG_LAST] = { "last", 1, NUM | IP, FQ_AGG_RES_ARG, 1, S_I, S_IP,
			  init_zero, step_last, merge_later, final_value,
			  NULL, FQ_AGG_AT_I },
};

/* ---- by function ------------------------------------------------------ */

const char *
fq_agg_fn_name(enum fq_agg_fn f)
{
	return (size_t)f < FQ_AGG_NFN ? fq_agg_defs[f].name : "?";
}

int
fq_agg_lookup(const char *name, size_t len, enum fq_agg_fn *out)
{
	for (size_t f = 0; f < FQ_AGG_NFN; f++) {
		const struct fq_agg_def *d = &fq_agg_defs[f];
		if (d->named && strlen(d->name) == len &&
		    memcmp(d->name, name, len) == 0) {
			*out = (enum fq_agg_fn)f;
			return 1;
		}
	}
	return 0;
}

int
fq_agg_accepts(enum fq_agg_fn f, enum fq_vtype arg)
{
	return (fq_agg_defs[f].args &
		(arg == FQ_V_IP ? FQ_AGG_ARG_IP : FQ_AGG_ARG_NUM)) != 0;
}

enum fq_vtype
fq_agg_result_type(enum fq_agg_fn f, enum fq_vtype arg)
{
	switch (fq_agg_defs[f].result) {
	case FQ_AGG_RES_ARG:  return arg;
	case FQ_AGG_RES_INT:  return FQ_V_INT;
	case FQ_AGG_RES_REAL: return FQ_V_REAL;
	case FQ_AGG_RES_SET:  break;
	}
	return arg == FQ_V_IP ? FQ_V_SET_IP : FQ_V_SET_INT;
}

size_t
fq_agg_state_size(enum fq_agg_fn f, enum fq_vtype arg)
{
	return arg == FQ_V_IP ? fq_agg_defs[f].size_ip
			      : fq_agg_defs[f].size_num;
}

void
fq_agg_init(enum fq_agg_fn f, union fq_agg_state *s, enum fq_vtype arg)
{
	fq_agg_defs[f].init(s, arg);
}

int
fq_agg_step(enum fq_agg_fn f, union fq_agg_state *s, int64_t x,
	    const struct fq_ip *ip, int first, size_t *grown)
{
	return fq_agg_defs[f].step(s, x, ip, first, grown);
}

int
fq_agg_merge(enum fq_agg_fn f, union fq_agg_state *a,
	     const union fq_agg_state *b, enum fq_vtype arg, size_t *grown)
{
	return fq_agg_defs[f].merge(a, b, arg, grown);
}

void
fq_agg_final(enum fq_agg_fn f, const union fq_agg_state *s,
	     enum fq_vtype arg, struct fq_agg_value *out)
{
	fq_agg_defs[f].final(s, arg, out);
}

void
fq_agg_fini(enum fq_agg_fn f, union fq_agg_state *s)
{
	if (fq_agg_defs[f].fini != NULL)
		fq_agg_defs[f].fini(s);
}
