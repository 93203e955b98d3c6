/*
 * ftgen.c - write a flow-tools file of deterministic test records.
 *
 * Usage: ftgen OUT [-n RECORDS] [-s 1|3] [-d 1|5|6|7|1005] [-b] [-z]
 *   -b big-endian, -z zlib-compressed.
 * The golden tests use it to make their inputs; it also made the example
 * in examples/.
 */
#include "ftwriter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct ftw_opts o = { 3, 5, 0, 0 };
	size_t n = 100;
	int c;
	while ((c = getopt(argc, argv, "n:s:d:bz")) != -1) {
		switch (c) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 's': o.s_version = (unsigned)atoi(optarg); break;
		case 'd': o.d_version = (unsigned)atoi(optarg); break;
		case 'b': o.big_endian = 1; break;
		case 'z': o.compressed = 1; break;
		default:
			fprintf(stderr, "usage: ftgen OUT [-n N] [-s V] [-d V] [-b] [-z]\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: ftgen OUT [-n N] [-s V] [-d V] [-b] [-z]\n");
		return 2;
	}
	struct ftw_rec *recs = calloc(n ? n : 1, sizeof *recs);
	if (recs == NULL)
		return 1;
	for (size_t i = 0; i < n; i++)
		ftw_make_rec(&recs[i], i);
	int rc = ftw_write(argv[optind], &o, recs, n, NULL, NULL);
	free(recs);
	return rc == 0 ? 0 : 1;
}
