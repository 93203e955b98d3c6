/*
 * tpl_persist.c - a decoder's templates into and out of the template
 * state file (--state-dir; session/tpl_state.h has the file).
 *
 * Saving walks the UDP exporters' v9 and IPFIX domains: each template
 * whose field specifiers were kept (fq__tpl_keep_raw) becomes an entry
 * with a datagram announcing it alone.  IPFIX over TCP is not saved: its
 * templates live as long as the connection (RFC 7011, 8.1), and a new
 * connection announces them again.
 *
 * Restoring feeds each entry's datagram through fq_decoder_datagram(),
 * stamped with the template's own arrival time, so the template is
 * checked and compiled (and libfixbuf told of it) by the code that took
 * it from the network, and expires when it would have.  The domain's
 * header state is then set as it was, so that the exporter's next
 * datagram is neither a sequence loss nor an exporter restart; and the
 * exporters' counters start at zero, as after any start.
 */
#include "decode.h"
#include "fq_decoder.h"
#include "fq_error.h"
#include "template_engine.h"
#include "tpl_state.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static void
wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

/* The fields of an IPFIX template from its specifiers (an enterprise
 * element takes 8 bytes, another 4). */
static unsigned
count_ipfix_fields(const struct fq__tpl *t)
{
	const uint8_t *p = fq__tpl_raw(t);
	unsigned n = 0;
	for (size_t off = 0; off + 4 <= t->raw_len; n++)
		off += (p[off] & 0x80) ? 8 : 4;
	return n;
}

/*
 * A datagram announcing template t of dom alone into buf (room for
 * 16 + 4 + 6 + raw + 3 bytes); its length.
 */
static size_t
announce(const struct fq__domain *dom, const struct fq__tpl *t, uint8_t *buf)
{
	int v9 = dom->version == 9;
	size_t hdr = v9 ? 20 : 16;
	size_t rec = (t->is_options ? 6 : 4) + t->raw_len;
	size_t set = 4 + rec;
	if (v9)
		set = (set + 3) & ~(size_t)3;   /* flowsets end on 32 bits */
	memset(buf, 0, hdr + set);
	uint8_t *s = buf + hdr, *r = s + 4;
	/* v9 counts specifiers in bytes for options, IPFIX in fields; the
	 * number of fields of a template is its specifiers / 4 (v9) or as
	 * compiled (IPFIX specifiers may carry enterprise numbers). */
	unsigned nf = v9 ? t->raw_len / 4u : count_ipfix_fields(t);
	wr16(r, t->id);
	if (v9 && t->is_options) {
		wr16(r + 2, t->scope_count * 4u);
		wr16(r + 4, (nf - t->scope_count) * 4u);
	} else {
		wr16(r + 2, nf);
		if (t->is_options)
			wr16(r + 4, t->scope_count);
	}
	memcpy(r + (t->is_options ? 6 : 4), fq__tpl_raw(t), t->raw_len);
	wr16(s, v9 ? (t->is_options ? 1u : 0u) : (t->is_options ? 3u : 2u));
	wr16(s + 2, (unsigned)set);
	if (v9) {
		wr16(buf, 9);
		wr16(buf + 2, 1);
		wr32(buf + 4, dom->last_uptime);
		wr32(buf + 8, dom->last_export_secs);
		wr32(buf + 12, dom->last_seq);
		wr32(buf + 16, dom->id);
	} else {
		wr16(buf, 10);
		wr16(buf + 2, (unsigned)(hdr + set));
		wr32(buf + 4, dom->last_export_secs);
		wr32(buf + 8, dom->seq_next);
		wr32(buf + 12, dom->id);
	}
	return hdr + set;
}

