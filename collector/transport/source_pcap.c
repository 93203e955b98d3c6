/*
 * source_pcap.c - replay of pcap and pcapng captures of export datagrams.
 *
 * libpcap reads the file (both formats, either byte order, micro- or
 * nanosecond stamps); pcap_frame.c peels each frame down to its UDP
 * payload, reassembling IP fragments.  Every UDP payload becomes one
 * datagram whose exporter is the captured source address and port and
 * whose arrival time is the packet's capture time (SPEC section 2 and 5),
 * handed to fq_ingest_datagram() exactly like a datagram off a socket.
 *
 * Like every replay source it runs on the loop through replay.c: each loop
 * iteration handles at most PCAP_CHUNK packets, so signals and live
 * sockets on the same loop stay served.  Replay runs as fast as the
 * decoder goes, or at --speed X times the capture's pace (the packet read
 * last waits until it is due).
 *
 * A capture that ends in the middle of a packet, or is damaged, delivers
 * everything before the damage, then logs one message naming the file,
 * the packet number and the byte offset, and finishes with -FQ_ECORRUPT
 * (flowq exits 1 after flushing).
 */
#include "fq_datagram.h"
#include "fq_error.h"
#include "fq_format.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "pcap_frame.h"
#include "replay.h"
#include "source_kind.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCAP_CHUNK 512

struct source_pcap {
	struct fq__replay r;        /* first: the replay source */
	const char *path;           /* file name: base.spec after "pcap:" */
	pcap_t *pc;                 /* owned, open while replaying */
	struct fq_pf *pf;           /* owned: frame parser of this file */
	struct fq_pf_stats last;    /* counters kept after pf is freed */
	uint64_t packets;           /* records read from the file */
	uint64_t bytes;             /* UDP payload bytes delivered */
	int linktype;
	/* --speed pacing: a packet read but not yet due. */
	int have_pending;
	struct pcap_pkthdr pend_hdr;
	const u_char *pend_pkt;     /* libpcap's, valid until next read */
};

static void
pcap_release(struct fq__replay *r)
{
	struct source_pcap *s = (struct source_pcap *)r;
	if (s->pf) {
		fq_pf_finish(s->pf);
		s->last = *fq_pf_stats(s->pf);
		fq_pf_free(s->pf);
		s->pf = NULL;
	}
	if (s->pc) {
		pcap_close(s->pc);
		s->pc = NULL;
	}
}

/* The capture is damaged after s->packets good packets. */
static void
pcap_damage(struct source_pcap *s)
{
	long off = -1;
	FILE *f = pcap_file(s->pc);
	if (f != NULL)
		off = ftell(f);
	fq_error("%s: truncated or corrupt capture at packet %llu "
		 "(byte offset %ld): %s; %llu packets before it were "
		 "replayed", s->path, (unsigned long long)s->packets + 1,
		 off, pcap_geterr(s->pc), (unsigned long long)s->packets);
	s->r.status = -FQ_ECORRUPT;
}

/* Read the next packet into pend_*; 0 at the end of the capture. */
static int
pcap_read(struct source_pcap *s)
{
	struct pcap_pkthdr *ph;
	const u_char *pkt;
	int rc = pcap_next_ex(s->pc, &ph, &pkt);
	if (rc == PCAP_ERROR_BREAK || rc == 0)
		return 0;
	if (rc != 1) {
		pcap_damage(s);
		return 0;
	}
	s->packets++;
	s->pend_hdr = *ph;
	s->pend_pkt = pkt;
	s->have_pending = 1;
	return 1;
}

