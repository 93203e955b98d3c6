/*
 * fq_record.h - the canonical flow record (SPEC section 1).
 *
 * Every source (NetFlow v5/v9, IPFIX, flow-tools, pcap replay) decodes into
 * this one fixed-size struct; the pipeline never sees a wire format.  Times
 * are absolute, int64 milliseconds since the Unix epoch (UTC).  A field the
 * source does not carry is 0, except `sampling`, which is 1 when unsampled.
 *
 * Fields are reached by name only through the field table (fq_field.h):
 * printing, JSON output and the query compiler all use that one table.
 */
#ifndef FQ_RECORD_H
#define FQ_RECORD_H

#include <stdint.h>

#include "fq_ip.h"

struct fq_record {
	uint64_t rec_id;       /* 1-based position in this run's stream */
	int64_t stime;         /* flow start, ms since epoch */
	int64_t etime;         /* flow end, ms since epoch */
	uint64_t packets;
	uint64_t bytes;
	struct fq_ip exporter; /* datagram source / flow-tools exaddr */
	struct fq_ip srcip;
	struct fq_ip dstip;
	struct fq_ip nexthop;
	uint32_t domain;       /* obs. domain / v9 source id / v5 engine pair */
	uint32_t input;
	uint32_t output;
	uint32_t src_as;
	uint32_t dst_as;
	uint32_t sampling;     /* 1 when unsampled */
	uint32_t unix_secs;    /* export header fields (v5, flow-tools) */
	uint32_t unix_nsecs;
	uint32_t sysuptime;
	uint16_t srcport;
	uint16_t dstport;
	uint16_t tcp_flags;
	uint8_t prot;
	uint8_t tos;
	uint8_t src_mask;
	uint8_t dst_mask;
	uint8_t engine_type;
	uint8_t engine_id;
	/*
	 * Not a query field: when the record arrived, ms since the epoch
	 * (wall clock live, capture time on pcap replay, export header time
	 * for files).  Stream time uses it for exporter idleness and the
	 * clock-skew guard (SPEC section 5).  0 = unknown.
	 */
	int64_t arrival;
};

/*
 * A record with every field at its "not carried" value, padding included.
 *
 * Decoders clear a record per decoded flow, so this is on the hottest path
 * there is.  A plain memset() of the 192 bytes compiles to `rep stosq`
 * with GCC's generic tuning, whose start-up cost made it a fifth of all
 * decoding time (perf, bench-collector-decode); twelve 16-byte stores are
 * several times cheaper.  GCC would turn the loop back into a memset, so
 * that transformation is switched off for this function.
 */
typedef uint64_t fq__zero16 __attribute__((vector_size(16), aligned(8)));

_Static_assert(sizeof(struct fq_record) % 16 == 0,
	       "fq_record_clear stores 16 bytes at a time");

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void
fq_record_clear(struct fq_record *r)
{
	fq__zero16 *p = (fq__zero16 *)(void *)r;
	for (unsigned i = 0; i < sizeof *r / 16; i++)
		p[i] = (fq__zero16){ 0, 0 };
	r->sampling = 1;
}

/*
 * Router uptime (ms) to absolute time, SPEC section 1:
 *   ms = unix_secs*1000 + unix_nsecs div 10^6 - (uint32)(sysUpTime - t)
 * The uint32 subtraction makes a wrap of the 2^32 ms uptime counter between
 * the flow time `t` and the export time come out right.
 */
static inline int64_t
fq_uptime_to_ms(uint32_t unix_secs, uint32_t unix_nsecs, uint32_t sysuptime,
		uint32_t t)
{
	return (int64_t)unix_secs * 1000 + unix_nsecs / 1000000 -
	       (int64_t)(uint32_t)(sysuptime - t);
}

#endif
