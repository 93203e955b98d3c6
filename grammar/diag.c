/*
 * diag.c - collecting and rendering query diagnostics.
 *
 * Rendering follows clang: "file:line:col: error: message", the source
 * line, a caret line under the token, then "note: ..." when there is one.
 * The caret line copies tabs from the source line (and prints spaces for
 * everything else) so that the caret lands under the token in any
 * terminal, whatever its tab width.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
fq_diag_init(struct fq_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
fq_diag_fini(struct fq_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
		free(d->v[i].note);
		free(d->v[i].src_line);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static char *
dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A UTF-8 continuation byte does not start a character (column). */
static int
is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/*
 * Line, column and caret width (in characters, a tab as one) of the
 * `width` bytes at byte `off` of src, into e; the offending line is
 * src[*ls, *le) (without its newline or a CR before it).
 */
static void
locate(const char *src, size_t srclen, size_t off, size_t width,
       struct fq_diag_entry *e, size_t *ls, size_t *le)
{
	if (off > srclen)
		off = srclen;
	uint32_t line = 1;
	for (size_t i = 0; i < off; i++) {
		if (src[i] == '\n') {
			line++;
			*ls = i + 1;
		}
	}
	uint32_t col = 1;
	for (size_t i = *ls; i < off; i++)
		if (!is_cont((unsigned char)src[i]))
			col++;
	*le = *ls;
	while (*le < srclen && src[*le] != '\n' && src[*le] != '\0')
		(*le)++;
	if (*le > *ls && src[*le - 1] == '\r')
		(*le)--;
	size_t end = off + width;
	if (end > *le)
		end = *le;
	uint32_t w = 0;
	for (size_t i = off; i < end; i++)
		if (!is_cont((unsigned char)src[i]))
			w++;
	e->line = line;
	e->col = col;
	e->width = w ? w : 1;
}

/*
 * Same position and text as an earlier entry: already said (a group
 * filter compiled for a second branch repeats its diagnostics).
 */
static int
already_said(const struct fq_diag *d, const struct fq_diag_entry *e,
	     const char *file, const char *msg)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct fq_diag_entry *o = &d->v[i];
		if (o->line == e->line && o->col == e->col && o->sev == e->sev &&
		    same_str(o->file, file) &&
		    (e->line > 0 || strcmp(o->msg, msg) == 0))
			return 1;
	}
	return 0;
}

void
fq_diag_add(struct fq_diag *d, enum fq_severity sev, const char *file,
	    const char *src, size_t srclen, size_t off, size_t width,
	    const char *note, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* Full: count only (and skip the line scan, so this stays cheap). */
	if (d->n >= FQ_DIAG_MAX) {
		if (sev == FQ_SEV_ERROR)
			d->nerrors++;
		else if (sev == FQ_SEV_WARNING)
			d->nwarnings++;
		d->dropped++;
		return;
	}
	struct fq_diag_entry e;
	memset(&e, 0, sizeof(e));
	e.sev = sev;
	size_t ls = 0, le = 0;
	if (src != NULL)
		locate(src, srclen, off, width, &e, &ls, &le);
	if (already_said(d, &e, file, msg))
		return;
	if (sev == FQ_SEV_ERROR)
		d->nerrors++;
	else if (sev == FQ_SEV_WARNING)
		d->nwarnings++;
	if (d->n >= FQ_DIAG_MAX) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct fq_diag_entry *nv = realloc(d->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return;
		d->v = nv;
		d->cap = ncap;
	}
	e.file = file ? dup_n(file, strlen(file)) : NULL;
	e.msg = dup_n(msg, strlen(msg));
	e.note = note ? dup_n(note, strlen(note)) : NULL;
	if (src != NULL)
		e.src_line = dup_n(src + ls, le - ls);
	if (e.msg == NULL) {
		free(e.file);
		free(e.note);
		free(e.src_line);
		return;
	}
	d->v[d->n++] = e;
}

static const char *
sev_name(enum fq_severity s)
{
	switch (s) {
	case FQ_SEV_ERROR:   return "error";
	case FQ_SEV_WARNING: return "warning";
	case FQ_SEV_NOTE:    return "note";
	}
	return "error";
}

void
fq_diag_print_entry(const struct fq_diag_entry *e, FILE *out)
{
	const char *file = e->file ? e->file : "<query>";
	if (e->line > 0)
		fprintf(out, "%s:%u:%u: %s: %s\n", file, (unsigned)e->line,
			(unsigned)e->col, sev_name(e->sev), e->msg);
	else
		fprintf(out, "%s: %s: %s\n", file, sev_name(e->sev), e->msg);
	if (e->src_line != NULL && e->line > 0) {
		fprintf(out, "%s\n", e->src_line);
		uint32_t col = 1;
		for (const char *p = e->src_line; *p && col < e->col; p++) {
			if (is_cont((unsigned char)*p))
				continue;
			fputc(*p == '\t' ? '\t' : ' ', out);
			col++;
		}
		fputc('^', out);
		for (uint32_t i = 1; i < e->width; i++)
			fputc('~', out);
		fputc('\n', out);
	}
	if (e->note != NULL && e->line > 0)
		fprintf(out, "%s:%u:%u: note: %s\n", file, (unsigned)e->line,
			(unsigned)e->col, e->note);
	else if (e->note != NULL)
		fprintf(out, "%s: note: %s\n", file, e->note);
}

void
fq_diag_print(const struct fq_diag *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++)
		fq_diag_print_entry(&d->v[i], out);
	if (d->dropped > 0)
		fprintf(out, "(%zu more diagnostics not shown)\n", d->dropped);
}
