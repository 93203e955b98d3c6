/*
 * parser.c - recursive-descent parser: tokens to AST.
 *
 * Hand-written rather than generated (lemon) because the language is
 * small and line-oriented, and because the diagnostics matter more than
 * the grammar: each statement and each condition line is a recovery point
 * (skip to the end of the line, or over a block to its closing brace), so
 * every error of a file is reported; context decides what a word means
 * (relation words are relations only between two branch names in a merger
 * line, duration units only right after a number); and each error names
 * what was expected at the exact token.  See docs/design-grammar.md.
 *
 * Recursion is bounded by the grammar (no parenthesised sub-expressions;
 * function calls nest at most FQ__MAX_CALL_DEPTH), so hostile input cannot
 * exhaust the stack.
 */
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "fq_ip.h"
#include "internal.h"

#define FQ__MAX_CALL_DEPTH 4

struct parser {
	struct fq__ctx *c;
	const struct fq__token *t;
	size_t n, i;
	int call_depth;
};

enum line_ctx { CTX_FILTER, CTX_GROUPFILTER, CTX_GROUPER, CTX_MERGER };

static const char *const stage_keywords[] = {
	"splitter", "filter", "grouper", "groupfilter", "merger",
	"ungrouper", "ungroup",
};

/* ---- small helpers ----------------------------------------------------- */

static const struct fq__token *
peek(const struct parser *p, size_t k)
{
	size_t j = p->i + k;
	return &p->t[j < p->n ? j : p->n - 1];
}

static const struct fq__token *
cur(const struct parser *p)
{
	return peek(p, 0);
}

static void
advance(struct parser *p)
{
	if (p->i + 1 < p->n)
		p->i++;
}

static int
at(const struct parser *p, enum fq__tok k)
{
	return cur(p)->kind == k;
}

static int
tok_is(const struct parser *p, const struct fq__token *t, const char *lit)
{
	return t->kind == FQ_TK_NAME && fq__streq(p->c->src + t->off, t->len, lit);
}

static int
tok_is_or(const struct parser *p, const struct fq__token *t)
{
	return tok_is(p, t, "OR") || tok_is(p, t, "or");
}

static int
tok_is_not(const struct parser *p, const struct fq__token *t)
{
	return tok_is(p, t, "NOT") || tok_is(p, t, "not");
}

static const char *
tok_str(struct parser *p, const struct fq__token *t)
{
	const char *s = fq_arena_strndup(p->c->arena, p->c->src + t->off, t->len);
	if (s == NULL) {
		p->c->oom = 1;
		return "";
	}
	return s;
}

static struct fq__span
span(const struct fq__token *t)
{
	struct fq__span s = { t->off, t->len ? t->len : 1 };
	return s;
}

static struct fq__span
span_to(struct fq__span a, const struct fq__token *last)
{
	uint32_t e = last->off + last->len;
	if (e > a.off)
		a.len = e - a.off;
	return a;
}

/* What a token is, for "expected X, found Y". */
static const char *
tok_desc(const struct fq__token *t)
{
	switch (t->kind) {
	case FQ_TK_EOF:    return "end of file";
	case FQ_TK_NL:     return "end of line";
	case FQ_TK_NAME:   return "name";
	case FQ_TK_NUM:    return "number";
	case FQ_TK_IP:     return "address";
	case FQ_TK_STR:    return "string";
	case FQ_TK_LBRACE: return "'{'";
	case FQ_TK_RBRACE: return "'}'";
	case FQ_TK_LPAREN: return "'('";
	case FQ_TK_RPAREN: return "')'";
	case FQ_TK_LBRACK: return "'['";
	case FQ_TK_RBRACK: return "']'";
	case FQ_TK_COMMA:  return "','";
	case FQ_TK_DOT:    return "'.'";
	case FQ_TK_DOTDOT: return "'..'";
	case FQ_TK_ARROW:  return "'->'";
	case FQ_TK_EQ:     return "'='";
	case FQ_TK_NE:     return "'!='";
	case FQ_TK_LT:     return "'<'";
	case FQ_TK_GT:     return "'>'";
	case FQ_TK_LE:     return "'<='";
	case FQ_TK_GE:     return "'>='";
	}
	return "token";
}

