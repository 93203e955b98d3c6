/*
 * fq_ip.c - parsing, printing and prefix tests for struct fq_ip.
 *
 * Formatting is on the output hot path (`flowq print --json` prints four
 * addresses per record), so IPv4 is formatted by hand rather than through
 * inet_ntop().  Parsing uses inet_pton() on a bounded copy.
 */
#include "fq_ip.h"
#include "fq_error.h"

#include <arpa/inet.h>
#include <string.h>

struct fq_ip
fq_ip_v6(const uint8_t b[16])
{
	struct fq_ip a = { 0, 0, 1 };
	for (int i = 0; i < 8; i++) {
		a.hi = (a.hi << 8) | b[i];
		a.lo = (a.lo << 8) | b[8 + i];
	}
	return a;
}

void
fq_ip_to_bytes(const struct fq_ip *a, uint8_t out[16])
{
	uint64_t hi = a->hi, lo = a->lo;
	if (!a->is6) {
		hi = 0;
		lo = 0x0000ffff00000000ULL | (a->lo & 0xffffffffu);
	}
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)hi;
		out[8 + i] = (uint8_t)lo;
		hi >>= 8;
		lo >>= 8;
	}
}

int
fq_ip_in_prefix(const struct fq_ip *a, const struct fq_ip *p, unsigned len)
{
	if (a->is6 != p->is6)
		return 0;
	if (!a->is6) {
		if (len == 0)
			return 1;
		if (len > 32)
			len = 32;
		uint32_t mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
		return (((uint32_t)a->lo ^ (uint32_t)p->lo) & mask) == 0;
	}
	if (len > 128)
		len = 128;
	if (len <= 64) {
		uint64_t mask = len == 0 ? 0 : ~0ULL << (64 - len);
		return ((a->hi ^ p->hi) & mask) == 0;
	}
	if (a->hi != p->hi)
		return 0;
	uint64_t mask = len == 128 ? ~0ULL : ~0ULL << (128 - len);
	return ((a->lo ^ p->lo) & mask) == 0;
}

int
fq_ip_parse(const char *s, size_t len, struct fq_ip *out)
{
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return -FQ_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, ':', len) == NULL) {
		struct in_addr in4;
		if (inet_pton(AF_INET, buf, &in4) != 1)
			return -FQ_EINVAL;
		*out = fq_ip_v4(ntohl(in4.s_addr));
		return 0;
	}
	uint8_t b[16];
	if (inet_pton(AF_INET6, buf, b) != 1)
		return -FQ_EINVAL;
	*out = fq_ip_v6(b);
	return 0;
}

static size_t
put_u8dec(char *p, unsigned v)
{
	if (v >= 100) {
		p[0] = (char)('0' + v / 100);
		p[1] = (char)('0' + v / 10 % 10);
		p[2] = (char)('0' + v % 10);
		return 3;
	}
	if (v >= 10) {
		p[0] = (char)('0' + v / 10);
		p[1] = (char)('0' + v % 10);
		return 2;
	}
	p[0] = (char)('0' + v);
	return 1;
}

size_t
fq_ip_format(const struct fq_ip *a, char *buf)
{
	if (!a->is6) {
		uint32_t v = (uint32_t)a->lo;
		size_t n = 0;
		n += put_u8dec(buf + n, v >> 24);
		buf[n++] = '.';
		n += put_u8dec(buf + n, (v >> 16) & 0xff);
		buf[n++] = '.';
		n += put_u8dec(buf + n, (v >> 8) & 0xff);
		buf[n++] = '.';
		n += put_u8dec(buf + n, v & 0xff);
		buf[n] = '\0';
		return n;
	}
	uint8_t b[16];
	fq_ip_to_bytes(a, b);
	if (inet_ntop(AF_INET6, b, buf, FQ_IP_STRLEN) == NULL) {
		buf[0] = '\0';
		return 0;
	}
	return strlen(buf);
}
