/*
 * pcap_frame.h - from a captured link-layer frame to the UDP datagram in it.
 *
 * Replay of pcap/pcapng captures (source_pcap.c), the tests and the fuzz
 * target use this to peel a frame down to its UDP payload: the link layer
 * (Ethernet with any number of 802.1Q/802.1ad tags, raw IP, Linux cooked
 * SLL and SLL2, BSD loopback DLT_NULL/DLT_LOOP), then IPv4 or IPv6 (with
 * extension headers), then UDP.  Fragmented datagrams (IPv4 and IPv6) are
 * reassembled with bounded state (ip_reasm.h): at most FQ_PF_MAX_REASM
 * datagrams in flight, each at most 65535 bytes, dropped after
 * FQ_PF_REASM_TIMEOUT_MS of capture time; what cannot be reassembled is
 * counted, never delivered in part.
 *
 * Every frame that does not yield a datagram is counted under one reason
 * (enum fq_pf_reason); nothing here asserts on input.
 *
 * The source address and port of the datagram become the exporter key of
 * the replayed datagram (SPEC section 2).
 */
#ifndef FQ_PCAP_FRAME_H
#define FQ_PCAP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fq_out.h"

#define FQ_PF_MAX_REASM 64             /* datagrams being reassembled */
#define FQ_PF_REASM_TIMEOUT_MS 30000   /* capture time */
#define FQ_PF_MAX_VLAN 8               /* stacked VLAN tags */
#define FQ_PF_MAX_EXTHDR 16            /* IPv6 extension headers */

/* Why a frame gave no datagram (or a fragment was dropped). */
enum fq_pf_reason {
	FQ_PF_NOT_IP = 0,       /* ARP, LLC, MPLS, unknown ethertype/AF */
	FQ_PF_NOT_UDP,          /* IP but TCP, ICMP, ... */
	FQ_PF_SNAPLEN,          /* capture cut the packet short (snaplen) */
	FQ_PF_SHORT,            /* frame shorter than its headers say */
	FQ_PF_BAD_IP,           /* bad version, header length, total length */
	FQ_PF_BAD_UDP,          /* UDP length inconsistent with IP */
	FQ_PF_FRAG_HELD,        /* a fragment, kept for reassembly */
	FQ_PF_FRAG_BAD,         /* fragment beyond 65535 or misaligned */
	FQ_PF_FRAG_EVICTED,     /* reassembly dropped: table full */
	FQ_PF_FRAG_TIMEOUT,     /* reassembly dropped: timeout / end of file */
	FQ_PF_NREASONS
};

struct fq_pf_stats {
	uint64_t frames;                    /* frames seen */
	uint64_t datagrams;                 /* UDP datagrams delivered */
	uint64_t reassembled;               /* of them, from fragments */
	uint64_t fragments;                 /* fragments seen */
	uint64_t reason[FQ_PF_NREASONS];    /* frames/fragments not delivered */
};

/* The datagram found in a frame. */
struct fq_pf_udp {
	/*
	 * Borrowed: points into the frame, or into the reassembly buffer;
	 * valid until the next fq_pf_parse() or fq_pf_free().
	 */
	const uint8_t *data;
	size_t len;
	struct sockaddr_storage src;        /* sockaddr_in/in6 with port */
	struct sockaddr_storage dst;
};

struct fq_pf;

/*
 * A parser for frames of one link type (pcap_datalink() DLT_* value, or
 * the LINKTYPE_* value of the file).  Returns 0 or -FQ_EUNSUP (unknown link
 * type) or -FQ_ENOMEM.
 */
int fq_pf_new(int linktype, struct fq_pf **out);
void fq_pf_free(struct fq_pf *pf);

/* A name for the link type, for messages ("EN10MB", "LINUX_SLL2", ...). */
const char *fq_pf_linktype_name(int linktype);
/* Name of a reason ("not_udp", ...), for counters. */
const char *fq_pf_reason_name(enum fq_pf_reason r);

/*
 * Parse one frame: `caplen` bytes captured of a packet that was `wirelen`
 * long on the wire, at capture time ts_ms.  Returns 1 and fills *out when
 * the frame completes a UDP datagram, 0 when it does not (the reason is
 * counted).  `frame` is borrowed for the call; out->data may point into it.
 */
int fq_pf_parse(struct fq_pf *pf, const uint8_t *frame, size_t caplen,
		size_t wirelen, int64_t ts_ms, struct fq_pf_udp *out);

/* End of input: count the datagrams still being reassembled as dropped. */
void fq_pf_finish(struct fq_pf *pf);

const struct fq_pf_stats *fq_pf_stats(const struct fq_pf *pf);

/*
 * Print the counters as `name value` pairs (text) or `"name":value`
 * members (json, no braces, leading comma).
 */
void fq_pf_print_stats(const struct fq_pf_stats *st, struct fq_out *o,
		       int json);

#endif
