/*
 * ftwriter.c - the test writer of flow-tools files (see ftwriter.h).
 */
#include "ftwriter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void
put(struct buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void
put8(struct buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;
	put(b, &c, 1);
}

static void
put16(struct buf *b, unsigned v, int be)
{
	unsigned char c[2];
	if (be) {
		c[0] = (unsigned char)(v >> 8);
		c[1] = (unsigned char)v;
	} else {
		c[0] = (unsigned char)v;
		c[1] = (unsigned char)(v >> 8);
	}
	put(b, c, 2);
}

static void
put32(struct buf *b, uint32_t v, int be)
{
	if (be) {
		put16(b, v >> 16, 1);
		put16(b, v & 0xffff, 1);
	} else {
		put16(b, v & 0xffff, 0);
		put16(b, v >> 16, 0);
	}
}

static void
zeros(struct buf *b, size_t n)
{
	static const unsigned char z[512];
	while (n) {
		size_t k = n < sizeof z ? n : sizeof z;
		put(b, z, k);
		n -= k;
	}
}

/* fts3rec_v1/v5/v6/v7/v1005 layout. */
static void
put_v3(struct buf *b, const struct ftw_rec *r, unsigned dv, int be)
{
	put32(b, r->unix_secs, be);
	put32(b, r->unix_nsecs, be);
	put32(b, r->sysuptime, be);
	put32(b, r->exaddr, be);
	put32(b, r->srcaddr, be);
	put32(b, r->dstaddr, be);
	put32(b, r->nexthop, be);
	put16(b, r->input, be);
	put16(b, r->output, be);
	put32(b, r->dpkts, be);
	put32(b, r->doctets, be);
	put32(b, r->first, be);
	put32(b, r->last, be);
	put16(b, r->srcport, be);
	put16(b, r->dstport, be);
	put8(b, r->prot);
	put8(b, r->tos);
	put8(b, r->tcp_flags);
	put8(b, 0);                       /* pad / v7 flags */
	if (dv == 1) {
		put32(b, 0, be);          /* reserved */
		return;
	}
	put8(b, r->engine_type);
	put8(b, r->engine_id);
	put8(b, r->src_mask);
	put8(b, r->dst_mask);
	put16(b, r->src_as, be);
	put16(b, r->dst_as, be);
	switch (dv) {
	case 6:
		put8(b, 1);               /* in_encaps */
		put8(b, 2);               /* out_encaps */
		put16(b, 0, be);
		put32(b, 0x0a0b0c0d, be); /* peer_nexthop */
		break;
	case 7:
		put32(b, 0x01020304, be); /* router_sc */
		break;
	case 1005:
		put32(b, 0x11111111, be); /* src_tag */
		put32(b, 0x22222222, be); /* dst_tag */
		break;
	}
}

/* fts1rec_compat layout (stream version 1). */
static void
put_compat(struct buf *b, const struct ftw_rec *r, int be)
{
	put32(b, r->unix_secs, be);
	put32(b, r->unix_msecs, be);
	put32(b, r->srcaddr, be);
	put32(b, r->dstaddr, be);
	put32(b, r->nexthop, be);
	put16(b, r->input, be);
	put16(b, r->output, be);
	put32(b, r->dpkts, be);
	put32(b, r->doctets, be);
	put32(b, r->first, be);
	put32(b, r->last, be);
	put16(b, r->srcport, be);
	put16(b, r->dstport, be);
	put16(b, 0, be);                  /* pad */
	put8(b, r->prot);
	put8(b, r->tos);
	put8(b, r->tcp_flags);            /* "flags" */
	put8(b, 0);
	put8(b, 0);
	put8(b, 0);
	put16(b, r->src_as, be);
	put16(b, r->dst_as, be);
	put8(b, r->src_mask);
	put8(b, r->dst_mask);
	put16(b, 0, be);                  /* drops */
}

static void
put_tlv32(struct buf *b, unsigned t, uint32_t v, int be)
{
	put16(b, t, be);
	put16(b, 4, be);
	put32(b, v, be);
}

int
ftw_write(const char *path, const struct ftw_opts *o,
	  const struct ftw_rec *recs, size_t n, long *size_out, long *hdr_out)
{
	int be = o->big_endian;
	struct buf h = { 0 }, body = { 0 };
	unsigned char gen[4] = { 0xCF, 0x10, (unsigned char)(be ? 2 : 1),
				 (unsigned char)o->s_version };
	put(&h, gen, 4);
	uint32_t flags = o->compressed ? 0x2 : 0;
	if (o->s_version == 1) {
		put16(&h, o->d_version, be);
		put16(&h, 0, be);                 /* alignment */
		put32(&h, 1000, be);              /* start */
		put32(&h, 2000, be);              /* end */
		put32(&h, flags, be);
		put32(&h, 0, be);                 /* rotation */
		put32(&h, (uint32_t)n, be);       /* nflows */
		put32(&h, 0, be);
		put32(&h, 0, be);
		zeros(&h, 68 + 256);              /* hostname, comments */
	} else {
		struct buf t = { 0 };
		put16(&t, 1, be);                 /* vendor (u8) */
		put16(&t, 1, be);
		put8(&t, 1);
		put16(&t, 2, be);                 /* export version */
		put16(&t, 2, be);
		put16(&t, o->d_version, be);
		put_tlv32(&t, 8, flags, be);      /* header flags */
		put_tlv32(&t, 6, 1000, be);       /* capture start */
		put16(&t, 15, be);                /* hostname string */
		put16(&t, 5, be);
		put(&t, "test", 5);
		uint32_t hlen = (uint32_t)(8 + t.len);
		size_t pad = (4 - hlen % 4) % 4;
		hlen += (uint32_t)pad;
		put32(&h, hlen, be);
		put(&h, t.p, t.len);
		zeros(&h, pad);
		free(t.p);
	}
	for (size_t i = 0; i < n; i++) {
		if (o->s_version == 1)
			put_compat(&body, &recs[i], be);
		else
			put_v3(&body, &recs[i], o->d_version, be);
	}
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		free(h.p);
		free(body.p);
		return -1;
	}
	fwrite(h.p, 1, h.len, f);
	long size = (long)h.len;
	if (o->compressed) {
		uLongf zlen = compressBound(body.len);
		unsigned char *z = malloc(zlen);
		if (z == NULL || compress2(z, &zlen, body.p, body.len, 6) != Z_OK)
			abort();
		fwrite(z, 1, zlen, f);
		size += (long)zlen;
		free(z);
	} else {
		fwrite(body.p, 1, body.len, f);
		size += (long)body.len;
	}
	fclose(f);
	if (size_out)
		*size_out = size;
	if (hdr_out)
		*hdr_out = (long)h.len;
	free(h.p);
	free(body.p);
	return 0;
}

