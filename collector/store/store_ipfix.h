/*
 * store_ipfix.h - one stored-flow file: canonical records to IPFIX
 * messages and back (RFC 5655 file layout), through libfixbuf.
 *
 * The encoder hands finished IPFIX messages to a callback, whole: the
 * store (fq_store.c) owns the file and decides when bytes reach it, so a
 * file on disk is always a sequence of complete messages.  The decoder
 * reads a file written by the encoder back into exactly the records that
 * went in (every field of struct fq_record but rec_id, which the ingest
 * assigns again on replay).
 *
 * The format (docs/operations.md, "Stored flows"): one template set at the
 * start of the file with 16 templates (IDs 256..271), one per combination
 * of address families of exporter, srcip, dstip and nexthop; every record
 * carries every field, standard IANA elements where one exists, and three
 * enterprise elements (PEN 32473) for the NetFlow export header fields.
 * GLib and libfixbuf stay in store_ipfix.c.
 */
#ifndef FQ_STORE_IPFIX_H
#define FQ_STORE_IPFIX_H

#include <stddef.h>
#include <sys/types.h>

#include "fq_record.h"

/* Receives one or more whole IPFIX messages; returns 0 or -FQ_EIO. */
typedef int (*fq__store_put_fn)(void *ctx, const void *buf, size_t len);

struct fq__store_enc;

/*
 * A new encoder; the templates are handed to `put` at once.  0, or
 * -FQ_ENOMEM / -FQ_EIO with a reason in why.
 */
int fq__store_enc_new(fq__store_put_fn put, void *ctx,
		      struct fq__store_enc **out, char *why, size_t why_len);
/* Append one record; a full message goes to `put`.  0 or -FQ_EIO. */
int fq__store_enc_append(struct fq__store_enc *e, const struct fq_record *r);
/* End the open message (if it holds records) and hand it to `put`. */
int fq__store_enc_emit(struct fq__store_enc *e);
/* Free without emitting (NULL accepted). */
void fq__store_enc_free(struct fq__store_enc *e);

struct fq__store_dec;

/* Open a stored file for reading.  0, or -FQ_EIO/-FQ_ENOMEM with why. */
int fq__store_dec_open(const char *path, struct fq__store_dec **out,
		       char *why, size_t why_len);
/*
 * Up to `max` records into recs (rec_id 0).  Returns how many, 0 at the
 * end of the file, or -FQ_ECORRUPT (reason: fq__store_dec_error()).
 * Records of templates that are not the store's are skipped and counted.
 */
ssize_t fq__store_dec_read(struct fq__store_dec *d, struct fq_record *recs,
			   size_t max);
const char *fq__store_dec_error(const struct fq__store_dec *d);
/* Records of foreign templates skipped so far. */
unsigned long long fq__store_dec_skipped(const struct fq__store_dec *d);
void fq__store_dec_free(struct fq__store_dec *d);

#endif