static void
pcap_step(struct fq__replay *r)
{
	struct source_pcap *s = (struct source_pcap *)r;
	for (int i = 0; i < PCAP_CHUNK; i++) {
		if (r->stopping || (!s->have_pending && !pcap_read(s))) {
			fq__replay_finish(r);
			return;
		}
		const struct pcap_pkthdr *ph = &s->pend_hdr;
		int64_t ts_ms = (int64_t)ph->ts.tv_sec * 1000 +
				ph->ts.tv_usec / 1000;
		int64_t wait = fq_pace_wait(&r->pace, ts_ms);
		if (wait > 0) {
			fq__replay_wait(r, wait);
			return;
		}
		s->have_pending = 0;
		struct fq_pf_udp u;
		if (!fq_pf_parse(s->pf, s->pend_pkt, ph->caplen, ph->len,
				 ts_ms, &u))
			continue;
		struct fq_datagram dg;
		memset(&dg, 0, sizeof dg);
		dg.data = u.data;
		dg.len = u.len;
		dg.src = u.src;
		dg.local_id = FQ_REPLAY_LOCAL_ID;
		dg.transport = FQ_TRANSPORT_UDP;
		dg.arrival_ms = ts_ms;
		s->bytes += u.len;
		/* On a sink error the ingest calls our stop(): r->stopping. */
		(void)fq_ingest_datagram(r->base.ingest, &dg);
	}
}

static int
pcap_start(struct fq_source *src)
{
	struct source_pcap *s = (struct source_pcap *)src;
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	s->pc = pcap_open_offline(s->path, errbuf);
	if (s->pc == NULL) {
		int readable = access(s->path, R_OK) == 0;
		fq_error("%s: %s", s->path, errbuf);
		return readable ? -FQ_ECORRUPT : -FQ_EIO;
	}
	s->linktype = pcap_datalink(s->pc);
	int rc = fq_pf_new(s->linktype, &s->pf);
	if (rc < 0) {
		if (rc == -FQ_EUNSUP)
			fq_error("%s: link type %d (%s) is not supported "
				 "(Ethernet, raw IP, Linux cooked SLL/SLL2 "
				 "and BSD loopback are)", s->path, s->linktype,
				 pcap_datalink_val_to_name(s->linktype)
				 ? pcap_datalink_val_to_name(s->linktype)
				 : "?");
		else
			fq_error("%s: out of memory", s->path);
		pcap_close(s->pc);
		s->pc = NULL;
		return rc;
	}
	fq__replay_run(&s->r);
	return 0;
}

static void
pcap_free_(struct fq_source *src)
{
	struct source_pcap *s = (struct source_pcap *)src;
	if (s->pc)
		pcap_close(s->pc);
	fq_pf_free(s->pf);
	free(s);
}

static void
pcap_print_stats(struct fq_source *src, struct fq_out *o, int json)
{
	struct source_pcap *s = (struct source_pcap *)src;
	const struct fq_pf_stats *st = s->pf ? fq_pf_stats(s->pf) : &s->last;
	if (json) {
		fq_out_str(o, "{\"source\":");
		fq_format_json_str(o, s->r.base.spec);
		fq_out_printf(o, ",\"kind\":\"pcap\",\"linktype\":\"%s\","
			      "\"packets\":%llu,\"bytes\":%llu",
			      fq_pf_linktype_name(s->linktype),
			      (unsigned long long)s->packets,
			      (unsigned long long)s->bytes);
		fq_pf_print_stats(st, o, 1);
		fq_out_str(o, "}");
		return;
	}
	fq_out_printf(o, "source pcap:%s: linktype %s packets %llu bytes %llu",
		      s->path, fq_pf_linktype_name(s->linktype),
		      (unsigned long long)s->packets,
		      (unsigned long long)s->bytes);
	fq_pf_print_stats(st, o, 0);
	fq_out_str(o, "\n");
}

static const struct fq_source_ops pcap_ops = {
	.kind = "pcap",
	.start = pcap_start,
	.stop = fq__replay_stop,
	.close = fq__replay_close,
	.free = pcap_free_,
	.print_stats = pcap_print_stats,
};

static const struct fq__replay_ops pcap_replay_ops = {
	.step = pcap_step,
	.release = pcap_release,
};

int
fq__source_pcap_new(const char *path, const struct fq_source_opts *opts,
		    struct fq_source **out, char *why, size_t why_len)
{
	int rc = fq__source_check_file("pcap:", path, 0, why, why_len);
	if (rc < 0)
		return rc;
	struct source_pcap *s = fq__source_alloc(sizeof *s, &pcap_ops, 0,
						 "pcap:", path, why, why_len);
	if (s == NULL)
		return -FQ_ENOMEM;
	fq__replay_init(&s->r, &pcap_replay_ops, opts);
	s->path = s->r.base.spec + strlen("pcap:");
	s->linktype = -1;
	*out = &s->r.base;
	return 0;
}
