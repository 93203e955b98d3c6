/*
 * diag.h - diagnostics of the query compiler, collected and rendered like a
 * C compiler's.
 *
 * The compiler never prints: it appends entries (file, line, column,
 * severity, message, optional note) to a struct fq_diag that the caller
 * owns, so `flowq check`, `flowq run` and the tests decide where the text
 * goes.  Each entry keeps its own copy of the offending source line, so the
 * list stays printable after the query (and its arena) is freed.  Lines and
 * columns count from 1; a column counts characters, a tab as one
 * (SPEC section 3).  The list is capped so that a hostile file cannot make
 * it grow without bound.
 */
#ifndef FQ_DIAG_H
#define FQ_DIAG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fq_severity {
	FQ_SEV_ERROR,
	FQ_SEV_WARNING,
	FQ_SEV_NOTE,
};

struct fq_diag_entry {
	char *file;          /* owned (malloc) */
	uint32_t line;       /* 1-based; 0 = not tied to a position */
	uint32_t col;        /* 1-based, characters */
	uint32_t width;      /* characters to underline, at least 1 */
	enum fq_severity sev;
	char *msg;           /* owned */
	char *note;          /* owned, NULL if none ("did you mean ...") */
	char *src_line;      /* owned copy of the source line, NULL if none */
};

/* Most entries kept per list; later ones are counted, not stored. */
#define FQ_DIAG_MAX 100

struct fq_diag {
	struct fq_diag_entry *v;  /* owned array */
	size_t n, cap;
	size_t nerrors;           /* all errors reported, stored or not */
	size_t nwarnings;
	size_t dropped;           /* entries beyond FQ_DIAG_MAX */
};

void fq_diag_init(struct fq_diag *d);
void fq_diag_fini(struct fq_diag *d);

/*
 * Add an entry.  `src`/`srclen` is the whole source text (may be NULL);
 * `off` is the byte offset of the offending token, `width` its length in
 * bytes; line and column are computed here.  `note` may be NULL.  A
 * second entry of the same severity at the same position is dropped: a
 * stage definition shared by several branches is checked once per branch
 * (its messages name the branch) but should be reported once.
 */
void fq_diag_add(struct fq_diag *d, enum fq_severity sev, const char *file,
		 const char *src, size_t srclen, size_t off, size_t width,
		 const char *note, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));

/* Render every entry clang-style, then a summary line if any errors. */
void fq_diag_print(const struct fq_diag *d, FILE *out);

/* Render one entry (no summary). */
void fq_diag_print_entry(const struct fq_diag_entry *e, FILE *out);

#endif
