/*
 * exporter.h - exporter sessions, observation domains, templates and the
 * per-exporter counters shared by the NetFlow v5, v9 and IPFIX decoders.
 *
 * An exporter session is keyed by the transport address it sends from
 * (address and port) plus the local socket/source that received it (SPEC
 * section 2).  Inside a session, templates and sequence numbers belong to
 * an observation domain (IPFIX observation domain id, v9 source id, v5
 * engine pair), RFC 7011 section 8.4.  Everything here is bounded: the
 * number of sessions, domains per session and templates per session are
 * capped, idle sessions expire, UDP templates expire.
 *
 * This header is private to the decoder files (fq_decoder.c, exporter.c,
 * nf5.c, nf9.c, ipfix_*.c); the rest of flowq sees only fq_decoder.h.
 */
#ifndef FQ_EXPORTER_H
#define FQ_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "fq_datagram.h"
#include "fq_decoder.h"
#include "fq_log.h"
#include "fq_record.h"
#include "wire.h"

/* Records handed to emit per call; the batch lives in struct fq_decoder. */
#define FQ__BATCH 256

#define FQ__DEFAULT_MAX_TEMPLATES 512
#define FQ__DEFAULT_TEMPLATE_TIMEOUT_MS (30 * 60 * 1000LL)
#define FQ__DEFAULT_EXPORTER_IDLE_MS (60 * 60 * 1000LL)
#define FQ__MAX_SESSIONS 65536
#define FQ__MAX_DOMAINS 256
/* Compiled template bytes per exporter (a template may have 16k fields). */
#define FQ__MAX_TEMPLATE_BYTES (4u << 20)
#define FQ__TPL_BUCKETS 64
#define FQ__SAMPLERS 16

/*
 * Why a datagram was dropped.  Every drop is counted under exactly one
 * reason, under its exporter (refused datagrams have no exporter and are
 * counted on the decoder).  Every datagram the decoder sees ends up in
 * exactly one of: an exporter's `decoded` or one `malformed` reason, or
 * the decoder's `refused`, `session_limit` or `no_memory`; fq__malformed()
 * keeps only the first reason of a datagram (see docs/decoders.md,
 * "Accounting").
 */
enum fq__mal {
	FQ__MAL_SHORT,          /* shorter than the protocol header */
	FQ__MAL_VERSION,        /* version field not 5, 9 or 10 */
	FQ__MAL_V5_COUNT,       /* v5 count 0 or above 30 */
	FQ__MAL_V5_LENGTH,      /* v5 length != 24 + 48 * count */
	FQ__MAL_V9_COUNT,       /* v9 count below the number of flowsets */
	FQ__MAL_LENGTH,         /* IPFIX message length != datagram */
	FQ__MAL_SET_LENGTH,     /* (flow)set length < 4 or past the end */
	FQ__MAL_SET_ID,         /* reserved set id */
	FQ__MAL_TEMPLATE,       /* template record structure invalid */
	FQ__MAL_RECORD,         /* data record runs past its set */
	FQ__MAL_DOMAIN_LIMIT,   /* too many observation domains */
	FQ__MAL_LIBFIXBUF,      /* libfixbuf rejected the message */
	FQ__MAL_NO_MEMORY,      /* no memory for the datagram's domain */
	FQ__MAL_COUNT
};

extern const char *const fq__mal_names[FQ__MAL_COUNT];

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

struct fq__op {
	uint16_t len;           /* field length; 65535 = variable (IPFIX) */
	uint8_t code;           /* enum fq__op_code */
	uint8_t pad;
};

struct fq__tpl {
	struct fq__tpl *next;   /* owned by the domain's bucket chain */
	uint16_t id;
	uint8_t is_options;
	uint8_t version;        /* 9 or 10 */
	uint16_t n_ops;
	uint16_t scope_count;
	uint32_t min_len;       /* smallest possible record, > 0 */
	uint32_t fixed_len;     /* record length when !has_varlen */
	int has_varlen;
	uint64_t has;           /* FQ__HAS() bits of the ops present */
	int64_t refreshed_ms;   /* arrival time of the last (re)definition */
	uint64_t records;       /* data records decoded with it */
	struct fq__op ops[];    /* n_ops entries */
};

struct fq__sampler {
	uint32_t id;
	uint32_t interval;
};

