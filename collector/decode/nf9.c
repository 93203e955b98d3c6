/*
 * nf9.c - NetFlow v9 (RFC 3954): the datagram, its flowsets and template
 * flowsets.  Templates and data records go through the template engine
 * the IPFIX decoder shares (template_engine.c).
 *
 * v9 details handled here: several templates per (options) template
 * flowset; a template with no fields read as a withdrawal (not in RFC
 * 3954, but sent); flowset padding.  A v9 datagram is checked whole
 * (flowset lengths and template structure) before anything in it is used,
 * so a corrupt datagram changes no template and emits no record.  The
 * header count is advisory: a count that disagrees with the flowsets is
 * an anomaly (v9_count_mismatch), not a reason to drop the datagram.  A
 * sequence and sysUptime reset withdraws the domain's templates
 * (fq__domain_header), so records sent before the restarted exporter's
 * new templates are not read with the old layouts.
 */
#include "decode.h"
#include "fq_error.h"
#include "record_values.h"
#include "template_engine.h"

#include <stdlib.h>

/*
 * A v9 template (id 0) or options template (id 1) flowset body.  With
 * dom == NULL only the structure is checked.  Returns the number of
 * template records, or -1 when the structure is invalid.
 */
static long
v9_templates(struct fq__dctx *c, struct fq__domain *dom, int options,
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
				fq__tpl_remove(c->ex, dom, (uint16_t)tid);
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
		if (c->d->sessions.keep_raw)
			fq__tpl_keep_raw(&t, p + off, used);
		off += used;
		if (dom == NULL) {
			free(t);
			continue;
		}
		t->refreshed_ms = c->now_ms;
		fq__tpl_put(&c->d->sessions, c->ex, dom, t);
	}
	return n;
}

int
fq__nf9_match(const uint8_t *p, size_t len)
{
	return len >= 2 && fq__be16(p) == 9;
}

void
fq__nf9_decode(struct fq__dctx *c, const uint8_t *p, size_t len)
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
	 * a count below the number of flowsets fits neither reading.  But
	 * real exporters send it (softflowd leaves its templates out of it),
	 * and the flowsets have just been checked: the structure is what we
	 * go by, the count is only advisory.
	 */
	if (count < flowsets)
		fq__anomaly(c, FQ__ANOM_V9_COUNT, "v9 count %u but %u flowsets",
			    count, flowsets);

	struct fq__domain *dom = fq__dctx_domain(c, 9, h.domain);
	if (dom == NULL)
		return;
	fq__domain_header(&c->d->sessions, c->ex, dom, 9, seq, h.export_secs,
			  h.uptime);
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
	fq__seq(c->ex, dom, seq, 1);
}
