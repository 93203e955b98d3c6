/*
 * fq_hash.h - the one hash mixing step of flowq's in-memory indexes.
 *
 * Group keys, merger join keys and union() sets are hashed by folding
 * their 64-bit parts into a running value with fq_hash_mix().  Whoever
 * hashes a value must use the same mix as whoever hashes an equal value
 * to probe, so there is only this one.  It is the boost hash_combine
 * step followed by a 64-bit finaliser multiply; not for hostile keys
 * (the tables it feeds bound their probe lengths themselves).
 */
#ifndef FQ_HASH_H
#define FQ_HASH_H

#include <stdint.h>

static inline uint64_t
fq_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

#endif
