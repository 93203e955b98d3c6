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

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct file_sink {
	struct fq_match_sink sink; /* first */
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
	s->err = f->out.err;
	return s->err ? -FQ_EIO : 0;
}

static int
file_flush(struct fq_match_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	int rc = fq_out_flush(&f->out);
	s->err = f->out.err;
	return rc;
}

static void
file_free(struct fq_match_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	if (f->fd != STDOUT_FILENO)
		close(f->fd);
	free(f);
}

static const struct fq_match_sink_ops file_ops = {
	.name = "file",
	.write = file_write,
	.flush = file_flush,
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
