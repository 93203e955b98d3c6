/*
 * ipfix.c - IPFIX messages (RFC 7011): the header, then the sets in
 * message order, then the data records through libfixbuf (the default) or
 * flowq's own template engine (--ipfix-decoder native).
 *
 * Whichever reads the records, the message is first checked whole and its
 * templates go into flowq's own mirror (ipfix_check.c), so the structural
 * validation, template bookkeeping and sequence accounting are the same
 * code for both readers; only the reading of data records differs.  For
 * libfixbuf the walk builds a cleaned copy of the message, which libfixbuf
 * decodes in one call (ipfix_fixbuf.c).
 *
 * A message length that disagrees with the datagram is an anomaly
 * (length_mismatch), not a drop: the sets decide where the message ends
 * (message_end).  Over UDP, a sequence number back near its start with an
 * export time that did not go back is an exporter restart: the domain's
 * templates are withdrawn (fq__domain_header).
 */
#include "decode.h"
#include "fq_error.h"
#include "ipfix_check.h"
#include "ipfix_fixbuf.h"
#include "record_values.h"
#include "template_engine.h"

#include <string.h>

int
fq__ipfix_match(const uint8_t *p, size_t len)
{
	return len >= 2 && fq__be16(p) == 10;
}

/* What the walk over one message's sets found and built. */
struct walk {
	struct fq__ipfix_copy o;        /* the copy for libfixbuf */
	size_t nw;                      /* template ids withdrawn */
	size_t nds;                     /* data sets in the copy */
	long nrec;                      /* data records of known templates */
	int unknown;                    /* a data set of an unknown template */
	int any;                        /* the copy holds something */
	int bad;                        /* a record overran its set */
};

/* A template set: into the mirror, and what is kept into the copy. */
static void
walk_templates(struct fq__dctx *c, struct fq__domain *dom, unsigned id,
	       const uint8_t *body, size_t blen, struct walk *w)
{
	size_t at = w->o.n;
	fq__copy_be16(&w->o, id);
	fq__copy_be16(&w->o, 0);
	fq__ipfix_templates(c, dom, id, body, blen, &w->o, &w->nw);
	if (w->o.n == at + 4) {
		w->o.n = at;            /* nothing kept */
	} else {
		w->o.b[at + 2] = (uint8_t)((w->o.n - at) >> 8);
		w->o.b[at + 3] = (uint8_t)(w->o.n - at);
		w->any = 1;
	}
}

/*
 * A data set at offset `off`: checked record by record, then decoded by
 * the native engine at once, or copied for libfixbuf.
 */
static void
walk_data(struct fq__dctx *c, struct fq__domain *dom,
	  const struct fq__hdr *h, unsigned id, size_t off,
	  const uint8_t *body, size_t blen, struct walk *w)
{
	struct fq__tpl *t = fq__tpl_find(dom, (uint16_t)id);
	if (t == NULL) {
		c->ex->unknown_tpl_sets++;
		w->unknown = 1;
		return;
	}
	size_t used;
	long n = fq__ipfix_count_records(t, body, blen, &used);
	if (n < 0) {
		fq__malformed(c, FQ__MAL_RECORD, "record of template %u "
			      "overruns its set at offset %zu", id, off);
		w->bad = 1;
	} else if (n > 0 && c->d->ipfix_own) {
		/* Native: flowq's own engine, in message order. */
		fq__data_set(c, dom, t, h, body, used);
		w->nrec += n;
	} else if (n > 0) {
		c->d->data_sets[w->nds++] = (uint16_t)w->o.n;
		fq__copy_be16(&w->o, id);
		fq__copy_be16(&w->o, (unsigned)(used + 4));
		fq__copy_put(&w->o, body, used);
		w->nrec += n;
		w->any = 1;
	}
}

/*
 * Pass 2: mirror, record walk, and the copy for libfixbuf.  When a record
 * overruns its set, the message is malformed and no record of it may be
 * emitted; but its templates are already in the mirror, so libfixbuf
 * still gets them (data sets cut out) and both stay in step.
 */
static void
walk_sets(struct fq__dctx *c, struct fq__domain *dom,
	  const struct fq__hdr *h, const uint8_t *p, size_t len,
	  struct walk *w)
{
	for (size_t off = 16; off < len;) {
		unsigned id = fq__be16(p + off);
		size_t slen = fq__be16(p + off + 2);
		const uint8_t *body = p + off + 4;
		if (id == 2 || id == 3)
			walk_templates(c, dom, id, body, slen - 4, w);
		else if (!w->bad)
			walk_data(c, dom, h, id, off, body, slen - 4, w);
		off += slen;
	}
	if (w->bad) {
		/* Cut the data sets out of the copy, back to front. */
		while (w->nds > 0) {
			size_t at = c->d->data_sets[--w->nds];
			size_t sl = fq__be16(w->o.b + at + 2);
			memmove(w->o.b + at, w->o.b + at + sl,
				w->o.n - at - sl);
			w->o.n -= sl;
		}
		w->any = w->o.n > 16;
	}
}

