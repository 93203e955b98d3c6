/*
 * nf9.c - NetFlow v9 (RFC 3954) decoding, and the template engine that
 * v9 and IPFIX share.
 *
 * A template is compiled once, when it arrives, into a small program: one
 * op per wire field saying how long it is and what it feeds (enum
 * fq__op_code); unknown fields become SKIP ops and adjacent fixed-length
 * SKIPs are merged.  Data records then run the program with no lookups:
 * this is what makes v9/IPFIX decoding cheap enough for millions of
 * records per second.  Each record is gathered into a struct fq__acc and
 * turned into a canonical record (or, for options records, into domain
 * state: sampling interval, systemInitTimeMilliseconds) by fq__acc_apply,
 * which the libfixbuf adapter uses too.
 *
 * v9 details handled here: field type ids >= 32768 are vendor fields in v9
 * (there is no enterprise bit), so they are skipped like any unknown type;
 * zero-length fields occupy nothing; a length of 65535 is read as an
 * IPFIX-style variable-length field (some exporters do that); options
 * template scope fields (system, interface, line card, cache, template) are
 * skipped, their ids must not be read as data fields; flowset padding is
 * skipped.  A v9 datagram is checked whole (flowset lengths and template
 * structure) before anything in it is used, so a corrupt datagram changes
 * no template and emits no record.
 */
#include "exporter.h"
#include "fq_error.h"
#include "ipfix_fixbuf.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* IANA IPFIX element id (= v9 field type below 128) -> op. */
#define IE_MAX 320
static const uint8_t ie_ops[IE_MAX] = {
	[1] = FQ__OP_BYTES,
	[2] = FQ__OP_PKTS,
	[4] = FQ__OP_PROT,
	[5] = FQ__OP_TOS,
	[6] = FQ__OP_TCPFLAGS,
	[7] = FQ__OP_SRCPORT,
	[8] = FQ__OP_SRC4,
	[9] = FQ__OP_SRC_MASK,
	[10] = FQ__OP_INPUT,
	[11] = FQ__OP_DSTPORT,
	[12] = FQ__OP_DST4,
	[13] = FQ__OP_DST_MASK,
	[14] = FQ__OP_OUTPUT,
	[15] = FQ__OP_NH4,
	[16] = FQ__OP_SRC_AS,
	[17] = FQ__OP_DST_AS,
	[18] = FQ__OP_BGPNH4,
	[21] = FQ__OP_END_UP,
	[22] = FQ__OP_START_UP,
	[23] = FQ__OP_BYTES_OUT,
	[24] = FQ__OP_PKTS_OUT,
	[27] = FQ__OP_SRC6,
	[28] = FQ__OP_DST6,
	[29] = FQ__OP_SRC6_MASK,
	[30] = FQ__OP_DST6_MASK,
	[32] = FQ__OP_ICMP4,
	[34] = FQ__OP_SAMPLING,
	[38] = FQ__OP_ENGINE_TYPE,
	[39] = FQ__OP_ENGINE_ID,
	[48] = FQ__OP_SAMPLER_ID,
	[50] = FQ__OP_SAMPLER_INTERVAL,
	[62] = FQ__OP_NH6,
	[63] = FQ__OP_BGPNH6,
	[85] = FQ__OP_BYTES_TOTAL,
	[86] = FQ__OP_PKTS_TOTAL,
	[139] = FQ__OP_ICMP6,
	[150] = FQ__OP_START_S,
	[151] = FQ__OP_END_S,
	[152] = FQ__OP_START_MS,
	[153] = FQ__OP_END_MS,
	[154] = FQ__OP_START_US,
	[155] = FQ__OP_END_US,
	[156] = FQ__OP_START_NS,
	[157] = FQ__OP_END_NS,
	[158] = FQ__OP_START_DELTA_US,
	[159] = FQ__OP_END_DELTA_US,
	[160] = FQ__OP_SYSINIT_MS,
	[161] = FQ__OP_DUR_MS,
	[162] = FQ__OP_DUR_US,
	[231] = FQ__OP_BYTES_INIT,
	[298] = FQ__OP_PKTS_INIT,
	[302] = FQ__OP_SAMPLER_ID,
	[305] = FQ__OP_PKT_INTERVAL,
	[306] = FQ__OP_PKT_SPACE,
	[309] = FQ__OP_SAMPLING_SIZE,
	[310] = FQ__OP_SAMPLING_POP,
};

