/*
 * source_ft.c - flow-tools replay as a source on the libuv loop.
 *
 * A flow-tools source is one file or a directory (all its ft-* files in
 * name order).  It is a replay source (replay.c): it starts when the
 * sources before it are done, and each loop iteration decodes one bounded
 * batch and hands it to the ingest, so signal handlers and live sockets on
 * the same loop keep being served during a long replay.
 *
 * With --speed X, records are delivered at X times the pace of their
 * export header times (the rest of the batch waits), like the other
 * replay sources.
 *
 * A damaged file delivers the records before the damage, then the source
 * logs where the damage is and goes on with the next file of the
 * directory; it finishes with -FQ_ECORRUPT so flowq exits 1 after flushing.
 */
#include "fq_error.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "ft_reader.h"
#include "replay.h"
#include "source_kind.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FT_BATCH 1024

struct source_ft {
	struct fq__replay r;          /* first: the replay source; r.status is
					 the first damage's */
	char **files;                 /* owned: paths, name order */
	size_t n_files, cur;
	struct fq_ft_reader *reader;  /* owned: reader of files[cur] */
	struct fq_record *batch;      /* owned: FT_BATCH records */
	size_t bpos, bn;              /* batch[bpos..bn) not yet delivered */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect dir/ft-* in name order. */
static int
list_dir(struct source_ft *s, const char *dir, char *why, size_t why_len)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		snprintf(why, why_len, "%s: cannot open directory", dir);
		return -FQ_EIO;
	}
	size_t cap = 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "ft-", 3) != 0)
			continue;
		if (s->n_files == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nf = realloc(s->files, ncap * sizeof *nf);
			if (nf == NULL) {
				rc = -FQ_ENOMEM;
				break;
			}
			s->files = nf;
			cap = ncap;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *p = malloc(len);
		if (p == NULL) {
			rc = -FQ_ENOMEM;
			break;
		}
		snprintf(p, len, "%s/%s", dir, e->d_name);
		s->files[s->n_files++] = p;
	}
	closedir(d);
	if (rc < 0) {
		snprintf(why, why_len, "%s: out of memory", dir);
		return rc;
	}
	if (s->n_files)
		qsort(s->files, s->n_files, sizeof *s->files, cmp_str);
	return 0;
}

static void
ft_release(struct fq__replay *r)
{
	struct source_ft *s = (struct source_ft *)r;
	fq_ft_reader_free(s->reader);
	s->reader = NULL;
}

static void
ft_damage(struct source_ft *s, int rc, const char *msg)
{
	fq_error("%s", msg);
	if (s->r.status == 0)
		s->r.status = rc == -FQ_EIO || rc == -FQ_ENOENT ? rc
							       : -FQ_ECORRUPT;
}

/* Open the next file that opens; returns 0 when one is open, 1 at the end. */
static int
ft_open_next(struct source_ft *s)
{
	while (s->cur < s->n_files) {
		char why[512];
		int rc = fq_ft_reader_open(&s->reader, s->files[s->cur++], why,
					   sizeof why);
		if (rc == 0)
			return 0;
		s->reader = NULL;
		ft_damage(s, rc, why);
	}
	return 1;
}

/* The decoded records that are due (fq__replay_deliver); 1: it waits. */
static int
ft_deliver(struct source_ft *s)
{
	return fq__replay_deliver(&s->r, s->batch, &s->bpos, s->bn);
}

static void
ft_step(struct fq__replay *r)
{
	struct source_ft *s = (struct source_ft *)r;
	if (s->bpos < s->bn) {
		ft_deliver(s);
		return;
	}
	if (s->reader == NULL && ft_open_next(s) != 0) {
		fq__replay_finish(r);
		return;
	}
	ssize_t n = fq_ft_reader_read(s->reader, s->batch, FT_BATCH);
	if (n > 0) {
		s->bpos = 0;
		s->bn = (size_t)n;
		ft_deliver(s);
		return;
	}
	if (n < 0)
		ft_damage(s, (int)n, fq_ft_reader_error(s->reader));
	fq_ft_reader_free(s->reader);
	s->reader = NULL;
}

static int
ft_start(struct fq_source *src)
{
	fq__replay_run((struct fq__replay *)src);
	return 0;
}

static void
ft_free(struct fq_source *src)
{
	struct source_ft *s = (struct source_ft *)src;
	fq_ft_reader_free(s->reader);
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i]);
	free(s->files);
	free(s->batch);
	free(s);
}

static const struct fq_source_ops ft_ops = {
	.kind = "ft",
	.start = ft_start,
	.stop = fq__replay_stop,
	.close = fq__replay_close,
	.free = ft_free,
	.print_stats = NULL,
};

static const struct fq__replay_ops ft_replay_ops = {
	.step = ft_step,
	.release = ft_release,
};

/* The file, or the directory's ft-* files, into s->files. */
static int
ft_list(struct source_ft *s, const char *path, const struct stat *st,
	char *why, size_t why_len)
{
	if (S_ISDIR(st->st_mode)) {
		int rc = list_dir(s, path, why, why_len);
		if (rc == 0 && s->n_files == 0)
			fq_warn("%s: directory holds no ft-* files", path);
		return rc;
	}
	s->files = malloc(sizeof *s->files);
	if (s->files == NULL)
		goto nomem;
	s->files[0] = strdup(path);
	if (s->files[0] == NULL)
		goto nomem;
	s->n_files = 1;
	return 0;
nomem:
	snprintf(why, why_len, "%s: out of memory", path);
	return -FQ_ENOMEM;
}

int
fq__source_ft_new(const char *path, const struct fq_source_opts *opts,
		  struct fq_source **out, char *why, size_t why_len)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(why, why_len, "%s: no such file or directory", path);
		return -FQ_ENOENT;
	}
	/* A flow-tools source is spelt by its path alone (ft: is optional). */
	struct source_ft *s = fq__source_alloc(sizeof *s, &ft_ops, 0, "",
					       path, why, why_len);
	if (s == NULL)
		return -FQ_ENOMEM;
	fq__replay_init(&s->r, &ft_replay_ops, opts);
	s->batch = malloc(FT_BATCH * sizeof *s->batch);
	int rc = s->batch ? ft_list(s, path, &st, why, why_len) : -FQ_ENOMEM;
	if (rc < 0) {
		if (s->batch == NULL)
			snprintf(why, why_len, "%s: out of memory", path);
		free(s->r.base.spec);
		ft_free(&s->r.base);
		return rc;
	}
	*out = &s->r.base;
	return 0;
}
