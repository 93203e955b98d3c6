/*
 * exporter.c - the exporter session table: sessions keyed by (source
 * address, source port, local socket), created on a sender's first
 * datagram (after --allow and the session cap), freed when a UDP exporter
 * has been idle too long.
 *
 * Lookups happen once per datagram, so a plain chained hash table is
 * enough, with the last session looked up cached in front of it.  The
 * table grows by doubling; its size is capped at FQ__MAX_SESSIONS, beyond
 * which a datagram from a new exporter is dropped and counted: a
 * spoofed-source flood must not grow memory without bound.
 */
#include "exporter.h"
#include "fq_error.h"
#include "wire.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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

/* The key a session was created with. */
static void
key_of_session(const struct fq_exporter *ex, struct key *k)
{
	memcpy(k->addr, ex->addr, 16);
	k->is6 = ex->is6;
	k->port = ex->port;
	k->local_id = ex->local_id;
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
allowed(const struct fq__sessions *s, const struct fq_ip *ip)
{
	if (s->n_allow == 0)
		return 1;
	for (size_t i = 0; i < s->n_allow; i++) {
		const struct fq_ip *p = &s->allow[i];
		if (p->is6 == ip->is6 &&
		    fq_ip_in_prefix(ip, p, s->allow_len[i]))
			return 1;
	}
	return 0;
}

static int
grow(struct fq__sessions *s)
{
	size_t nb = s->n_buckets ? s->n_buckets * 2 : 64;
	struct fq_exporter **b = calloc(nb, sizeof *b);
	if (b == NULL)
		return -FQ_ENOMEM;
	for (struct fq_exporter *ex = s->head; ex; ex = ex->next) {
		struct key k;
		key_of_session(ex, &k);
		size_t h = key_hash(&k) & (nb - 1);
		ex->hnext = b[h];
		b[h] = ex;
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = nb;
	return 0;
}

struct fq_exporter *
fq__session_get(struct fq__sessions *s, const struct fq_datagram *dg)
{
	s->datagrams++;
	struct key k;
	key_of(dg, &k);
	struct fq_exporter *ex = s->last;
	if (ex && key_eq(ex, &k))
		return ex;
	if (s->n_buckets) {
		for (ex = s->buckets[key_hash(&k) & (s->n_buckets - 1)]; ex;
		     ex = ex->hnext)
			if (key_eq(ex, &k))
				return s->last = ex;
	}
	struct fq_ip ip = key_ip(&k);
	if (!allowed(s, &ip)) {
		s->refused++;
		return NULL;
	}
	if (s->n_sessions >= FQ__MAX_SESSIONS) {
		s->session_limit++;
		fq_log_rl(s->rl, FQ_LOG_WARN,
			  "exporter session table full (%d), datagram dropped",
			  FQ__MAX_SESSIONS);
		return NULL;
	}
	/*
	 * Out of memory: the datagram is dropped, and counted, so that the
	 * decoder's counters still account for every datagram it was given.
	 */
	if (s->n_sessions >= s->n_buckets && grow(s) < 0) {
		s->no_memory++;
		return NULL;
	}
	ex = calloc(1, sizeof *ex);
	if (ex == NULL) {
		s->no_memory++;
		return NULL;
	}
	memcpy(ex->addr, k.addr, 16);
	ex->is6 = k.is6;
	ex->port = k.port;
	ex->local_id = k.local_id;
	ex->transport = dg->transport;
	fq_ip_set(&ex->ip, &ip);
	ex->first_ms = ex->last_ms = ex->tpl_check_ms = dg->arrival_ms;
	size_t h = key_hash(&k) & (s->n_buckets - 1);
	ex->hnext = s->buckets[h];
	s->buckets[h] = ex;
	ex->prev = s->tail;
	if (s->tail)
		s->tail->next = ex;
	else
		s->head = ex;
	s->tail = ex;
	s->n_sessions++;
	return s->last = ex;
}

/* Unlinks a session and frees it; its counters go to the gone_ totals. */
static void
session_free(struct fq__sessions *s, struct fq_exporter *ex)
{
	/* Unlink from the hash chain and the list. */
	if (s->n_buckets) {
		struct key k;
		key_of_session(ex, &k);
		struct fq_exporter **pp =
			&s->buckets[key_hash(&k) & (s->n_buckets - 1)];
		while (*pp && *pp != ex)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = ex->hnext;
	}
	if (ex->prev)
		ex->prev->next = ex->next;
	else
		s->head = ex->next;
	if (ex->next)
		ex->next->prev = ex->prev;
	else
		s->tail = ex->prev;
	if (s->last == ex)
		s->last = NULL;
	s->n_sessions--;
	s->gone_datagrams += ex->datagrams;
	s->gone_decoded += ex->decoded;
	s->gone_records += ex->records;
	for (int i = 0; i < FQ__MAL_COUNT; i++)
		s->gone_malformed += ex->malformed[i];

	struct fq__domain *dom = ex->domains;
	while (dom) {
		struct fq__domain *n = dom->next;
		fq__domain_free(dom);
		dom = n;
	}
	if (ex->ipfix)
		s->ipfix_free(ex->ipfix);
	free(ex);
}

void
fq__sessions_free_all(struct fq__sessions *s)
{
	while (s->head)
		session_free(s, s->head);
	free(s->buckets);
	s->buckets = NULL;
	s->n_buckets = 0;
}

void
fq__sessions_expire(struct fq__sessions *s, int64_t now_ms)
{
	struct fq_exporter *ex = s->head;
	while (ex) {
		struct fq_exporter *n = ex->next;
		/* TCP/file sessions end with their connection, not by idling. */
		if (ex->transport == FQ_TRANSPORT_UDP &&
		    now_ms - ex->last_ms > s->exporter_idle_ms) {
			s->expired_sessions++;
			session_free(s, ex);
		} else if (ex->transport == FQ_TRANSPORT_UDP) {
			/*
			 * Template age is measured on the exporter's own
			 * arrival clock: replayed captures of different years
			 * must not age each other's templates.
			 */
			fq__templates_expire(s, ex, ex->last_ms);
		}
		ex = n;
	}
}

int
fq__session_close(struct fq__sessions *s, const struct fq_datagram *dg)
{
	if (s->n_buckets == 0)
		return 0;
	struct key k;
	key_of(dg, &k);
	struct fq_exporter *ex = s->buckets[key_hash(&k) & (s->n_buckets - 1)];
	for (; ex; ex = ex->hnext) {
		/* Only a connection's own session: UDP ones expire by idling. */
		if (key_eq(ex, &k) && ex->transport == FQ_TRANSPORT_TCP) {
			session_free(s, ex);
			return 1;
		}
	}
	return 0;
}
