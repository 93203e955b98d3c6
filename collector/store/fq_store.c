/*
 * fq_store.c - the store writer: rotation on wall-clock multiples, the
 * write buffer of whole IPFIX messages, the finish of a file (fsync in
 * libuv's thread pool, then close and rename) and expiry (fq_store.h).
 *
 * Durability: data reaches the kernel at every flush (within 100 ms, or
 * every 1 MiB); a file is fsync()ed once, when it is rotated, before it
 * gets its final name, so a finished file survives a crash of the machine
 * and the current one survives a crash of flowq up to its last flush.
 */
#include "fq_store.h"
#include "fq_clock.h"
#include "fq_error.h"
#include "fq_log.h"
#include "store_ipfix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_AT (1u << 20)     /* write once this much has gathered */

struct fq_store {
	uv_loop_t *loop;                /* borrowed */
	struct fq_store_opts o;         /* o.dir owned (a copy) */
	int with_seconds;               /* names carry seconds */
	/* The current file, fd < 0 when none. */
	int fd;
	char tmp_path[4112], final_path[4096];
	int64_t cur_end;                /* its interval ends (ms) */
	int64_t retry_at;               /* no file could be made: try then */
	int broken;                     /* a write failed: drop until end */
	off_t good_off;                 /* bytes of whole messages on disk */
	struct fq__store_enc *enc;      /* owned */
	uint8_t *buf;                   /* owned: whole messages not written */
	size_t len, cap;
	int syncing;                    /* finished files in the thread pool */
	int finished;                   /* input ended: no new file */
	/* Counters. */
	uint64_t records, dropped, files, bytes, write_errors;
	uint64_t unsure;                /* records since the last flush */
	uint64_t expired_files, expired_bytes, recovered;
};

/* A finished file on its way: fsync off the loop, then close + rename. */
struct finish_req {
	uv_work_t work;
	struct fq_store *s;
	int fd;
	int sync_rc;
	char tmp_path[4112], final_path[4096];
};

static int
mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* A final name for `start` (dir/YYYY/MM/DD/flowq...ipfix) that neither
 * exists nor is being written. */
static void
pick_name(struct fq_store *s, int64_t start, char *final, size_t flen)
{
	char base[64];
	fq__store_name(start, s->with_seconds, base, sizeof base);
	/* base is flowq.YYYYMMDDhhmm...: the date directories from it. */
	for (unsigned seq = 0;; seq++) {
		char sfx[16] = "";
		if (seq)
			snprintf(sfx, sizeof sfx, ".%u", seq);
		snprintf(final, flen, "%s/%.4s/%.2s/%.2s/%s%s.ipfix", s->o.dir,
			 base + 6, base + 10, base + 12, base, sfx);
		char cur[4200];
		snprintf(cur, sizeof cur, "%s.current", final);
		if (!exists(final) && !exists(cur))
			return;
	}
}

static void
count_error(struct fq_store *s, const char *what, int err)
{
	s->write_errors++;
	fq_warn("store: %s %s: %s (counted; the rest of this interval is "
		"dropped, the next file is tried at rotation)", what,
		s->tmp_path, strerror(err));
}

/* Write the gathered messages; on failure cut the file back to its last
 * whole message and drop the interval. */
static void
write_out(struct fq_store *s)
{
	size_t off = 0;
	while (off < s->len && !s->broken) {
		ssize_t w = write(s->fd, s->buf + off, s->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : ENOSPC;
			if (ftruncate(s->fd, s->good_off) == 0)
				(void)lseek(s->fd, s->good_off, SEEK_SET);
			s->broken = 1;
			/* What the cut took is not known to the record: all
			 * since the last flush count as dropped (at most). */
			s->records -= s->unsure;
			s->dropped += s->unsure;
			s->unsure = 0;
			count_error(s, "cannot write", err);
			break;
		}
		off += (size_t)w;
	}
	if (!s->broken) {
		s->good_off += (off_t)s->len;
		s->bytes += s->len;
	}
	s->len = 0;
}