static void
entry_of(struct fq_tpl_state_entry *e, const struct fq_exporter *ex,
	 const struct fq__domain *dom, const struct fq__tpl *t,
	 const char *source, uint8_t *buf)
{
	memset(e, 0, sizeof *e);
	e->source = (char *)source;
	memcpy(e->addr, ex->addr, 16);
	e->is6 = ex->is6;
	e->port = ex->port;
	e->version = dom->version;
	e->domain = dom->id;
	e->seq_valid = (uint8_t)dom->seq_valid;
	e->have_last = (uint8_t)dom->have_last;
	e->have_sysinit = (uint8_t)dom->have_sysinit;
	e->seq_next = dom->seq_next;
	e->fixbuf_seq = dom->fixbuf_seq;
	e->last_seq = dom->last_seq;
	e->last_uptime = dom->last_uptime;
	e->last_export_secs = dom->last_export_secs;
	e->sampling = dom->sampling;
	e->sysinit_ms = dom->sysinit_ms;
	e->n_samplers = (uint8_t)(dom->samplers == NULL ? 0
				  : dom->n_samplers < FQ_TPL_STATE_SAMPLERS
				  ? dom->n_samplers : FQ_TPL_STATE_SAMPLERS);
	for (unsigned i = 0; i < e->n_samplers; i++) {
		e->sampler_id[i] = dom->samplers[i].id;
		e->sampler_interval[i] = dom->samplers[i].interval;
	}
	e->refreshed_ms = t->refreshed_ms;
	e->dgram = buf;
	e->dgram_len = (uint32_t)announce(dom, t, buf);
}

int
fq_decoder_templates_save(struct fq_decoder *d,
			  const char *(*spec_of)(void *ctx, uint32_t local_id),
			  void *ctx, struct fq_tpl_state *st)
{
	static uint8_t buf[20 + 4 + 6 + FQ__TPL_RAW_MAX + 4];
	for (struct fq_exporter *ex = d->sessions.head; ex; ex = ex->next) {
		const char *src = spec_of(ctx, ex->local_id);
		if (ex->transport != FQ_TRANSPORT_UDP || src == NULL)
			continue;
		for (struct fq__domain *dom = ex->domains; dom; dom = dom->next) {
			if (dom->version != 9 && dom->version != 10)
				continue;
			for (int b = 0; b < FQ__TPL_BUCKETS; b++)
				for (const struct fq__tpl *t = dom->tpl[b]; t;
				     t = t->next) {
					if (t->raw_len == 0)
						continue;
					struct fq_tpl_state_entry e;
					entry_of(&e, ex, dom, t, src, buf);
					if (fq_tpl_state_add(st, &e) < 0)
						return -FQ_ENOMEM;
				}
		}
	}
	return 0;
}

uint64_t
fq_decoder_templates_signature(const struct fq_decoder *d)
{
	/* FNV-1a over what a save writes but the times and sequences. */
	uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
	for (const struct fq_exporter *ex = d->sessions.head; ex; ex = ex->next) {
		if (ex->transport != FQ_TRANSPORT_UDP)
			continue;
		for (const struct fq__domain *dom = ex->domains; dom;
		     dom = dom->next)
			for (int b = 0; b < FQ__TPL_BUCKETS; b++)
				for (const struct fq__tpl *t = dom->tpl[b]; t;
				     t = t->next) {
					MIX(ex->local_id);
					MIX(ex->port);
					for (int i = 0; i < 16; i++)
						MIX(ex->addr[i]);
					MIX(dom->id);
					MIX(t->id);
					MIX(dom->sampling);
					const uint8_t *r = fq__tpl_raw(t);
					for (unsigned i = 0; i < t->raw_len; i++)
						MIX(r[i]);
				}
	}
#undef MIX
	return h;
}

/* The exporter of entry e on local_id, as fq__session_get() keys it. */
static void
datagram_of(const struct fq_tpl_state_entry *e, uint32_t local_id,
	    struct fq_datagram *dg)
{
	memset(dg, 0, sizeof *dg);
	if (e->is6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&dg->src;
		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, e->addr, 16);
		a->sin6_port = htons(e->port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&dg->src;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, e->addr + 12, 4);   /* as exporter.c keys it */
		a->sin_port = htons(e->port);
	}
	dg->data = e->dgram;
	dg->len = e->dgram_len;
	dg->local_id = local_id;
	dg->transport = FQ_TRANSPORT_UDP;
	dg->arrival_ms = e->refreshed_ms;
}

static int
no_records(void *ctx, struct fq_record *r, size_t n)
{
	(void)r;
	*(size_t *)ctx += n;
	return 0;
}

