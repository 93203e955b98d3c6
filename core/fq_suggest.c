/*
 * fq_suggest.c - edit distance and the closest candidate (fq_suggest.h).
 *
 * Names are short (the longest field alias has 26 bytes), so the distance
 * is the plain dynamic programme over three rotating rows on the stack;
 * a transposition looks two rows back, hence three.
 */
#include "fq_suggest.h"

#include <string.h>
#include <strings.h>

size_t
fq_edit_distance(const char *a, size_t al, const char *b, size_t bl)
{
	/* Names longer than this are never "close": keep the rows small. */
	enum { MAXL = 64 };
	if (al > MAXL || bl > MAXL)
		return (size_t)-1;
	size_t d[3][MAXL + 1];   /* rows i-2, i-1, i (rotating) */
	for (size_t j = 0; j <= bl; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= al; i++) {
		size_t *cur = d[i % 3], *prev = d[(i - 1) % 3], *pp = d[(i + 1) % 3];
		cur[0] = i;
		for (size_t j = 1; j <= bl; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[al % 3][bl];
}

void
fq_suggest_init(struct fq_suggest *sg, const char *name, size_t len)
{
	sg->name = name;
	sg->len = len;
	sg->best = NULL;
	sg->best_d = (size_t)-1;
	sg->nocase = NULL;
}

void
fq_suggest_add(struct fq_suggest *sg, const char *cand)
{
	if (cand == NULL)
		return;
	size_t cl = strlen(cand);
	size_t d = fq_edit_distance(sg->name, sg->len, cand, cl);
	if (d < sg->best_d) {
		sg->best_d = d;
		sg->best = cand;
	}
	if (sg->nocase == NULL && cl == sg->len &&
	    strncasecmp(cand, sg->name, sg->len) == 0)
		sg->nocase = cand;
}

const char *
fq_suggest_result(const struct fq_suggest *sg, unsigned flags)
{
	size_t limit = sg->len / 3 > 0 ? sg->len / 3 : 1;
	if (limit > 3)
		limit = 3;
	if (sg->best_d <= limit)
		return sg->best;
	/* Far by distance, but the same name in another case. */
	if ((flags & FQ_SUGGEST_CASE) && sg->best != NULL)
		return sg->nocase;
	return NULL;
}

const char *
fq_suggest(const char *name, size_t len, const char *const *cands, size_t n)
{
	struct fq_suggest sg;
	fq_suggest_init(&sg, name, len);
	for (size_t i = 0; i < n; i++)
		fq_suggest_add(&sg, cands[i]);
	return fq_suggest_result(&sg, FQ_SUGGEST_CASE);
}
