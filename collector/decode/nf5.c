/*
 * nf5.c - NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records.
 *
 * The header's count must be 1..30 (anything else is malformed: no v5
 * exporter sends it).  The datagram should be 24 + 48 * count bytes; when
 * it is not, the whole records that both the count and the datagram have
 * are decoded and the mismatch is counted (v5_count_mismatch): a count
 * above what arrived is a cut datagram, one below it trailing bytes.  Only
 * a datagram without one whole record is malformed (v5_length).  The observation domain is engine_type << 8 | engine_id,
 * so two engines behind one address keep separate flow_sequence counters.
 *
 * sampling_interval: the top 2 bits are the mode, the low 14 bits the
 * interval; 0 means unsampled (1).
 */
#include "decode.h"

#define NF5_HDR 24
#define NF5_REC 48
#define NF5_MAX 30

int
fq__nf5_match(const uint8_t *p, size_t len)
{
	return len >= 2 && fq__be16(p) == 5;
}

void
fq__nf5_decode(struct fq__dctx *c, const uint8_t *p, size_t len)
{
	if (len < NF5_HDR) {
		fq__malformed(c, FQ__MAL_SHORT, "v5 header needs 24 bytes, "
			      "got %zu", len);
		return;
	}
	unsigned count = fq__be16(p + 2);
	if (count == 0 || count > NF5_MAX) {
		fq__malformed(c, FQ__MAL_V5_COUNT, "v5 count %u", count);
		return;
	}
	size_t fit = (len - NF5_HDR) / NF5_REC;
	if (fit == 0) {
		fq__malformed(c, FQ__MAL_V5_LENGTH,
			      "v5 count %u needs %u bytes, datagram has %zu",
			      count, NF5_HDR + NF5_REC * count, len);
		return;
	}
	unsigned nrec = count;
	if (len != NF5_HDR + (size_t)NF5_REC * count) {
		if (fit < nrec)
			nrec = (unsigned)fit;
		fq__anomaly(c, FQ__ANOM_V5_COUNT, "v5 count %u needs %u bytes, "
			    "datagram has %zu: %u records decoded", count,
			    NF5_HDR + NF5_REC * count, len, nrec);
	}
	uint32_t uptime = fq__be32(p + 4);
	uint32_t secs = fq__be32(p + 8);
	uint32_t nsecs = fq__be32(p + 12);
	uint32_t seq = fq__be32(p + 16);
	uint8_t etype = p[20], eid = p[21];
	uint32_t sampling = fq__be16(p + 22) & 0x3fff;
	if (sampling == 0)
		sampling = 1;

	struct fq__domain *dom =
		fq__dctx_domain(c, 5, (uint32_t)etype << 8 | eid);
	if (dom == NULL)
		return;
	fq__seq(c->ex, dom, seq, count);

	const uint8_t *q = p + NF5_HDR;
	for (unsigned i = 0; i < nrec; i++, q += NF5_REC) {
		struct fq_record *r = fq__slot(c);
		fq_ip_set4(&r->srcip, fq__be32(q));
		fq_ip_set4(&r->dstip, fq__be32(q + 4));
		fq_ip_set4(&r->nexthop, fq__be32(q + 8));
		r->input = fq__be16(q + 12);
		r->output = fq__be16(q + 14);
		r->packets = fq__be32(q + 16);
		r->bytes = fq__be32(q + 20);
		r->stime = fq_uptime_to_ms(secs, nsecs, uptime,
					   fq__be32(q + 24));
		r->etime = fq_uptime_to_ms(secs, nsecs, uptime,
					   fq__be32(q + 28));
		r->srcport = fq__be16(q + 32);
		r->dstport = fq__be16(q + 34);
		r->tcp_flags = q[37];
		r->prot = q[38];
		r->tos = q[39];
		r->src_as = fq__be16(q + 40);
		r->dst_as = fq__be16(q + 42);
		r->src_mask = q[44];
		r->dst_mask = q[45];
		r->domain = dom->id;
		r->engine_type = etype;
		r->engine_id = eid;
		r->sampling = sampling;
		r->unix_secs = secs;
		r->unix_nsecs = nsecs;
		r->sysuptime = uptime;
		fq__times_settle(c, r, (int64_t)secs * 1000);
		fq__commit(c, r);
	}
}