/* Whether a wire length can be decoded as this op. */
static int
len_ok(unsigned op, unsigned len)
{
	switch (op) {
	case FQ__OP_SRC4: case FQ__OP_DST4: case FQ__OP_NH4:
	case FQ__OP_BGPNH4:
		return len == 4;
	case FQ__OP_SRC6: case FQ__OP_DST6: case FQ__OP_NH6:
	case FQ__OP_BGPNH6:
		return len == 16;
	default:
		/* Integers, with reduced-size encoding (RFC 7011 6.2). */
		return len >= 1 && len <= 8;
	}
}

#define VARLEN 65535

static uint8_t op_kind(unsigned code, unsigned len);

int
fq__tpl_compile(uint8_t version, uint16_t tid, const uint8_t *p,
		size_t avail, unsigned n_fields, unsigned scope_count,
		int is_options, struct fq__tpl **out, size_t *used)
{
	*out = NULL;
	struct fq__tpl *t = malloc(sizeof *t + n_fields * sizeof t->ops[0]);
	if (t == NULL)
		return -FQ_ENOMEM;
	memset(t, 0, sizeof *t);
	t->id = tid;
	t->version = version;
	t->is_options = (uint8_t)is_options;
	t->scope_count = (uint16_t)scope_count;
	size_t off = 0;
	unsigned n = 0;
	uint64_t min_len = 0;
	for (unsigned i = 0; i < n_fields; i++) {
		if (avail - off < 4)
			goto corrupt;
		unsigned ie = fq__be16(p + off);
		unsigned len = fq__be16(p + off + 2);
		uint32_t pen = 0;
		off += 4;
		if (version == 10 && (ie & 0x8000)) {
			if (avail - off < 4)
				goto corrupt;
			pen = fq__be32(p + off);
			ie &= 0x7fff;
			off += 4;
		}
		if (len == 0)
			continue;       /* zero-length field: nothing on the wire */
		unsigned op = FQ__OP_SKIP;
		/*
		 * v9 options scope fields are scope *types*, not field types;
		 * IPFIX scope fields are ordinary elements (e.g. selectorId).
		 */
		int v9_scope = version == 9 && i < scope_count;
		if (pen == 0 && ie < IE_MAX && !v9_scope)
			op = ie_ops[ie];
		if (len == VARLEN) {
			t->has_varlen = 1;
			min_len += 1;
			op = FQ__OP_SKIP;
		} else {
			min_len += len;
			if (op != FQ__OP_SKIP && !len_ok(op, len))
				op = FQ__OP_SKIP;
			/*
			 * IPFIX: the lengths libfixbuf accepts for the element
			 * (so both decoders read the same fields).
			 */
			if (op != FQ__OP_SKIP && version == 10 &&
			    !fq__ipfix_field_ok(0, ie, len))
				op = FQ__OP_SKIP;
		}
		/*
		 * An element repeated in a template is read from its first
		 * occurrence, as libfixbuf does.
		 */
		if (op != FQ__OP_SKIP && (t->has & FQ__HAS(op)))
			op = FQ__OP_SKIP;
		/* Merge adjacent fixed-length skips into one op. */
		if (op == FQ__OP_SKIP && len != VARLEN && n > 0 &&
		    t->ops[n - 1].code == FQ__OP_SKIP &&
		    t->ops[n - 1].len != VARLEN &&
		    t->ops[n - 1].len + len < VARLEN) {
			t->ops[n - 1].len = (uint16_t)(t->ops[n - 1].len + len);
			continue;
		}
		t->ops[n].len = (uint16_t)len;
		t->ops[n].code = (uint8_t)op;
		t->ops[n].pad = op_kind(op, len);
		t->has |= FQ__HAS(op);
		n++;
	}
	/*
	 * A record must occupy at least one byte, or a data set would hold
	 * infinitely many; and it must fit in a message.
	 */
	if (min_len == 0 || min_len > 65535)
		goto corrupt;
	t->n_ops = (uint16_t)n;
	t->min_len = (uint32_t)min_len;
	t->fixed_len = t->has_varlen ? 0 : (uint32_t)min_len;
	t->has &= ~FQ__HAS(FQ__OP_SKIP);
	/*
	 * Give back the room of merged fields.  The per-exporter byte cap
	 * counts n_ops (tpl_size in exporter.c), so the allocation must be
	 * that size: a template of 16,000 fields flowq does not read compiles
	 * to one op, and keeping its 64 KiB let an exporter's 512 templates
	 * hold 32 MiB while the 4 MiB cap saw a few KiB.
	 */
	if (n < n_fields) {
		struct fq__tpl *small = realloc(t, sizeof *t +
						n * sizeof t->ops[0]);
		if (small != NULL)
			t = small;
	}
	*out = t;
	*used = off;
	return 0;
corrupt:
	free(t);
	return -FQ_ECORRUPT;
}