/* The encoder's output: whole messages, kept until WRITE_AT or a flush. */
static int
put(void *ctx, const void *data, size_t n)
{
	struct fq_store *s = ctx;
	if (s->broken || s->fd < 0)
		return -FQ_EIO;
	if (s->len + n > s->cap) {
		size_t ncap = s->cap ? s->cap : WRITE_AT * 2;
		while (ncap < s->len + n)
			ncap *= 2;
		uint8_t *nb = realloc(s->buf, ncap);
		if (nb == NULL) {
			write_out(s);
			if (n > s->cap)
				return -FQ_ENOMEM;
		} else {
			s->buf = nb;
			s->cap = ncap;
		}
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	if (s->len >= WRITE_AT)
		write_out(s);
	return s->broken ? -FQ_EIO : 0;
}

static void expire(struct fq_store *s, int64_t now);

static void
finish_work(uv_work_t *w)
{
	struct finish_req *f = w->data;
	f->sync_rc = fsync(f->fd) == 0 ? 0 : errno;
}

/* Close and name a finished file (loop thread, or the caller at close). */
static void
finish_done(struct fq_store *s, struct finish_req *f)
{
	if (f->sync_rc != 0) {
		s->write_errors++;
		fq_warn("store: fsync %s: %s", f->tmp_path,
			strerror(f->sync_rc));
	}
	close(f->fd);
	if (rename(f->tmp_path, f->final_path) != 0) {
		s->write_errors++;
		fq_warn("store: rename %s: %s", f->tmp_path, strerror(errno));
	}
	s->files++;
}

static void
finish_after(uv_work_t *w, int status)
{
	struct finish_req *f = w->data;
	struct fq_store *s = f->s;
	(void)status;
	finish_done(s, f);
	s->syncing--;
	free(f);
	expire(s, fq_clock_ms(FQ_CLOCK_WALL));
}

/* End the current file: its last messages out, then the finish (in the
 * thread pool, or here when `sync_here` or out of memory). */
static void
finish_current(struct fq_store *s, int sync_here)
{
	if (s->fd < 0)
		return;
	if (!s->broken && fq__store_enc_emit(s->enc) == 0)
		write_out(s);
	s->unsure = 0;
	fq__store_enc_free(s->enc);
	s->enc = NULL;
	s->len = 0;
	struct finish_req local;
	struct finish_req *f = sync_here ? NULL : calloc(1, sizeof *f);
	struct finish_req *use = f ? f : &local;
	memset(use, 0, f ? 0 : sizeof local);
	use->s = s;
	use->fd = s->fd;
	memcpy(use->tmp_path, s->tmp_path, sizeof use->tmp_path);
	memcpy(use->final_path, s->final_path, sizeof use->final_path);
	use->work.data = use;
	s->fd = -1;
	s->broken = 0;
	if (f && uv_queue_work(s->loop, &f->work, finish_work,
			       finish_after) == 0) {
		s->syncing++;
		return;
	}
	finish_work(&use->work);
	finish_done(s, use);
	free(f);
}

/* A new current file for the interval holding `now`. */
static void
open_current(struct fq_store *s, int64_t now)
{
	int64_t start = now - now % s->o.rotate_ms;
	s->cur_end = start + s->o.rotate_ms;
	pick_name(s, start, s->final_path, sizeof s->final_path);
	snprintf(s->tmp_path, sizeof s->tmp_path, "%s.current", s->final_path);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", s->final_path);
	*strrchr(dir, '/') = '\0';
	char why[512];
	if (mkdirs(dir) != 0) {
		count_error(s, "cannot create directory for", errno);
		goto fail;
	}
	s->fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		count_error(s, "cannot create", errno);
		goto fail;
	}
	s->good_off = 0;
	s->broken = 0;
	if (fq__store_enc_new(put, s, &s->enc, why, sizeof why) < 0) {
		fq_warn("%s", why);
		s->write_errors++;
		s->broken = 1;
	}
	return;
fail:
	s->retry_at = s->cur_end;
}

/* The current file for a record written at `now`: rotate, open. */
static int
current_for(struct fq_store *s, int64_t now)
{
	if (s->fd >= 0 && now >= s->cur_end)
		finish_current(s, 0);
	if (s->fd < 0 && now >= s->retry_at && !s->finished)
		open_current(s, now);
	return s->fd >= 0 && !s->broken;
}

void
fq_store_records(struct fq_store *s, const struct fq_record *recs, size_t n)
{
	if (!current_for(s, fq_clock_ms(FQ_CLOCK_WALL))) {
		s->dropped += n;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (s->broken || fq__store_enc_append(s->enc, &recs[i]) < 0) {
			s->dropped += n - i;
			return;
		}
		s->records++;
		s->unsure++;
	}
}

void
fq_store_flush(struct fq_store *s)
{
	int64_t now = fq_clock_ms(FQ_CLOCK_WALL);
	if (s->fd >= 0 && now >= s->cur_end) {
		finish_current(s, 0);
		return;
	}
	if (s->fd >= 0 && !s->broken && fq__store_enc_emit(s->enc) == 0)
		write_out(s);
	if (!s->broken)
		s->unsure = 0;
}

/* Oldest first: past --store-max-age, or while the store is over
 * --store-max-size.  The current file is never expired. */