static void
err_at(struct parser *p, const struct fq__token *t, const char *note,
       const char *what)
{
	/* The lexer already reported this line; the rest is a cascade. */
	if (fq__line_has_lex_error(p->c, t->off)) {
		p->c->nerrors++;
		return;
	}
	if (t->kind == FQ_TK_NAME || t->kind == FQ_TK_NUM ||
	    t->kind == FQ_TK_IP || t->kind == FQ_TK_STR)
		fq__error(p->c, t->off, t->len, note, "expected %s, found %s '%.*s'",
			  what, tok_desc(t), (int)(t->len > 40 ? 40 : t->len),
			  p->c->src + t->off);
	else
		fq__error(p->c, t->off, t->len, note, "expected %s, found %s",
			  what, tok_desc(t));
}

/* Skip to the end of the line (consumed) or a closing brace (kept). */
static void
sync_line(struct parser *p)
{
	while (!at(p, FQ_TK_EOF) && !at(p, FQ_TK_RBRACE)) {
		if (at(p, FQ_TK_NL)) {
			advance(p);
			return;
		}
		if (at(p, FQ_TK_LBRACE)) {
			/* A block opened on this line is skipped whole. */
			int d = 0;
			while (!at(p, FQ_TK_EOF)) {
				if (at(p, FQ_TK_LBRACE))
					d++;
				else if (at(p, FQ_TK_RBRACE) && --d == 0)
					break;
				advance(p);
			}
			if (at(p, FQ_TK_RBRACE))
				advance(p);
			continue;
		}
		advance(p);
	}
}

/* After a line's content: the newline, or a '}' that closes the block. */
static int
end_of_line(struct parser *p)
{
	if (at(p, FQ_TK_NL)) {
		advance(p);
		return 0;
	}
	if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF))
		return 0;
	err_at(p, cur(p), NULL, "end of line");
	sync_line(p);
	return -1;
}

static void
skip_nl(struct parser *p)
{
	while (at(p, FQ_TK_NL))
		advance(p);
}

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
unit_ms(const struct parser *p, const struct fq__token *t)
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
new_expr(struct parser *p, enum fq__ex_kind k, const struct fq__token *t)
{
	struct fq__expr *e = fq__alloc(p->c, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->kind = k;
	e->at = span(t);
	return e;
}

static struct fq__expr *parse_operand(struct parser *p, int allow_set);

static struct fq__expr *
parse_num(struct parser *p)
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
parse_ip(struct parser *p)
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
parse_set(struct parser *p)
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
			err_at(p, t, NULL, "a number or address in the set");
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
				err_at(p, t, NULL, "the end of the range");
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
		err_at(p, cur(p), NULL, "',' or ']'");
		return NULL;
	}
}

static struct fq__expr *
parse_call(struct parser *p)
{
	const struct fq__token *t = cur(p);
	struct fq__expr *e = new_expr(p, FQ_EX_CALL, t);
	if (e == NULL)
		return NULL;
	e->name = tok_str(p, t);
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
		err_at(p, cur(p), NULL, "',' or ')'");
		return NULL;
	}
	e->at = span_to(e->at, cur(p));
	advance(p);
	return e;
}

