/*
 * formats.c - the decoder registry: the export formats flowq decodes, one
 * row each.
 *
 * A datagram goes to the first row whose match() accepts its header, so
 * matches must not overlap: NetFlow v5, v9 and IPFIX start with a 16-bit
 * version (5, 9, 10); a format with a 32-bit version, like sFlow v5 (0, 0,
 * 0, 5, then an address type of 1 or 2), cannot be taken for any of them.
 * A datagram no row accepts is counted as malformed, reason `version`.
 *
 * To add a format: write its file (match and decode, see decode.h) and add
 * its row here.
 */
#include "decode.h"

const struct fq__format fq__formats[] = {
	{ "netflow-v5", fq__nf5_match, fq__nf5_decode },
	{ "netflow-v9", fq__nf9_match, fq__nf9_decode },
	{ "ipfix", fq__ipfix_match, fq__ipfix_decode },
};

const size_t fq__n_formats = sizeof fq__formats / sizeof fq__formats[0];
