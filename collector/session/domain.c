/*
 * domain.c - observation domains inside an exporter session: their
 * templates (stored, replaced, withdrawn, capped per exporter, expired on
 * UDP), sequence-number accounting and sampler intervals.
 *
 * Templates are found once per set, never per record, so a small hash of
 * chains by template id is enough.  The per-exporter caps count templates
 * and their compiled bytes (fq__tpl_size) over all domains together.
 */
#include "exporter.h"
#include "fq_error.h"

#include <stdlib.h>
#include <string.h>

void
fq__domain_free(struct fq__domain *dom)
{
	for (int i = 0; i < FQ__TPL_BUCKETS; i++) {
		struct fq__tpl *t = dom->tpl[i];
		while (t) {
			struct fq__tpl *n = t->next;
			free(t);
			t = n;
		}
	}
	free(dom);
}

struct fq__domain *
fq__domain_get(struct fq_exporter *ex, uint8_t version, uint32_t id,
	       enum fq__mal *why)
{
	struct fq__domain **pp = &ex->domains;
	for (struct fq__domain *dom = *pp; dom; pp = &dom->next, dom = *pp) {
		if (dom->id == id && dom->version == version) {
			/* Move to front: one exporter usually uses one. */
			if (dom != ex->domains) {
				*pp = dom->next;
				dom->next = ex->domains;
				ex->domains = dom;
			}
			return dom;
		}
	}
	if (ex->n_domains >= FQ__MAX_DOMAINS) {
		*why = FQ__MAL_DOMAIN_LIMIT;
		return NULL;
	}
	struct fq__domain *dom = calloc(1, sizeof *dom);
	if (dom == NULL) {
		*why = FQ__MAL_NO_MEMORY;
		return NULL;
	}
	dom->id = id;
	dom->version = version;
	dom->next = ex->domains;
	ex->domains = dom;
	ex->n_domains++;
	return dom;
}

struct fq__tpl *
fq__tpl_find(const struct fq__domain *dom, uint16_t id)
{
	for (struct fq__tpl *t = dom->tpl[id % FQ__TPL_BUCKETS]; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

int
fq__tpl_put(struct fq__sessions *s, struct fq_exporter *ex,
	    struct fq__domain *dom, struct fq__tpl *tpl)
{
	struct fq__tpl **pp = &dom->tpl[tpl->id % FQ__TPL_BUCKETS];
	while (*pp && (*pp)->id != tpl->id)
		pp = &(*pp)->next;
	struct fq__tpl *old = *pp;
	size_t after = ex->tpl_bytes + fq__tpl_size(tpl) -
		       (old ? fq__tpl_size(old) : 0);
	if ((old == NULL && ex->n_templates >= s->max_templates) ||
	    after > FQ__MAX_TEMPLATE_BYTES) {
		ex->templates_refused++;
		fq_log_rl(s->rl, FQ_LOG_WARN,
			  "exporter template cap (%u templates, %u bytes) "
			  "reached, template %u ignored", s->max_templates,
			  FQ__MAX_TEMPLATE_BYTES, tpl->id);
		free(tpl);
		return -FQ_ELIMIT;
	}
	ex->tpl_bytes = after;
	if (old) {
		/* Redefinition (or refresh): replace in place. */
		tpl->next = old->next;
		*pp = tpl;
		free(old);
		return 0;
	}
	tpl->next = NULL;
	*pp = tpl;
	dom->n_tpl++;
	ex->n_templates++;
	return 0;
}

int
fq__tpl_remove(struct fq_exporter *ex, struct fq__domain *dom, uint16_t id)
{
	struct fq__tpl **pp = &dom->tpl[id % FQ__TPL_BUCKETS];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct fq__tpl *t = *pp;
			*pp = t->next;
			ex->tpl_bytes -= fq__tpl_size(t);
			free(t);
			dom->n_tpl--;
			ex->n_templates--;
			ex->templates_withdrawn++;
			return 1;
		}
	}
	return 0;
}

void
fq__seq(struct fq_exporter *ex, struct fq__domain *dom, uint32_t seq,
	int64_t advance)
{
	if (dom->seq_valid) {
		uint32_t gap = seq - dom->seq_next;
		if (gap != 0) {
			/*
			 * A forward jump of less than 2^30 is loss; anything
			 * else (backwards, or absurdly far) is an exporter
			 * restart or reordering: count a reset, resync.
			 */
			if (gap < (1u << 30))
				ex->seq_lost += gap;
			else
				ex->seq_resets++;
		}
	}
	if (advance < 0) {
		dom->seq_valid = 0;
		return;
	}
	dom->seq_valid = 1;
	dom->seq_next = seq + (uint32_t)advance;
}

