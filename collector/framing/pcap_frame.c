/*
 * pcap_frame.c - link layer, IPv4/IPv6 and UDP parsing for capture
 * replay.  See pcap_frame.h.
 *
 * All multi-byte header fields are read byte by byte (no unaligned loads,
 * no struct overlays), every length is checked against what was captured
 * before it is used, and each rejected frame is counted under exactly one
 * reason.
 *
 * Fragments go to the reassembly table of ip_reasm.c; a completed datagram
 * is parsed from its buffer like an unfragmented one.
 */
#include "pcap_frame.h"
#include "fq_error.h"
#include "fq_format.h"
#include "ip_reasm.h"
#include "wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#define LINKTYPE_RAW_ 101

enum link {
	LINK_ETHER,
	LINK_RAW,       /* IPv4 or IPv6 by version nibble */
	LINK_SLL,
	LINK_SLL2,
	LINK_NULL,      /* 4-byte AF, byte order of the capturing host */
	LINK_LOOP,      /* 4-byte AF, network order */
};

struct fq_pf {
	enum link link;
	struct fq_pf_stats st;
	struct fq__reasm_table reasm;   /* counts into st */
};

static const char *const reason_names[FQ_PF_NREASONS] = {
	[FQ_PF_NOT_IP] = "not_ip",
	[FQ_PF_NOT_UDP] = "not_udp",
	[FQ_PF_SNAPLEN] = "snaplen_cut",
	[FQ_PF_SHORT] = "short_frame",
	[FQ_PF_BAD_IP] = "bad_ip_header",
	[FQ_PF_BAD_UDP] = "bad_udp_length",
	[FQ_PF_FRAG_HELD] = "fragments_held",
	[FQ_PF_FRAG_BAD] = "bad_fragment",
	[FQ_PF_FRAG_EVICTED] = "reassembly_evicted",
	[FQ_PF_FRAG_TIMEOUT] = "reassembly_timeout",
};

const char *
fq_pf_reason_name(enum fq_pf_reason r)
{
	return (unsigned)r < FQ_PF_NREASONS ? reason_names[r] : "?";
}

const char *
fq_pf_linktype_name(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB: return "EN10MB";
	case DLT_RAW: return "RAW";
	case LINKTYPE_RAW_: return "RAW";
	case DLT_IPV4: return "IPV4";
	case DLT_IPV6: return "IPV6";
	case DLT_LINUX_SLL: return "LINUX_SLL";
	case DLT_LINUX_SLL2: return "LINUX_SLL2";
	case DLT_NULL: return "NULL";
	case DLT_LOOP: return "LOOP";
	default: return "unsupported";
	}
}

int
fq_pf_new(int linktype, struct fq_pf **out)
{
	enum link link;
	switch (linktype) {
	case DLT_EN10MB: link = LINK_ETHER; break;
	case DLT_RAW:
	case LINKTYPE_RAW_:
	case DLT_IPV4:
	case DLT_IPV6: link = LINK_RAW; break;
	case DLT_LINUX_SLL: link = LINK_SLL; break;
	case DLT_LINUX_SLL2: link = LINK_SLL2; break;
	case DLT_NULL: link = LINK_NULL; break;
	case DLT_LOOP: link = LINK_LOOP; break;
	default: return -FQ_EUNSUP;
	}
	struct fq_pf *pf = calloc(1, sizeof *pf);
	if (pf == NULL)
		return -FQ_ENOMEM;
	pf->link = link;
	pf->reasm.st = &pf->st;
	*out = pf;
	return 0;
}

void
fq_pf_free(struct fq_pf *pf)
{
	if (pf == NULL)
		return;
	fq__reasm_free(&pf->reasm);
	free(pf);
}

void
fq_pf_finish(struct fq_pf *pf)
{
	fq__reasm_finish(&pf->reasm);
}

const struct fq_pf_stats *
fq_pf_stats(const struct fq_pf *pf)
{
	return &pf->st;
}

static int
reject(struct fq_pf *pf, enum fq_pf_reason r)
{
	pf->st.reason[r]++;
	return 0;
}

/* Frame too short for a header: snaplen cut or a broken frame. */
static int
short_frame(struct fq_pf *pf, size_t caplen, size_t wirelen)
{
	return reject(pf, caplen < wirelen ? FQ_PF_SNAPLEN : FQ_PF_SHORT);
}

static void
set_addr(struct sockaddr_storage *ss, int is6, const uint8_t *a,
	 uint16_t port)
{
	memset(ss, 0, sizeof *ss);
	if (is6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		s6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons(port);
	}
}

/*
 * UDP header + payload `p`/`n` (the whole IP payload, fragments already
 * reassembled) from addresses src/dst.
 */
