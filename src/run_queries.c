/*
 * run_queries.c - the query files of a run (run_queries.h).
 *
 * A file is read once, and its bytes are both compiled and kept: what a
 * reload compares is exactly what runs, not a second read that may have
 * changed in between.
 */
#include "run_queries.h"
#include "fq_error.h"
#include "fq_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "dir/http-download.flw" -> "http-download" (owned), NULL: no memory. */
static char *
query_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	const char *dot = strrchr(b, '.');
	size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, b, n);
		s[n] = '\0';
	}
	return s;
}

/* The whole file into *text (owned); 0 or -1 (errno set). */
static int
read_whole(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *nb = realloc(buf, 2 * cap);
		if (nb == NULL) {
			free(buf);
			buf = NULL;
			errno = ENOMEM;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	int bad = buf == NULL || ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return -1;
	}
	*text = buf;
	*len = n;
	return 0;
}

/* One file into *r; 0, or 1 on an error (said). */
static int
load_one(struct fq_run_query *r, const char *path)
{
	memset(r, 0, sizeof *r);
	struct fq_diag d;
	fq_diag_init(&d);
	int rc;
	if (read_whole(path, &r->text, &r->len) < 0)
		rc = fq_query_compile_file(&r->q, path, &d);   /* says why */
	else
		rc = fq_query_compile(&r->q, path, r->text, r->len, &d);
	fq_diag_print(&d, stderr);
	fq_diag_fini(&d);
	r->path = strdup(path);
	r->name = query_name(path);
	if (rc == 0 && (r->path == NULL || r->name == NULL)) {
		fq_error("out of memory");
		rc = -FQ_ENOMEM;
	}
	return rc < 0;
}

static void
query_fini(struct fq_run_query *r)
{
	fq_query_free(r->q);
	free(r->path);
	free(r->name);
	free(r->text);
}

int
fq_run_queries_load(struct fq_run_queries *qs, const char *const *paths,
		    size_t n)
{
	memset(qs, 0, sizeof *qs);
	qs->v = calloc(n ? n : 1, sizeof *qs->v);
	if (qs->v == NULL) {
		fq_error("out of memory");
		return 1;
	}
	int errors = 0;
	for (size_t i = 0; i < n; i++) {
		struct fq_run_query *r = &qs->v[qs->n];
		if (load_one(r, paths[i]) == 0)
			qs->n++;
		else {
			query_fini(r);
			errors = 1;
		}
	}
	return errors;
}

long
fq_run_queries_find(const struct fq_run_queries *qs,
		    const struct fq_run_query *q)
{
	for (size_t i = 0; i < qs->n; i++) {
		const struct fq_run_query *r = &qs->v[i];
		if (strcmp(r->path, q->path) == 0 && r->len == q->len &&
		    memcmp(r->text, q->text, q->len) == 0)
			return (long)i;
	}
	return -1;
}

int
fq_run_queries_move(struct fq_run_queries *dst, struct fq_run_queries *src,
		    size_t i)
{
	struct fq_run_query *v = realloc(dst->v, (dst->n + 1) * sizeof *v);
	if (v == NULL)
		return -FQ_ENOMEM;
	dst->v = v;
	dst->v[dst->n++] = src->v[i];
	memmove(&src->v[i], &src->v[i + 1], (src->n - i - 1) * sizeof *v);
	src->n--;
	return 0;
}

void
fq_run_queries_fini(struct fq_run_queries *qs)
{
	for (size_t i = 0; i < qs->n; i++)
		query_fini(&qs->v[i]);
	free(qs->v);
	memset(qs, 0, sizeof *qs);
}
