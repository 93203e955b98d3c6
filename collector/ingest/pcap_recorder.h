/*
 * pcap_recorder.h - `--record FILE.pcap`: every received datagram, with its
 * source, written to a capture that replays to identical output.
 *
 * Each datagram becomes one Ethernet frame with a synthesized IPv4 or
 * IPv6 + UDP header: source address and port are the datagram's exporter
 * (struct fq_datagram.src), the destination is the unspecified address
 * (0.0.0.0 or ::) with port 4739 for IPFIX messages and 2055 otherwise (so
 * tshark decodes them as CFLOW), and the packet time is arrival_ms.  The
 * capture is a classic pcap with microsecond stamps and a snaplen of
 * 262144, so nothing is cut: an IPFIX message over TCP can be 65535 bytes,
 * more than an IPv4 length field can describe; such a frame carries 0 in
 * the IP total length and UDP length, which flowq's replay (pcap_frame.c)
 * reads as "to the end of the frame", like a TSO capture.
 *
 * Replaying the capture with `flowq print --json FILE.pcap` gives the
 * same records as the live run: same exporter address and port, same
 * bytes, same arrival times.  (Live sockets are told apart by local_id,
 * replayed captures are not; TCP messages replay as UDP datagrams.)
 *
 * Not thread-safe; call from the loop thread.
 */
#ifndef FQ_PCAP_RECORDER_H
#define FQ_PCAP_RECORDER_H

#include "fq_datagram.h"

struct fq_pcap_recorder;

/*
 * Create (truncate) `path`.  Returns 0 and *out, or -FQ_EIO with a
 * one-line reason in `why` (at least 256 bytes).
 */
int fq_pcap_recorder_open(const char *path, struct fq_pcap_recorder **out,
			char *why, size_t why_len);

/*
 * Append one datagram (borrowed for the call).  Returns 0, or -FQ_EIO
 * once writing has failed (disk full, ...): the error is logged once and
 * further writes are dropped and counted, ingest goes on.
 */
int fq_pcap_recorder_write(struct fq_pcap_recorder *r,
			 const struct fq_datagram *dg);

/* Push buffered frames to the file (e.g. on a stats tick); 0 or -FQ_EIO. */
int fq_pcap_recorder_flush(struct fq_pcap_recorder *r);

/*
 * SIGHUP (logrotate's convention): everything buffered goes to the file
 * that was open, then the path is opened anew -- appended to if it is
 * still there, created if a rotation moved it.  If it cannot be, the old
 * file is kept.  0 or -FQ_EIO.
 */
int fq_pcap_recorder_reopen(struct fq_pcap_recorder *r);

/* Frames written so far. */
uint64_t fq_pcap_recorder_count(const struct fq_pcap_recorder *r);

/*
 * Flush and close; frees r (NULL is accepted).  Returns 0, or -FQ_EIO if
 * any write failed (the capture is incomplete).
 */
int fq_pcap_recorder_close(struct fq_pcap_recorder *r);

#endif
