/*
 * fq_vset.h - a value set: the running state and the value of a union()
 * aggregate.
 *
 * A sorted set without duplicates of numbers (int64) or of addresses
 * (struct fq_ip, ordered by fq_ip_cmp: IPv4 before IPv6), one kind per
 * set.  Most groups' sets are tiny (the ports of one connection), so the
 * first elements -- three numbers or one address -- live in the header
 * itself: a set costs no allocation until it outgrows it, and an engine
 * that keeps the header inside a group's own block touches one block.
 * Past that the elements move to a malloc'd array that doubles (8, 16,
 * ...).  Adding is a binary search and a memmove: sets are read (hashed,
 * compared, printed in order) far more often than they grow.
 *
 * Ownership: the header belongs to whoever holds it; the set owns the
 * element array when it is not the header's own room (fq_vset_heap() > 0).
 * While elements are in the header, `ints`/`ips` point into it: the
 * header must not be copied or moved (copy elements, not headers).
 */
#ifndef FQ_VSET_H
#define FQ_VSET_H

#include <stddef.h>
#include <stdint.h>

#include "fq_ip.h"
#include "fq_vtype.h"

struct fq_vset {
	enum fq_vtype elem;        /* FQ_V_INT or FQ_V_IP */
	uint32_t n, cap;           /* elements, room (0 before the first) */
	int64_t *ints;             /* owned or in.i, when elem == FQ_V_INT */
	struct fq_ip *ips;         /* owned or in.ip, when elem == FQ_V_IP */
	union {
		int64_t i[3];
		struct fq_ip ip[1];
	} in;                      /* the first elements */
};

/* An empty set of elem (FQ_V_INT or FQ_V_IP).  A zeroed header with
 * elem set is the same. */
void fq_vset_init(struct fq_vset *s, enum fq_vtype elem);
/* Free the elements' array, if any; the set is empty (elem kept). */
void fq_vset_fini(struct fq_vset *s);

/* Add v unless present.  0, or -FQ_ENOMEM with the set unchanged. */
int fq_vset_add_int(struct fq_vset *s, int64_t v);
int fq_vset_add_ip(struct fq_vset *s, const struct fq_ip *v);
/*
 * s = s union from, in one pass over both.  0, -FQ_EINVAL when from is
 * not empty and of the other elem, or -FQ_ENOMEM; s unchanged on error.
 */
int fq_vset_add_all(struct fq_vset *s, const struct fq_vset *from);

/* 1 if v is in s (binary search). */
int fq_vset_has_int(const struct fq_vset *s, int64_t v);
int fq_vset_has_ip(const struct fq_vset *s, const struct fq_ip *v);

/* Hash of the elements (equal sets, equal hashes; fq_hash.h mix). */
uint64_t fq_vset_hash(const struct fq_vset *s);
/* 1 if a and b have the same kind and the same elements. */
int fq_vset_equal(const struct fq_vset *a, const struct fq_vset *b);

/* Bytes of the elements' array outside the header (what is malloc'd). */
static inline size_t
fq_vset_heap(const struct fq_vset *s)
{
	if (s->cap == 0 || s->ints == s->in.i || s->ips == s->in.ip)
		return 0;
	return s->cap * (s->elem == FQ_V_INT ? sizeof *s->ints
					     : sizeof *s->ips);
}

#endif