uint32_t
fq__domain_sampling(const struct fq__domain *dom, int have_id,
		    uint32_t sampler_id)
{
	if (have_id) {
		for (unsigned i = 0; i < dom->n_samplers; i++)
			if (dom->samplers[i].id == sampler_id)
				return dom->samplers[i].interval;
	}
	return dom->sampling;
}

void
fq__domain_set_sampler(struct fq__domain *dom, int have_id,
		       uint32_t sampler_id, uint32_t interval)
{
	/*
	 * The domain default is the last interval announced, with or
	 * without a sampler id: most exporters use one sampler, and their
	 * data records do not always name it.
	 */
	dom->sampling = interval;
	if (!have_id)
		return;
	for (unsigned i = 0; i < dom->n_samplers; i++) {
		if (dom->samplers[i].id == sampler_id) {
			dom->samplers[i].interval = interval;
			return;
		}
	}
	unsigned i = dom->n_samplers < FQ__SAMPLERS ? dom->n_samplers++
						    : sampler_id % FQ__SAMPLERS;
	dom->samplers[i].id = sampler_id;
	dom->samplers[i].interval = interval;
}

void
fq__templates_expire(struct fq__sessions *s, struct fq_exporter *ex,
		     int64_t now_ms)
{
	ex->tpl_check_ms = now_ms;
	for (struct fq__domain *dom = ex->domains; dom; dom = dom->next) {
		for (int i = 0; i < FQ__TPL_BUCKETS; i++) {
			struct fq__tpl **pp = &dom->tpl[i];
			while (*pp) {
				struct fq__tpl *t = *pp;
				if (now_ms - t->refreshed_ms <=
				    s->template_timeout_ms) {
					pp = &t->next;
					continue;
				}
				*pp = t->next;
				if (t->version == 10 && ex->ipfix)
					s->ipfix_forget(ex->ipfix, dom->id,
							t->id);
				ex->tpl_bytes -= fq__tpl_size(t);
				free(t);
				dom->n_tpl--;
				ex->n_templates--;
				ex->templates_expired++;
			}
		}
	}
}

void
fq__domain_restart(struct fq__sessions *s, struct fq_exporter *ex,
		   struct fq__domain *dom)
{
	ex->restarts++;
	for (int i = 0; i < FQ__TPL_BUCKETS; i++) {
		struct fq__tpl *t = dom->tpl[i];
		while (t) {
			struct fq__tpl *n = t->next;
			if (t->version == 10 && ex->ipfix)
				s->ipfix_forget(ex->ipfix, dom->id, t->id);
			fq__tpl_remove(ex, dom, t->id);
			t = n;
		}
	}
	/* The restarted exporter's options start over too. */
	dom->sampling = 0;
	dom->n_samplers = 0;
	dom->have_sysinit = 0;
	char ip[FQ_IP_STRLEN];
	fq_ip_format(&ex->ip, ip);
	fq_log_rl(s->rl, FQ_LOG_INFO, "exporter %s port %u: domain %u "
		  "restarted (sequence and clock reset): its templates are "
		  "withdrawn", ip, ex->port, dom->id);
}

int
fq__domain_header(struct fq__sessions *s, struct fq_exporter *ex,
		  struct fq__domain *dom, uint8_t version, uint32_t seq,
		  uint32_t export_secs, uint32_t uptime)
{
	int restart = 0;
	/* Back: a wrap-around distance of less than 2^31 behind. */
	uint32_t behind = dom->last_seq - seq;
	int back = dom->have_last && behind != 0 && behind < (1u << 31);
	if (back) {
		if (version == 9) {
			int64_t boot = (int64_t)export_secs * 1000 - uptime;
			int64_t was = (int64_t)dom->last_export_secs * 1000 -
				      dom->last_uptime;
			/* export_secs has 1 s steps: 2 s is past jitter. */
			restart = uptime < dom->last_uptime &&
				  boot > was + 2000;
		} else {
			restart = export_secs >= dom->last_export_secs &&
				  seq < dom->last_seq / 2;
		}
	}
	if (restart)
		fq__domain_restart(s, ex, dom);
	else if (back)
		return 0;       /* a late datagram: the last one stays */
	dom->have_last = 1;
	dom->last_seq = seq;
	dom->last_uptime = uptime;
	dom->last_export_secs = export_secs;
	return restart;
}
