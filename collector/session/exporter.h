/*
 * exporter.h - exporter sessions, their observation domains, templates and
 * counters: the state the NetFlow v5, v9 and IPFIX decoders keep between
 * datagrams.
 *
 * An exporter session is keyed by the transport address it sends from
 * (address and port) plus the local socket/source that received it (SPEC
 * section 2).  Inside a session, templates and sequence numbers belong to
 * an observation domain (IPFIX observation domain id, v9 source id, v5
 * engine pair), RFC 7011 section 8.4.  Everything here is bounded: the
 * number of sessions and the bytes they hold together, domains per session
 * and templates per session are capped, idle sessions expire, UDP
 * templates expire.  At a session cap the least recently active UDP
 * session is evicted to make room (the recency list of struct
 * fq__sessions).
 *
 * The session room knows what a compiled template occupies, not what its
 * ops mean (decode/template_engine.h), and nothing of libfixbuf: the
 * decoder hands it the two functions that release libfixbuf's side of an
 * exporter (struct fq__sessions).  Private to the collector; the rest of
 * flowq sees only fq_decoder.h.
 */
#ifndef FQ_EXPORTER_H
#define FQ_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "fq_datagram.h"
#include "fq_ip.h"
#include "fq_log.h"
#include "fq_out.h"

#define FQ__DEFAULT_MAX_TEMPLATES 512
#define FQ__DEFAULT_TEMPLATE_TIMEOUT_MS (30 * 60 * 1000LL)
/* Session idle timeout: the template lifetime (docs/decoders.md). */
#define FQ__DEFAULT_EXPORTER_IDLE_MS (30 * 60 * 1000LL)
#define FQ__DEFAULT_MAX_SESSIONS 65536
/* Bytes all sessions may hold together (docs/decoders.md). */
#define FQ__DEFAULT_MAX_SESSION_BYTES ((size_t)512 << 20)
#define FQ__MAX_DOMAINS 256
/* Compiled template bytes per exporter (a template may have 16k fields). */
#define FQ__MAX_TEMPLATE_BYTES (4u << 20)
/*
 * Template chains per domain: real exporters have a handful of templates;
 * a domain at the cap of 512 has chains of 32, walked once per set.
 * Small, because every domain carries them (session memory).
 */
#define FQ__TPL_BUCKETS 16
#define FQ__SAMPLERS 16

/*
 * Why a datagram was dropped.  Every drop is counted under exactly one
 * reason, under its exporter (refused datagrams have no exporter and are
 * counted on the session table).  Every datagram the decoder sees ends up
 * in exactly one of: an exporter's `decoded` or one `malformed` reason, or
 * the table's `refused`, `session_limit` or `no_memory`; fq__malformed()
 * keeps only the first reason of a datagram (see docs/decoders.md,
 * "Accounting").
 */
