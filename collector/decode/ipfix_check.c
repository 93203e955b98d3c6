/*
 * ipfix_check.c - every IPFIX message is checked here before libfixbuf
 * (or the native reader) sees it, and libfixbuf gets a cleaned copy.
 *
 * libfixbuf 2.4 trusts its input in places (it can abort inside GLib on
 * some malformed messages) and keeps no template lifetime, no template cap
 * and no per-exporter counters.  So flowq keeps its own mirror of every
 * exporter's templates (the same compiled templates the v9 decoder uses)
 * and, per message:
 *
 *   1. checks the header, the message length against the datagram, every
 *      set length, and the structure of every template and options
 *      template record (field counts, scope counts, enterprise numbers,
 *      record lengths), dropping the whole message if anything is wrong;
 *   2. replays templates into the mirror in message order (definition,
 *      redefinition, withdrawal, the per-exporter cap) and walks every data
 *      record of known templates, so a variable-length field that runs past
 *      its set is caught before any record is emitted;
 *   3. builds the copy libfixbuf decodes: template records the cap refused,
 *      withdrawals and data sets of unknown templates are left out, padding
 *      is cut off, and in each template only the fields libfixbuf decodes
 *      for flowq stay as they are: every run of other fixed-length fields
 *      (elements flowq does not read, a length libfixbuf could not
 *      transcode, structured-data lists, enterprise elements) becomes one
 *      paddingOctets of the run's length, every other variable-length field
 *      a variable-length paddingOctets, so records keep their layout while
 *      libfixbuf's template stays small (copy_template()).
 *
 * Withdrawals and expiry reach libfixbuf through fbSessionRemoveTemplate()
 * (ipfix_fixbuf.c), so libfixbuf never holds a template the mirror does not.
 * The message walk that uses these steps is ipfix.c.
 */
#include "decode.h"
#include "fq_error.h"
#include "ipfix_check.h"
#include "ipfix_fixbuf.h"
#include "template_engine.h"

#include <stdlib.h>
#include <string.h>

#define IE_PADDING 210

static void
note_withdrawn(struct fq__dctx *c, size_t *nw, uint16_t tid)
{
	if (*nw < sizeof c->d->withdrawn / sizeof c->d->withdrawn[0])
		c->d->withdrawn[(*nw)++] = tid;
}

/* Withdraw every template of one kind (data or options) of a domain. */
static void
withdraw_all(struct fq__dctx *c, struct fq__domain *dom, int options,
	     size_t *nw)
{
	for (int i = 0; i < FQ__TPL_BUCKETS; i++) {
		struct fq__tpl *t = dom->tpl[i];
		while (t) {
			struct fq__tpl *n = t->next;
			if (t->is_options == options) {
				note_withdrawn(c, nw, t->id);
				fq__tpl_remove(c->ex, dom, t->id);
			}
			t = n;
		}
	}
}

static void
flush_padding(struct fq__ipfix_copy *o, int *run, unsigned *run_len,
	      unsigned *nout)
{
	if (!*run)
		return;
	fq__copy_be16(o, IE_PADDING);
	fq__copy_be16(o, *run_len);
	(*nout)++;
	*run = 0;
}

/*
 * The copy of one template record for libfixbuf (`used` bytes of field
 * specifiers after a `hdr`-byte header).  Kept as they are: the fields
 * libfixbuf decodes for flowq, that is elements of the internal template,
 * with a length it can transcode, at their first such occurrence (later
 * ones are what libfixbuf would skip: it reads the first).  Every other
 * field is padding to flowq: each run of them with fixed lengths becomes
 * ONE paddingOctets field of their total length, each variable-length one
 * a variable-length paddingOctets.  Records keep their layout, libfixbuf
 * decodes the same values, and its template holds a few fields per field
 * flowq reads instead of one per wire field: libfixbuf's cost per template
 * field (a linear search for repeated elements, about 120 bytes) made a
 * 16,000-field template take 2 s of CPU and 1.9 MiB, and an exporter's 512
 * of them a gigabyte, whatever flowq's own cap said.  Runs do not cross
 * the scope boundary of an options template; scope and field counts are
 * rewritten.  Returns -1 when more than FQ__MAX_FIXBUF_FIELDS fields would
 * remain (only variable-length fields cannot be merged).
 */
