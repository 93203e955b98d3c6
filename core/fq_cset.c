/*
 * fq_cset.c - constant sets (fq_cset.h): building the merged range list,
 * prefixes as ranges, membership.
 *
 * Building sorts by the low end and folds each range into the previous
 * one when they overlap or are adjacent (hi + 1 == lo), so that a set is
 * the same list however its literal was written and split.  Adjacency is
 * computed without overflow: the largest number and the last address of
 * a family have no successor.
 */
#include "fq_cset.h"

#include <stdlib.h>

static int
cmp_int_range(const void *a, const void *b)
{
	const struct fq_int_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

static int
cmp_ip_range(const void *a, const void *b)
{
	const struct fq_ip_range *x = a, *y = b;
	return fq_ip_cmp(&x->lo, &y->lo);
}

/* a + 1 within the same family, saturating; 0 when it overflowed. */
static int
ip_succ(const struct fq_ip *a, struct fq_ip *out)
{
	*out = *a;
	if (!a->is6) {
		if (a->lo >= 0xffffffffu)
			return 0;
		out->lo++;
		return 1;
	}
	if (++out->lo == 0) {
		if (++out->hi == 0)
			return 0;
	}
	return 1;
}

static size_t
merge_ints(struct fq_int_range *ir, size_t n)
{
	size_t m = 0;
	qsort(ir, n, sizeof(*ir), cmp_int_range);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && (ir[i].lo <= ir[m - 1].hi ||
			      (ir[m - 1].hi < INT64_MAX &&
			       ir[i].lo == ir[m - 1].hi + 1))) {
			if (ir[i].hi > ir[m - 1].hi)
				ir[m - 1].hi = ir[i].hi;
			continue;
		}
		ir[m++] = ir[i];
	}
	return m;
}

static size_t
merge_ips(struct fq_ip_range *pr, size_t n)
{
	size_t m = 0;
	qsort(pr, n, sizeof(*pr), cmp_ip_range);
	for (size_t i = 0; i < n; i++) {
		struct fq_ip nx;
		if (m > 0 && pr[i].lo.is6 == pr[m - 1].lo.is6 &&
		    (fq_ip_cmp(&pr[i].lo, &pr[m - 1].hi) <= 0 ||
		     (ip_succ(&pr[m - 1].hi, &nx) &&
		      fq_ip_eq(&nx, &pr[i].lo)))) {
			if (fq_ip_cmp(&pr[i].hi, &pr[m - 1].hi) > 0)
				pr[m - 1].hi = pr[i].hi;
			continue;
		}
		pr[m++] = pr[i];
	}
	return m;
}

void
fq_set_build(struct fq_set *s, enum fq_vtype elem, struct fq_int_range *ir,
	     struct fq_ip_range *pr, size_t n)
{
	s->elem = elem;
	if (elem == FQ_V_INT) {
		s->n = merge_ints(ir, n);
		s->ints = ir;
	} else {
		s->n = merge_ips(pr, n);
		s->ips = pr;
	}
}

void
fq_set_prefix_range(const struct fq_ip *a, unsigned plen,
		    struct fq_ip_range *r)
{
	struct fq_ip *lo = &r->lo, *hi = &r->hi;
	*lo = *a;
	*hi = *a;
	if (!a->is6) {
		uint64_t mask = plen == 0 ? 0 : (0xffffffffULL << (32 - plen)) &
						     0xffffffffULL;
		lo->lo = a->lo & mask;
		hi->lo = lo->lo | (~mask & 0xffffffffULL);
		return;
	}
	uint64_t mh, ml;
	if (plen >= 64) {
		mh = ~0ULL;
		ml = plen == 64 ? 0 : ~0ULL << (128 - plen);
	} else {
		mh = plen == 0 ? 0 : ~0ULL << (64 - plen);
		ml = 0;
	}
	lo->hi = a->hi & mh;
	lo->lo = a->lo & ml;
	hi->hi = lo->hi | ~mh;
	hi->lo = lo->lo | ~ml;
}

int
fq_set_has_int(const struct fq_set *s, int64_t v)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v < s->ints[mid].lo)
			hi = mid;
		else if (v > s->ints[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int
fq_set_has_ip(const struct fq_set *s, const struct fq_ip *v)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fq_ip_cmp(v, &s->ips[mid].lo) < 0)
			hi = mid;
		else if (fq_ip_cmp(v, &s->ips[mid].hi) > 0)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}
