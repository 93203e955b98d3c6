/*
 * filter.c - every branch's filter of a query as one program.
 *
 * A record is evaluated once against all branches' filters: the distinct
 * terms of all filters are collected once at start-up (two branches
 * filtering on `prot = 6` share that term, even when they come from
 * different filter definitions), and each branch's CNF refers to terms by
 * index.  Per record, a term is evaluated at most once, on first use, and
 * its result cached in a small array reset by a generation counter; the
 * result of the whole program is a bit mask of the branches the record
 * passes.  Nothing is allocated per record.
 *
 * Terms of the common shapes (`field op integer`, `field in [set]`, `addr
 * = address/prefix`) are compiled at start-up into a struct pl_fterm that
 * reads the field straight from the record (`field op integer` into one
 * function per width and comparison, and a one-branch filter made only
 * of such terms into a straight line of loads and compares without
 * branches, struct pl_fcmp); only other terms go through
 * the general value machinery of value.c (pl_term_record), which builds a
 * tagged value per operand.  The fast forms give the same result as
 * pl_term_record by construction; the differential tests against the
 * reference evaluator (tests/reference) cover both.
 */
#include "pl.h"

#include <stdlib.h>
#include <string.h>

static int
same_set(const struct fq_set *a, const struct fq_set *b)
{
	if (a == b)
		return 1;
	if (a == NULL || b == NULL || a->elem != b->elem || a->n != b->n)
		return 0;
	if (a->elem == FQ_V_INT)
		return memcmp(a->ints, b->ints, a->n * sizeof *a->ints) == 0;
	for (size_t i = 0; i < a->n; i++)
		if (!fq_ip_eq(&a->ips[i].lo, &b->ips[i].lo) ||
		    !fq_ip_eq(&a->ips[i].hi, &b->ips[i].hi))
			return 0;
	return 1;
}

static int
same_operand(const struct fq_operand *a, const struct fq_operand *b)
{
	if (a->kind != b->kind || a->fn != b->fn || a->mask != b->mask)
		return 0;
	switch (a->kind) {
	case FQ_O_FIELD: return a->field == b->field;
	case FQ_O_INT:   return a->i == b->i;
	case FQ_O_IP:    return fq_ip_eq(&a->ip, &b->ip) && a->plen == b->plen;
	case FQ_O_SET:   return same_set(a->set, b->set);
	case FQ_O_GROUP: return 0;
	}
	return 0;
}

static int
same_term(const struct fq_term *a, const struct fq_term *b)
{
	if (a->op != b->op || a->negate != b->negate ||
	    a->has_delta != b->has_delta || a->delta != b->delta)
		return 0;
	if (a->op == FQ_OP_FILTER)
		return a->sub == b->sub;
	return same_operand(&a->l, &b->l) && same_operand(&a->r, &b->r);
}

