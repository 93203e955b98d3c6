/*
 * template_engine.c - the template engine NetFlow v9 and IPFIX share.
 *
 * A template is compiled once, when it arrives, into a small program: one
 * op per wire field saying how long it is and what it feeds (enum
 * fq__op_code); unknown fields become SKIP ops and adjacent fixed-length
 * SKIPs are merged.  Data records then run the program with no lookups:
 * this is what makes v9/IPFIX decoding cheap enough for millions of
 * records per second.  Each record is gathered into a struct fq__acc and
 * handed to fq__acc_apply (record_values.c), which the libfixbuf adapter
 * uses too.
 *
 * Field rules both protocols follow: zero-length fields occupy nothing; a
 * length of 65535 is a variable-length field (IPFIX; some v9 exporters
 * send it too); an element repeated in a template is read from its first
 * occurrence, as libfixbuf does; a length the element cannot have is
 * skipped like an unknown field.  v9 specifics: type ids >= 32768 are
 * vendor fields (v9 has no enterprise bit) and options scope fields are
 * scope types, not field types; both are skipped.
 */
#include "decode.h"
#include "fq_error.h"
#include "ipfix_fixbuf.h"
#include "record_values.h"
#include "template_engine.h"

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
	 * counts n_ops (fq__tpl_size, session/exporter.h), so the allocation
	 * must be that size: a template of 16,000 fields flowq does not read
	 * compiles to one op, and keeping its 64 KiB let an exporter's 512
	 * templates hold 32 MiB while the 4 MiB cap saw a few KiB.
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

int
fq__tpl_keep_raw(struct fq__tpl **t, const uint8_t *raw, size_t len)
{
	if (len == 0 || len > FQ__TPL_RAW_MAX)
		return 0;
	/* Where fq__tpl_raw() finds them: right after the last op (the
	 * struct's size may hold padding past offsetof(ops)). */
	size_t ops = offsetof(struct fq__tpl, ops) +
		     (*t)->n_ops * sizeof (*t)->ops[0];
	size_t have = sizeof **t + (*t)->n_ops * sizeof (*t)->ops[0];
	struct fq__tpl *n = realloc(*t, (ops + len > have ? ops + len : have));
	if (n == NULL)
		return -FQ_ENOMEM;
	memcpy((uint8_t *)n + ops, raw, len);
	n->raw_len = (uint16_t)len;
	*t = n;
	return 0;
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

unsigned
fq__ie_op(unsigned ie)
{
	return ie < IE_MAX ? ie_ops[ie] : FQ__OP_SKIP;
}

long
fq__data_set(struct fq__dctx *c, struct fq__domain *dom, struct fq__tpl *t,
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
