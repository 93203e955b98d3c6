/*
 * record_values.h - the values of one v9/IPFIX data or options record, as
 * a template program (template_engine.c) or libfixbuf (ipfix_fixbuf.c)
 * gathers them, and their conversion into a canonical record or into
 * domain state (record_values.c).
 */
#ifndef FQ_RECORD_VALUES_H
#define FQ_RECORD_VALUES_H

#include <stdint.h>

#include "exporter.h"
#include "template_engine.h"

struct fq__dctx;

/*
 * Values of one data or options record, gathered before they are turned
 * into a canonical record (several wire fields may feed one canonical
 * field, with an order of preference).  Native types, host order.  The
 * layout is also libfixbuf's internal template (ipfix_fixbuf.c), which
 * packs elements without padding: keep the members ordered by size so the
 * compiler adds none either, and keep the two in the same order.
 */
struct fq__acc {
	uint64_t bytes, pkts, bytes_total, pkts_total;
	uint64_t bytes_out, pkts_out, bytes_init, pkts_init;
	uint64_t start_ms, end_ms, start_us, end_us, start_ns, end_ns;
	uint64_t sysinit_ms;
	uint64_t selector_id;
	uint32_t start_s, end_s, start_up, end_up;
	uint32_t start_delta_us, end_delta_us, dur_ms, dur_us;
	uint32_t src4, dst4, nh4, bgpnh4;
	uint32_t input, output, src_as, dst_as;
	uint32_t sampling, sampler_interval, pkt_interval, pkt_space;
	uint32_t samp_size, samp_pop;
	uint8_t src6[16], dst6[16], nh6[16], bgpnh6[16];
	uint16_t srcport, dstport, icmp4, icmp6, tcpflags;
	uint8_t prot, tos, src_mask, dst_mask, src6_mask, dst6_mask;
	uint8_t engine_type, engine_id, sampler_id8;
	uint8_t pad[5];
};

_Static_assert(sizeof(struct fq__acc) % 8 == 0, "fq__acc has no tail padding");

/* What the export header says, for times and sequence numbers. */
struct fq__hdr {
	uint8_t version;        /* 9 or 10 */
	uint32_t export_secs;   /* v9 unix_secs, IPFIX export time */
	uint32_t uptime;        /* v9 sysUptime */
	uint32_t domain;
};

/*
 * Turn gathered values into a record (SPEC section 1: address family,
 * counters, sampling, times), or into domain state for an options record
 * (sampling interval, systemInitTimeMilliseconds).  `has` says which
 * members the template carried (FQ__HAS bits).
 */
void fq__acc_apply(struct fq__dctx *c, struct fq__domain *dom,
		   uint64_t has, int is_options, const struct fq__hdr *h,
		   const struct fq__acc *a);

#endif
