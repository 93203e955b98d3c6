/*
 * fq_out.h - buffered output to a file descriptor.
 *
 * stdio is avoided on the output path for two reasons: it is slower than a
 * plain buffer at tens of millions of lines, and its errors are sticky and
 * silent.  fq_out reports the first write error (EPIPE when stdout was
 * closed, ENOSPC on a full disk) and then discards further output, so the
 * caller can stop ingest and exit with a clear message instead of dying on
 * SIGPIPE or looping on a dead descriptor.
 */
#ifndef FQ_OUT_H
#define FQ_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FQ_OUT_BUFSIZE (256 * 1024)

struct fq_out {
	int fd;                 /* borrowed; -1 when `cb` takes the bytes */
	/* Optional consumer instead of a descriptor (the --exec hook). */
	void (*cb)(void *ctx, const char *p, size_t n);
	void *cb_ctx;
	size_t len;             /* bytes pending in buf */
	int err;                /* first errno seen, 0 if none */
	uint64_t written;       /* bytes handed to the kernel */
	char buf[FQ_OUT_BUFSIZE];
};

void fq_out_init(struct fq_out *o, int fd);
/* Flushes hand the pending bytes to cb(ctx, p, n) (valid for the call). */
void fq_out_init_cb(struct fq_out *o, void (*cb)(void *, const char *, size_t),
		    void *ctx);
/* Write pending bytes; returns 0 or -FQ_EIO (errno kept in o->err). */
int fq_out_flush(struct fq_out *o);

/* o->err in words: strerror(), or what ECANCELED means here (the output
 * was given up at the end of the grace period of a stop). */
const char *fq_out_strerror(int err);

/*
 * Reserve room for at least n bytes (n <= FQ_OUT_BUFSIZE) and return a
 * pointer to write them; commit what was written with fq_out_commit().
 */
static inline char *
fq_out_reserve(struct fq_out *o, size_t n)
{
	if (FQ_OUT_BUFSIZE - o->len < n)
		fq_out_flush(o);
	return o->buf + o->len;
}

static inline void
fq_out_commit(struct fq_out *o, size_t n)
{
	o->len += n;
}

static inline void
fq_out_write(struct fq_out *o, const void *p, size_t n)
{
	while (n > 0) {
		size_t room = FQ_OUT_BUFSIZE - o->len;
		if (room == 0) {
			fq_out_flush(o);
			room = FQ_OUT_BUFSIZE;
		}
		size_t k = n < room ? n : room;
		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p = (const char *)p + k;
		n -= k;
	}
}

static inline void
fq_out_str(struct fq_out *o, const char *s)
{
	fq_out_write(o, s, strlen(s));
}

void fq_out_printf(struct fq_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
