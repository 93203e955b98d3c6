/*
 * ftinflate.c - zlib inflate alone over a compressed flow-tools file: the
 * physical limit of decoding that format, which bench/run sets beside
 * `flowq print --count` on the same file.
 *
 * It reads the header just far enough to know where the zlib stream
 * starts (stream version 1: a fixed 16-byte header; version 3: the
 * header length at offset 4, in the file's byte order), then inflates the
 * rest into a reused 256 KiB buffer, the same chunking the reader uses, and
 * prints the bytes inflated.  Time it from outside (CPU seconds).
 *
 * Usage: ftinflate FILE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: ftinflate FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	uint8_t h[8];
	if (fread(h, 1, 8, f) != 8 || h[0] != 0xcf || h[1] != 0x10) {
		fprintf(stderr, "%s: not a flow-tools file\n", argv[1]);
		fclose(f);
		return 1;
	}
	long start;
	if (h[3] == 1) {
		start = 16;
	} else if (h[3] == 3) {
		/* byte order: 1 little, 2 big */
		uint32_t hl = h[2] == 1
			? (uint32_t)h[4] | (uint32_t)h[5] << 8 |
			  (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24
			: (uint32_t)h[7] | (uint32_t)h[6] << 8 |
			  (uint32_t)h[5] << 16 | (uint32_t)h[4] << 24;
		start = (long)hl;
	} else {
		fprintf(stderr, "%s: stream version %u\n", argv[1], h[3]);
		fclose(f);
		return 1;
	}
	if (fseek(f, start, SEEK_SET) != 0) {
		perror(argv[1]);
		fclose(f);
		return 1;
	}
	static uint8_t in[256 * 1024], out[256 * 1024];
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK) {
		fclose(f);
		return 1;
	}
	uint64_t total = 0;
	int rc = Z_OK;
	size_t n;
	while (rc != Z_STREAM_END && (n = fread(in, 1, sizeof in, f)) > 0) {
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		while (zs.avail_in > 0 && rc != Z_STREAM_END) {
			zs.next_out = out;
			zs.avail_out = sizeof out;
			rc = inflate(&zs, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END) {
				fprintf(stderr, "%s: zlib error %d\n", argv[1],
					rc);
				inflateEnd(&zs);
				fclose(f);
				return 1;
			}
			total += sizeof out - zs.avail_out;
		}
	}
	inflateEnd(&zs);
	fclose(f);
	printf("%llu\n", (unsigned long long)total);
	return 0;
}
