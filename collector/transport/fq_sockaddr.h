/*
 * fq_sockaddr.h - socket addresses as the command line spells them and as
 * messages and counters print them.
 *
 * udp:// and tcp:// sources take "ADDR:PORT" (numeric only: a collector
 * must bind exactly what the operator wrote, and a name could resolve to
 * several addresses); exporters are printed as "1.2.3.4:2055" or
 * "[2001:db8::1]:4739".  An IPv4 exporter reaching a dual-stack socket
 * arrives as an IPv4-mapped IPv6 address and is normalised to plain IPv4
 * so that it gets the same exporter key as over an IPv4 socket.
 */
#ifndef FQ_SOCKADDR_H
#define FQ_SOCKADDR_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Parse "ADDR:PORT" as used by udp:// and tcp://: an IPv4 address, an
 * IPv6 address in brackets ("[::1]:4739"), or ":PORT" alone (IPv4 any).
 * Names are not resolved.  Returns 0 or -FQ_EINVAL with a reason in why.
 */
int fq_sockaddr_parse(const char *s, struct sockaddr_storage *out,
		      char *why, size_t why_len);

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes plain IPv4. */
void fq_sockaddr_norm(struct sockaddr_storage *ss);

/*
 * "1.2.3.4:2055" or "[2001:db8::1]:4739"; buf of at least 64 bytes.  Any
 * other family prints as "0.0.0.0:0" (the raw:/ipfix: replay exporter).
 */
void fq_sockaddr_str(const struct sockaddr_storage *ss, char *buf,
		     size_t len);

#endif
