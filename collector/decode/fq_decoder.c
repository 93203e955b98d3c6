/*
 * fq_decoder.c - the decoder entry points: one datagram in, canonical
 * records out in batches.
 *
 * A datagram is first attributed to its exporter session (which applies
 * --allow and the session cap), then dispatched on its 16-bit version field
 * to the NetFlow v5 (nf5.c), v9 (nf9.c) or IPFIX (ipfix_fixbuf.c) decoder.
 * Decoders fill the batch in struct fq_decoder in place and hand it to emit
 * every FQ__BATCH records, so nothing is allocated per record.
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
#include "exporter.h"
#include "fq_error.h"
#include "ipfix_fixbuf.h"

#include <stdlib.h>
#include <string.h>

int
fq_decoder_new(struct fq_decoder **out, const struct fq_decoder_opts *opts)
{
	*out = NULL;
	struct fq_decoder *d = calloc(1, sizeof *d);
	if (d == NULL)
		return -FQ_ENOMEM;
	if (opts)
		d->opts = *opts;
	d->max_templates = d->opts.max_templates ? d->opts.max_templates
						 : FQ__DEFAULT_MAX_TEMPLATES;
	d->template_timeout_ms = d->opts.template_timeout_ms > 0
		? d->opts.template_timeout_ms : FQ__DEFAULT_TEMPLATE_TIMEOUT_MS;
	d->exporter_idle_ms = d->opts.exporter_idle_ms > 0
		? d->opts.exporter_idle_ms : FQ__DEFAULT_EXPORTER_IDLE_MS;
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
	fq__sessions_free_all(d);
	fq__ipfix_model_free(d->ipfix_model);
	free(d);
}

void
fq__flush(struct fq__ctx *c)
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

int
fq_decoder_datagram(struct fq_decoder *d, const struct fq_datagram *dg,
		    fq_emit_fn emit, void *ctx)
{
	int64_t now = dg->arrival_ms;
	if (now > d->clock_ms)
		d->clock_ms = now;
	if (now > 0 && d->clock_ms - d->expire_ms >= 1000) {
		d->expire_ms = d->clock_ms;
		fq__sessions_expire(d, d->clock_ms);
	}

	d->datagrams++;
	struct fq_exporter *ex = fq__session_get(d, dg);
	if (ex == NULL)
		return 0;       /* counted as refused, session_limit or no_memory */
	ex->datagrams++;
	if (now > ex->last_ms)
		ex->last_ms = now;
	if (ex->transport == FQ_TRANSPORT_UDP && now > 0 &&
	    ex->last_ms - ex->tpl_check_ms >= 1000)
		fq__templates_expire(d, ex, ex->last_ms);

	struct fq__ctx c = {
		.d = d, .ex = ex, .dg = dg, .emit = emit, .emit_ctx = ctx,
		.rc = 0, .n = 0, .now_ms = now,
	};
	if (dg->len < 4) {
		fq__malformed(&c, FQ__MAL_SHORT, "%zu bytes", dg->len);
		return 0;
	}
	switch (fq__be16(dg->data)) {
	case 5:
		fq__nf5_decode(&c, dg->data, dg->len);
		break;
	case 9:
		fq__nf9_decode(&c, dg->data, dg->len);
		break;
	case 10:
		fq__ipfix_decode(&c, dg->data, dg->len);
		break;
	default:
		fq__malformed(&c, FQ__MAL_VERSION, "version %u",
			      fq__be16(dg->data));
		break;
	}
	fq__flush(&c);
	if (!c.malformed)
		ex->decoded++;
	return c.rc;
}

void
fq_decoder_expire(struct fq_decoder *d, int64_t now_ms)
{
	if (now_ms > d->clock_ms)
		d->clock_ms = now_ms;
	d->expire_ms = d->clock_ms;
	fq__sessions_expire(d, d->clock_ms);
}

void
fq_decoder_print_stats(struct fq_decoder *d, struct fq_out *o, int json)
{
	fq__print_stats(d, o, json);
}

void
fq_decoder_print_totals(struct fq_decoder *d, struct fq_out *o)
{
	fq__print_totals(d, o);
}
