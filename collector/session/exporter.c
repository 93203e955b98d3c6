/*
 * exporter.c - the exporter session table: sessions keyed by (source
 * address, source port, local socket), created on a sender's first
 * datagram (after --allow), freed when a UDP exporter has been idle too
 * long, or evicted when the table is at one of its caps.
 *
 * Lookups happen once per datagram, so a plain chained hash table is
 * enough, with the last session looked up cached in front of it.  The
 * table grows by doubling.  It holds at most max_sessions sessions and
 * max_bytes bytes of session memory (fq__mem_add): a spoofed-source flood
 * must not grow memory without bound, nor hold the table against the real
 * exporters.  So UDP sessions also sit in a recency list, the one touched
 * by a datagram moved to its newest end (nothing to do when the datagram
 * is from the same exporter as the one before, the cached one, which is
 * always the newest); at a cap the oldest is evicted, and idle sessions
 * are found from the oldest end, so neither walks the table.  TCP and
 * file sessions are not in the list: they end with their connection or
 * file, and a TCP exporter sends its templates only once.
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
	/* The bucket array is session memory too, held by no session. */
	s->bytes += fq__alloc_size(nb * sizeof *b) -
		    (s->n_buckets ? fq__alloc_size(s->n_buckets * sizeof *b) : 0);
	s->buckets = b;
	s->n_buckets = nb;
	return 0;
}

/* Recency list: unlink, and append at the newest end. */
static void
lru_unlink(struct fq__sessions *s, struct fq_exporter *ex)
{
	if (ex->older)
		ex->older->newer = ex->newer;
	else
		s->oldest = ex->newer;
	if (ex->newer)
		ex->newer->older = ex->older;
	else
		s->newest = ex->older;
	ex->older = ex->newer = NULL;
}

static void
lru_append(struct fq__sessions *s, struct fq_exporter *ex)
{
	ex->older = s->newest;
	ex->newer = NULL;
	if (s->newest)
		s->newest->newer = ex;
	else
		s->oldest = ex;
	s->newest = ex;
}

/* A datagram came from ex: it becomes the most recently active. */
static void
touch(struct fq__sessions *s, struct fq_exporter *ex)
{
	if (ex->in_lru && ex != s->newest) {
		lru_unlink(s, ex);
		lru_append(s, ex);
	}
}

static void session_free(struct fq__sessions *s, struct fq_exporter *ex);

/* Frees the oldest UDP session to make room; 0, or -1 when there is none. */
static int
evict_oldest(struct fq__sessions *s, const char *cap)
{
	struct fq_exporter *ex = s->oldest;
	if (ex == NULL)
		return -1;
	char ip[FQ_IP_STRLEN];
	fq_ip_format(&ex->ip, ip);
	fq_log_rl(s->rl, FQ_LOG_WARN, "exporter sessions at their %s cap "
		  "(%zu sessions, %zu bytes): evicted the least recently "
		  "active, %s port %u", cap, s->n_sessions, s->bytes, ip,
		  ex->port);
	s->evicted_sessions++;
	session_free(s, ex);
	return 0;
}

/* A new session for key k (the table has room). */
static struct fq_exporter *
session_new(struct fq__sessions *s, const struct fq_datagram *dg,
	    const struct key *k, const struct fq_ip *ip)
{
	/*
	 * Out of memory: the datagram is dropped, and counted, so that the
	 * decoder's counters still account for every datagram it was given.
	 */
	if (s->n_sessions >= s->n_buckets && grow(s) < 0) {
		s->no_memory++;
		return NULL;
	}
	struct fq_exporter *ex = calloc(1, sizeof *ex);
	if (ex == NULL) {
		s->no_memory++;
		return NULL;
	}
	memcpy(ex->addr, k->addr, 16);
	ex->is6 = k->is6;
	ex->port = k->port;
	ex->local_id = k->local_id;
	ex->transport = dg->transport;
	ex->tab = s;
	fq__mem_add(ex, fq__alloc_size(sizeof *ex));
	fq_ip_set(&ex->ip, ip);
	ex->first_ms = ex->last_ms = ex->tpl_check_ms = dg->arrival_ms;
	size_t h = key_hash(k) & (s->n_buckets - 1);
	ex->hnext = s->buckets[h];
	s->buckets[h] = ex;
	ex->prev = s->tail;
	if (s->tail)
		s->tail->next = ex;
	else
		s->head = ex;
	s->tail = ex;
	if (ex->transport == FQ_TRANSPORT_UDP) {
		ex->in_lru = 1;
		lru_append(s, ex);
	}
	s->n_sessions++;
	return ex;
}

