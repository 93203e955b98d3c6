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
 * This file has the statements (definitions, wiring), blocks, modules and
 * the error recovery; condition lines and their operands are in
 * parse_cond.c (parser.h has what both use).
 *
 * Recursion is bounded by the grammar (no parenthesised sub-expressions;
 * function calls nest at most FQ__MAX_CALL_DEPTH), so hostile input cannot
 * exhaust the stack.
 */
#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "parser.h"

static const char *const stage_keywords[] = {
	"splitter", "filter", "grouper", "groupfilter", "merger",
	"ungrouper", "ungroup",
};

/* ---- small helpers ----------------------------------------------------- */

const char *
fq__tok_str(struct fq__parser *p, const struct fq__token *t)
{
	const char *s = fq_arena_strndup(p->c->arena, p->c->src + t->off, t->len);
	if (s == NULL) {
		p->c->oom = 1;
		return "";
	}
	return s;
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

void
fq__err_at(struct fq__parser *p, const struct fq__token *t, const char *note,
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

void
fq__sync_line(struct fq__parser *p)
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

int
fq__end_of_line(struct fq__parser *p)
{
	if (at(p, FQ_TK_NL)) {
		advance(p);
		return 0;
	}
	if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF))
		return 0;
	fq__err_at(p, cur(p), NULL, "end of line");
	fq__sync_line(p);
	return -1;
}

static void
skip_nl(struct fq__parser *p)
{
	while (at(p, FQ_TK_NL))
		advance(p);
}
static int
parse_names(struct fq__parser *p, struct fq__names *nm)
{
	for (;;) {
		const struct fq__token *t = cur(p);
		if (t->kind != FQ_TK_NAME) {
			fq__err_at(p, t, NULL, "a branch name");
			return -1;
		}
		struct fq__span *sp;
		if (fq__push_ptr(p->c, (void ***)&nm->v, &nm->n,
				 (void *)fq__tok_str(p, t)) < 0)
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
open_block(struct fq__parser *p)
{
	if (!at(p, FQ_TK_LBRACE)) {
		fq__err_at(p, cur(p), NULL, "'{'");
		fq__sync_line(p);
		return -1;
	}
	advance(p);
	return 0;
}

/* At '}' closing a block: consume it.  Returns -1 at end of file. */
static int
close_block(struct fq__parser *p, const struct fq__token *opener)
{
	if (at(p, FQ_TK_RBRACE)) {
		advance(p);
		return 0;
	}
	fq__error(p->c, opener->off, opener->len, NULL,
		  "missing '}' for this block");
	return -1;
}

static int stage_kw(const struct fq__parser *p, const struct fq__token *t,
		    enum fq__stage_kind *k);

/*
 * `filter NAME {` inside a block: the block's '}' is missing.  Stop the
 * block there so the next definition is parsed as one.
 */
static int
at_definition(const struct fq__parser *p)
{
	enum fq__stage_kind k;
	return stage_kw(p, cur(p), &k) && peek(p, 1)->kind == FQ_TK_NAME &&
	       peek(p, 2)->kind == FQ_TK_LBRACE;
}

static int
too_many_errors(const struct fq__parser *p)
{
	return p->c->nerrors >= FQ__MAX_ERRORS || p->c->oom;
}

static void
parse_cond_block(struct fq__parser *p, struct fq__line ***lines, size_t *n,
		 enum fq__line_ctx ctx)
{
	for (;;) {
		skip_nl(p);
		if (at(p, FQ_TK_RBRACE) || at(p, FQ_TK_EOF) || too_many_errors(p) ||
		    at_definition(p))
			return;
		struct fq__line *ln = fq__parse_line(p, ctx);
		if (ln != NULL && fq__push_ptr(p->c, (void ***)lines, n, ln) < 0)
			return;
	}
}

static struct fq__module *
parse_module(struct fq__parser *p, int merger)
{
	const struct fq__token *kw = cur(p);
	advance(p);
	struct fq__module *m = fq__alloc(p->c, sizeof(*m));
	if (m == NULL)
		return NULL;
	if (!at(p, FQ_TK_NAME)) {
		fq__err_at(p, cur(p), NULL, "a module name");
		fq__sync_line(p);
		return NULL;
	}
	m->name = fq__tok_str(p, cur(p));
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
			if (parse_names(p, &m->branches) < 0 || fq__end_of_line(p) < 0)
				fq__sync_line(p);
			continue;
		}
		if (tok_is(p, cur(p), "module") && peek(p, 1)->kind == FQ_TK_NAME) {
			fq__error(p->c, cur(p)->off, cur(p)->len, NULL,
				  "modules cannot be nested");
			fq__sync_line(p);
			continue;
		}
		struct fq__line *ln = fq__parse_line(p, merger ? FQ__CTX_MERGER
							    : FQ__CTX_GROUPER);
		if (ln != NULL &&
		    fq__push_ptr(p->c, (void ***)&m->lines, &m->nlines, ln) < 0)
			return NULL;
	}
	if (close_block(p, kw) < 0)
		return NULL;
	fq__end_of_line(p);
	return m;
}

