/*
 * parse_cond.c - the parser's condition lines: `term OR term ...`, each
 * term a comparison `l op r [delta D]`, an Allen relation `A rel B
 * [delta D]` (merger), or a filter's name (filter); and the operands in
 * them: names, BRANCH.names, numbers with duration units, addresses and
 * prefixes, set literals, function calls.
 *
 * Context decides what a word means: relation words are relations only
 * between two branch names in a merger line (elsewhere `s` or `d` is an
 * ordinary name), a unit belongs to the number just before it, and in a
 * filter a lone name is a composite filter.  Errors are reported at the
 * exact token and the line is skipped (parser.c recovers).
 */
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "fq_ip.h"
#include "parser.h"

/* ---- values ------------------------------------------------------------ */

static int
parse_number_text(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < len; i++) {
			unsigned d;
			char ch = s[i];
			if (ch >= '0' && ch <= '9')
				d = (unsigned)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				d = (unsigned)(ch - 'a' + 10);
			else
				d = (unsigned)(ch - 'A' + 10);
			if (v > (UINT64_C(0x7fffffffffffffff) >> 4))
				return -1;
			v = v * 16 + d;
		}
	} else {
		for (size_t i = 0; i < len; i++) {
			unsigned d = (unsigned)(s[i] - '0');
			if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
				return -1;
			v = v * 10 + d;
		}
	}
	*out = (int64_t)v;
	return 0;
}

/* Duration unit multiplier (ms) of a name, 0 if it is not a unit. */
static int64_t
unit_ms(const struct fq__parser *p, const struct fq__token *t)
{
	if (t->kind != FQ_TK_NAME)
		return 0;
	const char *s = p->c->src + t->off;
	if (fq__streq(s, t->len, "ms"))
		return 1;
	if (fq__streq(s, t->len, "s") || fq__streq(s, t->len, "sec") ||
	    fq__streq(s, t->len, "secs"))
		return 1000;
	if (fq__streq(s, t->len, "min") || fq__streq(s, t->len, "mins"))
		return 60000;
	if (fq__streq(s, t->len, "h"))
		return 3600000;
	return 0;
}