/* Hand the copy (header of message p) to libfixbuf and account for it. */
static void
to_libfixbuf(struct fq__dctx *c, struct fq__domain *dom,
	     const struct fq__hdr *h, const uint8_t *p, struct walk *w)
{
	uint8_t *b = w->o.b;
	memcpy(b, p, 16);
	b[2] = (uint8_t)(w->o.n >> 8);
	b[3] = (uint8_t)w->o.n;
	/*
	 * The copy carries the sequence number libfixbuf expects, not the
	 * exporter's: flowq counts gaps itself (fq__seq), and after a loss
	 * libfixbuf would otherwise format an "out of sequence" warning
	 * through GLib for every message of the domain (about as much CPU as
	 * decoding the message), which made a receiver that had started to
	 * drop datagrams slower still.
	 */
	b[8] = (uint8_t)(dom->fixbuf_seq >> 24);
	b[9] = (uint8_t)(dom->fixbuf_seq >> 16);
	b[10] = (uint8_t)(dom->fixbuf_seq >> 8);
	b[11] = (uint8_t)dom->fixbuf_seq;
	long got = fq__ipfix_fixbuf_run(c, dom, h, b, w->o.n);
	if (got > 0)
		dom->fixbuf_seq += (uint32_t)got;
	if (got < 0) {
		fq__malformed(c, FQ__MAL_LIBFIXBUF,
			      "libfixbuf rejected the message");
	} else if (!w->bad && got < w->nrec) {
		/*
		 * libfixbuf skipped records the mirror can read (a template
		 * it refused): count them as records of an unknown template
		 * rather than lose them silently.
		 */
		c->ex->unknown_tpl_records += (uint64_t)(w->nrec - got);
		fq_log_rl(&c->d->rl, FQ_LOG_WARN, "ipfix: libfixbuf decoded "
			  "%ld of %ld records", got, w->nrec);
	}
}

/*
 * Where a message whose length field (mlen) disagrees with its datagram
 * (len) ends.  The sets say: if they tile the whole datagram (or end in
 * zero padding) the datagram is the message and the length field is
 * wrong; otherwise the message is its first mlen bytes (bytes after it
 * ignored) or, cut short, the datagram (its last set then runs past the
 * end and the message is malformed as set_length).
 */
static size_t
message_end(const uint8_t *p, size_t mlen, size_t len)
{
	size_t off = 16;
	while (len - off >= 4) {
		size_t slen = fq__be16(p + off + 2);
		if (slen < 4 || slen > len - off)
			break;
		off += slen;
	}
	if (off == len || fq__all_zero(p + off, len - off))
		return off;
	return mlen < len ? mlen : len;
}

void
fq__ipfix_decode(struct fq__dctx *c, const uint8_t *p, size_t len)
{
	if (len < 16) {
		fq__malformed(c, FQ__MAL_SHORT, "IPFIX header needs 16 bytes, "
			      "got %zu", len);
		return;
	}
	size_t mlen = fq__be16(p + 2);
	if (mlen < 16) {
		fq__malformed(c, FQ__MAL_LENGTH, "IPFIX message length %zu, "
			      "below its header", mlen);
		return;
	}
	if (mlen != len) {
		size_t end = message_end(p, mlen, len);
		fq__anomaly(c, FQ__ANOM_LENGTH, "IPFIX message length %zu, "
			    "datagram %zu: %zu bytes decoded", mlen, len, end);
		len = end;
	}
	struct fq__hdr h = {
		.version = 10,
		.export_secs = fq__be32(p + 4),
		.domain = fq__be32(p + 12),
	};
	uint32_t seq = fq__be32(p + 8);
	if (fq__ipfix_check_sets(c, p, len) < 0)
		return;
	struct fq__domain *dom = fq__dctx_domain(c, 10, h.domain);
	if (dom == NULL)
		return;
	/* Over TCP a restarted exporter comes on a new connection. */
	if (c->ex->transport == FQ_TRANSPORT_UDP)
		fq__domain_header(&c->d->sessions, c->ex, dom, 10, seq,
				  h.export_secs, 0);

	struct walk w = { .o = { c->d->ipfix_out, 16 } };
	walk_sets(c, dom, &h, p, len, &w);
	if (w.any && !c->d->ipfix_own)
		to_libfixbuf(c, dom, &h, p, &w);
	/* Withdrawn and not redefined later in the message: tell libfixbuf. */
	for (size_t i = 0; i < w.nw; i++)
		if (c->ex->ipfix && !fq__tpl_find(dom, c->d->withdrawn[i]))
			fq__ipfix_forget(c->ex->ipfix, dom->id,
					 c->d->withdrawn[i]);
	if (!w.bad)
		fq__seq(c->ex, dom, seq, w.unknown ? -1 : w.nrec);
}