static void
parse_aggregates(struct fq__parser *p, struct fq__stage *st)
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
			fq__err_at(p, t, NULL, "an aggregate");
			fq__sync_line(p);
			return;
		}
		struct fq__agg *a = fq__push(p->c, (void **)&st->aggs, &st->naggs,
					      sizeof(*a));
		if (a == NULL)
			return;
		if (peek(p, 1)->kind == FQ_TK_LPAREN) {
			a->fn = fq__tok_str(p, t);
			a->fn_at = span(t);
			advance(p);
			advance(p);
			if (!at(p, FQ_TK_NAME)) {
				fq__err_at(p, cur(p), NULL, "a field name");
				st->naggs--;
				fq__sync_line(p);
				return;
			}
			a->field = fq__tok_str(p, cur(p));
			a->field_at = span(cur(p));
			advance(p);
			if (!at(p, FQ_TK_RPAREN)) {
				fq__err_at(p, cur(p), NULL, "')'");
				st->naggs--;
				fq__sync_line(p);
				return;
			}
			advance(p);
		} else {
			a->field = fq__tok_str(p, t);
			a->field_at = span(t);
			advance(p);
		}
		if (tok_is(p, cur(p), "as")) {
			advance(p);
			if (!at(p, FQ_TK_NAME)) {
				fq__err_at(p, cur(p), NULL, "a name after 'as'");
				st->naggs--;
				fq__sync_line(p);
				return;
			}
			a->as = fq__tok_str(p, cur(p));
			a->as_at = span(cur(p));
			advance(p);
		}
		if (at(p, FQ_TK_COMMA)) {
			advance(p);
			continue;
		}
		fq__end_of_line(p);
		return;
	}
}

static void
parse_grouper_body(struct fq__parser *p, struct fq__stage *st)
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
			fq__err_at(p, t, s ? note : NULL,
				   "'module' or 'aggregate' in a grouper");
			fq__sync_line(p);
		}
	}
}

static void
parse_merger_body(struct fq__parser *p, struct fq__stage *st)
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
			st->export_name = fq__tok_str(p, cur(p));
			st->export_at = span(cur(p));
			advance(p);
			fq__end_of_line(p);
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
			if (parse_names(p, &m->branches) < 0 || fq__end_of_line(p) < 0)
				fq__sync_line(p);
			continue;
		}
		struct fq__line *ln = fq__parse_line(p, FQ__CTX_MERGER);
		if (ln != NULL &&
		    fq__push_ptr(p->c, (void ***)&m->lines, &m->nlines, ln) < 0)
			return;
	}
}

static void
parse_definition(struct fq__parser *p, enum fq__stage_kind kind, struct fq__file *f)
{
	advance(p);   /* the stage keyword */
	struct fq__stage *st = fq__alloc(p->c, sizeof(*st));
	if (st == NULL)
		return;
	st->kind = kind;
	st->name = fq__tok_str(p, cur(p));
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
				fq__sync_line(p);
		}
		break;
	case FQ_ST_FILTER:
		parse_cond_block(p, &st->lines, &st->nlines, FQ__CTX_FILTER);
		break;
	case FQ_ST_GROUPFILTER:
		parse_cond_block(p, &st->lines, &st->nlines, FQ__CTX_GROUPFILTER);
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
		fq__end_of_line(p);
	fq__push_ptr(p->c, (void ***)&f->stages, &f->nstages, st);
}

static void
parse_wiring(struct fq__parser *p, struct fq__file *f)
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
			it->text = fq__tok_str(p, t);
			it->at = span(t);
			advance(p);
			if (tok_is(p, cur(p), "branch")) {
				advance(p);
				if (!at(p, FQ_TK_NAME)) {
					fq__err_at(p, cur(p), NULL, "a branch name after 'branch'");
					fq__sync_line(p);
					return;
				}
				it->branch = fq__tok_str(p, cur(p));
				it->branch_at = span(cur(p));
				advance(p);
			}
		} else {
			fq__err_at(p, t, NULL, "a stage name or a quoted endpoint");
			fq__sync_line(p);
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
		fq__err_at(p, cur(p), NULL, "'->' or end of line");
		fq__sync_line(p);
		return;
	}
	fq__push_ptr(p->c, (void ***)&f->wires, &f->nwires, w);
}

static int
stage_kw(const struct fq__parser *p, const struct fq__token *t,
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
parse_statement(struct fq__parser *p, struct fq__file *f)
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
		fq__err_at(p, t, NULL, "a stage definition or a wiring line");
		fq__sync_line(p);
		return;
	}
	const struct fq__token *nx = peek(p, 1);
	if (stage_kw(p, t, &k)) {
		if (nx->kind != FQ_TK_NAME) {
			fq__err_at(p, nx, NULL, "a name for the stage");
			fq__sync_line(p);
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
		fq__sync_line(p);
		return;
	}
	if (nx->kind == FQ_TK_ARROW || tok_is(p, nx, "branch")) {
		parse_wiring(p, f);
		return;
	}
	fq__err_at(p, t->kind == FQ_TK_NAME ? nx : t, NULL,
		   "'->' (wiring) or a stage definition");
	fq__sync_line(p);
}

int
fq__parse(struct fq__ctx *c, const struct fq__token *toks, size_t n,
	  struct fq__file *out)
{
	struct fq__parser p = { c, toks, n, 0, 0 };
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