static struct fq__expr *
parse_operand(struct parser *p, int allow_set)
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
		err_at(p, t, NULL, "a value");
		return NULL;
	case FQ_TK_NAME:
		if (peek(p, 1)->kind == FQ_TK_LPAREN)
			return parse_call(p);
		if (peek(p, 1)->kind == FQ_TK_DOT) {
			struct fq__expr *e = new_expr(p, FQ_EX_QNAME, t);
			if (e == NULL)
				return NULL;
			e->qual = tok_str(p, t);
			advance(p);
			advance(p);
			const struct fq__token *f = cur(p);
			if (f->kind != FQ_TK_NAME) {
				err_at(p, f, NULL, "a field name after '.'");
				return NULL;
			}
			e->name = tok_str(p, f);
			e->name_at = span(f);
			e->at = span_to(e->at, f);
			advance(p);
			return e;
		} else {
			struct fq__expr *e = new_expr(p, FQ_EX_NAME, t);
			if (e == NULL)
				return NULL;
			e->name = tok_str(p, t);
			e->name_at = span(t);
			advance(p);
			return e;
		}
	default:
		err_at(p, t, NULL, "a value");
		return NULL;
	}
}

/* ---- conditions -------------------------------------------------------- */

static int
cmp_op(const struct parser *p, const struct fq__token *t, enum fq_op *op)
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
allen_tok(const struct parser *p, const struct fq__token *t,
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
parse_delta(struct parser *p, struct fq__term *tm)
{
	if (tok_is(p, cur(p), "delta"))
		tm->delta_kind = 1;
	else if (tok_is(p, cur(p), "rdelta"))
		tm->delta_kind = 2;
	else
		return 0;
	advance(p);
	if (!at(p, FQ_TK_NUM)) {
		err_at(p, cur(p), NULL, "a number or duration after delta");
		return -1;
	}
	tm->delta = parse_num(p);
	return tm->delta ? 0 : -1;
}

static struct fq__term *
parse_term(struct parser *p, enum line_ctx ctx)
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
	if (ctx == CTX_MERGER && t->kind == FQ_TK_NAME &&
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
	if (ctx == CTX_FILTER && t->kind == FQ_TK_NAME) {
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
		if (ctx == CTX_MERGER && tm->l->kind == FQ_EX_NAME &&
		    opt->kind == FQ_TK_NAME && peek(p, 1)->kind == FQ_TK_NAME)
			fq__error(p->c, opt->off, opt->len,
				  "relations are < > = m mi o oi s si d di f fi or "
				  "their long names (before, meets, ...)",
				  "unknown Allen relation '%.*s'", (int)opt->len,
				  p->c->src + opt->off);
		else
			err_at(p, opt, NULL, "a comparison operator (= != < > <= >= in notin)");
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

/* One condition line: terms joined by OR.  NULL after an error (synced). */
static struct fq__line *
parse_line(struct parser *p, enum line_ctx ctx)
{
	struct fq__line *ln = fq__alloc(p->c, sizeof(*ln));
	if (ln == NULL)
		return NULL;
	ln->at = span(cur(p));
	for (;;) {
		struct fq__term *tm = parse_term(p, ctx);
		if (tm == NULL ||
		    fq__push_ptr(p->c, (void ***)&ln->terms, &ln->n, tm) < 0) {
			sync_line(p);
			return NULL;
		}
		if (tok_is_or(p, cur(p))) {
			advance(p);
			continue;
		}
		break;
	}
	ln->at = span_to(ln->at, &p->t[p->i > 0 ? p->i - 1 : 0]);
	if (end_of_line(p) < 0)
		return NULL;
	return ln;
}

static int
parse_names(struct parser *p, struct fq__names *nm)
{
	for (;;) {
		const struct fq__token *t = cur(p);
		if (t->kind != FQ_TK_NAME) {
			err_at(p, t, NULL, "a branch name");
			return -1;
		}
		struct fq__span *sp;
		if (fq__push_ptr(p->c, (void ***)&nm->v, &nm->n,
				 (void *)tok_str(p, t)) < 0)
			return -1;
		size_t k = nm->n - 1;
		sp = fq__push(p->c, (void **)&nm->at, &k, sizeof(*sp));
		if (sp == NULL)
			return -1;
		*sp = span(t);
		advance(p);
		if (at(p, FQ_TK_COMMA)) {
			advance(p);
			continue;
		}
		return 0;
	}
}

/* ---- blocks ------------------------------------------------------------ */

/* Expect '{' and a newline-or-not; returns -1 (after sync) if missing. */
static int
open_block(struct parser *p)
{
	if (!at(p, FQ_TK_LBRACE)) {
		err_at(p, cur(p), NULL, "'{'");
		sync_line(p);
		return -1;
	}
	advance(p);
	return 0;
}

/* At '}' closing a block: consume it.  Returns -1 at end of file. */
static int
close_block(struct parser *p, const struct fq__token *opener)
{
	if (at(p, FQ_TK_RBRACE)) {
		advance(p);
		return 0;
	}
	fq__error(p->c, opener->off, opener->len, NULL,
		  "missing '}' for this block");
	return -1;
}

static int stage_kw(const struct parser *p, const struct fq__token *t,
		    enum fq__stage_kind *k);

/*
 * `filter NAME {` inside a block: the block's '}' is missing.  Stop the
 * block there so the next definition is parsed as one.
 */
static int
at_definition(const struct parser *p)
{
	enum fq__stage_kind k;
	return stage_kw(p, cur(p), &k) && peek(p, 1)->kind == FQ_TK_NAME &&
	       peek(p, 2)->kind == FQ_TK_LBRACE;
}

static int
too_many_errors(const struct parser *p)
{
	return p->c->nerrors >= FQ__MAX_ERRORS || p->c->oom;
}

static void
parse_cond_block(struct parser *p, struct fq__line ***lines, size_t *n,
		 enum line_ctx ctx)
{
	for (;;) {
		skip_nl(p);
		if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF) || too_many_errors(p) ||
		    at_definition(p))
			return;
		struct fq__line *ln = parse_line(p, ctx);
		if (ln != NULL && fq__push_ptr(p->c, (void ***)lines, n, ln) < 0)
			return;
	}
}

static struct fq__module *
parse_module(struct parser *p, int merger)
{
	const struct fq__token *kw = cur(p);
	advance(p);
	struct fq__module *m = fq__alloc(p->c, sizeof(*m));
	if (m == NULL)
		return NULL;
	if (!at(p, FQ_TK_NAME)) {
		err_at(p, cur(p), NULL, "a module name");
		sync_line(p);
		return NULL;
	}
	m->name = tok_str(p, cur(p));
	m->at = span(cur(p));
	advance(p);
	if (open_block(p) < 0)
		return NULL;
	for (;;) {
		skip_nl(p);
		if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF) || too_many_errors(p) ||
		    at_definition(p))
			break;
		if (merger && tok_is(p, cur(p), "branches") &&
		    peek(p, 1)->kind == FQ_TK_NAME) {
			if (m->has_branches)
				fq__error(p->c, cur(p)->off, cur(p)->len, NULL,
					  "module '%s' lists its branches twice",
					  m->name);
			m->has_branches = 1;
			m->branches_at = span(cur(p));
			advance(p);
			if (parse_names(p, &m->branches) < 0 || end_of_line(p) < 0)
				sync_line(p);
			continue;
		}
		if (tok_is(p, cur(p), "module") && peek(p, 1)->kind == FQ_TK_NAME) {
			fq__error(p->c, cur(p)->off, cur(p)->len, NULL,
				  "modules cannot be nested");
			sync_line(p);
			continue;
		}
		struct fq__line *ln = parse_line(p, merger ? CTX_MERGER : CTX_GROUPER);
		if (ln != NULL &&
		    fq__push_ptr(p->c, (void ***)&m->lines, &m->nlines, ln) < 0)
			return NULL;
	}
	if (close_block(p, kw) < 0)
		return NULL;
	end_of_line(p);
	return m;
}

