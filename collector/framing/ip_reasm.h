/*
 * ip_reasm.h - reassembly of fragmented IPv4 and IPv6 datagrams found in a
 * capture, with bounded state.
 *
 * At most FQ_PF_MAX_REASM datagrams are in flight, each at most 65535
 * bytes; a datagram whose first fragment is more than
 * FQ_PF_REASM_TIMEOUT_MS of capture time away is dropped, and when the
 * table is full the oldest one is evicted.  Every fragment that does not
 * complete a datagram is counted in the frame parser's statistics under
 * one reason (pcap_frame.h); nothing is ever delivered in part.
 */
#ifndef FQ_IP_REASM_H
#define FQ_IP_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "pcap_frame.h"

#define FQ_REASM_MAX 65535u
#define FQ_REASM_BLOCKS ((FQ_REASM_MAX + 8) / 8)

/* One datagram being reassembled. */
struct fq__reasm {
	int used;
	int is6;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;          /* IPv4 protocol / IPv6 next header after frag */
	int64_t first_ms;       /* capture time of the first fragment */
	uint32_t total;         /* payload length, 0 until the last fragment */
	uint32_t blocks_have;   /* 8-byte blocks received */
	uint8_t *buf;           /* owned, FQ_REASM_MAX + 1 bytes, reused */
	uint8_t have[(FQ_REASM_BLOCKS + 7) / 8];
};

struct fq__reasm_table {
	struct fq_pf_stats *st;         /* borrowed: the parser's counters */
	struct fq__reasm slot[FQ_PF_MAX_REASM];
};

/*
 * Add a fragment of datagram (src, dst, id; IPv4 also proto): payload
 * `p`/`n` at byte offset `off`, `more` = the MF flag, captured at ts_ms.
 * Returns the slot when the datagram is complete: its buf holds `total`
 * bytes of IP payload, and proto the protocol of the offset-0 fragment;
 * the caller releases the slot and may read buf until the next
 * fq__reasm_add().  NULL otherwise (counted).
 */
struct fq__reasm *fq__reasm_add(struct fq__reasm_table *t, int is6,
				const uint8_t *src, const uint8_t *dst,
				uint32_t id, uint8_t proto, uint32_t off,
				const uint8_t *p, size_t n, int more,
				int64_t ts_ms);

/* Free a slot for the next datagram (its buffer stays allocated). */
void fq__reasm_release(struct fq__reasm *r);

/* End of input: the datagrams still in flight are counted as timed out. */
void fq__reasm_finish(struct fq__reasm_table *t);

/* Free the slots' buffers. */
void fq__reasm_free(struct fq__reasm_table *t);

#endif
