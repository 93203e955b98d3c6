/*
 * fq_decoder.c - the decoder entry points: one datagram in, canonical
 * records out in batches.
 *
 * A datagram is first attributed to its exporter session (which applies
 * --allow and the session cap, session/exporter.c), then handed to the
 * first format of the registry whose match() accepts its header
 * (formats.c: NetFlow v5, v9, IPFIX).  Decoders fill the batch in struct
 * fq_decoder in place and hand it to emit every FQ__BATCH records, so
 * nothing is allocated per record.
 *
 * Time-based housekeeping runs on arrival time: the wall clock live, the
 * capture time on pcap replay.  Idle sessions are found on the largest
 * arrival time seen (once per second of it); a UDP template's age is
 * measured on its own exporter's arrival clock, checked at that exporter's
 * datagrams, so replayed captures of different dates do not age each
 * other's templates.
 * raw:/ipfix: replay has no arrival time (0) and never expires anything,
 * because a template file and its data file may have been captured days
 * apart and must still work together.
 */
#include "decode.h"
#include "fq_error.h"
#include "ipfix_fixbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The limits of the options, or their defaults, into the session table. */
static void
sessions_init(struct fq__sessions *s, const struct fq_decoder_opts *o,
	      struct fq_ratelimit *rl)
{
	s->max_templates = o->max_templates ? o->max_templates
					    : FQ__DEFAULT_MAX_TEMPLATES;
	s->template_timeout_ms = o->template_timeout_ms > 0
		? o->template_timeout_ms : FQ__DEFAULT_TEMPLATE_TIMEOUT_MS;
	s->exporter_idle_ms = o->exporter_idle_ms > 0
		? o->exporter_idle_ms : FQ__DEFAULT_EXPORTER_IDLE_MS;
	s->max_sessions = o->max_sessions ? o->max_sessions
					  : FQ__DEFAULT_MAX_SESSIONS;
	s->max_bytes = o->max_session_bytes ? o->max_session_bytes
					    : FQ__DEFAULT_MAX_SESSION_BYTES;
	s->allow = o->allow;
	s->allow_len = o->allow_len;
	s->n_allow = o->n_allow;
	s->rl = rl;
	s->keep_raw = o->keep_templates;
	s->ipfix_free = fq__ipfix_session_free;
	s->ipfix_forget = fq__ipfix_forget;
}

int
fq_decoder_new(struct fq_decoder **out, const struct fq_decoder_opts *opts)
{
	*out = NULL;
	/* Aligned for its record batch (decode.h). */
	struct fq_decoder *d = aligned_alloc(_Alignof(struct fq_decoder),
					     sizeof *d);
	if (d == NULL)
		return -FQ_ENOMEM;
	memset(d, 0, sizeof *d);
	if (opts)
		d->opts = *opts;
	sessions_init(&d->sessions, &d->opts, &d->rl);
	d->formats = fq__formats;
	d->n_formats = fq__n_formats;
	d->ipfix_own = d->opts.ipfix == FQ_IPFIX_NATIVE;
	int rc = fq__ipfix_model_new(&d->ipfix_model);
	if (rc < 0) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void
fq_decoder_free(struct fq_decoder *d)
{
	if (d == NULL)
		return;
	fq__sessions_free_all(&d->sessions);
	fq__ipfix_model_free(d->ipfix_model);
	free(d);
}

void
fq__decoder_set_formats(struct fq_decoder *d,
			const struct fq__format *formats, size_t n)
{
	d->formats = formats;
	d->n_formats = n;
}

void
fq__flush(struct fq__dctx *c)
{
	if (c->n == 0)
		return;
	if (c->rc == 0) {
		int rc = c->emit(c->emit_ctx, c->d->batch, c->n);
		if (rc < 0)
			c->rc = rc;
	}
	c->n = 0;
}

void
fq__malformed(struct fq__dctx *c, enum fq__mal why, const char *fmt, ...)
{
	/*
	 * One reason per datagram: an IPFIX message whose record overran its
	 * set still hands its templates to libfixbuf, which may then fail on
	 * it as well; counting both would break datagrams = decoded +
	 * malformed.
	 */
	if (c->malformed)
		return;
	c->malformed = 1;
	c->ex->malformed[why]++;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char ip[FQ_IP_STRLEN];
	fq_ip_format(&c->ex->ip, ip);
	fq_log_rl(&c->d->rl, FQ_LOG_WARN,
		  "exporter %s port %u: malformed datagram dropped (%s): %s",
		  ip, c->ex->port, fq__mal_names[why], msg);
}

struct fq__domain *
fq__dctx_no_domain(struct fq__dctx *c, enum fq__mal why, uint32_t id)
{
	if (why == FQ__MAL_DOMAIN_LIMIT)
		fq__malformed(c, why, "more than %d observation domains",
			      FQ__MAX_DOMAINS);
	else
		fq__malformed(c, why, "no memory for observation domain %u",
			      id);
	return NULL;
}

/* The registry row that decodes this datagram, or NULL. */
static const struct fq__format *
format_of(const struct fq_decoder *d, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < d->n_formats; i++)
		if (d->formats[i].match(p, len))
			return &d->formats[i];
	return NULL;
}

