/*
 * exporter.c - the exporter session table: sessions keyed by (source
 * address, source port, local socket), observation domains inside them,
 * template storage with a per-exporter cap and UDP lifetime, sequence-number
 * accounting and the counters printed by `flowq stats`.
 *
 * Lookups happen once per datagram (session) and once per set (template),
 * never per record, so plain chained hash tables are enough.  The table
 * grows by doubling; its size is capped at FQ__MAX_SESSIONS, beyond which a
 * datagram from a new exporter is dropped and counted on the decoder: a
 * spoofed-source flood must not grow memory without bound.
 */
#include "exporter.h"
#include "fq_error.h"
#include "fq_out.h"
#include "ipfix_fixbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fq__mal_names[FQ__MAL_COUNT] = {
	[FQ__MAL_SHORT] = "short",
	[FQ__MAL_VERSION] = "version",
	[FQ__MAL_V5_COUNT] = "v5_count",
	[FQ__MAL_V5_LENGTH] = "v5_length",
	[FQ__MAL_V9_COUNT] = "v9_count",
	[FQ__MAL_LENGTH] = "length",
	[FQ__MAL_SET_LENGTH] = "set_length",
	[FQ__MAL_SET_ID] = "set_id",
	[FQ__MAL_TEMPLATE] = "template",
	[FQ__MAL_RECORD] = "record",
	[FQ__MAL_DOMAIN_LIMIT] = "domain_limit",
	[FQ__MAL_LIBFIXBUF] = "libfixbuf",
	[FQ__MAL_NO_MEMORY] = "no_memory",
};

/* Normalised key of a datagram's source; IPv4-mapped IPv6 counts as IPv4. */
struct key {
	uint8_t addr[16];
	uint8_t is6;
	uint16_t port;
	uint32_t local_id;
};

static void
key_of(const struct fq_datagram *dg, struct key *k)
{
	memset(k, 0, sizeof *k);
	k->local_id = dg->local_id;
	if (dg->src.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
			(const struct sockaddr_in6 *)&dg->src;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
						    0, 0, 0xff, 0xff };
		k->port = ntohs(s6->sin6_port);
		if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0) {
			memcpy(k->addr + 12, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			memcpy(k->addr, s6->sin6_addr.s6_addr, 16);
			k->is6 = 1;
		}
	} else if (dg->src.ss_family == AF_INET) {
		const struct sockaddr_in *s4 =
			(const struct sockaddr_in *)&dg->src;
		k->port = ntohs(s4->sin_port);
		memcpy(k->addr + 12, &s4->sin_addr.s_addr, 4);
	}
	/* Any other family (replay of raw:/ipfix:) is 0.0.0.0 port 0. */
}

static struct fq_ip
key_ip(const struct key *k)
{
	if (k->is6)
		return fq_ip_v6(k->addr);
	return fq_ip_v4(fq__be32(k->addr + 12));
}

static size_t
key_hash(const struct key *k)
{
	/* FNV-1a over the key bytes: cheap and good enough per datagram. */
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < 16; i++)
		h = (h ^ k->addr[i]) * 1099511628211ULL;
	h = (h ^ k->port) * 1099511628211ULL;
	h = (h ^ k->local_id) * 1099511628211ULL;
	h = (h ^ k->is6) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 29));
}

static int
key_eq(const struct fq_exporter *ex, const struct key *k)
{
	return ex->port == k->port && ex->local_id == k->local_id &&
	       ex->is6 == k->is6 && memcmp(ex->addr, k->addr, 16) == 0;
}

static int
allowed(const struct fq_decoder *d, const struct fq_ip *ip)
{
	if (d->opts.n_allow == 0)
		return 1;
	for (size_t i = 0; i < d->opts.n_allow; i++) {
		const struct fq_ip *p = &d->opts.allow[i];
		if (p->is6 == ip->is6 &&
		    fq_ip_in_prefix(ip, p, d->opts.allow_len[i]))
			return 1;
	}
	return 0;
}

static int
grow(struct fq_decoder *d)
{
	size_t nb = d->n_buckets ? d->n_buckets * 2 : 64;
	struct fq_exporter **b = calloc(nb, sizeof *b);
	if (b == NULL)
		return -FQ_ENOMEM;
	for (struct fq_exporter *ex = d->head; ex; ex = ex->next) {
		struct key k;
		memcpy(k.addr, ex->addr, 16);
		k.is6 = ex->is6;
		k.port = ex->port;
		k.local_id = ex->local_id;
		size_t h = key_hash(&k) & (nb - 1);
		ex->hnext = b[h];
		b[h] = ex;
	}
	free(d->buckets);
	d->buckets = b;
	d->n_buckets = nb;
	return 0;
}

