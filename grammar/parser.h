/*
 * parser.h - shared by the two halves of the parser: parser.c (files,
 * statements, blocks, error recovery) and parse_cond.c (condition lines:
 * terms, operators and the values in them).  Nothing else includes it;
 * the rest of the front end sees fq__parse() (internal.h).
 *
 * The token helpers are inline here because both halves call them at
 * every token; their short names stay within these two files.
 */
#ifndef FQ_GRAMMAR_PARSER_H
#define FQ_GRAMMAR_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Function calls nest at most this deep (bitAND(bitOR(...))). */
#define FQ__MAX_CALL_DEPTH 4

struct fq__parser {
	struct fq__ctx *c;
	const struct fq__token *t;   /* borrowed: the token array */
	size_t n, i;                 /* tokens, the current one */
	int call_depth;
};

/* The kind of block a condition line stands in: it decides what a word
 * means (relation words in a merger, composite filters in a filter). */
enum fq__line_ctx {
	FQ__CTX_FILTER, FQ__CTX_GROUPFILTER, FQ__CTX_GROUPER, FQ__CTX_MERGER
};

/* ---- tokens ----------------------------------------------------------- */

/* The token k after the current one (the final EOF past the end). */
static inline const struct fq__token *
peek(const struct fq__parser *p, size_t k)
{
	size_t j = p->i + k;
	return &p->t[j < p->n ? j : p->n - 1];
}

static inline const struct fq__token *
cur(const struct fq__parser *p)
{
	return peek(p, 0);
}

static inline void
advance(struct fq__parser *p)
{
	if (p->i + 1 < p->n)
		p->i++;
}

static inline int
at(const struct fq__parser *p, enum fq__tok k)
{
	return cur(p)->kind == k;
}

static inline int
tok_is(const struct fq__parser *p, const struct fq__token *t, const char *lit)
{
	return t->kind == FQ_TK_NAME && fq__streq(p->c->src + t->off, t->len, lit);
}

static inline int
tok_is_or(const struct fq__parser *p, const struct fq__token *t)
{
	return tok_is(p, t, "OR") || tok_is(p, t, "or");
}

static inline int
tok_is_not(const struct fq__parser *p, const struct fq__token *t)
{
	return tok_is(p, t, "NOT") || tok_is(p, t, "not");
}

static inline struct fq__span
span(const struct fq__token *t)
{
	struct fq__span s = { t->off, t->len ? t->len : 1 };
	return s;
}

/* From a's start to the end of token last. */
static inline struct fq__span
span_to(struct fq__span a, const struct fq__token *last)
{
	uint32_t e = last->off + last->len;
	if (e > a.off)
		a.len = e - a.off;
	return a;
}

/* The token's text, NUL-terminated in the arena ("" out of memory). */
const char *fq__tok_str(struct fq__parser *p, const struct fq__token *t);

/* ---- errors and recovery (parser.c) ----------------------------------- */

/* "expected WHAT, found ..." at token t, unless its line had a lexer
 * error (then it is a cascade: counted, not reported). */
void fq__err_at(struct fq__parser *p, const struct fq__token *t,
		const char *note, const char *what);
/* Skip to the end of the line (consumed) or a closing brace (kept). */
void fq__sync_line(struct fq__parser *p);
/* After a line's content: the newline, or a '}' that closes the block;
 * else report and sync, -1. */
int fq__end_of_line(struct fq__parser *p);

/* ---- condition lines (parse_cond.c) ----------------------------------- */

/* One condition line: terms joined by OR.  NULL after an error (synced). */
struct fq__line *fq__parse_line(struct fq__parser *p, enum fq__line_ctx ctx);

#endif