static int
term_index(struct pl_filter *f, const struct fq_term *t)
{
	for (size_t i = 0; i < f->nterms; i++)
		if (same_term(f->terms[i], t))
			return (int)i;
	const struct fq_term **v = realloc(f->terms, (f->nterms + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	f->terms = v;
	f->terms[f->nterms] = t;
	return (int)f->nterms++;
}

/* Kinds of compiled terms (struct pl_fterm.kind). */
enum {
	FT_GENERIC = 0,         /* pl_term_record */
	FT_INT_CMP,             /* integer field (fn applied) op constant */
	FT_INT_SET,             /* integer field (fn applied) in int set */
	FT_IP_SET,              /* address field in address set */
	FT_IP_PREFIX,           /* address field in prefix */
	FT_IP_EQ,               /* address field = address or prefix */
};

struct pl_fterm;
typedef int (*pl_fterm_fn)(const struct pl_fterm *, const struct fq_record *);

struct pl_fterm {
	pl_fterm_fn eval;       /* `field op integer` on a stored field of
				   fixed width, negation folded in: the whole
				   term (term_fn()); NULL: by kind */
	uint32_t off;           /* eval: the field's offset in the record */
	uint8_t kind;
	uint8_t op;             /* enum fq_op */
	uint8_t negate;
	uint8_t fn;             /* enum fq_fn */
	uint8_t plen;
	const struct fq_field *field;   /* borrowed from the field table */
	int64_t c;              /* FT_INT_CMP constant; fn mask */
	int64_t mask;
	const struct fq_set *set;       /* borrowed from the plan */
	struct fq_ip ip;
};

/*
 * `field op integer` on a field stored at a fixed width, the commonest
 * filter term (`prot = 6`, `dstport = 80`, `bytes > 1024`): one function
 * per width and comparison, picked at start-up, so that the term is a
 * load and a compare instead of three switches.  Loads are the ones
 * fq_field_num() makes.
 */
#define FT_FN(name, T, OP)                                                   \
	static int name(const struct pl_fterm *ft, const struct fq_record *r) \
	{                                                                     \
		int64_t x = (int64_t)*(const T *)(const void *)               \
			    ((const char *)r + ft->off);                      \
		return x OP ft->c;                                            \
	}
#define FT_FNS(w, T)                                                         \
	FT_FN(ft_##w##_eq, T, ==) FT_FN(ft_##w##_ne, T, !=)                  \
	FT_FN(ft_##w##_lt, T, <)  FT_FN(ft_##w##_gt, T, >)                   \
	FT_FN(ft_##w##_le, T, <=) FT_FN(ft_##w##_ge, T, >=)
FT_FNS(u8, uint8_t)
FT_FNS(u16, uint16_t)
FT_FNS(u32, uint32_t)
FT_FNS(u64, uint64_t)
FT_FNS(i64, int64_t)

/* In the order of enum fq_op from FQ_OP_EQ. */
static const pl_fterm_fn ft_fns[5][6] = {
	{ ft_u8_eq, ft_u8_ne, ft_u8_lt, ft_u8_gt, ft_u8_le, ft_u8_ge },
	{ ft_u16_eq, ft_u16_ne, ft_u16_lt, ft_u16_gt, ft_u16_le, ft_u16_ge },
	{ ft_u32_eq, ft_u32_ne, ft_u32_lt, ft_u32_gt, ft_u32_le, ft_u32_ge },
	{ ft_u64_eq, ft_u64_ne, ft_u64_lt, ft_u64_gt, ft_u64_le, ft_u64_ge },
	{ ft_i64_eq, ft_i64_ne, ft_i64_lt, ft_i64_gt, ft_i64_le, ft_i64_ge },
};

static pl_fterm_fn
term_fn(const struct pl_fterm *ft)
{
	if (ft->kind != FT_INT_CMP || ft->fn != FQ_FN_NONE)
		return NULL;
	int w;
	switch (ft->field->type) {
	case FQ_T_U8:   w = 0; break;
	case FQ_T_U16:  w = 1; break;
	case FQ_T_U32:  w = 2; break;
	case FQ_T_U64:  w = 3; break;
	case FQ_T_TIME: w = 4; break;
	default:        return NULL;   /* duration is computed */
	}
	int op = ft->op - FQ_OP_EQ;
	if (ft->negate) {
		/* not ==  is !=, not <  is >=, not >  is <= (and back) */
		static const int neg[6] = { 1, 0, 5, 4, 3, 2 };
		op = neg[op];
	}
	return ft_fns[w][op];
}

/*
 * The straight-line form of a branch's filter whose clauses are single
 * `field op integer` terms (what term_fn() compiles): per term a load of
 * the field's width and a three-way comparison picked from a mask, so
 * that neither the term's outcome nor a short cut is a branch.  Returns
 * 1 if the branch has that form (a branch without clauses has it, with
 * no comparison).
 */
static int
compile_conj(struct pl_filter *f, struct pl_fbranch *fb)
{
	/* Bits by outcome: x < c (1), x == c (2), x > c (4); in the order
	 * of enum fq_op from FQ_OP_EQ. */
	static const uint8_t masks[6] = { 2, 5, 1, 4, 3, 6 };
	if (fb->nclauses > sizeof fb->conj / sizeof fb->conj[0])
		return 0;
	for (size_t c = 0; c < fb->nclauses; c++) {
		if (fb->clauses[c].n != 1)
			return 0;
		const struct pl_fterm *ft = &f->fast[fb->clauses[c].terms[0]];
		if (ft->eval == NULL)
			return 0;
		struct pl_fcmp *k = &fb->conj[c];
		k->c = ft->c;
		k->off = ft->off;
		switch (ft->field->type) {
		case FQ_T_U8:  k->width = 1; break;
		case FQ_T_U16: k->width = 2; break;
		case FQ_T_U32: k->width = 4; break;
		default:       k->width = 8; break;   /* U64, TIME */
		}
		uint8_t m = masks[ft->op - FQ_OP_EQ];
		k->mask = ft->negate ? (uint8_t)(~m & 7) : m;
	}
	fb->nconj = (uint8_t)fb->nclauses;
	return 1;
}

static void
compile_term(const struct fq_term *t, struct pl_fterm *ft)
{
	memset(ft, 0, sizeof *ft);
	ft->kind = FT_GENERIC;
	ft->op = (uint8_t)t->op;
	ft->negate = t->negate;
	const struct fq_operand *l = &t->l, *r = &t->r;
	if (t->op == FQ_OP_FILTER || t->has_delta || l->kind != FQ_O_FIELD ||
	    l->field == NULL)
		return;
	ft->field = l->field;
	int is_ip = l->field->type == FQ_T_IP;
	if (!is_ip) {
		ft->fn = (uint8_t)l->fn;
		ft->mask = l->mask;
		if (r->kind == FQ_O_INT && t->op >= FQ_OP_EQ &&
		    t->op <= FQ_OP_GE) {
			ft->c = r->i;
			ft->kind = FT_INT_CMP;
			ft->off = (uint32_t)l->field->offset;
			ft->eval = term_fn(ft);
		} else if (r->kind == FQ_O_SET && r->set != NULL &&
			   r->set->elem == FQ_V_INT &&
			   (t->op == FQ_OP_IN || t->op == FQ_OP_NOTIN)) {
			ft->set = r->set;
			ft->kind = FT_INT_SET;
		}
		return;
	}
	if (l->fn != FQ_FN_NONE)
		return;
	if (r->kind == FQ_O_SET && r->set != NULL && r->set->elem == FQ_V_IP &&
	    (t->op == FQ_OP_IN || t->op == FQ_OP_NOTIN)) {
		ft->set = r->set;
		ft->kind = FT_IP_SET;
	} else if (r->kind == FQ_O_IP &&
		   (t->op == FQ_OP_IN || t->op == FQ_OP_NOTIN)) {
		ft->ip = r->ip;
		ft->plen = r->plen;
		ft->kind = FT_IP_PREFIX;
	} else if (r->kind == FQ_O_IP &&
		   (t->op == FQ_OP_EQ || t->op == FQ_OP_NE)) {
		ft->ip = r->ip;
		ft->plen = r->plen;
		ft->kind = FT_IP_EQ;
	}
}

int
pl_filter_init(struct pl_filter *f, const struct fq_plan *p)
{
	memset(f, 0, sizeof *f);
	f->nbranches = p->nbranches;
	f->br = calloc(p->nbranches ? p->nbranches : 1, sizeof *f->br);
	if (f->br == NULL)
		return -1;
	for (size_t b = 0; b < p->nbranches; b++) {
		const struct fq_cnf *cnf = p->branches[b].filter;
		struct pl_fbranch *fb = &f->br[b];
		if (cnf == NULL)
			continue;
		fb->nclauses = cnf->n;
		fb->clauses = calloc(cnf->n ? cnf->n : 1, sizeof *fb->clauses);
		if (fb->clauses == NULL)
			return -1;
		for (size_t c = 0; c < cnf->n; c++) {
			const struct fq_clause *cl = &cnf->clauses[c];
			struct pl_fclause *fc = &fb->clauses[c];
			fc->n = cl->n;
			fc->terms = calloc(cl->n ? cl->n : 1, sizeof *fc->terms);
			if (fc->terms == NULL)
				return -1;
			for (size_t k = 0; k < cl->n; k++) {
				int ix = term_index(f, &cl->terms[k]);
				if (ix < 0)
					return -1;
				fc->terms[k] = (uint32_t)ix;
			}
		}
	}
	f->memo = calloc(f->nterms ? f->nterms : 1, sizeof *f->memo);
	f->fast = calloc(f->nterms ? f->nterms : 1, sizeof *f->fast);
	if (f->memo == NULL || f->fast == NULL)
		return -1;
	for (size_t k = 0; k < f->nterms; k++)
		compile_term(f->terms[k], &f->fast[k]);
	f->straight = f->nbranches > 0;
	for (size_t b = 0; b < f->nbranches; b++)
		if (!compile_conj(f, &f->br[b]))
			f->straight = 0;
	return 0;
}

void
pl_filter_fini(struct pl_filter *f)
{
	if (f->br)
		for (size_t b = 0; b < f->nbranches; b++) {
			for (size_t c = 0; c < f->br[b].nclauses; c++)
				free(f->br[b].clauses[c].terms);
			free(f->br[b].clauses);
		}
	free(f->br);
	free(f->terms);
	free(f->memo);
	free(f->fast);
	memset(f, 0, sizeof *f);
}

/* A compiled term on a record: pl_term_record's result, faster. */
static int
fast_term(const struct pl_fterm *ft, const struct fq_term *t,
	  const struct fq_record *r)
{
	if (ft->eval)
		return ft->eval(ft, r);
	int v;
	switch (ft->kind) {
	case FT_INT_CMP:
	case FT_INT_SET: {
		int64_t x = fq_field_num(r, ft->field);
		if (ft->fn == FQ_FN_BITAND)
			x &= ft->mask;
		else if (ft->fn == FQ_FN_BITOR)
			x |= ft->mask;
		if (ft->kind == FT_INT_SET) {
			v = fq_set_has_int(ft->set, x);
			if (ft->op == FQ_OP_NOTIN)
				v = !v;
			break;
		}
		switch (ft->op) {
		case FQ_OP_EQ: v = x == ft->c; break;
		case FQ_OP_NE: v = x != ft->c; break;
		case FQ_OP_LT: v = x < ft->c; break;
		case FQ_OP_GT: v = x > ft->c; break;
		case FQ_OP_LE: v = x <= ft->c; break;
		default:       v = x >= ft->c; break;
		}
		break;
	}
	case FT_IP_SET:
		v = fq_set_has_ip(ft->set, fq_field_ip(r, ft->field));
		if (ft->op == FQ_OP_NOTIN)
			v = !v;
		break;
	case FT_IP_PREFIX:
		v = fq_ip_in_prefix(fq_field_ip(r, ft->field), &ft->ip,
				    ft->plen);
		if (ft->op == FQ_OP_NOTIN)
			v = !v;
		break;
	case FT_IP_EQ: {
		/* As pl_compare: other family never equal; prefix = in. */
		const struct fq_ip *a = fq_field_ip(r, ft->field);
		if (a->is6 != ft->ip.is6)
			v = 0;
		else if (ft->plen < (ft->ip.is6 ? 128 : 32))
			v = fq_ip_in_prefix(a, &ft->ip, ft->plen);
		else
			v = fq_ip_cmp(a, &ft->ip) == 0;
		if (ft->op == FQ_OP_NE)
			v = !v;
		break;
	}
	default:
		return pl_term_record(t, r);
	}
	return ft->negate ? !v : v;
}

/* Term k on the current record, evaluated at most once per record. */
static int
term(struct pl_filter *f, uint32_t k, const struct fq_record *r)
{
	uint32_t m = f->memo[k];
	if ((m >> 1) == f->gen)
		return (int)(m & 1);
	int v = fast_term(&f->fast[k], f->terms[k], r);
	f->memo[k] = f->gen << 1 | (uint32_t)v;
	return v;
}

/*
 * Each branch's conjunction over m records, one comparison at a time:
 * the switch on the field's width is taken once per comparison, not per
 * record, and the loop over the records is a load, two compares and a
 * mask.  Evaluating all comparisons of a conjunction (`prot = 6`,
 * `dstport = 80`, `bytes > 1024`) is cheaper than the mispredicted
 * branch a short cut would take on every other record.
 */
#define PL_CONJ_LOOP(T)							\
	for (size_t j = 0; j < m; j++) {				\
		int64_t x = (int64_t)*(const T *)(const void *)		\
			    (base + j * sizeof(struct fq_record));	\
		ok[j] &= mask >> ((unsigned)(x > c) * 2 + (unsigned)(x == c)); \
	}

uint32_t
pl_filter_records(struct pl_filter *f, const struct fq_record *recs,
		  size_t m, uint8_t *pass)
{
	uint32_t hit = 0;
	if (f->straight) {
		size_t nb = f->nbranches;
		for (size_t b = 0; b < nb; b++) {
			const struct pl_fbranch *fb = &f->br[b];
			unsigned ok[PL_AHEAD];
			for (size_t j = 0; j < m; j++)
				ok[j] = 1;
			for (size_t i = 0; i < fb->nconj; i++) {
				const struct pl_fcmp *k = &fb->conj[i];
				const char *base = (const char *)recs + k->off;
				const int64_t c = k->c;
				const unsigned mask = k->mask;
				switch (k->width) {
				case 1: PL_CONJ_LOOP(uint8_t); break;
				case 2: PL_CONJ_LOOP(uint16_t); break;
				case 4: PL_CONJ_LOOP(uint32_t); break;
				default: PL_CONJ_LOOP(int64_t); break;
				}
			}
			for (size_t j = 0; j < m; j++) {
				pass[j * nb + b] = (uint8_t)(ok[j] & 1);
				hit |= (ok[j] & 1u) << j;
			}
		}
		return hit;
	}
	for (size_t j = 0; j < m; j++)
		hit |= (uint32_t)pl_filter_record(f, &recs[j],
						  &pass[j * f->nbranches]) << j;
	return hit;
}

int
pl_filter_record(struct pl_filter *f, const struct fq_record *r, uint8_t *pass)
{
	/* Conjunctions of a few comparisons: the chunk form, a chunk of one. */
	if (f->straight)
		return pl_filter_records(f, r, 1, pass) != 0;
	/*
	 * One branch: terms are shared by nobody, so the per-record cache
	 * would only cost; the clauses run straight.
	 */
	if (f->nbranches == 1) {
		const struct pl_fbranch *fb = &f->br[0];
		int ok = 1;
		for (size_t c = 0; c < fb->nclauses && ok; c++) {
			const struct pl_fclause *fc = &fb->clauses[c];
			int line = 0;
			for (size_t k = 0; k < fc->n && !line; k++)
				line = fast_term(&f->fast[fc->terms[k]],
						 f->terms[fc->terms[k]], r);
			ok = line;
		}
		pass[0] = (uint8_t)ok;
		return ok;
	}
	/* A new generation invalidates every cached term at once. */
	if (++f->gen >= (1u << 31)) {
		memset(f->memo, 0, f->nterms * sizeof *f->memo);
		f->gen = 1;
	}
	int any = 0;
	for (size_t b = 0; b < f->nbranches; b++) {
		const struct pl_fbranch *fb = &f->br[b];
		int ok = 1;
		for (size_t c = 0; c < fb->nclauses && ok; c++) {
			const struct pl_fclause *fc = &fb->clauses[c];
			int line = 0;
			for (size_t k = 0; k < fc->n && !line; k++)
				line = term(f, fc->terms[k], r);
			ok = line;
		}
		pass[b] = (uint8_t)ok;
		any |= ok;
	}
	return any;
}
