/*
 * ipfix_fixbuf.c - IPFIX through libfixbuf (placeholder).
 */
#include "exporter.h"
#include "ipfix_fixbuf.h"

#include <stdlib.h>

int
fq__ipfix_model_new(struct fq__ipfix_model **out)
{
	*out = NULL;
	return 0;
}

void
fq__ipfix_model_free(struct fq__ipfix_model *m)
{
	(void)m;
}

void
fq__ipfix_session_free(struct fq__ipfix_session *s)
{
	(void)s;
}

void
fq__ipfix_forget(struct fq__ipfix_session *s, uint32_t domain, uint16_t tid)
{
	(void)s;
	(void)domain;
	(void)tid;
}

void
fq__ipfix_decode(struct fq__ctx *c, const uint8_t *p, size_t len)
{
	(void)p;
	(void)len;
	fq__malformed(c, FQ__MAL_VERSION, "IPFIX not decoded yet");
}