static void
parse_aggregates(struct parser *p, struct fq__stage *st)
{
	if (st->has_aggs)
		fq__error(p->c, cur(p)->off, cur(p)->len, NULL,
			  "grouper '%s' has a second aggregate line; list all "
			  "aggregates on one (continue it after ',')", st->name);
	st->has_aggs = 1;
	st->agg_at = span(cur(p));
	advance(p);
	for (;;) {
		const struct fq__token *t = cur(p);
		if (t->kind != FQ_TK_NAME) {
			err_at(p, t, NULL, "an aggregate");
			sync_line(p);
			return;
		}
		struct fq__agg *a = fq__push(p->c, (void **)&st->aggs, &st->naggs,
					      sizeof(*a));
		if (a == NULL)
			return;
		if (peek(p, 1)->kind == FQ_TK_LPAREN) {
			a->fn = tok_str(p, t);
			a->fn_at = span(t);
			advance(p);
			advance(p);
			if (!at(p, FQ_TK_NAME)) {
				err_at(p, cur(p), NULL, "a field name");
				st->naggs--;
				sync_line(p);
				return;
			}
			a->field = tok_str(p, cur(p));
			a->field_at = span(cur(p));
			advance(p);
			if (!at(p, FQ_TK_RPAREN)) {
				err_at(p, cur(p), NULL, "')'");
				st->naggs--;
				sync_line(p);
				return;
			}
			advance(p);
		} else {
			a->field = tok_str(p, t);
			a->field_at = span(t);
			advance(p);
		}
		if (tok_is(p, cur(p), "as")) {
			advance(p);
			if (!at(p, FQ_TK_NAME)) {
				err_at(p, cur(p), NULL, "a name after 'as'");
				st->naggs--;
				sync_line(p);
				return;
			}
			a->as = tok_str(p, cur(p));
			a->as_at = span(cur(p));
			advance(p);
		}
		if (at(p, FQ_TK_COMMA)) {
			advance(p);
			continue;
		}
		end_of_line(p);
		return;
	}
}

