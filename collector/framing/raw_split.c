/*
 * raw_split.c - where one datagram of a raw: or ipfix: file ends, read
 * from its own header (see raw_split.h).
 */
#include "raw_split.h"
#include "wire.h"

int
fq__raw_split(const uint8_t *p, size_t avail, int ipfix_only, size_t *len,
	      size_t *skip, const char **why)
{
	*skip = 0;
	if (avail < 4) {
		*why = "truncated header";
		return 0;
	}
	uint16_t ver = fq__be16(p);
	if (ipfix_only && ver != 10) {
		*why = "not an IPFIX message (version is not 10)";
		return 0;
	}
	if (ver == 5) {
		size_t n = 24 + 48 * (size_t)fq__be16(p + 2);
		if (n > FQ_RAW_MAX_DGRAM) {
			*why = "NetFlow v5 count too large";
			return 0;
		}
		if (n > avail) {
			*why = "NetFlow v5 datagram runs past the end of the file";
			return 0;
		}
		*len = n;
		return 1;
	}
	if (ver == 10) {
		size_t n = fq__be16(p + 2);
		if (n < 16) {
			*why = "IPFIX message length below 16";
			return 0;
		}
		if (n > avail) {
			*why = "IPFIX message runs past the end of the file";
			return 0;
		}
		*len = n;
		return 1;
	}
	if (ver != 9) {
		*why = "unknown version (cannot determine the length)";
		return 0;
	}
	if (avail < 20) {
		*why = "truncated NetFlow v9 header";
		return 0;
	}
	size_t pos = 20;
	for (;;) {
		if (pos == avail)
			break;                  /* end of file */
		size_t left = avail - pos;
		uint16_t id = left >= 2 ? fq__be16(p + pos) : p[pos];
		uint16_t flen = left >= 4 ? fq__be16(p + pos + 2) : 0;
		if (left >= 2 && id >= 2 && id <= 255)
			break;  /* reserved as a FlowSet id: the next header */
		if (id == 0 && flen == 0) {
			/* Padding up to the next header or the end. */
			size_t z = pos;
			while (z < avail && p[z] == 0)
				z++;
			*skip = z == avail ? z - pos : z - 1 - pos;
			break;
		}
		if (left < 4)
			break;  /* not a FlowSet: the next split says why */
		if (flen < 4) {
			*why = "NetFlow v9 FlowSet length below 4";
			return 0;
		}
		if (pos + flen > FQ_RAW_MAX_DGRAM) {
			*why = "NetFlow v9 datagram longer than 65535 bytes";
			return 0;
		}
		if (pos + flen > avail) {
			*why = "NetFlow v9 FlowSet runs past the end of the file";
			return 0;
		}
		pos += flen;
	}
	*len = pos;
	return 1;
}

int64_t
fq__raw_export_ms(const uint8_t *p, size_t len)
{
	uint16_t ver = fq__be16(p);
	if (ver == 5 && len >= 16)
		return (int64_t)fq__be32(p + 8) * 1000 +
		       fq__be32(p + 12) / 1000000;
	if (ver == 9 && len >= 12)
		return (int64_t)fq__be32(p + 8) * 1000;
	if (ver == 10 && len >= 8)
		return (int64_t)fq__be32(p + 4) * 1000;
	return 0;
}
