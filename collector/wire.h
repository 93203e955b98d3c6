/*
 * wire.h - reading network byte order, for every room of the collector.
 *
 * Export headers, flowsets, IP and UDP headers are all big-endian and, in
 * a captured frame or a raw: file, at any alignment: values are assembled
 * byte by byte (the compiler turns these into one load and a byte swap),
 * never read through a cast pointer.  The caller has checked the bounds.
 */
#ifndef FQ_WIRE_H
#define FQ_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t
fq__be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
fq__be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
fq__be64(const uint8_t *p)
{
	return (uint64_t)fq__be32(p) << 32 | fq__be32(p + 4);
}

/*
 * Unsigned big-endian integer of 1..8 bytes (IPFIX reduced-size encoding);
 * of a longer field, the last 8 bytes.
 */
static inline uint64_t
fq__beN(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;
	if (len > 8) {
		p += len - 8;
		len = 8;
	}
	for (unsigned i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Whether the n bytes at p are all zero: the padding after the last
 * flowset or set, or after the last record of one.
 */
static inline int
fq__all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

#endif
