/*
 * source_kind.h - what each kind of source (source_*.c) provides to
 * fq_source.c and may use from it.  Private to collector/transport/.
 */
#ifndef FQ_SOURCE_KIND_H
#define FQ_SOURCE_KIND_H

#include <stddef.h>

#include "fq_source.h"

/*
 * Constructors of the individual kinds: `rest` is the spelling without its
 * prefix, opts is never NULL.  Same return values as fq_source_create().
 */
int fq__source_ft_new(const char *path, const struct fq_source_opts *opts,
		      struct fq_source **out, char *why, size_t why_len);
int fq__source_udp_new(const char *addr, const struct fq_source_opts *opts,
		       struct fq_source **out, char *why, size_t why_len);
int fq__source_tcp_new(const char *addr, const struct fq_source_opts *opts,
		       struct fq_source **out, char *why, size_t why_len);
int fq__source_pcap_new(const char *path, const struct fq_source_opts *opts,
			struct fq_source **out, char *why, size_t why_len);
int fq__source_raw_new(const char *path, const struct fq_source_opts *opts,
		       struct fq_source **out, char *why, size_t why_len);
int fq__source_ipfix_new(const char *path, const struct fq_source_opts *opts,
			 struct fq_source **out, char *why, size_t why_len);
int fq__source_store_new(const char *dir, const struct fq_source_opts *opts,
			 struct fq_source **out, char *why, size_t why_len);

/*
 * The common part of every constructor: a zeroed source of `size` bytes
 * (struct fq_source first) with its ops, its live flag and its spelling
 * `prefix` + `rest` as base.spec.  NULL when out of memory, with the
 * reason in `why`.
 */
void *fq__source_alloc(size_t size, const struct fq_source_ops *ops,
		       int live, const char *prefix, const char *rest,
		       char *why, size_t why_len);

/*
 * For sources that read one named file (pcap:, raw:, ipfix:): the name is
 * not empty and the file exists (and, with `no_dir`, is not a directory).
 * Returns 0, -FQ_EINVAL or -FQ_ENOENT with the reason in `why`.
 */
int fq__source_check_file(const char *prefix, const char *path, int no_dir,
			  char *why, size_t why_len);

#endif