static int
parse_udp(struct fq_pf *pf, int is6, const uint8_t *src, const uint8_t *dst,
	  const uint8_t *p, size_t n, struct fq_pf_udp *out)
{
	if (n < 8)
		return reject(pf, FQ_PF_BAD_UDP);
	size_t ulen = fq__be16(p + 4);
	/*
	 * UDP length 0: IPv6 jumbogram convention, also what a captured
	 * oversized datagram (flowq --record of a 65535-byte TCP message)
	 * carries; the IP payload length then decides.
	 */
	if (ulen == 0)
		ulen = n;
	if (ulen < 8 || ulen > n)
		return reject(pf, FQ_PF_BAD_UDP);
	out->data = p + 8;
	out->len = ulen - 8;
	set_addr(&out->src, is6, src, fq__be16(p));
	set_addr(&out->dst, is6, dst, fq__be16(p + 2));
	pf->st.datagrams++;
	return 1;
}

static int
parse_ipv4(struct fq_pf *pf, const uint8_t *p, size_t n, size_t missing,
	   int64_t ts_ms, struct fq_pf_udp *out)
{
	if (n < 20)
		return reject(pf, missing ? FQ_PF_SNAPLEN : FQ_PF_SHORT);
	if (p[0] >> 4 != 4)
		return reject(pf, FQ_PF_BAD_IP);
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t tot = fq__be16(p + 2);
	if (tot == 0)           /* TSO / oversized: the frame decides */
		tot = n + missing;
	if (ihl < 20 || tot < ihl)
		return reject(pf, FQ_PF_BAD_IP);
	if (tot > n)
		return reject(pf, tot <= n + missing ? FQ_PF_SNAPLEN
				  : FQ_PF_SHORT);
	/* n > tot: Ethernet padding, ignore it. */
	uint8_t proto = p[9];
	uint16_t frag = fq__be16(p + 6);
	const uint8_t *src = p + 12, *dst = p + 16;
	const uint8_t *pl = p + ihl;
	size_t pln = tot - ihl;
	if ((frag & 0x3fff) != 0) {
		if (proto != IPPROTO_UDP)
			return reject(pf, FQ_PF_NOT_UDP);
		uint32_t off = (uint32_t)(frag & 0x1fff) * 8;
		struct fq__reasm *r = fq__reasm_add(&pf->reasm, 0, src, dst,
			fq__be16(p + 4), proto, off, pl, pln,
			(frag & 0x2000) != 0, ts_ms);
		if (r == NULL)
			return 0;
		uint8_t s4[4], d4[4];
		memcpy(s4, r->src, 4);
		memcpy(d4, r->dst, 4);
		uint32_t total = r->total;
		fq__reasm_release(r);
		/* The buffer stays valid: the slot is free but not reused
		 * before the next fq_pf_parse(). */
		return parse_udp(pf, 0, s4, d4, r->buf, total, out);
	}
	if (proto != IPPROTO_UDP)
		return reject(pf, FQ_PF_NOT_UDP);
	return parse_udp(pf, 0, src, dst, pl, pln, out);
}

