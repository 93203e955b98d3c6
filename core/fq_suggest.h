/*
 * fq_suggest.h - "did you mean": the closest known name to a typo.
 *
 * Every "unknown X" diagnostic (fields, stages, aggregate functions,
 * branches, protocols, keywords) suggests the closest candidate by one
 * edit distance, written once here: the optimal string alignment
 * distance, where an insertion, a deletion, a substitution or a swap of
 * two neighbours ("tpc" for "tcp", "prot" for "port") each cost one.  A
 * candidate is close when at most a third of the name is wrong (at least
 * one edit, at most three); among equally close ones the first wins, so
 * callers list candidates in the order they prefer.
 *
 * Candidates come from arrays (fq_suggest()) or from walks over tables
 * (the field table with its aliases, a query's stages): the second use
 * feeds them one by one to a struct fq_suggest.
 */
#ifndef FQ_SUGGEST_H
#define FQ_SUGGEST_H

#include <stddef.h>

/*
 * Edit distance of a (al bytes) and b (bl bytes) as above; (size_t)-1
 * when either is longer than 64 bytes (such names are never "close").
 */
size_t fq_edit_distance(const char *a, size_t al, const char *b, size_t bl);

/* The closest candidate so far to one name. */
struct fq_suggest {
	const char *name;        /* borrowed: the unknown name, len bytes */
	size_t len;
	const char *best;        /* borrowed: the closest candidate, or NULL */
	size_t best_d;           /* its distance, (size_t)-1 if none */
	const char *nocase;      /* borrowed: the first candidate equal to
				    name but for case, or NULL */
};

void fq_suggest_init(struct fq_suggest *sg, const char *name, size_t len);
/* Consider one NUL-terminated candidate (NULL is skipped). */
void fq_suggest_add(struct fq_suggest *sg, const char *cand);

/* Flags of fq_suggest_result(). */
#define FQ_SUGGEST_CASE 0x1   /* a candidate that differs only in case
				 (Filter, bitand) is a hint even when
				 the distance says it is far */

/* The close candidate, or NULL when none is close. */
const char *fq_suggest_result(const struct fq_suggest *sg, unsigned flags);

/*
 * Closest of the n candidates (NULL entries skipped) to `len` bytes of
 * name, with FQ_SUGGEST_CASE; NULL if none is close.
 */
const char *fq_suggest(const char *name, size_t len,
		       const char *const *cands, size_t n);

#endif
