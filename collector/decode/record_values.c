/*
 * record_values.c - from the values of one v9/IPFIX record (struct
 * fq__acc, filled by a template program or by libfixbuf) to a canonical
 * record, or, for an options record, to domain state.
 *
 * Several wire fields may feed one record field, with an order of
 * preference: the non-zero address family (IPv4 when both are non-zero),
 * delta counters before total, post and initiator ones, and for times the
 * first representation present with a value in range (SPEC section 1).
 */
#include "decode.h"
#include "record_values.h"

#include <string.h>

/* NTP timestamp (RFC 7011 dateTimeMicro/Nanoseconds) to Unix ms. */
static int64_t
ntp_ms(uint64_t v, int nanos)
{
	uint64_t sec = v >> 32;
	/*
	 * Some exporters send Unix-epoch micro/nanoseconds as a plain
	 * integer instead of NTP format.  Such a value's high 32 bits are
	 * far below the NTP seconds of 1970 (2208988800): read it as that.
	 */
	if (sec < 2208988800u)
		return nanos ? (int64_t)(v / 1000000) : (int64_t)(v / 1000);
	uint64_t frac = v & 0xffffffffu;
	return ((int64_t)sec - 2208988800LL) * 1000 +
	       (int64_t)((frac * 1000) >> 32);
}

static int
zero16(const uint8_t *b)
{
	static const uint8_t z[16];
	return memcmp(b, z, 16) == 0;
}

/* SPEC 1: the non-zero family; IPv4 when both are non-zero. */
static int
pick_ip(uint64_t has, unsigned op4, unsigned op6, uint32_t v4,
	const uint8_t *v6, struct fq_ip *out)
{
	int h4 = (has & FQ__HAS(op4)) != 0, h6 = (has & FQ__HAS(op6)) != 0;
	if (h4 && (v4 != 0 || !h6 || zero16(v6))) {
		fq_ip_set4(out, v4);
		return v4 != 0;
	}
	if (h6) {
		fq_ip_set6(out, v6);
		return !zero16(v6);
	}
	return 0;
}

/*
 * A time a record can carry: 0 to the end of year 9999 (FQ__TIME_MAX).  A
 * time outside is ignored like a field of the wrong length, so later
 * arithmetic on record times cannot overflow and no time before 1970 (an
 * IPFIX millisecond time near 2^64 read as negative) reaches a record.
 */
static int
time_ok(int64_t t)
{
	return t >= 0 && t <= FQ__TIME_MAX;
}

/*
 * Start or end time in ms from the first representation present with a
 * value that is a time (time_ok); 0 when there is none, counted as
 * time_invalid when some representation was present.
 */
static int
pick_time(struct fq__dctx *c, uint64_t has, const struct fq__acc *a,
	  const struct fq__hdr *h, const struct fq__domain *dom, int end,
	  int64_t *out)
{
#define H(op) (has & FQ__HAS(op))
#define TAKE(v) do { int64_t v_ = (v); present = 1; \
		if (time_ok(v_)) { *out = v_; return 1; } } while (0)
	int present = 0;
	int64_t export_ms = (int64_t)h->export_secs * 1000;
	if (H(end ? FQ__OP_END_MS : FQ__OP_START_MS))
		TAKE((int64_t)(end ? a->end_ms : a->start_ms));
	if (H(end ? FQ__OP_END_S : FQ__OP_START_S))
		TAKE((int64_t)(end ? a->end_s : a->start_s) * 1000);
	if (H(end ? FQ__OP_END_US : FQ__OP_START_US))
		TAKE(ntp_ms(end ? a->end_us : a->start_us, 0));
	if (H(end ? FQ__OP_END_NS : FQ__OP_START_NS))
		TAKE(ntp_ms(end ? a->end_ns : a->start_ns, 1));
	if (H(end ? FQ__OP_END_UP : FQ__OP_START_UP)) {
		uint32_t t = end ? a->end_up : a->start_up;
		if (h->version == 9)
			TAKE(fq_uptime_to_ms(h->export_secs, 0, h->uptime, t));
		/* sysinit_ms is unsigned: no signed overflow before the check. */
		if (H(FQ__OP_SYSINIT_MS))
			TAKE((int64_t)(a->sysinit_ms + t));
		/* dom->sysinit_ms passed time_ok when it was stored. */
		if (dom->have_sysinit)
			TAKE(dom->sysinit_ms + t);
	}
	if (H(end ? FQ__OP_END_DELTA_US : FQ__OP_START_DELTA_US)) {
		uint32_t d = end ? a->end_delta_us : a->start_delta_us;
		TAKE(export_ms - d / 1000);
	}
	if (present)
		fq__anomaly(c, FQ__ANOM_TIME_INVALID, "no %s time in range",
			    end ? "end" : "start");
	return 0;
#undef TAKE
#undef H
}

