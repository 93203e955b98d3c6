/*
 * fuzz_pcap.c - libFuzzer target: a whole pcap or pcapng capture, replayed
 * the way source_pcap.c replays one.
 *
 * The input is the capture file itself.  libpcap reads it from memory
 * (fmemopen + pcap_fopen_offline), every frame goes through the link-layer,
 * IP, fragment-reassembly and UDP parsing of pcap_frame.c, and every
 * datagram that comes out goes to the decoder dispatch (v5, v9, IPFIX
 * sessions keyed by the capture's source address and port), so one input
 * can define templates in one frame and use them in a later one.
 * libpcap itself is not instrumented: what this proves is that flowq's
 * code after it handles whatever frames a damaged or hostile capture
 * holds.  Records that come out are read field by field so sanitizers see
 * any bad value.
 */
#define _GNU_SOURCE
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fq_datagram.h"
#include "fq_decoder.h"
#include "fq_log.h"
#include "pcap_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
emit(void *ctx, struct fq_record *r, size_t n)
{
	uint64_t *sum = ctx;
	for (size_t i = 0; i < n; i++)
		*sum += r[i].packets + r[i].bytes + (uint64_t)r[i].stime +
			(uint64_t)r[i].etime + r[i].srcip.lo + r[i].dstip.hi +
			r[i].srcport + r[i].dstport + r[i].prot +
			r[i].sampling + r[i].domain;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fq_log_set_level(FQ_LOG_ERROR);
	if (size == 0)
		return 0;
	/* fmemopen() wants a writable buffer in some libc versions. */
	uint8_t *copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	FILE *f = fmemopen(copy, size, "rb");
	if (f == NULL) {
		free(copy);
		return 0;
	}
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_fopen_offline(f, err);   /* owns f from here */
	if (pc == NULL) {
		fclose(f);
		free(copy);
		return 0;
	}
	struct fq_pf *pf = NULL;
	struct fq_decoder *d = NULL;
	uint64_t sum = 0;
	if (fq_pf_new(pcap_datalink(pc), &pf) < 0)
		goto out;
	struct fq_decoder_opts o = { 0 };
	o.max_templates = 8;
	if (fq_decoder_new(&d, &o) < 0)
		goto out;
	struct pcap_pkthdr *ph;
	const u_char *pkt;
	while (pcap_next_ex(pc, &ph, &pkt) == 1) {
		int64_t ts_ms = (int64_t)ph->ts.tv_sec * 1000 +
				ph->ts.tv_usec / 1000;
		struct fq_pf_udp u;
		if (!fq_pf_parse(pf, pkt, ph->caplen, ph->len, ts_ms, &u))
			continue;
		/* A copy of exactly the datagram, so ASan sees overreads. */
		uint8_t *dg = malloc(u.len ? u.len : 1);
		if (dg == NULL)
			break;
		memcpy(dg, u.data, u.len);
		struct fq_datagram g;
		memset(&g, 0, sizeof g);
		g.data = dg;
		g.len = u.len;
		g.src = u.src;
		g.local_id = FQ_REPLAY_LOCAL_ID;
		g.transport = FQ_TRANSPORT_UDP;
		g.arrival_ms = ts_ms;
		fq_decoder_datagram(d, &g, emit, &sum);
		free(dg);
	}
	fq_pf_finish(pf);
	sum += fq_pf_stats(pf)->datagrams;
out:
	if (d != NULL)
		fq_decoder_free(d);
	if (pf != NULL)
		fq_pf_free(pf);
	pcap_close(pc);
	free(copy);
	return sum == 42 ? 0 : 0;
}
