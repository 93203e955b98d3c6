/*
 * fq_source.c - turns a source's command-line spelling into a source.
 *
 * The prefixes are SPEC section 2's.  A bare path is sniffed: a directory
 * or a file starting with the flow-tools magic (0xCF 0x10) is flow-tools;
 * *.pcap / *.pcapng or a pcap/pcapng magic is a capture.
 */
#include "fq_source.h"
#include "fq_error.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct source_kind {
	const char *prefix;
	int (*create)(struct fq_ingest *ing, const char *rest,
		      struct fq_source **out, char *why, size_t why_len);
};

/* Kinds recognised by prefix, longest first where prefixes overlap. */
static const struct source_kind kinds[] = {
	{ "ft:", fq__source_ft_new },
};

static int
has_suffix(const char *s, const char *suf)
{
	size_t ls = strlen(s), lf = strlen(suf);
	return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

int
fq_source_create(struct fq_ingest *ing, const char *spec,
		 struct fq_source **out, char *why, size_t why_len)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(spec, kinds[i].prefix, n) == 0)
			return kinds[i].create(ing, spec + n, out, why, why_len);
	}
	if (strstr(spec, "://") != NULL) {
		snprintf(why, why_len, "%s: unknown source kind", spec);
		return -FQ_EINVAL;
	}
	if (has_suffix(spec, ".pcap") || has_suffix(spec, ".pcapng")) {
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (strcmp(kinds[i].prefix, "pcap:") == 0)
				return kinds[i].create(ing, spec, out, why,
						       why_len);
		snprintf(why, why_len, "%s: pcap replay is not supported by "
			 "this build", spec);
		return -FQ_EUNSUP;
	}
	struct stat st;
	if (stat(spec, &st) != 0) {
		snprintf(why, why_len, "%s: no such file or directory", spec);
		return -FQ_ENOENT;
	}
	return fq__source_ft_new(ing, spec, out, why, why_len);
}