struct fq_exporter *
fq__session_get(struct fq_decoder *d, const struct fq_datagram *dg)
{
	struct key k;
	key_of(dg, &k);
	struct fq_exporter *ex = d->last;
	if (ex && key_eq(ex, &k))
		return ex;
	if (d->n_buckets) {
		for (ex = d->buckets[key_hash(&k) & (d->n_buckets - 1)]; ex;
		     ex = ex->hnext)
			if (key_eq(ex, &k))
				return d->last = ex;
	}
	struct fq_ip ip = key_ip(&k);
	if (!allowed(d, &ip)) {
		d->refused++;
		return NULL;
	}
	if (d->n_sessions >= FQ__MAX_SESSIONS) {
		d->session_limit++;
		fq_log_rl(&d->rl, FQ_LOG_WARN,
			  "exporter session table full (%d), datagram dropped",
			  FQ__MAX_SESSIONS);
		return NULL;
	}
	/*
	 * Out of memory: the datagram is dropped, and counted, so that the
	 * decoder's counters still account for every datagram it was given.
	 */
	if (d->n_sessions >= d->n_buckets && grow(d) < 0) {
		d->no_memory++;
		return NULL;
	}
	ex = calloc(1, sizeof *ex);
	if (ex == NULL) {
		d->no_memory++;
		return NULL;
	}
	memcpy(ex->addr, k.addr, 16);
	ex->is6 = k.is6;
	ex->port = k.port;
	ex->local_id = k.local_id;
	ex->transport = dg->transport;
	fq__ip_set(&ex->ip, &ip);
	ex->first_ms = ex->last_ms = ex->tpl_check_ms = dg->arrival_ms;
	size_t h = key_hash(&k) & (d->n_buckets - 1);
	ex->hnext = d->buckets[h];
	d->buckets[h] = ex;
	ex->prev = d->tail;
	if (d->tail)
		d->tail->next = ex;
	else
		d->head = ex;
	d->tail = ex;
	d->n_sessions++;
	return d->last = ex;
}

static size_t
tpl_size(const struct fq__tpl *t)
{
	return sizeof *t + t->n_ops * sizeof t->ops[0];
}

static void
tpl_free_domain(struct fq__domain *dom)
{
	for (int i = 0; i < FQ__TPL_BUCKETS; i++) {
		struct fq__tpl *t = dom->tpl[i];
		while (t) {
			struct fq__tpl *n = t->next;
			free(t);
			t = n;
		}
		dom->tpl[i] = NULL;
	}
	dom->n_tpl = 0;
}

void
fq__session_free(struct fq_decoder *d, struct fq_exporter *ex)
{
	/* Unlink from the hash chain and the list. */
	if (d->n_buckets) {
		struct key k;
		memcpy(k.addr, ex->addr, 16);
		k.is6 = ex->is6;
		k.port = ex->port;
		k.local_id = ex->local_id;
		struct fq_exporter **pp =
			&d->buckets[key_hash(&k) & (d->n_buckets - 1)];
		while (*pp && *pp != ex)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = ex->hnext;
	}
	if (ex->prev)
		ex->prev->next = ex->next;
	else
		d->head = ex->next;
	if (ex->next)
		ex->next->prev = ex->prev;
	else
		d->tail = ex->prev;
	if (d->last == ex)
		d->last = NULL;
	d->n_sessions--;
	d->gone_datagrams += ex->datagrams;
	d->gone_decoded += ex->decoded;
	d->gone_records += ex->records;
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		d->gone_malformed += ex->malformed[i];

	struct fq__domain *dom = ex->domains;
	while (dom) {
		struct fq__domain *n = dom->next;
		tpl_free_domain(dom);
		free(dom);
		dom = n;
	}
	if (ex->ipfix)
		fq__ipfix_session_free(ex->ipfix);
	free(ex);
}

void
fq__sessions_free_all(struct fq_decoder *d)
{
	while (d->head)
		fq__session_free(d, d->head);
	free(d->buckets);
	d->buckets = NULL;
	d->n_buckets = 0;
}

void
fq__sessions_expire(struct fq_decoder *d, int64_t now_ms)
{
	struct fq_exporter *ex = d->head;
	while (ex) {
		struct fq_exporter *n = ex->next;
		/* TCP/file sessions end with their connection, not by idling. */
		if (ex->transport == FQ_TRANSPORT_UDP &&
		    now_ms - ex->last_ms > d->exporter_idle_ms) {
			d->expired_sessions++;
			fq__session_free(d, ex);
		} else if (ex->transport == FQ_TRANSPORT_UDP) {
			/*
			 * Template age is measured on the exporter's own
			 * arrival clock: replayed captures of different years
			 * must not age each other's templates.
			 */
			fq__templates_expire(d, ex, ex->last_ms);
		}
		ex = n;
	}
}

