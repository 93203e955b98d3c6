/*
 * dec_files.h - test-side readers for export datagrams stored in files, so
 * the decoder tests do not depend on the pcap:/raw: sources:
 *
 *   - classic pcap (either byte order, us or ns timestamps) with Ethernet
 *     (VLAN tags skipped), raw IP, Linux cooked (v1, v2) or BSD loopback
 *     framing, IPv4 or IPv6, UDP: each UDP payload becomes a datagram with
 *     the captured source address, port and time;
 *   - raw concatenated export datagrams, split by the protocols' own
 *     headers: v5 by 24 + 48 * count, IPFIX by its message length, v9 by
 *     walking its flowsets (a v9 header has no length; at a flowset
 *     boundary the value 9 starts the next header since flowset ids 2-255
 *     are reserved, and trailing zero bytes are padding).  A datagram whose
 *     length cannot be determined is handed over whole (the decoder counts
 *     it as malformed) and ends the file, as SPEC 2 says for raw: files.
 */
#ifndef FQ_DEC_FILES_H
#define FQ_DEC_FILES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_datagram.h"

typedef void (*df_fn)(void *ctx, const struct fq_datagram *dg);

static uint8_t *
df_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	size_t k;
	while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (nb == NULL) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	fclose(f);
	*len = n;
	return b;
}

static uint16_t df_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t df_rd32(const uint8_t *p, int swap)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Length of the export datagram at p, or 0 when it cannot be known. */
static size_t
df_raw_len(const uint8_t *p, size_t avail)
{
	if (avail < 4)
		return 0;
	unsigned v = df_be16(p);
	if (v == 5) {
		size_t n = 24 + 48 * (size_t)df_be16(p + 2);
		return n <= avail ? n : 0;
	}
	if (v == 10) {
		size_t n = df_be16(p + 2);
		return n >= 16 && n <= avail ? n : 0;
	}
	if (v == 9) {
		if (avail < 20)
			return 0;
		size_t off = 20;
		while (avail - off >= 4) {
			unsigned id = df_be16(p + off);
			size_t sl = df_be16(p + off + 2);
			if (id == 9)
				break;          /* the next header */
			if (id == 0 && sl == 0) {
				/* zero padding up to the next header */
				while (off < avail && p[off] == 0)
					off++;
				break;
			}
			if (sl < 4 || sl > avail - off)
				return 0;
			off += sl;
		}
		if (avail - off < 4)
			off = avail;    /* a short zero tail is padding */
		return off;
	}
	return 0;
}

/* Feeds every datagram of a raw file; returns the number of split errors. */
static int
df_raw(const uint8_t *b, size_t len, df_fn fn, void *ctx)
{
	size_t off = 0;
	while (off < len) {
		struct fq_datagram dg;
		memset(&dg, 0, sizeof dg);
		dg.transport = FQ_TRANSPORT_UDP;
		size_t n = df_raw_len(b + off, len - off);
		int bad = n == 0;
		if (bad)
			n = len - off;
		dg.data = b + off;
		dg.len = n;
		fn(ctx, &dg);
		if (bad)
			return 1;
		off += n;
	}
	return 0;
}

/* One captured frame: find the UDP payload. */
static void
df_frame(const uint8_t *p, size_t n, unsigned link, int64_t ms, df_fn fn,
	 void *ctx)
{
	unsigned et = 0;
	switch (link) {
	case 1:         /* Ethernet */
		if (n < 14)
			return;
		et = df_be16(p + 12);
		p += 14;
		n -= 14;
		while ((et == 0x8100 || et == 0x88a8) && n >= 4) {
			et = df_be16(p + 2);
			p += 4;
			n -= 4;
		}
		break;
	case 113:       /* Linux cooked v1 */
		if (n < 16)
			return;
		et = df_be16(p + 14);
		p += 16;
		n -= 16;
		break;
	case 276:       /* Linux cooked v2 */
		if (n < 20)
			return;
		et = df_be16(p);
		p += 20;
		n -= 20;
		break;
	case 0:         /* BSD loopback: family in host order */
		if (n < 4)
			return;
		et = (p[0] == 2 || p[3] == 2) ? 0x0800 : 0x86dd;
		p += 4;
		n -= 4;
		break;
	case 12: case 101: case 228: case 229:  /* raw IP */
		if (n < 1)
			return;
		et = (p[0] >> 4) == 4 ? 0x0800 : 0x86dd;
		break;
	default:
		return;
	}
	struct fq_datagram dg;
	memset(&dg, 0, sizeof dg);
	dg.transport = FQ_TRANSPORT_UDP;
	dg.arrival_ms = ms;
	if (et == 0x0800) {
		if (n < 20 || (p[0] >> 4) != 4)
			return;
		size_t ihl = (size_t)(p[0] & 15) * 4;
		if (ihl < 20 || n < ihl + 8 || p[9] != 17)
			return;
		if (df_be16(p + 6) & 0x3fff)
			return;         /* fragment */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&dg.src;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p + 12, 4);
		s4->sin_port = htons(df_be16(p + ihl));
		size_t ulen = df_be16(p + ihl + 4);
		if (ulen < 8 || ulen > n - ihl)
			return;
		dg.data = p + ihl + 8;
		dg.len = ulen - 8;
	} else if (et == 0x86dd) {
		if (n < 48 || p[6] != 17)
			return;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&dg.src;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p + 8, 16);
		s6->sin6_port = htons(df_be16(p + 40));
		size_t ulen = df_be16(p + 44);
		if (ulen < 8 || ulen > n - 40)
			return;
		dg.data = p + 48;
		dg.len = ulen - 8;
	} else {
		return;
	}
	fn(ctx, &dg);
}

/* Returns -1 when the pcap is unreadable, else the number of frames. */
static long
df_pcap(const uint8_t *b, size_t len, df_fn fn, void *ctx)
{
	if (len < 24)
		return -1;
	uint32_t magic;
	memcpy(&magic, b, 4);
	int swap, nano;
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = 1;
	else
		return -1;
	nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
	unsigned link = df_rd32(b + 20, swap) & 0xffff;
	size_t off = 24;
	long frames = 0;
	while (len - off >= 16) {
		uint32_t sec = df_rd32(b + off, swap);
		uint32_t frac = df_rd32(b + off + 4, swap);
		uint32_t caplen = df_rd32(b + off + 8, swap);
		off += 16;
		if (caplen > len - off)
			break;
		int64_t ms = (int64_t)sec * 1000 +
			     (nano ? frac / 1000000 : frac / 1000);
		df_frame(b + off, caplen, link, ms, fn, ctx);
		off += caplen;
		frames++;
	}
	return frames;
}

/*
 * Feeds a file of either kind.  Returns 0, 1 when a raw file ended with a
 * datagram whose length could not be determined, -1 when unreadable.
 */
static int
df_file(const char *path, df_fn fn, void *ctx)
{
	size_t len = 0;
	uint8_t *b = df_slurp(path, &len);
	if (b == NULL)
		return -1;
	int rc;
	size_t pl = strlen(path);
	if (pl > 5 && strcmp(path + pl - 5, ".pcap") == 0)
		rc = df_pcap(b, len, fn, ctx) < 0 ? -1 : 0;
	else
		rc = df_raw(b, len, fn, ctx);
	free(b);
	return rc;
}

#endif
