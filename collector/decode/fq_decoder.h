/*
 * fq_decoder.h - export datagram decoding: NetFlow v5, v9 and IPFIX.
 *
 * The decoder owns the exporter sessions (keyed by transport address,
 * local socket and observation domain, SPEC section 2), their templates and
 * counters.  The format of each datagram is recognised from its own
 * header (the registry in formats.c).  Decoded records are handed to
 * `emit` in batches; rec_id is assigned later by the ingest layer.
 *
 * Network input never reaches assert(): a malformed datagram is counted
 * under its exporter with a reason and dropped.
 */
#ifndef FQ_DECODER_H
#define FQ_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "fq_datagram.h"
#include "fq_ip.h"
#include "fq_out.h"
#include "fq_record.h"

struct fq_decoder;

/*
 * Which code reads IPFIX data records.
 *
 * FQ_IPFIX_LIBFIXBUF (the default): libfixbuf in connection-less mode, fed
 * a validated copy of each message.  FQ_IPFIX_NATIVE: flowq's own template
 * engine (the one that decodes NetFlow v9), about five times faster per
 * record; libfixbuf then only stands by.  Both give identical records:
 * the collector:shared test and the collector-v9-ipfix fuzz target check
 * it.  See docs/decoders.md, "Two IPFIX decoders".
 */
enum fq_ipfix_decoder {
	FQ_IPFIX_LIBFIXBUF = 0,
	FQ_IPFIX_NATIVE,
};

struct fq_decoder_opts {
	int scale_sampled;          /* multiply packets/bytes by sampling */
	uint32_t max_templates;     /* per exporter session; 0 = default */
	int64_t template_timeout_ms;/* UDP template lifetime; 0 = default */
	int64_t exporter_idle_ms;   /* UDP session idle timeout (--session-idle);
				       0 = default (30 min) */
	size_t max_sessions;        /* --max-sessions; 0 = default (65536) */
	size_t max_session_bytes;   /* --max-session-mem; 0 = default */
	/* Allowed exporter prefixes; n_allow == 0 allows everyone. */
	const struct fq_ip *allow;  /* borrowed, lives as long as decoder */
	const uint8_t *allow_len;
	size_t n_allow;
	enum fq_ipfix_decoder ipfix;    /* --ipfix-decoder */
	/* A decoded time this far past arrival is counted; 0 = 10 min. */
	int64_t max_skew_ms;
	/* Keep templates' field specifiers, for --state-dir. */
	int keep_templates;
};

/*
 * Receives decoded records.  The array is valid only during the call.
 * Returns 0 or a negative FQ_E* code, which the decoder passes back to
 * its caller after finishing the current datagram.
 */
typedef int (*fq_emit_fn)(void *ctx, struct fq_record *recs, size_t n);

int fq_decoder_new(struct fq_decoder **out, const struct fq_decoder_opts *opts);
void fq_decoder_free(struct fq_decoder *d);

/*
 * Decode one datagram.  Returns 0 when the datagram was consumed (decoded,
 * or counted as malformed/refused), or the first error `emit` returned.
 */
int fq_decoder_datagram(struct fq_decoder *d, const struct fq_datagram *dg,
			fq_emit_fn emit, void *ctx);

/* Expire idle exporter sessions and old UDP templates as of now_ms. */
void fq_decoder_expire(struct fq_decoder *d, int64_t now_ms);

/*
 * The TCP connection from `src` to local socket `local_id` has closed:
 * free its exporter session with its domains and templates (RFC 7011
 * section 10.4: templates live as long as their connection; a reconnecting
 * exporter sends them again).  Its counters stay in the decoder's totals.
 * Returns 1 if a session was freed, 0 if there was none (the connection
 * never delivered a message, or its session is gone already).
 */
int fq_decoder_forget(struct fq_decoder *d,
		      const struct sockaddr_storage *src, uint32_t local_id);

/* Per-exporter counters, as text lines or as a JSON array. */
/*
 * --state-dir (tpl_persist.c, session/tpl_state.h).  Save: every UDP
 * exporter's kept v9/IPFIX templates into st, each with the spelling of
 * its source (spec_of; NULL: not saved).  Signature: changes when a
 * template is added, changed or withdrawn (not when refreshed).
 * Restore: each entry fed to the decoder as its source (local_id_of: 0,
 * or -1 when no such source runs now) unless older than the template
 * lifetime at now_ms; then every exporter's counters start at zero.
 */
struct fq_tpl_state;
struct fq_tpl_restore {
	size_t restored;       /* templates in use again */
	size_t expired;        /* older than the template lifetime */
	size_t no_source;      /* their source is not in this run */
	size_t refused;        /* the decoder did not take them */
};
int fq_decoder_templates_save(struct fq_decoder *d,
			      const char *(*spec_of)(void *ctx,
						     uint32_t local_id),
			      void *ctx, struct fq_tpl_state *st);
uint64_t fq_decoder_templates_signature(const struct fq_decoder *d);
int fq_decoder_templates_restore(struct fq_decoder *d,
				 const struct fq_tpl_state *st,
				 int (*local_id_of)(void *ctx,
						    const char *spec,
						    uint32_t *id),
				 void *ctx, int64_t now_ms,
				 struct fq_tpl_restore *r);

void fq_decoder_print_stats(struct fq_decoder *d, struct fq_out *o, int json);
/*
 * Decoder-wide totals as one JSON object: datagrams = decoded + malformed
 * + refused + session_limit + no_memory (docs/decoders.md, "Accounting").
 * d may be NULL (no datagram yet): all zero.
 */
void fq_decoder_print_totals(struct fq_decoder *d, struct fq_out *o);

#endif