struct fq__domain {
	struct fq__domain *next;        /* owned by the session's list */
	uint32_t id;
	uint8_t version;                /* 5, 9 or 10 */
	int seq_valid;
	uint32_t seq_next;              /* expected next sequence number */
	uint32_t fixbuf_seq;            /* what libfixbuf expects next */
	uint32_t last_uptime;           /* v9: detects exporter restarts */
	uint32_t sampling;              /* from options records, 0 = none */
	struct fq__sampler samplers[FQ__SAMPLERS];
	unsigned n_samplers;
	int have_sysinit;
	int64_t sysinit_ms;             /* systemInitTimeMilliseconds */
	unsigned n_tpl;
	struct fq__tpl *tpl[FQ__TPL_BUCKETS];  /* owned */
};

struct fq__ipfix_session;               /* ipfix_fixbuf.c, opaque */

struct fq_exporter {
	struct fq_exporter *hnext;      /* hash chain (not owning) */
	struct fq_exporter *next;       /* creation-order list (owning) */
	struct fq_exporter *prev;
	uint8_t addr[16];
	uint8_t is6;
	uint16_t port;
	uint32_t local_id;
	enum fq_transport transport;
	struct fq_ip ip;                /* exporter address as a record field */
	int64_t first_ms, last_ms;      /* arrival times */
	int64_t tpl_check_ms;           /* last UDP template expiry scan */

	uint64_t datagrams;
	uint64_t decoded;               /* datagrams not dropped as malformed */
	uint64_t records;
	uint64_t options_records;
	uint64_t malformed[FQ__MAL_COUNT];
	uint64_t unknown_tpl_records;   /* records (or sets) of unknown templates */
	uint64_t unknown_tpl_sets;
	uint64_t seq_lost;              /* v5/IPFIX records, v9 packets */
	uint64_t seq_resets;
	uint64_t templates_refused;     /* over the per-exporter cap */
	uint64_t templates_expired;
	uint64_t templates_withdrawn;
	unsigned n_templates;           /* active, all domains */
	size_t tpl_bytes;               /* their compiled size */
	unsigned n_domains;
	struct fq__domain *domains;     /* owned */
	struct fq__ipfix_session *ipfix;/* owned, NULL until first IPFIX */
};

struct fq_decoder {
	struct fq_decoder_opts opts;    /* allow arrays borrowed */
	uint32_t max_templates;
	int64_t template_timeout_ms;
	int64_t exporter_idle_ms;

	struct fq_exporter **buckets;   /* owned array, chains not owning */
	size_t n_buckets;
	size_t n_sessions;
	struct fq_exporter *head, *tail;/* owned list */
	struct fq_exporter *last;       /* cache of the last lookup */

	int64_t clock_ms;               /* largest arrival time seen */
	int64_t expire_ms;              /* last session expiry scan */

	uint64_t datagrams;             /* every datagram handed to the decoder */
	uint64_t refused;               /* --allow drops */
	uint64_t session_limit;         /* dropped: session table full */
	uint64_t no_memory;             /* dropped: no memory for a session */
	uint64_t expired_sessions;
	/* Counters of expired sessions, so totals survive expiry. */
	uint64_t gone_datagrams, gone_decoded, gone_records, gone_malformed;

	struct fq_ratelimit rl;
	/*
	 * Decode IPFIX data records with flowq's own template engine (the v9
	 * one) instead of libfixbuf: `--ipfix-decoder native`
	 * (fq_decoder_opts.ipfix), and the tests that compare the two record
	 * by record.
	 */
	int ipfix_own;
	struct fq__ipfix_model *ipfix_model;   /* ipfix_fixbuf.c, owned */
	struct fq_record batch[FQ__BATCH];
	/*
	 * IPFIX: the checked copy of a message that libfixbuf gets, and the
	 * template ids withdrawn by it (a message of 65535 bytes holds at
	 * most 16380 four-byte withdrawal records).
	 */
	uint8_t ipfix_out[65536];
	uint16_t withdrawn[16384];
	uint16_t data_sets[16384];      /* offsets of data sets in ipfix_out */
};

/* Per-datagram decoding context: the batch and where it goes. */
struct fq__ctx {
	struct fq_decoder *d;
	struct fq_exporter *ex;
	const struct fq_datagram *dg;
	fq_emit_fn emit;
	void *emit_ctx;
	int rc;                         /* first emit error */
	size_t n;                       /* records pending in d->batch */
	int64_t now_ms;                 /* arrival time (0 = unknown) */
	int malformed;                  /* counted as malformed already */
};

/* Sends the pending batch to emit (once emit failed, records are dropped). */
void fq__flush(struct fq__ctx *c);

/*
 * Addresses are stored member by member: assigning a struct fq_ip value
 * may copy its padding bytes from an uninitialised temporary, and records
 * must be byte-for-byte deterministic (anyone may hash or compare them as
 * bytes; their padding is zeroed by fq_record_clear).
 */