void
ftw_make_rec(struct ftw_rec *r, size_t i)
{
	memset(r, 0, sizeof *r);
	uint32_t k = (uint32_t)i;
	r->unix_secs = 1335772141u + k / 100;
	r->unix_nsecs = (k % 1000) * 1000000u + 123456u;
	r->unix_msecs = k % 1000;
	/* Every 7th record straddles the 2^32 ms uptime wrap. */
	if (k % 7 == 3) {
		r->sysuptime = 5000 + k;
		r->first = 0xFFFFF000u + k % 97;
		r->last = 1000 + k;
	} else {
		r->sysuptime = 100000000u + k * 10;
		r->first = r->sysuptime - 60000 - k % 5000;
		r->last = r->sysuptime - 1000 - k % 700;
	}
	r->exaddr = 0xC0000201u;               /* 192.0.2.1 */
	r->srcaddr = 0x0A000000u | k;
	r->dstaddr = 0xC6336400u | (k & 0xff); /* 198.51.100.x */
	r->nexthop = 0xCB007101u;
	r->input = (uint16_t)(k % 40);
	r->output = (uint16_t)(k % 41 + 1);
	r->dpkts = k % 1000 + 1;
	r->doctets = (k % 1000 + 1) * 576 + k % 3;
	r->srcport = (uint16_t)(1024 + k % 60000);
	r->dstport = (uint16_t)(k % 3 ? 80 : 53);
	r->prot = (uint8_t)(k % 3 ? 6 : 17);
	r->tos = (uint8_t)(k % 256);
	r->tcp_flags = (uint8_t)(k % 64);
	r->engine_type = (uint8_t)(k % 3);
	r->engine_id = (uint8_t)(k % 5);
	r->src_mask = (uint8_t)(k % 33);
	r->dst_mask = (uint8_t)(32 - k % 33);
	r->src_as = (uint16_t)(k * 7);
	r->dst_as = (uint16_t)(k * 11);
}