static int
copy_template(struct fq__ipfix_copy *o, const uint8_t *rec, size_t hdr,
	      size_t used, unsigned scope, int options)
{
	size_t start = o->n;
	fq__copy_put(o, rec, hdr);
	const uint8_t *f = rec + hdr, *end = rec + hdr + used;
	unsigned nout = 0, nscope = 0, run_len = 0;
	int run = 0;
	uint64_t seen = 0;
	for (unsigned i = 0; f < end; i++) {
		if (options && i == scope) {
			flush_padding(o, &run, &run_len, &nout);
			nscope = nout;
		}
		unsigned ie = fq__be16(f) & 0x7fff;
		unsigned flen = fq__be16(f + 2);
		uint32_t pen = 0;
		size_t fl = 4;
		if (f[0] & 0x80) {
			pen = fq__be32(f + 4);
			fl = 8;
		}
		/*
		 * Structured-data lists (basicList, subTemplateList,
		 * subTemplateMultiList) are never decoded: flowq reads nothing
		 * inside them, and list decoding is libfixbuf's most fragile
		 * code.  Enterprise elements: flowq maps none.
		 */
		int idx = pen == 0 ? fq__ipfix_elem_index(ie) : -1;
		if (idx >= 0 && !(seen & (UINT64_C(1) << idx)) &&
		    fq__ipfix_field_ok(0, ie, flen)) {
			seen |= UINT64_C(1) << idx;
			flush_padding(o, &run, &run_len, &nout);
			fq__copy_put(o, f, fl);
			nout++;
		} else if (flen == 65535) {
			flush_padding(o, &run, &run_len, &nout);
			fq__copy_be16(o, IE_PADDING);
			fq__copy_be16(o, 65535);
			nout++;
		} else if (run && run_len + flen < 65535) {
			run_len += flen;
		} else {
			flush_padding(o, &run, &run_len, &nout);
			run = 1;
			run_len = flen;
		}
		f += fl;
	}
	flush_padding(o, &run, &run_len, &nout);
	if (options && nscope == 0)
		nscope = nout;          /* every field is a scope field */
	o->b[start + 2] = (uint8_t)(nout >> 8);
	o->b[start + 3] = (uint8_t)nout;
	if (options) {
		o->b[start + 4] = (uint8_t)(nscope >> 8);
		o->b[start + 5] = (uint8_t)nscope;
	}
	return nout > FQ__MAX_FIXBUF_FIELDS ? -1 : 0;
}

long
fq__ipfix_templates(struct fq__dctx *c, struct fq__domain *dom,
		    unsigned set_id, const uint8_t *p, size_t len,
		    struct fq__ipfix_copy *o, size_t *nw)
{
	int options = set_id == 3;
	size_t off = 0;
	long n = 0;
	for (;;) {
		size_t rem = len - off;
		if (rem < 4 || fq__all_zero(p + off, rem))
			break;          /* padding */
		const uint8_t *rec = p + off;
		unsigned tid = fq__be16(rec);
		unsigned nf = fq__be16(rec + 2);
		n++;
		if (nf == 0) {
			/* Withdrawal: one id, or every template (id 2/3). */
			off += 4;
			if (tid == set_id) {
				if (dom)
					withdraw_all(c, dom, options, nw);
				continue;
			}
			if (tid < 256)
				return -1;
			if (dom) {
				note_withdrawn(c, nw, (uint16_t)tid);
				fq__tpl_remove(c->ex, dom, (uint16_t)tid);
			}
			continue;
		}
		if (tid < 256)
			return -1;
		unsigned scope = 0;
		size_t hdr = 4;
		if (options) {
			if (rem < 6)
				return -1;
			scope = fq__be16(rec + 4);
			if (scope == 0 || scope > nf)
				return -1;
			hdr = 6;
		}
		struct fq__tpl *t;
		size_t used;
		int rc = fq__tpl_compile(10, (uint16_t)tid, rec + hdr,
					 rem - hdr, nf, scope, options, &t,
					 &used);
		if (rc == -FQ_ENOMEM)
			return -1;
		if (rc < 0)
			return -1;
		if (c->d->sessions.keep_raw)
			fq__tpl_keep_raw(&t, rec + hdr, used);
		off += hdr + used;
		if (dom == NULL) {
			free(t);
			continue;
		}
		t->refreshed_ms = c->now_ms;
		size_t at = o->n;
		if (copy_template(o, rec, hdr, used, scope, options) < 0) {
			o->n = at;
			c->ex->templates_refused++;
			fq_log_rl(&c->d->rl, FQ_LOG_WARN,
				  "ipfix: template %u keeps more than %u fields "
				  "for libfixbuf (variable-length fields), "
				  "ignored", tid, FQ__MAX_FIXBUF_FIELDS);
			free(t);
			continue;
		}
		if (fq__tpl_put(&c->d->sessions, c->ex, dom, t) < 0)
			o->n = at;      /* refused by the cap: not copied */
	}
	return n;
}

long
fq__ipfix_count_records(const struct fq__tpl *t, const uint8_t *p,
			size_t len, size_t *used)
{
	size_t off = 0;
	long n = 0;
	while (len - off >= t->min_len) {
		size_t rl = fq__tpl_reclen(t, p + off, len - off);
		if (rl == 0) {
			if (fq__all_zero(p + off, len - off))
				break;
			return -1;
		}
		off += rl;
		n++;
	}
	*used = off;
	return n;
}

int
fq__ipfix_check_sets(struct fq__dctx *c, const uint8_t *p, size_t len)
{
	size_t off = 16;
	while (off < len) {
		if (len - off < 4) {
			fq__malformed(c, FQ__MAL_SET_LENGTH, "%zu stray bytes "
				      "after the last set", len - off);
			return -1;
		}
		unsigned id = fq__be16(p + off);
		size_t slen = fq__be16(p + off + 2);
		if (slen < 4 || slen > len - off) {
			fq__malformed(c, FQ__MAL_SET_LENGTH,
				      "set %u at offset %zu: length %zu (%zu "
				      "bytes left)", id, off, slen, len - off);
			return -1;
		}
		if (id == 2 || id == 3) {
			if (fq__ipfix_templates(c, NULL, id, p + off + 4,
						slen - 4, NULL, NULL) < 0) {
				fq__malformed(c, FQ__MAL_TEMPLATE,
					      "%stemplate set at offset %zu",
					      id == 3 ? "options " : "", off);
				return -1;
			}
		} else if (id < 256) {
			fq__malformed(c, FQ__MAL_SET_ID,
				      "reserved set id %u at offset %zu", id,
				      off);
			return -1;
		}
		off += slen;
	}
	return 0;
}