enum fq__mal {
	FQ__MAL_SHORT,          /* shorter than the protocol header */
	FQ__MAL_VERSION,        /* no decoder for its version */
	FQ__MAL_V5_COUNT,       /* v5 count 0 or above 30 */
	FQ__MAL_V5_LENGTH,      /* v5: not one whole record */
	FQ__MAL_LENGTH,         /* IPFIX message length below 16 */
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
 * What was odd about a datagram or record that was decoded all the same
 * (docs/decoders.md, "Anomalies"): a header field that disagrees with the
 * datagram's own structure, an exporter restart's effect, a time out of
 * range.  Counted per exporter, per datagram for the header ones and per
 * record for the time ones; an anomaly never drops a datagram, so these
 * counters stand outside the accounting identity.
 */
enum fq__anom {
	FQ__ANOM_V5_COUNT,      /* v5 count != the whole records it holds */
	FQ__ANOM_V9_COUNT,      /* v9 count below the number of flowsets */
	FQ__ANOM_LENGTH,        /* IPFIX message length != datagram */
	FQ__ANOM_TIME_INVALID,  /* a time field not a time (negative, > 9999) */
	FQ__ANOM_TIME_PAST,     /* a time before 1990-01-01 */
	FQ__ANOM_TIME_FUTURE,   /* a time past arrival + --max-skew */
	FQ__ANOM_NEG_DURATION,  /* etime before stime: etime set to stime */
	FQ__ANOM_COUNT
};

extern const char *const fq__anom_names[FQ__ANOM_COUNT];

/*
 * A compiled v9/IPFIX template as a domain keeps it: one op per wire field
 * (or run of merged fields), made by fq__tpl_compile().
 */
struct fq__op {
	uint16_t len;           /* field length; 65535 = variable (IPFIX) */
	uint8_t code;           /* enum fq__op_code (template_engine.h) */
	uint8_t pad;            /* the op's kind, set by the compiler */
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
	uint16_t raw_len;       /* field specifiers kept after ops[] (for
				   --state-dir; 0: none, fq__tpl_keep_raw) */
	struct fq__op ops[];    /* n_ops entries */
};

/* The field specifiers as the exporter sent them (raw_len bytes). */
static inline const uint8_t *
fq__tpl_raw(const struct fq__tpl *t)
{
	return (const uint8_t *)&t->ops[t->n_ops];
}

/* What a template occupies: what the per-exporter byte cap counts. */
static inline size_t
fq__tpl_size(const struct fq__tpl *t)
{
	return sizeof *t + t->n_ops * sizeof t->ops[0] + t->raw_len;
}

struct fq__sampler {
	uint32_t id;
	uint32_t interval;
};

struct fq__domain {
	struct fq__domain *next;        /* owned by the session's list */
	struct fq_exporter *ex;         /* borrowed: its session */
	uint32_t id;
	uint8_t version;                /* 5, 9 or 10 */
	uint64_t records;               /* decoded from this domain */
	int seq_valid;
	uint32_t seq_next;              /* expected next sequence number */
	uint32_t fixbuf_seq;            /* what libfixbuf expects next */
	/* The last header seen, to detect exporter restarts. */
	int have_last;
	uint32_t last_seq;
	uint32_t last_uptime;           /* v9 */
	uint32_t last_export_secs;
	uint32_t sampling;              /* from options records, 0 = none */
	/* Announced samplers; owned, FQ__SAMPLERS, made on first use. */
	struct fq__sampler *samplers;
	unsigned n_samplers;
	int have_sysinit;
	int64_t sysinit_ms;             /* systemInitTimeMilliseconds */
	int fixbuf_counted;             /* libfixbuf's table for it counted */
	unsigned n_tpl;
	struct fq__tpl *tpl[FQ__TPL_BUCKETS];  /* owned */
};

struct fq__ipfix_session;               /* decode/ipfix_fixbuf.c, opaque */

struct fq__sessions;

struct fq_exporter {
	struct fq_exporter *hnext;      /* hash chain (not owning) */
	struct fq_exporter *next;       /* creation-order list (owning) */
	struct fq_exporter *prev;
	/*
	 * Recency list (not owning), UDP sessions only: TCP and file
	 * sessions end with their connection or file and are never evicted
	 * or idled out.
	 */
	struct fq_exporter *older, *newer;
	int in_lru;
	struct fq__sessions *tab;       /* borrowed: the table it is in */
	/* Bytes it holds, counted as fq__mem_add() adds them. */
	size_t bytes;
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
	uint64_t restarts;              /* domain restarts: templates withdrawn */
	uint64_t anomalies[FQ__ANOM_COUNT];
	uint64_t templates_refused;     /* over the per-exporter cap */
	uint64_t templates_expired;
	uint64_t templates_withdrawn;
	unsigned n_templates;           /* active, all domains */
	size_t tpl_bytes;               /* their compiled size */
	unsigned n_domains;
	struct fq__domain *domains;     /* owned */
	struct fq__ipfix_session *ipfix;/* owned, NULL until first IPFIX */
};

/*
 * The session table of one decoder.  The decoder fills the limits and
 * hooks when it is created (fq_decoder_new) and zero-initialises the rest.
 */
struct fq__sessions {
	uint32_t max_templates;         /* per exporter */
	int64_t template_timeout_ms;    /* UDP template lifetime */
	int64_t exporter_idle_ms;       /* UDP session expiry */
	size_t max_sessions;            /* sessions at most */
	size_t max_bytes;               /* bytes of all sessions at most */
	/* Allowed exporter prefixes (--allow); n_allow == 0 allows all. */
	const struct fq_ip *allow;      /* borrowed */
	const uint8_t *allow_len;
	size_t n_allow;
	struct fq_ratelimit *rl;        /* borrowed: the decoder's log limit */
	int keep_raw;                   /* keep templates' specifiers
					   (--state-dir) */
	/* libfixbuf's side of an exporter: freed with it, told of expiry. */
	void (*ipfix_free)(struct fq__ipfix_session *s);
	void (*ipfix_forget)(struct fq__ipfix_session *s, uint32_t domain,
			     uint16_t tid);

