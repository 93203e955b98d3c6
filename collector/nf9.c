/*
 * nf9.c - NetFlow v9 decoder (placeholder until the template engine lands).
 */
#include "exporter.h"

void
fq__nf9_decode(struct fq__ctx *c, const uint8_t *p, size_t len)
{
	(void)p;
	(void)len;
	fq__malformed(c, FQ__MAL_VERSION, "NetFlow v9 not decoded yet");
}
