/*
 * ftwriter.h - a small flow-tools file writer for tests.
 *
 * Writes stream version 1 or 3 files in either byte order, compressed or
 * not, with any supported record version, from raw field values.  It is the
 * only way the unit tests get flow-tools files, so it follows the layout
 * flow-tools' ftio uses, field by field, independently of the reader.
 */
#ifndef FQ_TEST_FTWRITER_H
#define FQ_TEST_FTWRITER_H

#include <stddef.h>
#include <stdint.h>

struct ftw_rec {
	uint32_t unix_secs, unix_nsecs, sysuptime, exaddr;
	uint32_t srcaddr, dstaddr, nexthop;
	uint16_t input, output;
	uint32_t dpkts, doctets, first, last;
	uint16_t srcport, dstport;
	uint8_t prot, tos, tcp_flags;
	uint8_t engine_type, engine_id, src_mask, dst_mask;
	uint16_t src_as, dst_as;
	/* stream v1 only: milliseconds part of the export time */
	uint32_t unix_msecs;
};

struct ftw_opts {
	unsigned s_version;   /* 1 or 3 */
	unsigned d_version;   /* 1, 5, 6, 7, 1005 */
	int big_endian;
	int compressed;
};

/*
 * Write n records to path.  Returns 0 or -1.  If `size_out` is not NULL it
 * receives the file size and `hdr_out` the header length.
 */
int ftw_write(const char *path, const struct ftw_opts *o,
	      const struct ftw_rec *recs, size_t n, long *size_out,
	      long *hdr_out);

/* A deterministic record i of a test set. */
void ftw_make_rec(struct ftw_rec *r, size_t i);

#endif
