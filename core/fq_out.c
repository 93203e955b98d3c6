/*
 * fq_out.c - the buffered writer.
 *
 * A write that is interrupted or would block is retried -- until the
 * grace period of a stop is over (fq_stop.h): then the output is given
 * up (ECANCELED) rather than holding flowq forever on a reader that
 * never reads.
 */
#include "fq_out.h"
#include "fq_error.h"
#include "fq_stop.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void
fq_out_init_cb(struct fq_out *o, void (*cb)(void *, const char *, size_t),
	       void *ctx)
{
	fq_out_init(o, -1);
	o->cb = cb;
	o->cb_ctx = ctx;
}

void
fq_out_init(struct fq_out *o, int fd)
{
	o->fd = fd;
	o->cb = NULL;
	o->cb_ctx = NULL;
	o->len = 0;
	o->err = 0;
	o->written = 0;
}

const char *
fq_out_strerror(int err)
{
	if (err == ECANCELED)
		return "given up: not written by the end of the grace period "
		       "after the stop signal (--grace)";
	return strerror(err);
}

int
fq_out_flush(struct fq_out *o)
{
	size_t off = 0;
	if (o->cb) {
		if (o->len)
			o->cb(o->cb_ctx, o->buf, o->len);
		o->written += o->len;
		o->len = 0;
		return 0;
	}
	if (o->err) {
		/* Output is dead; drop what was buffered so callers progress. */
		o->len = 0;
		return -FQ_EIO;
	}
	while (off < o->len) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (fq_stop_expired()) {
				o->err = ECANCELED;   /* given up: see above */
				o->len = 0;
				return -FQ_EIO;
			}
			if (errno == EAGAIN) {
				/* A non-blocking stdout: wait until writable. */
				struct pollfd p = { o->fd, POLLOUT, 0 };
				poll(&p, 1, 50);
			}
			continue;
		}
		if (n < 0) {
			o->err = errno;
			o->len = 0;
			return -FQ_EIO;
		}
		off += (size_t)n;
		o->written += (uint64_t)n;
	}
	o->len = 0;
	return 0;
}

void
fq_out_printf(struct fq_out *o, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof tmp)
		n = (int)sizeof tmp - 1;
	fq_out_write(o, tmp, (size_t)n);
}
