/*
 * internal.h - shared between the lexer, parser, validator and printer of
 * the query front end; not for other layers (they use query.h / plan.h).
 *
 * The pipeline is: lexer (lexer.re) turns the text into a token array;
 * the parser (parser.c, parse_cond.c; parser.h) builds the AST, reporting
 * syntax errors and resynchronising at line ends and closing braces; the
 * validator (validate.c, validate_term.c; validate.h) resolves every name
 * and has the plan (plan.h) built by compile_filter.c, compile_grouper.c
 * and compile_merger.c.  All of it allocates from the query's arena
 * (fq__alloc, fq__push).  Name suggestions, constant sets, the Allen
 * relations and the aggregate functions are core's tables (fq_suggest.h,
 * fq_cset.h, fq_allen.h, fq_agg.h), shared with the engine.
 */
#ifndef FQ_GRAMMAR_INTERNAL_H
#define FQ_GRAMMAR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "fq_arena.h"
#include "fq_suggest.h"
#include "plan.h"

/* Caps that keep hostile input bounded (SPEC section 8). */
#define FQ__MAX_INPUT (1u << 20)     /* bytes of query text */
#define FQ__MAX_ERRORS 50            /* stop parsing after this many */
#define FQ__MAX_FILTER_DEPTH 32      /* composite filter nesting */
#define FQ__MAX_ITEMS 1024           /* aggregates, modules per stage */
#define FQ__MAX_SLOTS 256            /* branches of a query / module */
#define FQ__MAX_ARENA (256u << 20)   /* bytes a compile may allocate */

enum fq__tok {
	FQ_TK_EOF, FQ_TK_NL, FQ_TK_NAME, FQ_TK_NUM, FQ_TK_IP, FQ_TK_STR,
	FQ_TK_LBRACE, FQ_TK_RBRACE, FQ_TK_LPAREN, FQ_TK_RPAREN,
	FQ_TK_LBRACK, FQ_TK_RBRACK, FQ_TK_COMMA, FQ_TK_DOT, FQ_TK_DOTDOT,
	FQ_TK_ARROW, FQ_TK_EQ, FQ_TK_NE, FQ_TK_LT, FQ_TK_GT, FQ_TK_LE,
	FQ_TK_GE,
};

struct fq__token {
	enum fq__tok kind;
	uint32_t off;   /* byte offset in the source */
	uint32_t len;
};

/* The compilation context: source, diagnostics, arena. */
struct fq__ctx {
	struct fq_arena *arena;
	struct fq_diag *diag;
	const char *file;
	const char *src;      /* NUL-terminated copy in the arena */
	size_t len;
	int nerrors;
	int oom;
	int too_big;          /* FQ__MAX_ARENA reached */
	uint32_t *line_start; /* offset of each line's first byte */
	uint32_t nlines;
	int lexing;           /* errors now come from the lexer */
	int nlex_err;         /* offsets of lexer errors, to silence the */
	uint32_t lex_err[FQ__MAX_ERRORS];  /* parser's cascade on that line */
};

/* 1-based line number of a byte offset (binary search). */
uint32_t fq__line_of(const struct fq__ctx *c, uint32_t off);

/* 1 if the lexer reported an error on the line holding offset `off`. */
int fq__line_has_lex_error(const struct fq__ctx *c, uint32_t off);