	struct fq_exporter **buckets;   /* owned array, chains not owning */
	size_t n_buckets;
	size_t n_sessions;
	struct fq_exporter *head, *tail;/* owned list, creation order */
	/* UDP sessions by last datagram: `oldest` is evicted first. */
	struct fq_exporter *oldest, *newest;
	struct fq_exporter *last;       /* cache of the last lookup */
	size_t bytes;                   /* held by all sessions (counted) */

	uint64_t datagrams;             /* every datagram looked up */
	uint64_t refused;               /* --allow drops */
	uint64_t session_limit;         /* dropped: session table full */
	uint64_t no_memory;             /* dropped: no memory for a session */
	uint64_t expired_sessions;
	uint64_t evicted_sessions;      /* to make room at a cap */
	uint64_t released_sessions;     /* fq__exporter_release */
	/* Counters of expired sessions, so totals survive expiry. */
	uint64_t gone_datagrams, gone_decoded, gone_records, gone_malformed;
};

/* Sessions (exporter.c). */
/*
 * The session of a datagram's sender, created on first use.  NULL when the
 * datagram is dropped before it has one (counted as refused,
 * session_limit or no_memory).
 */
struct fq_exporter *fq__session_get(struct fq__sessions *s,
				    const struct fq_datagram *dg);
void fq__sessions_free_all(struct fq__sessions *s);
/*
 * Frees one session now (its templates, libfixbuf state and memory count;
 * its counters go to the totals): for a transport that knows the exporter
 * is gone, e.g. a closed TCP connection.  ex must not be used after.
 */
void fq__exporter_release(struct fq__sessions *s, struct fq_exporter *ex);
/* Free UDP sessions idle since before now_ms, age the others' templates. */
void fq__sessions_expire(struct fq__sessions *s, int64_t now_ms);
/*
 * Evict least recently active UDP sessions other than `keep` while all
 * sessions together hold more than the byte cap.
 */
void fq__sessions_trim(struct fq__sessions *s, const struct fq_exporter *keep);

/*
 * What an allocation of n bytes takes from the heap: glibc's malloc adds
 * an 8-byte header and rounds to 16, at least 32 (on other allocators
 * a close estimate).
 */
static inline size_t
fq__alloc_size(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

/*
 * Memory a session holds, counted on it and on its table: what it
 * allocates (fq__alloc_size), and libfixbuf's estimated share
 * (decode/ipfix_fixbuf.c).
 */
static inline void
fq__mem_add(struct fq_exporter *ex, size_t n)
{
	ex->bytes += n;
	ex->tab->bytes += n;
}

static inline void
fq__mem_sub(struct fq_exporter *ex, size_t n)
{
	ex->bytes -= n;
	ex->tab->bytes -= n;
}

/*
 * Free the TCP session keyed like `dg` (source, local socket) because its
 * connection closed; 1 if one was freed, 0 if none exists.
 */
int fq__session_close(struct fq__sessions *s, const struct fq_datagram *dg);

/* Domains and templates (domain.c). */
/*
 * Domain of a session, created on first use.  NULL when the session has
 * FQ__MAX_DOMAINS already or no memory is left, with the reason in *why
 * (FQ__MAL_DOMAIN_LIMIT or FQ__MAL_NO_MEMORY) for the caller to count.
 */
struct fq__domain *fq__domain_get(struct fq_exporter *ex, uint8_t version,
				  uint32_t id, enum fq__mal *why);
/* A domain's templates, then the domain itself. */
void fq__domain_free(struct fq__domain *dom);
struct fq__tpl *fq__tpl_find(const struct fq__domain *dom, uint16_t id);
/*
 * Installs tpl (ownership passes in) replacing any template with its id.
 * Returns 0, or -FQ_ELIMIT when the exporter's cap is reached (tpl freed).
 */
int fq__tpl_put(struct fq__sessions *s, struct fq_exporter *ex,
		struct fq__domain *dom, struct fq__tpl *tpl);
/* Removes one template (withdrawal); returns 1 if it existed. */
int fq__tpl_remove(struct fq_exporter *ex, struct fq__domain *dom,
		   uint16_t id);
/* Drop a UDP exporter's templates not refreshed since now_ms - timeout. */
void fq__templates_expire(struct fq__sessions *s, struct fq_exporter *ex,
			  int64_t now_ms);
/*
 * The exporter restarted this domain (decoders' restart checks): its
 * templates are withdrawn (libfixbuf's too), so records sent before the
 * new templates are counted as of unknown templates, not read with the old
 * layouts; counts `restarts`.
 */
void fq__domain_restart(struct fq__sessions *s, struct fq_exporter *ex,
			struct fq__domain *dom);
/*
 * A v9 or IPFIX-over-UDP header, before its sets: restarts the domain
 * (fq__domain_restart) when it says the exporter restarted, and remembers
 * it.  v9 (`version` 9): the sequence number went back, sysUptime went
 * back and the boot time (export time - uptime) moved forward by more
 * than 2 s.  IPFIX: the sequence number went back to less than half of
 * the last one while the export time did not go back (a reordered
 * datagram is only a little behind).  A datagram behind the last one that
 * is no restart (late, reordered) leaves the remembered header as it is.
 * Returns 1 on a restart.
 */
int fq__domain_header(struct fq__sessions *s, struct fq_exporter *ex,
		      struct fq__domain *dom, uint8_t version, uint32_t seq,
		      uint32_t export_secs, uint32_t uptime);
/*
 * Sequence accounting: `seq` is the header's number, `advance` what this
 * datagram adds to it (records for v5/IPFIX, 1 for v9), or -1 when it
 * cannot be known (unknown templates): the next datagram resynchronises.
 */
void fq__seq(struct fq_exporter *ex, struct fq__domain *dom, uint32_t seq,
	     int64_t advance);
/* Sampling interval of a domain for a sampler id (0 = domain default). */
uint32_t fq__domain_sampling(const struct fq__domain *dom, int have_id,
			     uint32_t sampler_id);
void fq__domain_set_sampler(struct fq__domain *dom, int have_id,
			    uint32_t sampler_id, uint32_t interval);

/* Counters (counters.c): per exporter, text lines or a JSON array. */
void fq__print_stats(const struct fq__sessions *s, struct fq_out *o,
		     int json);
/*
 * Totals as one JSON object, expired sessions included; s may be NULL
 * (no decoder yet): all zero.
 */
void fq__print_totals(const struct fq__sessions *s, struct fq_out *o);

#endif
