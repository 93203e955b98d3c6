/*
 * pcap_recorder.c - writes received datagrams to a pcap capture
 * (--record).
 *
 * See pcap_recorder.h for the frame layout.  libpcap's pcap_dump() writes
 * through stdio; its errors are sticky in the FILE, so after each write the
 * FILE is checked and the first failure is reported once.
 */
#include "pcap_recorder.h"
#include "fq_error.h"
#include "fq_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_SNAPLEN 262144
#define REC_MAX_PAYLOAD 65535u
#define REC_FRAME_MAX (14 + 40 + 8 + REC_MAX_PAYLOAD)

struct fq_pcap_recorder {
	pcap_t *dead;               /* owned: pcap_open_dead() handle */
	pcap_dumper_t *dump;        /* owned */
	char *path;                 /* owned */
	uint64_t written, dropped;
	int failed;                 /* a write failed: stop writing */
	uint8_t frame[REC_FRAME_MAX];
};

static void
wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
sum16(uint32_t acc, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t
fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

int
fq_pcap_recorder_open(const char *path, struct fq_pcap_recorder **out,
		    char *why, size_t why_len)
{
	struct fq_pcap_recorder *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(why, why_len, "%s: out of memory", path);
		return -FQ_ENOMEM;
	}
	r->path = strdup(path);
	r->dead = pcap_open_dead(DLT_EN10MB, REC_SNAPLEN);
	if (r->path == NULL || r->dead == NULL) {
		snprintf(why, why_len, "%s: out of memory", path);
		goto fail;
	}
	r->dump = pcap_dump_open(r->dead, path);
	if (r->dump == NULL) {
		snprintf(why, why_len, "%s: cannot create capture: %s", path,
			 pcap_geterr(r->dead));
		goto fail;
	}
	*out = r;
	return 0;
fail:
	if (r->dead)
		pcap_close(r->dead);
	free(r->path);
	free(r);
	return -FQ_EIO;
}

/* Build the frame for dg in r->frame; returns its length. */
static size_t
build_frame(struct fq_pcap_recorder *r, const struct fq_datagram *dg)
{
	uint8_t *f = r->frame;
	size_t n = dg->len;
	int is6 = dg->src.ss_family == AF_INET6;
	uint16_t sport = 0;
	uint16_t dport = n >= 2 && dg->data[0] == 0 && dg->data[1] == 10
			 ? 4739 : 2055;
	/* Ethernet: locally administered addresses, then the ethertype. */
	static const uint8_t macs[12] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01,
	};
	memcpy(f, macs, 12);
	wr16(f + 12, is6 ? 0x86dd : 0x0800);
	uint8_t *ip = f + 14, *udp;
	size_t udp_len = 8 + n;
	if (is6) {
		const struct sockaddr_in6 *s6 = (const void *)&dg->src;
		sport = ntohs(s6->sin6_port);
		memset(ip, 0, 40);
		ip[0] = 0x60;
		wr16(ip + 4, udp_len > 0xffff ? 0 : (uint32_t)udp_len);
		ip[6] = IPPROTO_UDP;
		ip[7] = 64;
		memcpy(ip + 8, &s6->sin6_addr, 16);
		/* destination :: */
		udp = ip + 40;
	} else {
		uint8_t a4[4] = { 0, 0, 0, 0 };
		if (dg->src.ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)&dg->src;
			memcpy(a4, &s4->sin_addr, 4);
			sport = ntohs(s4->sin_port);
		}
		size_t tot = 20 + udp_len;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		wr16(ip + 2, tot > 0xffff ? 0 : (uint32_t)tot);
		wr16(ip + 6, 0x4000);           /* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, a4, 4);
		wr16(ip + 10, fold(sum16(0, ip, 20)));
		udp = ip + 20;
	}
	wr16(udp, sport);
	wr16(udp + 2, dport);
	wr16(udp + 4, udp_len > 0xffff ? 0 : (uint32_t)udp_len);
	wr16(udp + 6, 0);
	memcpy(udp + 8, dg->data, n);
	if (is6) {
		/* The UDP checksum is mandatory over IPv6. */
		uint32_t acc = sum16(0, ip + 8, 32);
		acc += (uint32_t)(udp_len >> 16) + (uint32_t)(udp_len & 0xffff);
		acc += IPPROTO_UDP;
		acc = sum16(acc, udp, udp_len);
		uint16_t c = fold(acc);
		wr16(udp + 6, c == 0 ? 0xffff : c);
	}
	return (size_t)(udp + udp_len - f);
}

int
fq_pcap_recorder_write(struct fq_pcap_recorder *r, const struct fq_datagram *dg)
{
	if (r->failed) {
		r->dropped++;
		return -FQ_EIO;
	}
	if (dg->len > REC_MAX_PAYLOAD) {
		r->dropped++;
		return 0;
	}
	size_t len = build_frame(r, dg);
	struct pcap_pkthdr ph;
	int64_t ms = dg->arrival_ms > 0 ? dg->arrival_ms : 0;
	ph.ts.tv_sec = (time_t)(ms / 1000);
	ph.ts.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	ph.caplen = (bpf_u_int32)len;
	ph.len = (bpf_u_int32)len;
	pcap_dump((u_char *)r->dump, &ph, r->frame);
	FILE *fp = pcap_dump_file(r->dump);
	if (fp != NULL && ferror(fp)) {
		r->failed = 1;
		r->dropped++;
		fq_error("%s: write error (%s); recording stops here, "
			 "ingest goes on", r->path, strerror(errno));
		return -FQ_EIO;
	}
	r->written++;
	return 0;
}

int
fq_pcap_recorder_flush(struct fq_pcap_recorder *r)
{
	if (r->failed)
		return -FQ_EIO;
	if (pcap_dump_flush(r->dump) != 0) {
		r->failed = 1;
		fq_error("%s: write error (%s); recording stops here, "
			 "ingest goes on", r->path, strerror(errno));
		return -FQ_EIO;
	}
	return 0;
}

int
fq_pcap_recorder_reopen(struct fq_pcap_recorder *r)
{
	fq_pcap_recorder_flush(r);
	/* Appends when the file is still there (its header must agree),
	 * creates it with a header when a rotation moved it away. */
	pcap_dumper_t *d = pcap_dump_open_append(r->dead, r->path);
	if (d == NULL) {
		fq_error("%s: cannot reopen the capture (%s); recording on to "
			 "the file that was open", r->path, pcap_geterr(r->dead));
		return -FQ_EIO;
	}
	pcap_dump_close(r->dump);
	r->dump = d;
	r->failed = 0;
	fq_info("%s: reopened", r->path);
	return 0;
}

uint64_t
fq_pcap_recorder_count(const struct fq_pcap_recorder *r)
{
	return r->written;
}

int
fq_pcap_recorder_close(struct fq_pcap_recorder *r)
{
	if (r == NULL)
		return 0;
	int rc = fq_pcap_recorder_flush(r);
	pcap_dump_close(r->dump);
	pcap_close(r->dead);
	if (r->dropped > 0)
		fq_warn("%s: %llu datagrams were not recorded", r->path,
			(unsigned long long)r->dropped);
	free(r->path);
	free(r);
	return rc;
}