static void
expire(struct fq_store *s, int64_t now)
{
	if (s->o.max_age_ms <= 0 && s->o.max_bytes == 0)
		return;
	struct fq_store_file *v;
	size_t n;
	char why[512];
	if (fq_store_list(s->o.dir, &v, &n, why, sizeof why) < 0) {
		fq_warn("store: expiry: %s", why);
		return;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += (uint64_t)v[i].size;
	for (size_t i = 0; i < n && !v[i].current; i++) {
		int old = s->o.max_age_ms > 0 &&
			  v[i].start_ms < now - s->o.max_age_ms;
		int big = s->o.max_bytes && total > s->o.max_bytes;
		if (!old && !big)
			break;
		if (unlink(v[i].path) != 0) {
			fq_warn("store: cannot expire %s: %s", v[i].path,
				strerror(errno));
			continue;
		}
		total -= (uint64_t)v[i].size;
		s->expired_files++;
		s->expired_bytes += (uint64_t)v[i].size;
		/* The day's, month's and year's directories, once empty. */
		char *slash;
		for (int up = 0; up < 3 && (slash = strrchr(v[i].path, '/'));
		     up++) {
			*slash = '\0';
			if (strcmp(v[i].path, s->o.dir) == 0 ||
			    rmdir(v[i].path) != 0)
				break;
		}
	}
	fq_store_list_free(v, n);
}

/* ".current" files a previous run left (a crash): complete up to their
 * last flush, so they get their final names. */
static void
recover(struct fq_store *s)
{
	struct fq_store_file *v;
	size_t n;
	char why[512];
	if (fq_store_list(s->o.dir, &v, &n, why, sizeof why) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].current)
			continue;
		char final[4096];
		pick_name(s, v[i].start_ms, final, sizeof final);
		if (rename(v[i].path, final) == 0) {
			s->recovered++;
			fq_info("store: %s left by an earlier run is now %s",
				v[i].path, final);
		}
	}
	fq_store_list_free(v, n);
}

int
fq_store_open(uv_loop_t *loop, const struct fq_store_opts *o,
	      struct fq_store **out, char *why, size_t why_len)
{
	*out = NULL;
	int64_t rot = o->rotate_ms ? o->rotate_ms : FQ_STORE_ROTATE_DEFAULT;
	if (rot < 1000 || rot % 1000 != 0 || rot > 86400000LL) {
		snprintf(why, why_len, "--store-rotate: whole seconds from 1s "
			 "to 24h");
		return -FQ_EINVAL;
	}
	struct fq_store *s = calloc(1, sizeof *s);
	char *dir = o->dir ? strdup(o->dir) : NULL;
	if (s == NULL || dir == NULL) {
		free(s);
		free(dir);
		snprintf(why, why_len, "store: out of memory");
		return -FQ_ENOMEM;
	}
	s->loop = loop;
	s->o = *o;
	s->o.dir = dir;
	s->o.rotate_ms = rot;
	s->with_seconds = rot % 60000 != 0;
	s->fd = -1;
	if (mkdirs(dir) != 0 || access(dir, W_OK) != 0) {
		snprintf(why, why_len, "--store %s: %s", dir, strerror(errno));
		free(dir);
		free(s);
		return -FQ_EIO;
	}
	recover(s);
	expire(s, fq_clock_ms(FQ_CLOCK_WALL));
	*out = s;
	return 0;
}

void
fq_store_finish(struct fq_store *s)
{
	finish_current(s, 1);
	s->finished = 1;
	expire(s, fq_clock_ms(FQ_CLOCK_WALL));
}

int
fq_store_close(struct fq_store *s)
{
	if (s == NULL)
		return 0;
	finish_current(s, 1);
	/* Files still in the thread pool: their callbacks run on the loop. */
	while (s->syncing > 0)
		uv_run(s->loop, UV_RUN_ONCE);
	if (!s->finished)
		expire(s, fq_clock_ms(FQ_CLOCK_WALL));
	int rc = s->write_errors ? -FQ_EIO : 0;
	free(s->buf);
	free((char *)s->o.dir);
	free(s);
	return rc;
}

void
fq_store_print_stats(const struct fq_store *s, struct fq_out *o, int json)
{
	if (json) {
		fq_out_printf(o, "{\"records\":%llu,\"dropped\":%llu,"
			      "\"files\":%llu,\"bytes\":%llu,"
			      "\"write_errors\":%llu,\"expired_files\":%llu,"
			      "\"expired_bytes\":%llu,\"recovered\":%llu}",
			      (unsigned long long)s->records,
			      (unsigned long long)s->dropped,
			      (unsigned long long)s->files,
			      (unsigned long long)s->bytes,
			      (unsigned long long)s->write_errors,
			      (unsigned long long)s->expired_files,
			      (unsigned long long)s->expired_bytes,
			      (unsigned long long)s->recovered);
		return;
	}
	fq_out_printf(o, "store: records %llu, dropped %llu, files %llu, "
		      "bytes %llu, write errors %llu, expired %llu files "
		      "(%llu bytes)\n",
		      (unsigned long long)s->records,
		      (unsigned long long)s->dropped,
		      (unsigned long long)s->files,
		      (unsigned long long)s->bytes,
		      (unsigned long long)s->write_errors,
		      (unsigned long long)s->expired_files,
		      (unsigned long long)s->expired_bytes);
}