static void
parse_grouper_body(struct parser *p, struct fq__stage *st)
{
	for (;;) {
		skip_nl(p);
		if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF) || too_many_errors(p) ||
		    at_definition(p))
			return;
		const struct fq__token *t = cur(p);
		if (tok_is(p, t, "module")) {
			struct fq__module *m = parse_module(p, 0);
			if (m != NULL &&
			    fq__push_ptr(p->c, (void ***)&st->modules, &st->nmodules, m) < 0)
				return;
		} else if (tok_is(p, t, "aggregate")) {
			parse_aggregates(p, st);
		} else {
			const char *kw[] = { "module", "aggregate" };
			const char *s = NULL;
			char note[64];
			if (t->kind == FQ_TK_NAME)
				s = fq_suggest(p->c->src + t->off, t->len, kw, 2);
			if (s)
				snprintf(note, sizeof(note), "did you mean '%s'?", s);
			err_at(p, t, s ? note : NULL,
			       "'module' or 'aggregate' in a grouper");
			sync_line(p);
		}
	}
}

static void
parse_merger_body(struct parser *p, struct fq__stage *st)
{
	for (;;) {
		skip_nl(p);
		if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF) || too_many_errors(p) ||
		    at_definition(p))
			return;
		const struct fq__token *t = cur(p);
		if (tok_is(p, t, "module") && peek(p, 1)->kind == FQ_TK_NAME) {
			struct fq__module *m = parse_module(p, 1);
			if (m != NULL &&
			    fq__push_ptr(p->c, (void ***)&st->modules, &st->nmodules, m) < 0)
				return;
			continue;
		}
		if (tok_is(p, t, "export") && peek(p, 1)->kind == FQ_TK_NAME) {
			if (st->export_name != NULL)
				fq__error(p->c, t->off, t->len, NULL,
					  "merger '%s' has a second export", st->name);
			advance(p);
			st->export_name = tok_str(p, cur(p));
			st->export_at = span(cur(p));
			advance(p);
			end_of_line(p);
			continue;
		}
		if (st->implicit == NULL) {
			st->implicit = fq__alloc(p->c, sizeof(*st->implicit));
			if (st->implicit == NULL)
				return;
			st->implicit->name = "(implicit)";
			st->implicit->at = st->at;   /* warnings name the merger */
		}
		struct fq__module *m = st->implicit;
		if (tok_is(p, t, "branches") && peek(p, 1)->kind == FQ_TK_NAME) {
			if (m->has_branches)
				fq__error(p->c, t->off, t->len, NULL,
					  "merger '%s' lists its branches twice",
					  st->name);
			m->has_branches = 1;
			m->branches_at = span(t);
			advance(p);
			if (parse_names(p, &m->branches) < 0 || end_of_line(p) < 0)
				sync_line(p);
			continue;
		}
		struct fq__line *ln = parse_line(p, CTX_MERGER);
		if (ln != NULL &&
		    fq__push_ptr(p->c, (void ***)&m->lines, &m->nlines, ln) < 0)
			return;
	}
}