static inline void
fq__ip_set(struct fq_ip *d, const struct fq_ip *s)
{
	d->hi = s->hi;
	d->lo = s->lo;
	d->is6 = s->is6;
}

static inline void
fq__ip_set4(struct fq_ip *d, uint32_t v4)
{
	d->hi = 0;
	d->lo = v4;
	d->is6 = 0;
}

static inline void
fq__ip_set6(struct fq_ip *d, const uint8_t b[16])
{
	struct fq_ip t = fq_ip_v6(b);
	fq__ip_set(d, &t);
}

/* Next free record slot of the batch, cleared; commit with fq__commit(). */
static inline struct fq_record *
fq__slot(struct fq__ctx *c)
{
	if (c->n == FQ__BATCH)
		fq__flush(c);
	struct fq_record *r = &c->d->batch[c->n];
	fq_record_clear(r);
	return r;
}

static inline void
fq__commit(struct fq__ctx *c, struct fq_record *r)
{
	fq__ip_set(&r->exporter, &c->ex->ip);
	if (c->d->opts.scale_sampled && r->sampling > 1) {
		r->packets *= r->sampling;
		r->bytes *= r->sampling;
	}
	c->n++;
	c->ex->records++;
}

/*
 * Counts a malformed datagram and logs it (rate-limited); a datagram is
 * counted once, under the first reason found for it.
 */
void fq__malformed(struct fq__ctx *c, enum fq__mal why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

/* Template engine (nf9.c), shared by v9 and IPFIX. */
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
long fq__data_set(struct fq__ctx *c, struct fq__domain *dom,
		  struct fq__tpl *t, const struct fq__hdr *h,
		  const uint8_t *p, size_t len);
/* Turn gathered values into a record, or into domain state (options). */
void fq__acc_apply(struct fq__ctx *c, struct fq__domain *dom,
		   uint64_t has, int is_options, const struct fq__hdr *h,
		   const struct fq__acc *a);
/* The op an IANA element id maps to (FQ__OP_SKIP when none). */
unsigned fq__ie_op(unsigned ie);

/* Sessions (exporter.c). */
struct fq_exporter *fq__session_get(struct fq_decoder *d,
				    const struct fq_datagram *dg);
void fq__session_free(struct fq_decoder *d, struct fq_exporter *ex);
void fq__sessions_free_all(struct fq_decoder *d);
void fq__sessions_expire(struct fq_decoder *d, int64_t now_ms);
void fq__templates_expire(struct fq_decoder *d, struct fq_exporter *ex,
			  int64_t now_ms);
/* Domain of a session, created on first use; NULL when capped. */
struct fq__domain *fq__domain_get(struct fq__ctx *c, uint8_t version,
				  uint32_t id);
struct fq__tpl *fq__tpl_find(const struct fq__domain *dom, uint16_t id);
/*
 * Installs tpl (ownership passes in) replacing any template with its id.
 * Returns 0, or -FQ_ELIMIT when the exporter's cap is reached (tpl freed).
 */
int fq__tpl_put(struct fq__ctx *c, struct fq__domain *dom,
		struct fq__tpl *tpl);
/* Removes one template (withdrawal); returns 1 if it existed. */
int fq__tpl_remove(struct fq__ctx *c, struct fq__domain *dom, uint16_t id);
/*
 * Sequence accounting: `seq` is the header's number, `advance` what this
 * datagram adds to it (records for v5/IPFIX, 1 for v9), or -1 when it
 * cannot be known (unknown templates): the next datagram resynchronises.
 */
void fq__seq(struct fq__ctx *c, struct fq__domain *dom, uint32_t seq,
	     int64_t advance);
/* Sampling interval of a domain for a sampler id (0 = domain default). */
uint32_t fq__domain_sampling(const struct fq__domain *dom, int have_id,
			     uint32_t sampler_id);
void fq__domain_set_sampler(struct fq__domain *dom, int have_id,
			    uint32_t sampler_id, uint32_t interval);
void fq__print_stats(struct fq_decoder *d, struct fq_out *o, int json);
void fq__print_totals(struct fq_decoder *d, struct fq_out *o);

/* Decoders. */
void fq__nf5_decode(struct fq__ctx *c, const uint8_t *p, size_t len);
void fq__nf9_decode(struct fq__ctx *c, const uint8_t *p, size_t len);
void fq__ipfix_decode(struct fq__ctx *c, const uint8_t *p, size_t len);

#endif