void
fq__templates_expire(struct fq_decoder *d, struct fq_exporter *ex,
		     int64_t now_ms)
{
	ex->tpl_check_ms = now_ms;
	for (struct fq__domain *dom = ex->domains; dom; dom = dom->next) {
		for (int i = 0; i < FQ__TPL_BUCKETS; i++) {
			struct fq__tpl **pp = &dom->tpl[i];
			while (*pp) {
				struct fq__tpl *t = *pp;
				if (now_ms - t->refreshed_ms <=
				    d->template_timeout_ms) {
					pp = &t->next;
					continue;
				}
				*pp = t->next;
				if (t->version == 10 && ex->ipfix)
					fq__ipfix_forget(ex->ipfix, dom->id,
							 t->id);
				ex->tpl_bytes -= tpl_size(t);
				free(t);
				dom->n_tpl--;
				ex->n_templates--;
				ex->templates_expired++;
			}
		}
	}
}

struct fq__domain *
fq__domain_get(struct fq__ctx *c, uint8_t version, uint32_t id)
{
	struct fq_exporter *ex = c->ex;
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
		fq__malformed(c, FQ__MAL_DOMAIN_LIMIT,
			      "more than %d observation domains",
			      FQ__MAX_DOMAINS);
		return NULL;
	}
	struct fq__domain *dom = calloc(1, sizeof *dom);
	if (dom == NULL) {
		fq__malformed(c, FQ__MAL_NO_MEMORY, "no memory for observation "
			      "domain %u", id);
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
fq__tpl_put(struct fq__ctx *c, struct fq__domain *dom, struct fq__tpl *tpl)
{
	struct fq_exporter *ex = c->ex;
	struct fq__tpl **pp = &dom->tpl[tpl->id % FQ__TPL_BUCKETS];
	while (*pp && (*pp)->id != tpl->id)
		pp = &(*pp)->next;
	struct fq__tpl *old = *pp;
	size_t after = ex->tpl_bytes + tpl_size(tpl) - (old ? tpl_size(old) : 0);
	if ((old == NULL && ex->n_templates >= c->d->max_templates) ||
	    after > FQ__MAX_TEMPLATE_BYTES) {
		ex->templates_refused++;
		fq_log_rl(&c->d->rl, FQ_LOG_WARN,
			  "exporter template cap (%u templates, %u bytes) "
			  "reached, template %u ignored", c->d->max_templates,
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
fq__tpl_remove(struct fq__ctx *c, struct fq__domain *dom, uint16_t id)
{
	struct fq__tpl **pp = &dom->tpl[id % FQ__TPL_BUCKETS];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct fq__tpl *t = *pp;
			*pp = t->next;
			c->ex->tpl_bytes -= tpl_size(t);
			free(t);
			dom->n_tpl--;
			c->ex->n_templates--;
			c->ex->templates_withdrawn++;
			return 1;
		}
	}
	return 0;
}

void
fq__seq(struct fq__ctx *c, struct fq__domain *dom, uint32_t seq,
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
				c->ex->seq_lost += gap;
			else
				c->ex->seq_resets++;
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
fq__malformed(struct fq__ctx *c, enum fq__mal why, const char *fmt, ...)
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

static void
print_one(struct fq_exporter *ex, struct fq_out *o, int json)
{
	char ip[FQ_IP_STRLEN];
	fq_ip_format(&ex->ip, ip);
	uint64_t mal = 0;
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		mal += ex->malformed[i];
	if (json) {
		fq_out_printf(o,
			"{\"exporter\":\"%s\",\"port\":%u,\"socket\":%u,"
			"\"datagrams\":%llu,\"decoded\":%llu,"
			"\"records\":%llu,"
			"\"options_records\":%llu,\"malformed\":%llu,"
			"\"malformed_by_reason\":{",
			ip, ex->port, ex->local_id,
			(unsigned long long)ex->datagrams,
			(unsigned long long)ex->decoded,
			(unsigned long long)ex->records,
			(unsigned long long)ex->options_records,
			(unsigned long long)mal);
		int first = 1;
		for (int i = 0; i < FQ__MAL_COUNT; i++) {
			if (ex->malformed[i] == 0)
				continue;
			fq_out_printf(o, "%s\"%s\":%llu", first ? "" : ",",
				      fq__mal_names[i],
				      (unsigned long long)ex->malformed[i]);
			first = 0;
		}
		fq_out_printf(o,
			"},\"unknown_template_records\":%llu,"
			"\"unknown_template_sets\":%llu,"
			"\"sequence_lost\":%llu,\"sequence_resets\":%llu,"
			"\"templates_active\":%u,\"templates_refused\":%llu,"
			"\"templates_expired\":%llu,"
			"\"templates_withdrawn\":%llu,\"domains\":%u}",
			(unsigned long long)ex->unknown_tpl_records,
			(unsigned long long)ex->unknown_tpl_sets,
			(unsigned long long)ex->seq_lost,
			(unsigned long long)ex->seq_resets,
			ex->n_templates,
			(unsigned long long)ex->templates_refused,
			(unsigned long long)ex->templates_expired,
			(unsigned long long)ex->templates_withdrawn,
			ex->n_domains);
		return;
	}
	fq_out_printf(o,
		"exporter %s port %u socket %u: datagrams %llu decoded %llu "
		"records %llu options %llu malformed %llu",
		ip, ex->port, ex->local_id,
		(unsigned long long)ex->datagrams,
		(unsigned long long)ex->decoded,
		(unsigned long long)ex->records,
		(unsigned long long)ex->options_records,
		(unsigned long long)mal);
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		if (ex->malformed[i])
			fq_out_printf(o, " %s=%llu", fq__mal_names[i],
				      (unsigned long long)ex->malformed[i]);
	fq_out_printf(o,
		" unknown_template_records %llu sequence_lost %llu "
		"sequence_resets %llu templates %u refused %llu expired %llu "
		"withdrawn %llu\n",
		(unsigned long long)ex->unknown_tpl_records,
		(unsigned long long)ex->seq_lost,
		(unsigned long long)ex->seq_resets, ex->n_templates,
		(unsigned long long)ex->templates_refused,
		(unsigned long long)ex->templates_expired,
		(unsigned long long)ex->templates_withdrawn);
}

void
fq__print_stats(struct fq_decoder *d, struct fq_out *o, int json)
{
	if (json) {
		fq_out_str(o, "[");
		for (struct fq_exporter *ex = d->head; ex; ex = ex->next) {
			print_one(ex, o, 1);
			if (ex->next)
				fq_out_str(o, ",");
		}
		fq_out_str(o, "]");
		return;
	}
	for (struct fq_exporter *ex = d->head; ex; ex = ex->next)
		print_one(ex, o, 0);
	fq_out_printf(o,
		"exporters: %zu active, %llu expired (datagrams %llu records "
		"%llu malformed %llu), refused datagrams %llu, dropped by "
		"session limit %llu, dropped for lack of memory %llu\n",
		d->n_sessions, (unsigned long long)d->expired_sessions,
		(unsigned long long)d->gone_datagrams,
		(unsigned long long)d->gone_records,
		(unsigned long long)d->gone_malformed,
		(unsigned long long)d->refused,
		(unsigned long long)d->session_limit,
		(unsigned long long)d->no_memory);
}

/*
 * Decoder-wide totals, expired sessions included, as one JSON object.
 * decoded, malformed, refused, session_limit and no_memory are counted
 * where they happen, independently of `datagrams`, so that their sum
 * equalling `datagrams` is a real check (docs/decoders.md, "Accounting").
 */
void
fq__print_totals(struct fq_decoder *d, struct fq_out *o)
{
	if (d == NULL) {
		/* No datagram yet: the decoder is created with the first. */
		fq_out_str(o, "{\"datagrams\":0,\"decoded\":0,\"malformed\":0,"
			   "\"refused\":0,\"session_limit\":0,"
			   "\"no_memory\":0,\"records\":0,"
			   "\"exporters_active\":0,\"exporters_expired\":0}");
		return;
	}
	uint64_t decoded = d->gone_decoded, malformed = d->gone_malformed;
	uint64_t records = d->gone_records;
	for (struct fq_exporter *ex = d->head; ex; ex = ex->next) {
		decoded += ex->decoded;
		records += ex->records;
		for (int i = 0; i < FQ__MAL_COUNT; i++)
			malformed += ex->malformed[i];
	}
	fq_out_printf(o,
		"{\"datagrams\":%llu,\"decoded\":%llu,\"malformed\":%llu,"
		"\"refused\":%llu,\"session_limit\":%llu,"
		"\"no_memory\":%llu,\"records\":%llu,"
		"\"exporters_active\":%zu,\"exporters_expired\":%llu}",
		(unsigned long long)d->datagrams,
		(unsigned long long)decoded,
		(unsigned long long)malformed,
		(unsigned long long)d->refused,
		(unsigned long long)d->session_limit,
		(unsigned long long)d->no_memory,
		(unsigned long long)records,
		d->n_sessions,
		(unsigned long long)d->expired_sessions);
}
