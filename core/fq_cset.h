/*
 * fq_cset.h - constant sets: the set literals of a query ([80, 443],
 * [1024..65535], 192.0.2.0/24 and mixes of them), ready for membership
 * tests.
 *
 * A constant set is a sorted list of inclusive ranges that neither
 * overlap nor touch, of numbers or of addresses (never both: the
 * validator rejects a mix), so that `x in S` is a binary search however
 * the set was written.  The query compiler builds them once from the
 * literal (fq_set_build); the engine tests records against them, per
 * record.  A prefix is the range of the addresses it covers.
 *
 * Ownership: a struct fq_set points at the range arrays it was built
 * from (the query's arena); it owns nothing.
 */
#ifndef FQ_CSET_H
#define FQ_CSET_H

#include <stddef.h>
#include <stdint.h>

#include "fq_ip.h"
#include "fq_vtype.h"

struct fq_int_range { int64_t lo, hi; };
struct fq_ip_range { struct fq_ip lo, hi; };  /* lo, hi of one family */

struct fq_set {
	enum fq_vtype elem;                /* FQ_V_INT or FQ_V_IP */
	size_t n;
	const struct fq_int_range *ints;   /* when elem == FQ_V_INT */
	const struct fq_ip_range *ips;     /* when elem == FQ_V_IP, by fq_ip_cmp */
};

/*
 * Make *s the set of the n ranges ir[] (elem FQ_V_INT) or pr[] (elem
 * FQ_V_IP), each with lo <= hi: sorts them in place and merges the ones
 * that overlap or touch, so that s->n <= n.  The array stays the caller's
 * (borrowed: s->ints or s->ips points at it).
 */
void fq_set_build(struct fq_set *s, enum fq_vtype elem,
		  struct fq_int_range *ir, struct fq_ip_range *pr, size_t n);

/* The addresses prefix a/plen covers (host bits of a ignored). */
void fq_set_prefix_range(const struct fq_ip *a, unsigned plen,
			 struct fq_ip_range *r);

/* Membership tests (binary search); the set's elem must match. */
int fq_set_has_int(const struct fq_set *s, int64_t v);
int fq_set_has_ip(const struct fq_set *s, const struct fq_ip *v);

#endif
