/*
 * ipfix_check.h - the checks every IPFIX message passes, the template
 * mirror, and the cleaned copy libfixbuf decodes (ipfix_check.c); used by
 * the message walk in ipfix.c.
 */
#ifndef FQ_IPFIX_CHECK_H
#define FQ_IPFIX_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode.h"

/*
 * The copy of a message that libfixbuf gets, written into the decoder's
 * ipfix_out (65536 bytes: a copy is never longer than its message).
 */
struct fq__ipfix_copy {
	uint8_t *b;             /* borrowed: the decoder's ipfix_out */
	size_t n;
};

static inline void
fq__copy_put(struct fq__ipfix_copy *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static inline void
fq__copy_be16(struct fq__ipfix_copy *o, unsigned v)
{
	o->b[o->n++] = (uint8_t)(v >> 8);
	o->b[o->n++] = (uint8_t)v;
}

/*
 * Pass 1 over a message whose header and length are checked: every set
 * length, set id and template structure.  Returns 0, or -1 once the
 * message is counted as malformed (nothing in it may be used).
 */
int fq__ipfix_check_sets(struct fq__dctx *c, const uint8_t *p, size_t len);

/*
 * Walk a template (2) or options template (3) set body.  With dom == NULL
 * only the structure is checked.  Otherwise templates go into the mirror
 * (definitions, withdrawals noted in d->withdrawn, *nw of them, the cap)
 * and the kept template records are written to `o`.  Returns the number
 * of template records, or -1 when the structure is invalid.
 */
long fq__ipfix_templates(struct fq__dctx *c, struct fq__domain *dom,
			 unsigned set_id, const uint8_t *p, size_t len,
			 struct fq__ipfix_copy *o, size_t *nw);

/*
 * Records of template t in a data set body, and in *used the bytes they
 * take (padding excluded); -1 when one runs past the set.
 */
long fq__ipfix_count_records(const struct fq__tpl *t, const uint8_t *p,
			     size_t len, size_t *used);

#endif