static int
parse_ipv6(struct fq_pf *pf, const uint8_t *p, size_t n, size_t missing,
	   int64_t ts_ms, struct fq_pf_udp *out)
{
	if (n < 40)
		return reject(pf, missing ? FQ_PF_SNAPLEN : FQ_PF_SHORT);
	if (p[0] >> 4 != 6)
		return reject(pf, FQ_PF_BAD_IP);
	size_t plen = fq__be16(p + 4);
	if (plen == 0)          /* jumbogram / oversized: frame decides */
		plen = n + missing - 40;
	if (40 + plen > n)
		return reject(pf, 40 + plen <= n + missing ? FQ_PF_SNAPLEN
			      : FQ_PF_SHORT);
	const uint8_t *src = p + 8, *dst = p + 24;
	const uint8_t *q = p + 40;
	size_t left = plen;
	uint8_t nh = p[6];
	int reassembled = 0;
	uint8_t a6[32];         /* addresses of a reassembled datagram */
	for (int i = 0; i <= FQ_PF_MAX_EXTHDR; i++) {
		size_t hl;
		switch (nh) {
		case IPPROTO_UDP:
			return parse_udp(pf, 1, src, dst, q, left, out);
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (left < 8)
				return reject(pf, FQ_PF_BAD_IP);
			hl = ((size_t)q[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (left < 8)
				return reject(pf, FQ_PF_BAD_IP);
			hl = ((size_t)q[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT: {
			if (left < 8 || reassembled)
				return reject(pf, FQ_PF_BAD_IP);
			uint16_t fo = fq__be16(q + 2);
			uint8_t inner = q[0];
			uint32_t off = (uint32_t)(fo & 0xfff8);
			int more = fo & 1;
			if (off == 0 && !more) {
				/* Atomic fragment (RFC 6946): not fragmented. */
				nh = inner;
				q += 8;
				left -= 8;
				continue;
			}
			struct fq__reasm *r = fq__reasm_add(&pf->reasm, 1,
				src, dst, fq__be32(q + 4), inner, off, q + 8,
				left - 8, more, ts_ms);
			if (r == NULL)
				return 0;
			memcpy(a6, r->src, 16);
			memcpy(a6 + 16, r->dst, 16);
			src = a6;
			dst = a6 + 16;
			nh = r->proto;
			q = r->buf;
			left = r->total;
			/* The buffer stays valid until the next fq_pf_parse(). */
			fq__reasm_release(r);
			reassembled = 1;
			continue;
		}
		case IPPROTO_NONE:
		default:
			return reject(pf, FQ_PF_NOT_UDP);
		}
		if (hl > left)
			return reject(pf, FQ_PF_BAD_IP);
		nh = q[0];
		q += hl;
		left -= hl;
	}
	return reject(pf, FQ_PF_BAD_IP);
}

/* Network payload by ethertype, after any VLAN tags. */
static int
parse_ethertype(struct fq_pf *pf, uint16_t type, const uint8_t *p, size_t n,
		size_t missing, int64_t ts_ms, struct fq_pf_udp *out)
{
	for (int tags = 0; ; tags++) {
		if (type != 0x8100 && type != 0x88a8 && type != 0x9100)
			break;
		if (tags == FQ_PF_MAX_VLAN)
			return reject(pf, FQ_PF_NOT_IP);
		if (n < 4)
			return reject(pf, missing ? FQ_PF_SNAPLEN
				      : FQ_PF_SHORT);
		type = fq__be16(p + 2);
		p += 4;
		n -= 4;
	}
	if (type == 0x0800)
		return parse_ipv4(pf, p, n, missing, ts_ms, out);
	if (type == 0x86dd)
		return parse_ipv6(pf, p, n, missing, ts_ms, out);
	return reject(pf, FQ_PF_NOT_IP);
}

static int
parse_ip_any(struct fq_pf *pf, const uint8_t *p, size_t n, size_t missing,
	     int64_t ts_ms, struct fq_pf_udp *out)
{
	if (n < 1)
		return reject(pf, missing ? FQ_PF_SNAPLEN : FQ_PF_SHORT);
	if (p[0] >> 4 == 4)
		return parse_ipv4(pf, p, n, missing, ts_ms, out);
	if (p[0] >> 4 == 6)
		return parse_ipv6(pf, p, n, missing, ts_ms, out);
	return reject(pf, FQ_PF_NOT_IP);
}

/* BSD address family values for IPv6 differ between systems. */
static int
parse_af(struct fq_pf *pf, uint32_t af, const uint8_t *p, size_t n,
	 size_t missing, int64_t ts_ms, struct fq_pf_udp *out)
{
	if (af == 2)
		return parse_ipv4(pf, p, n, missing, ts_ms, out);
	if (af == 10 || af == 24 || af == 28 || af == 30)
		return parse_ipv6(pf, p, n, missing, ts_ms, out);
	return reject(pf, FQ_PF_NOT_IP);
}

int
fq_pf_parse(struct fq_pf *pf, const uint8_t *frame, size_t caplen,
	    size_t wirelen, int64_t ts_ms, struct fq_pf_udp *out)
{
	pf->st.frames++;
	size_t missing = wirelen > caplen ? wirelen - caplen : 0;
	const uint8_t *p = frame;
	size_t n = caplen;
	switch (pf->link) {
	case LINK_ETHER:
		if (n < 14)
			return short_frame(pf, caplen, wirelen);
		return parse_ethertype(pf, fq__be16(p + 12), p + 14, n - 14,
				       missing, ts_ms, out);
	case LINK_RAW:
		return parse_ip_any(pf, p, n, missing, ts_ms, out);
	case LINK_SLL:
		if (n < 16)
			return short_frame(pf, caplen, wirelen);
		return parse_ethertype(pf, fq__be16(p + 14), p + 16, n - 16,
				       missing, ts_ms, out);
	case LINK_SLL2:
		if (n < 20)
			return short_frame(pf, caplen, wirelen);
		return parse_ethertype(pf, fq__be16(p), p + 20, n - 20,
				       missing, ts_ms, out);
	case LINK_NULL: {
		if (n < 4)
			return short_frame(pf, caplen, wirelen);
		uint32_t af;
		memcpy(&af, p, 4);      /* host order of the capturer */
		if (af > 0xffff)
			af = __builtin_bswap32(af);
		return parse_af(pf, af, p + 4, n - 4, missing, ts_ms, out);
	}
	case LINK_LOOP:
		if (n < 4)
			return short_frame(pf, caplen, wirelen);
		return parse_af(pf, fq__be32(p), p + 4, n - 4, missing, ts_ms,
				out);
	}
	return reject(pf, FQ_PF_NOT_IP);
}

void
fq_pf_print_stats(const struct fq_pf_stats *st, struct fq_out *o, int json)
{
	static const char *const names[4] = {
		"frames", "datagrams", "fragments", "reassembled",
	};
	const uint64_t v[4] = {
		st->frames, st->datagrams, st->fragments, st->reassembled,
	};
	for (int i = 0; i < 4 + FQ_PF_NREASONS; i++) {
		const char *name = i < 4 ? names[i] : reason_names[i - 4];
		unsigned long long x = i < 4 ? v[i] : st->reason[i - 4];
		if (json)
			fq_out_printf(o, ",\"%s\":%llu", name, x);
		else if (i < 4 || x != 0)       /* text: reasons seen only */
			fq_out_printf(o, " %s %llu", name, x);
	}
}