int
fq_decoder_datagram(struct fq_decoder *d, const struct fq_datagram *dg,
		    fq_emit_fn emit, void *ctx)
{
	int64_t now = dg->arrival_ms;
	if (now > d->clock_ms)
		d->clock_ms = now;
	if (now > 0 && d->clock_ms - d->expire_ms >= 1000) {
		d->expire_ms = d->clock_ms;
		fq__sessions_expire(&d->sessions, d->clock_ms);
	}

	struct fq_exporter *ex = fq__session_get(&d->sessions, dg);
	if (ex == NULL)
		return 0;       /* counted as refused, session_limit or no_memory */
	ex->datagrams++;
	if (now > ex->last_ms)
		ex->last_ms = now;
	if (ex->transport == FQ_TRANSPORT_UDP && now > 0 &&
	    ex->last_ms - ex->tpl_check_ms >= 1000)
		fq__templates_expire(&d->sessions, ex, ex->last_ms);

	struct fq__dctx c = {
		.d = d, .ex = ex, .dg = dg, .emit = emit, .emit_ctx = ctx,
		.rc = 0, .n = 0, .now_ms = now,
	};
	if (dg->len < 4) {
		fq__malformed(&c, FQ__MAL_SHORT, "%zu bytes", dg->len);
		return 0;
	}
	const struct fq__format *f = format_of(d, dg->data, dg->len);
	if (f != NULL)
		f->decode(&c, dg->data, dg->len);
	else
		fq__malformed(&c, FQ__MAL_VERSION, "version %u",
			      fq__be16(dg->data));
	fq__flush(&c);
	if (!c.malformed)
		ex->decoded++;
	/* Over the byte cap (templates, a new session): evict the oldest. */
	if (d->sessions.bytes > d->sessions.max_bytes)
		fq__sessions_trim(&d->sessions, ex);
	return c.rc;
}

void
fq_decoder_expire(struct fq_decoder *d, int64_t now_ms)
{
	if (now_ms > d->clock_ms)
		d->clock_ms = now_ms;
	d->expire_ms = d->clock_ms;
	fq__sessions_expire(&d->sessions, d->clock_ms);
}

int
fq_decoder_forget(struct fq_decoder *d, const struct sockaddr_storage *src,
		  uint32_t local_id)
{
	/* The session key is made from a datagram's source and socket. */
	struct fq_datagram dg;
	memset(&dg, 0, sizeof dg);
	dg.src = *src;
	dg.local_id = local_id;
	dg.transport = FQ_TRANSPORT_TCP;
	return fq__session_close(&d->sessions, &dg);
}

void
fq_decoder_print_stats(struct fq_decoder *d, struct fq_out *o, int json)
{
	fq__print_stats(&d->sessions, o, json);
}

void
fq_decoder_print_totals(struct fq_decoder *d, struct fq_out *o)
{
	fq__print_totals(d ? &d->sessions : NULL, o);
}
