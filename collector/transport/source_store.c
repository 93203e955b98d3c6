/*
 * source_store.c - `store:DIR`: the files a --store run wrote, replayed in
 * time order as a source (a replay source, replay.c, like flow-tools).
 *
 * The records come back as they were handed on live, field for field and
 * in the same order (arrival time included, so stream time moves as it
 * did), and get their rec_ids from this run's ingest.  --since/--until
 * select by arrival: a file is read when its interval can hold arrivals
 * in [since, until) -- it starts before `until`, and the next file starts
 * after `since` -- and within it, records outside the range are skipped.
 * A file still being written (".current") is read up to its last flush;
 * one renamed between the listing and its turn is opened by its new name.
 * With --speed X, records are paced by their arrival times.
 *
 * A damaged file delivers the records before the damage, is reported, and
 * the source goes on with the next one; it finishes with -FQ_ECORRUPT.
 */
#include "fq_error.h"
#include "fq_ingest.h"
#include "fq_log.h"
#include "fq_store.h"
#include "replay.h"
#include "source_kind.h"
#include "store_ipfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STORE_BATCH 1024

struct source_store {
	struct fq__replay r;           /* first: the replay source */
	char *dir;                     /* owned */
	struct fq_store_file *files;   /* owned: the selected ones */
	size_t n_files, cur;
	int64_t since, until;          /* arrival range [since, until) */
	struct fq__store_dec *dec;     /* owned: reader of files[cur - 1] */
	struct fq_record *batch;       /* owned: STORE_BATCH records */
	size_t bpos, bn;
};

static void
st_release(struct fq__replay *r)
{
	struct source_store *s = (struct source_store *)r;
	fq__store_dec_free(s->dec);
	s->dec = NULL;
}

static void
st_damage(struct source_store *s, const char *msg)
{
	fq_error("%s", msg);
	if (s->r.status == 0)
		s->r.status = -FQ_ECORRUPT;
}

/* Open the next file that opens; 0 when one is open, 1 at the end. */
static int
st_open_next(struct source_store *s)
{
	while (s->cur < s->n_files) {
		struct fq_store_file *f = &s->files[s->cur++];
		char why[512];
		int rc = fq__store_dec_open(f->path, &s->dec, why, sizeof why);
		if (rc < 0 && f->current) {
			/* Rotated since the listing: same file, final name. */
			size_t n = strlen(f->path) - strlen(".current");
			f->path[n] = '\0';
			rc = fq__store_dec_open(f->path, &s->dec, why, sizeof why);
		}
		if (rc == 0)
			return 0;
		s->dec = NULL;
		st_damage(s, why);
	}
	return 1;
}

static void
st_deliver(struct source_store *s)
{
	fq__replay_deliver(&s->r, s->batch, &s->bpos, s->bn);
}

/* Keep the records whose arrival is in range; returns how many. */
static size_t
st_select(struct source_store *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t a = s->batch[i].arrival;
		if (a < s->since || a >= s->until)
			continue;
		if (k != i)
			s->batch[k] = s->batch[i];
		k++;
	}
	return k;
}

static void
st_step(struct fq__replay *r)
{
	struct source_store *s = (struct source_store *)r;
	if (s->bpos < s->bn) {
		st_deliver(s);
		return;
	}
	if (s->dec == NULL && st_open_next(s) != 0) {
		fq__replay_finish(r);
		return;
	}
	ssize_t n = fq__store_dec_read(s->dec, s->batch, STORE_BATCH);
	if (n > 0) {
		s->bpos = 0;
		s->bn = st_select(s, (size_t)n);
		st_deliver(s);
		return;
	}
	if (n < 0) {
		char msg[768];
		snprintf(msg, sizeof msg, "%s: damaged: %s",
			 s->files[s->cur - 1].path, fq__store_dec_error(s->dec));
		st_damage(s, msg);
	}
	fq__store_dec_free(s->dec);
	s->dec = NULL;
}

static int
st_start(struct fq_source *src)
{
	fq__replay_run((struct fq__replay *)src);
	return 0;
}

static void
st_free(struct fq_source *src)
{
	struct source_store *s = (struct source_store *)src;
	fq__store_dec_free(s->dec);
	fq_store_list_free(s->files, s->n_files);
	free(s->batch);
	free(s->dir);
	free(s);
}

static const struct fq_source_ops store_ops = {
	.kind = "store",
	.start = st_start,
	.stop = fq__replay_stop,
	.close = fq__replay_close,
	.free = st_free,
	.print_stats = NULL,
};

static const struct fq__replay_ops store_replay_ops = {
	.step = st_step,
	.release = st_release,
};

/* Keep the files whose interval can hold arrivals in [since, until). */
static void
st_choose(struct source_store *s)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n_files; i++) {
		struct fq_store_file *f = &s->files[i];
		size_t j = i + 1;
		while (j < s->n_files && s->files[j].start_ms == f->start_ms)
			j++;
		int keep = f->start_ms < s->until &&
			   (j == s->n_files || s->files[j].start_ms > s->since);
		if (!keep) {
			free(f->path);
			continue;
		}
		s->files[k++] = *f;
	}
	s->n_files = k;
}

int
fq__source_store_new(const char *dir, const struct fq_source_opts *opts,
		     struct fq_source **out, char *why, size_t why_len)
{
	struct stat st;
	if (dir[0] == '\0' || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(why, why_len, "store:%s: not a directory", dir);
		return -FQ_ENOENT;
	}
	struct source_store *s = fq__source_alloc(sizeof *s, &store_ops, 0,
						  "store:", dir, why, why_len);
	if (s == NULL)
		return -FQ_ENOMEM;
	fq__replay_init(&s->r, &store_replay_ops, opts);
	s->since = opts->has_since ? opts->since_ms : INT64_MIN;
	s->until = opts->has_until ? opts->until_ms : INT64_MAX;
	s->batch = malloc(STORE_BATCH * sizeof *s->batch);
	s->dir = strdup(dir);
	int rc = -FQ_ENOMEM;
	if (s->batch && s->dir)
		rc = fq_store_list(dir, &s->files, &s->n_files, why, why_len);
	else
		snprintf(why, why_len, "store:%s: out of memory", dir);
	if (rc < 0) {
		free(s->r.base.spec);
		st_free(&s->r.base);
		return rc;
	}
	if (s->n_files == 0)
		fq_warn("store:%s: no stored files", dir);
	st_choose(s);
	*out = &s->r.base;
	return 0;
}