static struct fq__expr *
new_expr(struct fq__parser *p, enum fq__ex_kind k, const struct fq__token *t)
{
	struct fq__expr *e = fq__alloc(p->c, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->kind = k;
	e->at = span(t);
	return e;
}

static struct fq__expr *parse_operand(struct fq__parser *p, int allow_set);

static struct fq__expr *
parse_num(struct fq__parser *p)
{
	const struct fq__token *t = cur(p);
	struct fq__expr *e = new_expr(p, FQ_EX_NUM, t);
	if (e == NULL)
		return NULL;
	if (parse_number_text(p->c->src + t->off, t->len, &e->num) < 0) {
		fq__error(p->c, t->off, t->len, NULL, "number out of range");
		advance(p);
		return NULL;
	}
	advance(p);
	/* A duration unit belongs to the number just before it. */
	int64_t mul = unit_ms(p, cur(p));
	if (mul == 0 && cur(p)->kind == FQ_TK_NAME && cur(p)->off == t->off + t->len) {
		const struct fq__token *u = cur(p);
		fq__error(p->c, u->off, u->len, "units are ms, s (sec), min and h",
			  "unknown unit '%.*s'", (int)(u->len > 40 ? 40 : u->len),
			  p->c->src + u->off);
		advance(p);
		return NULL;
	}
	if (mul) {
		if (e->num > INT64_MAX / mul) {
			fq__error(p->c, t->off, t->len, NULL, "duration out of range");
			advance(p);
			return NULL;
		}
		e->num *= mul;
		e->has_unit = 1;
		e->at = span_to(e->at, cur(p));
		advance(p);
	}
	return e;
}

static struct fq__expr *
parse_ip(struct fq__parser *p)
{
	const struct fq__token *t = cur(p);
	const char *s = p->c->src + t->off;
	size_t alen = t->len;
	struct fq__expr *e = new_expr(p, FQ_EX_IP, t);
	if (e == NULL)
		return NULL;
	advance(p);
	const char *slash = memchr(s, '/', t->len);
	if (slash != NULL)
		alen = (size_t)(slash - s);
	if (fq_ip_parse(s, alen, &e->ip) < 0) {
		fq__error(p->c, t->off, (uint32_t)alen, NULL,
			  "invalid address '%.*s'", (int)(alen > 60 ? 60 : alen), s);
		return NULL;
	}
	unsigned maxlen = e->ip.is6 ? 128 : 32;
	e->plen = (uint8_t)maxlen;
	if (slash != NULL) {
		const char *q = slash + 1;
		size_t ql = t->len - alen - 1;
		int64_t v;
		if (ql == 0 || ql > 3 || parse_number_text(q, ql, &v) < 0 ||
		    v > (int64_t)maxlen) {
			fq__error(p->c, (uint32_t)(t->off + alen), (uint32_t)(ql + 1),
				  NULL, "prefix length must be 0..%u", maxlen);
			return NULL;
		}
		e->plen = (uint8_t)v;
		e->has_plen = 1;
	}
	return e;
}

static struct fq__expr *
parse_set(struct fq__parser *p)
{
	const struct fq__token *open = cur(p);
	struct fq__expr *e = new_expr(p, FQ_EX_SET, open);
	if (e == NULL)
		return NULL;
	advance(p);
	if (at(p, FQ_TK_RBRACK)) {
		fq__error(p->c, open->off, 2, NULL, "empty set");
		advance(p);
		return NULL;
	}
	for (;;) {
		const struct fq__token *t = cur(p);
		struct fq__expr *lo;
		if (t->kind == FQ_TK_NUM)
			lo = parse_num(p);
		else if (t->kind == FQ_TK_IP)
			lo = parse_ip(p);
		else {
			fq__err_at(p, t, NULL, "a number or address in the set");
			return NULL;
		}
		if (lo == NULL)
			return NULL;
		struct fq__expr *hi = NULL;
		if (at(p, FQ_TK_DOTDOT)) {
			advance(p);
			t = cur(p);
			if (t->kind == FQ_TK_NUM)
				hi = parse_num(p);
			else if (t->kind == FQ_TK_IP)
				hi = parse_ip(p);
			else {
				fq__err_at(p, t, NULL, "the end of the range");
				return NULL;
			}
			if (hi == NULL)
				return NULL;
		}
		struct fq__set_elem *se = fq__push(p->c, (void **)&e->elems,
						    &e->nelems, sizeof(*se));
		if (se == NULL)
			return NULL;
		se->lo = lo;
		se->hi = hi;
		if (at(p, FQ_TK_COMMA)) {
			advance(p);
			continue;
		}
		if (at(p, FQ_TK_RBRACK)) {
			e->at = span_to(e->at, cur(p));
			advance(p);
			return e;
		}
		fq__err_at(p, cur(p), NULL, "',' or ']'");
		return NULL;
	}
}

static struct fq__expr *
parse_call(struct fq__parser *p)
{
	const struct fq__token *t = cur(p);
	struct fq__expr *e = new_expr(p, FQ_EX_CALL, t);
	if (e == NULL)
		return NULL;
	e->name = fq__tok_str(p, t);
	e->name_at = span(t);
	advance(p);   /* name */
	advance(p);   /* ( */
	if (++p->call_depth > FQ__MAX_CALL_DEPTH) {
		fq__error(p->c, t->off, t->len, NULL, "function calls nested too deeply");
		p->call_depth--;
		return NULL;
	}
	if (!at(p, FQ_TK_RPAREN)) {
		for (;;) {
			struct fq__expr *a = parse_operand(p, 0);
			if (a == NULL) {
				p->call_depth--;
				return NULL;
			}
			if (fq__push_ptr(p->c, (void ***)&e->args, &e->nargs, a) < 0) {
				p->call_depth--;
				return NULL;
			}
			if (at(p, FQ_TK_COMMA)) {
				advance(p);
				continue;
			}
			break;
		}
	}
	p->call_depth--;
	if (!at(p, FQ_TK_RPAREN)) {
		fq__err_at(p, cur(p), NULL, "',' or ')'");
		return NULL;
	}
	e->at = span_to(e->at, cur(p));
	advance(p);
	return e;
}

static struct fq__expr *
parse_operand(struct fq__parser *p, int allow_set)
{
	const struct fq__token *t = cur(p);
	switch (t->kind) {
	case FQ_TK_NUM:
		return parse_num(p);
	case FQ_TK_IP:
		return parse_ip(p);
	case FQ_TK_STR: {
		struct fq__expr *e = new_expr(p, FQ_EX_STR, t);
		if (e == NULL)
			return NULL;
		e->str = fq_arena_strndup(p->c->arena, p->c->src + t->off + 1,
					  t->len - 2);
		if (e->str == NULL)
			p->c->oom = 1;
		advance(p);
		return e;
	}
	case FQ_TK_LBRACK:
		if (allow_set)
			return parse_set(p);
		fq__err_at(p, t, NULL, "a value");
		return NULL;
	case FQ_TK_NAME:
		if (peek(p, 1)->kind == FQ_TK_LPAREN)
			return parse_call(p);
		if (peek(p, 1)->kind == FQ_TK_DOT) {
			struct fq__expr *e = new_expr(p, FQ_EX_QNAME, t);
			if (e == NULL)
				return NULL;
			e->qual = fq__tok_str(p, t);
			advance(p);
			advance(p);
			const struct fq__token *f = cur(p);
			if (f->kind != FQ_TK_NAME) {
				fq__err_at(p, f, NULL, "a field name after '.'");
				return NULL;
			}
			e->name = fq__tok_str(p, f);
			e->name_at = span(f);
			e->at = span_to(e->at, f);
			advance(p);
			return e;
		} else {
			struct fq__expr *e = new_expr(p, FQ_EX_NAME, t);
			if (e == NULL)
				return NULL;
			e->name = fq__tok_str(p, t);
			e->name_at = span(t);
			advance(p);
			return e;
		}
	default:
		fq__err_at(p, t, NULL, "a value");
		return NULL;
	}
}

/* ---- conditions -------------------------------------------------------- */

static int
cmp_op(const struct fq__parser *p, const struct fq__token *t, enum fq_op *op)
{
	switch (t->kind) {
	case FQ_TK_EQ: *op = FQ_OP_EQ; return 1;
	case FQ_TK_NE: *op = FQ_OP_NE; return 1;
	case FQ_TK_LT: *op = FQ_OP_LT; return 1;
	case FQ_TK_GT: *op = FQ_OP_GT; return 1;
	case FQ_TK_LE: *op = FQ_OP_LE; return 1;
	case FQ_TK_GE: *op = FQ_OP_GE; return 1;
	default: break;
	}
	if (tok_is(p, t, "in")) {
		*op = FQ_OP_IN;
		return 1;
	}
	if (tok_is(p, t, "notin")) {
		*op = FQ_OP_NOTIN;
		return 1;
	}
	return 0;
}

/* The relation a token spells in a merger line, if any. */
static int
allen_tok(const struct fq__parser *p, const struct fq__token *t,
	  enum fq_allen_rel *rel)
{
	switch (t->kind) {
	case FQ_TK_LT: *rel = FQ_AL_BEFORE; return 1;
	case FQ_TK_GT: *rel = FQ_AL_AFTER; return 1;
	case FQ_TK_EQ: *rel = FQ_AL_EQUALS; return 1;
	case FQ_TK_NAME:
		return fq_allen_lookup(p->c->src + t->off, t->len, rel);
	default:
		return 0;
	}
}

static int
parse_delta(struct fq__parser *p, struct fq__term *tm)
{
	if (tok_is(p, cur(p), "delta"))
		tm->delta_kind = 1;
	else if (tok_is(p, cur(p), "rdelta"))
		tm->delta_kind = 2;
	else
		return 0;
	advance(p);
	if (!at(p, FQ_TK_NUM)) {
		fq__err_at(p, cur(p), NULL, "a number or duration after delta");
		return -1;
	}
	tm->delta = parse_num(p);
	return tm->delta ? 0 : -1;
}

static struct fq__term *
parse_term(struct fq__parser *p, enum fq__line_ctx ctx)
{
	struct fq__term *tm = fq__alloc(p->c, sizeof(*tm));
	if (tm == NULL)
		return NULL;
	const struct fq__token *first = cur(p);
	tm->at = span(first);
	/* NOT binds to the one term after it; NOT NOT cancels. */
	while (tok_is_not(p, cur(p))) {
		tm->negate ^= 1;
		advance(p);
	}
	const struct fq__token *t = cur(p);
	enum fq_allen_rel rel;
	if (ctx == FQ__CTX_MERGER && t->kind == FQ_TK_NAME &&
	    allen_tok(p, peek(p, 1), &rel) && peek(p, 2)->kind == FQ_TK_NAME &&
	    peek(p, 3)->kind != FQ_TK_DOT && peek(p, 3)->kind != FQ_TK_LPAREN) {
		tm->kind = FQ_TERM_ALLEN;
		tm->rel = rel;
		tm->op_at = span(peek(p, 1));
		tm->l = parse_operand(p, 0);
		if (tm->l == NULL)
			return NULL;
		advance(p);
		tm->r = parse_operand(p, 0);
		if (tm->r == NULL)
			return NULL;
		if (parse_delta(p, tm) < 0)
			return NULL;
		tm->at = span_to(tm->at, &p->t[p->i - 1]);
		return tm;
	}
	if (ctx == FQ__CTX_FILTER && t->kind == FQ_TK_NAME) {
		const struct fq__token *nx = peek(p, 1);
		if (nx->kind == FQ_TK_NL || nx->kind == FQ_TK_RBRACE ||
		    nx->kind == FQ_TK_EOF || tok_is_or(p, nx)) {
			tm->kind = FQ_TERM_REF;
			tm->l = parse_operand(p, 0);
			return tm->l ? tm : NULL;
		}
	}
	tm->kind = FQ_TERM_CMP;
	tm->l = parse_operand(p, 0);
	if (tm->l == NULL)
		return NULL;
	const struct fq__token *opt = cur(p);
	if (!cmp_op(p, opt, &tm->op)) {
		if (ctx == FQ__CTX_MERGER && tm->l->kind == FQ_EX_NAME &&
		    opt->kind == FQ_TK_NAME && peek(p, 1)->kind == FQ_TK_NAME)
			fq__error(p->c, opt->off, opt->len,
				  "relations are < > = m mi o oi s si d di f fi or "
				  "their long names (before, meets, ...)",
				  "unknown Allen relation '%.*s'", (int)opt->len,
				  p->c->src + opt->off);
		else
			fq__err_at(p, opt, NULL, "a comparison operator (= != < > <= >= in notin)");
		return NULL;
	}
	tm->op_at = span(opt);
	advance(p);
	tm->r = parse_operand(p, 1);
	if (tm->r == NULL)
		return NULL;
	if (parse_delta(p, tm) < 0)
		return NULL;
	tm->at = span_to(tm->at, &p->t[p->i > 0 ? p->i - 1 : 0]);
	return tm;
}

struct fq__line *
fq__parse_line(struct fq__parser *p, enum fq__line_ctx ctx)
{
	struct fq__line *ln = fq__alloc(p->c, sizeof(*ln));
	if (ln == NULL)
		return NULL;
	ln->at = span(cur(p));
	for (;;) {
		struct fq__term *tm = parse_term(p, ctx);
		if (tm == NULL ||
		    fq__push_ptr(p->c, (void ***)&ln->terms, &ln->n, tm) < 0) {
			fq__sync_line(p);
			return NULL;
		}
		if (tok_is_or(p, cur(p))) {
			advance(p);
			continue;
		}
		break;
	}
	ln->at = span_to(ln->at, &p->t[p->i > 0 ? p->i - 1 : 0]);
	if (fq__end_of_line(p) < 0)
		return NULL;
	return ln;
}