size_t
fq__tpl_reclen(const struct fq__tpl *t, const uint8_t *p, size_t avail)
{
	if (!t->has_varlen)
		return t->fixed_len <= avail ? t->fixed_len : 0;
	size_t off = 0;
	for (unsigned i = 0; i < t->n_ops; i++) {
		size_t len = t->ops[i].len;
		if (len == VARLEN) {
			if (off >= avail)
				return 0;
			len = p[off++];
			if (len == 255) {
				if (avail - off < 2)
					return 0;
				len = fq__be16(p + off);
				off += 2;
			}
		}
		if (avail - off < len)
			return 0;
		off += len;
	}
	return off;
}

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

/*
 * Run a compiled template over one record (its length checked by
 * fq__tpl_reclen).  Integers are read once by width, then stored by op.
 */
/*
 * Zeroes the accumulator.  memset() of its 328 bytes compiles to `rep
 * stosq` with GCC's generic tuning, and that start-up cost per record was
 * a large part of v9/IPFIX decoding (perf); plain 8-byte stores are
 * cheaper.  GCC would turn the loop back into memset(), so that
 * transformation is off here (see fq_record_clear).
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void
acc_clear(struct fq__acc *a)
{
	uint64_t *w = (uint64_t *)(void *)a;
	for (unsigned i = 0; i < sizeof *a / 8; i++)
		w[i] = 0;
}

/*
 * The caller clears `a` once per data set, not per record: every op of a
 * template stores its whole accumulator member on every record (an
 * element repeated in a template is skipped at compile time), so what one
 * record leaves behind is overwritten by the next, and members the
 * template does not carry stay zero.
 */
/*
 * Where each op stores: the accumulator member's offset and width.  With
 * the field's wire width this gives the op's kind (op_kind), one switch
 * per field at run time instead of a switch on the wire width followed by
 * one on the op: data records are the hot path of v9/IPFIX decoding.
 */
#define M(op, member) \
	[op] = { offsetof(struct fq__acc, member), \
		 sizeof(((struct fq__acc *)0)->member) }
static const struct {
	uint16_t off;
	uint8_t width;
} acc_slot[FQ__OP_COUNT] = {
	M(FQ__OP_SRC4, src4), M(FQ__OP_DST4, dst4), M(FQ__OP_NH4, nh4),
	M(FQ__OP_BGPNH4, bgpnh4),
	M(FQ__OP_SRC6, src6), M(FQ__OP_DST6, dst6), M(FQ__OP_NH6, nh6),
	M(FQ__OP_BGPNH6, bgpnh6),
	M(FQ__OP_SRCPORT, srcport), M(FQ__OP_DSTPORT, dstport),
	M(FQ__OP_ICMP4, icmp4), M(FQ__OP_ICMP6, icmp6),
	M(FQ__OP_PROT, prot), M(FQ__OP_TOS, tos),
	M(FQ__OP_TCPFLAGS, tcpflags),
	M(FQ__OP_PKTS, pkts), M(FQ__OP_BYTES, bytes),
	M(FQ__OP_PKTS_TOTAL, pkts_total), M(FQ__OP_BYTES_TOTAL, bytes_total),
	M(FQ__OP_PKTS_OUT, pkts_out), M(FQ__OP_BYTES_OUT, bytes_out),
	M(FQ__OP_PKTS_INIT, pkts_init), M(FQ__OP_BYTES_INIT, bytes_init),
	M(FQ__OP_INPUT, input), M(FQ__OP_OUTPUT, output),
	M(FQ__OP_SRC_AS, src_as), M(FQ__OP_DST_AS, dst_as),
	M(FQ__OP_SRC_MASK, src_mask), M(FQ__OP_DST_MASK, dst_mask),
	M(FQ__OP_SRC6_MASK, src6_mask), M(FQ__OP_DST6_MASK, dst6_mask),
	M(FQ__OP_START_UP, start_up), M(FQ__OP_END_UP, end_up),
	M(FQ__OP_START_S, start_s), M(FQ__OP_END_S, end_s),
	M(FQ__OP_START_MS, start_ms), M(FQ__OP_END_MS, end_ms),
	M(FQ__OP_START_US, start_us), M(FQ__OP_END_US, end_us),
	M(FQ__OP_START_NS, start_ns), M(FQ__OP_END_NS, end_ns),
	M(FQ__OP_START_DELTA_US, start_delta_us),
	M(FQ__OP_END_DELTA_US, end_delta_us),
	M(FQ__OP_DUR_MS, dur_ms), M(FQ__OP_DUR_US, dur_us),
	M(FQ__OP_SYSINIT_MS, sysinit_ms),
	M(FQ__OP_SAMPLING, sampling),
	M(FQ__OP_SAMPLER_INTERVAL, sampler_interval),
	M(FQ__OP_SAMPLER_ID, selector_id),
	M(FQ__OP_PKT_INTERVAL, pkt_interval), M(FQ__OP_PKT_SPACE, pkt_space),
	M(FQ__OP_SAMPLING_SIZE, samp_size), M(FQ__OP_SAMPLING_POP, samp_pop),
	M(FQ__OP_ENGINE_TYPE, engine_type), M(FQ__OP_ENGINE_ID, engine_id),
};
#undef M

