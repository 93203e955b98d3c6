/*
 * fq_source.c - turns a source's command-line spelling into a source, and
 * the part of creating one that every kind shares.
 *
 * The prefixes are SPEC section 2's.  A bare path is sniffed: a directory
 * or a file starting with the flow-tools magic (0xCF 0x10) is flow-tools;
 * *.pcap / *.pcapng or a pcap/pcapng magic is a capture.
 */
#include "fq_source.h"
#include "fq_error.h"
#include "fq_sockaddr.h"
#include "source_kind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct source_kind {
	const char *prefix;
	int (*create)(const char *rest, const struct fq_source_opts *opts,
		      struct fq_source **out, char *why, size_t why_len);
};

/* Kinds recognised by prefix, longest first where prefixes overlap. */
static const struct source_kind kinds[] = {
	{ "ft:", fq__source_ft_new },
	{ "udp://", fq__source_udp_new },
	{ "tcp://", fq__source_tcp_new },
	{ "pcap:", fq__source_pcap_new },
	{ "raw:", fq__source_raw_new },
	{ "ipfix:", fq__source_ipfix_new },
	{ "store:", fq__source_store_new },
};

static int
has_suffix(const char *s, const char *suf)
{
	size_t ls = strlen(s), lf = strlen(suf);
	return ls >= lf && strcmp(s + ls - lf, suf) == 0;
}

/* A file starting with a pcap (either byte order, us or ns) or pcapng
 * magic. */
static int
is_capture(const char *path)
{
	unsigned char m[4];
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	size_t n = fread(m, 1, 4, f);
	fclose(f);
	if (n != 4)
		return 0;
	static const unsigned char magic[5][4] = {
		{ 0xa1, 0xb2, 0xc3, 0xd4 }, { 0xd4, 0xc3, 0xb2, 0xa1 },
		{ 0xa1, 0xb2, 0x3c, 0x4d }, { 0x4d, 0x3c, 0xb2, 0xa1 },
		{ 0x0a, 0x0d, 0x0d, 0x0a },
	};
	for (int i = 0; i < 5; i++)
		if (memcmp(m, magic[i], 4) == 0)
			return 1;
	return 0;
}

int
fq_source_create(const char *spec, const struct fq_source_opts *opts,
		 struct fq_source **out, char *why, size_t why_len)
{
	static const struct fq_source_opts defaults;
	if (opts == NULL)
		opts = &defaults;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(spec, kinds[i].prefix, n) == 0)
			return kinds[i].create(spec + n, opts, out, why, why_len);
	}
	if (strstr(spec, "://") != NULL) {
		snprintf(why, why_len, "%s: unknown source kind", spec);
		return -FQ_EINVAL;
	}
	if (has_suffix(spec, ".pcap") || has_suffix(spec, ".pcapng") ||
	    is_capture(spec)) {
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (strcmp(kinds[i].prefix, "pcap:") == 0)
				return kinds[i].create(spec, opts, out, why,
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
	return fq__source_ft_new(spec, opts, out, why, why_len);
}

int
fq_source_check(const char *spec, char *why, size_t why_len)
{
	const char *path = spec;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t n = strlen(kinds[i].prefix);
		if (strncmp(spec, kinds[i].prefix, n) != 0)
			continue;
		path = spec + n;
		if (strstr(kinds[i].prefix, "://")) {
			struct sockaddr_storage ss;
			return fq_sockaddr_parse(path, &ss, why, why_len);
		}
	}
	if (path == spec && strstr(spec, "://") != NULL) {
		snprintf(why, why_len, "%s: unknown source kind", spec);
		return -FQ_EINVAL;
	}
	if (access(path, R_OK) != 0) {
		snprintf(why, why_len, "%s: cannot read: %s", spec,
			 strerror(errno));
		return -FQ_ENOENT;
	}
	return 0;
}

void *
fq__source_alloc(size_t size, const struct fq_source_ops *ops, int live,
		 const char *prefix, const char *rest, char *why,
		 size_t why_len)
{
	struct fq_source *src = calloc(1, size);
	size_t n = strlen(prefix) + strlen(rest) + 1;
	char *spec = malloc(n);
	if (src == NULL || spec == NULL) {
		free(src);
		free(spec);
		snprintf(why, why_len, "%s%s: out of memory", prefix, rest);
		return NULL;
	}
	snprintf(spec, n, "%s%s", prefix, rest);
	src->ops = ops;
	src->live = live;
	src->spec = spec;
	return src;
}

int
fq__source_check_file(const char *prefix, const char *path, int no_dir,
		      char *why, size_t why_len)
{
	struct stat st;
	if (path[0] == '\0') {
		snprintf(why, why_len, "%s needs a file name", prefix);
		return -FQ_EINVAL;
	}
	if (stat(path, &st) != 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -FQ_ENOENT;
	}
	if (no_dir && S_ISDIR(st.st_mode)) {
		snprintf(why, why_len, "%s: is a directory", path);
		return -FQ_EINVAL;
	}
	return 0;
}
