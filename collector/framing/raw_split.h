/*
 * raw_split.h - splitting raw: datagram dumps and ipfix: files into
 * datagrams.
 *
 * A raw: file is export datagrams written back to back with no framing
 * (the Logstash fixtures in ../shared/data/exports/raw are such files); an
 * ipfix: file is an RFC 5655 sequence of IPFIX messages.  Both are split
 * by the protocols' own headers:
 *
 *   NetFlow v5   24 + 48 * count bytes;
 *   IPFIX        the message length in its header (at least 16);
 *   NetFlow v9   no length in the header: walk the FlowSets (16-bit id,
 *                16-bit length >= 4).  At a FlowSet boundary a value in
 *                2-255 (9 for the next v9 header, also 5 or 10) can only
 *                start the next datagram, because FlowSet ids 2-255 are
 *                reserved; fewer than 4 bytes left cannot be a FlowSet
 *                either, and the next split reports them; a zero id with
 *                zero length starts padding, which runs to the next
 *                non-zero byte (the next header starts one byte before it,
 *                versions being < 256) or to the end of the file.  Padding
 *                is not part of either datagram.
 *
 * Zero bytes where a raw: datagram would start are padding as well (the
 * source skips them).  A datagram is at most FQ_RAW_MAX_DGRAM bytes.
 */
#ifndef FQ_RAW_SPLIT_H
#define FQ_RAW_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#define FQ_RAW_MAX_DGRAM 65535u

/*
 * Length of the datagram at p (avail bytes, the rest of the file when
 * that is less than FQ_RAW_MAX_DGRAM + 4).  Returns 1 with *len and *skip
 * (padding after it), or 0 with *why (a static string) when it cannot be
 * determined.  `ipfix_only`: anything but an IPFIX message is an error.
 */
int fq__raw_split(const uint8_t *p, size_t avail, int ipfix_only,
		  size_t *len, size_t *skip, const char **why);

/*
 * Export time of the datagram at p (len bytes), ms since the epoch: what
 * --speed paces raw: and ipfix: replay by.  0 when the header is short.
 */
int64_t fq__raw_export_ms(const uint8_t *p, size_t len);

#endif