/* Op kinds (struct fq__op.pad): wire width class x member width class. */
enum {
	K_SKIP = 0,     /* fixed-length bytes nobody reads */
	K_VAR,          /* variable-length field, skipped */
	K_COPY16,       /* IPv6 address */
	K_INT,          /* K_INT + 4 * wire class + member class */
};
#define K_WIRE_N 4      /* wire widths other than 1, 2, 4, 8 */

static unsigned
width_class(unsigned w)
{
	return w == 1 ? 0 : w == 2 ? 1 : w == 4 ? 2 : w == 8 ? 3 : K_WIRE_N;
}

/* The kind of a compiled op (code and len as fq__tpl_compile set them). */
static uint8_t
op_kind(unsigned code, unsigned len)
{
	if (len == VARLEN)
		return K_VAR;
	if (code == FQ__OP_SKIP || acc_slot[code].width == 0)
		return K_SKIP;
	if (acc_slot[code].width == 16)
		return K_COPY16;
	return (uint8_t)(K_INT + 4 * width_class(len) +
			 width_class(acc_slot[code].width));
}

static inline void
st_width(uint8_t *d, unsigned mclass, uint64_t v)
{
	switch (mclass) {
	case 0: *d = (uint8_t)v; break;
	case 1: { uint16_t x = (uint16_t)v; memcpy(d, &x, 2); break; }
	case 2: { uint32_t x = (uint32_t)v; memcpy(d, &x, 4); break; }
	default: memcpy(d, &v, 8); break;
	}
}

/*
 * Run a compiled template over one record (its length checked by
 * fq__tpl_reclen).
 *
 * The caller clears `a` once per data set, not per record: every op of a
 * template stores its whole accumulator member on every record (an
 * element repeated in a template is skipped at compile time), so what one
 * record leaves behind is overwritten by the next, and members the
 * template does not carry stay zero.
 */
static void
run(const struct fq__tpl *t, const uint8_t *p, struct fq__acc *a)
{
	uint8_t *base = (uint8_t *)a;
	for (unsigned i = 0; i < t->n_ops; i++) {
		unsigned len = t->ops[i].len;
		uint8_t *d = base + acc_slot[t->ops[i].code].off;
		switch (t->ops[i].pad) {
		case K_SKIP:
			break;
		case K_VAR:
			len = *p++;
			if (len == 255) {
				len = fq__be16(p);
				p += 2;
			}
			break;
		case K_COPY16:
			memcpy(d, p, 16);
			break;
#define KI(w, m) (K_INT + 4 * (w) + (m))
		case KI(0, 0): *d = p[0]; break;
		case KI(0, 1): st_width(d, 1, p[0]); break;
		case KI(0, 2): st_width(d, 2, p[0]); break;
		case KI(0, 3): st_width(d, 3, p[0]); break;
		case KI(1, 0): st_width(d, 0, fq__be16(p)); break;
		case KI(1, 1): st_width(d, 1, fq__be16(p)); break;
		case KI(1, 2): st_width(d, 2, fq__be16(p)); break;
		case KI(1, 3): st_width(d, 3, fq__be16(p)); break;
		case KI(2, 0): st_width(d, 0, fq__be32(p)); break;
		case KI(2, 1): st_width(d, 1, fq__be32(p)); break;
		case KI(2, 2): st_width(d, 2, fq__be32(p)); break;
		case KI(2, 3): st_width(d, 3, fq__be32(p)); break;
		case KI(3, 0): st_width(d, 0, fq__be64(p)); break;
		case KI(3, 1): st_width(d, 1, fq__be64(p)); break;
		case KI(3, 2): st_width(d, 2, fq__be64(p)); break;
		case KI(3, 3): st_width(d, 3, fq__be64(p)); break;
		default:        /* reduced-size encoding: 3, 5, 6, 7 bytes */
			st_width(d, (t->ops[i].pad - K_INT) % 4u,
				 fq__beN(p, len));
			break;
#undef KI
		}
		p += len;
	}
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
		fq__ip_set4(out, v4);
		return v4 != 0;
	}
	if (h6) {
		fq__ip_set6(out, v6);
		return !zero16(v6);
	}
	return 0;
}