static void
parse_definition(struct parser *p, enum fq__stage_kind kind, struct fq__file *f)
{
	advance(p);   /* the stage keyword */
	struct fq__stage *st = fq__alloc(p->c, sizeof(*st));
	if (st == NULL)
		return;
	st->kind = kind;
	st->name = tok_str(p, cur(p));
	st->at = span(cur(p));
	advance(p);
	const struct fq__token *open = cur(p);
	if (open_block(p) < 0)
		return;
	switch (kind) {
	case FQ_ST_SPLITTER:
	case FQ_ST_UNGROUPER:
		skip_nl(p);
		if (!at(p, FQ_TK_RBRACE) && !at(p, FQ_TK_EOF)) {
			fq__error(p->c, cur(p)->off, cur(p)->len, NULL,
				  "a %s takes no body: write '%s %s {}'",
				  kind == FQ_ST_SPLITTER ? "splitter" : "ungrouper",
				  kind == FQ_ST_SPLITTER ? "splitter" : "ungrouper",
				  st->name);
			while (!at(p, FQ_TK_RBRACE) && !at(p, FQ_TK_EOF) &&
			       !at_definition(p))
				sync_line(p);
		}
		break;
	case FQ_ST_FILTER:
		parse_cond_block(p, &st->lines, &st->nlines, CTX_FILTER);
		break;
	case FQ_ST_GROUPFILTER:
		parse_cond_block(p, &st->lines, &st->nlines, CTX_GROUPFILTER);
		break;
	case FQ_ST_GROUPER:
		parse_grouper_body(p, st);
		break;
	case FQ_ST_MERGER:
		parse_merger_body(p, st);
		break;
	}
	if (too_many_errors(p))
		return;
	/* Without its '}' the definition is still kept: no cascade of
	 * "unknown stage" errors where it is used. */
	if (close_block(p, open) == 0)
		end_of_line(p);
	fq__push_ptr(p->c, (void ***)&f->stages, &f->nstages, st);
}

static void
parse_wiring(struct parser *p, struct fq__file *f)
{
	struct fq__wire *w = fq__alloc(p->c, sizeof(*w));
	if (w == NULL)
		return;
	w->at = span(cur(p));
	for (;;) {
		const struct fq__token *t = cur(p);
		struct fq__wire_item *it = fq__push(p->c, (void **)&w->items, &w->n,
						     sizeof(*it));
		if (it == NULL)
			return;
		if (t->kind == FQ_TK_STR) {
			it->is_str = 1;
			it->text = fq_arena_strndup(p->c->arena,
						    p->c->src + t->off + 1, t->len - 2);
			it->at = span(t);
			advance(p);
		} else if (t->kind == FQ_TK_NAME) {
			it->text = tok_str(p, t);
			it->at = span(t);
			advance(p);
			if (tok_is(p, cur(p), "branch")) {
				advance(p);
				if (!at(p, FQ_TK_NAME)) {
					err_at(p, cur(p), NULL, "a branch name after 'branch'");
					sync_line(p);
					return;
				}
				it->branch = tok_str(p, cur(p));
				it->branch_at = span(cur(p));
				advance(p);
			}
		} else {
			err_at(p, t, NULL, "a stage name or a quoted endpoint");
			sync_line(p);
			return;
		}
		if (at(p, FQ_TK_ARROW)) {
			advance(p);
			continue;
		}
		break;
	}
	w->at = span_to(w->at, &p->t[p->i > 0 ? p->i - 1 : 0]);
	if (at(p, FQ_TK_NL) || at(p, FQ_TK_EOF)) {
		if (at(p, FQ_TK_NL))
			advance(p);
	} else {
		err_at(p, cur(p), NULL, "'->' or end of line");
		sync_line(p);
		return;
	}
	fq__push_ptr(p->c, (void ***)&f->wires, &f->nwires, w);
}

