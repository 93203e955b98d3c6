/*
 * template_engine.h - NetFlow v9 and IPFIX templates compiled into small
 * programs, and the programs run over data sets.  v9 (nf9.c) and IPFIX
 * (ipfix.c, ipfix_check.c) share it; each record's values are gathered
 * into a struct fq__acc and turned into a record by record_values.c.
 */
#ifndef FQ_TEMPLATE_ENGINE_H
#define FQ_TEMPLATE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "exporter.h"

struct fq__dctx;
struct fq__hdr;

/*
 * What a template field decodes into.  The template compiler maps an
 * (enterprise, element id) pair to one of these once; data records then
 * run the compiled program without looking anything up.
 */
enum fq__op_code {
	FQ__OP_SKIP = 0,
	FQ__OP_SRC4, FQ__OP_DST4, FQ__OP_NH4, FQ__OP_BGPNH4,
	FQ__OP_SRC6, FQ__OP_DST6, FQ__OP_NH6, FQ__OP_BGPNH6,
	FQ__OP_SRCPORT, FQ__OP_DSTPORT, FQ__OP_ICMP4,
	FQ__OP_PROT, FQ__OP_TOS, FQ__OP_TCPFLAGS,
	FQ__OP_PKTS, FQ__OP_BYTES,           /* delta counts (v9 IN_*) */
	FQ__OP_PKTS_TOTAL, FQ__OP_BYTES_TOTAL,
	FQ__OP_PKTS_OUT, FQ__OP_BYTES_OUT,   /* v9 OUT_*, post*DeltaCount */
	FQ__OP_INPUT, FQ__OP_OUTPUT,
	FQ__OP_SRC_AS, FQ__OP_DST_AS,
	FQ__OP_SRC_MASK, FQ__OP_DST_MASK,
	FQ__OP_START_UP, FQ__OP_END_UP,      /* uptime ms (v9 FIRST/LAST) */
	FQ__OP_START_S, FQ__OP_END_S,
	FQ__OP_START_MS, FQ__OP_END_MS,
	FQ__OP_START_US, FQ__OP_END_US,      /* NTP timestamps */
	FQ__OP_START_NS, FQ__OP_END_NS,
	FQ__OP_START_DELTA_US, FQ__OP_END_DELTA_US,
	FQ__OP_DUR_MS, FQ__OP_DUR_US,
	FQ__OP_SYSINIT_MS,                   /* systemInitTimeMilliseconds */
	FQ__OP_SAMPLING,                     /* samplingInterval & co */
	FQ__OP_SAMPLER_INTERVAL,             /* v9 FLOW_SAMPLER_RANDOM_INTERVAL */
	FQ__OP_SAMPLER_ID,                   /* samplerId / selectorId */
	FQ__OP_PKT_INTERVAL, FQ__OP_PKT_SPACE,
	FQ__OP_SAMPLING_SIZE, FQ__OP_SAMPLING_POP,
	FQ__OP_ENGINE_TYPE, FQ__OP_ENGINE_ID,
	FQ__OP_BYTES_INIT, FQ__OP_PKTS_INIT,   /* initiatorOctets/Packets */
	FQ__OP_SRC6_MASK, FQ__OP_DST6_MASK, FQ__OP_ICMP6,
	FQ__OP_COUNT
};

_Static_assert(FQ__OP_COUNT <= 64, "op bits fit in uint64_t");

/* Template "has" bits: which groups of fields a template carries. */
#define FQ__HAS(op) (UINT64_C(1) << (op))

/*
 * Compile one template record.  `p` points at its first field specifier,
 * `avail` bytes remain in the set.  Returns 0 with *out (owned by the
 * caller) and *used (bytes of field specifiers), -FQ_ECORRUPT when the
 * specifiers run past the set or describe an impossible record, or
 * -FQ_ENOMEM.
 */
int fq__tpl_compile(uint8_t version, uint16_t tid, const uint8_t *p,
		    size_t avail, unsigned n_fields, unsigned scope_count,
		    int is_options, struct fq__tpl **out, size_t *used);
/*
 * Keep a compiled template's field specifiers (`len` bytes at raw) after
 * its ops, for the template state file; *t may move.  Specifiers longer
 * than FQ__TPL_RAW_MAX are not kept (such a template is not saved).
 * 0, or -FQ_ENOMEM (*t unchanged, nothing kept).
 */
#define FQ__TPL_RAW_MAX 4096
int fq__tpl_keep_raw(struct fq__tpl **t, const uint8_t *raw, size_t len);

/*
 * Length of the record of template t at p (at most avail bytes), or 0 when
 * it does not fit (a variable-length field runs past the set).
 */
size_t fq__tpl_reclen(const struct fq__tpl *t, const uint8_t *p,
		      size_t avail);
/*
 * Decode every record of a data set (padding after the last record is
 * skipped).  Returns the number of records, or -1 when a record runs past
 * the set (records before it were decoded).
 */
long fq__data_set(struct fq__dctx *c, struct fq__domain *dom,
		  struct fq__tpl *t, const struct fq__hdr *h,
		  const uint8_t *p, size_t len);
/* The op an IANA element id maps to (FQ__OP_SKIP when none). */
unsigned fq__ie_op(unsigned ie);

#endif