/*
 * Largest absolute time (ms) a record may carry: the end of year 9999.
 * IPFIX millisecond timestamps and systemInitTimeMilliseconds are 64-bit
 * on the wire, so a broken or hostile exporter can send anything up to
 * 2^64; taken as they are, they made `etime - stime` (the duration field)
 * and `start + duration` overflow (UBSan caught it in the hostile-traffic
 * test).  A time outside +-FQ__TIME_MAX is ignored like a field of the
 * wrong length, so later arithmetic on record times cannot overflow.
 */
#define FQ__TIME_MAX 253402300799999LL

static int
time_ok(int64_t t)
{
	return t >= -FQ__TIME_MAX && t <= FQ__TIME_MAX;
}

/*
 * Start or end time in ms from the first representation present with a
 * value in range (time_ok); 0 when there is none.
 */
static int
pick_time(uint64_t has, const struct fq__acc *a, const struct fq__hdr *h,
	  const struct fq__domain *dom, int end, int64_t *out)
{
#define H(op) (has & FQ__HAS(op))
#define TAKE(v) do { int64_t v_ = (v); \
		if (time_ok(v_)) { *out = v_; return 1; } } while (0)
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

unsigned
fq__ie_op(unsigned ie)
{
	return ie < IE_MAX ? ie_ops[ie] : FQ__OP_SKIP;
}

void
fq__acc_apply(struct fq__ctx *c, struct fq__domain *dom, uint64_t has,
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
			fq__ip_set(&r->nexthop, &bgp);
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
	int hs = pick_time(has, a, h, dom, 0, &st);
	int he = pick_time(has, a, h, dom, 1, &et);
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
	fq__commit(c, r);
#undef H
}

long
fq__data_set(struct fq__ctx *c, struct fq__domain *dom, struct fq__tpl *t,
	     const struct fq__hdr *h, const uint8_t *p, size_t len)
{
	struct fq__acc a;
	size_t off = 0;
	long n = 0;
	acc_clear(&a);
	while (len - off >= t->min_len) {
		size_t rl = fq__tpl_reclen(t, p + off, len - off);
		if (rl == 0) {
			/*
			 * Trailing bytes that are all zero are padding even
			 * when a variable-length field could start there.
			 */
			size_t i = off;
			while (i < len && p[i] == 0)
				i++;
			if (i == len)
				break;
			return -1;
		}
		run(t, p + off, &a);
		fq__acc_apply(c, dom, t->has, t->is_options, h, &a);
		off += rl;
		n++;
	}
	t->records += (uint64_t)n;
	return n;
}

/*
 * A v9 template (id 0) or options template (id 1) flowset body.  With
 * dom == NULL only the structure is checked.  Returns the number of
 * template records, or -1 when the structure is invalid.
 */
