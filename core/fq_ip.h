/*
 * fq_ip.h - one address type for IPv4 and IPv6.
 *
 * An address is a 128-bit number in host order (hi, lo) plus a family flag.
 * IPv4 lives in the low 32 bits with hi = 0 and is6 = 0.  Keeping both
 * families in one fixed-size value lets the filter compare and mask
 * addresses with two 64-bit operations and no branches on the family,
 * except where SPEC section 3 requires it: IPv4 and IPv6 are never equal and
 * never ordered against each other; min/max put IPv4 first.
 */
#ifndef FQ_IP_H
#define FQ_IP_H

#include <stddef.h>
#include <stdint.h>

struct fq_ip {
	uint64_t hi;    /* high 64 bits (IPv6 only) */
	uint64_t lo;    /* low 64 bits; IPv4 address in the low 32 */
	uint8_t is6;    /* 1 for IPv6 */
};

/* Longest text form ("ffff:...:255.255.255.255") plus NUL. */
#define FQ_IP_STRLEN 48

static inline struct fq_ip
fq_ip_v4(uint32_t host_order)
{
	struct fq_ip a = { 0, host_order, 0 };
	return a;
}

/* From 16 bytes in network order. */
struct fq_ip fq_ip_v6(const uint8_t b[16]);
/* To 16 bytes in network order (IPv4 as ::ffff:a.b.c.d). */
void fq_ip_to_bytes(const struct fq_ip *a, uint8_t out[16]);

static inline int
fq_ip_is_zero(const struct fq_ip *a)
{
	return a->hi == 0 && a->lo == 0;
}

static inline int
fq_ip_eq(const struct fq_ip *a, const struct fq_ip *b)
{
	return a->is6 == b->is6 && a->hi == b->hi && a->lo == b->lo;
}

/*
 * Total order used for sorting, min/max and hashing: IPv4 before IPv6, then
 * numerically.  Returns <0, 0, >0.  (The query language's `<` between
 * families is false both ways; that is the comparison code's business.)
 */
static inline int
fq_ip_cmp(const struct fq_ip *a, const struct fq_ip *b)
{
	if (a->is6 != b->is6)
		return a->is6 < b->is6 ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/*
 * Store an address member by member, for records: assigning a struct fq_ip
 * value may copy its padding bytes from an uninitialised temporary, and
 * records must be byte-for-byte deterministic (anyone may hash or compare
 * them as bytes; their padding is zeroed by fq_record_clear).
 */
static inline void
fq_ip_set(struct fq_ip *d, const struct fq_ip *s)
{
	d->hi = s->hi;
	d->lo = s->lo;
	d->is6 = s->is6;
}

static inline void
fq_ip_set4(struct fq_ip *d, uint32_t v4)
{
	d->hi = 0;
	d->lo = v4;
	d->is6 = 0;
}

static inline void
fq_ip_set6(struct fq_ip *d, const uint8_t b[16])
{
	struct fq_ip t = fq_ip_v6(b);
	fq_ip_set(d, &t);
}

/* 1 if a lies in prefix p/len (same family required). */
int fq_ip_in_prefix(const struct fq_ip *a, const struct fq_ip *p, unsigned len);

/*
 * Parse text (dotted quad or any RFC 4291 form) into *out.  The text is
 * `len` bytes, not necessarily NUL-terminated.  Returns 0 or -FQ_EINVAL.
 */
int fq_ip_parse(const char *s, size_t len, struct fq_ip *out);

/*
 * Write the text form to buf (at least FQ_IP_STRLEN bytes); returns the
 * length written (no NUL counted).  IPv6 uses RFC 5952 form.
 */
size_t fq_ip_format(const struct fq_ip *a, char *buf);

#endif