void fq__error(struct fq__ctx *c, uint32_t off, uint32_t len,
	       const char *note, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void fq__warning(struct fq__ctx *c, uint32_t off, uint32_t len,
		 const char *note, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void *fq__alloc(struct fq__ctx *c, size_t size);
/*
 * Append a zeroed element of sz bytes to the arena-backed array *v of *n
 * elements (all pushed with this function); returns it, or NULL when the
 * arena is exhausted (c->oom set, *v and *n unchanged).
 */
void *fq__push(struct fq__ctx *c, void **v, size_t *n, size_t sz);
/* The same for an array of pointers: appends x; 0 or -1. */
int fq__push_ptr(struct fq__ctx *c, void ***v, size_t *n, void *x);

/*
 * Lexer: fills *out with the tokens of c->src (ending with FQ_TK_EOF),
 * dropping comments and the newlines that do not end a condition (SPEC
 * section 3: after `,` `->` `OR`, inside ( ) and [ ]).  Bad characters are
 * reported and skipped.  Returns 0 or -FQ_ENOMEM.
 */
int fq__lex(struct fq__ctx *c, struct fq__token **out, size_t *n);

/* ---- AST -------------------------------------------------------------- */

struct fq__span { uint32_t off, len; };

enum fq__ex_kind {
	FQ_EX_NAME,     /* name */
	FQ_EX_QNAME,    /* branch.name */
	FQ_EX_NUM,      /* number, maybe with a duration unit */
	FQ_EX_IP,       /* address or prefix */
	FQ_EX_STR,      /* "text" (function argument) */
	FQ_EX_SET,      /* [ ... ] */
	FQ_EX_CALL,     /* fn(args) */
};

struct fq__set_elem {
	struct fq__expr *lo, *hi;    /* hi NULL: single value / prefix */
};

struct fq__expr {
	enum fq__ex_kind kind;
	struct fq__span at;          /* whole expression */
	const char *name;            /* NAME, QNAME field, CALL function */
	struct fq__span name_at;
	const char *qual;            /* QNAME branch */
	int64_t num;                 /* NUM: value, in ms when has_unit */
	uint8_t has_unit;
	struct fq_ip ip;             /* IP */
	uint8_t plen;
	uint8_t has_plen;
	const char *str;             /* STR: unquoted */
	size_t nelems;               /* SET */
	struct fq__set_elem *elems;
	size_t nargs;                /* CALL */
	struct fq__expr **args;
};

enum fq__term_kind {
	FQ_TERM_CMP,     /* l op r [delta] */
	FQ_TERM_REF,     /* a lone name: composite filter */
	FQ_TERM_ALLEN,   /* branch rel branch [delta] */
};

struct fq__term {
	enum fq__term_kind kind;
	struct fq__span at;
	uint8_t negate;
	enum fq_op op;
	struct fq__span op_at;
	struct fq__expr *l, *r;
	uint8_t delta_kind;          /* 0 none, 1 delta, 2 rdelta */
	struct fq__expr *delta;
	enum fq_allen_rel rel;       /* ALLEN */
};

struct fq__line {
	struct fq__span at;
	size_t n;
	struct fq__term **terms;
};

struct fq__names {
	size_t n;
	const char **v;
	struct fq__span *at;
};

struct fq__module {
	const char *name;
	struct fq__span at;
	size_t nlines;
	struct fq__line **lines;
	struct fq__names branches;   /* merger modules */
	struct fq__span branches_at;
	uint8_t has_branches;
};

struct fq__agg {
	const char *fn;              /* NULL: bare field */
	struct fq__span fn_at;
	const char *field;
	struct fq__span field_at;
	const char *as;              /* NULL: default name */
	struct fq__span as_at;
};

/* A group filter compiled against one grouper (NULL: no grouper). */
struct fq__gf_memo {
	const struct fq__stage *grouper;
	const struct fq_cnf *cnf;
	struct fq__gf_memo *next;
};

enum fq__stage_kind {
	FQ_ST_SPLITTER, FQ_ST_FILTER, FQ_ST_GROUPER, FQ_ST_GROUPFILTER,
	FQ_ST_MERGER, FQ_ST_UNGROUPER,
};

struct fq__stage {
	enum fq__stage_kind kind;
	const char *name;
	struct fq__span at;          /* the name */
	size_t nlines;               /* filter, groupfilter */
	struct fq__line **lines;
	size_t nmodules;             /* grouper, merger */
	struct fq__module **modules;
	size_t naggs;                /* grouper */
	struct fq__agg *aggs;
	struct fq__span agg_at;
	uint8_t has_aggs;
	const char *export_name;     /* merger */
	struct fq__span export_at;
	struct fq__module *implicit; /* merger: branches/rules outside modules */
	/* validation state */
	int visiting;                /* composite filter cycle detection */
	int used;
	int compiled_done;           /* compiled (successfully or not) */
	int compile_failed;
	const void *compiled;        /* fq_cnf or fq_plan_grouper, or NULL */
	struct fq__gf_memo *memo;    /* groupfilter: compiled per grouper */
};

struct fq__wire_item {
	uint8_t is_str;
	const char *text;
	struct fq__span at;
	const char *branch;          /* `NAME branch BRANCH`: BRANCH */
	struct fq__span branch_at;
};

struct fq__wire {
	struct fq__span at;
	size_t n;
	struct fq__wire_item *items;
};

struct fq__file {
	size_t nstages;
	struct fq__stage **stages;
	size_t nwires;
	struct fq__wire **wires;
};

/* Parser: tokens to AST.  Errors go to c->diag.  Returns 0 or -FQ_ENOMEM. */
int fq__parse(struct fq__ctx *c, const struct fq__token *toks, size_t n,
	      struct fq__file *out);

/* Validator: AST to plan.  Returns 0 (check c->nerrors) or -FQ_ENOMEM. */
int fq__validate(struct fq__ctx *c, struct fq__file *f, struct fq_plan *plan);

/* Helpers shared by parser and validator. */
int fq__streq(const char *s, size_t len, const char *lit);
int fq__protocol_lookup(const char *s, size_t len, int *num,
			const char **suggest);
struct fq_set *fq__set_build(struct fq__ctx *c, enum fq_vtype elem,
			     struct fq_int_range *ir, struct fq_ip_range *pr,
			     size_t n);

#endif