static int
stage_kw(const struct parser *p, const struct fq__token *t,
	 enum fq__stage_kind *k)
{
	static const enum fq__stage_kind kinds[] = {
		FQ_ST_SPLITTER, FQ_ST_FILTER, FQ_ST_GROUPER, FQ_ST_GROUPFILTER,
		FQ_ST_MERGER, FQ_ST_UNGROUPER, FQ_ST_UNGROUPER,
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (tok_is(p, t, stage_keywords[i])) {
			*k = kinds[i];
			return 1;
		}
	return 0;
}

static void
parse_statement(struct parser *p, struct fq__file *f)
{
	const struct fq__token *t = cur(p);
	enum fq__stage_kind k;
	if (t->kind == FQ_TK_STR) {
		parse_wiring(p, f);
		return;
	}
	if (t->kind == FQ_TK_RBRACE) {
		fq__error(p->c, t->off, t->len, NULL, "unmatched '}'");
		advance(p);
		return;
	}
	if (t->kind != FQ_TK_NAME) {
		err_at(p, t, NULL, "a stage definition or a wiring line");
		sync_line(p);
		return;
	}
	const struct fq__token *nx = peek(p, 1);
	if (stage_kw(p, t, &k)) {
		if (nx->kind != FQ_TK_NAME) {
			err_at(p, nx, NULL, "a name for the stage");
			sync_line(p);
			return;
		}
		parse_definition(p, k, f);
		return;
	}
	if (nx->kind == FQ_TK_NAME && peek(p, 2)->kind == FQ_TK_LBRACE) {
		char note[64];
		const char *s = fq_suggest(p->c->src + t->off, t->len, stage_keywords,
					    sizeof(stage_keywords) /
					    sizeof(stage_keywords[0]));
		if (s == NULL && fq__streq(p->c->src + t->off, t->len, "Filter"))
			s = "filter";
		if (s)
			snprintf(note, sizeof(note), "did you mean '%s'?", s);
		fq__error(p->c, t->off, t->len, s ? note : NULL,
			  "unknown stage kind '%.*s'", (int)(t->len > 40 ? 40 : t->len),
			  p->c->src + t->off);
		sync_line(p);
		return;
	}
	if (nx->kind == FQ_TK_ARROW || tok_is(p, nx, "branch")) {
		parse_wiring(p, f);
		return;
	}
	err_at(p, t->kind == FQ_TK_NAME ? nx : t, NULL,
	       "'->' (wiring) or a stage definition");
	sync_line(p);
}

int
fq__parse(struct fq__ctx *c, const struct fq__token *toks, size_t n,
	  struct fq__file *out)
{
	struct parser p = { c, toks, n, 0, 0 };
	memset(out, 0, sizeof(*out));
	for (;;) {
		skip_nl(&p);
		if (at(&p, FQ_TK_EOF) || too_many_errors(&p))
			break;
		size_t before = p.i;
		parse_statement(&p, out);
		if (p.i == before)
			advance(&p);   /* never loop on one token */
	}
	return c->oom ? -FQ_ENOMEM : 0;
}
