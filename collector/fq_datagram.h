/*
 * fq_datagram.h - one export datagram (or IPFIX message) as received.
 *
 * Live UDP/TCP sources and replayed captures produce the same struct, and
 * both hand it to fq_ingest_datagram(): one decoder dispatch for everything.
 */
#ifndef FQ_DATAGRAM_H
#define FQ_DATAGRAM_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Transport kinds: templates and sequence numbers behave differently. */
enum fq_transport {
	FQ_TRANSPORT_UDP = 0,   /* also pcap replay of UDP, and raw: files */
	FQ_TRANSPORT_TCP = 1,   /* IPFIX over TCP: templates never expire */
	FQ_TRANSPORT_FILE = 2,  /* ipfix: files (RFC 5655) */
};

/*
 * local_id shared by every replay source (pcap, raw:, ipfix:): a template
 * capture given before its data capture decodes the data, so files of one
 * run must map to the same exporter key.  Live sockets use their own
 * source index, which never reaches this value.
 */
#define FQ_REPLAY_LOCAL_ID 0xffffffffu

struct fq_datagram {
	const uint8_t *data;           /* borrowed, valid during the call */
	size_t len;
	/*
	 * Exporter transport address (address and port).  Together with
	 * local_id this is the exporter key of SPEC section 2; replay of
	 * raw:/ipfix: files uses 0.0.0.0 port 0.
	 */
	struct sockaddr_storage src;
	uint32_t local_id;             /* which local socket/source received it */
	enum fq_transport transport;
	/*
	 * Arrival time, ms since the epoch: wall clock when live, the
	 * capture's packet time on pcap replay, the export header time for
	 * raw:/ipfix: replay (0 = take it from the export header).
	 */
	int64_t arrival_ms;
};

#endif
