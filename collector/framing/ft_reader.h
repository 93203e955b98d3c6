/*
 * ft_reader.h - streaming reader of flow-tools files.
 *
 * Reads stream versions 1 and 3, little- and big-endian, zlib-compressed or
 * not, with record versions 1, 5, 6, 7 and 1005, into canonical records.
 * Memory is constant whatever the file size: one input buffer and one
 * buffer of raw record bytes.  The reader knows nothing of libuv; the
 * flow-tools source (source_ft.c) drives it from the loop, and the unit
 * tests and the fuzz target drive it directly.
 *
 * Damage handling: fq_ft_reader_read() returns every whole record before
 * the damage, then a negative code; fq_ft_reader_error() then describes it
 * with the byte offset in the file.
 */
#ifndef FQ_FT_READER_H
#define FQ_FT_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fq_record.h"

struct fq_ft_reader;

/* What the header said. */
struct fq_ft_info {
	unsigned s_version;      /* stream version: 1 or 3 */
	unsigned d_version;      /* record version: 1, 5, 6, 7, 1005 */
	int big_endian;          /* byte order of header and records */
	int compressed;          /* zlib stream after the header */
	uint32_t header_len;     /* bytes before the first record */
	uint32_t rec_size;       /* bytes of one record */
	uint32_t exporter_ip;    /* header exporter address, 0 if none */
};

/*
 * Open a file and read its header.  On failure returns a negative code and,
 * if `why` is not NULL, a one-line reason naming the file and offset.
 * `*out` is owned by the caller (fq_ft_reader_free).
 */
int fq_ft_reader_open(struct fq_ft_reader **out, const char *path,
		      char *why, size_t why_len);

/*
 * The same on a memory buffer (borrowed; must outlive the reader).  Used by
 * the fuzz target.  `name` labels messages.
 */
int fq_ft_reader_open_mem(struct fq_ft_reader **out, const uint8_t *buf,
			  size_t len, const char *name, char *why,
			  size_t why_len);

void fq_ft_reader_free(struct fq_ft_reader *r);

const struct fq_ft_info *fq_ft_reader_info(const struct fq_ft_reader *r);

/*
 * Decode up to `max` records into recs (rec_id left 0).  Returns the number
 * decoded (> 0), 0 at the clean end of the file, or a negative FQ_E* code
 * once the records before some damage have all been returned.
 */
ssize_t fq_ft_reader_read(struct fq_ft_reader *r, struct fq_record *recs,
			  size_t max);

/* One-line description of the error last returned (file and offset). */
const char *fq_ft_reader_error(const struct fq_ft_reader *r);

/* Records returned so far. */
uint64_t fq_ft_reader_count(const struct fq_ft_reader *r);

/* Record size of a record version, 0 if unsupported (stream v3 layouts). */
uint32_t fq_ft_rec_size(unsigned d_version);

#endif