struct fq_exporter *
fq__session_get(struct fq__sessions *s, const struct fq_datagram *dg)
{
	s->datagrams++;
	struct key k;
	key_of(dg, &k);
	/* The cached session is the last one touched: the newest already. */
	struct fq_exporter *ex = s->last;
	if (ex && key_eq(ex, &k))
		return ex;
	if (s->n_buckets) {
		for (ex = s->buckets[key_hash(&k) & (s->n_buckets - 1)]; ex;
		     ex = ex->hnext) {
			if (key_eq(ex, &k)) {
				touch(s, ex);
				return s->last = ex;
			}
		}
	}
	struct fq_ip ip = key_ip(&k);
	if (!allowed(s, &ip)) {
		s->refused++;
		return NULL;
	}
	if (s->n_sessions >= s->max_sessions &&
	    evict_oldest(s, "number") < 0) {
		/* Only TCP and file sessions: none can be evicted. */
		s->session_limit++;
		fq_log_rl(s->rl, FQ_LOG_WARN,
			  "exporter session table full (%zu), datagram dropped",
			  s->max_sessions);
		return NULL;
	}
	ex = session_new(s, dg, &k, &ip);
	return ex ? (s->last = ex) : NULL;
}

/* Unlinks a session and frees it; its counters go to the gone_ totals. */
static void
session_free(struct fq__sessions *s, struct fq_exporter *ex)
{
	/* Unlink from the hash chain and the lists. */
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
	if (ex->in_lru)
		lru_unlink(s, ex);
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
	/* What is left of its count: its own struct, domains, templates. */
	s->bytes -= ex->bytes;
	free(ex);
}

void
fq__exporter_release(struct fq__sessions *s, struct fq_exporter *ex)
{
	if (ex == NULL)
		return;
	s->released_sessions++;
	session_free(s, ex);
}

void
fq__sessions_free_all(struct fq__sessions *s)
{
	while (s->head)
		session_free(s, s->head);
	if (s->n_buckets)
		s->bytes -= fq__alloc_size(s->n_buckets * sizeof *s->buckets);
	free(s->buckets);
	s->buckets = NULL;
	s->n_buckets = 0;
}

void
fq__sessions_expire(struct fq__sessions *s, int64_t now_ms)
{
	/*
	 * From the least recently active on; the first one that is not
	 * idle ends the walk.  Arrival times follow the recency order
	 * except where a capture's clock steps back; a session idle behind
	 * such a step waits for the ones before it (or for eviction).
	 * Templates of the remaining sessions age at their own datagrams
	 * (fq_decoder_datagram), on their own clock.
	 */
	struct fq_exporter *ex;
	while ((ex = s->oldest) != NULL &&
	       now_ms - ex->last_ms > s->exporter_idle_ms) {
		s->expired_sessions++;
		session_free(s, ex);
	}
}

void
fq__sessions_trim(struct fq__sessions *s, const struct fq_exporter *keep)
{
	while (s->bytes > s->max_bytes && s->oldest != NULL &&
	       s->oldest != keep)
		evict_oldest(s, "memory");
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
			fq__exporter_release(s, ex);
			return 1;
		}
	}
	return 0;
}