static uint32_t
options_interval(uint64_t has, const struct fq__acc *a)
{
#define H(op) (has & FQ__HAS(op))
	if (H(FQ__OP_SAMPLING) && a->sampling)
		return a->sampling;
	if (H(FQ__OP_SAMPLER_INTERVAL) && a->sampler_interval)
		return a->sampler_interval;
	if (H(FQ__OP_PKT_INTERVAL) && a->pkt_interval) {
		/* Count-based: select `interval` packets, skip `space`. */
		uint64_t n = (uint64_t)a->pkt_interval + a->pkt_space;
		return (uint32_t)(n / a->pkt_interval);
	}
	if (H(FQ__OP_SAMPLING_SIZE) && H(FQ__OP_SAMPLING_POP) && a->samp_size)
		return a->samp_pop / a->samp_size;
	return 0;
#undef H
}

void
fq__acc_apply(struct fq__dctx *c, struct fq__domain *dom, uint64_t has,
	      int is_options, const struct fq__hdr *h, const struct fq__acc *a)
{
#define H(op) (has & FQ__HAS(op))
	if (is_options) {
		c->ex->options_records++;
		uint32_t iv = options_interval(has, a);
		if (iv)
			fq__domain_set_sampler(dom, H(FQ__OP_SAMPLER_ID) != 0,
					       (uint32_t)a->selector_id, iv);
		/* Out of range, it could not give a time in range anyway. */
		if (H(FQ__OP_SYSINIT_MS) && time_ok((int64_t)a->sysinit_ms)) {
			dom->have_sysinit = 1;
			dom->sysinit_ms = (int64_t)a->sysinit_ms;
		}
		return;
	}
	struct fq_record *r = fq__slot(c);
	pick_ip(has, FQ__OP_SRC4, FQ__OP_SRC6, a->src4, a->src6, &r->srcip);
	pick_ip(has, FQ__OP_DST4, FQ__OP_DST6, a->dst4, a->dst6, &r->dstip);
	if (!pick_ip(has, FQ__OP_NH4, FQ__OP_NH6, a->nh4, a->nh6,
		     &r->nexthop) &&
	    (H(FQ__OP_BGPNH4) || H(FQ__OP_BGPNH6))) {
		struct fq_ip bgp = r->nexthop;
		if (pick_ip(has, FQ__OP_BGPNH4, FQ__OP_BGPNH6, a->bgpnh4,
			    a->bgpnh6, &bgp))
			fq_ip_set(&r->nexthop, &bgp);
	}
	r->srcport = a->srcport;
	r->dstport = a->dstport;
	uint16_t icmp = a->icmp4 ? a->icmp4 : a->icmp6;
	if (r->dstport == 0 && icmp)
		r->dstport = icmp;
	r->prot = a->prot;
	r->tos = a->tos;
	r->tcp_flags = a->tcpflags;
	r->packets = H(FQ__OP_PKTS) ? a->pkts
		   : H(FQ__OP_PKTS_TOTAL) ? a->pkts_total
		   : H(FQ__OP_PKTS_OUT) ? a->pkts_out : a->pkts_init;
	r->bytes = H(FQ__OP_BYTES) ? a->bytes
		 : H(FQ__OP_BYTES_TOTAL) ? a->bytes_total
		 : H(FQ__OP_BYTES_OUT) ? a->bytes_out : a->bytes_init;
	r->input = a->input;
	r->output = a->output;
	r->src_as = a->src_as;
	r->dst_as = a->dst_as;
	/* A mask belongs to the address family it was exported for. */
	r->src_mask = r->srcip.is6 ? a->src6_mask : a->src_mask;
	r->dst_mask = r->dstip.is6 ? a->dst6_mask : a->dst_mask;
	r->engine_type = a->engine_type;
	r->engine_id = a->engine_id;
	r->domain = h->domain;
	r->unix_secs = h->export_secs;
	if (h->version == 9)
		r->sysuptime = h->uptime;

	uint32_t s = H(FQ__OP_SAMPLING) ? a->sampling : 0;
	if (s == 0 && H(FQ__OP_SAMPLER_INTERVAL))
		s = a->sampler_interval;
	if (s == 0)
		s = fq__domain_sampling(dom, H(FQ__OP_SAMPLER_ID) != 0,
					(uint32_t)a->selector_id);
	r->sampling = s ? s : 1;

	int64_t st = 0, et = 0;
	int hs = pick_time(c, has, a, h, dom, 0, &st);
	int he = pick_time(c, has, a, h, dom, 1, &et);
	int64_t dur = H(FQ__OP_DUR_MS) ? (int64_t)a->dur_ms
		    : H(FQ__OP_DUR_US) ? (int64_t)a->dur_us / 1000 : -1;
	if (hs && !he)
		et = dur >= 0 ? st + dur : st;
	else if (he && !hs)
		st = dur >= 0 ? et - dur : et;
	else if (!hs && !he)
		st = et = (int64_t)h->export_secs * 1000;
	r->stime = st;
	r->etime = et;
	fq__times_settle(c, r, (int64_t)h->export_secs * 1000);
	fq__commit(c, r);
#undef H
}
