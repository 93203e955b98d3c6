/*
 * fq_vset.c - value sets (fq_vset.h).
 *
 * The growth steps are part of the behaviour, not a detail: an engine
 * counts a set's memory by fq_vset_heap(), so the same adds must give the
 * same capacities everywhere.  Room goes header (3 numbers or 1 address),
 * then 8, then doubling.
 */
#include "fq_vset.h"

#include <stdlib.h>
#include <string.h>

#include "fq_error.h"
#include "fq_hash.h"

void
fq_vset_init(struct fq_vset *s, enum fq_vtype elem)
{
	memset(s, 0, sizeof(*s));
	s->elem = elem;
}

void
fq_vset_fini(struct fq_vset *s)
{
	if (s->ints != s->in.i)
		free(s->ints);
	if (s->ips != s->in.ip)
		free(s->ips);
	s->ints = NULL;
	s->ips = NULL;
	s->n = s->cap = 0;
}

/* Room for `need` elements, the elements kept: 0 or -FQ_ENOMEM. */
static int
reserve(struct fq_vset *s, uint32_t need)
{
	if (need <= s->cap)
		return 0;
	if (s->cap == 0) {
		/* The room in the header first. */
		if (s->elem == FQ_V_INT) {
			s->ints = s->in.i;
			s->cap = sizeof s->in.i / sizeof s->in.i[0];
		} else {
			s->ips = s->in.ip;
			s->cap = sizeof s->in.ip / sizeof s->in.ip[0];
		}
		if (need <= s->cap)
			return 0;
	}
	uint32_t cap = s->cap;
	while (cap < need) {
		if (cap > UINT32_MAX / 2)
			return -FQ_ENOMEM;
		cap = cap < 4 ? 8 : cap * 2;
	}
	if (s->elem == FQ_V_INT) {
		int inl = s->ints == s->in.i;
		int64_t *p = realloc(inl ? NULL : s->ints, cap * sizeof *p);
		if (p == NULL)
			return -FQ_ENOMEM;
		if (inl)
			memcpy(p, s->in.i, s->n * sizeof *p);
		s->ints = p;
	} else {
		int inl = s->ips == s->in.ip;
		struct fq_ip *p = realloc(inl ? NULL : s->ips, cap * sizeof *p);
		if (p == NULL)
			return -FQ_ENOMEM;
		if (inl)
			memcpy(p, s->in.ip, s->n * sizeof *p);
		s->ips = p;
	}
	s->cap = cap;
	return 0;
}

int
fq_vset_add_int(struct fq_vset *s, int64_t v)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->ints[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && s->ints[lo] == v)
		return 0;
	if (reserve(s, s->n + 1) < 0)
		return -FQ_ENOMEM;
	memmove(s->ints + lo + 1, s->ints + lo, (s->n - lo) * sizeof *s->ints);
	s->ints[lo] = v;
	s->n++;
	return 0;
}

int
fq_vset_add_ip(struct fq_vset *s, const struct fq_ip *v)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (fq_ip_cmp(&s->ips[mid], v) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n && fq_ip_eq(&s->ips[lo], v))
		return 0;
	if (reserve(s, s->n + 1) < 0)
		return -FQ_ENOMEM;
	memmove(s->ips + lo + 1, s->ips + lo, (s->n - lo) * sizeof *s->ips);
	s->ips[lo] = *v;
	s->n++;
	return 0;
}

/* Order of a's element i and b's element j (same elem). */
static int
elem_cmp(const struct fq_vset *a, uint32_t i, const struct fq_vset *b,
	 uint32_t j)
{
	if (a->elem == FQ_V_INT)
		return (a->ints[i] > b->ints[j]) - (a->ints[i] < b->ints[j]);
	return fq_ip_cmp(&a->ips[i], &b->ips[j]);
}

static void
elem_put(struct fq_vset *d, uint32_t k, const struct fq_vset *s, uint32_t i)
{
	if (d->elem == FQ_V_INT)
		d->ints[k] = s->ints[i];
	else
		d->ips[k] = s->ips[i];
}

/*
 * Count the union first, so that s grows once; then merge from the back
 * in place: the write position never falls below the read position in s
 * (it leads by the elements of `from` still to place).
 */
int
fq_vset_add_all(struct fq_vset *s, const struct fq_vset *from)
{
	uint32_t i = 0, j = 0, total = s->n;
	if (from->n > 0 && from->elem != s->elem)
		return -FQ_EINVAL;
	while (j < from->n) {
		int c = i < s->n ? elem_cmp(s, i, from, j) : 1;
		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0)
			total++;
		else
			i++;
		j++;
	}
	if (total == s->n)
		return 0;
	if (reserve(s, total) < 0)
		return -FQ_ENOMEM;
	uint32_t k = total;
	i = s->n;
	j = from->n;
	while (j > 0) {
		int c = i > 0 ? elem_cmp(s, i - 1, from, j - 1) : -1;
		if (c >= 0) {
			elem_put(s, --k, s, --i);
			if (c == 0)
				j--;
		} else {
			elem_put(s, --k, from, --j);
		}
	}
	s->n = total;
	return 0;
}

int
fq_vset_has_int(const struct fq_vset *s, int64_t v)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->ints[mid] < v)
			lo = mid + 1;
		else if (s->ints[mid] > v)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

int
fq_vset_has_ip(const struct fq_vset *s, const struct fq_ip *v)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = fq_ip_cmp(&s->ips[mid], v);
		if (c < 0)
			lo = mid + 1;
		else if (c > 0)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

uint64_t
fq_vset_hash(const struct fq_vset *s)
{
	uint64_t h = s->n;
	for (uint32_t k = 0; k < s->n; k++) {
		if (s->elem == FQ_V_INT)
			h = fq_hash_mix(h, (uint64_t)s->ints[k]);
		else
			h = fq_hash_mix(fq_hash_mix(h, s->ips[k].hi),
					s->ips[k].lo ^
					((uint64_t)s->ips[k].is6 << 63));
	}
	return h;
}

int
fq_vset_equal(const struct fq_vset *a, const struct fq_vset *b)
{
	if (a->elem != b->elem || a->n != b->n)
		return 0;
	for (uint32_t k = 0; k < a->n; k++) {
		if (a->elem == FQ_V_INT ? a->ints[k] != b->ints[k]
					: !fq_ip_eq(&a->ips[k], &b->ips[k]))
			return 0;
	}
	return 1;
}