static long
v9_templates(struct fq__ctx *c, struct fq__domain *dom, int options,
	     const uint8_t *p, size_t len)
{
	size_t off = 0;
	long n = 0;
	for (;;) {
		size_t rem = len - off;
		if (rem < (options ? 6u : 4u) || fq__all_zero(p + off, rem))
			break;          /* padding */
		unsigned tid = fq__be16(p + off);
		unsigned nf, scope = 0;
		if (options) {
			unsigned slen = fq__be16(p + off + 2);
			unsigned olen = fq__be16(p + off + 4);
			if (slen % 4 || olen % 4 || slen + olen == 0 ||
			    slen + olen > rem - 6)
				return -1;
			nf = (slen + olen) / 4;
			scope = slen / 4;
			off += 6;
		} else {
			nf = fq__be16(p + off + 2);
			if ((size_t)nf * 4 > rem - 4)
				return -1;
			off += 4;
		}
		if (tid < 256)
			return -1;
		n++;
		if (nf == 0) {
			/* Not in RFC 3954; read as an IPFIX-style withdrawal. */
			if (dom)
				fq__tpl_remove(c, dom, (uint16_t)tid);
			continue;
		}
		struct fq__tpl *t;
		size_t used;
		int rc = fq__tpl_compile(9, (uint16_t)tid, p + off, len - off,
					 nf, scope, options, &t, &used);
		if (rc == -FQ_ENOMEM)
			return n;       /* nothing corrupt: just skip it */
		if (rc < 0)
			return -1;
		off += used;
		if (dom == NULL) {
			free(t);
			continue;
		}
		t->refreshed_ms = c->now_ms;
		fq__tpl_put(c, dom, t);
	}
	return n;
}

void
fq__nf9_decode(struct fq__ctx *c, const uint8_t *p, size_t len)
{
	if (len < 20) {
		fq__malformed(c, FQ__MAL_SHORT, "v9 header needs 20 bytes, "
			      "got %zu", len);
		return;
	}
	struct fq__hdr h = {
		.version = 9,
		.uptime = fq__be32(p + 4),
		.export_secs = fq__be32(p + 8),
		.domain = fq__be32(p + 16),
	};
	unsigned count = fq__be16(p + 2);
	uint32_t seq = fq__be32(p + 12);

	/* Pass 1: structure only, so a corrupt datagram changes nothing. */
	size_t off = 20;
	unsigned flowsets = 0;
	while (len - off >= 4) {
		unsigned id = fq__be16(p + off);
		size_t slen = fq__be16(p + off + 2);
		if (slen < 4 || slen > len - off) {
			if (fq__all_zero(p + off, len - off))
				break;
			fq__malformed(c, FQ__MAL_SET_LENGTH,
				      "v9 flowset %u at offset %zu: length %zu "
				      "(%zu bytes left)", id, off, slen,
				      len - off);
			return;
		}
		if (id == 0 || id == 1) {
			if (v9_templates(c, NULL, id, p + off + 4,
					 slen - 4) < 0) {
				fq__malformed(c, FQ__MAL_TEMPLATE,
					      "v9 %stemplate flowset at offset "
					      "%zu", id ? "options " : "", off);
				return;
			}
		} else if (id < 256) {
			fq__malformed(c, FQ__MAL_SET_ID,
				      "v9 reserved flowset id %u at offset %zu",
				      id, off);
			return;
		}
		off += slen;
		flowsets++;
	}
	/*
	 * The header count is the number of records (RFC 3954) or, for some
	 * exporters, of flowsets; every flowset holds at least one record, so
	 * a count below the number of flowsets fits neither reading.
	 */
	if (count < flowsets) {
		fq__malformed(c, FQ__MAL_V9_COUNT, "v9 count %u but %u flowsets",
			      count, flowsets);
		return;
	}

	struct fq__domain *dom = fq__domain_get(c, 9, h.domain);
	if (dom == NULL)
		return;
	/* Pass 2: templates and data in datagram order. */
	long seen = 0;
	int unknown = 0;
	off = 20;
	while (len - off >= 4) {
		unsigned id = fq__be16(p + off);
		size_t slen = fq__be16(p + off + 2);
		if (slen < 4 || slen > len - off)
			break;          /* the zero padding of pass 1 */
		const uint8_t *body = p + off + 4;
		if (id == 0 || id == 1) {
			seen += v9_templates(c, dom, id, body, slen - 4);
		} else {
			struct fq__tpl *t = fq__tpl_find(dom, (uint16_t)id);
			if (t == NULL) {
				c->ex->unknown_tpl_sets++;
				unknown = 1;
			} else {
				long n = fq__data_set(c, dom, t, &h, body,
						      slen - 4);
				if (n < 0) {
					fq__malformed(c, FQ__MAL_RECORD,
						"v9 record of template %u "
						"overruns its flowset at "
						"offset %zu", id, off);
					break;
				}
				seen += n;
			}
		}
		off += slen;
	}
	/*
	 * The header count covers every record (templates included), so
	 * what is left after the known ones belongs to unknown templates.
	 */
	if (unknown && count > seen)
		c->ex->unknown_tpl_records += (uint64_t)(count - seen);
	dom->last_uptime = h.uptime;
	fq__seq(c, dom, seq, 1);
}
