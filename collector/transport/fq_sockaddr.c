/*
 * fq_sockaddr.c - "ADDR:PORT" parsing and printing (see fq_sockaddr.h).
 */
#include "fq_sockaddr.h"
#include "fq_error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
fq_sockaddr_parse(const char *s, struct sockaddr_storage *out, char *why,
		  size_t why_len)
{
	char host[64];
	const char *port;
	memset(out, 0, sizeof *out);
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (e == NULL || e[1] != ':' || (size_t)(e - s - 1) >= sizeof host)
			goto bad;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		port = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (c == NULL || (size_t)(c - s) >= sizeof host ||
		    memchr(s, ':', (size_t)(c - s)) != NULL)
			goto bad;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = '\0';
		port = c + 1;
		if (host[0] == '\0')
			strcpy(host, "0.0.0.0");
	}
	char *end;
	if (port[0] < '0' || port[0] > '9')
		goto bad;
	unsigned long p = strtoul(port, &end, 10);
	if (*end != '\0' || p > 65535)
		goto bad;
	if (s[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, why_len, "%s: expected ADDR:PORT (IPv4 a.b.c.d:PORT, "
		 "IPv6 [ADDR]:PORT, or :PORT), numeric", s);
	return -FQ_EINVAL;
}

void
fq_sockaddr_norm(struct sockaddr_storage *ss)
{
	if (ss->ss_family != AF_INET6)
		return;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	struct sockaddr_in s4;
	memset(&s4, 0, sizeof s4);
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
	memset(ss, 0, sizeof *ss);
	memcpy(ss, &s4, sizeof s4);
}

void
fq_sockaddr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		if (ss->ss_family == AF_INET)
			inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		else
			strcpy(a, "0.0.0.0");
		snprintf(buf, len, "%s:%u", a,
			 ss->ss_family == AF_INET ? ntohs(s4->sin_port) : 0u);
	}
}
