/*
 * ipfix_fixbuf.h - the libfixbuf adapter.  GLib and GError never leave
 * ipfix_fixbuf.c: the rest of the decoder sees only these opaque handles.
 */
#ifndef FQ_IPFIX_FIXBUF_H
#define FQ_IPFIX_FIXBUF_H

#include <stddef.h>
#include <stdint.h>

struct fq__ipfix_session;
struct fq__ipfix_model;
struct fq__dctx;
struct fq__domain;
struct fq__hdr;

/* The shared information model (CERT elements loaded when present). */
int fq__ipfix_model_new(struct fq__ipfix_model **out);
void fq__ipfix_model_free(struct fq__ipfix_model *m);

void fq__ipfix_session_free(struct fq__ipfix_session *s);
/* Drop a template from libfixbuf's session (expiry). */
void fq__ipfix_forget(struct fq__ipfix_session *s, uint32_t domain,
		      uint16_t tid);

/*
 * Whether libfixbuf may see element (pen, ie) with this length: the IANA
 * elements flowq reads must have a length libfixbuf can transcode into its
 * internal template, and enterprise elements must be known to the
 * information model (libfixbuf would otherwise add each unknown one to the
 * shared model, without bound).  Others are rewritten to paddingOctets in
 * the copy of the template libfixbuf gets.
 */
int fq__ipfix_field_ok(uint32_t pen, unsigned ie, unsigned len);

/*
 * Index of IANA element ie in the internal template (below 64), or -1 when
 * libfixbuf decodes nothing of it for flowq.
 */
int fq__ipfix_elem_index(unsigned ie);

/*
 * Most fields one template may keep in the copy libfixbuf gets, once the
 * fields flowq does not read are merged (ipfix_check.c).  libfixbuf 2.4
 * numbers repeated elements by a linear search per field (quadratic in
 * the repeats) and keeps about 120 bytes per field: a 16,000-field
 * template cost it 2 s of CPU and 1.9 MiB.  Only variable-length fields
 * cannot be merged, so only a template with more than about 100 of those
 * reaches the limit; it is refused like a template over the cap.
 */
#define FQ__MAX_FIXBUF_FIELDS 256

/*
 * Diagnostics and tests: the number of elements of template tid of
 * observation domain `domain` as libfixbuf holds it, or -1 when it holds
 * no such template.
 */
int fq__ipfix_template_fields(struct fq__ipfix_session *s, uint32_t domain,
			      uint16_t tid);

/*
 * Hand one checked IPFIX message to the exporter's libfixbuf session
 * (created on first use) and turn every record it yields into a canonical
 * record or options state.  Returns the number of records libfixbuf
 * yielded, or -1 when it reported an error (counted by the caller).
 */
long fq__ipfix_fixbuf_run(struct fq__dctx *c, struct fq__domain *dom,
			  const struct fq__hdr *h, const uint8_t *msg,
			  size_t len);

#endif
