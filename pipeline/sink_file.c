/*
 * sink_file.c - matches to stdout or to `-o FILE`, as text or as JSON
 * Lines (--json): the output every run has unless a sink that replaces
 * it was asked for (--count).
 *
 * Matches go through a 256 KiB fq_out buffer (core/fq_out.h); its first
 * write error (EPIPE when stdout was closed, ENOSPC on a full disk) is
 * kept in the sink's `err` and stops the run with a clear message
 * instead of a silent loss.
 */
#include "match_sink.h"
#include "fq_error.h"
#include "fq_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

struct file_sink {
	struct fq_match_sink sink; /* first */
	const char *path;          /* borrowed (argv), NULL for stdout */
	int fd;                    /* owned, or STDOUT_FILENO (borrowed) */
	int json;
	struct fq_out out;
};

static int
file_write(struct fq_match_sink *s, const struct fq_match *m)
{
	struct file_sink *f = (struct file_sink *)s;
	if (f->json)
		fq_match_write_json(m, &f->out);
	else
		fq_match_write_text(m, &f->out);
	fq_match_sink_queued(s, m);
	s->err = f->out.err;
	return s->err ? -FQ_EIO : 0;
}

static int
file_flush(struct fq_match_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	int rc = fq_out_flush(&f->out);
	s->err = f->out.err;
	if (rc == 0)
		fq_match_sink_delivered(s, fq_latency_now_ns());
	return rc;
}

/*
 * SIGHUP: everything written goes to the file as it was, then the path is
 * opened anew -- created if a log rotation moved the old file away,
 * appended to if it is still there -- and later matches go there.  If it
 * cannot be opened, the old file is kept and that is said.
 */
static int
file_reopen(struct fq_match_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	if (f->path == NULL)
		return 0;
	file_flush(s);
	int fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fq_error("%s: cannot reopen for writing (%s); writing on to the "
			 "file that was open", f->path, strerror(errno));
		return -FQ_EIO;
	}
	close(f->fd);
	f->fd = fd;
	f->out.fd = fd;
	fq_info("%s: reopened", f->path);
	return 0;
}

static void
file_free(struct fq_match_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	if (f->fd != STDOUT_FILENO)
		close(f->fd);
	fq_match_sink_fini(s);
	free(f);
}

static const struct fq_match_sink_ops file_ops = {
	.name = "file",
	.write = file_write,
	.flush = file_flush,
	.reopen = file_reopen,
	.free = file_free,
};

/* The fq_out of a file sink (the count sink writes its tally there). */
struct fq_out *
fq__sink_file_out(struct fq_match_sink *s)
{
	return &((struct file_sink *)s)->out;
}

int
fq_sink_file_create(const struct fq_sink_env *env, const char *arg,
		    struct fq_match_sink **out, char *why, size_t why_len)
{
	(void)arg;
	struct file_sink *f = malloc(sizeof *f);
	if (f == NULL) {
		snprintf(why, why_len, "out of memory");
		return -FQ_ENOMEM;
	}
	f->fd = STDOUT_FILENO;
	f->path = env->out_path;
	if (env->out_path) {
		f->fd = open(env->out_path, O_WRONLY | O_CREAT | O_TRUNC |
			     O_CLOEXEC, 0644);
		if (f->fd < 0) {
			snprintf(why, why_len, "%s: cannot open for writing",
				 env->out_path);
			free(f);
			return -FQ_EIO;
		}
	}
	f->sink = (struct fq_match_sink){ .ops = &file_ops,
					  .wants_records = 1 };
	f->json = env->json;
	fq_out_init(&f->out, f->fd);
	*out = &f->sink;
	return 0;
}
