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
struct fq__ctx;
struct fq__domain;

/* The shared information model (CERT elements loaded when present). */
int fq__ipfix_model_new(struct fq__ipfix_model **out);
void fq__ipfix_model_free(struct fq__ipfix_model *m);

void fq__ipfix_session_free(struct fq__ipfix_session *s);
/* Drop a template from libfixbuf's session (expiry). */
void fq__ipfix_forget(struct fq__ipfix_session *s, uint32_t domain,
		      uint16_t tid);

#endif