/* The domain's header state and options as they were saved. */
static void
set_domain(struct fq__domain *dom, const struct fq_tpl_state_entry *e)
{
	dom->seq_valid = e->seq_valid;
	dom->seq_next = e->seq_next;
	dom->fixbuf_seq = e->fixbuf_seq;
	dom->have_last = e->have_last;
	dom->last_seq = e->last_seq;
	dom->last_uptime = e->last_uptime;
	dom->last_export_secs = e->last_export_secs;
	dom->have_sysinit = e->have_sysinit;
	dom->sysinit_ms = e->sysinit_ms;
	/* Through the domain's own setter: it makes the table (counted). */
	for (unsigned i = 0; i < e->n_samplers && i < FQ__SAMPLERS; i++)
		fq__domain_set_sampler(dom, 1, e->sampler_id[i],
				       e->sampler_interval[i]);
	dom->sampling = e->sampling;   /* the default, set last */
}

/* A restore is not traffic: every exporter's counters start at zero. */
static void
clear_counters(struct fq__sessions *s, int64_t now_ms)
{
	for (struct fq_exporter *ex = s->head; ex; ex = ex->next) {
		ex->datagrams = ex->decoded = ex->records = 0;
		ex->options_records = 0;
		memset(ex->malformed, 0, sizeof ex->malformed);
		memset(ex->anomalies, 0, sizeof ex->anomalies);
		ex->unknown_tpl_records = ex->unknown_tpl_sets = 0;
		ex->seq_lost = ex->seq_resets = ex->restarts = 0;
		ex->templates_refused = ex->templates_expired = 0;
		ex->templates_withdrawn = 0;
		/* Idle from now, not from its templates' age. */
		ex->first_ms = ex->last_ms = ex->tpl_check_ms = now_ms;
	}
	s->datagrams = 0;
}

/* The domain of entry e after its datagram, or NULL. */
static struct fq__domain *
domain_of(struct fq_decoder *d, const struct fq_datagram *dg,
	  const struct fq_tpl_state_entry *e, const struct fq__tpl **t,
	  int64_t now_ms)
{
	struct fq_exporter *ex = fq__session_get(&d->sessions, dg);
	if (ex == NULL)
		return NULL;
	/* Not idle since its oldest template: it is being restored now. */
	if (ex->last_ms < now_ms)
		ex->last_ms = now_ms;
	for (struct fq__domain *dom = ex->domains; dom; dom = dom->next)
		if (dom->version == e->version && dom->id == e->domain) {
			uint16_t tid = (uint16_t)(e->dgram[(e->version == 9 ? 20 : 16)
							   + 4] << 8 |
						  e->dgram[(e->version == 9 ? 20 : 16)
							   + 5]);
			*t = fq__tpl_find(dom, tid);
			return dom;
		}
	return NULL;
}

int
fq_decoder_templates_restore(struct fq_decoder *d,
			     const struct fq_tpl_state *st,
			     int (*local_id_of)(void *ctx, const char *spec,
						uint32_t *id),
			     void *ctx, int64_t now_ms,
			     struct fq_tpl_restore *r)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < st->n; i++) {
		const struct fq_tpl_state_entry *e = &st->v[i];
		uint32_t id;
		if (local_id_of(ctx, e->source, &id) < 0) {
			r->no_source++;
			continue;
		}
		/* (A file's time is not trusted to subtract without
		 * overflow, nor to lie in the future.) */
		if (e->refreshed_ms < now_ms - d->sessions.template_timeout_ms) {
			r->expired++;
			continue;
		}
		struct fq_datagram dg;
		datagram_of(e, id, &dg);
		if (dg.arrival_ms > now_ms)
			dg.arrival_ms = now_ms;
		size_t recs = 0;
		fq_decoder_datagram(d, &dg, no_records, &recs);
		const struct fq__tpl *t = NULL;
		struct fq__domain *dom = domain_of(d, &dg, e, &t, now_ms);
		if (dom == NULL || t == NULL || recs != 0) {
			r->refused++;
			continue;
		}
		set_domain(dom, e);
		r->restored++;
	}
	clear_counters(&d->sessions, now_ms);
	return 0;
}
